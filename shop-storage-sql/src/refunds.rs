//! Refunds: recorded and finished inside one transaction each that first
//! locks the order's row, so the "never more than paid" check, the refund
//! rows and the order's state change are one atomic step against any
//! concurrent refund of that order.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use shop_core::events::EventRecord;
use shop_core::ids::{OrderId, RefundId};
use shop_core::order::OrderPatch;
use shop_core::refund::{
    check_refund_fits, FinishRefund, NewRefund, Refund, RefundRecordStatus, RefundStore,
};
use shop_core::{Entity, Error, Result};

use crate::dialect::Conn;
use crate::error::retry_rolled_back;
use crate::error::{already_exists, conflict, Violation};
use crate::orders::{load_orders, lock_order, set_state};
use crate::rows::{group_lines, refund_from, refund_line_from, Cols};
use crate::sql::Sql;
use crate::{commit, commit_with, Dialect, SqlStore};

const REFUND_COLS: &str = "r.id, r.refund_no, r.order_id, r.amount, r.currency, r.reason, \
    r.status, r.created_at, r.finished_at";

/// Which refunds to load.
#[derive(Debug, Clone, Copy)]
enum Refunds<'a> {
    /// Every refund of an order, oldest first.
    Of(OrderId),
    /// The refund with this number.
    Numbered(&'a str),
    /// The first `limit` refunds by id, after the cursor `after`, of any
    /// order, still pending and created strictly before `created_before`.
    Pending {
        created_before: DateTime<Utc>,
        after: Option<RefundId>,
        limit: u32,
    },
}

impl Refunds<'_> {
    /// Appends the condition on `shop_refunds r`. The pending variant picks
    /// its ids in a derived table (MySQL refuses `LIMIT` directly in an `IN`
    /// subquery), so both statements of [`load_refunds`] apply the same
    /// limit.
    fn push_filter(self, sql: &mut Sql) {
        match self {
            Refunds::Of(order) => sql.push("r.order_id = ").push_bind(order.0),
            Refunds::Numbered(no) => sql.push("r.refund_no = ").push_bind(no),
            Refunds::Pending {
                created_before,
                after,
                limit,
            } => sql
                .push("r.id IN (SELECT id FROM (SELECT id FROM shop_refunds WHERE status = ")
                .push_bind(RefundRecordStatus::Pending.as_str())
                .push(" AND created_at < ")
                .push_bind(created_before)
                .push(" AND id > ")
                .push_bind(after.map_or(i64::MIN, |a| a.0))
                .push(" ORDER BY id LIMIT ")
                .push_bind(limit)
                .push(") t)"),
        };
    }

    fn order_by(self) -> &'static str {
        match self {
            Refunds::Of(_) | Refunds::Numbered(_) => "r.created_at, r.id",
            Refunds::Pending { .. } => "r.id",
        }
    }
}

/// Loads refunds with their lines: two queries whatever the count.
async fn load_refunds<D: Dialect>(c: &mut Conn<D>, which: Refunds<'_>) -> Result<Vec<Refund>> {
    let mut sql = Sql::new(format!("SELECT {REFUND_COLS} FROM shop_refunds r WHERE "));
    which.push_filter(&mut sql);
    sql.push(" ORDER BY ").push(which.order_by());
    let mut refunds = D::fetch_all(c, &sql)
        .await?
        .iter()
        .map(refund_from)
        .collect::<Result<Vec<_>>>()?;
    let mut sql = Sql::new(
        "SELECT l.refund_id, l.item_id, l.quantity FROM shop_refund_lines l \
         JOIN shop_refunds r ON r.id = l.refund_id WHERE ",
    );
    which.push_filter(&mut sql);
    sql.push(" ORDER BY l.refund_id, l.line_no");
    let lines = D::fetch_all(c, &sql)
        .await?
        .iter()
        .map(refund_line_from)
        .collect::<Result<Vec<_>>>()?;
    let mut lines = group_lines(lines);
    for refund in &mut refunds {
        refund.lines = lines.remove(&refund.id).unwrap_or_default();
    }
    Ok(refunds)
}

impl<D: Dialect> SqlStore<D> {
    async fn create_refund_tx(&self, cmd: &NewRefund, events: &[EventRecord]) -> Result<()> {
        let refund = &cmd.refund;
        let mut tx = self.write().await?;
        lock_order::<D>(&mut tx, refund.order_id).await?;
        let order = load_orders::<D>(&mut tx, &[refund.order_id])
            .await?
            .pop()
            .ok_or_else(|| Error::not_found(Entity::Order, refund.order_id))?;
        if order.state != cmd.expected {
            return Err(conflict(Entity::Order, order.id));
        }
        let existing = load_refunds::<D>(&mut tx, Refunds::Of(order.id)).await?;
        if existing.iter().any(|r| r.refund_no == refund.refund_no) {
            return Err(already_exists(Entity::Refund, &refund.refund_no));
        }
        check_refund_fits(&order, &existing, refund)?;
        let insert = Sql::new(
            "INSERT INTO shop_refunds (id, refund_no, order_id, amount, currency, reason, status, \
             created_at, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(refund.id.0)
        .bind(&refund.refund_no)
        .bind(order.id.0)
        .bind(refund.amount)
        .bind(refund.amount.currency().code())
        .bind(&refund.reason)
        .bind(refund.status.as_str())
        .bind(refund.created_at)
        .bind(refund.finished_at);
        D::execute(&mut tx, &insert)
            .await
            .map_err(|e| e.or_exists(Entity::Refund, &refund.refund_no))?;
        for (line_no, line) in refund.lines.iter().enumerate() {
            let insert = Sql::new(
                "INSERT INTO shop_refund_lines (refund_id, line_no, item_id, quantity) \
                 VALUES (?, ?, ?, ?)",
            )
            .bind(refund.id.0)
            .bind(line_no as i64)
            .bind(line.item_id.0)
            .bind(line.quantity);
            D::execute(&mut tx, &insert).await?;
        }
        set_state::<D>(
            &mut tx,
            order.id,
            (cmd.expected, cmd.next),
            &OrderPatch::default(),
            None,
        )
        .await?;
        commit_with::<D>(tx, events).await
    }

    async fn finish_refund_tx(&self, cmd: &FinishRefund, events: &[EventRecord]) -> Result<()> {
        let mut tx = self.write().await?;
        // Lock the refund, then its order; every read after that sees the
        // latest committed rows.
        let owner = Sql::new(format!(
            "SELECT order_id FROM shop_refunds WHERE refund_no = ?{}",
            D::FOR_UPDATE
        ))
        .bind(&cmd.refund_no);
        let order_id = D::fetch_optional(&mut tx, &owner)
            .await?
            .ok_or_else(|| Error::not_found(Entity::Refund, &cmd.refund_no))?
            .int("order_id")?;
        lock_order::<D>(&mut tx, OrderId(order_id)).await?;
        let refund = load_refunds::<D>(&mut tx, Refunds::Numbered(&cmd.refund_no))
            .await?
            .pop()
            .ok_or_else(|| Error::not_found(Entity::Refund, &cmd.refund_no))?;
        if refund.status != RefundRecordStatus::Pending {
            return Err(conflict(Entity::Refund, &cmd.refund_no));
        }
        if cmd.outcome == RefundRecordStatus::Pending {
            return Err(Error::validation(
                "outcome",
                "a refund finishes as succeeded or failed",
            ));
        }
        set_state::<D>(
            &mut tx,
            refund.order_id,
            (cmd.expected, cmd.next),
            &OrderPatch::default(),
            None,
        )
        .await?;
        let finish = Sql::new("UPDATE shop_refunds SET status = ?, finished_at = ? WHERE id = ?")
            .bind(cmd.outcome.as_str())
            .bind(cmd.at)
            .bind(refund.id.0);
        D::execute(&mut tx, &finish).await?;
        commit_with::<D>(tx, events).await
    }
}

#[async_trait]
impl<D: Dialect> RefundStore for SqlStore<D> {
    async fn create_refund(&self, cmd: &NewRefund, events: &[EventRecord]) -> Result<()> {
        retry_rolled_back(|| self.create_refund_tx(cmd, events)).await
    }

    async fn finish_refund(&self, cmd: &FinishRefund, events: &[EventRecord]) -> Result<()> {
        retry_rolled_back(|| self.finish_refund_tx(cmd, events)).await
    }

    async fn get_refund(&self, refund_no: &str) -> Result<Option<Refund>> {
        let which = Refunds::Numbered(refund_no);
        Ok(load_refunds::<D>(&mut *self.conn().await?, which)
            .await?
            .pop())
    }

    async fn list_refunds(&self, order: OrderId) -> Result<Vec<Refund>> {
        load_refunds::<D>(&mut *self.conn().await?, Refunds::Of(order)).await
    }

    async fn list_pending_refunds(
        &self,
        created_before: DateTime<Utc>,
        after: Option<RefundId>,
        limit: u32,
    ) -> Result<Vec<Refund>> {
        // One snapshot: the refunds and their lines come from two
        // statements, and a refund finishing in between is never listed
        // without its lines.
        let mut tx = self.snapshot().await?;
        let which = Refunds::Pending {
            created_before,
            after,
            limit,
        };
        let refunds = load_refunds::<D>(&mut tx, which).await?;
        commit::<D>(tx).await?;
        Ok(refunds)
    }
}
