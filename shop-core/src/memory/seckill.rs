//! [`FlashSaleStore`] for [`MemoryStore`], and [`MemorySeckillStock`], the
//! in-process [`SeckillStock`] (for tests and single-process shops).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, PoisonError};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{already_exists, MemoryStore};
use crate::error::{Entity, Error, Result};
use crate::events::EventRecord;
use crate::ids::{FlashSaleId, SkuId, UserId};
use crate::seckill::{
    FlashSale, FlashSaleLedger, FlashSaleStore, Reconciled, SeckillStock, Take, TakeRefusal,
};

#[async_trait]
impl FlashSaleStore for MemoryStore {
    async fn create_flash_sale(&self, sale: &FlashSale, events: &[EventRecord]) -> Result<()> {
        self.write(events, |s| {
            if s.flash_sales.contains_key(&sale.id) {
                return Err(already_exists(Entity::FlashSale, sale.id));
            }
            let sku = s
                .skus
                .get_mut(&sale.sku_id)
                .ok_or_else(|| Error::not_found(Entity::Sku, sale.sku_id))?;
            sku.stock = sale.quantity;
            s.flash_sales.insert(sale.id, sale.clone());
            Ok(())
        })
    }

    async fn get_flash_sale(&self, id: FlashSaleId) -> Result<Option<FlashSale>> {
        Ok(self.state().flash_sales.get(&id).cloned())
    }

    async fn flash_sale_of_sku(&self, sku: SkuId) -> Result<Option<FlashSale>> {
        Ok(self
            .state()
            .flash_sales
            .values()
            .filter(|s| s.sku_id == sku)
            .max_by_key(|s| (s.starts_at, s.id))
            .cloned())
    }

    async fn list_flash_sales(&self, after: DateTime<Utc>, limit: u32) -> Result<Vec<FlashSale>> {
        let state = self.state();
        let mut sales: Vec<&FlashSale> = state
            .flash_sales
            .values()
            .filter(|s| s.ends_at > after)
            .collect();
        sales.sort_by_key(|s| (s.starts_at, s.id));
        Ok(sales.into_iter().take(limit as usize).cloned().collect())
    }

    async fn flash_sale_ledger(&self, id: FlashSaleId) -> Result<FlashSaleLedger> {
        let state = self.state();
        let sale = state
            .flash_sales
            .get(&id)
            .ok_or_else(|| Error::not_found(Entity::FlashSale, id))?;
        let stock = state.skus.get(&sale.sku_id).map_or(0, |s| s.stock);
        let mut buyers: Vec<UserId> = state
            .flash_sale_buyers
            .keys()
            .filter(|(sale, _)| *sale == id)
            .map(|(_, user)| *user)
            .collect();
        buyers.sort();
        Ok(FlashSaleLedger { stock, buyers })
    }
}

/// A sale as [`MemorySeckillStock`] holds it.
#[derive(Debug)]
struct Gate {
    units: u32,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    /// Takers and when they took.
    takers: HashMap<UserId, DateTime<Utc>>,
}

/// A [`SeckillStock`] in this process's memory, with the same rules as the
/// Redis one: units minus takers is the stock, one unit per taker.
#[derive(Debug, Default)]
pub struct MemorySeckillStock {
    sales: Mutex<BTreeMap<FlashSaleId, Gate>>,
}

impl MemorySeckillStock {
    /// An empty stock.
    pub fn new() -> Self {
        MemorySeckillStock::default()
    }

    /// Forgets a sale, as a Redis that lost its data would.
    pub fn forget(&self, sale: FlashSaleId) {
        self.sales().remove(&sale);
    }

    fn sales(&self) -> std::sync::MutexGuard<'_, BTreeMap<FlashSaleId, Gate>> {
        self.sales.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn gate(sale: &FlashSale, ledger: &FlashSaleLedger, now: DateTime<Utc>) -> Gate {
    Gate {
        units: ledger.units(),
        starts_at: sale.starts_at,
        ends_at: sale.ends_at,
        takers: ledger.buyers.iter().map(|u| (*u, now)).collect(),
    }
}

#[async_trait]
impl SeckillStock for MemorySeckillStock {
    async fn load(
        &self,
        sale: &FlashSale,
        ledger: &FlashSaleLedger,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.sales()
            .entry(sale.id)
            .or_insert_with(|| gate(sale, ledger, now));
        Ok(())
    }

    async fn take(&self, sale: FlashSaleId, user: UserId, now: DateTime<Utc>) -> Result<Take> {
        let mut sales = self.sales();
        let Some(g) = sales.get_mut(&sale) else {
            return Ok(Take::UnknownSale);
        };
        let refused = if now < g.starts_at {
            Some(TakeRefusal::NotStarted)
        } else if now >= g.ends_at {
            Some(TakeRefusal::Ended)
        } else if g.takers.contains_key(&user) {
            Some(TakeRefusal::AlreadyTaken)
        } else if g.takers.len() as u32 >= g.units {
            Some(TakeRefusal::SoldOut)
        } else {
            None
        };
        Ok(match refused {
            Some(r) => Take::Refused(r),
            None => {
                g.takers.insert(user, now);
                Take::Taken
            }
        })
    }

    async fn give_back(&self, sale: FlashSaleId, user: UserId) -> Result<bool> {
        Ok(self
            .sales()
            .get_mut(&sale)
            .is_some_and(|g| g.takers.remove(&user).is_some()))
    }

    async fn remaining(&self, sale: FlashSaleId) -> Result<Option<u32>> {
        Ok(self
            .sales()
            .get(&sale)
            .map(|g| g.units.saturating_sub(g.takers.len() as u32)))
    }

    async fn reconcile(
        &self,
        sale: &FlashSale,
        ledger: &FlashSaleLedger,
        taken_before: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Reconciled> {
        let mut sales = self.sales();
        let Some(g) = sales.get_mut(&sale.id) else {
            sales.insert(sale.id, gate(sale, ledger, now));
            return Ok(Reconciled {
                loaded: true,
                ..Reconciled::default()
            });
        };
        g.units = ledger.units();
        g.starts_at = sale.starts_at;
        g.ends_at = sale.ends_at;
        let before = g.takers.len();
        g.takers
            .retain(|user, at| ledger.buyers.contains(user) || *at >= taken_before);
        let returned = (before - g.takers.len()) as u32;
        let mut added = 0;
        for buyer in &ledger.buyers {
            if !g.takers.contains_key(buyer) {
                g.takers.insert(*buyer, now);
                added += 1;
            }
        }
        Ok(Reconciled {
            loaded: false,
            returned,
            added,
        })
    }
}
