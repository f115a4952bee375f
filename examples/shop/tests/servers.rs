//! The same purchase on PostgreSQL and MySQL, and two app instances on one
//! PostgreSQL never overselling under concurrent checkouts. Skipped loudly
//! when a server is unreachable, unless `CI` is set.

mod common;

use common::servers::TestDatabase;
use common::{App, IdExt};
use reqwest::StatusCode;
use serde_json::json;
use shop_example::Config;

fn config(url: &str) -> Config {
    let mut config = Config::new(url);
    config.rate_limit_per_minute = 1000;
    config.sandbox_secret = Some("shared-test-secret".to_owned());
    config
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_purchase_on_postgres() {
    let Some(db) = TestDatabase::postgres().await else {
        return;
    };
    let app = App::start_with(config(&db.url)).await;
    common::purchase::whole_purchase(&app).await;
    app.server.stop().await;
    db.drop_now().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_purchase_on_mysql() {
    let Some(db) = TestDatabase::mysql().await else {
        return;
    };
    let app = App::start_with(config(&db.url)).await;
    common::purchase::whole_purchase(&app).await;
    app.server.stop().await;
    db.drop_now().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_on_one_postgres_never_oversell() {
    const STOCK: u32 = 5;
    const BUYERS: usize = 12;
    let Some(db) = TestDatabase::postgres().await else {
        return;
    };
    let a = App::start_with(config(&db.url)).await;
    let b = {
        // Both instances send through one mailbox, as through one SMTP
        // server: whichever instance dispatches the outbox sends a mail.
        let mail = a.mail.clone();
        let server = shop_example::start(&config(&db.url), mail.clone())
            .await
            .expect("second instance");
        assert!(
            server.admin.is_none(),
            "the second instance does not seed again"
        );
        App {
            server,
            mail,
            http: reqwest::Client::new(),
            admin_email: a.admin_email.clone(),
            admin_password: a.admin_password.clone(),
        }
    };

    let admin = a.admin().await;
    let p = a
        .post(
            "/api/admin/products",
            Some(&admin),
            json!({"title": "Limited edition", "on_sale": true,
                   "skus": [{"title": "Only", "price": "99.00", "stock": STOCK}]}),
        )
        .await;
    assert_eq!(p.status, StatusCode::CREATED, "{}", p.text);
    let product = p.body["product"]["id"].id().expect("product");
    let sku = p.body["skus"][0]["id"].id().expect("sku");

    // Each buyer registers on one instance, and checks out on the other,
    // with the SKU in the cart and a submit token: all at once.
    let mut buyers = Vec::new();
    for i in 0..BUYERS {
        let (home, other) = if i % 2 == 0 { (&a, &b) } else { (&b, &a) };
        let token = home.customer("racer").await;
        let address = other.address(&token).await;
        let added = other
            .post(
                "/api/cart",
                Some(&token),
                json!({"sku_id": sku, "quantity": 1}),
            )
            .await;
        assert_eq!(added.status, StatusCode::OK, "{}", added.text);
        let submit = home.get("/api/checkout/token", Some(&token)).await.body["submit_token"]
            .as_str()
            .expect("submit token")
            .to_owned();
        buyers.push((i, token, address, submit));
    }
    let results =
        futures::future::join_all(buyers.into_iter().map(|(i, token, address, submit)| {
            let app = if i % 2 == 0 { &b } else { &a };
            async move {
                app.post(
                    "/api/orders",
                    Some(&token),
                    json!({"address_id": address, "items": [{"sku_id": sku, "quantity": 1}],
                       "remark": "", "submit_token": submit}),
                )
                .await
            }
        }))
        .await;
    let placed = results
        .iter()
        .filter(|r| r.status == StatusCode::CREATED)
        .count();
    for r in results.iter().filter(|r| r.status != StatusCode::CREATED) {
        assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
        assert_eq!(r.code(), "out_of_stock");
    }
    assert_eq!(placed, STOCK as usize, "exactly the stock is sold");
    let detail = b.get(&format!("/api/products/{product}"), None).await;
    assert_eq!(detail.body["skus"][0]["stock"], 0);
    let orders = a.get("/api/admin/orders?per_page=100", Some(&admin)).await;
    assert_eq!(orders.body["total"], STOCK);

    // A notification signed by instance A's sandbox pays on instance B (one
    // shared secret); delivered again to A, it changes nothing.
    let order = results
        .iter()
        .find(|r| r.status == StatusCode::CREATED)
        .expect("a placed order");
    let id = order.body["id"].id().expect("order id");
    let no = order.body["no"].as_str().expect("order no");
    let total = shop_core::Money::parse(
        order.body["total"]["amount"].as_str().expect("total"),
        shop_core::Currency::Cny,
    )
    .expect("money");
    let raw = a
        .server
        .state
        .sandbox
        .as_ref()
        .expect("the sandbox")
        .notify_paid(no, total);
    let deliver = |app: &App| {
        let mut req = app
            .http
            .post(format!("{}/api/payments/sandbox/notify", app.server.url))
            .body(raw.body.clone());
        for (k, v) in &raw.headers {
            req = req.header(k.as_str(), v.as_str());
        }
        req.send()
    };
    let first = deliver(&b).await.expect("deliver to B");
    assert_eq!(first.status(), StatusCode::OK);
    let first: serde_json::Value = first.json().await.expect("json");
    assert_eq!(first["Paid"].id(), Some(id), "{first}");
    let again = deliver(&a).await.expect("deliver to A");
    assert_eq!(again.status(), StatusCode::OK);
    let again: serde_json::Value = again.json().await.expect("json");
    assert_eq!(again["AlreadyPaid"].id(), Some(id), "{again}");
    let paid = a
        .get(&format!("/api/admin/orders/{id}"), Some(&admin))
        .await;
    assert_eq!(paid.body["state"]["status"], "paid");

    a.server.stop().await;
    b.server.stop().await;
    db.drop_now().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn instances_starting_at_once_on_an_empty_database_seed_it_once() {
    let Some(db) = TestDatabase::postgres().await else {
        return;
    };
    let starts = futures::future::join_all((0..3).map(|_| {
        let config = config(&db.url);
        async move {
            shop_example::start(
                &config,
                std::sync::Arc::new(shop_example::notifier::RecordingNotifier::new()),
            )
            .await
            .expect("every instance starts")
        }
    }))
    .await;
    let seeded = starts.iter().filter(|s| s.admin.is_some()).count();
    assert_eq!(seeded, 1, "exactly one instance seeds");
    let get = |url: String| async move {
        let answer = reqwest::get(url).await.expect("request");
        answer.json::<serde_json::Value>().await.expect("json")
    };
    let tree = get(format!("{}/api/categories", starts[0].url)).await;
    assert_eq!(tree.as_array().map(Vec::len), Some(2), "{tree}");
    let products = get(format!("{}/api/products", starts[1].url)).await;
    assert_eq!(products["total"], 4, "{products}");
    for server in starts {
        server.stop().await;
    }
    db.drop_now().await;
}
