//! Notifiers: one that logs to stderr (the default) and one that records
//! messages in memory (for tests).

use std::sync::Mutex;

use async_trait::async_trait;
use shop_core::notify::{Notification, Notifier};
use shop_core::service::{RESET_TOKEN_LINE, VERIFICATION_TOKEN_LINE};

/// Prints every message to stderr instead of sending it.
#[derive(Debug, Default, Clone, Copy)]
pub struct LogNotifier;

#[async_trait]
impl Notifier for LogNotifier {
    async fn send(&self, n: &Notification) -> shop_core::Result<()> {
        eprintln!(
            "--- mail to {} ---\nSubject: {}\n\n{}\n--- end of mail ---",
            n.to, n.subject, n.body
        );
        Ok(())
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

    /// The token of the newest verification e-mail sent to `email`.
    pub fn verification_token(&self, email: &str) -> Option<String> {
        self.newest(email, verification_token_in)
    }

    /// The token of the newest password reset e-mail sent to `email`.
    pub fn reset_token(&self, email: &str) -> Option<String> {
        self.newest(email, reset_token_in)
    }

    fn newest(&self, email: &str, token_in: fn(&str) -> Option<String>) -> Option<String> {
        self.sent()
            .iter()
            .rev()
            .filter(|n| n.to == email)
            .find_map(|n| token_in(&n.body))
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

/// Reads the token out of a verification e-mail's body.
pub fn verification_token_in(body: &str) -> Option<String> {
    token_in(body, VERIFICATION_TOKEN_LINE)
}

/// Reads the token out of a password reset e-mail's body.
pub fn reset_token_in(body: &str) -> Option<String> {
    token_in(body, RESET_TOKEN_LINE)
}

fn token_in(body: &str, prefix: &str) -> Option<String> {
    body.lines()
        .find_map(|l| l.strip_prefix(prefix))
        .map(|t| t.trim().to_owned())
}
