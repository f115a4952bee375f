//! Reviews for [`MemoryStore`](super::MemoryStore): `review_order` and
//! `list_product_reviews`.

use std::cmp::Reverse;

use super::{conflict, State};
use crate::error::{Entity, Error, Result};
use crate::ids::ProductId;
use crate::order::{check_line_reviews, ProductReview, ReviewOrder};

impl State {
    pub(super) fn review_order(&mut self, cmd: &ReviewOrder) -> Result<()> {
        let order = self
            .orders
            .get_mut(&cmd.order_id)
            .ok_or_else(|| Error::not_found(Entity::Order, cmd.order_id))?;
        if order.state != cmd.expected {
            return Err(conflict(Entity::Order, order.id));
        }
        let next = cmd.next_state()?;
        check_line_reviews(order, &cmd.reviews)?;
        for (item, review) in &cmd.reviews {
            if let Some(line) = order.items.iter_mut().find(|i| i.id == *item) {
                line.review = Some(review.clone());
            }
        }
        order.state = next;
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
