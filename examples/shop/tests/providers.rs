//! The real providers are configured from settings (text or key files) and
//! their notifications arrive at `/api/payments/{gateway}/notify`; with a
//! real provider the sandbox is gone unless explicitly switched on.

mod common;

use common::IdExt;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::KeyPair as _;
use common::{sqlite_url, App};
use reqwest::StatusCode;
use serde_json::json;
use shop_example::providers::ProviderArgs;
use shop_example::{start, Config};
use shop_payments::stripe::webhook::signature_header;

const WEBHOOK_SECRET: &str = "whsec_example_test";

/// PEM text of DER bytes under `label`.
fn pem(label: &str, der: &[u8]) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).expect("base64 is ascii"))
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

/// A fresh RSA key pair as (PKCS#8 private key PEM, SPKI public key PEM).
fn rsa_pem() -> (String, String) {
    let pair = KeyPair::generate(KeySize::Rsa2048).expect("generate");
    let private = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der<'_>>::as_der(&pair).expect("pkcs8");
    let public = pair.public_key().as_der().expect("spki");
    (
        pem("PRIVATE KEY", private.as_ref()),
        pem("PUBLIC KEY", public.as_ref()),
    )
}

/// Every provider configured: keys partly as text, partly as files.
fn providers(dir: &std::path::Path) -> ProviderArgs {
    let (alipay_private, alipay_public) = rsa_pem();
    let (wechat_private, _) = rsa_pem();
    let (_, platform_public) = rsa_pem();
    let alipay_key_file = dir.join("alipay_app_private.pem");
    std::fs::write(&alipay_key_file, alipay_private).expect("write key");
    let wechat_key_file = dir.join("wechat_apiclient_key.pem");
    std::fs::write(&wechat_key_file, wechat_private).expect("write key");
    ProviderArgs {
        stripe_secret_key: Some("sk_test_example".into()),
        stripe_webhook_secret: Some(WEBHOOK_SECRET.into()),
        stripe_account_id: Some("acct_example".into()),
        stripe_publishable_key: Some("pk_test_example".into()),
        alipay_app_id: Some("2021000000000000".into()),
        alipay_private_key: Some(alipay_key_file.display().to_string()),
        alipay_public_key: Some(alipay_public),
        alipay_gateway_url: Some("https://openapi-sandbox.dl.alipaydev.com/gateway.do".into()),
        wechat_mchid: Some("1900000001".into()),
        wechat_appid: Some("wx0000000000000001".into()),
        wechat_serial_no: Some("5157F09EFDC096DE15EBE81A47057A7232F1B8E1".into()),
        wechat_private_key: Some(wechat_key_file.display().to_string()),
        wechat_apiv3_key: Some("0123456789abcdef0123456789abcdef".into()),
        wechat_platform_key_id: Some("PUB_KEY_ID_0000000000000001".into()),
        wechat_platform_public_key: Some(platform_public),
    }
}

fn key_dir() -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(common::unique("keys"));
    std::fs::create_dir_all(&dir).expect("key dir");
    dir
}

#[tokio::test]
async fn every_provider_is_registered_and_a_stripe_webhook_pays() {
    let mut config = Config::new(sqlite_url());
    config.rate_limit_per_minute = 1000;
    config.providers = providers(&key_dir());
    let app = App::start_with(config).await;
    assert_eq!(
        app.server.state.shop.gateway_names(),
        ["alipay", "stripe", "wechat"]
    );
    // No sandbox beside real providers: its page and callback are absent.
    for path in ["/sandbox/pay", "/api/payments/sandbox/notify"] {
        let a = app.post(path, None, json!({})).await;
        assert_eq!(a.status, StatusCode::NOT_FOUND, "{path}: {}", a.text);
    }
    let page = app.get("/sandbox/pay?order_no=1", None).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);

    let token = app.customer("stripebuyer").await;
    let address = app.address(&token).await;
    let (sku, _) = app.some_sku().await;
    let placed = app.order(&token, address, sku, 1).await;
    assert_eq!(placed.status, StatusCode::CREATED, "{}", placed.text);
    let order_id = placed.body["id"].id().expect("order id");
    let order_no = placed.body["no"].as_str().expect("order no").to_owned();
    let total: rust_decimal::Decimal = placed.body["total"]["amount"]
        .as_str()
        .expect("amount as a decimal string")
        .parse()
        .expect("decimal");
    let minor = (total * rust_decimal::Decimal::ONE_HUNDRED)
        .normalize()
        .to_string();

    // Alipay page pay needs no network: a signed redirect to its gateway.
    let alipay = app
        .post(
            &format!("/api/orders/{order_id}/pay?gateway=alipay"),
            Some(&token),
            json!({}),
        )
        .await;
    assert_eq!(alipay.status, StatusCode::OK, "{}", alipay.text);
    let url = alipay.body["redirect_url"].as_str().expect("redirect");
    assert!(
        url.starts_with("https://openapi-sandbox.dl.alipaydev.com/gateway.do?"),
        "{url}"
    );
    assert!(url.contains("sign="), "{url}");
    let unknown = app
        .post(
            &format!("/api/orders/{order_id}/pay?gateway=paypal"),
            Some(&token),
            json!({}),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND, "{}", unknown.text);
    // Several providers and no sandbox: the buyer must choose.
    let unchosen = app
        .post(
            &format!("/api/orders/{order_id}/pay"),
            Some(&token),
            json!({}),
        )
        .await;
    assert_eq!(
        unchosen.status,
        StatusCode::BAD_REQUEST,
        "{}",
        unchosen.text
    );
    assert_eq!(unchosen.body["error"]["field"], "gateway");

    // Stripe's webhook, signed with the configured secret, pays the order.
    let now = chrono::Utc::now().timestamp();
    let payload = format!(
        r#"{{"id":"evt_1","type":"payment_intent.succeeded","created":{now},"data":{{"object":{{"id":"pi_1","amount":{minor},"amount_received":{minor},"currency":"cny","metadata":{{"order_no":"{order_no}"}}}}}}}}"#
    );
    let notify = format!("{}/api/payments/stripe/notify", app.server.url);
    let forged = app
        .http
        .post(&notify)
        .header(
            "stripe-signature",
            signature_header("whsec_wrong", now, payload.as_bytes()),
        )
        .body(payload.clone())
        .send()
        .await
        .expect("forged webhook");
    assert_eq!(forged.status(), StatusCode::BAD_REQUEST);
    let unpaid = app
        .get(&format!("/api/orders/{order_id}"), Some(&token))
        .await;
    assert_eq!(unpaid.body["state"]["status"], "pending");

    let signed = app
        .http
        .post(&notify)
        .header(
            "stripe-signature",
            signature_header(WEBHOOK_SECRET, now, payload.as_bytes()),
        )
        .body(payload)
        .send()
        .await
        .expect("webhook");
    assert_eq!(signed.status(), StatusCode::OK);
    let paid = app
        .get(&format!("/api/orders/{order_id}"), Some(&token))
        .await;
    assert_eq!(paid.body["state"]["status"], "paid", "{}", paid.text);
    assert_eq!(paid.body["payment"]["method"], "stripe");
}

#[tokio::test]
async fn a_half_configured_provider_stops_the_start_naming_what_is_missing() {
    let mut config = Config::new(sqlite_url());
    config.providers.alipay_app_id = Some("2021000000000000".into());
    let err = start(
        &config,
        std::sync::Arc::new(shop_notify::LogNotifier::default()),
    )
    .await
    .err()
    .expect("refused");
    let message = err.to_string();
    assert!(message.contains("SHOP_ALIPAY_PRIVATE_KEY"), "{message}");
    assert!(message.contains("SHOP_ALIPAY_PUBLIC_KEY"), "{message}");
}

#[tokio::test]
async fn the_stripe_checkout_page_mounts_stripe_js_and_refuses_forged_parameters() {
    let mut config = Config::new(sqlite_url());
    config.providers = providers(&key_dir());
    let app = App::start_with(config).await;
    let base = &app.server.url;
    let page = |query: String| {
        let http = app.http.clone();
        let url = format!("{base}/stripe/checkout?{query}");
        async move {
            let answer = http.get(url).send().await.expect("page");
            let status = answer.status();
            let cache = answer
                .headers()
                .get("cache-control")
                .map(|v| v.to_str().unwrap_or_default().to_owned());
            (status, cache, answer.text().await.expect("body"))
        }
    };

    let intent = "pi_3MtwBwLkdIwHu7ix28a3tqPa";
    let secret = format!("{intent}_secret_YrKJUKribcBjcG8HVhfZluoGH");
    let (status, cache, html) = page(format!(
        "payment_intent={intent}&client_secret={secret}&order_no=20261121000000000001\
         &return_url=https%3A%2F%2Fevil.example%2Fsteal"
    ))
    .await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert_eq!(cache.as_deref(), Some("no-store"));
    assert!(html.contains("https://js.stripe.com/v3/"), "{html}");
    assert!(html.contains(r#"Stripe("pk_test_example")"#), "{html}");
    assert!(
        html.contains(&format!(r#"clientSecret: "{secret}""#)),
        "{html}"
    );
    assert!(
        !html.contains("evil.example"),
        "a foreign return URL is not used"
    );
    assert!(
        html.contains(&format!(
            r#"return_url: "{base}/stripe/done?order_no=20261121000000000001""#
        )),
        "{html}"
    );

    for (query, field) in [
        (
            format!("payment_intent=pi_1%3C%2Fscript%3E&client_secret={secret}&order_no=1"),
            "payment_intent",
        ),
        (
            format!("payment_intent={intent}&client_secret={secret}&order_no=%3Cb%3E"),
            "order_no",
        ),
    ] {
        let answer = app.get(&format!("/stripe/checkout?{query}"), None).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.text);
        assert_eq!(answer.body["error"]["field"], field, "{}", answer.text);
    }
    // A well-formed secret of another PaymentIntent: no such page.
    let other = app
        .get(
            &format!("/stripe/checkout?payment_intent={intent}&client_secret=pi_other_secret_x&order_no=1"),
            None,
        )
        .await;
    assert_eq!(other.status, StatusCode::NOT_FOUND, "{}", other.text);

    let done = app
        .http
        .get(format!(
            "{base}/stripe/done?order_no=20261121000000000001&redirect_status=succeeded"
        ))
        .send()
        .await
        .expect("done")
        .text()
        .await
        .expect("body");
    assert!(done.contains("20261121000000000001"), "{done}");
    assert!(done.contains("Stripe accepted the payment"), "{done}");
    // What Stripe never sends is refused, not echoed.
    for query in ["order_no=%3Cb%3E1", "order_no=1&redirect_status=%00"] {
        let answer = app.get(&format!("/stripe/done?{query}"), None).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.text);
        assert_eq!(answer.code(), "validation");
    }
    app.server.stop().await;

    // Without Stripe settings the page does not exist.
    let plain = App::sqlite().await;
    let answer = plain
        .get(
            &format!("/stripe/checkout?payment_intent={intent}&client_secret={secret}&order_no=1"),
            None,
        )
        .await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND, "{}", answer.text);
    assert_eq!(answer.code(), "not_found");
    plain.server.stop().await;
}
