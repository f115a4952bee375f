//! Stripe's checkout page: where [`StripeGateway`](shop_payments::stripe::StripeGateway)
//! redirects a buyer with a PaymentIntent's client secret. The page mounts
//! Stripe's Payment Element (Stripe.js from `js.stripe.com`) and confirms the
//! payment in the browser; Stripe then sends the `payment_intent.succeeded`
//! webhook to `/api/payments/stripe/notify`, which is what pays the order.
//! After confirming, Stripe.js sends the buyer to the return page.
//!
//! Serve the shop over HTTPS when Stripe is configured: Stripe.js refuses
//! live keys on plain HTTP, and the client secret travels in the page's URL.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse};
use serde::Deserialize;
use shop_core::order::check_order_no;
use utoipa::IntoParams;

use crate::error::{ApiResult, AppError};
use crate::extract::AppQuery;
use crate::routes::payments::escape_html;
use crate::state::AppState;

/// Query of the checkout page (what the gateway's redirect carries).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CheckoutQuery {
    /// The PaymentIntent's id (`pi_…`).
    pub payment_intent: String,
    /// Its client secret (`pi_…_secret_…`).
    pub client_secret: String,
    /// The order's number.
    pub order_no: String,
    /// Where to send the buyer afterwards; only URLs of this shop are used.
    #[serde(default)]
    pub return_url: Option<String>,
}

/// Query Stripe.js adds to the return URL.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DoneQuery {
    /// The order's number.
    #[serde(default)]
    pub order_no: String,
    /// `succeeded`, `processing` or `requires_payment_method`.
    #[serde(default)]
    pub redirect_status: String,
}

/// Whether `s` is `prefix` followed by 1–255 ASCII letters and digits.
fn stripe_id(s: &str, prefix: &str) -> bool {
    s.strip_prefix(prefix).is_some_and(|rest| {
        (1..=255).contains(&rest.len()) && rest.bytes().all(|b| b.is_ascii_alphanumeric())
    })
}

/// A JavaScript string literal of `s` that is safe inside `<script>`.
fn js_string(s: &str) -> String {
    serde_json::Value::from(s)
        .to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

/// Whether `s` looks like an order number: 1–64 ASCII letters and digits.
fn invalid(field: &'static str, message: &str) -> AppError {
    AppError::from(shop_core::Error::validation(field, message))
}

/// Stripe's checkout page for one PaymentIntent.
#[utoipa::path(get, path = "/stripe/checkout", params(CheckoutQuery),
    responses((status = 200, description = "an HTML page mounting Stripe's Payment Element", content_type = "text/html"),
        (status = 400, description = "a parameter is not what Stripe issues", body = crate::error::ErrorResponse),
        (status = 404, description = "Stripe is not configured, or the client secret is not the PaymentIntent's", body = crate::error::ErrorResponse)))]
pub async fn checkout_page(
    State(state): State<AppState>,
    AppQuery(q): AppQuery<CheckoutQuery>,
) -> ApiResult<impl IntoResponse> {
    let Some(publishable_key) = &state.stripe_publishable_key else {
        return Err(AppError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "Stripe is not configured",
        ));
    };
    if !stripe_id(&q.payment_intent, "pi_") {
        return Err(invalid("payment_intent", "not a PaymentIntent id"));
    }
    let secret_ok = q
        .client_secret
        .strip_prefix(&q.payment_intent)
        .is_some_and(|rest| stripe_id(rest, "_secret_"));
    if !secret_ok {
        // Well-formed, but not this PaymentIntent's: no such page.
        return Err(AppError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "the client secret is not this PaymentIntent's",
        ));
    }
    check_order_no(&q.order_no)?;
    let ours = format!("{}/", state.public_url);
    let return_url = q
        .return_url
        .filter(|url| url.starts_with(&ours))
        .unwrap_or_else(|| format!("{}/stripe/done?order_no={}", state.public_url, q.order_no));
    let no = escape_html(&q.order_no);
    let html = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Pay order {no}</title>\
         <script src=\"https://js.stripe.com/v3/\"></script></head>\
         <body style=\"font-family:sans-serif;max-width:30em;margin:3em auto\">\
         <h1>Pay order <code>{no}</code></h1>\
         <form id=\"pay\"><div id=\"element\"></div>\
         <button id=\"submit\" type=\"submit\" style=\"margin-top:1em\">Pay</button>\
         <p id=\"message\" role=\"alert\"></p></form>\
         <script>\
         const stripe = Stripe({key});\
         const elements = stripe.elements({{clientSecret: {secret}}});\
         elements.create(\"payment\").mount(\"#element\");\
         document.getElementById(\"pay\").addEventListener(\"submit\", async (event) => {{\
           event.preventDefault();\
           document.getElementById(\"submit\").disabled = true;\
           const {{error}} = await stripe.confirmPayment({{elements, confirmParams: {{return_url: {ret}}}}});\
           document.getElementById(\"message\").textContent = error.message;\
           document.getElementById(\"submit\").disabled = false;\
         }});\
         </script></body></html>",
        key = js_string(publishable_key),
        secret = js_string(&q.client_secret),
        ret = js_string(&return_url),
    );
    Ok((
        [
            (header::CACHE_CONTROL, "no-store"),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        Html(html),
    ))
}

/// Where Stripe.js sends the buyer after confirming: says what Stripe
/// reported. The order is paid when Stripe's webhook arrives, not here.
#[utoipa::path(get, path = "/stripe/done", params(DoneQuery),
    responses((status = 200, description = "an HTML page", content_type = "text/html"),
        (status = 400, description = "a parameter is not what Stripe sends (`validation`)", body = crate::error::ErrorResponse)))]
pub async fn done_page(AppQuery(q): AppQuery<DoneQuery>) -> ApiResult<Html<String>> {
    if !q.order_no.is_empty() {
        check_order_no(&q.order_no)?;
    }
    shop_core::text::check_line("redirect_status", &q.redirect_status, 64)?;
    let said = match q.redirect_status.as_str() {
        "succeeded" => "Stripe accepted the payment. The order is marked paid as soon as Stripe notifies the shop.",
        "processing" => "Stripe is processing the payment. The order is marked paid when Stripe notifies the shop.",
        _ => "The payment did not go through. You can try again from your order.",
    };
    Ok(Html(format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Payment</title></head>\
         <body style=\"font-family:sans-serif;max-width:30em;margin:3em auto\">\
         <h1>Order <code>{}</code></h1><p>{said}</p></body></html>",
        escape_html(&q.order_no)
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_script_strings() {
        assert!(stripe_id("pi_3MtwBwLkdIwHu7ix28a3tqPa", "pi_"));
        assert!(!stripe_id("pi_", "pi_"));
        assert!(!stripe_id("pi_1</script>", "pi_"));
        assert!(!stripe_id("cs_1", "pi_"));
        assert_eq!(
            js_string("a\"</script><b>&"),
            r#""a\"\u003c/script\u003e\u003cb\u003e\u0026""#
        );
    }
}
