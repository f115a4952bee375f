//! End to end: `shop_core::Shop` on a real storage backend (SQLite) with the Alipay
//! gateway. A notification signed with Alipay's key pays the order once;
//! forged, tampered, wrong-amount, wrong-app_id, wrong-seller,
//! unknown-order and WAIT_BUYER_PAY notifications change nothing; 50
//! concurrent duplicates pay once; a refund goes through a fake Alipay.

#[path = "common/alipay.rs"]
mod alipay_fake;
mod common;

use std::sync::Arc;

use alipay_fake::{
    config, fake_alipay, gateway, set, signed_notification, trade_params, FakeAlipay, Keys, APP_ID,
};
use common::{money, start, world_on_sqlite, World, ALICE};
use shop_core::catalog::Sku;
use shop_core::clock::ManualClock;
use shop_core::events::DomainEvent;
use shop_core::order::{Order, OrderStatus, RefundStatus};
use shop_core::payment::{PaymentAction, PaymentError, RawNotification};
use shop_core::refund::RefundRecordStatus;
use shop_core::service::NotificationOutcome;
use shop_core::{Currency, Error, Money};
use shop_payments::alipay::AlipayPayMode;

struct Paying {
    w: World,
    keys: Keys,
    fake: FakeAlipay,
    sku: Sku,
    order: Order,
}

fn cny(s: &str) -> Money {
    money(s, Currency::Cny)
}

async fn paying() -> Paying {
    let keys = Keys::generate();
    let fake = fake_alipay(keys.app.public_key(), keys.alipay.clone()).await;
    let clock = Arc::new(ManualClock::new(start()));
    let g = gateway(
        config(&keys, fake.url(), AlipayPayMode::PagePay),
        clock.clone(),
    );
    let w = world_on_sqlite(Arc::new(g), clock).await;
    let sku = w.sku(cny("10.00"), 5).await;
    let order = w.order(ALICE, &sku, 2).await;
    Paying {
        w,
        keys,
        fake,
        sku,
        order,
    }
}

impl Paying {
    fn paid(&self, amount: &str, status: &str) -> Vec<(String, String)> {
        trade_params(&self.order.no, amount, status, start())
    }

    fn notify(&self, params: &[(String, String)]) -> RawNotification {
        signed_notification(&self.keys.alipay, params)
    }

    async fn handle(&self, n: &RawNotification) -> Result<NotificationOutcome, Error> {
        self.w.shop.handle_payment_notification("alipay", n).await
    }

    async fn order_paid_events(&self) -> usize {
        self.w
            .count_events(|e| matches!(e, DomainEvent::OrderPaid { .. }))
            .await
    }
}

#[tokio::test]
async fn a_signed_notification_pays_the_order_once() {
    let p = paying().await;
    let PaymentAction::Redirect(url) =
        p.w.shop
            .start_payment(ALICE, p.order.id, "alipay", None)
            .await
            .unwrap()
    else {
        panic!("not a redirect");
    };
    assert!(url.contains("total_amount%22%3A%2220.00%22"), "{url}");

    let n = p.notify(&p.paid("20.00", "TRADE_SUCCESS"));
    assert_eq!(
        p.handle(&n).await.unwrap(),
        NotificationOutcome::Paid(p.order.id)
    );
    let paid = p.w.shop.order(ALICE, p.order.id).await.unwrap();
    assert_eq!(paid.state.status, OrderStatus::Paid);
    let payment = paid.payment.unwrap();
    assert_eq!(payment.method, "alipay");
    assert_eq!(payment.transaction_no, format!("2026{}", p.order.no));
    assert_eq!(payment.paid_at, start());

    // Alipay retries, and later sends TRADE_FINISHED: duplicates.
    assert_eq!(
        p.handle(&n).await.unwrap(),
        NotificationOutcome::AlreadyPaid(p.order.id)
    );
    let finished = p.notify(&p.paid("20.00", "TRADE_FINISHED"));
    assert_eq!(
        p.handle(&finished).await.unwrap(),
        NotificationOutcome::AlreadyPaid(p.order.id)
    );
    assert_eq!(p.order_paid_events().await, 1);
    assert_eq!(
        p.w.shop.product(p.sku.product_id).await.unwrap().sold_count,
        2
    );
}

#[tokio::test]
async fn refused_notifications_change_nothing() {
    let p = paying().await;
    let events_before = p.w.count_events(|_| true).await;
    let genuine = p.paid("20.00", "TRADE_SUCCESS");

    let forged = signed_notification(&alipay_fake::generate_key(), &genuine);
    let signed_by_us = signed_notification(&p.keys.app, &genuine);
    let mut tampered = p.notify(&genuine);
    let body = String::from_utf8(tampered.body.clone()).unwrap();
    tampered.body = body
        .replace("total_amount=20.00", "total_amount=0.01")
        .into_bytes();
    assert_ne!(tampered.body, body.as_bytes());
    // One byte of the subject ("Order 1 + tea cups", sent as
    // `Order+1+%2B+tea+cups`) changed.
    let mut flipped = p.notify(&genuine);
    let text = String::from_utf8(flipped.body.clone()).unwrap();
    assert!(text.contains("subject=Order+1+%2B+tea+cups"), "{text}");
    flipped.body = text.replace("+tea+", "+tee+").into_bytes();
    let wrong_amount = p.notify(&p.paid("19.99", "TRADE_SUCCESS"));
    let mut other_app = genuine.clone();
    set(&mut other_app, "app_id", "2021000000000999");
    let mut other_seller = genuine.clone();
    set(&mut other_seller, "seller_id", "2088000000000999");
    let unknown_order = p.notify(&trade_params(
        "20990101000000000000",
        "20.00",
        "TRADE_SUCCESS",
        start(),
    ));
    let unsigned = RawNotification {
        body: b"out_trade_no=1&total_amount=20.00&trade_status=TRADE_SUCCESS".to_vec(),
        ..RawNotification::default()
    };

    let kind = |e: &Error| -> &'static str {
        match e {
            Error::Payment(PaymentError::InvalidSignature) => "invalid signature",
            Error::Payment(PaymentError::Malformed(_)) => "malformed",
            Error::Payment(PaymentError::AmountMismatch { .. }) => "amount",
            Error::Payment(PaymentError::MerchantMismatch { .. }) => "merchant",
            Error::Payment(PaymentError::UnknownOrder(_)) => "unknown order",
            _ => "other",
        }
    };
    for (n, expected) in [
        (&forged, "invalid signature"),
        (&signed_by_us, "invalid signature"),
        (&tampered, "invalid signature"),
        (&flipped, "invalid signature"),
        (&unsigned, "invalid signature"),
        (&wrong_amount, "amount"),
        (&p.notify(&other_app), "merchant"),
        (&p.notify(&other_seller), "merchant"),
        (&unknown_order, "unknown order"),
    ] {
        let err = p.handle(n).await.unwrap_err();
        assert_eq!(kind(&err), expected, "{err}");
    }
    match p.handle(&wrong_amount).await {
        Err(Error::Payment(PaymentError::AmountMismatch { expected, got })) => {
            assert_eq!((expected, got), (cny("20.00"), cny("19.99")));
        }
        other => panic!("amount mismatch expected, got {other:?}"),
    }
    match p.handle(&p.notify(&other_app)).await {
        Err(Error::Payment(PaymentError::MerchantMismatch { expected, got })) => {
            assert_eq!(
                (expected.as_str(), got.as_str()),
                (APP_ID, "2021000000000999")
            );
        }
        other => panic!("merchant mismatch expected, got {other:?}"),
    }

    // Genuine but not a payment: acknowledged, nothing changes.
    for status in ["WAIT_BUYER_PAY", "TRADE_CLOSED"] {
        let n = p.notify(&p.paid("20.00", status));
        assert_eq!(p.handle(&n).await.unwrap(), NotificationOutcome::Ignored);
    }

    // Nothing changed: the order, the stock, the events.
    assert_eq!(p.w.shop.order(ALICE, p.order.id).await.unwrap(), p.order);
    assert_eq!(p.w.stock(&p.sku).await, 3);
    assert_eq!(p.w.count_events(|_| true).await, events_before);

    // The genuine one still pays.
    assert_eq!(
        p.handle(&p.notify(&genuine)).await.unwrap(),
        NotificationOutcome::Paid(p.order.id)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_identical_notifications_pay_once() {
    let p = paying().await;
    let n = p.notify(&p.paid("20.00", "TRADE_SUCCESS"));
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let shop = p.w.shop.clone();
            let n = n.clone();
            tokio::spawn(async move { shop.handle_payment_notification("alipay", &n).await })
        })
        .collect();
    let (mut paid, mut duplicates) = (0, 0);
    for t in tasks {
        match t.await.unwrap().unwrap() {
            NotificationOutcome::Paid(id) if id == p.order.id => paid += 1,
            NotificationOutcome::AlreadyPaid(id) if id == p.order.id => duplicates += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((paid, duplicates), (1, 49));
    assert_eq!(p.order_paid_events().await, 1);
}

#[tokio::test]
async fn a_refund_goes_through_alipay_once() {
    let p = paying().await;
    p.handle(&p.notify(&p.paid("20.00", "TRADE_SUCCESS")))
        .await
        .unwrap();
    p.w.shop
        .apply_refund(ALICE, p.order.id, "arrived broken")
        .await
        .unwrap();
    let refund = p.w.shop.approve_refund(p.order.id, None).await.unwrap();
    assert_eq!(refund.status, RefundRecordStatus::Succeeded);
    assert_eq!(refund.amount, cny("20.00"));
    let sent = p.fake.requests();
    let refund_call = sent.last().unwrap();
    let biz = refund_call
        .iter()
        .find(|(k, _)| k == "biz_content")
        .map(|(_, v)| v.clone())
        .unwrap();
    assert!(
        biz.contains(&format!(r#""out_request_no":"{}""#, refund.refund_no)),
        "{biz}"
    );
    assert!(biz.contains(r#""refund_amount":"20.00""#), "{biz}");
    assert!(
        biz.contains(&format!(r#""trade_no":"2026{}""#, p.order.no)),
        "{biz}"
    );
    let order = p.w.shop.order(ALICE, p.order.id).await.unwrap();
    assert_eq!(order.state.refund, RefundStatus::Refunded);

    // Alipay's refund notification arrives afterwards: nothing more happens.
    let mut refunded = p.paid("20.00", "TRADE_CLOSED");
    set(&mut refunded, "out_biz_no", &refund.refund_no);
    set(&mut refunded, "refund_fee", "20.00");
    set(&mut refunded, "gmt_refund", "2026-03-01 20:10:00.000");
    assert_eq!(
        p.handle(&p.notify(&refunded)).await.unwrap(),
        NotificationOutcome::RefundAlreadyFinished(refund.refund_no.clone())
    );
    assert_eq!(
        p.w.count_events(|e| matches!(e, DomainEvent::RefundSucceeded { .. }))
            .await,
        1
    );
}

#[tokio::test]
async fn an_optional_window_refuses_old_notifications() {
    use shop_core::payment::{GatewayEvent, PaymentGateway};
    use shop_payments::clock::TimestampWindow;

    let keys = Keys::generate();
    let clock = Arc::new(ManualClock::new(start()));
    let mut cfg = config(
        &keys,
        "http://127.0.0.1:9/gateway.do".into(),
        AlipayPayMode::PagePay,
    );
    cfg.notify_window = Some(TimestampWindow::new(chrono::Duration::minutes(5)));
    let g = gateway(cfg, clock.clone());
    let fresh = signed_notification(
        &keys.alipay,
        &trade_params("O1", "1.00", "TRADE_SUCCESS", start()),
    );
    assert!(matches!(
        g.verify_notification(&fresh).await,
        Ok(GatewayEvent::Paid(_))
    ));
    clock.advance(chrono::Duration::minutes(6));
    assert!(matches!(
        g.verify_notification(&fresh).await,
        Err(PaymentError::Replayed)
    ));
    // A forged one is still a signature error, whatever its time.
    let forged = signed_notification(
        &keys.app,
        &trade_params("O1", "1.00", "TRADE_SUCCESS", start()),
    );
    assert!(matches!(
        g.verify_notification(&forged).await,
        Err(PaymentError::InvalidSignature)
    ));
}
