//! [`LogNotifier`]: writes the mails to the log instead of sending them.

use async_trait::async_trait;
use shop_core::notify::{Notification, Notifier};

use crate::templates::Templates;

/// Renders each notification with the [`Templates`] and writes it — key,
/// recipient, subject and text body — to the log with `tracing` at `info`
/// level (target `shop_notify`), instead of sending it. The development
/// default: nothing leaves the machine, and a developer reads the tokens
/// in the log. Each mail is one log event whose message reads
///
/// ```text
/// mail to {to} ({kind}, {key}), not sent
/// Subject: {subject}
///
/// {text body}
/// --- end of mail ---
/// ```
///
/// It fails only when a template does not render
/// (`StoreError::Backend`).
#[derive(Debug, Clone, Default)]
pub struct LogNotifier {
    templates: Templates,
}

impl LogNotifier {
    /// A notifier logging the mails of `templates`.
    pub fn new(templates: Templates) -> Self {
        LogNotifier { templates }
    }

    /// The templates mails are rendered with.
    pub fn templates(&self) -> &Templates {
        &self.templates
    }
}

#[async_trait]
impl Notifier for LogNotifier {
    async fn send(&self, n: &Notification) -> shop_core::Result<()> {
        let mail = self.templates.render(n)?;
        tracing::info!(
            target: "shop_notify",
            "mail to {} ({}, {}), not sent\nSubject: {}\n\n{}\n--- end of mail ---",
            n.to,
            n.message.kind(),
            n.key,
            mail.subject,
            mail.text.trim_end()
        );
        Ok(())
    }
}
