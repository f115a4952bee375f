//! End to end: `shop_core::Shop` on a real storage backend (SQLite) with the WeChat
//! Pay gateway. An encrypted, signed notification pays the order once;
//! forged, tampered, replayed, wrong-amount, wrong-merchant and
//! unknown-order notifications are refused with typed errors and change
//! nothing; 50 concurrent duplicates pay once; a refund notification
//! finishes a pending refund.

mod common;

use std::sync::Arc;

use chrono::Duration;
use common::fake_wechat::{fake_wechat, FakeWechat, Signing};
use common::wechat::{
    gateway, generated_key, paid, refund, Notifier, MCHID, MERCHANT_SERIAL, PLATFORM_SERIAL,
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
use shop_payments::wechat::{ApiV3Key, TradeType};

struct Wechat {
    w: World,
    fake: FakeWechat,
    notifier: Notifier,
    sku: Sku,
    order: Order,
}

fn cny(s: &str) -> Money {
    money(s, Currency::Cny)
}

async fn wechat() -> Wechat {
    let clock = Arc::new(ManualClock::new(start()));
    let (merchant, public) = generated_key(MERCHANT_SERIAL);
    let fake = fake_wechat(public, common::wechat::platform_signer(), clock.clone()).await;
    let g = gateway(
        &fake.server.base_url(),
        merchant,
        TradeType::Native,
        clock.clone(),
    );
    let w = world_on_sqlite(Arc::new(g), clock.clone()).await;
    let sku = w.sku(cny("10.00"), 5).await;
    let order = w.order(ALICE, &sku, 2).await;
    Wechat {
        w,
        fake,
        notifier: Notifier::new(clock),
        sku,
        order,
    }
}

async fn paid_orders(w: &World) -> usize {
    w.count_events(|e| matches!(e, DomainEvent::OrderPaid { .. }))
        .await
}

const TRANSACTION: &str = "4200002026030112345678901";

impl Wechat {
    fn genuine(&self) -> RawNotification {
        self.notifier
            .transaction(&paid(MCHID, &self.order.no, 2000, TRANSACTION))
    }

    async fn handle(&self, n: &RawNotification) -> Result<NotificationOutcome, Error> {
        self.w.shop.handle_payment_notification("wechat", n).await
    }

    async fn pay(&self) {
        assert_eq!(
            self.handle(&self.genuine()).await.unwrap(),
            NotificationOutcome::Paid(self.order.id)
        );
    }
}

#[tokio::test]
async fn the_buyer_scans_a_qr_code_and_a_notification_pays_the_order_once() {
    let s = wechat().await;
    let action =
        s.w.shop
            .start_payment(ALICE, s.order.id, "wechat", None)
            .await
            .unwrap();
    assert_eq!(
        action,
        PaymentAction::QrCode(format!("weixin://wxpay/bizpayurl?pr={}", s.order.no))
    );
    let (_, body) = &s.fake.bodies()[0];
    assert_eq!(body["amount"]["total"], 2000);
    assert_eq!(body["out_trade_no"], s.order.no.as_str());

    s.pay().await;
    let order = s.w.shop.order(ALICE, s.order.id).await.unwrap();
    assert_eq!(order.state.status, OrderStatus::Paid);
    let payment = order.payment.unwrap();
    assert_eq!(payment.method, "wechat");
    assert_eq!(payment.transaction_no, TRANSACTION);
    // success_time 2026-03-01T20:00:05+08:00, in UTC.
    assert_eq!(payment.paid_at, start() + Duration::seconds(5));

    // WeChat Pay retries until acknowledged: the same notification again
    // (and a freshly signed copy) change nothing.
    for n in [s.genuine(), s.genuine()] {
        assert_eq!(
            s.handle(&n).await.unwrap(),
            NotificationOutcome::AlreadyPaid(s.order.id)
        );
    }
    assert_eq!(paid_orders(&s.w).await, 1);
    assert_eq!(
        s.w.shop.product(s.sku.product_id).await.unwrap().sold_count,
        2
    );
}

#[tokio::test]
async fn refused_notifications_change_nothing() {
    let s = wechat().await;
    let n = &s.notifier;
    let order = &s.order;
    let events_before = s.w.count_events(|_| true).await;
    let genuine_resource = paid(MCHID, &order.no, 2000, TRANSACTION);
    let genuine_body = n.body("TRANSACTION.SUCCESS", "transaction", &genuine_resource);
    let now = start().timestamp();

    let (forger, _) = generated_key(PLATFORM_SERIAL);
    let forged = n.signed_by(&forger, now, genuine_body.clone());

    let mut tampered = n.signed(genuine_body.clone());
    let i = tampered
        .body
        .windows(11)
        .position(|w| w == b"\"summary\":\"")
        .unwrap();
    tampered.body[i + 11] ^= 0x01;

    let mut reserialised = n.signed(genuine_body.clone());
    let value: serde_json::Value = serde_json::from_slice(&genuine_body).unwrap();
    reserialised.body = serde_json::to_vec_pretty(&value).unwrap();

    let replayed = n.signed_by(
        &n.platform,
        now - Duration::minutes(6).num_seconds(),
        genuine_body.clone(),
    );

    let mut unknown_serial = n.signed(genuine_body.clone());
    for (k, v) in &mut unknown_serial.headers {
        if k == "wechatpay-serial" {
            *v = "D7CE59D1F522D702".into();
        }
    }

    let other_key = ApiV3Key::new("another0APIv3Key0of0another0shop").unwrap();
    let wrong_api_v3_key = n.signed(n.body_with_key(
        "TRANSACTION.SUCCESS",
        "transaction",
        &genuine_resource,
        &other_key,
    ));

    let wrong_amount = n.transaction(&paid(MCHID, &order.no, 1999, TRANSACTION));
    let wrong_merchant = n.transaction(&paid("1900000110", &order.no, 2000, TRANSACTION));
    let unknown_order = n.transaction(&paid(MCHID, "20990101000000000000", 2000, TRANSACTION));
    let mut no_money = paid(MCHID, &order.no, 2000, TRANSACTION);
    no_money["amount"] = serde_json::Value::Null;
    let malformed = n.transaction(&no_money);

    let kind = |e: &Error| -> &'static str {
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
    for (notification, expected) in [
        (&forged, "invalid signature"),
        (&tampered, "invalid signature"),
        (&reserialised, "invalid signature"),
        (&unknown_serial, "invalid signature"),
        (&wrong_api_v3_key, "invalid signature"),
        (&replayed, "replayed"),
        (&malformed, "malformed"),
        (&wrong_amount, "amount"),
        (&wrong_merchant, "merchant"),
        (&unknown_order, "unknown order"),
    ] {
        let err = s.handle(notification).await.unwrap_err();
        assert_eq!(kind(&err), expected, "{err}");
    }
    match s.handle(&wrong_amount).await {
        Err(Error::Payment(PaymentError::AmountMismatch { expected, got })) => {
            assert_eq!((expected, got), (cny("20.00"), cny("19.99")));
        }
        other => panic!("amount mismatch expected, got {other:?}"),
    }

    // Nothing changed: the order, the stock, the events.
    assert_eq!(s.w.shop.order(ALICE, order.id).await.unwrap(), *order);
    assert_eq!(s.w.stock(&s.sku).await, 3);
    assert_eq!(s.w.count_events(|_| true).await, events_before);

    // A genuine notification still pays, even after the forgeries.
    s.pay().await;
    // And a replayed copy of it after payment is still refused.
    s.w.clock.advance(Duration::minutes(6));
    let late = n.signed_by(&n.platform, now, genuine_body);
    assert!(matches!(
        s.handle(&late).await,
        Err(Error::Payment(PaymentError::Replayed))
    ));
    assert_eq!(paid_orders(&s.w).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_identical_notifications_pay_once() {
    let s = wechat().await;
    let n = s.genuine();
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let shop = s.w.shop.clone();
            let n = n.clone();
            tokio::spawn(async move { shop.handle_payment_notification("wechat", &n).await })
        })
        .collect();
    let (mut paid_once, mut duplicates) = (0, 0);
    for t in tasks {
        match t.await.unwrap().unwrap() {
            NotificationOutcome::Paid(id) if id == s.order.id => paid_once += 1,
            NotificationOutcome::AlreadyPaid(id) if id == s.order.id => duplicates += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((paid_once, duplicates), (1, 49));
    assert_eq!(paid_orders(&s.w).await, 1);
}

#[tokio::test]
async fn a_refund_notification_finishes_a_pending_refund() {
    let s = wechat().await;
    s.pay().await;
    s.fake.set(Signing::Genuine, "PROCESSING");
    s.w.shop
        .apply_refund(ALICE, s.order.id, "arrived broken")
        .await
        .unwrap();
    let pending = s.w.shop.approve_refund(s.order.id, None).await.unwrap();
    assert_eq!(pending.status, RefundRecordStatus::Pending);
    let (path, body) = s.fake.bodies().pop().unwrap();
    assert_eq!(path, "/v3/refund/domestic/refunds");
    assert_eq!(body["transaction_id"], TRANSACTION);
    assert_eq!(body["out_refund_no"], pending.refund_no.as_str());
    assert_eq!(
        body["amount"],
        serde_json::json!({"refund": 2000, "total": 2000, "currency": "CNY"})
    );
    let processing = s.w.shop.order(ALICE, s.order.id).await.unwrap();
    assert_eq!(processing.state.refund, RefundStatus::Processing);

    // Forged, another merchant's, still processing: nothing changes.
    let n = &s.notifier;
    let resource = refund(MCHID, &pending.refund_no, "SUCCESS", 2000);
    let (forger, _) = generated_key(PLATFORM_SERIAL);
    let forged = n.signed_by(
        &forger,
        start().timestamp(),
        n.body("REFUND.SUCCESS", "refund", &resource),
    );
    assert!(matches!(
        s.handle(&forged).await,
        Err(Error::Payment(PaymentError::InvalidSignature))
    ));
    let theirs = n.refund(
        "REFUND.SUCCESS",
        &refund("1900000110", &pending.refund_no, "SUCCESS", 2000),
    );
    assert!(matches!(
        s.handle(&theirs).await,
        Err(Error::Payment(PaymentError::MerchantMismatch { .. }))
    ));
    let still = n.refund(
        "REFUND.SUCCESS",
        &refund(MCHID, &pending.refund_no, "PROCESSING", 2000),
    );
    assert_eq!(
        s.handle(&still).await.unwrap(),
        NotificationOutcome::Ignored
    );
    assert_eq!(s.w.shop.order(ALICE, s.order.id).await.unwrap(), processing);

    let done = n.refund("REFUND.SUCCESS", &resource);
    assert_eq!(
        s.handle(&done).await.unwrap(),
        NotificationOutcome::RefundFinished(pending.refund_no.clone())
    );
    assert_eq!(
        s.handle(&done).await.unwrap(),
        NotificationOutcome::RefundAlreadyFinished(pending.refund_no.clone())
    );
    let order = s.w.shop.order(ALICE, s.order.id).await.unwrap();
    assert_eq!(order.state.refund, RefundStatus::Refunded);
    assert_eq!(
        s.w.count_events(|e| matches!(e, DomainEvent::RefundSucceeded { .. }))
            .await,
        1
    );
}

#[tokio::test]
async fn an_abnormal_refund_fails_and_the_buyer_may_apply_again() {
    let s = wechat().await;
    s.pay().await;
    s.fake.set(Signing::Genuine, "PROCESSING");
    s.w.shop
        .apply_refund(ALICE, s.order.id, "changed my mind")
        .await
        .unwrap();
    let pending = s.w.shop.approve_refund(s.order.id, None).await.unwrap();
    let abnormal = s.notifier.refund(
        "REFUND.ABNORMAL",
        &refund(MCHID, &pending.refund_no, "ABNORMAL", 2000),
    );
    assert_eq!(
        s.handle(&abnormal).await.unwrap(),
        NotificationOutcome::RefundFinished(pending.refund_no.clone())
    );
    let order = s.w.shop.order(ALICE, s.order.id).await.unwrap();
    assert_eq!(order.state.refund, RefundStatus::Failed);
    assert_eq!(
        s.w.count_events(|e| matches!(e, DomainEvent::RefundSucceeded { .. }))
            .await,
        0
    );

    // Applying again and WeChat Pay answering SUCCESS at once refunds it.
    s.fake.set(Signing::Genuine, "SUCCESS");
    s.w.shop
        .apply_refund(ALICE, s.order.id, "still broken")
        .await
        .unwrap();
    let second = s.w.shop.approve_refund(s.order.id, None).await.unwrap();
    assert_eq!(second.status, RefundRecordStatus::Succeeded);
    assert_ne!(second.refund_no, pending.refund_no);
    let order = s.w.shop.order(ALICE, s.order.id).await.unwrap();
    assert_eq!(order.state.refund, RefundStatus::Refunded);
}
