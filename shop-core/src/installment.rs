//! Installment plans: paying an order in periods — which plans an order
//! may have, each period's base, fee and due date, the fine of an overdue
//! period, and the plan store. (Refunding an installment order is not
//! built yet.)
//!
//! - An order whose total is at least [`InstallmentPolicy::min_total`]
//!   (300 by default) may be paid in 3 periods at a 1.5 % fee per period,
//!   6 at 2 % or 12 at 2.5 % (configurable).
//! - base = total / count truncated to the minor unit; the last period
//!   takes the remainder, so the bases add up to the total exactly. Each
//!   period's fee = base × rate, half-up.
//! - The first period is due at 00:00 of the next day in the shop's time
//!   zone, each next one 30 days later.
//! - An unpaid period past its due date owes a fine of (base + fee) ×
//!   overdue days × 0.05 % (half-up), never more than base + fee;
//!   recomputed from the due date each day, never accumulated.

use chrono::{DateTime, Duration, FixedOffset, NaiveTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use async_trait::async_trait;

use crate::error::{Error, Result};
use crate::events::EventRecord;
use crate::ids::{InstallmentPlanId, OrderId, UserId};
use crate::money::Money;
use crate::order::{OrderPatch, OrderState, PaymentInfo};

/// Days between two due dates.
pub const DAYS_BETWEEN_PERIODS: i64 = 30;

/// One plan an order may be paid with: a number of periods and the fee
/// per period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InstallmentTerms {
    /// Periods, 2 or more.
    pub count: u32,
    /// Fee per period as a fraction of its base (0.015 for 1.5 %).
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "0.015"))]
    pub fee_rate: Decimal,
}

/// Which orders may be paid in installments, on which terms, and the fine
/// of an overdue period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallmentPolicy {
    /// The least order total a plan is offered for (in the order's
    /// currency's units: 300 means 300.00 CNY).
    pub min_total: Decimal,
    /// The plans offered.
    pub terms: Vec<InstallmentTerms>,
    /// The fine per overdue day, as a fraction of base + fee (0.0005 for
    /// 0.05 %).
    pub fine_rate_per_day: Decimal,
}

impl Default for InstallmentPolicy {
    fn default() -> Self {
        InstallmentPolicy {
            min_total: Decimal::new(300, 0),
            terms: vec![
                InstallmentTerms {
                    count: 3,
                    fee_rate: Decimal::new(15, 3),
                },
                InstallmentTerms {
                    count: 6,
                    fee_rate: Decimal::new(2, 2),
                },
                InstallmentTerms {
                    count: 12,
                    fee_rate: Decimal::new(25, 3),
                },
            ],
            fine_rate_per_day: Decimal::new(5, 4),
        }
    }
}

impl InstallmentPolicy {
    /// Checks the policy itself: a positive minimum, at least one plan,
    /// each of 2 to 120 periods at a fee rate in [0, 1), no two plans of
    /// one count, a fine rate in [0, 1).
    pub fn validate(&self) -> Result<()> {
        if self.min_total <= Decimal::ZERO {
            return Err(Error::validation("min_total", "must be more than zero"));
        }
        if self.terms.is_empty() {
            return Err(Error::validation("terms", "at least one plan"));
        }
        let unit = Decimal::ONE;
        for (i, t) in self.terms.iter().enumerate() {
            if !(2..=120).contains(&t.count) {
                return Err(Error::validation("terms", "2 to 120 periods a plan"));
            }
            if t.fee_rate < Decimal::ZERO || t.fee_rate >= unit {
                return Err(Error::validation("terms", "a fee rate in [0, 1)"));
            }
            if self.terms[..i].iter().any(|o| o.count == t.count) {
                return Err(Error::validation("terms", "one plan per number of periods"));
            }
        }
        if self.fine_rate_per_day < Decimal::ZERO || self.fine_rate_per_day >= unit {
            return Err(Error::validation("fine_rate_per_day", "a rate in [0, 1)"));
        }
        Ok(())
    }

    /// The terms of `count` periods, when offered for an order of `total`:
    /// `Refused { field: "total" }` under the minimum, `Validation {
    /// field: "count" }` for a count not offered.
    pub fn terms_for(&self, total: Money, count: u32) -> Result<InstallmentTerms> {
        if total.amount() < self.min_total {
            return Err(Error::refused(
                "total",
                format!(
                    "installments need an order of at least {} {}",
                    self.min_total,
                    total.currency().code()
                ),
            ));
        }
        self.terms
            .iter()
            .find(|t| t.count == count)
            .copied()
            .ok_or_else(|| {
                let offered: Vec<String> = self.terms.iter().map(|t| t.count.to_string()).collect();
                Error::validation("count", format!("plans offered: {}", offered.join(", ")))
            })
    }
}

/// One period of a plan as scheduled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScheduledPeriod {
    /// 1 for the first.
    pub index: u32,
    /// The share of the order's total.
    pub base: Money,
    /// The fee: base × rate, half-up.
    pub fee: Money,
    /// When it is due.
    pub due_at: DateTime<Utc>,
}

impl ScheduledPeriod {
    /// What the period costs without a fine.
    pub fn amount(&self) -> Result<Money> {
        Ok(self.base.checked_add(self.fee)?)
    }
}

/// 00:00 of the day after `now`'s day in `tz`: the first due date.
pub fn first_due_at(now: DateTime<Utc>, tz: FixedOffset) -> DateTime<Utc> {
    let local = now.with_timezone(&tz).date_naive() + Duration::days(1);
    local
        .and_time(NaiveTime::MIN)
        .and_local_timezone(tz)
        .single()
        .map_or(now + Duration::days(1), |t| t.with_timezone(&Utc))
}

/// The periods of `total` paid on `terms`, the first due at `first_due`:
/// bases truncated to the minor unit with the remainder on the last (they
/// add up to `total` exactly), fees half-up, due dates 30 days apart.
pub fn schedule(
    total: Money,
    terms: InstallmentTerms,
    first_due: DateTime<Utc>,
) -> Result<Vec<ScheduledPeriod>> {
    if terms.count == 0 {
        return Err(Error::validation("count", "at least one period"));
    }
    let currency = total.currency();
    let share = total
        .amount()
        .checked_div(Decimal::from(terms.count))
        .ok_or(crate::money::MoneyError::Overflow)?;
    let base = Money::new(share, currency).truncate();
    let before_last = base.times(terms.count - 1)?;
    let last = total.checked_sub(before_last)?;
    (1..=terms.count)
        .map(|index| {
            let base = if index == terms.count { last } else { base };
            let fee = base.checked_mul(terms.fee_rate)?.round();
            Ok(ScheduledPeriod {
                index,
                base,
                fee,
                due_at: first_due + Duration::days(DAYS_BETWEEN_PERIODS * i64::from(index - 1)),
            })
        })
        .collect()
}

/// Whole days `now` is past `due_at` (0 until a full day has passed).
pub fn overdue_days(due_at: DateTime<Utc>, now: DateTime<Utc>) -> u32 {
    if now <= due_at {
        return 0;
    }
    u32::try_from((now - due_at).num_days()).unwrap_or(u32::MAX)
}

/// The fine of a period of `amount` (base + fee) `days` overdue:
/// amount × days × `rate_per_day`, half-up, never more than `amount`.
pub fn fine(amount: Money, days: u32, rate_per_day: Decimal) -> Result<Money> {
    if days == 0 || !amount.is_positive() {
        return Ok(Money::zero(amount.currency()));
    }
    let factor = rate_per_day
        .checked_mul(Decimal::from(days))
        .ok_or(crate::money::MoneyError::Overflow)?;
    let fine = if factor >= Decimal::ONE {
        amount
    } else {
        amount.checked_mul(factor)?.round()
    };
    Ok(if fine.checked_cmp(&amount)?.is_gt() {
        amount
    } else {
        fine
    })
}

/// Where a plan stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PlanStatus {
    /// No period paid yet; a new plan for the order replaces it.
    Pending,
    /// The first period is paid (so is the order), others are not.
    Repaying,
    /// Every period is paid.
    Finished,
}

impl PlanStatus {
    /// The stable lowercase name used in storage.
    pub fn as_str(self) -> &'static str {
        match self {
            PlanStatus::Pending => "pending",
            PlanStatus::Repaying => "repaying",
            PlanStatus::Finished => "finished",
        }
    }

    /// Parses [`PlanStatus::as_str`]'s output.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(PlanStatus::Pending),
            "repaying" => Some(PlanStatus::Repaying),
            "finished" => Some(PlanStatus::Finished),
            _ => None,
        }
    }
}

/// One period of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InstallmentPeriod {
    /// 1 for the first.
    pub index: u32,
    /// Its trade number at the gateway (each period is paid on its own).
    pub no: String,
    /// The share of the order's total.
    pub base: Money,
    /// The fee.
    pub fee: Money,
    /// The fine, as the daily job last computed it (zero until overdue).
    pub fine: Money,
    /// When it is due.
    pub due_at: DateTime<Utc>,
    /// Set once paid.
    pub payment: Option<PaymentInfo>,
}

impl InstallmentPeriod {
    /// What paying it costs now: base + fee + fine.
    pub fn payable(&self) -> Result<Money> {
        Ok(self.base.checked_add(self.fee)?.checked_add(self.fine)?)
    }
}

/// An order's installment plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InstallmentPlan {
    /// Id.
    pub id: InstallmentPlanId,
    /// The order paid with it.
    pub order_id: OrderId,
    /// The buyer.
    pub user_id: UserId,
    /// The terms.
    pub terms: InstallmentTerms,
    /// The order's total (the sum of the bases).
    pub total: Money,
    /// Where it stands.
    pub status: PlanStatus,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// Its periods, by index.
    pub periods: Vec<InstallmentPeriod>,
}

impl InstallmentPlan {
    /// The trade number of period `index` of plan `id`: letters and digits
    /// only, unlike an order number (all digits), so a gateway's
    /// notification names one or the other.
    pub fn period_no(id: InstallmentPlanId, index: u32) -> String {
        format!("IP{}N{index}", id.0)
    }

    /// A new pending plan of `total` for `order` on `terms`, first due at
    /// `first_due`.
    pub fn new(
        id: InstallmentPlanId,
        order: (OrderId, UserId),
        total: Money,
        terms: InstallmentTerms,
        first_due: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<InstallmentPlan> {
        let periods = schedule(total, terms, first_due)?
            .into_iter()
            .map(|p| InstallmentPeriod {
                index: p.index,
                no: InstallmentPlan::period_no(id, p.index),
                base: p.base,
                fee: p.fee,
                fine: Money::zero(total.currency()),
                due_at: p.due_at,
                payment: None,
            })
            .collect();
        Ok(InstallmentPlan {
            id,
            order_id: order.0,
            user_id: order.1,
            terms,
            total,
            status: PlanStatus::Pending,
            created_at: now,
            periods,
        })
    }

    /// Period `index`.
    pub fn period(&self, index: u32) -> Result<&InstallmentPeriod> {
        self.periods
            .iter()
            .find(|p| p.index == index)
            .ok_or_else(|| Error::not_found(crate::error::Entity::InstallmentPeriod, index))
    }

    /// The first unpaid period (`None` when all are paid).
    pub fn next_unpaid(&self) -> Option<&InstallmentPeriod> {
        self.periods.iter().find(|p| p.payment.is_none())
    }

    /// `Refused { field: "index" }` unless period `index` is the next to
    /// pay: unpaid, every earlier one paid.
    pub fn check_payable(&self, index: u32) -> Result<&InstallmentPeriod> {
        let period = self.period(index)?;
        if period.payment.is_some() {
            return Err(Error::refused("index", "this period is paid"));
        }
        if self.next_unpaid().map(|p| p.index) != Some(index) {
            return Err(Error::refused("index", "pay the earlier periods first"));
        }
        Ok(period)
    }
}

/// The atomic command that pays one period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayPeriod {
    /// The plan.
    pub plan_id: InstallmentPlanId,
    /// The period (every earlier one must be paid).
    pub index: u32,
    /// The payment.
    pub payment: PaymentInfo,
    /// The fine the amount paid was checked against (the period must still
    /// owe it).
    pub fine: Money,
    /// The plan's status afterwards.
    pub plan_status: PlanStatus,
    /// For the first period: the order's compare-and-set (expected, next,
    /// patch) to paid.
    pub order: Option<(OrderState, OrderState, OrderPatch)>,
}

/// Port: installment plans. Every write is one atomic step.
#[async_trait]
pub trait InstallmentStore: Send + Sync + 'static {
    /// Stores a new plan with its periods, replacing the order's pending
    /// plan if it has one; `Conflict { InstallmentPlan }` when the order
    /// has a plan with a paid period, or the order is no longer pending.
    async fn create_plan(&self, plan: &InstallmentPlan, events: &[EventRecord]) -> Result<()>;
    /// Loads a plan with its periods.
    async fn get_plan(&self, id: InstallmentPlanId) -> Result<Option<InstallmentPlan>>;
    /// The order's plan, if it has one.
    async fn plan_of_order(&self, order: OrderId) -> Result<Option<InstallmentPlan>>;
    /// The plan whose period has trade number `no`, and the period's index.
    async fn plan_of_period_no(&self, no: &str) -> Result<Option<(InstallmentPlan, u32)>>;
    /// Pays a period, all or nothing: the period unpaid, every earlier one
    /// paid and its fine still `cmd.fine` (`Conflict { InstallmentPeriod }`
    /// otherwise); sets the payment and the plan's status, and moves the
    /// order by `cmd.order` (its compare-and-set; `Conflict { Order }`).
    async fn pay_period(&self, cmd: &PayPeriod, events: &[EventRecord]) -> Result<()>;
    /// Unpaid periods of plans being repaid due in `[from, before)` (from
    /// any time when `from` is `None`), after the cursor `(plan, index)`,
    /// by plan then index, at most `limit`, each with its plan's id: what
    /// the daily fine and reminder jobs walk.
    async fn list_unpaid_periods(
        &self,
        from: Option<DateTime<Utc>>,
        before: DateTime<Utc>,
        after: Option<(InstallmentPlanId, u32)>,
        limit: u32,
    ) -> Result<Vec<(InstallmentPlanId, InstallmentPeriod)>>;
    /// Sets an unpaid period's fine, recording `events` with it (nothing,
    /// and no events, when it was paid meanwhile).
    async fn set_fine(
        &self,
        plan: InstallmentPlanId,
        index: u32,
        fine: Money,
        events: &[EventRecord],
    ) -> Result<()>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;
    use chrono::TimeZone;
    use proptest::prelude::*;

    fn cny(s: &str) -> Money {
        Money::parse(s, Currency::Cny).unwrap()
    }

    fn beijing() -> FixedOffset {
        FixedOffset::east_opt(8 * 3600).unwrap()
    }

    #[test]
    fn bases_truncate_and_the_last_takes_the_remainder() {
        let first = Utc.with_ymd_and_hms(2026, 1, 1, 16, 0, 0).unwrap();
        let periods = schedule(
            cny("1000.00"),
            InstallmentTerms {
                count: 3,
                fee_rate: Decimal::new(15, 3),
            },
            first,
        )
        .unwrap();
        let bases: Vec<String> = periods
            .iter()
            .map(|p| p.base.amount().to_string())
            .collect();
        assert_eq!(bases, ["333.33", "333.33", "333.34"]);
        // 333.33 × 1.5 % = 4.99995 → 5.00; 333.34 × 1.5 % = 5.0001 → 5.00.
        let fees: Vec<String> = periods.iter().map(|p| p.fee.amount().to_string()).collect();
        assert_eq!(fees, ["5.00", "5.00", "5.00"]);
        assert_eq!(periods[1].due_at, first + Duration::days(30));
        assert_eq!(periods[2].due_at, first + Duration::days(60));
    }

    #[test]
    fn the_first_due_date_is_the_next_local_midnight() {
        // 2026-01-01 23:30 in Beijing is 15:30 UTC: due 2026-01-02 00:00
        // Beijing, 2026-01-01 16:00 UTC.
        let now = Utc.with_ymd_and_hms(2026, 1, 1, 15, 30, 0).unwrap();
        assert_eq!(
            first_due_at(now, beijing()),
            Utc.with_ymd_and_hms(2026, 1, 1, 16, 0, 0).unwrap()
        );
        // Half an hour later it is already the 2nd there: due on the 3rd.
        let later = now + Duration::minutes(30);
        assert_eq!(
            first_due_at(later, beijing()),
            Utc.with_ymd_and_hms(2026, 1, 2, 16, 0, 0).unwrap()
        );
    }

    #[test]
    fn fines_count_whole_days_and_stop_at_the_amount() {
        let due = Utc.with_ymd_and_hms(2026, 1, 1, 16, 0, 0).unwrap();
        assert_eq!(overdue_days(due, due), 0);
        assert_eq!(overdue_days(due, due + Duration::hours(23)), 0);
        assert_eq!(overdue_days(due, due + Duration::hours(24)), 1);
        assert_eq!(overdue_days(due, due - Duration::days(3)), 0);
        let rate = Decimal::new(5, 4);
        // 338.33 × 10 × 0.05 % = 1.69165 → 1.69.
        assert_eq!(fine(cny("338.33"), 10, rate).unwrap(), cny("1.69"));
        // 100.00 × 1 × 0.05 % = 0.05.
        assert_eq!(fine(cny("100.00"), 1, rate).unwrap(), cny("0.05"));
        assert_eq!(fine(cny("100.00"), 0, rate).unwrap(), cny("0.00"));
        // 2,000 days × 0.05 % = 100 %: capped at the amount from then on.
        assert_eq!(fine(cny("100.00"), 2_000, rate).unwrap(), cny("100.00"));
        assert_eq!(fine(cny("100.00"), 5_000, rate).unwrap(), cny("100.00"));
    }

    #[test]
    fn orders_under_the_minimum_get_no_plan() {
        let policy = InstallmentPolicy::default();
        policy.validate().unwrap();
        assert!(matches!(
            policy.terms_for(cny("299.99"), 3),
            Err(Error::Refused { field: "total", .. })
        ));
        assert_eq!(policy.terms_for(cny("300.00"), 6).unwrap().count, 6);
        assert!(matches!(
            policy.terms_for(cny("300.00"), 4),
            Err(Error::Validation { field: "count", .. })
        ));
        let mut bad = policy.clone();
        bad.terms.push(bad.terms[0]);
        assert!(bad.validate().is_err());
    }

    fn terms() -> impl Strategy<Value = InstallmentTerms> {
        prop_oneof![
            Just(InstallmentTerms {
                count: 3,
                fee_rate: Decimal::new(15, 3)
            }),
            Just(InstallmentTerms {
                count: 6,
                fee_rate: Decimal::new(2, 2)
            }),
            Just(InstallmentTerms {
                count: 12,
                fee_rate: Decimal::new(25, 3)
            }),
            (2u32..=36, 0u32..1000).prop_map(|(count, bp)| InstallmentTerms {
                count,
                fee_rate: Decimal::new(i64::from(bp), 4),
            }),
        ]
    }

    proptest! {
        #[test]
        fn bases_add_up_to_the_total_and_fees_are_half_up(
            cents in 30_000i64..100_000_000_000,
            terms in terms(),
        ) {
            let total = Money::from_minor_units(cents, Currency::Cny);
            let first = Utc.with_ymd_and_hms(2026, 3, 1, 16, 0, 0).unwrap();
            let periods = schedule(total, terms, first).unwrap();
            prop_assert_eq!(periods.len() as u32, terms.count);
            let sum = Money::sum(Currency::Cny, periods.iter().map(|p| p.base)).unwrap();
            prop_assert_eq!(sum, total);
            let base_cents = cents / i64::from(terms.count);
            for p in &periods {
                let b = p.base.minor_units().unwrap();
                if p.index < terms.count {
                    prop_assert_eq!(b, base_cents);
                } else {
                    prop_assert_eq!(b, cents - base_cents * i64::from(terms.count - 1));
                }
                // Half-up in integers: fee cents = floor((b × bp × 2 + 10⁴) / (2 × 10⁴)).
                let bp = (terms.fee_rate * Decimal::new(10_000, 0)).trunc();
                let bp = i64::try_from(bp).unwrap();
                let expected = (i128::from(b) * i128::from(bp) * 2 + 10_000) / 20_000;
                prop_assert_eq!(i128::from(p.fee.minor_units().unwrap()), expected);
                prop_assert!(p.fee.amount() >= Decimal::ZERO);
            }
        }

        #[test]
        fn fines_never_exceed_the_amount_and_never_decrease(
            cents in 1i64..10_000_000_000,
            days in 0u32..5_000,
        ) {
            let amount = Money::from_minor_units(cents, Currency::Cny);
            let rate = Decimal::new(5, 4);
            let today = fine(amount, days, rate).unwrap();
            let tomorrow = fine(amount, days + 1, rate).unwrap();
            prop_assert!(today.amount() >= Decimal::ZERO);
            prop_assert!(tomorrow.checked_cmp(&amount).unwrap().is_le());
            prop_assert!(today.checked_cmp(&tomorrow).unwrap().is_le());
            prop_assert!(today.is_whole_minor_units());
        }
    }
}
