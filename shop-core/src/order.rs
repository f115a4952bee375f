//! Orders: the state machine with its refund sub-state, the order and its
//! lines, and the order store port whose writes are each one atomic step.

use std::collections::{HashMap, HashSet};
use std::fmt;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::catalog::{Page, ProductKind};
use crate::error::{Entity, Error, Result};
use crate::ids::{CouponId, OrderId, OrderItemId, ProductId, RefundId, SkuId, UserId};
use crate::money::Money;
use crate::refund::{FinishRefund, NewRefund, Refund};
use crate::user::AddressSnapshot;

/// Where an order is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Placed, waiting for payment.
    Pending,
    /// Paid.
    Paid,
    /// Handed to a carrier.
    Shipped,
    /// The buyer confirmed receipt.
    Received,
    /// The buyer reviewed it.
    Reviewed,
    /// Closed unpaid; stock and coupon were given back.
    Closed,
}

/// The refund sub-state of an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RefundStatus {
    /// No refund asked for (or the last one was refused or was partial).
    None,
    /// The buyer applied for a refund.
    Applied,
    /// Approved; the gateway is refunding.
    Processing,
    /// Everything paid has been refunded.
    Refunded,
    /// The gateway failed to refund.
    Failed,
}

macro_rules! str_enum {
    ($ty:ident { $($variant:ident => $s:literal),* $(,)? }) => {
        impl $ty {
            /// The stable lowercase name used in storage.
            pub fn as_str(self) -> &'static str {
                match self { $($ty::$variant => $s),* }
            }
            /// Parses the output of `as_str`.
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($s => Some($ty::$variant),)* _ => None }
            }
        }
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

str_enum!(OrderStatus {
    Pending => "pending", Paid => "paid", Shipped => "shipped",
    Received => "received", Reviewed => "reviewed", Closed => "closed",
});
str_enum!(RefundStatus {
    None => "none", Applied => "applied", Processing => "processing",
    Refunded => "refunded", Failed => "failed",
});

impl OrderStatus {
    /// The statuses of a paid order, whose lines count as sold: paid,
    /// shipped, received, reviewed.
    pub const PAID: [OrderStatus; 4] = [
        OrderStatus::Paid,
        OrderStatus::Shipped,
        OrderStatus::Received,
        OrderStatus::Reviewed,
    ];
}

/// The full state of an order: status and refund sub-state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrderState {
    /// Main status.
    pub status: OrderStatus,
    /// Refund sub-state.
    pub refund: RefundStatus,
}

impl fmt::Display for OrderState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/refund:{}", self.status, self.refund)
    }
}

/// Something that moves an order to another state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum OrderAction {
    /// A payment arrived.
    Pay,
    /// Close an unpaid order.
    Close,
    /// Hand it to a carrier.
    Ship,
    /// The buyer got it.
    ConfirmReceipt,
    /// The buyer reviewed it.
    Review,
    /// The buyer asks for a refund.
    ApplyRefund,
    /// An administrator approves the refund.
    ApproveRefund,
    /// An administrator refuses the refund.
    RefuseRefund,
    /// The gateway refunded everything still paid.
    CompleteRefund,
    /// The gateway refunded part of what was paid.
    CompletePartialRefund,
    /// The gateway failed to refund.
    FailRefund,
}

str_enum!(OrderAction {
    Pay => "pay", Close => "close", Ship => "ship", ConfirmReceipt => "confirm_receipt",
    Review => "review", ApplyRefund => "apply_refund", ApproveRefund => "approve_refund",
    RefuseRefund => "refuse_refund", CompleteRefund => "complete_refund",
    CompletePartialRefund => "complete_partial_refund", FailRefund => "fail_refund",
});

impl OrderState {
    /// A freshly placed order.
    pub const PENDING: OrderState = OrderState {
        status: OrderStatus::Pending,
        refund: RefundStatus::None,
    };

    /// Whether the order has been paid (paid, shipped, received or reviewed).
    pub fn is_paid(self) -> bool {
        OrderStatus::PAID.contains(&self.status)
    }

    /// Whether the order holds its coupon for its buyer (check 5): pending,
    /// or paid and not fully refunded. Closing an order or refunding all of
    /// it gives the coupon back; a store drops the coupon hold in the same
    /// atomic step that moves the order to a state where this is false.
    pub fn holds_coupon(self) -> bool {
        (self.status == OrderStatus::Pending || self.is_paid())
            && self.refund != RefundStatus::Refunded
    }

    /// The state machine: the next state after `action`, or
    /// `InvalidTransition`. Pure; every store write is a compare-and-set from
    /// `self` to the result.
    pub fn apply(self, action: OrderAction) -> Result<OrderState> {
        use OrderAction as A;
        use OrderStatus as S;
        use RefundStatus as R;
        let refund_free = matches!(self.refund, R::None | R::Failed);
        let next = match (action, self.status, self.refund) {
            (A::Pay, S::Pending, R::None) => Some((S::Paid, R::None)),
            (A::Close, S::Pending, R::None) => Some((S::Closed, R::None)),
            (A::Ship, S::Paid, R::None) => Some((S::Shipped, R::None)),
            (A::ConfirmReceipt, S::Shipped, r) if refund_free => Some((S::Received, r)),
            (A::Review, S::Received, r) if refund_free => Some((S::Reviewed, r)),
            (A::ApplyRefund, s, _) if self.is_paid() && refund_free => Some((s, R::Applied)),
            (A::ApproveRefund, s, R::Applied) => Some((s, R::Processing)),
            (A::RefuseRefund, s, R::Applied) => Some((s, R::None)),
            (A::CompleteRefund, s, R::Processing) => Some((s, R::Refunded)),
            (A::CompletePartialRefund, s, R::Processing) => Some((s, R::None)),
            (A::FailRefund, s, R::Processing) => Some((s, R::Failed)),
            _ => None,
        };
        next.map(|(status, refund)| OrderState { status, refund })
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

/// The atomic placement command, built and validated by the order service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaceOrder {
    /// The complete order, in state pending, with price and address snapshots.
    pub order: Order,
    /// When given, consumed atomically: it must exist for the buyer, be
    /// unexpired at `order.created_at` and unused, else nothing is written.
    /// The store records the order and the request's fingerprint with it
    /// ([`OrderStore::submitted_order`]).
    pub submit_token: Option<SubmitTokenUse>,
    /// Whether to remove the bought SKUs from the buyer's cart.
    pub clear_cart: bool,
}

/// A submit token consumed by a placement, with the fingerprint of the
/// request that consumed it (see
/// [`PlaceOrderRequest::fingerprint`](crate::service::PlaceOrderRequest::fingerprint)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmitTokenUse {
    /// The token.
    pub token: String,
    /// The request's fingerprint, stored with the consumed token.
    pub request_fingerprint: String,
}

impl SubmitTokenUse {
    /// A token and a request fingerprint.
    pub fn new(token: impl Into<String>, request_fingerprint: impl Into<String>) -> Self {
        SubmitTokenUse {
            token: token.into(),
            request_fingerprint: request_fingerprint.into(),
        }
    }
}

/// What a consumed submit token placed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmittedOrder {
    /// The order the token placed.
    pub order_id: OrderId,
    /// The fingerprint of the request that placed it.
    pub request_fingerprint: String,
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

/// The atomic review command: every line of a received order, once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewOrder {
    /// The order.
    pub order_id: OrderId,
    /// The state the order must still be in (compare-and-set); the review
    /// moves it to [`ReviewOrder::next_state`].
    pub expected: OrderState,
    /// One review per line.
    pub reviews: Vec<(OrderItemId, LineReview)>,
}

impl ReviewOrder {
    /// The state the review moves the order to: `expected` after
    /// [`OrderAction::Review`] (`InvalidTransition` when it does not apply).
    pub fn next_state(&self) -> Result<OrderState> {
        self.expected.apply(OrderAction::Review)
    }
}

/// What `place_order` reports when a line does not fit the stock: the first
/// line, in the order's own line order, that the stock each SKU had before
/// the order (`before`; a SKU missing from it does not exist) cannot cover,
/// earlier lines of the same SKU taken first. `None` when every line fits.
/// Every store reports its shortage with this, whatever order it took the
/// stock in.
pub fn first_shortage(items: &[OrderItem], before: &HashMap<SkuId, u32>) -> Option<Error> {
    let mut left: HashMap<SkuId, u32> = HashMap::new();
    for item in items {
        let Some(available) = left.get(&item.sku_id).or(before.get(&item.sku_id)).copied() else {
            return Some(Error::not_found(Entity::Sku, item.sku_id));
        };
        if available < item.quantity {
            return Some(Error::OutOfStock {
                sku: item.sku_id,
                requested: item.quantity,
                available,
            });
        }
        left.insert(item.sku_id, available - item.quantity);
    }
    None
}

/// The refusal of a store whose conditional stock decrement for the line of
/// `failed` matched no row, given the stock read back afterwards (`before`:
/// what each SKU had before this order, i.e. what is left plus what this
/// order already took). [`first_shortage`] decides; when every line fits
/// the stock read back (it moved in between), the failed SKU is reported
/// with what the order's lines of it wanted and what it had.
pub fn stock_shortage(items: &[OrderItem], before: &HashMap<SkuId, u32>, failed: SkuId) -> Error {
    first_shortage(items, before).unwrap_or_else(|| match before.get(&failed) {
        Some(&available) => Error::OutOfStock {
            sku: failed,
            requested: items
                .iter()
                .filter(|i| i.sku_id == failed)
                .fold(0u32, |sum, i| sum.saturating_add(i.quantity)),
            available,
        },
        None => Error::not_found(Entity::Sku, failed),
    })
}

/// The store's invariant for reviewing an order: one review for every line
/// of `order` (an unknown or missing line is `Refused { field: "reviews" }`),
/// no repeated line (`Validation { field: "reviews" }`), ratings 1–5
/// (`Validation { field: "rating" }`).
pub fn check_line_reviews(order: &Order, reviews: &[(OrderItemId, LineReview)]) -> Result<()> {
    let mut seen = HashSet::new();
    for (item, review) in reviews {
        if !order.items.iter().any(|i| i.id == *item) {
            return Err(Error::refused(
                "reviews",
                format!("line {item} is not on order {}", order.id),
            ));
        }
        if !seen.insert(*item) {
            return Err(Error::validation(
                "reviews",
                format!("line {item} is reviewed twice"),
            ));
        }
        if !(1..=5).contains(&review.rating) {
            return Err(Error::validation("rating", "must be between 1 and 5"));
        }
    }
    if let Some(missing) = order.items.iter().find(|i| !seen.contains(&i.id)) {
        return Err(Error::refused(
            "reviews",
            format!("line {} has no review", missing.id),
        ));
    }
    Ok(())
}

/// A published review, for a product page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProductReview {
    /// The reviewer.
    pub user_id: UserId,
    /// The SKU reviewed.
    pub sku_id: SkuId,
    /// The review.
    pub review: LineReview,
}

/// Port: orders, submit tokens, reviews and refunds. Every method that
/// writes is one atomic step.
#[async_trait]
pub trait OrderStore: Send + Sync + 'static {
    /// Stores a submit token for `user`, valid until `expires_at`.
    async fn issue_submit_token(
        &self,
        user: UserId,
        token: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<()>;

    /// The order a consumed submit token of `user` placed, with its
    /// request's fingerprint; `None` when the token is unknown, somebody
    /// else's, or unused. Answers a retried submission.
    async fn submitted_order(&self, user: UserId, token: &str) -> Result<Option<SubmittedOrder>>;

    /// Places an order, all or nothing: consumes the submit token
    /// (`NotFound { SubmitToken }` if missing, used or expired) and records
    /// the order and request fingerprint with it; decrements
    /// each SKU's stock only where `stock >= quantity` (`OutOfStock`);
    /// re-checks the coupon (enabled, `used < total`, validity window at
    /// `created_at`, once per user: `CouponRejected`) and increments `used`;
    /// stores the order; removes the bought SKUs from the cart when asked.
    /// `AlreadyExists { Order }` when the order number is taken.
    async fn place_order(&self, cmd: &PlaceOrder) -> Result<Order>;

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
    ) -> Result<()>;

    /// Closes a pending order: compare-and-set pending → closed, then gives
    /// back each line's stock and the coupon's use, exactly once (`Conflict`
    /// when the order is no longer pending).
    async fn close_order(&self, id: OrderId, at: DateTime<Utc>) -> Result<()>;

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
    async fn review_order(&self, cmd: &ReviewOrder) -> Result<()>;
    /// A product's reviews, newest first.
    async fn list_product_reviews(
        &self,
        product: ProductId,
        limit: u32,
    ) -> Result<Vec<ProductReview>>;

    /// Records a refund and moves the order's state, atomically: the order
    /// must be in `cmd.expected` (`Conflict`), the refund number unused
    /// (`AlreadyExists`), each line's refunded quantity within what was bought
    /// and the refunded total within what was paid (`Validation`).
    async fn create_refund(&self, cmd: &NewRefund) -> Result<()>;
    /// Finishes a pending refund and moves the order's state, atomically and
    /// exactly once per refund number (`Conflict` when already finished).
    async fn finish_refund(&self, cmd: &FinishRefund) -> Result<()>;
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
