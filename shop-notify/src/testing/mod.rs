//! [`SmtpSink`]: an SMTP server for tests, which keeps what it receives.
//!
//! ```
//! use std::time::Duration;
//!
//! use shop_core::notify::{Locale, Message, Notification, Notifier};
//! use shop_notify::testing::SmtpSink;
//! use shop_notify::{SmtpNotifier, Templates};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let sink = SmtpSink::start().await?;
//! let notifier = SmtpNotifier::new(
//!     sink.settings("Example Shop <shop@example.com>"),
//!     Templates::default(),
//! )?;
//! notifier
//!     .send(&Notification {
//!         key: "order_shipped-1".to_owned(),
//!         to: "li.lei@example.com".to_owned(),
//!         name: "李雷".to_owned(),
//!         locale: Locale::ZhCn,
//!         message: Message::OrderShipped {
//!             order_no: "202405010001".to_owned(),
//!             carrier: "顺丰速运".to_owned(),
//!             tracking_no: "SF1234567890".to_owned(),
//!         },
//!     })
//!     .await?;
//!
//! let mails = sink.wait_for(1, Duration::from_secs(5)).await?;
//! assert_eq!(mails[0].recipients, ["li.lei@example.com"]);
//! assert_eq!(mails[0].subject().as_deref(), Some("【Shop】订单 202405010001 已发货"));
//! assert!(mails[0].text().unwrap().contains("运单号：SF1234567890"));
//! # Ok(())
//! # }
//! ```

mod mime;
mod server;

use std::collections::VecDeque;
use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::smtp::SmtpSettings;

/// One message the sink accepted: its envelope and its data.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReceivedMail {
    /// The envelope sender (`MAIL FROM`), without the angle brackets.
    pub from: String,
    /// The envelope recipients (`RCPT TO`), in order, without the angle
    /// brackets.
    pub recipients: Vec<String>,
    /// The user that logged in with `AUTH`, if one did.
    pub auth_user: Option<String>,
    /// The message as received after `DATA` (headers and body, line breaks
    /// as sent, dots unstuffed, without the final `.` line).
    pub data: Vec<u8>,
}

impl ReceivedMail {
    /// The data as text (invalid UTF-8 replaced).
    pub fn raw(&self) -> String {
        String::from_utf8_lossy(&self.data).into_owned()
    }

    /// The decoded value of the first header `name` (any case): unfolded,
    /// RFC 2047 encoded words decoded.
    pub fn header(&self, name: &str) -> Option<String> {
        mime::Entity::parse(&self.data)
            .raw_header(name)
            .map(mime::decode_words)
    }

    /// Every header in order, as (name, decoded value).
    pub fn headers(&self) -> Vec<(String, String)> {
        mime::Entity::parse(&self.data).headers()
    }

    /// The decoded `Subject`.
    pub fn subject(&self) -> Option<String> {
        self.header("Subject")
    }

    /// The decoded `To` header, e.g. `张三 <zhang@example.com>`.
    pub fn to(&self) -> Option<String> {
        self.header("To")
    }

    /// The `Message-ID` header, with its angle brackets.
    pub fn message_id(&self) -> Option<String> {
        self.header("Message-ID")
    }

    /// The decoded plain-text body: the first `text/plain` part that is
    /// not an attachment (transfer encoding and charset undone).
    pub fn text(&self) -> Option<String> {
        mime::Entity::parse(&self.data).find_text("text/plain")
    }

    /// The decoded HTML body: the first `text/html` part that is not an
    /// attachment.
    pub fn html(&self) -> Option<String> {
        mime::Entity::parse(&self.data).find_text("text/html")
    }
}

/// [`SmtpSink::wait_for`] ran out of time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("waited {waited:?} for {wanted} message(s), {received} arrived")]
pub struct WaitTimeout {
    /// How many messages were waited for.
    pub wanted: usize,
    /// How many had arrived.
    pub received: usize,
    /// How long it waited.
    pub waited: Duration,
}

/// A reply the sink gives to a whole transaction instead of accepting it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// `451`: try again later.
    Transient,
    /// `554`: never.
    Permanent,
}

/// What the connections share with the [`SmtpSink`].
pub(crate) struct Shared {
    messages: Mutex<Vec<ReceivedMail>>,
    count: watch::Sender<usize>,
    refusals: Mutex<VecDeque<Refusal>>,
    refused: AtomicUsize,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    pub(crate) fn store(&self, mail: ReceivedMail) {
        let mut messages = lock(&self.messages);
        messages.push(mail);
        self.count.send_replace(messages.len());
    }

    /// The refusal planned for the transaction that starts now, if any.
    pub(crate) fn next_refusal(&self) -> Option<Refusal> {
        let refusal = lock(&self.refusals).pop_front();
        if refusal.is_some() {
            self.refused.fetch_add(1, Ordering::Relaxed);
        }
        refusal
    }
}

/// A small SMTP server on `127.0.0.1` for tests: it accepts every message
/// (no TLS; `AUTH PLAIN` and `LOGIN` with any password), keeps it, and lets
/// the test read the decoded subject, text and HTML
/// ([`ReceivedMail`]). It speaks `EHLO`/`HELO`, `MAIL FROM`, `RCPT TO`,
/// `DATA` (with dot-unstuffing), `RSET`, `NOOP`, `AUTH`, `VRFY` and
/// `QUIT`, and offers `8BITMIME` and `SMTPUTF8`.
///
/// [`SmtpSink::fail_next`] makes it answer the next transactions with
/// `451` (a transient failure, to test retries) and
/// [`SmtpSink::reject_next`] with `554` (a permanent one); a refused
/// transaction stores nothing.
///
/// Start it inside the test's tokio runtime; dropping it stops it.
pub struct SmtpSink {
    addr: SocketAddr,
    shared: Arc<Shared>,
    server: JoinHandle<()>,
}

impl fmt::Debug for SmtpSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpSink")
            .field("addr", &self.addr)
            .field("messages", &lock(&self.shared.messages).len())
            .finish_non_exhaustive()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl SmtpSink {
    /// Starts a sink on a free port of `127.0.0.1`.
    pub async fn start() -> std::io::Result<SmtpSink> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            messages: Mutex::new(Vec::new()),
            count: watch::Sender::new(0),
            refusals: Mutex::new(VecDeque::new()),
            refused: AtomicUsize::new(0),
        });
        let server = tokio::spawn(server::serve(listener, Arc::clone(&shared)));
        Ok(SmtpSink {
            addr,
            shared,
            server,
        })
    }

    /// Its address (`127.0.0.1` and the port it got).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Settings that send to this sink from `from`: no TLS, no login, a
    /// 5 second timeout ([`SmtpSettings::local_relay`]).
    pub fn settings(&self, from: impl Into<String>) -> SmtpSettings {
        SmtpSettings {
            timeout: Duration::from_secs(5),
            ..SmtpSettings::local_relay(self.port(), from)
        }
    }

    /// Every message accepted so far, oldest first.
    pub fn messages(&self) -> Vec<ReceivedMail> {
        lock(&self.shared.messages).clone()
    }

    /// The messages accepted so far for `address` (an envelope recipient).
    pub fn messages_to(&self, address: &str) -> Vec<ReceivedMail> {
        lock(&self.shared.messages)
            .iter()
            .filter(|m| m.recipients.iter().any(|r| r.eq_ignore_ascii_case(address)))
            .cloned()
            .collect()
    }

    /// Forgets the messages accepted so far.
    pub fn clear(&self) {
        let mut messages = lock(&self.shared.messages);
        messages.clear();
        self.shared.count.send_replace(0);
    }

    /// Waits until at least `count` messages have been accepted (counting
    /// those already there) and returns them all; a [`WaitTimeout`] after
    /// `timeout`.
    pub async fn wait_for(
        &self,
        count: usize,
        timeout: Duration,
    ) -> Result<Vec<ReceivedMail>, WaitTimeout> {
        let mut rx = self.shared.count.subscribe();
        let arrived = tokio::time::timeout(timeout, rx.wait_for(|n| *n >= count)).await;
        match arrived {
            Ok(Ok(_)) => Ok(self.messages()),
            _ => Err(WaitTimeout {
                wanted: count,
                received: lock(&self.shared.messages).len(),
                waited: timeout,
            }),
        }
    }

    /// Answers the next `count` transactions (at `MAIL FROM`) with
    /// `451 4.3.0`, a transient failure: the client should try again later.
    pub fn fail_next(&self, count: usize) {
        lock(&self.shared.refusals).extend(std::iter::repeat_n(Refusal::Transient, count));
    }

    /// Answers the next `count` transactions (at `MAIL FROM`) with
    /// `554 5.7.1`, a permanent failure.
    pub fn reject_next(&self, count: usize) {
        lock(&self.shared.refusals).extend(std::iter::repeat_n(Refusal::Permanent, count));
    }

    /// How many transactions were refused by [`fail_next`](Self::fail_next)
    /// or [`reject_next`](Self::reject_next) so far.
    pub fn refused(&self) -> usize {
        self.shared.refused.load(Ordering::Relaxed)
    }
}
