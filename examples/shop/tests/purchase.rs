//! The whole purchase over HTTP on SQLite, and the API description.

mod common;

use common::App;
use reqwest::StatusCode;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_purchase_on_sqlite() {
    let app = App::sqlite().await;
    common::purchase::whole_purchase(&app).await;
    app.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_describes_every_route() {
    let app = App::sqlite().await;
    let doc = app.get("/openapi.json", None).await;
    assert_eq!(doc.status, StatusCode::OK);
    let paths = doc.body["paths"].as_object().expect("paths");
    // Every route of the router (but /openapi.json itself) is described...
    let routes = [
        "/api/addresses",
        "/api/addresses/{id}",
        "/api/admin/categories",
        "/api/admin/coupons",
        "/api/admin/coupons/{id}",
        "/api/admin/crowdfundings",
        "/api/admin/flash-sales",
        "/api/admin/jobs",
        "/api/admin/orders",
        "/api/admin/orders/{id}",
        "/api/admin/orders/{id}/refund/approve",
        "/api/admin/orders/{id}/refund/refuse",
        "/api/admin/orders/{id}/ship",
        "/api/admin/products",
        "/api/admin/products/{id}",
        "/api/admin/products/{id}/off-sale",
        "/api/admin/products/{id}/skus",
        "/api/admin/skus/{id}",
        "/api/admin/skus/{id}/stock",
        "/api/admin/users",
        "/api/admin/users/{id}/deactivate",
        "/api/admin/users/{id}/reactivate",
        "/api/auth/login",
        "/api/auth/logout",
        "/api/auth/password-reset",
        "/api/auth/password-reset/confirm",
        "/api/auth/register",
        "/api/auth/verify",
        "/api/cart",
        "/api/cart/{sku_id}",
        "/api/categories",
        "/api/checkout/token",
        "/api/crowdfunding/{sku}/orders",
        "/api/crowdfundings",
        "/api/crowdfundings/{id}",
        "/api/favorites",
        "/api/flash-sales",
        "/api/flash-sales/{id}",
        "/api/me",
        "/api/me/history",
        "/api/me/password",
        "/api/orders",
        "/api/orders/{id}",
        "/api/orders/{id}/installments",
        "/api/orders/{id}/installments/options",
        "/api/orders/{id}/installments/{index}/pay",
        "/api/orders/{id}/pay",
        "/api/orders/{id}/received",
        "/api/orders/{id}/refund",
        "/api/orders/{id}/review",
        "/api/payments/{gateway}/notify",
        "/api/products",
        "/api/products/{id}",
        "/api/products/{id}/crowdfunding",
        "/api/products/{id}/favorite",
        "/api/products/{id}/similar",
        "/api/search",
        "/api/seckill/{sku}/orders",
        "/sandbox/pay",
        "/stripe/checkout",
        "/stripe/done",
    ];
    let mut described: Vec<&str> = paths.keys().map(String::as_str).collect();
    described.sort_unstable();
    assert_eq!(described, routes);
    // ... and every described (path, method) is served by the router: none
    // falls through to "no such endpoint" or 405.
    let admin = app.admin().await;
    for (path, item) in paths {
        let concrete = path
            .replace("{id}", "1")
            .replace("{sku_id}", "1")
            .replace("{sku}", "1")
            .replace("{index}", "1")
            .replace("{gateway}", "sandbox");
        for method in item.as_object().expect("path item").keys() {
            let method: reqwest::Method = method.to_uppercase().parse().expect("a method");
            let body = (method != reqwest::Method::GET && method != reqwest::Method::DELETE)
                .then(|| serde_json::json!({}));
            let a = app
                .call(method.clone(), &concrete, Some(&admin), body)
                .await;
            assert_ne!(
                a.status,
                StatusCode::METHOD_NOT_ALLOWED,
                "{method} {path}: {}",
                a.text
            );
            assert_ne!(
                a.body["error"]["message"], "no such endpoint",
                "{method} {path} is described but not routed"
            );
        }
    }
    assert!(doc.body["components"]["schemas"]["PlaceOrderBody"].is_object());
    // Success bodies are schematised too, down to the core types.
    let schemas = &doc.body["components"]["schemas"];
    for schema in [
        "Order",
        "OrderItem",
        "Money",
        "Product",
        "CategoryNode",
        "Refund",
        "Page_Order",
    ] {
        assert!(schemas[schema].is_object(), "schema {schema} is missing");
    }
    assert_eq!(
        schemas["SkuId"]["type"], "string",
        "ids are strings in JSON: {}",
        schemas["SkuId"]
    );
    assert!(
        schemas["Account"]["properties"]
            .get("password_hash")
            .is_none(),
        "the password hash is never part of the API"
    );
    let placed = &doc.body["paths"]["/api/orders"]["post"]["responses"]["201"];
    assert!(
        placed.to_string().contains("#/components/schemas/Order"),
        "{placed}"
    );
    assert!(doc.body["components"]["schemas"]["ErrorResponse"].is_object());
    let refused = &doc.body["paths"]["/api/orders"]["post"]["responses"]["409"];
    assert!(refused.to_string().contains("ErrorResponse"), "{refused}");
    app.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_keeps_the_data_and_does_not_seed_again() {
    let url = common::sqlite_url();
    let app = App::start_with(shop_example::Config::new(url.clone())).await;
    let before = app.get("/api/products", None).await.body["total"].clone();
    app.server.stop().await;
    let again = shop_example::start(
        &shop_example::Config::new(url),
        std::sync::Arc::new(shop_example::notifier::RecordingNotifier::new()),
    )
    .await
    .expect("restart");
    assert!(again.admin.is_none());
    let r = reqwest::get(format!("{}/api/products", again.url))
        .await
        .expect("list");
    let body: serde_json::Value = r.json().await.expect("json");
    assert_eq!(body["total"], before);
    again.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_seeding_of_an_empty_database_seeds_once() {
    let stores = shop_example::open_database(&common::sqlite_url())
        .await
        .unwrap();
    let ids = std::sync::Arc::new(shop_core::ids::SequentialIds::default());
    let shop = shop_core::Shop::builder(stores)
        .ids(ids)
        .secrets(std::sync::Arc::new(
            shop_example::passwords::PasswordPool::per_core(),
        ))
        .build();
    let results = futures::future::join_all((0..5).map(|_| {
        let shop = shop.clone();
        tokio::spawn(async move {
            shop_example::seed::seed_if_empty(&shop)
                .await
                .map_err(|e| e.to_string())
        })
    }))
    .await;
    let results: Vec<_> = results.into_iter().map(|r| r.unwrap()).collect();
    let seeded = results.iter().filter(|r| matches!(r, Ok(Some(_)))).count();
    assert_eq!(seeded, 1, "{results:?}");
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(shop.category_tree().await.unwrap().len(), 2);
    assert_eq!(shop.list_accounts(1, 10).await.unwrap().total, 1);
    assert!(shop_example::seed::seed_if_empty(&shop)
        .await
        .unwrap()
        .is_none());
}
