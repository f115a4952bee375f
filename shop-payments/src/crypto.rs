//! Every cryptographic operation of this crate, from one constant-time
//! provider: `aws-lc-rs`, the library rustls already uses for TLS through
//! reqwest's `rustls` feature, so the build carries one crypto library.
//!
//! HMAC-SHA256 (sandbox and Stripe signatures); RSA PKCS#1 v1.5 SHA-256
//! signatures ("SHA256withRSA": Alipay RSA2, WeChat Pay) and AES-256-GCM
//! (WeChat Pay); random bytes
//! for nonces.

use aws_lc_rs::{aead, hmac, rand, rsa, signature};

/// Length of an HMAC-SHA256 tag in bytes.
pub(crate) const HMAC_SHA256_LEN: usize = 32;

/// HMAC-SHA256 of `message` under `key`.
pub(crate) fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; HMAC_SHA256_LEN] {
    let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), message);
    let mut out = [0_u8; HMAC_SHA256_LEN];
    out.copy_from_slice(tag.as_ref());
    out
}

/// Whether `tag` is the HMAC-SHA256 of `message` under `key`, compared in
/// constant time.
pub(crate) fn verify_hmac_sha256(key: &[u8], message: &[u8], tag: &[u8]) -> bool {
    hmac::verify(&hmac::Key::new(hmac::HMAC_SHA256, key), message, tag).is_ok()
}

/// A cryptographic operation failed where it never should (the system
/// random generator unavailable, an internal error of the library).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("cryptographic operation failed")]
pub(crate) struct CryptoFailure;

impl From<aws_lc_rs::error::Unspecified> for CryptoFailure {
    fn from(_: aws_lc_rs::error::Unspecified) -> Self {
        CryptoFailure
    }
}

/// An RSA private key that makes SHA256withRSA (PKCS#1 v1.5) signatures.
pub(crate) struct RsaSigner {
    key: rsa::KeyPair,
}

impl RsaSigner {
    /// Reads a PKCS#8 DER private key (2048 to 8192 bits).
    pub(crate) fn from_pkcs8_der(der: &[u8]) -> Result<Self, aws_lc_rs::error::KeyRejected> {
        Ok(RsaSigner {
            key: rsa::KeyPair::from_pkcs8(der)?,
        })
    }

    /// The PKCS#1 v1.5 SHA-256 signature of `message` (deterministic).
    pub(crate) fn sign_sha256(&self, message: &[u8]) -> Result<Vec<u8>, CryptoFailure> {
        let mut out = vec![0_u8; self.key.public_modulus_len()];
        self.key.sign(
            &signature::RSA_PKCS1_SHA256,
            &rand::SystemRandom::new(),
            message,
            &mut out,
        )?;
        Ok(out)
    }
}

/// An RSA public key that checks SHA256withRSA (PKCS#1 v1.5) signatures,
/// parsed once.
#[derive(Clone)]
pub(crate) struct RsaVerifier {
    key: signature::ParsedPublicKey,
}

impl RsaVerifier {
    /// Reads an RSA public key of 2048 to 8192 bits from DER
    /// (`RSAPublicKey` or `SubjectPublicKeyInfo`).
    pub(crate) fn from_der(der: &[u8]) -> Option<Self> {
        use aws_lc_rs::encoding::AsDer;
        let key =
            signature::ParsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, der).ok()?;
        let spki = key.as_der().ok()?;
        let bits = rsa::PublicEncryptingKey::from_der(spki.as_ref())
            .ok()?
            .key_size_bits();
        (2048..=8192).contains(&bits).then_some(RsaVerifier { key })
    }

    /// Whether `signature` is the signature of `message` under this key.
    pub(crate) fn verify_sha256(&self, message: &[u8], signature: &[u8]) -> bool {
        self.key.verify_sig(message, signature).is_ok()
    }
}

/// Length of an AES-256-GCM key in bytes.
pub(crate) const AES_256_GCM_KEY_LEN: usize = 32;
/// Length of an AES-GCM nonce in bytes.
pub(crate) const AES_GCM_NONCE_LEN: usize = 12;

fn aes_256_gcm(key: &[u8; AES_256_GCM_KEY_LEN]) -> Result<aead::LessSafeKey, CryptoFailure> {
    Ok(aead::LessSafeKey::new(aead::UnboundKey::new(
        &aead::AES_256_GCM,
        key,
    )?))
}

/// Decrypts AES-256-GCM `ciphertext` (its 16-byte tag appended), or `None`
/// when the key, nonce, associated data or ciphertext is not the one sealed.
pub(crate) fn aes_256_gcm_open(
    key: &[u8; AES_256_GCM_KEY_LEN],
    nonce: &[u8; AES_GCM_NONCE_LEN],
    associated_data: &[u8],
    ciphertext: &[u8],
) -> Option<Vec<u8>> {
    let mut in_out = ciphertext.to_vec();
    let plaintext = aes_256_gcm(key)
        .ok()?
        .open_in_place(
            aead::Nonce::assume_unique_for_key(*nonce),
            aead::Aad::from(associated_data),
            &mut in_out,
        )
        .ok()?;
    Some(plaintext.to_vec())
}

/// Encrypts `plaintext` with AES-256-GCM, the 16-byte tag appended.
pub(crate) fn aes_256_gcm_seal(
    key: &[u8; AES_256_GCM_KEY_LEN],
    nonce: &[u8; AES_GCM_NONCE_LEN],
    associated_data: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, CryptoFailure> {
    let mut in_out = plaintext.to_vec();
    aes_256_gcm(key)?.seal_in_place_append_tag(
        aead::Nonce::assume_unique_for_key(*nonce),
        aead::Aad::from(associated_data),
        &mut in_out,
    )?;
    Ok(in_out)
}

/// `N` bytes from the system's secure random generator.
pub(crate) fn random_bytes<const N: usize>() -> Result<[u8; N], CryptoFailure> {
    let mut out = [0_u8; N];
    rand::fill(&mut out)?;
    Ok(out)
}

impl RsaSigner {
    /// Reads a PKCS#1 `RSAPrivateKey` DER private key (`RSA PRIVATE KEY`,
    /// 2048 to 8192 bits).
    pub(crate) fn from_pkcs1_der(der: &[u8]) -> Result<Self, aws_lc_rs::error::KeyRejected> {
        Ok(RsaSigner {
            key: rsa::KeyPair::from_der(der)?,
        })
    }

    /// The public key as PKCS#1 `RSAPublicKey` DER.
    pub(crate) fn public_key_der(&self) -> Vec<u8> {
        use aws_lc_rs::signature::KeyPair as _;
        self.key.public_key().as_ref().to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 4231, test cases 1 and 2.
    #[test]
    fn matches_rfc_4231() {
        let key = [0x0b_u8; 20];
        let tag = hmac_sha256(&key, b"Hi There");
        assert_eq!(
            hex::encode(tag),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
        assert!(verify_hmac_sha256(&key, b"Hi There", &tag));
        let tag = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(tag),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn refuses_a_wrong_or_truncated_tag() {
        let tag = hmac_sha256(b"k", b"m");
        let mut flipped = tag;
        flipped[31] ^= 1;
        assert!(!verify_hmac_sha256(b"k", b"m", &flipped));
        assert!(!verify_hmac_sha256(b"k", b"m", &tag[..31]));
        assert!(!verify_hmac_sha256(b"k", b"m", &[]));
        assert!(!verify_hmac_sha256(b"k2", b"m", &tag));
        assert!(!verify_hmac_sha256(b"k", b"m2", &tag));
    }

    // NIST's GCM test vectors (gcmEncryptExtIV256.rsp), Count 0 of
    // [Keylen = 256, IVlen = 96, PTlen = 128, AADlen = 128, Taglen = 128].
    #[test]
    fn aes_256_gcm_matches_nist() {
        let key: [u8; 32] =
            hex::decode("92e11dcdaa866f5ce790fd24501f92509aacf4cb8b1339d50c9c1240935dd08b")
                .unwrap()
                .try_into()
                .unwrap();
        let nonce: [u8; 12] = hex::decode("ac93a1a6145299bde902f21a")
            .unwrap()
            .try_into()
            .unwrap();
        let aad = hex::decode("1e0889016f67601c8ebea4943bc23ad6").unwrap();
        let plaintext = hex::decode("2d71bcfa914e4ac045b2aa60955fad24").unwrap();
        let sealed = aes_256_gcm_seal(&key, &nonce, &aad, &plaintext).unwrap();
        assert_eq!(
            hex::encode(&sealed),
            "8995ae2e6df3dbf96fac7b7137bae67feca5aa77d51d4a0a14d9c51e1da474ab"
        );
        assert_eq!(
            aes_256_gcm_open(&key, &nonce, &aad, &sealed).unwrap(),
            plaintext
        );
        let mut tampered = sealed.clone();
        tampered[0] ^= 1;
        assert!(aes_256_gcm_open(&key, &nonce, &aad, &tampered).is_none());
        assert!(aes_256_gcm_open(&key, &nonce, b"other", &sealed).is_none());
        assert!(aes_256_gcm_open(&key, &[0; 12], &aad, &sealed).is_none());
        assert!(aes_256_gcm_open(&[0; 32], &nonce, &aad, &sealed).is_none());
        assert!(aes_256_gcm_open(&key, &nonce, &aad, &sealed[..16]).is_none());
    }

    #[test]
    fn rsa_signatures_verify_only_for_their_key_and_message() {
        use aws_lc_rs::encoding::AsDer;
        use aws_lc_rs::signature::KeyPair as _;
        let pair = rsa::KeyPair::generate(rsa::KeySize::Rsa2048).unwrap();
        let pkcs8 = pair.as_der().unwrap();
        let signer = RsaSigner::from_pkcs8_der(pkcs8.as_ref()).unwrap();
        let signature = signer.sign_sha256(b"message").unwrap();
        assert_eq!(signature.len(), 256);
        assert_eq!(signer.sign_sha256(b"message").unwrap(), signature);
        let pkcs1 = RsaVerifier::from_der(pair.public_key().as_ref()).unwrap();
        let spki = RsaVerifier::from_der(pair.public_key().as_der().unwrap().as_ref()).unwrap();
        for key in [&pkcs1, &spki] {
            assert!(key.verify_sha256(b"message", &signature));
            assert!(!key.verify_sha256(b"messagE", &signature));
            assert!(!key.verify_sha256(b"message", &signature[1..]));
            assert!(!key.verify_sha256(b"message", &[]));
        }
        let other = rsa::KeyPair::generate(rsa::KeySize::Rsa2048).unwrap();
        let other = RsaVerifier::from_der(other.public_key().as_ref()).unwrap();
        assert!(!other.verify_sha256(b"message", &signature));
        assert!(RsaVerifier::from_der(b"not a key").is_none());
        assert!(RsaVerifier::from_der(pkcs8.as_ref()).is_none());
        assert_ne!(random_bytes::<16>().unwrap(), random_bytes::<16>().unwrap());
    }

    #[test]
    fn rsa_sha256_signs_and_verifies_and_refuses_tampering() {
        use aws_lc_rs::encoding::AsDer;
        let generated = rsa::KeyPair::generate(rsa::KeySize::Rsa2048).unwrap();
        let pkcs8 = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der<'_>>::as_der(&generated).unwrap();
        let key = RsaSigner::from_pkcs8_der(pkcs8.as_ref()).unwrap();
        let public = RsaVerifier::from_der(&key.public_key_der()).unwrap();
        let signature = key.sign_sha256(b"a=1&b=2").unwrap();
        assert_eq!(signature.len(), 256);
        assert!(public.verify_sha256(b"a=1&b=2", &signature));
        assert!(!public.verify_sha256(b"a=1&b=3", &signature));
        let mut flipped = signature.clone();
        flipped[0] ^= 1;
        assert!(!public.verify_sha256(b"a=1&b=2", &flipped));
        assert!(!public.verify_sha256(b"a=1&b=2", &signature[..255]));
        assert!(RsaVerifier::from_der(b"not a key").is_none());
        assert!(RsaSigner::from_pkcs8_der(b"junk").is_err());
        assert!(RsaSigner::from_pkcs1_der(b"junk").is_err());
    }
}
