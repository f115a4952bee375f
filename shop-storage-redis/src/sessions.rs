//! Sessions: `{prefix}{sessions}:session:{digest}` holds the session as JSON
//! and expires by itself after the session's lifetime
//! (`expires_at - created_at`); `{prefix}{sessions}:expiry` indexes the
//! digests by expiry for [`SessionStore::purge_expired_sessions`];
//! `{prefix}{sessions}:user:{id}` holds a user's digests for [`SessionStore::end_user_sessions`] and
//! expires with the user's longest session (a digest whose session ended
//! otherwise stays in it until then, harmlessly).
//!
//! Validity is always decided against the caller's `now`, like every other
//! backend; the key TTL only keeps Redis from filling up with dead sessions.

use std::sync::LazyLock;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use redis::{AsyncCommands, Script};
use shop_core::account::{Session, SessionStore};
use shop_core::{Entity, Error, Result, StoreError};

use crate::{corrupt, redis_err, RedisStore};

/// The hash tag of every session key: the scripts reach keys they derive
/// from the index and a user's set, which a Redis Cluster allows only
/// within one slot. One primary of a cluster therefore holds all sessions.
const SLOT: &str = "{sessions}";

/// Digests purged per script call, so one call never blocks the server long.
const PURGE_BATCH: usize = 500;

/// KEYS[1] session, KEYS[2] index, KEYS[3] the user's set; ARGV json, ttl
/// ms, expiry µs, digest. Returns 0 when the digest is taken.
static CREATE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
redis.call('SADD', KEYS[3], ARGV[4])
if redis.call('PTTL', KEYS[3]) < tonumber(ARGV[2]) then
  redis.call('PEXPIRE', KEYS[3], ARGV[2])
end
return 1
",
    )
});

/// KEYS[1] the user's set, KEYS[2] index; ARGV key prefix of sessions.
/// Ends every session in the set; returns how many still existed.
static END_USER: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local digests = redis.call('SMEMBERS', KEYS[1])
local ended = 0
for _, digest in ipairs(digests) do
  ended = ended + redis.call('DEL', ARGV[1] .. digest)
  redis.call('ZREM', KEYS[2], digest)
end
redis.call('DEL', KEYS[1])
return ended
",
    )
});

/// KEYS[1] session, KEYS[2] index; ARGV digest.
static DELETE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return 1
",
    )
});

/// KEYS[1] index; ARGV now µs, key prefix of sessions, batch size. Deletes
/// up to a batch of expired sessions and returns how many.
static PURGE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
for _, digest in ipairs(expired) do
  redis.call('DEL', ARGV[2] .. digest)
end
if #expired > 0 then redis.call('ZREM', KEYS[1], unpack(expired)) end
return #expired
",
    )
});

impl RedisStore {
    fn session_key(&self, digest: &str) -> String {
        self.key(&[SLOT, "session", digest])
    }

    fn session_index(&self) -> String {
        self.key(&[SLOT, "expiry"])
    }

    fn user_sessions(&self, user: shop_core::ids::UserId) -> String {
        self.key(&[SLOT, "user", &user.0.to_string()])
    }
}

#[async_trait]
impl SessionStore for RedisStore {
    async fn create_session(&self, session: &Session) -> Result<()> {
        let json = serde_json::to_string(session).map_err(|e| {
            Error::Store(StoreError::Backend {
                source: Box::new(e),
            })
        })?;
        let ttl_ms = (session.expires_at - session.created_at)
            .num_milliseconds()
            .max(1);
        let created: u8 = CREATE
            .key(self.session_key(&session.token_hash))
            .key(self.session_index())
            .key(self.user_sessions(session.user_id))
            .arg(json)
            .arg(ttl_ms)
            .arg(session.expires_at.timestamp_micros())
            .arg(&session.token_hash)
            .invoke_async(&mut self.conn())
            .await
            .map_err(redis_err)?;
        if created == 0 {
            return Err(Error::Store(StoreError::AlreadyExists {
                entity: Entity::Session,
                key: session.token_hash.clone(),
            }));
        }
        Ok(())
    }

    async fn get_session(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<Session>> {
        let key = self.session_key(token_hash);
        let json: Option<String> = self.conn().get(&key).await.map_err(redis_err)?;
        let Some(json) = json else {
            return Ok(None);
        };
        let session: Session = serde_json::from_str(&json).map_err(|e| corrupt(&key, e))?;
        Ok((session.expires_at > now).then_some(session))
    }

    async fn delete_session(&self, token_hash: &str) -> Result<()> {
        DELETE
            .key(self.session_key(token_hash))
            .key(self.session_index())
            .arg(token_hash)
            .invoke_async::<()>(&mut self.conn())
            .await
            .map_err(redis_err)
    }

    /// Counts the index entries it removes: a session Redis already dropped
    /// by its TTL still counts once, as it would in a SQL table.
    async fn purge_expired_sessions(&self, now: DateTime<Utc>) -> Result<u64> {
        let prefix = self.session_key("");
        let mut purged = 0u64;
        loop {
            let n: u64 = PURGE
                .key(self.session_index())
                .arg(now.timestamp_micros())
                .arg(&prefix)
                .arg(PURGE_BATCH)
                .invoke_async(&mut self.conn())
                .await
                .map_err(redis_err)?;
            purged += n;
            if n < PURGE_BATCH as u64 {
                return Ok(purged);
            }
        }
    }

    async fn end_user_sessions(&self, user: shop_core::ids::UserId) -> Result<u64> {
        END_USER
            .key(self.user_sessions(user))
            .key(self.session_index())
            .arg(self.session_key(""))
            .invoke_async(&mut self.conn())
            .await
            .map_err(redis_err)
    }
}
