//! What every handler shares.

use std::sync::Arc;

use shop_core::Shop;
use shop_payments::SandboxGateway;

use crate::security::RateLimiter;

/// The application state: the shop facade and the ports the app itself
/// uses. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// Every use case.
    pub shop: Shop,
    /// The sandbox gateway (also registered on the shop), when it is on
    /// (`SHOP_SANDBOX`); its pay page is mounted only then.
    pub sandbox: Option<Arc<SandboxGateway>>,
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
