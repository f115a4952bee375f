//! [`HistoryStore`] on Redis: one sorted set per buyer, products scored by
//! their latest view, trimmed to the newest by the same script that records
//! a view.

use std::sync::LazyLock;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use redis::Script;
use shop_core::ids::{ProductId, UserId};
use shop_core::user::HistoryStore;
use shop_core::Result;

use crate::{corrupt, redis_err, RedisStore};

static RECORD: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/history_record.lua")));

/// How long a history nobody adds to is kept.
const UNTOUCHED_SECS: i64 = 180 * 24 * 3600;

/// A product id as a member: zero-padded, so members of equal score sort
/// by id.
fn member(product: ProductId) -> String {
    format!("{:019}", product.0)
}

#[async_trait]
impl HistoryStore for RedisStore {
    async fn record_view(
        &self,
        user: UserId,
        product: ProductId,
        at: DateTime<Utc>,
        keep: u32,
    ) -> Result<()> {
        let key = self.key(&["history", &user.0.to_string()]);
        RECORD
            .key(&key)
            .arg(at.timestamp_micros())
            .arg(member(product))
            .arg(keep)
            .arg(UNTOUCHED_SECS)
            .invoke_async::<()>(&mut self.conn())
            .await
            .map_err(redis_err)
    }

    async fn recently_viewed(&self, user: UserId, limit: u32) -> Result<Vec<ProductId>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let key = self.key(&["history", &user.0.to_string()]);
        let members: Vec<String> = redis::cmd("ZREVRANGE")
            .arg(&key)
            .arg(0)
            .arg(i64::from(limit) - 1)
            .query_async(&mut self.conn())
            .await
            .map_err(redis_err)?;
        members
            .iter()
            .map(|m| {
                m.parse::<i64>()
                    .map(ProductId)
                    .map_err(|_| corrupt(&key, format!("member {m:?}")))
            })
            .collect()
    }
}
