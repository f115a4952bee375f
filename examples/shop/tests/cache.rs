//! The catalog micro-cache: a client never reads its own write stale; a
//! write through another instance shows within the cache's lifetime.

mod common;

use std::time::Duration;

use common::{sqlite_url, App};
use reqwest::StatusCode;
use serde_json::json;
use shop_example::Config;

/// Two instances on one database with the cache kept `cache_ms`: a write
/// on A shows on A at once; a write on B shows on A after `wait_ms`.
async fn two_instances(cache_ms: u64, wait_ms: u64) {
    let url = sqlite_url();
    let mut config = Config::new(url.clone());
    config.rate_limit_per_minute = 1000;
    config.catalog_cache_ms = cache_ms;
    let a = App::start_with(config.clone()).await;
    // A second instance on the same database (seeded already), without a
    // search index (an index folder serves one instance).
    let mut second = config.clone();
    second.search_dir = Some("off".into());
    let b = shop_example::start(
        &second,
        std::sync::Arc::new(shop_notify::LogNotifier::default()),
    )
    .await
    .unwrap();
    let (sku, _) = a.some_sku().await;
    let product = a.get("/api/products?sort=price_asc", None).await.body["items"][0]["id"]
        .as_str()
        .expect("a product")
        .to_owned();
    let path = format!("/api/products/{product}");
    let stock = |body: &serde_json::Value| {
        body["skus"]
            .as_array()
            .and_then(|s| {
                s.iter()
                    .find(|s| s["id"].as_str() == Some(&sku.to_string()))
            })
            .and_then(|s| s["stock"].as_u64())
            .expect("the SKU's stock")
    };
    let before = stock(&a.get(&path, None).await.body);

    // A's own write: the next read on A shows it.
    let admin = a.admin().await;
    let adjusted = a
        .post(
            &format!("/api/admin/skus/{sku}/stock"),
            Some(&admin),
            json!({"delta": -1}),
        )
        .await;
    assert_eq!(adjusted.status, StatusCode::OK, "{}", adjusted.text);
    assert_eq!(stock(&a.get(&path, None).await.body), before - 1);

    // A write through B: A may serve its kept answer for the lifetime, not
    // longer.
    let http = reqwest::Client::new();
    let login: serde_json::Value = http
        .post(format!("{}/api/auth/login", b.url))
        .json(&json!({"email": a.admin_email, "password": a.admin_password}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let b_admin = login["token"].as_str().expect("a token");
    let answer = http
        .post(format!("{}/api/admin/skus/{sku}/stock", b.url))
        .bearer_auth(b_admin)
        .json(&json!({"delta": -1}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(wait_ms)).await;
    assert_eq!(stock(&a.get(&path, None).await.body), before - 2);
    b.stop().await;
    a.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn own_writes_show_at_once_and_other_instances_writes_within_the_lifetime() {
    two_instances(400, 450).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_cache_other_instances_writes_show_at_once() {
    two_instances(0, 0).await;
}
