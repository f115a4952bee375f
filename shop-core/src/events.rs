//! Domain events: what happened, recorded by the write that made it happen
//! (the outbox, [`crate::outbox`]) and delivered to listeners afterwards.
//!
//! Every event names the aggregate it belongs to ([`DomainEvent::aggregate`]):
//! the outbox delivers a listener the events of one aggregate in the order
//! they were written. Events are serialised as JSON with a `type` tag and a
//! schema version per type ([`DomainEvent::version`]); a field added later
//! comes with `#[serde(default)]`, a change that is not additive raises the
//! version and [`EventRecord::decode`] learns to read the old one.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result, StoreError};
use crate::ids::{CouponId, OrderId, ProductId, SkuId, UserId};
use crate::money::Money;

/// One line of a placed order, as its event carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventLine {
    /// The product bought.
    pub product_id: ProductId,
    /// The SKU bought.
    pub sku_id: SkuId,
    /// Units.
    pub quantity: u32,
    /// Unit price.
    pub unit_price: Money,
}

/// Why a SKU's stock changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum StockChangeReason {
    /// An order took units.
    OrderPlaced,
    /// A closed order gave its units back.
    OrderClosed,
    /// An administrator adjusted the stock.
    Adjusted,
}

/// Why an unpaid order was closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CloseReason {
    /// Its payment window passed.
    Timeout,
}

/// Something that happened, for listeners (counters, search, e-mail).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum DomainEvent {
    /// An order was placed (stock taken, coupon used).
    OrderPlaced {
        /// The order.
        order_id: OrderId,
        /// Its number.
        order_no: String,
        /// Its buyer.
        user_id: UserId,
        /// Its lines.
        lines: Vec<EventLine>,
        /// Payable total.
        total: Money,
        /// The coupon used.
        coupon_id: Option<CouponId>,
        /// When it closes unless paid.
        expires_at: DateTime<Utc>,
    },
    /// An order was paid.
    OrderPaid {
        /// The order.
        order_id: OrderId,
        /// Its number.
        order_no: String,
        /// Its buyer.
        user_id: UserId,
        /// Products on it.
        product_ids: Vec<ProductId>,
        /// Amount paid.
        total: Money,
        /// The gateway that took the payment.
        method: String,
        /// The gateway's transaction number.
        transaction_no: String,
    },
    /// An order was shipped.
    OrderShipped {
        /// The order.
        order_id: OrderId,
        /// Its buyer.
        user_id: UserId,
        /// The carrier.
        carrier: String,
        /// The carrier's tracking number.
        tracking_no: String,
    },
    /// The buyer confirmed receipt.
    OrderReceived {
        /// The order.
        order_id: OrderId,
        /// Its buyer.
        user_id: UserId,
    },
    /// An unpaid order was closed; its stock and coupon were given back.
    OrderClosed {
        /// The order.
        order_id: OrderId,
        /// Its buyer.
        user_id: UserId,
        /// Why.
        reason: CloseReason,
    },
    /// The buyer applied for a refund.
    RefundApplied {
        /// The order.
        order_id: OrderId,
        /// Its buyer.
        user_id: UserId,
        /// The buyer's reason.
        reason: String,
    },
    /// The shop refused a refund application.
    RefundRefused {
        /// The order.
        order_id: OrderId,
        /// Its buyer.
        user_id: UserId,
        /// The shop's reason.
        reason: String,
    },
    /// The shop approved a refund: it is being sent to the gateway.
    RefundApproved {
        /// The order.
        order_id: OrderId,
        /// The refund's number.
        refund_no: String,
        /// Amount to give back.
        amount: Money,
    },
    /// A refund went through.
    RefundSucceeded {
        /// The order.
        order_id: OrderId,
        /// The refund's number.
        refund_no: String,
        /// Amount given back.
        amount: Money,
    },
    /// The gateway could not carry a refund out.
    RefundFailed {
        /// The order.
        order_id: OrderId,
        /// The refund's number.
        refund_no: String,
        /// Amount that was to be given back.
        amount: Money,
    },
    /// An order's lines were reviewed.
    ReviewCreated {
        /// The order.
        order_id: OrderId,
        /// Products reviewed.
        product_ids: Vec<ProductId>,
    },
    /// A product was created with its SKUs.
    ProductCreated {
        /// The product.
        product_id: ProductId,
    },
    /// A product or its SKUs changed (including being put on sale again).
    ProductChanged {
        /// The product.
        product_id: ProductId,
    },
    /// A product was taken off sale.
    ProductTakenOffSale {
        /// The product.
        product_id: ProductId,
    },
    /// A SKU's stock changed by `delta`.
    StockChanged {
        /// The SKU.
        sku_id: SkuId,
        /// Its product.
        product_id: ProductId,
        /// Units added (negative: taken).
        delta: i64,
        /// Why.
        reason: StockChangeReason,
    },
    /// An order used a coupon.
    CouponUsed {
        /// The coupon.
        coupon_id: CouponId,
        /// The order.
        order_id: OrderId,
        /// The buyer.
        user_id: UserId,
    },
    /// A closed order gave its coupon's use back.
    CouponReleased {
        /// The coupon.
        coupon_id: CouponId,
        /// The order.
        order_id: OrderId,
        /// The buyer.
        user_id: UserId,
    },
    /// A crowdfunding campaign was decided (a failed one's paid orders are
    /// then refunded, each with its own refund events).
    CrowdfundingFinished {
        /// The campaign.
        crowdfunding_id: crate::ids::CrowdfundingId,
        /// Its product.
        product_id: ProductId,
        /// Whether it reached its target.
        succeeded: bool,
        /// What its paid orders added up to.
        total: Money,
        /// Its target.
        target: Money,
    },
    /// A period of an order's installment plan was paid (the first one
    /// also pays the order: `OrderPaid` comes with it).
    InstallmentPeriodPaid {
        /// The order.
        order_id: OrderId,
        /// The plan.
        plan_id: crate::ids::InstallmentPlanId,
        /// The period, from 1.
        index: u32,
        /// Amount paid (base, fee and fine).
        amount: Money,
        /// Whether it was the last one.
        finished: bool,
    },
    /// An installment period went overdue: its first fine was set.
    InstallmentOverdue {
        /// The order.
        order_id: OrderId,
        /// Its number.
        order_no: String,
        /// The buyer.
        user_id: UserId,
        /// The period, from 1.
        index: u32,
        /// Periods of the plan.
        count: u32,
        /// The fine so far.
        fine: Money,
        /// What the period costs now.
        amount: Money,
        /// When it was due.
        due_at: DateTime<Utc>,
    },
    /// A new account must verify its e-mail address with `token`.
    ///
    /// The token travels in the event because the e-mail that carries it is
    /// sent from the outbox: it sits in the outbox table (as it sits in a
    /// mail server's queue) until the event is pruned, and it expires.
    EmailVerificationRequested {
        /// The account.
        user_id: UserId,
        /// The one-time token (the store keeps only its digest).
        token: String,
        /// How long it lasts, in minutes.
        valid_minutes: i64,
    },
    /// Somebody asked for a password reset of this account (see
    /// [`DomainEvent::EmailVerificationRequested`] on the token).
    PasswordResetRequested {
        /// The account.
        user_id: UserId,
        /// The one-time token.
        token: String,
        /// How long it lasts, in minutes.
        valid_minutes: i64,
    },
}

/// The kind of aggregate an event belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AggregateKind {
    /// An order (and its refunds and reviews).
    Order,
    /// A product (and its SKUs and stock).
    Product,
    /// A coupon.
    Coupon,
    /// An account.
    Account,
}

impl AggregateKind {
    /// The name stored in the outbox.
    pub fn as_str(self) -> &'static str {
        match self {
            AggregateKind::Order => "order",
            AggregateKind::Product => "product",
            AggregateKind::Coupon => "coupon",
            AggregateKind::Account => "account",
        }
    }
}

impl DomainEvent {
    /// The aggregate the event belongs to, and its id.
    pub fn aggregate(&self) -> (AggregateKind, i64) {
        use DomainEvent as E;
        match self {
            E::OrderPlaced { order_id, .. }
            | E::OrderPaid { order_id, .. }
            | E::OrderShipped { order_id, .. }
            | E::OrderReceived { order_id, .. }
            | E::OrderClosed { order_id, .. }
            | E::RefundApplied { order_id, .. }
            | E::RefundRefused { order_id, .. }
            | E::RefundApproved { order_id, .. }
            | E::RefundSucceeded { order_id, .. }
            | E::RefundFailed { order_id, .. }
            | E::ReviewCreated { order_id, .. }
            | E::InstallmentPeriodPaid { order_id, .. }
            | E::InstallmentOverdue { order_id, .. } => (AggregateKind::Order, order_id.0),
            E::ProductCreated { product_id }
            | E::ProductChanged { product_id }
            | E::ProductTakenOffSale { product_id }
            | E::StockChanged { product_id, .. }
            | E::CrowdfundingFinished { product_id, .. } => (AggregateKind::Product, product_id.0),
            E::CouponUsed { coupon_id, .. } | E::CouponReleased { coupon_id, .. } => {
                (AggregateKind::Coupon, coupon_id.0)
            }
            E::EmailVerificationRequested { user_id, .. }
            | E::PasswordResetRequested { user_id, .. } => (AggregateKind::Account, user_id.0),
        }
    }

    /// The event's type as stored (the JSON `type` tag).
    pub fn event_type(&self) -> &'static str {
        use DomainEvent as E;
        match self {
            E::OrderPlaced { .. } => "order_placed",
            E::OrderPaid { .. } => "order_paid",
            E::OrderShipped { .. } => "order_shipped",
            E::OrderReceived { .. } => "order_received",
            E::OrderClosed { .. } => "order_closed",
            E::RefundApplied { .. } => "refund_applied",
            E::RefundRefused { .. } => "refund_refused",
            E::RefundApproved { .. } => "refund_approved",
            E::RefundSucceeded { .. } => "refund_succeeded",
            E::RefundFailed { .. } => "refund_failed",
            E::ReviewCreated { .. } => "review_created",
            E::ProductCreated { .. } => "product_created",
            E::ProductChanged { .. } => "product_changed",
            E::ProductTakenOffSale { .. } => "product_taken_off_sale",
            E::StockChanged { .. } => "stock_changed",
            E::CouponUsed { .. } => "coupon_used",
            E::CouponReleased { .. } => "coupon_released",
            E::CrowdfundingFinished { .. } => "crowdfunding_finished",
            E::InstallmentPeriodPaid { .. } => "installment_period_paid",
            E::InstallmentOverdue { .. } => "installment_overdue",
            E::EmailVerificationRequested { .. } => "email_verification_requested",
            E::PasswordResetRequested { .. } => "password_reset_requested",
        }
    }

    /// The schema version of this event's type. Every type is at version 1.
    pub fn version(&self) -> u32 {
        CURRENT_VERSION
    }
}

/// The schema version every event type is at.
const CURRENT_VERSION: u32 = 1;

/// An event as a store writes it to the outbox, inside the same atomic step
/// as the change it reports: the aggregate, the type and version, the JSON
/// payload and the time. Built by the services with [`EventRecord::new`];
/// a store writes the fields as they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRecord {
    /// [`AggregateKind::as_str`] of the event's aggregate.
    pub aggregate_type: String,
    /// The aggregate's id.
    pub aggregate_id: i64,
    /// [`DomainEvent::event_type`].
    pub event_type: String,
    /// [`DomainEvent::version`].
    pub version: u32,
    /// The event as JSON.
    pub payload: String,
    /// When it happened (the shop's clock).
    pub occurred_at: DateTime<Utc>,
}

impl EventRecord {
    /// Encodes `event`, which happened at `occurred_at`.
    pub fn new(event: &DomainEvent, occurred_at: DateTime<Utc>) -> EventRecord {
        let (kind, id) = event.aggregate();
        EventRecord {
            aggregate_type: kind.as_str().to_owned(),
            aggregate_id: id,
            event_type: event.event_type().to_owned(),
            version: event.version(),
            // A derived Serialize of plain data with string keys cannot fail.
            payload: serde_json::to_string(event).unwrap_or_default(),
            occurred_at,
        }
    }

    /// Encodes every event of one write.
    pub fn all(events: &[DomainEvent], occurred_at: DateTime<Utc>) -> Vec<EventRecord> {
        events
            .iter()
            .map(|e| EventRecord::new(e, occurred_at))
            .collect()
    }

    /// Decodes the event. A version newer than this code knows (written by
    /// a newer release of the shop during a rolling upgrade) or a payload
    /// that does not parse is a `Backend` error: the dispatcher retries it
    /// later rather than skipping it.
    pub fn decode(&self) -> Result<DomainEvent> {
        let corrupt = |why: String| {
            Error::Store(StoreError::Backend {
                source: format!("outbox event {} v{}: {why}", self.event_type, self.version).into(),
            })
        };
        if self.version > CURRENT_VERSION {
            return Err(corrupt(format!(
                "written by a newer version (this one reads up to v{CURRENT_VERSION})"
            )));
        }
        let event: DomainEvent =
            serde_json::from_str(&self.payload).map_err(|e| corrupt(e.to_string()))?;
        if event.event_type() != self.event_type {
            return Err(corrupt(format!("payload is a {}", event.event_type())));
        }
        Ok(event)
    }
}

/// An event as the outbox delivers it to a listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventEnvelope {
    /// Its position in the outbox: increasing, unique, stable across
    /// redeliveries (a listener can use it to drop a repeat).
    pub seq: i64,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
    /// What happened.
    pub event: DomainEvent,
}

/// Port: receives the outbox's events, in order per aggregate, at least
/// once (a crash between handling an event and recording the progress
/// delivers it again, so a listener must be idempotent).
///
/// An error means "not handled": the dispatcher delivers the same event
/// again after a backoff, without blocking other listeners. A listener's
/// progress is kept in the outbox under its [`EventListener::name`], so the
/// name must be stable and unique among the shop's listeners.
#[async_trait]
pub trait EventListener: Send + Sync + 'static {
    /// The stable, unique name the outbox keeps this listener's progress
    /// under (at most 100 characters).
    fn name(&self) -> &str;

    /// Where it starts the first time the outbox sees it:
    /// [`ListenerStart::Oldest`] unless overridden.
    fn start(&self) -> ListenerStart {
        ListenerStart::Oldest
    }

    /// Handles one event.
    async fn on_event(&self, event: &EventEnvelope) -> Result<()>;
}

/// Where a listener the outbox has not seen before starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ListenerStart {
    /// At the oldest event still kept: nothing written before its first
    /// dispatch is missed (the shop's own listeners start here).
    Oldest,
    /// After the newest event: only what is written from now on (e.g. a
    /// search index rebuilt from the catalog when it starts).
    Newest,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_refuse_newer_versions() {
        let event = DomainEvent::StockChanged {
            sku_id: SkuId(3),
            product_id: ProductId(2),
            delta: -4,
            reason: StockChangeReason::OrderPlaced,
        };
        let at = DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default();
        let record = EventRecord::new(&event, at);
        assert_eq!(record.aggregate_type, "product");
        assert_eq!(record.aggregate_id, 2);
        assert_eq!(record.event_type, "stock_changed");
        assert_eq!(record.decode().ok(), Some(event));
        let newer = EventRecord {
            version: CURRENT_VERSION + 1,
            ..record.clone()
        };
        assert!(newer.decode().is_err());
        let mislabelled = EventRecord {
            event_type: "order_paid".into(),
            ..record
        };
        assert!(mislabelled.decode().is_err());
    }
}
