//! WeChat Pay notifications: the encrypted resource and what it says.
//!
//! A notification's body (after its signature is verified, see
//! [`super::sign::verify`]) is
//!
//! ```json
//! {"id": "…", "create_time": "…", "event_type": "TRANSACTION.SUCCESS",
//!  "resource_type": "encrypt-resource", "summary": "…",
//!  "resource": {"algorithm": "AEAD_AES_256_GCM", "ciphertext": "…",
//!               "associated_data": "transaction", "nonce": "…",
//!               "original_type": "transaction"}}
//! ```
//!
//! The resource is AES-256-GCM under the APIv3 key, with the resource's
//! 12-byte `nonce` and its `associated_data`; `ciphertext` is base64 with
//! the 16-byte tag appended. [`decrypt`] opens it, [`encrypt`] makes one
//! (for tests and tools that play WeChat Pay), [`parse_event`] reads it.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use shop_core::payment::{GatewayEvent, PaymentError, VerifiedPayment};

use super::keys::{ApiV3Key, KeyError};
use crate::amount::from_wechat_fen;
use crate::crypto::{aes_256_gcm_open, aes_256_gcm_seal, AES_GCM_NONCE_LEN};

/// The only resource algorithm WeChat Pay API v3 uses.
pub const ALGORITHM: &str = "AEAD_AES_256_GCM";

fn malformed(what: impl std::fmt::Display) -> PaymentError {
    PaymentError::Malformed(format!("wechat: {what}"))
}

fn nonce_bytes(nonce: &str) -> Option<[u8; AES_GCM_NONCE_LEN]> {
    nonce.as_bytes().try_into().ok()
}

/// Opens a resource: `ciphertext` is base64 with the tag appended, `nonce`
/// the resource's 12 characters, used as bytes.
///
/// A nonce that is not 12 bytes or a ciphertext that is not base64 is
/// [`PaymentError::Malformed`]; a ciphertext that does not open under
/// `key` with this nonce and associated data (forged, tampered, or our
/// APIv3 key is not the one it was sealed for) is
/// [`PaymentError::InvalidSignature`].
pub fn decrypt(
    key: &ApiV3Key,
    nonce: &str,
    associated_data: &str,
    ciphertext: &str,
) -> Result<Vec<u8>, PaymentError> {
    let nonce = nonce_bytes(nonce).ok_or_else(|| malformed("resource nonce is not 12 bytes"))?;
    let ciphertext = BASE64
        .decode(ciphertext)
        .map_err(|_| malformed("resource ciphertext is not base64"))?;
    aes_256_gcm_open(key.bytes(), &nonce, associated_data.as_bytes(), &ciphertext)
        .ok_or(PaymentError::InvalidSignature)
}

/// Seals `plaintext` as WeChat Pay does a resource: base64 of the
/// AES-256-GCM ciphertext with the tag appended. For tests and local tools
/// that play WeChat Pay.
pub fn encrypt(
    key: &ApiV3Key,
    nonce: &str,
    associated_data: &str,
    plaintext: &[u8],
) -> Result<String, KeyError> {
    let nonce = nonce_bytes(nonce).ok_or(KeyError::NonceLength(nonce.len()))?;
    let sealed = aes_256_gcm_seal(key.bytes(), &nonce, associated_data.as_bytes(), plaintext)
        .map_err(|_| KeyError::CryptoFailed)?;
    Ok(BASE64.encode(sealed))
}

/// A notification's envelope; the resource is read only for the events we
/// handle.
#[derive(Deserialize)]
struct Envelope {
    event_type: String,
    #[serde(default)]
    resource: Option<serde_json::Value>,
}

/// A notification's encrypted resource.
#[derive(Deserialize)]
struct Resource {
    algorithm: String,
    ciphertext: String,
    #[serde(default)]
    associated_data: String,
    nonce: String,
}

/// A payment's state, as the `transaction` resource writes it.
#[derive(Deserialize)]
struct Transaction {
    mchid: String,
    out_trade_no: String,
    trade_state: String,
    #[serde(default)]
    transaction_id: Option<String>,
    #[serde(default)]
    success_time: Option<String>,
    #[serde(default)]
    amount: Option<TransactionAmount>,
}

#[derive(Deserialize)]
struct TransactionAmount {
    total: i64,
    #[serde(default)]
    currency: Option<String>,
}

/// A refund's state, as the `refund` resource writes it.
#[derive(Deserialize)]
struct RefundResource {
    mchid: String,
    out_refund_no: String,
    refund_status: String,
}

fn open_resource(envelope: Envelope, key: &ApiV3Key) -> Result<Vec<u8>, PaymentError> {
    let resource = envelope
        .resource
        .ok_or_else(|| malformed("notification without resource"))?;
    let resource: Resource = serde_json::from_value(resource).map_err(malformed)?;
    if resource.algorithm != ALGORITHM {
        return Err(malformed(format!(
            "resource algorithm {:?}",
            resource.algorithm
        )));
    }
    decrypt(
        key,
        &resource.nonce,
        &resource.associated_data,
        &resource.ciphertext,
    )
}

fn paid(transaction: Transaction) -> Result<GatewayEvent, PaymentError> {
    let transaction_id = transaction
        .transaction_id
        .filter(|id| !id.is_empty())
        .ok_or_else(|| malformed("paid transaction without transaction_id"))?;
    let amount = transaction
        .amount
        .ok_or_else(|| malformed("paid transaction without amount"))?;
    if amount.currency.as_deref().is_some_and(|c| c != "CNY") {
        return Err(malformed(format!("currency {:?}", amount.currency)));
    }
    let amount = from_wechat_fen(amount.total).map_err(malformed)?;
    let success_time = transaction
        .success_time
        .ok_or_else(|| malformed("paid transaction without success_time"))?;
    let paid_at = DateTime::parse_from_rfc3339(&success_time)
        .map_err(|_| malformed(format!("success_time {success_time:?}")))?
        .with_timezone(&Utc);
    Ok(GatewayEvent::Paid(VerifiedPayment {
        merchant_id: transaction.mchid,
        order_no: transaction.out_trade_no,
        amount,
        transaction_no: transaction_id,
        paid_at,
    }))
}

/// Reads a verified notification's body, decrypting its resource with
/// `key`.
///
/// * `TRANSACTION.*` → the resource is a transaction: `trade_state`
///   `SUCCESS` is [`GatewayEvent::Paid`] with `out_trade_no`, `amount.total`
///   (fen → CNY), `transaction_id` and `success_time` (RFC 3339 → UTC), and
///   as merchant the transaction's `mchid` (the core refuses another
///   merchant's); any other state is [`GatewayEvent::Ignored`].
/// * `REFUND.*` (`REFUND.SUCCESS`, `REFUND.ABNORMAL`, `REFUND.CLOSED`) →
///   the resource is a refund: its `mchid` must be `mchid`
///   ([`PaymentError::MerchantMismatch`] otherwise); `refund_status`
///   `SUCCESS` is [`GatewayEvent::RefundFinished`] succeeded, `CLOSED` and
///   `ABNORMAL` the same failed, anything else ignored.
/// * Any other event type is ignored without decrypting.
pub fn parse_event(body: &[u8], key: &ApiV3Key, mchid: &str) -> Result<GatewayEvent, PaymentError> {
    let envelope: Envelope = serde_json::from_slice(body).map_err(malformed)?;
    if envelope.event_type.starts_with("TRANSACTION.") {
        let plaintext = open_resource(envelope, key)?;
        let transaction: Transaction = serde_json::from_slice(&plaintext).map_err(malformed)?;
        if transaction.trade_state == "SUCCESS" {
            paid(transaction)
        } else {
            Ok(GatewayEvent::Ignored)
        }
    } else if envelope.event_type.starts_with("REFUND.") {
        let plaintext = open_resource(envelope, key)?;
        let refund: RefundResource = serde_json::from_slice(&plaintext).map_err(malformed)?;
        if refund.mchid != mchid {
            return Err(PaymentError::MerchantMismatch {
                expected: mchid.to_owned(),
                got: refund.mchid,
            });
        }
        let succeeded = match refund.refund_status.as_str() {
            "SUCCESS" => true,
            "CLOSED" | "ABNORMAL" => false,
            _ => return Ok(GatewayEvent::Ignored),
        };
        Ok(GatewayEvent::RefundFinished {
            refund_no: refund.out_refund_no,
            succeeded,
        })
    } else {
        Ok(GatewayEvent::Ignored)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shop_core::{Currency, Money};

    fn key() -> ApiV3Key {
        ApiV3Key::new([b'k'; 32]).unwrap()
    }

    fn envelope(event_type: &str, associated_data: &str, plaintext: &str) -> Vec<u8> {
        let ciphertext = encrypt(
            &key(),
            "0123456789ab",
            associated_data,
            plaintext.as_bytes(),
        )
        .unwrap();
        serde_json::json!({
            "id": "EV-1", "event_type": event_type, "resource_type": "encrypt-resource",
            "resource": {"algorithm": ALGORITHM, "ciphertext": ciphertext,
                         "associated_data": associated_data, "nonce": "0123456789ab"}
        })
        .to_string()
        .into_bytes()
    }

    #[test]
    fn a_successful_transaction_is_a_payment() {
        let body = envelope(
            "TRANSACTION.SUCCESS",
            "transaction",
            r#"{"mchid":"1900000001","appid":"wx1","out_trade_no":"O1","transaction_id":"4200001","trade_state":"SUCCESS","success_time":"2026-03-01T20:00:05+08:00","amount":{"total":1999,"payer_total":1999,"currency":"CNY","payer_currency":"CNY"}}"#,
        );
        let GatewayEvent::Paid(p) = parse_event(&body, &key(), "1900000001").unwrap() else {
            panic!("not paid");
        };
        assert_eq!(p.merchant_id, "1900000001");
        assert_eq!(p.order_no, "O1");
        assert_eq!(p.transaction_no, "4200001");
        assert_eq!(p.amount, Money::parse("19.99", Currency::Cny).unwrap());
        assert_eq!(p.paid_at.to_rfc3339(), "2026-03-01T12:00:05+00:00");
    }

    #[test]
    fn other_states_and_events_are_ignored_and_bad_ones_malformed() {
        let waiting = envelope(
            "TRANSACTION.SUCCESS",
            "transaction",
            r#"{"mchid":"1","out_trade_no":"O1","trade_state":"NOTPAY"}"#,
        );
        assert_eq!(
            parse_event(&waiting, &key(), "1").unwrap(),
            GatewayEvent::Ignored
        );
        let other = br#"{"event_type":"PAYSCORE.USER_OPEN_SERVICE","resource":{}}"#;
        assert_eq!(
            parse_event(other, &key(), "1").unwrap(),
            GatewayEvent::Ignored
        );
        for plaintext in [
            r#"{"mchid":"1","out_trade_no":"O1","trade_state":"SUCCESS"}"#,
            r#"{"mchid":"1","out_trade_no":"O1","trade_state":"SUCCESS","transaction_id":"T","success_time":"yesterday","amount":{"total":1}}"#,
            r#"{"mchid":"1","out_trade_no":"O1","trade_state":"SUCCESS","transaction_id":"T","success_time":"2026-03-01T20:00:05+08:00","amount":{"total":0}}"#,
            r#"{"mchid":"1","out_trade_no":"O1","trade_state":"SUCCESS","transaction_id":"T","success_time":"2026-03-01T20:00:05+08:00","amount":{"total":1,"currency":"USD"}}"#,
            "not json",
        ] {
            let body = envelope("TRANSACTION.SUCCESS", "transaction", plaintext);
            assert!(
                matches!(
                    parse_event(&body, &key(), "1"),
                    Err(PaymentError::Malformed(_))
                ),
                "{plaintext}"
            );
        }
        assert!(matches!(
            parse_event(b"{}", &key(), "1"),
            Err(PaymentError::Malformed(_))
        ));
        assert!(matches!(
            parse_event(br#"{"event_type":"REFUND.SUCCESS"}"#, &key(), "1"),
            Err(PaymentError::Malformed(_))
        ));
    }

    #[test]
    fn refunds_finish_only_for_our_merchant() {
        let refund = |status: &str, mchid: &str| {
            envelope(
                "REFUND.SUCCESS",
                "refund",
                &format!(
                    r#"{{"mchid":"{mchid}","out_trade_no":"O1","transaction_id":"T","out_refund_no":"RF9","refund_id":"50000","refund_status":"{status}","amount":{{"total":100,"refund":100,"payer_total":100,"payer_refund":100}}}}"#
                ),
            )
        };
        let finished = |succeeded| GatewayEvent::RefundFinished {
            refund_no: "RF9".into(),
            succeeded,
        };
        assert_eq!(
            parse_event(&refund("SUCCESS", "1"), &key(), "1").unwrap(),
            finished(true)
        );
        assert_eq!(
            parse_event(&refund("CLOSED", "1"), &key(), "1").unwrap(),
            finished(false)
        );
        assert_eq!(
            parse_event(&refund("ABNORMAL", "1"), &key(), "1").unwrap(),
            finished(false)
        );
        assert_eq!(
            parse_event(&refund("PROCESSING", "1"), &key(), "1").unwrap(),
            GatewayEvent::Ignored
        );
        assert!(matches!(
            parse_event(&refund("SUCCESS", "2"), &key(), "1"),
            Err(PaymentError::MerchantMismatch { .. })
        ));
    }

    #[test]
    fn resources_open_only_with_their_key_nonce_and_associated_data() {
        let sealed = encrypt(&key(), "0123456789ab", "transaction", b"{}").unwrap();
        assert_eq!(
            decrypt(&key(), "0123456789ab", "transaction", &sealed).unwrap(),
            b"{}"
        );
        let wrong_key = ApiV3Key::new([b'x'; 32]).unwrap();
        for result in [
            decrypt(&wrong_key, "0123456789ab", "transaction", &sealed),
            decrypt(&key(), "0123456789aB", "transaction", &sealed),
            decrypt(&key(), "0123456789ab", "refund", &sealed),
        ] {
            assert!(matches!(result, Err(PaymentError::InvalidSignature)));
        }
        assert!(matches!(
            decrypt(&key(), "short", "transaction", &sealed),
            Err(PaymentError::Malformed(_))
        ));
        assert!(matches!(
            decrypt(&key(), "0123456789ab", "transaction", "%%%"),
            Err(PaymentError::Malformed(_))
        ));
        assert_eq!(
            encrypt(&key(), "short", "", b""),
            Err(KeyError::NonceLength(5))
        );
    }
}
