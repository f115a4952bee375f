//! WeChat Pay API v3: Native (QR) and H5 orders, signed notifications with
//! encrypted resources, refunds.
//!
//! * **Paying.** [`create_payment`](PaymentGateway::create_payment) places
//!   an order with `appid`, `mchid`, `description` (the subject, cut to 127
//!   characters), `out_trade_no` (the order number), `notify_url` and
//!   `amount {total (fen), currency: "CNY"}`. Which kind is configured
//!   ([`TradeType`]): a **Native** order
//!   (`POST /v3/pay/transactions/native`) answers
//!   [`PaymentAction::QrCode`] with its `code_url`, for the buyer to scan
//!   in WeChat (render it with [`crate::qr::qr_svg`]); an **H5** order
//!   (`POST /v3/pay/transactions/h5`, with `scene_info`) answers
//!   [`PaymentAction::Redirect`] to its `h5_url`, with `redirect_url` set to
//!   the request's return URL when there is one, as WeChat Pay allows.
//! * **Requests** are signed with the merchant's key ([`sign`]); every
//!   successful **answer** must carry WeChat Pay's signature by a configured
//!   platform key, within the timestamp window, or it is refused as
//!   [`ProviderError::UnverifiedResponse`] and nothing in it is believed.
//! * **Notifications.** [`verify_notification`](PaymentGateway::verify_notification)
//!   checks the `Wechatpay-*` signature over the raw body and the timestamp
//!   window (5 minutes by default, by the injected clock), then decrypts
//!   the resource with the APIv3 key and reads it: see
//!   [`notify::parse_event`]. The same `notify_url` serves payments and
//!   refunds.
//! * **Refunds.** [`refund`](PaymentGateway::refund) posts
//!   `/v3/refund/domestic/refunds` with `transaction_id`, `out_refund_no`
//!   (the refund number, WeChat Pay's idempotency key), `reason` (cut to 80
//!   characters), `notify_url` and `amount {refund, total, currency}`.
//!   `SUCCESS` is [`GatewayRefundStatus::Succeeded`], `PROCESSING`
//!   [`GatewayRefundStatus::Pending`] (a `REFUND.*` notification settles
//!   it), `CLOSED` and `ABNORMAL` [`GatewayRefundStatus::Failed`].
//!
//! H5 orders need the buyer's IP in `scene_info.payer_client_ip`;
//! [`PaymentRequest`] does not carry it, so the address configured in
//! [`H5Scene`] is sent for every order.

pub mod api;
pub mod keys;
pub mod notify;
pub mod sign;

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use shop_core::payment::{
    GatewayEvent, GatewayRefund, GatewayRefundStatus, PaymentAction, PaymentError, PaymentGateway,
    PaymentRequest, RawNotification,
};

use self::api::{
    H5Answer, H5Info, NativeAnswer, OrderAmount, OrderBody, RefundAmount, RefundAnswer, RefundBody,
    SceneInfo,
};
pub use self::keys::{ApiV3Key, KeyError, PlatformKeys, SigningKey};
use crate::amount::to_wechat_fen;
use crate::clock::{Clock, SystemClock, TimestampWindow};
use crate::error::ProviderError;
use crate::transport::Transport;

/// The buyer's side of an H5 order (`scene_info`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct H5Scene {
    /// `payer_client_ip`: the IP address sent for every order.
    pub payer_client_ip: String,
    /// `h5_info.type`: `"Wap"`, `"iOS"` or `"Android"`.
    pub h5_type: String,
    /// `h5_info.app_name`, for apps.
    pub app_name: Option<String>,
    /// `h5_info.app_url`, for websites.
    pub app_url: Option<String>,
}

impl H5Scene {
    /// A mobile website (`"Wap"`) seen from `payer_client_ip`.
    pub fn wap(payer_client_ip: impl Into<String>) -> Self {
        H5Scene {
            payer_client_ip: payer_client_ip.into(),
            h5_type: "Wap".to_owned(),
            app_name: None,
            app_url: None,
        }
    }
}

/// Which kind of order [`WechatPayGateway::create_payment`] places.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TradeType {
    /// Native: a QR code the buyer scans in WeChat.
    Native,
    /// H5: a page opened in the buyer's mobile browser.
    H5(H5Scene),
}

/// How to reach our WeChat Pay merchant account.
#[derive(Debug, Clone)]
pub struct WechatPayConfig {
    /// Our merchant id, `mchid`.
    pub mchid: String,
    /// The app id (official account, mini program, app or website) the
    /// orders are placed for, `appid`.
    pub appid: String,
    /// The merchant's API private key and its certificate's serial number.
    pub merchant_key: SigningKey,
    /// The APIv3 key, which decrypts notifications.
    pub api_v3_key: ApiV3Key,
    /// WeChat Pay's keys, by the serial number or key id it names them by.
    pub platform_keys: PlatformKeys,
    /// Where WeChat Pay sends payment and refund notifications (HTTPS, no
    /// query string).
    pub notify_url: String,
    /// Native (QR code) or H5 orders.
    pub trade_type: TradeType,
    /// The API's base URL, [`WechatPayConfig::API_BASE`] unless testing.
    pub api_base: String,
    /// How far a signed timestamp may be from now.
    pub window: TimestampWindow,
}

impl WechatPayConfig {
    /// WeChat Pay's API.
    pub const API_BASE: &'static str = "https://api.mch.weixin.qq.com";

    /// A configuration for Native orders on WeChat Pay's API with the
    /// default 5-minute window.
    pub fn new(
        mchid: impl Into<String>,
        appid: impl Into<String>,
        merchant_key: SigningKey,
        api_v3_key: ApiV3Key,
        platform_keys: PlatformKeys,
        notify_url: impl Into<String>,
    ) -> Self {
        WechatPayConfig {
            mchid: mchid.into(),
            appid: appid.into(),
            merchant_key,
            api_v3_key,
            platform_keys,
            notify_url: notify_url.into(),
            trade_type: TradeType::Native,
            api_base: Self::API_BASE.to_owned(),
            window: TimestampWindow::DEFAULT,
        }
    }
}

/// The WeChat Pay gateway, registered as `"wechat"`.
pub struct WechatPayGateway {
    config: WechatPayConfig,
    transport: Arc<dyn Transport>,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for WechatPayGateway {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WechatPayGateway")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl WechatPayGateway {
    /// The gateway's name, also the order's payment method.
    pub const NAME: &'static str = "wechat";

    /// A gateway for `config` sending through `transport`, on the system
    /// clock.
    pub fn new(config: WechatPayConfig, transport: Arc<dyn Transport>) -> Self {
        WechatPayGateway {
            config,
            transport,
            clock: Arc::new(SystemClock),
        }
    }

    /// Takes the time for signatures and their windows from `clock`.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The configuration.
    pub fn config(&self) -> &WechatPayConfig {
        &self.config
    }

    fn order_body<'a>(&'a self, req: &'a PaymentRequest) -> Result<OrderBody<'a>, ProviderError> {
        let scene_info = match &self.config.trade_type {
            TradeType::Native => None,
            TradeType::H5(scene) => Some(SceneInfo {
                payer_client_ip: &scene.payer_client_ip,
                h5_info: H5Info {
                    kind: &scene.h5_type,
                    app_name: scene.app_name.as_deref(),
                    app_url: scene.app_url.as_deref(),
                },
            }),
        };
        Ok(OrderBody {
            appid: &self.config.appid,
            mchid: &self.config.mchid,
            description: api::truncate(&req.subject, api::MAX_DESCRIPTION_CHARS),
            out_trade_no: &req.order_no,
            notify_url: &self.config.notify_url,
            amount: OrderAmount {
                total: to_wechat_fen(req.amount)?,
                currency: "CNY",
            },
            scene_info,
        })
    }
}

/// `h5_url` with `redirect_url` set to `return_url`, URL-encoded.
fn with_redirect(h5_url: String, return_url: Option<&str>) -> String {
    let Some(return_url) = return_url else {
        return h5_url;
    };
    let separator = if h5_url.contains('?') { '&' } else { '?' };
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("redirect_url", return_url)
        .finish();
    format!("{h5_url}{separator}{query}")
}

#[async_trait]
impl PaymentGateway for WechatPayGateway {
    fn name(&self) -> &str {
        Self::NAME
    }

    fn merchant_id(&self) -> &str {
        &self.config.mchid
    }

    async fn create_payment(&self, req: &PaymentRequest) -> Result<PaymentAction, PaymentError> {
        let body = self.order_body(req)?;
        match &self.config.trade_type {
            TradeType::Native => {
                let answer: NativeAnswer = self.post(api::NATIVE_PATH, &body).await?;
                Ok(PaymentAction::QrCode(answer.code_url))
            }
            TradeType::H5(_) => {
                let answer: H5Answer = self.post(api::H5_PATH, &body).await?;
                Ok(PaymentAction::Redirect(with_redirect(
                    answer.h5_url,
                    req.return_url.as_deref(),
                )))
            }
        }
    }

    async fn verify_notification(
        &self,
        notification: &RawNotification,
    ) -> Result<GatewayEvent, PaymentError> {
        sign::verify(
            |name| notification.header(name),
            &notification.body,
            &self.config.platform_keys,
            self.clock.now(),
            self.config.window,
        )?;
        notify::parse_event(
            &notification.body,
            &self.config.api_v3_key,
            &self.config.mchid,
        )
    }

    async fn refund(&self, req: &GatewayRefund) -> Result<GatewayRefundStatus, PaymentError> {
        if req.amount.currency() != req.paid_total.currency() {
            return Err(ProviderError::Refused(format!(
                "refund in {} of a payment in {}",
                req.amount.currency(),
                req.paid_total.currency()
            ))
            .into());
        }
        let refund = to_wechat_fen(req.amount).map_err(ProviderError::from)?;
        let total = to_wechat_fen(req.paid_total).map_err(ProviderError::from)?;
        if refund > total {
            return Err(ProviderError::Refused(format!(
                "refund of {} fen exceeds the {total} fen paid",
                refund
            ))
            .into());
        }
        let reason = req.reason.trim();
        let body = RefundBody {
            transaction_id: &req.transaction_no,
            out_refund_no: &req.refund_no,
            reason: (!reason.is_empty()).then(|| api::truncate(reason, api::MAX_REASON_CHARS)),
            notify_url: &self.config.notify_url,
            amount: RefundAmount {
                refund,
                total,
                currency: "CNY",
            },
        };
        let answer: RefundAnswer = self.post(api::REFUND_PATH, &body).await?;
        Ok(api::refund_status(&answer.status)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_return_url_rides_along_as_redirect_url() {
        let h5 = "https://wx.tenpay.com/cgi-bin/mmpayweb-bin/checkmweb?prepay_id=wx1&package=2";
        assert_eq!(with_redirect(h5.to_owned(), None), h5);
        assert_eq!(
            with_redirect(h5.to_owned(), Some("https://shop.example/orders/1?x=y")),
            format!("{h5}&redirect_url=https%3A%2F%2Fshop.example%2Forders%2F1%3Fx%3Dy")
        );
        assert_eq!(
            with_redirect("https://h5.invalid/pay".to_owned(), Some("https://a.b/")),
            "https://h5.invalid/pay?redirect_url=https%3A%2F%2Fa.b%2F"
        );
    }
}
