//! [`InstallmentStore`] for [`MemoryStore`].

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{conflict, MemoryStore};
use crate::error::{Entity, Error, Result};
use crate::events::EventRecord;
use crate::ids::{InstallmentPlanId, OrderId};
use crate::installment::{
    InstallmentPeriod, InstallmentPlan, InstallmentStore, PayPeriod, PlanStatus,
};
use crate::money::Money;
use crate::order::OrderStatus;

#[async_trait]
impl InstallmentStore for MemoryStore {
    async fn create_plan(&self, plan: &InstallmentPlan, events: &[EventRecord]) -> Result<()> {
        self.write(events, |s| {
            let pending = s
                .orders
                .get(&plan.order_id)
                .ok_or_else(|| Error::not_found(Entity::Order, plan.order_id))?
                .state
                .status
                == OrderStatus::Pending;
            let paid_plan = s
                .installment_plans
                .values()
                .any(|p| p.order_id == plan.order_id && p.status != PlanStatus::Pending);
            if !pending || paid_plan {
                return Err(conflict(Entity::InstallmentPlan, plan.order_id));
            }
            s.installment_plans
                .retain(|_, p| p.order_id != plan.order_id);
            s.installment_plans.insert(plan.id, plan.clone());
            Ok(())
        })
    }

    async fn get_plan(&self, id: InstallmentPlanId) -> Result<Option<InstallmentPlan>> {
        Ok(self.state().installment_plans.get(&id).cloned())
    }

    async fn plan_of_order(&self, order: OrderId) -> Result<Option<InstallmentPlan>> {
        Ok(self
            .state()
            .installment_plans
            .values()
            .find(|p| p.order_id == order)
            .cloned())
    }

    async fn plan_of_period_no(&self, no: &str) -> Result<Option<(InstallmentPlan, u32)>> {
        Ok(self.state().installment_plans.values().find_map(|p| {
            p.periods
                .iter()
                .find(|q| q.no == no)
                .map(|q| (p.clone(), q.index))
        }))
    }

    async fn pay_period(&self, cmd: &PayPeriod, events: &[EventRecord]) -> Result<()> {
        self.write(events, |s| {
            let plan = s
                .installment_plans
                .get(&cmd.plan_id)
                .ok_or_else(|| Error::not_found(Entity::InstallmentPlan, cmd.plan_id))?;
            let due = plan
                .periods
                .iter()
                .find(|p| p.payment.is_none())
                .is_some_and(|p| p.index == cmd.index && p.fine == cmd.fine);
            if !due {
                return Err(conflict(Entity::InstallmentPeriod, cmd.index));
            }
            if let Some((expected, next, patch)) = &cmd.order {
                s.transition(plan.order_id, *expected, *next, patch)?;
            }
            let plan = s
                .installment_plans
                .get_mut(&cmd.plan_id)
                .ok_or_else(|| Error::not_found(Entity::InstallmentPlan, cmd.plan_id))?;
            plan.status = cmd.plan_status;
            if let Some(period) = plan.periods.iter_mut().find(|p| p.index == cmd.index) {
                period.payment = Some(cmd.payment.clone());
            }
            Ok(())
        })
    }

    async fn list_unpaid_periods(
        &self,
        from: Option<DateTime<Utc>>,
        before: DateTime<Utc>,
        after: Option<(InstallmentPlanId, u32)>,
        limit: u32,
    ) -> Result<Vec<(InstallmentPlanId, InstallmentPeriod)>> {
        let state = self.state();
        Ok(state
            .installment_plans
            .values()
            .filter(|p| p.status == PlanStatus::Repaying)
            .flat_map(|p| p.periods.iter().map(move |q| (p.id, q)))
            .filter(|(id, q)| after.is_none_or(|a| (*id, q.index) > a))
            .filter(|(_, q)| q.payment.is_none() && q.due_at < before)
            .filter(|(_, q)| from.is_none_or(|f| q.due_at >= f))
            .take(limit as usize)
            .map(|(id, q)| (id, q.clone()))
            .collect())
    }

    async fn set_fine(
        &self,
        plan: InstallmentPlanId,
        index: u32,
        fine: Money,
        events: &[EventRecord],
    ) -> Result<()> {
        let mut state = self.state();
        if let Some(period) = state
            .installment_plans
            .get_mut(&plan)
            .and_then(|p| p.periods.iter_mut().find(|q| q.index == index))
            .filter(|q| q.payment.is_none())
        {
            period.fine = fine;
            state.outbox.append(events);
        }
        Ok(())
    }
}
