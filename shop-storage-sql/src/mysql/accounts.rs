//! `AccountStore` on MySQL/MariaDB.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use shop_core::account::{Account, AccountStore, Role, Session, SessionStore};
use shop_core::catalog::Page;
use shop_core::ids::UserId;
use shop_core::{Entity, Error, Result};

use super::MySqlStore;
use crate::common::{account_from, db_err, session_from, unique_err};

#[async_trait]
impl AccountStore for MySqlStore {
    async fn create_account(&self, a: &Account) -> Result<()> {
        sqlx::query(
            "INSERT INTO accounts (id, email, name, password_hash, role, email_verified_at, \
             created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(a.id.0)
        .bind(&a.email)
        .bind(&a.name)
        .bind(&a.password_hash)
        .bind(a.role.as_str())
        .bind(a.email_verified_at)
        .bind(a.created_at)
        .execute(&self.pool)
        .await
        .map_err(|e| unique_err(e, Entity::Account, &a.email))?;
        Ok(())
    }

    async fn get_account(&self, id: UserId) -> Result<Option<Account>> {
        let row = sqlx::query("SELECT * FROM accounts WHERE id = ?")
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.as_ref().map(account_from).transpose()
    }

    async fn get_account_by_email(&self, email: &str) -> Result<Option<Account>> {
        let row = sqlx::query("SELECT * FROM accounts WHERE email = ?")
            .bind(email)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.as_ref().map(account_from).transpose()
    }

    async fn list_accounts(&self, page: u32, per_page: u32) -> Result<Page<Account>> {
        let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM accounts")
            .fetch_one(&self.pool)
            .await
            .map_err(db_err)?;
        let rows = sqlx::query("SELECT * FROM accounts ORDER BY created_at, id LIMIT ? OFFSET ?")
            .bind(i64::from(per_page))
            .bind(i64::from(page.max(1) - 1) * i64::from(per_page))
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(Page::new(
            rows.iter().map(account_from).collect::<Result<_>>()?,
            total as u64,
        ))
    }

    async fn set_role(&self, id: UserId, role: Role) -> Result<()> {
        let done = sqlx::query("UPDATE accounts SET role = ? WHERE id = ?")
            .bind(role.as_str())
            .bind(id.0)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        if done.rows_affected() == 0 {
            return Err(Error::not_found(Entity::Account, id));
        }
        Ok(())
    }

    async fn set_password_hash(&self, id: UserId, password_hash: &str) -> Result<()> {
        let done = sqlx::query("UPDATE accounts SET password_hash = ? WHERE id = ?")
            .bind(password_hash)
            .bind(id.0)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        if done.rows_affected() == 0 {
            return Err(Error::not_found(Entity::Account, id));
        }
        Ok(())
    }

    async fn issue_verification(
        &self,
        token_hash: &str,
        user: UserId,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO verification_tokens (token_hash, user_id, expires_at) VALUES (?, ?, ?)",
        )
        .bind(token_hash)
        .bind(user.0)
        .bind(expires_at)
        .execute(&self.pool)
        .await
        .map_err(|e| unique_err(e, Entity::VerificationToken, token_hash))?;
        Ok(())
    }

    async fn verify_email(&self, token_hash: &str, at: DateTime<Utc>) -> Result<UserId> {
        let mut tx = self.begin().await?;
        let user: Option<i64> = sqlx::query_scalar(
            "SELECT user_id FROM verification_tokens WHERE token_hash = ? FOR UPDATE",
        )
        .bind(token_hash)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?;
        let done = sqlx::query(
            "UPDATE verification_tokens SET used_at = ? WHERE token_hash = ? \
             AND used_at IS NULL AND expires_at > ?",
        )
        .bind(at)
        .bind(token_hash)
        .bind(at)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        let user = match user {
            Some(user) if done.rows_affected() == 1 => user,
            _ => return Err(Error::not_found(Entity::VerificationToken, token_hash)),
        };
        sqlx::query(
            "UPDATE accounts SET email_verified_at = COALESCE(email_verified_at, ?) WHERE id = ?",
        )
        .bind(at)
        .bind(user)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        Ok(UserId(user))
    }
}

#[async_trait]
impl SessionStore for MySqlStore {
    async fn create_session(&self, s: &Session) -> Result<()> {
        sqlx::query("INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)")
            .bind(&s.token_hash)
            .bind(s.user_id.0)
            .bind(s.created_at)
            .bind(s.expires_at)
            .execute(&self.pool)
            .await
            .map_err(|e| unique_err(e, Entity::Session, &s.token_hash))?;
        Ok(())
    }

    async fn get_session(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<Session>> {
        let row = sqlx::query("SELECT * FROM sessions WHERE token_hash = ? AND expires_at > ?")
            .bind(token_hash)
            .bind(now)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.as_ref().map(session_from).transpose()
    }

    async fn delete_session(&self, token_hash: &str) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = ?")
            .bind(token_hash)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn purge_expired_sessions(&self, now: DateTime<Utc>) -> Result<u64> {
        let done = sqlx::query("DELETE FROM sessions WHERE expires_at <= ?")
            .bind(now)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected())
    }

    async fn end_user_sessions(&self, user: UserId) -> Result<u64> {
        let done = sqlx::query("DELETE FROM sessions WHERE user_id = ?")
            .bind(user.0)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected())
    }
}
