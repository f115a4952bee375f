//! Use cases: shipping, confirming receipt and reviewing.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use super::Shop;
use crate::error::{Error, Result};
use crate::events::DomainEvent;
use crate::ids::{OrderId, OrderItemId, ProductId, UserId};
use crate::order::{
    LineReview, Order, OrderAction, OrderPatch, ProductReview, ReviewOrder, ShipmentInfo,
};
use crate::text::{check_multiline, required_line};

/// Longest review text, in characters.
pub const MAX_REVIEW_CHARS: usize = 2000;
/// Longest carrier name or tracking number, in characters.
pub const MAX_SHIPMENT_CHARS: usize = 64;

/// A buyer's review of one order line, as submitted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewRequest {
    /// The order line.
    pub item_id: OrderItemId,
    /// Stars, as typed (validated to 1–5).
    pub rating: i64,
    /// The text.
    pub text: String,
}

impl Shop {
    /// Ships a paid order with no refund applied or in progress
    /// (administrators); a crowdfunding order only once its campaign
    /// succeeded (`Crowdfunding(NotSucceeded)`).
    pub async fn ship_order(&self, id: OrderId, carrier: &str, tracking_no: &str) -> Result<Order> {
        let carrier = required_line("carrier", carrier, MAX_SHIPMENT_CHARS)?;
        let tracking_no = required_line("tracking_no", tracking_no, MAX_SHIPMENT_CHARS)?;
        let order = self.any_order(id).await?;
        self.check_crowdfunding_ships(&order).await?;
        let patch = OrderPatch {
            shipment: Some(ShipmentInfo {
                carrier: carrier.to_owned(),
                tracking_no: tracking_no.to_owned(),
                shipped_at: self.now(),
            }),
            ..OrderPatch::default()
        };
        self.move_order(&order, OrderAction::Ship, patch).await
    }

    /// The buyer confirms a shipped order arrived.
    pub async fn confirm_receipt(&self, user: UserId, id: OrderId) -> Result<Order> {
        let order = self.order(user, id).await?;
        self.move_order(&order, OrderAction::ConfirmReceipt, OrderPatch::default())
            .await
    }

    /// The buyer reviews every line of a received order, once: one review
    /// per line, rating 1–5. Emits `ReviewCreated`, which refreshes the
    /// products' ratings and review counts.
    pub async fn review_order(
        &self,
        user: UserId,
        id: OrderId,
        reviews: Vec<ReviewRequest>,
    ) -> Result<Order> {
        let order = self.order(user, id).await?;
        order.next_state(OrderAction::Review)?;
        let mut seen = HashSet::new();
        let now = self.now();
        let mut lines = Vec::with_capacity(reviews.len());
        for r in reviews {
            order.item(r.item_id)?;
            if !seen.insert(r.item_id) {
                return Err(Error::validation("reviews", "one review per line"));
            }
            let rating = u8::try_from(r.rating)
                .ok()
                .filter(|s| (1..=5).contains(s))
                .ok_or_else(|| Error::validation("rating", "must be between 1 and 5"))?;
            check_multiline("text", &r.text, MAX_REVIEW_CHARS)?;
            lines.push((
                r.item_id,
                LineReview {
                    rating,
                    text: r.text,
                    reviewed_at: now,
                },
            ));
        }
        if lines.len() != order.items.len() {
            return Err(Error::refused("reviews", "every line must be reviewed"));
        }
        let reviewed = self.records(vec![DomainEvent::ReviewCreated {
            order_id: id,
            product_ids: order.product_ids(),
        }]);
        self.inner
            .stores
            .orders
            .review_order(
                &ReviewOrder {
                    order_id: id,
                    expected: order.state,
                    reviews: lines,
                },
                &reviewed,
            )
            .await?;
        self.any_order(id).await
    }

    /// A product's reviews, newest first.
    pub async fn product_reviews(
        &self,
        product: ProductId,
        limit: u32,
    ) -> Result<Vec<ProductReview>> {
        self.inner
            .stores
            .orders
            .list_product_reviews(product, limit.clamp(1, 100))
            .await
    }
}
