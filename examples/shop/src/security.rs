//! Secrets: random bearer tokens, their SHA-256 digests (the only form the
//! store sees), argon2id password hashes, and a per-client rate limiter.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Instant;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use aws_lc_rs::digest;
use rand::RngExt;

use crate::error::AppError;

/// A new random bearer token: 32 bytes, lowercase hex.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill(&mut bytes[..]);
    hex::encode(bytes)
}

/// The lowercase hex SHA-256 digest of a token, as stored.
pub fn token_digest(token: &str) -> String {
    hex::encode(digest::digest(&digest::SHA256, token.as_bytes()).as_ref())
}

/// Hashes a password with argon2id and a random salt (PHC string). Slow on
/// purpose: call it off the async executor.
pub fn hash_password(password: &str) -> Result<String, AppError> {
    let mut salt = [0u8; 16];
    rand::rng().fill(&mut salt[..]);
    let salt = SaltString::encode_b64(&salt).map_err(internal)?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(internal)
}

/// Spends the time of one password check for a login whose e-mail address
/// is unknown, so response times do not tell which addresses have accounts.
pub fn verify_nothing(password: &str) {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let hash = DUMMY.get_or_init(|| hash_password("not a password of anybody").unwrap_or_default());
    let _ = verify_password(password, hash);
}

/// Whether `password` matches the PHC `hash`.
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

fn internal(e: impl std::fmt::Display) -> AppError {
    eprintln!("password hashing failed: {e}");
    AppError::new(
        axum::http::StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "internal error",
    )
}

/// A token bucket per (action, client address): `burst` requests at once,
/// refilled at `per_minute` requests a minute.
#[derive(Debug)]
pub struct RateLimiter {
    burst: f64,
    per_second: f64,
    buckets: Mutex<HashMap<BucketKey, Bucket>>,
}

/// Which bucket: the action and the client's address.
type BucketKey = (&'static str, IpAddr);
/// Tokens left and when they were counted.
type Bucket = (f64, Instant);

/// Buckets kept before full ones are dropped (bounded memory).
const MAX_BUCKETS: usize = 10_000;

impl RateLimiter {
    /// A limiter allowing `per_minute` requests a minute per action and
    /// client, in bursts of up to `per_minute`.
    pub fn new(per_minute: u32) -> Self {
        let per_minute = f64::from(per_minute.max(1));
        RateLimiter {
            burst: per_minute,
            per_second: per_minute / 60.0,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `action` from `client`'s bucket, or answers
    /// `429 rate_limited`.
    pub fn check(&self, action: &'static str, client: IpAddr) -> Result<(), AppError> {
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() >= MAX_BUCKETS {
            let (burst, rate) = (self.burst, self.per_second);
            buckets.retain(|_, (tokens, at)| {
                *tokens + now.duration_since(*at).as_secs_f64() * rate < burst
            });
        }
        let (tokens, at) = buckets.entry((action, client)).or_insert((self.burst, now));
        *tokens =
            (*tokens + now.duration_since(*at).as_secs_f64() * self.per_second).min(self.burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(AppError::rate_limited())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_empties_then_refuses() {
        let limiter = RateLimiter::new(3);
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        for _ in 0..3 {
            limiter.check("login", ip).unwrap();
        }
        assert_eq!(limiter.check("login", ip).unwrap_err().status, 429);
        limiter.check("register", ip).unwrap();
        limiter.check("login", "10.0.0.2".parse().unwrap()).unwrap();
    }

    #[test]
    fn passwords_verify_and_digests_are_hex() {
        let hash = hash_password("correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("wrong horse", &hash));
        assert_eq!(token_digest("a").len(), 64);
        assert_ne!(new_token(), new_token());
    }
}
