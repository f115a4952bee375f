//! Cart rules and the cart store port.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::catalog::{Product, Sku};
use crate::error::{Entity, Error, Result};
use crate::ids::{SkuId, UserId};

/// Most units of one SKU a cart line may hold.
pub const MAX_LINE_QUANTITY: u32 = 999;

/// One line of a user's cart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CartItem {
    /// Owner.
    pub user_id: UserId,
    /// The SKU.
    pub sku_id: SkuId,
    /// Units (≥ 1).
    pub quantity: u32,
    /// When the line was first added.
    pub added_at: DateTime<Utc>,
}

/// Checks a quantity typed by a user: 1..=[`MAX_LINE_QUANTITY`].
pub fn validate_quantity(quantity: i64) -> Result<u32> {
    match u32::try_from(quantity) {
        Ok(q) if (1..=MAX_LINE_QUANTITY).contains(&q) => Ok(q),
        _ => Err(Error::validation(
            "quantity",
            format!("must be between 1 and {MAX_LINE_QUANTITY}"),
        )),
    }
}

/// The rule for putting `resulting` units of `sku` in a cart: the product is
/// sellable ([`Product::check_sellable`], the checkout's rule too), the line
/// stays within [`MAX_LINE_QUANTITY`], and the SKU has that much stock.
pub fn check_cart_line(product: &Product, sku: &Sku, resulting: u32) -> Result<()> {
    product.check_sellable("sku_id")?;
    if resulting > MAX_LINE_QUANTITY {
        return Err(Error::refused(
            "quantity",
            format!("a cart line holds at most {MAX_LINE_QUANTITY} units"),
        ));
    }
    sku.check_stock(resulting)
}

/// The stores' rule for a line's quantity after a change: 1 to
/// [`MAX_LINE_QUANTITY`] units: none is `Validation { field: "quantity" }`
/// (only a zero add or set gives none), more is `Refused`.
/// Every [`CartStore`] applies it inside its atomic write, so concurrent adds
/// can never push a line past the cap; a refused change writes nothing.
pub fn check_line_quantity(quantity: u64) -> Result<u32> {
    match u32::try_from(quantity) {
        Ok(q) if (1..=MAX_LINE_QUANTITY).contains(&q) => Ok(q),
        Ok(0) => Err(Error::validation("quantity", "must be at least 1")),
        _ => Err(Error::refused(
            "quantity",
            format!("a cart line holds 1 to {MAX_LINE_QUANTITY} units"),
        )),
    }
}

/// `NotFound` for a cart line that is not there.
pub fn missing_line(sku: SkuId) -> Error {
    Error::not_found(Entity::CartItem, sku)
}

/// Port: carts.
#[async_trait]
pub trait CartStore: Send + Sync + 'static {
    /// Adds `quantity` units, merging into an existing line (which keeps its
    /// `added_at`). Returns the line's resulting quantity. Both `quantity` and
    /// the result must pass [`check_line_quantity`], checked in the same
    /// atomic step as the write; otherwise nothing changes.
    async fn add_to_cart(
        &self,
        user: UserId,
        sku: SkuId,
        quantity: u32,
        at: DateTime<Utc>,
    ) -> Result<u32>;
    /// Sets a line's quantity (`NotFound` when the line is absent; the
    /// quantity must pass [`check_line_quantity`]).
    async fn set_cart_quantity(&self, user: UserId, sku: SkuId, quantity: u32) -> Result<()>;
    /// Removes lines (absent ones are ignored).
    async fn remove_from_cart(&self, user: UserId, skus: &[SkuId]) -> Result<()>;
    /// A user's cart, oldest line first.
    async fn list_cart(&self, user: UserId) -> Result<Vec<CartItem>>;
}
