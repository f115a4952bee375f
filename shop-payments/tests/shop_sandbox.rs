//! End to end: `shop_core::Shop` on a real storage backend (SQLite) with the sandbox
//! gateway. A signed notification pays once; forged, tampered, replayed,
//! wrong-amount, wrong-merchant and unknown-order notifications are refused
//! with typed errors and change nothing; 50 concurrent duplicates pay once;
//! refunds go through the sandbox.

mod common;

use std::sync::Arc;

use chrono::Duration;
use common::{money, start, world_on_sqlite, World, ALICE};
use shop_core::catalog::Sku;
use shop_core::clock::ManualClock;
use shop_core::events::DomainEvent;
use shop_core::order::{Order, OrderStatus, RefundStatus};
use shop_core::payment::{GatewayRefundStatus, PaymentError, VerifiedPayment};
use shop_core::refund::RefundRecordStatus;
use shop_core::service::NotificationOutcome;
use shop_core::{Currency, Error, Money};
use shop_payments::{SandboxEvent, SandboxGateway};

const SECRET: &[u8] = b"e2e sandbox secret";

struct Sandboxed {
    w: World,
    sandbox: Arc<SandboxGateway>,
    sku: Sku,
    order: Order,
}

fn cny(s: &str) -> Money {
    money(s, Currency::Cny)
}

async fn sandboxed() -> Sandboxed {
    let clock = Arc::new(ManualClock::new(start()));
    let sandbox = Arc::new(
        SandboxGateway::new(SECRET.to_vec(), "http://127.0.0.1:8080/sandbox/pay")
            .with_merchant_id("M-SHOP")
            .with_clock(clock.clone()),
    );
    let w = world_on_sqlite(sandbox.clone(), clock).await;
    let sku = w.sku(cny("10.00"), 5).await;
    let order = w.order(ALICE, &sku, 2).await;
    Sandboxed {
        w,
        sandbox,
        sku,
        order,
    }
}

async fn paid_orders(w: &World) -> usize {
    w.count_events(|e| matches!(e, DomainEvent::OrderPaid { .. }))
        .await
}

#[tokio::test]
async fn a_signed_notification_pays_the_order_once() {
    let s = sandboxed().await;
    let n = s.sandbox.notify_paid(&s.order.no, s.order.total);
    assert_eq!(
        s.w.shop
            .handle_payment_notification("sandbox", &n)
            .await
            .unwrap(),
        NotificationOutcome::Paid(s.order.id)
    );
    let paid = s.w.shop.order(ALICE, s.order.id).await.unwrap();
    assert_eq!(paid.state.status, OrderStatus::Paid);
    let payment = paid.payment.unwrap();
    assert_eq!(payment.method, "sandbox");
    assert_eq!(payment.transaction_no, format!("SBX{}", s.order.no));
    assert_eq!(payment.paid_at, start());

    // The button pressed again: a duplicate, acknowledged, nothing changes.
    let again = s.sandbox.notify_paid(&s.order.no, s.order.total);
    assert_eq!(
        s.w.shop
            .handle_payment_notification("sandbox", &again)
            .await
            .unwrap(),
        NotificationOutcome::AlreadyPaid(s.order.id)
    );
    assert_eq!(paid_orders(&s.w).await, 1);
    assert_eq!(
        s.w.shop.product(s.sku.product_id).await.unwrap().sold_count,
        2
    );
}

#[tokio::test]
async fn refused_notifications_change_nothing() {
    let s = sandboxed().await;
    let sandbox = &s.sandbox;
    let order = &s.order;
    let events_before = s.w.count_events(|_| true).await;
    let paid = |merchant: &str, order_no: &str, amount: Money| {
        SandboxEvent::Paid(VerifiedPayment {
            merchant_id: merchant.into(),
            order_no: order_no.into(),
            amount,
            transaction_no: "T-1".into(),
            paid_at: start(),
        })
    };
    let genuine = paid("M-SHOP", &order.no, order.total);

    let forger = SandboxGateway::new(b"not the secret".to_vec(), "x")
        .with_merchant_id("M-SHOP")
        .with_clock(s.w.clock.clone());
    let forged = forger.notification(&genuine);

    let mut tampered = sandbox.notification(&paid("M-SHOP", &order.no, cny("20.00")));
    let body = String::from_utf8(tampered.body.clone()).unwrap();
    tampered.body = body.replace("amount=20.00", "amount=00.01").into_bytes();

    let replayed = sandbox.notification_at(&genuine, start() - Duration::minutes(6));
    let wrong_amount = sandbox.notification(&paid("M-SHOP", &order.no, cny("19.99")));
    let wrong_currency =
        sandbox.notification(&paid("M-SHOP", &order.no, money("20.00", Currency::Usd)));
    let wrong_merchant = sandbox.notification(&paid("M-OTHER", &order.no, order.total));
    let unknown_order = sandbox.notification(&paid("M-SHOP", "20990101000000000000", order.total));
    let mut malformed = sandbox.notification(&genuine);
    malformed.body = b"event=payment.succeeded".to_vec();
    let t = start().timestamp();
    malformed.headers = vec![
        ("sandbox-timestamp".into(), t.to_string()),
        ("sandbox-signature".into(), sandbox.sign(t, &malformed.body)),
    ];

    let check = |e: &Error| -> &'static str {
        match e {
            Error::Payment(PaymentError::InvalidSignature) => "invalid signature",
            Error::Payment(PaymentError::Replayed) => "replayed",
            Error::Payment(PaymentError::Malformed(_)) => "malformed",
            Error::Payment(PaymentError::AmountMismatch { .. }) => "amount",
            Error::Payment(PaymentError::MerchantMismatch { .. }) => "merchant",
            Error::Payment(PaymentError::UnknownOrder(_)) => "unknown order",
            _ => "other",
        }
    };
    for (n, expected) in [
        (&forged, "invalid signature"),
        (&tampered, "invalid signature"),
        (&replayed, "replayed"),
        (&malformed, "malformed"),
        (&wrong_amount, "amount"),
        (&wrong_currency, "amount"),
        (&wrong_merchant, "merchant"),
        (&unknown_order, "unknown order"),
    ] {
        let err =
            s.w.shop
                .handle_payment_notification("sandbox", n)
                .await
                .unwrap_err();
        assert_eq!(check(&err), expected, "{err}");
    }
    if let Err(Error::Payment(PaymentError::AmountMismatch { expected, got })) =
        s.w.shop
            .handle_payment_notification("sandbox", &wrong_amount)
            .await
    {
        assert_eq!((expected, got), (cny("20.00"), cny("19.99")));
    } else {
        panic!("amount mismatch expected");
    }

    // Nothing changed: the order, the stock, the events.
    assert_eq!(s.w.shop.order(ALICE, order.id).await.unwrap(), *order);
    assert_eq!(s.w.stock(&s.sku).await, 3);
    assert_eq!(s.w.count_events(|_| true).await, events_before);

    // The genuine one still pays.
    let n = sandbox.notification(&genuine);
    assert_eq!(
        s.w.shop
            .handle_payment_notification("sandbox", &n)
            .await
            .unwrap(),
        NotificationOutcome::Paid(order.id)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_identical_notifications_pay_once() {
    let s = sandboxed().await;
    let n = s.sandbox.notify_paid(&s.order.no, s.order.total);
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let shop = s.w.shop.clone();
            let n = n.clone();
            tokio::spawn(async move { shop.handle_payment_notification("sandbox", &n).await })
        })
        .collect();
    let (mut paid, mut duplicates) = (0, 0);
    for t in tasks {
        match t.await.unwrap().unwrap() {
            NotificationOutcome::Paid(id) if id == s.order.id => paid += 1,
            NotificationOutcome::AlreadyPaid(id) if id == s.order.id => duplicates += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((paid, duplicates), (1, 49));
    assert_eq!(paid_orders(&s.w).await, 1);
    assert_eq!(
        s.w.shop.product(s.sku.product_id).await.unwrap().sold_count,
        2
    );
}

#[tokio::test]
async fn refunds_go_through_the_sandbox() {
    let s = sandboxed().await;
    let n = s.sandbox.notify_paid(&s.order.no, s.order.total);
    s.w.shop
        .handle_payment_notification("sandbox", &n)
        .await
        .unwrap();

    // Answered at once: the refund finishes inside approve_refund.
    s.w.shop
        .apply_refund(ALICE, s.order.id, "arrived broken")
        .await
        .unwrap();
    let refund = s.w.shop.approve_refund(s.order.id, None).await.unwrap();
    assert_eq!(refund.status, RefundRecordStatus::Succeeded);
    assert_eq!(refund.amount, cny("20.00"));
    let asked = s.sandbox.refunds();
    assert_eq!(asked.len(), 1);
    assert_eq!(asked[0].refund_no, refund.refund_no);
    assert_eq!(asked[0].transaction_no, format!("SBX{}", s.order.no));
    assert_eq!(asked[0].amount, cny("20.00"));
    assert_eq!(asked[0].paid_total, cny("20.00"));
    assert_eq!(asked[0].reason, "arrived broken");
    let order = s.w.shop.order(ALICE, s.order.id).await.unwrap();
    assert_eq!(order.state.refund, RefundStatus::Refunded);
    assert_eq!(
        s.w.count_events(|e| matches!(e, DomainEvent::RefundSucceeded { .. }))
            .await,
        1
    );
    // A late refund notification for it changes nothing.
    let late = s.sandbox.notify_refund(&refund.refund_no, true);
    assert_eq!(
        s.w.shop
            .handle_payment_notification("sandbox", &late)
            .await
            .unwrap(),
        NotificationOutcome::RefundAlreadyFinished(refund.refund_no.clone())
    );
}

#[tokio::test]
async fn a_pending_sandbox_refund_is_settled_by_its_notification() {
    let s = sandboxed().await;
    s.sandbox.set_refund_answer(GatewayRefundStatus::Pending);
    let n = s.sandbox.notify_paid(&s.order.no, s.order.total);
    s.w.shop
        .handle_payment_notification("sandbox", &n)
        .await
        .unwrap();
    s.w.shop
        .apply_refund(ALICE, s.order.id, "changed my mind")
        .await
        .unwrap();
    let refund = s.w.shop.approve_refund(s.order.id, None).await.unwrap();
    assert_eq!(refund.status, RefundRecordStatus::Pending);
    let processing = s.w.shop.order(ALICE, s.order.id).await.unwrap();
    assert_eq!(processing.state.refund, RefundStatus::Processing);

    // A forged refund notification is refused and changes nothing.
    let forger = SandboxGateway::new(b"guess".to_vec(), "x").with_clock(s.w.clock.clone());
    let forged = forger.notify_refund(&refund.refund_no, true);
    assert!(matches!(
        s.w.shop
            .handle_payment_notification("sandbox", &forged)
            .await,
        Err(Error::Payment(PaymentError::InvalidSignature))
    ));
    assert_eq!(s.w.shop.order(ALICE, s.order.id).await.unwrap(), processing);

    let done = s.sandbox.notify_refund(&refund.refund_no, true);
    assert_eq!(
        s.w.shop
            .handle_payment_notification("sandbox", &done)
            .await
            .unwrap(),
        NotificationOutcome::RefundFinished(refund.refund_no.clone())
    );
    assert_eq!(
        s.w.shop
            .handle_payment_notification("sandbox", &done)
            .await
            .unwrap(),
        NotificationOutcome::RefundAlreadyFinished(refund.refund_no.clone())
    );
    let order = s.w.shop.order(ALICE, s.order.id).await.unwrap();
    assert_eq!(order.state.refund, RefundStatus::Refunded);
    assert_eq!(
        s.w.count_events(|e| matches!(e, DomainEvent::RefundSucceeded { .. }))
            .await,
        1
    );
}
