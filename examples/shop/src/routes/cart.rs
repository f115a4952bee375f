//! The caller's cart.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use shop_core::ids::SkuId;
use shop_core::service::CartLine;
use utoipa::ToSchema;

use crate::error::ApiResult;
use crate::extract::{AppJson, AppPath, CurrentUser};
use crate::state::AppState;

/// `POST /api/cart`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct AddToCartRequest {
    /// The SKU.
    pub sku_id: SkuId,
    /// Units to add (1–999).
    pub quantity: i64,
}

/// `PATCH /api/cart/{sku_id}`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SetQuantityRequest {
    /// The line's new quantity (1–999).
    pub quantity: i64,
}

/// A cart line's quantity after a change.
#[derive(Debug, Serialize, ToSchema)]
pub struct CartQuantity {
    /// The SKU.
    pub sku_id: SkuId,
    /// Its quantity in the cart.
    pub quantity: u32,
}

/// The cart with current prices.
#[utoipa::path(get, path = "/api/cart", responses((status = 200, description = "cart lines", body = Vec<CartLine>), (status = 401, body = crate::error::ErrorResponse)))]
pub async fn get(
    State(state): State<AppState>,
    user: CurrentUser,
) -> ApiResult<AppJson<Vec<CartLine>>> {
    Ok(AppJson(state.shop.cart(user.account.id).await?))
}

/// Adds units of a SKU.
#[utoipa::path(post, path = "/api/cart", request_body = AddToCartRequest,
    responses((status = 200, body = CartQuantity), (status = 400, body = crate::error::ErrorResponse), (status = 401, body = crate::error::ErrorResponse), (status = 404, body = crate::error::ErrorResponse), (status = 409, description = "out of stock", body = crate::error::ErrorResponse)))]
pub async fn add(
    State(state): State<AppState>,
    user: CurrentUser,
    AppJson(req): AppJson<AddToCartRequest>,
) -> ApiResult<AppJson<CartQuantity>> {
    let quantity = state
        .shop
        .add_to_cart(user.account.id, req.sku_id, req.quantity)
        .await?;
    Ok(AppJson(CartQuantity {
        sku_id: req.sku_id,
        quantity,
    }))
}

/// Sets a line's quantity.
#[utoipa::path(patch, path = "/api/cart/{sku_id}", params(("sku_id" = i64, Path, description = "SKU id")),
    request_body = SetQuantityRequest,
    responses((status = 200, body = CartQuantity), (status = 400, body = crate::error::ErrorResponse), (status = 401, body = crate::error::ErrorResponse), (status = 404, body = crate::error::ErrorResponse), (status = 409, body = crate::error::ErrorResponse)))]
pub async fn update(
    State(state): State<AppState>,
    user: CurrentUser,
    AppPath(sku_id): AppPath<i64>,
    AppJson(req): AppJson<SetQuantityRequest>,
) -> ApiResult<AppJson<CartQuantity>> {
    state
        .shop
        .update_cart(user.account.id, SkuId(sku_id), req.quantity)
        .await?;
    Ok(AppJson(CartQuantity {
        sku_id: SkuId(sku_id),
        quantity: u32::try_from(req.quantity).unwrap_or_default(),
    }))
}

/// Removes a line.
#[utoipa::path(delete, path = "/api/cart/{sku_id}", params(("sku_id" = i64, Path, description = "SKU id")),
    responses((status = 204), (status = 401, body = crate::error::ErrorResponse)))]
pub async fn remove(
    State(state): State<AppState>,
    user: CurrentUser,
    AppPath(sku_id): AppPath<i64>,
) -> ApiResult<StatusCode> {
    state
        .shop
        .remove_from_cart(user.account.id, &[SkuId(sku_id)])
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
