//! Alipay: the OpenAPI gateway with RSA2 signatures, in public-key or
//! certificate mode.
//!
//! * **Requests.** Every call is a set of parameters — `app_id`, `method`,
//!   `format=JSON`, `charset=utf-8`, `sign_type=RSA2`, `timestamp`
//!   (`yyyy-MM-dd HH:mm:ss`, Beijing time, from the injected clock),
//!   `version=1.0`, `notify_url` when configured, `biz_content` (JSON) and,
//!   in certificate mode, `app_cert_sn` and `alipay_root_cert_sn` — signed
//!   with our application private key over the signing string of
//!   [`params`] (every parameter but `sign`, non-empty, sorted by key,
//!   `k=v` with raw values joined by `&`), the base64 signature sent as
//!   `sign`.
//! * **Paying.** [`create_payment`](PaymentGateway::create_payment) answers
//!   according to [`AlipayPayMode`]: `alipay.trade.page.pay` is
//!   [`PaymentAction::Redirect`] to the gateway URL with the signed query
//!   string (`product_code=FAST_INSTANT_TRADE_PAY`, `return_url` when
//!   given), nothing is sent; `alipay.trade.precreate` is called through the
//!   [`Transport`], its answer's signature verified, and its `qr_code` is
//!   [`PaymentAction::QrCode`].
//! * **Answers** are verified over the response node's JSON text exactly as
//!   it appears in the body (see [`response`]); an unsigned or badly signed
//!   success, or one signed under another `alipay_cert_sn` in certificate
//!   mode, is [`PaymentError::InvalidSignature`]; a refusal is a
//!   [`ProviderError::Api`] with `code/sub_code` and `sub_msg`.
//! * **Notifications** (form-encoded bodies) and **return URLs** (query
//!   strings) are verified by [`notify`]: signature, then `app_id` (our
//!   merchant id) and, when configured, `seller_id`; `TRADE_SUCCESS` and
//!   `TRADE_FINISHED` pay, refund notifications finish refunds, the rest
//!   is ignored.
//! * **Refunds.** `alipay.trade.refund` (`out_request_no` = our refund
//!   number, Alipay's idempotency key) answers synchronously: a signed
//!   success that moved money (`fund_change=Y`) is
//!   [`GatewayRefundStatus::Succeeded`]; a signed success without
//!   `fund_change=Y` (a repeated request) is confirmed with
//!   `alipay.trade.fastpay.refund.query` (`REFUND_SUCCESS` → succeeded,
//!   otherwise pending); a signed business failure (`40004`) is
//!   [`GatewayRefundStatus::Failed`]; anything else is an error and the
//!   refund stays processing.
//! * **Query.** [`AlipayGateway::query_trade`] calls `alipay.trade.query`,
//!   to reconcile an order whose notification never came.

pub mod cert;
mod client;
mod keys;
pub mod notify;
pub mod params;
pub mod response;

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use shop_core::payment::{
    GatewayEvent, GatewayRefund, GatewayRefundStatus, PaymentAction, PaymentError, PaymentGateway,
    PaymentRequest, RawNotification,
};

pub use cert::AlipayCertificates;
pub use client::{TradeQuery, TradeStatus};
pub use keys::{AlipayKeyError, RsaPrivateKey, RsaPublicKey};
pub use notify::AlipayReturn;

use crate::clock::{Clock, SystemClock, TimestampWindow};
use crate::error::ProviderError;
use crate::transport::Transport;

/// How Alipay's signatures are checked.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum AlipayKeys {
    /// Public-key mode (公钥模式): Alipay's public key as shown on the open
    /// platform.
    PublicKey(RsaPublicKey),
    /// Certificate mode (公钥证书模式): requests carry the certificate SNs,
    /// answers and notifications are verified with the key of Alipay's
    /// public certificate.
    Certificates(AlipayCertificates),
}

impl AlipayKeys {
    /// The key that verifies Alipay's signatures.
    pub fn alipay_public_key(&self) -> &RsaPublicKey {
        match self {
            AlipayKeys::PublicKey(key) => key,
            AlipayKeys::Certificates(certs) => &certs.alipay_public_key,
        }
    }

    fn certificates(&self) -> Option<&AlipayCertificates> {
        match self {
            AlipayKeys::PublicKey(_) => None,
            AlipayKeys::Certificates(certs) => Some(certs),
        }
    }
}

/// How [`create_payment`](PaymentGateway::create_payment) lets the buyer pay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum AlipayPayMode {
    /// `alipay.trade.page.pay`: redirect the browser to Alipay's cashier
    /// page (computer website payment).
    #[default]
    PagePay,
    /// `alipay.trade.precreate`: show a QR code the buyer scans (face-to-face
    /// payment).
    Precreate,
}

/// How to reach our Alipay application.
#[derive(Debug, Clone)]
pub struct AlipayConfig {
    /// Our application's id (`app_id`), also our merchant id.
    pub app_id: String,
    /// Our application private key, which signs requests.
    pub private_key: RsaPrivateKey,
    /// Alipay's key, or the certificates of certificate mode.
    pub keys: AlipayKeys,
    /// Our seller id (`2088…`, the PID): when set, notifications and returns
    /// must name it as `seller_id`.
    pub seller_id: Option<String>,
    /// The gateway, [`AlipayConfig::GATEWAY_URL`] unless testing.
    pub gateway_url: String,
    /// Where Alipay sends notifications (`notify_url`), if not configured on
    /// the open platform.
    pub notify_url: Option<String>,
    /// How buyers pay.
    pub pay_mode: AlipayPayMode,
    /// When set, a notification's `notify_time` must be within this window
    /// of now, else it is [`PaymentError::Replayed`]. Off by default: Alipay
    /// retries for about a day and the core is idempotent anyway.
    pub notify_window: Option<TimestampWindow>,
}

impl AlipayConfig {
    /// Alipay's production gateway.
    pub const GATEWAY_URL: &'static str = "https://openapi.alipay.com/gateway.do";
    /// Alipay's sandbox gateway.
    pub const SANDBOX_GATEWAY_URL: &'static str =
        "https://openapi-sandbox.dl.alipaydev.com/gateway.do";

    /// A configuration on the production gateway, page pay, no seller check,
    /// no notification window.
    pub fn new(app_id: impl Into<String>, private_key: RsaPrivateKey, keys: AlipayKeys) -> Self {
        AlipayConfig {
            app_id: app_id.into(),
            private_key,
            keys,
            seller_id: None,
            gateway_url: Self::GATEWAY_URL.to_owned(),
            notify_url: None,
            pay_mode: AlipayPayMode::PagePay,
            notify_window: None,
        }
    }
}

/// The Alipay gateway, registered as `"alipay"`.
pub struct AlipayGateway {
    config: AlipayConfig,
    transport: Arc<dyn Transport>,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for AlipayGateway {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AlipayGateway")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl AlipayGateway {
    /// The gateway's name, also the order's payment method.
    pub const NAME: &'static str = "alipay";

    /// A gateway for `config` sending through `transport`, on the system
    /// clock.
    pub fn new(config: AlipayConfig, transport: Arc<dyn Transport>) -> Self {
        AlipayGateway {
            config,
            transport,
            clock: Arc::new(SystemClock),
        }
    }

    /// Takes the time for request timestamps and notification windows from
    /// `clock`.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The configuration.
    pub fn config(&self) -> &AlipayConfig {
        &self.config
    }

    /// Verifies the query string Alipay sends the buyer back with (the
    /// `return_url`'s query, with or without `?`) and reads it. Show it to
    /// the buyer; pay only on the notification.
    pub fn verify_return(&self, query: &str) -> Result<AlipayReturn, PaymentError> {
        let params = notify::verify_return_query(query, self.config.keys.alipay_public_key())?;
        notify::read_return(
            &params,
            &self.config.app_id,
            self.config.seller_id.as_deref(),
        )
    }

    fn check_window(&self, params: &[(String, String)]) -> Result<(), PaymentError> {
        let Some(window) = self.config.notify_window else {
            return Ok(());
        };
        let sent = notify::notify_time(params)?.ok_or(PaymentError::Replayed)?;
        window.check(self.clock.now(), sent.timestamp())
    }
}

#[async_trait]
impl PaymentGateway for AlipayGateway {
    fn name(&self) -> &str {
        Self::NAME
    }

    fn merchant_id(&self) -> &str {
        &self.config.app_id
    }

    async fn create_payment(&self, req: &PaymentRequest) -> Result<PaymentAction, PaymentError> {
        match self.config.pay_mode {
            AlipayPayMode::PagePay => self.page_pay_url(req).map(PaymentAction::Redirect),
            AlipayPayMode::Precreate => self.precreate(req).await.map(PaymentAction::QrCode),
        }
    }

    async fn verify_notification(
        &self,
        notification: &RawNotification,
    ) -> Result<GatewayEvent, PaymentError> {
        let params = notify::verify_notification_body(
            &notification.body,
            self.config.keys.alipay_public_key(),
        )?;
        self.check_window(&params)?;
        notify::read_notification(
            &params,
            &self.config.app_id,
            self.config.seller_id.as_deref(),
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
        self.refund_trade(req).await
    }
}
