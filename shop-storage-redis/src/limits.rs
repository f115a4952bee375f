//! A rate limiter shared by every instance of an app: GCRA (a token bucket
//! kept as one timestamp) in one Lua script on the server's clock.

use std::sync::LazyLock;

use redis::Script;
use shop_core::Result;

use crate::{redis_err, RedisStore};

/// KEYS[1] bucket; ARGV interval ms, capacity ms (burst × interval).
/// Returns 1 when the request is allowed (and counted), 0 when refused.
static TAKE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
local next_tat = tat + tonumber(ARGV[1])
if next_tat - now > tonumber(ARGV[2]) then return 0 end
redis.call('SET', KEYS[1], next_tat, 'PX', math.max(1, math.ceil(next_tat - now)))
return 1
",
    )
});

impl RedisStore {
    /// Takes one request from `bucket` (e.g. `login:203.0.113.7`): allows
    /// `per_minute` requests a minute, in bursts of up to `per_minute`, and
    /// answers `false` once the bucket is empty (the refused request is not
    /// counted). Every instance using the same prefix shares the bucket.
    pub async fn rate_limit(&self, bucket: &str, per_minute: u32) -> Result<bool> {
        let per_minute = per_minute.max(1);
        let interval_ms = 60_000.0 / f64::from(per_minute);
        let allowed: u8 = TAKE
            .key(self.key(&["rate", bucket]))
            .arg(interval_ms)
            // Half an interval of slack absorbs float rounding: exactly
            // `per_minute` fit, never one more.
            .arg(60_000.0 + interval_ms / 2.0)
            .invoke_async(&mut self.conn())
            .await
            .map_err(redis_err)?;
        Ok(allowed == 1)
    }
}
