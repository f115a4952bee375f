//! The three kinds of key WeChat Pay API v3 uses.
//!
//! * [`SigningKey`]: the merchant's API private key (`apiclient_key.pem`,
//!   PKCS#8) with its certificate's serial number; it signs every request.
//! * [`ApiV3Key`]: the 32-byte APIv3 key set in the merchant platform; it
//!   decrypts notification resources (AEAD_AES_256_GCM).
//! * [`PlatformKeys`]: the keys WeChat Pay signs responses and
//!   notifications with, each under the name `Wechatpay-Serial` gives it:
//!   platform certificates (X.509, named by their serial number in
//!   uppercase hex) and platform public keys (SPKI PEM, named by their
//!   `PUB_KEY_ID_…`). Several may be configured at once while WeChat Pay
//!   rotates them.

use std::fmt;
use std::sync::Arc;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use rustls_pki_types::pem::{self, PemObject};
use rustls_pki_types::{CertificateDer, PrivatePkcs8KeyDer, SubjectPublicKeyInfoDer};
use x509_cert::der::{Decode as _, Encode as _};

use crate::crypto::{RsaSigner, RsaVerifier, AES_256_GCM_KEY_LEN};

/// Why a key or certificate was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The text holds no PEM section of the kind expected.
    #[error("no {expected} PEM section found: {reason}")]
    Pem {
        /// The PEM label expected, e.g. `"PRIVATE KEY"`.
        expected: &'static str,
        /// What the PEM reader said.
        reason: String,
    },
    /// The private key is not a PKCS#8 RSA key of 2048 to 8192 bits.
    #[error("not a PKCS#8 RSA private key of 2048 to 8192 bits: {0}")]
    PrivateKey(String),
    /// The public key is not an RSA key of 2048 to 8192 bits.
    #[error("not an RSA public key of 2048 to 8192 bits")]
    PublicKey,
    /// The certificate is not DER X.509 as RFC 5280 describes it.
    #[error("unreadable X.509 certificate: {0}")]
    Certificate(String),
    /// The APIv3 key is not 32 bytes long.
    #[error("the APIv3 key must be 32 bytes, not {0}")]
    ApiV3KeyLength(usize),
    /// A serial number or key id is empty.
    #[error("empty serial number or key id")]
    EmptyId,
    /// An AEAD nonce is not 12 bytes long.
    #[error("the nonce must be 12 bytes, not {0}")]
    NonceLength(usize),
    /// A signing or encryption operation failed inside the crypto library.
    #[error("cryptographic operation failed")]
    CryptoFailed,
}

/// An RSA private key with the serial number WeChat Pay knows it by: the
/// merchant's API key and its certificate's `serial_no` (or, in tests and
/// local tools that play WeChat Pay, a platform key and its serial).
#[derive(Clone)]
pub struct SigningKey {
    serial_no: String,
    signer: Arc<RsaSigner>,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("serial_no", &self.serial_no)
            .field("key", &"<redacted>")
            .finish()
    }
}

impl SigningKey {
    /// Reads the first `-----BEGIN PRIVATE KEY-----` (PKCS#8) section of
    /// `pem`, named `serial_no`.
    pub fn from_pkcs8_pem(serial_no: impl Into<String>, pem: &[u8]) -> Result<Self, KeyError> {
        let der = PrivatePkcs8KeyDer::from_pem_slice(pem).map_err(|e| KeyError::Pem {
            expected: "PRIVATE KEY",
            reason: e.to_string(),
        })?;
        Self::from_pkcs8_der(serial_no, der.secret_pkcs8_der())
    }

    /// Reads a PKCS#8 DER private key, named `serial_no`.
    pub fn from_pkcs8_der(serial_no: impl Into<String>, der: &[u8]) -> Result<Self, KeyError> {
        let serial_no = serial_no.into();
        if serial_no.trim().is_empty() {
            return Err(KeyError::EmptyId);
        }
        let signer =
            RsaSigner::from_pkcs8_der(der).map_err(|e| KeyError::PrivateKey(e.to_string()))?;
        Ok(SigningKey {
            serial_no,
            signer: Arc::new(signer),
        })
    }

    /// The serial number (or key id) the key is known by.
    pub fn serial_no(&self) -> &str {
        &self.serial_no
    }

    /// The base64 SHA256withRSA signature of `message`.
    pub fn sign(&self, message: &[u8]) -> Result<String, KeyError> {
        let signature = self
            .signer
            .sign_sha256(message)
            .map_err(|_| KeyError::CryptoFailed)?;
        Ok(BASE64.encode(signature))
    }
}

/// The merchant's 32-byte APIv3 key, which decrypts notification resources.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiV3Key([u8; AES_256_GCM_KEY_LEN]);

impl fmt::Debug for ApiV3Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiV3Key(<redacted>)")
    }
}

impl ApiV3Key {
    /// The key as set in the merchant platform: 32 bytes (32 ASCII
    /// characters), used as they are.
    pub fn new(key: impl AsRef<[u8]>) -> Result<Self, KeyError> {
        let key = key.as_ref();
        let bytes: [u8; AES_256_GCM_KEY_LEN] = key
            .try_into()
            .map_err(|_| KeyError::ApiV3KeyLength(key.len()))?;
        Ok(ApiV3Key(bytes))
    }

    pub(crate) fn bytes(&self) -> &[u8; AES_256_GCM_KEY_LEN] {
        &self.0
    }
}

/// One key WeChat Pay may sign with.
#[derive(Clone)]
struct PlatformKey {
    id: String,
    from_certificate: bool,
    verifier: RsaVerifier,
    /// A certificate's validity, Unix seconds, both ends included.
    valid: Option<(i64, i64)>,
}

impl PlatformKey {
    fn is_named(&self, serial: &str) -> bool {
        if self.from_certificate {
            // A serial number is a number: "0ABC" and "abc" are the same one.
            let serial = serial.trim_start_matches('0');
            !serial.is_empty() && serial.eq_ignore_ascii_case(&self.id)
        } else {
            serial == self.id
        }
    }

    fn is_valid_at(&self, now: DateTime<Utc>) -> bool {
        self.valid
            .is_none_or(|(from, to)| (from..=to).contains(&now.timestamp()))
    }
}

/// The keys WeChat Pay signs responses and notifications with, by the
/// name `Wechatpay-Serial` gives: platform certificates and platform
/// public keys, both supported at once (as while a merchant moves from
/// certificates to a public key).
#[derive(Clone, Default)]
pub struct PlatformKeys {
    keys: Vec<PlatformKey>,
}

impl fmt::Debug for PlatformKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.ids()).finish()
    }
}

/// A certificate's serial number as WeChat Pay writes it: the number in
/// uppercase hex, without leading zeros.
fn serial_hex(bytes: &[u8]) -> String {
    let hex = hex::encode_upper(bytes);
    let trimmed = hex.trim_start_matches('0');
    if trimmed.is_empty() {
        "0".to_owned()
    } else {
        trimmed.to_owned()
    }
}

/// A DER X.509 certificate's key, named by its serial number.
fn certificate_key(der: &[u8]) -> Result<PlatformKey, KeyError> {
    let certificate =
        x509_cert::Certificate::from_der(der).map_err(|e| KeyError::Certificate(e.to_string()))?;
    let tbs = certificate.tbs_certificate();
    let spki = tbs
        .subject_public_key_info()
        .to_der()
        .map_err(|e| KeyError::Certificate(e.to_string()))?;
    let verifier = RsaVerifier::from_der(&spki).ok_or(KeyError::PublicKey)?;
    let seconds = |t: x509_cert::time::Time| {
        i64::try_from(t.to_unix_duration().as_secs()).unwrap_or(i64::MAX)
    };
    let validity = tbs.validity();
    Ok(PlatformKey {
        id: serial_hex(tbs.serial_number().as_bytes()),
        from_certificate: true,
        verifier,
        valid: Some((seconds(validity.not_before), seconds(validity.not_after))),
    })
}

impl PlatformKeys {
    /// No keys: every signature is refused until some are added.
    pub fn new() -> Self {
        PlatformKeys::default()
    }

    fn insert(&mut self, key: PlatformKey) {
        self.keys.retain(|k| k.id != key.id);
        self.keys.push(key);
    }

    /// Adds every `-----BEGIN CERTIFICATE-----` section of `pem`, all or
    /// none; returns their serial numbers.
    pub fn add_certificates_pem(&mut self, pem: &[u8]) -> Result<Vec<String>, KeyError> {
        let bad_pem = |e: pem::Error| KeyError::Pem {
            expected: "CERTIFICATE",
            reason: e.to_string(),
        };
        let certificates = CertificateDer::pem_slice_iter(pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(bad_pem)?;
        if certificates.is_empty() {
            return Err(bad_pem(pem::Error::NoItemsFound));
        }
        let keys = certificates
            .iter()
            .map(|der| certificate_key(der))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(keys
            .into_iter()
            .map(|key| {
                let id = key.id.clone();
                self.insert(key);
                id
            })
            .collect())
    }

    /// Adds one DER X.509 platform certificate; returns its serial number.
    /// The certificate's key is used only within its validity period, by
    /// the gateway's clock. Its issuer is not checked: configure only
    /// certificates obtained from WeChat Pay.
    pub fn add_certificate_der(&mut self, der: &[u8]) -> Result<String, KeyError> {
        let key = certificate_key(der)?;
        let id = key.id.clone();
        self.insert(key);
        Ok(id)
    }

    /// Adds a platform public key (`-----BEGIN PUBLIC KEY-----`, SPKI) under
    /// its id, `PUB_KEY_ID_…`.
    pub fn add_public_key_pem(
        &mut self,
        id: impl Into<String>,
        pem: &[u8],
    ) -> Result<(), KeyError> {
        let der = SubjectPublicKeyInfoDer::from_pem_slice(pem).map_err(|e| KeyError::Pem {
            expected: "PUBLIC KEY",
            reason: e.to_string(),
        })?;
        self.add_public_key_der(id, der.as_ref())
    }

    /// Adds a platform public key (DER, SPKI or PKCS#1) under its id.
    pub fn add_public_key_der(
        &mut self,
        id: impl Into<String>,
        der: &[u8],
    ) -> Result<(), KeyError> {
        let id = id.into();
        if id.trim().is_empty() {
            return Err(KeyError::EmptyId);
        }
        let verifier = RsaVerifier::from_der(der).ok_or(KeyError::PublicKey)?;
        self.insert(PlatformKey {
            id,
            from_certificate: false,
            verifier,
            valid: None,
        });
        Ok(())
    }

    /// The names of the keys: certificate serial numbers and public key ids.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().map(|k| k.id.as_str())
    }

    /// How many keys there are.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Whether `signature` (base64) is a SHA256withRSA signature of
    /// `message` by the key named `serial`, usable at `now`.
    pub fn verifies(
        &self,
        serial: &str,
        now: DateTime<Utc>,
        message: &[u8],
        signature: &str,
    ) -> bool {
        let Ok(signature) = BASE64.decode(signature) else {
            return false;
        };
        self.verifier(serial, now)
            .is_some_and(|key| key.verify_sha256(message, &signature))
    }

    /// The key named `serial`, if it is usable at `now`.
    pub(crate) fn verifier(&self, serial: &str, now: DateTime<Utc>) -> Option<&RsaVerifier> {
        self.keys
            .iter()
            .find(|k| k.is_named(serial) && k.is_valid_at(now))
            .map(|k| &k.verifier)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serial_numbers_are_uppercase_hex_without_leading_zeros() {
        assert_eq!(serial_hex(&[0x00, 0xF5, 0x76, 0x0a]), "F5760A");
        assert_eq!(serial_hex(&[0x0A, 0xBC]), "ABC");
        assert_eq!(serial_hex(&[0x00]), "0");
    }

    #[test]
    fn the_api_v3_key_is_32_bytes() {
        assert!(ApiV3Key::new("a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb").is_ok());
        assert_eq!(
            ApiV3Key::new("testMchAPIv3Key0"),
            Err(KeyError::ApiV3KeyLength(16))
        );
        assert_eq!(
            format!("{:?}", ApiV3Key::new([7_u8; 32]).unwrap()),
            "ApiV3Key(<redacted>)"
        );
    }

    #[test]
    fn garbage_is_refused_with_a_reason() {
        assert!(matches!(
            SigningKey::from_pkcs8_pem("1", b"nothing here"),
            Err(KeyError::Pem { .. })
        ));
        assert!(matches!(
            SigningKey::from_pkcs8_der("1", b"\x30\x00"),
            Err(KeyError::PrivateKey(_))
        ));
        let mut keys = PlatformKeys::new();
        assert!(matches!(
            keys.add_certificates_pem(
                b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"
            ),
            Err(KeyError::Pem { .. })
        ));
        assert!(matches!(
            keys.add_certificate_der(b"\x30\x03\x02\x01\x01"),
            Err(KeyError::Certificate(_))
        ));
        assert_eq!(
            keys.add_public_key_der("PUB_KEY_ID_1", b"junk"),
            Err(KeyError::PublicKey)
        );
        assert_eq!(
            keys.add_public_key_der(" ", b"junk"),
            Err(KeyError::EmptyId)
        );
        assert!(keys.is_empty());
    }
}
