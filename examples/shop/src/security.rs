//! Secrets: random bearer tokens, their SHA-256 digests (the only form the
//! store sees), and a per-client rate limiter (local, or shared through
//! Redis). Password hashing is [`crate::passwords`].

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use aws_lc_rs::digest;
use rand::RngExt;
use shop_storage_redis::RedisStore;

use crate::error::AppError;

/// A new random bearer token: 32 bytes, lowercase hex.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill(&mut bytes[..]);
    hex::encode(bytes)
}

/// The lowercase hex SHA-256 digest of a token, as stored.
pub fn token_digest(token: &str) -> String {
    hex::encode(digest::digest(&digest::SHA256, token.as_bytes()).as_ref())
}

/// A token bucket per (action, client address): `burst` requests at once,
/// refilled at `per_minute` requests a minute. Kept in this instance's
/// memory, or in Redis so every instance of the shop shares the buckets.
pub struct RateLimiter {
    per_minute: u32,
    buckets: Buckets,
}

enum Buckets {
    Local(Mutex<HashMap<BucketKey, Bucket>>),
    Shared(Arc<RedisStore>),
}

impl std::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.buckets {
            Buckets::Local(_) => "local",
            Buckets::Shared(_) => "redis",
        };
        f.debug_struct("RateLimiter")
            .field("per_minute", &self.per_minute)
            .field("buckets", &kind)
            .finish()
    }
}

/// Which bucket: the action and the client's address.
type BucketKey = (&'static str, IpAddr);
/// Tokens left and when they were counted.
type Bucket = (f64, Instant);

/// Buckets kept before full ones are dropped (bounded memory).
const MAX_BUCKETS: usize = 10_000;

impl RateLimiter {
    /// A limiter in this instance's memory allowing `per_minute` requests a
    /// minute per action and client, in bursts of up to `per_minute`.
    pub fn new(per_minute: u32) -> Self {
        RateLimiter {
            per_minute: per_minute.max(1),
            buckets: Buckets::Local(Mutex::new(HashMap::new())),
        }
    }

    /// The same limits, with the buckets in Redis (shared by every instance
    /// on that server and key prefix).
    pub fn shared(redis: Arc<RedisStore>, per_minute: u32) -> Self {
        RateLimiter {
            per_minute: per_minute.max(1),
            buckets: Buckets::Shared(redis),
        }
    }

    /// Takes one token for `action` from `client`'s bucket, or answers
    /// `429 rate_limited` (`503` when the shared buckets are unreachable).
    pub async fn check(&self, action: &'static str, client: IpAddr) -> Result<(), AppError> {
        let allowed = match &self.buckets {
            Buckets::Local(buckets) => self.take_local(buckets, (action, client)),
            Buckets::Shared(redis) => {
                redis
                    .rate_limit(&format!("{action}:{client}"), self.per_minute)
                    .await?
            }
        };
        if allowed {
            Ok(())
        } else {
            Err(AppError::rate_limited(u64::from(
                60_u32.div_ceil(self.per_minute),
            )))
        }
    }

    fn take_local(&self, buckets: &Mutex<HashMap<BucketKey, Bucket>>, key: BucketKey) -> bool {
        let burst = f64::from(self.per_minute);
        let per_second = burst / 60.0;
        let now = Instant::now();
        let mut buckets = buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() >= MAX_BUCKETS {
            buckets.retain(|_, (tokens, at)| {
                *tokens + now.duration_since(*at).as_secs_f64() * per_second < burst
            });
        }
        let (tokens, at) = buckets.entry(key).or_insert((burst, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * per_second).min(burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_bucket_empties_then_refuses() {
        let limiter = RateLimiter::new(3);
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        for _ in 0..3 {
            limiter.check("login", ip).await.unwrap();
        }
        assert_eq!(limiter.check("login", ip).await.unwrap_err().status, 429);
        limiter.check("register", ip).await.unwrap();
        limiter
            .check("login", "10.0.0.2".parse().unwrap())
            .await
            .unwrap();
    }

    #[test]
    fn tokens_are_random_and_digests_hex() {
        assert_eq!(token_digest("a").len(), 64);
        assert_eq!(new_token().len(), 64);
        assert_ne!(new_token(), new_token());
    }
}
