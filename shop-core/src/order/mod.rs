//! Orders: the order and its lines, its totals and payment window, and the
//! order store port whose writes are each one atomic step. The state
//! machine is [`crate::state`]'s (re-exported here), placing an order is in
//! [`placement`](self::PlaceOrder), reviews beside it.

mod events;
mod placement;
mod review;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

pub use self::placement::{
    first_shortage, stock_shortage, PlaceOrder, SubmitTokenStore, SubmitTokenUse, SubmittedOrder,
    TokenClaim,
};
pub use self::review::{check_line_reviews, ProductReview, ReviewOrder};
use crate::catalog::ProductKind;
use crate::error::{Entity, Error, Result};
use crate::events::EventRecord;
use crate::ids::{CouponId, OrderId, OrderItemId, ProductId, SkuId, UserId};
use crate::money::Money;
use crate::page::Page;
pub use crate::state::{OrderAction, OrderState, OrderStatus, RefundStatus};
use crate::user::AddressSnapshot;

/// The characters of an order number: 1–64 ASCII letters and digits
/// ([`OrderNoGenerator`](crate::ids::OrderNoGenerator) writes 20 digits).
pub const ORDER_NO_PATTERN: &str = "^[A-Za-z0-9]{1,64}$";

/// The order-number rule ([`ORDER_NO_PATTERN`]): `Validation { field:
/// "order_no" }` for anything else, so a page or link that carries one can
/// show and forward it safely.
pub fn check_order_no(no: &str) -> Result<()> {
    if (1..=64).contains(&no.len()) && no.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Ok(())
    } else {
        Err(Error::validation("order_no", "not an order number"))
    }
}

impl OrderState {
    /// The state machine: the next state after `action`, or
    /// `InvalidTransition`. Pure; every store write is a compare-and-set from
    /// `self` to the result.
    pub fn apply(self, action: OrderAction) -> Result<OrderState> {
        self.after(action)
            .ok_or(Error::InvalidTransition { from: self, action })
    }
}

/// How an order was paid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PaymentInfo {
    /// The gateway's name, e.g. "alipay".
    pub method: String,
    /// The gateway's transaction number.
    pub transaction_no: String,
    /// When the gateway says it was paid.
    pub paid_at: DateTime<Utc>,
}

/// How an order was shipped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ShipmentInfo {
    /// Carrier name.
    pub carrier: String,
    /// Tracking number.
    pub tracking_no: String,
    /// When it was shipped.
    pub shipped_at: DateTime<Utc>,
}

/// A buyer's review of one line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LineReview {
    /// 1–5 stars.
    pub rating: u8,
    /// The text.
    pub text: String,
    /// When it was written.
    pub reviewed_at: DateTime<Utc>,
}

/// One line of an order, with its price snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrderItem {
    /// Id.
    pub id: OrderItemId,
    /// The product bought.
    pub product_id: ProductId,
    /// The SKU bought.
    pub sku_id: SkuId,
    /// Units.
    pub quantity: u32,
    /// Unit price when the order was placed.
    pub unit_price: Money,
    /// The buyer's review, once written.
    pub review: Option<LineReview>,
}

/// An order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Order {
    /// Id.
    pub id: OrderId,
    /// Unique, time-sortable number shown to people and gateways.
    pub no: String,
    /// Buyer.
    pub user_id: UserId,
    /// Kind of the products bought.
    pub kind: ProductKind,
    /// The shipping address as it was when the order was placed.
    pub address: AddressSnapshot,
    /// Lines.
    pub items: Vec<OrderItem>,
    /// Sum of the lines before any discount.
    pub items_total: Money,
    /// What the buyer pays.
    pub total: Money,
    /// The coupon used, if any.
    pub coupon_id: Option<CouponId>,
    /// The buyer's note.
    pub remark: String,
    /// Status and refund sub-state.
    pub state: OrderState,
    /// Set once paid.
    pub payment: Option<PaymentInfo>,
    /// Set once shipped.
    pub shipment: Option<ShipmentInfo>,
    /// The buyer's reason for the last refund application.
    pub refund_reason: Option<String>,
    /// The administrator's reason for the last refusal.
    pub refund_refusal: Option<String>,
    /// When it was placed.
    pub created_at: DateTime<Utc>,
    /// When an unpaid order closes.
    pub expires_at: DateTime<Utc>,
    /// When it was closed, if it was.
    pub closed_at: Option<DateTime<Utc>>,
}

impl Order {
    /// `Forbidden` unless `user` placed the order.
    pub fn ensure_owner(&self, user: UserId) -> Result<()> {
        if self.user_id == user {
            Ok(())
        } else {
            Err(Error::Forbidden {
                entity: Entity::Order,
            })
        }
    }

    /// The next state after `action`, with the rules that depend on the order
    /// itself (crowdfunding orders are not refunded on request).
    pub fn next_state(&self, action: OrderAction) -> Result<OrderState> {
        if action == OrderAction::ApplyRefund && self.kind == ProductKind::Crowdfunding {
            return Err(Error::InvalidTransition {
                from: self.state,
                action,
            });
        }
        self.state.apply(action)
    }

    /// Finds one of the order's lines.
    pub fn item(&self, id: OrderItemId) -> Result<&OrderItem> {
        self.items
            .iter()
            .find(|i| i.id == id)
            .ok_or_else(|| Error::not_found(Entity::OrderItem, id))
    }
}

/// How long an unpaid order of `kind` stays open (crowdfunding orders are
/// further capped at the campaign's end by the crowdfunding rules).
pub fn payment_window(kind: ProductKind) -> Duration {
    match kind {
        ProductKind::Seckill => Duration::minutes(10),
        ProductKind::Normal | ProductKind::Crowdfunding => Duration::minutes(30),
    }
}

/// The totals of an order: `(items_total, total)`. `items_total` is the sum
/// of `unit_price × quantity` over the lines (all in `currency`); `total` is
/// what the buyer pays, after the coupon's discount when there is one. No
/// rounding happens here except the coupon's own half-up step.
pub fn order_totals(
    currency: crate::money::Currency,
    lines: &[(Money, u32)],
    coupon: Option<&crate::coupon::Coupon>,
) -> Result<(Money, Money)> {
    let mut items_total = Money::zero(currency);
    for (price, quantity) in lines {
        items_total = items_total.checked_add(price.times(*quantity)?)?;
    }
    let total = match coupon {
        Some(c) => c.apply(items_total)?,
        None => items_total,
    };
    Ok((items_total, total))
}

/// Fields a compare-and-set transition writes besides the state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrderPatch {
    /// Set the payment.
    pub payment: Option<PaymentInfo>,
    /// Set the shipment.
    pub shipment: Option<ShipmentInfo>,
    /// Set the buyer's refund reason.
    pub refund_reason: Option<String>,
    /// Set the administrator's refusal reason.
    pub refund_refusal: Option<String>,
}

/// Which orders to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrderQuery {
    /// Only this buyer's.
    pub user_id: Option<UserId>,
    /// Only in this status.
    pub status: Option<OrderStatus>,
    /// Page, from 1.
    pub page: u32,
    /// Page size.
    pub per_page: u32,
}

/// Port: orders and their reviews. Every method that writes is one atomic
/// step. Refunds have their own port ([`crate::refund::RefundStore`]), and
/// so have submit tokens ([`SubmitTokenStore`]).
#[async_trait]
pub trait OrderStore: Send + Sync + 'static {
    /// Places an order, all or nothing: consumes the submit token
    /// (`NotFound { SubmitToken }` if missing, used or expired) and records
    /// the order and request fingerprint with it; decrements
    /// each SKU's stock only where `stock >= quantity` (`OutOfStock`);
    /// re-checks the coupon (enabled, `used < total`, validity window at
    /// `created_at`, once per user: `CouponRejected`) and increments `used`;
    /// stores the order; removes the bought SKUs from the cart when asked.
    /// `AlreadyExists { Order }` when the order number is taken.
    ///
    /// `events` are recorded in the outbox in the same step (as every
    /// writing method that takes them does).
    async fn place_order(&self, cmd: &PlaceOrder, events: &[EventRecord]) -> Result<Order>;

    /// Loads an order with its lines.
    async fn get_order(&self, id: OrderId) -> Result<Option<Order>>;
    /// Loads an order by its number.
    async fn get_order_by_no(&self, no: &str) -> Result<Option<Order>>;
    /// Lists orders with their lines, newest first.
    async fn list_orders(&self, query: &OrderQuery) -> Result<Page<Order>>;

    /// Compare-and-set: moves the order from `expected` to `next` and writes
    /// `patch`, or fails with `Conflict` when its state is not `expected`.
    async fn transition(
        &self,
        id: OrderId,
        expected: OrderState,
        next: OrderState,
        patch: &OrderPatch,
        events: &[EventRecord],
    ) -> Result<()>;

    /// Closes a pending order: compare-and-set pending → closed, then gives
    /// back each line's stock and the coupon's use, exactly once (`Conflict`
    /// when the order is no longer pending).
    async fn close_order(
        &self,
        id: OrderId,
        at: DateTime<Utc>,
        events: &[EventRecord],
    ) -> Result<()>;

    /// Pending orders with `expires_at <= now` and id > `after`, by id,
    /// at most `limit` (for chunked closing).
    async fn list_expired_orders(
        &self,
        now: DateTime<Utc>,
        after: Option<OrderId>,
        limit: u32,
    ) -> Result<Vec<OrderId>>;

    /// Writes one review per line and moves received → reviewed, atomically
    /// (`Conflict` when the order is no longer received).
    async fn review_order(&self, cmd: &ReviewOrder, events: &[EventRecord]) -> Result<()>;
    /// A product's reviews, newest first.
    async fn list_product_reviews(
        &self,
        product: ProductId,
        limit: u32,
    ) -> Result<Vec<ProductReview>>;
}
