//! A delay queue: work due at a time (closing an unpaid order at its
//! deadline), claimed by any node with a lease. A job whose worker dies
//! after claiming it is claimed again when the lease ends, so the work runs
//! at least once; it must be idempotent (closing an order is a
//! compare-and-set).
//!
//! With a queue ([`ShopBuilder::delay_queue`](crate::ShopBuilder::delay_queue),
//! Redis in `shop-storage-redis`, [`MemoryDelayQueue`](crate::memory::MemoryDelayQueue)
//! in process), every placed order's close is scheduled at its deadline by
//! an outbox listener and run by a job every second on every node; the
//! polling close of expired orders then runs every ten minutes only, as a
//! safety net.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};

use crate::error::{Error, Result};
use crate::ids::OrderId;

/// A job of the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DelayedJob {
    /// Its id (one job per id).
    pub id: String,
    /// What to do, as the scheduler wrote it.
    pub payload: String,
}

/// The most characters of a job id or payload.
pub const MAX_DELAYED_CHARS: usize = 1024;

/// Port: the delay queue.
#[async_trait]
pub trait DelayQueue: Send + Sync + 'static {
    /// Schedules job `id` at `due` (a job of that id is replaced).
    async fn schedule(&self, id: &str, payload: &str, due: DateTime<Utc>) -> Result<()>;
    /// Claims up to `limit` jobs due at `now`, earliest first, each leased
    /// until `now + lease`: claimed by nobody else meanwhile, and claimable
    /// again afterwards unless completed. Atomic: concurrent claims never
    /// return one job twice within a lease.
    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<DelayedJob>>;
    /// Removes job `id` (done); no-op when absent.
    async fn complete(&self, id: &str) -> Result<()>;
    /// How many jobs the queue holds, claimed or not.
    async fn queued(&self) -> Result<u64>;
}

/// Checks an id or payload.
pub fn check_delayed(field: &'static str, text: &str) -> Result<()> {
    if text.is_empty() || text.chars().count() > MAX_DELAYED_CHARS {
        return Err(Error::validation(
            field,
            format!("must be 1 to {MAX_DELAYED_CHARS} characters"),
        ));
    }
    Ok(())
}

/// The job that closes an order at its deadline.
pub fn close_order_job(order: OrderId) -> (String, String) {
    (format!("close-order:{}", order.0), order.0.to_string())
}

/// The order a close job closes (`None` for any other job).
pub fn closed_by(job: &DelayedJob) -> Option<OrderId> {
    job.id
        .strip_prefix("close-order:")
        .and_then(|_| job.payload.parse().ok())
        .map(OrderId)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_close_job_names_its_order() {
        let (id, payload) = close_order_job(OrderId(42));
        let job = DelayedJob { id, payload };
        assert_eq!(closed_by(&job), Some(OrderId(42)));
        let other = DelayedJob {
            id: "mail:1".into(),
            payload: "42".into(),
        };
        assert_eq!(closed_by(&other), None);
        assert!(check_delayed("id", "").is_err());
        assert!(check_delayed("id", &"x".repeat(MAX_DELAYED_CHARS + 1)).is_err());
    }
}
