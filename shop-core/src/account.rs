//! Accounts: who may log in, their role, e-mail verification, password
//! resets and server-side sessions, with their store ports and the
//! [`Secrets`] port that hashes passwords and digests tokens. The use cases
//! (register, verify, log in and out, change or reset a password,
//! deactivate) are methods of [`Shop`](crate::Shop).
//!
//! Secrets never reach the store in the clear: passwords arrive as a hash
//! made by the application's [`Secrets`] (e.g. argon2id), and session,
//! verification and reset tokens as a digest of the bearer token (the token
//! itself lives only in the user's cookie or e-mail). Sessions are rows in
//! the store, so several instances of an application serve the same users.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Entity, Error, Result};
use crate::events::EventRecord;
use crate::ids::UserId;
use crate::notify::Locale;
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
    /// When an administrator deactivated it: a deactivated account cannot
    /// log in and has no sessions.
    #[serde(default)]
    pub deactivated_at: Option<DateTime<Utc>>,
    /// The language the shop writes to this person in.
    #[serde(default)]
    pub locale: Locale,
}

/// What a one-time account token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenPurpose {
    /// Proves the owner of an e-mail address (sent on registration).
    VerifyEmail,
    /// Lets the owner of an e-mail address set a new password.
    ResetPassword,
}

impl TokenPurpose {
    /// The stable lowercase name used in storage.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenPurpose::VerifyEmail => "verify_email",
            TokenPurpose::ResetPassword => "reset_password",
        }
    }

    /// What an unknown, used or expired token of this purpose is reported
    /// as (`NotFound { entity }`, `AlreadyExists { entity }`).
    pub fn entity(self) -> Entity {
        match self {
            TokenPurpose::VerifyEmail => Entity::VerificationToken,
            TokenPurpose::ResetPassword => Entity::PasswordResetToken,
        }
    }

    /// Parses [`TokenPurpose::as_str`]'s output.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "verify_email" => Some(TokenPurpose::VerifyEmail),
            "reset_password" => Some(TokenPurpose::ResetPassword),
            _ => None,
        }
    }
}

/// A one-time token e-mailed to an account's owner, as stored: its digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountToken {
    /// Digest of the token ([`Secrets::token_digest`]).
    pub token_hash: String,
    /// Whose it is.
    pub user_id: UserId,
    /// What it is for.
    pub purpose: TokenPurpose,
    /// When it stops being valid.
    pub expires_at: DateTime<Utc>,
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
/// characters, not only whitespace (`Validation { field: "password" }`).
pub fn validate_password(password: &str) -> Result<()> {
    check_password("password", password)
}

/// [`validate_password`]'s rule, reported as `field`.
pub fn check_password(field: &'static str, password: &str) -> Result<()> {
    let n = password.chars().count();
    if !(MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&n) || password.trim().is_empty() {
        return Err(Error::validation(
            field,
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

    /// Deactivates the account at `at`, or reactivates it with `None`
    /// (`NotFound` when absent).
    async fn set_deactivated(&self, id: UserId, at: Option<DateTime<Utc>>) -> Result<()>;

    /// Stores a one-time token's digest (`AlreadyExists` when it is taken)
    /// and records `events` (the e-mail carrying the token) in the outbox
    /// in the same step.
    async fn issue_token(&self, token: &AccountToken, events: &[EventRecord]) -> Result<()>;
    /// Consumes a [`TokenPurpose::VerifyEmail`] token atomically and marks
    /// its account's e-mail verified at `at` (an earlier verification
    /// stays); `NotFound { VerificationToken }` when the token is unknown,
    /// used, expired at `at`, or for another purpose. Returns the account's
    /// id.
    async fn verify_email(&self, token_hash: &str, at: DateTime<Utc>) -> Result<UserId>;
    /// Consumes a [`TokenPurpose::ResetPassword`] token atomically and sets
    /// its account's password hash; `NotFound { PasswordResetToken }` when
    /// the token is unknown, used, expired at `at`, or for another purpose.
    /// Returns the account's id.
    async fn reset_password(
        &self,
        token_hash: &str,
        password_hash: &str,
        at: DateTime<Utc>,
    ) -> Result<UserId>;
}

/// Port: the shop's secrets. Password hashing is slow on purpose (argon2id
/// in the example shop, on a pool of its own threads), so `shop-core` keeps
/// no such crypto: an application provides it. Token digests are what the
/// stores keep of session, verification and reset tokens (SHA-256 in the
/// example).
#[async_trait]
pub trait Secrets: Send + Sync + 'static {
    /// A hash of `password` (a PHC string) with a fresh salt. May answer
    /// `Error::Busy` when the hasher is saturated.
    async fn hash_password(&self, password: String) -> Result<String>;
    /// Whether `password` matches `hash` (false for a malformed hash).
    async fn verify_password(&self, password: String, hash: String) -> Result<bool>;
    /// Spends the time of one verification without an account, so a login
    /// for an unknown address takes as long as one with a wrong password.
    async fn verify_no_password(&self, password: String) -> Result<()>;
    /// The digest a store keeps of a bearer token.
    fn token_digest(&self, token: &str) -> String;
}

/// A new random bearer token: 32 bytes from the thread-local CSPRNG (seeded
/// generator, as 64 lowercase hex digits.
pub fn new_token() -> String {
    use rand::RngExt;
    let mut bytes = [0u8; 32];
    rand::rng().fill(&mut bytes[..]);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
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
