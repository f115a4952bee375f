//! Flash sales on the storefront: what is on (with its window and the units
//! left) and buying one unit.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::error::ApiResult;
use crate::extract::{AppJson, AppPath, ClientIp, CurrentUser};
use crate::state::AppState;
use shop_core::ids::{AddressId, FlashSaleId, SkuId};
use shop_core::order::Order;
use shop_core::service::FlashSaleView;

/// `POST /api/seckill/{sku}/orders`: where to ship the unit.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SeckillOrderBody {
    /// One of the caller's addresses.
    pub address_id: AddressId,
}

/// Flash sales open now or to come, soonest first, with the units left.
#[utoipa::path(get, path = "/api/flash-sales",
    responses((status = 200, description = "sales, each with its phase (`upcoming`, `open`, `ended`) and the units left", body = Vec<FlashSaleView>)))]
pub async fn list(State(state): State<AppState>) -> ApiResult<AppJson<Vec<FlashSaleView>>> {
    Ok(AppJson(state.shop.flash_sales().await?))
}

/// One flash sale.
#[utoipa::path(get, path = "/api/flash-sales/{id}", params(("id" = i64, Path, description = "flash sale id")),
    responses((status = 200, description = "the sale", body = FlashSaleView), (status = 404, body = crate::error::ErrorResponse)))]
pub async fn get(
    State(state): State<AppState>,
    AppPath(id): AppPath<i64>,
) -> ApiResult<AppJson<FlashSaleView>> {
    Ok(AppJson(state.shop.flash_sale(FlashSaleId(id)).await?))
}

/// Buys one unit of the SKU's flash sale: an order of one line at the sale
/// price, to be paid within ten minutes (else it closes and the unit
/// returns). Rate-limited per client address like order placement.
#[utoipa::path(post, path = "/api/seckill/{sku}/orders", params(("sku" = i64, Path, description = "SKU id")),
    request_body = SeckillOrderBody,
    responses((status = 201, description = "the order (kind `seckill`)", body = Order), (status = 400, body = crate::error::ErrorResponse), (status = 401, body = crate::error::ErrorResponse), (status = 403, body = crate::error::ErrorResponse),
        (status = 404, description = "no flash sale for the SKU, or an unknown address", body = crate::error::ErrorResponse),
        (status = 409, description = "`flash_sale_not_started`, `flash_sale_ended`, `flash_sale_sold_out`, or `flash_sale_already_bought` (the caller holds a unit, pending or paid)", body = crate::error::ErrorResponse), (status = 429, body = crate::error::ErrorResponse)))]
pub async fn order(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    user: CurrentUser,
    AppPath(sku): AppPath<i64>,
    AppJson(body): AppJson<SeckillOrderBody>,
) -> ApiResult<(StatusCode, AppJson<Order>)> {
    state.limiter.check("seckill", ip).await?;
    let order = state
        .shop
        .seckill_order(user.account.id, SkuId(sku), body.address_id)
        .await?;
    Ok((StatusCode::CREATED, AppJson(order)))
}
