//! Crowdfunding on the storefront: campaigns with their progress, and
//! ordering from one.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::error::ApiResult;
use crate::extract::{AppJson, AppPath, AppQuery, ClientIp, CurrentUser};
use crate::state::AppState;
use shop_core::crowdfunding::CrowdfundingStatus;
use shop_core::ids::{AddressId, CrowdfundingId, ProductId, SkuId};
use shop_core::order::Order;
use shop_core::page::Page;
use shop_core::service::CrowdfundingView;

/// `GET /api/crowdfundings` query.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CrowdfundingQuery {
    /// Only campaigns in this status (`funding`, `success`, `fail`).
    pub status: Option<CrowdfundingStatus>,
    /// Page, from 1.
    pub page: Option<u32>,
    /// Page size, 1 to 100 (20).
    pub per_page: Option<u32>,
}

/// `POST /api/crowdfunding/{sku}/orders`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CrowdfundingOrderBody {
    /// One of the caller's addresses.
    pub address_id: AddressId,
    /// Units, 1 to 999 (1).
    #[serde(default = "one")]
    pub quantity: i64,
    /// A note for the shop.
    #[serde(default)]
    pub remark: String,
}

fn one() -> i64 {
    1
}

/// Campaigns, newest first, with their progress.
#[utoipa::path(get, path = "/api/crowdfundings", params(CrowdfundingQuery),
    responses((status = 200, description = "a page of campaigns: `progress` is total / target × 100 to 2 decimals, `open` whether it takes orders now", body = Page<CrowdfundingView>), (status = 400, body = crate::error::ErrorResponse)))]
pub async fn list(
    State(state): State<AppState>,
    AppQuery(q): AppQuery<CrowdfundingQuery>,
) -> ApiResult<AppJson<Page<CrowdfundingView>>> {
    let page = state
        .shop
        .crowdfundings(q.status, q.page.unwrap_or(1), q.per_page.unwrap_or(20))
        .await?;
    Ok(AppJson(page))
}

/// One campaign.
#[utoipa::path(get, path = "/api/crowdfundings/{id}", params(("id" = i64, Path, description = "campaign id")),
    responses((status = 200, description = "the campaign", body = CrowdfundingView), (status = 404, body = crate::error::ErrorResponse)))]
pub async fn get(
    State(state): State<AppState>,
    AppPath(id): AppPath<i64>,
) -> ApiResult<AppJson<CrowdfundingView>> {
    Ok(AppJson(state.shop.crowdfunding(CrowdfundingId(id)).await?))
}

/// The campaign of a crowdfunding product.
#[utoipa::path(get, path = "/api/products/{id}/crowdfunding", params(("id" = i64, Path, description = "product id")),
    responses((status = 200, description = "the product's campaign", body = CrowdfundingView), (status = 404, description = "no such product, or it has no campaign", body = crate::error::ErrorResponse)))]
pub async fn of_product(
    State(state): State<AppState>,
    AppPath(id): AppPath<i64>,
) -> ApiResult<AppJson<CrowdfundingView>> {
    Ok(AppJson(
        state.shop.crowdfunding_of_product(ProductId(id)).await?,
    ))
}

/// Orders units of one SKU of a crowdfunding product while its campaign
/// funds: no cart, no coupon; to be paid within min(30 minutes, time to the
/// campaign's end). The order ships if the campaign succeeds and is
/// refunded if it fails. Rate-limited per client address like order
/// placement.
#[utoipa::path(post, path = "/api/crowdfunding/{sku}/orders", params(("sku" = i64, Path, description = "SKU id")),
    request_body = CrowdfundingOrderBody,
    responses((status = 201, description = "the order (kind `crowdfunding`)", body = Order), (status = 400, body = crate::error::ErrorResponse), (status = 401, body = crate::error::ErrorResponse), (status = 403, body = crate::error::ErrorResponse),
        (status = 404, description = "no such SKU or campaign, or an unknown address", body = crate::error::ErrorResponse),
        (status = 409, description = "`crowdfunding_closed` (the campaign has ended or been decided), `out_of_stock`, or `refused` (not a crowdfunding product, or off sale)", body = crate::error::ErrorResponse), (status = 429, body = crate::error::ErrorResponse)))]
pub async fn order(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    user: CurrentUser,
    AppPath(sku): AppPath<i64>,
    AppJson(body): AppJson<CrowdfundingOrderBody>,
) -> ApiResult<(StatusCode, AppJson<Order>)> {
    state.limiter.check("crowdfunding", ip).await?;
    let order = state
        .shop
        .crowdfunding_order(
            user.account.id,
            SkuId(sku),
            body.quantity,
            body.address_id,
            &body.remark,
        )
        .await?;
    Ok((StatusCode::CREATED, AppJson(order)))
}
