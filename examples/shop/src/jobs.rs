//! The background jobs, on shop-core's job runner
//! ([`Shop::job_runner`]): every second this instance dispatches the
//! outbox (e-mails, product counters); once per tick across all instances
//! sharing the database it closes unpaid orders whose time is up (every
//! minute), re-sends refunds a gateway missed (every five minutes), purges
//! expired sessions (hourly) and prunes delivered events (daily at 03:00
//! in the shop's time zone). Each tick of those runs once however many
//! instances run, under a lease another instance takes over if this one
//! dies. Their last runs are at `GET /api/admin/jobs`.
//!
//! On shutdown the runner stops: running jobs stop at their next chunk
//! boundary; what is left waits for the next tick.

use std::sync::Arc;
use std::time::Duration;

use shop_core::jobs::{JobOutcome, JobRun};
use shop_core::service::StopSignal;
use shop_core::Shop;
use tokio::task::JoinHandle;

use crate::cache::CatalogCache;

/// The longest the runner sleeps between two looks at the schedules.
const MAX_SLEEP: Duration = Duration::from_secs(1);

/// The running job runner.
pub struct Jobs {
    stop: StopSignal,
    task: Option<JoinHandle<()>>,
}

impl Jobs {
    /// Starts the shop's jobs on this instance, named `node`. Closing
    /// orders gives stock back, so each run of it invalidates `catalog`.
    pub fn start(shop: &Shop, node: String, catalog: Arc<CatalogCache>) -> Jobs {
        let runner = shop.job_runner(node);
        let stop = runner.stop_signal().clone();
        let task = tokio::spawn(async move {
            runner
                .run_until_stopped(MAX_SLEEP, tokio::time::sleep, |run| report(run, &catalog))
                .await;
        });
        Jobs {
            stop,
            task: Some(task),
        }
    }

    /// Asks the runner to stop (running jobs stop at their next chunk
    /// boundary) and waits until it has.
    pub async fn stop(mut self) {
        self.stop.raise();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Jobs {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

/// Logs a run worth telling about and keeps the catalog cache fresh.
fn report(run: shop_core::Result<JobRun>, catalog: &CatalogCache) {
    let run = match run {
        Ok(run) => run,
        Err(e) => {
            tracing::warn!(error = %e, "a job could not be run");
            return;
        }
    };
    if run.name == "close_expired_orders" {
        catalog.invalidate();
    }
    let detail = run.detail.as_deref().unwrap_or_default();
    match run.outcome {
        Some(JobOutcome::Failed) => {
            tracing::warn!(job = %run.name, error = %detail, "job failed");
        }
        _ if detail.contains("failed:")
            || detail.contains("skipped event")
            || detail.contains("check at the provider") =>
        {
            tracing::warn!(job = %run.name, %detail, "job needs attention");
        }
        _ => tracing::debug!(job = %run.name, %detail, "job ran"),
    }
}
