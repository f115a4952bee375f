//! `UserStore`, `CartStore` and `CouponStore` on PostgreSQL.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use shop_core::cart::{check_line_quantity, missing_line, CartItem, CartStore, MAX_LINE_QUANTITY};
use shop_core::coupon::{Coupon, CouponDraft, CouponStore};
use shop_core::ids::{AddressId, CouponId, ProductId, SkuId, UserId};
use shop_core::user::{Address, UserStore};
use shop_core::{Entity, Error, Result};
use sqlx::Row;

use super::PgStore;
use crate::common::{
    address_from, cart_item_from, conflict, coupon_from, db_err, retry_rolled_back, unique_err,
    Cols,
};

impl PgStore {
    async fn delete_coupon_tx(&self, id: CouponId) -> Result<()> {
        let mut tx = self.begin().await?;
        // A placement takes the coupon's row lock when it counts the use, so
        // holding it here means no order can start using the coupon until
        // this transaction ends, and every order that did use it is visible.
        let exists = sqlx::query("SELECT id FROM coupons WHERE id = $1 FOR UPDATE")
            .bind(id.0)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?;
        if exists.is_none() {
            return Err(Error::not_found(Entity::Coupon, id));
        }
        let used = sqlx::query("SELECT 1 FROM orders WHERE coupon_id = $1 LIMIT 1")
            .bind(id.0)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?;
        if used.is_some() {
            return Err(conflict(Entity::Coupon, id));
        }
        sqlx::query("DELETE FROM coupons WHERE id = $1")
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        tx.commit().await.map_err(db_err)
    }
}

#[async_trait]
impl UserStore for PgStore {
    async fn create_address(&self, a: &Address) -> Result<()> {
        let f = &a.fields;
        sqlx::query(
            "INSERT INTO addresses (id, user_id, province, city, district, street, zip, \
             contact_name, contact_phone, last_used_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
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
        let done = sqlx::query(
            "UPDATE addresses SET user_id = $1, province = $2, city = $3, district = $4, \
             street = $5, zip = $6, contact_name = $7, contact_phone = $8, last_used_at = $9 \
             WHERE id = $10",
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
        let done = sqlx::query("DELETE FROM addresses WHERE id = $1")
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
        let row = sqlx::query("SELECT * FROM addresses WHERE id = $1")
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.as_ref().map(address_from).transpose()
    }

    async fn list_addresses(&self, user: UserId) -> Result<Vec<Address>> {
        let rows = sqlx::query(
            "SELECT * FROM addresses WHERE user_id = $1 \
             ORDER BY last_used_at DESC NULLS LAST, id DESC",
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
        sqlx::query(
            "INSERT INTO favorites (user_id, product_id, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (user_id, product_id) DO NOTHING",
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
        sqlx::query("DELETE FROM favorites WHERE user_id = $1 AND product_id = $2")
            .bind(user.0)
            .bind(product.0)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn list_favorites(&self, user: UserId) -> Result<Vec<ProductId>> {
        let rows = sqlx::query(
            "SELECT product_id FROM favorites WHERE user_id = $1 \
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
impl CartStore for PgStore {
    async fn add_to_cart(
        &self,
        user: UserId,
        sku: SkuId,
        quantity: u32,
        at: DateTime<Utc>,
    ) -> Result<u32> {
        check_line_quantity(quantity.into())?;
        // The cap is part of the upsert: a merge past it updates nothing and
        // returns no row.
        let row = sqlx::query(
            "INSERT INTO cart_items (user_id, sku_id, quantity, added_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (user_id, sku_id) \
             DO UPDATE SET quantity = cart_items.quantity + EXCLUDED.quantity \
             WHERE cart_items.quantity + EXCLUDED.quantity <= $5 \
             RETURNING quantity",
        )
        .bind(user.0)
        .bind(sku.0)
        .bind(i64::from(quantity))
        .bind(at)
        .bind(i64::from(MAX_LINE_QUANTITY))
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        match row {
            Some(row) => row.count("quantity"),
            None => check_line_quantity(u64::MAX),
        }
    }

    async fn set_cart_quantity(&self, user: UserId, sku: SkuId, quantity: u32) -> Result<()> {
        check_line_quantity(quantity.into())?;
        let done =
            sqlx::query("UPDATE cart_items SET quantity = $1 WHERE user_id = $2 AND sku_id = $3")
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
        let ids: Vec<i64> = skus.iter().map(|s| s.0).collect();
        sqlx::query("DELETE FROM cart_items WHERE user_id = $1 AND sku_id = ANY($2)")
            .bind(user.0)
            .bind(ids)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn list_cart(&self, user: UserId) -> Result<Vec<CartItem>> {
        let rows =
            sqlx::query("SELECT * FROM cart_items WHERE user_id = $1 ORDER BY added_at, sku_id")
                .bind(user.0)
                .fetch_all(&self.pool)
                .await
                .map_err(db_err)?;
        rows.iter().map(cart_item_from).collect()
    }
}

#[async_trait]
impl CouponStore for PgStore {
    async fn create_coupon(&self, c: &Coupon) -> Result<()> {
        let d = &c.draft;
        sqlx::query(
            "INSERT INTO coupons (id, code, name, kind, value, min_amount, currency, total, \
             used, not_before, not_after, enabled, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
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
        let done = sqlx::query(
            "UPDATE coupons SET name = $1, kind = $2, value = $3, min_amount = $4, \
             currency = $5, total = $6, not_before = $7, not_after = $8, enabled = $9 \
             WHERE id = $10",
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
        let row = sqlx::query("SELECT * FROM coupons WHERE id = $1")
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.as_ref().map(coupon_from).transpose()
    }

    async fn get_coupon_by_code(&self, code: &str) -> Result<Option<Coupon>> {
        let row = sqlx::query("SELECT * FROM coupons WHERE code = $1")
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
        let row = sqlx::query("SELECT 1 FROM coupon_holds WHERE coupon_id = $1 AND user_id = $2")
            .bind(coupon.0)
            .bind(user.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(row.is_some())
    }
}
