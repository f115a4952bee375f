//! What building a notifier or rendering a mail can fail with.

use shop_core::error::BoxError;
use shop_core::StoreError;

/// An error of this crate: a setting that cannot work, or a template that
/// does not parse or render.
///
/// When a [`Notifier`](shop_core::notify::Notifier) of this crate meets
/// one while sending, it hands it on as a [`shop_core::Error`] (see
/// [`From<Error> for shop_core::Error`](#impl-From<Error>-for-Error)).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A setting is invalid; `setting` is its field name (`from`, `port`,
    /// `verify_email_url`, …).
    #[error("invalid setting `{setting}`: {reason}")]
    Setting {
        /// The setting's field name.
        setting: &'static str,
        /// What is wrong with it.
        reason: String,
        /// The underlying error, when there is one (an address parser's,
        /// a TLS library's).
        #[source]
        source: Option<BoxError>,
    },
    /// A template does not parse, or fails to render.
    #[error("template `{name}`: {source}")]
    Template {
        /// The template's name (`en/order_paid.html`, …).
        name: String,
        /// Why (the template engine's error, with the line).
        #[source]
        source: BoxError,
    },
}

impl Error {
    /// The name of the invalid setting, for an [`Error::Setting`].
    pub fn setting(&self) -> Option<&'static str> {
        match self {
            Error::Setting { setting, .. } => Some(setting),
            Error::Template { .. } => None,
        }
    }

    pub(crate) fn setting_invalid(setting: &'static str, reason: impl Into<String>) -> Self {
        Error::Setting {
            setting,
            reason: reason.into(),
            source: None,
        }
    }

    pub(crate) fn setting_source(
        setting: &'static str,
        reason: impl Into<String>,
        source: impl Into<BoxError>,
    ) -> Self {
        Error::Setting {
            setting,
            reason: reason.into(),
            source: Some(source.into()),
        }
    }

    pub(crate) fn template(name: impl Into<String>, source: impl Into<BoxError>) -> Self {
        Error::Template {
            name: name.into(),
            source: source.into(),
        }
    }
}

/// A notifier's setting or template error, as the shop sees it: a
/// permanent backend failure (`StoreError::Backend`, not retryable) — the
/// same mail would fail the same way until the configuration changes.
impl From<Error> for shop_core::Error {
    fn from(e: Error) -> Self {
        shop_core::Error::Store(StoreError::Backend {
            source: Box::new(e),
        })
    }
}
