//! The Stripe gateway against a fake Stripe on 127.0.0.1, through the real
//! reqwest transport: PaymentIntents, refunds, errors, and a whole purchase
//! and refund through `Shop`.

mod common;

use std::sync::{Arc, Mutex};

use common::fake_http::{serve, FakeServer, Received};
use common::{money, start, world_on_sqlite, ALICE};
use shop_core::clock::ManualClock;
use shop_core::events::DomainEvent;
use shop_core::order::{OrderStatus, RefundStatus};
use shop_core::payment::{
    GatewayRefund, GatewayRefundStatus, PaymentAction, PaymentError, PaymentGateway,
    PaymentRequest, RawNotification,
};
use shop_core::refund::RefundRecordStatus;
use shop_core::service::NotificationOutcome;
use shop_core::Currency;
use shop_payments::stripe::webhook::signature_header;
use shop_payments::{ProviderError, ReqwestTransport, StripeConfig, StripeGateway};

const KEY: &str = "sk_test_51Shop";
const WHSEC: &str = "whsec_fake";

fn error(status: u16, kind: &str, code: &str, message: &str) -> (u16, String) {
    (
        status,
        format!(r#"{{"error":{{"type":"{kind}","code":"{code}","message":"{message}"}}}}"#),
    )
}

/// Plays Stripe: checks the key and the form fields like Stripe would and
/// answers with Stripe-shaped JSON. Refunds answer `refund_status`.
async fn fake_stripe(refund_status: Arc<Mutex<&'static str>>) -> FakeServer {
    serve(move |r: &Received| {
        if r.header("authorization") != Some(&format!("Bearer {KEY}")) {
            return (
                401,
                r#"{"error":{"type":"invalid_request_error","message":"Invalid API Key provided"}}"#
                    .into(),
            );
        }
        if r.method != "POST"
            || r.header("content-type") != Some("application/x-www-form-urlencoded")
        {
            return error(400, "invalid_request_error", "bad_request", "form POST expected");
        }
        let amount: Option<i64> = r.field("amount").and_then(|a| a.parse().ok());
        match r.path.as_str() {
            "/v1/payment_intents" => {
                let (Some(amount), Some(currency), Some(order_no)) =
                    (amount, r.field("currency"), r.field("metadata[order_no]"))
                else {
                    return error(400, "invalid_request_error", "parameter_missing", "missing");
                };
                if currency != currency.to_lowercase() || amount < 50 {
                    return error(400, "invalid_request_error", "amount_too_small", "too small");
                }
                (
                    200,
                    format!(
                        r#"{{"id":"pi_{order_no}","object":"payment_intent","amount":{amount},"currency":"{currency}","client_secret":"pi_{order_no}_secret_xyz","status":"requires_payment_method","metadata":{{"order_no":"{order_no}"}}}}"#
                    ),
                )
            }
            "/v1/refunds" => {
                let (Some(amount), Some(pi), Some(refund_no)) = (
                    amount,
                    r.field("payment_intent"),
                    r.field("metadata[refund_no]"),
                ) else {
                    return error(400, "invalid_request_error", "parameter_missing", "missing");
                };
                if r.header("idempotency-key") != Some(refund_no.as_str()) {
                    return error(400, "invalid_request_error", "idempotency", "key");
                }
                let status = *refund_status.lock().unwrap();
                (
                    200,
                    format!(
                        r#"{{"id":"re_{refund_no}","object":"refund","amount":{amount},"payment_intent":"{pi}","status":"{status}","metadata":{{"refund_no":"{refund_no}"}}}}"#
                    ),
                )
            }
            _ => error(404, "invalid_request_error", "resource_missing", "no such path"),
        }
    })
    .await
}

fn transport() -> Arc<ReqwestTransport> {
    let client = shop_payments::reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap();
    Arc::new(ReqwestTransport::with_client(client))
}

fn stripe(server: &FakeServer, key: &str, clock: Arc<ManualClock>) -> StripeGateway {
    let mut config = StripeConfig::new(
        key,
        WHSEC,
        "acct_shop",
        "https://shop.invalid/stripe/checkout",
    );
    config.api_base = server.base_url();
    config.api_version = Some("2025-03-31.basil".into());
    StripeGateway::new(config, transport()).with_clock(clock)
}

fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(start()))
}

fn request(amount: &str, currency: Currency) -> PaymentRequest {
    PaymentRequest {
        order_no: "O1".into(),
        amount: money(amount, currency),
        subject: "Order O1".into(),
        return_url: Some("https://shop.invalid/orders/1".into()),
    }
}

fn provider_error(err: &PaymentError) -> &ProviderError {
    let PaymentError::Gateway { source } = err else {
        panic!("not a gateway error: {err}");
    };
    source
        .downcast_ref::<ProviderError>()
        .expect("a ProviderError")
}

#[tokio::test]
async fn creates_a_payment_intent_and_redirects_to_the_checkout_page() {
    let server = fake_stripe(Arc::new(Mutex::new("succeeded"))).await;
    let g = stripe(&server, KEY, clock());
    let action = g
        .create_payment(&request("12.34", Currency::Usd))
        .await
        .unwrap();
    assert_eq!(
        action,
        PaymentAction::Redirect(
            "https://shop.invalid/stripe/checkout?payment_intent=pi_O1\
             &client_secret=pi_O1_secret_xyz&order_no=O1\
             &return_url=https%3A%2F%2Fshop.invalid%2Forders%2F1"
                .into()
        )
    );
    let sent = server.received();
    assert_eq!(sent.len(), 1);
    let r = &sent[0];
    assert_eq!(r.path, "/v1/payment_intents");
    assert_eq!(r.field("amount").as_deref(), Some("1234"));
    assert_eq!(r.field("currency").as_deref(), Some("usd"));
    assert_eq!(r.field("metadata[order_no]").as_deref(), Some("O1"));
    assert_eq!(r.field("description").as_deref(), Some("Order O1"));
    assert_eq!(
        r.field("automatic_payment_methods[enabled]").as_deref(),
        Some("true")
    );
    assert_eq!(r.header("idempotency-key"), Some("payment-intent-O1"));
    assert_eq!(r.header("stripe-version"), Some("2025-03-31.basil"));

    // JPY has no minor unit: 500 yen is 500.
    g.create_payment(&request("500", Currency::Jpy))
        .await
        .unwrap();
    assert_eq!(server.received()[1].field("amount").as_deref(), Some("500"));
}

#[tokio::test]
async fn stripe_errors_and_bad_amounts_are_typed() {
    let server = fake_stripe(Arc::new(Mutex::new("succeeded"))).await;
    let wrong_key = stripe(&server, "sk_test_wrong", clock());
    let err = wrong_key
        .create_payment(&request("12.34", Currency::Usd))
        .await
        .unwrap_err();
    let ProviderError::Api { status, .. } = provider_error(&err) else {
        panic!("{err}");
    };
    assert_eq!(*status, 401);
    assert!(!provider_error(&err).is_retryable());

    let g = stripe(&server, KEY, clock());
    let err = g
        .create_payment(&request("0.10", Currency::Usd))
        .await
        .unwrap_err();
    assert!(
        matches!(provider_error(&err), ProviderError::Api { status: 400, code, .. } if code == "amount_too_small"),
        "{err}"
    );

    // Refused before anything is sent.
    let before = server.received().len();
    for amount in ["0.001", "1000000.00", "0"] {
        let err = g
            .create_payment(&request(amount, Currency::Usd))
            .await
            .unwrap_err();
        assert!(
            matches!(provider_error(&err), ProviderError::Amount(_)),
            "{err}"
        );
    }
    assert_eq!(server.received().len(), before);
}

#[tokio::test]
async fn an_unreachable_stripe_is_a_retryable_gateway_error() {
    // A port that was free a moment ago: nothing listens there.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = closed.local_addr().unwrap();
    drop(closed);
    let mut config = StripeConfig::new(KEY, WHSEC, "acct_shop", "https://shop.invalid/pay");
    config.api_base = format!("http://{addr}");
    let g = StripeGateway::new(config, transport());
    let err = g
        .create_payment(&request("12.34", Currency::Usd))
        .await
        .unwrap_err();
    assert!(
        matches!(provider_error(&err), ProviderError::Transport(_)),
        "{err}"
    );
    assert!(provider_error(&err).is_retryable());
}

fn refund(refund_no: &str, amount: &str) -> GatewayRefund {
    GatewayRefund {
        order_no: "O1".into(),
        transaction_no: "pi_O1".into(),
        refund_no: refund_no.into(),
        amount: money(amount, Currency::Usd),
        paid_total: money("20.00", Currency::Usd),
        reason: "broken".into(),
    }
}

#[tokio::test]
async fn refunds_map_stripe_statuses() {
    let status = Arc::new(Mutex::new("succeeded"));
    let server = fake_stripe(status.clone()).await;
    let g = stripe(&server, KEY, clock());
    for (stripe_status, ours) in [
        ("succeeded", GatewayRefundStatus::Succeeded),
        ("pending", GatewayRefundStatus::Pending),
        ("requires_action", GatewayRefundStatus::Pending),
        ("failed", GatewayRefundStatus::Failed),
        ("canceled", GatewayRefundStatus::Failed),
    ] {
        *status.lock().unwrap() = stripe_status;
        assert_eq!(g.refund(&refund("RF1", "5.00")).await.unwrap(), ours);
    }
    let r = &server.received()[0];
    assert_eq!(r.path, "/v1/refunds");
    assert_eq!(r.field("payment_intent").as_deref(), Some("pi_O1"));
    assert_eq!(r.field("amount").as_deref(), Some("500"));
    assert_eq!(r.field("metadata[refund_no]").as_deref(), Some("RF1"));
    assert_eq!(r.field("metadata[order_no]").as_deref(), Some("O1"));
    assert_eq!(r.field("reason").as_deref(), Some("requested_by_customer"));
    assert_eq!(r.header("idempotency-key"), Some("RF1"));

    *status.lock().unwrap() = "exploded";
    let err = g.refund(&refund("RF2", "5.00")).await.unwrap_err();
    assert!(
        matches!(provider_error(&err), ProviderError::InvalidResponse(_)),
        "{err}"
    );
    let mut cross = refund("RF3", "5.00");
    cross.amount = money("5.00", Currency::Eur);
    let err = g.refund(&cross).await.unwrap_err();
    assert!(
        matches!(provider_error(&err), ProviderError::Refused(_)),
        "{err}"
    );
}

fn webhook(body: &str, at: i64) -> RawNotification {
    RawNotification {
        headers: vec![(
            "stripe-signature".into(),
            signature_header(WHSEC, at, body.as_bytes()),
        )],
        query: String::new(),
        body: body.as_bytes().to_vec(),
    }
}

#[tokio::test]
async fn a_purchase_paid_and_refunded_through_stripe() {
    let refund_status = Arc::new(Mutex::new("pending"));
    let server = fake_stripe(refund_status.clone()).await;
    let clock = clock();
    let w = world_on_sqlite(Arc::new(stripe(&server, KEY, clock.clone())), clock.clone()).await;
    let sku = w.sku(money("10.00", Currency::Cny), 5).await;
    let order = w.order(ALICE, &sku, 2).await;

    let PaymentAction::Redirect(url) = w
        .shop
        .start_payment(ALICE, order.id, "stripe", None)
        .await
        .unwrap()
    else {
        panic!("not a redirect");
    };
    let pi = format!("pi_{}", order.no);
    assert!(url.contains(&format!("payment_intent={pi}")), "{url}");
    assert_eq!(
        server.received()[0].field("amount").as_deref(),
        Some("2000")
    );
    assert_eq!(
        server.received()[0].field("currency").as_deref(),
        Some("cny")
    );

    let now = start().timestamp();
    let succeeded = format!(
        r#"{{"id":"evt_1","object":"event","type":"payment_intent.succeeded","created":{now},"data":{{"object":{{"id":"{pi}","object":"payment_intent","amount":2000,"amount_received":2000,"currency":"cny","metadata":{{"order_no":"{}"}}}}}}}}"#,
        order.no
    );
    let n = webhook(&succeeded, now);
    assert_eq!(
        w.shop
            .handle_payment_notification("stripe", &n)
            .await
            .unwrap(),
        NotificationOutcome::Paid(order.id)
    );
    assert_eq!(
        w.shop
            .handle_payment_notification("stripe", &n)
            .await
            .unwrap(),
        NotificationOutcome::AlreadyPaid(order.id)
    );
    let paid = w.shop.order(ALICE, order.id).await.unwrap();
    assert_eq!(paid.state.status, OrderStatus::Paid);
    assert_eq!(paid.payment.as_ref().unwrap().transaction_no, pi);

    // Stripe answers "pending"; the refund.updated webhook settles it.
    w.shop
        .apply_refund(ALICE, order.id, "broken")
        .await
        .unwrap();
    let refund = w.shop.approve_refund(order.id, None).await.unwrap();
    assert_eq!(refund.status, RefundRecordStatus::Pending);
    let sent = server.received();
    let r = sent.last().unwrap();
    assert_eq!(r.field("payment_intent").as_deref(), Some(pi.as_str()));
    assert_eq!(r.field("amount").as_deref(), Some("2000"));
    assert_eq!(r.header("idempotency-key"), Some(refund.refund_no.as_str()));

    let updated = format!(
        r#"{{"id":"evt_2","object":"event","type":"refund.updated","created":{now},"data":{{"object":{{"id":"re_1","object":"refund","status":"succeeded","metadata":{{"refund_no":"{}"}}}}}}}}"#,
        refund.refund_no
    );
    let n = webhook(&updated, now);
    assert_eq!(
        w.shop
            .handle_payment_notification("stripe", &n)
            .await
            .unwrap(),
        NotificationOutcome::RefundFinished(refund.refund_no.clone())
    );
    assert_eq!(
        w.shop
            .handle_payment_notification("stripe", &n)
            .await
            .unwrap(),
        NotificationOutcome::RefundAlreadyFinished(refund.refund_no.clone())
    );
    let done = w.shop.order(ALICE, order.id).await.unwrap();
    assert_eq!(done.state.refund, RefundStatus::Refunded);
    assert_eq!(
        w.count_events(|e| matches!(e, DomainEvent::RefundSucceeded { .. }))
            .await,
        1
    );
    assert_eq!(
        w.count_events(|e| matches!(e, DomainEvent::OrderPaid { .. }))
            .await,
        1
    );
}
