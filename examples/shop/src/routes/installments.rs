//! Installment plans of the buyer's orders: the options, choosing one, the
//! schedule with its fines, and paying a period through any gateway.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::error::ApiResult;
use crate::extract::{AppJson, AppPath, AppQuery, CurrentUser};
use crate::routes::orders::{PayQuery, PayResponse};
use crate::state::AppState;
use shop_core::ids::OrderId;
use shop_core::installment::InstallmentPlan;
use shop_core::service::PlanOption;

/// `POST /api/orders/{id}/installments`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanBody {
    /// Periods: one of the counts the options list (3, 6 or 12).
    pub count: u32,
}

/// The plans an unpaid order may be paid with, each period scheduled from
/// now (the first due at 00:00 tomorrow in the shop's time zone, then
/// every 30 days).
#[utoipa::path(get, path = "/api/orders/{id}/installments/options", params(("id" = i64, Path, description = "order id")),
    responses((status = 200, description = "the plans, with each period's base, fee and due date", body = Vec<PlanOption>), (status = 401, body = crate::error::ErrorResponse), (status = 403, body = crate::error::ErrorResponse), (status = 404, body = crate::error::ErrorResponse),
        (status = 409, description = "`refused`: the order is not unpaid, or its total is under the minimum", body = crate::error::ErrorResponse)))]
pub async fn options(
    State(state): State<AppState>,
    user: CurrentUser,
    AppPath(id): AppPath<i64>,
) -> ApiResult<AppJson<Vec<PlanOption>>> {
    Ok(AppJson(
        state
            .shop
            .installment_options(user.account.id, OrderId(id))
            .await?,
    ))
}

/// Chooses a plan for an unpaid order (replacing one with no period paid).
/// Paying its first period pays the order.
#[utoipa::path(post, path = "/api/orders/{id}/installments", params(("id" = i64, Path, description = "order id")),
    request_body = PlanBody,
    responses((status = 201, description = "the plan", body = InstallmentPlan), (status = 400, body = crate::error::ErrorResponse), (status = 401, body = crate::error::ErrorResponse), (status = 403, body = crate::error::ErrorResponse), (status = 404, body = crate::error::ErrorResponse),
        (status = 409, description = "`refused`: the order is paid or its plan is being repaid, or its total is under the minimum", body = crate::error::ErrorResponse)))]
pub async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    AppPath(id): AppPath<i64>,
    AppJson(body): AppJson<PlanBody>,
) -> ApiResult<(StatusCode, AppJson<InstallmentPlan>)> {
    let plan = state
        .shop
        .create_installment_plan(user.account.id, OrderId(id), body.count)
        .await?;
    Ok((StatusCode::CREATED, AppJson(plan)))
}

/// The order's plan: each period's base, fee, fine (as the daily job last
/// computed it), due date and payment.
#[utoipa::path(get, path = "/api/orders/{id}/installments", params(("id" = i64, Path, description = "order id")),
    responses((status = 200, description = "the plan", body = InstallmentPlan), (status = 401, body = crate::error::ErrorResponse), (status = 403, body = crate::error::ErrorResponse), (status = 404, description = "no such order, or it has no plan", body = crate::error::ErrorResponse)))]
pub async fn get(
    State(state): State<AppState>,
    user: CurrentUser,
    AppPath(id): AppPath<i64>,
) -> ApiResult<AppJson<InstallmentPlan>> {
    Ok(AppJson(
        state
            .shop
            .installment_plan(user.account.id, OrderId(id))
            .await?,
    ))
}

/// Starts paying period `index` (base + fee + fine) through a gateway,
/// under the period's own trade number: only the next unpaid period.
#[utoipa::path(post, path = "/api/orders/{id}/installments/{index}/pay",
    params(("id" = i64, Path, description = "order id"), ("index" = u32, Path, description = "period, from 1"), PayQuery),
    responses((status = 200, description = "where to pay", body = PayResponse), (status = 401, body = crate::error::ErrorResponse), (status = 403, body = crate::error::ErrorResponse), (status = 404, body = crate::error::ErrorResponse),
        (status = 409, description = "`refused`: the period is paid or an earlier one is not; or the order may no longer be paid", body = crate::error::ErrorResponse)))]
pub async fn pay(
    State(state): State<AppState>,
    user: CurrentUser,
    AppPath((id, index)): AppPath<(i64, u32)>,
    AppQuery(q): AppQuery<PayQuery>,
) -> ApiResult<AppJson<PayResponse>> {
    let gateway = match q.gateway {
        Some(name) => name,
        None => state.shop.default_gateway()?,
    };
    let action = state
        .shop
        .start_period_payment(user.account.id, OrderId(id), index, &gateway, None)
        .await?;
    Ok(AppJson(PayResponse::from(action)))
}
