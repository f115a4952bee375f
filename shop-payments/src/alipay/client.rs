//! The OpenAPI calls: signed parameter lists, page pay URLs, precreate,
//! refund, refund query and trade query.

use chrono::{DateTime, Utc};
use serde::Serialize;
use shop_core::payment::{
    GatewayRefund, GatewayRefundStatus, PaymentError, PaymentRequest, VerifiedPayment,
};
use shop_core::Money;

use super::params::{
    encode_form, format_beijing_time, parse_beijing_time, request_signing_content,
};
use super::response::{
    read_answer, refusal_error, Answer, Precreated, Queried, RefundQueried, Refunded,
    ResponseVerifier, BUSINESS_FAILED_CODE,
};
use super::AlipayGateway;
use crate::amount::{from_alipay_yuan, to_alipay_yuan};
use crate::error::ProviderError;
use crate::transport::{HttpRequest, Method};

const PAGE_PAY: &str = "alipay.trade.page.pay";
const PRECREATE: &str = "alipay.trade.precreate";
const REFUND: &str = "alipay.trade.refund";
const REFUND_QUERY: &str = "alipay.trade.fastpay.refund.query";
const QUERY: &str = "alipay.trade.query";

#[derive(Serialize)]
struct PayBiz<'a> {
    out_trade_no: &'a str,
    total_amount: String,
    subject: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    product_code: Option<&'static str>,
}

#[derive(Serialize)]
struct RefundBiz<'a> {
    trade_no: &'a str,
    out_trade_no: &'a str,
    refund_amount: String,
    out_request_no: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    refund_reason: &'a str,
}

#[derive(Serialize)]
struct RefundQueryBiz<'a> {
    trade_no: &'a str,
    out_trade_no: &'a str,
    out_request_no: &'a str,
}

#[derive(Serialize)]
struct QueryBiz<'a> {
    out_trade_no: &'a str,
}

/// A trade's state at Alipay (`trade_status`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TradeStatus {
    /// `WAIT_BUYER_PAY`: created, not paid.
    WaitBuyerPay,
    /// `TRADE_CLOSED`: closed unpaid, or fully refunded.
    Closed,
    /// `TRADE_SUCCESS`: paid, refundable.
    Success,
    /// `TRADE_FINISHED`: paid, no longer refundable.
    Finished,
    /// A status this crate does not know.
    Other(String),
}

impl TradeStatus {
    fn parse(s: &str) -> Self {
        match s {
            "WAIT_BUYER_PAY" => TradeStatus::WaitBuyerPay,
            "TRADE_CLOSED" => TradeStatus::Closed,
            "TRADE_SUCCESS" => TradeStatus::Success,
            "TRADE_FINISHED" => TradeStatus::Finished,
            other => TradeStatus::Other(other.to_owned()),
        }
    }

    /// Whether the buyer paid (`TRADE_SUCCESS` or `TRADE_FINISHED`).
    pub fn is_paid(&self) -> bool {
        matches!(self, TradeStatus::Success | TradeStatus::Finished)
    }
}

/// A verified `alipay.trade.query` answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TradeQuery {
    /// Alipay's transaction number.
    pub trade_no: String,
    /// Our order number.
    pub out_trade_no: String,
    /// The trade's state.
    pub status: TradeStatus,
    /// The order's amount.
    pub total_amount: Money,
    /// When it was paid (`send_pay_date`), if it was.
    pub paid_at: Option<DateTime<Utc>>,
}

impl TradeQuery {
    /// The payment this answer proves, for `merchant_id` (our `app_id`),
    /// when the trade is paid and its payment time known.
    pub fn payment(&self, merchant_id: &str) -> Option<VerifiedPayment> {
        if !self.status.is_paid() {
            return None;
        }
        Some(VerifiedPayment {
            merchant_id: merchant_id.to_owned(),
            order_no: self.out_trade_no.clone(),
            amount: self.total_amount,
            transaction_no: self.trade_no.clone(),
            paid_at: self.paid_at?,
        })
    }
}

fn invalid(what: impl Into<String>) -> PaymentError {
    ProviderError::InvalidResponse(format!("alipay: {}", what.into())).into()
}

impl AlipayGateway {
    /// The signed parameter list of a call to `method` with `biz_content`
    /// and `extra` parameters (e.g. `return_url`).
    fn signed_params(
        &self,
        method: &str,
        biz_content: &impl Serialize,
        extra: &[(&str, &str)],
    ) -> Result<Vec<(String, String)>, PaymentError> {
        let biz_content = serde_json::to_string(biz_content)
            .map_err(|e| ProviderError::Refused(format!("biz_content: {e}")))?;
        let config = &self.config;
        let mut params: Vec<(String, String)> = [
            ("app_id", config.app_id.as_str()),
            ("method", method),
            ("format", "JSON"),
            ("charset", "utf-8"),
            ("sign_type", "RSA2"),
            ("timestamp", &format_beijing_time(self.clock.now())),
            ("version", "1.0"),
            ("biz_content", &biz_content),
        ]
        .iter()
        .chain(extra)
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        if let Some(url) = &config.notify_url {
            params.push(("notify_url".into(), url.clone()));
        }
        if let Some(certs) = config.keys.certificates() {
            params.push(("app_cert_sn".into(), certs.app_cert_sn.clone()));
            params.push((
                "alipay_root_cert_sn".into(),
                certs.alipay_root_cert_sn.clone(),
            ));
        }
        let sign = config
            .private_key
            .sign(request_signing_content(&params).as_bytes())
            .map_err(|e| ProviderError::Refused(e.to_string()))?;
        params.push(("sign".into(), sign));
        Ok(params)
    }

    /// `alipay.trade.page.pay` as a URL: the gateway with the signed query.
    pub(super) fn page_pay_url(&self, req: &PaymentRequest) -> Result<String, PaymentError> {
        let biz = PayBiz {
            out_trade_no: &req.order_no,
            total_amount: to_alipay_yuan(req.amount).map_err(ProviderError::from)?,
            subject: &req.subject,
            product_code: Some("FAST_INSTANT_TRADE_PAY"),
        };
        let extra: Vec<(&str, &str)> = req
            .return_url
            .as_deref()
            .map(|url| ("return_url", url))
            .into_iter()
            .collect();
        let params = self.signed_params(PAGE_PAY, &biz, &extra)?;
        let gateway = &self.config.gateway_url;
        let separator = if gateway.contains('?') { '&' } else { '?' };
        Ok(format!("{gateway}{separator}{}", encode_form(&params)))
    }

    /// Calls `method` through the transport and reads its verified answer,
    /// with the HTTP status.
    async fn call<T: serde::de::DeserializeOwned>(
        &self,
        method: &str,
        biz_content: &impl Serialize,
    ) -> Result<(u16, Answer<T>), PaymentError> {
        let params = self.signed_params(method, biz_content, &[])?;
        let request = HttpRequest::new(Method::Post, self.config.gateway_url.clone())
            .header(
                "Content-Type",
                "application/x-www-form-urlencoded;charset=utf-8",
            )
            .body(encode_form(&params));
        let response = self
            .transport
            .send(request)
            .await
            .map_err(ProviderError::from)?;
        let verifier = ResponseVerifier {
            key: self.config.keys.alipay_public_key(),
            cert_sn: self
                .config
                .keys
                .certificates()
                .map(|c| c.alipay_cert_sn.as_str()),
        };
        Ok((response.status, read_answer(method, &response, verifier)?))
    }

    /// `alipay.trade.precreate`: the QR code content for `req`.
    pub(super) async fn precreate(&self, req: &PaymentRequest) -> Result<String, PaymentError> {
        let biz = PayBiz {
            out_trade_no: &req.order_no,
            total_amount: to_alipay_yuan(req.amount).map_err(ProviderError::from)?,
            subject: &req.subject,
            product_code: None,
        };
        match self.call::<Precreated>(PRECREATE, &biz).await? {
            (_, Answer::Success(answer)) if answer.out_trade_no == req.order_no => {
                Ok(answer.qr_code)
            }
            (_, Answer::Success(answer)) => Err(invalid(format!(
                "precreate answered for order {}",
                answer.out_trade_no
            ))),
            (status, Answer::Refused { status: s, .. }) => Err(refusal_error(status, s)),
        }
    }

    /// `alipay.trade.refund`, confirmed by a refund query when the answer
    /// does not say that money moved.
    pub(super) async fn refund_trade(
        &self,
        req: &GatewayRefund,
    ) -> Result<GatewayRefundStatus, PaymentError> {
        let biz = RefundBiz {
            trade_no: &req.transaction_no,
            out_trade_no: &req.order_no,
            refund_amount: to_alipay_yuan(req.amount).map_err(ProviderError::from)?,
            out_request_no: &req.refund_no,
            refund_reason: &req.reason,
        };
        match self.call::<Refunded>(REFUND, &biz).await? {
            (_, Answer::Success(answer)) if answer.fund_change.as_deref() == Some("Y") => {
                Ok(GatewayRefundStatus::Succeeded)
            }
            (_, Answer::Success(_)) => self.refund_query(req).await,
            (
                _,
                Answer::Refused {
                    status,
                    signed: true,
                },
            ) if status.code == BUSINESS_FAILED_CODE => Ok(GatewayRefundStatus::Failed),
            (http, Answer::Refused { status, .. }) => Err(refusal_error(http, status)),
        }
    }

    async fn refund_query(&self, req: &GatewayRefund) -> Result<GatewayRefundStatus, PaymentError> {
        let biz = RefundQueryBiz {
            trade_no: &req.transaction_no,
            out_trade_no: &req.order_no,
            out_request_no: &req.refund_no,
        };
        match self.call::<RefundQueried>(REFUND_QUERY, &biz).await? {
            (_, Answer::Success(answer)) => match answer.refund_status.as_deref() {
                Some("REFUND_SUCCESS") => Ok(GatewayRefundStatus::Succeeded),
                _ => Ok(GatewayRefundStatus::Pending),
            },
            (http, Answer::Refused { status, .. }) => Err(refusal_error(http, status)),
        }
    }

    /// `alipay.trade.query` for our order `out_trade_no`: the trade as
    /// Alipay knows it, from a verified answer. An unknown trade is a
    /// [`ProviderError::Api`] with code `40004/ACQ.TRADE_NOT_EXIST`.
    pub async fn query_trade(&self, out_trade_no: &str) -> Result<TradeQuery, PaymentError> {
        let biz = QueryBiz { out_trade_no };
        match self.call::<Queried>(QUERY, &biz).await? {
            (_, Answer::Success(answer)) => {
                if answer.out_trade_no != out_trade_no {
                    return Err(invalid(format!(
                        "query answered for order {}",
                        answer.out_trade_no
                    )));
                }
                let paid_at = match answer.send_pay_date.as_deref() {
                    Some(text) if !text.is_empty() => Some(
                        parse_beijing_time(text)
                            .ok_or_else(|| invalid(format!("send_pay_date {text:?}")))?,
                    ),
                    _ => None,
                };
                Ok(TradeQuery {
                    status: TradeStatus::parse(&answer.trade_status),
                    total_amount: from_alipay_yuan(&answer.total_amount)
                        .map_err(ProviderError::from)?,
                    trade_no: answer.trade_no,
                    out_trade_no: answer.out_trade_no,
                    paid_at,
                })
            }
            (http, Answer::Refused { status, .. }) => Err(refusal_error(http, status)),
        }
    }
}
