//! # shop-notify
//!
//! Notifiers for `shop-core`: implementations of
//! [`shop_core::notify::Notifier`] that turn a [`Notification`] — a
//! recipient, a [`Locale`] and a structured [`Message`] — into an e-mail.
//!
//! * [`Templates`]: a subject, a plain-text body and an HTML body for every
//!   message kind in every locale (`zh-CN`, `en`), built in, rendered with
//!   [minijinja](https://docs.rs/minijinja), each replaceable
//!   ([`Templates::set_template`]).
//! * [`SmtpNotifier`]: sends the mails over SMTP (lettre on tokio, TLS by
//!   rustls) as `multipart/alternative`, with a `Message-ID` derived from
//!   the notification's key.
//! * [`LogNotifier`]: writes the mails to the log (`tracing`, `info`) — the
//!   development default.
//! * `testing` (feature): `testing::SmtpSink`, an SMTP server for tests
//!   that keeps what it receives and decodes it.
//!
//! ```
//! use chrono::{FixedOffset, TimeZone, Utc};
//! use shop_core::notify::{Locale, Message, MessageLine, Notification};
//! use shop_core::{Currency, Money};
//! use shop_notify::{TemplateSettings, Templates};
//!
//! let templates = Templates::new(TemplateSettings {
//!     shop_name: "Example Shop".to_owned(),
//!     utc_offset: FixedOffset::east_opt(8 * 3600).unwrap(),
//!     ..TemplateSettings::default()
//! })?;
//! let yuan = |s| Money::parse(s, Currency::Cny).unwrap();
//! let mail = templates.render(&Notification {
//!     key: "order_paid-202405010001".to_owned(),
//!     to: "han.meimei@example.com".to_owned(),
//!     name: "Han Meimei".to_owned(),
//!     locale: Locale::En,
//!     message: Message::OrderPaid {
//!         order_no: "202405010001".to_owned(),
//!         total: yuan("199.00"),
//!         paid_at: Utc.with_ymd_and_hms(2024, 5, 1, 6, 30, 0).unwrap(),
//!         lines: vec![MessageLine {
//!             title: "Green tea".to_owned(),
//!             sku_title: "250 g".to_owned(),
//!             quantity: 2,
//!             price: yuan("99.50"),
//!         }],
//!     },
//! })?;
//! assert_eq!(mail.subject, "Payment received for order 202405010001");
//! assert!(mail.text.starts_with("Hello Han Meimei,\n"));
//! assert!(mail.text.contains("payment of 199.00 CNY"));
//! assert!(mail.text.contains("on 1 May 2024, 14:30 (UTC+08:00)"));
//! assert!(mail.text.contains("- Green tea (250 g) x 2 at 99.50 CNY = 199.00 CNY"));
//! assert!(mail.html.contains(">Green tea</td>"));
//! # Ok::<(), shop_notify::Error>(())
//! ```
//!
//! ## Templates
//!
//! A template is named `{locale}/{kind}.{part}`: the locale's tag
//! ([`Locale::tag`]: `zh-CN`, `en`), the message's kind ([`Message::kind`]:
//! `verify_email`, `reset_password`, `order_paid`, `order_shipped`,
//! `refund_succeeded`, `refund_failed`, `refund_refused`,
//! `crowdfunding_succeeded`, `crowdfunding_failed`, `installment_due`,
//! `installment_overdue`) and the part
//! ([`MailPart`]: `subject`, `txt`, `html`). The HTML mails extend
//! `layout.html` (blocks `title`, `greeting`, `content`, `footer`); the text
//! mails include `{locale}/_greeting.txt` and `{locale}/_footer.txt`. The
//! built-in sources are [`Templates::builtin_source`]; the template
//! syntax is Jinja2's, with `trim_blocks` and `lstrip_blocks` on (a block
//! tag alone on its line leaves no empty line; end a tag with `+%}` to keep
//! the line break after it).
//!
//! HTML templates (`.html`) escape every value they print; text and subject
//! templates print values as they are. A subject is made one line: line
//! breaks and other control characters become spaces. Printing a variable
//! that does not exist is an error, testing it (`{% if link %}`) is not.
//!
//! Every template has `name` (the recipient's, may be empty), `to` (the
//! address), `shop_name`, `locale` (the tag) and `kind`. Besides:
//!
//! | kind | variables |
//! | --- | --- |
//! | `verify_email`, `reset_password` | `token`, `valid_minutes`, `link` (the page's URL with the token, or none when no URL pattern is set) |
//! | `order_paid` | `order_no`, `total`, `paid_at`, `lines` (each: `title`, `sku_title`, `quantity`, `price`, `subtotal`) |
//! | `order_shipped` | `order_no`, `carrier`, `tracking_no` |
//! | `refund_succeeded`, `refund_failed` | `order_no`, `refund_no`, `amount` |
//! | `refund_refused` | `order_no`, `reason` |
//! | `crowdfunding_succeeded` | `order_no`, `product_title` |
//! | `crowdfunding_failed` | `order_no`, `product_title`, `total` (raised), `target` |
//! | `installment_due` | `order_no`, `index`, `count`, `amount` (base and fee), `due_at` |
//! | `installment_overdue` | `order_no`, `index`, `count`, `amount` (with the fine), `fine`, `due_at` |
//!
//! Amounts print with their currency (`199.00 CNY`); `.amount` and
//! `.currency` give the parts. `paid_at` and `due_at` print in the configured offset in
//! the locale's way (`1 May 2024, 14:30 (UTC+08:00)`,
//! `2024年5月1日 14:30（UTC+08:00）`); `.date`, `.time`, `.offset` and
//! `.iso` give the parts.
//!
//! ## Errors and retries
//!
//! The shop sends notifications from its outbox, which retries an event
//! whose notifier failed, with backoff, whatever the error. The notifiers
//! still say which failures may pass: [`SmtpNotifier`] returns
//! `StoreError::Unavailable` (retryable) for an unreachable server, a
//! time-out or a `4xx` reply, and `StoreError::Backend` for a `5xx` reply,
//! a bad address or a template that does not render.
//!
//! [`Notification`]: shop_core::notify::Notification
//! [`Locale`]: shop_core::notify::Locale
//! [`Locale::tag`]: shop_core::notify::Locale::tag
//! [`Message`]: shop_core::notify::Message
//! [`Message::kind`]: shop_core::notify::Message::kind
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod context;
pub mod error;
mod log;
mod smtp;
mod templates;
#[cfg(feature = "testing")]
pub mod testing;

pub use error::Error;
pub use log::LogNotifier;
pub use smtp::{Security, SmtpCredentials, SmtpNotifier, SmtpSettings};
pub use templates::{MailPart, RenderedMail, TemplateSettings, Templates, KINDS};
