//! WeChat Pay API v3 against published test vectors of WeChat Pay's
//! official SDKs (`tests/fixtures/wechat`, see its SOURCE.md), and
//! tampered copies of them that must fail.

use chrono::{DateTime, TimeZone, Utc};
use shop_core::payment::PaymentError;
use shop_payments::clock::TimestampWindow;
use shop_payments::wechat::notify::{decrypt, encrypt};
use shop_payments::wechat::sign::verify;
use shop_payments::wechat::{ApiV3Key, KeyError, PlatformKeys, SigningKey};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/wechat/");

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{FIXTURES}{name}")).unwrap()
}

/// The SDKs publish their test keys labelled `TESTING KEY` (so that
/// secret scanners pass them by); they are PKCS#8 `PRIVATE KEY`s.
fn testing_key(serial: &str, name: &str) -> SigningKey {
    let pem = String::from_utf8(fixture(name))
        .unwrap()
        .replace("TESTING KEY", "PRIVATE KEY");
    SigningKey::from_pkcs8_pem(serial, pem.as_bytes()).unwrap()
}

fn at(unix: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(unix, 0).unwrap()
}

// wechatpay-go core/auth/signers/sha256withrsa_signer_test.go and
// core/auth/verifiers/sha256withrsa{,_pubkey}_verifier_test.go.
const GO_SERIAL: &str = "F5765756002FDD77";
const GO_SOURCE_SIGNATURE: &str = "BKyAfU4iMCuvXMXS0Wzam3V/cnxZ+JaqigPM5OhljS2iOT95OO6Fsuml2JkFANJU9K6q9bLlDhPXuoVz+pp4hAm6pHU4ld815U4jsKu1RkyaII+1CYBUYC8TK0XtJ8FwUXXz8vZHh58rrAVN1XwNyvD1vfpxrMT4SL536GLwvpUHlCqIMzoZUguLli/K8V29QiOhuH6IEqLNJn8e9b3nwNcQ7be3CzYGpDAKBfDGPCqCv8Rw5zndhlffk2FEA70G4hvMwe51qMN/RAJbknXG23bSlObuTCN7Ndj1aJGH6/L+hdwfLpUtJm4QYVazzW7DFD27EpSQEqA8bX9+8m1rLg==";

// wechatpay-go core/notify/notify_test.go.
const GO_NOTIFY_SERIAL: &str = "D7CE59D1F522D701";
const GO_NOTIFY_TIMESTAMP: i64 = 1_624_523_846;
const GO_NOTIFY_NONCE: &str = "EcZ9Cmy4Xyx1i6RlJQzLcCyEqDa26NBz";
const GO_NOTIFY_SIGNATURE: &str = "tJHIiIS9eB2hAYstmAmbbD3ZE5LiIm/Ug5tuL4fC0YOFRWIHV39UFIZXC0e9Wl6lBu6sKvkqDkzpqzBsVHyXFlbYZTOQrVdG4b6LfTnK4mikv9++ixJMd3vTf2yCqvBkh98zs3Ds5zsYQakzbcwhmw4fMJs4nPLws28H0UW9FjDR//rxELLwXvV1VEA1IBLX70xptjL8hrfUjEE8kkry6yNJTHZRU8CAc7qHli2Ng1V1qb9ARbK8A3ThmFmPQvRGrapI/jS2laKKgYUmfdEdkNO6B2Cke5e8VTxY406ArAmQ90GAihDwIcb16TQMnzCMBoutnwZKNiKRACrFmtxw2Q==";

// wechatpay-java core/src/test/.../cipher/RSAVerifierTest.java and
// model/TestConfig.java.
const JAVA_MERCHANT_SERIAL: &str = "5F1C72E2A8931B72A2E13AF8DEE92471EB397115";
const JAVA_MESSAGE_SIGNATURE: &str = "Rq+5ZpWV6IHTWE1+9gCrYJKguNgbItpMdlIA+PVCPCdUAKNlohZz7CL7Y8xWDIFJjdGnErMj6Z+Q/h9CF5MV+nAVkqDmBR0uP5ppsUEzco4ijvKHsvI2ro4boSW6vSfQs3W8I4QSI9a0/NFIgvj83Fv27LIYZf7deaFWmEwd1fpAeJRCyoKyBeJPdsjVx0//Lqe6Wze2zVdliLcBvaHCfpd8+rAVGS+FQDeWgHqJ7n/Zy09LmV1/ghs7pO1mdjdD16SHKlysAD3K5hNGUJX/SHrEXEcu1yO1AOb/YvOVkjNh8243rcfXNE5L4ph2XS11vS+2aToKYSOcKUagf0LLaw==";
const JAVA_WECHAT_PAY_KEY_ID: &str = "440024045C4A427599D09BB4E3DE0279F2E813FD";
const JAVA_API_V3_KEY: &str = "a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb";

// wechatpay-java core/src/test/.../cipher/AeadAesCipherTest.java.
const JAVA_AEAD_NONCE: &str = "uluk4a9R25RW";
const JAVA_AEAD_ASSOCIATED_DATA: &str = "associatedData";
const JAVA_AEAD_CIPHERTEXT: &str = "ulwSiIajGClcvcOYvOQ7+l+0PAbzzwI=";

#[test]
fn our_signer_reproduces_the_go_sdks_signature() {
    let key = testing_key(GO_SERIAL, "go_signer_key.testing.pem");
    // PKCS#1 v1.5 is deterministic: the same key and message give the
    // published signature byte for byte.
    assert_eq!(key.sign(b"source").unwrap(), GO_SOURCE_SIGNATURE);
    assert_ne!(key.sign(b"source ").unwrap(), GO_SOURCE_SIGNATURE);
}

#[test]
fn our_signer_reproduces_the_java_sdks_signature() {
    let key = testing_key(JAVA_MERCHANT_SERIAL, "java_merchant_key.testing.pem");
    assert_eq!(key.sign(b"message").unwrap(), JAVA_MESSAGE_SIGNATURE);
}

#[test]
fn published_signatures_verify_under_certificates_and_public_keys() {
    let mut keys = PlatformKeys::new();
    let serials = keys
        .add_certificates_pem(&fixture("go_platform_cert_F5765756002FDD77.pem"))
        .unwrap();
    assert_eq!(serials, [GO_SERIAL]);
    let in_2024 = at(1_717_200_000);
    assert!(keys.verifies(GO_SERIAL, in_2024, b"source", GO_SOURCE_SIGNATURE));
    // Tampered copies: another message, another serial, a changed
    // signature, after the certificate expired (2031-04-25).
    assert!(!keys.verifies(GO_SERIAL, in_2024, b"wrong source", GO_SOURCE_SIGNATURE));
    assert!(!keys.verifies("F5765756002FDD78", in_2024, b"source", GO_SOURCE_SIGNATURE));
    let flipped = GO_SOURCE_SIGNATURE.replacen('B', "C", 1);
    assert!(!keys.verifies(GO_SERIAL, in_2024, b"source", &flipped));
    assert!(!keys.verifies(GO_SERIAL, in_2024, b"source", "not base64!"));
    assert!(!keys.verifies(GO_SERIAL, at(1_950_000_000), b"source", GO_SOURCE_SIGNATURE));
    // The serial is a number: case and leading zeros do not matter.
    assert!(keys.verifies(
        "00f5765756002fdd77",
        in_2024,
        b"source",
        GO_SOURCE_SIGNATURE
    ));

    // The same key as a platform public key (SPKI PEM), under its id; no
    // validity period applies to a public key.
    let mut by_id = PlatformKeys::new();
    by_id
        .add_public_key_pem(
            GO_SERIAL,
            &fixture("go_platform_public_key_F5765756002FDD77.pem"),
        )
        .unwrap();
    assert!(by_id.verifies(GO_SERIAL, at(1_950_000_000), b"source", GO_SOURCE_SIGNATURE));
    assert!(!by_id.verifies(GO_SERIAL, in_2024, b"wrong source", GO_SOURCE_SIGNATURE));
    assert!(!by_id.verifies("f5765756002fdd77", in_2024, b"source", GO_SOURCE_SIGNATURE));

    // Java: the merchant certificate verifies its signature (until the
    // certificate expires on 2025-05-09); WeChat Pay's public key does not.
    let mut java = PlatformKeys::new();
    assert_eq!(
        java.add_certificates_pem(&fixture(
            "java_merchant_cert_5F1C72E2A8931B72A2E13AF8DEE92471EB397115.pem"
        ))
        .unwrap(),
        [JAVA_MERCHANT_SERIAL]
    );
    java.add_public_key_pem(
        JAVA_WECHAT_PAY_KEY_ID,
        &fixture("java_wechat_pay_public_key.pem"),
    )
    .unwrap();
    assert_eq!(java.len(), 2);
    assert!(java.verifies(
        JAVA_MERCHANT_SERIAL,
        in_2024,
        b"message",
        JAVA_MESSAGE_SIGNATURE
    ));
    assert!(!java.verifies(
        JAVA_WECHAT_PAY_KEY_ID,
        in_2024,
        b"message",
        JAVA_MESSAGE_SIGNATURE
    ));
    assert!(!java.verifies(
        JAVA_MERCHANT_SERIAL,
        at(1_767_225_600),
        b"message",
        JAVA_MESSAGE_SIGNATURE
    ));

    // The Java SDK's WeChat Pay private key pairs with its public key.
    let platform = testing_key(JAVA_WECHAT_PAY_KEY_ID, "java_wechat_pay_key.testing.pem");
    let signature = platform.sign(b"message").unwrap();
    assert!(java.verifies(JAVA_WECHAT_PAY_KEY_ID, in_2024, b"message", &signature));
}

fn go_notification_headers(serial: &str) -> Vec<(String, String)> {
    [
        ("wechatpay-nonce", GO_NOTIFY_NONCE),
        ("wechatpay-timestamp", &GO_NOTIFY_TIMESTAMP.to_string()),
        ("wechatpay-serial", serial),
        ("wechatpay-signature", GO_NOTIFY_SIGNATURE),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

fn check(
    headers: &[(String, String)],
    body: &[u8],
    keys: &PlatformKeys,
    now: DateTime<Utc>,
) -> Result<(), PaymentError> {
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    verify(header, body, keys, now, TimestampWindow::DEFAULT)
}

#[test]
fn the_go_sdks_notification_verifies_over_its_raw_bytes_and_tampered_copies_fail() {
    let mut keys = PlatformKeys::new();
    keys.add_certificates_pem(&fixture("go_platform_cert_D7CE59D1F522D701.pem"))
        .unwrap();
    let body = fixture("go_notification_body.json");
    let headers = go_notification_headers(GO_NOTIFY_SERIAL);
    let now = at(GO_NOTIFY_TIMESTAMP);
    check(&headers, &body, &keys, now).unwrap();
    check(&headers, &body, &keys, at(GO_NOTIFY_TIMESTAMP + 300)).unwrap();

    // Our own signer, with the Go SDK's private key, produces WeChat Pay's
    // published notification signature.
    let signer = testing_key(GO_NOTIFY_SERIAL, "go_signer_key.testing.pem");
    let ours = shop_payments::wechat::sign::signed_headers(
        &signer,
        GO_NOTIFY_TIMESTAMP,
        GO_NOTIFY_NONCE,
        &body,
    )
    .unwrap();
    assert!(ours
        .iter()
        .any(|(k, v)| k == "wechatpay-signature" && v == GO_NOTIFY_SIGNATURE));

    let refused = |headers: &[(String, String)], body: &[u8], now| {
        check(headers, body, &keys, now).unwrap_err()
    };
    // A changed body byte (the amount of a real one, here "payscore").
    let mut changed = body.clone();
    let i = changed.windows(8).position(|w| w == b"payscore").unwrap();
    changed[i] = b'P';
    assert!(matches!(
        refused(&headers, &changed, now),
        PaymentError::InvalidSignature
    ));
    // The same JSON re-serialised with other whitespace.
    let value: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let pretty = serde_json::to_vec_pretty(&value).unwrap();
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&pretty).unwrap(),
        value
    );
    assert!(matches!(
        refused(&headers, &pretty, now),
        PaymentError::InvalidSignature
    ));
    let mut trailing = body.clone();
    trailing.push(b'\n');
    assert!(matches!(
        refused(&headers, &trailing, now),
        PaymentError::InvalidSignature
    ));
    // A serial number we have no key for.
    let unknown = go_notification_headers("D7CE59D1F522D702");
    assert!(matches!(
        refused(&unknown, &body, now),
        PaymentError::InvalidSignature
    ));
    // Another timestamp or nonce than the one signed.
    let mut retimed = headers.clone();
    retimed[1].1 = (GO_NOTIFY_TIMESTAMP + 1).to_string();
    assert!(matches!(
        refused(&retimed, &body, now),
        PaymentError::InvalidSignature
    ));
    let mut renonced = headers.clone();
    renonced[0].1 = "EcZ9Cmy4Xyx1i6RlJQzLcCyEqDa26NBZ".into();
    assert!(matches!(
        refused(&renonced, &body, now),
        PaymentError::InvalidSignature
    ));
    // Replayed: genuine, but more than 5 minutes from now, either way.
    assert!(matches!(
        refused(&headers, &body, at(GO_NOTIFY_TIMESTAMP + 301)),
        PaymentError::Replayed
    ));
    assert!(matches!(
        refused(&headers, &body, at(GO_NOTIFY_TIMESTAMP - 301)),
        PaymentError::Replayed
    ));
    // A missing header, another signature type, a timestamp that is not one.
    assert!(matches!(
        refused(&headers[..3], &body, now),
        PaymentError::InvalidSignature
    ));
    let mut typed = headers.clone();
    typed.push((
        "wechatpay-signature-type".into(),
        "WECHATPAY2-SM2-WITH-SM3".into(),
    ));
    assert!(matches!(
        refused(&typed, &body, now),
        PaymentError::InvalidSignature
    ));
    let mut nonsense = headers.clone();
    nonsense[1].1 = "16245238x6".into();
    assert!(matches!(
        refused(&nonsense, &body, now),
        PaymentError::Malformed(_)
    ));
}

#[test]
fn the_go_sdks_notification_resource_uses_a_key_api_v3_does_not() {
    // The Go SDK seals this resource with the 16-byte "testMchAPIv3Key0"
    // (AES-128-GCM); API v3 keys are 32 bytes and the algorithm is
    // AEAD_AES_256_GCM, so this key is refused rather than misused.
    assert_eq!(
        ApiV3Key::new("testMchAPIv3Key0"),
        Err(KeyError::ApiV3KeyLength(16))
    );
}

#[test]
fn the_java_sdks_aead_vector_decrypts_and_tampered_copies_fail() {
    let key = ApiV3Key::new(JAVA_API_V3_KEY).unwrap();
    let plaintext = decrypt(
        &key,
        JAVA_AEAD_NONCE,
        JAVA_AEAD_ASSOCIATED_DATA,
        JAVA_AEAD_CIPHERTEXT,
    )
    .unwrap();
    assert_eq!(plaintext, b"message");
    assert_eq!(
        encrypt(&key, JAVA_AEAD_NONCE, JAVA_AEAD_ASSOCIATED_DATA, b"message").unwrap(),
        JAVA_AEAD_CIPHERTEXT
    );

    let wrong_key = ApiV3Key::new("a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gc").unwrap();
    let flipped = JAVA_AEAD_CIPHERTEXT.replacen('u', "v", 1);
    for result in [
        decrypt(
            &wrong_key,
            JAVA_AEAD_NONCE,
            JAVA_AEAD_ASSOCIATED_DATA,
            JAVA_AEAD_CIPHERTEXT,
        ),
        decrypt(
            &key,
            JAVA_AEAD_NONCE,
            "associatedDatA",
            JAVA_AEAD_CIPHERTEXT,
        ),
        decrypt(&key, JAVA_AEAD_NONCE, "", JAVA_AEAD_CIPHERTEXT),
        decrypt(
            &key,
            "uluk4a9R25RX",
            JAVA_AEAD_ASSOCIATED_DATA,
            JAVA_AEAD_CIPHERTEXT,
        ),
        decrypt(&key, JAVA_AEAD_NONCE, JAVA_AEAD_ASSOCIATED_DATA, &flipped),
    ] {
        assert!(matches!(result, Err(PaymentError::InvalidSignature)));
    }
}

#[test]
fn the_java_sdks_encrypted_platform_certificate_decrypts_to_its_serial() {
    let download: serde_json::Value =
        serde_json::from_slice(&fixture("java_certificate_download.json")).unwrap();
    let entry = &download["data"][0];
    let sealed = &entry["encrypt_certificate"];
    let text = |v: &serde_json::Value| v.as_str().unwrap().to_owned();
    let key = ApiV3Key::new(JAVA_API_V3_KEY).unwrap();
    let pem = decrypt(
        &key,
        &text(&sealed["nonce"]),
        &text(&sealed["associated_data"]),
        &text(&sealed["ciphertext"]),
    )
    .unwrap();
    assert!(pem.starts_with(b"-----BEGIN CERTIFICATE-----"));
    let mut keys = PlatformKeys::new();
    let serials = keys.add_certificates_pem(&pem).unwrap();
    assert_eq!(serials, [text(&entry["serial_no"])]);
    assert_eq!(serials, ["5DEA10EF55877E3CF6C33255C2E7DEFFF7E427EC"]);

    assert!(matches!(
        decrypt(
            &key,
            &text(&sealed["nonce"]),
            "certificatE",
            &text(&sealed["ciphertext"])
        ),
        Err(PaymentError::InvalidSignature)
    ));
}

#[test]
fn a_certificate_bundle_is_added_all_or_none() {
    let good = fixture("go_platform_cert_D7CE59D1F522D701.pem");
    let mut bundle = fixture("go_platform_cert_F5765756002FDD77.pem");
    bundle.extend_from_slice(&good);
    let mut keys = PlatformKeys::new();
    assert_eq!(
        keys.add_certificates_pem(&bundle).unwrap(),
        [GO_SERIAL, "D7CE59D1F522D701"]
    );
    // The same certificate again replaces itself.
    keys.add_certificates_pem(&good).unwrap();
    assert_eq!(keys.len(), 2);

    // A bundle whose second certificate is damaged adds nothing.
    let text = String::from_utf8(good).unwrap();
    let damaged = text.replacen("MIIDVzCCAj+gAwIBAgIJ", "MIIDVzCCAj+gAwIBAgIK", 1);
    let mut bad_bundle = fixture("java_merchant_cert_5F1C72E2A8931B72A2E13AF8DEE92471EB397115.pem");
    bad_bundle.extend_from_slice(damaged.as_bytes());
    let mut fresh = PlatformKeys::new();
    assert!(matches!(
        fresh.add_certificates_pem(&bad_bundle),
        Err(KeyError::Certificate(_))
    ));
    assert!(fresh.is_empty());
}
