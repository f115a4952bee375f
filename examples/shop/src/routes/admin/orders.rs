//! Admin: orders, shipping, refund approval and refusal.

use axum::extract::State;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::error::ApiResult;
use crate::extract::{AdminUser, AppJson, AppPath, AppQuery};
use crate::state::AppState;
use shop_core::ids::OrderId;
use shop_core::order::{Order, OrderQuery, OrderStatus};
use shop_core::page::Page;
use shop_core::refund::Refund;

use crate::routes::orders::{PageQuery, ReasonBody};

/// `POST /api/admin/orders/{id}/ship`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ShipBody {
    /// Carrier name.
    pub carrier: String,
    /// Tracking number.
    pub tracking_no: String,
}

/// Query of `GET /api/admin/orders`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AdminOrderQuery {
    /// Only orders in this status.
    pub status: Option<OrderStatus>,
    /// Page, from 1.
    pub page: Option<u32>,
    /// Page size, 1–100.
    pub per_page: Option<u32>,
}

/// Every order, newest first.
#[utoipa::path(get, path = "/api/admin/orders", params(AdminOrderQuery),
    responses((status = 200, description = "{items, total}", body = Page<Order>), (status = 400, body = crate::error::ErrorResponse), (status = 401, body = crate::error::ErrorResponse), (status = 403, body = crate::error::ErrorResponse)))]
pub async fn orders(
    State(state): State<AppState>,
    _: AdminUser,
    AppQuery(q): AppQuery<AdminOrderQuery>,
) -> ApiResult<AppJson<Page<Order>>> {
    let (page, per_page) = PageQuery {
        page: q.page,
        per_page: q.per_page,
    }
    .get();
    Ok(AppJson(
        state
            .shop
            .list_orders(OrderQuery {
                user_id: None,
                status: q.status,
                page,
                per_page,
            })
            .await?,
    ))
}

/// Any order.
#[utoipa::path(get, path = "/api/admin/orders/{id}", params(("id" = i64, Path, description = "order id")),
    responses((status = 200, description = "the order", body = Order), (status = 401, body = crate::error::ErrorResponse), (status = 403, body = crate::error::ErrorResponse), (status = 404, body = crate::error::ErrorResponse)))]
pub async fn order(
    State(state): State<AppState>,
    _: AdminUser,
    AppPath(id): AppPath<i64>,
) -> ApiResult<AppJson<Order>> {
    Ok(AppJson(state.shop.any_order(OrderId(id)).await?))
}

/// Ships a paid order.
#[utoipa::path(post, path = "/api/admin/orders/{id}/ship", params(("id" = i64, Path, description = "order id")),
    request_body = ShipBody,
    responses((status = 200, description = "the order", body = Order), (status = 400, body = crate::error::ErrorResponse), (status = 401, body = crate::error::ErrorResponse), (status = 403, body = crate::error::ErrorResponse), (status = 404, body = crate::error::ErrorResponse), (status = 409, body = crate::error::ErrorResponse)))]
pub async fn ship(
    State(state): State<AppState>,
    _: AdminUser,
    AppPath(id): AppPath<i64>,
    AppJson(body): AppJson<ShipBody>,
) -> ApiResult<AppJson<Order>> {
    Ok(AppJson(
        state
            .shop
            .ship_order(OrderId(id), &body.carrier, &body.tracking_no)
            .await?,
    ))
}

/// Approves a refund application: refunds everything not yet refunded
/// through the gateway that took the payment.
#[utoipa::path(post, path = "/api/admin/orders/{id}/refund/approve", params(("id" = i64, Path, description = "order id")),
    responses((status = 200, description = "the refund", body = Refund), (status = 401, body = crate::error::ErrorResponse), (status = 403, body = crate::error::ErrorResponse), (status = 404, body = crate::error::ErrorResponse), (status = 409, body = crate::error::ErrorResponse)))]
pub async fn approve_refund(
    State(state): State<AppState>,
    _: AdminUser,
    AppPath(id): AppPath<i64>,
) -> ApiResult<AppJson<Refund>> {
    Ok(AppJson(state.shop.approve_refund(OrderId(id), None).await?))
}

/// Refuses a refund application, keeping the reason.
#[utoipa::path(post, path = "/api/admin/orders/{id}/refund/refuse", params(("id" = i64, Path, description = "order id")),
    request_body = ReasonBody,
    responses((status = 200, description = "the order", body = Order), (status = 400, body = crate::error::ErrorResponse), (status = 401, body = crate::error::ErrorResponse), (status = 403, body = crate::error::ErrorResponse), (status = 404, body = crate::error::ErrorResponse), (status = 409, body = crate::error::ErrorResponse)))]
pub async fn refuse_refund(
    State(state): State<AppState>,
    _: AdminUser,
    AppPath(id): AppPath<i64>,
    AppJson(body): AppJson<ReasonBody>,
) -> ApiResult<AppJson<Order>> {
    Ok(AppJson(
        state.shop.refuse_refund(OrderId(id), &body.reason).await?,
    ))
}
