//! `AccountStore` and `SessionStore`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use shop_core::account::{Account, AccountStore, Role, Session, SessionStore};
use shop_core::ids::UserId;
use shop_core::page::Page;
use shop_core::{Entity, Error, Result};

use crate::error::{retry_rolled_back, Violation};
use crate::rows::{account_from, session_from, Cols};
use crate::sql::Sql;
use crate::{commit, Dialect, SqlStore};

impl<D: Dialect> SqlStore<D> {
    async fn verify_email_tx(&self, token_hash: &str, at: DateTime<Utc>) -> Result<UserId> {
        let mut tx = self.write().await?;
        let spend = Sql::new(
            "UPDATE shop_verification_tokens SET used_at = ? WHERE token_hash = ? \
             AND used_at IS NULL AND expires_at > ?",
        )
        .bind(at)
        .bind(token_hash)
        .bind(at);
        if D::execute(&mut tx, &spend).await? == 0 {
            return Err(Error::not_found(Entity::VerificationToken, token_hash));
        }
        let owner = Sql::new("SELECT user_id FROM shop_verification_tokens WHERE token_hash = ?")
            .bind(token_hash);
        let user = D::fetch_optional(&mut tx, &owner)
            .await?
            .ok_or_else(|| Error::not_found(Entity::VerificationToken, token_hash))?
            .int("user_id")?;
        let verify = Sql::new(
            "UPDATE shop_accounts SET email_verified_at = COALESCE(email_verified_at, ?) \
             WHERE id = ?",
        )
        .bind(at)
        .bind(user);
        D::execute(&mut tx, &verify).await?;
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
             email_verified_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(a.id.0)
        .bind(&a.email)
        .bind(&a.name)
        .bind(&a.password_hash)
        .bind(a.role.as_str())
        .bind(a.email_verified_at)
        .bind(a.created_at);
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

    async fn issue_verification(
        &self,
        token_hash: &str,
        user: UserId,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        let insert = Sql::new(
            "INSERT INTO shop_verification_tokens (token_hash, user_id, expires_at) \
             VALUES (?, ?, ?)",
        )
        .bind(token_hash)
        .bind(user.0)
        .bind(expires_at);
        self.execute(insert)
            .await
            .map_err(|e| e.or_exists(Entity::VerificationToken, token_hash))?;
        Ok(())
    }

    async fn verify_email(&self, token_hash: &str, at: DateTime<Utc>) -> Result<UserId> {
        retry_rolled_back(|| self.verify_email_tx(token_hash, at)).await
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
