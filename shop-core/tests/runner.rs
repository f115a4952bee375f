//! The job runner on the memory backend: ticks run once each, a long run
//! does not hold back another job's ticks, and a stop waits for the runs in
//! progress.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Duration, TimeZone, Utc};
use shop_core::clock::ManualClock;
use shop_core::jobs::{Job, JobContext, JobOutcome, JobRunner, Schedule};
use shop_core::memory::MemoryStore;
use tokio::sync::Notify;

/// Records each tick it runs.
struct Every {
    name: &'static str,
    secs: i64,
    ticks: Arc<Mutex<Vec<DateTime<Utc>>>>,
}

#[async_trait]
impl Job for Every {
    fn name(&self) -> &str {
        self.name
    }
    fn schedule(&self) -> Schedule {
        Schedule::every_secs(self.secs)
    }
    async fn run(&self, ctx: &JobContext) -> shop_core::Result<String> {
        self.ticks.lock().unwrap().push(ctx.tick());
        Ok(String::new())
    }
}

/// Runs until released.
struct Long {
    started: Arc<AtomicUsize>,
    release: Arc<Notify>,
}

#[async_trait]
impl Job for Long {
    fn name(&self) -> &str {
        "long"
    }
    fn schedule(&self) -> Schedule {
        Schedule::every_minutes(60)
    }
    async fn run(&self, ctx: &JobContext) -> shop_core::Result<String> {
        self.started.fetch_add(1, Ordering::SeqCst);
        self.release.notified().await;
        ctx.keep_alive().await?;
        Ok("done".into())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_run_does_not_hold_back_other_ticks() {
    let start = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap();
    let clock = Arc::new(ManualClock::new(start));
    let ticks = Arc::new(Mutex::new(Vec::new()));
    let started = Arc::new(AtomicUsize::new(0));
    let release = Arc::new(Notify::new());
    let runner = Arc::new(
        JobRunner::new(Arc::new(MemoryStore::new()), clock.clone(), "node")
            .job(Arc::new(Every {
                name: "every_second",
                secs: 1,
                ticks: ticks.clone(),
            }))
            .job(Arc::new(Long {
                started: started.clone(),
                release: release.clone(),
            })),
    );
    let runs = Arc::new(Mutex::new(Vec::new()));
    let task = tokio::spawn({
        let (runner, clock, runs) = (runner.clone(), clock.clone(), runs.clone());
        async move {
            // Simulated time: a sleep moves the clock on.
            let sleep = move |d: std::time::Duration| {
                clock.advance(
                    Duration::from_std(d)
                        .unwrap()
                        .max(Duration::milliseconds(1)),
                );
                tokio::time::sleep(std::time::Duration::from_millis(2))
            };
            runner
                .run_until_stopped(std::time::Duration::from_secs(1), sleep, |run| {
                    runs.lock().unwrap().push(run)
                })
                .await;
        }
    });
    // The long job is running; the every-second job keeps ticking.
    let ticking = async {
        while ticks.lock().unwrap().len() < 20 {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(10), ticking)
        .await
        .expect("the every-second job ticks while the long one runs");
    assert_eq!(started.load(Ordering::SeqCst), 1);
    runner.stop_signal().raise();
    release.notify_one();
    task.await.unwrap();

    let ticks = ticks.lock().unwrap().clone();
    let mut distinct = ticks.clone();
    distinct.dedup();
    assert_eq!(distinct, ticks, "each tick once, in order");
    assert!(
        ticks
            .windows(2)
            .all(|w| w[1] - w[0] == Duration::seconds(1)),
        "{ticks:?}"
    );
    // The stop waited for the long run, which finished and was recorded.
    let runs = runs.lock().unwrap();
    let long = runs
        .iter()
        .flatten()
        .find(|r| r.name == "long")
        .expect("the long run is reported");
    assert_eq!(long.outcome, Some(JobOutcome::Succeeded));
    assert_eq!(long.tick, start);
}
