//! [`CartStore`] for [`MemoryStore`].

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::MemoryStore;
use crate::cart::{check_line_quantity, missing_line, CartItem, CartStore};
use crate::error::Result;
use crate::ids::{SkuId, UserId};

#[async_trait]
impl CartStore for MemoryStore {
    async fn add_to_cart(
        &self,
        user: UserId,
        sku: SkuId,
        quantity: u32,
        at: DateTime<Utc>,
    ) -> Result<u32> {
        check_line_quantity(quantity.into())?;
        let mut state = self.state();
        match state.carts.get_mut(&(user, sku)) {
            Some(line) => {
                line.quantity =
                    check_line_quantity(u64::from(line.quantity) + u64::from(quantity))?;
                Ok(line.quantity)
            }
            None => {
                state.carts.insert(
                    (user, sku),
                    CartItem {
                        user_id: user,
                        sku_id: sku,
                        quantity,
                        added_at: at,
                    },
                );
                Ok(quantity)
            }
        }
    }

    async fn set_cart_quantity(&self, user: UserId, sku: SkuId, quantity: u32) -> Result<()> {
        check_line_quantity(quantity.into())?;
        let mut state = self.state();
        let line = state
            .carts
            .get_mut(&(user, sku))
            .ok_or_else(|| missing_line(sku))?;
        line.quantity = quantity;
        Ok(())
    }

    async fn remove_from_cart(&self, user: UserId, skus: &[SkuId]) -> Result<()> {
        let mut state = self.state();
        for sku in skus {
            state.carts.remove(&(user, *sku));
        }
        Ok(())
    }

    async fn list_cart(&self, user: UserId) -> Result<Vec<CartItem>> {
        let mut lines: Vec<CartItem> = self
            .state()
            .carts
            .range((user, SkuId(i64::MIN))..=(user, SkuId(i64::MAX)))
            .map(|(_, line)| line.clone())
            .collect();
        lines.sort_by_key(|l| (l.added_at, l.sku_id));
        Ok(lines)
    }
}
