//! Reviews: the atomic review command, the store's invariant for it, and a
//! published review.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use super::{LineReview, Order, OrderAction, OrderState};
use crate::error::{Error, Result};
use crate::ids::{OrderId, OrderItemId, SkuId, UserId};

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
