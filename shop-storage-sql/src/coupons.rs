//! `CouponStore`. Taking and giving back a coupon's use happens in the
//! order writes (`placement.rs`, `orders.rs`).

use async_trait::async_trait;
use shop_core::coupon::{Coupon, CouponDraft, CouponStore};
use shop_core::ids::{CouponId, UserId};
use shop_core::{Entity, Error, Result};

use crate::error::{conflict, retry_rolled_back, Violation};
use crate::rows::coupon_from;
use crate::sql::Sql;
use crate::{commit, Dialect, SqlStore};

impl<D: Dialect> SqlStore<D> {
    async fn delete_coupon_tx(&self, id: CouponId) -> Result<()> {
        let mut tx = self.write().await?;
        // A placement takes the coupon's row lock when it counts the use, so
        // holding it here means no order can start using the coupon until
        // this transaction ends, and every order that did use it is visible.
        let lock = Sql::new(format!(
            "SELECT id FROM shop_coupons WHERE id = ?{}",
            D::FOR_UPDATE
        ))
        .bind(id.0);
        if D::fetch_optional(&mut tx, &lock).await?.is_none() {
            return Err(Error::not_found(Entity::Coupon, id));
        }
        let used =
            Sql::new("SELECT 1 AS one FROM shop_orders WHERE coupon_id = ? LIMIT 1").bind(id.0);
        if D::fetch_optional(&mut tx, &used).await?.is_some() {
            return Err(conflict(Entity::Coupon, id));
        }
        D::execute(
            &mut tx,
            &Sql::new("DELETE FROM shop_coupons WHERE id = ?").bind(id.0),
        )
        .await?;
        commit::<D>(tx).await
    }
}

/// The administrator's fields, bound in the order the statements list them.
fn bind_draft(sql: Sql, d: &CouponDraft) -> Sql {
    sql.bind(&d.name)
        .bind(d.kind.as_str())
        .bind(d.value)
        .bind(d.min_amount)
        .bind(d.min_amount.currency().code())
        .bind(d.total)
        .bind(d.not_before)
        .bind(d.not_after)
        .bind(d.enabled)
}

#[async_trait]
impl<D: Dialect> CouponStore for SqlStore<D> {
    async fn create_coupon(&self, c: &Coupon) -> Result<()> {
        let insert = Sql::new(
            "INSERT INTO shop_coupons (id, code, name, kind, value, min_amount, currency, total, \
             not_before, not_after, enabled, used, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(c.id.0)
        .bind(&c.code);
        let insert = bind_draft(insert, &c.draft).bind(c.used).bind(c.created_at);
        self.execute(insert)
            .await
            .map_err(|e| e.or_exists(Entity::Coupon, &c.code))?;
        Ok(())
    }

    async fn update_coupon(&self, id: CouponId, d: &CouponDraft) -> Result<()> {
        let update = Sql::new(
            "UPDATE shop_coupons SET name = ?, kind = ?, value = ?, min_amount = ?, \
             currency = ?, total = ?, not_before = ?, not_after = ?, enabled = ? WHERE id = ?",
        );
        if self.execute(bind_draft(update, d).bind(id.0)).await? == 0 {
            return Err(Error::not_found(Entity::Coupon, id));
        }
        Ok(())
    }

    async fn delete_coupon(&self, id: CouponId) -> Result<()> {
        retry_rolled_back(|| self.delete_coupon_tx(id)).await
    }

    async fn get_coupon(&self, id: CouponId) -> Result<Option<Coupon>> {
        self.one(
            Sql::new("SELECT * FROM shop_coupons WHERE id = ?").bind(id.0),
            coupon_from,
        )
        .await
    }

    async fn get_coupon_by_code(&self, code: &str) -> Result<Option<Coupon>> {
        // `code` compares exactly (a binary collation on MySQL).
        self.one(
            Sql::new("SELECT * FROM shop_coupons WHERE code = ?").bind(code),
            coupon_from,
        )
        .await
    }

    async fn list_coupons(&self) -> Result<Vec<Coupon>> {
        self.all(
            Sql::new("SELECT * FROM shop_coupons ORDER BY created_at DESC, id DESC"),
            coupon_from,
        )
        .await
    }

    async fn coupon_held_by(&self, coupon: CouponId, user: UserId) -> Result<bool> {
        let held =
            Sql::new("SELECT 1 AS one FROM shop_coupon_holds WHERE coupon_id = ? AND user_id = ?")
                .bind(coupon.0)
                .bind(user.0);
        Ok(self.one(held, |_| Ok(())).await?.is_some())
    }
}
