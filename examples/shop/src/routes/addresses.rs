//! The caller's shipping addresses (owner-only).

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use shop_core::ids::AddressId;
use shop_core::user::{Address, AddressDraft};
use utoipa::ToSchema;

use crate::error::ApiResult;
use crate::extract::{AppJson, AppPath, CurrentUser};
use crate::state::AppState;

/// An address as submitted (`district` and `zip` may be empty).
#[derive(Debug, Deserialize, ToSchema)]
pub struct AddressRequest {
    /// Province / state.
    pub province: String,
    /// City.
    pub city: String,
    /// District.
    #[serde(default)]
    pub district: String,
    /// Street and number.
    pub street: String,
    /// Postal code.
    #[serde(default)]
    pub zip: String,
    /// Who receives the parcel.
    pub contact_name: String,
    /// Their phone number.
    pub contact_phone: String,
}

impl From<AddressRequest> for AddressDraft {
    fn from(r: AddressRequest) -> Self {
        AddressDraft {
            province: r.province,
            city: r.city,
            district: r.district,
            street: r.street,
            zip: r.zip,
            contact_name: r.contact_name,
            contact_phone: r.contact_phone,
        }
    }
}

/// The caller's addresses, most recently used first.
#[utoipa::path(get, path = "/api/addresses", responses((status = 200, description = "addresses", body = Vec<Address>), (status = 401, body = crate::error::ErrorResponse)))]
pub async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
) -> ApiResult<AppJson<Vec<Address>>> {
    Ok(AppJson(state.shop.addresses(user.account.id).await?))
}

/// Adds an address.
#[utoipa::path(post, path = "/api/addresses", request_body = AddressRequest,
    responses((status = 201, description = "the address", body = Address), (status = 400, body = crate::error::ErrorResponse), (status = 401, body = crate::error::ErrorResponse)))]
pub async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    AppJson(req): AppJson<AddressRequest>,
) -> ApiResult<(StatusCode, AppJson<Address>)> {
    let address = state
        .shop
        .create_address(user.account.id, req.into())
        .await?;
    Ok((StatusCode::CREATED, AppJson(address)))
}

/// One of the caller's addresses.
#[utoipa::path(get, path = "/api/addresses/{id}", params(("id" = i64, Path, description = "address id")),
    responses((status = 200, description = "the address", body = Address), (status = 401, body = crate::error::ErrorResponse), (status = 403, body = crate::error::ErrorResponse), (status = 404, body = crate::error::ErrorResponse)))]
pub async fn get(
    State(state): State<AppState>,
    user: CurrentUser,
    AppPath(id): AppPath<i64>,
) -> ApiResult<AppJson<Address>> {
    Ok(AppJson(
        state.shop.address(user.account.id, AddressId(id)).await?,
    ))
}

/// Changes one of the caller's addresses.
#[utoipa::path(put, path = "/api/addresses/{id}", params(("id" = i64, Path, description = "address id")),
    request_body = AddressRequest,
    responses((status = 200, description = "the address", body = Address), (status = 400, body = crate::error::ErrorResponse), (status = 401, body = crate::error::ErrorResponse), (status = 403, body = crate::error::ErrorResponse), (status = 404, body = crate::error::ErrorResponse)))]
pub async fn update(
    State(state): State<AppState>,
    user: CurrentUser,
    AppPath(id): AppPath<i64>,
    AppJson(req): AppJson<AddressRequest>,
) -> ApiResult<AppJson<Address>> {
    let address = state
        .shop
        .update_address(user.account.id, AddressId(id), req.into())
        .await?;
    Ok(AppJson(address))
}

/// Deletes one of the caller's addresses.
#[utoipa::path(delete, path = "/api/addresses/{id}", params(("id" = i64, Path, description = "address id")),
    responses((status = 204), (status = 401, body = crate::error::ErrorResponse), (status = 403, body = crate::error::ErrorResponse), (status = 404, body = crate::error::ErrorResponse)))]
pub async fn delete(
    State(state): State<AppState>,
    user: CurrentUser,
    AppPath(id): AppPath<i64>,
) -> ApiResult<StatusCode> {
    state
        .shop
        .delete_address(user.account.id, AddressId(id))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
