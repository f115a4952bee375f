//! `OrderStore` on PostgreSQL: reads, transitions, closing, reviews.
//! Placement is in `placement.rs`, refunds in `refunds.rs`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use shop_core::catalog::Page;
use shop_core::ids::{OrderId, ProductId, RefundId, SkuId, UserId};
use shop_core::order::{
    check_line_reviews, LineReview, Order, OrderPatch, OrderQuery, OrderState, OrderStatus,
    OrderStore, PlaceOrder, ProductReview, RefundStatus, ReviewOrder, SubmittedOrder,
};
use shop_core::refund::{FinishRefund, NewRefund, Refund};
use shop_core::{Entity, Error, Result};
use sqlx::{PgConnection, Postgres, QueryBuilder};

use super::PgStore;
use crate::common::{
    attach_items, conflict, corrupt, db_err, order_from, order_item_from, retry_rolled_back,
    unique_err, Cols,
};

const ITEM_COLS: &str = "oi.id, oi.order_id, oi.product_id, oi.sku_id, oi.quantity, \
    oi.unit_price, oi.rating, oi.review, oi.reviewed_at, o.currency";

/// Loads orders by id with their lines: two queries whatever the count.
pub(super) async fn load_orders(db: &mut PgConnection, ids: &[OrderId]) -> Result<Vec<Order>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let list: Vec<i64> = ids.iter().map(|i| i.0).collect();
    let rows = sqlx::query("SELECT * FROM orders WHERE id = ANY($1)")
        .bind(&list)
        .fetch_all(&mut *db)
        .await
        .map_err(db_err)?;
    let mut orders = rows.iter().map(order_from).collect::<Result<Vec<_>>>()?;
    let rows = sqlx::query(&format!(
        "SELECT {ITEM_COLS} FROM order_items oi JOIN orders o ON o.id = oi.order_id \
         WHERE oi.order_id = ANY($1) ORDER BY oi.order_id, oi.line_no"
    ))
    .bind(&list)
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

/// Locks the order's row for the rest of the transaction (`NotFound` when
/// there is none): the read-check-writes on an order start here.
pub(super) async fn lock_order(db: &mut PgConnection, id: OrderId) -> Result<()> {
    let row = sqlx::query("SELECT id FROM orders WHERE id = $1 FOR UPDATE")
        .bind(id.0)
        .fetch_optional(db)
        .await
        .map_err(db_err)?;
    match row {
        Some(_) => Ok(()),
        None => Err(Error::not_found(Entity::Order, id)),
    }
}

/// `Conflict` when the order exists (its state moved on), else `NotFound`.
async fn lost_race(db: &mut PgConnection, id: OrderId) -> Error {
    let row = sqlx::query("SELECT 1 FROM orders WHERE id = $1")
        .bind(id.0)
        .fetch_optional(db)
        .await;
    match row {
        Ok(Some(_)) => conflict(Entity::Order, id),
        Ok(None) => Error::not_found(Entity::Order, id),
        Err(e) => db_err(e),
    }
}

/// Gives the coupon back to its holder when an order stops being live
/// (closed, or fully refunded): the once-per-user rule then allows it again.
pub(super) async fn release_hold_if_dead(
    db: &mut PgConnection,
    id: OrderId,
    next: OrderState,
) -> Result<()> {
    if next.status == OrderStatus::Closed || next.refund == RefundStatus::Refunded {
        sqlx::query("DELETE FROM coupon_holds WHERE order_id = $1")
            .bind(id.0)
            .execute(db)
            .await
            .map_err(db_err)?;
    }
    Ok(())
}

impl PgStore {
    async fn transition_tx(
        &self,
        id: OrderId,
        expected: OrderState,
        next: OrderState,
        patch: &OrderPatch,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        let pay = patch.payment.as_ref();
        let ship = patch.shipment.as_ref();
        let done = sqlx::query(
            "UPDATE orders SET status = $1, refund_status = $2, \
             payment_method = COALESCE($3, payment_method), \
             payment_no = COALESCE($4, payment_no), paid_at = COALESCE($5, paid_at), \
             ship_carrier = COALESCE($6, ship_carrier), \
             ship_tracking = COALESCE($7, ship_tracking), \
             shipped_at = COALESCE($8, shipped_at), \
             refund_reason = COALESCE($9, refund_reason), \
             refund_refusal = COALESCE($10, refund_refusal) \
             WHERE id = $11 AND status = $12 AND refund_status = $13",
        )
        .bind(next.status.as_str())
        .bind(next.refund.as_str())
        .bind(pay.map(|p| p.method.as_str()))
        .bind(pay.map(|p| p.transaction_no.as_str()))
        .bind(pay.map(|p| p.paid_at))
        .bind(ship.map(|s| s.carrier.as_str()))
        .bind(ship.map(|s| s.tracking_no.as_str()))
        .bind(ship.map(|s| s.shipped_at))
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

    async fn close_order_tx(&self, id: OrderId, at: DateTime<Utc>) -> Result<()> {
        let mut tx = self.begin().await?;
        let closed = sqlx::query(
            "UPDATE orders SET status = 'closed', closed_at = $1 \
             WHERE id = $2 AND status = 'pending' AND refund_status = 'none' \
             RETURNING coupon_id",
        )
        .bind(at)
        .bind(id.0)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?;
        let Some(closed) = closed else {
            return Err(lost_race(&mut tx, id).await);
        };
        // Give the stock back SKU by SKU in id order, like placement takes it.
        let lines = sqlx::query(
            "SELECT sku_id, SUM(quantity)::BIGINT AS quantity FROM order_items \
             WHERE order_id = $1 GROUP BY sku_id ORDER BY sku_id",
        )
        .bind(id.0)
        .fetch_all(&mut *tx)
        .await
        .map_err(db_err)?;
        for line in &lines {
            sqlx::query("UPDATE skus SET stock = stock + $1 WHERE id = $2")
                .bind(line.int("quantity")?)
                .bind(line.int("sku_id")?)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        }
        if let Some(coupon) = closed.opt_int("coupon_id")? {
            sqlx::query("UPDATE coupons SET used = used - 1 WHERE id = $1 AND used > 0")
                .bind(coupon)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        }
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

    async fn review_order_tx(&self, cmd: &ReviewOrder) -> Result<()> {
        let mut tx = self.begin().await?;
        lock_order(&mut tx, cmd.order_id).await?;
        let done = sqlx::query(
            "UPDATE orders SET status = 'reviewed' WHERE id = $1 AND status = 'received' \
             AND refund_status IN ('none', 'failed')",
        )
        .bind(cmd.order_id.0)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        if done.rows_affected() == 0 {
            return Err(conflict(Entity::Order, cmd.order_id));
        }
        let order = load_orders(&mut tx, &[cmd.order_id])
            .await?
            .pop()
            .ok_or_else(|| Error::not_found(Entity::Order, cmd.order_id))?;
        check_line_reviews(&order, &cmd.reviews)?;
        for (item, review) in &cmd.reviews {
            sqlx::query(
                "UPDATE order_items SET rating = $1, review = $2, reviewed_at = $3 \
                 WHERE id = $4 AND order_id = $5",
            )
            .bind(i32::from(review.rating))
            .bind(&review.text)
            .bind(review.reviewed_at)
            .bind(item.0)
            .bind(cmd.order_id.0)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)
    }
}

#[async_trait]
impl OrderStore for PgStore {
    async fn issue_submit_token(
        &self,
        user: UserId,
        token: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query("INSERT INTO submit_tokens (token, user_id, expires_at) VALUES ($1, $2, $3)")
            .bind(token)
            .bind(user.0)
            .bind(expires_at)
            .execute(&self.pool)
            .await
            .map_err(|e| unique_err(e, Entity::SubmitToken, token))?;
        Ok(())
    }

    async fn submitted_order(&self, user: UserId, token: &str) -> Result<Option<SubmittedOrder>> {
        let row: Option<(i64, String)> = sqlx::query_as(
            "SELECT order_id, request_fingerprint FROM submit_tokens \
             WHERE token = $1 AND user_id = $2 AND order_id IS NOT NULL",
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
        retry_rolled_back(|| self.place_order_tx(cmd)).await
    }

    async fn get_order(&self, id: OrderId) -> Result<Option<Order>> {
        let mut conn = self.pool.acquire().await.map_err(db_err)?;
        Ok(load_orders(&mut conn, &[id]).await?.pop())
    }

    async fn get_order_by_no(&self, no: &str) -> Result<Option<Order>> {
        let mut conn = self.pool.acquire().await.map_err(db_err)?;
        let id: Option<i64> = sqlx::query_scalar("SELECT id FROM orders WHERE no = $1")
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
        let filters = |b: &mut QueryBuilder<'_, Postgres>| {
            b.push(" WHERE TRUE");
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
        retry_rolled_back(|| self.transition_tx(id, expected, next, patch)).await
    }

    async fn close_order(&self, id: OrderId, at: DateTime<Utc>) -> Result<()> {
        retry_rolled_back(|| self.close_order_tx(id, at)).await
    }

    async fn list_expired_orders(
        &self,
        now: DateTime<Utc>,
        after: Option<OrderId>,
        limit: u32,
    ) -> Result<Vec<OrderId>> {
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM orders WHERE status = 'pending' AND expires_at <= $1 AND id > $2 \
             ORDER BY id LIMIT $3",
        )
        .bind(now)
        .bind(after.map_or(i64::MIN, |a| a.0))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(ids.into_iter().map(OrderId).collect())
    }

    async fn review_order(&self, cmd: &ReviewOrder) -> Result<()> {
        retry_rolled_back(|| self.review_order_tx(cmd)).await
    }

    async fn list_product_reviews(
        &self,
        product: ProductId,
        limit: u32,
    ) -> Result<Vec<ProductReview>> {
        let rows = sqlx::query(
            "SELECT o.user_id, oi.sku_id, oi.rating, oi.review, oi.reviewed_at \
             FROM order_items oi JOIN orders o ON o.id = oi.order_id \
             WHERE oi.product_id = $1 AND oi.rating IS NOT NULL \
             ORDER BY oi.reviewed_at DESC, o.id DESC, oi.id DESC LIMIT $2",
        )
        .bind(product.0)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter()
            .map(|r| {
                let rating = r.int("rating")?;
                Ok(ProductReview {
                    user_id: UserId(r.int("user_id")?),
                    sku_id: SkuId(r.int("sku_id")?),
                    review: LineReview {
                        rating: u8::try_from(rating)
                            .map_err(|_| corrupt("rating", &rating.to_string()))?,
                        text: r.text("review")?,
                        reviewed_at: r.time("reviewed_at")?,
                    },
                })
            })
            .collect()
    }

    async fn create_refund(&self, cmd: &NewRefund) -> Result<()> {
        retry_rolled_back(|| self.create_refund_tx(cmd)).await
    }

    async fn finish_refund(&self, cmd: &FinishRefund) -> Result<()> {
        retry_rolled_back(|| self.finish_refund_tx(cmd)).await
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
        // transaction keeps them consistent (REPEATABLE READ reads one snapshot), so a refund finishing
        // in between is never listed without its lines.
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        let refunds =
            super::refunds::pending_refunds(&mut tx, created_before, after, limit).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(refunds)
    }
}
