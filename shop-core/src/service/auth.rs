//! Accounts as use cases: register, verify the e-mail address, log in and
//! out, authenticate a bearer token, change, reset or set a password, and
//! deactivate or reactivate an account — every time from the [`Clock`]
//! (crate::clock::Clock), every secret through the [`Secrets`] port.
//!
//! Passwords follow [`validate_password`]; an e-mail address is
//! [normalized](normalize_email) before it is stored or looked up. Logging
//! in answers the same [`Error::InvalidCredentials`] for an unknown address
//! and a wrong password, and spends a password verification either way.
//! A password change, reset or an administrator's new password ends every
//! session of the account, as does deactivating it.

use std::sync::Arc;

use super::Shop;
use crate::account::{
    check_password, new_token, normalize_email, validate_name, validate_password, Account,
    AccountToken, Role, Secrets, Session, TokenPurpose, MAX_PASSWORD_CHARS,
};
use crate::error::{Entity, Error, Result, StoreError};
use crate::events::DomainEvent;
use crate::ids::UserId;
use crate::notify::{Locale, Notifier};
use crate::page::{check_page, Page};

/// A session opened by logging in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedIn {
    /// The bearer token: only the client keeps it (the store keeps its
    /// digest).
    pub token: String,
    /// The stored session.
    pub session: Session,
    /// Who logged in.
    pub account: Account,
}

/// The error of an account use case called on a shop built without the
/// port it needs.
fn not_configured(setting: &'static str) -> Error {
    Error::Store(StoreError::NotSupported { operation: setting })
}

impl Shop {
    fn secrets(&self) -> Result<&Arc<dyn Secrets>> {
        self.inner
            .secrets
            .as_ref()
            .ok_or_else(|| not_configured("account use cases without ShopBuilder::secrets"))
    }

    fn notifier(&self) -> Result<&Arc<dyn Notifier>> {
        self.inner
            .notifier
            .as_ref()
            .ok_or_else(|| not_configured("account e-mails without ShopBuilder::notifier"))
    }

    /// Creates a customer account and e-mails it a verification token
    /// (`AlreadyExists { Account }` when the address is taken). The account
    /// logs in once the address is verified.
    ///
    /// `locale` is the language the shop writes to the account in (the
    /// configured [`ShopConfig::default_locale`](super::ShopConfig) when
    /// `None`).
    pub async fn register(
        &self,
        name: &str,
        email: &str,
        password: String,
        locale: Option<Locale>,
    ) -> Result<Account> {
        let name = validate_name(name)?;
        let email = normalize_email(email)?;
        validate_password(&password)?;
        self.notifier()?;
        let password_hash = self.secrets()?.hash_password(password).await?;
        let mut account = self.new_account(name, email, password_hash, Role::Customer, false);
        account.locale = locale.unwrap_or(self.inner.config.default_locale);
        self.inner.stores.accounts.create_account(&account).await?;
        self.mail_token(&account, TokenPurpose::VerifyEmail).await?;
        Ok(account)
    }

    /// Creates an account whose address counts as verified, with no e-mail:
    /// for an operator seeding an administrator.
    pub async fn create_verified_account(
        &self,
        name: &str,
        email: &str,
        password: String,
        role: Role,
    ) -> Result<Account> {
        let name = validate_name(name)?;
        let email = normalize_email(email)?;
        validate_password(&password)?;
        let password_hash = self.secrets()?.hash_password(password).await?;
        let account = self.new_account(name, email, password_hash, role, true);
        self.inner.stores.accounts.create_account(&account).await?;
        Ok(account)
    }

    fn new_account(
        &self,
        name: String,
        email: String,
        password_hash: String,
        role: Role,
        verified: bool,
    ) -> Account {
        let now = self.now();
        Account {
            id: UserId(self.next_id()),
            email,
            name,
            password_hash,
            role,
            email_verified_at: verified.then_some(now),
            created_at: now,
            deactivated_at: None,
            locale: self.inner.config.default_locale,
        }
    }

    /// Issues a one-time token for `purpose` and records the event whose
    /// e-mail carries it (sent from the outbox by the notifications
    /// listener).
    async fn mail_token(&self, account: &Account, purpose: TokenPurpose) -> Result<()> {
        let config = &self.inner.config;
        let ttl = match purpose {
            TokenPurpose::VerifyEmail => config.verification_ttl,
            TokenPurpose::ResetPassword => config.password_reset_ttl,
        };
        let token = new_token();
        let token_hash = self.secrets()?.token_digest(&token);
        let (user_id, valid_minutes) = (account.id, ttl.num_minutes());
        let event = match purpose {
            TokenPurpose::VerifyEmail => DomainEvent::EmailVerificationRequested {
                user_id,
                token,
                valid_minutes,
            },
            TokenPurpose::ResetPassword => DomainEvent::PasswordResetRequested {
                user_id,
                token,
                valid_minutes,
            },
        };
        self.inner
            .stores
            .accounts
            .issue_token(
                &AccountToken {
                    token_hash,
                    user_id,
                    purpose,
                    expires_at: self.now() + ttl,
                },
                &self.records(vec![event]),
            )
            .await
    }

    /// Consumes an e-mailed verification token and marks the address
    /// verified (`NotFound { VerificationToken }` when it is unknown, used or
    /// expired).
    pub async fn verify_email(&self, token: &str) -> Result<Account> {
        let digest = self.secrets()?.token_digest(token.trim());
        let user = self
            .inner
            .stores
            .accounts
            .verify_email(&digest, self.now())
            .await?;
        self.account(user).await
    }

    /// Logs in with an e-mail address and password: a new session of
    /// [`ShopConfig::session_ttl`](super::ShopConfig::session_ttl).
    /// `InvalidCredentials` for an unknown address or a wrong password,
    /// `AccountDeactivated`, `EmailNotVerified`.
    pub async fn log_in(&self, email: &str, password: String) -> Result<LoggedIn> {
        let secrets = self.secrets()?;
        // No password this long was ever accepted: refuse without spending a
        // hash on it.
        if password.chars().count() > MAX_PASSWORD_CHARS {
            return Err(Error::InvalidCredentials);
        }
        let email = normalize_email(email).map_err(|_| Error::InvalidCredentials)?;
        let found = self
            .inner
            .stores
            .accounts
            .get_account_by_email(&email)
            .await?;
        let Some(account) = found else {
            secrets.verify_no_password(password).await?;
            return Err(Error::InvalidCredentials);
        };
        if !secrets
            .verify_password(password, account.password_hash.clone())
            .await?
        {
            return Err(Error::InvalidCredentials);
        }
        if account.deactivated_at.is_some() {
            return Err(Error::AccountDeactivated);
        }
        if account.email_verified_at.is_none() {
            return Err(Error::EmailNotVerified);
        }
        let token = new_token();
        let now = self.now();
        let session = Session {
            token_hash: secrets.token_digest(&token),
            user_id: account.id,
            created_at: now,
            expires_at: now + self.inner.config.session_ttl,
        };
        self.inner.stores.sessions.create_session(&session).await?;
        Ok(LoggedIn {
            token,
            session,
            account,
        })
    }

    /// The session a bearer token opened and its account, while the
    /// session lasts and the account is active (`Unauthenticated`
    /// otherwise).
    pub async fn authenticate(&self, token: &str) -> Result<(Session, Account)> {
        let digest = self.secrets()?.token_digest(token);
        let session = self
            .inner
            .stores
            .sessions
            .get_session(&digest, self.now())
            .await?
            .ok_or(Error::Unauthenticated)?;
        match self
            .inner
            .stores
            .accounts
            .get_account(session.user_id)
            .await?
        {
            Some(account) if account.deactivated_at.is_none() => Ok((session, account)),
            _ => Err(Error::Unauthenticated),
        }
    }

    /// Ends the session a bearer token opened (nothing when there is none).
    pub async fn log_out(&self, token: &str) -> Result<()> {
        let digest = self.secrets()?.token_digest(token);
        self.inner.stores.sessions.delete_session(&digest).await
    }

    /// The account's owner changes the password, giving the current one
    /// (`Validation { field: "current_password" }` when it is wrong). Every
    /// session of the account ends, this one too.
    pub async fn change_password(&self, user: UserId, current: String, new: String) -> Result<()> {
        check_password("new_password", &new)?;
        let account = self.account(user).await?;
        let secrets = self.secrets()?;
        let matches = current.chars().count() <= MAX_PASSWORD_CHARS
            && secrets
                .verify_password(current, account.password_hash.clone())
                .await?;
        if !matches {
            return Err(Error::validation(
                "current_password",
                "does not match the account's password",
            ));
        }
        self.set_password(user, new).await
    }

    /// Gives an account a new password without the current one (an
    /// operator's command), ending every session of the account.
    pub async fn set_password(&self, user: UserId, password: String) -> Result<()> {
        validate_password(&password)?;
        let hash = self.secrets()?.hash_password(password).await?;
        self.inner
            .stores
            .accounts
            .set_password_hash(user, &hash)
            .await?;
        self.inner.stores.sessions.end_user_sessions(user).await?;
        Ok(())
    }

    /// E-mails a password reset token to the active account with this
    /// address. Answers the same for an address without one, so the answer
    /// does not tell which addresses have accounts.
    pub async fn request_password_reset(&self, email: &str) -> Result<()> {
        let email = normalize_email(email)?;
        self.notifier()?;
        match self
            .inner
            .stores
            .accounts
            .get_account_by_email(&email)
            .await?
        {
            Some(account) if account.deactivated_at.is_none() => {
                self.mail_token(&account, TokenPurpose::ResetPassword).await
            }
            _ => Ok(()),
        }
    }

    /// Sets a new password with an e-mailed reset token
    /// (`NotFound { PasswordResetToken }` when it is unknown, used or
    /// expired) and ends every session of the account. The reset proves
    /// the address, so it counts as verified from then on.
    pub async fn reset_password(&self, token: &str, password: String) -> Result<()> {
        validate_password(&password)?;
        let secrets = self.secrets()?;
        let digest = secrets.token_digest(token.trim());
        let hash = secrets.hash_password(password).await?;
        let user = self
            .inner
            .stores
            .accounts
            .reset_password(&digest, &hash, self.now())
            .await?;
        self.inner.stores.sessions.end_user_sessions(user).await?;
        Ok(())
    }

    /// An administrator (`by`) deactivates an account: it can no longer log
    /// in, and its sessions end. Nobody deactivates their own account
    /// (`Refused { field: "id" }`), so a shop keeps an administrator who can
    /// undo it.
    pub async fn deactivate_account(&self, by: UserId, user: UserId) -> Result<Account> {
        if by == user {
            return Err(Error::refused(
                "id",
                "an administrator cannot deactivate their own account",
            ));
        }
        let accounts = &self.inner.stores.accounts;
        accounts.set_deactivated(user, Some(self.now())).await?;
        self.inner.stores.sessions.end_user_sessions(user).await?;
        self.account(user).await
    }

    /// An administrator reactivates a deactivated account.
    pub async fn reactivate_account(&self, user: UserId) -> Result<Account> {
        self.inner
            .stores
            .accounts
            .set_deactivated(user, None)
            .await?;
        self.account(user).await
    }

    /// Changes an account's role.
    pub async fn set_role(&self, user: UserId, role: Role) -> Result<Account> {
        self.inner.stores.accounts.set_role(user, role).await?;
        self.account(user).await
    }

    /// An account (`NotFound { Account }`).
    pub async fn account(&self, user: UserId) -> Result<Account> {
        self.inner
            .stores
            .accounts
            .get_account(user)
            .await?
            .ok_or_else(|| Error::not_found(Entity::Account, user))
    }

    /// The account with this e-mail address (normalized first; a malformed
    /// address is `Validation { field: "email" }`).
    pub async fn account_by_email(&self, email: &str) -> Result<Option<Account>> {
        let email = normalize_email(email)?;
        self.inner
            .stores
            .accounts
            .get_account_by_email(&email)
            .await
    }

    /// Accounts, oldest first.
    pub async fn list_accounts(&self, page: u32, per_page: u32) -> Result<Page<Account>> {
        check_page(page, per_page)?;
        self.inner
            .stores
            .accounts
            .list_accounts(page, per_page)
            .await
    }

    /// Deletes every session expired now; how many.
    pub async fn purge_expired_sessions(&self) -> Result<u64> {
        self.inner
            .stores
            .sessions
            .purge_expired_sessions(self.now())
            .await
    }
}
