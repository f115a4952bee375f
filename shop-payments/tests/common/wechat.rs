//! Playing WeChat Pay in tests: keys, configuration, and notifications
//! signed and encrypted as WeChat Pay sends them. The fake API server is
//! in `fake_wechat`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::KeyPair as _;
use shop_core::clock::{Clock, ManualClock};
use shop_core::payment::RawNotification;
use shop_payments::wechat::notify::{encrypt, ALGORITHM};
use shop_payments::wechat::sign::signed_headers;
use shop_payments::wechat::{
    ApiV3Key, PlatformKeys, SigningKey, TradeType, WechatPayConfig, WechatPayGateway,
};
use shop_payments::ReqwestTransport;

pub const MCHID: &str = "1900000109";
pub const APPID: &str = "wxd678efh567hg6787";
pub const MERCHANT_SERIAL: &str = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1";
/// The Go SDK's test platform certificate (fixtures), valid 2021–2031.
pub const PLATFORM_SERIAL: &str = "D7CE59D1F522D701";
pub const API_V3_KEY: &str = "Shop0APIv3Key0for0the0tests00001";
pub const NOTIFY_URL: &str = "https://shop.invalid/payments/wechat/notify";

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/wechat/");

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{FIXTURES}{name}")).unwrap()
}

/// A freshly generated RSA-2048 key named `serial`, with its public key
/// (PKCS#1 DER).
pub fn generated_key(serial: &str) -> (SigningKey, Vec<u8>) {
    let pair = KeyPair::generate(KeySize::Rsa2048).unwrap();
    let pkcs8 = pair.as_der().unwrap();
    let key = SigningKey::from_pkcs8_der(serial, pkcs8.as_ref()).unwrap();
    (key, pair.public_key().as_ref().to_vec())
}

/// The platform's private key: the Go SDK's test key, which pairs with the
/// certificate [`PLATFORM_SERIAL`].
pub fn platform_signer() -> SigningKey {
    let pem = String::from_utf8(fixture("go_signer_key.testing.pem"))
        .unwrap()
        .replace("TESTING KEY", "PRIVATE KEY");
    SigningKey::from_pkcs8_pem(PLATFORM_SERIAL, pem.as_bytes()).unwrap()
}

/// Our platform keys: the certificate [`PLATFORM_SERIAL`].
pub fn platform_keys() -> PlatformKeys {
    let mut keys = PlatformKeys::new();
    keys.add_certificates_pem(&fixture("go_platform_cert_D7CE59D1F522D701.pem"))
        .unwrap();
    keys
}

pub fn api_v3_key() -> ApiV3Key {
    ApiV3Key::new(API_V3_KEY).unwrap()
}

pub fn transport() -> Arc<ReqwestTransport> {
    let client = shop_payments::reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap();
    Arc::new(ReqwestTransport::with_client(client))
}

/// A gateway on `api_base` with our merchant key `merchant`.
pub fn gateway(
    api_base: &str,
    merchant: SigningKey,
    trade_type: TradeType,
    clock: Arc<ManualClock>,
) -> WechatPayGateway {
    let mut config = WechatPayConfig::new(
        MCHID,
        APPID,
        merchant,
        api_v3_key(),
        platform_keys(),
        NOTIFY_URL,
    );
    config.api_base = api_base.to_owned();
    config.trade_type = trade_type;
    WechatPayGateway::new(config, transport()).with_clock(clock)
}

static NONCES: AtomicU64 = AtomicU64::new(0);

/// A fresh 12-character resource nonce and 32-character header nonce.
pub fn nonces() -> (String, String) {
    let n = NONCES.fetch_add(1, Ordering::Relaxed);
    (format!("{n:012}"), format!("{n:032X}"))
}

/// Builds notifications as WeChat Pay sends them.
pub struct Notifier {
    pub platform: SigningKey,
    pub api_v3_key: ApiV3Key,
    pub clock: Arc<ManualClock>,
}

impl Notifier {
    pub fn new(clock: Arc<ManualClock>) -> Self {
        Notifier {
            platform: platform_signer(),
            api_v3_key: api_v3_key(),
            clock,
        }
    }

    /// The JSON body of an `event_type` notification whose resource is
    /// `plaintext` sealed with `key`.
    pub fn body_with_key(
        &self,
        event_type: &str,
        original_type: &str,
        plaintext: &serde_json::Value,
        key: &ApiV3Key,
    ) -> Vec<u8> {
        let (nonce, _) = nonces();
        let ciphertext =
            encrypt(key, &nonce, original_type, plaintext.to_string().as_bytes()).unwrap();
        serde_json::json!({
            "id": format!("EV-{nonce}"),
            "create_time": "2026-03-01T20:00:05+08:00",
            "resource_type": "encrypt-resource",
            "event_type": event_type,
            "summary": "支付成功",
            "resource": {
                "original_type": original_type,
                "algorithm": ALGORITHM,
                "ciphertext": ciphertext,
                "associated_data": original_type,
                "nonce": nonce,
            }
        })
        .to_string()
        .into_bytes()
    }

    pub fn body(
        &self,
        event_type: &str,
        original_type: &str,
        plaintext: &serde_json::Value,
    ) -> Vec<u8> {
        self.body_with_key(event_type, original_type, plaintext, &self.api_v3_key)
    }

    /// `body` signed by `signer` at `timestamp`.
    pub fn signed_by(&self, signer: &SigningKey, timestamp: i64, body: Vec<u8>) -> RawNotification {
        let (_, nonce) = nonces();
        let mut headers = signed_headers(signer, timestamp, &nonce, &body).unwrap();
        headers.push(("content-type".into(), "application/json".into()));
        RawNotification {
            headers,
            query: String::new(),
            body,
        }
    }

    /// `body` signed by the platform now.
    pub fn signed(&self, body: Vec<u8>) -> RawNotification {
        self.signed_by(&self.platform, self.clock.now().timestamp(), body)
    }

    /// A TRANSACTION.SUCCESS notification for `plaintext`.
    pub fn transaction(&self, plaintext: &serde_json::Value) -> RawNotification {
        self.signed(self.body("TRANSACTION.SUCCESS", "transaction", plaintext))
    }

    /// A `REFUND.*` notification for `plaintext`.
    pub fn refund(&self, event_type: &str, plaintext: &serde_json::Value) -> RawNotification {
        self.signed(self.body(event_type, "refund", plaintext))
    }
}

/// A paid transaction resource.
pub fn paid(mchid: &str, order_no: &str, fen: i64, transaction_id: &str) -> serde_json::Value {
    serde_json::json!({
        "appid": APPID, "mchid": mchid, "out_trade_no": order_no,
        "transaction_id": transaction_id, "trade_type": "NATIVE",
        "trade_state": "SUCCESS", "trade_state_desc": "支付成功", "bank_type": "OTHERS",
        "attach": "", "success_time": "2026-03-01T20:00:05+08:00",
        "payer": {"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},
        "amount": {"total": fen, "payer_total": fen, "currency": "CNY", "payer_currency": "CNY"}
    })
}

/// A refund resource.
pub fn refund(mchid: &str, refund_no: &str, status: &str, fen: i64) -> serde_json::Value {
    serde_json::json!({
        "mchid": mchid, "out_trade_no": "O", "transaction_id": "4200000001",
        "out_refund_no": refund_no, "refund_id": "50000000382019052709732678859",
        "refund_status": status, "success_time": "2026-03-01T21:00:00+08:00",
        "user_received_account": "招商银行信用卡0403",
        "amount": {"total": fen, "refund": fen, "payer_total": fen, "payer_refund": fen}
    })
}
