//! Alipay RSA2 signing and verification against published vectors of
//! Alipay's official Node.js SDK (see `fixtures/alipay/SOURCE.md`) and
//! tampered copies of them, plus round trips with keys generated here.

use std::sync::Arc;

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
use aws_lc_rs::rsa::{KeyPair, KeySize};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use chrono::{TimeZone, Utc};
use shop_core::payment::{GatewayEvent, PaymentError, PaymentGateway, RawNotification};
use shop_core::{Currency, Money};
use shop_payments::alipay::cert::{cert_public_key, cert_sn, root_cert_sn};
use shop_payments::alipay::notify::{
    read_notification, verify_notification_body, verify_return_query,
};
use shop_payments::alipay::params::notification_signing_content;
use shop_payments::alipay::response::verify_response;
use shop_payments::alipay::{
    AlipayCertificates, AlipayKeyError, AlipayKeys, RsaPrivateKey, RsaPublicKey,
};
use shop_payments::{
    AlipayConfig, AlipayGateway, HttpRequest, HttpResponse, Transport, TransportError,
};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/alipay/");

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("{FIXTURES}{name}")).unwrap()
}

/// The published notification's parameters, in the order published.
fn notification_params() -> Vec<(String, String)> {
    serde_json::from_str(&fixture("notify-trade-success.json")).unwrap()
}

fn notify_key() -> RsaPublicKey {
    RsaPublicKey::from_pem_or_base64(&fixture("alipay-notify-public-key-v1.txt")).unwrap()
}

/// Form-encodes as Alipay does (a space is `+`).
fn form(params: &[(String, String)]) -> Vec<u8> {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        s.append_pair(k, v);
    }
    s.finish().into_bytes()
}

fn with(params: &[(String, String)], key: &str, value: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = params.iter().filter(|(k, _)| k != key).cloned().collect();
    out.push((key.to_owned(), value.to_owned()));
    out
}

fn without(params: &[(String, String)], key: &str) -> Vec<(String, String)> {
    params.iter().filter(|(k, _)| k != key).cloned().collect()
}

const APP_ID: &str = "2019073166072302";
const SELLER_ID: &str = "2088531891668739";

#[test]
fn the_published_notification_verifies_and_reads_as_a_payment() {
    let params = notification_params();
    let verified = verify_notification_body(&form(&params), &notify_key()).unwrap();
    assert_eq!(verified, params);
    let event = read_notification(&verified, APP_ID, Some(SELLER_ID)).unwrap();
    let GatewayEvent::Paid(paid) = event else {
        panic!("{event:?}");
    };
    assert_eq!(paid.merchant_id, APP_ID);
    assert_eq!(paid.order_no, "20190815155618536-564-57");
    assert_eq!(paid.amount, Money::parse("0.10", Currency::Cny).unwrap());
    assert_eq!(paid.transaction_no, "2019081522001468450512505578");
    // gmt_payment 2019-08-15 15:56:24 Beijing time.
    assert_eq!(
        paid.paid_at,
        Utc.with_ymd_and_hms(2019, 8, 15, 7, 56, 24).unwrap()
    );
}

#[test]
fn the_signing_string_is_the_one_the_sdk_builds() {
    let content = notification_signing_content(&notification_params());
    assert!(content.starts_with("app_id=2019073166072302&auth_app_id=2019073166072302&buyer_id="));
    assert!(
        content.contains(r#"&fund_bill_list=[{"amount":"0.10","fundChannel":"ALIPAYACCOUNT"}]&"#)
    );
    assert!(content.contains("&subject=语雀空间 500人规模&"));
    assert!(!content.contains("sign"));
    assert!(content.ends_with("&trade_status=TRADE_SUCCESS&version=1.0"));
}

#[test]
fn encodings_of_the_same_values_verify_alike() {
    let params = notification_params();
    let key = notify_key();
    // A space sent as %20 instead of +.
    let body = String::from_utf8(form(&params))
        .unwrap()
        .replace('+', "%20");
    assert!(verify_notification_body(body.as_bytes(), &key).is_ok());
    // Without sign_type, and with an empty extra parameter: both are left
    // out of the signing string.
    let trimmed = with(&without(&params, "sign_type"), "passback_params", "");
    assert!(verify_notification_body(&form(&trimmed), &key).is_ok());
    // Return URLs use the same algorithm over the query string.
    let query = String::from_utf8(form(&params)).unwrap();
    assert!(verify_return_query(&format!("?{query}"), &key).is_ok());
    assert!(verify_return_query(&query, &key).is_ok());
}

#[test]
fn tampered_copies_are_refused() {
    let params = notification_params();
    let key = notify_key();
    let refused =
        |body: &[u8]| -> PaymentError { verify_notification_body(body, &key).unwrap_err() };
    let invalid = |body: &[u8]| matches!(refused(body), PaymentError::InvalidSignature);

    assert!(invalid(&form(&with(&params, "total_amount", "0.01"))));
    assert!(invalid(&form(&with(
        &params,
        "out_trade_no",
        "20190815155618536-564-58"
    ))));
    assert!(invalid(&form(&with(&params, "app_id", "2019073166072303"))));
    // An extra non-empty parameter is signed content.
    assert!(invalid(&form(&with(&params, "passback_params", "x"))));
    // A literal + where the value has a space.
    let body = String::from_utf8(form(&params)).unwrap();
    let plus = body.replacen("+500", "%2B500", 1);
    assert_ne!(plus, body);
    assert!(invalid(plus.as_bytes()));
    // One byte of the signature changed.
    let sign = params.iter().find(|(k, _)| k == "sign").unwrap().1.clone();
    let mut bytes = STANDARD.decode(&sign).unwrap();
    bytes[10] ^= 0x01;
    assert!(invalid(&form(&with(
        &params,
        "sign",
        &STANDARD.encode(bytes)
    ))));
    // No signature, an empty one, a non-base64 one, a SHA-1 RSA one.
    assert!(invalid(&form(&without(&params, "sign"))));
    assert!(invalid(&form(&with(&params, "sign", ""))));
    assert!(invalid(&form(&with(&params, "sign", "!!!"))));
    assert!(invalid(&form(&with(&params, "sign_type", "RSA"))));
    // Another key.
    let other = RsaPublicKey::from_pem_or_base64(&fixture("alipay-public-key.pem")).unwrap();
    assert!(matches!(
        verify_notification_body(&form(&params), &other),
        Err(PaymentError::InvalidSignature)
    ));
    // Unreadable bodies are malformed, not merely unsigned.
    let mut repeated = form(&params);
    repeated.extend_from_slice(b"&total_amount=0.10");
    assert!(matches!(refused(&repeated), PaymentError::Malformed(_)));
    let mut bad_escape = form(&params);
    bad_escape.extend_from_slice(b"&x=%G1");
    assert!(matches!(refused(&bad_escape), PaymentError::Malformed(_)));
}

#[test]
fn merchant_and_status_are_checked_after_the_signature() {
    let params = notification_params();
    assert!(matches!(
        read_notification(&params, "2021000000000000", None),
        Err(PaymentError::MerchantMismatch { expected, got }) if expected == "2021000000000000" && got == APP_ID
    ));
    assert!(matches!(
        read_notification(&params, APP_ID, Some("2088000000000000")),
        Err(PaymentError::MerchantMismatch { .. })
    ));
    assert!(read_notification(&params, APP_ID, None).is_ok());
    for status in ["WAIT_BUYER_PAY", "TRADE_CLOSED", "SOMETHING_NEW"] {
        assert_eq!(
            read_notification(&with(&params, "trade_status", status), APP_ID, None).unwrap(),
            GatewayEvent::Ignored
        );
    }
    assert!(matches!(
        read_notification(
            &with(&params, "trade_status", "TRADE_FINISHED"),
            APP_ID,
            None
        ),
        Ok(GatewayEvent::Paid(_))
    ));
    let refund = with(
        &with(&params, "out_biz_no", "RF7"),
        "gmt_refund",
        "2019-08-16 10:00:00.123",
    );
    assert_eq!(
        read_notification(&refund, APP_ID, None).unwrap(),
        GatewayEvent::RefundFinished {
            refund_no: "RF7".into(),
            succeeded: true
        }
    );
    assert!(matches!(
        read_notification(&with(&params, "total_amount", "0.001"), APP_ID, None),
        Err(PaymentError::Malformed(_))
    ));
    assert!(matches!(
        read_notification(&with(&params, "gmt_payment", "yesterday"), APP_ID, None),
        Err(PaymentError::Malformed(_))
    ));
}

/// A transport that must not be used.
struct NoNetwork;

#[async_trait::async_trait]
impl Transport for NoNetwork {
    async fn send(&self, _: HttpRequest) -> Result<HttpResponse, TransportError> {
        panic!("verification sent a request")
    }
}

fn published_gateway(app_id: &str) -> AlipayGateway {
    let key = RsaPrivateKey::from_pem_or_base64(&fixture("app-private-key.pem")).unwrap();
    AlipayGateway::new(
        AlipayConfig::new(app_id, key, AlipayKeys::PublicKey(notify_key())),
        Arc::new(NoNetwork),
    )
}

#[tokio::test]
async fn the_gateway_verifies_the_raw_body_and_the_return_query() {
    let params = notification_params();
    let n = RawNotification {
        headers: vec![],
        query: String::new(),
        body: form(&params),
    };
    let g = published_gateway(APP_ID);
    assert!(matches!(
        g.verify_notification(&n).await,
        Ok(GatewayEvent::Paid(_))
    ));
    let returned = g
        .verify_return(std::str::from_utf8(&n.body).unwrap())
        .unwrap();
    assert_eq!(returned.trade_no, "2019081522001468450512505578");
    assert_eq!(
        returned.total_amount,
        Money::parse("0.10", Currency::Cny).unwrap()
    );
    let other = published_gateway("2021000000000000");
    assert!(matches!(
        other.verify_notification(&n).await,
        Err(PaymentError::MerchantMismatch { .. })
    ));
    assert!(matches!(
        other.verify_return(std::str::from_utf8(&n.body).unwrap()),
        Err(PaymentError::MerchantMismatch { .. })
    ));
}

#[test]
fn the_published_response_verifies_over_its_exact_text() {
    let body = fixture("response-open-file-upload.json");
    let key = RsaPublicKey::from_pem_or_base64(&fixture("alipay-public-key.pem")).unwrap();
    let node = verify_response("alipay.open.file.upload", body.as_bytes(), &key).unwrap();
    assert_eq!(
        node,
        r#"{"code":"10000","msg":"Success","file_id":"CAxAToWB1JsAAAAAAAAAAAAADgSLAQBr"}"#
    );
    // Whitespace outside the node does not matter; inside it does.
    let spaced = body.replacen(
        r#""alipay_open_file_upload_response":"#,
        "\"alipay_open_file_upload_response\" :\n ",
        1,
    );
    assert!(verify_response("alipay.open.file.upload", spaced.as_bytes(), &key).is_ok());
    for tampered in [
        body.replacen(r#""code":"10000","msg""#, r#""code":"10000", "msg""#, 1),
        body.replacen("CAxAToWB1Js", "CAxAToWB1Jt", 1),
        body.replacen(r#""sign":"F+"#, r#""sign":"G+"#, 1),
    ] {
        assert_ne!(tampered, body);
        assert!(matches!(
            verify_response("alipay.open.file.upload", tampered.as_bytes(), &key),
            Err(PaymentError::InvalidSignature)
        ));
    }
    assert!(matches!(
        verify_response("alipay.open.file.upload", body.as_bytes(), &notify_key()),
        Err(PaymentError::InvalidSignature)
    ));
    // Another method's answer: no such node, the provider's answer is
    // invalid (not a signature question).
    match verify_response("alipay.trade.query", body.as_bytes(), &key) {
        Err(PaymentError::Gateway { source }) => assert!(
            matches!(
                source.downcast_ref::<shop_payments::ProviderError>(),
                Some(shop_payments::ProviderError::InvalidResponse(_))
            ),
            "{source}"
        ),
        other => panic!("expected an invalid response, got {other:?}"),
    }
}

#[test]
fn our_signature_matches_openssl_on_the_published_private_key() {
    let key = RsaPrivateKey::from_pem_or_base64(&fixture("app-private-key.pem")).unwrap();
    let content = fixture("openssl-sign-content.txt");
    assert_eq!(
        key.sign(content.as_bytes()).unwrap(),
        fixture("openssl-sign-content.sig.b64").trim()
    );
    let public = RsaPublicKey::from_pem_or_base64(&fixture("app-public-key.pem")).unwrap();
    let sign = key.sign(content.as_bytes()).unwrap();
    assert!(public.verify(content.as_bytes(), &sign));
    assert!(key.public_key().verify(content.as_bytes(), &sign));
    assert!(!public.verify(content.replace("88.88", "88.89").as_bytes(), &sign));
}

#[test]
fn private_keys_load_in_every_shape() {
    let bare = fixture("app-private-key-pkcs8.txt");
    let pem = format!("-----BEGIN PRIVATE KEY-----\n{bare}\n-----END PRIVATE KEY-----\n");
    let a = RsaPrivateKey::from_pem_or_base64(&bare).unwrap();
    let b = RsaPrivateKey::from_pem_or_base64(&pem).unwrap();
    assert_eq!(a.public_key(), b.public_key());
    assert_eq!(a.sign(b"x").unwrap(), b.sign(b"x").unwrap());
    // PKCS#1 as bare base64, public keys as bare base64 and PKCS#1 PEM.
    let pkcs1 = fixture("app-private-key.pem");
    let body: String = pkcs1.lines().filter(|l| !l.starts_with("-----")).collect();
    let c = RsaPrivateKey::from_pem_or_base64(&body).unwrap();
    let d = RsaPrivateKey::from_pem_or_base64(&pkcs1).unwrap();
    assert_eq!(c.public_key(), d.public_key());
    let pkcs1_public = format!(
        "-----BEGIN RSA PUBLIC KEY-----\n{}\n-----END RSA PUBLIC KEY-----\n",
        STANDARD.encode(d.public_key().der())
    );
    let e = RsaPublicKey::from_pem_or_base64(&pkcs1_public).unwrap();
    assert!(e.verify(b"x", &d.sign(b"x").unwrap()));
    assert!(matches!(
        RsaPrivateKey::from_pem_or_base64(&fixture("app-public-key.pem")),
        Err(AlipayKeyError::Missing { .. })
    ));
}

#[test]
fn generated_keys_round_trip_and_other_keys_fail() {
    let generate = || {
        let pair = KeyPair::generate(KeySize::Rsa2048).unwrap();
        let der = AsDer::<Pkcs8V1Der<'_>>::as_der(&pair).unwrap();
        RsaPrivateKey::from_pkcs8_der(der.as_ref()).unwrap()
    };
    let (ours, theirs) = (generate(), generate());
    let sign = ours.sign("a=1&b=中文".as_bytes()).unwrap();
    assert!(ours.public_key().verify("a=1&b=中文".as_bytes(), &sign));
    assert!(!theirs.public_key().verify("a=1&b=中文".as_bytes(), &sign));
    assert!(!ours.public_key().verify("a=1&b=中文 ".as_bytes(), &sign));
}

#[test]
fn certificate_sns_match_the_sdk() {
    let app = fixture("appCertPublicKey_2021001161683774.crt");
    let alipay = fixture("alipayCertPublicKey_RSA2.crt");
    let root = fixture("alipayRootCert.crt");
    assert_eq!(
        cert_sn(app.as_bytes()).unwrap(),
        "866efef280dec9137a87d047ac446315"
    );
    assert_eq!(
        cert_sn(alipay.as_bytes()).unwrap(),
        "7513daaaa48aa3ba2e4018d84402479c"
    );
    assert_eq!(
        root_cert_sn(root.as_bytes()).unwrap(),
        "687b59193f3f462dd5336e5abf83c5d8_02941eef3187dddf3d3b83462e1dfcf6"
    );
    let key = cert_public_key(alipay.as_bytes()).unwrap();
    assert_eq!(
        STANDARD.encode(key.der()),
        "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAhoVesfcGvUv1XvUndmX0rmSZ/2posJBCooySbSVFpV79RtHMzrVz2aKkC3WvOXeT5iNeQK4mK8gp3vNkWrHTkQGx5BcmkeO1WS384CQde7dAS0gmxeFs5bs+cCQqV2A2c2R9/5rJMtFtp1Ot/rIiMBUn6Ei0UoztM7AneavqQEzSwYlCKNhPFFtHCiz7u4O5R9CIyvUmYr+zpem2HXBN9ygPAZ0aXBQipGbc45+G07ZCNsmY4hV/Igya1aBf+Ye8p10Ew8uBBri0sIknhSC2LqKKy2IH1fO6q1d1jhN240QRHvbpRNv60kAfZsEulBASBrCMBi49NiJyr5nre7SNywIDAQAB"
    );
    let certs =
        AlipayCertificates::from_pem(app.as_bytes(), alipay.as_bytes(), root.as_bytes()).unwrap();
    assert_eq!(certs.app_cert_sn, "866efef280dec9137a87d047ac446315");
    assert_eq!(certs.alipay_cert_sn, "7513daaaa48aa3ba2e4018d84402479c");
    assert_eq!(certs.alipay_public_key, key);

    // DER works too; a root file without RSA roots, or garbage, does not.
    let der = rustls_pki_types_der(&app);
    assert_eq!(cert_sn(&der).unwrap(), "866efef280dec9137a87d047ac446315");
    let sm2_only = root.split("\n\n").next().unwrap();
    assert!(matches!(
        root_cert_sn(sm2_only.as_bytes()),
        Err(AlipayKeyError::Missing { .. })
    ));
    assert!(cert_sn(b"not a certificate").is_err());
    assert!(
        cert_sn(b"-----BEGIN CERTIFICATE-----\naGVsbG8=\n-----END CERTIFICATE-----\n").is_err()
    );
}

fn rustls_pki_types_der(pem: &str) -> Vec<u8> {
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    STANDARD.decode(body).unwrap()
}
