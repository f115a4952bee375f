//! `AccountStore` for [`MemoryStore`](super::MemoryStore).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{already_exists, page_of, MemoryStore};
use crate::account::{
    Account, AccountStore, AccountToken, Role, Session, SessionStore, TokenPurpose,
};
use crate::error::{Entity, Error, Result};
use crate::events::EventRecord;
use crate::ids::UserId;
use crate::page::Page;

/// A stored one-time account token.
#[derive(Debug, Clone)]
pub(super) struct StoredToken {
    token: AccountToken,
    used: bool,
}

#[async_trait]
impl AccountStore for MemoryStore {
    async fn create_account(&self, account: &Account) -> Result<()> {
        let mut state = self.state();
        if state.accounts.contains_key(&account.id)
            || state.accounts.values().any(|a| a.email == account.email)
        {
            return Err(already_exists(Entity::Account, &account.email));
        }
        state.accounts.insert(account.id, account.clone());
        Ok(())
    }

    async fn get_account(&self, id: UserId) -> Result<Option<Account>> {
        Ok(self.state().accounts.get(&id).cloned())
    }

    async fn get_account_by_email(&self, email: &str) -> Result<Option<Account>> {
        Ok(self
            .state()
            .accounts
            .values()
            .find(|a| a.email == email)
            .cloned())
    }

    async fn list_accounts(&self, page: u32, per_page: u32) -> Result<Page<Account>> {
        let state = self.state();
        let mut all: Vec<Account> = state.accounts.values().cloned().collect();
        all.sort_by_key(|a| (a.created_at, a.id));
        let total = all.len() as u64;
        Ok(Page::new(page_of(all, page, per_page), total))
    }

    async fn set_role(&self, id: UserId, role: Role) -> Result<()> {
        let mut state = self.state();
        let account = state
            .accounts
            .get_mut(&id)
            .ok_or_else(|| Error::not_found(Entity::Account, id))?;
        account.role = role;
        Ok(())
    }

    async fn set_password_hash(&self, id: UserId, password_hash: &str) -> Result<()> {
        let mut state = self.state();
        let account = state
            .accounts
            .get_mut(&id)
            .ok_or_else(|| Error::not_found(Entity::Account, id))?;
        password_hash.clone_into(&mut account.password_hash);
        Ok(())
    }

    async fn set_deactivated(&self, id: UserId, at: Option<DateTime<Utc>>) -> Result<()> {
        let mut state = self.state();
        let account = state
            .accounts
            .get_mut(&id)
            .ok_or_else(|| Error::not_found(Entity::Account, id))?;
        account.deactivated_at = at;
        Ok(())
    }

    async fn issue_token(&self, token: &AccountToken, events: &[EventRecord]) -> Result<()> {
        self.write(events, |state| {
            if state.account_tokens.contains_key(&token.token_hash) {
                return Err(already_exists(token.purpose.entity(), &token.token_hash));
            }
            state.account_tokens.insert(
                token.token_hash.clone(),
                StoredToken {
                    token: token.clone(),
                    used: false,
                },
            );
            Ok(())
        })
    }

    async fn verify_email(&self, token_hash: &str, at: DateTime<Utc>) -> Result<UserId> {
        let mut state = self.state();
        let user = state.spend_token(token_hash, TokenPurpose::VerifyEmail, at)?;
        if let Some(account) = state.accounts.get_mut(&user) {
            account.email_verified_at.get_or_insert(at);
        }
        Ok(user)
    }

    async fn reset_password(
        &self,
        token_hash: &str,
        password_hash: &str,
        at: DateTime<Utc>,
    ) -> Result<UserId> {
        let mut state = self.state();
        let user = state.spend_token(token_hash, TokenPurpose::ResetPassword, at)?;
        if let Some(account) = state.accounts.get_mut(&user) {
            password_hash.clone_into(&mut account.password_hash);
            account.email_verified_at.get_or_insert(at);
        }
        Ok(user)
    }
}

impl super::State {
    /// Marks an unused, unexpired token of `purpose` used and returns its
    /// user (`NotFound` otherwise, also when its account is gone).
    fn spend_token(
        &mut self,
        token_hash: &str,
        purpose: TokenPurpose,
        at: DateTime<Utc>,
    ) -> Result<UserId> {
        let missing = || Error::not_found(purpose.entity(), token_hash);
        let stored = self
            .account_tokens
            .get_mut(token_hash)
            .ok_or_else(missing)?;
        let t = &stored.token;
        if stored.used || t.purpose != purpose || t.expires_at <= at {
            return Err(missing());
        }
        if !self.accounts.contains_key(&t.user_id) {
            return Err(Error::not_found(Entity::Account, t.user_id));
        }
        stored.used = true;
        Ok(t.user_id)
    }
}

#[async_trait]
impl SessionStore for MemoryStore {
    async fn create_session(&self, session: &Session) -> Result<()> {
        let mut state = self.state();
        if state.sessions.contains_key(&session.token_hash) {
            return Err(already_exists(Entity::Session, &session.token_hash));
        }
        state
            .sessions
            .insert(session.token_hash.clone(), session.clone());
        Ok(())
    }

    async fn get_session(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<Session>> {
        Ok(self
            .state()
            .sessions
            .get(token_hash)
            .filter(|s| s.expires_at > now)
            .cloned())
    }

    async fn delete_session(&self, token_hash: &str) -> Result<()> {
        self.state().sessions.remove(token_hash);
        Ok(())
    }

    async fn purge_expired_sessions(&self, now: DateTime<Utc>) -> Result<u64> {
        let mut state = self.state();
        let before = state.sessions.len();
        state.sessions.retain(|_, s| s.expires_at > now);
        Ok((before - state.sessions.len()) as u64)
    }

    async fn end_user_sessions(&self, user: UserId) -> Result<u64> {
        let mut state = self.state();
        let before = state.sessions.len();
        state.sessions.retain(|_, s| s.user_id != user);
        Ok((before - state.sessions.len()) as u64)
    }
}
