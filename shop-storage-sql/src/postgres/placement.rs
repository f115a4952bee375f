//! Placing an order on PostgreSQL: one transaction that spends the submit
//! token, inserts the order, takes the stock, counts the coupon's use and
//! records its hold, and clears the cart, all or nothing.

use std::collections::HashMap;

use shop_core::coupon::CouponRejection;
use shop_core::ids::SkuId;
use shop_core::order::{Order, OrderItem, PlaceOrder};
use shop_core::{Entity, Error, Result, StoreError};
use sqlx::PgConnection;

use super::PgStore;
use crate::common::{db_err, first_shortage, unique_err, Cols};

async fn insert_order(db: &mut PgConnection, o: &Order) -> Result<()> {
    sqlx::query(
        "INSERT INTO orders (id, no, user_id, kind, address, zip, contact_name, contact_phone, \
         items_total, total, currency, coupon_id, remark, status, refund_status, created_at, \
         expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
    )
    .bind(o.id.0)
    .bind(&o.no)
    .bind(o.user_id.0)
    .bind(o.kind.as_str())
    .bind(&o.address.address)
    .bind(&o.address.zip)
    .bind(&o.address.contact_name)
    .bind(&o.address.contact_phone)
    .bind(o.items_total.amount())
    .bind(o.total.amount())
    .bind(o.total.currency().code())
    .bind(o.coupon_id.map(|c| c.0))
    .bind(&o.remark)
    .bind(o.state.status.as_str())
    .bind(o.state.refund.as_str())
    .bind(o.created_at)
    .bind(o.expires_at)
    .execute(&mut *db)
    .await
    .map_err(|e| unique_err(e, Entity::Order, &o.no))?;
    for (line_no, item) in o.items.iter().enumerate() {
        sqlx::query(
            "INSERT INTO order_items (id, order_id, line_no, product_id, sku_id, quantity, \
             unit_price) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(item.id.0)
        .bind(o.id.0)
        .bind(line_no as i64)
        .bind(item.product_id.0)
        .bind(item.sku_id.0)
        .bind(i64::from(item.quantity))
        .bind(item.unit_price.amount())
        .execute(&mut *db)
        .await
        .map_err(|e| unique_err(e, Entity::OrderItem, item.id))?;
    }
    Ok(())
}

/// Takes every line's stock with `stock >= quantity` in the `WHERE` clause,
/// visiting the lines in SKU-id order (so two orders lock shared SKUs in the
/// same order and cannot deadlock).
async fn take_stock(db: &mut PgConnection, o: &Order) -> Result<()> {
    let mut lines: Vec<&OrderItem> = o.items.iter().collect();
    lines.sort_by_key(|item| item.sku_id);
    let mut taken: HashMap<SkuId, u32> = HashMap::new();
    for item in lines {
        let done = sqlx::query("UPDATE skus SET stock = stock - $1 WHERE id = $2 AND stock >= $1")
            .bind(i64::from(item.quantity))
            .bind(item.sku_id.0)
            .execute(&mut *db)
            .await
            .map_err(db_err)?;
        if done.rows_affected() == 0 {
            return Err(shortage(db, o, item, &taken).await);
        }
        let sum = taken.entry(item.sku_id).or_default();
        *sum = sum.saturating_add(item.quantity);
    }
    Ok(())
}

/// The error for a failed decrement of `failed`: the stock every SKU had
/// before this order (what is left now plus what this order took) decides
/// which line is reported, as in the in-memory store.
async fn shortage(
    db: &mut PgConnection,
    o: &Order,
    failed: &OrderItem,
    taken: &HashMap<SkuId, u32>,
) -> Error {
    let ids: Vec<i64> = o.items.iter().map(|i| i.sku_id.0).collect();
    let rows = match sqlx::query("SELECT id, stock FROM skus WHERE id = ANY($1)")
        .bind(ids)
        .fetch_all(&mut *db)
        .await
    {
        Ok(rows) => rows,
        Err(e) => return db_err(e),
    };
    let mut before = HashMap::new();
    for row in &rows {
        match (row.int("id"), row.count("stock")) {
            (Ok(id), Ok(stock)) => {
                let sku = SkuId(id);
                let took = taken.get(&sku).copied().unwrap_or(0);
                before.insert(sku, stock.saturating_add(took));
            }
            (Err(e), _) | (_, Err(e)) => return e,
        }
    }
    first_shortage(&o.items, &before).unwrap_or_else(|| match before.get(&failed.sku_id) {
        // A concurrent change between the update and this read.
        Some(stock) => Error::OutOfStock {
            sku: failed.sku_id,
            requested: failed.quantity,
            available: stock.saturating_sub(taken.get(&failed.sku_id).copied().unwrap_or(0)),
        },
        None => Error::not_found(Entity::Sku, failed.sku_id),
    })
}

/// Takes one use of the coupon for the order's buyer, or says why not.
async fn take_coupon(db: &mut PgConnection, o: &Order, coupon: i64) -> Result<()> {
    let at = o.created_at;
    let done = sqlx::query(
        "UPDATE coupons SET used = used + 1 WHERE id = $1 AND enabled AND used < total \
         AND (not_before IS NULL OR not_before <= $2) \
         AND (not_after IS NULL OR not_after >= $2)",
    )
    .bind(coupon)
    .bind(at)
    .execute(&mut *db)
    .await
    .map_err(db_err)?;
    if done.rows_affected() == 0 {
        let row = sqlx::query("SELECT enabled, used, total, not_before FROM coupons WHERE id = $1")
            .bind(coupon)
            .fetch_optional(&mut *db)
            .await
            .map_err(db_err)?
            .ok_or_else(|| Error::not_found(Entity::Coupon, coupon))?;
        let reason = if !row.flag("enabled")? {
            CouponRejection::Disabled
        } else if row.int("used")? >= row.int("total")? {
            CouponRejection::Exhausted
        } else if row.opt_time("not_before")?.is_some_and(|t| at < t) {
            CouponRejection::NotYetValid
        } else {
            CouponRejection::Expired
        };
        return Err(Error::CouponRejected(reason));
    }
    sqlx::query("INSERT INTO coupon_holds (coupon_id, user_id, order_id) VALUES ($1, $2, $3)")
        .bind(coupon)
        .bind(o.user_id.0)
        .bind(o.id.0)
        .execute(&mut *db)
        .await
        .map_err(|e| match unique_err(e, Entity::Coupon, coupon) {
            Error::Store(StoreError::AlreadyExists { .. }) => {
                Error::CouponRejected(CouponRejection::AlreadyUsed)
            }
            other => other,
        })?;
    Ok(())
}

impl PgStore {
    pub(super) async fn place_order_tx(&self, cmd: &PlaceOrder) -> Result<Order> {
        let o = &cmd.order;
        let mut tx = self.begin().await?;
        if let Some(token) = &cmd.submit_token {
            let done = sqlx::query(
                "UPDATE submit_tokens SET used_at = $1, order_id = $2, request_fingerprint = $3 \
                 WHERE token = $4 AND user_id = $5 AND used_at IS NULL AND expires_at > $1",
            )
            .bind(o.created_at)
            .bind(o.id.0)
            .bind(&token.request_fingerprint)
            .bind(&token.token)
            .bind(o.user_id.0)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
            if done.rows_affected() == 0 {
                return Err(Error::not_found(Entity::SubmitToken, &token.token));
            }
        }
        insert_order(&mut tx, o).await?;
        // The cart first: the SKU rows' locks, the hot ones, are taken last
        // and held only until the commit.
        if cmd.clear_cart {
            let skus: Vec<i64> = o.items.iter().map(|i| i.sku_id.0).collect();
            sqlx::query("DELETE FROM cart_items WHERE user_id = $1 AND sku_id = ANY($2)")
                .bind(o.user_id.0)
                .bind(skus)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        }
        take_stock(&mut tx, o).await?;
        if let Some(coupon) = o.coupon_id {
            take_coupon(&mut tx, o, coupon.0).await?;
        }
        tx.commit().await.map_err(db_err)?;
        Ok(o.clone())
    }
}
