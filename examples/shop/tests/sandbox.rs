//! The sandbox gateway is a development convenience: it pays only the
//! logged-in buyer's own orders, and exists only without real providers or
//! when switched on (`SHOP_SANDBOX`).

mod common;

use common::{sqlite_url, App, IdExt};
use reqwest::StatusCode;
use serde_json::json;
use shop_example::{Config, SandboxMode};

/// POSTs the sandbox's pay button for `order_no` with an optional session.
async fn press_pay(app: &App, token: Option<&str>, order_no: &str) -> (StatusCode, String) {
    let mut request = app
        .http
        .post(format!("{}/sandbox/pay", app.server.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("order_no={order_no}"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let answer = request.send().await.expect("pay button");
    (answer.status(), answer.text().await.expect("body"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sandbox_pays_only_the_logged_in_buyers_own_order() {
    let app = App::sqlite().await;
    let buyer = app.customer("sandboxbuyer").await;
    let other = app.customer("sandboxother").await;
    let address = app.address(&buyer).await;
    let (sku, _) = app.some_sku().await;
    let placed = app.order(&buyer, address, sku, 1).await;
    assert_eq!(placed.status, StatusCode::CREATED, "{}", placed.text);
    let id = placed.body["id"].id().expect("order id");
    let no = placed.body["no"].as_str().expect("order no").to_owned();
    let path = format!("/api/orders/{id}");

    // Anonymous: 401. Somebody else: 403. Unknown or malformed number:
    // 404 / 400. Nothing is paid.
    let (code, text) = press_pay(&app, None, &no).await;
    assert_eq!(code, StatusCode::UNAUTHORIZED, "{text}");
    let (code, text) = press_pay(&app, Some(&other), &no).await;
    assert_eq!(code, StatusCode::FORBIDDEN, "{text}");
    let (code, text) = press_pay(&app, Some(&buyer), "20990101000000000000").await;
    assert_eq!(code, StatusCode::NOT_FOUND, "{text}");
    let (code, text) = press_pay(&app, Some(&buyer), "%00").await;
    assert_eq!(code, StatusCode::BAD_REQUEST, "{text}");
    assert_eq!(
        app.get(&path, Some(&buyer)).await.body["state"]["status"],
        "pending"
    );

    // The buyer pays their own order, once: pressing again is refused.
    let (code, text) = press_pay(&app, Some(&buyer), &no).await;
    assert_eq!(code, StatusCode::OK, "{text}");
    assert_eq!(
        app.get(&path, Some(&buyer)).await.body["state"]["status"],
        "paid"
    );
    let (code, text) = press_pay(&app, Some(&buyer), &no).await;
    assert_eq!(code, StatusCode::CONFLICT, "{text}");
    assert!(text.contains("invalid_transition"), "{text}");

    // The page refuses what the shop never writes; a huge form is a 413.
    let page = app.get("/sandbox/pay?order_no=%00", None).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST, "{}", page.text);
    let huge = format!("x{}", "y".repeat(70 * 1024));
    let (code, text) = press_pay(&app, Some(&buyer), &huge).await;
    assert_eq!(code, StatusCode::PAYLOAD_TOO_LARGE, "{text}");
    assert!(text.contains("payload_too_large"), "{text}");
    app.server.stop().await;
}

#[tokio::test]
async fn the_sandbox_can_be_switched_off_or_on_explicitly() {
    let mut config = Config::new(sqlite_url());
    config.sandbox = SandboxMode::Off;
    let app = App::start_with(config).await;
    assert!(app.server.state.shop.gateway_names().is_empty());
    let page = app.get("/sandbox/pay?order_no=1", None).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    let notify = app
        .post("/api/payments/sandbox/notify", None, json!({}))
        .await;
    assert_eq!(notify.status, StatusCode::NOT_FOUND);
    app.server.stop().await;

    assert!(SandboxMode::Auto.enabled(false));
    assert!(!SandboxMode::Auto.enabled(true));
    assert!(SandboxMode::On.enabled(true));
    assert!(!SandboxMode::Off.enabled(false));
}
