//! The whole purchase over HTTP, on whatever database the app runs on.

use reqwest::StatusCode;
use serde_json::json;

use super::{App, IdExt};

/// register → verify → login → address → cart → checkout token → order
/// (with the demo coupon) → sandbox payment → ship → receive → review →
/// refund applied → refund approved.
pub async fn whole_purchase(app: &App) {
    // Register; logging in before verifying is refused.
    let email = format!("{}@example.com", super::unique("buyer"));
    let a = app
        .post(
            "/api/auth/register",
            None,
            json!({"name": "Buyer", "email": email, "password": "correct horse battery"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    assert_eq!(a.body["email_verified"], false);
    let a = app
        .post(
            "/api/auth/login",
            None,
            json!({"email": email, "password": "correct horse battery"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert_eq!(a.code(), "email_not_verified");

    // Verify with the e-mailed token (once only), then log in.
    let token = app
        .mail
        .verification_token(&email)
        .await
        .expect("verification mail");
    let a = app
        .post("/api/auth/verify", None, json!({"token": token}))
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.body["email_verified"], true);
    let a = app
        .post("/api/auth/verify", None, json!({"token": token}))
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let a = app
        .post(
            "/api/auth/login",
            None,
            json!({"email": email.to_uppercase(), "password": "correct horse battery"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let cookie = a.set_cookie.clone().expect("session cookie");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    let buyer = a.body["token"].as_str().expect("token").to_owned();

    // The cookie works as well as the bearer token.
    let me = app
        .http
        .get(format!("{}/api/me", app.server.url))
        .header("cookie", cookie.split(';').next().unwrap_or_default())
        .send()
        .await
        .expect("me");
    assert_eq!(me.status(), StatusCode::OK);

    // Browse: the tree and a product in a child category.
    let tree = app.get("/api/categories", None).await;
    assert_eq!(tree.status, StatusCode::OK);
    let root = &tree.body[0];
    assert!(root["children"].as_array().is_some_and(|c| !c.is_empty()));
    let root_id = root["category"]["id"].id().expect("category id");
    let in_root = app
        .get(
            &format!("/api/products?category_id={root_id}&per_page=10"),
            None,
        )
        .await;
    assert!(
        in_root.body["total"].as_u64().unwrap_or(0) >= 1,
        "{}",
        in_root.text
    );
    // Sorting and pagination: pages of two walk the price-sorted list.
    let listing = |query: &'static str| async move {
        let a = app.get(&format!("/api/products?{query}"), None).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.text);
        let items = a.body["items"].as_array().cloned().unwrap_or_default();
        let ids: Vec<i64> = items.iter().filter_map(|p| p["id"].id()).collect();
        let prices: Vec<rust_decimal::Decimal> = items
            .iter()
            .filter_map(|p| p["price"]["amount"].as_str()?.parse().ok())
            .collect();
        (ids, prices, a.body["total"].as_u64())
    };
    let (asc, asc_prices, total) = listing("sort=price_asc&per_page=100").await;
    assert_eq!(total, Some(asc.len() as u64));
    assert!(asc.len() >= 3, "the demo catalog");
    assert!(
        asc_prices.windows(2).all(|w| w[0] <= w[1]),
        "{asc_prices:?}"
    );
    let (_, desc_prices, _) = listing("sort=price_desc&per_page=100").await;
    assert!(
        desc_prices.windows(2).all(|w| w[0] >= w[1]),
        "{desc_prices:?}"
    );
    let (page1, _, _) = listing("sort=price_asc&per_page=2&page=1").await;
    let (page2, _, page_total) = listing("sort=price_asc&per_page=2&page=2").await;
    assert_eq!(page_total, total, "every page reports the whole total");
    assert_eq!([page1, page2].concat(), asc[..4.min(asc.len())].to_vec());
    let bad = app.get("/api/products?per_page=0", None).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.text);

    let found = app.get("/api/products?keyword=tea%20cup", None).await;
    assert!(
        found.body["total"].as_u64().unwrap_or(0) >= 1,
        "{}",
        found.text
    );
    let product = found.body["items"][0]["id"].id().expect("product id");
    let detail = app.get(&format!("/api/products/{product}"), None).await;
    let sku = detail.body["skus"][0]["id"].id().expect("sku");
    let stock_before = detail.body["skus"][0]["stock"].as_u64().expect("stock");

    // Favorite it.
    let a = app
        .post(
            &format!("/api/products/{product}/favorite"),
            Some(&buyer),
            json!({}),
        )
        .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    let favs = app.get("/api/favorites", Some(&buyer)).await;
    assert_eq!(favs.body[0]["id"].id(), Some(product));

    // Address, cart, checkout token, order with the demo coupon.
    let address = app.address(&buyer).await;
    // Ids come back as strings (JavaScript-safe); requests take either form.
    assert!(detail.body["skus"][0]["id"].is_string());
    let a = app
        .post(
            "/api/cart",
            Some(&buyer),
            json!({"sku_id": sku.to_string(), "quantity": 3}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.body["sku_id"], json!(sku.to_string()));
    let cart = app.get("/api/cart", Some(&buyer)).await;
    assert_eq!(cart.body.as_array().map(Vec::len), Some(1));
    let submit = app.get("/api/checkout/token", Some(&buyer)).await;
    let submit = submit.body["submit_token"]
        .as_str()
        .expect("token")
        .to_owned();
    let placed = app
        .post(
            "/api/orders",
            Some(&buyer),
            json!({"address_id": address, "items": [{"sku_id": sku, "quantity": 3}],
                   "coupon_code": "WELCOME10", "remark": "ring twice", "submit_token": submit}),
        )
        .await;
    assert_eq!(placed.status, StatusCode::CREATED, "{}", placed.text);
    let order = placed.body["id"].id().expect("order id");
    assert_eq!(placed.body["total"]["amount"], "49.70", "{}", placed.text);
    assert_eq!(placed.body["state"]["status"], "pending");
    let cart = app.get("/api/cart", Some(&buyer)).await;
    assert_eq!(
        cart.body.as_array().map(Vec::len),
        Some(0),
        "bought lines leave the cart"
    );
    let after = app.get(&format!("/api/products/{product}"), None).await;
    assert_eq!(
        after.body["skus"][0]["stock"].as_u64(),
        Some(stock_before - 3)
    );
    let mine = app.get("/api/orders", Some(&buyer)).await;
    assert_eq!(mine.body["total"], 1);

    // Pay on the sandbox page: a signed notification over HTTP pays it.
    let paid = app.pay(&buyer, order).await;
    assert_eq!(paid.status, StatusCode::OK, "{}", paid.text);
    let o = app.get(&format!("/api/orders/{order}"), Some(&buyer)).await;
    assert_eq!(o.body["state"]["status"], "paid", "{}", o.text);
    assert_eq!(o.body["payment"]["method"], "sandbox");
    // Paying again is refused (the order is no longer pending).
    let again = app
        .post(&format!("/api/orders/{order}/pay"), Some(&buyer), json!({}))
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);

    // Admin ships; the buyer confirms and reviews.
    let admin = app.admin().await;
    let listed = app.get("/api/admin/orders?status=paid", Some(&admin)).await;
    assert!(
        listed.body["total"].as_u64().unwrap_or(0) >= 1,
        "{}",
        listed.text
    );
    let a = app
        .post(
            &format!("/api/admin/orders/{order}/ship"),
            Some(&admin),
            json!({"carrier": "SF Express", "tracking_no": "SF123456"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.body["state"]["status"], "shipped");
    let a = app
        .post(
            &format!("/api/orders/{order}/received"),
            Some(&buyer),
            json!({}),
        )
        .await;
    assert_eq!(a.body["state"]["status"], "received", "{}", a.text);
    let item = a.body["items"][0]["id"].id().expect("line id");
    let a = app
        .post(
            &format!("/api/orders/{order}/review"),
            Some(&buyer),
            json!({"reviews": [{"item_id": item, "rating": 5, "text": "Lovely"}]}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.body["state"]["status"], "reviewed");

    // Refund: applied by the buyer, refused by the admin (reason kept),
    // applied again, approved.
    let apply = |reason: &'static str| {
        let buyer = buyer.clone();
        async move {
            app.post(
                &format!("/api/orders/{order}/refund"),
                Some(&buyer),
                json!({ "reason": reason }),
            )
            .await
        }
    };
    let a = apply("too small").await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.body["state"]["refund"], "applied");
    let a = app
        .post(
            &format!("/api/admin/orders/{order}/refund/refuse"),
            Some(&admin),
            json!({"reason": "it is the listed size"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.body["state"]["refund"], "none");
    assert_eq!(a.body["refund_refusal"], "it is the listed size");
    let a = apply("changed my mind").await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.body["state"]["refund"], "applied");
    let a = app
        .post(
            &format!("/api/admin/orders/{order}/refund/approve"),
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.body["status"], "succeeded", "{}", a.text);
    assert_eq!(a.body["amount"]["amount"], "49.70");
    let o = app
        .get(&format!("/api/admin/orders/{order}"), Some(&admin))
        .await;
    assert_eq!(o.body["state"]["refund"], "refunded", "{}", o.text);

    // Logout ends the session.
    let a = app
        .call(
            reqwest::Method::POST,
            "/api/auth/logout",
            Some(&buyer),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    let a = app.get("/api/me", Some(&buyer)).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert_eq!(a.code(), "unauthenticated");
}
