//! Stripe webhooks: the `Stripe-Signature` header and the events we read.
//!
//! The header is `t=<unix seconds>,v1=<hex>[,v1=<hex>…][,v0=…]`. Each `v1`
//! is the HMAC-SHA256, under the endpoint's webhook secret (`whsec_…`, used
//! as bytes), of `"{t}.{payload}"` with the payload bytes exactly as
//! received. Several `v1` appear while a secret is being rolled; one match
//! is enough. Entries of other schemes (`v0`) and `v1` values that are not
//! hex are ignored, as Stripe's SDKs do. The signature is checked first,
//! then the timestamp against the window.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use shop_core::payment::{GatewayEvent, PaymentError, VerifiedPayment};

use crate::amount::{from_stripe_currency, from_stripe_minor_units};
use crate::clock::{parse_unix_seconds, TimestampWindow};
use crate::crypto::{hmac_sha256, verify_hmac_sha256, HMAC_SHA256_LEN};

/// Metadata key holding our order number on a PaymentIntent.
pub const ORDER_NO_KEY: &str = "order_no";
/// Metadata key holding our refund number on a Refund.
pub const REFUND_NO_KEY: &str = "refund_no";

/// A `Stripe-Signature` header for `payload` signed at `timestamp` with
/// `secret`, as Stripe sends it (`t=…,v1=…`). For tests and local tools
/// that play Stripe.
pub fn signature_header(secret: &str, timestamp: i64, payload: &[u8]) -> String {
    let tag = hmac_sha256(secret.as_bytes(), &signed_payload(timestamp, payload));
    format!("t={timestamp},v1={}", hex::encode(tag))
}

fn signed_payload(timestamp: i64, payload: &[u8]) -> Vec<u8> {
    let mut message = format!("{timestamp}.").into_bytes();
    message.extend_from_slice(payload);
    message
}

/// Checks a `Stripe-Signature` header over `payload`.
///
/// A header without a `v1` that verifies is
/// [`PaymentError::InvalidSignature`]; one without a readable `t` is
/// [`PaymentError::Malformed`]; a verified one whose `t` is outside `window`
/// around `now` is [`PaymentError::Replayed`]. Every comparison is
/// constant-time.
pub fn verify_signature(
    secret: &str,
    header: &str,
    payload: &[u8],
    now: DateTime<Utc>,
    window: TimestampWindow,
) -> Result<(), PaymentError> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for item in header.split(',') {
        let Some((key, value)) = item.trim().split_once('=') else {
            continue;
        };
        match key {
            "t" => timestamp = Some(value),
            "v1" => {
                if let Ok(tag) = hex::decode(value) {
                    if tag.len() == HMAC_SHA256_LEN {
                        signatures.push(tag);
                    }
                }
            }
            _ => {}
        }
    }
    let timestamp = timestamp
        .and_then(parse_unix_seconds)
        .ok_or_else(|| PaymentError::Malformed("Stripe-Signature has no timestamp".into()))?;
    let message = signed_payload(timestamp, payload);
    let verified = signatures
        .iter()
        .any(|tag| verify_hmac_sha256(secret.as_bytes(), &message, tag));
    if !verified {
        return Err(PaymentError::InvalidSignature);
    }
    window.check(now, timestamp)
}

#[derive(Deserialize)]
struct Event {
    #[serde(rename = "type")]
    kind: String,
    created: i64,
    #[serde(default)]
    account: Option<String>,
    data: EventData,
}

#[derive(Deserialize)]
struct EventData {
    object: serde_json::Value,
}

#[derive(Deserialize)]
struct PaymentIntentObject {
    id: String,
    amount: i64,
    #[serde(default)]
    amount_received: Option<i64>,
    currency: String,
    #[serde(default)]
    metadata: HashMap<String, String>,
}

#[derive(Deserialize)]
struct RefundObject {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    metadata: HashMap<String, String>,
}

#[derive(Deserialize)]
struct ChargeObject {
    #[serde(default)]
    refunds: Option<RefundList>,
}

#[derive(Deserialize)]
struct RefundList {
    data: Vec<RefundObject>,
}

fn malformed(what: impl std::fmt::Display) -> PaymentError {
    PaymentError::Malformed(format!("stripe: {what}"))
}

fn object<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> Result<T, PaymentError> {
    serde_json::from_value(value).map_err(malformed)
}

/// What a finished refund object says, if it is ours and finished.
fn refund_event(refund: &RefundObject) -> Option<GatewayEvent> {
    let refund_no = refund.metadata.get(REFUND_NO_KEY)?.clone();
    let succeeded = match refund.status.as_deref()? {
        "succeeded" => true,
        "failed" | "canceled" => false,
        _ => return None,
    };
    Some(GatewayEvent::RefundFinished {
        refund_no,
        succeeded,
    })
}

/// Reads a verified event's payload.
///
/// * `payment_intent.succeeded` → [`GatewayEvent::Paid`] with the amount
///   received (minor units → [`shop_core::Money`]), the order number from
///   `metadata[order_no]`, the PaymentIntent id as transaction number, the
///   event's `created` as payment time, and as merchant the event's
///   `account` (Connect) or else `account_id`. A PaymentIntent without our
///   `order_no` was not created by this shop and is ignored.
/// * `refund.created`, `refund.updated`, `refund.failed`,
///   `charge.refund.updated` → [`GatewayEvent::RefundFinished`] when the
///   refund carries `metadata[refund_no]` and is `succeeded`, `failed` or
///   `canceled`; `charge.refunded` → the same for the newest such refund in
///   the charge's `refunds` list.
/// * Anything else (including refunds still pending and refunds made
///   outside the shop) → [`GatewayEvent::Ignored`].
pub fn parse_event(payload: &[u8], account_id: &str) -> Result<GatewayEvent, PaymentError> {
    let event: Event = serde_json::from_slice(payload).map_err(malformed)?;
    match event.kind.as_str() {
        "payment_intent.succeeded" => {
            let intent: PaymentIntentObject = object(event.data.object)?;
            let Some(order_no) = intent.metadata.get(ORDER_NO_KEY) else {
                return Ok(GatewayEvent::Ignored);
            };
            let currency = from_stripe_currency(&intent.currency).map_err(malformed)?;
            let units = intent.amount_received.unwrap_or(intent.amount);
            let amount = from_stripe_minor_units(units, currency).map_err(malformed)?;
            let paid_at = DateTime::from_timestamp(event.created, 0)
                .ok_or_else(|| malformed("created out of range"))?;
            Ok(GatewayEvent::Paid(VerifiedPayment {
                merchant_id: event.account.unwrap_or_else(|| account_id.to_owned()),
                order_no: order_no.clone(),
                amount,
                transaction_no: intent.id,
                paid_at,
            }))
        }
        "refund.created" | "refund.updated" | "refund.failed" | "charge.refund.updated" => {
            let refund: RefundObject = object(event.data.object)?;
            Ok(refund_event(&refund).unwrap_or(GatewayEvent::Ignored))
        }
        "charge.refunded" => {
            let charge: ChargeObject = object(event.data.object)?;
            Ok(charge
                .refunds
                .iter()
                .flat_map(|list| list.data.iter())
                .find_map(refund_event)
                .unwrap_or(GatewayEvent::Ignored))
        }
        _ => Ok(GatewayEvent::Ignored),
    }
}
