//! Mail templates: a subject, a text body and an HTML body per message kind
//! and locale, rendered with minijinja.

use std::fmt;

use chrono::{DateTime, FixedOffset, Utc};
use minijinja::syntax::SyntaxConfig;
use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use rust_decimal::Decimal;
use shop_core::notify::{Locale, Message, MessageLine, Notification};
use shop_core::{Currency, Money};

use crate::context;
use crate::error::Error;

/// What the templates need to know besides the notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateSettings {
    /// The shop's name, as the mails sign and greet with (`shop_name` in the
    /// templates).
    pub shop_name: String,
    /// The offset that times are shown in (`paid_at`), e.g. UTC+08:00 for
    /// a shop in China. Default: UTC.
    pub utc_offset: FixedOffset,
    /// The page that verifies an e-mail address, with `{token}` where the
    /// token goes, e.g. `https://shop.example/verify?token={token}` (the
    /// token is percent-encoded). Without it the mail shows the token and
    /// asks to paste it.
    pub verify_email_url: Option<String>,
    /// The page that chooses a new password, with `{token}` where the
    /// token goes, e.g. `https://shop.example/reset?token={token}`. Without
    /// it the mail shows the token and asks to paste it.
    pub reset_password_url: Option<String>,
}

impl Default for TemplateSettings {
    /// Shop name `Shop`, times in UTC, no links.
    fn default() -> Self {
        TemplateSettings {
            shop_name: "Shop".to_owned(),
            utc_offset: FixedOffset::east_opt(0).expect("zero is an offset"),
            verify_email_url: None,
            reset_password_url: None,
        }
    }
}

impl TemplateSettings {
    /// Checks every setting; the error names the one that is wrong.
    pub fn validate(&self) -> Result<(), Error> {
        if self.shop_name.trim().is_empty() {
            return Err(Error::setting_invalid("shop_name", "is empty"));
        }
        if self.shop_name.chars().any(char::is_control) {
            return Err(Error::setting_invalid(
                "shop_name",
                "contains a control character (a line break?)",
            ));
        }
        check_url_pattern("verify_email_url", self.verify_email_url.as_deref())?;
        check_url_pattern("reset_password_url", self.reset_password_url.as_deref())
    }
}

fn check_url_pattern(setting: &'static str, pattern: Option<&str>) -> Result<(), Error> {
    let Some(pattern) = pattern else {
        return Ok(());
    };
    if !pattern.contains("{token}") {
        return Err(Error::setting_invalid(
            setting,
            format!("{pattern:?} has no `{{token}}` where the token goes"),
        ));
    }
    if let Some(c) = pattern
        .chars()
        .find(|c| c.is_whitespace() || c.is_control() || matches!(c, '"' | '<' | '>'))
    {
        return Err(Error::setting_invalid(
            setting,
            format!("{pattern:?} contains {c:?}, which a URL cannot"),
        ));
    }
    Ok(())
}

/// One of the three parts of a mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MailPart {
    /// The subject line (`.subject`, not escaped; line breaks are removed).
    Subject,
    /// The plain-text body (`.txt`, not escaped).
    Text,
    /// The HTML body (`.html`, HTML auto-escaping on).
    Html,
}

impl MailPart {
    /// Every part.
    pub const ALL: [MailPart; 3] = [MailPart::Subject, MailPart::Text, MailPart::Html];

    /// The template file extension: `subject`, `txt` or `html`.
    pub fn extension(self) -> &'static str {
        match self {
            MailPart::Subject => "subject",
            MailPart::Text => "txt",
            MailPart::Html => "html",
        }
    }
}

/// A rendered mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedMail {
    /// One line: no CR, LF or other control character, runs of white space
    /// collapsed.
    pub subject: String,
    /// The plain-text body.
    pub text: String,
    /// The HTML body (user text escaped).
    pub html: String,
}

/// The message kinds this crate has templates for, as
/// [`Message::kind`] names them.
pub const KINDS: [&str; 11] = [
    "verify_email",
    "reset_password",
    "order_paid",
    "order_shipped",
    "refund_succeeded",
    "refund_failed",
    "refund_refused",
    "crowdfunding_succeeded",
    "crowdfunding_failed",
    "installment_due",
    "installment_overdue",
];

macro_rules! builtin_templates {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../templates/", $name)))),*]
    };
}

macro_rules! mail_templates {
    ($locale:literal: [$($kind:literal),* $(,)?]) => {
        &[$(
            (
                concat!($locale, "/", $kind, ".subject"),
                include_str!(concat!("../templates/", $locale, "/", $kind, ".subject")),
            ),
            (
                concat!($locale, "/", $kind, ".txt"),
                include_str!(concat!("../templates/", $locale, "/", $kind, ".txt")),
            ),
            (
                concat!($locale, "/", $kind, ".html"),
                include_str!(concat!("../templates/", $locale, "/", $kind, ".html")),
            ),
        )*]
    };
}

/// The layout and the locales' shared pieces.
const SHARED: &[(&str, &str)] = builtin_templates!(
    "layout.html",
    "en/_greeting.txt",
    "en/_footer.txt",
    "en/_valid_for.txt",
    "zh-CN/_greeting.txt",
    "zh-CN/_footer.txt",
    "zh-CN/_valid_for.txt",
);

/// Subject, text and HTML of every kind in English.
const MAILS_EN: &[(&str, &str)] = mail_templates!("en": [
    "verify_email", "reset_password", "order_paid", "order_shipped",
    "refund_succeeded", "refund_failed", "refund_refused",
    "crowdfunding_succeeded", "crowdfunding_failed", "installment_due", "installment_overdue",
]);

/// Subject, text and HTML of every kind in Simplified Chinese.
const MAILS_ZH_CN: &[(&str, &str)] = mail_templates!("zh-CN": [
    "verify_email", "reset_password", "order_paid", "order_shipped",
    "refund_succeeded", "refund_failed", "refund_refused",
    "crowdfunding_succeeded", "crowdfunding_failed", "installment_due", "installment_overdue",
]);

/// Every built-in template.
fn builtin() -> impl Iterator<Item = &'static (&'static str, &'static str)> {
    SHARED.iter().chain(MAILS_EN).chain(MAILS_ZH_CN)
}

/// The mail templates: for each message kind and [`Locale`], a subject, a
/// text body and an HTML body, built in and replaceable one by one.
///
/// Templates are named `{locale}/{kind}.{subject|txt|html}`
/// ([`Templates::name_of`]), e.g. `zh-CN/order_shipped.html`. Every HTML
/// mail extends `layout.html` (the page around the content, with the blocks
/// `title`, `greeting`, `content` and `footer`); the text mails include
/// `{locale}/_greeting.txt` and `{locale}/_footer.txt`, and the token mails
/// `{locale}/_valid_for.txt`. Templates ending in `.html` are HTML-escaped
/// automatically; the others are not. See the crate documentation for the
/// variables each kind has.
#[derive(Clone)]
pub struct Templates {
    env: Environment<'static>,
    settings: TemplateSettings,
}

impl fmt::Debug for Templates {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Templates")
            .field("settings", &self.settings)
            .field("templates", &self.env.templates().count())
            .finish()
    }
}

impl Default for Templates {
    /// The built-in templates with the default [`TemplateSettings`].
    fn default() -> Self {
        Templates::new(TemplateSettings::default()).expect("the default settings are valid")
    }
}

impl Templates {
    /// The built-in templates with `settings` (checked: the error names the
    /// setting that is wrong).
    pub fn new(settings: TemplateSettings) -> Result<Templates, Error> {
        settings.validate()?;
        let mut env = Environment::new();
        env.set_syntax(
            SyntaxConfig::builder()
                .trim_blocks(true)
                .lstrip_blocks(true)
                .build()
                .expect("the default delimiters are valid"),
        );
        env.set_undefined_behavior(UndefinedBehavior::SemiStrict);
        env.set_auto_escape_callback(|name| {
            if name.ends_with(".html") {
                AutoEscape::Html
            } else {
                AutoEscape::None
            }
        });
        for (name, source) in builtin() {
            env.add_template(name, source)
                .map_err(|e| Error::template(*name, e))?;
        }
        Ok(Templates { env, settings })
    }

    /// The settings in use.
    pub fn settings(&self) -> &TemplateSettings {
        &self.settings
    }

    /// The template name of a part of a kind's mail in a locale:
    /// `name_of(Locale::En, "order_paid", MailPart::Html)` is
    /// `en/order_paid.html`.
    pub fn name_of(locale: Locale, kind: &str, part: MailPart) -> String {
        format!("{}/{kind}.{}", locale.tag(), part.extension())
    }

    /// The names of the built-in templates, in no particular order.
    pub fn builtin_names() -> impl Iterator<Item = &'static str> {
        builtin().map(|(name, _)| *name)
    }

    /// The source of a built-in template (a starting point for your own).
    pub fn builtin_source(name: &str) -> Option<&'static str> {
        builtin()
            .find(|(n, _)| *n == name)
            .map(|(_, source)| *source)
    }

    /// Replaces the template `name` (or adds one, e.g. a piece your other
    /// templates include) with `source`.
    ///
    /// The template must parse, and every built-in mail of every locale
    /// must still render with it (tried on sample messages), so a mistake
    /// shows here rather than when a mail is sent. Otherwise it is an
    /// [`Error::Template`] naming the template at fault, and the templates
    /// are left as they were.
    pub fn set_template(&mut self, name: &str, source: impl Into<String>) -> Result<(), Error> {
        let mut env = self.env.clone();
        env.add_template_owned(name.to_owned(), source.into())
            .map_err(|e| Error::template(name, e))?;
        let candidate = Templates {
            env,
            settings: self.settings.clone(),
        };
        for n in samples() {
            candidate.render(&n)?;
        }
        *self = candidate;
        Ok(())
    }

    /// Renders the mail of `n`: its kind's templates in its locale.
    pub fn render(&self, n: &Notification) -> Result<RenderedMail, Error> {
        let ctx = context::build(n, &self.settings);
        let kind = n.message.kind();
        let render = |part: MailPart| -> Result<String, Error> {
            let name = Templates::name_of(n.locale, kind, part);
            let template = self
                .env
                .get_template(&name)
                .map_err(|e| Error::template(&name, e))?;
            template.render(&ctx).map_err(|e| Error::template(&name, e))
        };
        let subject = one_line(&render(MailPart::Subject)?);
        if subject.is_empty() {
            return Err(Error::template(
                Templates::name_of(n.locale, kind, MailPart::Subject),
                "renders an empty subject",
            ));
        }
        Ok(RenderedMail {
            subject,
            text: render(MailPart::Text)?,
            html: render(MailPart::Html)?,
        })
    }
}

/// `s` on one line: control characters (CR, LF, tab, …) become spaces, runs
/// of white space one space, no space at the ends.
pub(crate) fn one_line(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for word in s
        .split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
    {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// A notification of every kind in every locale, with and without a
/// name, to try templates on.
fn samples() -> Vec<Notification> {
    let cny = |s: &str| Money::parse(s, Currency::Cny).expect("a sample amount");
    let at = DateTime::<Utc>::from_timestamp(1_714_559_400, 0).expect("a sample time");
    let messages = [
        Message::VerifyEmail {
            token: "sample-token".to_owned(),
            valid_minutes: 1440,
        },
        Message::ResetPassword {
            token: "sample-token".to_owned(),
            valid_minutes: 30,
        },
        Message::OrderPaid {
            order_no: "SAMPLE0001".to_owned(),
            total: cny("10.00"),
            paid_at: at,
            lines: vec![MessageLine {
                title: "Sample".to_owned(),
                sku_title: "Default".to_owned(),
                quantity: 2,
                price: Money::new(Decimal::new(500, 2), Currency::Cny),
            }],
        },
        Message::OrderShipped {
            order_no: "SAMPLE0001".to_owned(),
            carrier: "Carrier".to_owned(),
            tracking_no: "TRACK0001".to_owned(),
        },
        Message::RefundSucceeded {
            order_no: "SAMPLE0001".to_owned(),
            refund_no: "REFUND0001".to_owned(),
            amount: cny("10.00"),
        },
        Message::RefundFailed {
            order_no: "SAMPLE0001".to_owned(),
            refund_no: "REFUND0001".to_owned(),
            amount: cny("10.00"),
        },
        Message::RefundRefused {
            order_no: "SAMPLE0001".to_owned(),
            reason: "Sample reason".to_owned(),
        },
        Message::CrowdfundingSucceeded {
            order_no: "SAMPLE0001".to_owned(),
            product_title: "Sample".to_owned(),
        },
        Message::CrowdfundingFailed {
            order_no: "SAMPLE0001".to_owned(),
            product_title: "Sample".to_owned(),
            total: cny("120.00"),
            target: cny("1000.00"),
        },
        Message::InstallmentDue {
            order_no: "SAMPLE0001".to_owned(),
            index: 2,
            count: 3,
            amount: cny("135.33"),
            due_at: at,
        },
        Message::InstallmentOverdue {
            order_no: "SAMPLE0001".to_owned(),
            index: 2,
            count: 3,
            amount: cny("135.60"),
            fine: cny("0.27"),
            due_at: at,
        },
    ];
    let mut out = Vec::new();
    for locale in Locale::ALL {
        for (i, message) in messages.iter().enumerate() {
            out.push(Notification {
                key: format!("sample-{i}"),
                to: "sample@example.com".to_owned(),
                // Every other sample without a name: templates must cope.
                name: if i % 2 == 0 { "Sample" } else { "" }.to_owned(),
                locale,
                message: message.clone(),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_are_one_line() {
        assert_eq!(one_line("  a\r\nb\tc \u{7}d\n"), "a b c d");
        assert_eq!(one_line("\n\n"), "");
    }

    #[test]
    fn every_kind_has_templates_in_every_locale() {
        for locale in Locale::ALL {
            for kind in KINDS {
                for part in MailPart::ALL {
                    let name = Templates::name_of(locale, kind, part);
                    assert!(Templates::builtin_source(&name).is_some(), "{name}");
                }
            }
        }
        assert_eq!(samples().len(), KINDS.len() * Locale::ALL.len());
        for n in samples() {
            assert!(KINDS.contains(&n.message.kind()));
        }
    }

    #[test]
    fn url_patterns_are_checked() {
        let bad = TemplateSettings {
            verify_email_url: Some("https://shop.example/verify".to_owned()),
            ..TemplateSettings::default()
        };
        assert_eq!(
            bad.validate().unwrap_err().setting(),
            Some("verify_email_url")
        );
        let bad = TemplateSettings {
            reset_password_url: Some("https://shop.example/r?t={token} x".to_owned()),
            ..TemplateSettings::default()
        };
        assert_eq!(
            bad.validate().unwrap_err().setting(),
            Some("reset_password_url")
        );
        let bad = TemplateSettings {
            shop_name: " ".to_owned(),
            ..TemplateSettings::default()
        };
        assert_eq!(bad.validate().unwrap_err().setting(), Some("shop_name"));
    }
}
