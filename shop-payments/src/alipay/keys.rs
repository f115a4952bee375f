//! RSA keys for Alipay's RSA2 (SHA256withRSA, PKCS#1 v1.5) signatures.
//!
//! Alipay's key tool and open platform hand keys out in several shapes; each
//! loader takes all of them:
//!
//! * our application private key (应用私钥): PEM `PRIVATE KEY` (PKCS#8, what
//!   the Java SDK wants), PEM `RSA PRIVATE KEY` (PKCS#1), or either as bare
//!   base64 DER without the PEM lines, as the key tool exports it;
//! * Alipay's public key (支付宝公钥): PEM `PUBLIC KEY` (SubjectPublicKeyInfo),
//!   PEM `RSA PUBLIC KEY` (PKCS#1) or bare base64 of either; in certificate
//!   mode it comes from Alipay's public certificate
//!   ([`AlipayCertificates`](super::AlipayCertificates)).
//!
//! Signing and verification run on `aws-lc-rs`.

use std::fmt;
use std::sync::Arc;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use rustls_pki_types::pem::{PemObject, SectionKind};

use crate::crypto::{RsaSigner, RsaVerifier};

/// Why a key or certificate could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AlipayKeyError {
    /// The text is neither PEM nor base64.
    #[error("not PEM or base64: {0}")]
    Encoding(String),
    /// No section of the expected kind was found.
    #[error("no {expected} found")]
    Missing {
        /// What was looked for, e.g. `"RSA private key"`.
        expected: &'static str,
    },
    /// The bytes are not an acceptable RSA key (wrong structure, fewer than
    /// 2048 bits for verification, inconsistent private key).
    #[error("RSA key rejected: {0}")]
    Rejected(String),
    /// A certificate could not be read.
    #[error("certificate: {0}")]
    Certificate(String),
    /// The key could not sign (a failure inside the crypto library, which
    /// should never happen).
    #[error("signing failed")]
    Signing,
}

/// PEM sections: each one's kind and DER.
pub(crate) type PemSections = Vec<(SectionKind, Vec<u8>)>;

/// Every PEM section of `text`, or `None` when it has no PEM lines.
pub(crate) fn pem_sections(text: &[u8]) -> Result<Option<PemSections>, AlipayKeyError> {
    let mut sections = Vec::new();
    for section in <(SectionKind, Vec<u8>)>::pem_slice_iter(text) {
        sections.push(section.map_err(|e| AlipayKeyError::Encoding(e.to_string()))?);
    }
    Ok((!sections.is_empty()).then_some(sections))
}

/// Bare base64 (whitespace ignored) as DER.
fn bare_base64(text: &[u8]) -> Result<Vec<u8>, AlipayKeyError> {
    let compact: Vec<u8> = text
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    if compact.is_empty() {
        return Err(AlipayKeyError::Encoding("empty".into()));
    }
    STANDARD
        .decode(&compact)
        .map_err(|e| AlipayKeyError::Encoding(e.to_string()))
}

/// Our application private key: signs requests (and, in tests, plays
/// Alipay's key). Cheap to clone; `Debug` never shows the key.
#[derive(Clone)]
pub struct RsaPrivateKey {
    key: Arc<RsaSigner>,
}

impl fmt::Debug for RsaPrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RsaPrivateKey(<redacted>)")
    }
}

impl RsaPrivateKey {
    /// Reads PEM `PRIVATE KEY` (PKCS#8) or `RSA PRIVATE KEY` (PKCS#1), or
    /// bare base64 DER of either.
    pub fn from_pem_or_base64(text: &str) -> Result<Self, AlipayKeyError> {
        match pem_sections(text.as_bytes())? {
            Some(sections) => {
                for (kind, der) in sections {
                    match kind {
                        SectionKind::PrivateKey => return Self::from_pkcs8_der(&der),
                        SectionKind::RsaPrivateKey => return Self::from_pkcs1_der(&der),
                        _ => {}
                    }
                }
                Err(AlipayKeyError::Missing {
                    expected: "RSA private key",
                })
            }
            None => {
                let der = bare_base64(text.as_bytes())?;
                Self::from_pkcs8_der(&der).or_else(|_| Self::from_pkcs1_der(&der))
            }
        }
    }

    /// Reads unencrypted PKCS#8 DER.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, AlipayKeyError> {
        RsaSigner::from_pkcs8_der(der)
            .map(Self::wrap)
            .map_err(|e| AlipayKeyError::Rejected(e.to_string()))
    }

    /// Reads PKCS#1 `RSAPrivateKey` DER.
    pub fn from_pkcs1_der(der: &[u8]) -> Result<Self, AlipayKeyError> {
        RsaSigner::from_pkcs1_der(der)
            .map(Self::wrap)
            .map_err(|e| AlipayKeyError::Rejected(e.to_string()))
    }

    fn wrap(key: RsaSigner) -> Self {
        RsaPrivateKey { key: Arc::new(key) }
    }

    /// The RSA2 signature of `content` in standard base64, as Alipay's
    /// `sign` parameter carries it.
    pub fn sign(&self, content: &[u8]) -> Result<String, AlipayKeyError> {
        let signature = self
            .key
            .sign_sha256(content)
            .map_err(|_| AlipayKeyError::Signing)?;
        Ok(STANDARD.encode(signature))
    }

    /// The matching public key.
    pub fn public_key(&self) -> RsaPublicKey {
        RsaPublicKey::from_der(&self.key.public_key_der())
            .expect("the public half of a validated RSA key pair is a valid public key")
    }
}

/// An RSA public key that verifies RSA2 signatures: Alipay's public key for
/// responses and notifications (or, in tests, ours). Cheap to clone.
#[derive(Clone)]
pub struct RsaPublicKey {
    der: Arc<[u8]>,
    verifier: RsaVerifier,
}

impl PartialEq for RsaPublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.der == other.der
    }
}

impl Eq for RsaPublicKey {}

impl fmt::Debug for RsaPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("RsaPublicKey")
            .field(&STANDARD.encode(&self.der))
            .finish()
    }
}

impl RsaPublicKey {
    /// Reads PEM `PUBLIC KEY` (SubjectPublicKeyInfo) or `RSA PUBLIC KEY`
    /// (PKCS#1), or bare base64 DER of either (how Alipay's open platform
    /// shows its public key).
    pub fn from_pem_or_base64(text: &str) -> Result<Self, AlipayKeyError> {
        if let Some(der) = rsa_public_key_section(text) {
            return Self::from_der(&der?);
        }
        match pem_sections(text.as_bytes())? {
            Some(sections) => sections
                .into_iter()
                .find(|(kind, _)| *kind == SectionKind::PublicKey)
                .ok_or(AlipayKeyError::Missing {
                    expected: "RSA public key",
                })
                .and_then(|(_, der)| Self::from_der(&der)),
            None => Self::from_der(&bare_base64(text.as_bytes())?),
        }
    }

    /// Reads SubjectPublicKeyInfo or PKCS#1 `RSAPublicKey` DER of a 2048 to
    /// 8192-bit RSA key.
    pub fn from_der(der: &[u8]) -> Result<Self, AlipayKeyError> {
        let verifier = RsaVerifier::from_der(der).ok_or_else(|| {
            AlipayKeyError::Rejected("not an RSA public key of 2048 to 8192 bits".into())
        })?;
        Ok(RsaPublicKey {
            der: Arc::from(der),
            verifier,
        })
    }

    /// The key's DER, as given (the public half of a private key is PKCS#1
    /// DER).
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// Whether `signature_base64` (Alipay's `sign`, standard base64) is the
    /// RSA2 signature of `content`. Anything that is not base64 is simply
    /// not a valid signature.
    pub fn verify(&self, content: &[u8], signature_base64: &str) -> bool {
        let Ok(signature) = STANDARD.decode(signature_base64.trim()) else {
            return false;
        };
        self.verifier.verify_sha256(content, &signature)
    }
}

/// `RSA PUBLIC KEY` sections are not a kind `rustls-pki-types` knows; read
/// the base64 between their lines by hand.
fn rsa_public_key_section(text: &str) -> Option<Result<Vec<u8>, AlipayKeyError>> {
    const BEGIN: &str = "-----BEGIN RSA PUBLIC KEY-----";
    const END: &str = "-----END RSA PUBLIC KEY-----";
    let body = &text[text.find(BEGIN)? + BEGIN.len()..];
    Some(match body.find(END) {
        Some(end) => bare_base64(&body.as_bytes()[..end]),
        None => Err(AlipayKeyError::Encoding(format!("no {END}"))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_refused_with_a_reason() {
        assert!(matches!(
            RsaPrivateKey::from_pem_or_base64("   "),
            Err(AlipayKeyError::Encoding(_))
        ));
        assert!(matches!(
            RsaPrivateKey::from_pem_or_base64("not base64 at all!"),
            Err(AlipayKeyError::Encoding(_))
        ));
        assert!(matches!(
            RsaPrivateKey::from_pem_or_base64("aGVsbG8="),
            Err(AlipayKeyError::Rejected(_))
        ));
        assert!(matches!(
            RsaPublicKey::from_pem_or_base64("aGVsbG8="),
            Err(AlipayKeyError::Rejected(_))
        ));
        let cert_only = "-----BEGIN CERTIFICATE-----\naGVsbG8=\n-----END CERTIFICATE-----\n";
        assert!(matches!(
            RsaPrivateKey::from_pem_or_base64(cert_only),
            Err(AlipayKeyError::Missing { .. })
        ));
        assert!(matches!(
            RsaPublicKey::from_pem_or_base64(cert_only),
            Err(AlipayKeyError::Missing { .. })
        ));
    }
}
