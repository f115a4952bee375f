//! The service facade: every use case of the shop, orchestrating the ports.
//!
//! Each use case loads what it needs, decides with the pure rules of the
//! domain modules, and writes through one atomic port call that records
//! the change's events in the outbox.
//! [`Shop`] is cheap to clone and safe to share between tasks.

mod account;
mod auth;
mod cart;
mod catalog;
mod checkout;
mod coupons;
mod crowdfunding;
mod events;
mod fulfilment;
mod installment;
mod payments;
mod refunds;
mod seckill;
mod views;

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{Duration, FixedOffset, NaiveTime, Offset, Utc};

pub use account::MAX_ADDRESSES;
pub use auth::LoggedIn;
pub use cart::CartLine;
pub use catalog::{ProductDetail, SearchPage};
pub use checkout::{merge_lines, OrderLineRequest, PlaceOrderRequest};
pub use checkout::{MAX_ORDER_LINES, MAX_REMARK_CHARS};
pub use crowdfunding::{CrowdfundingReport, CrowdfundingView, CROWDFUNDING_REFUND_REASON};
pub use events::{
    CACHE_INVALIDATION_LISTENER, DELAYED_CLOSES_LISTENER, NOTIFICATIONS_LISTENER,
    PRODUCT_STATS_LISTENER,
};
pub use fulfilment::ReviewRequest;
pub use fulfilment::{MAX_REVIEW_CHARS, MAX_SHIPMENT_CHARS};
pub use installment::{PlanOption, INSTALLMENT_METHOD};
pub use payments::NotificationOutcome;
pub use refunds::{RefundRetryReport, MAX_REASON_CHARS};
pub use seckill::{FlashSaleView, ReconcileReport, MAX_LISTED_FLASH_SALES};
pub use views::{OrderLineView, OrderView};

use crate::account::{AccountStore, Secrets, SessionStore};
use crate::cache::ReadCache;
use crate::cart::CartStore;
use crate::catalog::CatalogStore;
use crate::clock::{Clock, SystemClock};
use crate::coupon::CouponStore;
use crate::crowdfunding::CrowdfundingStore;
use crate::delay::DelayQueue;
use crate::error::{Entity, Error, Result};
use crate::events::{DomainEvent, EventListener, EventRecord};
use crate::ids::{IdGenerator, OrderNoGenerator, SkuId, SnowflakeIds};
use crate::installment::{InstallmentPolicy, InstallmentStore};
use crate::jobs::JobStore;
use crate::money::Currency;
use crate::notify::{Locale, Notifier};
use crate::order::{Order, OrderAction, OrderPatch, OrderStore, SubmitTokenStore};
use crate::outbox::{DispatchConfig, Dispatcher, OutboxStore};
use crate::payment::PaymentGateway;
use crate::refund::RefundStore;
use crate::search::SearchIndex;
use crate::seckill::{FlashSale, FlashSaleStore, SeckillStock};
use crate::user::{HistoryStore, UserStore};

/// The storage ports a [`Shop`] needs. Each may come from another backend
/// (e.g. carts in Redis, orders in PostgreSQL): build it from one backend
/// with [`Stores::from_backend`], then replace a port by assigning its
/// field, or the carts with [`Stores::with_carts`].
#[derive(Clone)]
pub struct Stores {
    /// Products, SKUs, categories.
    pub catalog: Arc<dyn CatalogStore>,
    /// Addresses and favorites.
    pub users: Arc<dyn UserStore>,
    /// Coupons.
    pub coupons: Arc<dyn CouponStore>,
    /// Orders and their reviews.
    pub orders: Arc<dyn OrderStore>,
    /// Refunds.
    pub refunds: Arc<dyn RefundStore>,
    /// Accounts and their one-time tokens.
    pub accounts: Arc<dyn AccountStore>,
    /// Logged-in sessions.
    pub sessions: Arc<dyn SessionStore>,
    /// The outbox's events and its listeners' progress.
    pub outbox: Arc<dyn OutboxStore>,
    /// The job runner's leases and last runs.
    pub jobs: Arc<dyn JobStore>,
    /// Flash sales and their buyers.
    pub flash_sales: Arc<dyn FlashSaleStore>,
    /// Crowdfunding campaigns.
    pub crowdfundings: Arc<dyn CrowdfundingStore>,
    /// Installment plans.
    pub installments: Arc<dyn InstallmentStore>,
    /// Each buyer's recently viewed products.
    pub history: Arc<dyn HistoryStore>,
    carts: Arc<dyn CartStore>,
    carts_cleared_by_placement: bool,
    submit_tokens: Arc<dyn SubmitTokenStore>,
    submit_tokens_consumed_by_placement: bool,
}

impl Stores {
    /// All ports from one backend that implements every one of them. Its
    /// placements clear the bought lines from its own carts inside their
    /// atomic write ([`Stores::carts_cleared_by_placement`]).
    pub fn from_backend<B: Backend>(backend: Arc<B>) -> Stores {
        Stores {
            catalog: backend.clone(),
            users: backend.clone(),
            carts: backend.clone(),
            coupons: backend.clone(),
            orders: backend.clone(),
            refunds: backend.clone(),
            submit_tokens: backend.clone(),
            accounts: backend.clone(),
            sessions: backend.clone(),
            outbox: backend.clone(),
            jobs: backend.clone(),
            flash_sales: backend.clone(),
            crowdfundings: backend.clone(),
            installments: backend.clone(),
            history: backend,
            carts_cleared_by_placement: true,
            submit_tokens_consumed_by_placement: true,
        }
    }

    /// The same ports with carts kept by another store (e.g. Redis). The
    /// orders' backend then cannot clear the bought lines inside its
    /// placement: the shop removes them from `carts` right after the order
    /// is placed. That step is not atomic with the placement: if it fails,
    /// the order stands and the lines stay in the cart, where the buyer sees
    /// and removes them (a leftover line never places a second order: every
    /// order needs its own submission).
    pub fn with_carts(self, carts: Arc<dyn CartStore>) -> Stores {
        Stores {
            carts,
            carts_cleared_by_placement: false,
            ..self
        }
    }

    /// The same ports with checkout submit tokens kept by another store
    /// (e.g. Redis, beside the carts). The orders' backend then cannot
    /// consume a token inside its placement: the shop claims the token
    /// first (an atomic compare-and-set in the token store, naming the
    /// order id it is about to write), places the order, then marks the
    /// token consumed — or releases it when the placement is refused. A
    /// submission racing the claim waits for its order; a claim whose
    /// holder died is taken over after [`ShopConfig::submit_claim_lease`],
    /// under the same order id, so an order the dead holder did write is
    /// found, never doubled.
    pub fn with_submit_tokens(self, submit_tokens: Arc<dyn SubmitTokenStore>) -> Stores {
        Stores {
            submit_tokens,
            submit_tokens_consumed_by_placement: false,
            ..self
        }
    }

    /// The submit token store (the idempotency keys of checkout
    /// submissions).
    pub fn submit_tokens(&self) -> &Arc<dyn SubmitTokenStore> {
        &self.submit_tokens
    }

    /// Whether placing an order consumes its submit token inside its atomic
    /// write: true when the tokens are the orders' backend's own
    /// ([`Stores::from_backend`]), false after [`Stores::with_submit_tokens`].
    pub fn submit_tokens_consumed_by_placement(&self) -> bool {
        self.submit_tokens_consumed_by_placement
    }

    /// The cart store.
    pub fn carts(&self) -> &Arc<dyn CartStore> {
        &self.carts
    }

    /// Whether placing an order removes the bought SKUs from the cart
    /// inside its atomic write: true when the carts are the orders'
    /// backend's own ([`Stores::from_backend`]), false after
    /// [`Stores::with_carts`].
    pub fn carts_cleared_by_placement(&self) -> bool {
        self.carts_cleared_by_placement
    }
}

/// Every store port on one type: what a complete backend (the memory
/// store, the SQL stores) implements, and what [`Stores::from_backend`]
/// takes.
pub trait Backend:
    CatalogStore
    + UserStore
    + CartStore
    + CouponStore
    + OrderStore
    + RefundStore
    + SubmitTokenStore
    + AccountStore
    + SessionStore
    + OutboxStore
    + JobStore
    + FlashSaleStore
    + CrowdfundingStore
    + InstallmentStore
    + HistoryStore
{
}

impl<T> Backend for T where
    T: CatalogStore
        + UserStore
        + CartStore
        + CouponStore
        + OrderStore
        + RefundStore
        + SubmitTokenStore
        + AccountStore
        + SessionStore
        + OutboxStore
        + JobStore
        + FlashSaleStore
        + CrowdfundingStore
        + InstallmentStore
        + InstallmentStore
        + CrowdfundingStore
        + InstallmentStore
        + InstallmentStore
        + HistoryStore
{
}

/// Asks a chunked job ([`Shop::close_expired_orders_until`],
/// [`Shop::retry_pending_refunds_until`]) to stop at its next chunk
/// boundary, e.g. when the process shuts down. Cheap to clone; every clone
/// shares one flag.
#[derive(Debug, Clone, Default)]
pub struct StopSignal(Arc<std::sync::atomic::AtomicBool>);

impl StopSignal {
    /// A signal not raised yet.
    pub fn new() -> Self {
        StopSignal::default()
    }

    /// Raises it: jobs watching it stop at their next chunk boundary.
    pub fn raise(&self) {
        self.0.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// Whether it was raised.
    pub fn is_raised(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// Settings of a [`Shop`].
#[derive(Debug, Clone)]
pub struct ShopConfig {
    /// The currency every price of the shop is in.
    pub currency: Currency,
    /// How long a checkout submit token stays valid.
    pub submit_token_ttl: Duration,
    /// With submit tokens kept apart from the orders
    /// ([`Stores::with_submit_tokens`]): how long a submission's claim on
    /// its token lasts before a retry may take it over (the holder died
    /// between the claim and the order). Until then a concurrent
    /// submission with the same token is answered
    /// [`Error::SubmitTokenInUse`].
    pub submit_claim_lease: Duration,
    /// How many expired orders one chunk of `close_expired_orders` loads.
    pub close_batch_size: u32,
    /// How long a login session lasts.
    pub session_ttl: Duration,
    /// How long an e-mail verification token stays valid.
    pub verification_ttl: Duration,
    /// How long a password reset token stays valid.
    pub password_reset_ttl: Duration,
    /// The language of an account that chose none.
    pub default_locale: Locale,
    /// How the outbox is dispatched.
    pub dispatch: DispatchConfig,
    /// How often the job runner dispatches the outbox on each node.
    pub dispatch_every: Duration,
    /// How long handled events stay in the outbox before the daily job
    /// prunes them.
    pub event_retention: Duration,
    /// When the daily jobs run, in [`ShopConfig::time_zone`].
    pub daily_jobs_at: NaiveTime,
    /// The shop's time zone, as a UTC offset (daily jobs, due dates).
    pub time_zone: FixedOffset,
    /// How long a flash-sale unit taken in the fast stock may wait for its
    /// order before reconciliation gives it back (the order is written
    /// right after the take; only a process that died in between leaves
    /// one waiting longer).
    pub seckill_grace: Duration,
    /// How many recently viewed products each buyer's history keeps
    /// (1..=100).
    pub history_keep: u32,
    /// Which orders may be paid in installments, on which terms, and the
    /// fine of an overdue period (300 minimum; 3, 6 or 12 periods at 1.5,
    /// 2 or 2.5 % a period; 0.05 % a day).
    pub installments: InstallmentPolicy,
    /// How long a cached product page or category tree lives (with a
    /// [`ShopBuilder::read_cache`]; invalidation drops it sooner).
    pub read_cache_ttl: Duration,
}

impl Default for ShopConfig {
    fn default() -> Self {
        ShopConfig {
            currency: Currency::Cny,
            submit_token_ttl: Duration::minutes(30),
            submit_claim_lease: Duration::seconds(30),
            close_batch_size: 100,
            session_ttl: Duration::days(30),
            verification_ttl: Duration::hours(24),
            password_reset_ttl: Duration::hours(1),
            default_locale: Locale::default(),
            dispatch: DispatchConfig::default(),
            dispatch_every: Duration::seconds(1),
            event_retention: Duration::days(7),
            daily_jobs_at: NaiveTime::from_hms_opt(3, 0, 0).unwrap_or_default(),
            time_zone: FixedOffset::east_opt(8 * 3600).unwrap_or(Utc.fix()),
            seckill_grace: Duration::minutes(1),
            history_keep: 50,
            installments: InstallmentPolicy::default(),
            read_cache_ttl: Duration::minutes(5),
        }
    }
}

/// The shop: every use case, as async methods.
#[derive(Clone)]
pub struct Shop {
    inner: Arc<Inner>,
}

struct Inner {
    stores: Stores,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdGenerator>,
    order_nos: OrderNoGenerator,
    gateways: HashMap<String, Arc<dyn PaymentGateway>>,
    dispatcher: Dispatcher,
    secrets: Option<Arc<dyn Secrets>>,
    notifier: Option<Arc<dyn Notifier>>,
    search: Option<Arc<dyn SearchIndex>>,
    seckill: Option<Arc<dyn SeckillStock>>,
    delay: Option<Arc<dyn DelayQueue>>,
    cache: Option<Arc<dyn ReadCache>>,
    /// Flash sales by SKU, read by this process within the last second
    /// (a crowd reads one sale thousands of times a second).
    recent_sales: std::sync::Mutex<HashMap<SkuId, (FlashSale, std::time::Instant)>>,
    default_gateway: Option<String>,
    config: ShopConfig,
}

/// Builds a [`Shop`]: stores are required, everything else has a default
/// (system clock, snowflake ids, no gateways, no listeners, CNY). The
/// account use cases also need [`ShopBuilder::secrets`] (password hashing)
/// and [`ShopBuilder::notifier`] (the verification and reset e-mails);
/// without them those calls fail with an error that names the setting.
pub struct ShopBuilder {
    stores: Stores,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdGenerator>,
    gateways: HashMap<String, Arc<dyn PaymentGateway>>,
    listeners: Vec<Arc<dyn EventListener>>,
    secrets: Option<Arc<dyn Secrets>>,
    notifier: Option<Arc<dyn Notifier>>,
    search: Option<Arc<dyn SearchIndex>>,
    seckill: Option<Arc<dyn SeckillStock>>,
    delay: Option<Arc<dyn DelayQueue>>,
    cache: Option<Arc<dyn ReadCache>>,
    default_gateway: Option<String>,
    config: ShopConfig,
}

impl ShopBuilder {
    /// Uses `clock` for every time-dependent rule.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Uses `ids` for new entities' ids.
    pub fn ids(mut self, ids: Arc<dyn IdGenerator>) -> Self {
        self.ids = ids;
        self
    }

    /// Registers a payment gateway under its [`PaymentGateway::name`].
    pub fn gateway(mut self, gateway: Arc<dyn PaymentGateway>) -> Self {
        self.gateways.insert(gateway.name().to_owned(), gateway);
        self
    }

    /// Adds a listener of the outbox's events, delivered by
    /// [`Shop::dispatch_events`] after the shop's own (product counters,
    /// notifications). Its [`EventListener::name`] must be unique.
    pub fn listener(mut self, listener: Arc<dyn EventListener>) -> Self {
        self.listeners.push(listener);
        self
    }

    /// Names the gateway a payment that names none uses
    /// ([`Shop::default_gateway`]).
    pub fn default_gateway(mut self, name: &str) -> Self {
        self.default_gateway = Some(name.to_owned());
        self
    }

    /// Uses `secrets` to hash passwords and digest tokens.
    pub fn secrets(mut self, secrets: Arc<dyn Secrets>) -> Self {
        self.secrets = Some(secrets);
        self
    }

    /// Sends notifications through `notifier`: the account e-mails
    /// (verification, password reset), order paid, order shipped and the
    /// refund results, from the outbox (see [`NOTIFICATIONS_LISTENER`]).
    pub fn notifier(mut self, notifier: Arc<dyn Notifier>) -> Self {
        self.notifier = Some(notifier);
        self
    }

    /// Answers keyword searches from `index` ([`Shop::search`],
    /// [`Shop::browse`] with a keyword, [`Shop::similar_products`]); keep it
    /// fresh with a listener on the outbox (e.g. shop-search's).
    pub fn search_index(mut self, index: Arc<dyn SearchIndex>) -> Self {
        self.search = Some(index);
        self
    }

    /// Puts a fast flash-sale stock (e.g. Redis) in front of the database:
    /// [`Shop::seckill_order`] takes a unit there first, so only as many
    /// buyers as there are units reach the database, and the job runner
    /// reconciles it with the database every minute
    /// ([`Shop::reconcile_flash_sales`]). Without one, the database alone
    /// takes the crowd (still never overselling).
    pub fn seckill_stock(mut self, stock: Arc<dyn SeckillStock>) -> Self {
        self.seckill = Some(stock);
        self
    }

    /// Closes unpaid orders at their deadline through `queue` (e.g.
    /// Redis) instead of by polling: an outbox listener schedules each
    /// placed order's close, and a job on every node runs what is due
    /// ([`Shop::run_delayed_jobs`]); the polling close then runs every ten
    /// minutes only, as a safety net.
    pub fn delay_queue(mut self, queue: Arc<dyn DelayQueue>) -> Self {
        self.delay = Some(queue);
        self
    }

    /// Caches product pages and the category tree in `cache` (e.g. Redis,
    /// shared by every instance) for [`ShopConfig::read_cache_ttl`]: an
    /// outbox listener invalidates a product's page after each of its
    /// events, the category writes invalidate the tree.
    pub fn read_cache(mut self, cache: Arc<dyn ReadCache>) -> Self {
        self.cache = Some(cache);
        self
    }

    /// Replaces the settings.
    pub fn config(mut self, config: ShopConfig) -> Self {
        self.config = config;
        self
    }

    /// The shop.
    pub fn build(self) -> Shop {
        let mut listeners: Vec<Arc<dyn EventListener>> = vec![Arc::new(events::ProductStats {
            stores: self.stores.clone(),
        })];
        if let Some(notifier) = &self.notifier {
            listeners.push(Arc::new(events::Notifications {
                stores: self.stores.clone(),
                notifier: notifier.clone(),
            }));
        }
        if let Some(queue) = &self.delay {
            listeners.push(Arc::new(events::DelayedCloses {
                queue: queue.clone(),
            }));
        }
        if let Some(cache) = &self.cache {
            listeners.push(Arc::new(events::CacheInvalidation {
                cache: cache.clone(),
            }));
        }
        listeners.extend(self.listeners);
        let dispatcher = Dispatcher::new(
            self.stores.outbox.clone(),
            listeners,
            self.clock.clone(),
            self.config.dispatch.clone(),
        );
        Shop {
            inner: Arc::new(Inner {
                stores: self.stores,
                clock: self.clock,
                ids: self.ids,
                order_nos: OrderNoGenerator::default(),
                gateways: self.gateways,
                dispatcher,
                secrets: self.secrets,
                notifier: self.notifier,
                search: self.search,
                seckill: self.seckill,
                delay: self.delay,
                cache: self.cache,
                recent_sales: std::sync::Mutex::new(HashMap::new()),
                default_gateway: self.default_gateway,
                config: self.config,
            }),
        }
    }
}

impl Shop {
    /// Starts building a shop on `stores`.
    pub fn builder(stores: Stores) -> ShopBuilder {
        ShopBuilder {
            stores,
            clock: Arc::new(SystemClock),
            ids: Arc::new(SnowflakeIds::random_node()),
            gateways: HashMap::new(),
            listeners: Vec::new(),
            secrets: None,
            notifier: None,
            search: None,
            seckill: None,
            delay: None,
            cache: None,
            default_gateway: None,
            config: ShopConfig::default(),
        }
    }

    /// The stores, for reads the facade does not wrap.
    pub fn stores(&self) -> &Stores {
        &self.inner.stores
    }

    /// The settings.
    pub fn config(&self) -> &ShopConfig {
        &self.inner.config
    }

    /// The names of the registered payment gateways.
    pub fn gateway_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.inner.gateways.keys().cloned().collect();
        names.sort();
        names
    }

    /// The gateway a payment that names none uses: the builder's
    /// [`ShopBuilder::default_gateway`] when it is registered, else the only
    /// registered gateway. With none it is `NotFound { PaymentGateway }`;
    /// with several and no default the caller must choose
    /// (`Validation { field: "gateway" }`, naming them).
    pub fn default_gateway(&self) -> Result<String> {
        if let Some(name) = self
            .inner
            .default_gateway
            .as_ref()
            .filter(|n| self.inner.gateways.contains_key(*n))
        {
            return Ok(name.clone());
        }
        match self.gateway_names().as_slice() {
            [only] => Ok(only.clone()),
            [] => Err(Error::not_found(Entity::PaymentGateway, "any")),
            several => Err(Error::validation(
                "gateway",
                format!("choose one of: {}", several.join(", ")),
            )),
        }
    }

    /// The current time on the shop's clock (the one every rule uses).
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.inner.clock.now()
    }

    fn next_id(&self) -> i64 {
        self.inner.ids.next_id()
    }

    fn gateway(&self, name: &str) -> Result<&Arc<dyn PaymentGateway>> {
        self.inner
            .gateways
            .get(name)
            .ok_or_else(|| Error::not_found(Entity::PaymentGateway, name))
    }

    /// Compare-and-set: applies `action` to `order` as loaded, writes
    /// `patch` with the move's events, and returns the order as stored
    /// afterwards.
    async fn move_order(
        &self,
        order: &Order,
        action: OrderAction,
        patch: OrderPatch,
    ) -> Result<Order> {
        let next = order.next_state(action)?;
        let events = self.records(order.transition_events(action, &patch));
        self.inner
            .stores
            .orders
            .transition(order.id, order.state, next, &patch, &events)
            .await?;
        self.any_order(order.id).await
    }

    /// `events` as the outbox records them, happening now.
    fn records(&self, events: Vec<DomainEvent>) -> Vec<EventRecord> {
        EventRecord::all(&events, self.now())
    }
}
