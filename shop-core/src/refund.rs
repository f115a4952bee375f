//! Refunds: partial by line and quantity, each with its own number, never
//! more than was paid in total.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::events::EventRecord;
use crate::ids::{OrderId, OrderItemId, RefundId};
use crate::money::Money;
use crate::order::{Order, OrderState};

/// Where one refund is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RefundRecordStatus {
    /// Sent to the gateway, not finished.
    Pending,
    /// The money went back.
    Succeeded,
    /// The gateway refused or failed.
    Failed,
}

impl RefundRecordStatus {
    /// The stable lowercase name used in storage.
    pub fn as_str(self) -> &'static str {
        match self {
            RefundRecordStatus::Pending => "pending",
            RefundRecordStatus::Succeeded => "succeeded",
            RefundRecordStatus::Failed => "failed",
        }
    }

    /// Parses [`RefundRecordStatus::as_str`]'s output.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(RefundRecordStatus::Pending),
            "succeeded" => Some(RefundRecordStatus::Succeeded),
            "failed" => Some(RefundRecordStatus::Failed),
            _ => None,
        }
    }
}

/// Units of one order line given back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RefundLine {
    /// The order line.
    pub item_id: OrderItemId,
    /// Units refunded (≥ 1).
    pub quantity: u32,
}

/// One refund of (part of) an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Refund {
    /// Id.
    pub id: RefundId,
    /// Unique number sent to the gateway (its idempotency key).
    pub refund_no: String,
    /// The order.
    pub order_id: OrderId,
    /// Amount given back.
    pub amount: Money,
    /// Lines and units given back.
    pub lines: Vec<RefundLine>,
    /// Why.
    pub reason: String,
    /// Where it is.
    pub status: RefundRecordStatus,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it finished.
    pub finished_at: Option<DateTime<Utc>>,
}

impl Refund {
    /// Whether it counts against what may still be refunded.
    pub fn counts(&self) -> bool {
        self.status != RefundRecordStatus::Failed
    }
}

/// The atomic command that records a refund and moves the order's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRefund {
    /// The refund, status pending.
    pub refund: Refund,
    /// The order's state the refund was decided on.
    pub expected: OrderState,
    /// The order's state after recording it.
    pub next: OrderState,
}

/// The atomic command that finishes a pending refund.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinishRefund {
    /// Which refund.
    pub refund_no: String,
    /// Succeeded or failed.
    pub outcome: RefundRecordStatus,
    /// The order's state expected now.
    pub expected: OrderState,
    /// The order's state afterwards.
    pub next: OrderState,
    /// When.
    pub at: DateTime<Utc>,
}

/// Units of `item` already given back (or being given back) by `refunds`.
pub fn refunded_quantity(refunds: &[Refund], item: OrderItemId) -> u32 {
    refunds
        .iter()
        .filter(|r| r.counts())
        .flat_map(|r| &r.lines)
        .filter(|l| l.item_id == item)
        .map(|l| l.quantity)
        .sum()
}

/// The amount already given back (or being given back) by `refunds`.
pub fn refunded_amount(order: &Order, refunds: &[Refund]) -> Result<Money> {
    Ok(Money::sum(
        order.total.currency(),
        refunds.iter().filter(|r| r.counts()).map(|r| r.amount),
    )?)
}

/// Every unit not yet refunded, as refund lines.
pub fn remaining_lines(order: &Order, refunds: &[Refund]) -> Vec<RefundLine> {
    order
        .items
        .iter()
        .filter_map(|i| {
            let left = i.quantity - refunded_quantity(refunds, i.id).min(i.quantity);
            (left > 0).then_some(RefundLine {
                item_id: i.id,
                quantity: left,
            })
        })
        .collect()
}

/// The amount to give back for `lines`: the lines' share of what was paid
/// (`unit × qty × total / items_total`, half-up), except that refunding every
/// remaining unit gives back exactly what remains, so refunds add up to the
/// amount paid to the cent. Errors when a line is unknown, empty or exceeds
/// what is left of it.
pub fn refund_amount(order: &Order, refunds: &[Refund], lines: &[RefundLine]) -> Result<Money> {
    if lines.is_empty() {
        return Err(Error::validation(
            "lines",
            "a refund needs at least one line",
        ));
    }
    let mut share = Money::zero(order.total.currency());
    for line in lines {
        let item = order.item(line.item_id)?;
        let left = item.quantity - refunded_quantity(refunds, item.id).min(item.quantity);
        let asked: u32 = lines
            .iter()
            .filter(|l| l.item_id == line.item_id)
            .map(|l| l.quantity)
            .sum();
        if line.quantity == 0 {
            return Err(Error::validation(
                "lines",
                "a refund line needs a quantity ≥ 1",
            ));
        }
        if asked > left {
            return Err(Error::refused(
                "lines",
                format!("line {} has {left} refundable units", item.id),
            ));
        }
        share = share.checked_add(item.unit_price.times(line.quantity)?)?;
    }
    let already = refunded_amount(order, refunds)?;
    let remaining = order.total.checked_sub(already)?;
    let asked_all = remaining_lines(order, refunds).iter().all(|rest| {
        lines
            .iter()
            .filter(|l| l.item_id == rest.item_id)
            .map(|l| l.quantity)
            .sum::<u32>()
            == rest.quantity
    });
    if asked_all {
        return Ok(remaining);
    }
    // Multiply before dividing: dividing first truncates the ratio at 28
    // digits and can turn an exact half cent into just under it.
    let scaled = share
        .amount()
        .checked_mul(order.total.amount())
        .and_then(|x| x.checked_div(order.items_total.amount()))
        .ok_or(crate::money::MoneyError::Overflow)?;
    let prorated = Money::new(scaled, share.currency()).round();
    Ok(if prorated.checked_cmp(&remaining)?.is_gt() {
        remaining
    } else {
        prorated
    })
}

/// The store's invariant for a new refund, checked inside the atomic write
/// against the refunds already stored (`existing`): every line is on the
/// order (`Refused`) with a quantity ≥ 1 (`Validation`) and, with what was
/// refunded before, within what was bought (`Refused { field: "lines" }`);
/// the amount is in the order's currency and not negative (`Validation`),
/// and with what was refunded before within what was paid
/// (`Refused { field: "amount" }`). Failed refunds do not count.
pub fn check_refund_fits(order: &Order, existing: &[Refund], refund: &Refund) -> Result<()> {
    for line in &refund.lines {
        let item = order
            .items
            .iter()
            .find(|i| i.id == line.item_id)
            .ok_or_else(|| {
                Error::refused(
                    "lines",
                    format!("line {} is not on order {}", line.item_id, order.id),
                )
            })?;
        if line.quantity == 0 {
            return Err(Error::validation(
                "lines",
                "a refund line needs a quantity ≥ 1",
            ));
        }
        let asked: u64 = refund
            .lines
            .iter()
            .filter(|l| l.item_id == item.id)
            .map(|l| u64::from(l.quantity))
            .sum();
        let already = u64::from(refunded_quantity(existing, item.id));
        if already + asked > u64::from(item.quantity) {
            return Err(Error::refused(
                "lines",
                format!(
                    "line {} had {} units, {already} already refunded, {asked} asked",
                    item.id, item.quantity
                ),
            ));
        }
    }

    if refund.amount.currency() != order.total.currency() {
        return Err(Error::validation(
            "amount",
            format!("must be in the order's currency {}", order.total.currency()),
        ));
    }
    if refund.amount.amount() < Decimal::ZERO {
        return Err(Error::validation("amount", "must not be negative"));
    }
    let already = refunded_amount(order, existing)?;
    let after: Money = already.checked_add(refund.amount)?;
    if after.checked_cmp(&order.total)?.is_gt() {
        return Err(Error::refused(
            "amount",
            format!(
                "{} already refunded, {} asked, {} paid",
                already, refund.amount, order.total
            ),
        ));
    }
    Ok(())
}

/// Port: refunds. Each write records or finishes a refund and moves its
/// order's state in one atomic step.
#[async_trait]
pub trait RefundStore: Send + Sync + 'static {
    /// Records a refund and moves the order's state, atomically: the order
    /// must be in `cmd.expected` (`Conflict`), the refund number unused
    /// (`AlreadyExists`), each line's refunded quantity within what was bought
    /// and the refunded total within what was paid (`Validation`).
    async fn create_refund(&self, cmd: &NewRefund, events: &[EventRecord]) -> Result<()>;
    /// Finishes a pending refund and moves the order's state, atomically and
    /// exactly once per refund number (`Conflict` when already finished).
    async fn finish_refund(&self, cmd: &FinishRefund, events: &[EventRecord]) -> Result<()>;
    /// Loads a refund by its number.
    async fn get_refund(&self, refund_no: &str) -> Result<Option<Refund>>;
    /// An order's refunds, oldest first.
    async fn list_refunds(&self, order: OrderId) -> Result<Vec<Refund>>;
    /// Refunds of any order still pending that were created strictly before
    /// `created_before`, with ids greater than `after` (a cursor: the last id
    /// of the previous chunk), by id, at most `limit`: what a job re-sends to
    /// gateways that could not be reached.
    async fn list_pending_refunds(
        &self,
        created_before: DateTime<Utc>,
        after: Option<RefundId>,
        limit: u32,
    ) -> Result<Vec<Refund>>;
}
