//! Flash sales: setting one up, the storefront's view, buying one unit, and
//! reconciling the fast stock with the database (see [`crate::seckill`]).

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::Shop;
use crate::catalog::ProductKind;
use crate::error::{Entity, Error, Result};
use crate::events::{DomainEvent, StockChangeReason};
use crate::ids::{AddressId, FlashSaleId, OrderItemId, SkuId, UserId};
use crate::order::{payment_window, Order, OrderItem, OrderState};
use crate::seckill::{
    FlashSale, FlashSaleDraft, FlashSalePhase, FlashSaleRefusal, Take, TakeRefusal,
    MAX_FLASH_SALE_LEAD_DAYS,
};

/// How many sales [`Shop::flash_sales`] lists at most.
pub const MAX_LISTED_FLASH_SALES: u32 = 200;

/// How long after its end a sale is still reconciled (its last unpaid
/// orders close ten minutes after their placement).
const RECONCILE_AFTER_END: i64 = 1;

/// A sale as the storefront shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FlashSaleView {
    /// The sale.
    #[serde(flatten)]
    pub sale: FlashSale,
    /// Where it stands now.
    pub phase: FlashSalePhase,
    /// Units left now (units held by unpaid orders come back if those
    /// close).
    pub remaining: u32,
}

/// What [`Shop::reconcile_flash_sales`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReconcileReport {
    /// Sales compared.
    pub sales: u32,
    /// Sales the fast stock did not know, loaded from the database.
    pub loaded: u32,
    /// Units given back (taken, never ordered).
    pub returned: u32,
    /// Buyers of the database the fast stock lacked, added.
    pub added: u32,
}

fn refusal(r: TakeRefusal, sale: &FlashSale) -> Error {
    Error::FlashSale(match r {
        TakeRefusal::NotStarted => FlashSaleRefusal::NotStarted {
            starts_at: sale.starts_at,
        },
        TakeRefusal::Ended => FlashSaleRefusal::Ended,
        TakeRefusal::SoldOut => FlashSaleRefusal::SoldOut,
        TakeRefusal::AlreadyTaken => FlashSaleRefusal::AlreadyBought,
    })
}

impl Shop {
    /// Sets up a flash sale of a flash-sale product's SKU (admin): its
    /// stock becomes `draft.quantity`. Refused while the SKU has a sale
    /// that has not ended, for another kind of product, for a window
    /// already over, or starting more than a year ahead.
    pub async fn create_flash_sale(&self, draft: FlashSaleDraft) -> Result<FlashSale> {
        draft.validate()?;
        let now = self.now();
        if draft.ends_at <= now {
            return Err(Error::validation("ends_at", "must be in the future"));
        }
        if draft.starts_at > now + Duration::days(MAX_FLASH_SALE_LEAD_DAYS) {
            return Err(Error::validation(
                "starts_at",
                format!("at most {MAX_FLASH_SALE_LEAD_DAYS} days ahead"),
            ));
        }
        let (sku, product) = self
            .sku_of_kind(
                draft.sku_id,
                ProductKind::Seckill,
                "only a flash-sale product's SKU goes on a flash sale",
            )
            .await?;
        if draft.price.currency() != sku.price.currency() {
            return Err(Error::validation(
                "price",
                format!("must be in {}", sku.price.currency().code()),
            ));
        }
        if let Some(current) = self
            .inner
            .stores
            .flash_sales
            .flash_sale_of_sku(sku.id)
            .await?
        {
            if current.ends_at > now {
                return Err(Error::refused(
                    "sku_id",
                    "the SKU has a flash sale that has not ended",
                ));
            }
        }
        let sale = FlashSale {
            id: FlashSaleId(self.next_id()),
            product_id: product.id,
            sku_id: sku.id,
            price: draft.price,
            quantity: draft.quantity,
            starts_at: draft.starts_at,
            ends_at: draft.ends_at,
            created_at: now,
        };
        let mut events = vec![DomainEvent::ProductChanged {
            product_id: product.id,
        }];
        let delta = i64::from(sale.quantity) - i64::from(sku.stock);
        if delta != 0 {
            events.push(DomainEvent::StockChanged {
                sku_id: sku.id,
                product_id: product.id,
                delta,
                reason: StockChangeReason::Adjusted,
            });
        }
        let events = self.records(events);
        self.inner
            .stores
            .flash_sales
            .create_flash_sale(&sale, &events)
            .await?;
        self.inner
            .recent_sales
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&sale.sku_id);
        if let Some(stock) = &self.inner.seckill {
            // Loaded on the first purchase otherwise.
            if let Ok(ledger) = self
                .inner
                .stores
                .flash_sales
                .flash_sale_ledger(sale.id)
                .await
            {
                let _ = stock.load(&sale, &ledger, now).await;
            }
        }
        Ok(sale)
    }

    /// A sale by id.
    pub async fn flash_sale(&self, id: FlashSaleId) -> Result<FlashSaleView> {
        let sale = self
            .inner
            .stores
            .flash_sales
            .get_flash_sale(id)
            .await?
            .ok_or_else(|| Error::not_found(Entity::FlashSale, id))?;
        self.flash_sale_view(sale).await
    }

    /// The SKU's latest sale.
    pub async fn flash_sale_of_sku(&self, sku: SkuId) -> Result<FlashSaleView> {
        let sale = self.latest_sale(sku).await?;
        self.flash_sale_view(sale).await
    }

    /// Sales open now or to come, soonest first (at most 200).
    pub async fn flash_sales(&self) -> Result<Vec<FlashSaleView>> {
        let sales = self
            .inner
            .stores
            .flash_sales
            .list_flash_sales(self.now(), MAX_LISTED_FLASH_SALES)
            .await?;
        let mut out = Vec::with_capacity(sales.len());
        for sale in sales {
            out.push(self.flash_sale_view(sale).await?);
        }
        Ok(out)
    }

    async fn latest_sale(&self, sku: SkuId) -> Result<FlashSale> {
        self.inner
            .stores
            .flash_sales
            .flash_sale_of_sku(sku)
            .await?
            .ok_or_else(|| Error::not_found(Entity::FlashSale, sku))
    }

    /// [`Shop::latest_sale`] as this process read it within the last
    /// second: a sale never changes once set up, and a new sale of the SKU
    /// is seen a second later at most (its setup on this process at once).
    async fn recent_sale(&self, sku: SkuId) -> Result<FlashSale> {
        let fresh = std::time::Duration::from_secs(1);
        {
            let recent = self
                .inner
                .recent_sales
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some((sale, read)) = recent.get(&sku) {
                if read.elapsed() < fresh {
                    return Ok(sale.clone());
                }
            }
        }
        let sale = self.latest_sale(sku).await?;
        let mut recent = self
            .inner
            .recent_sales
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if recent.len() > 10_000 {
            recent.retain(|_, (_, read)| read.elapsed() < fresh);
        }
        recent.insert(sku, (sale.clone(), std::time::Instant::now()));
        Ok(sale)
    }

    async fn flash_sale_view(&self, sale: FlashSale) -> Result<FlashSaleView> {
        let from_stock = match &self.inner.seckill {
            Some(stock) => stock.remaining(sale.id).await.ok().flatten(),
            None => None,
        };
        let remaining = match from_stock {
            Some(left) => left,
            None => {
                self.inner
                    .stores
                    .flash_sales
                    .flash_sale_ledger(sale.id)
                    .await?
                    .stock
            }
        };
        Ok(FlashSaleView {
            phase: sale.phase(self.now()),
            remaining,
            sale,
        })
    }

    /// Buys one unit of `sku`'s flash sale for `user`, shipped to one of
    /// their addresses: an order of one line at the sale price, to be paid
    /// within ten minutes (else it closes and the unit returns). Refused
    /// with [`Error::FlashSale`]: outside the window, sold out, or when the
    /// buyer already holds a unit (pending or paid).
    ///
    /// With a [`SeckillStock`](crate::seckill::SeckillStock) the unit is
    /// taken there first and given back when the database refuses; the
    /// database's atomic write decides in every case.
    pub async fn seckill_order(
        &self,
        user: UserId,
        sku: SkuId,
        address_id: AddressId,
    ) -> Result<Order> {
        let sale = self.recent_sale(sku).await?;
        let now = self.now();
        sale.check_open(now)?;
        let took = match &self.inner.seckill {
            None => false,
            Some(stock) => {
                let mut take = stock.take(sale.id, user, now).await?;
                if take == Take::UnknownSale {
                    let ledger = self
                        .inner
                        .stores
                        .flash_sales
                        .flash_sale_ledger(sale.id)
                        .await?;
                    stock.load(&sale, &ledger, now).await?;
                    take = stock.take(sale.id, user, now).await?;
                }
                match take {
                    Take::Taken => true,
                    Take::Refused(r) => return Err(refusal(r, &sale)),
                    Take::UnknownSale => {
                        return Err(Error::Store(crate::StoreError::Unavailable {
                            source: "the flash-sale stock lost the sale it was just given".into(),
                        }))
                    }
                }
            }
        };
        // The address after the take: the crowd that finds no unit left is
        // answered by the fast stock alone.
        let placed = match self.address(user, address_id).await {
            Ok(address) => self.place_flash_sale_order(user, &sale, address, now).await,
            Err(e) => Err(e),
        };
        if placed.is_err() && took {
            if let Some(stock) = &self.inner.seckill {
                // If this fails too, reconciliation gives it back.
                let _ = stock.give_back(sale.id, user).await;
            }
        }
        placed
    }

    async fn place_flash_sale_order(
        &self,
        user: UserId,
        sale: &FlashSale,
        address: crate::user::Address,
        now: DateTime<Utc>,
    ) -> Result<Order> {
        let sku = self
            .inner
            .stores
            .catalog
            .get_skus(&[sale.sku_id])
            .await?
            .pop()
            .ok_or_else(|| Error::not_found(Entity::Sku, sale.sku_id))?;
        if sku.stock == 0 {
            return Err(Error::FlashSale(FlashSaleRefusal::SoldOut));
        }
        let order = Order {
            id: crate::ids::OrderId(self.next_id()),
            no: String::new(),
            user_id: user,
            kind: ProductKind::Seckill,
            address: address.snapshot(),
            items: vec![OrderItem {
                id: OrderItemId(self.next_id()),
                product_id: sale.product_id,
                sku_id: sale.sku_id,
                quantity: 1,
                unit_price: sale.price,
                review: None,
            }],
            items_total: sale.price,
            total: sale.price,
            coupon_id: None,
            remark: String::new(),
            state: OrderState::PENDING,
            payment: None,
            shipment: None,
            refund_reason: None,
            refund_refusal: None,
            created_at: now,
            expires_at: now + payment_window(ProductKind::Seckill),
            closed_at: None,
        };
        match self
            .place_with_fresh_no(order, None, false, Some(sale.id), None)
            .await
        {
            Err(Error::OutOfStock { .. }) => Err(Error::FlashSale(FlashSaleRefusal::SoldOut)),
            other => other,
        }
    }

    /// Gives a closed flash-sale order's unit back to the fast stock (best
    /// effort: reconciliation catches what fails).
    pub(super) async fn give_back_flash_sale_unit(&self, order: &Order) {
        let Some(stock) = &self.inner.seckill else {
            return;
        };
        for line in &order.items {
            if let Ok(sale) = self.latest_sale(line.sku_id).await {
                let _ = stock.give_back(sale.id, order.user_id).await;
            }
        }
    }

    /// Makes the fast flash-sale stock agree with the database, for every
    /// sale not ended longer than a day: each sale's units become the
    /// database's (stock plus buyers holding a unit), units taken longer
    /// ago than [`ShopConfig::seckill_grace`](super::ShopConfig::seckill_grace)
    /// that no order holds come back (a process died between the take and
    /// the order), and a sale the stock lost is loaded again. Nothing to do
    /// without a [`SeckillStock`](crate::seckill::SeckillStock).
    pub async fn reconcile_flash_sales(&self) -> Result<ReconcileReport> {
        let mut report = ReconcileReport::default();
        let Some(stock) = &self.inner.seckill else {
            return Ok(report);
        };
        let now = self.now();
        let sales = self
            .inner
            .stores
            .flash_sales
            .list_flash_sales(now - Duration::days(RECONCILE_AFTER_END), u32::MAX)
            .await?;
        for sale in sales {
            let ledger = self
                .inner
                .stores
                .flash_sales
                .flash_sale_ledger(sale.id)
                .await?;
            let done = stock
                .reconcile(&sale, &ledger, now - self.inner.config.seckill_grace, now)
                .await?;
            report.sales += 1;
            report.loaded += u32::from(done.loaded);
            report.returned += done.returned;
            report.added += done.added;
        }
        Ok(report)
    }
}
