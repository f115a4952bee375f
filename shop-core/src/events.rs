//! Domain events and the listener port.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::ids::{OrderId, ProductId, UserId};
use crate::money::Money;

/// Something that happened, for listeners (counters, search, e-mail).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum DomainEvent {
    /// An order was paid.
    OrderPaid {
        /// The order.
        order_id: OrderId,
        /// Its buyer.
        user_id: UserId,
        /// Products on it.
        product_ids: Vec<ProductId>,
        /// Amount paid.
        total: Money,
    },
    /// An unpaid order was closed; its stock and coupon were given back.
    OrderClosed {
        /// The order.
        order_id: OrderId,
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
    /// An order's lines were reviewed.
    ReviewCreated {
        /// The order.
        order_id: OrderId,
        /// Products reviewed.
        product_ids: Vec<ProductId>,
    },
    /// A product or its SKUs changed.
    ProductChanged {
        /// The product.
        product_id: ProductId,
    },
}

/// Port: receives every event the services emit, in order, after the write
/// that caused it succeeded.
///
/// A listener handles its own failures (retry, log, queue): the write is
/// already done, so the use case that emitted the event does not fail
/// because a listener did. Listeners must be idempotent: an event may be
/// delivered again.
#[async_trait]
pub trait EventListener: Send + Sync + 'static {
    /// Handles one event.
    async fn on_event(&self, event: &DomainEvent);
}
