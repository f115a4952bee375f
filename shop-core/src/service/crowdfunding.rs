//! Crowdfunding: setting a campaign up, the storefront's view, ordering,
//! and the job that decides ended campaigns and refunds failed ones (see
//! [`crate::crowdfunding`]).

use chrono::Duration;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::{Shop, StopSignal};
use crate::catalog::ProductKind;
use crate::crowdfunding::{
    Crowdfunding, CrowdfundingDraft, CrowdfundingStatus, FinishCrowdfunding,
};
use crate::error::{Entity, Error, Result, StoreError};
use crate::events::{CloseReason, DomainEvent};
use crate::ids::{AddressId, CrowdfundingId, OrderId, OrderItemId, ProductId, SkuId, UserId};
use crate::order::{Order, OrderAction, OrderItem, OrderState, OrderStatus, RefundStatus};
use crate::page::Page;
use crate::text::check_multiline;

use super::checkout::MAX_REMARK_CHARS;

/// How long after its end a failed campaign's paid orders are still
/// checked for refunds (a payment notification may arrive late).
const REFUND_WATCH_DAYS: i64 = 1;

/// The reason recorded on the refunds of a failed campaign.
pub const CROWDFUNDING_REFUND_REASON: &str = "The crowdfunding campaign did not reach its target.";

/// A campaign as the storefront shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CrowdfundingView {
    /// The campaign.
    #[serde(flatten)]
    pub campaign: Crowdfunding,
    /// total / target × 100, half-up to 2 decimals (e.g. `"66.67"`).
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "66.67"))]
    pub progress: Decimal,
    /// Whether it takes orders now.
    pub open: bool,
}

/// What one run of [`Shop::finish_crowdfundings`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CrowdfundingReport {
    /// Campaigns decided by this run, with the outcome.
    pub decided: Vec<(CrowdfundingId, CrowdfundingStatus)>,
    /// Unpaid orders of ended campaigns closed by this run.
    pub closed: u32,
    /// Refunds this run sent for failed campaigns' paid orders.
    pub refunds: u32,
    /// Orders whose refund could not be sent or finished this time (the
    /// next run, or the refund retry job, tries again), with why.
    pub failed: Vec<(OrderId, String)>,
}

impl Shop {
    /// Sets up the campaign of a crowdfunding product (admin): a target in
    /// the product's currency and an end within a year. One campaign per
    /// product.
    pub async fn create_crowdfunding(&self, draft: CrowdfundingDraft) -> Result<Crowdfunding> {
        let now = self.now();
        draft.validate(now)?;
        let product = self.product(draft.product_id).await?;
        if product.kind != ProductKind::Crowdfunding {
            return Err(Error::refused(
                "product_id",
                "only a crowdfunding product has a campaign",
            ));
        }
        let currency = product.price.currency();
        if draft.target.currency() != currency {
            return Err(Error::validation(
                "target",
                format!("must be in {}", currency.code()),
            ));
        }
        let campaign = Crowdfunding {
            id: CrowdfundingId(self.next_id()),
            product_id: product.id,
            target: draft.target,
            ends_at: draft.ends_at,
            status: CrowdfundingStatus::Funding,
            total: crate::money::Money::zero(currency),
            buyers: 0,
            created_at: now,
            finished_at: None,
        };
        let events = self.records(vec![DomainEvent::ProductChanged {
            product_id: product.id,
        }]);
        self.inner
            .stores
            .crowdfundings
            .create_crowdfunding(&campaign, &events)
            .await?;
        Ok(campaign)
    }

    /// A campaign by id.
    pub async fn crowdfunding(&self, id: CrowdfundingId) -> Result<CrowdfundingView> {
        let campaign = self
            .inner
            .stores
            .crowdfundings
            .get_crowdfunding(id)
            .await?
            .ok_or_else(|| Error::not_found(Entity::Crowdfunding, id))?;
        Ok(self.crowdfunding_view(campaign))
    }

    /// The campaign of a product.
    pub async fn crowdfunding_of_product(&self, product: ProductId) -> Result<CrowdfundingView> {
        let campaign = self.campaign_of(product).await?;
        Ok(self.crowdfunding_view(campaign))
    }

    /// Campaigns, newest first, optionally in one status.
    pub async fn crowdfundings(
        &self,
        status: Option<CrowdfundingStatus>,
        page: u32,
        per_page: u32,
    ) -> Result<Page<CrowdfundingView>> {
        let page = self
            .inner
            .stores
            .crowdfundings
            .list_crowdfundings(status, page.max(1), per_page.clamp(1, 100))
            .await?;
        Ok(Page {
            items: page
                .items
                .into_iter()
                .map(|c| self.crowdfunding_view(c))
                .collect(),
            total: page.total,
            total_capped: page.total_capped,
        })
    }

    fn crowdfunding_view(&self, campaign: Crowdfunding) -> CrowdfundingView {
        CrowdfundingView {
            progress: campaign.progress(),
            open: campaign.is_open(self.now()),
            campaign,
        }
    }

    async fn campaign_of(&self, product: ProductId) -> Result<Crowdfunding> {
        self.inner
            .stores
            .crowdfundings
            .crowdfunding_of_product(product)
            .await?
            .ok_or_else(|| Error::not_found(Entity::Crowdfunding, product))
    }

    /// Orders `quantity` units of one SKU of a crowdfunding product: no
    /// cart, no coupon, while its campaign is funding and before its end
    /// (checked again inside the placement's atomic write). The order must
    /// be paid within min(30 minutes, time to the campaign's end).
    pub async fn crowdfunding_order(
        &self,
        user: UserId,
        sku_id: SkuId,
        quantity: i64,
        address_id: AddressId,
        remark: &str,
    ) -> Result<Order> {
        check_multiline("remark", remark, MAX_REMARK_CHARS)?;
        let quantity = crate::cart::validate_quantity(quantity)?;
        let (sku, product) = self
            .sku_of_kind(
                sku_id,
                ProductKind::Crowdfunding,
                "not a crowdfunding product: buy it through the cart",
            )
            .await?;
        if !product.on_sale {
            return Err(Error::refused("sku_id", "the product is not on sale"));
        }
        let campaign = self.campaign_of(product.id).await?;
        let now = self.now();
        campaign.check_open(now)?;
        sku.check_stock(quantity)?;
        let address = self.address(user, address_id).await?;
        let total = sku.price.times(quantity)?;
        let order = Order {
            id: OrderId(self.next_id()),
            no: String::new(),
            user_id: user,
            kind: ProductKind::Crowdfunding,
            address: address.snapshot(),
            items: vec![OrderItem {
                id: OrderItemId(self.next_id()),
                product_id: product.id,
                sku_id: sku.id,
                quantity,
                unit_price: sku.price,
                review: None,
            }],
            items_total: total,
            total,
            coupon_id: None,
            remark: remark.trim().to_owned(),
            state: OrderState::PENDING,
            payment: None,
            shipment: None,
            refund_reason: None,
            refund_refusal: None,
            created_at: now,
            expires_at: now + campaign.payment_window(now),
            closed_at: None,
        };
        self.place_with_fresh_no(order, None, false, None, Some(campaign.id))
            .await
    }

    /// Decides every campaign whose end has come and refunds failed ones
    /// (the job runs it every minute): for each, closes its unpaid orders
    /// (a payment racing a close wins or loses as anywhere), recomputes
    /// its total from the paid orders and decides — success when the
    /// total reaches the target, else fail — in one compare-and-set (of two
    /// runners one decides, the other sees it decided). Then, for a failed
    /// campaign (and for a day after its end, in case a payment arrives
    /// late), refunds every paid order not refunded or being refunded
    /// through the gateway that took it: the refund is a compare-and-set on
    /// the order, so each order is refunded once however many runners race,
    /// and a run killed half-way leaves the rest to the next run (a refund
    /// recorded but never sent is re-sent by
    /// [`Shop::retry_pending_refunds`]).
    pub async fn finish_crowdfundings(&self) -> Result<CrowdfundingReport> {
        self.finish_crowdfundings_until(&StopSignal::new()).await
    }

    /// [`Shop::finish_crowdfundings`], stopping at the next chunk boundary
    /// after `stop` is raised.
    pub async fn finish_crowdfundings_until(
        &self,
        stop: &StopSignal,
    ) -> Result<CrowdfundingReport> {
        let mut report = CrowdfundingReport::default();
        let now = self.now();
        let failed_since = now - Duration::days(REFUND_WATCH_DAYS);
        let chunk = self.inner.config.close_batch_size;
        let mut after = None;
        loop {
            if stop.is_raised() {
                return Ok(report);
            }
            let due = self
                .inner
                .stores
                .crowdfundings
                .list_due_crowdfundings(now, failed_since, after, chunk)
                .await?;
            let Some(last) = due.last() else {
                return Ok(report);
            };
            after = Some(last.id);
            for campaign in due {
                let campaign = if campaign.status == CrowdfundingStatus::Funding {
                    match self
                        .decide_crowdfunding(&campaign, &mut report, stop)
                        .await?
                    {
                        Some(decided) => decided,
                        None => return Ok(report),
                    }
                } else {
                    campaign
                };
                if campaign.status == CrowdfundingStatus::Fail {
                    self.refund_failed_crowdfunding(&campaign, &mut report, stop)
                        .await?;
                }
            }
        }
    }

    /// Closes an ended campaign's unpaid orders and decides it; the
    /// campaign as decided (by this run or another), `None` when stopped.
    async fn decide_crowdfunding(
        &self,
        campaign: &Crowdfunding,
        report: &mut CrowdfundingReport,
        stop: &StopSignal,
    ) -> Result<Option<Crowdfunding>> {
        let now = self.now();
        let mut after = None;
        loop {
            if stop.is_raised() {
                return Ok(None);
            }
            let orders = self
                .inner
                .stores
                .crowdfundings
                .list_crowdfunding_orders(campaign.id, after, self.inner.config.close_batch_size)
                .await?;
            let Some(last) = orders.last() else {
                break;
            };
            after = Some(last.id);
            for order in orders {
                if order.state.status == OrderStatus::Pending
                    && self.close_now(&order, CloseReason::Timeout, now).await?
                {
                    report.closed += 1;
                }
            }
        }
        let crowdfundings = &self.inner.stores.crowdfundings;
        for _ in 0..3 {
            let fresh = crowdfundings.refresh_crowdfunding(campaign.id).await?;
            if fresh.status != CrowdfundingStatus::Funding {
                return Ok(Some(fresh));
            }
            let cmd = FinishCrowdfunding::decide(&fresh, now)?;
            let events = self.records(vec![DomainEvent::CrowdfundingFinished {
                crowdfunding_id: fresh.id,
                product_id: fresh.product_id,
                succeeded: cmd.status == CrowdfundingStatus::Success,
                total: cmd.total,
                target: fresh.target,
            }]);
            match crowdfundings.finish_crowdfunding(&cmd, &events).await {
                Ok(decided) => {
                    report.decided.push((decided.id, decided.status));
                    return Ok(Some(decided));
                }
                // Decided by another runner, or a payment landed between
                // the count and the decision: look again.
                Err(Error::Store(StoreError::Conflict { .. })) => {}
                Err(e) => return Err(e),
            }
        }
        Err(Error::Store(StoreError::Conflict {
            entity: Entity::Crowdfunding,
            id: campaign.id.to_string(),
        }))
    }

    /// Refunds every paid order of a failed campaign that is not refunded
    /// or being refunded.
    async fn refund_failed_crowdfunding(
        &self,
        campaign: &Crowdfunding,
        report: &mut CrowdfundingReport,
        stop: &StopSignal,
    ) -> Result<()> {
        let mut after = None;
        loop {
            if stop.is_raised() {
                return Ok(());
            }
            let orders = self
                .inner
                .stores
                .crowdfundings
                .list_crowdfunding_orders(campaign.id, after, self.inner.config.close_batch_size)
                .await?;
            let Some(last) = orders.last() else {
                return Ok(());
            };
            after = Some(last.id);
            let due = |order: &Order| {
                order.state.is_paid()
                    && matches!(
                        order.state.refund,
                        RefundStatus::None | RefundStatus::Failed
                    )
            };
            for listed in orders.iter().filter(|o| due(o)) {
                // The refunds before the order, as `approve_refund` reads
                // them: a refund another runner records in between has
                // moved the order on, so it is skipped or its refund is a
                // conflict, never "nothing left".
                let fresh = match self.inner.stores.refunds.list_refunds(listed.id).await {
                    Ok(refunds) => self.any_order(listed.id).await.map(|o| (refunds, o)),
                    Err(e) => Err(e),
                };
                let (refunds, order) = match fresh {
                    Ok(fresh) => fresh,
                    Err(e) => {
                        report.failed.push((listed.id, e.to_string()));
                        continue;
                    }
                };
                if !due(&order) {
                    continue;
                }
                let refunded = self
                    .refund_order(
                        &order,
                        &refunds,
                        OrderAction::RefundByShop,
                        None,
                        CROWDFUNDING_REFUND_REASON.to_owned(),
                    )
                    .await;
                match refunded {
                    Ok(_) => report.refunds += 1,
                    // Another runner refunds it.
                    Err(Error::Store(StoreError::Conflict { .. }))
                    | Err(Error::InvalidTransition { .. }) => {}
                    Err(e) => report.failed.push((order.id, e.to_string())),
                }
            }
        }
    }

    /// `Crowdfunding(NotSucceeded)` unless `order`'s campaign succeeded
    /// (for a crowdfunding order; other orders pass).
    pub(super) async fn check_crowdfunding_ships(&self, order: &Order) -> Result<()> {
        if order.kind != ProductKind::Crowdfunding {
            return Ok(());
        }
        let Some(line) = order.items.first() else {
            return Ok(());
        };
        self.campaign_of(line.product_id).await?.check_shippable()
    }
}
