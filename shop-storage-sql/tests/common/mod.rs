//! Shared by the server-backed test files: where the servers are, and what
//! happens when one is missing.
#![allow(dead_code, unreachable_pub)]

/// The URL of a test server: `var` from the environment, else `default`.
pub fn server_url(var: &str, default: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| default.to_owned())
}

/// Called when a test server cannot be reached: under `CI` this fails the
/// test; elsewhere it prints a loud message and the test is skipped.
pub fn server_missing<T>(what: &str, url: &str, error: impl std::fmt::Display) -> Option<T> {
    if std::env::var_os("CI").is_some() {
        panic!("{what} at {url} is unreachable and CI is set: {error}");
    }
    eprintln!(
        "\n*** SKIPPED: {what} at {url} is unreachable ({error}); start it to run this test ***\n"
    );
    None
}

/// A name no other test (in this or another run) uses: `prefix` + pid +
/// nanoseconds + a counter.
pub fn unique_name(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_nanos()
        % 1_000_000_000_000;
    format!(
        "{prefix}{}_{nanos}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}
