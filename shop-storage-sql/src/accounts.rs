//! `AccountStore` and `SessionStore`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use shop_core::account::{
    Account, AccountStore, AccountToken, Role, Session, SessionStore, TokenPurpose,
};
use shop_core::events::EventRecord;
use shop_core::ids::UserId;
use shop_core::page::Page;
use shop_core::{Entity, Error, Result};

use crate::dialect::Tx;
use crate::error::{retry_rolled_back, Violation};
use crate::rows::{account_from, session_from, Cols};
use crate::sql::Sql;
use crate::{commit, Dialect, SqlStore};

impl<D: Dialect> SqlStore<D> {
    /// Marks an unused, unexpired token of `purpose` used inside `tx` and
    /// returns its account (`NotFound` otherwise).
    async fn spend_token(
        tx: &mut Tx<D>,
        token_hash: &str,
        purpose: TokenPurpose,
        at: DateTime<Utc>,
    ) -> Result<i64> {
        let spend = Sql::new(
            "UPDATE shop_account_tokens SET used_at = ? WHERE token_hash = ? AND purpose = ? \
             AND used_at IS NULL AND expires_at > ?",
        )
        .bind(at)
        .bind(token_hash)
        .bind(purpose.as_str())
        .bind(at);
        let missing = || Error::not_found(purpose.entity(), token_hash);
        if D::execute(tx, &spend).await? == 0 {
            return Err(missing());
        }
        let owner = Sql::new("SELECT user_id FROM shop_account_tokens WHERE token_hash = ?")
            .bind(token_hash);
        D::fetch_optional(tx, &owner)
            .await?
            .ok_or_else(missing)?
            .int("user_id")
    }

    /// Spends a token of `purpose`, then runs `write` (with the account's id
    /// bound last) on its account, in one transaction.
    async fn spend_then(
        &self,
        token_hash: &str,
        purpose: TokenPurpose,
        at: DateTime<Utc>,
        write: &Sql,
    ) -> Result<UserId> {
        let mut tx = self.write().await?;
        let user = Self::spend_token(&mut tx, token_hash, purpose, at).await?;
        if D::execute(&mut tx, &write.clone().bind(user)).await? == 0 {
            return Err(Error::not_found(Entity::Account, user));
        }
        commit::<D>(tx).await?;
        Ok(UserId(user))
    }

    /// Sets one column of an account (`NotFound` when there is none).
    async fn set_account_column(&self, id: UserId, column: &str, value: &str) -> Result<()> {
        let update = Sql::new(format!(
            "UPDATE shop_accounts SET {column} = ? WHERE id = ?"
        ))
        .bind(value)
        .bind(id.0);
        if self.execute(update).await? == 0 {
            return Err(Error::not_found(Entity::Account, id));
        }
        Ok(())
    }
}

#[async_trait]
impl<D: Dialect> AccountStore for SqlStore<D> {
    async fn create_account(&self, a: &Account) -> Result<()> {
        let insert = Sql::new(
            "INSERT INTO shop_accounts (id, email, name, password_hash, role, \
             email_verified_at, created_at, locale) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(a.id.0)
        .bind(&a.email)
        .bind(&a.name)
        .bind(&a.password_hash)
        .bind(a.role.as_str())
        .bind(a.email_verified_at)
        .bind(a.created_at)
        .bind(a.locale.tag());
        self.execute(insert)
            .await
            .map_err(|e| e.or_exists(Entity::Account, &a.email))?;
        Ok(())
    }

    async fn get_account(&self, id: UserId) -> Result<Option<Account>> {
        self.one(
            Sql::new("SELECT * FROM shop_accounts WHERE id = ?").bind(id.0),
            account_from,
        )
        .await
    }

    async fn get_account_by_email(&self, email: &str) -> Result<Option<Account>> {
        self.one(
            Sql::new("SELECT * FROM shop_accounts WHERE email = ?").bind(email),
            account_from,
        )
        .await
    }

    async fn list_accounts(&self, page: u32, per_page: u32) -> Result<Page<Account>> {
        let mut conn = self.conn().await?;
        let total = D::fetch_optional(
            &mut conn,
            &Sql::new("SELECT COUNT(*) AS n FROM shop_accounts"),
        )
        .await?
        .map_or(Ok(0), |r| r.int("n"))?;
        let rows = D::fetch_all(
            &mut conn,
            &Sql::new("SELECT * FROM shop_accounts ORDER BY created_at, id LIMIT ? OFFSET ?")
                .bind(per_page)
                .bind(i64::from(page.max(1) - 1) * i64::from(per_page)),
        )
        .await?;
        Ok(Page::new(
            rows.iter().map(account_from).collect::<Result<_>>()?,
            total.max(0) as u64,
        ))
    }

    async fn set_role(&self, id: UserId, role: Role) -> Result<()> {
        self.set_account_column(id, "role", role.as_str()).await
    }

    async fn set_password_hash(&self, id: UserId, password_hash: &str) -> Result<()> {
        self.set_account_column(id, "password_hash", password_hash)
            .await
    }

    async fn set_deactivated(&self, id: UserId, at: Option<DateTime<Utc>>) -> Result<()> {
        let update = Sql::new("UPDATE shop_accounts SET deactivated_at = ? WHERE id = ?")
            .bind(at)
            .bind(id.0);
        if self.execute(update).await? == 0 {
            return Err(Error::not_found(Entity::Account, id));
        }
        Ok(())
    }

    async fn issue_token(&self, token: &AccountToken, events: &[EventRecord]) -> Result<()> {
        let insert = Sql::new(
            "INSERT INTO shop_account_tokens (token_hash, user_id, purpose, expires_at) \
             VALUES (?, ?, ?, ?)",
        )
        .bind(&token.token_hash)
        .bind(token.user_id.0)
        .bind(token.purpose.as_str())
        .bind(token.expires_at);
        self.execute_with(insert, events)
            .await
            .map_err(|e| e.or_exists(token.purpose.entity(), &token.token_hash))?;
        Ok(())
    }

    async fn verify_email(&self, token_hash: &str, at: DateTime<Utc>) -> Result<UserId> {
        let verify = Sql::new(
            "UPDATE shop_accounts SET email_verified_at = COALESCE(email_verified_at, ?) \
             WHERE id = ?",
        )
        .bind(at);
        let purpose = TokenPurpose::VerifyEmail;
        retry_rolled_back(|| self.spend_then(token_hash, purpose, at, &verify)).await
    }

    async fn reset_password(
        &self,
        token_hash: &str,
        password_hash: &str,
        at: DateTime<Utc>,
    ) -> Result<UserId> {
        let reset = Sql::new(
            "UPDATE shop_accounts SET password_hash = ?, \
             email_verified_at = COALESCE(email_verified_at, ?) WHERE id = ?",
        )
        .bind(password_hash)
        .bind(at);
        let purpose = TokenPurpose::ResetPassword;
        retry_rolled_back(|| self.spend_then(token_hash, purpose, at, &reset)).await
    }
}

#[async_trait]
impl<D: Dialect> SessionStore for SqlStore<D> {
    async fn create_session(&self, s: &Session) -> Result<()> {
        let insert = Sql::new(
            "INSERT INTO shop_sessions (token_hash, user_id, created_at, expires_at) \
             VALUES (?, ?, ?, ?)",
        )
        .bind(&s.token_hash)
        .bind(s.user_id.0)
        .bind(s.created_at)
        .bind(s.expires_at);
        self.execute(insert)
            .await
            .map_err(|e| e.or_exists(Entity::Session, &s.token_hash))?;
        Ok(())
    }

    async fn get_session(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<Session>> {
        self.one(
            Sql::new("SELECT * FROM shop_sessions WHERE token_hash = ? AND expires_at > ?")
                .bind(token_hash)
                .bind(now),
            session_from,
        )
        .await
    }

    async fn delete_session(&self, token_hash: &str) -> Result<()> {
        self.execute(Sql::new("DELETE FROM shop_sessions WHERE token_hash = ?").bind(token_hash))
            .await?;
        Ok(())
    }

    async fn purge_expired_sessions(&self, now: DateTime<Utc>) -> Result<u64> {
        self.execute(Sql::new("DELETE FROM shop_sessions WHERE expires_at <= ?").bind(now))
            .await
    }

    async fn end_user_sessions(&self, user: UserId) -> Result<u64> {
        self.execute(Sql::new("DELETE FROM shop_sessions WHERE user_id = ?").bind(user.0))
            .await
    }
}
