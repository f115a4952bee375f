//! Signatures of WeChat Pay API v3: ours on requests, WeChat Pay's on
//! responses and notifications.
//!
//! **Requests** carry
//! `Authorization: WECHATPAY2-SHA256-RSA2048 mchid="…",nonce_str="…",timestamp="…",serial_no="…",signature="…"`,
//! where `signature` is the base64 SHA256withRSA signature, under the
//! merchant's private key, of
//! `METHOD\nPATH?QUERY\nTIMESTAMP\nNONCE\nBODY\n` ([`request_message`]).
//!
//! **Responses and notifications** carry `Wechatpay-Timestamp`,
//! `Wechatpay-Nonce`, `Wechatpay-Signature` and `Wechatpay-Serial`; the
//! signature covers `TIMESTAMP\nNONCE\nBODY\n` ([`response_message`]) with
//! the body bytes exactly as received, under the platform key that
//! `Wechatpay-Serial` names. [`verify`] checks the signature first, then
//! the timestamp window.

use chrono::{DateTime, Utc};
use shop_core::payment::PaymentError;

use super::keys::{KeyError, PlatformKeys, SigningKey};
use crate::clock::{parse_unix_seconds, TimestampWindow};
use crate::crypto::random_bytes;
use crate::transport::Method;

/// The authorization scheme, also the only `Wechatpay-Signature-Type`
/// accepted.
pub const SCHEME: &str = "WECHATPAY2-SHA256-RSA2048";

/// Header names of a signed response or notification.
pub mod headers {
    /// Unix seconds of the signature.
    pub const TIMESTAMP: &str = "Wechatpay-Timestamp";
    /// The signature's random string.
    pub const NONCE: &str = "Wechatpay-Nonce";
    /// The base64 signature.
    pub const SIGNATURE: &str = "Wechatpay-Signature";
    /// The serial number or key id of the signing platform key.
    pub const SERIAL: &str = "Wechatpay-Serial";
    /// The signature's scheme, [`super::SCHEME`] when present.
    pub const SIGNATURE_TYPE: &str = "Wechatpay-Signature-Type";
}

fn lines(parts: &[&[u8]]) -> Vec<u8> {
    let mut message = Vec::with_capacity(parts.iter().map(|p| p.len() + 1).sum());
    for part in parts {
        message.extend_from_slice(part);
        message.push(b'\n');
    }
    message
}

/// What a request's signature covers:
/// `METHOD\nPATH?QUERY\nTIMESTAMP\nNONCE\nBODY\n` (an empty body for a GET).
pub fn request_message(
    method: Method,
    path_and_query: &str,
    timestamp: i64,
    nonce: &str,
    body: &[u8],
) -> Vec<u8> {
    lines(&[
        method.as_str().as_bytes(),
        path_and_query.as_bytes(),
        timestamp.to_string().as_bytes(),
        nonce.as_bytes(),
        body,
    ])
}

/// What a response's or notification's signature covers:
/// `TIMESTAMP\nNONCE\nBODY\n`, with the timestamp as the header wrote it.
pub fn response_message(timestamp: &str, nonce: &str, body: &[u8]) -> Vec<u8> {
    lines(&[timestamp.as_bytes(), nonce.as_bytes(), body])
}

/// A fresh random nonce: 32 uppercase hex characters (128 bits).
pub(crate) fn new_nonce() -> Result<String, KeyError> {
    let bytes = random_bytes::<16>().map_err(|_| KeyError::CryptoFailed)?;
    Ok(hex::encode_upper(bytes))
}

/// The `Authorization` header of a request by merchant `mchid`, signed
/// with `key` (whose serial number is written as `serial_no`).
pub fn authorization(
    mchid: &str,
    key: &SigningKey,
    method: Method,
    path_and_query: &str,
    timestamp: i64,
    nonce: &str,
    body: &[u8],
) -> Result<String, KeyError> {
    let signature = key.sign(&request_message(
        method,
        path_and_query,
        timestamp,
        nonce,
        body,
    ))?;
    Ok(format!(
        r#"{SCHEME} mchid="{mchid}",nonce_str="{nonce}",timestamp="{timestamp}",serial_no="{}",signature="{signature}""#,
        key.serial_no()
    ))
}

/// The `Wechatpay-*` headers WeChat Pay sends with `body`, signed with
/// `key` at `timestamp`: for tests and local tools that play WeChat Pay.
pub fn signed_headers(
    key: &SigningKey,
    timestamp: i64,
    nonce: &str,
    body: &[u8],
) -> Result<Vec<(String, String)>, KeyError> {
    let timestamp = timestamp.to_string();
    let signature = key.sign(&response_message(&timestamp, nonce, body))?;
    Ok(vec![
        (headers::TIMESTAMP.to_ascii_lowercase(), timestamp),
        (headers::NONCE.to_ascii_lowercase(), nonce.to_owned()),
        (headers::SIGNATURE.to_ascii_lowercase(), signature),
        (
            headers::SERIAL.to_ascii_lowercase(),
            key.serial_no().to_owned(),
        ),
        (
            headers::SIGNATURE_TYPE.to_ascii_lowercase(),
            SCHEME.to_owned(),
        ),
    ])
}

/// Checks the `Wechatpay-*` headers (read through `header`, by name) over
/// `body`, the bytes exactly as received.
///
/// A missing header, an unknown `Wechatpay-Serial` (or the key of a
/// certificate outside its validity at `now`), a signature type other
/// than [`SCHEME`] or a signature that does not verify is
/// [`PaymentError::InvalidSignature`]; a timestamp that is not Unix seconds
/// is [`PaymentError::Malformed`]; a verified one outside `window` around
/// `now` is [`PaymentError::Replayed`].
pub fn verify<'h>(
    header: impl Fn(&str) -> Option<&'h str>,
    body: &[u8],
    keys: &PlatformKeys,
    now: DateTime<Utc>,
    window: TimestampWindow,
) -> Result<(), PaymentError> {
    let get = |name: &str| header(name).ok_or(PaymentError::InvalidSignature);
    let timestamp = get(headers::TIMESTAMP)?;
    let nonce = get(headers::NONCE)?;
    let signature = get(headers::SIGNATURE)?;
    let serial = get(headers::SERIAL)?;
    if header(headers::SIGNATURE_TYPE).is_some_and(|t| t != SCHEME) {
        return Err(PaymentError::InvalidSignature);
    }
    let seconds = parse_unix_seconds(timestamp).ok_or_else(|| {
        PaymentError::Malformed(format!("wechat: {} is not a timestamp", headers::TIMESTAMP))
    })?;
    if !keys.verifies(
        serial,
        now,
        &response_message(timestamp, nonce, body),
        signature,
    ) {
        return Err(PaymentError::InvalidSignature);
    }
    window.check(now, seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_end_every_line_with_a_newline() {
        assert_eq!(
            request_message(
                Method::Post,
                "/v3/pay/transactions/native",
                1_554_208_460,
                "593BEC0C930BF1AFEB40B4A08C8FB242",
                br#"{"a":1}"#
            ),
            b"POST\n/v3/pay/transactions/native\n1554208460\n593BEC0C930BF1AFEB40B4A08C8FB242\n{\"a\":1}\n"
        );
        assert_eq!(
            request_message(Method::Get, "/v3/certificates?x=1", 1, "n", b""),
            b"GET\n/v3/certificates?x=1\n1\nn\n\n"
        );
        assert_eq!(response_message("1", "n", b"{}"), b"1\nn\n{}\n");
    }

    #[test]
    fn nonces_are_fresh() {
        let a = new_nonce().unwrap();
        assert_eq!(a.len(), 32);
        assert!(a
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_lowercase()));
        assert_ne!(a, new_nonce().unwrap());
    }
}
