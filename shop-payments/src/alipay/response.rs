//! Alipay's synchronous answers and their signatures.
//!
//! A gateway answer is a JSON object holding the response node, named after
//! the method (`alipay.trade.refund` → `alipay_trade_refund_response`, or
//! `error_response` when the call itself was refused), a base64 `sign` and,
//! in certificate mode, `alipay_cert_sn`. The signature covers the node's
//! JSON text exactly as it appears in the body — with Alipay's `\/`
//! escapes and its key order — so that text is taken from the body as it
//! is, verified, and only then parsed. It is never re-serialised.

use std::collections::HashMap;

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::value::RawValue;
use shop_core::payment::PaymentError;

use super::keys::RsaPublicKey;
use crate::error::ProviderError;
use crate::transport::HttpResponse;

/// Alipay's code for a successful call.
pub(crate) const SUCCESS_CODE: &str = "10000";
/// Alipay's code for a business failure ("Business Failed").
pub(crate) const BUSINESS_FAILED_CODE: &str = "40004";

/// The common fields of every response node.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub(crate) struct Status {
    /// `10000` on success.
    pub(crate) code: String,
    /// The message for `code`.
    #[serde(default)]
    pub(crate) msg: String,
    /// The business error, e.g. `ACQ.TRADE_NOT_EXIST`.
    #[serde(default)]
    pub(crate) sub_code: Option<String>,
    /// Its description.
    #[serde(default)]
    pub(crate) sub_msg: Option<String>,
}

/// A verified (or, for errors, possibly unsigned) answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Answer<T> {
    /// `code` was `10000` and the signature verified.
    Success(T),
    /// Alipay refused; `signed` says whether the refusal carried a valid
    /// signature (only a signed refusal may settle anything).
    Refused {
        /// The node's status fields.
        status: Status,
        /// Whether the refusal was signed by Alipay.
        signed: bool,
    },
}

/// How answers are checked: Alipay's public key and, in certificate mode,
/// the SN of the certificate it must have signed with.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ResponseVerifier<'a> {
    pub(crate) key: &'a RsaPublicKey,
    pub(crate) cert_sn: Option<&'a str>,
}

/// The raw text of the fields of the body's top-level object.
fn top_level(body: &[u8]) -> Result<HashMap<String, &RawValue>, ProviderError> {
    let text = std::str::from_utf8(body)
        .map_err(|_| ProviderError::InvalidResponse("alipay: body is not UTF-8".into()))?;
    serde_json::from_str(text).map_err(|e| ProviderError::InvalidResponse(format!("alipay: {e}")))
}

fn string_field(
    fields: &HashMap<String, &RawValue>,
    key: &str,
) -> Result<Option<String>, ProviderError> {
    fields
        .get(key)
        .map(|raw| {
            serde_json::from_str::<String>(raw.get())
                .map_err(|e| ProviderError::InvalidResponse(format!("alipay: {key}: {e}")))
        })
        .transpose()
}

/// The name of `method`'s response node: `alipay.trade.query` →
/// `alipay_trade_query_response`.
pub(crate) fn response_node(method: &str) -> String {
    format!("{}_response", method.replace('.', "_"))
}

/// Reads the answer to `method`: finds its node, checks `sign` over the
/// node's exact text (and `alipay_cert_sn` in certificate mode), then
/// parses it.
///
/// * A non-2xx status or an unreadable body is a [`ProviderError`].
/// * A success (`code` `10000`) must be signed by Alipay's key: otherwise
///   [`PaymentError::InvalidSignature`].
/// * A refusal (`error_response`, or another `code`) is
///   [`Answer::Refused`]; a refusal whose `sign` is present but wrong is
///   [`PaymentError::InvalidSignature`] too.
pub(crate) fn read_answer<T: DeserializeOwned>(
    method: &str,
    response: &HttpResponse,
    verifier: ResponseVerifier<'_>,
) -> Result<Answer<T>, PaymentError> {
    if !response.is_success() {
        return Err(ProviderError::Api {
            status: response.status,
            code: String::new(),
            message: String::from_utf8_lossy(&response.body).into_owned(),
        }
        .into());
    }
    let fields = top_level(&response.body)?;
    let node_name = response_node(method);
    let node = fields
        .get(&node_name)
        .or_else(|| fields.get("error_response"))
        .ok_or_else(|| ProviderError::InvalidResponse(format!("alipay: no {node_name}")))?;
    let content = node.get();
    let sign = string_field(&fields, "sign")?;
    let signed = match &sign {
        Some(sign) => {
            if let (Some(ours), Some(theirs)) =
                (verifier.cert_sn, string_field(&fields, "alipay_cert_sn")?)
            {
                if ours != theirs {
                    return Err(PaymentError::InvalidSignature);
                }
            }
            if !verifier.key.verify(content.as_bytes(), sign) {
                return Err(PaymentError::InvalidSignature);
            }
            true
        }
        None => false,
    };
    let status: Status = serde_json::from_str(content)
        .map_err(|e| ProviderError::InvalidResponse(format!("alipay: {node_name}: {e}")))?;
    if status.code != SUCCESS_CODE {
        return Ok(Answer::Refused { status, signed });
    }
    if !signed {
        return Err(PaymentError::InvalidSignature);
    }
    serde_json::from_str(content)
        .map(Answer::Success)
        .map_err(|e| ProviderError::InvalidResponse(format!("alipay: {node_name}: {e}")).into())
}

/// Verifies a whole answer to `method` with `key`, `sign` required, and
/// returns the response node's JSON text exactly as it appeared in `body`
/// (the bytes that were verified, ready to parse).
pub fn verify_response(
    method: &str,
    body: &[u8],
    key: &RsaPublicKey,
) -> Result<String, PaymentError> {
    let fields = top_level(body)?;
    let node_name = response_node(method);
    let node = fields
        .get(&node_name)
        .or_else(|| fields.get("error_response"))
        .ok_or_else(|| ProviderError::InvalidResponse(format!("alipay: no {node_name}")))?;
    let sign = string_field(&fields, "sign")?.ok_or(PaymentError::InvalidSignature)?;
    if key.verify(node.get().as_bytes(), &sign) {
        Ok(node.get().to_owned())
    } else {
        Err(PaymentError::InvalidSignature)
    }
}

/// A refusal as a [`ProviderError::Api`].
pub(crate) fn refusal_error(http_status: u16, status: Status) -> PaymentError {
    ProviderError::Api {
        status: http_status,
        code: match status.sub_code {
            Some(sub) => format!("{}/{sub}", status.code),
            None => status.code,
        },
        message: status.sub_msg.unwrap_or(status.msg),
    }
    .into()
}

/// The `alipay.trade.precreate` answer.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Precreated {
    pub(crate) out_trade_no: String,
    pub(crate) qr_code: String,
}

/// The `alipay.trade.refund` answer.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Refunded {
    #[serde(default)]
    pub(crate) fund_change: Option<String>,
}

/// The `alipay.trade.fastpay.refund.query` answer.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct RefundQueried {
    #[serde(default)]
    pub(crate) refund_status: Option<String>,
}

/// The `alipay.trade.query` answer.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Queried {
    pub(crate) trade_no: String,
    pub(crate) out_trade_no: String,
    pub(crate) trade_status: String,
    pub(crate) total_amount: String,
    #[serde(default)]
    pub(crate) send_pay_date: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_names_follow_the_method() {
        assert_eq!(
            response_node("alipay.trade.precreate"),
            "alipay_trade_precreate_response"
        );
    }

    #[test]
    fn the_node_text_is_taken_as_it_appears() {
        let body =
            br#"{"alipay_trade_query_response" : {"code":"10000","url":"http:\/\/x"} ,"sign":"s"}"#;
        let fields = top_level(body).unwrap();
        assert_eq!(
            fields["alipay_trade_query_response"].get(),
            r#"{"code":"10000","url":"http:\/\/x"}"#
        );
        assert_eq!(string_field(&fields, "sign").unwrap().as_deref(), Some("s"));
        assert!(top_level(b"[1]").is_err());
        assert!(top_level(b"\xff").is_err());
    }
}
