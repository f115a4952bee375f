//! The example shop's search over HTTP, from the index beside its SQLite
//! file: the seeded catalog is found by Chinese and English keywords with a
//! sidebar, an administrator's edit is found by its new title after the
//! next dispatch, similar products, and bad parameters answer 400.

mod common;

use std::time::Duration;

use common::*;
use reqwest::StatusCode;
use serde_json::json;

/// Polls `path` until `done` holds for the answer (the outbox is
/// dispatched every second).
async fn eventually(app: &App, path: &str, done: impl Fn(&Answer) -> bool) -> Answer {
    for _ in 0..100 {
        let a = app.get(path, None).await;
        if done(&a) {
            return a;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    app.get(path, None).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_answers_from_the_index_and_follows_edits() {
    let app = App::sqlite().await;
    // The seeded catalog reaches the index through the outbox.
    let all = eventually(&app, "/api/search", |a| a.body["total"].as_u64() >= Some(4)).await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.text);
    let total = all.body["total"].as_u64().unwrap();
    assert!(total >= 4, "{}", all.text);
    assert!(
        all.body["categories"]
            .as_array()
            .is_some_and(|c| !c.is_empty()),
        "{}",
        all.text
    );
    assert!(
        all.body["price_buckets"]
            .as_array()
            .is_some_and(|c| !c.is_empty()),
        "{}",
        all.text
    );

    let admin = app.admin().await;
    let created = app
        .post(
            "/api/admin/products",
            Some(&admin),
            json!({"title": "Espresso machine 咖啡机", "on_sale": true,
                   "properties": [{"name": "颜色", "value": "银色"}],
                   "skus": [{"title": "Only", "price": "899.00", "stock": 3}]}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let id = created.body["product"]["id"].id().expect("product id");
    let found = eventually(&app, "/api/search?keyword=咖啡机", |a| {
        a.body["total"] == 1
    })
    .await;
    assert_eq!(
        found.body["items"][0]["id"].id(),
        Some(id),
        "{}",
        found.text
    );
    let listed = app.get("/api/products?keyword=espresso", None).await;
    assert_eq!(listed.body["total"], 1, "{}", listed.text);

    // The administrator renames it: found by the new title, not the old.
    let renamed = app
        .call(
            reqwest::Method::PUT,
            &format!("/api/admin/products/{id}"),
            Some(&admin),
            Some(json!({"title": "Coffee grinder 磨豆机", "on_sale": true,
                        "properties": [{"name": "颜色", "value": "银色"}]})),
        )
        .await;
    assert_eq!(renamed.status, StatusCode::OK, "{}", renamed.text);
    let found = eventually(&app, "/api/search?keyword=grinder", |a| {
        a.body["total"] == 1
    })
    .await;
    assert_eq!(
        found.body["items"][0]["id"].id(),
        Some(id),
        "{}",
        found.text
    );
    let old = app.get("/api/search?keyword=espresso", None).await;
    assert_eq!(old.body["total"], 0, "{}", old.text);

    // Filters and the property sidebar.
    let silver = app
        .get(
            "/api/search?properties=颜色:银色&in_stock=true&sort=price_desc",
            None,
        )
        .await;
    assert_eq!(silver.body["total"], 1, "{}", silver.text);
    assert!(silver.body["facets"]
        .as_array()
        .is_some_and(|f| !f.is_empty()));
    let similar = app
        .get(&format!("/api/products/{id}/similar?limit=5"), None)
        .await;
    assert_eq!(similar.status, StatusCode::OK, "{}", similar.text);

    // Bad parameters: 400 with the error body.
    for bad in [
        "/api/search?min_price=10&max_price=1",
        "/api/search?min_price=abc",
        "/api/search?properties=nocolon",
        "/api/search?sort=sideways",
        "/api/search?page=0",
    ] {
        let a = app.get(bad, None).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{bad}: {}", a.text);
        assert!(a.body["error"]["code"].is_string(), "{bad}: {}", a.text);
    }
    let far = app.get("/api/search?page=1000000000", None).await;
    assert_eq!(far.status, StatusCode::OK, "{}", far.text);
    assert_eq!(far.body["items"], json!([]));
    let long = app
        .get(&format!("/api/search?keyword={}", "手".repeat(300)), None)
        .await;
    assert!(long.status.is_client_error(), "{}", long.status);
    app.server.stop().await;
}
