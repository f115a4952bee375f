//! [`SmtpNotifier`]: sends the rendered mails over SMTP with lettre.

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use async_trait::async_trait;
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use shop_core::notify::{Notification, Notifier};
use shop_core::StoreError;

use crate::error::Error;
use crate::templates::{one_line, Templates};

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Security {
    /// Connect in plain text, then upgrade with `STARTTLS`, which the server
    /// must offer (submission, port 587). The default.
    #[default]
    StartTls,
    /// TLS from the first byte ("implicit TLS", SMTPS, port 465).
    Tls,
    /// No TLS at all: only for a relay on this machine or a private
    /// network (e.g. a local Postfix on `127.0.0.1:25`, or a test server).
    /// Credentials are refused with it unless the host is a loopback
    /// address, since they would travel in clear text.
    Plain,
}

impl Security {
    /// The usual port: 587 for STARTTLS, 465 for TLS, 25 for plain.
    pub fn default_port(self) -> u16 {
        match self {
            Security::StartTls => 587,
            Security::Tls => 465,
            Security::Plain => 25,
        }
    }
}

/// A user name and password for SMTP `AUTH` (PLAIN or LOGIN, whichever
/// the server offers). `Debug` does not show the password.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpCredentials {
    /// The user name (often the mailbox's address).
    pub user: String,
    /// The password.
    pub password: String,
}

impl SmtpCredentials {
    /// Credentials of `user` with `password`.
    pub fn new(user: impl Into<String>, password: impl Into<String>) -> Self {
        SmtpCredentials {
            user: user.into(),
            password: password.into(),
        }
    }
}

impl fmt::Debug for SmtpCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpCredentials")
            .field("user", &self.user)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// Where and how [`SmtpNotifier`] sends. Checked by
/// [`SmtpNotifier::new`]; each error names the field that is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpSettings {
    /// The server's host name or IP address.
    pub host: String,
    /// The server's port; `None` is the [`Security`]'s usual one
    /// ([`Security::default_port`]).
    pub port: Option<u16>,
    /// How the connection is protected.
    pub security: Security,
    /// Credentials, if the server wants a login.
    pub credentials: Option<SmtpCredentials>,
    /// The sender, as a mailbox: `shop@example.com` or
    /// `Example Shop <shop@example.com>`. Its domain is also the right-hand
    /// side of every `Message-ID`.
    pub from: String,
    /// The longest one mail's delivery may take, from connecting to the
    /// server's last reply (a slower one is a retryable error).
    pub timeout: Duration,
    /// The name this machine gives in `EHLO`; `None` is its host name.
    pub hello_name: Option<String>,
}

impl SmtpSettings {
    /// Sending through `host` as `from`: STARTTLS on port 587, no login, a
    /// 30 second timeout. Change the fields for anything else.
    pub fn new(host: impl Into<String>, from: impl Into<String>) -> Self {
        SmtpSettings {
            host: host.into(),
            port: None,
            security: Security::StartTls,
            credentials: None,
            from: from.into(),
            timeout: Duration::from_secs(30),
            hello_name: None,
        }
    }

    /// Sending through a relay on this machine (`127.0.0.1`) on `port`,
    /// without TLS or login.
    pub fn local_relay(port: u16, from: impl Into<String>) -> Self {
        SmtpSettings {
            port: Some(port),
            security: Security::Plain,
            ..SmtpSettings::new("127.0.0.1", from)
        }
    }

    /// The port used: [`port`](Self::port), else the security's usual one.
    pub fn effective_port(&self) -> u16 {
        self.port.unwrap_or(self.security.default_port())
    }

    /// Checks every setting; the error names the first one that is wrong.
    pub fn validate(&self) -> Result<(), Error> {
        self.sender().map(|_| ())
    }

    /// The checked `from` mailbox.
    fn sender(&self) -> Result<Mailbox, Error> {
        let host = self.host.trim();
        if host.is_empty() {
            return Err(Error::setting_invalid("host", "is empty"));
        }
        if host
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '/')
        {
            return Err(Error::setting_invalid(
                "host",
                format!("{host:?} is not a host name or an IP address"),
            ));
        }
        if self.port == Some(0) {
            return Err(Error::setting_invalid("port", "0 is not a port"));
        }
        let from: Mailbox = self.from.trim().parse().map_err(|e| {
            Error::setting_source(
                "from",
                format!(
                    "{:?} is not a mailbox (write `shop@example.com` or `Shop <shop@example.com>`)",
                    self.from
                ),
                e,
            )
        })?;
        if let Some(c) = &self.credentials {
            if c.user.is_empty() {
                return Err(Error::setting_invalid("credentials", "the user is empty"));
            }
            if self.security == Security::Plain && !is_loopback(host) {
                return Err(Error::setting_invalid(
                    "credentials",
                    format!(
                        "would be sent in clear text to {host}: use Security::StartTls or \
                         Security::Tls, or a relay on this machine"
                    ),
                ));
            }
        }
        if self.timeout.is_zero() {
            return Err(Error::setting_invalid("timeout", "is zero"));
        }
        if let Some(name) = &self.hello_name {
            if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err(Error::setting_invalid(
                    "hello_name",
                    format!("{name:?} is not a host name"),
                ));
            }
        }
        Ok(from)
    }
}

fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Sends each notification as an e-mail over SMTP: the [`Templates`]'
/// subject, with the text and HTML bodies as `multipart/alternative`, to
/// `"name" <to>`.
///
/// Each mail's `Message-ID` is `<{key}@{domain of from}>`
/// ([`SmtpNotifier::message_id`]), so the copies of a notification that
/// the outbox hands over again carry the same id and a receiver can tell
/// them apart.
///
/// # Errors
///
/// `send` fails with [`shop_core::Error::Store`]:
///
/// * [`StoreError::Unavailable`] (retryable) when the failure may pass: the
///   server cannot be reached, the delivery takes longer than the
///   [`timeout`](SmtpSettings::timeout), a `4xx` reply;
/// * [`StoreError::Backend`] when the same mail would fail again: a `5xx`
///   reply, an address that is not one, a TLS failure, a template that
///   does not render.
///
/// Both carry the underlying error as `source`: lettre's (SMTP replies,
/// connection, TLS, addresses), an I/O `TimedOut` for the deadline, or
/// this crate's [`Error`] for a template. Whichever it is, the outbox retries the
/// event with backoff: the distinction is for logs and metrics.
///
/// A delivery that times out after the server took the message may still
/// have been delivered; the retry then delivers a copy with the same
/// `Message-ID`.
///
/// A connection is opened per mail (no pool).
pub struct SmtpNotifier {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    timeout: Duration,
    from: Mailbox,
    host: String,
    port: u16,
    templates: Templates,
}

impl fmt::Debug for SmtpNotifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpNotifier")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("from", &self.from.to_string())
            .field("templates", &self.templates)
            .finish_non_exhaustive()
    }
}

impl SmtpNotifier {
    /// A notifier sending through the server of `settings`, rendering with
    /// `templates`. Fails with [`Error::Setting`] naming the setting that
    /// is wrong; it does not connect yet.
    pub fn new(settings: SmtpSettings, templates: Templates) -> Result<SmtpNotifier, Error> {
        let from = settings.sender()?;
        let host = settings.host.trim().to_owned();
        let port = settings.effective_port();
        let tls_parameters = || {
            TlsParameters::new(host.clone()).map_err(|e| {
                Error::setting_source("security", "TLS cannot be set up for this host", e)
            })
        };
        let tls = match settings.security {
            Security::StartTls => Tls::Required(tls_parameters()?),
            Security::Tls => Tls::Wrapper(tls_parameters()?),
            Security::Plain => Tls::None,
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host.clone())
            .port(port)
            .tls(tls)
            .timeout(Some(settings.timeout));
        if let Some(c) = settings.credentials {
            builder = builder.credentials(Credentials::new(c.user, c.password));
        }
        if let Some(name) = settings.hello_name {
            builder = builder.hello_name(ClientId::Domain(name));
        }
        Ok(SmtpNotifier {
            transport: builder.build(),
            timeout: settings.timeout,
            from,
            host,
            port,
            templates,
        })
    }

    /// The templates mails are rendered with.
    pub fn templates(&self) -> &Templates {
        &self.templates
    }

    /// The `Message-ID` of the notification with this key:
    /// `<{key}@{domain of from}>`, where every character of the key that
    /// may not stand there is written `%XX` (so different keys keep
    /// different ids).
    pub fn message_id(&self, key: &str) -> String {
        format!("<{}@{}>", id_left(key), self.from.email.domain())
    }

    /// The e-mail of `n`, ready to send.
    fn message(&self, n: &Notification) -> shop_core::Result<Message> {
        let mail = self.templates.render(n)?;
        let to: Address = n.to.trim().parse().map_err(backend)?;
        let name = one_line(&n.name);
        let to = Mailbox::new((!name.is_empty()).then_some(name), to);
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject)
            .message_id(Some(self.message_id(&n.key)))
            .multipart(MultiPart::alternative_plain_html(mail.text, mail.html))
            .map_err(backend)
    }
}

#[async_trait]
impl Notifier for SmtpNotifier {
    async fn send(&self, n: &Notification) -> shop_core::Result<()> {
        let message = self.message(n)?;
        let sent = tokio::time::timeout(self.timeout, self.transport.send(message))
            .await
            .map_err(|_| {
                let e = std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!(
                        "SMTP delivery to {}:{} took longer than {:?}",
                        self.host, self.port, self.timeout
                    ),
                );
                tracing::debug!(error = %e, "mail not sent");
                shop_core::Error::Store(StoreError::Unavailable {
                    source: Box::new(e),
                })
            })?;
        match sent {
            Ok(_) => {
                tracing::debug!(
                    key = %n.key,
                    kind = n.message.kind(),
                    host = %self.host,
                    "mail sent"
                );
                Ok(())
            }
            Err(e) => Err(smtp_error(e)),
        }
    }
}

/// The left part of a `Message-ID` (RFC 5322 `dot-atom-text`) for `key`:
/// letters, digits and `-_+=!#$&'*/?^{|}~` stay, a `.` stays between
/// two other characters, anything else (and `%` itself) becomes `%XX`
/// per UTF-8 byte. An empty key is `%empty`, which no other key gives.
fn id_left(key: &str) -> String {
    if key.is_empty() {
        return "%empty".to_owned();
    }
    let bytes = key.as_bytes();
    let mut out = String::with_capacity(key.len());
    for (i, &b) in bytes.iter().enumerate() {
        let keep = match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' => true,
            b'-' | b'_' | b'+' | b'=' | b'!' | b'#' | b'$' | b'&' | b'\'' | b'*' | b'/' | b'?'
            | b'^' | b'{' | b'|' | b'}' | b'~' => true,
            b'.' => i > 0 && i + 1 < bytes.len() && bytes[i - 1] != b'.' && bytes[i + 1] != b'.',
            _ => false,
        };
        if keep {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn backend(e: impl std::error::Error + Send + Sync + 'static) -> shop_core::Error {
    shop_core::Error::Store(StoreError::Backend {
        source: Box::new(e),
    })
}

/// Transient (retryable) or permanent, by what lettre tells.
fn smtp_error(e: lettre::transport::smtp::Error) -> shop_core::Error {
    let transient = if e.is_timeout() || e.is_transient() {
        true
    } else {
        // A 5xx, a malformed reply, a client-side refusal (e.g. non-ASCII
        // without 8BITMIME) or a TLS failure would fail again; what is
        // left is the connection and the network.
        !(e.is_permanent() || e.is_response() || e.is_client() || e.is_tls())
    };
    tracing::debug!(error = %e, transient, "mail not sent");
    let source = Box::new(e);
    shop_core::Error::Store(if transient {
        StoreError::Unavailable { source }
    } else {
        StoreError::Backend { source }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_id_left_parts() {
        assert_eq!(id_left("verify_email-0123abcd"), "verify_email-0123abcd");
        assert_eq!(id_left("order.paid.42"), "order.paid.42");
        assert_eq!(id_left(".a..b."), "%2Ea%2E%2Eb%2E");
        assert_eq!(id_left("a b<c>@d%"), "a%20b%3Cc%3E%40d%25");
        assert_eq!(id_left("订"), "%E8%AE%A2");
        assert_eq!(id_left(""), "%empty");
        assert_ne!(id_left(""), id_left("empty"));
        // Distinct keys keep distinct ids.
        assert_ne!(id_left("a b"), id_left("a%20b"));
    }

    #[test]
    fn loopback_hosts() {
        for h in ["localhost", "127.0.0.1", "127.1.2.3", "::1", "[::1]"] {
            assert!(is_loopback(h), "{h}");
        }
        for h in ["10.0.0.1", "mail.example.com", "::2"] {
            assert!(!is_loopback(h), "{h}");
        }
    }
}
