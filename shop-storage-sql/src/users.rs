//! `UserStore`: addresses and favorites.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use shop_core::ids::{AddressId, ProductId, UserId};
use shop_core::user::{Address, HistoryStore, UserStore};
use shop_core::{Entity, Error, Result};

use crate::error::{retry_rolled_back, Violation};
use crate::rows::{address_from, Cols};
use crate::sql::Sql;
use crate::{commit, Dialect, SqlStore};

/// An address's columns, in the order the statements list them, its id last.
fn bind_address(sql: Sql, a: &Address) -> Sql {
    let f = &a.fields;
    sql.bind(a.user_id.0)
        .bind(&f.province)
        .bind(&f.city)
        .bind(&f.district)
        .bind(&f.street)
        .bind(&f.zip)
        .bind(&f.contact_name)
        .bind(&f.contact_phone)
        .bind(a.last_used_at)
        .bind(a.id.0)
}

#[async_trait]
impl<D: Dialect> UserStore for SqlStore<D> {
    async fn create_address(&self, a: &Address) -> Result<()> {
        let insert = Sql::new(
            "INSERT INTO shop_addresses (user_id, province, city, district, street, zip, \
             contact_name, contact_phone, last_used_at, id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        );
        self.execute(bind_address(insert, a))
            .await
            .map_err(|e| e.or_exists(Entity::Address, a.id))?;
        Ok(())
    }

    async fn update_address(&self, a: &Address) -> Result<()> {
        let update = Sql::new(
            "UPDATE shop_addresses SET user_id = ?, province = ?, city = ?, district = ?, \
             street = ?, zip = ?, contact_name = ?, contact_phone = ?, last_used_at = ? \
             WHERE id = ?",
        );
        if self.execute(bind_address(update, a)).await? == 0 {
            return Err(Error::not_found(Entity::Address, a.id));
        }
        Ok(())
    }

    async fn delete_address(&self, id: AddressId) -> Result<()> {
        let delete = Sql::new("DELETE FROM shop_addresses WHERE id = ?").bind(id.0);
        if self.execute(delete).await? == 0 {
            return Err(Error::not_found(Entity::Address, id));
        }
        Ok(())
    }

    async fn get_address(&self, id: AddressId) -> Result<Option<Address>> {
        self.one(
            Sql::new("SELECT * FROM shop_addresses WHERE id = ?").bind(id.0),
            address_from,
        )
        .await
    }

    async fn list_addresses(&self, user: UserId) -> Result<Vec<Address>> {
        self.all(
            Sql::new(
                "SELECT * FROM shop_addresses WHERE user_id = ? \
                     ORDER BY last_used_at IS NULL, last_used_at DESC, id DESC",
            )
            .bind(user.0),
            address_from,
        )
        .await
    }

    async fn add_favorite(
        &self,
        user: UserId,
        product: ProductId,
        at: DateTime<Utc>,
    ) -> Result<()> {
        let insert = Sql::new(
            "INSERT INTO shop_favorites (user_id, product_id, created_at) VALUES (?, ?, ?)",
        )
        .bind(user.0)
        .bind(product.0)
        .bind(at);
        match self.execute(insert).await {
            // Already a favorite: it keeps its first time.
            Err(e) if e.is_unique_violation() => Ok(()),
            other => other.map(|_| ()),
        }
    }

    async fn remove_favorite(&self, user: UserId, product: ProductId) -> Result<()> {
        let delete = Sql::new("DELETE FROM shop_favorites WHERE user_id = ? AND product_id = ?")
            .bind(user.0)
            .bind(product.0);
        self.execute(delete).await?;
        Ok(())
    }

    async fn list_favorites(&self, user: UserId) -> Result<Vec<ProductId>> {
        let sql = Sql::new(
            "SELECT product_id FROM shop_favorites WHERE user_id = ? \
             ORDER BY created_at DESC, product_id DESC",
        )
        .bind(user.0);
        self.all(sql, |r| r.int("product_id").map(ProductId)).await
    }
}

impl<D: Dialect> SqlStore<D> {
    async fn record_view_tx(
        &self,
        user: UserId,
        product: ProductId,
        at: DateTime<Utc>,
        keep: u32,
    ) -> Result<()> {
        let mut tx = self.write().await?;
        let touch =
            Sql::new("UPDATE shop_history SET viewed_at = ? WHERE user_id = ? AND product_id = ?")
                .bind(at)
                .bind(user.0)
                .bind(product.0);
        if D::execute(&mut tx, &touch).await? == 0 {
            let insert = Sql::new(
                "INSERT INTO shop_history (user_id, product_id, viewed_at) VALUES (?, ?, ?)",
            )
            .bind(user.0)
            .bind(product.0)
            .bind(at);
            // A concurrent first view of the same product: rolled back and
            // retried, it becomes an update.
            D::execute(&mut tx, &insert).await?;
        }
        // The newest `keep` stay: delete from the first one past them.
        let first_out = Sql::new(
            "SELECT product_id, viewed_at FROM shop_history WHERE user_id = ? \
             ORDER BY viewed_at DESC, product_id DESC LIMIT 1 OFFSET ?",
        )
        .bind(user.0)
        .bind(i64::from(keep));
        if let Some(row) = D::fetch_optional(&mut tx, &first_out).await? {
            let (pid, t) = (row.int("product_id")?, row.time("viewed_at")?);
            let trim = Sql::new(
                "DELETE FROM shop_history WHERE user_id = ? \
                 AND (viewed_at < ? OR (viewed_at = ? AND product_id <= ?))",
            )
            .bind(user.0)
            .bind(t)
            .bind(t)
            .bind(pid);
            D::execute(&mut tx, &trim).await?;
        }
        commit::<D>(tx).await
    }
}

#[async_trait]
impl<D: Dialect> HistoryStore for SqlStore<D> {
    async fn record_view(
        &self,
        user: UserId,
        product: ProductId,
        at: DateTime<Utc>,
        keep: u32,
    ) -> Result<()> {
        retry_rolled_back(|| async {
            match self.record_view_tx(user, product, at, keep).await {
                // Two first views at once: the second finds the row now.
                Err(e) if e.is_unique_violation() => {
                    self.record_view_tx(user, product, at, keep).await
                }
                other => other,
            }
        })
        .await
    }

    async fn recently_viewed(&self, user: UserId, limit: u32) -> Result<Vec<ProductId>> {
        let sql = Sql::new(
            "SELECT product_id FROM shop_history WHERE user_id = ? \
             ORDER BY viewed_at DESC, product_id DESC LIMIT ?",
        )
        .bind(user.0)
        .bind(i64::from(limit));
        self.all(sql, |r| r.int("product_id").map(ProductId)).await
    }
}
