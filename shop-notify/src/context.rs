//! The template context of a notification: what a template can print.

use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, FixedOffset, Utc};
use minijinja::value::{Enumerator, Object, ObjectRepr};
use minijinja::Value;
use rust_decimal::Decimal;
use shop_core::notify::{Locale, Message, MessageLine, Notification};
use shop_core::Money;

use crate::templates::TemplateSettings;

/// The context of `n`'s templates (see the crate docs for the variables).
pub(crate) fn build(n: &Notification, settings: &TemplateSettings) -> Value {
    let mut pairs: Vec<(&'static str, Value)> = vec![
        ("name", Value::from(n.name.as_str())),
        ("to", Value::from(n.to.as_str())),
        ("shop_name", Value::from(settings.shop_name.as_str())),
        ("locale", Value::from(n.locale.tag())),
        ("kind", Value::from(n.message.kind())),
    ];
    match &n.message {
        Message::VerifyEmail {
            token,
            valid_minutes,
        } => {
            token_pairs(
                &mut pairs,
                token,
                *valid_minutes,
                &settings.verify_email_url,
            );
        }
        Message::ResetPassword {
            token,
            valid_minutes,
        } => {
            token_pairs(
                &mut pairs,
                token,
                *valid_minutes,
                &settings.reset_password_url,
            );
        }
        Message::OrderPaid {
            order_no,
            total,
            paid_at,
            lines,
        } => {
            pairs.push(("order_no", Value::from(order_no.as_str())));
            pairs.push(("total", money(total)));
            pairs.push((
                "paid_at",
                Value::from_object(Time::new(*paid_at, settings.utc_offset, n.locale)),
            ));
            pairs.push(("lines", lines.iter().map(line).collect()));
        }
        Message::OrderShipped {
            order_no,
            carrier,
            tracking_no,
        } => {
            pairs.push(("order_no", Value::from(order_no.as_str())));
            pairs.push(("carrier", Value::from(carrier.as_str())));
            pairs.push(("tracking_no", Value::from(tracking_no.as_str())));
        }
        Message::RefundSucceeded {
            order_no,
            refund_no,
            amount,
        }
        | Message::RefundFailed {
            order_no,
            refund_no,
            amount,
        } => {
            pairs.push(("order_no", Value::from(order_no.as_str())));
            pairs.push(("refund_no", Value::from(refund_no.as_str())));
            pairs.push(("amount", money(amount)));
        }
        Message::RefundRefused { order_no, reason } => {
            pairs.push(("order_no", Value::from(order_no.as_str())));
            pairs.push(("reason", Value::from(reason.as_str())));
        }
        Message::CrowdfundingSucceeded {
            order_no,
            product_title,
        } => {
            pairs.push(("order_no", Value::from(order_no.as_str())));
            pairs.push(("product_title", Value::from(product_title.as_str())));
        }
        Message::InstallmentDue {
            order_no,
            index,
            count,
            amount,
            due_at,
        } => {
            pairs.push(("order_no", Value::from(order_no.as_str())));
            pairs.push(("index", Value::from(*index)));
            pairs.push(("count", Value::from(*count)));
            pairs.push(("amount", money(amount)));
            pairs.push((
                "due_at",
                Value::from_object(Time::new(*due_at, settings.utc_offset, n.locale)),
            ));
        }
        Message::InstallmentOverdue {
            order_no,
            index,
            count,
            amount,
            fine,
            due_at,
        } => {
            pairs.push(("order_no", Value::from(order_no.as_str())));
            pairs.push(("index", Value::from(*index)));
            pairs.push(("count", Value::from(*count)));
            pairs.push(("amount", money(amount)));
            pairs.push(("fine", money(fine)));
            pairs.push((
                "due_at",
                Value::from_object(Time::new(*due_at, settings.utc_offset, n.locale)),
            ));
        }
        Message::CrowdfundingFailed {
            order_no,
            product_title,
            total,
            target,
        } => {
            pairs.push(("order_no", Value::from(order_no.as_str())));
            pairs.push(("product_title", Value::from(product_title.as_str())));
            pairs.push(("total", money(total)));
            pairs.push(("target", money(target)));
        }
        // A kind shop-core adds later has only the common variables until
        // this crate learns it (and no templates, so rendering it fails).
        _ => {}
    }
    Value::from_pairs(pairs)
}

fn token_pairs(
    pairs: &mut Vec<(&'static str, Value)>,
    token: &str,
    valid_minutes: i64,
    pattern: &Option<String>,
) {
    pairs.push(("token", Value::from(token)));
    pairs.push(("valid_minutes", Value::from(valid_minutes)));
    let link = pattern
        .as_deref()
        .map(|p| p.replace("{token}", &percent_encode(token)));
    pairs.push(("link", Value::from(link)));
}

/// `token` with every byte but URL-unreserved ones percent-encoded, so any
/// token is safe in a query or a path.
fn percent_encode(token: &str) -> String {
    let mut out = String::with_capacity(token.len());
    for b in token.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn line(l: &MessageLine) -> Value {
    let subtotal = l
        .price
        .checked_mul(Decimal::from(l.quantity))
        .map(|m| money(&m))
        .unwrap_or(Value::from(()));
    Value::from_pairs([
        ("title", Value::from(l.title.as_str())),
        ("sku_title", Value::from(l.sku_title.as_str())),
        ("quantity", Value::from(l.quantity)),
        ("price", money(&l.price)),
        ("subtotal", subtotal),
    ])
}

fn money(m: &Money) -> Value {
    Value::from_object(MoneyValue(*m))
}

/// An amount: prints as `199.00 CNY`; `.amount` is `199.00`, `.currency`
/// is `CNY`.
#[derive(Debug)]
struct MoneyValue(Money);

impl Object for MoneyValue {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        match key.as_str()? {
            "amount" => Some(Value::from(self.0.amount().to_string())),
            "currency" => Some(Value::from(self.0.currency().code())),
            _ => None,
        }
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Str(&["amount", "currency"])
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// A moment in the configured offset: prints in the locale's way
/// (`1 May 2024, 14:30 (UTC+08:00)`, `2024年5月1日 14:30（UTC+08:00）`);
/// `.date` is `2024-05-01`, `.time` `14:30`, `.offset` `UTC+08:00` and
/// `.iso` the RFC 3339 form.
#[derive(Debug)]
struct Time {
    local: DateTime<FixedOffset>,
    locale: Locale,
}

impl Time {
    fn new(at: DateTime<Utc>, offset: FixedOffset, locale: Locale) -> Self {
        Time {
            local: at.with_timezone(&offset),
            locale,
        }
    }

    fn offset(&self) -> String {
        let secs = self.local.offset().local_minus_utc();
        if secs == 0 {
            return "UTC".to_owned();
        }
        let sign = if secs < 0 { '-' } else { '+' };
        let secs = secs.unsigned_abs();
        format!("UTC{sign}{:02}:{:02}", secs / 3600, secs % 3600 / 60)
    }
}

impl Object for Time {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let v = match key.as_str()? {
            "date" => self.local.format("%Y-%m-%d").to_string(),
            "time" => self.local.format("%H:%M").to_string(),
            "offset" => self.offset(),
            "iso" => self.local.to_rfc3339(),
            _ => return None,
        };
        Some(Value::from(v))
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Str(&["date", "time", "offset", "iso"])
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let offset = self.offset();
        match self.locale {
            Locale::ZhCn => write!(
                f,
                "{}（{offset}）",
                self.local.format("%Y年%-m月%-d日 %H:%M")
            ),
            _ => write!(f, "{} ({offset})", self.local.format("%-d %B %Y, %H:%M")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_percent_encoded() {
        assert_eq!(percent_encode("aZ09-._~"), "aZ09-._~");
        assert_eq!(percent_encode("a+b/c=&"), "a%2Bb%2Fc%3D%26");
        assert_eq!(percent_encode("é"), "%C3%A9");
    }

    #[test]
    fn times_in_the_offset_and_locale() {
        let at = DateTime::parse_from_rfc3339("2024-05-01T22:30:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let east8 = FixedOffset::east_opt(8 * 3600).unwrap();
        let zh = Arc::new(Time::new(at, east8, Locale::ZhCn));
        let en = Arc::new(Time::new(at, east8, Locale::En));
        assert_eq!(
            Value::from_dyn_object(zh.clone()).to_string(),
            "2024年5月2日 06:30（UTC+08:00）"
        );
        assert_eq!(
            Value::from_dyn_object(en).to_string(),
            "2 May 2024, 06:30 (UTC+08:00)"
        );
        let utc = Time::new(at, FixedOffset::east_opt(0).unwrap(), Locale::En);
        assert_eq!(utc.offset(), "UTC");
        let west = Time::new(
            at,
            FixedOffset::west_opt(5 * 3600 + 1800).unwrap(),
            Locale::En,
        );
        assert_eq!(west.offset(), "UTC-05:30");
        assert_eq!(
            zh.get_value(&Value::from("iso")).unwrap().to_string(),
            "2024-05-02T06:30:00+08:00"
        );
    }
}
