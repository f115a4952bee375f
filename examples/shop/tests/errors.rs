//! Bad input gets its documented JSON error and changes nothing.

mod common;

use common::{App, IdExt};
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_json_wrong_types_and_oversized_bodies_change_nothing() {
    let app = App::sqlite().await;
    let buyer = app.customer("errors").await;
    let (sku, _) = app.some_sku().await;

    let a = app
        .raw(
            Method::POST,
            "/api/cart",
            Some(&buyer),
            b"{\"sku_id\": ".to_vec(),
        )
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert_eq!(a.code(), "invalid_json");
    let a = app
        .post(
            "/api/cart",
            Some(&buyer),
            json!({"sku_id": "one", "quantity": 1}),
        )
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert_eq!(a.code(), "invalid_json");
    assert_eq!(a.body["error"]["field"], "sku_id", "{}", a.text);
    let a = app
        .post(
            "/api/cart",
            Some(&buyer),
            json!({"sku_id": format!("{sku}x"), "quantity": 1}),
        )
        .await;
    assert_eq!(
        a.code(),
        "invalid_json",
        "an id string that is not a number"
    );
    assert_eq!(a.body["error"]["field"], "sku_id", "{}", a.text);
    let a = app
        .post(
            "/api/cart",
            Some(&buyer),
            json!({"sku_id": sku, "quantity": 1.5}),
        )
        .await;
    assert_eq!(a.code(), "invalid_json");
    let a = app
        .post("/api/cart", Some(&buyer), json!({"sku_id": sku}))
        .await;
    assert_eq!(a.code(), "invalid_json", "a missing field");
    assert_eq!(a.body["error"]["field"], "quantity", "{}", a.text);
    let a = app
        .http
        .post(format!("{}/api/cart", app.server.url))
        .bearer_auth(&buyer)
        .body(format!("{{\"sku_id\": {sku}, \"quantity\": 1}}"))
        .send()
        .await
        .expect("send");
    assert_eq!(a.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);

    // 100 KiB of JSON: 413 with the JSON error shape.
    let big = json!({"province": "x".repeat(100 * 1024), "city": "c", "street": "s",
                     "contact_name": "n", "contact_phone": "1"});
    let a = app.post("/api/addresses", Some(&buyer), big).await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", a.text);
    assert_eq!(a.code(), "payload_too_large");

    // Validation errors name the field.
    let a = app
        .post(
            "/api/addresses",
            Some(&buyer),
            json!({"province": "", "city": "c",
              "street": "s", "contact_name": "n", "contact_phone": "1"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert_eq!(a.code(), "validation");
    assert_eq!(a.body["error"]["field"], "province");
    let a = app
        .post(
            "/api/cart",
            Some(&buyer),
            json!({"sku_id": sku, "quantity": 0}),
        )
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);

    // A password longer than any account may have: refused like a wrong one.
    let a = app
        .post(
            "/api/auth/login",
            None,
            json!({"email": app.admin_email, "password": "p".repeat(129)}),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{}", a.text);
    assert_eq!(a.code(), "invalid_credentials");

    // Nothing changed.
    assert_eq!(app.get("/api/cart", Some(&buyer)).await.body, json!([]));
    assert_eq!(
        app.get("/api/addresses", Some(&buyer)).await.body,
        json!([])
    );
    app.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_ids_routes_and_methods_are_json_errors() {
    let app = App::sqlite().await;
    let buyer = app.customer("unknown").await;
    let admin = app.admin().await;
    for (path, token) in [
        ("/api/products/1", None),
        ("/api/orders/1", Some(buyer.as_str())),
        ("/api/addresses/1", Some(buyer.as_str())),
        ("/api/admin/orders/1", Some(admin.as_str())),
        ("/api/nowhere", None),
    ] {
        let a = app.get(path, token).await;
        assert_eq!(a.status, StatusCode::NOT_FOUND, "{path}: {}", a.text);
        assert_eq!(a.code(), "not_found", "{path}");
    }
    let a = app
        .post(
            "/api/cart",
            Some(&buyer),
            json!({"sku_id": 1, "quantity": 1}),
        )
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let a = app
        .post(
            "/api/admin/orders/1/ship",
            Some(&admin),
            json!({"carrier": "c", "tracking_no": "t"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let a = app.get("/api/orders/abc", Some(&buyer)).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert_eq!(a.code(), "invalid_path");
    let a = app.get("/api/products?page=zero", None).await;
    assert_eq!(a.code(), "invalid_query");
    let a = app.get("/api/products?per_page=1000", None).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert_eq!(a.body["error"]["field"], "per_page");
    let a = app
        .call(Method::DELETE, "/api/categories", None, None)
        .await;
    assert_eq!(a.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(a.code(), "method_not_allowed");
    app.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_submit_token_answers_its_order_and_places_no_second() {
    let app = App::sqlite().await;
    let buyer = app.customer("replay").await;
    let address = app.address(&buyer).await;
    let (sku, _) = app.some_sku().await;
    let stock = |detail: serde_json::Value| {
        detail["skus"]
            .as_array()
            .and_then(|s| s.iter().find(|s| s["id"].id() == Some(sku)))
            .and_then(|s| s["stock"].as_u64())
    };
    let product = app.get("/api/products?sort=price_asc", None).await.body["items"][0]["id"]
        .id()
        .expect("product");
    let before = stock(
        app.get(&format!("/api/products/{product}"), None)
            .await
            .body,
    );

    let submit = app.get("/api/checkout/token", Some(&buyer)).await.body["submit_token"]
        .as_str()
        .expect("token")
        .to_owned();
    let body = json!({"address_id": address, "items": [{"sku_id": sku, "quantity": 1}],
                      "remark": "", "submit_token": submit});
    let first = app.post("/api/orders", Some(&buyer), body.clone()).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text);
    // A client that lost the answer retries: it gets the same order.
    let replay = app.post("/api/orders", Some(&buyer), body.clone()).await;
    assert_eq!(replay.status, StatusCode::CREATED, "{}", replay.text);
    assert_eq!(replay.body["id"], first.body["id"]);
    // Another request with the spent token: 409, nothing placed.
    let mut changed = body;
    changed["remark"] = json!("a different request");
    let reused = app.post("/api/orders", Some(&buyer), changed).await;
    assert_eq!(reused.status, StatusCode::CONFLICT, "{}", reused.text);
    assert_eq!(reused.code(), "submit_token_reused");
    assert_eq!(app.get("/api/orders", Some(&buyer)).await.body["total"], 1);
    // Eight copies of one submission at once: one order, all answer it.
    let submit = app.get("/api/checkout/token", Some(&buyer)).await.body["submit_token"]
        .as_str()
        .expect("token")
        .to_owned();
    let body = json!({"address_id": address, "items": [{"sku_id": sku, "quantity": 1}],
                      "remark": "", "submit_token": submit});
    let copies = futures::future::join_all(
        (0..8).map(|_| app.post("/api/orders", Some(&buyer), body.clone())),
    )
    .await;
    let ids: std::collections::BTreeSet<String> = copies
        .iter()
        .map(|a| {
            assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
            a.body["id"].as_str().expect("id").to_owned()
        })
        .collect();
    assert_eq!(ids.len(), 1);
    assert_eq!(app.get("/api/orders", Some(&buyer)).await.body["total"], 2);
    let after = stock(
        app.get(&format!("/api/products/{product}"), None)
            .await
            .body,
    );
    assert_eq!(after, before.map(|s| s - 2), "stock taken once per order");

    // No token, or somebody else's: refused, nothing placed.
    let a = app
        .post(
            "/api/orders",
            Some(&buyer),
            json!({"address_id": address, "items": [{"sku_id": sku, "quantity": 1}], "remark": ""}),
        )
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.text);
    assert_eq!(a.body["error"]["field"], "submit_token", "{}", a.text);
    let other = app.customer("other").await;
    let theirs = app.get("/api/checkout/token", Some(&other)).await.body["submit_token"]
        .as_str()
        .expect("token")
        .to_owned();
    let a = app
        .post(
            "/api/orders",
            Some(&buyer),
            json!({"address_id": address, "items": [{"sku_id": sku, "quantity": 1}],
                   "remark": "", "submit_token": theirs}),
        )
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND, "{}", a.text);
    assert_eq!(app.get("/api/orders", Some(&buyer)).await.body["total"], 2);

    // Out of stock is a 409 and places nothing (the token stays usable).
    let fresh = app.get("/api/checkout/token", Some(&buyer)).await.body["submit_token"]
        .as_str()
        .expect("token")
        .to_owned();
    let a = app
        .post(
            "/api/orders",
            Some(&buyer),
            json!({"address_id": address, "items": [{"sku_id": sku, "quantity": 999}],
                   "remark": "", "submit_token": fresh}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CONFLICT, "{}", a.text);
    assert_eq!(a.code(), "out_of_stock");

    // A coupon whose minimum the order does not reach: 422, nothing placed,
    // the token stays usable.
    let a = app
        .post(
            "/api/orders",
            Some(&buyer),
            json!({"address_id": address, "items": [{"sku_id": sku, "quantity": 1}],
                   "remark": "", "coupon_code": "WELCOME10", "submit_token": fresh}),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.text);
    assert_eq!(a.code(), "coupon_rejected");
    let after_coupon = stock(
        app.get(&format!("/api/products/{product}"), None)
            .await
            .body,
    );
    assert_eq!(after_coupon, before.map(|s| s - 2), "stock untouched");
    let a = app
        .post(
            "/api/orders",
            Some(&buyer),
            json!({"address_id": address, "items": [{"sku_id": sku, "quantity": 1}],
                   "remark": "", "submit_token": fresh}),
        )
        .await;
    assert_eq!(
        a.status,
        StatusCode::CREATED,
        "the refused attempts left the token usable: {}",
        a.text
    );
    assert_eq!(app.get("/api/orders", Some(&buyer)).await.body["total"], 3);
    app.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_notifications_pay_nothing() {
    let app = App::sqlite().await;
    let buyer = app.customer("forger").await;
    let address = app.address(&buyer).await;
    let (sku, _) = app.some_sku().await;
    let placed = app.order(&buyer, address, sku, 1).await;
    let order = placed.body["id"].id().expect("order");
    let no = placed.body["no"].as_str().expect("no").to_owned();
    let amount = placed.body["total"]["amount"]
        .as_str()
        .expect("amount")
        .to_owned();
    let body = format!(
        "event=payment.succeeded&merchant_id=sandbox-merchant&order_no={no}&amount={amount}\
         &currency=CNY&transaction_no=FAKE&paid_at=2026-01-01T00%3A00%3A00Z"
    );
    let ts = chrono::Utc::now().timestamp().to_string();
    let r = app
        .http
        .post(format!("{}/api/payments/sandbox/notify", app.server.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("sandbox-timestamp", ts)
        .header("sandbox-signature", "00".repeat(32))
        .body(body)
        .send()
        .await
        .expect("notify");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let o = app.get(&format!("/api/orders/{order}"), Some(&buyer)).await;
    assert_eq!(o.body["state"]["status"], "pending");
    app.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_register_and_checkout_are_rate_limited() {
    let mut config = shop_example::Config::new(common::sqlite_url());
    config.rate_limit_per_minute = 3;
    let app = App::start_with(config).await;
    let wrong = json!({"email": "nobody@example.com", "password": "wrong password"});
    for _ in 0..3 {
        let a = app.post("/api/auth/login", None, wrong.clone()).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED);
        assert_eq!(a.code(), "invalid_credentials");
    }
    let a = app.post("/api/auth/login", None, wrong).await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(a.code(), "rate_limited");
    for i in 0..4 {
        let a = app
            .post(
                "/api/auth/register",
                None,
                json!({"name": "n", "email": format!("r{i}@example.com"), "password": "x"}),
            )
            .await;
        let expected = if i < 3 {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::TOO_MANY_REQUESTS
        };
        assert_eq!(a.status, expected, "{}", a.text);
    }

    // Placing orders has its own bucket: three attempts, then 429.
    let mut buyer_config = shop_example::Config::new(common::sqlite_url());
    buyer_config.rate_limit_per_minute = 3;
    let shop = App::start_with(buyer_config).await;
    let buyer = shop.customer("hasty").await;
    let empty = json!({"address_id": 1, "items": [], "remark": "", "submit_token": "t"});
    for _ in 0..3 {
        let a = shop.post("/api/orders", Some(&buyer), empty.clone()).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.text);
    }
    let a = shop.post("/api/orders", Some(&buyer), empty).await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(a.code(), "rate_limited");
    shop.server.stop().await;
    app.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lenient_readings_are_refused_and_integral_floats_read_as_integers() {
    let app = App::sqlite().await;
    let buyer = app.customer("strict").await;
    let (sku, _) = app.some_sku().await;
    // A key twice, or text after the JSON: refused, nothing added.
    for body in [
        format!(r#"{{"sku_id":"{sku}","quantity":1,"quantity":999}}"#),
        format!(r#"{{"sku_id":"{sku}","quantity":1}} trailing"#),
    ] {
        let a = app
            .raw(Method::POST, "/api/cart", Some(&buyer), body.into_bytes())
            .await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.text);
        assert_eq!(a.code(), "invalid_json");
    }
    assert_eq!(app.get("/api/cart", Some(&buyer)).await.body, json!([]));
    // 2.0 is the integer 2, as JSON Schema counts it; 1.5 is not.
    let a = app
        .raw(
            Method::POST,
            "/api/cart",
            Some(&buyer),
            format!(r#"{{"sku_id":"{sku}","quantity":2.0}}"#).into_bytes(),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.body["quantity"], 2);
    let a = app
        .raw(
            Method::POST,
            "/api/cart",
            Some(&buyer),
            format!(r#"{{"sku_id":"{sku}","quantity":1.5}}"#).into_bytes(),
        )
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.text);
    // Amounts are plain decimals: no exponent, no sign.
    let admin = app.admin().await;
    for (field, value, min_amount) in [("value", "1e3", "50"), ("min_amount", "5", "+50")] {
        let a = app
            .post(
                "/api/admin/coupons",
                Some(&admin),
                json!({"name": "c", "kind": "fixed", "value": value, "min_amount": min_amount,
                       "total": 1, "enabled": true}),
            )
            .await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.text);
        assert_eq!(a.body["error"]["field"], field, "{}", a.text);
    }
    app.server.stop().await;
}
