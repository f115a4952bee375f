//! The HTTP seam between gateways and the network.
//!
//! Gateways build an [`HttpRequest`] (method, URL, headers, body bytes) and
//! read an [`HttpResponse`] (status, headers, body bytes) through a
//! [`Transport`]; they never touch an HTTP client directly. The body is
//! bytes in both directions so that what is signed is exactly what is sent,
//! and what is verified is exactly what arrived. [`ReqwestTransport`] is the
//! real one (reqwest with rustls); tests may substitute their own.

#[cfg(feature = "http")]
use std::time::Duration;

use async_trait::async_trait;
use shop_core::error::BoxError;

/// An HTTP method used by a gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Method {
    /// `GET`.
    Get,
    /// `POST`.
    Post,
}

impl Method {
    /// The method's name, e.g. `"POST"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
        }
    }
}

/// A request to a provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// The method.
    pub method: Method,
    /// The absolute URL, with its query string.
    pub url: String,
    /// Headers in the order they are sent.
    pub headers: Vec<(String, String)>,
    /// The body bytes, sent as they are.
    pub body: Vec<u8>,
}

impl HttpRequest {
    /// A request with no headers and an empty body.
    pub fn new(method: Method, url: impl Into<String>) -> Self {
        HttpRequest {
            method,
            url: url.into(),
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// Adds a header.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }
}

/// A provider's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// The status code, e.g. 200.
    pub status: u16,
    /// Headers (names lowercase) in the order received.
    pub headers: Vec<(String, String)>,
    /// The body bytes exactly as received.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What went wrong before a response arrived.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// The request could not be built (bad URL, bad header).
    #[error("invalid request: {source}")]
    InvalidRequest {
        /// The cause.
        #[source]
        source: BoxError,
    },
    /// Connecting, sending or receiving failed.
    #[error("request failed: {source}")]
    Io {
        /// The cause.
        #[source]
        source: BoxError,
    },
    /// No answer in time.
    #[error("request timed out")]
    Timeout,
}

impl TransportError {
    /// Whether sending the same request again may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, TransportError::Io { .. } | TransportError::Timeout)
    }
}

/// Port: sends one HTTP request and returns the response, whatever its
/// status. Only failures to get a response are errors.
#[async_trait]
pub trait Transport: Send + Sync + 'static {
    /// Sends `request`.
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError>;
}

/// A [`Transport`] on reqwest with rustls (aws-lc-rs), HTTP/1.1.
#[cfg(feature = "http")]
#[derive(Debug, Clone)]
pub struct ReqwestTransport {
    client: reqwest::Client,
}

#[cfg(feature = "http")]
impl ReqwestTransport {
    /// Time allowed to connect.
    pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
    /// Time allowed for a whole request.
    pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

    /// A transport with [`Self::CONNECT_TIMEOUT`] and [`Self::REQUEST_TIMEOUT`].
    pub fn new() -> Result<Self, TransportError> {
        let client = reqwest::Client::builder()
            .connect_timeout(Self::CONNECT_TIMEOUT)
            .timeout(Self::REQUEST_TIMEOUT)
            .build()
            .map_err(|e| TransportError::InvalidRequest {
                source: Box::new(e),
            })?;
        Ok(ReqwestTransport { client })
    }

    /// A transport on a client configured by the caller (proxies, timeouts).
    pub fn with_client(client: reqwest::Client) -> Self {
        ReqwestTransport { client }
    }
}

#[cfg(feature = "http")]
fn reqwest_method(method: Method) -> reqwest::Method {
    match method {
        Method::Get => reqwest::Method::GET,
        Method::Post => reqwest::Method::POST,
    }
}

#[cfg(feature = "http")]
fn classify(e: reqwest::Error) -> TransportError {
    if e.is_timeout() {
        TransportError::Timeout
    } else if e.is_builder() {
        TransportError::InvalidRequest {
            source: Box::new(e),
        }
    } else {
        TransportError::Io {
            source: Box::new(e),
        }
    }
}

#[cfg(feature = "http")]
#[async_trait]
impl Transport for ReqwestTransport {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let mut builder = self
            .client
            .request(reqwest_method(request.method), &request.url);
        for (name, value) in &request.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let response = builder.body(request.body).send().await.map_err(classify)?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let body = response.bytes().await.map_err(classify)?.to_vec();
        Ok(HttpResponse {
            status,
            headers,
            body,
        })
    }
}
