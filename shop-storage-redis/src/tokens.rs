//! [`SubmitTokenStore`] on Redis: one hash per token, every step one Lua
//! script on that key (so it runs on a Redis Cluster too). Tokens kept here
//! are claimed before the order is written in the database and marked
//! consumed after ([`Stores::with_submit_tokens`](shop_core::Stores::with_submit_tokens)).

use std::sync::LazyLock;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use redis::Script;
use shop_core::error::Entity;
use shop_core::ids::{OrderId, UserId};
use shop_core::order::{SubmitTokenStore, SubmittedOrder, TokenClaim};
use shop_core::{Result, StoreError};

use crate::{corrupt, redis_err, RedisStore};

static ISSUE: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("lua/token_issue.lua")));
static CLAIM: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("lua/token_claim.lua")));
static FINISH: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/token_finish.lua")));

/// How long a token's key outlives its expiry, so a consumed token still
/// answers a retried submission with its order.
const KEEP_AFTER_EXPIRY_MS: i64 = 24 * 3600 * 1000;

impl RedisStore {
    fn token_key(&self, token: &str) -> String {
        self.key(&["token", token])
    }

    async fn end_claim(&self, user: UserId, token: &str, order: OrderId, how: &str) -> Result<()> {
        FINISH
            .key(self.token_key(token))
            .arg(user.0)
            .arg(order.0)
            .arg(how)
            .invoke_async::<i64>(&mut self.conn())
            .await
            .map_err(redis_err)?;
        Ok(())
    }
}

fn submitted(key: &str, order: Option<&String>, fp: Option<&String>) -> Result<SubmittedOrder> {
    let order_id = order
        .and_then(|o| o.parse().ok())
        .ok_or_else(|| corrupt(key, "a token's order id"))?;
    Ok(SubmittedOrder {
        order_id: OrderId(order_id),
        request_fingerprint: fp.cloned().unwrap_or_default(),
    })
}

#[async_trait]
impl SubmitTokenStore for RedisStore {
    async fn issue_submit_token(
        &self,
        user: UserId,
        token: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        let issued: i64 = ISSUE
            .key(self.token_key(token))
            .arg(user.0)
            .arg(expires_at.timestamp_millis())
            .arg(KEEP_AFTER_EXPIRY_MS)
            .invoke_async(&mut self.conn())
            .await
            .map_err(redis_err)?;
        if issued == 0 {
            return Err(StoreError::AlreadyExists {
                entity: Entity::SubmitToken,
                key: token.to_owned(),
            }
            .into());
        }
        Ok(())
    }

    async fn submitted_order(&self, user: UserId, token: &str) -> Result<Option<SubmittedOrder>> {
        let key = self.token_key(token);
        let fields: Vec<Option<String>> = redis::cmd("HMGET")
            .arg(&key)
            .arg(&["u", "o", "fp", "used"])
            .query_async(&mut self.conn())
            .await
            .map_err(redis_err)?;
        match fields.as_slice() {
            [Some(u), o, fp, Some(_)] if *u == user.0.to_string() => {
                Ok(Some(submitted(&key, o.as_ref(), fp.as_ref())?))
            }
            _ => Ok(None),
        }
    }

    async fn claim_submit_token(
        &self,
        user: UserId,
        token: &str,
        wanted: &SubmittedOrder,
        now: DateTime<Utc>,
        stale_before: DateTime<Utc>,
    ) -> Result<TokenClaim> {
        let key = self.token_key(token);
        let answer: Vec<String> = CLAIM
            .key(&key)
            .arg(user.0)
            .arg(wanted.order_id.0)
            .arg(&wanted.request_fingerprint)
            .arg(now.timestamp_millis())
            .arg(stale_before.timestamp_millis())
            .invoke_async(&mut self.conn())
            .await
            .map_err(redis_err)?;
        match answer.as_slice() {
            [what] if what == "unusable" => Ok(TokenClaim::Unusable),
            [what, order, fp] if what == "placed" => {
                Ok(TokenClaim::Placed(submitted(&key, Some(order), Some(fp))?))
            }
            [what, order, fp] if what == "pending" => {
                Ok(TokenClaim::Pending(submitted(&key, Some(order), Some(fp))?))
            }
            [what, order, resumed] if what == "claimed" => Ok(TokenClaim::Claimed {
                order_id: submitted(&key, Some(order), None)?.order_id,
                resumed: resumed == "1",
            }),
            other => Err(corrupt(&key, format!("claim answer {other:?}"))),
        }
    }

    async fn finish_submit_token(&self, user: UserId, token: &str, order: OrderId) -> Result<()> {
        self.end_claim(user, token, order, "finish").await
    }

    async fn release_submit_token(&self, user: UserId, token: &str, order: OrderId) -> Result<()> {
        self.end_claim(user, token, order, "release").await
    }
}
