//! Crowdfunding over HTTP on SQLite: a campaign that reaches its target
//! (its orders then ship), one that fails (its paid order is refunded
//! through the sandbox gateway), and bad input that changes nothing. The
//! campaigns end a few seconds after they start; the test runs the job's
//! work (`Shop::finish_crowdfundings`) itself rather than wait a minute
//! for the runner.

mod common;

use std::time::Duration;

use common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

/// A crowdfunding product with one SKU at `price` and its campaign, ending
/// `seconds` from now; (SKU id, campaign id).
async fn campaign(app: &App, admin: &str, target: &str, seconds: i64) -> (i64, i64, i64) {
    let created = app
        .post(
            "/api/admin/products",
            Some(admin),
            json!({"title": "Solar lamp", "kind": "crowdfunding", "on_sale": true,
                   "skus": [{"title": "Standard", "price": "100.00", "stock": 100}]}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let product = created.body["product"]["id"].id().expect("product id");
    let sku = created.body["skus"][0]["id"].id().expect("sku id");
    let ends_at = chrono::Utc::now() + chrono::Duration::seconds(seconds);
    let c = app
        .post(
            "/api/admin/crowdfundings",
            Some(admin),
            json!({"product_id": product.to_string(), "target": target,
                   "ends_at": ends_at.to_rfc3339()}),
        )
        .await;
    assert_eq!(c.status, StatusCode::CREATED, "{}", c.text);
    (product, sku, c.body["id"].id().expect("campaign id"))
}

async fn back(app: &App, token: &str, sku: i64, quantity: i64) -> Answer {
    let address = app.address(token).await;
    app.post(
        &format!("/api/crowdfunding/{sku}/orders"),
        Some(token),
        json!({"address_id": address.to_string(), "quantity": quantity}),
    )
    .await
}

async fn until_over(app: &App, campaign: i64) {
    let view = app
        .get(&format!("/api/crowdfundings/{campaign}"), None)
        .await;
    let ends: chrono::DateTime<chrono::Utc> = view.body["ends_at"]
        .as_str()
        .expect("ends_at")
        .parse()
        .expect("a time");
    let left = (ends - chrono::Utc::now()).to_std().unwrap_or_default();
    tokio::time::sleep(left + Duration::from_millis(50)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_campaign_that_reaches_its_target_ships_its_orders() {
    let app = App::sqlite().await;
    let admin = app.admin().await;
    let (product, sku, id) = campaign(&app, &admin, "300.00", 4).await;
    let (a, b) = (
        app.customer("backer-a").await,
        app.customer("backer-b").await,
    );
    let first = back(&app, &a, sku, 1).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text);
    assert_eq!(first.body["kind"], "crowdfunding");
    let second = back(&app, &b, sku, 2).await;
    assert_eq!(second.status, StatusCode::CREATED, "{}", second.text);
    let (first, second) = (
        first.body["id"].id().expect("order"),
        second.body["id"].id().expect("order"),
    );
    let paid = app.pay(&a, first).await;
    assert!(paid.status.is_success(), "{}", paid.text);
    let paid = app.pay(&b, second).await;
    assert!(paid.status.is_success(), "{}", paid.text);
    app.server.state.shop.dispatch_events().await.unwrap();

    let view = app
        .get(&format!("/api/products/{product}/crowdfunding"), None)
        .await;
    assert_eq!(view.status, StatusCode::OK, "{}", view.text);
    assert_eq!(view.body["status"], "funding");
    assert_eq!(view.body["total"]["amount"], "300.00");
    assert_eq!(view.body["buyers"], 2);
    assert_eq!(view.body["progress"], "100.00");
    assert_eq!(view.body["open"], true);
    let listed = app.get("/api/crowdfundings?status=funding", None).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text);
    assert!(listed.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .any(|c| c["id"].id() == Some(id)));

    // No shipping and no refund application while it funds.
    let ship = app
        .post(
            &format!("/api/admin/orders/{first}/ship"),
            Some(&admin),
            json!({"carrier": "SF", "tracking_no": "SF1"}),
        )
        .await;
    assert_eq!(ship.status, StatusCode::CONFLICT, "{}", ship.text);
    assert_eq!(ship.code(), "crowdfunding_not_succeeded");
    let refund = app
        .post(
            &format!("/api/orders/{first}/refund"),
            Some(&a),
            json!({"reason": "changed my mind"}),
        )
        .await;
    assert_eq!(refund.status, StatusCode::CONFLICT, "{}", refund.text);

    until_over(&app, id).await;
    let late = back(&app, &a, sku, 1).await;
    assert_eq!(late.status, StatusCode::CONFLICT, "{}", late.text);
    assert_eq!(late.code(), "crowdfunding_closed");
    let report = app.server.state.shop.finish_crowdfundings().await.unwrap();
    assert_eq!(report.decided.len(), 1, "{report:?}");
    let view = app.get(&format!("/api/crowdfundings/{id}"), None).await;
    assert_eq!(view.body["status"], "success", "{}", view.text);
    assert_eq!(view.body["open"], false);
    let ship = app
        .post(
            &format!("/api/admin/orders/{first}/ship"),
            Some(&admin),
            json!({"carrier": "SF", "tracking_no": "SF1"}),
        )
        .await;
    assert_eq!(ship.status, StatusCode::OK, "{}", ship.text);
    app.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_campaign_below_its_target_refunds_its_paid_orders() {
    let app = App::sqlite().await;
    let admin = app.admin().await;
    let (_, sku, id) = campaign(&app, &admin, "10000.00", 3).await;
    let a = app.customer("backer-c").await;
    let order = back(&app, &a, sku, 1).await;
    assert_eq!(order.status, StatusCode::CREATED, "{}", order.text);
    let order = order.body["id"].id().expect("order");
    let paid = app.pay(&a, order).await;
    assert!(paid.status.is_success(), "{}", paid.text);
    let unpaid = back(&app, &a, sku, 3).await;
    assert_eq!(unpaid.status, StatusCode::CREATED, "{}", unpaid.text);
    let unpaid = unpaid.body["id"].id().expect("order");

    until_over(&app, id).await;
    let report = app.server.state.shop.finish_crowdfundings().await.unwrap();
    assert_eq!(report.refunds, 1, "{report:?}");
    assert_eq!(report.closed, 1, "{report:?}");
    let view = app.get(&format!("/api/crowdfundings/{id}"), None).await;
    assert_eq!(view.body["status"], "fail", "{}", view.text);
    assert_eq!(view.body["progress"], "1.00");
    let refunded = app.get(&format!("/api/orders/{order}"), Some(&a)).await;
    assert_eq!(
        refunded.body["state"]["refund"], "refunded",
        "{}",
        refunded.text
    );
    let closed = app.get(&format!("/api/orders/{unpaid}"), Some(&a)).await;
    assert_eq!(closed.body["state"]["status"], "closed", "{}", closed.text);
    // The next run has nothing left to do.
    let again = app.server.state.shop.finish_crowdfundings().await.unwrap();
    assert_eq!((again.refunds, again.decided.len()), (0, 0));
    // The buyer was told.
    app.server.state.shop.dispatch_events().await.unwrap();
    app.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_crowdfunding_input_is_refused_and_changes_nothing() {
    let app = App::sqlite().await;
    let admin = app.admin().await;
    let customer = app.customer("backer-d").await;
    let (product, sku, id) = campaign(&app, &admin, "500.00", 3600).await;
    let before = app
        .get(&format!("/api/crowdfundings/{id}"), None)
        .await
        .body;

    let ends = (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339();
    let past = (chrono::Utc::now() - chrono::Duration::days(1)).to_rfc3339();
    let (normal_sku, _) = app.some_sku().await;
    let normal_product = {
        let listed = app.get("/api/products?sort=price_asc", None).await;
        listed.body["items"][0]["id"].id().expect("a product")
    };
    let cases: Vec<(&str, Value, StatusCode, &str)> = vec![
        (
            "a second campaign for the product",
            json!({"product_id": product.to_string(), "target": "1.00", "ends_at": ends}),
            StatusCode::CONFLICT,
            "already_exists",
        ),
        (
            "a normal product",
            json!({"product_id": normal_product.to_string(), "target": "1.00", "ends_at": ends}),
            StatusCode::CONFLICT,
            "refused",
        ),
        (
            "a target that is not an amount",
            json!({"product_id": product.to_string(), "target": "lots", "ends_at": ends}),
            StatusCode::BAD_REQUEST,
            "validation",
        ),
        (
            "an end in the past",
            json!({"product_id": product.to_string(), "target": "1.00", "ends_at": past}),
            StatusCode::BAD_REQUEST,
            "validation",
        ),
        (
            "an unknown product",
            json!({"product_id": "424242", "target": "1.00", "ends_at": ends}),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
    ];
    for (what, body, status, code) in cases {
        let a = app
            .post("/api/admin/crowdfundings", Some(&admin), body)
            .await;
        assert_eq!(a.status, status, "{what}: {}", a.text);
        assert_eq!(a.code(), code, "{what}: {}", a.text);
    }
    let forbidden = app
        .post(
            "/api/admin/crowdfundings",
            Some(&customer),
            json!({"product_id": product.to_string(), "target": "1.00", "ends_at": ends}),
        )
        .await;
    assert_eq!(
        forbidden.status,
        StatusCode::FORBIDDEN,
        "{}",
        forbidden.text
    );

    let address = app.address(&customer).await;
    let order_cases: Vec<(&str, i64, Value, StatusCode)> = vec![
        (
            "a normal product",
            normal_sku,
            json!({"address_id": address.to_string()}),
            StatusCode::CONFLICT,
        ),
        (
            "no units",
            sku,
            json!({"address_id": address.to_string(), "quantity": 0}),
            StatusCode::BAD_REQUEST,
        ),
        (
            "more than in stock",
            sku,
            json!({"address_id": address.to_string(), "quantity": 101}),
            StatusCode::CONFLICT,
        ),
        (
            "somebody else's address",
            sku,
            json!({"address_id": "1"}),
            StatusCode::NOT_FOUND,
        ),
        (
            "an unknown SKU",
            424_242,
            json!({"address_id": address.to_string()}),
            StatusCode::NOT_FOUND,
        ),
    ];
    for (what, sku, body, status) in order_cases {
        let a = app
            .post(
                &format!("/api/crowdfunding/{sku}/orders"),
                Some(&customer),
                body,
            )
            .await;
        assert_eq!(a.status, status, "{what}: {}", a.text);
    }
    let anonymous = app
        .post(
            &format!("/api/crowdfunding/{sku}/orders"),
            None,
            json!({"address_id": address.to_string()}),
        )
        .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    let orders = app.get("/api/orders", Some(&customer)).await;
    assert_eq!(orders.body["total"], 0, "{}", orders.text);
    let after = app
        .get(&format!("/api/crowdfundings/{id}"), None)
        .await
        .body;
    assert_eq!(before, after);
    let unknown = app.get("/api/crowdfundings/424242", None).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    app.server.stop().await;
}
