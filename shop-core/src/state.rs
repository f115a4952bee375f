//! The order's life as pure data: its status, its refund sub-state, the
//! actions that move it, and the table of moves. A leaf module: it names
//! nothing else of the crate, so the error type can name its states.

use std::fmt;

use serde::{Deserialize, Serialize};

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
    /// The shop refunds everything on its own, without an application (a
    /// failed crowdfunding campaign).
    RefundByShop,
}

str_enum!(OrderAction {
    Pay => "pay", Close => "close", Ship => "ship", ConfirmReceipt => "confirm_receipt",
    Review => "review", ApplyRefund => "apply_refund", ApproveRefund => "approve_refund",
    RefuseRefund => "refuse_refund", CompleteRefund => "complete_refund",
    CompletePartialRefund => "complete_partial_refund", FailRefund => "fail_refund",
    RefundByShop => "refund_by_shop",
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

    /// The table of moves: the state after `action`, if it applies.
    /// [`OrderState::apply`](crate::order) wraps it with the error.
    pub(crate) fn after(self, action: OrderAction) -> Option<OrderState> {
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
            (A::RefundByShop, s, _) if self.is_paid() && refund_free => Some((s, R::Processing)),
            (A::RefuseRefund, s, R::Applied) => Some((s, R::None)),
            (A::CompleteRefund, s, R::Processing) => Some((s, R::Refunded)),
            (A::CompletePartialRefund, s, R::Processing) => Some((s, R::None)),
            (A::FailRefund, s, R::Processing) => Some((s, R::Failed)),
            _ => None,
        };
        next.map(|(status, refund)| OrderState { status, refund })
    }
}
