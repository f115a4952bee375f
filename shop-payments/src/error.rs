//! What a provider call can fail with, carried inside
//! [`PaymentError::Gateway`] so callers can downcast it.

use shop_core::payment::PaymentError;

use crate::amount::AmountError;
use crate::transport::TransportError;

/// A failure talking to a provider: the `source` of
/// [`PaymentError::Gateway`] for every gateway of this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProviderError {
    /// No response arrived.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// The provider answered with an error.
    #[error("provider answered {status}: {code}: {message}")]
    Api {
        /// HTTP status.
        status: u16,
        /// The provider's error code, e.g. `"amount_too_small"`.
        code: String,
        /// The provider's message.
        message: String,
    },
    /// The provider's answer could not be read.
    #[error("unreadable provider response: {0}")]
    InvalidResponse(String),
    /// The amount cannot be expressed in the provider's format.
    #[error(transparent)]
    Amount(#[from] AmountError),
    /// A success answer without a valid provider signature (forged,
    /// tampered, replayed, or signed by a key we do not trust): nothing in
    /// it is believed.
    #[error("provider response not verified: {0}")]
    UnverifiedResponse(String),
    /// The request was refused before sending (e.g. a refund larger than
    /// the payment).
    #[error("request refused: {0}")]
    Refused(String),
}

impl ProviderError {
    /// Whether trying the same call again may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            ProviderError::Transport(e) => e.is_retryable(),
            ProviderError::Api { status, .. } => *status == 429 || *status >= 500,
            _ => false,
        }
    }
}

impl From<ProviderError> for PaymentError {
    fn from(e: ProviderError) -> Self {
        PaymentError::Gateway {
            source: Box::new(e),
        }
    }
}
