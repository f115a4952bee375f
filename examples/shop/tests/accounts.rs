//! Accounts over HTTP: registration and verification, changing a password,
//! resetting a forgotten one by e-mail, and an administrator deactivating
//! an account. Each refusal is a JSON error and changes nothing.

mod common;

use common::{unique, App};
use reqwest::StatusCode;
use serde_json::json;

const PASSWORD: &str = "correct horse battery";

/// Registers and verifies a customer; returns the e-mail address.
async fn verified(app: &App, name: &str) -> String {
    let email = format!("{}@example.com", unique(name));
    let a = app
        .post(
            "/api/auth/register",
            None,
            json!({"name": name, "email": email, "password": PASSWORD}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    let login = app
        .post(
            "/api/auth/login",
            None,
            json!({"email": email, "password": PASSWORD}),
        )
        .await;
    assert_eq!(login.status, StatusCode::FORBIDDEN, "{}", login.text);
    assert_eq!(login.code(), "email_not_verified");
    let token = app
        .mail
        .verification_token(&email)
        .await
        .expect("a verification mail");
    let v = app
        .post("/api/auth/verify", None, json!({"token": token}))
        .await;
    assert_eq!(v.status, StatusCode::OK, "{}", v.text);
    assert_eq!(v.body["email_verified"], true);
    let again = app
        .post("/api/auth/verify", None, json!({"token": token}))
        .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND, "{}", again.text);
    email
}

fn login_body(email: &str, password: &str) -> serde_json::Value {
    json!({"email": email, "password": password})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changing_the_password_ends_every_session() {
    let app = App::sqlite().await;
    let email = verified(&app, "changer").await;
    let (one, two) = (
        app.login(&email, PASSWORD).await,
        app.login(&email, PASSWORD).await,
    );

    let wrong = app
        .post(
            "/api/me/password",
            Some(&one),
            json!({"current_password": "not the password", "new_password": "a new secret 1"}),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST, "{}", wrong.text);
    assert_eq!(wrong.body["error"]["field"], "current_password");
    let short = app
        .post(
            "/api/me/password",
            Some(&one),
            json!({"current_password": PASSWORD, "new_password": "short"}),
        )
        .await;
    assert_eq!(short.status, StatusCode::BAD_REQUEST, "{}", short.text);
    assert_eq!(short.body["error"]["field"], "new_password");
    // Nothing changed: both sessions live, the old password works.
    assert_eq!(app.get("/api/me", Some(&two)).await.status, StatusCode::OK);

    let changed = app
        .post(
            "/api/me/password",
            Some(&one),
            json!({"current_password": PASSWORD, "new_password": "a new secret 1"}),
        )
        .await;
    assert_eq!(changed.status, StatusCode::NO_CONTENT, "{}", changed.text);
    assert!(changed.set_cookie.unwrap_or_default().contains("Max-Age=0"));
    for token in [&one, &two] {
        let me = app.get("/api/me", Some(token)).await;
        assert_eq!(me.status, StatusCode::UNAUTHORIZED, "{}", me.text);
        assert_eq!(me.code(), "unauthenticated");
    }
    let old = app
        .post("/api/auth/login", None, login_body(&email, PASSWORD))
        .await;
    assert_eq!(old.status, StatusCode::UNAUTHORIZED, "{}", old.text);
    assert_eq!(old.code(), "invalid_credentials");
    app.login(&email, "a new secret 1").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forgotten_password_is_reset_through_the_emailed_token() {
    let app = App::sqlite().await;
    let email = verified(&app, "forgetful").await;
    let session = app.login(&email, PASSWORD).await;

    // An address without an account gets the same answer, and no mail.
    let nobody = format!("{}@example.com", unique("nobody"));
    let a = app
        .post("/api/auth/password-reset", None, json!({"email": nobody}))
        .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.text);
    app.server.state.shop.dispatch_events().await.unwrap();
    assert!(app.mail.sent().iter().all(|m| m.to != nobody));
    let bad = app
        .post(
            "/api/auth/password-reset",
            None,
            json!({"email": "not an address"}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.text);

    let a = app
        .post(
            "/api/auth/password-reset",
            None,
            json!({"email": email.to_uppercase()}),
        )
        .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.text);
    let token = app.mail.reset_token(&email).await.expect("a reset mail");

    let confirm = |token: String, password: &str| {
        app.post(
            "/api/auth/password-reset/confirm",
            None,
            json!({"token": token, "password": password}),
        )
    };
    let unknown = confirm("0".repeat(64), "a brand new one").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND, "{}", unknown.text);
    let short = confirm(token.clone(), "short").await;
    assert_eq!(short.status, StatusCode::BAD_REQUEST, "{}", short.text);
    // Refusals changed nothing: the session lives, the password works.
    assert_eq!(
        app.get("/api/me", Some(&session)).await.status,
        StatusCode::OK
    );

    let done = confirm(token.clone(), "a brand new one").await;
    assert_eq!(done.status, StatusCode::NO_CONTENT, "{}", done.text);
    let me = app.get("/api/me", Some(&session)).await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED, "{}", me.text);
    let reused = confirm(token, "yet another one").await;
    assert_eq!(reused.status, StatusCode::NOT_FOUND, "{}", reused.text);
    let old = app
        .post("/api/auth/login", None, login_body(&email, PASSWORD))
        .await;
    assert_eq!(old.code(), "invalid_credentials", "{}", old.text);
    app.login(&email, "a brand new one").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deactivated_account_cannot_log_in_until_reactivated() {
    let app = App::sqlite().await;
    let admin = app.admin().await;
    let email = verified(&app, "deactivated").await;
    let session = app.login(&email, PASSWORD).await;
    let id = app.get("/api/me", Some(&session)).await.body["id"]
        .as_str()
        .expect("id")
        .to_owned();

    let by_customer = app
        .post(
            &format!("/api/admin/users/{id}/deactivate"),
            Some(&session),
            json!({}),
        )
        .await;
    assert_eq!(
        by_customer.status,
        StatusCode::FORBIDDEN,
        "{}",
        by_customer.text
    );
    let me = app.get("/api/me", Some(&admin)).await.body["id"]
        .as_str()
        .expect("admin id")
        .to_owned();
    let own = app
        .post(
            &format!("/api/admin/users/{me}/deactivate"),
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!(own.status, StatusCode::CONFLICT, "{}", own.text);
    let ghost = app
        .post(
            "/api/admin/users/999999/deactivate",
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!(ghost.status, StatusCode::NOT_FOUND, "{}", ghost.text);

    let off = app
        .post(
            &format!("/api/admin/users/{id}/deactivate"),
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!(off.status, StatusCode::OK, "{}", off.text);
    assert_eq!(off.body["deactivated"], true);
    assert_eq!(
        app.get("/api/me", Some(&session)).await.status,
        StatusCode::UNAUTHORIZED
    );
    let login = app
        .post("/api/auth/login", None, login_body(&email, PASSWORD))
        .await;
    assert_eq!(login.status, StatusCode::FORBIDDEN, "{}", login.text);
    assert_eq!(login.code(), "account_deactivated");
    // A deactivated account gets no reset mail.
    app.server.state.shop.dispatch_events().await.unwrap();
    let before = app.mail.sent().len();
    app.post("/api/auth/password-reset", None, json!({"email": email}))
        .await;
    app.server.state.shop.dispatch_events().await.unwrap();
    assert_eq!(app.mail.sent().len(), before);

    let on = app
        .post(
            &format!("/api/admin/users/{id}/reactivate"),
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!(on.status, StatusCode::OK, "{}", on.text);
    assert_eq!(on.body["deactivated"], false);
    app.login(&email, PASSWORD).await;
}
