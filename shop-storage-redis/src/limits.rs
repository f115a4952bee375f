//! A rate limiter shared by every instance of an app: GCRA (a token bucket
//! kept as one timestamp) in one Lua script on the server's clock.

use std::sync::LazyLock;

use redis::Script;
use shop_core::Result;

use crate::{redis_err, RedisStore};

/// KEYS[1] bucket; ARGV interval µs, capacity µs (burst × interval), both
/// whole numbers, so every sum below is exact in Lua's doubles (µs since the
/// epoch stay below 2^53). Returns 1 when the request is allowed (and
/// counted), 0 when refused.
static TAKE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
local next_tat = tat + tonumber(ARGV[1])
if next_tat - now > tonumber(ARGV[2]) then return 0 end
redis.call('SET', KEYS[1], string.format('%d', next_tat), 'PX', math.ceil((next_tat - now) / 1000))
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
        let per_minute = u64::from(per_minute.max(1));
        // One token every `interval` µs, rounded up so the refill is never
        // faster than asked; `per_minute` intervals fit in the bucket.
        let interval = 60_000_000u64.div_ceil(per_minute);
        let allowed: u8 = TAKE
            .key(self.key(&["rate", bucket]))
            .arg(interval)
            .arg(interval * per_minute)
            .invoke_async(&mut self.conn())
            .await
            .map_err(redis_err)?;
        Ok(allowed == 1)
    }
}
