//! The payment gateway port and its errors.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use crate::error::PaymentError;
use crate::money::Money;

/// What to ask a gateway for when a buyer pays.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentRequest {
    /// The order's number (the gateway's out-trade-no).
    pub order_no: String,
    /// Amount to pay.
    pub amount: Money,
    /// What is bought, shown by the gateway.
    pub subject: String,
    /// Where the buyer's browser returns, if the gateway redirects.
    pub return_url: Option<String>,
}

/// How the buyer pays.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", content = "url", rename_all = "snake_case")]
pub enum PaymentAction {
    /// Send the browser to this page.
    Redirect(String),
    /// Show this content as a QR code.
    QrCode(String),
}

/// A notification exactly as received over HTTP.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RawNotification {
    /// Headers (names lowercase).
    pub headers: Vec<(String, String)>,
    /// The query string, without `?`.
    pub query: String,
    /// The body bytes, never re-serialised.
    pub body: Vec<u8>,
}

impl RawNotification {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A verified successful payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifiedPayment {
    /// The merchant it was paid to.
    pub merchant_id: String,
    /// Our order number.
    pub order_no: String,
    /// Amount paid.
    pub amount: Money,
    /// The gateway's transaction number.
    pub transaction_no: String,
    /// When it was paid.
    pub paid_at: DateTime<Utc>,
}

/// What a verified notification says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum GatewayEvent {
    /// A payment succeeded.
    Paid(VerifiedPayment),
    /// A refund finished (`succeeded` false when it failed).
    RefundFinished {
        /// Our refund number.
        refund_no: String,
        /// Whether money went back.
        succeeded: bool,
    },
    /// A genuine notification that changes nothing (e.g. "waiting for payment").
    Ignored,
}

/// What to ask a gateway for when refunding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GatewayRefund {
    /// The order's number.
    pub order_no: String,
    /// The gateway's payment transaction.
    pub transaction_no: String,
    /// Our refund number (idempotency key at the gateway).
    pub refund_no: String,
    /// Amount to give back.
    pub amount: Money,
    /// Amount originally paid.
    pub paid_total: Money,
    /// Why.
    pub reason: String,
}

/// A gateway's answer to a refund request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum GatewayRefundStatus {
    /// Done.
    Succeeded,
    /// Accepted; a refund notification will follow.
    Pending,
    /// Refused.
    Failed,
}

/// Port: a payment provider.
#[async_trait]
pub trait PaymentGateway: Send + Sync + 'static {
    /// The gateway's name, also the order's payment method, e.g. "alipay".
    fn name(&self) -> &str;
    /// Our merchant id at this provider.
    fn merchant_id(&self) -> &str;
    /// Creates a payment and says how the buyer pays.
    async fn create_payment(&self, req: &PaymentRequest) -> Result<PaymentAction, PaymentError>;
    /// Verifies a notification's signature over its raw bytes and reads it.
    async fn verify_notification(
        &self,
        notification: &RawNotification,
    ) -> Result<GatewayEvent, PaymentError>;
    /// Asks for a refund.
    async fn refund(&self, req: &GatewayRefund) -> Result<GatewayRefundStatus, PaymentError>;
}
