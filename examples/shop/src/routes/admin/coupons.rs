//! Admin: coupons and user accounts.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::error::ApiResult;
use crate::extract::{AdminUser, AppJson, AppPath, AppQuery};
use crate::state::AppState;
use shop_core::account::Account;
use shop_core::coupon::{Coupon, CouponDraft, CouponKind};
use shop_core::ids::{CouponId, UserId};
use shop_core::page::Page;
use shop_core::{Error, Money, Shop};

use crate::routes::auth::AccountView;
use crate::routes::orders::PageQuery;

/// A coupon's settings (`POST`/`PUT /api/admin/coupons…`).
#[derive(Debug, Deserialize, ToSchema)]
pub struct CouponBody {
    /// The code (4–32 uppercase letters and digits); random when absent.
    /// A code cannot change: on update it may be left out or repeated.
    #[serde(default)]
    pub code: Option<String>,
    /// Display name.
    pub name: String,
    /// `fixed` or `percent`.
    #[schema(value_type = String)]
    pub kind: CouponKind,
    /// Amount off (fixed) or percent off, e.g. `"10"`.
    pub value: String,
    /// The least order amount it applies to, e.g. `"50.00"`.
    pub min_amount: String,
    /// How many orders may use it.
    pub total: u32,
    /// Valid from (RFC 3339).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub not_before: Option<DateTime<Utc>>,
    /// Valid until (RFC 3339).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub not_after: Option<DateTime<Utc>>,
    /// Whether it may be used.
    pub enabled: bool,
}

impl CouponBody {
    fn draft(&self, shop: &Shop) -> Result<CouponDraft, Error> {
        let value = shop_core::money::parse_decimal(self.value.trim())
            .map_err(|e| Error::validation("value", e.to_string()))?;
        Ok(CouponDraft {
            name: self.name.clone(),
            kind: self.kind,
            value,
            min_amount: Money::parse(self.min_amount.trim(), shop.config().currency)
                .map_err(|e| Error::validation("min_amount", e.to_string()))?,
            total: self.total,
            not_before: self.not_before,
            not_after: self.not_after,
            enabled: self.enabled,
        })
    }
}

/// Every coupon, newest first.
#[utoipa::path(get, path = "/api/admin/coupons", responses((status = 200, description = "coupons", body = Vec<Coupon>), (status = 401, body = crate::error::ErrorResponse), (status = 403, body = crate::error::ErrorResponse)))]
pub async fn coupons(
    State(state): State<AppState>,
    _: AdminUser,
) -> ApiResult<AppJson<Vec<Coupon>>> {
    Ok(AppJson(state.shop.coupons().await?))
}

/// Creates a coupon.
#[utoipa::path(post, path = "/api/admin/coupons", request_body = CouponBody,
    responses((status = 201, description = "the coupon", body = Coupon), (status = 400, body = crate::error::ErrorResponse), (status = 401, body = crate::error::ErrorResponse), (status = 403, body = crate::error::ErrorResponse), (status = 409, body = crate::error::ErrorResponse)))]
pub async fn create_coupon(
    State(state): State<AppState>,
    _: AdminUser,
    AppJson(body): AppJson<CouponBody>,
) -> ApiResult<(StatusCode, AppJson<Coupon>)> {
    let draft = body.draft(&state.shop)?;
    let coupon = state.shop.create_coupon(draft, body.code).await?;
    Ok((StatusCode::CREATED, AppJson(coupon)))
}

/// Changes a coupon's settings.
#[utoipa::path(put, path = "/api/admin/coupons/{id}", params(("id" = i64, Path, description = "coupon id")),
    request_body = CouponBody,
    responses((status = 200, description = "the coupon", body = Coupon), (status = 400, body = crate::error::ErrorResponse), (status = 401, body = crate::error::ErrorResponse), (status = 403, body = crate::error::ErrorResponse), (status = 404, body = crate::error::ErrorResponse)))]
pub async fn update_coupon(
    State(state): State<AppState>,
    _: AdminUser,
    AppPath(id): AppPath<i64>,
    AppJson(body): AppJson<CouponBody>,
) -> ApiResult<AppJson<Coupon>> {
    let draft = body.draft(&state.shop)?;
    let code = body.code.as_deref();
    Ok(AppJson(
        state.shop.update_coupon(CouponId(id), code, draft).await?,
    ))
}

/// Deletes a coupon no order refers to.
#[utoipa::path(delete, path = "/api/admin/coupons/{id}", params(("id" = i64, Path, description = "coupon id")),
    responses((status = 204), (status = 401, body = crate::error::ErrorResponse), (status = 403, body = crate::error::ErrorResponse), (status = 404, body = crate::error::ErrorResponse), (status = 409, body = crate::error::ErrorResponse)))]
pub async fn delete_coupon(
    State(state): State<AppState>,
    _: AdminUser,
    AppPath(id): AppPath<i64>,
) -> ApiResult<StatusCode> {
    state.shop.delete_coupon(CouponId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Every account, oldest first.
#[utoipa::path(get, path = "/api/admin/users", params(PageQuery),
    responses((status = 200, description = "{items, total}", body = Page<Account>), (status = 400, body = crate::error::ErrorResponse), (status = 401, body = crate::error::ErrorResponse), (status = 403, body = crate::error::ErrorResponse)))]
pub async fn users(
    State(state): State<AppState>,
    _: AdminUser,
    AppQuery(q): AppQuery<PageQuery>,
) -> ApiResult<AppJson<Page<Account>>> {
    let (page, per_page) = q.get();
    Ok(AppJson(state.shop.list_accounts(page, per_page).await?))
}

/// Deactivates an account: it cannot log in, and its sessions end.
#[utoipa::path(post, path = "/api/admin/users/{id}/deactivate", params(("id" = i64, Path, description = "user id")),
    responses((status = 200, body = crate::routes::auth::AccountView), (status = 401, body = crate::error::ErrorResponse), (status = 403, body = crate::error::ErrorResponse), (status = 404, body = crate::error::ErrorResponse), (status = 409, description = "an administrator cannot deactivate their own account", body = crate::error::ErrorResponse)))]
pub async fn deactivate_user(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    AppPath(id): AppPath<i64>,
) -> ApiResult<AppJson<AccountView>> {
    let account = state
        .shop
        .deactivate_account(admin.account.id, UserId(id))
        .await?;
    Ok(AppJson(AccountView::from(&account)))
}

/// Reactivates a deactivated account.
#[utoipa::path(post, path = "/api/admin/users/{id}/reactivate", params(("id" = i64, Path, description = "user id")),
    responses((status = 200, body = crate::routes::auth::AccountView), (status = 401, body = crate::error::ErrorResponse), (status = 403, body = crate::error::ErrorResponse), (status = 404, body = crate::error::ErrorResponse)))]
pub async fn reactivate_user(
    State(state): State<AppState>,
    _: AdminUser,
    AppPath(id): AppPath<i64>,
) -> ApiResult<AppJson<AccountView>> {
    let account = state.shop.reactivate_account(UserId(id)).await?;
    Ok(AppJson(AccountView::from(&account)))
}

/// The background jobs' last runs and the outbox's progress.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct JobsView {
    /// Each job's latest run (`name@node` for the per-instance dispatch).
    pub jobs: Vec<shop_core::jobs::JobRun>,
    /// The newest event and each listener's progress.
    pub outbox: shop_core::outbox::OutboxStatus,
}

/// The background jobs' last runs (start, end, outcome, what they did)
/// and the outbox: its newest event and how far each listener got.
#[utoipa::path(get, path = "/api/admin/jobs",
    responses((status = 200, body = JobsView), (status = 401, body = crate::error::ErrorResponse), (status = 403, body = crate::error::ErrorResponse)))]
pub async fn jobs(State(state): State<AppState>, _: AdminUser) -> ApiResult<AppJson<JobsView>> {
    Ok(AppJson(JobsView {
        jobs: state.shop.job_runs().await?,
        outbox: state.shop.outbox_status().await?,
    }))
}
