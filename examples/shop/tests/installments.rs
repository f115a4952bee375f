//! Installments over HTTP on SQLite, on a manual clock: an order paid
//! period by period through the sandbox gateway, one period late and its
//! fine paid; and bad input that changes nothing.

mod common;

use std::sync::Arc;

use chrono::{Duration, Utc};
use common::*;
use reqwest::StatusCode;
use serde_json::json;
use shop_core::clock::ManualClock;

async fn app(clock: Arc<ManualClock>) -> App {
    let mut config = shop_example::Config::new(sqlite_url());
    config.rate_limit_per_minute = 1000;
    App::start_with_clock(config, clock).await
}

/// A product at `price` with 10 in stock; its SKU id.
async fn sku(app: &App, admin: &str, price: &str) -> i64 {
    let created = app
        .post(
            "/api/admin/products",
            Some(admin),
            json!({"title": "Sofa", "on_sale": true,
                   "skus": [{"title": "Grey", "price": price, "stock": 10}]}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    created.body["skus"][0]["id"].id().expect("sku id")
}

/// Pays period `index` of `order` through the sandbox's pay page.
async fn pay_period(app: &App, token: &str, order: i64, index: u32) -> Answer {
    let a = app
        .post(
            &format!("/api/orders/{order}/installments/{index}/pay"),
            Some(token),
            json!({}),
        )
        .await;
    if a.status != StatusCode::OK {
        return a;
    }
    let url = a.body["redirect_url"]
        .as_str()
        .expect("redirect")
        .to_owned();
    let no = App::order_no_of(&url);
    assert!(no.starts_with("IP"), "{url}");
    app.press_pay(token, &no).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_paid_in_three_periods_one_late_with_its_fine() {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let app = app(clock.clone()).await;
    let admin = app.admin().await;
    let sku = sku(&app, &admin, "200.00").await;
    let (token, email) = app.customer_with_email("payer").await;
    let address = app.address(&token).await;
    let order = app.order(&token, address, sku, 2).await;
    assert_eq!(order.status, StatusCode::CREATED, "{}", order.text);
    let order = order.body["id"].id().expect("order");

    let options = app
        .get(
            &format!("/api/orders/{order}/installments/options"),
            Some(&token),
        )
        .await;
    assert_eq!(options.status, StatusCode::OK, "{}", options.text);
    let counts: Vec<u64> = options
        .body
        .as_array()
        .expect("options")
        .iter()
        .map(|o| o["terms"]["count"].as_u64().unwrap_or_default())
        .collect();
    assert_eq!(counts, [3, 6, 12]);

    let plan = app
        .post(
            &format!("/api/orders/{order}/installments"),
            Some(&token),
            json!({"count": 3}),
        )
        .await;
    assert_eq!(plan.status, StatusCode::CREATED, "{}", plan.text);
    let periods = plan.body["periods"].as_array().expect("periods").clone();
    let bases: Vec<&str> = periods
        .iter()
        .map(|p| p["base"]["amount"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(bases, ["133.33", "133.33", "133.34"]);
    // 133.33 × 1.5 % = 1.99995 → 2.00.
    assert_eq!(periods[0]["fee"]["amount"], "2.00");

    // Not out of order.
    let early = pay_period(&app, &token, order, 2).await;
    assert_eq!(early.status, StatusCode::CONFLICT, "{}", early.text);

    let first = pay_period(&app, &token, order, 1).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    let paid = app.get(&format!("/api/orders/{order}"), Some(&token)).await;
    assert_eq!(paid.body["state"]["status"], "paid", "{}", paid.text);
    assert_eq!(paid.body["payment"]["method"], "installment");
    let again = pay_period(&app, &token, order, 1).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.text);

    // 35 days on: period 2 (due 30 days after the first) is 4 whole days
    // late. The session has expired meanwhile: log in again.
    clock.advance(Duration::days(35));
    let token = app.login(&email, PASSWORD).await;
    app.server
        .state
        .shop
        .apply_installment_fines()
        .await
        .unwrap();
    let plan = app
        .get(&format!("/api/orders/{order}/installments"), Some(&token))
        .await;
    assert_eq!(plan.status, StatusCode::OK, "{}", plan.text);
    // (133.33 + 2.00) × 4 × 0.05 % = 0.27066.
    assert_eq!(
        plan.body["periods"][1]["fine"]["amount"], "0.27",
        "{}",
        plan.text
    );
    assert_eq!(plan.body["periods"][2]["fine"]["amount"], "0.00");
    assert_eq!(plan.body["status"], "repaying");

    let second = pay_period(&app, &token, order, 2).await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.text);
    let third = pay_period(&app, &token, order, 3).await;
    assert_eq!(third.status, StatusCode::OK, "{}", third.text);
    let plan = app
        .get(&format!("/api/orders/{order}/installments"), Some(&token))
        .await;
    assert_eq!(plan.body["status"], "finished", "{}", plan.text);
    assert_eq!(plan.body["periods"][1]["fine"]["amount"], "0.27");
    assert!(plan.body["periods"]
        .as_array()
        .expect("periods")
        .iter()
        .all(|p| p["payment"]["method"] == "sandbox"));
    app.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_installment_input_is_refused_and_changes_nothing() {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let app = app(clock).await;
    let admin = app.admin().await;
    let big = sku(&app, &admin, "500.00").await;
    let small = sku(&app, &admin, "100.00").await;
    let buyer = app.customer("planner").await;
    let other = app.customer("stranger").await;
    let address = app.address(&buyer).await;
    let order = app.order(&buyer, address, big, 1).await;
    let order = order.body["id"].id().expect("order");
    let cheap = app.order(&buyer, address, small, 1).await;
    let cheap = cheap.body["id"].id().expect("order");

    let cases = [
        (
            cheap,
            Some(&buyer),
            json!({"count": 3}),
            StatusCode::CONFLICT,
            "refused",
        ),
        (
            order,
            Some(&other),
            json!({"count": 3}),
            StatusCode::FORBIDDEN,
            "forbidden",
        ),
        (
            order,
            Some(&buyer),
            json!({"count": 4}),
            StatusCode::BAD_REQUEST,
            "validation",
        ),
        (
            order,
            Some(&buyer),
            json!({"count": "three"}),
            StatusCode::BAD_REQUEST,
            "",
        ),
        (
            order,
            None,
            json!({"count": 3}),
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
        ),
    ];
    for (id, token, body, status, code) in cases {
        let a = app
            .post(
                &format!("/api/orders/{id}/installments"),
                token.map(String::as_str),
                body.clone(),
            )
            .await;
        assert_eq!(a.status, status, "{body}: {}", a.text);
        if !code.is_empty() {
            assert_eq!(a.code(), code, "{body}: {}", a.text);
        }
    }
    for id in [order, cheap] {
        let plan = app
            .get(&format!("/api/orders/{id}/installments"), Some(&buyer))
            .await;
        assert_eq!(plan.status, StatusCode::NOT_FOUND, "{}", plan.text);
    }
    let options = app
        .get(
            &format!("/api/orders/{cheap}/installments/options"),
            Some(&buyer),
        )
        .await;
    assert_eq!(options.status, StatusCode::CONFLICT, "{}", options.text);
    let pay = app
        .post(
            &format!("/api/orders/{order}/installments/1/pay"),
            Some(&buyer),
            json!({}),
        )
        .await;
    assert_eq!(pay.status, StatusCode::NOT_FOUND, "{}", pay.text);

    // The sandbox page pays only the caller's own, next period.
    let plan = app
        .post(
            &format!("/api/orders/{order}/installments"),
            Some(&buyer),
            json!({"count": 3}),
        )
        .await;
    assert_eq!(plan.status, StatusCode::CREATED, "{}", plan.text);
    let second = plan.body["periods"][1]["no"]
        .as_str()
        .expect("no")
        .to_owned();
    let first = plan.body["periods"][0]["no"]
        .as_str()
        .expect("no")
        .to_owned();
    for (token, no, status) in [
        (&other, &first, StatusCode::FORBIDDEN),
        (&buyer, &second, StatusCode::CONFLICT),
    ] {
        let r = app.press_pay(token, no).await;
        assert_eq!(r.status, status, "{}", r.text);
    }
    let still = app.get(&format!("/api/orders/{order}"), Some(&buyer)).await;
    assert_eq!(still.body["state"]["status"], "pending", "{}", still.text);
    app.server.stop().await;
}
