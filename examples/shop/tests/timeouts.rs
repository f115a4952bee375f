//! Slow and broken clients are cut off: half-sent headers and idle
//! connections after the header timeout, a body shorter than its
//! `Content-Length` with `408` after the request timeout; and every error
//! the framework answers by itself is the API's JSON shape.

mod common;

use std::time::{Duration, Instant};

use common::{sqlite_url, App};
use reqwest::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn app_with_short_timeouts() -> App {
    let mut config = shop_example::Config::new(sqlite_url());
    config.header_timeout_secs = 1;
    config.request_timeout_secs = 1;
    config.rate_limit_per_minute = 1000;
    App::start_with(config).await
}

/// Reads until the server closes the connection (or 10 s pass); returns
/// what came and how long it took.
async fn read_until_closed(stream: &mut TcpStream) -> (String, Duration) {
    let started = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Err(_) => panic!("the server kept the connection open for 10 s"),
        }
    }
    (
        String::from_utf8_lossy(&got).into_owned(),
        started.elapsed(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_sent_headers_and_idle_connections_are_cut_off() {
    let app = app_with_short_timeouts().await;
    let mut half = TcpStream::connect(app.server.addr).await.unwrap();
    half.write_all(b"GET /api/categories HTTP/1.1\r\nHost: shop\r\n")
        .await
        .unwrap();
    let (_, took) = read_until_closed(&mut half).await;
    assert!(took < Duration::from_secs(5), "closed after {took:?}");

    let mut idle = TcpStream::connect(app.server.addr).await.unwrap();
    let (got, took) = read_until_closed(&mut idle).await;
    assert!(took < Duration::from_secs(5), "closed after {took:?}");
    assert!(!got.contains("200 OK"), "{got}");

    // A complete request on a fresh connection is still served.
    let ok = app.get("/api/categories", None).await;
    assert_eq!(ok.status, StatusCode::OK);
    app.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_shorter_than_its_length_gets_408_and_the_connection_closes() {
    let app = app_with_short_timeouts().await;
    let mut stream = TcpStream::connect(app.server.addr).await.unwrap();
    stream
        .write_all(
            b"POST /api/auth/login HTTP/1.1\r\nHost: shop\r\n\
              Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"email\":",
        )
        .await
        .unwrap();
    let (got, took) = read_until_closed(&mut stream).await;
    assert!(got.starts_with("HTTP/1.1 408"), "{got}");
    assert!(got.contains(r#""code":"request_timeout""#), "{got}");
    assert!(took < Duration::from_secs(5), "answered after {took:?}");
    app.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_frameworks_own_errors_are_json() {
    let app = App::sqlite().await;
    let url = |path: &str| format!("{}{path}", app.server.url);
    let json_error = |status: StatusCode, code: &'static str| {
        move |(got, body): (StatusCode, String)| {
            assert_eq!(got, status, "{body}");
            let value: serde_json::Value = serde_json::from_str(&body).expect("a JSON body");
            assert_eq!(value["error"]["code"], code, "{body}");
            assert!(value["error"]["message"].is_string(), "{body}");
        }
    };
    let send = |request: reqwest::RequestBuilder| async move {
        let answer = request.send().await.expect("answer");
        let status = answer.status();
        (status, answer.text().await.expect("body"))
    };

    // 413 on a route that takes raw bytes (the notification callback).
    json_error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")(
        send(
            app.http
                .post(url("/api/payments/sandbox/notify"))
                .body(vec![b'x'; 70 * 1024]),
        )
        .await,
    );
    // 415 without a JSON content type, 405 for a wrong method, 404 for an
    // unknown route.
    json_error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")(
        send(
            app.http
                .post(url("/api/auth/login"))
                .header("content-type", "text/plain")
                .body("{}"),
        )
        .await,
    );
    json_error(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed")(
        send(app.http.put(url("/api/categories"))).await,
    );
    json_error(StatusCode::NOT_FOUND, "not_found")(send(app.http.get(url("/nowhere"))).await);
    // A body declared larger than the limit is refused before it is sent.
    let mut stream = TcpStream::connect(app.server.addr).await.unwrap();
    stream
        .write_all(
            b"POST /api/auth/login HTTP/1.1\r\nHost: shop\r\n\
              Content-Type: application/json\r\nContent-Length: 99999999999\r\n\r\n",
        )
        .await
        .unwrap();
    let (got, took) = read_until_closed(&mut stream).await;
    assert!(got.starts_with("HTTP/1.1 413"), "{got}");
    assert!(got.contains("payload_too_large"), "{got}");
    assert!(took < Duration::from_secs(5), "answered after {took:?}");
    // The sandbox's form route: a wrong form is JSON too.
    json_error(StatusCode::UNAUTHORIZED, "unauthenticated")(
        send(app.http.post(url("/sandbox/pay")).body("nonsense")).await,
    );
    app.server.stop().await;
}
