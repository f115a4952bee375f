//! Stripe: PaymentIntents, webhooks and refunds over Stripe's REST API.
//!
//! * **Paying.** [`create_payment`](PaymentGateway::create_payment) creates a
//!   PaymentIntent (`POST /v1/payment_intents`, form-encoded,
//!   `Authorization: Bearer sk_…`, `amount` in minor units, `currency`
//!   lowercase, `metadata[order_no]`, `automatic_payment_methods[enabled]`,
//!   idempotency key `payment-intent-{order_no}` so asking twice for one order
//!   gives one intent). A PaymentIntent is confirmed in the browser by
//!   Stripe.js with its client secret, so the answer is
//!   [`PaymentAction::Redirect`] to the shop's own checkout page
//!   ([`StripeConfig::checkout_url`]) with the query `payment_intent`,
//!   `client_secret`, `order_no` and, when given, `return_url`; that page
//!   mounts Stripe's Payment Element. The client secret lets only that
//!   PaymentIntent be confirmed; the page should be served over HTTPS and
//!   its URLs kept out of logs, as Stripe asks for client secrets.
//! * **Webhooks.** [`verify_notification`](PaymentGateway::verify_notification)
//!   checks `Stripe-Signature` over the raw body and the timestamp window
//!   (300 s by default, from the injected clock), then reads the event: see
//!   [`webhook::parse_event`].
//! * **Refunds.** [`refund`](PaymentGateway::refund) posts `/v1/refunds` with
//!   `payment_intent`, `amount`, `reason=requested_by_customer`,
//!   `metadata[refund_no]`, `metadata[order_no]` and the refund number as
//!   idempotency key. Stripe's `succeeded` is [`GatewayRefundStatus::Succeeded`],
//!   `pending`/`requires_action` are [`GatewayRefundStatus::Pending`] (a
//!   `refund.updated` webhook settles them), `failed`/`canceled` are
//!   [`GatewayRefundStatus::Failed`].

pub mod webhook;

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use serde::Deserialize;
use shop_core::payment::{
    GatewayEvent, GatewayRefund, GatewayRefundStatus, PaymentAction, PaymentError, PaymentGateway,
    PaymentRequest, RawNotification,
};

use crate::amount::{to_stripe_currency, to_stripe_minor_units};
use crate::clock::{Clock, SystemClock, TimestampWindow};
use crate::error::ProviderError;
use crate::transport::{HttpRequest, HttpResponse, Method, Transport};

/// How to reach our Stripe account.
#[derive(Clone)]
pub struct StripeConfig {
    /// The secret API key, `sk_live_…` or `sk_test_…`.
    pub secret_key: String,
    /// The webhook endpoint's signing secret, `whsec_…`.
    pub webhook_secret: String,
    /// Our account id, `acct_…`: the merchant of payments whose event names
    /// no connected account.
    pub account_id: String,
    /// The shop's page that confirms a PaymentIntent with Stripe.js.
    pub checkout_url: String,
    /// The API's base URL, [`StripeConfig::API_BASE`] unless testing.
    pub api_base: String,
    /// A `Stripe-Version` to pin, or the account's default.
    pub api_version: Option<String>,
    /// How far a webhook's timestamp may be from now.
    pub window: TimestampWindow,
}

impl fmt::Debug for StripeConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StripeConfig")
            .field("secret_key", &"<redacted>")
            .field("webhook_secret", &"<redacted>")
            .field("account_id", &self.account_id)
            .field("checkout_url", &self.checkout_url)
            .field("api_base", &self.api_base)
            .field("api_version", &self.api_version)
            .field("window", &self.window)
            .finish()
    }
}

impl StripeConfig {
    /// Stripe's API.
    pub const API_BASE: &'static str = "https://api.stripe.com";

    /// A configuration on Stripe's API with the default window.
    pub fn new(
        secret_key: impl Into<String>,
        webhook_secret: impl Into<String>,
        account_id: impl Into<String>,
        checkout_url: impl Into<String>,
    ) -> Self {
        StripeConfig {
            secret_key: secret_key.into(),
            webhook_secret: webhook_secret.into(),
            account_id: account_id.into(),
            checkout_url: checkout_url.into(),
            api_base: Self::API_BASE.to_owned(),
            api_version: None,
            window: TimestampWindow::DEFAULT,
        }
    }
}

/// The Stripe gateway, registered as `"stripe"`.
pub struct StripeGateway {
    config: StripeConfig,
    transport: Arc<dyn Transport>,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for StripeGateway {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StripeGateway")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct CreatedIntent {
    id: String,
    client_secret: String,
}

#[derive(Deserialize)]
struct CreatedRefund {
    status: String,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ApiError,
}

#[derive(Deserialize)]
struct ApiError {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    message: String,
}

impl StripeGateway {
    /// The gateway's name, also the order's payment method.
    pub const NAME: &'static str = "stripe";

    /// A gateway for `config` sending through `transport`, on the system
    /// clock.
    pub fn new(config: StripeConfig, transport: Arc<dyn Transport>) -> Self {
        StripeGateway {
            config,
            transport,
            clock: Arc::new(SystemClock),
        }
    }

    /// Takes the time for webhook checks from `clock`.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The configuration.
    pub fn config(&self) -> &StripeConfig {
        &self.config
    }

    async fn post<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        form: String,
        idempotency_key: &str,
    ) -> Result<T, ProviderError> {
        let mut request = HttpRequest::new(
            Method::Post,
            format!("{}{path}", self.config.api_base.trim_end_matches('/')),
        )
        .header(
            "Authorization",
            format!("Bearer {}", self.config.secret_key),
        )
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header("Idempotency-Key", idempotency_key)
        .body(form);
        if let Some(version) = &self.config.api_version {
            request = request.header("Stripe-Version", version.as_str());
        }
        let response = self.transport.send(request).await?;
        read(response)
    }
}

fn read<T: serde::de::DeserializeOwned>(response: HttpResponse) -> Result<T, ProviderError> {
    if !response.is_success() {
        return Err(match serde_json::from_slice::<ErrorBody>(&response.body) {
            Ok(ErrorBody { error }) => ProviderError::Api {
                status: response.status,
                code: error.code.unwrap_or(error.kind),
                message: error.message,
            },
            Err(_) => ProviderError::Api {
                status: response.status,
                code: String::new(),
                message: String::from_utf8_lossy(&response.body).into_owned(),
            },
        });
    }
    serde_json::from_slice(&response.body)
        .map_err(|e| ProviderError::InvalidResponse(e.to_string()))
}

#[async_trait]
impl PaymentGateway for StripeGateway {
    fn name(&self) -> &str {
        Self::NAME
    }

    fn merchant_id(&self) -> &str {
        &self.config.account_id
    }

    async fn create_payment(&self, req: &PaymentRequest) -> Result<PaymentAction, PaymentError> {
        let amount = to_stripe_minor_units(req.amount).map_err(ProviderError::from)?;
        let form = form_urlencoded::Serializer::new(String::new())
            .append_pair("amount", &amount.to_string())
            .append_pair("currency", &to_stripe_currency(req.amount.currency()))
            .append_pair("description", &req.subject)
            .append_pair(
                &format!("metadata[{}]", webhook::ORDER_NO_KEY),
                &req.order_no,
            )
            .append_pair("automatic_payment_methods[enabled]", "true")
            .finish();
        let key = format!("payment-intent-{}", req.order_no);
        let intent: CreatedIntent = self.post("/v1/payment_intents", form, &key).await?;
        let mut query = form_urlencoded::Serializer::new(String::new());
        query
            .append_pair("payment_intent", &intent.id)
            .append_pair("client_secret", &intent.client_secret)
            .append_pair("order_no", &req.order_no);
        if let Some(url) = &req.return_url {
            query.append_pair("return_url", url);
        }
        let separator = if self.config.checkout_url.contains('?') {
            '&'
        } else {
            '?'
        };
        Ok(PaymentAction::Redirect(format!(
            "{}{separator}{}",
            self.config.checkout_url,
            query.finish()
        )))
    }

    async fn verify_notification(
        &self,
        notification: &RawNotification,
    ) -> Result<GatewayEvent, PaymentError> {
        let header = notification
            .header("stripe-signature")
            .ok_or(PaymentError::InvalidSignature)?;
        webhook::verify_signature(
            &self.config.webhook_secret,
            header,
            &notification.body,
            self.clock.now(),
            self.config.window,
        )?;
        webhook::parse_event(&notification.body, &self.config.account_id)
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
        let amount = to_stripe_minor_units(req.amount).map_err(ProviderError::from)?;
        let form = form_urlencoded::Serializer::new(String::new())
            .append_pair("payment_intent", &req.transaction_no)
            .append_pair("amount", &amount.to_string())
            .append_pair("reason", "requested_by_customer")
            .append_pair(
                &format!("metadata[{}]", webhook::REFUND_NO_KEY),
                &req.refund_no,
            )
            .append_pair(
                &format!("metadata[{}]", webhook::ORDER_NO_KEY),
                &req.order_no,
            )
            .finish();
        let refund: CreatedRefund = self.post("/v1/refunds", form, &req.refund_no).await?;
        match refund.status.as_str() {
            "succeeded" => Ok(GatewayRefundStatus::Succeeded),
            "pending" | "requires_action" => Ok(GatewayRefundStatus::Pending),
            "failed" | "canceled" => Ok(GatewayRefundStatus::Failed),
            other => Err(ProviderError::InvalidResponse(format!("refund status {other:?}")).into()),
        }
    }
}
