//! Calls to WeChat Pay API v3: the JSON bodies we send and the answers we
//! read, each answer's signature verified before it is read.

use serde::{Deserialize, Serialize};
use shop_core::payment::{GatewayRefundStatus, PaymentError};

use super::keys::KeyError;
use super::sign::{authorization, new_nonce, verify};
use super::WechatPayGateway;
use crate::error::ProviderError;
use crate::transport::{HttpRequest, HttpResponse, Method};

/// Native orders: the answer's `code_url` is shown as a QR code.
pub const NATIVE_PATH: &str = "/v3/pay/transactions/native";
/// H5 orders: the answer's `h5_url` is opened in the buyer's mobile browser.
pub const H5_PATH: &str = "/v3/pay/transactions/h5";
/// Refunds.
pub const REFUND_PATH: &str = "/v3/refund/domestic/refunds";

/// The `User-Agent` sent: WeChat Pay refuses requests without one.
pub const USER_AGENT: &str = concat!("shop-payments/", env!("CARGO_PKG_VERSION"));

/// Longest `description` WeChat Pay takes, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 127;
/// Longest refund `reason` WeChat Pay takes, in characters.
pub const MAX_REASON_CHARS: usize = 80;

/// `amount` of an order.
#[derive(Debug, Serialize)]
pub(crate) struct OrderAmount {
    pub(crate) total: i64,
    pub(crate) currency: &'static str,
}

/// `scene_info` of an H5 order.
#[derive(Debug, Serialize)]
pub(crate) struct SceneInfo<'a> {
    pub(crate) payer_client_ip: &'a str,
    pub(crate) h5_info: H5Info<'a>,
}

/// `scene_info.h5_info`.
#[derive(Debug, Serialize)]
pub(crate) struct H5Info<'a> {
    #[serde(rename = "type")]
    pub(crate) kind: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) app_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) app_url: Option<&'a str>,
}

/// The body of a Native or H5 order.
#[derive(Debug, Serialize)]
pub(crate) struct OrderBody<'a> {
    pub(crate) appid: &'a str,
    pub(crate) mchid: &'a str,
    pub(crate) description: String,
    pub(crate) out_trade_no: &'a str,
    pub(crate) notify_url: &'a str,
    pub(crate) amount: OrderAmount,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) scene_info: Option<SceneInfo<'a>>,
}

/// `amount` of a refund.
#[derive(Debug, Serialize)]
pub(crate) struct RefundAmount {
    pub(crate) refund: i64,
    pub(crate) total: i64,
    pub(crate) currency: &'static str,
}

/// The body of a refund.
#[derive(Debug, Serialize)]
pub(crate) struct RefundBody<'a> {
    pub(crate) transaction_id: &'a str,
    pub(crate) out_refund_no: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) reason: Option<String>,
    pub(crate) notify_url: &'a str,
    pub(crate) amount: RefundAmount,
}

/// The answer to a Native order.
#[derive(Deserialize)]
pub(crate) struct NativeAnswer {
    pub(crate) code_url: String,
}

/// The answer to an H5 order.
#[derive(Deserialize)]
pub(crate) struct H5Answer {
    pub(crate) h5_url: String,
}

/// The answer to a refund.
#[derive(Deserialize)]
pub(crate) struct RefundAnswer {
    pub(crate) status: String,
}

/// What a refund's `status` means for the shop.
pub(crate) fn refund_status(status: &str) -> Result<GatewayRefundStatus, ProviderError> {
    match status {
        "SUCCESS" => Ok(GatewayRefundStatus::Succeeded),
        "PROCESSING" => Ok(GatewayRefundStatus::Pending),
        "CLOSED" | "ABNORMAL" => Ok(GatewayRefundStatus::Failed),
        other => Err(ProviderError::InvalidResponse(format!(
            "refund status {other:?}"
        ))),
    }
}

/// WeChat Pay's error body.
#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
}

/// `text` cut to at most `max` characters.
pub(crate) fn truncate(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

fn unsigned(e: KeyError) -> ProviderError {
    ProviderError::Refused(format!("request not signed: {e}"))
}

impl WechatPayGateway {
    /// POSTs `body` (JSON) to `path`, signed; returns the answer once its
    /// signature verifies.
    pub(crate) async fn post<B: Serialize, T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, ProviderError> {
        let config = &self.config;
        let body = serde_json::to_vec(body).map_err(|e| ProviderError::Refused(e.to_string()))?;
        let timestamp = self.clock.now().timestamp();
        let nonce = new_nonce().map_err(unsigned)?;
        let auth = authorization(
            &config.mchid,
            &config.merchant_key,
            Method::Post,
            path,
            timestamp,
            &nonce,
            &body,
        )
        .map_err(unsigned)?;
        let request = HttpRequest::new(
            Method::Post,
            format!("{}{path}", config.api_base.trim_end_matches('/')),
        )
        .header("Authorization", auth)
        .header("Accept", "application/json")
        .header("Content-Type", "application/json")
        .header("User-Agent", USER_AGENT)
        .body(body);
        let response = self.transport.send(request).await?;
        self.read(response)
    }

    /// Reads an answer: an error status is [`ProviderError::Api`]; a
    /// success must carry a valid platform signature within the window,
    /// or it is [`ProviderError::UnverifiedResponse`].
    fn read<T: serde::de::DeserializeOwned>(
        &self,
        response: HttpResponse,
    ) -> Result<T, ProviderError> {
        if !response.is_success() {
            return Err(match serde_json::from_slice::<ErrorBody>(&response.body) {
                Ok(error) => ProviderError::Api {
                    status: response.status,
                    code: error.code,
                    message: error.message,
                },
                Err(_) => ProviderError::Api {
                    status: response.status,
                    code: String::new(),
                    message: String::from_utf8_lossy(&response.body).into_owned(),
                },
            });
        }
        verify(
            |name| response.header(name),
            &response.body,
            &self.config.platform_keys,
            self.clock.now(),
            self.config.window,
        )
        .map_err(|e| {
            ProviderError::UnverifiedResponse(match e {
                PaymentError::InvalidSignature => "signature does not verify".to_owned(),
                other => other.to_string(),
            })
        })?;
        serde_json::from_slice(&response.body)
            .map_err(|e| ProviderError::InvalidResponse(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refund_statuses_map_to_the_shops() {
        assert_eq!(
            refund_status("SUCCESS").unwrap(),
            GatewayRefundStatus::Succeeded
        );
        assert_eq!(
            refund_status("PROCESSING").unwrap(),
            GatewayRefundStatus::Pending
        );
        assert_eq!(
            refund_status("CLOSED").unwrap(),
            GatewayRefundStatus::Failed
        );
        assert_eq!(
            refund_status("ABNORMAL").unwrap(),
            GatewayRefundStatus::Failed
        );
        assert!(refund_status("success").is_err());
    }

    #[test]
    fn long_texts_are_cut_by_characters() {
        assert_eq!(truncate("订单 O1", 127), "订单 O1");
        assert_eq!(truncate(&"茶".repeat(200), 127).chars().count(), 127);
    }
}
