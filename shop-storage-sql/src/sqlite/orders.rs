//! `OrderStore` on SQLite: placement, reads, transitions, closing, reviews.
//! Refunds are in `refunds.rs`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use shop_core::catalog::Page;
use shop_core::coupon::CouponRejection;
use shop_core::ids::{OrderId, ProductId, RefundId, UserId};
use shop_core::order::{
    check_line_reviews, LineReview, Order, OrderPatch, OrderQuery, OrderState, OrderStatus,
    OrderStore, PlaceOrder, ProductReview, RefundStatus, ReviewOrder, SubmittedOrder,
};
use shop_core::refund::{FinishRefund, NewRefund, Refund};
use shop_core::{Entity, Error, Result};
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection};

use super::{micros, SqliteStore};
use crate::common::{attach_items, conflict, db_err, order_from, order_item_from, unique_err};

const ITEM_COLS: &str = "oi.id, oi.order_id, oi.product_id, oi.sku_id, oi.quantity, \
    oi.unit_price, oi.rating, oi.review, oi.reviewed_at, o.currency";

/// Loads orders by id with their lines: two queries whatever the count.
pub(super) async fn load_orders(db: &mut SqliteConnection, ids: &[OrderId]) -> Result<Vec<Order>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let list = ids
        .iter()
        .map(|i| i.0.to_string())
        .collect::<Vec<_>>()
        .join(",");
    let rows = sqlx::query(&format!("SELECT * FROM orders WHERE id IN ({list})"))
        .fetch_all(&mut *db)
        .await
        .map_err(db_err)?;
    let mut orders = rows.iter().map(order_from).collect::<Result<Vec<_>>>()?;
    let rows = sqlx::query(&format!(
        "SELECT {ITEM_COLS} FROM order_items oi JOIN orders o ON o.id = oi.order_id \
         WHERE oi.order_id IN ({list}) ORDER BY oi.order_id, oi.line_no"
    ))
    .fetch_all(&mut *db)
    .await
    .map_err(db_err)?;
    let items = rows
        .iter()
        .map(order_item_from)
        .collect::<Result<Vec<_>>>()?;
    attach_items(&mut orders, items);
    // Keep the caller's order.
    orders.sort_by_key(|o| ids.iter().position(|i| *i == o.id));
    Ok(orders)
}

async fn exists(db: &mut SqliteConnection, id: OrderId) -> Result<bool> {
    let row = sqlx::query("SELECT 1 FROM orders WHERE id = ?")
        .bind(id.0)
        .fetch_optional(db)
        .await
        .map_err(db_err)?;
    Ok(row.is_some())
}

/// `Conflict` when the order exists (its state moved on), else `NotFound`.
pub(super) async fn lost_race(db: &mut SqliteConnection, id: OrderId) -> Error {
    match exists(db, id).await {
        Ok(true) => conflict(Entity::Order, id),
        Ok(false) => Error::not_found(Entity::Order, id),
        Err(e) => e,
    }
}

/// Gives the coupon back to its holder when an order stops being live
/// (closed, or fully refunded): the once-per-user rule then allows it again.
pub(super) async fn release_hold_if_dead(
    db: &mut SqliteConnection,
    id: OrderId,
    next: OrderState,
) -> Result<()> {
    if next.status == OrderStatus::Closed || next.refund == RefundStatus::Refunded {
        sqlx::query("DELETE FROM coupon_holds WHERE order_id = ?")
            .bind(id.0)
            .execute(db)
            .await
            .map_err(db_err)?;
    }
    Ok(())
}

async fn insert_order(db: &mut SqliteConnection, o: &Order) -> Result<()> {
    sqlx::query(
        "INSERT INTO orders (id, no, user_id, kind, address, zip, contact_name, contact_phone, \
         items_total, total, currency, coupon_id, remark, status, refund_status, created_at, \
         expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(o.id.0)
    .bind(&o.no)
    .bind(o.user_id.0)
    .bind(o.kind.as_str())
    .bind(&o.address.address)
    .bind(&o.address.zip)
    .bind(&o.address.contact_name)
    .bind(&o.address.contact_phone)
    .bind(o.items_total.amount().to_string())
    .bind(o.total.amount().to_string())
    .bind(o.total.currency().code())
    .bind(o.coupon_id.map(|c| c.0))
    .bind(&o.remark)
    .bind(o.state.status.as_str())
    .bind(o.state.refund.as_str())
    .bind(micros(o.created_at))
    .bind(micros(o.expires_at))
    .execute(&mut *db)
    .await
    .map_err(|e| unique_err(e, Entity::Order, &o.no))?;
    for (line_no, item) in o.items.iter().enumerate() {
        sqlx::query(
            "INSERT INTO order_items (id, order_id, line_no, product_id, sku_id, quantity, \
             unit_price) VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(item.id.0)
        .bind(o.id.0)
        .bind(line_no as i64)
        .bind(item.product_id.0)
        .bind(item.sku_id.0)
        .bind(i64::from(item.quantity))
        .bind(item.unit_price.amount().to_string())
        .execute(&mut *db)
        .await
        .map_err(|e| unique_err(e, Entity::OrderItem, item.id))?;
    }
    Ok(())
}

/// Takes one use of the coupon for the order's buyer, or says why not.
async fn take_coupon(db: &mut SqliteConnection, o: &Order, coupon: i64) -> Result<()> {
    let at = micros(o.created_at);
    let done = sqlx::query(
        "UPDATE coupons SET used = used + 1 WHERE id = ? AND enabled AND used < total \
         AND (not_before IS NULL OR not_before <= ?) AND (not_after IS NULL OR not_after >= ?)",
    )
    .bind(coupon)
    .bind(at)
    .bind(at)
    .execute(&mut *db)
    .await
    .map_err(db_err)?;
    if done.rows_affected() == 0 {
        let row = sqlx::query("SELECT enabled, used, total, not_before FROM coupons WHERE id = ?")
            .bind(coupon)
            .fetch_optional(&mut *db)
            .await
            .map_err(db_err)?
            .ok_or_else(|| Error::not_found(Entity::Coupon, coupon))?;
        let enabled: bool = row.try_get(0).map_err(db_err)?;
        let (used, total): (i64, i64) = (
            row.try_get(1).map_err(db_err)?,
            row.try_get(2).map_err(db_err)?,
        );
        let not_before: Option<i64> = row.try_get(3).map_err(db_err)?;
        let reason = if !enabled {
            CouponRejection::Disabled
        } else if used >= total {
            CouponRejection::Exhausted
        } else if not_before.is_some_and(|t| at < t) {
            CouponRejection::NotYetValid
        } else {
            CouponRejection::Expired
        };
        return Err(Error::CouponRejected(reason));
    }
    sqlx::query("INSERT INTO coupon_holds (coupon_id, user_id, order_id) VALUES (?, ?, ?)")
        .bind(coupon)
        .bind(o.user_id.0)
        .bind(o.id.0)
        .execute(&mut *db)
        .await
        .map_err(|e| match unique_err(e, Entity::Coupon, coupon) {
            Error::Store(shop_core::StoreError::AlreadyExists { .. }) => {
                Error::CouponRejected(CouponRejection::AlreadyUsed)
            }
            other => other,
        })?;
    Ok(())
}

#[async_trait]
impl OrderStore for SqliteStore {
    async fn issue_submit_token(
        &self,
        user: UserId,
        token: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query("INSERT INTO submit_tokens (token, user_id, expires_at) VALUES (?, ?, ?)")
            .bind(token)
            .bind(user.0)
            .bind(micros(expires_at))
            .execute(&self.pool)
            .await
            .map_err(|e| unique_err(e, Entity::SubmitToken, token))?;
        Ok(())
    }

    async fn submitted_order(&self, user: UserId, token: &str) -> Result<Option<SubmittedOrder>> {
        let row: Option<(i64, String)> = sqlx::query_as(
            "SELECT order_id, request_fingerprint FROM submit_tokens \
             WHERE token = ? AND user_id = ? AND order_id IS NOT NULL",
        )
        .bind(token)
        .bind(user.0)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(row.map(|(order_id, request_fingerprint)| SubmittedOrder {
            order_id: OrderId(order_id),
            request_fingerprint,
        }))
    }

    async fn place_order(&self, cmd: &PlaceOrder) -> Result<Order> {
        let o = &cmd.order;
        let mut tx = self.write_tx().await?;
        if let Some(token) = &cmd.submit_token {
            let at = micros(o.created_at);
            let done = sqlx::query(
                "UPDATE submit_tokens SET used_at = ?, order_id = ?, request_fingerprint = ? \
                 WHERE token = ? AND user_id = ? AND used_at IS NULL AND expires_at > ?",
            )
            .bind(at)
            .bind(o.id.0)
            .bind(&token.request_fingerprint)
            .bind(&token.token)
            .bind(o.user_id.0)
            .bind(at)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
            if done.rows_affected() == 0 {
                return Err(Error::not_found(Entity::SubmitToken, &token.token));
            }
        }
        insert_order(&mut tx, o).await?;
        for item in &o.items {
            let done = sqlx::query("UPDATE skus SET stock = stock - ? WHERE id = ? AND stock >= ?")
                .bind(i64::from(item.quantity))
                .bind(item.sku_id.0)
                .bind(i64::from(item.quantity))
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
            if done.rows_affected() == 0 {
                let available: Option<i64> =
                    sqlx::query_scalar("SELECT stock FROM skus WHERE id = ?")
                        .bind(item.sku_id.0)
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(db_err)?;
                return Err(match available {
                    None => Error::not_found(Entity::Sku, item.sku_id),
                    Some(available) => Error::OutOfStock {
                        sku: item.sku_id,
                        requested: item.quantity,
                        available: available as u32,
                    },
                });
            }
        }
        if let Some(coupon) = o.coupon_id {
            take_coupon(&mut tx, o, coupon.0).await?;
        }
        if cmd.clear_cart {
            for item in &o.items {
                sqlx::query("DELETE FROM cart_items WHERE user_id = ? AND sku_id = ?")
                    .bind(o.user_id.0)
                    .bind(item.sku_id.0)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
            }
        }
        tx.commit().await.map_err(db_err)?;
        Ok(o.clone())
    }

    async fn get_order(&self, id: OrderId) -> Result<Option<Order>> {
        let mut conn = self.pool.acquire().await.map_err(db_err)?;
        Ok(load_orders(&mut conn, &[id]).await?.pop())
    }

    async fn get_order_by_no(&self, no: &str) -> Result<Option<Order>> {
        let mut conn = self.pool.acquire().await.map_err(db_err)?;
        let id: Option<i64> = sqlx::query_scalar("SELECT id FROM orders WHERE no = ?")
            .bind(no)
            .fetch_optional(&mut *conn)
            .await
            .map_err(db_err)?;
        match id {
            Some(id) => Ok(load_orders(&mut conn, &[OrderId(id)]).await?.pop()),
            None => Ok(None),
        }
    }

    async fn list_orders(&self, q: &OrderQuery) -> Result<Page<Order>> {
        let filters = |b: &mut QueryBuilder<'_, Sqlite>| {
            b.push(" WHERE 1 = 1");
            if let Some(user) = q.user_id {
                b.push(" AND user_id = ").push_bind(user.0);
            }
            if let Some(status) = q.status {
                b.push(" AND status = ").push_bind(status.as_str());
            }
        };
        let mut conn = self.pool.acquire().await.map_err(db_err)?;
        let mut count = QueryBuilder::new("SELECT COUNT(*) FROM orders");
        filters(&mut count);
        let total: i64 = count
            .build_query_scalar()
            .fetch_one(&mut *conn)
            .await
            .map_err(db_err)?;
        let mut page = QueryBuilder::new("SELECT id FROM orders");
        filters(&mut page);
        page.push(" ORDER BY created_at DESC, id DESC LIMIT ")
            .push_bind(i64::from(q.per_page))
            .push(" OFFSET ")
            .push_bind(i64::from(q.page.max(1) - 1) * i64::from(q.per_page));
        let ids: Vec<i64> = page
            .build_query_scalar()
            .fetch_all(&mut *conn)
            .await
            .map_err(db_err)?;
        let ids: Vec<OrderId> = ids.into_iter().map(OrderId).collect();
        Ok(Page::new(load_orders(&mut conn, &ids).await?, total as u64))
    }

    async fn transition(
        &self,
        id: OrderId,
        expected: OrderState,
        next: OrderState,
        patch: &OrderPatch,
    ) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let pay = patch.payment.as_ref();
        let ship = patch.shipment.as_ref();
        let done = sqlx::query(
            "UPDATE orders SET status = ?, refund_status = ?, \
             payment_method = COALESCE(?, payment_method), payment_no = COALESCE(?, payment_no), \
             paid_at = COALESCE(?, paid_at), ship_carrier = COALESCE(?, ship_carrier), \
             ship_tracking = COALESCE(?, ship_tracking), shipped_at = COALESCE(?, shipped_at), \
             refund_reason = COALESCE(?, refund_reason), \
             refund_refusal = COALESCE(?, refund_refusal) \
             WHERE id = ? AND status = ? AND refund_status = ?",
        )
        .bind(next.status.as_str())
        .bind(next.refund.as_str())
        .bind(pay.map(|p| p.method.as_str()))
        .bind(pay.map(|p| p.transaction_no.as_str()))
        .bind(pay.map(|p| micros(p.paid_at)))
        .bind(ship.map(|s| s.carrier.as_str()))
        .bind(ship.map(|s| s.tracking_no.as_str()))
        .bind(ship.map(|s| micros(s.shipped_at)))
        .bind(patch.refund_reason.as_deref())
        .bind(patch.refund_refusal.as_deref())
        .bind(id.0)
        .bind(expected.status.as_str())
        .bind(expected.refund.as_str())
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        if done.rows_affected() == 0 {
            return Err(lost_race(&mut tx, id).await);
        }
        release_hold_if_dead(&mut tx, id, next).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn close_order(&self, id: OrderId, at: DateTime<Utc>) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let done = sqlx::query(
            "UPDATE orders SET status = 'closed', closed_at = ? \
             WHERE id = ? AND status = 'pending' AND refund_status = 'none'",
        )
        .bind(micros(at))
        .bind(id.0)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        if done.rows_affected() == 0 {
            return Err(lost_race(&mut tx, id).await);
        }
        sqlx::query(
            "UPDATE skus SET stock = stock + (SELECT COALESCE(SUM(quantity), 0) FROM order_items \
             WHERE order_id = ? AND sku_id = skus.id) \
             WHERE id IN (SELECT sku_id FROM order_items WHERE order_id = ?)",
        )
        .bind(id.0)
        .bind(id.0)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        sqlx::query(
            "UPDATE coupons SET used = used - 1 WHERE used > 0 \
             AND id = (SELECT coupon_id FROM orders WHERE id = ?)",
        )
        .bind(id.0)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        release_hold_if_dead(
            &mut tx,
            id,
            OrderState {
                status: OrderStatus::Closed,
                refund: RefundStatus::None,
            },
        )
        .await?;
        tx.commit().await.map_err(db_err)
    }

    async fn list_expired_orders(
        &self,
        now: DateTime<Utc>,
        after: Option<OrderId>,
        limit: u32,
    ) -> Result<Vec<OrderId>> {
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM orders WHERE status = 'pending' AND expires_at <= ? AND id > ? \
             ORDER BY id LIMIT ?",
        )
        .bind(micros(now))
        .bind(after.map_or(i64::MIN, |a| a.0))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(ids.into_iter().map(OrderId).collect())
    }

    async fn review_order(&self, cmd: &ReviewOrder) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let done = sqlx::query(
            "UPDATE orders SET status = 'reviewed' WHERE id = ? AND status = 'received' \
             AND refund_status IN ('none', 'failed')",
        )
        .bind(cmd.order_id.0)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        if done.rows_affected() == 0 {
            return Err(lost_race(&mut tx, cmd.order_id).await);
        }
        let order = load_orders(&mut tx, &[cmd.order_id])
            .await?
            .pop()
            .ok_or_else(|| Error::not_found(Entity::Order, cmd.order_id))?;
        check_line_reviews(&order, &cmd.reviews)?;
        for (item, review) in &cmd.reviews {
            sqlx::query("UPDATE order_items SET rating = ?, review = ?, reviewed_at = ? WHERE id = ? AND order_id = ?")
                .bind(i64::from(review.rating))
                .bind(&review.text)
                .bind(micros(review.reviewed_at))
                .bind(item.0)
                .bind(cmd.order_id.0)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)
    }

    async fn list_product_reviews(
        &self,
        product: ProductId,
        limit: u32,
    ) -> Result<Vec<ProductReview>> {
        let rows = sqlx::query(
            "SELECT o.user_id, oi.sku_id, oi.rating, oi.review, oi.reviewed_at FROM order_items oi \
             JOIN orders o ON o.id = oi.order_id WHERE oi.product_id = ? AND oi.rating IS NOT NULL \
             ORDER BY oi.reviewed_at DESC, o.id DESC, oi.id DESC LIMIT ?",
        )
        .bind(product.0)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter()
            .map(|r| {
                use crate::common::Cols;
                Ok(ProductReview {
                    user_id: UserId(r.int("user_id")?),
                    sku_id: shop_core::ids::SkuId(r.int("sku_id")?),
                    review: LineReview {
                        rating: r.count("rating")? as u8,
                        text: r.text("review")?,
                        reviewed_at: r.time("reviewed_at")?,
                    },
                })
            })
            .collect()
    }

    async fn create_refund(&self, cmd: &NewRefund) -> Result<()> {
        self.create_refund_tx(cmd).await
    }

    async fn finish_refund(&self, cmd: &FinishRefund) -> Result<()> {
        self.finish_refund_tx(cmd).await
    }

    async fn get_refund(&self, refund_no: &str) -> Result<Option<Refund>> {
        self.load_refund(refund_no).await
    }

    async fn list_refunds(&self, order: OrderId) -> Result<Vec<Refund>> {
        let mut conn = self.pool.acquire().await.map_err(db_err)?;
        super::refunds::refunds_of(&mut conn, order).await
    }
    async fn list_pending_refunds(
        &self,
        created_before: DateTime<Utc>,
        after: Option<RefundId>,
        limit: u32,
    ) -> Result<Vec<Refund>> {
        // The refunds and their lines come from two statements: one
        // transaction keeps them consistent (a read transaction in WAL mode reads one snapshot), so a refund finishing
        // in between is never listed without its lines.
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        let refunds =
            super::refunds::pending_refunds(&mut tx, created_before, after, limit).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(refunds)
    }
}
