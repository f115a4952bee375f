//! `OrderStore`: submit tokens, reading and listing orders, state changes,
//! closing, reviews. Placing an order is in `placement.rs`, refunds in
//! `refunds.rs`.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use shop_core::events::EventRecord;
use shop_core::ids::{OrderId, ProductId, SkuId, UserId};
use shop_core::order::{
    check_line_reviews, Order, OrderAction, OrderPatch, OrderQuery, OrderState, OrderStore,
    PlaceOrder, ProductReview, ReviewOrder, SubmitTokenStore, SubmittedOrder, TokenClaim,
};
use shop_core::page::Page;
use shop_core::{Entity, Error, Result};

use crate::dialect::Conn;
use crate::error::{conflict, retry_rolled_back, Violation};
use crate::rows::{group_lines, order_from, order_item_from, product_review_from, Cols};
use crate::sql::Sql;
use crate::{commit_with, Dialect, SqlStore};

const ITEM_COLS: &str = "oi.id, oi.order_id, oi.product_id, oi.sku_id, oi.quantity, \
    oi.unit_price, oi.rating, oi.review, oi.reviewed_at, o.currency";

/// Loads orders by id with their lines, in the order of `ids`: two queries
/// whatever the count.
pub(crate) async fn load_orders<D: Dialect>(
    c: &mut Conn<D>,
    ids: &[OrderId],
) -> Result<Vec<Order>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let list = || ids.iter().map(|i| i.0);
    let mut sql = Sql::new("SELECT * FROM shop_orders WHERE id IN ");
    sql.push_list(list());
    let mut orders = D::fetch_all(c, &sql)
        .await?
        .iter()
        .map(order_from)
        .collect::<Result<Vec<_>>>()?;
    let mut sql = Sql::new(format!(
        "SELECT {ITEM_COLS} FROM shop_order_items oi JOIN shop_orders o ON o.id = oi.order_id \
         WHERE oi.order_id IN "
    ));
    sql.push_list(list())
        .push(" ORDER BY oi.order_id, oi.line_no");
    let items = D::fetch_all(c, &sql)
        .await?
        .iter()
        .map(order_item_from)
        .collect::<Result<Vec<_>>>()?;
    let mut items = group_lines(items);
    for order in &mut orders {
        order.items = items.remove(&order.id).unwrap_or_default();
    }
    orders.sort_by_key(|o| ids.iter().position(|i| *i == o.id));
    Ok(orders)
}

/// Locks the order's row for the rest of the transaction (`NotFound` when
/// there is none): every read-check-write on an order starts here.
pub(crate) async fn lock_order<D: Dialect>(c: &mut Conn<D>, id: OrderId) -> Result<()> {
    let sql = Sql::new(format!(
        "SELECT id FROM shop_orders WHERE id = ?{}",
        D::FOR_UPDATE
    ))
    .bind(id.0);
    match D::fetch_optional(c, &sql).await? {
        Some(_) => Ok(()),
        None => Err(Error::not_found(Entity::Order, id)),
    }
}

/// Compare-and-set of an order's state from `expected` to `next`, writing
/// the patch's `Some` fields (and `closed_at` when given); `Conflict` when
/// the order moved on, `NotFound` when there is none. An order leaving the
/// states that hold a coupon gives its hold back in the same step.
pub(crate) async fn set_state<D: Dialect>(
    c: &mut Conn<D>,
    id: OrderId,
    (expected, next): (OrderState, OrderState),
    patch: &OrderPatch,
    closed_at: Option<DateTime<Utc>>,
) -> Result<()> {
    let pay = patch.payment.as_ref();
    let ship = patch.shipment.as_ref();
    let update = Sql::new(
        "UPDATE shop_orders SET status = ?, refund_status = ?, \
         payment_method = COALESCE(?, payment_method), payment_no = COALESCE(?, payment_no), \
         paid_at = COALESCE(?, paid_at), ship_carrier = COALESCE(?, ship_carrier), \
         ship_tracking = COALESCE(?, ship_tracking), shipped_at = COALESCE(?, shipped_at), \
         refund_reason = COALESCE(?, refund_reason), \
         refund_refusal = COALESCE(?, refund_refusal), closed_at = COALESCE(?, closed_at) \
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
    .bind(closed_at)
    .bind(id.0)
    .bind(expected.status.as_str())
    .bind(expected.refund.as_str());
    if D::execute(c, &update).await? == 0 {
        // Orders are never deleted: one that exists moved on.
        let exists = Sql::new("SELECT id FROM shop_orders WHERE id = ?").bind(id.0);
        return Err(match D::fetch_optional(c, &exists).await? {
            Some(_) => conflict(Entity::Order, id),
            None => Error::not_found(Entity::Order, id),
        });
    }
    if expected.holds_coupon() && !next.holds_coupon() {
        let release = Sql::new("DELETE FROM shop_coupon_holds WHERE order_id = ?").bind(id.0);
        D::execute(c, &release).await?;
    }
    Ok(())
}

impl<D: Dialect> SqlStore<D> {
    async fn transition_tx(
        &self,
        id: OrderId,
        states: (OrderState, OrderState),
        patch: &OrderPatch,
        events: &[EventRecord],
    ) -> Result<()> {
        let mut tx = self.write().await?;
        set_state::<D>(&mut tx, id, states, patch, None).await?;
        commit_with::<D>(tx, events).await
    }

    async fn close_order_tx(
        &self,
        id: OrderId,
        at: DateTime<Utc>,
        events: &[EventRecord],
    ) -> Result<()> {
        let expected = OrderState::PENDING;
        let next = expected.apply(OrderAction::Close)?;
        let mut tx = self.write().await?;
        set_state::<D>(
            &mut tx,
            id,
            (expected, next),
            &OrderPatch::default(),
            Some(at),
        )
        .await?;
        // Give the stock back SKU by SKU in id order, like placement takes it.
        let lines =
            Sql::new("SELECT sku_id, quantity FROM shop_order_items WHERE order_id = ?").bind(id.0);
        let mut back: BTreeMap<SkuId, i64> = BTreeMap::new();
        for line in D::fetch_all(&mut tx, &lines).await? {
            *back.entry(SkuId(line.int("sku_id")?)).or_default() += line.int("quantity")?;
        }
        for (sku, quantity) in back {
            let give = Sql::new("UPDATE shop_skus SET stock = stock + ? WHERE id = ?")
                .bind(quantity)
                .bind(sku.0);
            D::execute(&mut tx, &give).await?;
        }
        let coupon = Sql::new(
            "UPDATE shop_coupons SET used = used - 1 WHERE used > 0 \
             AND id = (SELECT coupon_id FROM shop_orders WHERE id = ?)",
        )
        .bind(id.0);
        D::execute(&mut tx, &coupon).await?;
        crate::seckill::free_buyer::<D>(&mut tx, id).await?;
        commit_with::<D>(tx, events).await
    }

    async fn review_order_tx(&self, cmd: &ReviewOrder, events: &[EventRecord]) -> Result<()> {
        let next = cmd.next_state()?;
        let mut tx = self.write().await?;
        set_state::<D>(
            &mut tx,
            cmd.order_id,
            (cmd.expected, next),
            &OrderPatch::default(),
            None,
        )
        .await?;
        let order = load_orders::<D>(&mut tx, &[cmd.order_id])
            .await?
            .pop()
            .ok_or_else(|| Error::not_found(Entity::Order, cmd.order_id))?;
        check_line_reviews(&order, &cmd.reviews)?;
        for (item, review) in &cmd.reviews {
            let write = Sql::new(
                "UPDATE shop_order_items SET rating = ?, review = ?, reviewed_at = ? \
                 WHERE id = ? AND order_id = ?",
            )
            .bind(i64::from(review.rating))
            .bind(&review.text)
            .bind(review.reviewed_at)
            .bind(item.0)
            .bind(cmd.order_id.0);
            D::execute(&mut tx, &write).await?;
        }
        commit_with::<D>(tx, events).await
    }
}

#[async_trait]
impl<D: Dialect> OrderStore for SqlStore<D> {
    async fn place_order(&self, cmd: &PlaceOrder, events: &[EventRecord]) -> Result<Order> {
        retry_rolled_back(|| self.place_order_tx(cmd, events)).await?;
        Ok(cmd.order.clone())
    }

    async fn get_order(&self, id: OrderId) -> Result<Option<Order>> {
        Ok(load_orders::<D>(&mut *self.conn().await?, &[id])
            .await?
            .pop())
    }

    async fn get_order_by_no(&self, no: &str) -> Result<Option<Order>> {
        let mut conn = self.conn().await?;
        let sql = Sql::new("SELECT id FROM shop_orders WHERE no = ?").bind(no);
        match D::fetch_optional(&mut conn, &sql).await? {
            Some(row) => Ok(load_orders::<D>(&mut conn, &[OrderId(row.int("id")?)])
                .await?
                .pop()),
            None => Ok(None),
        }
    }

    async fn list_orders(&self, q: &OrderQuery) -> Result<Page<Order>> {
        let filters = |sql: &mut Sql| {
            sql.push(" WHERE 1 = 1");
            if let Some(user) = q.user_id {
                sql.push(" AND user_id = ").push_bind(user.0);
            }
            if let Some(status) = q.status {
                sql.push(" AND status = ").push_bind(status.as_str());
            }
        };
        let mut count = Sql::new("SELECT COUNT(*) AS n FROM shop_orders");
        filters(&mut count);
        let mut page = Sql::new("SELECT id FROM shop_orders");
        filters(&mut page);
        page.push(" ORDER BY created_at DESC, id DESC LIMIT ")
            .push_bind(q.per_page)
            .push(" OFFSET ")
            .push_bind(i64::from(q.page.max(1) - 1) * i64::from(q.per_page));
        let mut conn = self.conn().await?;
        let total = D::fetch_optional(&mut conn, &count)
            .await?
            .map_or(Ok(0), |r| r.int("n"))?;
        let ids = D::fetch_all(&mut conn, &page)
            .await?
            .iter()
            .map(|r| r.int("id").map(OrderId))
            .collect::<Result<Vec<_>>>()?;
        Ok(Page::new(
            load_orders::<D>(&mut conn, &ids).await?,
            total.max(0) as u64,
        ))
    }

    async fn transition(
        &self,
        id: OrderId,
        expected: OrderState,
        next: OrderState,
        patch: &OrderPatch,
        events: &[EventRecord],
    ) -> Result<()> {
        retry_rolled_back(|| self.transition_tx(id, (expected, next), patch, events)).await
    }

    async fn close_order(
        &self,
        id: OrderId,
        at: DateTime<Utc>,
        events: &[EventRecord],
    ) -> Result<()> {
        retry_rolled_back(|| self.close_order_tx(id, at, events)).await
    }

    async fn list_expired_orders(
        &self,
        now: DateTime<Utc>,
        after: Option<OrderId>,
        limit: u32,
    ) -> Result<Vec<OrderId>> {
        let sql = Sql::new(
            "SELECT id FROM shop_orders WHERE status = ? AND expires_at <= ? AND id > ? \
             ORDER BY id LIMIT ?",
        )
        .bind(OrderState::PENDING.status.as_str())
        .bind(now)
        .bind(after.map_or(i64::MIN, |a| a.0))
        .bind(limit);
        self.all(sql, |r| r.int("id").map(OrderId)).await
    }

    async fn review_order(&self, cmd: &ReviewOrder, events: &[EventRecord]) -> Result<()> {
        retry_rolled_back(|| self.review_order_tx(cmd, events)).await
    }

    async fn list_product_reviews(
        &self,
        product: ProductId,
        limit: u32,
    ) -> Result<Vec<ProductReview>> {
        let sql = Sql::new(
            "SELECT o.user_id, oi.sku_id, oi.rating, oi.review, oi.reviewed_at \
             FROM shop_order_items oi JOIN shop_orders o ON o.id = oi.order_id \
             WHERE oi.product_id = ? AND oi.rating IS NOT NULL \
             ORDER BY oi.reviewed_at DESC, o.id DESC, oi.id DESC LIMIT ?",
        )
        .bind(product.0)
        .bind(limit);
        self.all(sql, product_review_from).await
    }
}

#[async_trait]
impl<D: Dialect> SubmitTokenStore for SqlStore<D> {
    async fn issue_submit_token(
        &self,
        user: UserId,
        token: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        let insert = Sql::new(
            "INSERT INTO shop_submit_tokens (token, user_id, expires_at) VALUES (?, ?, ?)",
        )
        .bind(token)
        .bind(user.0)
        .bind(expires_at);
        self.execute(insert)
            .await
            .map_err(|e| e.or_exists(Entity::SubmitToken, token))?;
        Ok(())
    }

    async fn submitted_order(&self, user: UserId, token: &str) -> Result<Option<SubmittedOrder>> {
        let sql = Sql::new(
            "SELECT order_id, request_fingerprint FROM shop_submit_tokens \
             WHERE token = ? AND user_id = ? AND used_at IS NOT NULL",
        )
        .bind(token)
        .bind(user.0);
        self.one(sql, |row| {
            Ok(SubmittedOrder {
                order_id: OrderId(row.int("order_id")?),
                request_fingerprint: row.text("request_fingerprint")?,
            })
        })
        .await
    }

    async fn claim_submit_token(
        &self,
        user: UserId,
        token: &str,
        wanted: &SubmittedOrder,
        now: DateTime<Utc>,
        stale_before: DateTime<Utc>,
    ) -> Result<TokenClaim> {
        // The compare-and-set: one conditional UPDATE. `order_id` is set
        // before `claimed_at` (MySQL assigns left to right), keeping a
        // stale claim's order id.
        let claim = Sql::new(
            "UPDATE shop_submit_tokens SET request_fingerprint = ?, \
             order_id = CASE WHEN claimed_at IS NULL THEN ? ELSE order_id END, \
             claimed_at = ? \
             WHERE token = ? AND user_id = ? AND used_at IS NULL AND expires_at > ? \
             AND (claimed_at IS NULL OR claimed_at <= ?)",
        )
        .bind(&wanted.request_fingerprint)
        .bind(wanted.order_id.0)
        .bind(now)
        .bind(token)
        .bind(user.0)
        .bind(now)
        .bind(stale_before);
        let claimed = self.execute(claim).await? == 1;
        // Only the holder moves a live claim on, so what is read back is
        // this claim when it was won.
        let read = Sql::new(
            "SELECT order_id, request_fingerprint, used_at, claimed_at FROM shop_submit_tokens \
             WHERE token = ? AND user_id = ?",
        )
        .bind(token)
        .bind(user.0);
        let row = self
            .one(read, |row| {
                let fingerprint = row.opt_text("request_fingerprint")?.unwrap_or_default();
                let order = row.opt_int("order_id")?.map(|id| SubmittedOrder {
                    order_id: OrderId(id),
                    request_fingerprint: fingerprint,
                });
                Ok((
                    order,
                    row.opt_time("used_at")?.is_some(),
                    row.opt_time("claimed_at")?,
                ))
            })
            .await?;
        Ok(match row {
            Some((Some(order), _, Some(_))) if claimed => TokenClaim::Claimed {
                order_id: order.order_id,
                resumed: order.order_id != wanted.order_id,
            },
            Some((Some(order), true, _)) => TokenClaim::Placed(order),
            Some((Some(order), false, Some(_))) => TokenClaim::Pending(order),
            _ => TokenClaim::Unusable,
        })
    }

    async fn finish_submit_token(&self, user: UserId, token: &str, order: OrderId) -> Result<()> {
        let finish = Sql::new(
            "UPDATE shop_submit_tokens SET used_at = claimed_at \
             WHERE token = ? AND user_id = ? AND order_id = ? AND used_at IS NULL \
             AND claimed_at IS NOT NULL",
        )
        .bind(token)
        .bind(user.0)
        .bind(order.0);
        self.execute(finish).await?;
        Ok(())
    }

    async fn release_submit_token(&self, user: UserId, token: &str, order: OrderId) -> Result<()> {
        let release = Sql::new(
            "UPDATE shop_submit_tokens SET claimed_at = NULL, order_id = NULL, \
             request_fingerprint = NULL \
             WHERE token = ? AND user_id = ? AND order_id = ? AND used_at IS NULL",
        )
        .bind(token)
        .bind(user.0)
        .bind(order.0);
        self.execute(release).await?;
        Ok(())
    }
}
