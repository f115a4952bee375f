//! Shared by the end-to-end tests: a real server on a free port, driven
//! over HTTP.
#![allow(dead_code, unreachable_pub)]

pub mod purchase;
pub mod servers;

use std::sync::Arc;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use shop_example::notifier::RecordingNotifier;
use shop_example::{Config, Server};

/// The password of the customers the tests register.
pub const PASSWORD: &str = "correct horse battery";

/// A name no other test uses.
pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_nanos()
        % 1_000_000_000_000;
    format!(
        "{prefix}{}_{nanos}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A fresh SQLite database file URL.
pub fn sqlite_url() -> String {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("shop-example");
    std::fs::create_dir_all(&dir).expect("temp dir");
    format!(
        "sqlite://{}",
        dir.join(format!("{}.db", unique("t_"))).display()
    )
}

/// Called when a test server cannot be reached: fails under `CI`, else
/// skips loudly.
pub fn server_missing<T>(what: &str, url: &str, error: impl std::fmt::Display) -> Option<T> {
    if std::env::var_os("CI").is_some() {
        panic!("{what} at {url} is unreachable and CI is set: {error}");
    }
    eprintln!(
        "\n*** SKIPPED: {what} at {url} is unreachable ({error}); start it to run this test ***\n"
    );
    None
}

/// A running app and an HTTP client for it.
pub struct App {
    pub server: Server,
    pub mail: Arc<RecordingNotifier>,
    pub http: reqwest::Client,
    pub admin_email: String,
    pub admin_password: String,
}

/// An HTTP answer: status and JSON body (`Value::Null` when not JSON).
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub body: Value,
    pub text: String,
    pub set_cookie: Option<String>,
}

impl Answer {
    /// The error code of a JSON error body.
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
}

impl App {
    /// Starts the app on `config` (fresh, so it seeds).
    pub async fn start_with(config: Config) -> App {
        App::start_with_clock(config, Arc::new(shop_core::clock::SystemClock)).await
    }

    /// Starts the app on `config` and `clock` (fresh, so it seeds).
    pub async fn start_with_clock(config: Config, clock: Arc<dyn shop_core::clock::Clock>) -> App {
        let mail = Arc::new(RecordingNotifier::new());
        let server = shop_example::start_with_clock(&config, mail.clone(), clock)
            .await
            .expect("start the app");
        let admin = server.admin.clone().expect("a fresh database is seeded");
        App {
            server,
            mail,
            http: reqwest::Client::new(),
            admin_email: admin.email,
            admin_password: admin.password,
        }
    }

    /// Starts the app on a fresh SQLite file, with a generous rate limit.
    pub async fn sqlite() -> App {
        let mut config = Config::new(sqlite_url());
        config.rate_limit_per_minute = 1000;
        App::start_with(config).await
    }

    /// Sends `body` (JSON when given) with an optional bearer token.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.server.url));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        answer(req.send().await.expect("request")).await
    }

    /// Sends raw bytes as JSON.
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Vec<u8>,
    ) -> Answer {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.server.url))
            .header("content-type", "application/json")
            .body(body);
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        answer(req.send().await.expect("request")).await
    }

    /// GET.
    pub async fn get(&self, path: &str, token: Option<&str>) -> Answer {
        self.call(Method::GET, path, token, None).await
    }

    /// POST with a JSON body.
    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Answer {
        self.call(Method::POST, path, token, Some(body)).await
    }

    /// Logs in; returns the bearer token.
    pub async fn login(&self, email: &str, password: &str) -> String {
        let a = self
            .post(
                "/api/auth/login",
                None,
                json!({"email": email, "password": password}),
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "login: {}", a.text);
        a.body["token"].as_str().expect("token").to_owned()
    }

    /// The administrator's bearer token.
    pub async fn admin(&self) -> String {
        self.login(&self.admin_email, &self.admin_password).await
    }

    /// Registers, verifies through the e-mailed token and logs in a customer.
    pub async fn customer(&self, name: &str) -> String {
        self.customer_with_email(name).await.0
    }

    /// [`App::customer`], also answering the e-mail address (the password
    /// is [`PASSWORD`]).
    pub async fn customer_with_email(&self, name: &str) -> (String, String) {
        let email = format!("{}@example.com", unique(name));
        let password = PASSWORD;
        let a = self
            .post(
                "/api/auth/register",
                None,
                json!({"name": name, "email": email, "password": password}),
            )
            .await;
        assert_eq!(a.status, StatusCode::CREATED, "register: {}", a.text);
        // The job runner dispatches every second of the shop's clock; on a
        // test's manual clock that second may never come.
        self.server.state.shop.dispatch_events().await.unwrap();
        let token = self
            .mail
            .verification_token(&email)
            .await
            .expect("verification mail");
        let a = self
            .post("/api/auth/verify", None, json!({"token": token}))
            .await;
        assert_eq!(a.status, StatusCode::OK, "verify: {}", a.text);
        let token = self.login(&email, password).await;
        (token, email)
    }

    /// The first on-sale product's first SKU id and price string.
    pub async fn some_sku(&self) -> (i64, String) {
        let list = self.get("/api/products?sort=price_asc", None).await;
        let id = list.body["items"][0]["id"].id().expect("a product");
        let detail = self.get(&format!("/api/products/{id}"), None).await;
        let sku = &detail.body["skus"][0];
        (
            sku["id"].id().expect("sku id"),
            sku["price"]["amount"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        )
    }

    /// A valid address of the caller; returns its id.
    pub async fn address(&self, token: &str) -> i64 {
        let a = self
            .post(
                "/api/addresses",
                Some(token),
                json!({"province": "Zhejiang", "city": "Hangzhou", "district": "Xihu",
                       "street": "1 Lake Rd", "zip": "310000", "contact_name": "Wang Fang",
                       "contact_phone": "13900000000"}),
            )
            .await;
        assert_eq!(a.status, StatusCode::CREATED, "address: {}", a.text);
        a.body["id"].id().expect("address id")
    }

    /// Puts `quantity` of `sku` in the cart and places an order with a
    /// fresh submit token; returns the answer.
    pub async fn order(&self, token: &str, address: i64, sku: i64, quantity: i64) -> Answer {
        let a = self
            .post(
                "/api/cart",
                Some(token),
                json!({"sku_id": sku, "quantity": quantity}),
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "cart: {}", a.text);
        let submit = self.get("/api/checkout/token", Some(token)).await;
        let submit = submit.body["submit_token"].as_str().expect("submit token");
        self.post(
            "/api/orders",
            Some(token),
            json!({"address_id": address, "items": [{"sku_id": sku, "quantity": quantity}],
                   "remark": "", "submit_token": submit}),
        )
        .await
    }

    /// Pays an order through the sandbox pay page's button.
    pub async fn pay(&self, token: &str, order: i64) -> Answer {
        let a = self
            .post(&format!("/api/orders/{order}/pay"), Some(token), json!({}))
            .await;
        assert_eq!(a.status, StatusCode::OK, "pay: {}", a.text);
        let url = a.body["redirect_url"]
            .as_str()
            .expect("redirect")
            .to_owned();
        let page = self.http.get(&url).send().await.expect("pay page");
        assert_eq!(page.status(), StatusCode::OK);
        self.press_pay(token, &url::order_no(&url)).await
    }

    /// Presses the sandbox pay page's button for `no` (an order's or an
    /// installment period's number) as the holder of `token`.
    pub async fn press_pay(&self, token: &str, no: &str) -> Answer {
        let r = self
            .http
            .post(format!("{}/sandbox/pay", self.server.url))
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("order_no={no}"))
            .send()
            .await
            .expect("pay button");
        answer(r).await
    }

    /// The `order_no` of a sandbox pay page's URL.
    pub fn order_no_of(url: &str) -> String {
        url::order_no(url)
    }
}

mod url {
    /// The `order_no` query parameter of a pay-page URL.
    pub fn order_no(url: &str) -> String {
        let query = url.split_once('?').map_or("", |(_, q)| q);
        query
            .split('&')
            .find_map(|p| p.strip_prefix("order_no="))
            .expect("order_no in the pay URL")
            .to_owned()
    }
}

async fn answer(r: reqwest::Response) -> Answer {
    let status = r.status();
    let set_cookie = r
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let text = r.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Answer {
        status,
        body,
        text,
        set_cookie,
    }
}

/// Reads ids from JSON answers: the API writes them as decimal strings.
pub trait IdExt {
    /// The id, from a decimal string (or an integer).
    fn id(&self) -> Option<i64>;
}

impl IdExt for Value {
    fn id(&self) -> Option<i64> {
        match self {
            Value::String(s) => s.parse().ok(),
            other => other.as_i64(),
        }
    }
}
