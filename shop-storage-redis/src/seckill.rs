//! [`SeckillStock`] on Redis: a flash sale's units and takers in two keys
//! of one hash slot, every change one Lua script (`src/lua/seckill_*.lua`,
//! sent with `EVALSHA` and loaded again when the server answers
//! `NOSCRIPT`). The stock is the units minus the takers, so a unit given
//! back twice comes back once.

use std::sync::LazyLock;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use redis::{AsyncCommands, Script};
use shop_core::ids::{FlashSaleId, UserId};
use shop_core::seckill::{FlashSale, FlashSaleLedger, Reconciled, SeckillStock, Take, TakeRefusal};
use shop_core::Result;

use crate::{corrupt, redis_err, RedisStore};

static TAKE: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("lua/seckill_take.lua")));
static SYNC: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("lua/seckill_sync.lua")));
static REMAINING: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/seckill_remaining.lua")));

/// How long a sale's keys outlive its end (reconciliation stops a day
/// after it).
const KEEP_AFTER_END_DAYS: i64 = 2;

impl RedisStore {
    /// The sale's two keys, in one hash slot (`{fs:<id>}`).
    fn sale_keys(&self, sale: FlashSaleId) -> (String, String) {
        let tag = format!("{{fs:{}}}", sale.0);
        (self.key(&[&tag, "sale"]), self.key(&[&tag, "takers"]))
    }

    async fn sync(
        &self,
        mode: &str,
        sale: &FlashSale,
        ledger: &FlashSaleLedger,
        taken_before: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Reconciled> {
        let (sale_key, takers) = self.sale_keys(sale.id);
        let expire = (sale.ends_at + Duration::days(KEEP_AFTER_END_DAYS)).timestamp_millis();
        let mut call = SYNC.key(&sale_key);
        call.key(&takers)
            .arg(mode)
            .arg(ledger.units())
            .arg(sale.starts_at.timestamp_millis())
            .arg(sale.ends_at.timestamp_millis())
            .arg(expire)
            .arg(now.timestamp_millis())
            .arg(taken_before.timestamp_millis());
        for buyer in &ledger.buyers {
            call.arg(buyer.0);
        }
        let (loaded, returned, added): (u32, u32, u32) = call
            .invoke_async(&mut self.conn())
            .await
            .map_err(redis_err)?;
        Ok(Reconciled {
            loaded: loaded == 1,
            returned,
            added,
        })
    }
}

#[async_trait]
impl SeckillStock for RedisStore {
    async fn load(
        &self,
        sale: &FlashSale,
        ledger: &FlashSaleLedger,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.sync("load", sale, ledger, now, now).await.map(|_| ())
    }

    async fn take(&self, sale: FlashSaleId, user: UserId, now: DateTime<Utc>) -> Result<Take> {
        let (sale_key, takers) = self.sale_keys(sale);
        let code: i64 = TAKE
            .key(&sale_key)
            .key(&takers)
            .arg(user.0)
            .arg(now.timestamp_millis())
            .invoke_async(&mut self.conn())
            .await
            .map_err(redis_err)?;
        Ok(match code {
            1 => Take::Taken,
            0 => Take::Refused(TakeRefusal::SoldOut),
            -1 => Take::UnknownSale,
            -2 => Take::Refused(TakeRefusal::NotStarted),
            -3 => Take::Refused(TakeRefusal::Ended),
            -4 => Take::Refused(TakeRefusal::AlreadyTaken),
            other => return Err(corrupt(&sale_key, format!("take answered {other}"))),
        })
    }

    async fn give_back(&self, sale: FlashSaleId, user: UserId) -> Result<bool> {
        let (_, takers) = self.sale_keys(sale);
        let removed: u32 = self.conn().hdel(&takers, user.0).await.map_err(redis_err)?;
        Ok(removed == 1)
    }

    async fn remaining(&self, sale: FlashSaleId) -> Result<Option<u32>> {
        let (sale_key, takers) = self.sale_keys(sale);
        let left: i64 = REMAINING
            .key(&sale_key)
            .key(&takers)
            .invoke_async(&mut self.conn())
            .await
            .map_err(redis_err)?;
        Ok(u32::try_from(left).ok())
    }

    async fn reconcile(
        &self,
        sale: &FlashSale,
        ledger: &FlashSaleLedger,
        taken_before: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Reconciled> {
        self.sync("reconcile", sale, ledger, taken_before, now)
            .await
    }
}
