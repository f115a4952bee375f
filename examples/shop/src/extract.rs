//! Extractors: JSON bodies, paths and queries whose rejections are
//! [`AppError`]s, and the logged-in caller.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::header::{AUTHORIZATION, COOKIE};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;
use shop_core::account::{Account, Role};

use crate::error::AppError;
use crate::state::AppState;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "shop_session";

/// A JSON body; malformed JSON and wrong types are `400 invalid_json`,
/// oversized bodies `413 payload_too_large`, another content type `415`.
/// Also a JSON response.
///
/// A number with a zero fraction (`17.0`, `1e3`) is read as the integer it
/// equals, as JSON Schema counts it: an `integer` field takes it.
#[derive(Debug, Clone, Copy, Default)]
pub struct AppJson<T>(pub T);

impl<T, S> FromRequest<S> for AppJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !json_content_type(req.headers()) {
            return Err(AppError::new(
                axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send `Content-Type: application/json`",
            ));
        }
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| {
                if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                    AppError::new(
                        e.status(),
                        "payload_too_large",
                        "the request body is too large",
                    )
                } else {
                    AppError::new(
                        axum::http::StatusCode::BAD_REQUEST,
                        "invalid_json",
                        e.body_text(),
                    )
                }
            })?;
        // Strictly first: a repeated key or trailing text is an error.
        let mut strict = serde_json::Deserializer::from_slice(&bytes);
        let first = serde_path_to_error::deserialize(&mut strict);
        match first {
            Ok(value) => {
                strict.end().map_err(|e| {
                    invalid_json(format!("Failed to parse the request body as JSON: {e}"))
                })?;
                Ok(AppJson(value))
            }
            Err(e) if e.inner().is_syntax() || e.inner().is_eof() => Err(invalid_json(format!(
                "Failed to parse the request body as JSON: {}",
                e.inner()
            ))),
            // An integer written with a zero fraction (`17.0`): read again
            // with such numbers as integers.
            Err(e) if e.inner().to_string().contains("floating point") => {
                let mut value: serde_json::Value =
                    serde_json::from_slice(&bytes).map_err(|e| invalid_json(e.to_string()))?;
                integral_numbers(&mut value);
                serde_path_to_error::deserialize(value)
                    .map(AppJson)
                    .map_err(data_error)
            }
            Err(e) => Err(data_error(e)),
        }
    }
}

/// Whether the request says its body is JSON (`application/json` or
/// `application/…+json`).
fn json_content_type(headers: &axum::http::HeaderMap) -> bool {
    let Some(value) = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let mime = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
}

fn invalid_json(message: String) -> AppError {
    AppError {
        field: crate::error::json_error_field(&message),
        ..AppError::new(axum::http::StatusCode::BAD_REQUEST, "invalid_json", message)
    }
}

/// A body that is JSON but not the request's shape, naming the field.
fn data_error<E: std::fmt::Display>(e: serde_path_to_error::Error<E>) -> AppError {
    let path = e.path().to_string();
    let message = if path == "." {
        format!(
            "Failed to deserialize the JSON body into the target type: {}",
            e.inner()
        )
    } else {
        format!(
            "Failed to deserialize the JSON body into the target type: {path}: {}",
            e.inner()
        )
    };
    invalid_json(message)
}

/// Turns every number with a zero fraction into the integer it equals.
fn integral_numbers(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Number(n) if n.is_f64() => {
            if let Some(f) = n.as_f64() {
                // Exact for |f| < 2^53; beyond, a float is no exact id or count.
                if f.fract() == 0.0 && f.abs() < 9_007_199_254_740_992.0 {
                    #[allow(clippy::cast_possible_truncation)]
                    let i = f as i64;
                    *value = serde_json::Value::from(i);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(integral_numbers),
        serde_json::Value::Object(fields) => fields.values_mut().for_each(integral_numbers),
        _ => {}
    }
}

impl<T: Serialize> IntoResponse for AppJson<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// Path parameters; a malformed id is `400 invalid_path`.
#[derive(Debug, Clone, Copy)]
pub struct AppPath<T>(pub T);

impl<T, S> FromRequestParts<S> for AppPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Path(value) =
            axum::extract::Path::<T>::from_request_parts(parts, state).await?;
        Ok(AppPath(value))
    }
}

/// Query parameters; wrong types are `400 invalid_query`.
#[derive(Debug, Clone, Copy)]
pub struct AppQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for AppQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Query(value) =
            axum::extract::Query::<T>::from_request_parts(parts, state).await?;
        Ok(AppQuery(value))
    }
}

/// The client's address (the TCP peer; no proxy header is trusted).
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
        Ok(ClientIp(ip))
    }
}

/// The bearer token of a request: `Authorization: Bearer …`, else the
/// session cookie.
pub fn session_token(parts: &Parts) -> Option<String> {
    if let Some(value) = parts.headers.get(AUTHORIZATION) {
        let value = value.to_str().ok()?;
        return value
            .strip_prefix("Bearer ")
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty());
    }
    parts
        .headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.to_owned())
        .filter(|t| !t.is_empty())
}

/// The logged-in caller (`401 unauthenticated` without a valid session of
/// an active account).
#[derive(Debug, Clone)]
pub struct CurrentUser {
    /// Their account.
    pub account: Account,
    /// The bearer token of the session used.
    pub token: String,
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = session_token(parts).ok_or_else(AppError::unauthenticated)?;
        let (_, account) = state.shop.authenticate(&token).await?;
        Ok(CurrentUser { account, token })
    }
}

/// A logged-in administrator (`403 forbidden` for other roles).
#[derive(Debug, Clone)]
pub struct AdminUser(pub CurrentUser);

impl FromRequestParts<AppState> for AdminUser {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let user = CurrentUser::from_request_parts(parts, state).await?;
        if user.account.role != Role::Admin {
            return Err(AppError::admin_only());
        }
        Ok(AdminUser(user))
    }
}
