//! [`MemoryDelayQueue`]: the in-process [`DelayQueue`].

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};

use crate::delay::{check_delayed, DelayQueue, DelayedJob};
use crate::error::Result;

/// A [`DelayQueue`] in this process's memory, with the Redis one's rules: a
/// claim moves the job's due time to the lease's end.
#[derive(Debug, Default)]
pub struct MemoryDelayQueue {
    /// id → (payload, due).
    jobs: Mutex<HashMap<String, (String, DateTime<Utc>)>>,
}

impl MemoryDelayQueue {
    /// An empty queue.
    pub fn new() -> Self {
        MemoryDelayQueue::default()
    }
}

#[async_trait]
impl DelayQueue for MemoryDelayQueue {
    async fn schedule(&self, id: &str, payload: &str, due: DateTime<Utc>) -> Result<()> {
        check_delayed("id", id)?;
        check_delayed("payload", payload)?;
        self.jobs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id.to_owned(), (payload.to_owned(), due));
        Ok(())
    }

    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<DelayedJob>> {
        let mut jobs = self.jobs.lock().unwrap_or_else(PoisonError::into_inner);
        let mut due: Vec<(DateTime<Utc>, String)> = jobs
            .iter()
            .filter(|(_, (_, at))| *at <= now)
            .map(|(id, (_, at))| (*at, id.clone()))
            .collect();
        due.sort();
        let mut out = Vec::new();
        for (_, id) in due.into_iter().take(limit as usize) {
            if let Some((payload, at)) = jobs.get_mut(&id) {
                *at = now + lease;
                out.push(DelayedJob {
                    id,
                    payload: payload.clone(),
                });
            }
        }
        Ok(out)
    }

    async fn complete(&self, id: &str) -> Result<()> {
        self.jobs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(id);
        Ok(())
    }

    async fn queued(&self) -> Result<u64> {
        Ok(self
            .jobs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len() as u64)
    }
}
