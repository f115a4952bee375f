//! The notification port (e-mail, SMS, …) and what the shop tells people.
//!
//! The shop decides *what* to tell *whom* ([`Notification`]: a recipient, a
//! [`Locale`] and a structured [`Message`]); a [`Notifier`] adapter decides
//! how it reads and travels (templates, SMTP, a log). Notifications are
//! sent by the notification listener from the outbox's events, so a
//! message is sent after the change that caused it is committed, retried
//! until the notifier accepts it, and not sent again once it has been
//! accepted (see [`Notification::key`]).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::money::Money;

/// The language a person is addressed in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub enum Locale {
    /// Simplified Chinese.
    #[serde(rename = "zh-CN")]
    ZhCn,
    /// English.
    #[default]
    #[serde(rename = "en")]
    En,
}

impl Locale {
    /// Every locale, for adapters that load a template per locale.
    pub const ALL: [Locale; 2] = [Locale::ZhCn, Locale::En];

    /// The BCP 47 tag: `zh-CN` or `en`.
    pub fn tag(self) -> &'static str {
        match self {
            Locale::ZhCn => "zh-CN",
            Locale::En => "en",
        }
    }

    /// The locale of a language tag (`zh`, `zh-CN`, `zh-Hans-CN`, `en-GB`,
    /// any case); `None` for a language the shop does not speak.
    pub fn from_tag(tag: &str) -> Option<Locale> {
        let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "zh" => Some(Locale::ZhCn),
            "en" => Some(Locale::En),
            _ => None,
        }
    }

    /// The first spoken locale of an HTTP `Accept-Language` value, by
    /// preference (`q`) then position; `None` when it names none.
    pub fn from_accept_language(header: &str) -> Option<Locale> {
        let mut best: Option<(u16, usize, Locale)> = None;
        for (pos, part) in header.split(',').enumerate() {
            let mut fields = part.split(';');
            let Some(locale) = fields.next().and_then(Locale::from_tag) else {
                continue;
            };
            let q = fields
                .find_map(|f| f.trim().strip_prefix("q="))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            if !(q > 0.0 && q <= 1.0) {
                continue;
            }
            // Thousandths: an exact order for the three decimals HTTP allows.
            let q = (q * 1000.0).round() as u16;
            if best.is_none_or(|(bq, bpos, _)| q > bq || (q == bq && pos < bpos)) {
                best = Some((q, pos, locale));
            }
        }
        best.map(|(_, _, locale)| locale)
    }
}

/// One line of an order, as a message shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageLine {
    /// The product's title.
    pub title: String,
    /// The SKU's title.
    pub sku_title: String,
    /// Units bought.
    pub quantity: u32,
    /// Unit price paid.
    pub price: Money,
}

/// What the shop tells a person, as data; a [`Notifier`] renders it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Message {
    /// Verify the e-mail address of a new account with this token.
    VerifyEmail {
        /// The one-time token.
        token: String,
        /// How long it lasts, in minutes.
        valid_minutes: i64,
    },
    /// Choose a new password with this token.
    ResetPassword {
        /// The one-time token.
        token: String,
        /// How long it lasts, in minutes.
        valid_minutes: i64,
    },
    /// An order was paid.
    OrderPaid {
        /// The order's number.
        order_no: String,
        /// Amount paid.
        total: Money,
        /// When.
        paid_at: DateTime<Utc>,
        /// What was bought.
        lines: Vec<MessageLine>,
    },
    /// An order was shipped.
    OrderShipped {
        /// The order's number.
        order_no: String,
        /// The carrier.
        carrier: String,
        /// The carrier's tracking number.
        tracking_no: String,
    },
    /// A refund went through.
    RefundSucceeded {
        /// The order's number.
        order_no: String,
        /// The refund's number.
        refund_no: String,
        /// Amount given back.
        amount: Money,
    },
    /// The payment provider could not carry a refund out.
    RefundFailed {
        /// The order's number.
        order_no: String,
        /// The refund's number.
        refund_no: String,
        /// Amount that was to be given back.
        amount: Money,
    },
    /// The shop refused a refund application.
    RefundRefused {
        /// The order's number.
        order_no: String,
        /// The shop's reason.
        reason: String,
    },
    /// A crowdfunding campaign the buyer backed reached its target: the
    /// order will ship.
    CrowdfundingSucceeded {
        /// The buyer's order.
        order_no: String,
        /// The campaign's product.
        product_title: String,
    },
    /// A period of the buyer's installment plan falls due soon.
    InstallmentDue {
        /// The order.
        order_no: String,
        /// The period, from 1.
        index: u32,
        /// Periods of the plan.
        count: u32,
        /// What it costs (base and fee).
        amount: Money,
        /// When it is due.
        due_at: DateTime<Utc>,
    },
    /// A period of the buyer's installment plan is overdue: a fine runs.
    InstallmentOverdue {
        /// The order.
        order_no: String,
        /// The period, from 1.
        index: u32,
        /// Periods of the plan.
        count: u32,
        /// What it costs now (base, fee and fine).
        amount: Money,
        /// The fine so far.
        fine: Money,
        /// When it was due.
        due_at: DateTime<Utc>,
    },
    /// A crowdfunding campaign the buyer backed ended below its target:
    /// the order is refunded.
    CrowdfundingFailed {
        /// The buyer's order.
        order_no: String,
        /// The campaign's product.
        product_title: String,
        /// What the campaign raised.
        total: Money,
        /// Its target.
        target: Money,
    },
}

impl Message {
    /// A short, stable name of the kind (`order_paid`, …), for template
    /// file names and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Message::VerifyEmail { .. } => "verify_email",
            Message::ResetPassword { .. } => "reset_password",
            Message::OrderPaid { .. } => "order_paid",
            Message::OrderShipped { .. } => "order_shipped",
            Message::RefundSucceeded { .. } => "refund_succeeded",
            Message::RefundFailed { .. } => "refund_failed",
            Message::RefundRefused { .. } => "refund_refused",
            Message::CrowdfundingSucceeded { .. } => "crowdfunding_succeeded",
            Message::CrowdfundingFailed { .. } => "crowdfunding_failed",
            Message::InstallmentDue { .. } => "installment_due",
            Message::InstallmentOverdue { .. } => "installment_overdue",
        }
    }
}

/// A message to one recipient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    /// Unique per message and the same each time the same message is
    /// handed over again (after a crash, the outbox delivers an event
    /// again): an adapter uses it to drop a repeat or as the e-mail's
    /// `Message-ID`, so a receiver can tell the copies apart.
    pub key: String,
    /// Address (e-mail, phone, …) as the notifier understands it.
    pub to: String,
    /// The recipient's name, for the greeting.
    pub name: String,
    /// The language to write in.
    pub locale: Locale,
    /// What to say.
    pub message: Message,
}

/// Port: delivers notifications. An error means "not sent, try again
/// later": the outbox retries the event with backoff.
#[async_trait]
pub trait Notifier: Send + Sync + 'static {
    /// Sends one message.
    async fn send(&self, notification: &Notification) -> Result<()>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locales_from_tags_and_accept_language() {
        assert_eq!(Locale::from_tag("zh-Hans-CN"), Some(Locale::ZhCn));
        assert_eq!(Locale::from_tag("EN_gb"), Some(Locale::En));
        assert_eq!(Locale::from_tag("fr"), None);
        assert_eq!(Locale::from_tag(""), None);
        assert_eq!(
            Locale::from_accept_language("fr-FR, en;q=0.8, zh-CN;q=0.9"),
            Some(Locale::ZhCn)
        );
        assert_eq!(Locale::from_accept_language("en, zh"), Some(Locale::En));
        assert_eq!(
            Locale::from_accept_language("zh;q=0, en;q=0.1"),
            Some(Locale::En)
        );
        assert_eq!(Locale::from_accept_language("de, *;q=0.5"), None);
        assert_eq!(Locale::from_accept_language("en;q=nan"), None);
        for l in Locale::ALL {
            assert_eq!(Locale::from_tag(l.tag()), Some(l));
        }
    }
}
