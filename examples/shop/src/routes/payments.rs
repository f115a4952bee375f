//! The sandbox gateway's pay page (standing in for a provider's site) and
//! the shop's notification callback.

use axum::body::Bytes;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Html;
use serde::Deserialize;
use shop_core::payment::RawNotification;
use shop_core::service::NotificationOutcome;
use utoipa::IntoParams;

use crate::error::{ApiResult, AppError};
use crate::extract::{AppJson, AppPath, AppQuery, CurrentUser};
use crate::state::AppState;

/// Where the sandbox delivers its notifications (every gateway has its
/// own: `/api/payments/{gateway}/notify`).
pub const NOTIFY_PATH: &str = "/api/payments/sandbox/notify";

/// Query of the pay page (what the gateway's redirect carries).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PayPageQuery {
    /// The order's number.
    pub order_no: String,
    /// Amount in major units.
    #[serde(default)]
    pub amount: String,
    /// Currency code.
    #[serde(default)]
    pub currency: String,
    /// What is bought.
    #[serde(default)]
    pub subject: String,
}

/// The pay button's form.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct PayForm {
    /// The order's number.
    pub order_no: String,
}

/// Escapes text for HTML.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{title}</title></head>\
         <body style=\"font-family:sans-serif;max-width:30em;margin:3em auto\">\
         <h1>{title}</h1>{body}</body></html>"
    ))
}

/// The sandbox pay page: the order and a "Pay" button.
#[utoipa::path(get, path = "/sandbox/pay", params(PayPageQuery),
    responses((status = 200, description = "an HTML page with a Pay button", content_type = "text/html"),
        (status = 400, description = "a parameter is not text the shop writes (`validation`)", body = crate::error::ErrorResponse)))]
pub async fn pay_page(AppQuery(q): AppQuery<PayPageQuery>) -> ApiResult<Html<String>> {
    shop_core::order::check_order_no(&q.order_no)?;
    for (field, value) in [
        ("amount", &q.amount),
        ("currency", &q.currency),
        ("subject", &q.subject),
    ] {
        shop_core::text::check_line(field, value, shop_core::text::MAX_KEY_CHARS)?;
    }
    let no = escape_html(&q.order_no);
    Ok(page(
        "Sandbox payment",
        &format!(
            "<p>{}</p><p>Order <code>{no}</code>: <strong>{} {}</strong></p>\
             <form method=\"post\" action=\"/sandbox/pay\">\
             <input type=\"hidden\" name=\"order_no\" value=\"{no}\">\
             <button type=\"submit\">Pay</button></form>\
             <p><small>No money moves: the sandbox sends the shop a signed notification.</small></p>",
            escape_html(&q.subject),
            escape_html(&q.amount),
            escape_html(&q.currency),
        ),
    ))
}

/// The "Pay" button: the sandbox signs a payment notification for the
/// order's amount and POSTs it to the shop's callback, as a provider would.
#[utoipa::path(post, path = "/sandbox/pay", request_body(content = PayForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "the shop accepted the notification", content_type = "text/html"),
        (status = 403, description = "not the caller's order", body = crate::error::ErrorResponse),
        (status = 404, body = crate::error::ErrorResponse), (status = 502, description = "the shop's callback could not be reached (JSON error `callback_unreachable`) or refused the notification (an HTML page saying why)")))]
pub async fn pay(
    State(state): State<AppState>,
    user: CurrentUser,
    form: Result<Form<PayForm>, FormRejection>,
) -> ApiResult<(StatusCode, Html<String>)> {
    let Form(form) = form.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "the request body is too large",
            )
        } else {
            AppError::new(StatusCode::BAD_REQUEST, "invalid_form", e.body_text())
        }
    })?;
    let sandbox = state.sandbox.as_ref().ok_or_else(AppError::no_route)?;
    // Only the buyer pays their order here, and only while it waits for a
    // payment (a provider would not take money for anything else).
    // An order's number, else an installment period's (its own trade
    // number), as the shop routes a gateway's notification.
    let (no, amount) = match state
        .shop
        .order_by_no(user.account.id, &form.order_no)
        .await
    {
        Ok(order) => {
            order.next_state(shop_core::order::OrderAction::Pay)?;
            (order.no, order.total)
        }
        Err(shop_core::Error::NotFound { .. }) => {
            state
                .shop
                .payable_period(user.account.id, &form.order_no)
                .await?
        }
        Err(e) => return Err(e.into()),
    };
    let raw = sandbox.notify_paid(&no, amount);
    let mut request = state
        .http
        .post(format!("{}{NOTIFY_PATH}", state.public_url))
        .body(raw.body);
    for (name, value) in &raw.headers {
        request = request.header(name.as_str(), value.as_str());
    }
    let unreachable = |e: shop_payments::reqwest::Error| {
        AppError::new(
            StatusCode::BAD_GATEWAY,
            "callback_unreachable",
            format!("the shop's callback could not be reached: {e}"),
        )
    };
    let answer = request.send().await.map_err(unreachable)?;
    let status = answer.status();
    let text = answer.text().await.map_err(unreachable)?;
    let no = escape_html(&no);
    if status.is_success() {
        Ok((
            StatusCode::OK,
            page("Paid", &format!("<p>Order <code>{no}</code> is paid.</p>")),
        ))
    } else {
        Ok((
            StatusCode::BAD_GATEWAY,
            page(
                "Payment refused",
                &format!(
                    "<p>The shop answered {} for order <code>{no}</code>:</p><pre>{}</pre>",
                    status.as_u16(),
                    escape_html(&text)
                ),
            ),
        ))
    }
}

/// A gateway's notification callback (`sandbox`, `stripe`, `alipay`,
/// `wechat`): the raw body and headers go to the shop, which has the
/// gateway verify the signature and pays the order exactly once.
#[utoipa::path(post, path = "/api/payments/{gateway}/notify",
    params(("gateway" = String, Path, description = "the gateway's name, e.g. sandbox")),
    request_body(content_type = "application/octet-stream", description = "a signed notification, exactly as the provider sent it"),
    responses((status = 200, description = "acknowledged", body = NotificationOutcome), (status = 400, description = "forged, tampered or replayed", body = crate::error::ErrorResponse),
        (status = 404, body = crate::error::ErrorResponse), (status = 409, body = crate::error::ErrorResponse), (status = 422, body = crate::error::ErrorResponse)))]
pub async fn notify(
    State(state): State<AppState>,
    AppPath(gateway): AppPath<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<AppJson<NotificationOutcome>> {
    let raw = RawNotification {
        headers: headers
            .iter()
            .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
            .collect(),
        query: uri.query().unwrap_or_default().to_owned(),
        body: body.to_vec(),
    };
    Ok(AppJson(
        state
            .shop
            .handle_payment_notification(&gateway, &raw)
            .await?,
    ))
}
