//! Stripe webhook verification against the published vector of Stripe's
//! .NET SDK (see `fixtures/stripe/SOURCE.md`) and tampered copies of it,
//! then event parsing.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use shop_core::clock::ManualClock;
use shop_core::payment::{GatewayEvent, PaymentError, PaymentGateway, RawNotification};
use shop_core::{Currency, Money};
use shop_payments::clock::TimestampWindow;
use shop_payments::stripe::webhook::{parse_event, signature_header, verify_signature};
use shop_payments::{
    HttpRequest, HttpResponse, StripeConfig, StripeGateway, Transport, TransportError,
};

/// Published by stripe-dotnet's `EventUtilityTest.cs`.
const SECRET: &str = "webhook_secret";
const T: i64 = 1_533_204_620;
const HEADER: &str = "t=1533204620,\
    v1=2220f87ef101a04665f11cdf770523143f875572008577fa0f20882ddb9cc3c7,\
    v0=63f3a72374a733066c4be69ed7f8e5ac85c22c9f0a6a612ab9a025a9e4ee7eef";
const PAYLOAD: &[u8] = include_bytes!("fixtures/stripe/event_test_signature.json");

fn at(unix: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(unix, 0).unwrap()
}

fn verify(header: &str, payload: &[u8], secret: &str, now: i64) -> Result<(), PaymentError> {
    verify_signature(secret, header, payload, at(now), TimestampWindow::DEFAULT)
}

/// A transport that must not be used: webhooks need no network.
struct NoNetwork;

#[async_trait::async_trait]
impl Transport for NoNetwork {
    async fn send(&self, _: HttpRequest) -> Result<HttpResponse, TransportError> {
        panic!("webhook verification sent a request")
    }
}

fn gateway(secret: &str, now: i64) -> StripeGateway {
    StripeGateway::new(
        StripeConfig::new("sk_test_x", secret, "acct_ours", "https://shop.invalid/pay"),
        Arc::new(NoNetwork),
    )
    .with_clock(Arc::new(ManualClock::new(at(now))))
}

fn notification(header: &str, payload: &[u8]) -> RawNotification {
    RawNotification {
        headers: vec![("stripe-signature".into(), header.into())],
        query: String::new(),
        body: payload.to_vec(),
    }
}

#[test]
fn the_published_vector_verifies_within_the_tolerance() {
    assert_eq!(PAYLOAD.len(), 484, "fixture bytes changed");
    assert!(verify(HEADER, PAYLOAD, SECRET, T + 100).is_ok());
    assert!(verify(HEADER, PAYLOAD, SECRET, T).is_ok());
    assert!(verify(HEADER, PAYLOAD, SECRET, T + 300).is_ok());
    // Our own signer produces the published v1.
    assert_eq!(
        signature_header(SECRET, T, PAYLOAD),
        HEADER.split(",v0=").next().unwrap()
    );
}

#[tokio::test]
async fn the_published_vector_through_the_gateway_is_a_genuine_ignored_event() {
    let g = gateway(SECRET, T + 100);
    // A `customer.created` event: genuine, nothing to do.
    assert_eq!(
        g.verify_notification(&notification(HEADER, PAYLOAD))
            .await
            .unwrap(),
        GatewayEvent::Ignored
    );
    let late = gateway(SECRET, T + 400);
    assert!(matches!(
        late.verify_notification(&notification(HEADER, PAYLOAD))
            .await,
        Err(PaymentError::Replayed)
    ));
    assert!(matches!(
        g.verify_notification(&RawNotification {
            body: PAYLOAD.to_vec(),
            ..RawNotification::default()
        })
        .await,
        Err(PaymentError::InvalidSignature)
    ));
}

#[test]
fn tampered_copies_of_the_vector_fail() {
    // An expired timestamp (the SDK's RejectOutdatedTimestamp), and one
    // too far in the future.
    assert!(matches!(
        verify(HEADER, PAYLOAD, SECRET, T + 400),
        Err(PaymentError::Replayed)
    ));
    assert!(matches!(
        verify(HEADER, PAYLOAD, SECRET, T - 400),
        Err(PaymentError::Replayed)
    ));
    // Text appended to the payload (the SDK's RejectIncorrectSignature).
    let mut appended = PAYLOAD.to_vec();
    appended.extend_from_slice(b"this_changes_the_json");
    assert!(matches!(
        verify(HEADER, &appended, SECRET, T + 100),
        Err(PaymentError::InvalidSignature)
    ));
    // Every single payload byte changed in turn.
    for i in 0..PAYLOAD.len() {
        let mut tampered = PAYLOAD.to_vec();
        tampered[i] ^= 0x20;
        assert!(
            matches!(
                verify(HEADER, &tampered, SECRET, T + 100),
                Err(PaymentError::InvalidSignature)
            ),
            "byte {i}"
        );
    }
    // The line endings re-serialised (CRLF) or the trailing newline dropped.
    let crlf = String::from_utf8(PAYLOAD.to_vec())
        .unwrap()
        .replace('\n', "\r\n");
    for changed in [crlf.as_bytes(), &PAYLOAD[..PAYLOAD.len() - 1]] {
        assert!(matches!(
            verify(HEADER, changed, SECRET, T + 100),
            Err(PaymentError::InvalidSignature)
        ));
    }
    // A changed timestamp with the same signature.
    let retimed = HEADER.replace("t=1533204620", "t=1533204621");
    assert!(matches!(
        verify(&retimed, PAYLOAD, SECRET, T + 100),
        Err(PaymentError::InvalidSignature)
    ));
    // The wrong secret.
    for secret in [
        "webhook_secreT",
        "webhook_secret ",
        "",
        "whsec_webhook_secret",
    ] {
        assert!(matches!(
            verify(HEADER, PAYLOAD, secret, T + 100),
            Err(PaymentError::InvalidSignature)
        ));
    }
    // A v1 digit changed.
    let flipped = HEADER.replace("v1=2220f8", "v1=2220f9");
    assert!(matches!(
        verify(&flipped, PAYLOAD, SECRET, T + 100),
        Err(PaymentError::InvalidSignature)
    ));
}

#[test]
fn header_forms() {
    let v1 = "2220f87ef101a04665f11cdf770523143f875572008577fa0f20882ddb9cc3c7";
    // Several v1 (a secret being rolled): one match is enough, in any place.
    let rolled = format!("t={T},v1={},v1={v1}", "ab".repeat(32));
    assert!(verify(&rolled, PAYLOAD, SECRET, T).is_ok());
    let rolled = format!("t={T},v1={v1},v1={}", "ab".repeat(32));
    assert!(verify(&rolled, PAYLOAD, SECRET, T).is_ok());
    // Unreadable v1 entries are ignored, as the SDKs do.
    let noisy = format!("t={T},v1=bad_signature,v1={v1},x=y");
    assert!(verify(&noisy, PAYLOAD, SECRET, T).is_ok());
    // Only the legacy v0 scheme: not a valid signature.
    let v0_only = format!("t={T},v0={v1}");
    assert!(matches!(
        verify(&v0_only, PAYLOAD, SECRET, T),
        Err(PaymentError::InvalidSignature)
    ));
    // No v1 at all, or an empty one.
    for header in [format!("t={T}"), format!("t={T},v1="), format!("t={T},v1")] {
        assert!(matches!(
            verify(&header, PAYLOAD, SECRET, T),
            Err(PaymentError::InvalidSignature)
        ));
    }
    // No readable timestamp (headers from the .NET SDK's own bad cases).
    for header in [
        format!("t=,v1={v1}"),
        format!("v1={v1}"),
        format!("t=soon,v1={v1}"),
        "t,v1=,v0=".to_owned(),
        ",,".to_owned(),
        String::new(),
    ] {
        assert!(
            matches!(
                verify(&header, PAYLOAD, SECRET, T),
                Err(PaymentError::Malformed(_))
            ),
            "{header:?}"
        );
    }
}

fn event(kind: &str, object: &str) -> String {
    format!(
        r#"{{"id":"evt_1","object":"event","type":"{kind}","created":1772366400,"livemode":false,"data":{{"object":{object}}}}}"#
    )
}

#[test]
fn payment_intent_succeeded_is_a_payment() {
    let body = event(
        "payment_intent.succeeded",
        r#"{"id":"pi_1","object":"payment_intent","amount":1999,"amount_received":1999,"currency":"usd","status":"succeeded","metadata":{"order_no":"O1"}}"#,
    );
    let GatewayEvent::Paid(paid) = parse_event(body.as_bytes(), "acct_ours").unwrap() else {
        panic!("not paid");
    };
    assert_eq!(paid.merchant_id, "acct_ours");
    assert_eq!(paid.order_no, "O1");
    assert_eq!(paid.amount, Money::parse("19.99", Currency::Usd).unwrap());
    assert_eq!(paid.transaction_no, "pi_1");
    assert_eq!(paid.paid_at, at(1_772_366_400));

    // A Connect event names its account: that is the merchant.
    let connect = body.replace(
        r#""livemode":false"#,
        r#""livemode":false,"account":"acct_other""#,
    );
    let GatewayEvent::Paid(paid) = parse_event(connect.as_bytes(), "acct_ours").unwrap() else {
        panic!("not paid");
    };
    assert_eq!(paid.merchant_id, "acct_other");

    // Zero-decimal currency.
    let jpy = body.replace("\"usd\"", "\"jpy\"");
    let GatewayEvent::Paid(paid) = parse_event(jpy.as_bytes(), "acct_ours").unwrap() else {
        panic!("not paid");
    };
    assert_eq!(paid.amount, Money::parse("1999", Currency::Jpy).unwrap());

    // Not created by this shop: ignored.
    let foreign = body.replace(r#""metadata":{"order_no":"O1"}"#, r#""metadata":{}"#);
    assert_eq!(
        parse_event(foreign.as_bytes(), "acct_ours").unwrap(),
        GatewayEvent::Ignored
    );
    // Unreadable amounts or currencies.
    for bad in [
        body.replace("\"usd\"", "\"xyz\""),
        body.replace("\"amount_received\":1999", "\"amount_received\":0"),
        body.replace("\"amount_received\":1999", "\"amount_received\":\"1999\""),
        body.replace("\"amount\":1999,\"amount_received\":1999,", ""),
    ] {
        assert!(
            matches!(
                parse_event(bad.as_bytes(), "acct_ours"),
                Err(PaymentError::Malformed(_))
            ),
            "{bad}"
        );
    }
}

#[test]
fn refund_events_finish_our_refunds() {
    let refund = |status: &str, metadata: &str| {
        format!(
            r#"{{"id":"re_1","object":"refund","amount":500,"status":"{status}","payment_intent":"pi_1","metadata":{metadata}}}"#
        )
    };
    let ours = r#"{"refund_no":"RF7"}"#;
    for kind in ["refund.updated", "refund.created", "charge.refund.updated"] {
        assert_eq!(
            parse_event(event(kind, &refund("succeeded", ours)).as_bytes(), "a").unwrap(),
            GatewayEvent::RefundFinished {
                refund_no: "RF7".into(),
                succeeded: true
            }
        );
    }
    for status in ["failed", "canceled"] {
        assert_eq!(
            parse_event(
                event("refund.failed", &refund(status, ours)).as_bytes(),
                "a"
            )
            .unwrap(),
            GatewayEvent::RefundFinished {
                refund_no: "RF7".into(),
                succeeded: false
            }
        );
    }
    for (status, metadata) in [
        ("pending", ours),
        ("requires_action", ours),
        ("succeeded", "{}"),
    ] {
        assert_eq!(
            parse_event(
                event("refund.updated", &refund(status, metadata)).as_bytes(),
                "a"
            )
            .unwrap(),
            GatewayEvent::Ignored
        );
    }
    let charge = format!(
        r#"{{"id":"ch_1","object":"charge","refunded":true,"refunds":{{"object":"list","data":[{},{}]}}}}"#,
        refund("succeeded", "{}"),
        refund("succeeded", ours)
    );
    assert_eq!(
        parse_event(event("charge.refunded", &charge).as_bytes(), "a").unwrap(),
        GatewayEvent::RefundFinished {
            refund_no: "RF7".into(),
            succeeded: true
        }
    );
    // Without the refunds list (newer API versions): a refund.* event settles it.
    assert_eq!(
        parse_event(
            event("charge.refunded", r#"{"id":"ch_1","object":"charge"}"#).as_bytes(),
            "a"
        )
        .unwrap(),
        GatewayEvent::Ignored
    );
}

#[test]
fn other_and_unreadable_events() {
    assert_eq!(
        parse_event(
            event("payment_intent.created", r#"{"id":"pi_1"}"#).as_bytes(),
            "a"
        )
        .unwrap(),
        GatewayEvent::Ignored
    );
    for bad in [
        "",
        "not json",
        "{}",
        r#"{"type":"payment_intent.succeeded"}"#,
        &event("payment_intent.succeeded", r#"{"id":"pi_1"}"#),
        &event("refund.updated", "\"re_1\""),
    ] {
        assert!(
            matches!(
                parse_event(bad.as_bytes(), "a"),
                Err(PaymentError::Malformed(_))
            ),
            "{bad}"
        );
    }
}

#[tokio::test]
async fn a_signed_payment_event_through_the_gateway() {
    let body = event(
        "payment_intent.succeeded",
        r#"{"id":"pi_9","amount":1000,"currency":"cny","metadata":{"order_no":"O9"}}"#,
    );
    let now = 1_772_366_450;
    let g = gateway("whsec_test", now);
    let n = notification(
        &signature_header("whsec_test", now - 50, body.as_bytes()),
        body.as_bytes(),
    );
    let GatewayEvent::Paid(paid) = g.verify_notification(&n).await.unwrap() else {
        panic!("not paid");
    };
    assert_eq!(paid.amount, Money::parse("10.00", Currency::Cny).unwrap());
    assert_eq!(paid.merchant_id, g.merchant_id());
    // Signed by someone else.
    let forged = notification(
        &signature_header("whsec_guess", now, body.as_bytes()),
        body.as_bytes(),
    );
    assert!(matches!(
        g.verify_notification(&forged).await,
        Err(PaymentError::InvalidSignature)
    ));
}
