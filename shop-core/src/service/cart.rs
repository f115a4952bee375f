//! Use cases: the cart.

use serde::{Deserialize, Serialize};

use super::Shop;
use crate::cart::{check_cart_line, missing_line, validate_quantity, CartItem};
use crate::catalog::{Product, Sku};
use crate::error::Result;
use crate::ids::{SkuId, UserId};
use crate::money::Money;

/// A cart line with the SKU's and product's current data and price.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CartLine {
    /// The stored line.
    pub item: CartItem,
    /// The SKU as it is now.
    pub sku: Sku,
    /// Its product as it is now.
    pub product: Product,
    /// Current price × quantity.
    pub line_total: Money,
}

impl Shop {
    /// Puts `quantity` units of `sku` in `user`'s cart, adding to a line that
    /// is already there. The product must be on sale and sold through the
    /// cart, and the SKU must have stock for the resulting quantity.
    pub async fn add_to_cart(&self, user: UserId, sku: SkuId, quantity: i64) -> Result<u32> {
        let quantity = validate_quantity(quantity)?;
        let sku = self.sku(sku).await?;
        let product = self.product(sku.product_id).await?;
        let current = self
            .inner
            .stores
            .carts()
            .list_cart(user)
            .await?
            .iter()
            .find(|i| i.sku_id == sku.id)
            .map_or(0, |i| i.quantity);
        check_cart_line(&product, &sku, current + quantity)?;
        self.inner
            .stores
            .carts()
            .add_to_cart(user, sku.id, quantity, self.now())
            .await
    }

    /// Sets the quantity of a line already in the cart.
    pub async fn update_cart(&self, user: UserId, sku: SkuId, quantity: i64) -> Result<()> {
        let quantity = validate_quantity(quantity)?;
        let in_cart = self.inner.stores.carts().list_cart(user).await?;
        if !in_cart.iter().any(|i| i.sku_id == sku) {
            return Err(missing_line(sku));
        }
        let sku = self.sku(sku).await?;
        let product = self.product(sku.product_id).await?;
        check_cart_line(&product, &sku, quantity)?;
        self.inner
            .stores
            .carts()
            .set_cart_quantity(user, sku.id, quantity)
            .await
    }

    /// Removes lines from the cart.
    pub async fn remove_from_cart(&self, user: UserId, skus: &[SkuId]) -> Result<()> {
        self.inner.stores.carts().remove_from_cart(user, skus).await
    }

    /// The cart with current prices. Lines whose SKU no longer exists are
    /// left out.
    pub async fn cart(&self, user: UserId) -> Result<Vec<CartLine>> {
        let items = self.inner.stores.carts().list_cart(user).await?;
        let sku_ids: Vec<SkuId> = items.iter().map(|i| i.sku_id).collect();
        let skus = self.inner.stores.catalog.get_skus(&sku_ids).await?;
        let mut product_ids: Vec<_> = skus.iter().map(|s| s.product_id).collect();
        product_ids.sort();
        product_ids.dedup();
        let products = self.inner.stores.catalog.get_products(&product_ids).await?;
        let mut lines = Vec::with_capacity(items.len());
        for item in items {
            let Some(sku) = skus.iter().find(|s| s.id == item.sku_id) else {
                continue;
            };
            let Some(product) = products.iter().find(|p| p.id == sku.product_id) else {
                continue;
            };
            lines.push(CartLine {
                line_total: sku.price.times(item.quantity)?,
                item,
                sku: sku.clone(),
                product: product.clone(),
            });
        }
        Ok(lines)
    }
}
