//! The HTTP server loop: HTTP/1.1 on hyper with a header-read timeout, a
//! whole-request timeout, the one JSON error shape for every error the
//! framework itself answers, and graceful shutdown.
//!
//! * A client that sends half its headers, or opens a connection and sends
//!   nothing (also between keep-alive requests), is disconnected after
//!   [`Timeouts::header_read`].
//! * A request that is not answered within [`Timeouts::request`] — a body
//!   shorter than its `Content-Length`, a body trickled byte by byte — gets
//!   `408 request_timeout` and its connection is closed.
//! * On shutdown the listener closes at once, idle connections close,
//!   requests in flight finish (up to [`Timeouts::shutdown_grace`]).

use std::future::Future;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tower::ServiceExt as _;

use crate::error::AppError;

/// The server's time limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// How long a connection may take to send a request's headers, and how
    /// long it may stay idle between requests.
    pub header_read: Duration,
    /// How long a request may take from its headers to its answer, reading
    /// the body included.
    pub request: Duration,
    /// How long shutdown waits for requests in flight.
    pub shutdown_grace: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            header_read: Duration::from_secs(10),
            request: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(30),
        }
    }
}

/// Serves `app` on `listener` until `shutdown` completes, then stops
/// accepting, lets requests in flight finish (at most
/// `timeouts.shutdown_grace`) and returns.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    timeouts: Timeouts,
    shutdown: impl Future<Output = ()>,
) {
    let app = app
        .layer(axum::middleware::from_fn_with_state(
            timeouts.request,
            request_timeout,
        ))
        .layer(axum::middleware::from_fn_with_state(
            crate::routes::MAX_BODY_BYTES,
            refuse_oversized,
        ))
        .layer(axum::middleware::from_fn(log_request));
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait, do not spin.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            app.clone().oneshot(request.map(Body::new))
        });
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(timeouts.header_read)
            .serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            // Errors here are the client's (reset, timeout, bad request).
            let _ = connection.await;
        });
    }
    drop(listener);
    if tokio::time::timeout(timeouts.shutdown_grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            grace = ?timeouts.shutdown_grace,
            "shutdown: requests still running were cut off"
        );
    }
}

/// Refuses at once (`413`) a request whose `Content-Length` says more than
/// `limit` bytes, rather than waiting for a body nobody will read.
async fn refuse_oversized(
    axum::extract::State(limit): axum::extract::State<usize>,
    request: Request,
    next: Next,
) -> Response {
    let declared = request
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        let mut response = AppError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "the request body is too large",
        )
        .into_response();
        response.headers_mut().insert(
            axum::http::header::CONNECTION,
            axum::http::HeaderValue::from_static("close"),
        );
        return response;
    }
    next.run(request).await
}

/// Logs each request at debug level: method, path, status, time taken.
async fn log_request(request: Request, next: Next) -> Response {
    let started = std::time::Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    tracing::debug!(
        %method,
        %path,
        status = response.status().as_u16(),
        micros = started.elapsed().as_micros(),
        "request"
    );
    response
}

/// Answers `408 request_timeout` when the handler (reading the body
/// included) takes longer than the limit.
async fn request_timeout(
    axum::extract::State(limit): axum::extract::State<Duration>,
    request: Request,
    next: Next,
) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            let mut response = AppError::new(
                StatusCode::REQUEST_TIMEOUT,
                "request_timeout",
                "the request was not received in time",
            )
            .into_response();
            // The rest of a body may still come: do not read it.
            response.headers_mut().insert(
                axum::http::header::CONNECTION,
                axum::http::HeaderValue::from_static("close"),
            );
            response
        }
    }
}

/// Gives every error the framework answers by itself (a body over the
/// limit, an unsupported media type, a rejected extractor) the API's JSON
/// error shape. Answers that already are JSON, and deliberate HTML pages,
/// pass unchanged.
pub async fn json_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let plain = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|v| v.starts_with("text/plain"));
    if !plain {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 4096)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        .unwrap_or_default();
    let (code, fallback) = generic_error(status);
    // A server error's text stays in the log, not in the answer.
    let message = if text.is_empty() || status.is_server_error() {
        fallback.to_owned()
    } else {
        text
    };
    let mut answer = AppError::new(status, code, message).into_response();
    for (name, value) in &parts.headers {
        if name != CONTENT_TYPE && name != axum::http::header::CONTENT_LENGTH {
            answer.headers_mut().insert(name, value.clone());
        }
    }
    answer
}

/// The code and message of an error answer that came without a body of
/// ours.
fn generic_error(status: StatusCode) -> (&'static str, &'static str) {
    match status {
        StatusCode::BAD_REQUEST => ("bad_request", "the request is malformed"),
        StatusCode::NOT_FOUND => ("not_found", "no such endpoint"),
        StatusCode::METHOD_NOT_ALLOWED => (
            "method_not_allowed",
            "this endpoint does not take this method",
        ),
        StatusCode::REQUEST_TIMEOUT => ("request_timeout", "the request was not received in time"),
        StatusCode::PAYLOAD_TOO_LARGE => ("payload_too_large", "the request body is too large"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            "unsupported_media_type",
            "this endpoint does not take this content type",
        ),
        StatusCode::UNPROCESSABLE_ENTITY => ("unprocessable", "the request cannot be processed"),
        s if s.is_server_error() => ("internal", "internal error"),
        _ => ("error", "the request failed"),
    }
}
