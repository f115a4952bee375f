//! The sandbox: a local gateway that moves no money, for development, the
//! example shop's default and tests. It speaks a small signed protocol of
//! its own, so everything a real gateway's notification goes through —
//! signature over the raw bytes, timestamp window, merchant, order and
//! amount checks in the core — is exercised without a provider.
//!
//! ## Protocol
//!
//! * **Paying.** [`create_payment`](PaymentGateway::create_payment) answers
//!   [`PaymentAction::Redirect`] to the configured pay page with the query
//!   `order_no`, `amount` (major units, `"10.00"`), `currency`, `subject` and,
//!   when given, `return_url`. The page's "pay" button calls
//!   [`SandboxGateway::notify_paid`] and hands the result to
//!   `Shop::handle_payment_notification("sandbox", …)`, as a provider's
//!   server would.
//! * **Notifications.** The body is `application/x-www-form-urlencoded`
//!   ([`SandboxEvent::to_body`]). Two headers sign it:
//!   `sandbox-timestamp` (Unix seconds) and `sandbox-signature`, the lowercase
//!   hex HMAC-SHA256 under the gateway's secret of
//!   `"{timestamp}.{body}"`, with the body bytes exactly as sent. A
//!   notification is accepted only when the signature verifies (constant-time
//!   comparison) and the timestamp is within the [`TimestampWindow`] of the
//!   injected clock.
//! * **Refunds** are answered at once with the configured
//!   [`GatewayRefundStatus`] (`Succeeded` unless told otherwise); one answer
//!   per refund number, however often it is asked.

use std::fmt;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use shop_core::payment::{
    GatewayEvent, GatewayRefund, GatewayRefundStatus, PaymentAction, PaymentError, PaymentGateway,
    PaymentRequest, RawNotification, VerifiedPayment,
};
use shop_core::{Currency, Money};

use crate::amount::{from_major_units, to_major_units};
use crate::clock::{parse_unix_seconds, Clock, SystemClock, TimestampWindow};
use crate::crypto::{hmac_sha256, verify_hmac_sha256};
use crate::error::ProviderError;

/// What a sandbox notification says.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SandboxEvent {
    /// `event=payment.succeeded`: the buyer paid.
    Paid(VerifiedPayment),
    /// `event=payment.waiting`: the buyer opened the pay page; changes nothing.
    Waiting {
        /// The order's number.
        order_no: String,
    },
    /// `event=refund.succeeded` or `event=refund.failed`.
    RefundFinished {
        /// Our refund number.
        refund_no: String,
        /// Whether money went back.
        succeeded: bool,
    },
}

impl SandboxEvent {
    /// The form-encoded body. Amounts are written as their decimal amount,
    /// unchecked, so tests can also produce notifications the gateway must
    /// refuse.
    pub fn to_body(&self) -> Vec<u8> {
        let mut form = form_urlencoded::Serializer::new(String::new());
        match self {
            SandboxEvent::Paid(p) => {
                form.append_pair("event", "payment.succeeded")
                    .append_pair("merchant_id", &p.merchant_id)
                    .append_pair("order_no", &p.order_no)
                    .append_pair("amount", &p.amount.amount().to_string())
                    .append_pair("currency", p.amount.currency().code())
                    .append_pair("transaction_no", &p.transaction_no)
                    .append_pair(
                        "paid_at",
                        &p.paid_at.to_rfc3339_opts(SecondsFormat::AutoSi, true),
                    );
            }
            SandboxEvent::Waiting { order_no } => {
                form.append_pair("event", "payment.waiting")
                    .append_pair("order_no", order_no);
            }
            SandboxEvent::RefundFinished {
                refund_no,
                succeeded,
            } => {
                let event = if *succeeded {
                    "refund.succeeded"
                } else {
                    "refund.failed"
                };
                form.append_pair("event", event)
                    .append_pair("refund_no", refund_no);
            }
        }
        form.finish().into_bytes()
    }

    /// Reads a form-encoded body. Every field must appear at most once;
    /// fields not listed for the event are ignored.
    pub fn parse(body: &[u8]) -> Result<SandboxEvent, PaymentError> {
        let malformed = |what: String| PaymentError::Malformed(format!("sandbox: {what}"));
        std::str::from_utf8(body).map_err(|_| malformed("body is not UTF-8".into()))?;
        let mut fields: Vec<(String, String)> = Vec::new();
        for (k, v) in form_urlencoded::parse(body) {
            if fields.iter().any(|(seen, _)| *seen == k) {
                return Err(malformed(format!("field {k} repeated")));
            }
            fields.push((k.into_owned(), v.into_owned()));
        }
        let field = |name: &str| {
            fields
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .ok_or_else(|| malformed(format!("missing {name}")))
        };
        match field("event")?.as_str() {
            "payment.succeeded" => {
                let currency: Currency = field("currency")?
                    .parse()
                    .map_err(|e| malformed(format!("{e}")))?;
                let amount = from_major_units(&field("amount")?, currency)
                    .map_err(|e| malformed(format!("amount: {e}")))?;
                let paid_at = DateTime::parse_from_rfc3339(&field("paid_at")?)
                    .map_err(|e| malformed(format!("paid_at: {e}")))?
                    .with_timezone(&Utc);
                Ok(SandboxEvent::Paid(VerifiedPayment {
                    merchant_id: field("merchant_id")?,
                    order_no: field("order_no")?,
                    amount,
                    transaction_no: field("transaction_no")?,
                    paid_at,
                }))
            }
            "payment.waiting" => Ok(SandboxEvent::Waiting {
                order_no: field("order_no")?,
            }),
            "refund.succeeded" | "refund.failed" => Ok(SandboxEvent::RefundFinished {
                refund_no: field("refund_no")?,
                succeeded: field("event")? == "refund.succeeded",
            }),
            other => Err(malformed(format!("unknown event {other:?}"))),
        }
    }
}

impl From<SandboxEvent> for GatewayEvent {
    fn from(e: SandboxEvent) -> Self {
        match e {
            SandboxEvent::Paid(p) => GatewayEvent::Paid(p),
            SandboxEvent::Waiting { .. } => GatewayEvent::Ignored,
            SandboxEvent::RefundFinished {
                refund_no,
                succeeded,
            } => GatewayEvent::RefundFinished {
                refund_no,
                succeeded,
            },
        }
    }
}

/// The sandbox gateway, registered as `"sandbox"`. See the [module
/// documentation](self) for its protocol.
pub struct SandboxGateway {
    merchant_id: String,
    secret: Vec<u8>,
    pay_url: String,
    window: TimestampWindow,
    clock: Arc<dyn Clock>,
    refund_answer: Mutex<GatewayRefundStatus>,
    refunds: Mutex<Vec<(GatewayRefund, GatewayRefundStatus)>>,
}

impl fmt::Debug for SandboxGateway {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SandboxGateway")
            .field("merchant_id", &self.merchant_id)
            .field("secret", &"<redacted>")
            .field("pay_url", &self.pay_url)
            .field("window", &self.window)
            .finish_non_exhaustive()
    }
}

impl SandboxGateway {
    /// The gateway's name, also the order's payment method.
    pub const NAME: &'static str = "sandbox";
    /// The merchant id unless [`Self::with_merchant_id`] says otherwise.
    pub const DEFAULT_MERCHANT_ID: &'static str = "sandbox-merchant";
    /// Header with the lowercase hex signature.
    pub const SIGNATURE_HEADER: &'static str = "sandbox-signature";
    /// Header with the signing time in Unix seconds.
    pub const TIMESTAMP_HEADER: &'static str = "sandbox-timestamp";

    /// A sandbox signing with `secret` whose pay page is `pay_url`, on the
    /// system clock, with a five-minute window and refunds that succeed.
    pub fn new(secret: impl Into<Vec<u8>>, pay_url: impl Into<String>) -> Self {
        SandboxGateway {
            merchant_id: Self::DEFAULT_MERCHANT_ID.to_owned(),
            secret: secret.into(),
            pay_url: pay_url.into(),
            window: TimestampWindow::DEFAULT,
            clock: Arc::new(SystemClock),
            refund_answer: Mutex::new(GatewayRefundStatus::Succeeded),
            refunds: Mutex::new(Vec::new()),
        }
    }

    /// Uses `merchant_id` as our merchant id.
    pub fn with_merchant_id(mut self, merchant_id: impl Into<String>) -> Self {
        self.merchant_id = merchant_id.into();
        self
    }

    /// Takes time from `clock` (signing and checking).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Accepts notifications signed within `window` of now.
    pub fn with_window(mut self, window: TimestampWindow) -> Self {
        self.window = window;
        self
    }

    /// Answers new refund requests with `status`.
    pub fn with_refund_answer(self, status: GatewayRefundStatus) -> Self {
        self.set_refund_answer(status);
        self
    }

    /// Answers refund requests from now on with `status`.
    pub fn set_refund_answer(&self, status: GatewayRefundStatus) {
        *self.refund_answer.lock().unwrap_or_else(|e| e.into_inner()) = status;
    }

    /// Every refund asked for, once per refund number, oldest first.
    pub fn refunds(&self) -> Vec<GatewayRefund> {
        self.refunds
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(r, _)| r.clone())
            .collect()
    }

    /// The lowercase hex signature of `body` signed at `timestamp`.
    pub fn sign(&self, timestamp: i64, body: &[u8]) -> String {
        hex::encode(hmac_sha256(&self.secret, &signed_message(timestamp, body)))
    }

    /// A successful payment of `amount` for `order_no` to our merchant, paid
    /// now, with the transaction number `SBX{order_no}` (so paying twice is
    /// a duplicate, not a second payment).
    pub fn paid_event(&self, order_no: &str, amount: Money) -> SandboxEvent {
        SandboxEvent::Paid(VerifiedPayment {
            merchant_id: self.merchant_id.clone(),
            order_no: order_no.to_owned(),
            amount,
            transaction_no: format!("SBX{order_no}"),
            paid_at: self.clock.now(),
        })
    }

    /// `event` as a notification signed now.
    pub fn notification(&self, event: &SandboxEvent) -> RawNotification {
        self.notification_at(event, self.clock.now())
    }

    /// `event` as a notification signed at `at` (an old `at` makes a replay).
    pub fn notification_at(&self, event: &SandboxEvent, at: DateTime<Utc>) -> RawNotification {
        let body = event.to_body();
        let timestamp = at.timestamp();
        RawNotification {
            headers: vec![
                (
                    "content-type".to_owned(),
                    "application/x-www-form-urlencoded".to_owned(),
                ),
                (Self::TIMESTAMP_HEADER.to_owned(), timestamp.to_string()),
                (
                    Self::SIGNATURE_HEADER.to_owned(),
                    self.sign(timestamp, &body),
                ),
            ],
            query: String::new(),
            body,
        }
    }

    /// What the sandbox pay page's "pay" button sends: a signed
    /// notification that `order_no` was paid `amount` now.
    pub fn notify_paid(&self, order_no: &str, amount: Money) -> RawNotification {
        self.notification(&self.paid_event(order_no, amount))
    }

    /// A signed notification that refund `refund_no` finished.
    pub fn notify_refund(&self, refund_no: &str, succeeded: bool) -> RawNotification {
        self.notification(&SandboxEvent::RefundFinished {
            refund_no: refund_no.to_owned(),
            succeeded,
        })
    }

    fn verify(&self, n: &RawNotification) -> Result<SandboxEvent, PaymentError> {
        let signature = n
            .header(Self::SIGNATURE_HEADER)
            .ok_or(PaymentError::InvalidSignature)?;
        let timestamp = n.header(Self::TIMESTAMP_HEADER).ok_or_else(|| {
            PaymentError::Malformed(format!("missing {}", Self::TIMESTAMP_HEADER))
        })?;
        let timestamp = parse_unix_seconds(timestamp).ok_or_else(|| {
            PaymentError::Malformed(format!("bad {} {timestamp:?}", Self::TIMESTAMP_HEADER))
        })?;
        let tag = hex::decode(signature.trim()).map_err(|_| PaymentError::InvalidSignature)?;
        if !verify_hmac_sha256(&self.secret, &signed_message(timestamp, &n.body), &tag) {
            return Err(PaymentError::InvalidSignature);
        }
        self.window.check(self.clock.now(), timestamp)?;
        SandboxEvent::parse(&n.body)
    }
}

fn signed_message(timestamp: i64, body: &[u8]) -> Vec<u8> {
    let mut message = format!("{timestamp}.").into_bytes();
    message.extend_from_slice(body);
    message
}

fn refused(why: String) -> PaymentError {
    ProviderError::Refused(why).into()
}

#[async_trait]
impl PaymentGateway for SandboxGateway {
    fn name(&self) -> &str {
        Self::NAME
    }

    fn merchant_id(&self) -> &str {
        &self.merchant_id
    }

    async fn create_payment(&self, req: &PaymentRequest) -> Result<PaymentAction, PaymentError> {
        let amount = to_major_units(req.amount).map_err(ProviderError::from)?;
        let mut query = form_urlencoded::Serializer::new(String::new());
        query
            .append_pair("order_no", &req.order_no)
            .append_pair("amount", &amount)
            .append_pair("currency", req.amount.currency().code())
            .append_pair("subject", &req.subject);
        if let Some(url) = &req.return_url {
            query.append_pair("return_url", url);
        }
        let separator = if self.pay_url.contains('?') { '&' } else { '?' };
        Ok(PaymentAction::Redirect(format!(
            "{}{separator}{}",
            self.pay_url,
            query.finish()
        )))
    }

    async fn verify_notification(
        &self,
        notification: &RawNotification,
    ) -> Result<GatewayEvent, PaymentError> {
        self.verify(notification).map(GatewayEvent::from)
    }

    async fn refund(&self, req: &GatewayRefund) -> Result<GatewayRefundStatus, PaymentError> {
        to_major_units(req.amount).map_err(ProviderError::from)?;
        match req.amount.checked_cmp(&req.paid_total) {
            Ok(std::cmp::Ordering::Greater) => {
                return Err(refused(format!(
                    "refund {} exceeds the payment {}",
                    req.amount, req.paid_total
                )))
            }
            Ok(_) => {}
            Err(e) => return Err(refused(e.to_string())),
        }
        let mut refunds = self.refunds.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, status)) = refunds.iter().find(|(r, _)| r.refund_no == req.refund_no) {
            return Ok(*status);
        }
        let status = *self.refund_answer.lock().unwrap_or_else(|e| e.into_inner());
        refunds.push((req.clone(), status));
        Ok(status)
    }
}
