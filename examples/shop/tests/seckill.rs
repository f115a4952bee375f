//! Flash sales over HTTP: the administrator sets one up, the storefront
//! lists it with the units left, a buyer gets one unit and no second, a
//! sold-out sale and unknown SKUs answer with their codes. And the buyer's
//! recently viewed products.

mod common;

use common::*;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flash_sale_from_setup_to_sold_out() {
    let app = App::sqlite().await;
    let admin = app.admin().await;
    let created = app
        .post(
            "/api/admin/products",
            Some(&admin),
            json!({"title": "Flash phone", "kind": "seckill", "on_sale": true,
                   "skus": [{"title": "Black", "price": "2999.00", "stock": 0}]}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let sku = created.body["skus"][0]["id"].id().expect("sku id");

    let now = chrono::Utc::now();
    let sale_body = |quantity: i64| {
        json!({"sku_id": sku.to_string(), "price": "1.00", "quantity": quantity,
               "starts_at": (now - chrono::Duration::minutes(1)).to_rfc3339(),
               "ends_at": (now + chrono::Duration::hours(1)).to_rfc3339()})
    };
    let customer = app.customer("flashbuyer").await;
    let refused = app
        .post("/api/admin/flash-sales", Some(&customer), sale_body(2))
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
    let sale = app
        .post("/api/admin/flash-sales", Some(&admin), sale_body(1))
        .await;
    assert_eq!(sale.status, StatusCode::CREATED, "{}", sale.text);
    let sale_id = sale.body["id"].id().expect("sale id");
    let again = app
        .post("/api/admin/flash-sales", Some(&admin), sale_body(1))
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.text);

    let listed = app.get("/api/flash-sales", None).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text);
    let on = listed.body.as_array().expect("a list");
    assert_eq!(on.len(), 1, "{}", listed.text);
    assert_eq!(on[0]["phase"], "open");
    assert_eq!(on[0]["remaining"], 1);

    let address = app.address(&customer).await;
    let bought = app
        .post(
            &format!("/api/seckill/{sku}/orders"),
            Some(&customer),
            json!({"address_id": address.to_string()}),
        )
        .await;
    assert_eq!(bought.status, StatusCode::CREATED, "{}", bought.text);
    assert_eq!(bought.body["kind"], "seckill");
    assert_eq!(bought.body["total"]["amount"], "1.00");
    let twice = app
        .post(
            &format!("/api/seckill/{sku}/orders"),
            Some(&customer),
            json!({"address_id": address.to_string()}),
        )
        .await;
    assert_eq!(twice.status, StatusCode::CONFLICT, "{}", twice.text);
    assert!(
        matches!(
            twice.code(),
            "flash_sale_sold_out" | "flash_sale_already_bought"
        ),
        "{}",
        twice.text
    );
    let other = app.customer("latebuyer").await;
    let their_address = app.address(&other).await;
    let late = app
        .post(
            &format!("/api/seckill/{sku}/orders"),
            Some(&other),
            json!({"address_id": their_address.to_string()}),
        )
        .await;
    assert_eq!(late.status, StatusCode::CONFLICT, "{}", late.text);
    assert_eq!(late.code(), "flash_sale_sold_out", "{}", late.text);
    let one = app.get(&format!("/api/flash-sales/{sale_id}"), None).await;
    assert_eq!(one.body["remaining"], 0, "{}", one.text);

    let unknown = app
        .post(
            "/api/seckill/1/orders",
            Some(&other),
            json!({"address_id": their_address.to_string()}),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND, "{}", unknown.text);
    let anonymous = app
        .post(
            &format!("/api/seckill/{sku}/orders"),
            None,
            json!({"address_id": their_address.to_string()}),
        )
        .await;
    assert_eq!(
        anonymous.status,
        StatusCode::UNAUTHORIZED,
        "{}",
        anonymous.text
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recently_viewed_products_newest_first() {
    let app = App::sqlite().await;
    let buyer = app.customer("viewer").await;
    let products = app.get("/api/products?per_page=3", None).await;
    let ids: Vec<i64> = products.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|p| p["id"].id())
        .collect();
    assert!(ids.len() >= 2, "{}", products.text);
    for id in ids.iter().chain([&ids[0]]) {
        let viewed = app
            .post(
                "/api/me/history",
                Some(&buyer),
                json!({"product_id": id.to_string()}),
            )
            .await;
        assert_eq!(viewed.status, StatusCode::NO_CONTENT, "{}", viewed.text);
    }
    let history = app.get("/api/me/history?limit=2", Some(&buyer)).await;
    assert_eq!(history.status, StatusCode::OK, "{}", history.text);
    let seen: Vec<i64> = history
        .body
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|p| p["id"].id())
        .collect();
    assert_eq!(seen, [ids[0], *ids.last().unwrap()]);
    let unknown = app
        .post("/api/me/history", Some(&buyer), json!({"product_id": "1"}))
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND, "{}", unknown.text);
    let anonymous = app.get("/api/me/history", None).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
}
