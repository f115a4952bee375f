//! The API description is right about what the server does: parameters
//! where they are sent, every answer a client can get documented, which
//! operations need a session, shop-core's rules in the schemas, and only
//! the routes this instance serves.

mod common;

use common::{sqlite_url, App};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use shop_example::{Config, SandboxMode};

/// Every (method, path, operation) of a description.
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut all = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("a path item") {
            all.push((method.clone(), path.clone(), operation.clone()));
        }
    }
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parameters_are_declared_where_they_are_sent() {
    let app = App::sqlite().await;
    let doc = app.get("/openapi.json", None).await.body;
    for (method, path, operation) in operations(&doc) {
        let placeholders: Vec<&str> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .collect();
        let params = operation["parameters"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for param in &params {
            let name = param["name"].as_str().expect("a name");
            match param["in"].as_str() {
                Some("path") => assert!(
                    placeholders.contains(&name),
                    "{method} {path}: `{name}` is declared in the path but is not part of it"
                ),
                Some("query") => assert!(
                    !placeholders.contains(&name),
                    "{method} {path}: `{name}` is both a query and a path parameter"
                ),
                other => panic!("{method} {path}: `{name}` in {other:?}"),
            }
        }
        for placeholder in placeholders {
            assert!(
                params
                    .iter()
                    .any(|p| p["name"] == placeholder && p["in"] == "path"),
                "{method} {path}: `{placeholder}` is not declared"
            );
        }
    }
    // The listing's parameters are optional query parameters with bounds.
    let listing = &doc["paths"]["/api/products"]["get"]["parameters"];
    let param = |name: &str| {
        listing
            .as_array()
            .and_then(|ps| ps.iter().find(|p| p["name"] == name))
            .cloned()
            .unwrap_or_else(|| panic!("no {name}"))
    };
    for name in ["keyword", "sort", "page", "per_page", "category_id"] {
        assert_eq!(param(name)["in"], "query", "{name}");
        assert_eq!(param(name)["required"], false, "{name}");
    }
    assert_eq!(param("page")["schema"]["minimum"], 1);
    assert_eq!(param("per_page")["schema"]["maximum"], 100);
    assert_eq!(param("keyword")["schema"]["maxLength"], 100);
    app.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_and_error_answers_are_documented_and_true() {
    let app = App::sqlite().await;
    let doc = app.get("/openapi.json", None).await.body;
    for (method, path, operation) in operations(&doc) {
        let responses = operation["responses"].as_object().expect("responses");
        for (status, response) in responses {
            assert!(
                !response["description"].as_str().unwrap_or("").is_empty(),
                "{method} {path} {status} has no description"
            );
        }
        for status in ["408", "503"] {
            assert!(responses.contains_key(status), "{method} {path}: {status}");
        }
        if operation.get("requestBody").is_some() {
            for status in ["400", "413"] {
                assert!(responses.contains_key(status), "{method} {path}: {status}");
            }
        }
        let concrete = path
            .replace("{id}", "1")
            .replace("{sku_id}", "1")
            .replace("{gateway}", "sandbox");
        let needs_session = operation.get("security").is_some();
        assert!(
            !needs_session || responses.contains_key("401"),
            "{method} {path}: a session-only operation documents 401"
        );
        // Without credentials, a session-only operation answers 401 and a
        // public one never does.
        let method: Method = method.to_uppercase().parse().expect("a method");
        let body =
            (method != Method::GET && method != Method::DELETE).then(|| serde_json::json!({}));
        let answer = app.call(method.clone(), &concrete, None, body).await;
        if needs_session {
            assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{method} {path}");
        } else if path != "/api/auth/login" {
            assert_ne!(answer.status, StatusCode::UNAUTHORIZED, "{method} {path}");
        }
    }
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    assert_eq!(schemes["session_cookie"]["name"], "shop_session");
    let limited = &doc["paths"]["/api/auth/login"]["post"]["responses"]["429"];
    assert!(limited["headers"]["Retry-After"].is_object(), "{limited}");
    app.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_schemas_carry_shop_cores_rules() {
    let app = App::sqlite().await;
    let doc = app.get("/openapi.json", None).await.body;
    let schemas = &doc["components"]["schemas"];
    let prop = |schema: &str, property: &str| schemas[schema]["properties"][property].clone();
    assert_eq!(prop("RegisterRequest", "password")["minLength"], 8);
    assert_eq!(prop("RegisterRequest", "password")["maxLength"], 128);
    assert_eq!(prop("RegisterRequest", "email")["format"], "email");
    assert_eq!(prop("AddToCartRequest", "quantity")["minimum"], 1);
    assert_eq!(prop("AddToCartRequest", "quantity")["maximum"], 999);
    assert_eq!(prop("ReasonBody", "reason")["maxLength"], 500);
    assert_eq!(prop("ShipBody", "tracking_no")["maxLength"], 64);
    assert_eq!(
        prop("AddressRequest", "contact_phone")["pattern"],
        shop_core::user::PHONE_PATTERN
    );
    assert_eq!(
        prop("SkuBody", "price")["pattern"],
        shop_core::money::amount_pattern(shop_core::Currency::Cny, true)
    );
    assert_eq!(
        prop("ProductBody", "title")["pattern"],
        shop_core::text::REQUIRED_LINE_PATTERN
    );
    assert_eq!(
        prop("PlaceOrderBody", "remark")["pattern"],
        shop_core::text::MULTILINE_PATTERN
    );
    assert_eq!(schemas["Currency"]["enum"], serde_json::json!(["CNY"]));
    assert_eq!(
        schemas["SkuId"]["pattern"], "^[1-9][0-9]{0,17}$",
        "{}",
        schemas["SkuId"]
    );
    assert_eq!(
        schemas["CouponBody"]["oneOf"].as_array().map(Vec::len),
        Some(2)
    );
    app.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routes_this_instance_does_not_serve_are_not_described() {
    let mut config = Config::new(sqlite_url());
    config.sandbox = SandboxMode::Off;
    let app = App::start_with(config).await;
    let doc = app.get("/openapi.json", None).await.body;
    assert!(doc["paths"].get("/sandbox/pay").is_none());
    assert!(doc["paths"].get("/api/products").is_some());
    app.server.stop().await;
}
