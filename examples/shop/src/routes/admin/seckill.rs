//! Admin: setting up flash sales.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::error::ApiResult;
use crate::extract::{AdminUser, AppJson};
use crate::state::AppState;
use shop_core::ids::SkuId;
use shop_core::seckill::{FlashSale, FlashSaleDraft};
use shop_core::{Error, Money};

/// `POST /api/admin/flash-sales`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct FlashSaleBody {
    /// A SKU of a flash-sale product (kind `seckill`).
    pub sku_id: SkuId,
    /// The sale price of one unit, e.g. `"1.00"`.
    pub price: String,
    /// Units offered, 1 to 1,000,000 (the SKU's stock becomes this).
    pub quantity: u32,
    /// When buying opens (RFC 3339), at most a year ahead.
    #[schema(value_type = String)]
    pub starts_at: DateTime<Utc>,
    /// When buying ends (RFC 3339): after the start and in the future, at
    /// most 31 days after the start.
    #[schema(value_type = String)]
    pub ends_at: DateTime<Utc>,
}

/// Sets up a flash sale of a SKU (refused while the SKU has a sale that
/// has not ended).
#[utoipa::path(post, path = "/api/admin/flash-sales", request_body = FlashSaleBody,
    responses((status = 201, description = "the sale", body = FlashSale), (status = 400, body = crate::error::ErrorResponse), (status = 401, body = crate::error::ErrorResponse), (status = 403, body = crate::error::ErrorResponse), (status = 404, body = crate::error::ErrorResponse), (status = 409, body = crate::error::ErrorResponse)))]
pub async fn create_flash_sale(
    State(state): State<AppState>,
    _: AdminUser,
    AppJson(body): AppJson<FlashSaleBody>,
) -> ApiResult<(StatusCode, AppJson<FlashSale>)> {
    let price = Money::parse(body.price.trim(), state.shop.config().currency)
        .map_err(|e| Error::validation("price", e.to_string()))?;
    let sale = state
        .shop
        .create_flash_sale(FlashSaleDraft {
            sku_id: body.sku_id,
            price,
            quantity: body.quantity,
            starts_at: body.starts_at,
            ends_at: body.ends_at,
        })
        .await?;
    Ok((StatusCode::CREATED, AppJson(sale)))
}
