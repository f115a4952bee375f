//! The text rules every field shares: a length limit in characters and no
//! control characters, checked here so every backend stores, compares and
//! searches the same thing (PostgreSQL refuses NUL in text; SQLite and MySQL
//! would store it and then match it differently).
//!
//! * A **line** (a title, a name, a code, a tracking number) refuses every
//!   control character (Unicode category Cc: NUL, the C0 and C1 controls,
//!   DEL), newline and tab included.
//! * **Multi-line** text (descriptions, remarks, review texts, reasons)
//!   also allows newline, carriage return and tab.
//! * A **key** (a coupon code, an order or refund number, a token) is a
//!   line of at most [`MAX_KEY_CHARS`] characters: what a lookup accepts
//!   before it reaches a store.
//!
//! Each failure is `Error::Validation` naming the field. The `*_PATTERN`
//! constants say the same as JSON-Schema (ECMA-262) regular expressions, for
//! API descriptions.

use crate::error::{Error, Result};

/// Longest lookup key (code, number, token), in characters.
pub const MAX_KEY_CHARS: usize = 255;

/// [`check_line`]'s characters: no control character.
pub const LINE_PATTERN: &str = r"^[^\x00-\x1F\x7F-\x9F]*$";
/// [`required_line`]'s: a line with a character that is not whitespace.
pub const REQUIRED_LINE_PATTERN: &str =
    r"^[^\x00-\x1F\x7F-\x9F]*[^\s\x00-\x1F\x7F-\x9F][^\x00-\x1F\x7F-\x9F]*$";
/// [`check_multiline`]'s: no control character but newline, carriage
/// return and tab.
pub const MULTILINE_PATTERN: &str = r"^[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]*$";
/// Multi-line text that is not blank.
pub const REQUIRED_MULTILINE_PATTERN: &str = r"^[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]*[^\s\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F][^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]*$";

/// `Validation { field }` when `value` is longer than `max` characters or
/// holds a control character (newline and tab included).
pub fn check_line(field: &'static str, value: &str, max: usize) -> Result<()> {
    check_len(field, value, max)?;
    if value.chars().any(char::is_control) {
        return Err(Error::validation(
            field,
            "must not contain control characters or line breaks",
        ));
    }
    Ok(())
}

/// `Validation { field }` when `value` is longer than `max` characters or
/// holds a control character other than newline, carriage return and tab.
pub fn check_multiline(field: &'static str, value: &str, max: usize) -> Result<()> {
    check_len(field, value, max)?;
    for c in value.chars() {
        let allowed = matches!(c, '\n' | '\r' | '\t') || !c.is_control();
        if !allowed {
            return Err(Error::validation(
                field,
                "must not contain control characters other than newlines and tabs",
            ));
        }
    }
    Ok(())
}

/// [`check_line`] on the whole value, which must not be blank: returns it
/// trimmed (`Validation { field }`: "must not be empty").
pub fn required_line<'a>(field: &'static str, value: &'a str, max: usize) -> Result<&'a str> {
    check_line(field, value, max)?;
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(Error::validation(field, "must not be empty"));
    }
    Ok(trimmed)
}

/// A lookup key (coupon code, order or refund number, token): a line of
/// 1..=[`MAX_KEY_CHARS`] characters.
pub fn check_key(field: &'static str, value: &str) -> Result<()> {
    if value.is_empty() {
        return Err(Error::validation(field, "must not be empty"));
    }
    check_line(field, value, MAX_KEY_CHARS)
}

/// `Validation { field }` when `value` is longer than `max` characters.
pub fn check_len(field: &'static str, value: &str, max: usize) -> Result<()> {
    // Counting stops early: a huge value costs no more than `max` steps.
    if value.len() > max && value.chars().nth(max).is_some() {
        return Err(Error::validation(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(r: Result<()>) -> Option<&'static str> {
        match r {
            Err(Error::Validation { field, .. }) => Some(field),
            _ => None,
        }
    }

    #[test]
    fn lines_refuse_every_control_character() {
        assert!(check_line("f", "Tea cup 茶杯 ☕", 20).is_ok());
        for bad in [
            "a\0b",
            "a\nb",
            "a\tb",
            "a\rb",
            "\u{7f}",
            "\u{85}",
            "\u{1b}[31m",
        ] {
            assert_eq!(field_of(check_line("f", bad, 20)), Some("f"), "{bad:?}");
        }
    }

    #[test]
    fn multiline_allows_newlines_and_tabs_only() {
        assert!(check_multiline("f", "one\ntwo\r\n\tthree\r", 50).is_ok());
        for bad in ["a\0b", "a\u{b}b", "\u{c}", "\u{7}", "\u{9b}"] {
            assert_eq!(
                field_of(check_multiline("f", bad, 50)),
                Some("f"),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn lengths_count_characters_not_bytes() {
        assert!(check_len("f", "茶茶茶", 3).is_ok());
        assert_eq!(field_of(check_len("f", "茶茶茶茶", 3)), Some("f"));
        assert!(check_len("f", "", 0).is_ok());
        assert_eq!(field_of(check_len("f", "a", 0)), Some("f"));
    }

    #[test]
    fn keys_and_required_lines() {
        assert_eq!(field_of(check_key("code", "")), Some("code"));
        assert_eq!(field_of(check_key("code", "AB\0")), Some("code"));
        assert!(check_key("code", "WELCOME10").is_ok());
        assert_eq!(
            field_of(check_key("code", &"x".repeat(MAX_KEY_CHARS + 1))),
            Some("code")
        );
        assert_eq!(required_line("name", "  Ann ", 10).unwrap(), "Ann");
        assert!(required_line("name", "   ", 10).is_err());
        assert!(required_line("name", " Ann\n", 10).is_err());
    }
}
