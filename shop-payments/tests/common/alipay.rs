//! Playing Alipay in tests: generated keys, a fake OpenAPI gateway on
//! 127.0.0.1 that checks our RSA2 signatures and answers with nodes signed
//! by its own key, and signed notifications.
//!
//! Included with `#[path = "common/alipay.rs"] mod alipay_fake;` next to
//! `mod common;`.
#![allow(dead_code, unreachable_pub)]

use std::sync::{Arc, Mutex};

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
use aws_lc_rs::rsa::{KeyPair, KeySize};
use chrono::{DateTime, Utc};
use shop_core::payment::RawNotification;
use shop_payments::alipay::params::{
    format_beijing_time, notification_signing_content, request_signing_content,
};
use shop_payments::alipay::{AlipayKeys, AlipayPayMode, RsaPrivateKey, RsaPublicKey};
use shop_payments::{AlipayConfig, AlipayGateway, ReqwestTransport};

use crate::common::fake_http::{serve, FakeServer, Received};

pub const APP_ID: &str = "2021000000000001";
pub const SELLER_ID: &str = "2088000000000001";

/// A fresh 2048-bit key.
pub fn generate_key() -> RsaPrivateKey {
    let pair = KeyPair::generate(KeySize::Rsa2048).unwrap();
    let der = AsDer::<Pkcs8V1Der<'_>>::as_der(&pair).unwrap();
    RsaPrivateKey::from_pkcs8_der(der.as_ref()).unwrap()
}

/// Our application key and Alipay's key, both generated.
#[derive(Clone, Debug)]
pub struct Keys {
    pub app: RsaPrivateKey,
    pub alipay: RsaPrivateKey,
}

impl Keys {
    pub fn generate() -> Self {
        Keys {
            app: generate_key(),
            alipay: generate_key(),
        }
    }
}

/// How the fake answers refunds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundAnswer {
    /// `10000`, `fund_change=Y`.
    MoneyMoved,
    /// `10000`, `fund_change=N`; the refund query says `REFUND_SUCCESS`.
    RepeatedThenSucceeded,
    /// `10000`, `fund_change=N`; the refund query has no status yet.
    RepeatedThenUnknown,
    /// Signed `40004 ACQ.TRADE_STATUS_ERROR`.
    SignedBusinessFailure,
    /// Unsigned `40004`.
    UnsignedBusinessFailure,
    /// `20000` service unavailable, signed.
    SystemError,
}

/// What the fake does to its answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tamper {
    /// Nothing: genuine answers.
    None,
    /// Signed with another key.
    ForeignKey,
    /// Signed, then a byte of the node changed.
    AlteredNode,
    /// No `sign` at all.
    Unsigned,
    /// `alipay_cert_sn` names another certificate.
    OtherCertSn,
}

pub struct FakeState {
    pub refund: RefundAnswer,
    pub tamper: Tamper,
    pub trade_status: &'static str,
    /// `(app_cert_sn, alipay_root_cert_sn)` every request must carry, and
    /// the `alipay_cert_sn` answers carry.
    pub cert_sns: Option<(String, String, String)>,
    /// Requests whose signature verified.
    pub verified: usize,
}

pub struct FakeAlipay {
    pub server: FakeServer,
    pub state: Arc<Mutex<FakeState>>,
}

impl FakeAlipay {
    pub fn url(&self) -> String {
        format!("{}/gateway.do", self.server.base_url())
    }

    pub fn set_refund(&self, answer: RefundAnswer) {
        self.state.lock().unwrap().refund = answer;
    }

    pub fn set_tamper(&self, tamper: Tamper) {
        self.state.lock().unwrap().tamper = tamper;
    }

    pub fn verified(&self) -> usize {
        self.state.lock().unwrap().verified
    }

    /// The decoded parameters of every request received.
    pub fn requests(&self) -> Vec<Vec<(String, String)>> {
        self.server.received().iter().map(Received::form).collect()
    }
}

fn field<'a>(params: &'a [(String, String)], key: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

fn biz(params: &[(String, String)]) -> serde_json::Value {
    serde_json::from_str(field(params, "biz_content").unwrap_or("{}")).unwrap_or_default()
}

/// An answer as Alipay writes it: the node, then `sign` over its exact text.
fn answer(alipay: &RsaPrivateKey, state: &FakeState, node_name: &str, node: &str) -> (u16, String) {
    let foreign;
    let signer = if state.tamper == Tamper::ForeignKey {
        foreign = generate_key();
        &foreign
    } else {
        alipay
    };
    let sign = signer.sign(node.as_bytes()).unwrap();
    let node = if state.tamper == Tamper::AlteredNode {
        node.replacen("10000", "10001", 1).replacen("0.0", "0.1", 1)
    } else {
        node.to_owned()
    };
    let cert_sn = match (&state.cert_sns, state.tamper) {
        (Some(_), Tamper::OtherCertSn) => {
            r#","alipay_cert_sn":"0000000000000000000000000000000a""#.to_owned()
        }
        (Some((_, _, sn)), _) => format!(r#","alipay_cert_sn":"{sn}""#),
        (None, _) => String::new(),
    };
    let sign = if state.tamper == Tamper::Unsigned {
        String::new()
    } else {
        format!(r#","sign":"{sign}""#)
    };
    (200, format!(r#"{{"{node_name}":{node}{cert_sn}{sign}}}"#))
}

fn refusal(code: &str, sub_code: &str) -> String {
    format!(
        r#"{{"code":"{code}","msg":"Business Failed","sub_code":"{sub_code}","sub_msg":"refused"}}"#
    )
}

/// Starts a fake Alipay checking requests with `app_public` and signing
/// answers with `alipay`.
pub async fn fake_alipay(app_public: RsaPublicKey, alipay: RsaPrivateKey) -> FakeAlipay {
    let state = Arc::new(Mutex::new(FakeState {
        refund: RefundAnswer::MoneyMoved,
        tamper: Tamper::None,
        trade_status: "TRADE_SUCCESS",
        cert_sns: None,
        verified: 0,
    }));
    let shared = state.clone();
    let server = serve(move |r: &Received| {
        let params = r.form();
        let mut state = shared.lock().unwrap();
        let unsigned_error = |code: &str, sub: &str| {
            (
                200,
                format!(r#"{{"error_response":{{"code":"{code}","msg":"Invalid Arguments","sub_code":"{sub}","sub_msg":"refused"}}}}"#),
            )
        };
        let signed_ok = field(&params, "sign").is_some_and(|sign| {
            app_public.verify(request_signing_content(&params).as_bytes(), sign)
        });
        if r.method != "POST" || !signed_ok || field(&params, "sign_type") != Some("RSA2") {
            return unsigned_error("40002", "isv.invalid-signature");
        }
        if field(&params, "app_id") != Some(APP_ID)
            || field(&params, "charset") != Some("utf-8")
            || field(&params, "version") != Some("1.0")
            || field(&params, "format") != Some("JSON")
        {
            return unsigned_error("40002", "isv.invalid-app-id");
        }
        if let Some((app_sn, root_sn, _)) = &state.cert_sns {
            if field(&params, "app_cert_sn") != Some(app_sn)
                || field(&params, "alipay_root_cert_sn") != Some(root_sn)
            {
                return unsigned_error("40002", "isv.app-cert-sn-not-match");
            }
        }
        state.verified += 1;
        let method = field(&params, "method").unwrap_or_default().to_owned();
        let biz = biz(&params);
        let text = |k: &str| biz[k].as_str().unwrap_or_default().to_owned();
        let node_name = format!("{}_response", method.replace('.', "_"));
        let node = match method.as_str() {
            "alipay.trade.precreate" => format!(
                r#"{{"code":"10000","msg":"Success","out_trade_no":"{}","qr_code":"https:\/\/qr.alipay.com\/bax0{}"}}"#,
                text("out_trade_no"),
                text("total_amount").replace('.', "")
            ),
            "alipay.trade.refund" => match state.refund {
                RefundAnswer::MoneyMoved => format!(
                    r#"{{"code":"10000","msg":"Success","trade_no":"{}","out_trade_no":"{}","refund_fee":"{}","fund_change":"Y"}}"#,
                    text("trade_no"),
                    text("out_trade_no"),
                    text("refund_amount")
                ),
                RefundAnswer::RepeatedThenSucceeded | RefundAnswer::RepeatedThenUnknown => format!(
                    r#"{{"code":"10000","msg":"Success","trade_no":"{}","out_trade_no":"{}","refund_fee":"{}","fund_change":"N"}}"#,
                    text("trade_no"),
                    text("out_trade_no"),
                    text("refund_amount")
                ),
                RefundAnswer::SignedBusinessFailure => {
                    refusal("40004", "ACQ.TRADE_STATUS_ERROR")
                }
                RefundAnswer::UnsignedBusinessFailure => {
                    return (
                        200,
                        format!(
                            r#"{{"{node_name}":{}}}"#,
                            refusal("40004", "ACQ.TRADE_STATUS_ERROR")
                        ),
                    )
                }
                RefundAnswer::SystemError => refusal("20000", "ACQ.SYSTEM_ERROR"),
            },
            "alipay.trade.fastpay.refund.query" => match state.refund {
                RefundAnswer::RepeatedThenSucceeded => format!(
                    r#"{{"code":"10000","msg":"Success","out_request_no":"{}","refund_status":"REFUND_SUCCESS"}}"#,
                    text("out_request_no")
                ),
                _ => format!(
                    r#"{{"code":"10000","msg":"Success","out_request_no":"{}"}}"#,
                    text("out_request_no")
                ),
            },
            "alipay.trade.query" if text("out_trade_no") == "UNKNOWN" => {
                refusal("40004", "ACQ.TRADE_NOT_EXIST")
            }
            "alipay.trade.query" => format!(
                r#"{{"code":"10000","msg":"Success","trade_no":"2026030122001400001","out_trade_no":"{}","trade_status":"{}","total_amount":"88.88","send_pay_date":"2026-03-01 20:00:05","buyer_logon_id":"159****5620"}}"#,
                text("out_trade_no"),
                state.trade_status
            ),
            _ => return unsigned_error("40004", "isv.invalid-method"),
        };
        answer(&alipay, &state, &node_name, &node)
    })
    .await;
    FakeAlipay { server, state }
}

/// A transport that talks to 127.0.0.1 directly.
pub fn transport() -> Arc<ReqwestTransport> {
    let client = shop_payments::reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap();
    Arc::new(ReqwestTransport::with_client(client))
}

/// A public-key-mode configuration for `keys` on `gateway_url`.
pub fn config(keys: &Keys, gateway_url: String, mode: AlipayPayMode) -> AlipayConfig {
    let mut config = AlipayConfig::new(
        APP_ID,
        keys.app.clone(),
        AlipayKeys::PublicKey(keys.alipay.public_key()),
    );
    config.gateway_url = gateway_url;
    config.seller_id = Some(SELLER_ID.into());
    config.notify_url = Some("https://shop.invalid/alipay/notify".into());
    config.pay_mode = mode;
    config
}

pub fn gateway(config: AlipayConfig, clock: Arc<shop_core::clock::ManualClock>) -> AlipayGateway {
    AlipayGateway::new(config, transport()).with_clock(clock)
}

/// A `trade_status_sync` notification's parameters, unsigned.
pub fn trade_params(
    order_no: &str,
    amount: &str,
    status: &str,
    paid_at: DateTime<Utc>,
) -> Vec<(String, String)> {
    let time = format_beijing_time(paid_at);
    [
        ("gmt_create", time.as_str()),
        ("charset", "utf-8"),
        ("seller_email", "shop@example.invalid"),
        ("subject", "Order 1 + tea cups"),
        ("buyer_id", "2088102534368455"),
        ("invoice_amount", amount),
        ("notify_id", "2026030100222155624068450559358070"),
        (
            "fund_bill_list",
            r#"[{"amount":"1","fundChannel":"ALIPAYACCOUNT"}]"#,
        ),
        ("notify_type", "trade_status_sync"),
        ("trade_status", status),
        ("receipt_amount", amount),
        ("app_id", APP_ID),
        ("seller_id", SELLER_ID),
        ("gmt_payment", time.as_str()),
        ("notify_time", time.as_str()),
        ("version", "1.0"),
        ("out_trade_no", order_no),
        ("total_amount", amount),
        ("trade_no", &format!("2026{order_no}")),
        ("auth_app_id", APP_ID),
        ("buyer_logon_id", "159****5620"),
        ("point_amount", "0.00"),
        ("passback_params", ""),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect()
}

/// Replaces (or adds) `key`.
pub fn set(params: &mut Vec<(String, String)>, key: &str, value: &str) {
    params.retain(|(k, _)| k != key);
    params.push((key.to_owned(), value.to_owned()));
}

/// `params` signed by `key` as Alipay signs notifications, form-encoded.
pub fn signed_notification(key: &RsaPrivateKey, params: &[(String, String)]) -> RawNotification {
    let mut params = params.to_vec();
    let sign = key
        .sign(notification_signing_content(&params).as_bytes())
        .unwrap();
    params.push(("sign".into(), sign));
    params.push(("sign_type".into(), "RSA2".into()));
    let mut form = form_urlencoded::Serializer::new(String::new());
    for (k, v) in &params {
        form.append_pair(k, v);
    }
    RawNotification {
        headers: vec![(
            "content-type".into(),
            "application/x-www-form-urlencoded; charset=utf-8".into(),
        )],
        query: String::new(),
        body: form.finish().into_bytes(),
    }
}
