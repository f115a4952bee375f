//! The notification port (e-mail, SMS, …).

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::error::Result;

/// A message to one recipient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    /// Address (e-mail, phone, …) as the notifier understands it.
    pub to: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub body: String,
}

/// Port: delivers notifications.
#[async_trait]
pub trait Notifier: Send + Sync + 'static {
    /// Sends one message.
    async fn send(&self, notification: &Notification) -> Result<()>;
}
