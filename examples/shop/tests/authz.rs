//! The authorization matrix: another user's ids and anonymous calls are
//! refused and change nothing; admin endpoints refuse non-admins.

mod common;

use common::{App, IdExt};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_users_and_anonymous_callers_are_refused_and_change_nothing() {
    let app = App::sqlite().await;
    let alice = app.customer("alice").await;
    let mallory = app.customer("mallory").await;
    let address = app.address(&alice).await;
    let (sku, _) = app.some_sku().await;
    let placed = app.order(&alice, address, sku, 1).await;
    assert_eq!(placed.status, StatusCode::CREATED, "{}", placed.text);
    let order = placed.body["id"].id().expect("order");
    let order_before = app
        .get(&format!("/api/orders/{order}"), Some(&alice))
        .await
        .body;
    let address_before = app
        .get(&format!("/api/addresses/{address}"), Some(&alice))
        .await
        .body;

    let new_address = json!({"province": "P", "city": "C", "street": "S",
                             "contact_name": "Mallory", "contact_phone": "1"});
    let calls: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, format!("/api/orders/{order}"), None),
        (
            Method::POST,
            format!("/api/orders/{order}/pay"),
            Some(json!({})),
        ),
        (
            Method::POST,
            format!("/api/orders/{order}/received"),
            Some(json!({})),
        ),
        (
            Method::POST,
            format!("/api/orders/{order}/review"),
            Some(json!({"reviews": []})),
        ),
        (
            Method::POST,
            format!("/api/orders/{order}/refund"),
            Some(json!({"reason": "mine now"})),
        ),
        (Method::GET, format!("/api/addresses/{address}"), None),
        (
            Method::PUT,
            format!("/api/addresses/{address}"),
            Some(new_address),
        ),
        (Method::DELETE, format!("/api/addresses/{address}"), None),
        (
            Method::POST,
            "/api/orders".to_owned(),
            Some(
                json!({"address_id": address, "items": [{"sku_id": sku, "quantity": 1}],
                       "remark": "", "submit_token": "t"}),
            ),
        ),
    ];
    for (method, path, body) in &calls {
        let a = app
            .call(method.clone(), path, Some(&mallory), body.clone())
            .await;
        assert!(
            [StatusCode::FORBIDDEN, StatusCode::NOT_FOUND].contains(&a.status),
            "{method} {path} as another user: {} {}",
            a.status,
            a.text
        );
        assert!(a.body["error"]["code"].is_string());
        let a = app.call(method.clone(), path, None, body.clone()).await;
        assert_eq!(
            a.status,
            StatusCode::UNAUTHORIZED,
            "{method} {path} anonymously"
        );
        assert_eq!(a.code(), "unauthenticated");
        let a = app
            .call(method.clone(), path, Some("not-a-session"), body.clone())
            .await;
        assert_eq!(
            a.status,
            StatusCode::UNAUTHORIZED,
            "{method} {path} with a bad token"
        );
    }
    // Carts and favorites are the caller's own: Mallory's changes touch
    // only hers, and anonymous calls are refused.
    let added = app
        .post(
            "/api/cart",
            Some(&alice),
            json!({"sku_id": sku, "quantity": 2}),
        )
        .await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.text);
    let product = app.get("/api/products?sort=price_asc", None).await.body["items"][0]["id"]
        .id()
        .expect("product");
    let favorite = format!("/api/products/{product}/favorite");
    let a = app.call(Method::POST, &favorite, Some(&alice), None).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.text);
    let cart_before = app.get("/api/cart", Some(&alice)).await.body;
    let favorites_before = app.get("/api/favorites", Some(&alice)).await.body;
    let line = format!("/api/cart/{sku}");
    let a = app
        .call(
            Method::PATCH,
            &line,
            Some(&mallory),
            Some(json!({"quantity": 5})),
        )
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND, "{}", a.text);
    let a = app.call(Method::DELETE, &line, Some(&mallory), None).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.text);
    let a = app
        .call(Method::DELETE, &favorite, Some(&mallory), None)
        .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.text);
    for (method, path, body) in [
        (Method::GET, "/api/cart".to_owned(), None),
        (
            Method::POST,
            "/api/cart".to_owned(),
            Some(json!({"sku_id": sku, "quantity": 1})),
        ),
        (Method::PATCH, line.clone(), Some(json!({"quantity": 5}))),
        (Method::DELETE, line.clone(), None),
        (Method::GET, "/api/favorites".to_owned(), None),
        (Method::POST, favorite.clone(), None),
        (Method::DELETE, favorite.clone(), None),
        (Method::GET, "/api/checkout/token".to_owned(), None),
    ] {
        let a = app.call(method.clone(), &path, None, body).await;
        assert_eq!(
            a.status,
            StatusCode::UNAUTHORIZED,
            "{method} {path} anonymously"
        );
    }
    assert_eq!(app.get("/api/cart", Some(&alice)).await.body, cart_before);
    assert_eq!(
        app.get("/api/favorites", Some(&alice)).await.body,
        favorites_before
    );
    assert_eq!(app.get("/api/cart", Some(&mallory)).await.body, json!([]));

    // Mallory's lists do not show Alice's things.
    assert_eq!(
        app.get("/api/orders", Some(&mallory)).await.body["total"],
        0
    );
    assert_eq!(
        app.get("/api/addresses", Some(&mallory)).await.body,
        json!([])
    );

    // Nothing changed.
    let order_after = app
        .get(&format!("/api/orders/{order}"), Some(&alice))
        .await
        .body;
    assert_eq!(order_after, order_before);
    let address_after = app
        .get(&format!("/api/addresses/{address}"), Some(&alice))
        .await
        .body;
    assert_eq!(address_after, address_before);
    app.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_endpoints_refuse_customers_and_anonymous_callers() {
    let app = App::sqlite().await;
    let buyer = app.customer("customer").await;
    let admin = app.admin().await;
    // Real ids, so "changes nothing" is checked on things that exist.
    let address = app.address(&buyer).await;
    let (sku, _) = app.some_sku().await;
    let placed = app.order(&buyer, address, sku, 1).await;
    let order = placed.body["id"].id().expect("order");
    let product = app.get("/api/products?sort=price_asc", None).await.body["items"][0]["id"]
        .id()
        .expect("product");
    let coupons_before = app.get("/api/admin/coupons", Some(&admin)).await.body;
    let coupon = coupons_before[0]["id"].id().expect("the demo coupon");
    let product_before = app
        .get(&format!("/api/products/{product}"), None)
        .await
        .body;
    let order_before = app
        .get(&format!("/api/admin/orders/{order}"), Some(&admin))
        .await
        .body;
    let categories_before = app.get("/api/categories", None).await.body;
    let sku_body = json!({"title": "t", "price": "1.00", "stock": 1});
    let calls: Vec<(Method, String, Option<Value>)> = vec![
        (
            Method::POST,
            "/api/admin/products".to_owned(),
            Some(json!({"title": "t", "on_sale": true, "skus": [sku_body.clone()]})),
        ),
        (
            Method::PUT,
            format!("/api/admin/products/{product}"),
            Some(json!({"title": "t", "on_sale": true})),
        ),
        (
            Method::POST,
            format!("/api/admin/products/{product}/off-sale"),
            Some(json!({})),
        ),
        (
            Method::POST,
            format!("/api/admin/products/{product}/skus"),
            Some(sku_body.clone()),
        ),
        (
            Method::PUT,
            format!("/api/admin/skus/{sku}"),
            Some(sku_body.clone()),
        ),
        (
            Method::POST,
            format!("/api/admin/skus/{sku}/stock"),
            Some(json!({"delta": 100})),
        ),
        (
            Method::POST,
            "/api/admin/categories".to_owned(),
            Some(json!({"name": "c"})),
        ),
        (Method::GET, "/api/admin/orders".to_owned(), None),
        (Method::GET, format!("/api/admin/orders/{order}"), None),
        (
            Method::POST,
            format!("/api/admin/orders/{order}/ship"),
            Some(json!({"carrier": "c", "tracking_no": "t"})),
        ),
        (
            Method::POST,
            format!("/api/admin/orders/{order}/refund/approve"),
            Some(json!({})),
        ),
        (
            Method::POST,
            format!("/api/admin/orders/{order}/refund/refuse"),
            Some(json!({"reason": "no"})),
        ),
        (Method::GET, "/api/admin/coupons".to_owned(), None),
        (
            Method::POST,
            "/api/admin/coupons".to_owned(),
            Some(
                json!({"name": "x", "kind": "fixed", "value": "5", "min_amount": "10.00", "total": 5, "enabled": true}),
            ),
        ),
        (
            Method::PUT,
            format!("/api/admin/coupons/{coupon}"),
            Some(
                json!({"name": "x", "kind": "fixed", "value": "5", "min_amount": "10.00", "total": 5, "enabled": false}),
            ),
        ),
        (Method::DELETE, format!("/api/admin/coupons/{coupon}"), None),
        (Method::GET, "/api/admin/users".to_owned(), None),
    ];
    for (method, path, body) in &calls {
        let a = app
            .call(method.clone(), path, Some(&buyer), body.clone())
            .await;
        assert_eq!(
            a.status,
            StatusCode::FORBIDDEN,
            "{method} {path} as a customer: {}",
            a.text
        );
        assert_eq!(a.code(), "forbidden");
        let a = app.call(method.clone(), path, None, body.clone()).await;
        assert_eq!(
            a.status,
            StatusCode::UNAUTHORIZED,
            "{method} {path} anonymously"
        );
    }
    assert_eq!(
        app.get("/api/admin/coupons", Some(&admin)).await.body,
        coupons_before
    );
    assert_eq!(
        app.get(&format!("/api/products/{product}"), None)
            .await
            .body,
        product_before
    );
    assert_eq!(
        app.get(&format!("/api/admin/orders/{order}"), Some(&admin))
            .await
            .body,
        order_before
    );
    assert_eq!(
        app.get("/api/categories", None).await.body,
        categories_before
    );
    app.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn administrators_manage_the_catalog_and_coupons() {
    let app = App::sqlite().await;
    let admin = app.admin().await;
    let c = app
        .post(
            "/api/admin/categories",
            Some(&admin),
            json!({"name": "Garden", "is_directory": false}),
        )
        .await;
    assert_eq!(c.status, StatusCode::CREATED, "{}", c.text);
    let category = c.body["id"].id().expect("category");
    let p = app
        .post(
            "/api/admin/products",
            Some(&admin),
            json!({"title": "Watering can", "on_sale": true, "category_id": category,
                   "properties": [{"name": "volume", "value": "5 l"}],
                   "skus": [{"title": "Green", "price": "35.00", "stock": 5},
                            {"title": "Red", "price": "32.50", "stock": 5}]}),
        )
        .await;
    assert_eq!(p.status, StatusCode::CREATED, "{}", p.text);
    let product = p.body["product"]["id"].id().expect("product");
    assert_eq!(p.body["product"]["price"]["amount"], "32.50");
    let listed = app
        .get(&format!("/api/products?category_id={category}"), None)
        .await;
    assert_eq!(listed.body["total"], 1);
    let u = app
        .call(
            Method::PUT,
            &format!("/api/admin/products/{product}"),
            Some(&admin),
            Some(json!({"title": "Big watering can", "on_sale": true, "category_id": category})),
        )
        .await;
    assert_eq!(u.body["title"], "Big watering can", "{}", u.text);
    let off = app
        .post(
            &format!("/api/admin/products/{product}/off-sale"),
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!(off.body["on_sale"], false);
    let gone = app.get(&format!("/api/products/{product}"), None).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);

    let coupon = app
        .post(
            "/api/admin/coupons",
            Some(&admin),
            json!({"name": "Ten percent", "kind": "percent", "value": "10", "min_amount": "0.01",
                   "total": 10, "enabled": true}),
        )
        .await;
    assert_eq!(coupon.status, StatusCode::CREATED, "{}", coupon.text);
    assert_eq!(coupon.body["code"].as_str().map(str::len), Some(16));
    let id = coupon.body["id"].id().expect("coupon");
    let bad = app
        .post(
            "/api/admin/coupons",
            Some(&admin),
            json!({"name": "Bad", "kind": "percent", "value": "150", "min_amount": "0.01",
                   "total": 10, "enabled": true}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.body["error"]["field"], "value");
    let upd = app
        .call(
            Method::PUT,
            &format!("/api/admin/coupons/{id}"),
            Some(&admin),
            Some(
                json!({"name": "Ten percent", "kind": "percent", "value": "10",
                        "min_amount": "0.01", "total": 10, "enabled": false}),
            ),
        )
        .await;
    assert_eq!(upd.body["enabled"], false, "{}", upd.text);
    let recode = app
        .call(
            Method::PUT,
            &format!("/api/admin/coupons/{id}"),
            Some(&admin),
            Some(
                json!({"code": "NEWCODE1", "name": "Ten percent", "kind": "percent", "value": "10",
                        "min_amount": "0.01", "total": 10, "enabled": true}),
            ),
        )
        .await;
    assert_eq!(recode.status, StatusCode::CONFLICT, "{}", recode.text);
    assert_eq!(recode.body["error"]["code"], "refused");
    assert_eq!(recode.body["error"]["field"], "code");
    let del = app
        .call(
            Method::DELETE,
            &format!("/api/admin/coupons/{id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(del.status, StatusCode::NO_CONTENT);
    let users = app.get("/api/admin/users", Some(&admin)).await;
    assert!(users.body["total"].as_u64().unwrap_or(0) >= 1);
    assert!(
        !users.text.contains("argon2"),
        "password hashes never leave"
    );

    // SKUs: add one (the product's price follows), edit it, adjust stock;
    // a stock change past the limits is refused and changes nothing.
    let added = app
        .post(
            &format!("/api/admin/products/{product}/skus"),
            Some(&admin),
            json!({"title": "Blue", "price": "29.90", "stock": 3}),
        )
        .await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.text);
    let sku = added.body["id"].id().expect("sku");
    let edited = app
        .call(
            Method::PUT,
            &format!("/api/admin/skus/{sku}"),
            Some(&admin),
            Some(json!({"title": "Navy", "price": "30.00", "stock": 999})),
        )
        .await;
    assert_eq!(edited.body["title"], "Navy", "{}", edited.text);
    assert_eq!(edited.body["stock"], 3, "stock changes only through /stock");
    let stock = |delta: i64| {
        let app = &app;
        let admin = admin.clone();
        async move {
            app.post(
                &format!("/api/admin/skus/{sku}/stock"),
                Some(&admin),
                json!({ "delta": delta }),
            )
            .await
        }
    };
    let more = stock(7).await;
    assert_eq!(more.body["stock"], 10, "{}", more.text);
    let short = stock(-11).await;
    assert_eq!(short.status, StatusCode::CONFLICT, "{}", short.text);
    assert_eq!(short.code(), "out_of_stock");
    let huge = stock(2_000_000_000).await;
    assert_eq!(huge.status, StatusCode::BAD_REQUEST, "{}", huge.text);
    assert_eq!(huge.body["error"]["field"], "delta");
    assert_eq!(stock(0).await.body["stock"], 10, "nothing changed");
    let bad_price = app
        .post(
            &format!("/api/admin/products/{product}/skus"),
            Some(&admin),
            json!({"title": "Free", "price": "zero", "stock": 1}),
        )
        .await;
    assert_eq!(
        bad_price.status,
        StatusCode::BAD_REQUEST,
        "{}",
        bad_price.text
    );
    assert_eq!(bad_price.body["error"]["field"], "sku.price");
    app.server.stop().await;
}
