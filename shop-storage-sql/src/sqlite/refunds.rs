//! Refunds on SQLite: recorded and finished inside one write transaction
//! each, so the "never more than paid" check and the state change are atomic.

use chrono::{DateTime, Utc};
use shop_core::ids::{OrderId, RefundId};
use shop_core::refund::{check_refund_fits, FinishRefund, NewRefund, Refund, RefundRecordStatus};
use shop_core::{Entity, Error, Result};
use sqlx::query::Query;
use sqlx::sqlite::SqliteArguments;
use sqlx::{Sqlite, SqliteConnection};

use super::orders::{load_orders, release_hold_if_dead};
use super::{micros, SqliteStore};
use crate::common::{
    attach_refund_lines, conflict, db_err, refund_from, refund_line_from, unique_err,
};

const REFUND_COLS: &str = "r.id, r.refund_no, r.order_id, r.amount, r.currency, r.reason, \
    r.status, r.created_at, r.finished_at";

/// Which refunds to load.
#[derive(Debug, Clone, Copy)]
enum Refunds<'a> {
    /// Every refund of an order.
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

impl<'a> Refunds<'a> {
    /// The `WHERE` condition on `refunds r`. The pending variant picks its
    /// ids in a subquery so that both statements of [`load_refunds`] apply
    /// the same limit.
    fn filter(self) -> String {
        match self {
            Refunds::Of(_) => "r.order_id = ?".to_owned(),
            Refunds::Numbered(_) => "r.refund_no = ?".to_owned(),
            Refunds::Pending { limit, .. } => format!(
                "r.id IN (SELECT id FROM (SELECT id FROM refunds \
                 WHERE status = 'pending' AND created_at < ? AND id > ? \
                 ORDER BY id LIMIT {limit}) t)"
            ),
        }
    }

    /// The refunds' order: oldest first, or by id for the pending cursor.
    fn order_by(self) -> &'static str {
        match self {
            Refunds::Of(_) | Refunds::Numbered(_) => "r.created_at, r.id",
            Refunds::Pending { .. } => "r.id",
        }
    }

    fn query<'q>(self, sql: &'q str) -> Query<'q, Sqlite, SqliteArguments<'q>>
    where
        'a: 'q,
    {
        let q = sqlx::query(sql);
        match self {
            Refunds::Of(order) => q.bind(order.0),
            Refunds::Numbered(no) => q.bind(no),
            Refunds::Pending {
                created_before,
                after,
                ..
            } => q
                .bind(micros(created_before))
                .bind(after.map_or(i64::MIN, |a| a.0)),
        }
    }
}

async fn load_refunds(db: &mut SqliteConnection, which: Refunds<'_>) -> Result<Vec<Refund>> {
    let filter = which.filter();
    let order_by = which.order_by();
    let sql = format!("SELECT {REFUND_COLS} FROM refunds r WHERE {filter} ORDER BY {order_by}");
    let rows = which
        .query(&sql)
        .fetch_all(&mut *db)
        .await
        .map_err(db_err)?;
    let mut refunds = rows.iter().map(refund_from).collect::<Result<Vec<_>>>()?;
    let sql = format!(
        "SELECT l.refund_id, l.item_id, l.quantity FROM refund_lines l \
         JOIN refunds r ON r.id = l.refund_id WHERE {filter} ORDER BY l.refund_id, l.line_no"
    );
    let rows = which
        .query(&sql)
        .fetch_all(&mut *db)
        .await
        .map_err(db_err)?;
    let lines = rows
        .iter()
        .map(refund_line_from)
        .collect::<Result<Vec<_>>>()?;
    attach_refund_lines(&mut refunds, lines);
    Ok(refunds)
}

/// An order's refunds with their lines, oldest first.
pub(super) async fn refunds_of(db: &mut SqliteConnection, order: OrderId) -> Result<Vec<Refund>> {
    load_refunds(db, Refunds::Of(order)).await
}

/// Refunds of any order still pending and created before `created_before`,
/// with their lines, by id after the cursor `after`, at most `limit`.
pub(super) async fn pending_refunds(
    db: &mut SqliteConnection,
    created_before: DateTime<Utc>,
    after: Option<RefundId>,
    limit: u32,
) -> Result<Vec<Refund>> {
    let which = Refunds::Pending {
        created_before,
        after,
        limit,
    };
    load_refunds(db, which).await
}

impl SqliteStore {
    pub(super) async fn load_refund(&self, refund_no: &str) -> Result<Option<Refund>> {
        let mut conn = self.pool.acquire().await.map_err(db_err)?;
        Ok(load_refunds(&mut conn, Refunds::Numbered(refund_no))
            .await?
            .pop())
    }

    pub(super) async fn create_refund_tx(&self, cmd: &NewRefund) -> Result<()> {
        let refund = &cmd.refund;
        let mut tx = self.write_tx().await?;
        let order = load_orders(&mut tx, &[refund.order_id])
            .await?
            .pop()
            .ok_or_else(|| Error::not_found(Entity::Order, refund.order_id))?;
        if order.state != cmd.expected {
            return Err(conflict(Entity::Order, order.id));
        }
        let existing = refunds_of(&mut tx, order.id).await?;
        if existing.iter().any(|r| r.refund_no == refund.refund_no) {
            return Err(Error::Store(shop_core::StoreError::AlreadyExists {
                entity: Entity::Refund,
                key: refund.refund_no.clone(),
            }));
        }
        check_refund_fits(&order, &existing, refund)?;
        sqlx::query(
            "INSERT INTO refunds (id, refund_no, order_id, amount, currency, reason, status, \
             created_at, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(refund.id.0)
        .bind(&refund.refund_no)
        .bind(order.id.0)
        .bind(refund.amount.amount().to_string())
        .bind(refund.amount.currency().code())
        .bind(&refund.reason)
        .bind(refund.status.as_str())
        .bind(micros(refund.created_at))
        .bind(refund.finished_at.map(micros))
        .execute(&mut *tx)
        .await
        .map_err(|e| unique_err(e, Entity::Refund, &refund.refund_no))?;
        for (line_no, line) in refund.lines.iter().enumerate() {
            sqlx::query(
                "INSERT INTO refund_lines (refund_id, line_no, item_id, quantity) VALUES (?, ?, ?, ?)",
            )
            .bind(refund.id.0)
            .bind(line_no as i64)
            .bind(line.item_id.0)
            .bind(i64::from(line.quantity))
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        }
        set_state(&mut tx, order.id, cmd.expected, cmd.next).await?;
        tx.commit().await.map_err(db_err)
    }

    pub(super) async fn finish_refund_tx(&self, cmd: &FinishRefund) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let refund = load_refunds(&mut tx, Refunds::Numbered(&cmd.refund_no))
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
        set_state(&mut tx, refund.order_id, cmd.expected, cmd.next).await?;
        sqlx::query(
            "UPDATE refunds SET status = ?, finished_at = ? WHERE id = ? AND status = 'pending'",
        )
        .bind(cmd.outcome.as_str())
        .bind(micros(cmd.at))
        .bind(refund.id.0)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        tx.commit().await.map_err(db_err)
    }
}

/// Compare-and-set of the order's state inside a refund transaction.
async fn set_state(
    db: &mut SqliteConnection,
    id: OrderId,
    expected: shop_core::order::OrderState,
    next: shop_core::order::OrderState,
) -> Result<()> {
    let done = sqlx::query(
        "UPDATE orders SET status = ?, refund_status = ? WHERE id = ? AND status = ? AND refund_status = ?",
    )
    .bind(next.status.as_str())
    .bind(next.refund.as_str())
    .bind(id.0)
    .bind(expected.status.as_str())
    .bind(expected.refund.as_str())
    .execute(&mut *db)
    .await
    .map_err(db_err)?;
    if done.rows_affected() == 0 {
        return Err(conflict(Entity::Order, id));
    }
    release_hold_if_dead(db, id, next).await
}
