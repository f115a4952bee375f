//! The Alipay gateway against a fake Alipay on 127.0.0.1, through the real
//! reqwest transport: the fake checks our RSA2 request signatures with our
//! public key and answers with nodes signed by its own key. Page pay,
//! precreate, refund, query, certificate mode, forged answers.

#[path = "common/alipay.rs"]
mod alipay_fake;
mod common;

use std::sync::Arc;

use alipay_fake::{config, fake_alipay, gateway, FakeAlipay, Keys, RefundAnswer, Tamper, APP_ID};
use common::{money, start};
use shop_core::clock::ManualClock;
use shop_core::payment::{
    GatewayRefund, GatewayRefundStatus, PaymentAction, PaymentError, PaymentGateway, PaymentRequest,
};
use shop_core::Currency;
use shop_payments::alipay::params::{decode_form, request_signing_content};
use shop_payments::alipay::{AlipayCertificates, AlipayKeys, AlipayPayMode, TradeStatus};
use shop_payments::{AlipayGateway, ProviderError};

fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(start()))
}

fn request(amount: &str) -> PaymentRequest {
    PaymentRequest {
        order_no: "20260301120000000001".into(),
        amount: money(amount, Currency::Cny),
        subject: "Order 20260301120000000001".into(),
        return_url: Some("https://shop.invalid/orders/1?from=alipay".into()),
    }
}

fn field<'a>(params: &'a [(String, String)], key: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

fn provider_error(err: &PaymentError) -> &ProviderError {
    let PaymentError::Gateway { source } = err else {
        panic!("not a gateway error: {err}");
    };
    source
        .downcast_ref::<ProviderError>()
        .expect("a ProviderError")
}

async fn setup(mode: AlipayPayMode) -> (Keys, FakeAlipay, AlipayGateway) {
    let keys = Keys::generate();
    let fake = fake_alipay(keys.app.public_key(), keys.alipay.clone()).await;
    let g = gateway(config(&keys, fake.url(), mode), clock());
    (keys, fake, g)
}

#[tokio::test]
async fn page_pay_is_a_signed_redirect_and_sends_nothing() {
    let (keys, fake, g) = setup(AlipayPayMode::PagePay).await;
    let PaymentAction::Redirect(url) = g.create_payment(&request("88.88")).await.unwrap() else {
        panic!("not a redirect");
    };
    let (base, query) = url.split_once('?').unwrap();
    assert_eq!(base, fake.url());
    let params = decode_form(query.as_bytes()).unwrap();
    assert_eq!(field(&params, "app_id"), Some(APP_ID));
    assert_eq!(field(&params, "method"), Some("alipay.trade.page.pay"));
    assert_eq!(field(&params, "charset"), Some("utf-8"));
    assert_eq!(field(&params, "sign_type"), Some("RSA2"));
    assert_eq!(field(&params, "version"), Some("1.0"));
    // 2026-03-01 12:00:00 UTC is 20:00:00 in Beijing.
    assert_eq!(field(&params, "timestamp"), Some("2026-03-01 20:00:00"));
    assert_eq!(
        field(&params, "return_url"),
        Some("https://shop.invalid/orders/1?from=alipay")
    );
    assert_eq!(
        field(&params, "notify_url"),
        Some("https://shop.invalid/alipay/notify")
    );
    assert_eq!(
        field(&params, "biz_content"),
        Some(
            r#"{"out_trade_no":"20260301120000000001","total_amount":"88.88","subject":"Order 20260301120000000001","product_code":"FAST_INSTANT_TRADE_PAY"}"#
        )
    );
    assert!(field(&params, "app_cert_sn").is_none());
    let sign = field(&params, "sign").unwrap();
    let content = request_signing_content(&params);
    assert!(keys.app.public_key().verify(content.as_bytes(), sign));
    assert!(!keys.alipay.public_key().verify(content.as_bytes(), sign));
    assert!(fake.server.received().is_empty());

    // Amounts Alipay cannot take are refused before anything is built.
    for amount in ["0.001", "100000000.01", "0"] {
        let err = g.create_payment(&request(amount)).await.unwrap_err();
        assert!(
            matches!(provider_error(&err), ProviderError::Amount(_)),
            "{err}"
        );
    }
}

#[tokio::test]
async fn precreate_answers_a_verified_qr_code() {
    let (_, fake, g) = setup(AlipayPayMode::Precreate).await;
    let action = g.create_payment(&request("12.30")).await.unwrap();
    assert_eq!(
        action,
        PaymentAction::QrCode("https://qr.alipay.com/bax01230".into())
    );
    assert_eq!(fake.verified(), 1);
    let sent = &fake.requests()[0];
    assert_eq!(field(sent, "method"), Some("alipay.trade.precreate"));
    assert!(field(sent, "return_url").is_none());
    assert_eq!(
        field(sent, "biz_content"),
        Some(
            r#"{"out_trade_no":"20260301120000000001","total_amount":"12.30","subject":"Order 20260301120000000001"}"#
        )
    );
    let r = &fake.server.received()[0];
    assert_eq!(
        r.header("content-type"),
        Some("application/x-www-form-urlencoded;charset=utf-8")
    );
}

#[tokio::test]
async fn forged_or_tampered_answers_are_refused() {
    let (_, fake, g) = setup(AlipayPayMode::Precreate).await;
    for tamper in [Tamper::ForeignKey, Tamper::AlteredNode, Tamper::Unsigned] {
        fake.set_tamper(tamper);
        let err = g.create_payment(&request("12.30")).await.unwrap_err();
        assert!(
            matches!(err, PaymentError::InvalidSignature),
            "{tamper:?}: {err}"
        );
        let err = g.query_trade("20260301120000000001").await.unwrap_err();
        assert!(
            matches!(err, PaymentError::InvalidSignature),
            "{tamper:?}: {err}"
        );
    }
    fake.set_tamper(Tamper::None);
    assert!(g.create_payment(&request("12.30")).await.is_ok());
}

#[tokio::test]
async fn a_request_signed_with_the_wrong_key_is_an_api_error() {
    let (keys, fake, _) = setup(AlipayPayMode::Precreate).await;
    let impostor = Keys {
        app: alipay_fake::generate_key(),
        alipay: keys.alipay.clone(),
    };
    let g = gateway(
        config(&impostor, fake.url(), AlipayPayMode::Precreate),
        clock(),
    );
    let err = g.create_payment(&request("12.30")).await.unwrap_err();
    assert!(
        matches!(provider_error(&err), ProviderError::Api { status: 200, code, .. } if code == "40002/isv.invalid-signature"),
        "{err}"
    );
    assert_eq!(fake.verified(), 0);
}

fn refund(refund_no: &str) -> GatewayRefund {
    GatewayRefund {
        order_no: "20260301120000000001".into(),
        transaction_no: "2026030122001400001".into(),
        refund_no: refund_no.into(),
        amount: money("5.00", Currency::Cny),
        paid_total: money("20.00", Currency::Cny),
        reason: "arrived broken".into(),
    }
}

#[tokio::test]
async fn refunds_map_alipay_answers() {
    let (_, fake, g) = setup(AlipayPayMode::PagePay).await;
    for (answer, expected) in [
        (RefundAnswer::MoneyMoved, GatewayRefundStatus::Succeeded),
        (
            RefundAnswer::RepeatedThenSucceeded,
            GatewayRefundStatus::Succeeded,
        ),
        (
            RefundAnswer::RepeatedThenUnknown,
            GatewayRefundStatus::Pending,
        ),
        (
            RefundAnswer::SignedBusinessFailure,
            GatewayRefundStatus::Failed,
        ),
    ] {
        fake.set_refund(answer);
        assert_eq!(
            g.refund(&refund("RF1")).await.unwrap(),
            expected,
            "{answer:?}"
        );
    }
    let sent = fake.requests();
    assert_eq!(field(&sent[0], "method"), Some("alipay.trade.refund"));
    assert_eq!(
        field(&sent[0], "biz_content"),
        Some(
            r#"{"trade_no":"2026030122001400001","out_trade_no":"20260301120000000001","refund_amount":"5.00","out_request_no":"RF1","refund_reason":"arrived broken"}"#
        )
    );
    assert_eq!(
        field(&sent[2], "method"),
        Some("alipay.trade.fastpay.refund.query")
    );
    assert_eq!(
        field(&sent[2], "biz_content"),
        Some(
            r#"{"trade_no":"2026030122001400001","out_trade_no":"20260301120000000001","out_request_no":"RF1"}"#
        )
    );

    // An unsigned refusal settles nothing; a system error is an error.
    for answer in [
        RefundAnswer::UnsignedBusinessFailure,
        RefundAnswer::SystemError,
    ] {
        fake.set_refund(answer);
        let err = g.refund(&refund("RF2")).await.unwrap_err();
        assert!(
            matches!(provider_error(&err), ProviderError::Api { .. }),
            "{answer:?}: {err}"
        );
    }
    // A forged success is refused.
    fake.set_refund(RefundAnswer::MoneyMoved);
    fake.set_tamper(Tamper::ForeignKey);
    assert!(matches!(
        g.refund(&refund("RF3")).await,
        Err(PaymentError::InvalidSignature)
    ));
    fake.set_tamper(Tamper::None);
    let mut cross = refund("RF4");
    cross.amount = money("5.00", Currency::Usd);
    let err = g.refund(&cross).await.unwrap_err();
    assert!(
        matches!(provider_error(&err), ProviderError::Refused(_)),
        "{err}"
    );
}

#[tokio::test]
async fn query_reads_a_verified_trade() {
    let (_, fake, g) = setup(AlipayPayMode::PagePay).await;
    let trade = g.query_trade("20260301120000000001").await.unwrap();
    assert_eq!(trade.status, TradeStatus::Success);
    assert_eq!(trade.trade_no, "2026030122001400001");
    assert_eq!(trade.total_amount, money("88.88", Currency::Cny));
    assert_eq!(trade.paid_at, Some(start() + chrono::Duration::seconds(5)));
    let payment = trade.payment(APP_ID).unwrap();
    assert_eq!(payment.order_no, "20260301120000000001");
    assert_eq!(payment.transaction_no, "2026030122001400001");

    fake.state.lock().unwrap().trade_status = "WAIT_BUYER_PAY";
    let waiting = g.query_trade("20260301120000000001").await.unwrap();
    assert_eq!(waiting.status, TradeStatus::WaitBuyerPay);
    assert!(waiting.payment(APP_ID).is_none());

    let err = g.query_trade("UNKNOWN").await.unwrap_err();
    assert!(
        matches!(provider_error(&err), ProviderError::Api { code, .. } if code == "40004/ACQ.TRADE_NOT_EXIST"),
        "{err}"
    );
}

#[tokio::test]
async fn certificate_mode_sends_the_sns_and_checks_the_answering_certificate() {
    let keys = Keys::generate();
    let fake = fake_alipay(keys.app.public_key(), keys.alipay.clone()).await;
    let certs = AlipayCertificates {
        app_cert_sn: "866efef280dec9137a87d047ac446315".into(),
        alipay_root_cert_sn: "687b59193f3f462dd5336e5abf83c5d8_02941eef3187dddf3d3b83462e1dfcf6"
            .into(),
        alipay_cert_sn: "7513daaaa48aa3ba2e4018d84402479c".into(),
        alipay_public_key: keys.alipay.public_key(),
    };
    fake.state.lock().unwrap().cert_sns = Some((
        certs.app_cert_sn.clone(),
        certs.alipay_root_cert_sn.clone(),
        certs.alipay_cert_sn.clone(),
    ));
    let mut cfg = config(&keys, fake.url(), AlipayPayMode::Precreate);
    cfg.keys = AlipayKeys::Certificates(certs.clone());
    let g = gateway(cfg, clock());
    assert!(matches!(
        g.create_payment(&request("1.00")).await.unwrap(),
        PaymentAction::QrCode(_)
    ));
    let sent = &fake.requests()[0];
    assert_eq!(field(sent, "app_cert_sn"), Some(certs.app_cert_sn.as_str()));
    assert_eq!(
        field(sent, "alipay_root_cert_sn"),
        Some(certs.alipay_root_cert_sn.as_str())
    );
    // An answer from another Alipay certificate is not accepted.
    fake.set_tamper(Tamper::OtherCertSn);
    assert!(matches!(
        g.create_payment(&request("1.00")).await,
        Err(PaymentError::InvalidSignature)
    ));
    // Public-key mode requests lack the SNs: this fake refuses them.
    let plain = gateway(config(&keys, fake.url(), AlipayPayMode::Precreate), clock());
    fake.set_tamper(Tamper::None);
    let err = plain.create_payment(&request("1.00")).await.unwrap_err();
    assert!(
        matches!(provider_error(&err), ProviderError::Api { .. }),
        "{err}"
    );
}

#[tokio::test]
async fn an_unreachable_alipay_is_a_retryable_gateway_error() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = closed.local_addr().unwrap();
    drop(closed);
    let keys = Keys::generate();
    let g = gateway(
        config(
            &keys,
            format!("http://{addr}/gateway.do"),
            AlipayPayMode::Precreate,
        ),
        clock(),
    );
    let err = g.create_payment(&request("1.00")).await.unwrap_err();
    assert!(provider_error(&err).is_retryable(), "{err}");
}
