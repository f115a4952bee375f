//! Every cryptographic operation of this crate, from one constant-time
//! provider: `aws-lc-rs`, the library rustls already uses for TLS through
//! reqwest's `rustls` feature, so the build carries one crypto library.
//!
//! Today: HMAC-SHA256 (sandbox and Stripe signatures) and RSA PKCS#1 v1.5
//! SHA-256 signing and verification (Alipay's RSA2). WeChat Pay's
//! AES-256-GCM belongs here too when that gateway is built.

use aws_lc_rs::hmac;

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

/// An RSA private key making RSA PKCS#1 v1.5 SHA-256 signatures
/// ("SHA256withRSA"). Its `Debug` shows only the public part.
pub(crate) struct RsaSha256Key(aws_lc_rs::signature::RsaKeyPair);

impl RsaSha256Key {
    /// A key from unencrypted PKCS#8 DER (`PRIVATE KEY`).
    pub(crate) fn from_pkcs8_der(der: &[u8]) -> Result<Self, aws_lc_rs::error::KeyRejected> {
        aws_lc_rs::signature::RsaKeyPair::from_pkcs8(der).map(RsaSha256Key)
    }

    /// A key from PKCS#1 `RSAPrivateKey` DER (`RSA PRIVATE KEY`).
    pub(crate) fn from_pkcs1_der(der: &[u8]) -> Result<Self, aws_lc_rs::error::KeyRejected> {
        aws_lc_rs::signature::RsaKeyPair::from_der(der).map(RsaSha256Key)
    }

    /// The signature of `message`: SHA-256, PKCS#1 v1.5 padding, as long as
    /// the modulus.
    pub(crate) fn sign(&self, message: &[u8]) -> Vec<u8> {
        let mut signature = vec![0_u8; self.0.public_modulus_len()];
        self.0
            .sign(
                &aws_lc_rs::signature::RSA_PKCS1_SHA256,
                &aws_lc_rs::rand::SystemRandom::new(),
                message,
                &mut signature,
            )
            .expect("RSA signing with a validated key and a modulus-sized buffer");
        signature
    }

    /// The public key as PKCS#1 `RSAPublicKey` DER.
    pub(crate) fn public_key_der(&self) -> Vec<u8> {
        use aws_lc_rs::signature::KeyPair;
        self.0.public_key().as_ref().to_vec()
    }
}

impl std::fmt::Debug for RsaSha256Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RsaSha256Key")
            .field("modulus_bits", &(self.0.public_modulus_len() * 8))
            .finish_non_exhaustive()
    }
}

/// Whether `der` is an RSA public key, given as SubjectPublicKeyInfo DER (`PUBLIC KEY`) or PKCS#1
/// `RSAPublicKey` DER.
pub(crate) fn is_rsa_public_key(der: &[u8]) -> bool {
    aws_lc_rs::rsa::PublicKey::from_der(der).is_ok()
}

/// Whether `signature` is the RSA PKCS#1 v1.5 SHA-256 signature of
/// `message` under `public_key_der` (SubjectPublicKeyInfo or PKCS#1 DER, 2048
/// to 8192 bits).
pub(crate) fn verify_rsa_sha256(public_key_der: &[u8], message: &[u8], signature: &[u8]) -> bool {
    aws_lc_rs::signature::UnparsedPublicKey::new(
        &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256,
        public_key_der,
    )
    .verify(message, signature)
    .is_ok()
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

    #[test]
    fn rsa_sha256_signs_and_verifies_and_refuses_tampering() {
        use aws_lc_rs::encoding::AsDer;
        let generated =
            aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
        let pkcs8 = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der<'_>>::as_der(&generated).unwrap();
        let key = RsaSha256Key::from_pkcs8_der(pkcs8.as_ref()).unwrap();
        let public = key.public_key_der();
        assert!(is_rsa_public_key(&public));
        let signature = key.sign(b"a=1&b=2");
        assert_eq!(signature.len(), 256);
        assert!(verify_rsa_sha256(&public, b"a=1&b=2", &signature));
        assert!(!verify_rsa_sha256(&public, b"a=1&b=3", &signature));
        let mut flipped = signature.clone();
        flipped[0] ^= 1;
        assert!(!verify_rsa_sha256(&public, b"a=1&b=2", &flipped));
        assert!(!verify_rsa_sha256(&public, b"a=1&b=2", &signature[..255]));
        assert!(!verify_rsa_sha256(b"not a key", b"a=1&b=2", &signature));
        assert!(!is_rsa_public_key(b"not a key"));
        assert!(RsaSha256Key::from_pkcs8_der(b"junk").is_err());
        assert!(RsaSha256Key::from_pkcs1_der(b"junk").is_err());
    }
}
