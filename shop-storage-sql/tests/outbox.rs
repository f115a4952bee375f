//! The outbox on real databases, the way production breaks it:
//!
//! - writers killed in the middle of their transactions and a dispatcher
//!   dropped in the middle of a batch: after a restart every committed
//!   change's event is delivered, and no event of a rolled-back write ever
//!   is;
//! - two nodes (two shops, two dispatchers, two job runners) on one
//!   database for a minute of simulated time: each job tick runs once, each
//!   event reaches each listener once, none is lost; a runner killed while
//!   holding a lease is replaced once the lease has run out.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Duration, TimeZone, Utc};
use shop_core::catalog::{ProductDraft, ProductKind, ProductQuery, SkuDraft};
use shop_core::clock::ManualClock;
use shop_core::conformance::Backend;
use shop_core::events::{DomainEvent, EventEnvelope, EventListener};
use shop_core::ids::SequentialIds;
use shop_core::jobs::{Job, JobContext, JobRunner, Schedule};
use shop_core::{Currency, Money, Shop, Stores};

/// Records every event it is handed, with its sequence number; sleeps a
/// little per event so a dispatch can be interrupted in the middle.
struct Recorder {
    name: &'static str,
    seen: Arc<Mutex<Vec<(i64, DomainEvent)>>>,
    pause: std::time::Duration,
}

#[async_trait]
impl EventListener for Recorder {
    fn name(&self) -> &str {
        self.name
    }

    async fn on_event(&self, e: &EventEnvelope) -> shop_core::Result<()> {
        if !self.pause.is_zero() {
            tokio::time::sleep(self.pause).await;
        }
        self.seen.lock().unwrap().push((e.seq, e.event.clone()));
        Ok(())
    }
}

fn start_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 10, 0, 0).unwrap()
}

fn shop<B: Backend>(
    store: &Arc<B>,
    clock: &Arc<ManualClock>,
    ids_from: i64,
    listener: Arc<dyn EventListener>,
) -> Shop {
    Shop::builder(Stores::from_backend(store.clone()))
        .clock(clock.clone())
        .ids(Arc::new(SequentialIds::starting_at(ids_from)))
        .listener(listener)
        .build()
}

fn product(title: String) -> (ProductDraft, Vec<SkuDraft>) {
    (
        ProductDraft {
            kind: ProductKind::Normal,
            title,
            long_title: String::new(),
            description: String::new(),
            image: "https://img.example/p.png".into(),
            on_sale: true,
            category_id: None,
            properties: vec![],
        },
        vec![SkuDraft {
            title: "Only".into(),
            description: String::new(),
            price: Money::parse("9.90", Currency::Cny).unwrap(),
            stock: 3,
        }],
    )
}

/// Writers killed mid-transaction and a dispatcher dropped mid-batch; then
/// a new shop (a restart) on the same database delivers the rest.
async fn a_crash_loses_no_committed_event_and_delivers_no_rolled_back_one<B: Backend>(store: B) {
    let store = Arc::new(store);
    let clock = Arc::new(ManualClock::new(start_time()));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let recorder = |pause_ms| {
        Arc::new(Recorder {
            name: "test.recorder",
            seen: seen.clone(),
            pause: std::time::Duration::from_millis(pause_ms),
        })
    };
    let first = shop(&store, &clock, 1_000_000, recorder(3));
    // Registered before the writes, as a running shop's listener is.
    first.dispatch_events().await.unwrap();

    // 60 writers; every third is killed (its task aborted) at some point
    // of its transaction, or before it, or after its commit.
    let mut writers = Vec::new();
    for i in 0..60 {
        let shop = first.clone();
        let (draft, skus) = product(format!("crash-{i}"));
        writers.push(tokio::spawn(async move {
            shop.create_product(draft, skus).await.map(|_| ())
        }));
    }
    for (i, writer) in writers.iter().enumerate() {
        if i % 3 == 0 {
            tokio::time::sleep(std::time::Duration::from_micros(300 * (i as u64 % 7))).await;
            writer.abort();
        }
    }
    for writer in writers {
        match writer.await {
            Ok(done) => done.expect("a writer that was not killed succeeds"),
            Err(e) => assert!(e.is_cancelled()),
        }
    }

    // A dispatch killed in the middle of its batch.
    let dispatching = tokio::spawn({
        let shop = first.clone();
        async move { shop.dispatch_events().await }
    });
    tokio::time::sleep(std::time::Duration::from_millis(40)).await;
    dispatching.abort();
    let _ = dispatching.await;
    let before_restart = seen.lock().unwrap().len();
    drop(first);

    // The restart: a new shop on the same database. Its dispatcher waits
    // out the lease of the killed one, and the numbers the killed writers
    // took and never committed.
    clock.advance(Duration::minutes(2));
    let second = shop(&store, &clock, 2_000_000, recorder(0));
    loop {
        let report = second.dispatch_events().await.unwrap();
        assert!(report.failed.is_empty(), "{report:?}");
        let status = second.outbox_status().await.unwrap();
        if status.lag("test.recorder") == Some(0) {
            break;
        }
        clock.advance(Duration::minutes(2));
    }

    let committed: BTreeSet<i64> = store
        .list_products(&ProductQuery {
            page: 1,
            per_page: 100,
            ..ProductQuery::default()
        })
        .await
        .unwrap()
        .items
        .iter()
        .map(|p| p.id.0)
        .collect();
    let seen = seen.lock().unwrap().clone();
    let mut created: BTreeMap<i64, usize> = BTreeMap::new();
    for (_, e) in &seen {
        if let DomainEvent::ProductCreated { product_id } = e {
            *created.entry(product_id.0).or_default() += 1;
        }
    }
    let delivered: BTreeSet<i64> = created.keys().copied().collect();
    assert!(
        committed.len() >= 40,
        "the writers that were not killed committed: {}",
        committed.len()
    );
    eprintln!("{} of 60 writers committed", committed.len());
    assert_eq!(
        delivered, committed,
        "every committed product's event is delivered, and no event of a rolled-back write"
    );
    // At least once: only the event in flight when the dispatch was killed
    // may come twice.
    let repeats: usize = created.values().map(|n| n - 1).sum();
    assert!(repeats <= 1, "{repeats} repeats");
    assert!(
        before_restart < seen.len(),
        "the killed dispatch had not finished"
    );
    let seqs: Vec<i64> = seen.iter().map(|(s, _)| *s).collect();
    let mut sorted = seqs.clone();
    sorted.sort_unstable();
    assert_eq!(seqs, sorted, "delivered in order");
}

/// Ticks run, with the node that ran each.
type Runs = Arc<Mutex<Vec<(DateTime<Utc>, String)>>>;

/// Counts the ticks it runs, by tick.
struct TickCounter {
    name: &'static str,
    ticks: Runs,
    node: String,
}

#[async_trait]
impl Job for TickCounter {
    fn name(&self) -> &str {
        self.name
    }
    fn schedule(&self) -> Schedule {
        Schedule::every_secs(5)
    }
    async fn run(&self, ctx: &JobContext) -> shop_core::Result<String> {
        self.ticks
            .lock()
            .unwrap()
            .push((ctx.tick(), self.node.clone()));
        Ok("counted".into())
    }
}

/// A job that never finishes on its first run (its node "dies" holding the
/// lease) and finishes on any later one.
struct HangsOnce {
    runs: Arc<AtomicUsize>,
    finished: Runs,
    node: String,
}

#[async_trait]
impl Job for HangsOnce {
    fn name(&self) -> &str {
        "hangs_once"
    }
    fn schedule(&self) -> Schedule {
        Schedule::every_minutes(10)
    }
    async fn run(&self, ctx: &JobContext) -> shop_core::Result<String> {
        if self.runs.fetch_add(1, Ordering::SeqCst) == 0 {
            std::future::pending::<()>().await;
        }
        self.finished
            .lock()
            .unwrap()
            .push((ctx.tick(), self.node.clone()));
        Ok("finished".into())
    }
}

/// Two nodes for a minute of simulated time.
async fn two_nodes_run_each_tick_once_and_deliver_each_event_once<B: Backend>(store: B) {
    let store = Arc::new(store);
    let clock = Arc::new(ManualClock::new(start_time()));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let ticks = Arc::new(Mutex::new(Vec::new()));
    let hang_runs = Arc::new(AtomicUsize::new(0));
    let finished = Arc::new(Mutex::new(Vec::new()));
    let node = |name: &str, ids_from: i64| {
        let shop = shop(
            &store,
            &clock,
            ids_from,
            Arc::new(Recorder {
                name: "test.recorder",
                seen: seen.clone(),
                pause: std::time::Duration::ZERO,
            }),
        );
        let runner = shop
            .job_runner(name)
            .lease(Duration::seconds(10))
            .job(Arc::new(TickCounter {
                name: "tick_counter",
                ticks: ticks.clone(),
                node: name.to_owned(),
            }))
            .job(Arc::new(HangsOnce {
                runs: hang_runs.clone(),
                finished: finished.clone(),
                node: name.to_owned(),
            }));
        (shop, Arc::new(runner))
    };
    // Node C starts first and takes the hanging job's first tick; then it
    // is killed.
    let c_runner = Arc::new(
        JobRunner::new(store.clone(), clock.clone(), "node-c")
            .lease(Duration::seconds(10))
            .job(Arc::new(HangsOnce {
                runs: hang_runs.clone(),
                finished: finished.clone(),
                node: "node-c".to_owned(),
            })),
    );
    let c = tokio::spawn({
        let runner = c_runner.clone();
        async move { runner.run_due().await }
    });
    while hang_runs.load(Ordering::SeqCst) == 0 {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    c.abort();
    let _ = c.await;

    let (a_shop, a_runner) = node("node-a", 1_000_000);
    let (b_shop, b_runner) = node("node-b", 2_000_000);
    let mut written = 0;
    for second in 0..60 {
        // Both nodes take writes and run their jobs at the same time.
        let writes = (0..3).map(|i| {
            let shop = if i % 2 == 0 { &a_shop } else { &b_shop };
            let (draft, skus) = product(format!("node-{second}-{i}"));
            async move { shop.create_product(draft, skus).await.unwrap() }
        });
        let (_, a_runs, b_runs) = tokio::join!(
            futures::future::join_all(writes),
            a_runner.run_due(),
            b_runner.run_due()
        );
        written += 3;
        for run in a_runs.into_iter().chain(b_runs) {
            let run = run.expect("bookkeeping works");
            assert_ne!(
                run.outcome,
                Some(shop_core::jobs::JobOutcome::Failed),
                "{run:?}"
            );
        }
        clock.advance(Duration::seconds(1));
    }
    // Past the end: deliver what the last second wrote.
    clock.advance(Duration::minutes(2));
    a_shop.dispatch_events().await.unwrap();
    b_shop.dispatch_events().await.unwrap();

    // Each 5-second tick ran once, on one node or the other.
    let ticks = ticks.lock().unwrap().clone();
    let distinct: BTreeSet<DateTime<Utc>> = ticks.iter().map(|(t, _)| *t).collect();
    assert_eq!(ticks.len(), distinct.len(), "a tick ran twice: {ticks:?}");
    assert_eq!(distinct.len(), 12, "{ticks:?}");
    // The hanging job's tick was taken over once the dead node's lease
    // (10 s) ran out, and ran once.
    let finished = finished.lock().unwrap().clone();
    assert_eq!(finished.len(), 1, "{finished:?}");
    assert_eq!(finished[0].0, start_time());
    assert_ne!(finished[0].1, "node-c");
    let runs = a_shop.job_runs().await.unwrap();
    let hang = runs.iter().find(|r| r.name == "hangs_once").unwrap();
    assert_eq!(hang.outcome, Some(shop_core::jobs::JobOutcome::Succeeded));
    assert!(hang.started_at >= start_time() + Duration::seconds(10));
    // Node-scoped dispatch ran on both nodes.
    assert!(runs.iter().any(|r| r.name == "dispatch_events@node-a"));
    assert!(runs.iter().any(|r| r.name == "dispatch_events@node-b"));

    // Every event reached the listener exactly once, in order.
    let seen = seen.lock().unwrap().clone();
    let seqs: Vec<i64> = seen.iter().map(|(s, _)| *s).collect();
    let head = a_shop.outbox_status().await.unwrap().head;
    let all: Vec<i64> = store
        .read_events(0, 100_000)
        .await
        .unwrap()
        .iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(seqs, all, "each event once, in order");
    assert_eq!(all.last().copied(), Some(head));
    let created = seen
        .iter()
        .filter(|(_, e)| matches!(e, DomainEvent::ProductCreated { .. }))
        .count();
    assert_eq!(created, written);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_a_crash_loses_no_committed_event() {
    a_crash_loses_no_committed_event_and_delivers_no_rolled_back_one(common::sqlite_store().await)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_two_nodes() {
    two_nodes_run_each_tick_once_and_deliver_each_event_once(common::sqlite_store().await).await;
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_a_crash_loses_no_committed_event() {
    if let Some(store) = common::pg::fresh().await {
        a_crash_loses_no_committed_event_and_delivers_no_rolled_back_one(store).await;
    }
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_two_nodes() {
    if let Some(store) = common::pg::fresh().await {
        two_nodes_run_each_tick_once_and_deliver_each_event_once(store).await;
    }
}

#[cfg(feature = "mysql")]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mysql_a_crash_loses_no_committed_event() {
    if let Some(store) = common::my::fresh().await {
        a_crash_loses_no_committed_event_and_delivers_no_rolled_back_one(store).await;
    }
}

#[cfg(feature = "mysql")]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mysql_two_nodes() {
    if let Some(store) = common::my::fresh().await {
        two_nodes_run_each_tick_once_and_deliver_each_event_once(store).await;
    }
}
