//! [`DelayQueue`] on Redis: a sorted set of job ids by due time and a hash
//! of payloads, both in the `{delay}` hash slot; a claim moves each claimed
//! job's due time to the end of its lease in the same script, so a worker
//! that dies leaves its jobs to whoever claims after the lease.

use std::sync::LazyLock;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use redis::Script;
use shop_core::delay::{check_delayed, DelayQueue, DelayedJob};
use shop_core::Result;

use crate::{redis_err, RedisStore};

static SCHEDULE: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/delay_schedule.lua")));
static CLAIM: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("lua/delay_claim.lua")));
static COMPLETE: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/delay_complete.lua")));

impl RedisStore {
    /// The queue's two keys, in one hash slot.
    fn delay_keys(&self) -> (String, String) {
        (
            self.key(&["{delay}", "due"]),
            self.key(&["{delay}", "jobs"]),
        )
    }
}

#[async_trait]
impl DelayQueue for RedisStore {
    async fn schedule(&self, id: &str, payload: &str, due: DateTime<Utc>) -> Result<()> {
        check_delayed("id", id)?;
        check_delayed("payload", payload)?;
        let (due_key, jobs) = self.delay_keys();
        SCHEDULE
            .key(&due_key)
            .key(&jobs)
            .arg(id)
            .arg(payload)
            .arg(due.timestamp_millis())
            .invoke_async::<()>(&mut self.conn())
            .await
            .map_err(redis_err)
    }

    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<DelayedJob>> {
        let (due_key, jobs) = self.delay_keys();
        let flat: Vec<String> = CLAIM
            .key(&due_key)
            .key(&jobs)
            .arg(now.timestamp_millis())
            .arg(lease.num_milliseconds().max(1))
            .arg(limit)
            .invoke_async(&mut self.conn())
            .await
            .map_err(redis_err)?;
        Ok(flat
            .chunks_exact(2)
            .map(|pair| DelayedJob {
                id: pair[0].clone(),
                payload: pair[1].clone(),
            })
            .collect())
    }

    async fn complete(&self, id: &str) -> Result<()> {
        let (due_key, jobs) = self.delay_keys();
        COMPLETE
            .key(&due_key)
            .key(&jobs)
            .arg(id)
            .invoke_async::<()>(&mut self.conn())
            .await
            .map_err(redis_err)
    }

    async fn queued(&self) -> Result<u64> {
        let (due_key, _) = self.delay_keys();
        redis::cmd("ZCARD")
            .arg(&due_key)
            .query_async(&mut self.conn())
            .await
            .map_err(redis_err)
    }
}
