//! The sandbox gateway on its own: payment URLs, signed notifications and
//! every way a notification is refused, refunds.

mod common;

use std::sync::Arc;

use chrono::Duration;
use common::{money, start};
use shop_core::clock::ManualClock;
use shop_core::payment::{
    GatewayEvent, GatewayRefund, GatewayRefundStatus, PaymentAction, PaymentError, PaymentGateway,
    PaymentRequest, RawNotification, VerifiedPayment,
};
use shop_core::Currency;
use shop_payments::clock::TimestampWindow;
use shop_payments::{ProviderError, SandboxEvent, SandboxGateway};

const SECRET: &[u8] = b"sandbox-secret";

fn sandbox() -> (SandboxGateway, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(start()));
    let gateway = SandboxGateway::new(SECRET.to_vec(), "https://shop.invalid/sandbox/pay")
        .with_merchant_id("M-1")
        .with_clock(clock.clone());
    (gateway, clock)
}

fn cny(s: &str) -> shop_core::Money {
    money(s, Currency::Cny)
}

/// A notification whose body is `body`, correctly signed now.
fn signed(gateway: &SandboxGateway, body: &[u8]) -> RawNotification {
    let t = start().timestamp();
    RawNotification {
        headers: vec![
            ("sandbox-timestamp".into(), t.to_string()),
            ("sandbox-signature".into(), gateway.sign(t, body)),
        ],
        query: String::new(),
        body: body.to_vec(),
    }
}

fn set_header(n: &mut RawNotification, name: &str, value: &str) {
    for (k, v) in &mut n.headers {
        if k == name {
            *v = value.to_owned();
        }
    }
}

#[tokio::test]
async fn create_payment_redirects_to_the_pay_page_with_order_and_amount() {
    let (gateway, _) = sandbox();
    let req = PaymentRequest {
        order_no: "20260301120000000001".into(),
        amount: cny("12.5"),
        subject: "Order 1 & tea".into(),
        return_url: Some("https://shop.invalid/orders/1?x=1".into()),
    };
    let PaymentAction::Redirect(url) = gateway.create_payment(&req).await.unwrap() else {
        panic!("not a redirect");
    };
    assert_eq!(
        url,
        "https://shop.invalid/sandbox/pay?order_no=20260301120000000001&amount=12.50\
         &currency=CNY&subject=Order+1+%26+tea\
         &return_url=https%3A%2F%2Fshop.invalid%2Forders%2F1%3Fx%3D1"
    );

    let with_query = SandboxGateway::new(SECRET.to_vec(), "http://127.0.0.1:8080/pay?lang=en");
    let req = PaymentRequest {
        return_url: None,
        ..req
    };
    let PaymentAction::Redirect(url) = with_query.create_payment(&req).await.unwrap() else {
        panic!("not a redirect");
    };
    assert!(
        url.starts_with("http://127.0.0.1:8080/pay?lang=en&order_no="),
        "{url}"
    );
    assert!(!url.contains("return_url"));

    let fractional = PaymentRequest {
        amount: cny("0.001"),
        ..req
    };
    let err = gateway.create_payment(&fractional).await.unwrap_err();
    assert!(matches!(err, PaymentError::Gateway { .. }), "{err}");
}

#[tokio::test]
async fn a_signed_payment_notification_reads_back_exactly() {
    let (gateway, _) = sandbox();
    assert_eq!(gateway.name(), "sandbox");
    assert_eq!(gateway.merchant_id(), "M-1");
    let n = gateway.notify_paid("ORDER-1", cny("10.00"));
    assert_eq!(
        n.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    let event = gateway.verify_notification(&n).await.unwrap();
    assert_eq!(
        event,
        GatewayEvent::Paid(VerifiedPayment {
            merchant_id: "M-1".into(),
            order_no: "ORDER-1".into(),
            amount: cny("10.00"),
            transaction_no: "SBXORDER-1".into(),
            paid_at: start(),
        })
    );
    // Header names are matched case-insensitively.
    let mut upper = n.clone();
    for (k, _) in &mut upper.headers {
        *k = k.to_ascii_uppercase();
    }
    assert!(gateway.verify_notification(&upper).await.is_ok());
}

#[tokio::test]
async fn waiting_and_refund_notifications() {
    let (gateway, _) = sandbox();
    let waiting = gateway.notification(&SandboxEvent::Waiting {
        order_no: "O1".into(),
    });
    assert_eq!(
        gateway.verify_notification(&waiting).await.unwrap(),
        GatewayEvent::Ignored
    );
    for ok in [true, false] {
        let n = gateway.notify_refund("RF1", ok);
        assert_eq!(
            gateway.verify_notification(&n).await.unwrap(),
            GatewayEvent::RefundFinished {
                refund_no: "RF1".into(),
                succeeded: ok
            }
        );
    }
}

#[tokio::test]
async fn forged_and_tampered_notifications_are_invalid_signatures() {
    let (gateway, _) = sandbox();
    let genuine = gateway.notify_paid("ORDER-1", cny("10.00"));

    // Signed with another secret.
    let forger = SandboxGateway::new(b"guessed".to_vec(), "x")
        .with_merchant_id("M-1")
        .with_clock(Arc::new(ManualClock::new(start())));
    let forged = forger.notify_paid("ORDER-1", cny("10.00"));
    assert!(matches!(
        gateway.verify_notification(&forged).await,
        Err(PaymentError::InvalidSignature)
    ));

    // Each byte of the body changed in turn.
    for i in 0..genuine.body.len() {
        let mut tampered = genuine.clone();
        tampered.body[i] ^= 0x01;
        assert!(
            matches!(
                gateway.verify_notification(&tampered).await,
                Err(PaymentError::InvalidSignature)
            ),
            "byte {i}"
        );
    }
    // A byte appended or removed.
    let mut longer = genuine.clone();
    longer.body.push(b'&');
    let mut shorter = genuine.clone();
    shorter.body.pop();
    // The timestamp changed by one second.
    let mut retimed = genuine.clone();
    set_header(
        &mut retimed,
        "sandbox-timestamp",
        &(start().timestamp() + 1).to_string(),
    );
    // The signature changed, truncated, not hex, or missing.
    let sig = genuine.header("sandbox-signature").unwrap().to_owned();
    let mut flipped = genuine.clone();
    let last = if sig.ends_with('0') { "1" } else { "0" };
    set_header(
        &mut flipped,
        "sandbox-signature",
        &format!("{}{last}", &sig[..sig.len() - 1]),
    );
    let mut truncated = genuine.clone();
    set_header(&mut truncated, "sandbox-signature", &sig[..62]);
    let mut not_hex = genuine.clone();
    set_header(&mut not_hex, "sandbox-signature", "zz");
    let mut unsigned = genuine.clone();
    unsigned.headers.retain(|(k, _)| k != "sandbox-signature");
    for n in [
        longer, shorter, retimed, flipped, truncated, not_hex, unsigned,
    ] {
        assert!(
            matches!(
                gateway.verify_notification(&n).await,
                Err(PaymentError::InvalidSignature)
            ),
            "{n:?}"
        );
    }
}

#[tokio::test]
async fn notifications_outside_the_window_are_replays() {
    let (gateway, clock) = sandbox();
    let event = gateway.paid_event("ORDER-1", cny("10.00"));
    let old = gateway.notification_at(&event, start() - Duration::seconds(301));
    assert!(matches!(
        gateway.verify_notification(&old).await,
        Err(PaymentError::Replayed)
    ));
    let future = gateway.notification_at(&event, start() + Duration::seconds(301));
    assert!(matches!(
        gateway.verify_notification(&future).await,
        Err(PaymentError::Replayed)
    ));
    let edge = gateway.notification_at(&event, start() - Duration::seconds(300));
    assert!(gateway.verify_notification(&edge).await.is_ok());

    // A genuine notification kept and sent again later is a replay.
    let n = gateway.notification(&event);
    clock.advance(Duration::minutes(10));
    assert!(matches!(
        gateway.verify_notification(&n).await,
        Err(PaymentError::Replayed)
    ));
    // A wider window accepts it.
    let (patient, clock) = sandbox();
    let patient = patient.with_window(TimestampWindow::new(Duration::hours(1)));
    let n = patient.notification(&event);
    clock.advance(Duration::minutes(10));
    assert!(patient.verify_notification(&n).await.is_ok());
}

#[tokio::test]
async fn signed_but_malformed_notifications_are_malformed() {
    let (gateway, _) = sandbox();
    let paid = "event=payment.succeeded&merchant_id=M-1&order_no=O1&currency=CNY\
                &transaction_no=T1&paid_at=2026-03-01T12:00:00Z";
    let bodies: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"event=payment.refunded&refund_no=R".to_vec(),
        b"event=refund.succeeded".to_vec(),
        b"order_no=O1".to_vec(),
        format!("{paid}&amount=10.001").into_bytes(),
        format!("{paid}&amount=-1").into_bytes(),
        format!("{paid}&amount=0").into_bytes(),
        format!("{paid}&amount=1e3").into_bytes(),
        format!("{paid}&amount=10.00&amount=0.01").into_bytes(),
        paid.replace("CNY", "XYZ").into_bytes(),
        paid.replace("2026-03-01T12:00:00Z", "yesterday")
            .into_bytes(),
        paid.as_bytes().to_vec(),
        b"event=payment.succeeded&amount=\xff".to_vec(),
    ];
    for body in bodies {
        let n = signed(&gateway, &body);
        let result = gateway.verify_notification(&n).await;
        assert!(
            matches!(result, Err(PaymentError::Malformed(_))),
            "{:?} → {result:?}",
            String::from_utf8_lossy(&body)
        );
    }
    // A timestamp that is not a number.
    let mut n = gateway.notify_paid("O1", cny("1"));
    set_header(&mut n, "sandbox-timestamp", "soon");
    assert!(matches!(
        gateway.verify_notification(&n).await,
        Err(PaymentError::Malformed(_))
    ));
    n.headers.retain(|(k, _)| k != "sandbox-timestamp");
    assert!(matches!(
        gateway.verify_notification(&n).await,
        Err(PaymentError::Malformed(_))
    ));
}

fn refund_request(refund_no: &str, amount: &str, paid: &str) -> GatewayRefund {
    GatewayRefund {
        order_no: "O1".into(),
        transaction_no: "SBXO1".into(),
        refund_no: refund_no.into(),
        amount: cny(amount),
        paid_total: cny(paid),
        reason: "broken".into(),
    }
}

#[tokio::test]
async fn refunds_answer_as_configured_once_per_refund_number() {
    let (gateway, _) = sandbox();
    let first = refund_request("RF1", "5.00", "10.00");
    assert_eq!(
        gateway.refund(&first).await.unwrap(),
        GatewayRefundStatus::Succeeded
    );
    gateway.set_refund_answer(GatewayRefundStatus::Failed);
    // The same refund number keeps its first answer and is recorded once.
    assert_eq!(
        gateway.refund(&first).await.unwrap(),
        GatewayRefundStatus::Succeeded
    );
    assert_eq!(
        gateway
            .refund(&refund_request("RF2", "10.00", "10.00"))
            .await
            .unwrap(),
        GatewayRefundStatus::Failed
    );
    let pending =
        SandboxGateway::new(SECRET.to_vec(), "x").with_refund_answer(GatewayRefundStatus::Pending);
    assert_eq!(
        pending.refund(&first).await.unwrap(),
        GatewayRefundStatus::Pending
    );
    assert_eq!(
        gateway
            .refunds()
            .iter()
            .map(|r| r.refund_no.as_str())
            .collect::<Vec<_>>(),
        ["RF1", "RF2"]
    );

    // More than paid, fractional, zero or in another currency: refused.
    let mut usd = refund_request("RF6", "1.00", "10.00");
    usd.amount = money("1.00", Currency::Usd);
    for bad in [
        refund_request("RF3", "10.01", "10.00"),
        refund_request("RF4", "0.001", "10.00"),
        refund_request("RF5", "0", "10.00"),
        usd,
    ] {
        let err = gateway.refund(&bad).await.unwrap_err();
        let PaymentError::Gateway { source } = &err else {
            panic!("{err}");
        };
        assert!(source.downcast_ref::<ProviderError>().is_some(), "{err}");
    }
    assert_eq!(gateway.refunds().len(), 2);
}

#[test]
fn debug_output_hides_the_secret() {
    let (gateway, _) = sandbox();
    let shown = format!("{gateway:?}");
    assert!(shown.contains("redacted"));
    assert!(!shown.contains("sandbox-secret"));
}
