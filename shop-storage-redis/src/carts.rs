//! Carts: one hash per user, SKU id → `quantity:added_at_micros`.
//!
//! Adding merges into an existing line inside one Lua script (read, add,
//! check the cap, write), so concurrent adds of the same SKU never lose a
//! unit nor pass [`MAX_LINE_QUANTITY`]; setting a quantity only touches a
//! line that exists, in one script too.

use std::sync::LazyLock;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use redis::{AsyncCommands, Script};
use shop_core::cart::{check_line_quantity, missing_line, CartItem, CartStore, MAX_LINE_QUANTITY};
use shop_core::ids::{SkuId, UserId};
use shop_core::Result;

use crate::{corrupt, redis_err, RedisStore};

/// KEYS[1] cart; ARGV sku, quantity, added_at, most units a line holds.
/// Returns the line's quantity, or -1 (writing nothing) when it would exceed
/// the most; a stored line not in our format is an error reply.
static ADD: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local line = redis.call('HGET', KEYS[1], ARGV[1])
local quantity = tonumber(ARGV[2])
local added_at = ARGV[3]
if line then
  local sep = string.find(line, ':', 1, true)
  local current = sep and tonumber(string.sub(line, 1, sep - 1))
  if not current then return redis.error_reply('malformed cart line ' .. line) end
  quantity = quantity + current
  added_at = string.sub(line, sep + 1)
end
if quantity > tonumber(ARGV[4]) then return -1 end
redis.call('HSET', KEYS[1], ARGV[1], quantity .. ':' .. added_at)
return quantity
",
    )
});

/// KEYS[1] cart; ARGV sku, quantity. Returns 0 when the line is absent.
static SET: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local line = redis.call('HGET', KEYS[1], ARGV[1])
if not line then return 0 end
local sep = string.find(line, ':', 1, true)
if not sep then return redis.error_reply('malformed cart line ' .. line) end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. ':' .. string.sub(line, sep + 1))
return 1
",
    )
});

impl RedisStore {
    fn cart_key(&self, user: UserId) -> String {
        self.key(&["cart", &user.0.to_string()])
    }
}

#[async_trait]
impl CartStore for RedisStore {
    async fn add_to_cart(
        &self,
        user: UserId,
        sku: SkuId,
        quantity: u32,
        at: DateTime<Utc>,
    ) -> Result<u32> {
        check_line_quantity(quantity.into())?;
        let total: i64 = ADD
            .key(self.cart_key(user))
            .arg(sku.0)
            .arg(quantity)
            .arg(at.timestamp_micros())
            .arg(MAX_LINE_QUANTITY)
            .invoke_async(&mut self.conn())
            .await
            .map_err(redis_err)?;
        check_line_quantity(u64::try_from(total).unwrap_or(u64::MAX))
    }

    async fn set_cart_quantity(&self, user: UserId, sku: SkuId, quantity: u32) -> Result<()> {
        check_line_quantity(quantity.into())?;
        let found: u8 = SET
            .key(self.cart_key(user))
            .arg(sku.0)
            .arg(quantity)
            .invoke_async(&mut self.conn())
            .await
            .map_err(redis_err)?;
        if found == 0 {
            return Err(missing_line(sku));
        }
        Ok(())
    }

    async fn remove_from_cart(&self, user: UserId, skus: &[SkuId]) -> Result<()> {
        if skus.is_empty() {
            return Ok(());
        }
        let fields: Vec<i64> = skus.iter().map(|s| s.0).collect();
        self.conn()
            .hdel::<_, _, ()>(self.cart_key(user), fields)
            .await
            .map_err(redis_err)
    }

    async fn list_cart(&self, user: UserId) -> Result<Vec<CartItem>> {
        let key = self.cart_key(user);
        let raw: Vec<(String, String)> = self.conn().hgetall(&key).await.map_err(redis_err)?;
        let mut lines = raw
            .into_iter()
            .map(|(sku, line)| parse_line(user, &sku, &line).ok_or_else(|| corrupt(&key, &line)))
            .collect::<Result<Vec<_>>>()?;
        lines.sort_by_key(|l| (l.added_at, l.sku_id));
        Ok(lines)
    }
}

/// One hash entry back into a line; `None` when it is not in our format.
fn parse_line(user: UserId, sku: &str, line: &str) -> Option<CartItem> {
    let (quantity, added_at) = line.split_once(':')?;
    Some(CartItem {
        user_id: user,
        sku_id: SkuId(sku.parse().ok()?),
        quantity: quantity.parse().ok()?,
        added_at: DateTime::from_timestamp_micros(added_at.parse().ok()?)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_parse_back_and_garbage_does_not() {
        let line = parse_line(UserId(1), "42", "3:1717243200000000").unwrap();
        assert_eq!(line.sku_id, SkuId(42));
        assert_eq!(line.quantity, 3);
        assert_eq!(line.added_at.timestamp(), 1_717_243_200);
        assert!(parse_line(UserId(1), "42", "3").is_none());
        assert!(parse_line(UserId(1), "x", "3:1").is_none());
        assert!(parse_line(UserId(1), "42", "-3:1").is_none());
    }
}
