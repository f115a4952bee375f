//! `InstallmentStore`: plans and their periods. Paying a period locks its
//! plan's row, checks the period is the next unpaid one with the fine the
//! amount was checked against, and moves the order (for the first period)
//! in the same transaction.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use shop_core::events::EventRecord;
use shop_core::ids::{InstallmentPlanId, OrderId, UserId};
use shop_core::installment::{
    InstallmentPeriod, InstallmentPlan, InstallmentStore, InstallmentTerms, PayPeriod, PlanStatus,
};
use shop_core::order::OrderStatus;
use shop_core::{Entity, Error, Money, Result};

use crate::dialect::Conn;
use crate::error::{conflict, corrupt, retry_rolled_back};
use crate::orders::{lock_order, set_state};
use crate::rows::{payment_from, Cols};
use crate::sql::Sql;
use crate::{commit_with, Dialect, SqlStore};

const PLAN_COLS: &str =
    "id, order_id, user_id, periods, fee_rate, total, currency, status, created_at";
const PERIOD_COLS: &str = "plan_id, idx, no, base, fee, fine, currency, due_at, payment_method, \
    payment_no, paid_at";

fn plan_from(r: &impl Cols) -> Result<InstallmentPlan> {
    let status = r.text("status")?;
    Ok(InstallmentPlan {
        id: InstallmentPlanId(r.int("id")?),
        order_id: OrderId(r.int("order_id")?),
        user_id: UserId(r.int("user_id")?),
        terms: InstallmentTerms {
            count: r.count("periods")?,
            fee_rate: r.decimal("fee_rate")?.normalize(),
        },
        total: r.money("total")?,
        status: PlanStatus::parse(&status).ok_or_else(|| corrupt("plan status", &status))?,
        created_at: r.time("created_at")?,
        periods: Vec::new(),
    })
}

fn period_from(r: &impl Cols) -> Result<(InstallmentPlanId, InstallmentPeriod)> {
    let payment = payment_from(r)?;
    Ok((
        InstallmentPlanId(r.int("plan_id")?),
        InstallmentPeriod {
            index: r.count("idx")?,
            no: r.text("no")?,
            base: r.money("base")?,
            fee: r.money("fee")?,
            fine: r.money("fine")?,
            due_at: r.time("due_at")?,
            payment,
        },
    ))
}

/// The plan `where_` selects (one `?` bound to `key`), with its periods.
async fn load_plan<D: Dialect>(
    c: &mut Conn<D>,
    where_: &str,
    key: i64,
    lock: bool,
) -> Result<Option<InstallmentPlan>> {
    let read = Sql::new(format!(
        "SELECT {PLAN_COLS} FROM shop_installment_plans WHERE {where_}{}",
        if lock { D::FOR_UPDATE } else { "" }
    ))
    .bind(key);
    let Some(row) = D::fetch_optional(c, &read).await? else {
        return Ok(None);
    };
    let mut plan = plan_from(&row)?;
    let periods = Sql::new(format!(
        "SELECT {PERIOD_COLS} FROM shop_installment_periods WHERE plan_id = ? ORDER BY idx"
    ))
    .bind(plan.id.0);
    plan.periods = D::fetch_all(c, &periods)
        .await?
        .iter()
        .map(|r| period_from(r).map(|(_, p)| p))
        .collect::<Result<_>>()?;
    Ok(Some(plan))
}

impl<D: Dialect> SqlStore<D> {
    async fn create_plan_tx(&self, plan: &InstallmentPlan, events: &[EventRecord]) -> Result<()> {
        let mut tx = self.write().await?;
        lock_order::<D>(&mut tx, plan.order_id).await?;
        let status = Sql::new("SELECT status FROM shop_orders WHERE id = ?").bind(plan.order_id.0);
        let pending = D::fetch_optional(&mut tx, &status)
            .await?
            .map(|r| r.text("status"))
            .transpose()?
            .is_some_and(|s| s == OrderStatus::Pending.as_str());
        let existing = load_plan::<D>(&mut tx, "order_id = ?", plan.order_id.0, true).await?;
        if !pending
            || existing
                .as_ref()
                .is_some_and(|p| p.status != PlanStatus::Pending)
        {
            return Err(conflict(Entity::InstallmentPlan, plan.order_id));
        }
        if let Some(old) = existing {
            let periods =
                Sql::new("DELETE FROM shop_installment_periods WHERE plan_id = ?").bind(old.id.0);
            D::execute(&mut tx, &periods).await?;
            let plans = Sql::new("DELETE FROM shop_installment_plans WHERE id = ?").bind(old.id.0);
            D::execute(&mut tx, &plans).await?;
        }
        let insert = Sql::new(format!(
            "INSERT INTO shop_installment_plans ({PLAN_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
        ))
        .bind(plan.id.0)
        .bind(plan.order_id.0)
        .bind(plan.user_id.0)
        .bind(plan.terms.count)
        .bind(plan.terms.fee_rate)
        .bind(plan.total)
        .bind(plan.total.currency().code())
        .bind(plan.status.as_str())
        .bind(plan.created_at);
        D::execute(&mut tx, &insert).await?;
        for p in &plan.periods {
            let insert = Sql::new(format!(
                "INSERT INTO shop_installment_periods ({PERIOD_COLS}) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            ))
            .bind(plan.id.0)
            .bind(p.index)
            .bind(&p.no)
            .bind(p.base)
            .bind(p.fee)
            .bind(p.fine)
            .bind(p.base.currency().code())
            .bind(p.due_at)
            .bind(p.payment.as_ref().map(|x| x.method.as_str()))
            .bind(p.payment.as_ref().map(|x| x.transaction_no.as_str()))
            .bind(p.payment.as_ref().map(|x| x.paid_at));
            D::execute(&mut tx, &insert).await?;
        }
        commit_with::<D>(tx, events).await
    }

    async fn pay_period_tx(&self, cmd: &PayPeriod, events: &[EventRecord]) -> Result<()> {
        let mut tx = self.write().await?;
        // The order first, as every order write does, then the plan.
        let plan_of = Sql::new("SELECT order_id FROM shop_installment_plans WHERE id = ?")
            .bind(cmd.plan_id.0);
        let order = D::fetch_optional(&mut tx, &plan_of)
            .await?
            .ok_or_else(|| Error::not_found(Entity::InstallmentPlan, cmd.plan_id))?
            .int("order_id")?;
        lock_order::<D>(&mut tx, OrderId(order)).await?;
        let plan = load_plan::<D>(&mut tx, "id = ?", cmd.plan_id.0, true)
            .await?
            .ok_or_else(|| Error::not_found(Entity::InstallmentPlan, cmd.plan_id))?;
        let due = plan
            .next_unpaid()
            .is_some_and(|p| p.index == cmd.index && p.fine == cmd.fine);
        if !due {
            return Err(conflict(Entity::InstallmentPeriod, cmd.index));
        }
        if let Some((expected, next, patch)) = &cmd.order {
            set_state::<D>(&mut tx, plan.order_id, (*expected, *next), patch, None).await?;
        }
        let pay = Sql::new(
            "UPDATE shop_installment_periods SET payment_method = ?, payment_no = ?, paid_at = ? \
             WHERE plan_id = ? AND idx = ? AND paid_at IS NULL",
        )
        .bind(cmd.payment.method.as_str())
        .bind(cmd.payment.transaction_no.as_str())
        .bind(cmd.payment.paid_at)
        .bind(cmd.plan_id.0)
        .bind(cmd.index);
        if D::execute(&mut tx, &pay).await? == 0 {
            return Err(conflict(Entity::InstallmentPeriod, cmd.index));
        }
        let status = Sql::new("UPDATE shop_installment_plans SET status = ? WHERE id = ?")
            .bind(cmd.plan_status.as_str())
            .bind(cmd.plan_id.0);
        D::execute(&mut tx, &status).await?;
        commit_with::<D>(tx, events).await
    }
}

#[async_trait]
impl<D: Dialect> InstallmentStore for SqlStore<D> {
    async fn create_plan(&self, plan: &InstallmentPlan, events: &[EventRecord]) -> Result<()> {
        retry_rolled_back(|| self.create_plan_tx(plan, events)).await
    }

    async fn get_plan(&self, id: InstallmentPlanId) -> Result<Option<InstallmentPlan>> {
        let mut conn = self.conn().await?;
        load_plan::<D>(&mut conn, "id = ?", id.0, false).await
    }

    async fn plan_of_order(&self, order: OrderId) -> Result<Option<InstallmentPlan>> {
        let mut conn = self.conn().await?;
        load_plan::<D>(&mut conn, "order_id = ?", order.0, false).await
    }

    async fn plan_of_period_no(&self, no: &str) -> Result<Option<(InstallmentPlan, u32)>> {
        let find =
            Sql::new("SELECT plan_id, idx FROM shop_installment_periods WHERE no = ?").bind(no);
        let Some((plan, index)) = self
            .one(find, |r| Ok((r.int("plan_id")?, r.count("idx")?)))
            .await?
        else {
            return Ok(None);
        };
        let mut conn = self.conn().await?;
        Ok(load_plan::<D>(&mut conn, "id = ?", plan, false)
            .await?
            .map(|p| (p, index)))
    }

    async fn pay_period(&self, cmd: &PayPeriod, events: &[EventRecord]) -> Result<()> {
        retry_rolled_back(|| self.pay_period_tx(cmd, events)).await
    }

    async fn list_unpaid_periods(
        &self,
        from: Option<DateTime<Utc>>,
        before: DateTime<Utc>,
        after: Option<(InstallmentPlanId, u32)>,
        limit: u32,
    ) -> Result<Vec<(InstallmentPlanId, InstallmentPeriod)>> {
        let (plan, index) = after.map_or((i64::MIN, 0), |(p, i)| (p.0, i));
        let cols = PERIOD_COLS
            .split(", ")
            .map(|c| format!("q.{}", c.trim()))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = Sql::new(format!(
            "SELECT {cols} FROM shop_installment_periods q \
             JOIN shop_installment_plans p ON p.id = q.plan_id \
             WHERE p.status = ? AND q.paid_at IS NULL AND q.due_at < ? \
             AND (? IS NULL OR q.due_at >= ?) \
             AND (q.plan_id > ? OR (q.plan_id = ? AND q.idx > ?)) \
             ORDER BY q.plan_id, q.idx LIMIT ?"
        ))
        .bind(PlanStatus::Repaying.as_str())
        .bind(before)
        .bind(from)
        .bind(from)
        .bind(plan)
        .bind(plan)
        .bind(index)
        .bind(i64::from(limit));
        self.all(sql, period_from).await
    }

    async fn set_fine(
        &self,
        plan: InstallmentPlanId,
        index: u32,
        fine: Money,
        events: &[EventRecord],
    ) -> Result<()> {
        let sql = Sql::new(
            "UPDATE shop_installment_periods SET fine = ? \
             WHERE plan_id = ? AND idx = ? AND paid_at IS NULL",
        )
        .bind(fine)
        .bind(plan.0)
        .bind(index);
        self.execute_with(sql, events).await.map(|_| ())
    }
}
