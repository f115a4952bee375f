//! The one error shape of the API: `{"error": {"code", "message", "field"}}`
//! with one status code per [`ErrorKind`], plus the extractor rejections
//! (malformed JSON, oversized bodies, bad paths and queries).

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use shop_core::crowdfunding::CrowdfundingRefusal;
use shop_core::seckill::FlashSaleRefusal;
use shop_core::{Error, ErrorKind, StoreError};

/// An error as the API answers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppError {
    /// The HTTP status.
    pub status: StatusCode,
    /// A stable machine-readable code, e.g. `out_of_stock`.
    pub code: &'static str,
    /// A human-readable message.
    pub message: String,
    /// The offending input field, when there is one.
    pub field: Option<String>,
    /// Seconds after which a retry may succeed (`Retry-After`), for 429 and
    /// 503 answers.
    pub retry_after: Option<u64>,
}

/// The body of every error answer (for the API description).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorResponse {
    /// The error.
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// A stable machine-readable code, e.g. `out_of_stock`.
    pub code: String,
    /// A human-readable message.
    pub message: String,
    /// The offending input field, when there is one.
    pub field: Option<String>,
}

impl AppError {
    /// An error with a status, a code and a message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        AppError {
            status,
            code,
            message: message.into(),
            field: None,
            retry_after: None,
        }
    }

    /// 401: no valid session.
    pub fn unauthenticated() -> Self {
        AppError::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "log in first: send `Authorization: Bearer <token>` or the session cookie",
        )
    }

    /// 403: the caller's role may not do this.
    pub fn admin_only() -> Self {
        AppError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "this endpoint is for administrators",
        )
    }

    /// 429: the client sent too many requests of one kind; a retry may
    /// succeed after `retry_after` seconds.
    pub fn rate_limited(retry_after: u64) -> Self {
        AppError {
            retry_after: Some(retry_after.max(1)),
            ..AppError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "too many requests from this address, try again later",
            )
        }
    }

    /// 404 for a route that does not exist.
    pub fn no_route() -> Self {
        AppError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
    }
}

/// The status code for each kind of domain error.
pub fn status_of(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::Invalid => StatusCode::BAD_REQUEST,
        ErrorKind::Unauthenticated => StatusCode::UNAUTHORIZED,
        ErrorKind::Forbidden => StatusCode::FORBIDDEN,
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::Conflict => StatusCode::CONFLICT,
        ErrorKind::Unprocessable => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

fn code_of(error: &Error) -> &'static str {
    match error {
        Error::OutOfStock { .. } => "out_of_stock",
        Error::CouponRejected(_) => "coupon_rejected",
        Error::FlashSale(r) => match r {
            FlashSaleRefusal::NotStarted { .. } => "flash_sale_not_started",
            FlashSaleRefusal::Ended => "flash_sale_ended",
            FlashSaleRefusal::SoldOut => "flash_sale_sold_out",
            FlashSaleRefusal::AlreadyBought => "flash_sale_already_bought",
        },
        Error::Crowdfunding(r) => match r {
            CrowdfundingRefusal::Closed => "crowdfunding_closed",
            CrowdfundingRefusal::NotSucceeded => "crowdfunding_not_succeeded",
        },
        Error::InvalidTransition { .. } => "invalid_transition",
        Error::SubmitTokenReused { .. } => "submit_token_reused",
        Error::SubmitTokenInUse { .. } => "submit_token_in_use",
        Error::Forbidden { .. } => "forbidden",
        Error::InvalidCredentials => "invalid_credentials",
        Error::Unauthenticated => "unauthenticated",
        Error::EmailNotVerified => "email_not_verified",
        Error::AccountDeactivated => "account_deactivated",
        Error::Busy { .. } => "busy",
        Error::Validation { .. } => "validation",
        Error::Refused { .. } => "refused",
        Error::NotFound { .. } => "not_found",
        Error::Money(_) => "invalid_money",
        Error::Payment(_) => "payment_refused",
        Error::Store(StoreError::Conflict { .. }) => "conflict",
        Error::Store(StoreError::AlreadyExists { .. }) => "already_exists",
        Error::Store(StoreError::Unavailable { .. }) => "unavailable",
        _ => "internal",
    }
}

impl From<Error> for AppError {
    fn from(error: Error) -> Self {
        let status = status_of(error.kind());
        let field = match &error {
            Error::Validation { field, .. } | Error::Refused { field, .. } => {
                Some((*field).to_owned())
            }
            _ => None,
        };
        let message = match &error {
            _ if status == StatusCode::INTERNAL_SERVER_ERROR => {
                // Backend details stay in the log, not in the answer.
                tracing::error!(%error, "internal error");
                "internal error".to_owned()
            }
            Error::Unauthenticated => AppError::unauthenticated().message,
            _ => error.to_string(),
        };
        let retry_after = match &error {
            Error::Busy { retry_after_secs } => Some(u64::from(*retry_after_secs).max(1)),
            _ => (status == StatusCode::SERVICE_UNAVAILABLE).then_some(1),
        };
        AppError {
            status,
            code: code_of(&error),
            message,
            field,
            retry_after,
        }
    }
}

impl From<JsonRejection> for AppError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::MissingJsonContentType(_) => AppError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send `Content-Type: application/json`",
            ),
            JsonRejection::BytesRejection(r) if r.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                AppError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    "the request body is too large",
                )
            }
            other => {
                let message = other.body_text();
                AppError {
                    field: json_error_field(&message),
                    ..AppError::new(StatusCode::BAD_REQUEST, "invalid_json", message)
                }
            }
        }
    }
}

/// The field a JSON deserialization error names: the path axum puts before
/// the error (`items[0].quantity: invalid type…`), or a missing field.
pub fn json_error_field(message: &str) -> Option<String> {
    let detail = message.split_once("target type: ").map(|(_, d)| d)?;
    if let Some(rest) = detail.strip_prefix("missing field `") {
        return rest.split_once('`').map(|(f, _)| f.to_owned());
    }
    let (path, rest) = detail.split_once(": ")?;
    if path.is_empty() || path == "." || path.contains(char::is_whitespace) {
        return None;
    }
    match rest.strip_prefix("missing field `") {
        Some(field) => field.split_once('`').map(|(f, _)| format!("{path}.{f}")),
        None => Some(path.to_owned()),
    }
}

impl From<PathRejection> for AppError {
    fn from(rejection: PathRejection) -> Self {
        AppError::new(
            StatusCode::BAD_REQUEST,
            "invalid_path",
            rejection.body_text(),
        )
    }
}

impl From<QueryRejection> for AppError {
    fn from(rejection: QueryRejection) -> Self {
        AppError::new(
            StatusCode::BAD_REQUEST,
            "invalid_query",
            rejection.body_text(),
        )
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let body = ErrorResponse {
            error: ErrorDetail {
                code: self.code.to_owned(),
                message: self.message,
                field: self.field,
            },
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, seconds.into());
        }
        response
    }
}

/// Result of a handler.
pub type ApiResult<T> = Result<T, AppError>;

#[cfg(test)]
mod tests {
    use super::json_error_field;

    #[test]
    fn json_errors_name_their_field() {
        let prefix = "Failed to deserialize the JSON body into the target type: ";
        let cases = [
            (
                "sku_id: invalid type: string \"one\", expected i64 at line 1 column 16",
                Some("sku_id"),
            ),
            (
                "items[0].quantity: invalid type: floating point `1.5`, expected i64",
                Some("items[0].quantity"),
            ),
            (
                "missing field `quantity` at line 1 column 14",
                Some("quantity"),
            ),
            (
                "items[0]: missing field `sku_id` at line 1 column 30",
                Some("items[0].sku_id"),
            ),
            ("expected value at line 1 column 1", None),
        ];
        for (detail, field) in cases {
            assert_eq!(
                json_error_field(&format!("{prefix}{detail}")).as_deref(),
                field,
                "{detail}"
            );
        }
        assert_eq!(json_error_field("EOF while parsing"), None);
    }
}
