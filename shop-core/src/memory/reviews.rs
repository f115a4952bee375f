//! Reviews for [`MemoryStore`](super::MemoryStore): `review_order` and
//! `list_product_reviews`.

use std::cmp::Reverse;
use std::collections::HashSet;

use super::{conflict, State};
use crate::error::{Entity, Error, Result};
use crate::ids::ProductId;
use crate::order::{OrderState, OrderStatus, ProductReview, RefundStatus, ReviewOrder};

impl State {
    pub(super) fn review_order(&mut self, cmd: &ReviewOrder) -> Result<()> {
        let order = self
            .orders
            .get_mut(&cmd.order_id)
            .ok_or_else(|| Error::not_found(Entity::Order, cmd.order_id))?;
        let state = order.state;
        if state.status != OrderStatus::Received
            || !matches!(state.refund, RefundStatus::None | RefundStatus::Failed)
        {
            return Err(conflict(Entity::Order, order.id));
        }
        let mut seen = HashSet::new();
        for (item, review) in &cmd.reviews {
            if !order.items.iter().any(|i| i.id == *item) {
                return Err(Error::validation(
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
            return Err(Error::validation(
                "reviews",
                format!("line {} has no review", missing.id),
            ));
        }
        for (item, review) in &cmd.reviews {
            if let Some(line) = order.items.iter_mut().find(|i| i.id == *item) {
                line.review = Some(review.clone());
            }
        }
        order.state = OrderState {
            status: OrderStatus::Reviewed,
            refund: state.refund,
        };
        Ok(())
    }

    pub(super) fn list_product_reviews(
        &self,
        product: ProductId,
        limit: u32,
    ) -> Vec<ProductReview> {
        let mut found: Vec<_> = self
            .orders
            .values()
            .flat_map(|o| o.items.iter().map(move |i| (o, i)))
            .filter(|(_, i)| i.product_id == product)
            .filter_map(|(o, i)| {
                i.review.as_ref().map(|review| {
                    (
                        (review.reviewed_at, o.id, i.id),
                        ProductReview {
                            user_id: o.user_id,
                            sku_id: i.sku_id,
                            review: review.clone(),
                        },
                    )
                })
            })
            .collect();
        found.sort_by_key(|(key, _)| Reverse(*key));
        found
            .into_iter()
            .take(limit as usize)
            .map(|(_, review)| review)
            .collect()
    }
}
