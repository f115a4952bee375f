//! Flash sales (seckill): a SKU of a flash-sale product sold at a price in
//! a time window, one unit per buyer, its order paid within ten minutes.
//!
//! The database is the source of truth. A flash-sale order is placed like
//! any order ([`OrderStore::place_order`](crate::order::OrderStore::place_order)):
//! the SKU's stock is decremented only where it is at least one, and the
//! store records the buyer under a unique key on (sale, user), so neither
//! overselling nor a second unit for one buyer can pass the atomic write.
//! Closing the unpaid order gives the unit back and deletes the buyer's
//! record in the same step, so the buyer may try again.
//!
//! In front of the database an optional [`SeckillStock`] (Redis in
//! `shop-storage-redis`, [`MemorySeckillStock`](crate::memory::MemorySeckillStock)
//! for tests) answers the crowd: it takes a unit in one atomic step (window,
//! buyer, stock) so that only as many requests as there are units reach the
//! database. When the database then refuses (or fails), the unit is given
//! back; when the process dies in between, the reconciliation job
//! ([`Shop::reconcile_flash_sales`](crate::Shop::reconcile_flash_sales))
//! gives back every unit taken longer ago than a grace period that the
//! database has no buyer for, so the two never drift.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::events::EventRecord;
use crate::ids::{FlashSaleId, ProductId, SkuId, UserId};
use crate::money::Money;

/// The most units one sale may offer.
pub const MAX_FLASH_SALE_QUANTITY: u32 = 1_000_000;
/// The longest a sale may run.
pub const MAX_FLASH_SALE_DAYS: i64 = 31;
/// How far ahead a sale may start.
pub const MAX_FLASH_SALE_LEAD_DAYS: i64 = 366;

/// A flash sale of one SKU.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FlashSale {
    /// Id.
    pub id: FlashSaleId,
    /// The flash-sale product.
    pub product_id: ProductId,
    /// The SKU on sale.
    pub sku_id: SkuId,
    /// The sale price of one unit.
    pub price: Money,
    /// Units offered when the sale was set up (the SKU's stock was set to
    /// it then; the stock is what is left).
    pub quantity: u32,
    /// When buying opens.
    pub starts_at: DateTime<Utc>,
    /// When buying ends (exclusive).
    pub ends_at: DateTime<Utc>,
    /// When the sale was set up.
    pub created_at: DateTime<Utc>,
}

/// Where a sale stands at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum FlashSalePhase {
    /// Not open yet.
    Upcoming,
    /// Open.
    Open,
    /// Over.
    Ended,
}

impl FlashSale {
    /// The phase at `now`.
    pub fn phase(&self, now: DateTime<Utc>) -> FlashSalePhase {
        if now < self.starts_at {
            FlashSalePhase::Upcoming
        } else if now < self.ends_at {
            FlashSalePhase::Open
        } else {
            FlashSalePhase::Ended
        }
    }

    /// Refuses a purchase outside the window.
    pub fn check_open(&self, now: DateTime<Utc>) -> Result<()> {
        match self.phase(now) {
            FlashSalePhase::Upcoming => Err(Error::FlashSale(FlashSaleRefusal::NotStarted {
                starts_at: self.starts_at,
            })),
            FlashSalePhase::Ended => Err(Error::FlashSale(FlashSaleRefusal::Ended)),
            FlashSalePhase::Open => Ok(()),
        }
    }
}

/// What an administrator sets up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FlashSaleDraft {
    /// The SKU (of a flash-sale product).
    pub sku_id: SkuId,
    /// The sale price of one unit (in the SKU's currency).
    pub price: Money,
    /// Units offered, 1 to 1,000,000: the SKU's stock is set to it.
    pub quantity: u32,
    /// When buying opens.
    pub starts_at: DateTime<Utc>,
    /// When buying ends; after `starts_at`, at most 31 days later.
    pub ends_at: DateTime<Utc>,
}

impl FlashSaleDraft {
    /// Checks the draft on its own (not against the catalog).
    pub fn validate(&self) -> Result<()> {
        if self.quantity == 0 || self.quantity > MAX_FLASH_SALE_QUANTITY {
            return Err(Error::validation(
                "quantity",
                format!("must be 1 to {MAX_FLASH_SALE_QUANTITY}"),
            ));
        }
        if !self.price.is_positive() || !self.price.is_whole_minor_units() {
            return Err(Error::validation(
                "price",
                "must be more than zero, in whole minor units",
            ));
        }
        if self.ends_at <= self.starts_at {
            return Err(Error::validation("ends_at", "must be after starts_at"));
        }
        if self.ends_at - self.starts_at > Duration::days(MAX_FLASH_SALE_DAYS) {
            return Err(Error::validation(
                "ends_at",
                format!("a sale runs at most {MAX_FLASH_SALE_DAYS} days"),
            ));
        }
        Ok(())
    }
}

/// Why a flash-sale purchase was refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(rename_all = "snake_case", tag = "reason")]
pub enum FlashSaleRefusal {
    /// The sale has not started.
    #[error("the sale starts at {starts_at}")]
    NotStarted {
        /// When it starts.
        starts_at: DateTime<Utc>,
    },
    /// The sale is over.
    #[error("the sale has ended")]
    Ended,
    /// Every unit is taken (some may come back when unpaid orders close).
    #[error("sold out")]
    SoldOut,
    /// The buyer already has this sale's unit (pending or paid).
    #[error("you already bought this item")]
    AlreadyBought,
}

/// A sale's units in the database: the SKU's stock and the buyers holding
/// a unit (their order pending or paid), read in one consistent step.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FlashSaleLedger {
    /// The SKU's stock.
    pub stock: u32,
    /// Buyers holding a unit.
    pub buyers: Vec<UserId>,
}

impl FlashSaleLedger {
    /// Every unit of the sale: left and held.
    pub fn units(&self) -> u32 {
        self.stock.saturating_add(self.buyers.len() as u32)
    }
}

/// Port: flash sales in the database (the source of truth).
#[async_trait]
pub trait FlashSaleStore: Send + Sync + 'static {
    /// Stores a new sale and sets its SKU's stock to `sale.quantity`, in
    /// one atomic step.
    async fn create_flash_sale(&self, sale: &FlashSale, events: &[EventRecord]) -> Result<()>;
    /// Loads a sale.
    async fn get_flash_sale(&self, id: FlashSaleId) -> Result<Option<FlashSale>>;
    /// The SKU's latest sale (by start).
    async fn flash_sale_of_sku(&self, sku: SkuId) -> Result<Option<FlashSale>>;
    /// Sales ending after `after`, by start then id, at most `limit`.
    async fn list_flash_sales(&self, after: DateTime<Utc>, limit: u32) -> Result<Vec<FlashSale>>;
    /// The sale's [`FlashSaleLedger`] (`NotFound` for an unknown sale).
    async fn flash_sale_ledger(&self, id: FlashSaleId) -> Result<FlashSaleLedger>;
}

/// What [`SeckillStock::take`] answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Take {
    /// A unit is the buyer's (recorded with the time, for
    /// reconciliation).
    Taken,
    /// Refused.
    Refused(TakeRefusal),
    /// The stock does not know the sale (never loaded, or its data was
    /// lost): load it with [`SeckillStock::load`] and try again.
    UnknownSale,
}

/// Why [`SeckillStock::take`] refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TakeRefusal {
    /// Before the window.
    NotStarted,
    /// After the window.
    Ended,
    /// No unit left.
    SoldOut,
    /// The buyer holds a unit already.
    AlreadyTaken,
}

/// What [`SeckillStock::reconcile`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Reconciled {
    /// The sale was missing and was loaded from the ledger.
    pub loaded: bool,
    /// Units given back: taken longer ago than the grace period, with no
    /// buyer in the database.
    pub returned: u32,
    /// Buyers of the database the stock did not have, added.
    pub added: u32,
}

/// Port: a fast gate in front of the database for a flash sale's crowd
/// (Redis). Every method is atomic on its own. The stock of a sale is its
/// units minus its takers, so a give-back that runs twice returns one unit.
#[async_trait]
pub trait SeckillStock: Send + Sync + 'static {
    /// Makes `sale` known with the database's `ledger` (its units and
    /// buyers), unless it is known already.
    async fn load(
        &self,
        sale: &FlashSale,
        ledger: &FlashSaleLedger,
        now: DateTime<Utc>,
    ) -> Result<()>;

    /// Takes one unit of `sale` for `user` at `now`: inside the window, not
    /// held by the user already, while units are left — all checked and
    /// recorded in one atomic step.
    async fn take(&self, sale: FlashSaleId, user: UserId, now: DateTime<Utc>) -> Result<Take>;

    /// Gives `user`'s unit back; `false` when the user held none.
    async fn give_back(&self, sale: FlashSaleId, user: UserId) -> Result<bool>;

    /// Units left (`None` when the sale is unknown).
    async fn remaining(&self, sale: FlashSaleId) -> Result<Option<u32>>;

    /// Makes the stock agree with the database's `ledger`: the sale's
    /// units become the ledger's, takers with no buyer in the ledger taken
    /// before `taken_before` are given back (younger ones may be placing
    /// their order right now), buyers it lacks are added; a sale it does not
    /// know is loaded.
    async fn reconcile(
        &self,
        sale: &FlashSale,
        ledger: &FlashSaleLedger,
        taken_before: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Reconciled>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;
    use chrono::TimeZone;

    fn sale() -> FlashSale {
        let at = Utc.with_ymd_and_hms(2026, 6, 18, 10, 0, 0).unwrap();
        FlashSale {
            id: FlashSaleId(1),
            product_id: ProductId(2),
            sku_id: SkuId(3),
            price: Money::parse("1.00", Currency::Cny).unwrap(),
            quantity: 10,
            starts_at: at,
            ends_at: at + Duration::hours(1),
            created_at: at - Duration::days(1),
        }
    }

    #[test]
    fn the_window_includes_its_start_and_excludes_its_end() {
        let s = sale();
        assert_eq!(
            s.phase(s.starts_at - Duration::seconds(1)),
            FlashSalePhase::Upcoming
        );
        assert_eq!(s.phase(s.starts_at), FlashSalePhase::Open);
        assert_eq!(
            s.phase(s.ends_at - Duration::seconds(1)),
            FlashSalePhase::Open
        );
        assert_eq!(s.phase(s.ends_at), FlashSalePhase::Ended);
        assert!(matches!(
            s.check_open(s.ends_at),
            Err(Error::FlashSale(FlashSaleRefusal::Ended))
        ));
    }

    #[test]
    fn drafts_need_a_quantity_a_price_and_a_window() {
        let s = sale();
        let ok = FlashSaleDraft {
            sku_id: s.sku_id,
            price: s.price,
            quantity: 1,
            starts_at: s.starts_at,
            ends_at: s.ends_at,
        };
        assert!(ok.validate().is_ok());
        for bad in [
            FlashSaleDraft {
                quantity: 0,
                ..ok.clone()
            },
            FlashSaleDraft {
                quantity: MAX_FLASH_SALE_QUANTITY + 1,
                ..ok.clone()
            },
            FlashSaleDraft {
                price: Money::zero(Currency::Cny),
                ..ok.clone()
            },
            FlashSaleDraft {
                ends_at: ok.starts_at,
                ..ok.clone()
            },
            FlashSaleDraft {
                ends_at: ok.starts_at + Duration::days(32),
                ..ok.clone()
            },
        ] {
            assert!(
                matches!(bad.validate(), Err(Error::Validation { .. })),
                "{bad:?}"
            );
        }
    }
}
