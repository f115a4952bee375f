//! `UserStore`, `CartStore` and `CouponStore` on MySQL / MariaDB.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use shop_core::cart::{check_line_quantity, missing_line, CartItem, CartStore};
use shop_core::coupon::{Coupon, CouponDraft, CouponStore};
use shop_core::ids::{AddressId, CouponId, ProductId, SkuId, UserId};
use shop_core::user::{Address, UserStore};
use shop_core::{Entity, Error, Result, StoreError};
use sqlx::Row;

use super::MySqlStore;
use crate::common::{
    address_from, cart_item_from, conflict, coupon_from, db_err, retry_rolled_back, unique_err,
};

impl MySqlStore {
    async fn add_to_cart_tx(
        &self,
        user: UserId,
        sku: SkuId,
        quantity: u32,
        at: DateTime<Utc>,
    ) -> Result<u32> {
        check_line_quantity(quantity.into())?;
        let mut tx = self.begin().await?;
        // Lock the line (or, when absent, the gap where it would go), check
        // the cap, then write: a concurrent first add of the same line makes
        // one INSERT fail on the key, and the caller runs this again.
        let current: Option<i64> = sqlx::query_scalar(
            "SELECT quantity FROM cart_items WHERE user_id = ? AND sku_id = ? FOR UPDATE",
        )
        .bind(user.0)
        .bind(sku.0)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?;
        let total = match current {
            Some(current) => {
                let total = check_line_quantity(
                    u64::try_from(current).unwrap_or(u64::MAX) + u64::from(quantity),
                )?;
                sqlx::query("UPDATE cart_items SET quantity = ? WHERE user_id = ? AND sku_id = ?")
                    .bind(i64::from(total))
                    .bind(user.0)
                    .bind(sku.0)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                total
            }
            None => {
                sqlx::query(
                    "INSERT INTO cart_items (user_id, sku_id, quantity, added_at) \
                     VALUES (?, ?, ?, ?)",
                )
                .bind(user.0)
                .bind(sku.0)
                .bind(i64::from(quantity))
                .bind(at)
                .execute(&mut *tx)
                .await
                .map_err(|e| unique_err(e, Entity::CartItem, sku))?;
                quantity
            }
        };
        tx.commit().await.map_err(db_err)?;
        Ok(total)
    }

    async fn delete_coupon_tx(&self, id: CouponId) -> Result<()> {
        let mut tx = self.begin().await?;
        // Lock the coupon first: an order taking it must update this row,
        // so none can appear while we look.
        let exists = sqlx::query("SELECT 1 FROM coupons WHERE id = ? FOR UPDATE")
            .bind(id.0)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?;
        if exists.is_none() {
            return Err(Error::not_found(Entity::Coupon, id));
        }
        let used =
            sqlx::query("SELECT 1 FROM orders WHERE coupon_id = ? LIMIT 1 LOCK IN SHARE MODE")
                .bind(id.0)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db_err)?;
        if used.is_some() {
            return Err(conflict(Entity::Coupon, id));
        }
        sqlx::query("DELETE FROM coupons WHERE id = ?")
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        tx.commit().await.map_err(db_err)
    }
}

#[async_trait]
impl UserStore for MySqlStore {
    async fn create_address(&self, a: &Address) -> Result<()> {
        let f = &a.fields;
        sqlx::query(
            "INSERT INTO addresses (id, user_id, province, city, district, street, zip, \
             contact_name, contact_phone, last_used_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(a.id.0)
        .bind(a.user_id.0)
        .bind(&f.province)
        .bind(&f.city)
        .bind(&f.district)
        .bind(&f.street)
        .bind(&f.zip)
        .bind(&f.contact_name)
        .bind(&f.contact_phone)
        .bind(a.last_used_at)
        .execute(&self.pool)
        .await
        .map_err(|e| unique_err(e, Entity::Address, a.id))?;
        Ok(())
    }

    async fn update_address(&self, a: &Address) -> Result<()> {
        let f = &a.fields;
        // `rows_affected` counts matched rows (CLIENT_FOUND_ROWS), so an
        // update writing identical values is still found.
        let done = sqlx::query(
            "UPDATE addresses SET user_id = ?, province = ?, city = ?, district = ?, street = ?, \
             zip = ?, contact_name = ?, contact_phone = ?, last_used_at = ? WHERE id = ?",
        )
        .bind(a.user_id.0)
        .bind(&f.province)
        .bind(&f.city)
        .bind(&f.district)
        .bind(&f.street)
        .bind(&f.zip)
        .bind(&f.contact_name)
        .bind(&f.contact_phone)
        .bind(a.last_used_at)
        .bind(a.id.0)
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        if done.rows_affected() == 0 {
            return Err(Error::not_found(Entity::Address, a.id));
        }
        Ok(())
    }

    async fn delete_address(&self, id: AddressId) -> Result<()> {
        let done = sqlx::query("DELETE FROM addresses WHERE id = ?")
            .bind(id.0)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        if done.rows_affected() == 0 {
            return Err(Error::not_found(Entity::Address, id));
        }
        Ok(())
    }

    async fn get_address(&self, id: AddressId) -> Result<Option<Address>> {
        let row = sqlx::query("SELECT * FROM addresses WHERE id = ?")
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.as_ref().map(address_from).transpose()
    }

    async fn list_addresses(&self, user: UserId) -> Result<Vec<Address>> {
        let rows = sqlx::query(
            "SELECT * FROM addresses WHERE user_id = ? \
             ORDER BY last_used_at IS NULL, last_used_at DESC, id DESC",
        )
        .bind(user.0)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(address_from).collect()
    }

    async fn add_favorite(
        &self,
        user: UserId,
        product: ProductId,
        at: DateTime<Utc>,
    ) -> Result<()> {
        // A no-op update on a duplicate keeps the first time.
        sqlx::query(
            "INSERT INTO favorites (user_id, product_id, created_at) VALUES (?, ?, ?) \
             ON DUPLICATE KEY UPDATE created_at = created_at",
        )
        .bind(user.0)
        .bind(product.0)
        .bind(at)
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn remove_favorite(&self, user: UserId, product: ProductId) -> Result<()> {
        sqlx::query("DELETE FROM favorites WHERE user_id = ? AND product_id = ?")
            .bind(user.0)
            .bind(product.0)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn list_favorites(&self, user: UserId) -> Result<Vec<ProductId>> {
        let rows = sqlx::query(
            "SELECT product_id FROM favorites WHERE user_id = ? \
             ORDER BY created_at DESC, product_id DESC",
        )
        .bind(user.0)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter()
            .map(|r| r.try_get(0).map(ProductId).map_err(db_err))
            .collect()
    }
}

#[async_trait]
impl CartStore for MySqlStore {
    async fn add_to_cart(
        &self,
        user: UserId,
        sku: SkuId,
        quantity: u32,
        at: DateTime<Utc>,
    ) -> Result<u32> {
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
        let done =
            sqlx::query("UPDATE cart_items SET quantity = ? WHERE user_id = ? AND sku_id = ?")
                .bind(i64::from(quantity))
                .bind(user.0)
                .bind(sku.0)
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
        if done.rows_affected() == 0 {
            return Err(missing_line(sku));
        }
        Ok(())
    }

    async fn remove_from_cart(&self, user: UserId, skus: &[SkuId]) -> Result<()> {
        if skus.is_empty() {
            return Ok(());
        }
        let list = skus
            .iter()
            .map(|s| s.0.to_string())
            .collect::<Vec<_>>()
            .join(",");
        sqlx::query(&format!(
            "DELETE FROM cart_items WHERE user_id = ? AND sku_id IN ({list})"
        ))
        .bind(user.0)
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn list_cart(&self, user: UserId) -> Result<Vec<CartItem>> {
        let rows =
            sqlx::query("SELECT * FROM cart_items WHERE user_id = ? ORDER BY added_at, sku_id")
                .bind(user.0)
                .fetch_all(&self.pool)
                .await
                .map_err(db_err)?;
        rows.iter().map(cart_item_from).collect()
    }
}

#[async_trait]
impl CouponStore for MySqlStore {
    async fn create_coupon(&self, c: &Coupon) -> Result<()> {
        let d = &c.draft;
        sqlx::query(
            "INSERT INTO coupons (id, code, name, kind, value, min_amount, currency, total, used, \
             not_before, not_after, enabled, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(c.id.0)
        .bind(&c.code)
        .bind(&d.name)
        .bind(d.kind.as_str())
        .bind(d.value)
        .bind(d.min_amount.amount())
        .bind(d.min_amount.currency().code())
        .bind(i64::from(d.total))
        .bind(i64::from(c.used))
        .bind(d.not_before)
        .bind(d.not_after)
        .bind(d.enabled)
        .bind(c.created_at)
        .execute(&self.pool)
        .await
        .map_err(|e| unique_err(e, Entity::Coupon, &c.code))?;
        Ok(())
    }

    async fn update_coupon(&self, id: CouponId, d: &CouponDraft) -> Result<()> {
        // Counts matched rows: an unchanged draft is still found.
        let done = sqlx::query(
            "UPDATE coupons SET name = ?, kind = ?, value = ?, min_amount = ?, currency = ?, \
             total = ?, not_before = ?, not_after = ?, enabled = ? WHERE id = ?",
        )
        .bind(&d.name)
        .bind(d.kind.as_str())
        .bind(d.value)
        .bind(d.min_amount.amount())
        .bind(d.min_amount.currency().code())
        .bind(i64::from(d.total))
        .bind(d.not_before)
        .bind(d.not_after)
        .bind(d.enabled)
        .bind(id.0)
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        if done.rows_affected() == 0 {
            return Err(Error::not_found(Entity::Coupon, id));
        }
        Ok(())
    }

    async fn delete_coupon(&self, id: CouponId) -> Result<()> {
        retry_rolled_back(|| self.delete_coupon_tx(id)).await
    }

    async fn get_coupon(&self, id: CouponId) -> Result<Option<Coupon>> {
        let row = sqlx::query("SELECT * FROM coupons WHERE id = ?")
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.as_ref().map(coupon_from).transpose()
    }

    async fn get_coupon_by_code(&self, code: &str) -> Result<Option<Coupon>> {
        // `code` has a binary collation: the match is exact.
        let row = sqlx::query("SELECT * FROM coupons WHERE code = ?")
            .bind(code)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.as_ref().map(coupon_from).transpose()
    }

    async fn list_coupons(&self) -> Result<Vec<Coupon>> {
        let rows = sqlx::query("SELECT * FROM coupons ORDER BY created_at DESC, id DESC")
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        rows.iter().map(coupon_from).collect()
    }

    async fn coupon_held_by(&self, coupon: CouponId, user: UserId) -> Result<bool> {
        let row = sqlx::query("SELECT 1 FROM coupon_holds WHERE coupon_id = ? AND user_id = ?")
            .bind(coupon.0)
            .bind(user.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(row.is_some())
    }
}
