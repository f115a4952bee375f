//! A start that cannot work says why in one sentence naming the setting to
//! change (and no password from a URL); `reset-admin-password` gives the
//! administrator a new password.

mod common;

use std::process::{Command, Output};

use common::{sqlite_url, App};
use reqwest::StatusCode;
use serde_json::json;

/// Runs the binary with `envs` and `args` until it exits.
fn run(envs: &[(&str, &str)], args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_shop-example"));
    command
        .env_remove("SHOP_REDIS_URL")
        .env("SHOP_BIND", "127.0.0.1:0");
    for (name, value) in envs {
        command.env(name, value);
    }
    command.args(args).output().expect("run the shop")
}

/// The binary failed with one `error:` sentence containing every `needle`.
fn assert_fails_saying(output: &Output, needles: &[&str]) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    for needle in needles {
        assert!(stderr.contains(needle), "{needle:?} not in {stderr}");
    }
    for debug in ["Os {", "Error {", "Some(", "kind:"] {
        assert!(!stderr.contains(debug), "a debug dump: {stderr}");
    }
    stderr
}

#[test]
fn a_busy_port_names_shop_bind() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let output = run(
        &[("SHOP_DATABASE_URL", &sqlite_url()), ("SHOP_BIND", &addr)],
        &[],
    );
    assert_fails_saying(
        &output,
        &["cannot listen on", "already in use", "SHOP_BIND"],
    );
}

#[test]
fn a_missing_sqlite_folder_names_the_folder_and_shop_database_url() {
    let output = run(
        &[("SHOP_DATABASE_URL", "sqlite:///no/such/folder/shop.db")],
        &[],
    );
    assert_fails_saying(&output, &["/no/such/folder", "SHOP_DATABASE_URL"]);
}

#[test]
fn an_unreachable_or_unknown_database_names_shop_database_url_without_the_password() {
    let output = run(
        &[(
            "SHOP_DATABASE_URL",
            "postgres://shop:s3cret-password@127.0.0.1:1/shop",
        )],
        &[],
    );
    let said = assert_fails_saying(&output, &["nothing answers", "SHOP_DATABASE_URL"]);
    assert!(!said.contains("s3cret-password"), "{said}");

    let output = run(&[("SHOP_DATABASE_URL", "oracle://db/shop")], &[]);
    assert_fails_saying(&output, &["unsupported database URL", "SHOP_DATABASE_URL"]);
}

#[tokio::test]
async fn a_missing_postgres_database_says_create_it() {
    let url = std::env::var("SHOP_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    // The server must be there for this message; skip (or fail under CI)
    // when it is not.
    if shop_storage_sql::PgStore::connect(&url).await.is_err() {
        common::server_missing::<()>("PostgreSQL", &url, "unreachable");
        return;
    }
    let missing = common::servers::database_url(&url, "shop_no_such_database");
    let output = run(&[("SHOP_DATABASE_URL", &missing)], &[]);
    assert_fails_saying(
        &output,
        &["does not exist", "create it", "SHOP_DATABASE_URL"],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_admin_password_prints_a_new_password_that_logs_in() {
    let url = sqlite_url();
    let mut config = shop_example::Config::new(url.clone());
    config.rate_limit_per_minute = 1000;
    let app = App::start_with(config.clone()).await;
    let old = app.admin_password.clone();
    let old_session = app.admin().await;
    app.server.stop().await;

    let output = run(&[("SHOP_DATABASE_URL", &url)], &["reset-admin-password"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    let new = stdout
        .trim()
        .strip_prefix("new password of admin@example.com: ")
        .unwrap_or_else(|| panic!("unexpected output: {stdout}"))
        .to_owned();
    assert_ne!(new, old);

    let server = shop_example::start(
        &config,
        std::sync::Arc::new(shop_notify::LogNotifier::default()),
    )
    .await
    .unwrap();
    let http = reqwest::Client::new();
    let login = |password: String| {
        let http = http.clone();
        let url = format!("{}/api/auth/login", server.url);
        async move {
            http.post(url)
                .json(&json!({"email": "admin@example.com", "password": password}))
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(login(new).await, StatusCode::OK);
    assert_eq!(login(old).await, StatusCode::UNAUTHORIZED);
    // A session opened with the old password is over.
    let me = http
        .get(format!("{}/api/me", server.url))
        .bearer_auth(&old_session)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::UNAUTHORIZED);
    server.stop().await;

    // Somebody who is not an administrator, or nobody: a sentence, exit 1.
    let output = run(
        &[("SHOP_DATABASE_URL", &url)],
        &["reset-admin-password", "--email", "nobody@example.com"],
    );
    assert_fails_saying(&output, &["no account", "nobody@example.com"]);
    // Pointed at a database that does not exist: a sentence, nothing created.
    let missing = std::env::temp_dir().join(format!("shop-missing-{}.db", std::process::id()));
    let output = run(
        &[(
            "SHOP_DATABASE_URL",
            &format!("sqlite://{}", missing.display()),
        )],
        &["reset-admin-password"],
    );
    assert_fails_saying(&output, &["no SQLite database", "SHOP_DATABASE_URL"]);
    assert!(!missing.exists());
}
