//! `AccountStore` for [`MemoryStore`](super::MemoryStore).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{already_exists, page_of, MemoryStore};
use crate::account::{Account, AccountStore, Role, Session, SessionStore};
use crate::error::{Entity, Error, Result};
use crate::ids::UserId;
use crate::page::Page;

/// A stored verification token.
#[derive(Debug, Clone)]
pub(super) struct Verification {
    user: UserId,
    expires_at: DateTime<Utc>,
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

    async fn issue_verification(
        &self,
        token_hash: &str,
        user: UserId,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        let mut state = self.state();
        if state.verifications.contains_key(token_hash) {
            return Err(already_exists(Entity::VerificationToken, token_hash));
        }
        state.verifications.insert(
            token_hash.to_owned(),
            Verification {
                user,
                expires_at,
                used: false,
            },
        );
        Ok(())
    }

    async fn verify_email(&self, token_hash: &str, at: DateTime<Utc>) -> Result<UserId> {
        let mut state = self.state();
        let user = match state.verifications.get(token_hash) {
            Some(v) if !v.used && v.expires_at > at => v.user,
            _ => return Err(Error::not_found(Entity::VerificationToken, token_hash)),
        };
        let account = state
            .accounts
            .get_mut(&user)
            .ok_or_else(|| Error::not_found(Entity::Account, user))?;
        account.email_verified_at.get_or_insert(at);
        if let Some(v) = state.verifications.get_mut(token_hash) {
            v.used = true;
        }
        Ok(user)
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
