//! Crowdfunding: a campaign of one crowdfunding product, with a target
//! amount and an end time, funded by the paid orders of its product.
//!
//! Rules (enforced by [`Shop`](crate::Shop) and, where concurrency matters,
//! inside the stores' atomic writes):
//!
//! - A campaign is `funding` until its end, then the job
//!   ([`Shop::finish_crowdfundings`](crate::Shop::finish_crowdfundings))
//!   decides it: `success` when the paid orders add up to the target,
//!   `fail` otherwise — and every paid order of a failed campaign is
//!   refunded through its gateway, each exactly once (the refund is a
//!   compare-and-set on the order; a run killed half-way is resumed by the
//!   next, and refunds whose gateway did not answer are re-sent by
//!   [`Shop::retry_pending_refunds`](crate::Shop::retry_pending_refunds)).
//! - Ordering: one SKU per order, no coupon, only while the campaign is
//!   funding and before its end — checked again inside the placement's
//!   atomic write, which the decision's compare-and-set serializes with, so
//!   no order is placed into a decided campaign. The payment window is
//!   min(30 minutes, time to the end).
//! - Progress = total / target × 100, rounded half-up to 2 decimals; total
//!   and buyers (distinct) are over the paid orders, recomputed (never
//!   accumulated) by the store from the orders themselves.
//! - A successful campaign's orders may ship; a funding or failed one's may
//!   not. Buyers cannot apply for a refund of a crowdfunding order: only a
//!   failed campaign refunds.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::events::EventRecord;
use crate::ids::{CrowdfundingId, OrderId, ProductId};
use crate::money::Money;
use crate::order::Order;
use crate::page::Page;

/// The longest a campaign may run.
pub const MAX_CROWDFUNDING_DAYS: i64 = 366;

/// Where a campaign stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CrowdfundingStatus {
    /// Taking orders until its end.
    Funding,
    /// Ended at or above its target: its orders ship.
    Success,
    /// Ended below its target: its paid orders are refunded.
    Fail,
}

impl CrowdfundingStatus {
    /// The stable lowercase name used in storage.
    pub fn as_str(self) -> &'static str {
        match self {
            CrowdfundingStatus::Funding => "funding",
            CrowdfundingStatus::Success => "success",
            CrowdfundingStatus::Fail => "fail",
        }
    }

    /// Parses [`CrowdfundingStatus::as_str`]'s output.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "funding" => Some(CrowdfundingStatus::Funding),
            "success" => Some(CrowdfundingStatus::Success),
            "fail" => Some(CrowdfundingStatus::Fail),
            _ => None,
        }
    }
}

/// A campaign.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Crowdfunding {
    /// Id.
    pub id: CrowdfundingId,
    /// The crowdfunding product (one campaign per product).
    pub product_id: ProductId,
    /// The amount to reach.
    pub target: Money,
    /// When ordering ends (exclusive).
    pub ends_at: DateTime<Utc>,
    /// Where it stands.
    pub status: CrowdfundingStatus,
    /// The paid orders' totals.
    pub total: Money,
    /// Distinct buyers of the paid orders.
    pub buyers: u32,
    /// When it was set up.
    pub created_at: DateTime<Utc>,
    /// When it was decided.
    pub finished_at: Option<DateTime<Utc>>,
}

impl Crowdfunding {
    /// total / target × 100, half-up to 2 decimals: never negative, exactly
    /// 100.00 at the target, above 100 beyond it.
    pub fn progress(&self) -> Decimal {
        progress(self.total, self.target)
    }

    /// Whether it takes orders at `now`: funding and before its end.
    pub fn is_open(&self, now: DateTime<Utc>) -> bool {
        self.status == CrowdfundingStatus::Funding && now < self.ends_at
    }

    /// Refuses an order at `now` unless [`Crowdfunding::is_open`].
    pub fn check_open(&self, now: DateTime<Utc>) -> Result<()> {
        if self.is_open(now) {
            Ok(())
        } else {
            Err(Error::Crowdfunding(CrowdfundingRefusal::Closed))
        }
    }

    /// How long an order placed at `now` stays payable: min(30 minutes,
    /// time to the end).
    pub fn payment_window(&self, now: DateTime<Utc>) -> Duration {
        (self.ends_at - now).clamp(Duration::zero(), Duration::minutes(30))
    }

    /// Whether its orders may ship (a successful campaign).
    pub fn check_shippable(&self) -> Result<()> {
        if self.status == CrowdfundingStatus::Success {
            Ok(())
        } else {
            Err(Error::Crowdfunding(CrowdfundingRefusal::NotSucceeded))
        }
    }
}

/// `total / target × 100`, half-up to 2 decimals (0 for a target that is
/// not positive; negative totals count as 0).
pub fn progress(total: Money, target: Money) -> Decimal {
    let mut p = if !target.is_positive() || !total.is_positive() {
        Decimal::ZERO
    } else {
        total
            .amount()
            .checked_mul(Decimal::ONE_HUNDRED)
            .and_then(|x| x.checked_div(target.amount()))
            .map_or(Decimal::ZERO, |p| {
                p.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
            })
    };
    p.rescale(2);
    p
}

/// What an administrator sets up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CrowdfundingDraft {
    /// The crowdfunding product.
    pub product_id: ProductId,
    /// The amount to reach: more than zero, in whole minor units of the
    /// product's currency.
    pub target: Money,
    /// When ordering ends: in the future, at most a year ahead.
    pub ends_at: DateTime<Utc>,
}

impl CrowdfundingDraft {
    /// Checks the draft on its own at `now` (not against the catalog).
    pub fn validate(&self, now: DateTime<Utc>) -> Result<()> {
        if !self.target.is_positive() || !self.target.is_whole_minor_units() {
            return Err(Error::validation(
                "target",
                "must be more than zero, in whole minor units",
            ));
        }
        if self.target.minor_units().is_none() {
            return Err(Error::validation("target", "too large"));
        }
        if self.ends_at <= now {
            return Err(Error::validation("ends_at", "must be in the future"));
        }
        if self.ends_at - now > Duration::days(MAX_CROWDFUNDING_DAYS) {
            return Err(Error::validation(
                "ends_at",
                format!("a campaign runs at most {MAX_CROWDFUNDING_DAYS} days"),
            ));
        }
        Ok(())
    }
}

/// Why a crowdfunding order or shipment was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(rename_all = "snake_case")]
pub enum CrowdfundingRefusal {
    /// The campaign has ended or been decided: it takes no order.
    #[error("the campaign takes no more orders")]
    Closed,
    /// The campaign has not succeeded (yet): its orders do not ship.
    #[error("the campaign has not succeeded, its orders do not ship")]
    NotSucceeded,
}

/// The decision on an ended campaign, written by
/// [`CrowdfundingStore::finish_crowdfunding`]: made from the campaign as
/// last refreshed, and written only if its paid orders still add up to
/// the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FinishCrowdfunding {
    /// Which campaign.
    pub id: CrowdfundingId,
    /// Success or fail.
    pub status: CrowdfundingStatus,
    /// The paid orders' totals the decision was made on.
    pub total: Money,
    /// Their distinct buyers.
    pub buyers: u32,
    /// When it is decided (at or after its end).
    pub at: DateTime<Utc>,
}

impl FinishCrowdfunding {
    /// The decision on `campaign` (as refreshed) at `at`: success when its
    /// total reaches the target.
    pub fn decide(campaign: &Crowdfunding, at: DateTime<Utc>) -> Result<FinishCrowdfunding> {
        let reached = !campaign.total.checked_cmp(&campaign.target)?.is_lt();
        Ok(FinishCrowdfunding {
            id: campaign.id,
            status: if reached {
                CrowdfundingStatus::Success
            } else {
                CrowdfundingStatus::Fail
            },
            total: campaign.total,
            buyers: campaign.buyers,
            at,
        })
    }
}

/// Port: crowdfunding campaigns. The order rows of a campaign are written
/// by the placement ([`PlaceOrder::crowdfunding`](crate::order::PlaceOrder::crowdfunding)),
/// which checks inside its atomic write that the campaign is funding and
/// not over; deciding a campaign is a compare-and-set that placements
/// serialize with.
#[async_trait]
pub trait CrowdfundingStore: Send + Sync + 'static {
    /// Stores a new campaign (`AlreadyExists { Crowdfunding }` when its
    /// product has one).
    async fn create_crowdfunding(
        &self,
        campaign: &Crowdfunding,
        events: &[EventRecord],
    ) -> Result<()>;
    /// Loads a campaign, its total and buyers as last refreshed.
    async fn get_crowdfunding(&self, id: CrowdfundingId) -> Result<Option<Crowdfunding>>;
    /// The campaign of a product.
    async fn crowdfunding_of_product(&self, product: ProductId) -> Result<Option<Crowdfunding>>;
    /// Campaigns, newest first, optionally in one status.
    async fn list_crowdfundings(
        &self,
        status: Option<CrowdfundingStatus>,
        page: u32,
        per_page: u32,
    ) -> Result<Page<Crowdfunding>>;
    /// Recomputes the campaign's total and distinct buyers from its paid
    /// orders (those with a payment recorded) and stores them; returns the
    /// campaign (`NotFound` for an unknown one).
    async fn refresh_crowdfunding(&self, id: CrowdfundingId) -> Result<Crowdfunding>;
    /// Decides an ended campaign in one atomic step: recomputes its total
    /// and buyers from its paid orders and, when they are still
    /// `cmd.total` and `cmd.buyers`, moves it from funding to `cmd.status`
    /// with them, setting `finished_at` (`Conflict` when it is no longer
    /// funding or its paid orders changed; `Refused { field: "ends_at" }`
    /// before its end). Returns the decided campaign.
    async fn finish_crowdfunding(
        &self,
        cmd: &FinishCrowdfunding,
        events: &[EventRecord],
    ) -> Result<Crowdfunding>;
    /// Campaigns for the job at `now`: funding ones whose end has come, and
    /// failed ones that ended after `failed_since` (whose refunds may
    /// still be under way), by id after the cursor `after`, at most
    /// `limit`.
    async fn list_due_crowdfundings(
        &self,
        now: DateTime<Utc>,
        failed_since: DateTime<Utc>,
        after: Option<CrowdfundingId>,
        limit: u32,
    ) -> Result<Vec<Crowdfunding>>;
    /// The campaign's orders (any state) with ids after the cursor `after`,
    /// by id, at most `limit`, with their lines.
    async fn list_crowdfunding_orders(
        &self,
        id: CrowdfundingId,
        after: Option<OrderId>,
        limit: u32,
    ) -> Result<Vec<Order>>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;
    use proptest::prelude::*;

    fn cny(s: &str) -> Money {
        Money::parse(s, Currency::Cny).unwrap()
    }

    #[test]
    fn progress_is_half_up_to_two_decimals() {
        assert_eq!(progress(cny("0.00"), cny("300.00")).to_string(), "0.00");
        assert_eq!(progress(cny("100.00"), cny("300.00")).to_string(), "33.33");
        assert_eq!(progress(cny("200.00"), cny("300.00")).to_string(), "66.67");
        assert_eq!(progress(cny("300.00"), cny("300.00")).to_string(), "100.00");
        assert_eq!(progress(cny("450.00"), cny("300.00")).to_string(), "150.00");
        // 1/8 % = 0.125 → 0.13 (half away from zero).
        assert_eq!(progress(cny("1.00"), cny("800.00")).to_string(), "0.13");
    }

    proptest! {
        #[test]
        fn progress_is_never_negative_and_is_100_exactly_at_the_target(
            target in 1i64..10_000_000_000,
            total in 0i64..20_000_000_000,
        ) {
            let target = Money::from_minor_units(target, Currency::Cny);
            let total_m = Money::from_minor_units(total, Currency::Cny);
            let p = progress(total_m, target);
            prop_assert!(p >= Decimal::ZERO);
            prop_assert_eq!(p.scale(), 2);
            prop_assert_eq!(progress(target, target), Decimal::ONE_HUNDRED);
            if total_m.checked_cmp(&target).unwrap().is_lt() {
                prop_assert!(p <= Decimal::ONE_HUNDRED);
            } else {
                prop_assert!(p >= Decimal::ONE_HUNDRED);
            }
        }
    }

    #[test]
    fn the_payment_window_ends_with_the_campaign() {
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let mut c = Crowdfunding {
            id: CrowdfundingId(1),
            product_id: ProductId(2),
            target: cny("100.00"),
            ends_at: now + Duration::hours(2),
            status: CrowdfundingStatus::Funding,
            total: cny("0.00"),
            buyers: 0,
            created_at: now,
            finished_at: None,
        };
        assert_eq!(c.payment_window(now), Duration::minutes(30));
        c.ends_at = now + Duration::minutes(7);
        assert_eq!(c.payment_window(now), Duration::minutes(7));
        assert!(c.is_open(now));
        assert!(!c.is_open(c.ends_at));
        c.status = CrowdfundingStatus::Success;
        assert!(!c.is_open(now));
        assert!(c.check_shippable().is_ok());
        c.status = CrowdfundingStatus::Fail;
        assert!(c.check_shippable().is_err());
    }
}
