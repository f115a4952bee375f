//! Accounts: register, verify the e-mail address, log in and out, who am I.

use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::StatusCode;
use axum::response::{AppendHeaders, IntoResponse};
use chrono::{Duration, Utc};
use serde::{Deserialize, Serialize};
use shop_core::account::{
    normalize_email, validate_name, validate_password, Account, Role, Session, MAX_PASSWORD_CHARS,
};
use shop_core::ids::UserId;
use shop_core::notify::Notification;
use utoipa::ToSchema;

use crate::error::{ApiResult, AppError};
use crate::extract::{AppJson, ClientIp, CurrentUser, SESSION_COOKIE};
use crate::notifier::TOKEN_LINE_PREFIX;
use crate::security::{new_token, token_digest};
use crate::state::AppState;

/// How long a session lasts.
pub const SESSION_DAYS: i64 = 30;
/// How long a verification token stays valid.
pub const VERIFICATION_HOURS: i64 = 24;

/// `POST /api/auth/register`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RegisterRequest {
    /// Display name (1–64 characters).
    pub name: String,
    /// E-mail address (the login).
    pub email: String,
    /// Password (8–128 characters).
    pub password: String,
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
}

impl From<&Account> for AccountView {
    fn from(a: &Account) -> Self {
        AccountView {
            id: a.id,
            email: a.email.clone(),
            name: a.name.clone(),
            role: a.role.as_str().to_owned(),
            email_verified: a.email_verified_at.is_some(),
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
    AppJson(req): AppJson<RegisterRequest>,
) -> ApiResult<impl IntoResponse> {
    state.limiter.check("register", ip).await?;
    let name = validate_name(&req.name)?;
    let email = normalize_email(&req.email)?;
    validate_password(&req.password)?;
    let password_hash = state.passwords.hash(req.password).await?;
    let now = Utc::now();
    let account = Account {
        id: UserId(state.ids.next_id()),
        email,
        name,
        password_hash,
        role: Role::Customer,
        email_verified_at: None,
        created_at: now,
    };
    state.accounts.create_account(&account).await?;
    let token = new_token();
    state
        .accounts
        .issue_verification(
            &token_digest(&token),
            account.id,
            now + Duration::hours(VERIFICATION_HOURS),
        )
        .await?;
    state
        .notifier
        .send(&Notification {
            to: account.email.clone(),
            subject: "Verify your e-mail address".to_owned(),
            body: format!(
                "Welcome, {}!\n\n{TOKEN_LINE_PREFIX}{token}\n\nPOST it as {{\"token\": \"…\"}} to {}/api/auth/verify within {VERIFICATION_HOURS} hours.\n",
                account.name, state.public_url
            ),
        })
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
    let user = state
        .accounts
        .verify_email(&token_digest(req.token.trim()), Utc::now())
        .await?;
    let account = state
        .accounts
        .get_account(user)
        .await?
        .ok_or_else(AppError::unauthenticated)?;
    Ok(AppJson(AccountView::from(&account)))
}

fn session_cookie(token: &str, max_age: i64) -> String {
    format!("{SESSION_COOKIE}={token}; HttpOnly; SameSite=Lax; Path=/; Max-Age={max_age}")
}

/// Logs in with e-mail and password: a new server-side session.
#[utoipa::path(post, path = "/api/auth/login", request_body = LoginRequest,
    responses((status = 200, body = LoginResponse), (status = 401, description = "wrong e-mail or password", body = crate::error::ErrorResponse),
        (status = 403, description = "e-mail not verified (`email_not_verified`)", body = crate::error::ErrorResponse), (status = 429, description = "rate limited", body = crate::error::ErrorResponse)))]
pub async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    AppJson(req): AppJson<LoginRequest>,
) -> ApiResult<impl IntoResponse> {
    state.limiter.check("login", ip).await?;
    let wrong = || {
        AppError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
            "wrong e-mail address or password",
        )
    };
    // No password this long was ever accepted: refuse without spending a
    // hash on it (bodies are capped, but argon2 on 64 KiB is still work).
    if req.password.chars().count() > MAX_PASSWORD_CHARS {
        return Err(wrong());
    }
    let email = normalize_email(&req.email).map_err(|_| wrong())?;
    let Some(account) = state.accounts.get_account_by_email(&email).await? else {
        state.passwords.verify_nothing(req.password).await?;
        return Err(wrong());
    };
    let hash = account.password_hash.clone();
    if !state.passwords.verify(req.password, hash).await? {
        return Err(wrong());
    }
    if account.email_verified_at.is_none() {
        return Err(AppError::new(
            StatusCode::FORBIDDEN,
            "email_not_verified",
            "verify your e-mail address first",
        ));
    }
    let token = new_token();
    let now = state.shop.now();
    let session = Session {
        token_hash: token_digest(&token),
        user_id: account.id,
        created_at: now,
        expires_at: now + Duration::days(SESSION_DAYS),
    };
    state.sessions.create_session(&session).await?;
    let cookie = session_cookie(&token, SESSION_DAYS * 24 * 3600);
    Ok((
        AppendHeaders([(SET_COOKIE, cookie)]),
        AppJson(LoginResponse {
            token,
            expires_at: session.expires_at.to_rfc3339(),
            account: AccountView::from(&account),
        }),
    ))
}

/// Ends the current session.
#[utoipa::path(post, path = "/api/auth/logout", responses((status = 204), (status = 401, body = crate::error::ErrorResponse)))]
pub async fn logout(
    State(state): State<AppState>,
    user: CurrentUser,
) -> ApiResult<impl IntoResponse> {
    state.sessions.delete_session(&user.token_hash).await?;
    Ok((
        StatusCode::NO_CONTENT,
        AppendHeaders([(SET_COOKIE, session_cookie("", 0))]),
    ))
}

/// The logged-in account.
#[utoipa::path(get, path = "/api/me", responses((status = 200, body = AccountView), (status = 401, body = crate::error::ErrorResponse)))]
pub async fn me(user: CurrentUser) -> AppJson<AccountView> {
    AppJson(AccountView::from(&user.account))
}
