//! Asynchronous notifications (异步通知) and synchronous returns (同步返回).
//!
//! Alipay POSTs a notification as `application/x-www-form-urlencoded` to
//! the `notify_url`, and sends the buyer's browser back to the `return_url`
//! with the same kind of parameters in the query string. Both are verified
//! the same way: the form is decoded (a `+` is a space, `%2B` a literal
//! `+`, the text must be UTF-8, no key twice), `sign` and `sign_type` are
//! dropped along with empty values, the rest is sorted by key and joined
//! as `k=v` with `&`, and the base64 `sign` must be the RSA2 signature of
//! those bytes under Alipay's public key. Only `sign_type=RSA2` (or none)
//! is accepted.
//!
//! Alipay re-sends a notification until it is acknowledged (for about a
//! day), each time freshly signed; a replay of a genuine one is therefore
//! harmless by design — the core pays an order once per transaction
//! number — and no timestamp window applies unless
//! [`AlipayConfig::notify_window`](super::AlipayConfig::notify_window) asks
//! for one.

use chrono::{DateTime, Utc};
use shop_core::payment::{GatewayEvent, PaymentError, VerifiedPayment};
use shop_core::Money;

use super::keys::RsaPublicKey;
use super::params::{decode_form, field, notification_signing_content, parse_beijing_time};
use crate::amount::from_alipay_yuan;

/// Checks `sign` over already decoded `params` with `key`:
/// [`PaymentError::InvalidSignature`] when it is missing, not RSA2 or wrong.
pub fn verify_params(params: &[(String, String)], key: &RsaPublicKey) -> Result<(), PaymentError> {
    let sign = field(params, "sign")
        .filter(|s| !s.is_empty())
        .ok_or(PaymentError::InvalidSignature)?;
    if field(params, "sign_type").is_some_and(|t| !t.is_empty() && t != "RSA2") {
        return Err(PaymentError::InvalidSignature);
    }
    let content = notification_signing_content(params);
    if key.verify(content.as_bytes(), sign) {
        Ok(())
    } else {
        Err(PaymentError::InvalidSignature)
    }
}

/// Decodes a notification body and verifies it; returns its parameters.
/// An undecodable body is [`PaymentError::Malformed`].
pub fn verify_notification_body(
    body: &[u8],
    key: &RsaPublicKey,
) -> Result<Vec<(String, String)>, PaymentError> {
    let params = decode_form(body)?;
    verify_params(&params, key)?;
    Ok(params)
}

/// Decodes a return URL's query string (with or without the leading `?`)
/// and verifies it exactly like a notification; returns its parameters.
pub fn verify_return_query(
    query: &str,
    key: &RsaPublicKey,
) -> Result<Vec<(String, String)>, PaymentError> {
    verify_notification_body(query.strip_prefix('?').unwrap_or(query).as_bytes(), key)
}

fn malformed(what: impl std::fmt::Display) -> PaymentError {
    PaymentError::Malformed(format!("alipay: {what}"))
}

fn required<'a>(params: &'a [(String, String)], key: &str) -> Result<&'a str, PaymentError> {
    field(params, key)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| malformed(format!("missing {key}")))
}

/// Checks that verified `params` are for our `app_id` (and, when given, our
/// `seller_id`): otherwise [`PaymentError::MerchantMismatch`].
pub fn check_merchant(
    params: &[(String, String)],
    app_id: &str,
    seller_id: Option<&str>,
) -> Result<(), PaymentError> {
    let mismatch = |expected: &str, got: Option<&str>| PaymentError::MerchantMismatch {
        expected: expected.to_owned(),
        got: got.unwrap_or_default().to_owned(),
    };
    let got = field(params, "app_id");
    if got != Some(app_id) {
        return Err(mismatch(app_id, got));
    }
    if let Some(seller_id) = seller_id {
        let got = field(params, "seller_id");
        if got != Some(seller_id) {
            return Err(mismatch(seller_id, got));
        }
    }
    Ok(())
}

fn amount(params: &[(String, String)], key: &str) -> Result<Money, PaymentError> {
    from_alipay_yuan(required(params, key)?).map_err(|e| malformed(format!("{key}: {e}")))
}

fn time(params: &[(String, String)], key: &str) -> Result<Option<DateTime<Utc>>, PaymentError> {
    match field(params, key).filter(|v| !v.is_empty()) {
        Some(text) => parse_beijing_time(text)
            .map(Some)
            .ok_or_else(|| malformed(format!("{key} {text:?}"))),
        None => Ok(None),
    }
}

/// The notification's `notify_time`, in UTC, if it has one.
pub(crate) fn notify_time(
    params: &[(String, String)],
) -> Result<Option<DateTime<Utc>>, PaymentError> {
    time(params, "notify_time")
}

/// What verified notification `params` mean, after [`check_merchant`]:
///
/// * a refund notification — `out_biz_no` (the refund request number we
///   sent, our refund number) with `gmt_refund` or `refund_fee` — is
///   [`GatewayEvent::RefundFinished`] (Alipay notifies only refunds that
///   went through);
/// * `trade_status` `TRADE_SUCCESS` or `TRADE_FINISHED` is
///   [`GatewayEvent::Paid`]: `out_trade_no`, `total_amount` (yuan),
///   `trade_no` as transaction number, `gmt_payment` (Beijing time, else
///   `notify_time`) as payment time, `app_id` as merchant;
/// * anything else (`WAIT_BUYER_PAY`, `TRADE_CLOSED`, other notification
///   types) is [`GatewayEvent::Ignored`].
pub fn read_notification(
    params: &[(String, String)],
    app_id: &str,
    seller_id: Option<&str>,
) -> Result<GatewayEvent, PaymentError> {
    check_merchant(params, app_id, seller_id)?;
    let refund_no = field(params, "out_biz_no").filter(|v| !v.is_empty());
    let refunded = ["gmt_refund", "refund_fee"]
        .iter()
        .any(|k| field(params, k).is_some_and(|v| !v.is_empty()));
    if let (Some(refund_no), true) = (refund_no, refunded) {
        return Ok(GatewayEvent::RefundFinished {
            refund_no: refund_no.to_owned(),
            succeeded: true,
        });
    }
    match field(params, "trade_status") {
        Some("TRADE_SUCCESS" | "TRADE_FINISHED") => {}
        _ => return Ok(GatewayEvent::Ignored),
    }
    let paid_at = match time(params, "gmt_payment")? {
        Some(at) => at,
        None => notify_time(params)?.ok_or_else(|| malformed("missing gmt_payment"))?,
    };
    Ok(GatewayEvent::Paid(VerifiedPayment {
        merchant_id: app_id.to_owned(),
        order_no: required(params, "out_trade_no")?.to_owned(),
        amount: amount(params, "total_amount")?,
        transaction_no: required(params, "trade_no")?.to_owned(),
        paid_at,
    }))
}

/// What a verified return URL says. The buyer's browser carries it, so it
/// is only shown to the buyer ("payment received, confirming…"); the order
/// is paid by the notification, never by the return.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlipayReturn {
    /// Our order number.
    pub out_trade_no: String,
    /// Alipay's transaction number.
    pub trade_no: String,
    /// The amount paid.
    pub total_amount: Money,
}

/// Reads verified return-URL `params` for our `app_id` (and `seller_id`).
pub fn read_return(
    params: &[(String, String)],
    app_id: &str,
    seller_id: Option<&str>,
) -> Result<AlipayReturn, PaymentError> {
    check_merchant(params, app_id, seller_id)?;
    Ok(AlipayReturn {
        out_trade_no: required(params, "out_trade_no")?.to_owned(),
        trade_no: required(params, "trade_no")?.to_owned(),
        total_amount: amount(params, "total_amount")?,
    })
}
