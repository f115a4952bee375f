//! What every handler shares.

use std::sync::Arc;

use shop_core::account::{AccountStore, SessionStore};
use shop_core::ids::IdGenerator;
use shop_core::notify::Notifier;
use shop_core::Shop;
use shop_payments::SandboxGateway;

use crate::passwords::PasswordPool;
use crate::security::RateLimiter;

/// The application state: the shop facade and the ports the app itself
/// uses. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// Every use case.
    pub shop: Shop,
    /// Accounts and verification tokens.
    pub accounts: Arc<dyn AccountStore>,
    /// Sessions (the database, or Redis when configured).
    pub sessions: Arc<dyn SessionStore>,
    /// Ids for new accounts (the same generator the shop uses).
    pub ids: Arc<dyn IdGenerator>,
    /// The sandbox gateway (also registered on the shop), when it is on
    /// (`SHOP_SANDBOX`); its pay page is mounted only then.
    pub sandbox: Option<Arc<SandboxGateway>>,
    /// Sends e-mails.
    pub notifier: Arc<dyn Notifier>,
    /// Hashes and verifies passwords, a bounded number at once.
    pub passwords: PasswordPool,
    /// The public catalog reads kept in memory for a moment.
    pub catalog_cache: Arc<crate::cache::CatalogCache>,
    /// Limits login, register and order placement per client.
    pub limiter: Arc<RateLimiter>,
    /// Stripe's publishable key, when Stripe is configured (for the
    /// checkout page).
    pub stripe_publishable_key: Option<String>,
    /// The base URL clients and the sandbox reach this server at.
    pub public_url: String,
    /// For delivering sandbox notifications over HTTP.
    pub http: shop_payments::reqwest::Client,
}
