//! Refunds on PostgreSQL: each write first locks its order's row, so the
//! "never more than paid" check, the refund rows and the order's state
//! change are one atomic step against any concurrent refund of that order.

use chrono::{DateTime, Utc};
use shop_core::ids::{OrderId, RefundId};
use shop_core::order::OrderState;
use shop_core::refund::{check_refund_fits, FinishRefund, NewRefund, Refund, RefundRecordStatus};
use shop_core::{Entity, Error, Result, StoreError};
use sqlx::{PgConnection, Postgres, QueryBuilder};

use super::orders::{load_orders, lock_order, release_hold_if_dead};
use super::PgStore;
use crate::common::{
    attach_refund_lines, conflict, db_err, refund_from, refund_line_from, unique_err,
};

const REFUND_COLS: &str = "r.id, r.refund_no, r.order_id, r.amount, r.currency, r.reason, \
    r.status, r.created_at, r.finished_at";

/// Which refunds to load.
#[derive(Clone, Copy)]
enum RefundsOf<'a> {
    /// Every refund of an order.
    Order(OrderId),
    /// The refund with this number.
    Number(&'a str),
    /// The first `limit` refunds by id, after the cursor `after`, of any
    /// order, still pending and created strictly before `created_before`.
    /// The ids are picked in a subquery so that both statements of
    /// [`load_refunds`] apply the same limit.
    Pending {
        created_before: DateTime<Utc>,
        after: Option<RefundId>,
        limit: u32,
    },
}

fn push_filter(b: &mut QueryBuilder<'_, Postgres>, of: RefundsOf<'_>) {
    match of {
        RefundsOf::Order(id) => b.push("r.order_id = ").push_bind(id.0),
        RefundsOf::Number(no) => b.push("r.refund_no = ").push_bind(no.to_owned()),
        RefundsOf::Pending {
            created_before,
            after,
            limit,
        } => b
            .push(
                "r.id IN (SELECT id FROM (SELECT id FROM refunds \
                 WHERE status = 'pending' AND created_at < ",
            )
            .push_bind(created_before)
            .push(" AND id > ")
            .push_bind(after.map_or(i64::MIN, |a| a.0))
            .push(" ORDER BY id LIMIT ")
            .push_bind(i64::from(limit))
            .push(") t)"),
    };
}

async fn load_refunds(db: &mut PgConnection, of: RefundsOf<'_>) -> Result<Vec<Refund>> {
    let mut q = QueryBuilder::new(format!("SELECT {REFUND_COLS} FROM refunds r WHERE "));
    push_filter(&mut q, of);
    q.push(match of {
        RefundsOf::Order(_) | RefundsOf::Number(_) => " ORDER BY r.created_at, r.id",
        RefundsOf::Pending { .. } => " ORDER BY r.id",
    });
    let rows = q.build().fetch_all(&mut *db).await.map_err(db_err)?;
    let mut refunds = rows.iter().map(refund_from).collect::<Result<Vec<_>>>()?;
    let mut q = QueryBuilder::new(
        "SELECT l.refund_id, l.item_id, l.quantity FROM refund_lines l \
         JOIN refunds r ON r.id = l.refund_id WHERE ",
    );
    push_filter(&mut q, of);
    q.push(" ORDER BY l.refund_id, l.line_no");
    let rows = q.build().fetch_all(&mut *db).await.map_err(db_err)?;
    let lines = rows
        .iter()
        .map(refund_line_from)
        .collect::<Result<Vec<_>>>()?;
    attach_refund_lines(&mut refunds, lines);
    Ok(refunds)
}

/// An order's refunds with their lines, oldest first.
pub(super) async fn refunds_of(db: &mut PgConnection, order: OrderId) -> Result<Vec<Refund>> {
    load_refunds(db, RefundsOf::Order(order)).await
}

/// Refunds of any order still pending and created before `created_before`,
/// with their lines, by id after the cursor `after`, at most `limit`.
pub(super) async fn pending_refunds(
    db: &mut PgConnection,
    created_before: DateTime<Utc>,
    after: Option<RefundId>,
    limit: u32,
) -> Result<Vec<Refund>> {
    let of = RefundsOf::Pending {
        created_before,
        after,
        limit,
    };
    load_refunds(db, of).await
}

impl PgStore {
    pub(super) async fn load_refund(&self, refund_no: &str) -> Result<Option<Refund>> {
        let mut conn = self.pool.acquire().await.map_err(db_err)?;
        Ok(load_refunds(&mut conn, RefundsOf::Number(refund_no))
            .await?
            .pop())
    }

    pub(super) async fn create_refund_tx(&self, cmd: &NewRefund) -> Result<()> {
        let refund = &cmd.refund;
        let mut tx = self.begin().await?;
        lock_order(&mut tx, refund.order_id).await?;
        let order = load_orders(&mut tx, &[refund.order_id])
            .await?
            .pop()
            .ok_or_else(|| Error::not_found(Entity::Order, refund.order_id))?;
        if order.state != cmd.expected {
            return Err(conflict(Entity::Order, order.id));
        }
        let existing = refunds_of(&mut tx, order.id).await?;
        if existing.iter().any(|r| r.refund_no == refund.refund_no) {
            return Err(Error::Store(StoreError::AlreadyExists {
                entity: Entity::Refund,
                key: refund.refund_no.clone(),
            }));
        }
        check_refund_fits(&order, &existing, refund)?;
        sqlx::query(
            "INSERT INTO refunds (id, refund_no, order_id, amount, currency, reason, status, \
             created_at, finished_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(refund.id.0)
        .bind(&refund.refund_no)
        .bind(order.id.0)
        .bind(refund.amount.amount())
        .bind(refund.amount.currency().code())
        .bind(&refund.reason)
        .bind(refund.status.as_str())
        .bind(refund.created_at)
        .bind(refund.finished_at)
        .execute(&mut *tx)
        .await
        .map_err(|e| unique_err(e, Entity::Refund, &refund.refund_no))?;
        for (line_no, line) in refund.lines.iter().enumerate() {
            sqlx::query(
                "INSERT INTO refund_lines (refund_id, line_no, item_id, quantity) \
                 VALUES ($1, $2, $3, $4)",
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
        let mut tx = self.begin().await?;
        let order: Option<i64> =
            sqlx::query_scalar("SELECT order_id FROM refunds WHERE refund_no = $1")
                .bind(&cmd.refund_no)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db_err)?;
        let order = order.ok_or_else(|| Error::not_found(Entity::Refund, &cmd.refund_no))?;
        // Read the refund only once its order is locked: a concurrent finish
        // has then either committed (and is seen) or not started.
        lock_order(&mut tx, OrderId(order)).await?;
        let refund = load_refunds(&mut tx, RefundsOf::Number(&cmd.refund_no))
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
        let done = sqlx::query(
            "UPDATE refunds SET status = $1, finished_at = $2 \
             WHERE id = $3 AND status = 'pending'",
        )
        .bind(cmd.outcome.as_str())
        .bind(cmd.at)
        .bind(refund.id.0)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        if done.rows_affected() == 0 {
            return Err(conflict(Entity::Refund, &cmd.refund_no));
        }
        tx.commit().await.map_err(db_err)
    }
}

/// Compare-and-set of the order's state inside a refund transaction.
async fn set_state(
    db: &mut PgConnection,
    id: OrderId,
    expected: OrderState,
    next: OrderState,
) -> Result<()> {
    let done = sqlx::query(
        "UPDATE orders SET status = $1, refund_status = $2 \
         WHERE id = $3 AND status = $4 AND refund_status = $5",
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
