//! A fake WeChat Pay API on 127.0.0.1: it checks our `Authorization`
//! signature with our public key (aws-lc-rs directly, not our verifier),
//! checks each body as WeChat Pay would, and answers with responses signed
//! by its platform key — or forged, unsigned, stale or tampered ones.

use std::sync::{Arc, Mutex};

use aws_lc_rs::signature::{UnparsedPublicKey, RSA_PKCS1_2048_8192_SHA256};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use shop_core::clock::{Clock, ManualClock};
use shop_payments::wechat::sign::signed_headers;
use shop_payments::wechat::SigningKey;

use super::fake_http::{serve_with_headers, FakeServer, Received, SignedAnswer};
use super::wechat::{
    generated_key, nonces, APPID, MCHID, MERCHANT_SERIAL, NOTIFY_URL, PLATFORM_SERIAL,
};

/// How the fake signs its answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signing {
    /// By the platform key, now.
    Genuine,
    /// By another key claiming the platform's serial.
    ForgedKey,
    /// Without `Wechatpay-*` headers.
    Unsigned,
    /// By the platform key, ten minutes ago.
    Stale,
    /// Genuinely, then the body's whitespace changed (same JSON).
    Tampered,
}

/// What the fake answers.
#[derive(Debug, Clone, Copy)]
pub struct Script {
    pub signing: Signing,
    pub refund_status: &'static str,
}

pub struct FakeWechat {
    pub server: FakeServer,
    pub script: Arc<Mutex<Script>>,
}

impl FakeWechat {
    pub fn set(&self, signing: Signing, refund_status: &'static str) {
        *self.script.lock().unwrap() = Script {
            signing,
            refund_status,
        };
    }

    pub fn bodies(&self) -> Vec<(String, serde_json::Value)> {
        self.server
            .received()
            .into_iter()
            .map(|r| (r.path.clone(), serde_json::from_slice(&r.body).unwrap()))
            .collect()
    }
}

fn error(status: u16, code: &str, message: &str) -> SignedAnswer {
    (
        status,
        Vec::new(),
        serde_json::json!({"code": code, "message": message}).to_string(),
    )
}

/// Checks `Authorization` as WeChat Pay does: scheme, merchant, serial,
/// timestamp, and the signature over `METHOD\nPATH\nTIMESTAMP\nNONCE\nBODY\n`
/// with our public key.
fn check_authorization(r: &Received, merchant_public: &[u8], now: i64) -> Result<(), String> {
    let auth = r.header("authorization").ok_or("no Authorization")?;
    let params = auth
        .strip_prefix("WECHATPAY2-SHA256-RSA2048 ")
        .ok_or("wrong scheme")?;
    let param = |name: &str| {
        params
            .split(',')
            .filter_map(|p| p.split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.trim_matches('"').to_owned())
            .ok_or(format!("no {name}"))
    };
    if param("mchid")? != MCHID || param("serial_no")? != MERCHANT_SERIAL {
        return Err("wrong merchant or serial".into());
    }
    let timestamp = param("timestamp")?;
    if timestamp != now.to_string() {
        return Err(format!("timestamp {timestamp} is not now ({now})"));
    }
    let nonce = param("nonce_str")?;
    let mut message = format!("{}\n{}\n{timestamp}\n{nonce}\n", r.method, r.path).into_bytes();
    message.extend_from_slice(&r.body);
    message.push(b'\n');
    let signature = BASE64
        .decode(param("signature")?)
        .map_err(|e| e.to_string())?;
    UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, merchant_public)
        .verify(&message, &signature)
        .map_err(|_| "signature does not verify".to_owned())
}

fn answer(r: &Received, refund_status: &str) -> Result<serde_json::Value, SignedAnswer> {
    let body: serde_json::Value = serde_json::from_slice(&r.body)
        .map_err(|_| error(400, "PARAM_ERROR", "body is not JSON"))?;
    let text = |v: &serde_json::Value| v.as_str().map(str::to_owned);
    let missing = || error(400, "PARAM_ERROR", "missing or wrong parameter");
    match r.path.as_str() {
        "/v3/pay/transactions/native" | "/v3/pay/transactions/h5" => {
            let amount = &body["amount"];
            let ok = text(&body["appid"]).as_deref() == Some(APPID)
                && text(&body["mchid"]).as_deref() == Some(MCHID)
                && text(&body["notify_url"]).as_deref() == Some(NOTIFY_URL)
                && text(&body["description"]).is_some_and(|d| !d.is_empty())
                && amount["total"].as_i64().is_some_and(|t| t > 0)
                && amount["currency"] == "CNY";
            let order_no = text(&body["out_trade_no"])
                .filter(|_| ok)
                .ok_or_else(missing)?;
            if r.path.ends_with("native") {
                if !body["scene_info"].is_null() {
                    return Err(missing());
                }
                Ok(
                    serde_json::json!({"code_url": format!("weixin://wxpay/bizpayurl?pr={order_no}")}),
                )
            } else {
                let scene = &body["scene_info"];
                if text(&scene["payer_client_ip"]).is_none()
                    || text(&scene["h5_info"]["type"]).is_none()
                {
                    return Err(missing());
                }
                Ok(serde_json::json!({"h5_url": format!(
                    "https://wx.tenpay.com/cgi-bin/mmpayweb-bin/checkmweb?prepay_id=wx{order_no}&package=1037687096"
                )}))
            }
        }
        "/v3/refund/domestic/refunds" => {
            let amount = &body["amount"];
            let (Some(refund), Some(total)) = (amount["refund"].as_i64(), amount["total"].as_i64())
            else {
                return Err(missing());
            };
            let refund_no = text(&body["out_refund_no"]).ok_or_else(missing)?;
            let transaction_id = text(&body["transaction_id"]).ok_or_else(missing)?;
            if refund > total || amount["currency"] != "CNY" || body["notify_url"] != NOTIFY_URL {
                return Err(missing());
            }
            Ok(serde_json::json!({
                "refund_id": "50000000382019052709732678859", "out_refund_no": refund_no,
                "transaction_id": transaction_id, "out_trade_no": "O", "channel": "ORIGINAL",
                "user_received_account": "招商银行信用卡0403", "create_time": "2026-03-01T20:00:05+08:00",
                "status": refund_status, "funds_account": "AVAILABLE",
                "amount": {"total": total, "refund": refund, "payer_total": total,
                           "payer_refund": refund, "settlement_refund": refund,
                           "settlement_total": total, "discount_refund": 0, "currency": "CNY"}
            }))
        }
        _ => Err(error(404, "NOT_FOUND", "no such path")),
    }
}

/// Starts a fake WeChat Pay that trusts `merchant_public` and signs with
/// `platform`, on `clock`.
pub async fn fake_wechat(
    merchant_public: Vec<u8>,
    platform: SigningKey,
    clock: Arc<ManualClock>,
) -> FakeWechat {
    let script = Arc::new(Mutex::new(Script {
        signing: Signing::Genuine,
        refund_status: "SUCCESS",
    }));
    let (forger, _) = generated_key(PLATFORM_SERIAL);
    let shared = script.clone();
    let server = serve_with_headers(move |r: &Received| {
        let now = clock.now().timestamp();
        if r.method != "POST"
            || r.header("content-type") != Some("application/json")
            || r.header("accept") != Some("application/json")
            || r.header("user-agent").is_none_or(str::is_empty)
        {
            return error(400, "PARAM_ERROR", "JSON POST with a User-Agent expected");
        }
        if let Err(why) = check_authorization(r, &merchant_public, now) {
            return error(401, "SIGN_ERROR", &why);
        }
        let Script {
            signing,
            refund_status,
        } = *shared.lock().unwrap();
        let body = match answer(r, refund_status) {
            Ok(body) => body.to_string(),
            Err(refused) => return refused,
        };
        let (_, nonce) = nonces();
        let headers = match signing {
            Signing::Unsigned => Vec::new(),
            Signing::Genuine | Signing::Tampered => {
                signed_headers(&platform, now, &nonce, body.as_bytes()).unwrap()
            }
            Signing::ForgedKey => signed_headers(&forger, now, &nonce, body.as_bytes()).unwrap(),
            Signing::Stale => {
                signed_headers(&platform, now - 600, &nonce, body.as_bytes()).unwrap()
            }
        };
        let body = if signing == Signing::Tampered {
            body.replacen('{', "{ ", 1)
        } else {
            body
        };
        (200, headers, body)
    })
    .await;
    FakeWechat { server, script }
}
