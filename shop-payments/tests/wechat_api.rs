//! The WeChat Pay gateway against a fake WeChat Pay on 127.0.0.1, through
//! the real reqwest transport: the fake checks our `Authorization`
//! signature with our public key and answers with responses signed by its
//! platform key; forged, unsigned, stale and tampered answers are refused.

mod common;

use std::sync::Arc;

use common::fake_wechat::{fake_wechat, FakeWechat, Signing};
use common::wechat::{
    api_v3_key, gateway, generated_key, platform_signer, transport, APPID, MCHID, MERCHANT_SERIAL,
    NOTIFY_URL,
};
use common::{money, start};
use shop_core::clock::ManualClock;
use shop_core::payment::{
    GatewayRefund, GatewayRefundStatus, PaymentAction, PaymentError, PaymentGateway, PaymentRequest,
};
use shop_core::Currency;
use shop_payments::wechat::{
    H5Scene, PlatformKeys, SigningKey, TradeType, WechatPayConfig, WechatPayGateway,
};
use shop_payments::{qr_svg, ProviderError};

fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(start()))
}

fn request(amount: &str) -> PaymentRequest {
    PaymentRequest {
        order_no: "20260301120000000001".into(),
        amount: money(amount, Currency::Cny),
        subject: "Order 20260301120000000001".into(),
        return_url: Some("https://shop.invalid/orders/1".into()),
    }
}

fn refund_request(amount: &str, paid: &str) -> GatewayRefund {
    GatewayRefund {
        order_no: "20260301120000000001".into(),
        transaction_no: "4200000001202603011234567890".into(),
        refund_no: "RF42".into(),
        amount: money(amount, Currency::Cny),
        paid_total: money(paid, Currency::Cny),
        reason: "arrived broken".into(),
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

/// A fake WeChat Pay and a gateway whose merchant key it trusts.
async fn setup(trade_type: TradeType) -> (FakeWechat, WechatPayGateway) {
    let clock = clock();
    let (merchant, public) = generated_key(MERCHANT_SERIAL);
    let fake = fake_wechat(public, platform_signer(), clock.clone()).await;
    let g = gateway(&fake.server.base_url(), merchant, trade_type, clock);
    (fake, g)
}

#[tokio::test]
async fn a_native_order_answers_its_code_url_as_a_qr_code() {
    let (fake, g) = setup(TradeType::Native).await;
    let action = g.create_payment(&request("12.34")).await.unwrap();
    let code_url = "weixin://wxpay/bizpayurl?pr=20260301120000000001";
    assert_eq!(action, PaymentAction::QrCode(code_url.into()));
    let svg = qr_svg(code_url).unwrap();
    assert!(svg.starts_with("<?xml") && svg.ends_with("</svg>"));

    let bodies = fake.bodies();
    assert_eq!(bodies.len(), 1);
    let (path, body) = &bodies[0];
    assert_eq!(path, "/v3/pay/transactions/native");
    assert_eq!(
        *body,
        serde_json::json!({
            "appid": APPID, "mchid": MCHID, "description": "Order 20260301120000000001",
            "out_trade_no": "20260301120000000001", "notify_url": NOTIFY_URL,
            "amount": {"total": 1234, "currency": "CNY"}
        })
    );
    let received = &fake.server.received()[0];
    assert!(received
        .header("user-agent")
        .unwrap()
        .starts_with("shop-payments/"));
}

#[tokio::test]
async fn an_h5_order_redirects_to_its_h5_url_and_back_to_the_return_url() {
    let (fake, g) = setup(TradeType::H5(H5Scene::wap("203.0.113.7"))).await;
    let action = g.create_payment(&request("0.01")).await.unwrap();
    assert_eq!(
        action,
        PaymentAction::Redirect(
            "https://wx.tenpay.com/cgi-bin/mmpayweb-bin/checkmweb?prepay_id=wx20260301120000000001\
             &package=1037687096&redirect_url=https%3A%2F%2Fshop.invalid%2Forders%2F1"
                .into()
        )
    );
    let (path, body) = &fake.bodies()[0];
    assert_eq!(path, "/v3/pay/transactions/h5");
    assert_eq!(
        body["amount"],
        serde_json::json!({"total": 1, "currency": "CNY"})
    );
    assert_eq!(
        body["scene_info"],
        serde_json::json!({"payer_client_ip": "203.0.113.7", "h5_info": {"type": "Wap"}})
    );
}

#[tokio::test]
async fn refunds_say_what_wechat_pay_answered() {
    let (fake, g) = setup(TradeType::Native).await;
    for (status, expected) in [
        ("SUCCESS", GatewayRefundStatus::Succeeded),
        ("PROCESSING", GatewayRefundStatus::Pending),
        ("CLOSED", GatewayRefundStatus::Failed),
        ("ABNORMAL", GatewayRefundStatus::Failed),
    ] {
        fake.set(Signing::Genuine, status);
        assert_eq!(
            g.refund(&refund_request("5.00", "20.00")).await.unwrap(),
            expected,
            "{status}"
        );
    }
    let (path, body) = &fake.bodies()[0];
    assert_eq!(path, "/v3/refund/domestic/refunds");
    assert_eq!(
        *body,
        serde_json::json!({
            "transaction_id": "4200000001202603011234567890", "out_refund_no": "RF42",
            "reason": "arrived broken", "notify_url": NOTIFY_URL,
            "amount": {"refund": 500, "total": 2000, "currency": "CNY"}
        })
    );

    fake.set(Signing::Genuine, "REFUNDED?");
    let err = g
        .refund(&refund_request("5.00", "20.00"))
        .await
        .unwrap_err();
    assert!(matches!(
        provider_error(&err),
        ProviderError::InvalidResponse(_)
    ));
}

#[tokio::test]
async fn forged_unsigned_stale_and_tampered_answers_are_refused() {
    let (fake, g) = setup(TradeType::Native).await;
    for signing in [
        Signing::ForgedKey,
        Signing::Unsigned,
        Signing::Stale,
        Signing::Tampered,
    ] {
        fake.set(signing, "SUCCESS");
        let err = g.create_payment(&request("12.34")).await.unwrap_err();
        assert!(
            matches!(provider_error(&err), ProviderError::UnverifiedResponse(_)),
            "{signing:?}: {err}"
        );
        let err = g
            .refund(&refund_request("1.00", "12.34"))
            .await
            .unwrap_err();
        assert!(
            matches!(provider_error(&err), ProviderError::UnverifiedResponse(_)),
            "{signing:?}: {err}"
        );
        assert!(!provider_error(&err).is_retryable());
    }
    // The fake saw correctly signed requests each time.
    assert_eq!(fake.server.received().len(), 8);
    fake.set(Signing::Genuine, "SUCCESS");
    assert!(g.create_payment(&request("12.34")).await.is_ok());
}

#[tokio::test]
async fn a_merchant_key_wechat_pay_does_not_know_is_refused_by_it() {
    let (fake, _) = setup(TradeType::Native).await;
    let (stranger, _) = generated_key(MERCHANT_SERIAL);
    let g = gateway(
        &fake.server.base_url(),
        stranger,
        TradeType::Native,
        clock(),
    );
    let err = g.create_payment(&request("12.34")).await.unwrap_err();
    match provider_error(&err) {
        ProviderError::Api { status, code, .. } => {
            assert_eq!((*status, code.as_str()), (401, "SIGN_ERROR"));
        }
        other => panic!("{other}"),
    }
}

#[tokio::test]
async fn amounts_wechat_pay_cannot_take_are_refused_before_sending() {
    let (fake, g) = setup(TradeType::Native).await;
    let mut usd = request("12.34");
    usd.amount = money("12.34", Currency::Usd);
    for req in [usd, request("0.001"), request("21474836.48")] {
        let err = g.create_payment(&req).await.unwrap_err();
        assert!(
            matches!(provider_error(&err), ProviderError::Amount(_)),
            "{err}"
        );
    }
    let err = g
        .refund(&refund_request("20.01", "20.00"))
        .await
        .unwrap_err();
    assert!(matches!(provider_error(&err), ProviderError::Refused(_)));
    let mut cross = refund_request("1.00", "20.00");
    cross.amount = money("1.00", Currency::Usd);
    let err = g.refund(&cross).await.unwrap_err();
    assert!(matches!(provider_error(&err), ProviderError::Refused(_)));
    assert!(fake.server.received().is_empty());
}

#[tokio::test]
async fn answers_verify_under_a_platform_public_key_too() {
    const KEY_ID: &str = "PUB_KEY_ID_0119000001092026030100000000000000";
    let pem = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/wechat/java_wechat_pay_key.testing.pem"
    ))
    .unwrap()
    .replace("TESTING KEY", "PRIVATE KEY");
    let platform = SigningKey::from_pkcs8_pem(KEY_ID, pem.as_bytes()).unwrap();
    let clock = clock();
    let (merchant, public) = generated_key(MERCHANT_SERIAL);
    let fake = fake_wechat(public, platform, clock.clone()).await;

    let mut keys = PlatformKeys::new();
    keys.add_public_key_pem(
        KEY_ID,
        &std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/wechat/java_wechat_pay_public_key.pem"
        ))
        .unwrap(),
    )
    .unwrap();
    let mut config = WechatPayConfig::new(MCHID, APPID, merchant, api_v3_key(), keys, NOTIFY_URL);
    config.api_base = fake.server.base_url();
    let g = WechatPayGateway::new(config.clone(), transport()).with_clock(clock.clone());
    assert!(matches!(
        g.create_payment(&request("1.00")).await.unwrap(),
        PaymentAction::QrCode(_)
    ));

    // Only the certificate configured: the public key's id is unknown.
    config.platform_keys = common::wechat::platform_keys();
    let g = WechatPayGateway::new(config, transport()).with_clock(clock);
    let err = g.create_payment(&request("1.00")).await.unwrap_err();
    assert!(matches!(
        provider_error(&err),
        ProviderError::UnverifiedResponse(_)
    ));
}
