//! # shop-example
//!
//! The example shop: an axum storefront and admin JSON API that wires
//! `shop-core` with `shop-storage-sql` (SQLite by default, PostgreSQL or
//! MySQL by URL), optionally `shop-storage-redis` (carts, sessions and rate
//! limits shared by every instance) and the gateways of `shop-payments`.
//!
//! The app only wires and maps errors; every business rule lives in
//! `shop-core`. [`start`] opens and migrates the database, seeds a demo
//! catalog on first start, binds the listener and serves in the background,
//! so tests run the real server in-process:
//!
//! ```no_run
//! # #[tokio::main] async fn main() -> Result<(), shop_example::BoxError> {
//! use std::sync::Arc;
//! use shop_example::{start, Config};
//!
//! let config = Config::new("sqlite://shop.db");
//! // E-mails go to the log unless SMTP is configured (`config.mail`).
//! let server = start(&config, config.mail.notifier()?).await?;
//! println!("listening on {}", server.url);
//! server.stop().await;
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod cache;
pub mod error;
pub mod extract;
pub mod jobs;
pub mod notifier;
pub mod openapi;
pub mod passwords;
pub mod providers;
pub mod routes;
pub mod search;
pub mod security;
pub mod seed;
pub mod serve;
pub mod startup;
pub mod state;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use shop_core::notify::Notifier;
use shop_core::{Shop, ShopConfig, Stores};
use shop_payments::SandboxGateway;
use shop_storage_redis::RedisStore;
use shop_storage_sql::{MySqlStore, PgStore, SqliteStore};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use seed::AdminCredentials;
pub use state::AppState;

pub use serve::Timeouts;

/// Any startup error.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Configuration, from flags or environment variables.
#[derive(Debug, Clone, clap::Parser)]
#[command(
    name = "shop-example",
    about = "The example shop: storefront and admin HTTP API"
)]
pub struct Config {
    /// What to do; without a command the shop serves.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Database URL: `sqlite://…`, `postgres://…` or `mysql://…`.
    #[arg(
        long,
        global = true,
        env = "SHOP_DATABASE_URL",
        default_value = "sqlite://shop.db",
        hide_env_values = true
    )]
    pub database_url: String,
    /// Address to listen on.
    #[arg(long, env = "SHOP_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,
    /// The sandbox gateway, a development convenience that pays orders
    /// without moving money: `auto` (the default) turns it on only when no
    /// real provider (Stripe, Alipay, WeChat Pay) is configured; `on` keeps
    /// it beside real providers; `off` removes it.
    #[arg(long, env = "SHOP_SANDBOX", value_enum, default_value_t = SandboxMode::Auto)]
    pub sandbox: SandboxMode,
    /// Secret the sandbox gateway signs notifications with (random at start
    /// when unset; set it when several instances serve one shop).
    #[arg(long, env = "SHOP_SANDBOX_SECRET", hide_env_values = true)]
    pub sandbox_secret: Option<String>,
    /// Base URL clients reach this server at (default: `http://{bind}`).
    #[arg(long, env = "SHOP_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Login, register and order placement requests allowed per minute and
    /// client address (each action has its own bucket).
    #[arg(long, env = "SHOP_RATE_LIMIT_PER_MINUTE", default_value_t = 30)]
    pub rate_limit_per_minute: u32,
    /// Redis URL: `redis://host:6379` (one server),
    /// `redis+sentinel://host:26379/mymaster` (the primary Sentinel names)
    /// or `redis+cluster://host1:6379,host2:6379` (a Redis Cluster). When
    /// set, carts, sessions, checkout submit tokens, rate limits, browsing
    /// history, the flash-sale stock and the delay queue live in Redis,
    /// shared by every instance; when unset, carts, sessions and tokens
    /// live in the database and rate limits in each instance.
    #[arg(long, env = "SHOP_REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<String>,
    /// Seconds a client may take to send a request's headers, and may stay
    /// idle between requests, before it is disconnected.
    #[arg(long, env = "SHOP_HEADER_TIMEOUT_SECS", default_value_t = 10)]
    pub header_timeout_secs: u64,
    /// Seconds a request may take from its headers to its answer, reading
    /// the body included (`408` beyond); also how long shutdown waits for
    /// requests in flight.
    #[arg(long, env = "SHOP_REQUEST_TIMEOUT_SECS", default_value_t = 30)]
    pub request_timeout_secs: u64,
    /// Milliseconds the public catalog reads (product list and detail,
    /// category tree) are served from memory; writes through this instance
    /// invalidate them at once (see `cache`). 0 turns the cache off.
    #[arg(long, env = "SHOP_CATALOG_CACHE_MS", default_value_t = 1000)]
    pub catalog_cache_ms: u64,
    /// Log level on stderr: `error`, `warn`, `info`, `debug` (a line per
    /// request) or `trace`.
    #[arg(long, env = "SHOP_LOG", default_value = "info")]
    pub log_level: tracing::Level,
    /// Prefix of every Redis key this shop writes.
    #[arg(long, env = "SHOP_REDIS_PREFIX", default_value = "shop:")]
    pub redis_prefix: String,
    /// Real payment providers (Stripe, Alipay, WeChat Pay), each optional.
    #[command(flatten)]
    pub providers: providers::ProviderArgs,
    /// E-mail: an SMTP server, or the log.
    #[command(flatten)]
    pub mail: notifier::MailArgs,
    /// This instance's name among several serving one shop, for the jobs'
    /// records (default: the host name and the port).
    #[arg(long, env = "SHOP_NODE")]
    pub node: Option<String>,
    /// Folder of the product search index, or `off`. Default: beside a
    /// SQLite database (`shop.db.search`); none for PostgreSQL and MySQL
    /// (give each instance a folder of its own).
    #[arg(long, env = "SHOP_SEARCH_DIR")]
    pub search_dir: Option<String>,
}

impl Config {
    /// The search index's folder, if any (see [`Config::search_dir`]).
    pub fn search_dir(&self) -> Option<std::path::PathBuf> {
        match self.search_dir.as_deref().map(str::trim) {
            Some("off") | Some("") => None,
            Some(dir) => Some(dir.into()),
            None => startup::sqlite_path(&self.database_url)
                .map(|db| std::path::PathBuf::from(format!("{db}.search"))),
        }
    }

    /// The server's time limits from these settings.
    pub fn timeouts(&self) -> Timeouts {
        let request = Duration::from_secs(self.request_timeout_secs.max(1));
        Timeouts {
            header_read: Duration::from_secs(self.header_timeout_secs.max(1)),
            request,
            shutdown_grace: request,
        }
    }

    /// Defaults on `database_url`, listening on a free loopback port.
    pub fn new(database_url: impl Into<String>) -> Self {
        Config {
            command: None,
            database_url: database_url.into(),
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            sandbox: SandboxMode::Auto,
            sandbox_secret: None,
            public_url: None,
            rate_limit_per_minute: 30,
            redis_url: None,
            redis_prefix: "shop:".to_owned(),
            catalog_cache_ms: 1000,
            log_level: tracing::Level::INFO,
            header_timeout_secs: 10,
            request_timeout_secs: 30,
            providers: providers::ProviderArgs::default(),
            mail: notifier::MailArgs::default(),
            node: None,
            search_dir: None,
        }
    }
}

/// The binary's commands.
#[derive(Debug, Clone, PartialEq, Eq, clap::Subcommand)]
pub enum Command {
    /// Serve the shop (the default).
    Serve,
    /// Give an administrator a new random password and print it (the
    /// first start prints the seeded administrator's only once).
    ResetAdminPassword {
        /// The administrator's e-mail address.
        #[arg(long, default_value = seed::ADMIN_EMAIL)]
        email: String,
    },
}

/// Whether the sandbox gateway is mounted (`SHOP_SANDBOX`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SandboxMode {
    /// On only when no real payment provider is configured.
    Auto,
    /// On, even beside real providers (development only).
    On,
    /// Off.
    Off,
}

impl SandboxMode {
    /// Whether the sandbox runs, given whether a real provider is
    /// configured.
    pub fn enabled(self, real_provider: bool) -> bool {
        match self {
            SandboxMode::Auto => !real_provider,
            SandboxMode::On => true,
            SandboxMode::Off => false,
        }
    }
}

/// A running server.
pub struct Server {
    /// The bound address.
    pub addr: SocketAddr,
    /// Its base URL, e.g. `http://127.0.0.1:8080`.
    pub url: String,
    /// The administrator created by this start's seeding (`None` when the
    /// database was seeded before).
    pub admin: Option<AdminCredentials>,
    /// The shared state (for tests and embedding).
    pub state: AppState,
    shutdown: Option<oneshot::Sender<()>>,
    serving: JoinHandle<()>,
    jobs: Option<jobs::Jobs>,
}

impl Server {
    /// Stops accepting connections, lets requests in flight finish, and
    /// stops the background jobs at their next chunk boundary.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = (&mut self.serving).await;
        if let Some(jobs) = self.jobs.take() {
            jobs.stop().await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.serving.abort();
    }
}

fn wire<B: shop_core::Backend>(backend: B) -> Stores {
    Stores::from_backend(Arc::new(backend))
}

/// Connects to and migrates the database `url` names; every port lives
/// there. A failure is one sentence naming `SHOP_DATABASE_URL`.
pub async fn open_database(url: &str) -> Result<Stores, BoxError> {
    let connect = |e: shop_core::Error| startup::database_error(url, "connect to", &e);
    let migrate = |e: shop_core::Error| startup::database_error(url, "migrate", &e);
    Ok(
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            startup::probe(url).await?;
            let store = PgStore::connect(url).await.map_err(connect)?;
            store.migrate().await.map_err(migrate)?;
            wire(store)
        } else if url.starts_with("mysql://") {
            startup::probe(url).await?;
            let store = MySqlStore::connect(url).await.map_err(connect)?;
            store.migrate().await.map_err(migrate)?;
            wire(store)
        } else if url.starts_with("sqlite:") {
            startup::check_sqlite_folder(url)?;
            let store = SqliteStore::connect(url).await.map_err(connect)?;
            store.migrate().await.map_err(migrate)?;
            wire(store)
        } else {
            return Err(format!(
                "unsupported database URL {}: SHOP_DATABASE_URL (--database-url) must start \
                 with sqlite:, postgres: or mysql:",
                startup::redact(url)
            )
            .into());
        },
    )
}

/// The database `config` names and, when `SHOP_REDIS_URL` is set, Redis
/// for carts, sessions, checkout submit tokens and browsing history
/// (returned too, for the rate limiter, the flash-sale stock and the delay
/// queue).
pub async fn open_storage(config: &Config) -> Result<(Stores, Option<Arc<RedisStore>>), BoxError> {
    let stores = open_database(&config.database_url).await?;
    let Some(redis_url) = config.redis_url.as_deref().filter(|u| !u.trim().is_empty()) else {
        return Ok((stores, None));
    };
    let redis = RedisStore::connect(redis_url, config.redis_prefix.clone())
        .await
        .map_err(|e| {
            format!(
                "cannot use Redis at {}: {e}; start it, or fix or unset SHOP_REDIS_URL (--redis-url)",
                startup::redact(redis_url)
            )
        })?;
    let redis = Arc::new(redis);
    let mut stores = stores
        .with_carts(redis.clone())
        .with_submit_tokens(redis.clone());
    stores.sessions = redis.clone();
    stores.history = redis.clone();
    Ok((stores, Some(redis)))
}

/// Opens the database, seeds it on first start, binds and serves in the
/// background; e-mails go to `notifier`.
pub async fn start(config: &Config, notifier: Arc<dyn Notifier>) -> Result<Server, BoxError> {
    start_with_clock(config, notifier, Arc::new(shop_core::clock::SystemClock)).await
}

/// [`start`] on another clock: an embedding application's, or a test's
/// manual one (an installment period falls due, a campaign ends).
pub async fn start_with_clock(
    config: &Config,
    notifier: Arc<dyn Notifier>,
    clock: Arc<dyn shop_core::clock::Clock>,
) -> Result<Server, BoxError> {
    let listener = tokio::net::TcpListener::bind(config.bind)
        .await
        .map_err(|e| startup::bind_error(config.bind, &e))?;
    let addr = listener.local_addr()?;
    let url = format!("http://{addr}");
    let public_url = config
        .public_url
        .clone()
        .unwrap_or_else(|| url.clone())
        .trim_end_matches('/')
        .to_owned();

    let (stores, redis) = open_storage(config).await?;
    let limiter = match &redis {
        Some(redis) => security::RateLimiter::shared(redis.clone(), config.rate_limit_per_minute),
        None => security::RateLimiter::new(config.rate_limit_per_minute),
    };
    let node = config.node.clone().unwrap_or_else(|| {
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "localhost".to_owned());
        format!("{host}:{}", addr.port())
    });
    let catalog = stores.catalog.clone();
    let passwords = passwords::PasswordPool::per_core();
    let mut builder = Shop::builder(stores)
        .clock(clock)
        .secrets(Arc::new(passwords))
        .notifier(notifier)
        .config(ShopConfig::default());
    if let Some(redis) = redis {
        // Flash-sale crowds are answered by Redis (the database decides),
        // and unpaid orders close at their deadline through its delay
        // queue.
        // (Its read cache is not used: product pages here show stock at
        // once after an order, and the Redis cache is fresh only after
        // the next dispatch.)
        builder = builder.seckill_stock(redis.clone()).delay_queue(redis);
    }
    if let Some(dir) = config.search_dir() {
        let index = search::open(&dir, catalog.clone()).await?;
        builder = builder
            .search_index(Arc::new(index.clone()))
            .listener(Arc::new(shop_search::SearchListener::new(
                index,
                catalog,
                format!("search@{node}"),
            )));
    }
    let real = config.providers.gateways(&public_url)?;
    let sandbox = config.sandbox.enabled(!real.is_empty()).then(|| {
        let secret = config
            .sandbox_secret
            .clone()
            .unwrap_or_else(security::new_token);
        Arc::new(SandboxGateway::new(
            secret.into_bytes(),
            format!("{public_url}/sandbox/pay"),
        ))
    });
    if let Some(sandbox) = &sandbox {
        // With the sandbox on, a pay call that names no gateway uses it.
        builder = builder
            .gateway(sandbox.clone())
            .default_gateway(SandboxGateway::NAME);
    }
    for gateway in real {
        builder = builder.gateway(gateway);
    }
    let shop = builder.build();
    let admin = seed::seed_if_empty(&shop).await?;

    let state = AppState {
        shop: shop.clone(),
        sandbox,
        catalog_cache: cache::CatalogCache::new(Duration::from_millis(config.catalog_cache_ms)),
        limiter: Arc::new(limiter),
        // All of Stripe's settings or none (checked by `gateways` above).
        stripe_publishable_key: config.providers.stripe_publishable_key.clone(),
        public_url,
        http: shop_payments::reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()?,
    };
    let app = routes::router(state.clone());
    let (tx, rx) = oneshot::channel::<()>();
    let timeouts = config.timeouts();
    let serving = tokio::spawn(serve::serve(listener, app, timeouts, async {
        let _ = rx.await;
    }));
    let jobs = Some(jobs::Jobs::start(&shop, node, state.catalog_cache.clone()));
    Ok(Server {
        addr,
        url,
        admin,
        state,
        shutdown: Some(tx),
        serving,
        jobs,
    })
}
