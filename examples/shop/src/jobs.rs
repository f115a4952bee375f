//! The background jobs: every minute, close unpaid orders whose time is up
//! and purge expired sessions; every [`REFUND_RETRY_EVERY`], in a task of
//! its own (gateway calls are slow), re-send refunds a gateway missed.
//!
//! Every step is compare-and-set in the store, so the jobs of several
//! instances do not get in each other's way. On shutdown the jobs stop at
//! their next chunk boundary ([`StopSignal`]); what is left waits for the
//! next start.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use shop_core::service::StopSignal;
use shop_core::Shop;
use tokio::task::JoinHandle;

use crate::cache::CatalogCache;

/// How long a refund stays pending before the background job re-sends it
/// to its gateway.
pub const REFUND_RETRY_AFTER: chrono::Duration = chrono::Duration::minutes(5);
/// How often the refund job runs.
pub const REFUND_RETRY_EVERY: Duration = Duration::from_secs(5 * 60);
/// How long the job keeps re-sending a pending refund: under the shortest
/// idempotency window of the providers (Stripe keeps keys 24 hours).
pub const REFUND_RETRY_WINDOW: chrono::Duration = chrono::Duration::hours(23);
/// How often unpaid orders are closed and expired sessions purged.
pub const CLOSE_EVERY: Duration = Duration::from_secs(60);

/// The running jobs.
pub struct Jobs {
    stop: StopSignal,
    wake: Arc<tokio::sync::Notify>,
    tasks: Vec<JoinHandle<()>>,
}

impl Jobs {
    /// Starts the jobs on `shop`; closing orders gives stock back, so it
    /// invalidates `catalog`.
    pub fn start(shop: Shop, catalog: Arc<CatalogCache>) -> Jobs {
        let stop = StopSignal::new();
        let wake = Arc::new(tokio::sync::Notify::new());
        let tasks = vec![
            tokio::spawn(close_and_purge(
                shop.clone(),
                catalog,
                stop.clone(),
                wake.clone(),
            )),
            tokio::spawn(retry_refunds(shop, stop.clone(), wake.clone())),
        ];
        Jobs { stop, wake, tasks }
    }

    /// Asks the jobs to stop at their next chunk boundary and waits until
    /// they have.
    pub async fn stop(mut self) {
        self.stop.raise();
        self.wake.notify_waiters();
        for task in self.tasks.drain(..) {
            let _ = task.await;
        }
    }
}

impl Drop for Jobs {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Waits for `every`'s next tick, or for the stop; whether to go on.
async fn next_tick(
    every: &mut tokio::time::Interval,
    stop: &StopSignal,
    wake: &tokio::sync::Notify,
) -> bool {
    let woken = wake.notified();
    if stop.is_raised() {
        return false;
    }
    tokio::select! {
        _ = every.tick() => !stop.is_raised(),
        () = woken => false,
    }
}

async fn close_and_purge(
    shop: Shop,
    catalog: Arc<CatalogCache>,
    stop: StopSignal,
    wake: Arc<tokio::sync::Notify>,
) {
    let mut every = tokio::time::interval(CLOSE_EVERY);
    while next_tick(&mut every, &stop, &wake).await {
        match shop.close_expired_orders_until(&stop).await {
            Ok(0) => {}
            Ok(_) => catalog.invalidate(),
            Err(e) => {
                // Some may have closed before the failure.
                catalog.invalidate();
                tracing::warn!(error = %e, "closing expired orders failed");
            }
        }
        if stop.is_raised() {
            break;
        }
        if let Err(e) = shop.purge_expired_sessions().await {
            tracing::warn!(error = %e, "purging expired sessions failed");
        }
    }
}

/// Re-sends refunds a gateway missed; says once per refund when one has
/// been pending too long to re-send.
async fn retry_refunds(shop: Shop, stop: StopSignal, wake: Arc<tokio::sync::Notify>) {
    let mut reported = HashSet::new();
    let mut every = tokio::time::interval(REFUND_RETRY_EVERY);
    while next_tick(&mut every, &stop, &wake).await {
        match shop
            .retry_pending_refunds_until(REFUND_RETRY_AFTER, REFUND_RETRY_WINDOW, &stop)
            .await
        {
            Ok(report) => {
                for (refund_no, why) in &report.failed {
                    tracing::warn!(%refund_no, %why, "refund still pending");
                }
                for refund_no in report.too_old {
                    if !reported.contains(&refund_no) {
                        tracing::error!(
                            %refund_no,
                            "refund pending for over a day: check it at the provider"
                        );
                        reported.insert(refund_no);
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "retrying pending refunds failed"),
        }
    }
}
