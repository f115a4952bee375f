//! Accounts: register, verify the e-mail address, log in and out, who am
//! I, change the password, reset a forgotten one. Each handler maps HTTP to
//! one of `Shop`'s account use cases.

use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{AppendHeaders, IntoResponse};
use serde::{Deserialize, Serialize};
use shop_core::account::Account;
use shop_core::ids::UserId;
use shop_core::notify::Locale;
use utoipa::ToSchema;

use crate::error::ApiResult;
use crate::extract::{AppJson, ClientIp, CurrentUser, SESSION_COOKIE};
use crate::state::AppState;

/// `POST /api/auth/register`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RegisterRequest {
    /// Display name (1–64 characters).
    pub name: String,
    /// E-mail address (the login).
    pub email: String,
    /// Password (8–128 characters).
    pub password: String,
    /// The language of the shop's e-mails to this account (`zh-CN` or
    /// `en`; default: the request's `Accept-Language`, else English).
    // Inline: a request body without references reads more simply (and
    // fuzzers' sign-up detection handles it).
    #[serde(default)]
    #[schema(inline)]
    pub locale: Option<Locale>,
}

/// `POST /api/auth/verify`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct VerifyRequest {
    /// The token from the verification e-mail.
    pub token: String,
}

/// `POST /api/auth/login`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginRequest {
    /// E-mail address.
    pub email: String,
    /// Password.
    pub password: String,
}

/// `POST /api/me/password`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ChangePasswordRequest {
    /// The password in use now.
    pub current_password: String,
    /// The new password (8–128 characters).
    pub new_password: String,
}

/// `POST /api/auth/password-reset`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ResetRequest {
    /// The account's e-mail address.
    pub email: String,
}

/// `POST /api/auth/password-reset/confirm`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ResetConfirmation {
    /// The token from the reset e-mail.
    pub token: String,
    /// The new password (8–128 characters).
    pub password: String,
}

/// An account as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountView {
    /// User id.
    pub id: UserId,
    /// E-mail address.
    pub email: String,
    /// Display name.
    pub name: String,
    /// `customer` or `admin`.
    pub role: String,
    /// Whether the e-mail address is verified.
    pub email_verified: bool,
    /// Whether an administrator deactivated the account.
    pub deactivated: bool,
    /// The language of the shop's e-mails to it.
    pub locale: Locale,
}

impl From<&Account> for AccountView {
    fn from(a: &Account) -> Self {
        AccountView {
            id: a.id,
            email: a.email.clone(),
            name: a.name.clone(),
            role: a.role.as_str().to_owned(),
            email_verified: a.email_verified_at.is_some(),
            deactivated: a.deactivated_at.is_some(),
            locale: a.locale,
        }
    }
}

/// The answer to a login.
#[derive(Debug, Serialize, ToSchema)]
pub struct LoginResponse {
    /// The bearer token (also set as the HttpOnly `shop_session` cookie).
    pub token: String,
    /// When the session ends (RFC 3339).
    pub expires_at: String,
    /// Who logged in.
    pub account: AccountView,
}

/// Creates a customer account and e-mails a verification token.
#[utoipa::path(post, path = "/api/auth/register", request_body = RegisterRequest,
    responses((status = 201, body = AccountView), (status = 400, description = "invalid input", body = crate::error::ErrorResponse),
        (status = 409, description = "e-mail address taken", body = crate::error::ErrorResponse), (status = 429, description = "rate limited", body = crate::error::ErrorResponse)))]
pub async fn register(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    AppJson(req): AppJson<RegisterRequest>,
) -> ApiResult<impl IntoResponse> {
    state.limiter.check("register", ip).await?;
    let locale = req.locale.or_else(|| {
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .and_then(Locale::from_accept_language)
    });
    let account = state
        .shop
        .register(&req.name, &req.email, req.password, locale)
        .await?;
    Ok((StatusCode::CREATED, AppJson(AccountView::from(&account))))
}

/// Consumes a verification token and marks the e-mail address verified.
#[utoipa::path(post, path = "/api/auth/verify", request_body = VerifyRequest,
    responses((status = 200, body = AccountView), (status = 404, description = "unknown, used or expired token", body = crate::error::ErrorResponse)))]
pub async fn verify(
    State(state): State<AppState>,
    AppJson(req): AppJson<VerifyRequest>,
) -> ApiResult<AppJson<AccountView>> {
    let account = state.shop.verify_email(&req.token).await?;
    Ok(AppJson(AccountView::from(&account)))
}

fn session_cookie(token: &str, max_age: i64) -> String {
    format!("{SESSION_COOKIE}={token}; HttpOnly; SameSite=Lax; Path=/; Max-Age={max_age}")
}

/// The cookie that ends the browser's session.
fn no_session() -> AppendHeaders<[(axum::http::HeaderName, String); 1]> {
    AppendHeaders([(SET_COOKIE, session_cookie("", 0))])
}

/// Logs in with e-mail and password: a new server-side session.
#[utoipa::path(post, path = "/api/auth/login", request_body = LoginRequest,
    responses((status = 200, body = LoginResponse), (status = 401, description = "wrong e-mail or password (`invalid_credentials`)", body = crate::error::ErrorResponse),
        (status = 403, description = "e-mail not verified (`email_not_verified`) or account deactivated (`account_deactivated`)", body = crate::error::ErrorResponse), (status = 429, description = "rate limited", body = crate::error::ErrorResponse)))]
pub async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    AppJson(req): AppJson<LoginRequest>,
) -> ApiResult<impl IntoResponse> {
    state.limiter.check("login", ip).await?;
    let logged_in = state.shop.log_in(&req.email, req.password).await?;
    let session = &logged_in.session;
    let max_age = (session.expires_at - session.created_at).num_seconds();
    let cookie = session_cookie(&logged_in.token, max_age);
    Ok((
        AppendHeaders([(SET_COOKIE, cookie)]),
        AppJson(LoginResponse {
            expires_at: session.expires_at.to_rfc3339(),
            account: AccountView::from(&logged_in.account),
            token: logged_in.token,
        }),
    ))
}

/// Ends the current session.
#[utoipa::path(post, path = "/api/auth/logout", responses((status = 204), (status = 401, body = crate::error::ErrorResponse)))]
pub async fn logout(
    State(state): State<AppState>,
    user: CurrentUser,
) -> ApiResult<impl IntoResponse> {
    state.shop.log_out(&user.token).await?;
    Ok((StatusCode::NO_CONTENT, no_session()))
}

/// The logged-in account.
#[utoipa::path(get, path = "/api/me", responses((status = 200, body = AccountView), (status = 401, body = crate::error::ErrorResponse)))]
pub async fn me(user: CurrentUser) -> AppJson<AccountView> {
    AppJson(AccountView::from(&user.account))
}

/// Changes the password, given the current one; every session of the
/// account ends (this one too: log in again).
#[utoipa::path(post, path = "/api/me/password", request_body = ChangePasswordRequest,
    responses((status = 204, description = "changed; every session ended"), (status = 400, description = "invalid new password, or wrong current password (field `current_password`)", body = crate::error::ErrorResponse),
        (status = 401, body = crate::error::ErrorResponse), (status = 429, description = "rate limited", body = crate::error::ErrorResponse)))]
pub async fn change_password(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    user: CurrentUser,
    AppJson(req): AppJson<ChangePasswordRequest>,
) -> ApiResult<impl IntoResponse> {
    state.limiter.check("password", ip).await?;
    state
        .shop
        .change_password(user.account.id, req.current_password, req.new_password)
        .await?;
    Ok((StatusCode::NO_CONTENT, no_session()))
}

/// E-mails a password reset token to the account with this address. The
/// answer is the same whether or not the address has an account.
#[utoipa::path(post, path = "/api/auth/password-reset", request_body = ResetRequest,
    responses((status = 204, description = "a token was e-mailed if the address has an active account"), (status = 400, description = "not an e-mail address", body = crate::error::ErrorResponse),
        (status = 429, description = "rate limited", body = crate::error::ErrorResponse)))]
pub async fn request_password_reset(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    AppJson(req): AppJson<ResetRequest>,
) -> ApiResult<StatusCode> {
    state.limiter.check("password", ip).await?;
    state.shop.request_password_reset(&req.email).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sets a new password with an e-mailed reset token; every session of the
/// account ends.
#[utoipa::path(post, path = "/api/auth/password-reset/confirm", request_body = ResetConfirmation,
    responses((status = 204, description = "the new password is set"), (status = 400, description = "invalid password", body = crate::error::ErrorResponse),
        (status = 404, description = "unknown, used or expired token", body = crate::error::ErrorResponse), (status = 429, description = "rate limited", body = crate::error::ErrorResponse)))]
pub async fn confirm_password_reset(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    AppJson(req): AppJson<ResetConfirmation>,
) -> ApiResult<StatusCode> {
    state.limiter.check("password", ip).await?;
    state.shop.reset_password(&req.token, req.password).await?;
    Ok(StatusCode::NO_CONTENT)
}
