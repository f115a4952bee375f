//! Certificate mode (公钥证书模式): certificate serial numbers and Alipay's
//! public key from its certificate.
//!
//! In certificate mode every request carries `app_cert_sn` (the SN of our
//! application certificate) and `alipay_root_cert_sn` (the SNs of Alipay's
//! root chain), and Alipay signs with the key of its public certificate,
//! whose SN answers carry as `alipay_cert_sn`.
//!
//! An SN is computed as Alipay's SDKs do (`AntCertificationUtil.getCertSN`
//! in the Java SDK): the lowercase hex MD5 of the certificate's issuer
//! distinguished name in RFC 2253 form (what Java's
//! `X500Principal.getName()` returns: attributes of the last RDN first,
//! joined with `,`, the keywords `CN C L ST O OU STREET DC UID`, other
//! attributes as `OID=#hex`) followed by the serial number in decimal. The
//! root SN is the SNs of the root file's certificates signed with an RSA
//! algorithm (OID under `1.2.840.113549.1.1`) joined with `_`, in file
//! order; the SM2 and ECDSA roots are left out.
//!
//! MD5 comes from the small RustCrypto `md-5` crate: `aws-lc-rs` offers no
//! MD5, and here it only names a certificate, it protects nothing.

use md5::{Digest, Md5};
use rustls_pki_types::pem::SectionKind;
use x509_cert::der::{Decode, Encode, Tag, Tagged};
use x509_cert::name::Name;
use x509_cert::Certificate;

use super::keys::{pem_sections, AlipayKeyError, RsaPublicKey};

/// What certificate mode needs, read once from the three certificate files
/// Alipay's open platform hands out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlipayCertificates {
    /// SN of our application certificate (`appCertPublicKey_….crt`), sent as
    /// `app_cert_sn`.
    pub app_cert_sn: String,
    /// SN of Alipay's root chain (`alipayRootCert.crt`), sent as
    /// `alipay_root_cert_sn`.
    pub alipay_root_cert_sn: String,
    /// SN of Alipay's public certificate (`alipayCertPublicKey_RSA2.crt`):
    /// a response naming another `alipay_cert_sn` is refused.
    pub alipay_cert_sn: String,
    /// The key of Alipay's public certificate, which verifies responses and
    /// notifications.
    pub alipay_public_key: RsaPublicKey,
}

impl AlipayCertificates {
    /// Reads our application certificate, Alipay's public certificate and
    /// Alipay's root certificate chain (PEM, as downloaded; a single
    /// certificate may also be DER). The first certificate of a file is
    /// the one that counts; the rest of a chain is ignored.
    pub fn from_pem(
        app_cert: &[u8],
        alipay_cert: &[u8],
        alipay_root_cert: &[u8],
    ) -> Result<Self, AlipayKeyError> {
        Ok(AlipayCertificates {
            app_cert_sn: cert_sn(app_cert)?,
            alipay_root_cert_sn: root_cert_sn(alipay_root_cert)?,
            alipay_cert_sn: cert_sn(alipay_cert)?,
            alipay_public_key: cert_public_key(alipay_cert)?,
        })
    }
}

fn certificates(text: &[u8]) -> Result<Vec<Certificate>, AlipayKeyError> {
    let invalid = |e: x509_cert::der::Error| AlipayKeyError::Certificate(e.to_string());
    let certificates = match pem_sections(text)? {
        Some(sections) => sections
            .into_iter()
            .filter(|(kind, _)| *kind == SectionKind::Certificate)
            .map(|(_, der)| Certificate::from_der(&der).map_err(invalid))
            .collect::<Result<Vec<_>, _>>()?,
        None => vec![Certificate::from_der(text).map_err(invalid)?],
    };
    if certificates.is_empty() {
        return Err(AlipayKeyError::Missing {
            expected: "certificate",
        });
    }
    Ok(certificates)
}

fn first_certificate(text: &[u8]) -> Result<Certificate, AlipayKeyError> {
    Ok(certificates(text)?.swap_remove(0))
}

/// The SN of the first certificate in `pem` (PEM or DER), as Alipay's SDKs
/// compute it: see the [module documentation](self).
pub fn cert_sn(pem: &[u8]) -> Result<String, AlipayKeyError> {
    sn(&first_certificate(pem)?)
}

/// The SN of Alipay's root chain: the SNs of its RSA-signed certificates
/// joined with `_`.
pub fn root_cert_sn(pem: &[u8]) -> Result<String, AlipayKeyError> {
    let mut sns = Vec::new();
    for certificate in certificates(pem)? {
        let algorithm = certificate.signature_algorithm().oid.to_string();
        if algorithm.starts_with("1.2.840.113549.1.1.") {
            sns.push(sn(&certificate)?);
        }
    }
    if sns.is_empty() {
        return Err(AlipayKeyError::Missing {
            expected: "RSA-signed root certificate",
        });
    }
    Ok(sns.join("_"))
}

/// The RSA public key of the first certificate in `pem` (Alipay's public
/// certificate in certificate mode).
pub fn cert_public_key(pem: &[u8]) -> Result<RsaPublicKey, AlipayKeyError> {
    let certificate = first_certificate(pem)?;
    let spki = certificate
        .tbs_certificate()
        .subject_public_key_info()
        .to_der()
        .map_err(|e| AlipayKeyError::Certificate(e.to_string()))?;
    RsaPublicKey::from_der(&spki)
}

fn sn(certificate: &Certificate) -> Result<String, AlipayKeyError> {
    let tbs = certificate.tbs_certificate();
    let issuer = rfc2253(tbs.issuer())?;
    let serial = signed_decimal(tbs.serial_number().as_bytes());
    Ok(hex::encode(Md5::digest(
        format!("{issuer}{serial}").as_bytes(),
    )))
}

/// Java's `X500Principal.getName()` (RFC 2253) of `name`.
fn rfc2253(name: &Name) -> Result<String, AlipayKeyError> {
    let mut rdns = Vec::new();
    for rdn in name.iter_rdn() {
        let mut avas = Vec::new();
        for ava in rdn.iter() {
            let keyword = match ava.oid.to_string().as_str() {
                "2.5.4.3" => Some("CN"),
                "2.5.4.6" => Some("C"),
                "2.5.4.7" => Some("L"),
                "2.5.4.8" => Some("ST"),
                "2.5.4.10" => Some("O"),
                "2.5.4.11" => Some("OU"),
                "2.5.4.9" => Some("STREET"),
                "0.9.2342.19200300.100.1.25" => Some("DC"),
                "0.9.2342.19200300.100.1.1" => Some("UID"),
                _ => None,
            };
            let text = directory_string(ava.value.tag(), ava.value.value());
            avas.push(match (keyword, text) {
                (Some(keyword), Some(text)) => format!("{keyword}={}", escape(&text)),
                (keyword, _) => {
                    let der = ava
                        .value
                        .to_der()
                        .map_err(|e| AlipayKeyError::Certificate(e.to_string()))?;
                    let key = keyword.map_or_else(|| ava.oid.to_string(), str::to_owned);
                    format!("{key}=#{}", hex::encode(der))
                }
            });
        }
        rdns.push(avas.join("+"));
    }
    rdns.reverse();
    Ok(rdns.join(","))
}

/// The text of a directory string, or `None` for other types.
fn directory_string(tag: Tag, bytes: &[u8]) -> Option<String> {
    match tag {
        Tag::Utf8String | Tag::PrintableString | Tag::Ia5String | Tag::VisibleString => {
            String::from_utf8(bytes.to_vec()).ok()
        }
        Tag::TeletexString => Some(bytes.iter().map(|&b| char::from(b)).collect()),
        Tag::BmpString => {
            let units: Vec<u16> = bytes
                .chunks(2)
                .map(|c| Some(u16::from_be_bytes([c[0], *c.get(1)?])))
                .collect::<Option<_>>()?;
            String::from_utf16(&units).ok()
        }
        _ => None,
    }
}

/// RFC 2253 escaping as Java does it: `,=+<>#;"\` anywhere, a leading or
/// trailing space, NUL as `\00`.
fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let last = value.chars().count().saturating_sub(1);
    for (i, c) in value.chars().enumerate() {
        match c {
            ',' | '=' | '+' | '<' | '>' | '#' | ';' | '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            ' ' if i == 0 || i == last => out.push_str("\\ "),
            '\0' => out.push_str("\\00"),
            _ => out.push(c),
        }
    }
    out
}

/// A DER INTEGER's content (big-endian two's complement) in decimal, as
/// Java's `BigInteger.toString()` writes it.
fn signed_decimal(bytes: &[u8]) -> String {
    let negative = bytes.first().is_some_and(|b| b & 0x80 != 0);
    let mut magnitude: Vec<u8> = if negative {
        // Two's complement: invert and add one.
        let mut m: Vec<u8> = bytes.iter().map(|b| !b).collect();
        for byte in m.iter_mut().rev() {
            let (sum, carry) = byte.overflowing_add(1);
            *byte = sum;
            if !carry {
                break;
            }
        }
        m
    } else {
        bytes.to_vec()
    };
    let mut digits = Vec::new();
    while magnitude.iter().any(|&b| b != 0) {
        let mut remainder = 0_u32;
        for byte in magnitude.iter_mut() {
            let value = (remainder << 8) | u32::from(*byte);
            *byte = (value / 10) as u8;
            remainder = value % 10;
        }
        digits.push(char::from(b'0' + remainder as u8));
    }
    if digits.is_empty() {
        digits.push('0');
    }
    if negative {
        digits.push('-');
    }
    digits.iter().rev().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serial_numbers_print_like_java_big_integers() {
        assert_eq!(signed_decimal(&[]), "0");
        assert_eq!(signed_decimal(&[0]), "0");
        assert_eq!(signed_decimal(&[0x01]), "1");
        assert_eq!(signed_decimal(&[0x00, 0xff]), "255");
        assert_eq!(signed_decimal(&[0xff]), "-1");
        assert_eq!(signed_decimal(&[0x80]), "-128");
        assert_eq!(signed_decimal(&[0xff, 0x00]), "-256");
        assert_eq!(
            signed_decimal(&hex::decode("20200514E63C2FE04D538716FE21358B").unwrap()),
            "42701552432456004857627230056898180491"
        );
    }

    #[test]
    fn escaping_follows_rfc_2253_as_java_writes_it() {
        assert_eq!(escape("Ant Financial"), "Ant Financial");
        assert_eq!(escape("a,b+c=d"), "a\\,b\\+c\\=d");
        assert_eq!(escape(" lead#trail "), "\\ lead\\#trail\\ ");
        assert_eq!(escape("q\"<>;\\"), "q\\\"\\<\\>\\;\\\\");
    }
}
