//! Just enough MIME to read what lettre sends: headers (unfolded, RFC 2047
//! encoded words decoded), nested multiparts, and bodies in 7bit, 8bit,
//! quoted-printable or base64, in UTF-8, US-ASCII or ISO-8859-1.

use base64::engine::general_purpose::STANDARD_PAD_INDIFFERENT;
use base64::Engine as _;

/// A parsed entity: its headers and its (still encoded) body.
pub(crate) struct Entity<'a> {
    headers: Vec<(String, String)>,
    body: &'a [u8],
}

impl<'a> Entity<'a> {
    /// Parses `data` (headers, an empty line, the body).
    pub(crate) fn parse(data: &'a [u8]) -> Entity<'a> {
        let (head, body) = split_head(data);
        Entity {
            headers: unfold(head),
            body,
        }
    }

    /// The raw (unfolded, not decoded) value of the first header `name`.
    pub(crate) fn raw_header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every header, in order, values decoded.
    pub(crate) fn headers(&self) -> Vec<(String, String)> {
        self.headers
            .iter()
            .map(|(n, v)| (n.clone(), decode_words(v)))
            .collect()
    }

    /// The media type in lower case (`text/plain` when absent) and the
    /// parameters (names in lower case, values unquoted).
    fn content_type(&self) -> (String, Vec<(String, String)>) {
        let Some(value) = self.raw_header("Content-Type") else {
            return ("text/plain".to_owned(), Vec::new());
        };
        let mut fields = split_params(value).into_iter();
        let media = fields
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        let params = fields
            .filter_map(|p| {
                let (k, v) = p.split_once('=')?;
                Some((k.trim().to_ascii_lowercase(), unquote(v.trim())))
            })
            .collect();
        (media, params)
    }

    fn is_attachment(&self) -> bool {
        self.raw_header("Content-Disposition")
            .is_some_and(|d| d.trim().to_ascii_lowercase().starts_with("attachment"))
    }

    /// The decoded text of the first `media` (e.g. `text/html`) part that
    /// is not an attachment, searching nested multiparts depth first.
    pub(crate) fn find_text(&self, media: &str) -> Option<String> {
        let (own, params) = self.content_type();
        if let Some(boundary) = own
            .starts_with("multipart/")
            .then(|| param(&params, "boundary"))
            .flatten()
        {
            return split_multipart(self.body, boundary)
                .into_iter()
                .find_map(|part| Entity::parse(part).find_text(media));
        }
        if own != media || self.is_attachment() {
            return None;
        }
        let bytes = decode_transfer(
            self.raw_header("Content-Transfer-Encoding")
                .unwrap_or("7bit"),
            self.body,
        );
        Some(decode_charset(
            param(&params, "charset").unwrap_or("utf-8"),
            &bytes,
        ))
    }
}

fn param<'p>(params: &'p [(String, String)], name: &str) -> Option<&'p str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Headers and body: split at the first empty line (CRLF or LF).
fn split_head(data: &[u8]) -> (&[u8], &[u8]) {
    let mut i = 0;
    while i < data.len() {
        let rest = &data[i..];
        if rest.starts_with(b"\r\n") {
            return (&data[..i], &data[i + 2..]);
        }
        if rest.starts_with(b"\n") {
            return (&data[..i], &data[i + 1..]);
        }
        // Skip to the start of the next line.
        match rest.iter().position(|&b| b == b'\n') {
            Some(nl) => i += nl + 1,
            None => return (data, &[]),
        }
    }
    (data, &[])
}

/// Header lines unfolded into (name, value), values trimmed.
fn unfold(head: &[u8]) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(head);
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in text.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = headers.last_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
        } else if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_owned(), value.trim().to_owned()));
        }
    }
    headers
}

/// `;`-separated fields, ignoring `;` inside double quotes.
fn split_params(value: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, c) in value.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ';' if !quoted => {
                out.push(&value[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&value[start..]);
    out
}

fn unquote(v: &str) -> String {
    match v.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
        Some(inner) => {
            let mut out = String::with_capacity(inner.len());
            let mut chars = inner.chars();
            while let Some(c) = chars.next() {
                if c == '\\' {
                    out.extend(chars.next());
                } else {
                    out.push(c);
                }
            }
            out
        }
        None => v.to_owned(),
    }
}

/// The parts of a multipart body (without the line break before each
/// delimiter); the preamble and epilogue are dropped.
fn split_multipart<'a>(body: &'a [u8], boundary: &str) -> Vec<&'a [u8]> {
    let delimiter = format!("--{boundary}");
    let mut parts = Vec::new();
    let mut part_start: Option<usize> = None;
    let mut line_start = 0;
    while line_start < body.len() {
        let line_end = body[line_start..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(body.len(), |p| line_start + p + 1);
        let line = trim_line_end(&body[line_start..line_end]);
        if let Some(rest) = line.strip_prefix(delimiter.as_bytes()) {
            let rest = trim_ascii_end(rest);
            if rest.is_empty() || rest == b"--" {
                if let Some(start) = part_start {
                    // The CRLF before the delimiter belongs to it.
                    let end = strip_one_line_break(&body[start..line_start]);
                    parts.push(end);
                }
                if rest == b"--" {
                    return parts;
                }
                part_start = Some(line_end);
            }
        }
        line_start = line_end;
    }
    // No closing delimiter: take what there is.
    if let Some(start) = part_start {
        parts.push(&body[start..]);
    }
    parts
}

fn trim_line_end(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

fn trim_ascii_end(s: &[u8]) -> &[u8] {
    let end = s
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(0, |p| p + 1);
    &s[..end]
}

fn strip_one_line_break(s: &[u8]) -> &[u8] {
    if let Some(s) = s.strip_suffix(b"\r\n") {
        s
    } else {
        s.strip_suffix(b"\n").unwrap_or(s)
    }
}

/// A body decoded from its `Content-Transfer-Encoding`.
fn decode_transfer(encoding: &str, body: &[u8]) -> Vec<u8> {
    match encoding.trim().to_ascii_lowercase().as_str() {
        "base64" => {
            let clean: Vec<u8> = body
                .iter()
                .copied()
                .filter(|b| !b.is_ascii_whitespace())
                .collect();
            STANDARD_PAD_INDIFFERENT
                .decode(clean)
                .unwrap_or_else(|_| body.to_vec())
        }
        "quoted-printable" => decode_quoted_printable(body, false),
        _ => body.to_vec(),
    }
}

/// Quoted-printable (RFC 2045 6.7): `=XX` bytes, `=` at a line end joins
/// lines. `underscore_is_space` for RFC 2047's Q encoding.
fn decode_quoted_printable(input: &[u8], underscore_is_space: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        let b = input[i];
        if b == b'=' {
            let rest = &input[i + 1..];
            if rest.starts_with(b"\r\n") {
                i += 3;
                continue;
            }
            if rest.starts_with(b"\n") {
                i += 2;
                continue;
            }
            if let (Some(h), Some(l)) = (
                rest.first().and_then(|&c| hex(c)),
                rest.get(1).and_then(|&c| hex(c)),
            ) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
            out.push(b);
        } else if b == b'_' && underscore_is_space {
            out.push(b' ');
        } else {
            out.push(b);
        }
        i += 1;
    }
    out
}

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

fn decode_charset(charset: &str, bytes: &[u8]) -> String {
    match charset.trim().to_ascii_lowercase().as_str() {
        "iso-8859-1" | "latin1" | "latin-1" => bytes.iter().map(|&b| b as char).collect(),
        _ => String::from_utf8_lossy(bytes).into_owned(),
    }
}

/// A header value with its RFC 2047 encoded words (`=?utf-8?b?…?=`,
/// `=?utf-8?q?…?=`) decoded; white space between two encoded words goes.
pub(crate) fn decode_words(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    // White space seen after an encoded word, kept only if text follows.
    let mut pending_space: Option<&str> = None;
    // Bytes of adjacent encoded words in one charset, decoded together so
    // a character split across words survives.
    let mut pending_bytes: Vec<u8> = Vec::new();
    let mut pending_charset = String::new();
    let flush = |out: &mut String, bytes: &mut Vec<u8>, charset: &str| {
        if !bytes.is_empty() {
            out.push_str(&decode_charset(charset, bytes));
            bytes.clear();
        }
    };
    while !rest.is_empty() {
        if let Some((charset, decoded, len)) = encoded_word(rest) {
            if !charset.eq_ignore_ascii_case(&pending_charset) {
                flush(&mut out, &mut pending_bytes, &pending_charset);
                pending_charset = charset;
            }
            pending_space = None;
            pending_bytes.extend(decoded);
            rest = &rest[len..];
            let ws = rest.len() - rest.trim_start().len();
            if ws > 0 {
                pending_space = Some(&rest[..ws]);
                rest = &rest[ws..];
            }
            continue;
        }
        flush(&mut out, &mut pending_bytes, &pending_charset);
        if let Some(space) = pending_space.take() {
            out.push_str(space);
        }
        let c = rest.chars().next().expect("rest is not empty");
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    flush(&mut out, &mut pending_bytes, &pending_charset);
    out
}

/// An encoded word at the start of `s`: its charset, its bytes and its
/// length in `s`.
fn encoded_word(s: &str) -> Option<(String, Vec<u8>, usize)> {
    let inner = s.strip_prefix("=?")?;
    let (charset, inner) = inner.split_once('?')?;
    let (encoding, inner) = inner.split_once('?')?;
    let end = inner.find("?=")?;
    let text = &inner[..end];
    if text.contains(char::is_whitespace) || charset.is_empty() {
        return None;
    }
    let bytes = match encoding {
        "B" | "b" => STANDARD_PAD_INDIFFERENT.decode(text).ok()?,
        "Q" | "q" => decode_quoted_printable(text.as_bytes(), true),
        _ => return None,
    };
    // RFC 2231 language suffix: `utf-8*en`.
    let charset = charset.split('*').next().unwrap_or(charset).to_owned();
    // `inner` is the tail of `s`: what follows the word is left.
    let len = s.len() - inner[end + 2..].len();
    Some((charset, bytes, len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoded_words() {
        assert_eq!(decode_words("plain"), "plain");
        assert_eq!(decode_words("=?utf-8?b?6K6i5Y2V?="), "订单");
        assert_eq!(
            decode_words("=?UTF-8?Q?Caf=C3=A9_au_lait?= now"),
            "Café au lait now"
        );
        // A character split across two words, white space between them.
        assert_eq!(
            decode_words("=?utf-8?b?6K4=?=\r\n =?utf-8?b?ouWNlQ==?="),
            "订单"
        );
        assert_eq!(decode_words("a =?utf-8?q?b?= c"), "a b c");
        assert_eq!(decode_words("=?bad"), "=?bad");
        assert_eq!(
            decode_words("=?utf-8?b?5byg5LiJ?= <a@example.com>"),
            "张三 <a@example.com>"
        );
    }

    #[test]
    fn quoted_printable() {
        assert_eq!(
            decode_quoted_printable(b"a=3Db=\r\nc =E4=BD=A0", false),
            "a=bc 你".as_bytes()
        );
        assert_eq!(decode_quoted_printable(b"=zz", false), b"=zz");
    }

    #[test]
    fn nested_multipart() {
        let mail = b"Subject: x\r\n\
            Content-Type: multipart/mixed; boundary=\"outer\"\r\n\
            \r\n\
            preamble\r\n\
            --outer\r\n\
            Content-Type: multipart/alternative;\r\n boundary=inner\r\n\
            \r\n\
            --inner\r\n\
            Content-Type: text/plain; charset=utf-8\r\n\
            Content-Transfer-Encoding: base64\r\n\
            \r\n\
            5L2g5aW9\r\n\
            --inner\r\n\
            Content-Type: text/html; charset=\"iso-8859-1\"\r\n\
            Content-Transfer-Encoding: quoted-printable\r\n\
            \r\n\
            <p>caf=E9</p>\r\n\
            --inner--\r\n\
            --outer\r\n\
            Content-Type: text/plain\r\n\
            Content-Disposition: attachment; filename=a.txt\r\n\
            \r\n\
            attached\r\n\
            --outer--\r\n";
        let e = Entity::parse(mail);
        assert_eq!(e.find_text("text/plain").as_deref(), Some("你好"));
        assert_eq!(e.find_text("text/html").as_deref(), Some("<p>café</p>"));
        assert_eq!(e.raw_header("subject"), Some("x"));
    }

    #[test]
    fn single_part_defaults() {
        let e = Entity::parse(b"Subject: hi\n\nline one\nline two\n");
        assert_eq!(
            e.find_text("text/plain").as_deref(),
            Some("line one\nline two\n")
        );
        assert_eq!(e.find_text("text/html"), None);
    }
}
