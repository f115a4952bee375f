//! Refunds on SQLite: recorded and finished inside one write transaction
//! each, so the "never more than paid" check and the state change are atomic.

use shop_core::ids::OrderId;
use shop_core::refund::{check_refund_fits, FinishRefund, NewRefund, Refund, RefundRecordStatus};
use shop_core::{Entity, Error, Result};
use sqlx::SqliteConnection;

use super::orders::{load_orders, release_hold_if_dead};
use super::{micros, SqliteStore};
use crate::common::{
    attach_refund_lines, conflict, db_err, refund_from, refund_line_from, unique_err,
};

const REFUND_COLS: &str = "r.id, r.refund_no, r.order_id, r.amount, r.currency, r.reason, \
    r.status, r.created_at, r.finished_at";

async fn load_refunds(db: &mut SqliteConnection, filter: &str, bind: &str) -> Result<Vec<Refund>> {
    let rows = sqlx::query(&format!(
        "SELECT {REFUND_COLS} FROM refunds r WHERE {filter} ORDER BY r.created_at, r.id"
    ))
    .bind(bind)
    .fetch_all(&mut *db)
    .await
    .map_err(db_err)?;
    let mut refunds = rows.iter().map(refund_from).collect::<Result<Vec<_>>>()?;
    let rows = sqlx::query(&format!(
        "SELECT l.refund_id, l.item_id, l.quantity FROM refund_lines l \
         JOIN refunds r ON r.id = l.refund_id WHERE {filter} ORDER BY l.refund_id, l.line_no"
    ))
    .bind(bind)
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
    load_refunds(db, "r.order_id = CAST(? AS INTEGER)", &order.0.to_string()).await
}

impl SqliteStore {
    pub(super) async fn load_refund(&self, refund_no: &str) -> Result<Option<Refund>> {
        let mut conn = self.pool.acquire().await.map_err(db_err)?;
        Ok(load_refunds(&mut conn, "r.refund_no = ?", refund_no)
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
        let refund = load_refunds(&mut tx, "r.refund_no = ?", &cmd.refund_no)
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
