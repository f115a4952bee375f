//! Admin: setting up crowdfunding campaigns.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::error::ApiResult;
use crate::extract::{AdminUser, AppJson};
use crate::state::AppState;
use shop_core::crowdfunding::{Crowdfunding, CrowdfundingDraft};
use shop_core::ids::ProductId;
use shop_core::{Error, Money};

/// `POST /api/admin/crowdfundings`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CrowdfundingBody {
    /// A crowdfunding product (kind `crowdfunding`) without a campaign.
    pub product_id: ProductId,
    /// The amount to reach, e.g. `"10000.00"`.
    pub target: String,
    /// When ordering ends (RFC 3339): in the future, at most a year ahead.
    #[schema(value_type = String)]
    pub ends_at: DateTime<Utc>,
}

/// Sets up the campaign of a crowdfunding product (one per product). When
/// it ends, the job decides it within a minute: success when its paid
/// orders reach the target (they may then ship), else fail (every paid
/// order is refunded through its gateway).
#[utoipa::path(post, path = "/api/admin/crowdfundings", request_body = CrowdfundingBody,
    responses((status = 201, description = "the campaign", body = Crowdfunding), (status = 400, body = crate::error::ErrorResponse), (status = 401, body = crate::error::ErrorResponse), (status = 403, body = crate::error::ErrorResponse), (status = 404, body = crate::error::ErrorResponse), (status = 409, description = "the product has a campaign (`already_exists`) or is not a crowdfunding product (`refused`)", body = crate::error::ErrorResponse)))]
pub async fn create_crowdfunding(
    State(state): State<AppState>,
    _: AdminUser,
    AppJson(body): AppJson<CrowdfundingBody>,
) -> ApiResult<(StatusCode, AppJson<Crowdfunding>)> {
    let target = Money::parse(body.target.trim(), state.shop.config().currency)
        .map_err(|e| Error::validation("target", e.to_string()))?;
    let campaign = state
        .shop
        .create_crowdfunding(CrowdfundingDraft {
            product_id: body.product_id,
            target,
            ends_at: body.ends_at,
        })
        .await?;
    Ok((StatusCode::CREATED, AppJson(campaign)))
}
