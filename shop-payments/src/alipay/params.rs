//! Alipay's parameter lists: the signing string, form decoding and Beijing
//! time.
//!
//! The signing string of a request, a notification or a return URL is the
//! parameters (minus the excluded ones: `sign` for requests, `sign` and
//! `sign_type` for notifications and returns) whose value is not empty,
//! sorted by key, written `key=value` with the values raw — decoded, not
//! URL-encoded — and joined with `&`, as UTF-8 bytes.

use chrono::{DateTime, FixedOffset, NaiveDateTime, Utc};
use shop_core::payment::PaymentError;

/// Alipay's clock: Asia/Shanghai, UTC+8 all year.
pub(crate) fn beijing() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset")
}

/// Alipay's time format, `yyyy-MM-dd HH:mm:ss`.
pub(crate) const TIME_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

/// `at` as Alipay writes times: `yyyy-MM-dd HH:mm:ss` in Beijing time.
pub fn format_beijing_time(at: DateTime<Utc>) -> String {
    at.with_timezone(&beijing()).format(TIME_FORMAT).to_string()
}

/// Reads a `yyyy-MM-dd HH:mm:ss` Beijing time (`gmt_payment`,
/// `notify_time`) as UTC.
pub fn parse_beijing_time(s: &str) -> Option<DateTime<Utc>> {
    let naive = NaiveDateTime::parse_from_str(s, TIME_FORMAT).ok()?;
    Some(
        naive
            .and_local_timezone(beijing())
            .single()?
            .with_timezone(&Utc),
    )
}

/// The signing string of `params` without the keys in `exclude`: non-empty
/// values only, sorted by key (then by value, so the order of a repeated
/// key cannot matter), `k=v` joined with `&`.
pub fn signing_content<'a, I>(params: I, exclude: &[&str]) -> String
where
    I: IntoIterator<Item = (&'a str, &'a str)>,
{
    let mut pairs: Vec<(&str, &str)> = params
        .into_iter()
        .filter(|(k, v)| !v.is_empty() && !exclude.contains(k))
        .collect();
    pairs.sort_unstable();
    let mut content = String::new();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            content.push('&');
        }
        content.push_str(k);
        content.push('=');
        content.push_str(v);
    }
    content
}

/// The signing string of a request: every parameter but `sign`.
pub fn request_signing_content(params: &[(String, String)]) -> String {
    signing_content(pairs(params), &["sign"])
}

/// The signing string of a notification or return URL: every parameter but
/// `sign` and `sign_type`.
pub fn notification_signing_content(params: &[(String, String)]) -> String {
    signing_content(pairs(params), &["sign", "sign_type"])
}

fn pairs(params: &[(String, String)]) -> impl Iterator<Item = (&str, &str)> {
    params.iter().map(|(k, v)| (k.as_str(), v.as_str()))
}

/// Decodes `application/x-www-form-urlencoded` strictly: `+` is a space,
/// `%XX` a byte (so `%2B` is a literal `+`), the result must be UTF-8, a
/// malformed escape is an error, a key may appear only once. Empty
/// segments (`a=1&&b=2`) are skipped; a segment without `=` is a key with
/// an empty value.
pub fn decode_form(input: &[u8]) -> Result<Vec<(String, String)>, PaymentError> {
    let mut fields: Vec<(String, String)> = Vec::new();
    for segment in input.split(|&b| b == b'&') {
        if segment.is_empty() {
            continue;
        }
        let (key, value) = match segment.iter().position(|&b| b == b'=') {
            Some(i) => (&segment[..i], &segment[i + 1..]),
            None => (segment, &b""[..]),
        };
        let key = decode_component(key)?;
        if fields.iter().any(|(seen, _)| *seen == key) {
            return Err(malformed(format!("parameter {key} repeated")));
        }
        fields.push((key, decode_component(value)?));
    }
    Ok(fields)
}

fn malformed(what: String) -> PaymentError {
    PaymentError::Malformed(format!("alipay: {what}"))
}

fn decode_component(bytes: &[u8]) -> Result<String, PaymentError> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| malformed("bad percent escape".into()))?;
                out.push(hex);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| malformed("parameter is not UTF-8".into()))
}

/// `application/x-www-form-urlencoded` encoding of `params`, in order.
pub(crate) fn encode_form(params: &[(String, String)]) -> String {
    let mut form = form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        form.append_pair(k, v);
    }
    form.finish()
}

/// The value of `key` in decoded `params`, if present.
pub(crate) fn field<'a>(params: &'a [(String, String)], key: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn the_signing_string_sorts_skips_empty_and_excludes_sign() {
        let params = owned(&[
            ("timestamp", "2014-07-24 03:07:50"),
            ("sign", "xxx"),
            ("app_id", "2014072300007148"),
            ("sign_type", "RSA2"),
            ("empty", ""),
            ("biz_content", r#"{"a":"b c"}"#),
        ]);
        assert_eq!(
            request_signing_content(&params),
            r#"app_id=2014072300007148&biz_content={"a":"b c"}&sign_type=RSA2&timestamp=2014-07-24 03:07:50"#
        );
        assert_eq!(
            notification_signing_content(&params),
            r#"app_id=2014072300007148&biz_content={"a":"b c"}&timestamp=2014-07-24 03:07:50"#
        );
    }

    #[test]
    fn form_decoding_treats_plus_as_space_and_percent_2b_as_plus() {
        let fields = decode_form(b"a=1+2&b=1%2B2&c=%E4%B8%AD&&d&e=").unwrap();
        assert_eq!(
            fields,
            owned(&[
                ("a", "1 2"),
                ("b", "1+2"),
                ("c", "中"),
                ("d", ""),
                ("e", "")
            ])
        );
        for bad in [&b"a=%"[..], b"a=%2", b"a=%zz", b"a=%FF", b"a=1&a=2"] {
            assert!(
                matches!(decode_form(bad), Err(PaymentError::Malformed(_))),
                "{bad:?}"
            );
        }
        let encoded = encode_form(&owned(&[("s", "a b+c&d=é")]));
        assert_eq!(
            decode_form(encoded.as_bytes()).unwrap(),
            owned(&[("s", "a b+c&d=é")])
        );
    }

    #[test]
    fn beijing_time_is_utc_plus_eight() {
        let at = DateTime::parse_from_rfc3339("2019-08-15T07:56:24Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(format_beijing_time(at), "2019-08-15 15:56:24");
        assert_eq!(parse_beijing_time("2019-08-15 15:56:24"), Some(at));
        assert_eq!(parse_beijing_time("2019-08-15T15:56:24"), None);
        assert_eq!(parse_beijing_time(""), None);
    }
}
