//! Every cryptographic operation of this crate, from one constant-time
//! provider: `aws-lc-rs`, the library rustls already uses for TLS through
//! reqwest's `rustls` feature, so the build carries one crypto library.
//!
//! Today: HMAC-SHA256 (sandbox and Stripe signatures). The RSA PKCS#1 v1.5
//! SHA-256 signatures of Alipay and WeChat Pay and WeChat Pay's AES-256-GCM
//! belong here too when those gateways are built.

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
}
