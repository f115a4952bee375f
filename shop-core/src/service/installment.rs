//! Installment plans: the options of an order, making a plan, paying its
//! periods through any gateway (exactly once, like orders), and the daily
//! fines (see [`crate::installment`]).

use serde::{Deserialize, Serialize};

use super::{NotificationOutcome, Shop, StopSignal};
use crate::error::{Entity, Error, Result, StoreError};
use crate::events::DomainEvent;
use crate::ids::{InstallmentPlanId, OrderId, UserId};
use crate::installment::{
    fine, first_due_at, overdue_days, schedule, InstallmentPlan, InstallmentTerms, PayPeriod,
    PlanStatus, ScheduledPeriod,
};
use crate::money::Money;
use crate::order::{Order, OrderAction, OrderPatch, OrderStatus, PaymentInfo};
use crate::payment::{PaymentAction, PaymentError, PaymentRequest, VerifiedPayment};

/// How many days ahead of a due date the reminder goes out.
const REMIND_DAYS: i64 = 3;

/// The payment method recorded on an order paid in installments.
pub const INSTALLMENT_METHOD: &str = "installment";

/// One plan an order may be paid with, as the buyer chooses it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PlanOption {
    /// Periods and the fee rate.
    pub terms: InstallmentTerms,
    /// Each period as it would be scheduled now.
    pub periods: Vec<ScheduledPeriod>,
    /// The fees of every period together.
    pub total_fee: Money,
}

impl Shop {
    /// The plans `user`'s unpaid order may be paid with, scheduled from
    /// now: `Refused { field: "total" }` under the minimum, `Refused {
    /// field: "order_id" }` for an order that is not pending.
    pub async fn installment_options(&self, user: UserId, id: OrderId) -> Result<Vec<PlanOption>> {
        let order = self.installable_order(user, id).await?;
        let policy = &self.inner.config.installments;
        let first_due = first_due_at(self.now(), self.inner.config.time_zone);
        let mut options = Vec::new();
        for terms in &policy.terms {
            let terms = policy.terms_for(order.total, terms.count)?;
            let periods = schedule(order.total, terms, first_due)?;
            let total_fee = Money::sum(order.total.currency(), periods.iter().map(|p| p.fee))?;
            options.push(PlanOption {
                terms,
                periods,
                total_fee,
            });
        }
        Ok(options)
    }

    /// Makes a plan of `count` periods for `user`'s unpaid order, replacing
    /// a plan of it with no period paid. The first period is due at 00:00
    /// of the next day in the shop's time zone; paying it pays the order.
    pub async fn create_installment_plan(
        &self,
        user: UserId,
        id: OrderId,
        count: u32,
    ) -> Result<InstallmentPlan> {
        let order = self.installable_order(user, id).await?;
        let terms = self
            .inner
            .config
            .installments
            .terms_for(order.total, count)?;
        let now = self.now();
        let plan = InstallmentPlan::new(
            InstallmentPlanId(self.next_id()),
            (order.id, order.user_id),
            order.total,
            terms,
            first_due_at(now, self.inner.config.time_zone),
            now,
        )?;
        match self.inner.stores.installments.create_plan(&plan, &[]).await {
            Ok(()) => Ok(plan),
            Err(Error::Store(StoreError::Conflict { .. })) => Err(Error::refused(
                "order_id",
                "the order is paid, or its plan is being repaid",
            )),
            Err(e) => Err(e),
        }
    }

    /// `user`'s order, pending and not past its window.
    async fn installable_order(&self, user: UserId, id: OrderId) -> Result<Order> {
        let order = self.order(user, id).await?;
        if order.state.status != OrderStatus::Pending || self.now() >= order.expires_at {
            return Err(Error::refused(
                "order_id",
                "only an unpaid order can be paid in installments",
            ));
        }
        Ok(order)
    }

    /// The plan of one of `user`'s orders, with each period's fine as the
    /// daily job last computed it.
    pub async fn installment_plan(&self, user: UserId, id: OrderId) -> Result<InstallmentPlan> {
        let plan = self
            .inner
            .stores
            .installments
            .plan_of_order(id)
            .await?
            .ok_or_else(|| Error::not_found(Entity::InstallmentPlan, id))?;
        if plan.user_id != user {
            return Err(Error::Forbidden {
                entity: Entity::Order,
            });
        }
        Ok(plan)
    }

    /// The period of one of `user`'s plans with trade number `no`, if it is
    /// the next to pay: its number and what it owes now (`NotFound` for an
    /// unknown number, `Forbidden` for somebody else's plan, `Refused {
    /// field: "index" }` for a paid period or one after the next).
    pub async fn payable_period(&self, user: UserId, no: &str) -> Result<(String, Money)> {
        crate::text::check_key("order_no", no)?;
        let (plan, index) = self
            .inner
            .stores
            .installments
            .plan_of_period_no(no)
            .await?
            .ok_or_else(|| Error::not_found(Entity::InstallmentPeriod, no))?;
        if plan.user_id != user {
            return Err(Error::Forbidden {
                entity: Entity::Order,
            });
        }
        let period = plan.check_payable(index)?;
        Ok((period.no.clone(), period.payable()?))
    }

    /// Asks `gateway` how `user` pays period `index` of their order's plan
    /// (base + fee + fine), under the period's own trade number: only the
    /// next unpaid period (`Refused { field: "index" }` for a paid one or
    /// one after it), and the first only while the order may still be paid.
    pub async fn start_period_payment(
        &self,
        user: UserId,
        order: OrderId,
        index: u32,
        gateway: &str,
        return_url: Option<String>,
    ) -> Result<PaymentAction> {
        let gateway = self.gateway(gateway)?.clone();
        let plan = self.installment_plan(user, order).await?;
        let period = plan.check_payable(index)?;
        if index == 1 {
            self.installable_order(user, order).await?;
        }
        let req = PaymentRequest {
            subject: format!("Installment {index}/{}", plan.terms.count),
            order_no: period.no.clone(),
            amount: period.payable()?,
            return_url,
        };
        Ok(gateway.create_payment(&req).await?)
    }

    /// A verified payment of an installment period (called by
    /// [`Shop::handle_payment_notification`] for a trade number that is no
    /// order's): exactly once per period, the amount equal to what the
    /// period owes, in order; the first pays the order (method
    /// [`INSTALLMENT_METHOD`]), the last finishes the plan.
    pub(super) async fn pay_installment_period(
        &self,
        gateway: &str,
        paid: VerifiedPayment,
    ) -> Result<NotificationOutcome> {
        let (plan, index) = self
            .inner
            .stores
            .installments
            .plan_of_period_no(&paid.order_no)
            .await?
            .ok_or_else(|| PaymentError::UnknownOrder(paid.order_no.clone()))?;
        let info = PaymentInfo {
            method: gateway.to_owned(),
            transaction_no: paid.transaction_no,
            paid_at: paid.paid_at,
        };
        let same = |plan: &InstallmentPlan, info: &PaymentInfo| {
            plan.period(index)
                .ok()
                .and_then(|p| p.payment.as_ref())
                .is_some_and(|p| p.method == info.method && p.transaction_no == info.transaction_no)
        };
        if same(&plan, &info) {
            return Ok(NotificationOutcome::PeriodAlreadyPaid(plan.order_id, index));
        }
        let period = plan.check_payable(index)?.clone();
        let payable = period.payable()?;
        if paid.amount != payable {
            return Err(PaymentError::AmountMismatch {
                expected: payable,
                got: paid.amount,
            }
            .into());
        }
        let finished = index == plan.terms.count;
        let mut events = Vec::new();
        let order = if index == 1 {
            let order = self.any_order(plan.order_id).await?;
            let patch = OrderPatch {
                payment: Some(PaymentInfo {
                    method: INSTALLMENT_METHOD.to_owned(),
                    transaction_no: format!("IP{}", plan.id.0),
                    paid_at: info.paid_at,
                }),
                ..OrderPatch::default()
            };
            let next = order.next_state(OrderAction::Pay)?;
            events.extend(order.transition_events(OrderAction::Pay, &patch));
            Some((order.state, next, patch))
        } else {
            None
        };
        events.push(DomainEvent::InstallmentPeriodPaid {
            order_id: plan.order_id,
            plan_id: plan.id,
            index,
            amount: payable,
            finished,
        });
        let cmd = PayPeriod {
            plan_id: plan.id,
            index,
            payment: info,
            fine: period.fine,
            plan_status: if finished {
                PlanStatus::Finished
            } else {
                PlanStatus::Repaying
            },
            order,
        };
        match self
            .inner
            .stores
            .installments
            .pay_period(&cmd, &self.records(events))
            .await
        {
            Ok(()) => Ok(NotificationOutcome::PeriodPaid(plan.order_id, index)),
            Err(Error::Store(StoreError::Conflict { .. })) => {
                let now = self
                    .inner
                    .stores
                    .installments
                    .get_plan(plan.id)
                    .await?
                    .ok_or_else(|| Error::not_found(Entity::InstallmentPlan, plan.id))?;
                if same(&now, &cmd.payment) {
                    Ok(NotificationOutcome::PeriodAlreadyPaid(plan.order_id, index))
                } else {
                    Err(Error::refused(
                        "index",
                        "the period was paid otherwise, its fine changed, or the order closed",
                    ))
                }
            }
            Err(e) => Err(e),
        }
    }

    /// Reminds each buyer of every unpaid period of a plan being repaid
    /// that falls due within the next three days (the daily job), through
    /// the notifier, under one key per period and day (a second run the
    /// same day hands over the same messages again). Nothing without a
    /// notifier. Returns how many reminders went out.
    pub async fn remind_installments(&self) -> Result<u64> {
        let Some(notifier) = self.inner.notifier.clone() else {
            return Ok(0);
        };
        let notifications = super::events::Notifications {
            stores: self.inner.stores.clone(),
            notifier,
        };
        let now = self.now();
        let today = now
            .with_timezone(&self.inner.config.time_zone)
            .format("%Y%m%d")
            .to_string();
        let store = &self.inner.stores.installments;
        let mut sent = 0;
        let mut after = None;
        loop {
            let chunk = store
                .list_unpaid_periods(
                    Some(now),
                    now + chrono::Duration::days(REMIND_DAYS),
                    after,
                    self.inner.config.close_batch_size,
                )
                .await?;
            let Some((plan, last)) = chunk.last() else {
                return Ok(sent);
            };
            after = Some((*plan, last.index));
            for (plan_id, period) in chunk {
                let Some(plan) = store.get_plan(plan_id).await? else {
                    continue;
                };
                let order = self.any_order(plan.order_id).await?;
                let message = crate::notify::Message::InstallmentDue {
                    order_no: order.no,
                    index: period.index,
                    count: plan.terms.count,
                    amount: period.payable()?,
                    due_at: period.due_at,
                };
                let key = format!("installment-due-{}-{}-{today}", plan.id, period.index);
                notifications.send_keyed(key, plan.user_id, message).await?;
                sent += 1;
            }
        }
    }

    /// Recomputes the fine of every unpaid period past its due date (the
    /// daily job): (base + fee) × whole overdue days × the policy's daily
    /// rate, half-up, capped at base + fee — from the due date each time,
    /// never accumulated, in chunks. Returns how many fines changed.
    pub async fn apply_installment_fines(&self) -> Result<u64> {
        self.apply_installment_fines_until(&StopSignal::new()).await
    }

    /// [`Shop::apply_installment_fines`], stopping at the next chunk
    /// boundary after `stop` is raised.
    pub async fn apply_installment_fines_until(&self, stop: &StopSignal) -> Result<u64> {
        let now = self.now();
        let rate = self.inner.config.installments.fine_rate_per_day;
        let store = &self.inner.stores.installments;
        let mut changed = 0;
        let mut after = None;
        loop {
            if stop.is_raised() {
                return Ok(changed);
            }
            let chunk = store
                .list_unpaid_periods(None, now, after, self.inner.config.close_batch_size)
                .await?;
            let Some((plan, last)) = chunk.last() else {
                return Ok(changed);
            };
            after = Some((*plan, last.index));
            for (plan, period) in chunk {
                let owed = fine(
                    period.base.checked_add(period.fee)?,
                    overdue_days(period.due_at, now),
                    rate,
                )?;
                if owed == period.fine {
                    continue;
                }
                // The first fine tells the buyer, with the write.
                let mut events = Vec::new();
                if period.fine.is_zero() {
                    if let Some(plan) = store.get_plan(plan).await? {
                        let order = self.any_order(plan.order_id).await?;
                        events.push(DomainEvent::InstallmentOverdue {
                            order_id: order.id,
                            order_no: order.no,
                            user_id: plan.user_id,
                            index: period.index,
                            count: plan.terms.count,
                            fine: owed,
                            amount: period.base.checked_add(period.fee)?.checked_add(owed)?,
                            due_at: period.due_at,
                        });
                    }
                }
                store
                    .set_fine(plan, period.index, owed, &self.records(events))
                    .await?;
                changed += 1;
            }
        }
    }
}
