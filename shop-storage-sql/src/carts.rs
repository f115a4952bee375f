//! `CartStore`: cart lines, with the line cap checked under the line's lock.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use shop_core::cart::{check_line_quantity, missing_line, CartItem, CartStore};
use shop_core::ids::{SkuId, UserId};
use shop_core::{Entity, Error, Result, StoreError};

use crate::error::{retry_rolled_back, Violation};
use crate::rows::{cart_item_from, Cols};
use crate::sql::Sql;
use crate::{commit, Dialect, SqlStore};

impl<D: Dialect> SqlStore<D> {
    /// Locks the line (or, when absent, the place it would go), checks the
    /// cap on the sum, then writes: a concurrent first add of the same line
    /// makes one `INSERT` fail on the key (`AlreadyExists`), and the caller
    /// runs this again.
    async fn add_to_cart_tx(
        &self,
        user: UserId,
        sku: SkuId,
        quantity: u32,
        at: DateTime<Utc>,
    ) -> Result<u32> {
        let mut tx = self.write().await?;
        let read = Sql::new(format!(
            "SELECT quantity FROM shop_cart_items WHERE user_id = ? AND sku_id = ?{}",
            D::FOR_UPDATE
        ))
        .bind(user.0)
        .bind(sku.0);
        let total = match D::fetch_optional(&mut tx, &read).await? {
            Some(row) => {
                let total =
                    check_line_quantity(u64::from(row.count("quantity")?) + u64::from(quantity))?;
                let update = Sql::new(
                    "UPDATE shop_cart_items SET quantity = ? WHERE user_id = ? AND sku_id = ?",
                )
                .bind(total)
                .bind(user.0)
                .bind(sku.0);
                D::execute(&mut tx, &update).await?;
                total
            }
            None => {
                let insert = Sql::new(
                    "INSERT INTO shop_cart_items (user_id, sku_id, quantity, added_at) \
                     VALUES (?, ?, ?, ?)",
                )
                .bind(user.0)
                .bind(sku.0)
                .bind(quantity)
                .bind(at);
                D::execute(&mut tx, &insert)
                    .await
                    .map_err(|e| e.or_exists(Entity::CartItem, sku))?;
                quantity
            }
        };
        commit::<D>(tx).await?;
        Ok(total)
    }
}

#[async_trait]
impl<D: Dialect> CartStore for SqlStore<D> {
    async fn add_to_cart(
        &self,
        user: UserId,
        sku: SkuId,
        quantity: u32,
        at: DateTime<Utc>,
    ) -> Result<u32> {
        check_line_quantity(quantity.into())?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            match retry_rolled_back(|| self.add_to_cart_tx(user, sku, quantity, at)).await {
                Err(Error::Store(StoreError::AlreadyExists {
                    entity: Entity::CartItem,
                    ..
                })) if attempt < 10 => continue,
                other => return other,
            }
        }
    }

    async fn set_cart_quantity(&self, user: UserId, sku: SkuId, quantity: u32) -> Result<()> {
        check_line_quantity(quantity.into())?;
        let update =
            Sql::new("UPDATE shop_cart_items SET quantity = ? WHERE user_id = ? AND sku_id = ?")
                .bind(quantity)
                .bind(user.0)
                .bind(sku.0);
        if self.execute(update).await? == 0 {
            return Err(missing_line(sku));
        }
        Ok(())
    }

    async fn remove_from_cart(&self, user: UserId, skus: &[SkuId]) -> Result<()> {
        if skus.is_empty() {
            return Ok(());
        }
        let mut delete =
            Sql::new("DELETE FROM shop_cart_items WHERE user_id = ? AND sku_id IN ").bind(user.0);
        delete.push_list(skus.iter().map(|s| s.0));
        self.execute(delete).await?;
        Ok(())
    }

    async fn list_cart(&self, user: UserId) -> Result<Vec<CartItem>> {
        self.all(
            Sql::new("SELECT * FROM shop_cart_items WHERE user_id = ? ORDER BY added_at, sku_id")
                .bind(user.0),
            cart_item_from,
        )
        .await
    }
}
