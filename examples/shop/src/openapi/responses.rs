//! The answers every operation may give besides its own: the error shape
//! for malformed input, a missing session, a body that is too large or of
//! another type, a request that took too long, a backend that is down; and
//! which operations need a session.

use serde_json::{json, Value};

/// Operations anybody may call (everything else needs a session).
const PUBLIC: [(&str, &str); 19] = [
    ("post", "/api/auth/register"),
    ("post", "/api/auth/verify"),
    ("post", "/api/auth/login"),
    ("post", "/api/auth/password-reset"),
    ("post", "/api/auth/password-reset/confirm"),
    ("get", "/api/categories"),
    ("get", "/api/products"),
    ("get", "/api/products/{id}"),
    ("get", "/api/products/{id}/similar"),
    ("get", "/api/search"),
    ("get", "/api/flash-sales"),
    ("get", "/api/flash-sales/{id}"),
    ("get", "/api/crowdfundings"),
    ("get", "/api/crowdfundings/{id}"),
    ("get", "/api/products/{id}/crowdfunding"),
    ("post", "/api/payments/{gateway}/notify"),
    ("get", "/sandbox/pay"),
    ("get", "/stripe/checkout"),
    ("get", "/stripe/done"),
];

/// Whether `method path` needs a session.
pub fn needs_session(method: &str, path: &str) -> bool {
    !PUBLIC.contains(&(method, path))
}

fn error(description: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}
    })
}

fn retry_after(mut response: Value, description: &str) -> Value {
    response["headers"] = json!({"Retry-After": {
        "description": description,
        "schema": {"type": "integer", "minimum": 1}
    }});
    response
}

/// Adds `status` to `responses` unless the operation documents it itself;
/// fills an empty description.
fn add(responses: &mut serde_json::Map<String, Value>, status: &str, response: Value) {
    let entry = responses.entry(status).or_insert(response.clone());
    if entry["description"].as_str().is_none_or(str::is_empty) {
        entry["description"] = response["description"].clone();
    }
}

/// Completes every operation's responses and security.
pub fn complete(doc: &mut Value) {
    doc["components"]["securitySchemes"] = json!({
        "bearer": {"type": "http", "scheme": "bearer",
                   "description": "the token of `POST /api/auth/login`"},
        "session_cookie": {"type": "apiKey", "in": "cookie", "name": crate::extract::SESSION_COOKIE,
                           "description": "the HttpOnly cookie the login sets"}
    });
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for (method, operation) in item.iter_mut() {
            complete_operation(method, path, operation);
        }
    }
}

fn complete_operation(method: &str, path: &str, operation: &mut Value) {
    let params: Vec<(String, String)> = operation["parameters"]
        .as_array()
        .map(|ps| {
            ps.iter()
                .map(|p| {
                    (
                        p["in"].as_str().unwrap_or_default().to_owned(),
                        p["name"].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let body_types: Vec<String> = operation["requestBody"]["content"]
        .as_object()
        .map(|c| c.keys().cloned().collect())
        .unwrap_or_default();
    let session = needs_session(method, path);
    if session {
        operation["security"] = json!([{"bearer": []}, {"session_cookie": []}]);
    }
    let Some(responses) = operation["responses"].as_object_mut() else {
        return;
    };
    for (status, response) in responses.iter_mut() {
        if response["description"].as_str().is_none_or(str::is_empty) {
            response["description"] = json!(match status.as_str() {
                "200" => "the answer",
                "201" => "created",
                "204" => "done; no content",
                _ => "an error",
            });
        }
    }
    if params.iter().any(|(kind, _)| kind == "path") {
        add(
            responses,
            "400",
            error("malformed input: `invalid_path`, `invalid_query`, `invalid_json`, `validation`"),
        );
        add(responses, "404", error("no such resource (`not_found`)"));
    }
    if params.iter().any(|(kind, _)| kind == "query") {
        add(
            responses,
            "400",
            error("malformed input: `invalid_query`, `validation`"),
        );
    }
    if !body_types.is_empty() {
        add(
            responses,
            "400",
            error("malformed input: `invalid_json`, `invalid_form`, `validation`"),
        );
        add(
            responses,
            "413",
            error("the body is over 64 KiB (`payload_too_large`)"),
        );
        if !body_types.iter().any(|t| t == "application/octet-stream") {
            add(
                responses,
                "415",
                error("the body is not of the declared type (`unsupported_media_type`)"),
            );
        }
    }
    if method != "get" {
        add(
            responses,
            "404",
            error("a resource the request names does not exist (`not_found`)"),
        );
        add(
            responses,
            "409",
            error("the current state refuses it (`refused`, `conflict`, `out_of_stock`, `invalid_transition`)"),
        );
    }
    if session {
        add(
            responses,
            "401",
            error("no valid session (`unauthenticated`)"),
        );
    }
    if path.starts_with("/api/admin/") {
        add(
            responses,
            "403",
            error("the session is not an administrator's (`forbidden`)"),
        );
    }
    add(
        responses,
        "408",
        error("the request did not arrive in time (`request_timeout`)"),
    );
    if let Some(limited) = responses.get_mut("429") {
        *limited = retry_after(
            error("too many requests from this address (`rate_limited`)"),
            "seconds until a retry may pass",
        );
    }
    add(
        responses,
        "503",
        retry_after(
            error("a backend is down or the server is busy (`unavailable`, `busy`)"),
            "seconds after which a retry may succeed",
        ),
    );
}
