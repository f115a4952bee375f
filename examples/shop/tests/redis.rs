//! The app with `SHOP_REDIS_URL` set: carts, sessions and rate limits in
//! Redis, shared by every instance. The whole purchase on SQLite + Redis;
//! two instances on one PostgreSQL sharing sessions, carts and buckets
//! through one Redis; an unreachable Redis refusing the start. Skipped
//! loudly when a server is unreachable, unless `CI` is set.

mod common;

use common::servers::{clear_redis, redis_authority, redis_prefix, redis_url, TestDatabase};
use common::{App, IdExt};
use reqwest::StatusCode;
use serde_json::json;
use shop_core::account::SessionStore;
use shop_core::cart::CartStore;
use shop_core::ids::UserId;
use shop_example::security::token_digest;
use shop_example::Config;
use shop_storage_redis::RedisStore;
use shop_storage_sql::PgStore;

fn config(db: &str, redis: &str, prefix: &str, per_minute: u32) -> Config {
    let mut config = Config::new(db);
    config.rate_limit_per_minute = per_minute;
    config.sandbox_secret = Some("shared-test-secret".to_owned());
    config.redis_url = Some(redis.to_owned());
    config.redis_prefix = prefix.to_owned();
    config
}

/// Another instance on an already seeded database.
async fn second_instance(first: &App, config: &Config) -> App {
    // One mailbox for both, as one SMTP server: either instance may send.
    let mail = first.mail.clone();
    let server = shop_example::start(config, mail.clone())
        .await
        .expect("second instance");
    assert!(server.admin.is_none(), "seeded once");
    App {
        server,
        mail,
        http: reqwest::Client::new(),
        admin_email: first.admin_email.clone(),
        admin_password: first.admin_password.clone(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_purchase_with_carts_and_sessions_in_redis() {
    let Some(redis) = redis_url().await else {
        return;
    };
    let prefix = redis_prefix();
    let app = App::start_with(config(&common::sqlite_url(), &redis, &prefix, 1000)).await;
    common::purchase::whole_purchase(&app).await;
    app.server.stop().await;
    clear_redis(&redis, &prefix).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_share_sessions_carts_and_rate_limits_through_redis() {
    let Some(redis_url) = redis_url().await else {
        return;
    };
    let Some(db) = TestDatabase::postgres().await else {
        return;
    };
    let prefix = redis_prefix();
    let shared = config(&db.url, &redis_url, &prefix, 1000);
    let a = App::start_with(shared.clone()).await;
    let b = second_instance(&a, &shared).await;
    let redis = RedisStore::connect(&redis_url, prefix.clone())
        .await
        .unwrap();
    let pg = PgStore::connect(&db.url).await.unwrap();

    // A session opened on A is in Redis (not the database) and works on B.
    let token = a.customer("roamer").await;
    let digest = token_digest(&token);
    let now = chrono::Utc::now();
    let session = redis.get_session(&digest, now).await.unwrap();
    assert!(session.is_some(), "the session is in Redis");
    assert_eq!(pg.get_session(&digest, now).await.unwrap(), None);
    let me = b.get("/api/me", Some(&token)).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.text);
    let user = UserId(me.body["id"].id().expect("user id"));

    // A cart filled on A is in Redis and seen on B; the order placed on B
    // takes the bought line out of the Redis cart.
    let (sku, _) = a.some_sku().await;
    let added = a
        .post(
            "/api/cart",
            Some(&token),
            json!({"sku_id": sku, "quantity": 2}),
        )
        .await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.text);
    assert_eq!(redis.list_cart(user).await.unwrap().len(), 1);
    assert!(pg.list_cart(user).await.unwrap().is_empty());
    let cart = b.get("/api/cart", Some(&token)).await;
    assert_eq!(cart.body.as_array().map(Vec::len), Some(1), "{}", cart.text);
    let address = b.address(&token).await;
    let submit = b.get("/api/checkout/token", Some(&token)).await.body["submit_token"]
        .as_str()
        .expect("submit token")
        .to_owned();
    let placed = b
        .post(
            "/api/orders",
            Some(&token),
            json!({"address_id": address, "items": [{"sku_id": sku, "quantity": 2}],
                   "remark": "", "submit_token": submit}),
        )
        .await;
    assert_eq!(placed.status, StatusCode::CREATED, "{}", placed.text);
    assert!(redis.list_cart(user).await.unwrap().is_empty());
    let cart = a.get("/api/cart", Some(&token)).await;
    assert_eq!(cart.body.as_array().map(Vec::len), Some(0), "{}", cart.text);

    // Logging out on B ends the session on A.
    let out = b
        .call(
            reqwest::Method::POST,
            "/api/auth/logout",
            Some(&token),
            None,
        )
        .await;
    assert_eq!(out.status, StatusCode::NO_CONTENT, "{}", out.text);
    assert_eq!(redis.get_session(&digest, now).await.unwrap(), None);
    let me = a.get("/api/me", Some(&token)).await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED);
    assert_eq!(me.code(), "unauthenticated");

    // Two more instances with a limit of 5 logins a minute and buckets of
    // their own: 16 logins spread over both get exactly 5 answers that are
    // not 429.
    let limited_prefix = redis_prefix();
    let limited = config(&db.url, &redis_url, &limited_prefix, 5);
    let c = second_instance(&a, &limited).await;
    let d = second_instance(&a, &limited).await;
    let attempts = futures::future::join_all((0..16).map(|i| {
        let app = if i % 2 == 0 { &c } else { &d };
        async move {
            app.post(
                "/api/auth/login",
                None,
                json!({"email": "nobody@example.com", "password": "not the password"}),
            )
            .await
        }
    }))
    .await;
    let limited_out = attempts
        .iter()
        .filter(|r| r.status == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!(limited_out, 11, "exactly 5 of 16 logins pass the limit");
    for r in &attempts {
        match r.status {
            StatusCode::UNAUTHORIZED => assert_eq!(r.code(), "invalid_credentials"),
            StatusCode::TOO_MANY_REQUESTS => assert_eq!(r.code(), "rate_limited"),
            other => panic!("unexpected {other}: {}", r.text),
        }
    }

    for app in [a, b, c, d] {
        app.server.stop().await;
    }
    clear_redis(&redis_url, &prefix).await;
    clear_redis(&redis_url, &limited_prefix).await;
    db.drop_now().await;
}

#[tokio::test]
async fn an_unreachable_redis_refuses_the_start_with_a_clear_error() {
    let mut config = Config::new(common::sqlite_url());
    config.redis_url = Some("redis://127.0.0.1:1".to_owned());
    let err = match shop_example::start(
        &config,
        std::sync::Arc::new(shop_notify::LogNotifier::default()),
    )
    .await
    {
        Ok(_) => panic!("started without its Redis"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("Redis"), "{err}");
}

/// Forwards 127.0.0.1:`port` (0: any free port, returned) to `target` until
/// the returned task is aborted, which also drops every open forwarded
/// connection.
async fn proxy(target: String, port: u16) -> (u16, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    let port = listener.local_addr().unwrap().port();
    let task = tokio::spawn(async move {
        let mut connections = tokio::task::JoinSet::new();
        while let Ok((mut inbound, _)) = listener.accept().await {
            let target = target.clone();
            connections.spawn(async move {
                if let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
    (port, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_going_away_answers_503_and_changes_nothing() {
    let Some(redis_url) = redis_url().await else {
        return;
    };
    let (target, via) = redis_authority(&redis_url);
    let (port, forwarding) = proxy(target.clone(), 0).await;
    let prefix = redis_prefix();
    let app = App::start_with(config(
        &common::sqlite_url(),
        &via(&format!("127.0.0.1:{port}")),
        &prefix,
        1000,
    ))
    .await;
    let token = app.customer("stranded").await;
    let (sku, _) = app.some_sku().await;
    let cart = app.get("/api/cart", Some(&token)).await;
    assert_eq!(cart.body, json!([]));

    forwarding.abort();
    let _ = forwarding.await;
    let me = app.get("/api/me", Some(&token)).await;
    assert_eq!(me.status, StatusCode::SERVICE_UNAVAILABLE, "{}", me.text);
    assert_eq!(me.code(), "unavailable");
    let login = app
        .post(
            "/api/auth/login",
            None,
            json!({"email": "nobody@example.com", "password": "not the password"}),
        )
        .await;
    assert_eq!(
        login.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        login.text
    );
    let added = app
        .post(
            "/api/cart",
            Some(&token),
            json!({"sku_id": sku, "quantity": 1}),
        )
        .await;
    assert_eq!(
        added.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        added.text
    );
    // The catalog lives in SQLite and still answers.
    let list = app.get("/api/products?sort=price_asc", None).await;
    assert_eq!(list.status, StatusCode::OK);

    // Redis is back: the same session works again (once the connection
    // manager has reconnected) and the cart is as it was.
    let (_, forwarding) = proxy(target, port).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let cart = loop {
        let cart = app.get("/api/cart", Some(&token)).await;
        if cart.status != StatusCode::SERVICE_UNAVAILABLE || std::time::Instant::now() > deadline {
            break cart;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    assert_eq!(cart.status, StatusCode::OK, "{}", cart.text);
    assert_eq!(cart.body, json!([]));
    forwarding.abort();
    app.server.stop().await;
    clear_redis(&redis_url, &prefix).await;
}
