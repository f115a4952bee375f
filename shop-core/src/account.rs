//! Accounts: who may log in, their role, e-mail verification and
//! server-side sessions, with the account store port.
//!
//! Secrets never reach the store in the clear: passwords arrive as a hash
//! made by the application's password hasher (e.g. argon2), and session and
//! verification tokens as a digest of the bearer token (the token itself
//! lives only in the user's cookie or e-mail). Sessions are rows in the
//! store, so several instances of an application serve the same users.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::ids::UserId;
use crate::page::Page;

/// Shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// Longest password accepted (hashing cost is bounded).
pub const MAX_PASSWORD_CHARS: usize = 128;
/// Longest e-mail address, in bytes (RFC 5321).
pub const MAX_EMAIL_BYTES: usize = 254;

/// What an account may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Shops.
    Customer,
    /// Administers the shop.
    Admin,
}

impl Role {
    /// The stable lowercase name used in storage.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Customer => "customer",
            Role::Admin => "admin",
        }
    }

    /// Parses [`Role::as_str`]'s output.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "customer" => Some(Role::Customer),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// A login.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Account {
    /// The user's id (the same id orders, carts and addresses use).
    pub id: UserId,
    /// Lowercased, trimmed e-mail address; unique.
    pub email: String,
    /// Display name.
    pub name: String,
    /// The password hash (PHC string); never the password.
    #[serde(skip_serializing)]
    pub password_hash: String,
    /// What the account may do.
    pub role: Role,
    /// When the e-mail address was verified.
    pub email_verified_at: Option<DateTime<Utc>>,
    /// When the account was created.
    pub created_at: DateTime<Utc>,
}

/// A logged-in session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// Digest of the bearer token.
    pub token_hash: String,
    /// Whose session it is.
    pub user_id: UserId,
    /// When it was opened.
    pub created_at: DateTime<Utc>,
    /// When it stops being valid.
    pub expires_at: DateTime<Utc>,
}

/// The canonical form of an e-mail address: trimmed and lowercased, with a
/// plausible shape (`local@domain.tld`, at most 254 characters).
pub fn normalize_email(email: &str) -> Result<String> {
    let email = email.trim().to_lowercase();
    let valid = email.len() <= MAX_EMAIL_BYTES
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && match email.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && !domain.contains('@')
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
            }
            None => false,
        };
    if valid {
        Ok(email)
    } else {
        Err(Error::validation("email", "must be an e-mail address"))
    }
}

/// The password rule: [`MIN_PASSWORD_CHARS`]..=[`MAX_PASSWORD_CHARS`]
/// characters, not only whitespace.
pub fn validate_password(password: &str) -> Result<()> {
    let n = password.chars().count();
    if !(MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&n) || password.trim().is_empty() {
        return Err(Error::validation(
            "password",
            format!("must be {MIN_PASSWORD_CHARS}–{MAX_PASSWORD_CHARS} characters"),
        ));
    }
    Ok(())
}

/// Longest display name, in characters.
pub const MAX_NAME_CHARS: usize = 64;

/// The display-name rule: a line of 1–[`MAX_NAME_CHARS`] characters, not
/// blank; returns it trimmed.
pub fn validate_name(name: &str) -> Result<String> {
    Ok(crate::text::required_line("name", name, MAX_NAME_CHARS)?.to_owned())
}

/// Port: accounts and e-mail verification tokens (sessions are
/// [`SessionStore`]).
#[async_trait]
pub trait AccountStore: Send + Sync + 'static {
    /// Inserts an account (`AlreadyExists { Account }` when the id or the
    /// e-mail address is taken).
    async fn create_account(&self, account: &Account) -> Result<()>;
    /// Loads an account.
    async fn get_account(&self, id: UserId) -> Result<Option<Account>>;
    /// Loads an account by its normalized e-mail address.
    async fn get_account_by_email(&self, email: &str) -> Result<Option<Account>>;
    /// Accounts, oldest first.
    async fn list_accounts(&self, page: u32, per_page: u32) -> Result<Page<Account>>;
    /// Changes an account's role (`NotFound` when absent).
    async fn set_role(&self, id: UserId, role: Role) -> Result<()>;
    /// Replaces an account's password hash (`NotFound` when absent).
    async fn set_password_hash(&self, id: UserId, password_hash: &str) -> Result<()>;

    /// Stores a one-time e-mail verification token digest for `user`.
    async fn issue_verification(
        &self,
        token_hash: &str,
        user: UserId,
        expires_at: DateTime<Utc>,
    ) -> Result<()>;
    /// Consumes a verification token atomically and marks its account's
    /// e-mail verified at `at`; `NotFound { VerificationToken }` when the
    /// token is unknown, used or expired at `at`. Returns the account's id.
    async fn verify_email(&self, token_hash: &str, at: DateTime<Utc>) -> Result<UserId>;
}

/// Port: logged-in sessions, kept apart from [`AccountStore`] so they can live
/// in another backend (e.g. accounts in PostgreSQL, sessions in Redis).
///
/// Expiry is decided by the caller's clock: a session is valid while
/// `now < expires_at`. A backend may forget an expired session on its own
/// (a Redis key TTL); [`SessionStore::purge_expired_sessions`] is for the
/// backends that do not.
#[async_trait]
pub trait SessionStore: Send + Sync + 'static {
    /// Stores a session (`AlreadyExists { Session }` when the digest is taken).
    async fn create_session(&self, session: &Session) -> Result<()>;
    /// A session that has not expired at `now`.
    async fn get_session(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<Session>>;
    /// Ends a session (no-op when absent).
    async fn delete_session(&self, token_hash: &str) -> Result<()>;
    /// Deletes every session expired at `now` (`expires_at <= now`) and
    /// returns how many it deleted. Sessions still valid are untouched.
    async fn purge_expired_sessions(&self, now: DateTime<Utc>) -> Result<u64>;
    /// Ends every session of `user` (after a password change or reset, or
    /// when the account is closed) and returns how many it ended. Other
    /// users' sessions are untouched.
    async fn end_user_sessions(&self, user: UserId) -> Result<u64>;
}
