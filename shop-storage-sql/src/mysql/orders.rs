//! `OrderStore` on MySQL / MariaDB: placement, reads, transitions, closing,
//! reviews. Refunds are in `refunds.rs`.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use shop_core::catalog::Page;
use shop_core::coupon::CouponRejection;
use shop_core::ids::{OrderId, ProductId, RefundId, SkuId, UserId};
use shop_core::order::{
    check_line_reviews, LineReview, Order, OrderItem, OrderPatch, OrderQuery, OrderState,
    OrderStatus, OrderStore, PlaceOrder, ProductReview, RefundStatus, ReviewOrder, SubmittedOrder,
};
use shop_core::refund::{FinishRefund, NewRefund, Refund};
use shop_core::{Entity, Error, Result};
use sqlx::{MySql, MySqlConnection, QueryBuilder};

use super::MySqlStore;
use crate::common::{
    attach_items, conflict, db_err, first_shortage, order_from, order_item_from, retry_rolled_back,
    unique_err, Cols,
};

const ITEM_COLS: &str = "oi.id, oi.order_id, oi.product_id, oi.sku_id, oi.quantity, \
    oi.unit_price, oi.rating, oi.review, oi.reviewed_at, o.currency";

/// How a read inside a transaction sees the rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Read {
    /// A consistent read: the transaction's snapshot (fine outside one).
    Snapshot,
    /// A locking read (`LOCK IN SHARE MODE`): the latest committed rows,
    /// kept from changing until the transaction ends.
    Locking,
}

impl Read {
    /// What to append to the `SELECT`.
    pub(super) fn suffix(self) -> &'static str {
        match self {
            Read::Snapshot => "",
            Read::Locking => " LOCK IN SHARE MODE",
        }
    }
}

fn id_list(ids: impl Iterator<Item = i64>) -> String {
    ids.map(|i| i.to_string()).collect::<Vec<_>>().join(",")
}

/// Loads orders by id with their lines: two queries whatever the count.
pub(super) async fn load_orders(
    db: &mut MySqlConnection,
    ids: &[OrderId],
    read: Read,
) -> Result<Vec<Order>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let list = id_list(ids.iter().map(|i| i.0));
    let rows = sqlx::query(&format!(
        "SELECT * FROM orders WHERE id IN ({list}){}",
        read.suffix()
    ))
    .fetch_all(&mut *db)
    .await
    .map_err(db_err)?;
    let mut orders = rows.iter().map(order_from).collect::<Result<Vec<_>>>()?;
    let rows = sqlx::query(&format!(
        "SELECT {ITEM_COLS} FROM order_items oi JOIN orders o ON o.id = oi.order_id \
         WHERE oi.order_id IN ({list}) ORDER BY oi.order_id, oi.line_no{}",
        read.suffix()
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

/// `Conflict` when the order exists (its state moved on), else `NotFound`;
/// judged on the latest committed row.
pub(super) async fn lost_race(db: &mut MySqlConnection, id: OrderId) -> Error {
    let found = sqlx::query("SELECT 1 FROM orders WHERE id = ? LOCK IN SHARE MODE")
        .bind(id.0)
        .fetch_optional(db)
        .await;
    match found {
        Ok(Some(_)) => conflict(Entity::Order, id),
        Ok(None) => Error::not_found(Entity::Order, id),
        Err(e) => db_err(e),
    }
}

/// Gives the coupon back to its holder when an order stops being live
/// (closed, or fully refunded): the once-per-user rule then allows it again.
pub(super) async fn release_hold_if_dead(
    db: &mut MySqlConnection,
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

async fn insert_order(db: &mut MySqlConnection, o: &Order) -> Result<()> {
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
             unit_price) VALUES (?, ?, ?, ?, ?, ?, ?)",
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

/// Decrements each line's SKU where `stock >= quantity`, in SKU-id order so
/// that concurrent orders lock rows in the same order and never deadlock.
async fn take_stock(db: &mut MySqlConnection, o: &Order) -> Result<()> {
    let mut lines: Vec<&OrderItem> = o.items.iter().collect();
    lines.sort_by_key(|i| i.sku_id);
    for (n, item) in lines.iter().enumerate() {
        let done = sqlx::query("UPDATE skus SET stock = stock - ? WHERE id = ? AND stock >= ?")
            .bind(i64::from(item.quantity))
            .bind(item.sku_id.0)
            .bind(i64::from(item.quantity))
            .execute(&mut *db)
            .await
            .map_err(db_err)?;
        if done.rows_affected() == 0 {
            return Err(out_of_stock(db, o, &lines[..n], item).await);
        }
    }
    Ok(())
}

/// The refusal the line-by-line rule gives (the first line, in the order's
/// own order, that the stock left by the lines before it cannot cover),
/// computed from a locking read of every SKU of the order, with what this
/// transaction already took (`taken`) added back. `failed` is the line whose
/// update matched no row, reported if the stock moved in between.
async fn out_of_stock(
    db: &mut MySqlConnection,
    o: &Order,
    taken: &[&OrderItem],
    failed: &OrderItem,
) -> Error {
    let mut ids: Vec<i64> = o.items.iter().map(|i| i.sku_id.0).collect();
    ids.sort_unstable();
    ids.dedup();
    let rows = sqlx::query(&format!(
        "SELECT id, stock FROM skus WHERE id IN ({}) ORDER BY id FOR UPDATE",
        id_list(ids.into_iter())
    ))
    .fetch_all(&mut *db)
    .await;
    let rows = match rows {
        Ok(rows) => rows,
        Err(e) => return db_err(e),
    };
    // The stock each SKU had before this order: what is left now plus what
    // this transaction already took.
    let mut before: HashMap<SkuId, u32> = HashMap::new();
    for row in &rows {
        match (row.int("id"), row.count("stock")) {
            (Ok(id), Ok(stock)) => before.insert(SkuId(id), stock),
            (Err(e), _) | (_, Err(e)) => return e,
        };
    }
    for item in taken {
        if let Some(stock) = before.get_mut(&item.sku_id) {
            *stock = stock.saturating_add(item.quantity);
        }
    }
    first_shortage(&o.items, &before).unwrap_or_else(|| {
        // The stock moved between the update and this read.
        let wanted: u32 = o
            .items
            .iter()
            .filter(|i| i.sku_id == failed.sku_id)
            .map(|i| i.quantity)
            .sum();
        match before.get(&failed.sku_id) {
            None => Error::not_found(Entity::Sku, failed.sku_id),
            Some(stock) => Error::OutOfStock {
                sku: failed.sku_id,
                requested: failed.quantity,
                available: stock.saturating_sub(wanted),
            },
        }
    })
}

/// Takes one use of the coupon for the order's buyer, or says why not.
async fn take_coupon(db: &mut MySqlConnection, o: &Order, coupon: i64) -> Result<()> {
    let at = o.created_at;
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
        // Why, from the latest committed row (a plain read would see the
        // transaction's snapshot).
        let row = sqlx::query(
            "SELECT enabled, used, total, not_before FROM coupons WHERE id = ? FOR UPDATE",
        )
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

impl MySqlStore {
    async fn place_order_tx(&self, cmd: &PlaceOrder) -> Result<()> {
        let o = &cmd.order;
        let mut tx = self.begin().await?;
        if let Some(token) = &cmd.submit_token {
            let done = sqlx::query(
                "UPDATE submit_tokens SET used_at = ?, order_id = ?, request_fingerprint = ? \
                 WHERE token = ? AND user_id = ? AND used_at IS NULL AND expires_at > ?",
            )
            .bind(o.created_at)
            .bind(o.id.0)
            .bind(&token.request_fingerprint)
            .bind(&token.token)
            .bind(o.user_id.0)
            .bind(o.created_at)
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
        if cmd.clear_cart && !o.items.is_empty() {
            sqlx::query(&format!(
                "DELETE FROM cart_items WHERE user_id = ? AND sku_id IN ({})",
                id_list(o.items.iter().map(|i| i.sku_id.0))
            ))
            .bind(o.user_id.0)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        }
        take_stock(&mut tx, o).await?;
        if let Some(coupon) = o.coupon_id {
            take_coupon(&mut tx, o, coupon.0).await?;
        }
        tx.commit().await.map_err(db_err)
    }

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
        let done = sqlx::query(
            "UPDATE orders SET status = 'closed', closed_at = ? \
             WHERE id = ? AND status = 'pending' AND refund_status = 'none'",
        )
        .bind(at)
        .bind(id.0)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        if done.rows_affected() == 0 {
            return Err(lost_race(&mut tx, id).await);
        }
        // Give the stock back SKU by SKU, in id order like placement.
        let lines = sqlx::query(
            "SELECT sku_id, CAST(SUM(quantity) AS SIGNED) AS quantity FROM order_items \
             WHERE order_id = ? GROUP BY sku_id ORDER BY sku_id LOCK IN SHARE MODE",
        )
        .bind(id.0)
        .fetch_all(&mut *tx)
        .await
        .map_err(db_err)?;
        for line in &lines {
            sqlx::query("UPDATE skus SET stock = stock + ? WHERE id = ?")
                .bind(line.int("quantity")?)
                .bind(line.int("sku_id")?)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        }
        // The row is ours (locked by the update above).
        let coupon: Option<i64> =
            sqlx::query_scalar("SELECT coupon_id FROM orders WHERE id = ? FOR UPDATE")
                .bind(id.0)
                .fetch_one(&mut *tx)
                .await
                .map_err(db_err)?;
        if let Some(coupon) = coupon {
            sqlx::query("UPDATE coupons SET used = used - 1 WHERE id = ? AND used > 0")
                .bind(coupon)
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
        }
        tx.commit().await.map_err(db_err)
    }

    async fn review_order_tx(&self, cmd: &ReviewOrder) -> Result<()> {
        let mut tx = self.begin().await?;
        let state = sqlx::query("SELECT status, refund_status FROM orders WHERE id = ? FOR UPDATE")
            .bind(cmd.order_id.0)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?
            .ok_or_else(|| Error::not_found(Entity::Order, cmd.order_id))?;
        let reviewable = state.text("status")? == OrderStatus::Received.as_str()
            && matches!(state.text("refund_status")?.as_str(), "none" | "failed");
        if !reviewable {
            return Err(conflict(Entity::Order, cmd.order_id));
        }
        let order = load_orders(&mut tx, &[cmd.order_id], Read::Locking)
            .await?
            .pop()
            .ok_or_else(|| Error::not_found(Entity::Order, cmd.order_id))?;
        check_line_reviews(&order, &cmd.reviews)?;
        sqlx::query("UPDATE orders SET status = 'reviewed' WHERE id = ? AND status = 'received'")
            .bind(cmd.order_id.0)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        for (item, review) in &cmd.reviews {
            sqlx::query(
                "UPDATE order_items SET rating = ?, review = ?, reviewed_at = ? \
                 WHERE id = ? AND order_id = ?",
            )
            .bind(i64::from(review.rating))
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
impl OrderStore for MySqlStore {
    async fn issue_submit_token(
        &self,
        user: UserId,
        token: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query("INSERT INTO submit_tokens (token, user_id, expires_at) VALUES (?, ?, ?)")
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
        retry_rolled_back(|| self.place_order_tx(cmd)).await?;
        Ok(cmd.order.clone())
    }

    async fn get_order(&self, id: OrderId) -> Result<Option<Order>> {
        let mut conn = self.pool.acquire().await.map_err(db_err)?;
        Ok(load_orders(&mut conn, &[id], Read::Snapshot).await?.pop())
    }

    async fn get_order_by_no(&self, no: &str) -> Result<Option<Order>> {
        let mut conn = self.pool.acquire().await.map_err(db_err)?;
        let id: Option<i64> = sqlx::query_scalar("SELECT id FROM orders WHERE no = ?")
            .bind(no)
            .fetch_optional(&mut *conn)
            .await
            .map_err(db_err)?;
        match id {
            Some(id) => Ok(load_orders(&mut conn, &[OrderId(id)], Read::Snapshot)
                .await?
                .pop()),
            None => Ok(None),
        }
    }

    async fn list_orders(&self, q: &OrderQuery) -> Result<Page<Order>> {
        let filters = |b: &mut QueryBuilder<'_, MySql>| {
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
        Ok(Page::new(
            load_orders(&mut conn, &ids, Read::Snapshot).await?,
            total as u64,
        ))
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
            "SELECT id FROM orders WHERE status = 'pending' AND expires_at <= ? AND id > ? \
             ORDER BY id LIMIT ?",
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
                Ok(ProductReview {
                    user_id: UserId(r.int("user_id")?),
                    sku_id: SkuId(r.int("sku_id")?),
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
        super::refunds::refunds_of(&mut conn, order, Read::Snapshot).await
    }
    async fn list_pending_refunds(
        &self,
        created_before: DateTime<Utc>,
        after: Option<RefundId>,
        limit: u32,
    ) -> Result<Vec<Refund>> {
        // The refunds and their lines come from two statements: one
        // transaction keeps them consistent (InnoDB's default REPEATABLE READ reads one snapshot), so a refund finishing
        // in between is never listed without its lines.
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        let refunds =
            super::refunds::pending_refunds(&mut tx, created_before, after, limit).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(refunds)
    }
}
