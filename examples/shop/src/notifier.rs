//! Where the shop's e-mails go: an SMTP server when `SHOP_SMTP_HOST` is
//! set, else the log (shop-notify's `LogNotifier`); and a notifier that
//! keeps messages in memory, for tests.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use clap::{Args, ValueEnum};
use shop_core::notify::{Message, Notification, Notifier};
use shop_notify::{
    LogNotifier, Security, SmtpCredentials, SmtpNotifier, SmtpSettings, TemplateSettings, Templates,
};

use crate::BoxError;

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SmtpSecurity {
    /// Plain connection upgraded with STARTTLS (port 587).
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No TLS: only for a relay on this machine (port 25).
    Plain,
}

/// E-mail settings.
#[derive(Debug, Clone, Args)]
pub struct MailArgs {
    /// SMTP server that sends the shop's e-mails; unset, they are written
    /// to the log instead.
    #[arg(long, env = "SHOP_SMTP_HOST")]
    pub smtp_host: Option<String>,
    /// SMTP port (default: 587 for STARTTLS, 465 for TLS, 25 for plain).
    #[arg(long, env = "SHOP_SMTP_PORT")]
    pub smtp_port: Option<u16>,
    /// `starttls`, `tls` or `plain` (a relay on this machine only).
    #[arg(long, env = "SHOP_SMTP_SECURITY", value_enum, default_value_t = SmtpSecurity::Starttls)]
    pub smtp_security: SmtpSecurity,
    /// SMTP user name (with `SHOP_SMTP_PASSWORD`).
    #[arg(long, env = "SHOP_SMTP_USER")]
    pub smtp_user: Option<String>,
    /// SMTP password.
    #[arg(long, env = "SHOP_SMTP_PASSWORD", hide_env_values = true)]
    pub smtp_password: Option<String>,
    /// The sender: `Shop <shop@example.com>` or an address.
    #[arg(
        long,
        env = "SHOP_MAIL_FROM",
        default_value = "Shop <shop@example.com>"
    )]
    pub mail_from: String,
    /// The shop's name in the e-mails.
    #[arg(long, env = "SHOP_NAME", default_value = "Shop")]
    pub shop_name: String,
}

impl Default for MailArgs {
    fn default() -> Self {
        MailArgs {
            smtp_host: None,
            smtp_port: None,
            smtp_security: SmtpSecurity::Starttls,
            smtp_user: None,
            smtp_password: None,
            mail_from: "Shop <shop@example.com>".to_owned(),
            shop_name: "Shop".to_owned(),
        }
    }
}

impl MailArgs {
    /// The notifier these settings describe. A bad setting is an error
    /// naming it.
    pub fn notifier(&self) -> Result<Arc<dyn Notifier>, BoxError> {
        let named = |e: shop_notify::Error| -> BoxError {
            let setting = match e.setting() {
                Some("host") => "SHOP_SMTP_HOST (--smtp-host)",
                Some("port") => "SHOP_SMTP_PORT (--smtp-port)",
                Some("from") => "SHOP_MAIL_FROM (--mail-from)",
                Some("credentials") => "SHOP_SMTP_USER and SHOP_SMTP_PASSWORD",
                Some("security") => "SHOP_SMTP_SECURITY (--smtp-security)",
                _ => "the e-mail settings",
            };
            format!("{e}; check {setting}").into()
        };
        let templates = Templates::new(TemplateSettings {
            shop_name: self.shop_name.clone(),
            ..TemplateSettings::default()
        })
        .map_err(named)?;
        let Some(host) = self.smtp_host.as_deref().filter(|h| !h.trim().is_empty()) else {
            return Ok(Arc::new(LogNotifier::new(templates)));
        };
        let credentials = match (&self.smtp_user, &self.smtp_password) {
            (Some(user), Some(password)) => Some(SmtpCredentials::new(user, password)),
            (None, None) => None,
            _ => return Err("set both SHOP_SMTP_USER and SHOP_SMTP_PASSWORD, or neither".into()),
        };
        let settings = SmtpSettings {
            port: self.smtp_port,
            security: match self.smtp_security {
                SmtpSecurity::Starttls => Security::StartTls,
                SmtpSecurity::Tls => Security::Tls,
                SmtpSecurity::Plain => Security::Plain,
            },
            credentials,
            timeout: Duration::from_secs(30),
            ..SmtpSettings::new(host, &self.mail_from)
        };
        Ok(Arc::new(
            SmtpNotifier::new(settings, templates).map_err(named)?,
        ))
    }
}

/// Keeps every message in memory.
#[derive(Debug, Default)]
pub struct RecordingNotifier {
    sent: Mutex<Vec<Notification>>,
}

impl RecordingNotifier {
    /// An empty recorder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every message so far, oldest first.
    pub fn sent(&self) -> Vec<Notification> {
        self.sent.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The token of the newest verification e-mail sent to `email`,
    /// waiting up to five seconds for the outbox to send it.
    pub async fn verification_token(&self, email: &str) -> Option<String> {
        self.newest(email, "verify_email").await
    }

    /// The token of the newest password reset e-mail sent to `email`,
    /// waiting up to five seconds for the outbox to send it.
    pub async fn reset_token(&self, email: &str) -> Option<String> {
        self.newest(email, "reset_password").await
    }

    async fn newest(&self, email: &str, kind: &str) -> Option<String> {
        for _ in 0..250 {
            let token =
                self.sent()
                    .into_iter()
                    .rev()
                    .filter(|n| n.to == email && n.message.kind() == kind)
                    .find_map(|n| match n.message {
                        Message::VerifyEmail { token, .. }
                        | Message::ResetPassword { token, .. } => Some(token),
                        _ => None,
                    });
            if token.is_some() {
                return token;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        None
    }
}

#[async_trait]
impl Notifier for RecordingNotifier {
    async fn send(&self, n: &Notification) -> shop_core::Result<()> {
        self.sent
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(n.clone());
        Ok(())
    }
}
