//! The example shop's memory under load: the release binary in a process of
//! its own, 500 users registering and logging in at 32 in flight, then 200
//! shoppers racing, 32 at a time, for the 50 units of one SKU. Prints the
//! server's resident memory when idle, its peak, and after the load.
//!
//! ```sh
//! cargo bench -p shop-example --bench memory
//! ```
//!
//! Goal: peak under 128 MiB, and after the load within twice the idle
//! figure. Exactly 50 of the 200 shoppers get the SKU.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::stream::{self, StreamExt};
use serde_json::{json, Value};

const USERS: usize = 500;
const SHOPPERS: usize = 200;
const IN_FLIGHT: usize = 32;
const UNITS: u32 = 50;
const PASSWORD: &str = "a long enough password";

/// `VmRSS` and `VmHWM` (the peak the kernel recorded) of a process, in MiB.
fn memory(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or(f64::NAN, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// The shop, its address, its administrator's password, and the
/// verification tokens it prints, by e-mail address.
struct Shop {
    child: Child,
    base: String,
    admin_password: String,
    tokens: Arc<Mutex<HashMap<String, String>>>,
}

fn start_shop() -> Shop {
    let dir = std::env::temp_dir().join(format!("shop-memory-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_shop-example"))
        .env(
            "SHOP_DATABASE_URL",
            format!("sqlite://{}", dir.join("shop.db").display()),
        )
        .env("SHOP_BIND", "127.0.0.1:0")
        .env("SHOP_RATE_LIMIT_PER_MINUTE", "1000000")
        .env_remove("SHOP_REDIS_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the release binary");
    let tokens = Arc::new(Mutex::new(HashMap::new()));
    let stderr = child.stderr.take().unwrap();
    let seen = tokens.clone();
    std::thread::spawn(move || {
        // Each logged mail starts with "mail to {to} (verify_email, …"; the
        // token is the line of 64 hex digits in its body.
        let mut to = String::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some((_, rest)) = line.split_once("mail to ") {
                if let Some((address, _)) = rest.split_once(" (verify_email,") {
                    to = address.to_owned();
                }
            } else if line.len() == 64 && line.bytes().all(|b| b.is_ascii_hexdigit()) {
                seen.lock().unwrap().insert(to.clone(), line.clone());
            }
        }
    });
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let (mut base, mut admin_password) = (String::new(), String::new());
    for line in lines.by_ref().map_while(Result::ok) {
        if let Some(rest) = line.strip_prefix("shop listening on ") {
            base = rest
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_owned();
        }
        if let Some(rest) = line.split_once("administrator: admin@example.com / ") {
            admin_password = rest.1.to_owned();
        }
        if line.starts_with("API description") {
            break;
        }
    }
    std::thread::spawn(move || for _ in lines {});
    Shop {
        child,
        base,
        admin_password,
        tokens,
    }
}

async fn post(
    http: &reqwest::Client,
    url: String,
    token: Option<&str>,
    body: Value,
) -> (u16, Value) {
    let mut request = http.post(url).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let answer = request.send().await.expect("request");
    let status = answer.status().as_u16();
    (status, answer.json().await.unwrap_or(Value::Null))
}

async fn get(http: &reqwest::Client, url: String, token: &str) -> Value {
    http.get(url)
        .bearer_auth(token)
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json")
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut shop = start_shop();
    let pid = shop.child.id();
    std::thread::sleep(Duration::from_secs(1));
    let (idle, _) = memory(pid);
    let base = shop.base.clone();
    let report = runtime.block_on(async {
        let http = reqwest::Client::new();
        let started = Instant::now();
        let emails: Vec<String> = (0..USERS).map(|i| format!("user{i}@example.com")).collect();
        let registered = stream::iter(emails.iter().cloned())
            .map(|email| {
                let (http, base) = (http.clone(), base.clone());
                async move {
                    post(
                        &http,
                        format!("{base}/api/auth/register"),
                        None,
                        json!({"name": "Shopper", "email": email, "password": PASSWORD}),
                    )
                    .await
                    .0
                }
            })
            .buffer_unordered(IN_FLIGHT)
            .filter(|s| std::future::ready(*s == 201))
            .count()
            .await;
        let register_s = started.elapsed().as_secs_f64();
        // The e-mails are sent from the outbox, a second or so later.
        for _ in 0..300 {
            if shop.tokens.lock().unwrap().len() >= emails.len() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let tokens = shop.tokens.lock().unwrap().clone();
        for email in &emails {
            let token = tokens.get(email).expect("a verification e-mail");
            post(
                &http,
                format!("{base}/api/auth/verify"),
                None,
                json!({"token": token}),
            )
            .await;
        }
        let started = Instant::now();
        let sessions: Vec<String> = stream::iter(emails.iter().cloned())
            .map(|email| {
                let (http, base) = (http.clone(), base.clone());
                async move {
                    let (status, body) = post(
                        &http,
                        format!("{base}/api/auth/login"),
                        None,
                        json!({"email": email, "password": PASSWORD}),
                    )
                    .await;
                    (status == 200).then(|| body["token"].as_str().unwrap_or_default().to_owned())
                }
            })
            .buffer_unordered(IN_FLIGHT)
            .filter_map(std::future::ready)
            .collect()
            .await;
        let login_s = started.elapsed().as_secs_f64();
        let (_, peak_accounts) = memory(pid);

        // The administrator puts 50 units on sale.
        let (_, admin) = post(
            &http,
            format!("{base}/api/auth/login"),
            None,
            json!({"email": "admin@example.com", "password": shop.admin_password}),
        )
        .await;
        let admin = admin["token"].as_str().expect("admin token").to_owned();
        let (status, created) = post(
            &http,
            format!("{base}/api/admin/products"),
            Some(&admin),
            json!({
            "title": "Hot item", "on_sale": true,
            "skus": [{"title": "Only one", "price": "9.90", "stock": UNITS}]}),
        )
        .await;
        assert_eq!(status, 201, "{created}");
        let sku = created["skus"][0]["id"].as_str().expect("sku").to_owned();

        let started = Instant::now();
        let outcomes: Vec<u16> = stream::iter(sessions.into_iter().take(SHOPPERS))
            .map(|session| {
                let (http, base, sku) = (http.clone(), base.clone(), sku.clone());
                async move {
                    let (_, address) = post(
                        &http,
                        format!("{base}/api/addresses"),
                        Some(&session),
                        json!({
                        "province": "Zhejiang", "city": "Hangzhou", "street": "1 Lake Rd",
                        "contact_name": "Ann", "contact_phone": "13900000000"}),
                    )
                    .await;
                    let submit = get(&http, format!("{base}/api/checkout/token"), &session).await;
                    post(
                        &http,
                        format!("{base}/api/orders"),
                        Some(&session),
                        json!({
                        "address_id": address["id"], "items": [{"sku_id": sku, "quantity": 1}],
                        "submit_token": submit["submit_token"]}),
                    )
                    .await
                    .0
                }
            })
            .buffer_unordered(IN_FLIGHT)
            .collect()
            .await;
        let race_s = started.elapsed().as_secs_f64();
        let sold = outcomes.iter().filter(|s| **s == 201).count();
        let refused = outcomes.iter().filter(|s| **s == 409).count();
        (
            registered,
            register_s,
            login_s,
            peak_accounts,
            sold,
            refused,
            race_s,
        )
    });
    std::thread::sleep(Duration::from_secs(2));
    let (after, peak) = memory(pid);
    let (registered, register_s, login_s, peak_accounts, sold, refused, race_s) = report;
    println!(
        "memory benchmark, {} (release binary, SQLite)",
        chrono::Utc::now().format("%Y-%m-%d")
    );
    println!("  {registered} of {USERS} registered in {register_s:.1} s, logged in in {login_s:.1} s ({IN_FLIGHT} in flight)");
    println!("  {SHOPPERS} shoppers for {UNITS} units: {sold} bought, {refused} out of stock, in {race_s:.1} s");
    println!("  RSS idle {idle:.1} MiB | peak after accounts {peak_accounts:.1} MiB | peak {peak:.1} MiB | after the load {after:.1} MiB");
    println!(
        "  goal: peak < 128 MiB ({}), after the load < 2x idle ({})",
        if peak < 128.0 { "met" } else { "MISSED" },
        if after < 2.0 * idle { "met" } else { "MISSED" }
    );
    let _ = shop.child.kill();
    let _ = shop.child.wait();
    assert_eq!(sold, UNITS as usize, "exactly the units in stock are sold");
}
