//! Property tests for the domain rules of `DESIGN.md` ("Domain rules"):
//! money, coupons (discount and checks), order totals, the order state
//! machine and partial refunds. Every expected value comes from an
//! independent oracle in integer cents (or an explicit whitelist), never from
//! the code under test.

use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;
use proptest::sample::Index;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use shop_core::catalog::ProductKind;
use shop_core::coupon::{Coupon, CouponDraft, CouponKind, CouponRejection};
use shop_core::ids::{CouponId, OrderId, OrderItemId, ProductId, RefundId, SkuId, UserId};
use shop_core::money::MoneyError;
use shop_core::order::{
    order_totals, Order, OrderAction, OrderItem, OrderState, OrderStatus, RefundStatus,
};
use shop_core::refund::{
    refund_amount, refunded_amount, remaining_lines, Refund, RefundLine, RefundRecordStatus,
};
use shop_core::user::AddressSnapshot;
use shop_core::{Currency, Error, Money};

// ---------------------------------------------------------------------------
// Helpers and strategies
// ---------------------------------------------------------------------------

/// `c` cents as a decimal with scale 2.
fn dec_cents(c: i64) -> Decimal {
    Decimal::new(c, 2)
}

/// Money of `c` cents.
fn m(c: i64, cur: Currency) -> Money {
    Money::new(dec_cents(c), cur)
}

/// The amount in whole cents, or `None` when it has a fraction of a cent.
fn to_cents(d: Decimal) -> Option<i64> {
    let scaled = d * Decimal::ONE_HUNDRED;
    if scaled.fract().is_zero() {
        scaled.to_i64()
    } else {
        None
    }
}

/// Integer division of a non-negative `n` by a positive `d`, half-up.
fn div_half_up(n: i128, d: i128) -> i128 {
    assert!(n >= 0 && d > 0);
    (2 * n + d) / (2 * d)
}

fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000, 0).expect("valid timestamp")
}

fn currency() -> impl Strategy<Value = Currency> {
    prop_oneof![Just(Currency::Cny), Just(Currency::Usd)]
}

/// Two different currencies.
fn two_currencies() -> impl Strategy<Value = (Currency, Currency)> {
    prop_oneof![
        Just((Currency::Cny, Currency::Usd)),
        Just((Currency::Usd, Currency::Cny)),
    ]
}

fn amount_cents() -> impl Strategy<Value = i64> {
    1i64..=10_000_000
}

fn percent() -> impl Strategy<Value = i64> {
    1i64..=100
}

fn quantity() -> impl Strategy<Value = u32> {
    1u32..=999
}

fn coupon_kind() -> impl Strategy<Value = CouponKind> {
    prop_oneof![Just(CouponKind::Fixed), Just(CouponKind::Percent)]
}

#[allow(clippy::too_many_arguments)]
fn coupon(
    kind: CouponKind,
    value: Decimal,
    min_amount: Money,
    total: u32,
    used: u32,
    not_before: Option<DateTime<Utc>>,
    not_after: Option<DateTime<Utc>>,
    enabled: bool,
) -> Coupon {
    Coupon {
        id: CouponId(1),
        code: "ABCDEFGHIJKLMNOP".to_owned(),
        draft: CouponDraft {
            name: "test".to_owned(),
            kind,
            value,
            min_amount,
            total,
            not_before,
            not_after,
            enabled,
        },
        used,
        created_at: t0(),
    }
}

/// An always-valid coupon of `kind` with `value` (cents for fixed, percent
/// for percent) in `cur`.
fn simple_coupon(kind: CouponKind, value: i64, cur: Currency) -> Coupon {
    let value = match kind {
        CouponKind::Fixed => dec_cents(value),
        CouponKind::Percent => Decimal::from(value),
    };
    coupon(kind, value, Money::zero(cur), 100, 0, None, None, true)
}

/// A coupon of random kind with a value in that kind's range (cents or %).
fn any_coupon(cur: Currency) -> impl Strategy<Value = (CouponKind, i64, Coupon)> {
    prop_oneof![
        amount_cents().prop_map(move |v| (
            CouponKind::Fixed,
            v,
            simple_coupon(CouponKind::Fixed, v, cur)
        )),
        percent().prop_map(move |p| (
            CouponKind::Percent,
            p,
            simple_coupon(CouponKind::Percent, p, cur)
        )),
    ]
}

fn order(
    kind: ProductKind,
    state: OrderState,
    cur: Currency,
    lines: &[(i64, u32)],
    total_cents: i64,
) -> Order {
    let items: Vec<OrderItem> = lines
        .iter()
        .enumerate()
        .map(|(i, &(price, quantity))| OrderItem {
            id: OrderItemId(100 + i as i64),
            product_id: ProductId(1),
            sku_id: SkuId(10 + i as i64),
            quantity,
            unit_price: m(price, cur),
            review: None,
        })
        .collect();
    let items_total: i64 = lines.iter().map(|&(p, q)| p * i64::from(q)).sum();
    Order {
        id: OrderId(7),
        no: "20240101000000000001".to_owned(),
        user_id: UserId(3),
        kind,
        address: AddressSnapshot {
            address: "1 Test Road".to_owned(),
            zip: "100000".to_owned(),
            contact_name: "Tester".to_owned(),
            contact_phone: "13800000000".to_owned(),
        },
        items,
        items_total: m(items_total, cur),
        total: m(total_cents, cur),
        coupon_id: None,
        remark: String::new(),
        state,
        payment: None,
        shipment: None,
        refund_reason: None,
        refund_refusal: None,
        created_at: t0(),
        expires_at: t0() + Duration::minutes(30),
        closed_at: None,
    }
}

// ---------------------------------------------------------------------------
// 1. Money
// ---------------------------------------------------------------------------

proptest! {
    /// Money: `round` is half-up (away from zero) to 2 decimals, checked
    /// against an integer oracle on 3 to 6 decimals, and is idempotent.
    #[test]
    fn money_round_is_half_up_and_idempotent(
        n in -100_000_000_000i64..=100_000_000_000,
        scale in 3u32..=6,
        cur in currency(),
    ) {
        let money = Money::new(Decimal::new(n, scale), cur);
        let r = money.round();
        let unit = 10i128.pow(scale - 2);
        let mag = div_half_up(i128::from(n).abs(), unit);
        let expected = if n < 0 { -mag } else { mag };
        prop_assert_eq!(r.currency(), cur);
        prop_assert!(r.is_whole_minor_units(), "{} is not in whole cents", r);
        prop_assert_eq!(to_cents(r.amount()).map(i128::from), Some(expected), "round({})", money);
        prop_assert_eq!(r.round(), r);
    }

    /// Money: amounts already in whole cents are left unchanged by `round`.
    #[test]
    fn money_round_keeps_whole_cents(c in -10_000_000i64..=10_000_000, cur in currency()) {
        prop_assert_eq!(m(c, cur).round().amount(), dec_cents(c));
    }

    /// Money: add, sub, compare and sum across different currencies always
    /// fail with `CurrencyMismatch { left, right }`.
    #[test]
    fn money_cross_currency_is_an_error(
        a in amount_cents(),
        b in amount_cents(),
        (ca, cb) in two_currencies(),
    ) {
        let (x, y) = (m(a, ca), m(b, cb));
        let mismatch = MoneyError::CurrencyMismatch { left: ca, right: cb };
        prop_assert_eq!(x.checked_add(y), Err(mismatch.clone()));
        prop_assert_eq!(x.checked_sub(y), Err(mismatch.clone()));
        prop_assert_eq!(x.checked_cmp(&y), Err(mismatch));
        prop_assert!(Money::sum(ca, [x, y]).is_err());
        prop_assert!(Money::sum(cb, [x, y]).is_err());
        prop_assert!(Money::sum(ca, [y]).is_err());
    }

    /// Money: same-currency add/sub are exact (integer oracle) and inverse
    /// of each other.
    #[test]
    fn money_same_currency_add_sub_exact(
        a in amount_cents(),
        b in amount_cents(),
        cur in currency(),
    ) {
        let (x, y) = (m(a, cur), m(b, cur));
        let s = x.checked_add(y).expect("same currency");
        prop_assert_eq!(s.currency(), cur);
        prop_assert_eq!(to_cents(s.amount()), Some(a + b));
        let d = x.checked_sub(y).expect("same currency");
        prop_assert_eq!(to_cents(d.amount()), Some(a - b));
        prop_assert_eq!(s.checked_sub(y).expect("same currency"), x);
    }

    /// Money: summing same-currency amounts is associative and commutative
    /// and equals the integer sum of the cents.
    #[test]
    fn money_sum_is_associative_and_commutative(
        cur in currency(),
        (cents, shuffled) in prop::collection::vec(amount_cents(), 0..12)
            .prop_flat_map(|v| (Just(v.clone()), Just(v).prop_shuffle())),
        split in any::<Index>(),
    ) {
        let as_money = |v: &[i64]| v.iter().map(|&c| m(c, cur)).collect::<Vec<_>>();
        let total = Money::sum(cur, as_money(&cents)).expect("same currency");
        prop_assert_eq!(total.currency(), cur);
        prop_assert_eq!(to_cents(total.amount()), Some(cents.iter().sum::<i64>()));
        // Commutative: any permutation gives the same sum.
        prop_assert_eq!(Money::sum(cur, as_money(&shuffled)).expect("same currency"), total);
        // Associative: (left part) + (right part) equals the whole.
        let k = split.index(cents.len() + 1);
        let left = Money::sum(cur, as_money(&cents[..k])).expect("same currency");
        let right = Money::sum(cur, as_money(&cents[k..])).expect("same currency");
        prop_assert_eq!(left.checked_add(right).expect("same currency"), total);
        prop_assert_eq!(right.checked_add(left).expect("same currency"), total);
    }
}

// ---------------------------------------------------------------------------
// 2. Coupon discount
// ---------------------------------------------------------------------------

proptest! {
    /// Coupons: a fixed coupon gives max(amount − value, 0.01), whole cents,
    /// within [0.01, amount].
    #[test]
    fn coupon_fixed_discount(
        a in amount_cents(),
        v in amount_cents(),
        cur in currency(),
    ) {
        let c = simple_coupon(CouponKind::Fixed, v, cur);
        let r = c.apply(m(a, cur)).expect("same currency");
        prop_assert_eq!(r.currency(), cur);
        let rc = to_cents(r.amount());
        prop_assert!(rc.is_some(), "{} is not in whole cents", r);
        let rc = rc.unwrap_or_default();
        prop_assert!((1..=a).contains(&rc), "{} outside [0.01, {}]", r, dec_cents(a));
        prop_assert_eq!(rc, (a - v).max(1));
    }

    /// Coupons: a percent coupon gives half-up(amount × (100 − p) / 100),
    /// floored at 0.01, whole cents, within [0.01, amount].
    #[test]
    fn coupon_percent_discount(
        a in amount_cents(),
        p in percent(),
        cur in currency(),
    ) {
        let c = simple_coupon(CouponKind::Percent, p, cur);
        let r = c.apply(m(a, cur)).expect("same currency");
        prop_assert_eq!(r.currency(), cur);
        let rc = to_cents(r.amount());
        prop_assert!(rc.is_some(), "{} is not in whole cents", r);
        let rc = rc.unwrap_or_default();
        prop_assert!((1..=a).contains(&rc), "{} outside [0.01, {}]", r, dec_cents(a));
        // Oracle in cents × 100: amount_cents × (100 − p) / 100, half-up.
        let expected = div_half_up(i128::from(a) * i128::from(100 - p), 100).max(1);
        prop_assert_eq!(i128::from(rc), expected);
    }

    /// Coupons: a 100 % coupon always leaves exactly 0.01 to pay.
    #[test]
    fn coupon_hundred_percent_leaves_one_cent(a in amount_cents(), cur in currency()) {
        let c = simple_coupon(CouponKind::Percent, 100, cur);
        prop_assert_eq!(c.apply(m(a, cur)).expect("same currency"), m(1, cur));
    }
}

// ---------------------------------------------------------------------------
// 3. Coupon checks
// ---------------------------------------------------------------------------

/// The checks of DESIGN.md in order; the first failing one wins.
#[allow(clippy::too_many_arguments)]
fn check_oracle(
    enabled: bool,
    used: u32,
    total: u32,
    not_before: Option<i64>,
    not_after: Option<i64>,
    now: i64,
    amount: i64,
    min_amount: i64,
    already_used: bool,
) -> Option<CouponRejection> {
    if !enabled {
        Some(CouponRejection::Disabled)
    } else if used >= total {
        Some(CouponRejection::Exhausted)
    } else if not_before.is_some_and(|nb| now < nb) {
        Some(CouponRejection::NotYetValid)
    } else if not_after.is_some_and(|na| now > na) {
        Some(CouponRejection::Expired)
    } else if amount < min_amount {
        Some(CouponRejection::BelowMinimum)
    } else if already_used {
        Some(CouponRejection::AlreadyUsed)
    } else {
        None
    }
}

proptest! {
    /// Coupons: `check` runs enabled → used < total → window (inclusive) →
    /// min amount → once per user, and the first failing check wins.
    #[test]
    fn coupon_check_first_failure_wins(
        enabled in prop::bool::weighted(0.8),
        total in 1u32..=4,
        used in 0u32..=5,
        not_before in prop::option::of(-4i64..=4),
        not_after in prop::option::of(-4i64..=4),
        now in -4i64..=4,
        amount in amount_cents(),
        min_delta in -3i64..=3,
        already_used in prop::bool::weighted(0.3),
        kind in coupon_kind(),
        cur in currency(),
    ) {
        let min_amount = (amount + min_delta).max(0);
        let at = |s: i64| t0() + Duration::seconds(s);
        let value = match kind {
            CouponKind::Fixed => dec_cents(500),
            CouponKind::Percent => Decimal::from(10),
        };
        let c = coupon(
            kind,
            value,
            m(min_amount, cur),
            total,
            used,
            not_before.map(at),
            not_after.map(at),
            enabled,
        );
        let got = c.check(at(now), m(amount, cur), already_used);
        let expected = check_oracle(
            enabled, used, total, not_before, not_after, now, amount, min_amount, already_used,
        );
        match (got, expected) {
            (Ok(()), None) => {}
            (Err(Error::CouponRejected(r)), Some(e)) => prop_assert_eq!(r, e),
            (got, expected) => {
                prop_assert!(false, "check gave {:?}, expected {:?}", got, expected);
            }
        }
    }

    /// Coupons: comparing an amount with a minimum in another currency is an
    /// error, never a silent pass (when checks 1–3 pass).
    #[test]
    fn coupon_check_currency_mismatch(
        amount in amount_cents(),
        min_amount in 0i64..=10_000_000,
        (ca, cb) in two_currencies(),
        already_used in any::<bool>(),
    ) {
        let c = coupon(CouponKind::Percent, Decimal::from(10), m(min_amount, cb), 5, 0, None, None, true);
        let got = c.check(t0(), m(amount, ca), already_used);
        prop_assert!(
            matches!(got, Err(Error::Money(MoneyError::CurrencyMismatch { .. }))),
            "got {:?}", got
        );
    }
}

// ---------------------------------------------------------------------------
// 4. Order totals
// ---------------------------------------------------------------------------

fn lines() -> impl Strategy<Value = Vec<(i64, u32)>> {
    prop::collection::vec((amount_cents(), quantity()), 1..=5)
}

proptest! {
    /// Order totals: items_total = Σ price × qty exactly; without a coupon
    /// total = items_total; with one total = the coupon's discount of
    /// items_total, within [0.01, items_total].
    #[test]
    fn order_totals_are_exact(
        cur in currency(),
        lines in lines(),
        coupon in prop::option::of(currency().prop_flat_map(any_coupon)),
    ) {
        let priced: Vec<(Money, u32)> = lines.iter().map(|&(p, q)| (m(p, cur), q)).collect();
        // Coupons are generated in a random currency: make them match the order.
        let coupon = coupon.map(|(kind, v, _)| (kind, v, simple_coupon(kind, v, cur)));
        let (items_total, total) =
            order_totals(cur, &priced, coupon.as_ref().map(|(_, _, c)| c)).expect("one currency");
        let oracle: i64 = lines.iter().map(|&(p, q)| p * i64::from(q)).sum();
        prop_assert_eq!(items_total.currency(), cur);
        prop_assert_eq!(total.currency(), cur);
        prop_assert_eq!(to_cents(items_total.amount()), Some(oracle));
        let tc = to_cents(total.amount());
        prop_assert!(tc.is_some(), "total {} is not in whole cents", total);
        let tc = tc.unwrap_or_default();
        prop_assert!(tc <= oracle, "total {} above items_total {}", total, items_total);
        match coupon {
            None => prop_assert_eq!(tc, oracle),
            Some((kind, v, _)) => {
                prop_assert!(tc >= 1, "total {} below 0.01", total);
                let expected = match kind {
                    CouponKind::Fixed => (oracle - v).max(1),
                    CouponKind::Percent => {
                        let e = div_half_up(i128::from(oracle) * i128::from(100 - v), 100).max(1);
                        i64::try_from(e).expect("fits")
                    }
                };
                prop_assert_eq!(tc, expected);
            }
        }
    }

    /// Order totals: a line in another currency than the order is an error.
    #[test]
    fn order_totals_reject_mixed_currencies(
        (cur, other) in two_currencies(),
        lines in lines(),
        odd in any::<Index>(),
        others in prop::collection::vec(any::<bool>(), 5),
        with_coupon in any::<bool>(),
    ) {
        let odd = odd.index(lines.len());
        let priced: Vec<(Money, u32)> = lines
            .iter()
            .enumerate()
            .map(|(i, &(p, q))| (m(p, if i == odd || others[i] { other } else { cur }), q))
            .collect();
        let c = simple_coupon(CouponKind::Percent, 10, cur);
        let got = order_totals(cur, &priced, with_coupon.then_some(&c));
        prop_assert!(
            matches!(got, Err(Error::Money(MoneyError::CurrencyMismatch { .. }))),
            "got {:?}", got
        );
    }
}

// ---------------------------------------------------------------------------
// 5. State machine
// ---------------------------------------------------------------------------

const ALL_ACTIONS: [OrderAction; 12] = [
    OrderAction::Pay,
    OrderAction::Close,
    OrderAction::Ship,
    OrderAction::ConfirmReceipt,
    OrderAction::Review,
    OrderAction::ApplyRefund,
    OrderAction::ApproveRefund,
    OrderAction::RefuseRefund,
    OrderAction::CompleteRefund,
    OrderAction::CompletePartialRefund,
    OrderAction::FailRefund,
    OrderAction::RefundByShop,
];

fn is_refund_action(a: OrderAction) -> bool {
    matches!(
        a,
        OrderAction::ApplyRefund
            | OrderAction::ApproveRefund
            | OrderAction::RefuseRefund
            | OrderAction::CompleteRefund
            | OrderAction::CompletePartialRefund
            | OrderAction::FailRefund
            | OrderAction::RefundByShop
    )
}

fn paid_or_later(s: OrderStatus) -> bool {
    matches!(
        s,
        OrderStatus::Paid | OrderStatus::Shipped | OrderStatus::Received | OrderStatus::Reviewed
    )
}

fn st(status: OrderStatus, refund: RefundStatus) -> OrderState {
    OrderState { status, refund }
}

/// The whitelist of DESIGN.md: every `(from, action, to)` that may happen.
fn allowed(from: OrderState, action: OrderAction, to: OrderState) -> bool {
    use OrderAction as A;
    use OrderStatus as S;
    use RefundStatus as R;
    let (s, r) = (from.status, from.refund);
    let same_status = to.status == s;
    match action {
        A::Pay => from == st(S::Pending, R::None) && to == st(S::Paid, R::None),
        A::Close => from == st(S::Pending, R::None) && to == st(S::Closed, R::None),
        A::Ship => from == st(S::Paid, R::None) && to == st(S::Shipped, R::None),
        A::ConfirmReceipt => s == S::Shipped && to == st(S::Received, r),
        A::Review => s == S::Received && to == st(S::Reviewed, r),
        A::ApplyRefund => {
            paid_or_later(s)
                && matches!(r, R::None | R::Failed)
                && same_status
                && to.refund == R::Applied
        }
        A::ApproveRefund => r == R::Applied && same_status && to.refund == R::Processing,
        A::RefuseRefund => r == R::Applied && same_status && to.refund == R::None,
        A::CompleteRefund => r == R::Processing && same_status && to.refund == R::Refunded,
        A::CompletePartialRefund => r == R::Processing && same_status && to.refund == R::None,
        A::FailRefund => r == R::Processing && same_status && to.refund == R::Failed,
        A::RefundByShop => {
            paid_or_later(s)
                && matches!(r, R::None | R::Failed)
                && same_status
                && to.refund == R::Processing
        }
    }
}

/// Transitions DESIGN.md requires to succeed (the unambiguous part of the
/// whitelist): the state they must lead to.
fn required(from: OrderState, action: OrderAction) -> Option<OrderState> {
    use OrderAction as A;
    use OrderStatus as S;
    use RefundStatus as R;
    let (s, r) = (from.status, from.refund);
    match (action, s, r) {
        (A::Pay, S::Pending, R::None) => Some(st(S::Paid, R::None)),
        (A::Close, S::Pending, R::None) => Some(st(S::Closed, R::None)),
        (A::Ship, S::Paid, R::None) => Some(st(S::Shipped, R::None)),
        (A::ConfirmReceipt, S::Shipped, R::None) => Some(st(S::Received, R::None)),
        (A::Review, S::Received, R::None) => Some(st(S::Reviewed, R::None)),
        (A::ApplyRefund, s, R::None | R::Failed) if paid_or_later(s) => Some(st(s, R::Applied)),
        (A::ApproveRefund, s, R::Applied) if paid_or_later(s) => Some(st(s, R::Processing)),
        (A::RefuseRefund, s, R::Applied) if paid_or_later(s) => Some(st(s, R::None)),
        (A::CompleteRefund, s, R::Processing) if paid_or_later(s) => Some(st(s, R::Refunded)),
        (A::CompletePartialRefund, s, R::Processing) if paid_or_later(s) => Some(st(s, R::None)),
        (A::FailRefund, s, R::Processing) if paid_or_later(s) => Some(st(s, R::Failed)),
        (A::RefundByShop, s, R::None | R::Failed) if paid_or_later(s) => Some(st(s, R::Processing)),
        _ => None,
    }
}

fn action() -> impl Strategy<Value = OrderAction> {
    prop::sample::select(ALL_ACTIONS.to_vec())
}

fn product_kind() -> impl Strategy<Value = ProductKind> {
    prop_oneof![
        Just(ProductKind::Normal),
        Just(ProductKind::Crowdfunding),
        Just(ProductKind::Seckill),
    ]
}

/// Checks one step of the state machine; returns the new state.
fn check_step(
    from: OrderState,
    action: OrderAction,
    got: Result<OrderState, Error>,
) -> Result<OrderState, TestCaseError> {
    if let Some(to) = required(from, action) {
        prop_assert!(
            matches!(got, Ok(t) if t == to),
            "{} on {} must give {}, got {:?}",
            action,
            from,
            to,
            got
        );
    }
    match got {
        Ok(to) => {
            prop_assert!(
                allowed(from, action, to),
                "({}, {}, {}) is not in the whitelist",
                from,
                action,
                to
            );
            // Redundant with the whitelist, but stated separately in DESIGN.md.
            prop_assert!(from.status != OrderStatus::Closed, "closed is terminal");
            prop_assert!(
                !(is_refund_action(action)
                    && matches!(from.status, OrderStatus::Pending | OrderStatus::Closed)),
                "{} left {}",
                action,
                from
            );
            prop_assert!(
                !(from.refund == RefundStatus::Refunded
                    && (is_refund_action(action) || action == OrderAction::Ship)),
                "{} accepted on a refunded order {}",
                action,
                from
            );
            Ok(to)
        }
        Err(Error::InvalidTransition { from: f, action: a }) => {
            prop_assert_eq!(f, from);
            prop_assert_eq!(a, action);
            Ok(from)
        }
        Err(e) => {
            prop_assert!(false, "{} on {}: unexpected error {:?}", action, from, e);
            Ok(from)
        }
    }
}

proptest! {
    /// Order lifecycle: random action sequences from pending only take
    /// whitelisted transitions, always take the required ones, and refusals
    /// are `InvalidTransition { from, action }` with the state unchanged.
    #[test]
    fn state_machine_follows_whitelist(actions in prop::collection::vec(action(), 0..60)) {
        let mut state = OrderState::PENDING;
        for a in actions {
            state = check_step(state, a, state.apply(a))?;
        }
    }

    /// Order lifecycle: the same through `Order::next_state`; crowdfunding
    /// orders can never apply for a refund, other kinds behave exactly like
    /// `OrderState::apply`.
    #[test]
    fn order_next_state_refuses_crowdfunding_refunds(
        kind in product_kind(),
        actions in prop::collection::vec(action(), 0..60),
    ) {
        let mut o = order(kind, OrderState::PENDING, Currency::Cny, &[(100, 1)], 100);
        for a in actions {
            let before = o.state;
            let got = o.next_state(a);
            if kind == ProductKind::Crowdfunding && a == OrderAction::ApplyRefund {
                prop_assert!(
                    matches!(got, Err(Error::InvalidTransition { from, action })
                        if from == before && action == a),
                    "crowdfunding {} on {}: {:?}", a, before, got
                );
                continue;
            }
            let direct = before.apply(a);
            prop_assert_eq!(got.as_ref().ok(), direct.as_ref().ok());
            let next = check_step(before, a, got)?;
            prop_assert_eq!(o.state, before, "next_state must not change the order");
            o.state = next;
        }
    }
}

// ---------------------------------------------------------------------------
// 6. Refunds
// ---------------------------------------------------------------------------

/// A refund request: lines of (which item, how many units relative to what
/// is left of it: 0 ..= left + 1), one unit of one line that has units left
/// (repeated round-ups make the "capped at what remains" rule matter), half
/// of every line's remaining units (an exact half-cent share is the rounding
/// edge), or "everything that remains".
#[derive(Debug, Clone)]
enum Request {
    Lines(Vec<(Index, Index)>),
    One(Index),
    Half,
    All,
}

fn request() -> impl Strategy<Value = Request> {
    prop_oneof![
        6 => prop::collection::vec((any::<Index>(), any::<Index>()), 1..=3).prop_map(Request::Lines),
        3 => any::<Index>().prop_map(Request::One),
        2 => Just(Request::Half),
        1 => Just(Request::All),
    ]
}

/// A paid order of 1..=5 lines with a coupon-discounted total between 0.01
/// and items_total, and a sequence of refund requests.
/// Small prices and totals are weighted in: they make exact half-cent
/// prorated shares (the rounding edge) common.
fn refund_case() -> impl Strategy<Value = (Currency, Vec<(i64, u32)>, i64, Vec<Request>, bool)> {
    let small_lines = prop::collection::vec((1i64..=100, quantity()), 1..=5);
    (currency(), prop_oneof![lines(), small_lines]).prop_flat_map(|(cur, lines)| {
        let items_total: i64 = lines.iter().map(|&(p, q)| p * i64::from(q)).sum();
        let total = prop_oneof![
            1 => Just(items_total),
            1 => Just(1i64),
            3 => 1i64..=items_total.min(100),
            6 => 1i64..=items_total,
        ];
        (
            Just(cur),
            Just(lines),
            total,
            prop::collection::vec(request(), 0..16),
            any::<bool>(),
        )
    })
}

/// One accepted or refused refund call, for the properties to inspect.
struct Step {
    /// Units asked per line index.
    asked: Vec<u32>,
    /// Whether every line had quantity ≥ 1.
    all_positive: bool,
    /// Units left per line before the call.
    left: Vec<u32>,
    /// Sum of accepted refunds before the call, in cents.
    before_cents: i64,
    /// The result.
    result: Result<Money, Error>,
}

/// Runs the requests against `refund_amount`, recording each accepted one as
/// a succeeded `Refund` (and, when `with_failed`, also a failed one that must
/// not count), then refunds whatever remains.
fn run_refunds(
    o: &Order,
    requests: &[Request],
    with_failed: bool,
) -> Result<(Vec<Step>, Vec<Refund>), TestCaseError> {
    let n = o.items.len();
    let mut left: Vec<u32> = o.items.iter().map(|i| i.quantity).collect();
    let mut refunds: Vec<Refund> = Vec::new();
    let mut steps = Vec::new();
    let mut accepted_cents = 0i64;
    let final_request = Request::All;
    for req in requests.iter().chain(std::iter::once(&final_request)) {
        let lines: Vec<(usize, u32)> = match req {
            Request::Lines(ls) => ls
                .iter()
                .map(|(item, qty)| {
                    let i = item.index(n);
                    (i, qty.index(left[i] as usize + 2) as u32)
                })
                .collect(),
            Request::One(pick) => {
                let open: Vec<usize> = (0..n).filter(|&i| left[i] > 0).collect();
                if open.is_empty() {
                    Vec::new()
                } else {
                    vec![(open[pick.index(open.len())], 1)]
                }
            }
            Request::Half => (0..n)
                .filter(|&i| left[i] > 1)
                .map(|i| (i, left[i] / 2))
                .collect(),
            Request::All => (0..n)
                .filter(|&i| left[i] > 0)
                .map(|i| (i, left[i]))
                .collect(),
        };
        // An "everything" request when nothing is left is an empty request.
        let refund_lines: Vec<RefundLine> = lines
            .iter()
            .map(|&(i, quantity)| RefundLine {
                item_id: o.items[i].id,
                quantity,
            })
            .collect();
        let mut asked = vec![0u32; n];
        for &(i, q) in &lines {
            asked[i] += q;
        }
        let result = refund_amount(o, &refunds, &refund_lines);
        let step = Step {
            asked: asked.clone(),
            all_positive: !lines.is_empty() && lines.iter().all(|&(_, q)| q >= 1),
            left: left.clone(),
            before_cents: accepted_cents,
            result,
        };
        if let Ok(amount) = &step.result {
            let id = RefundId(1000 + refunds.len() as i64);
            let refund = Refund {
                id,
                refund_no: format!("R{}", id.0),
                order_id: o.id,
                amount: *amount,
                lines: refund_lines.clone(),
                reason: "test".to_owned(),
                status: RefundRecordStatus::Succeeded,
                created_at: t0(),
                finished_at: Some(t0()),
            };
            if with_failed {
                // A failed attempt for the same lines must never count.
                refunds.push(Refund {
                    id: RefundId(id.0 + 500),
                    refund_no: format!("F{}", id.0),
                    status: RefundRecordStatus::Failed,
                    ..refund.clone()
                });
            }
            refunds.push(refund);
            for i in 0..n {
                left[i] -= asked[i];
            }
            accepted_cents += to_cents(amount.amount()).unwrap_or(i64::MIN / 4);
        }
        steps.push(step);
        // The bookkeeping helpers agree with the oracle after every call.
        let expected_left: Vec<RefundLine> = (0..n)
            .filter(|&i| left[i] > 0)
            .map(|i| RefundLine {
                item_id: o.items[i].id,
                quantity: left[i],
            })
            .collect();
        prop_assert_eq!(remaining_lines(o, &refunds), expected_left);
        let already = refunded_amount(o, &refunds).expect("one currency");
        prop_assert_eq!(to_cents(already.amount()), Some(accepted_cents));
    }
    Ok((steps, refunds))
}

fn refund_order(cur: Currency, lines: &[(i64, u32)], total: i64) -> Order {
    let paid = st(OrderStatus::Paid, RefundStatus::Processing);
    order(ProductKind::Normal, paid, cur, lines, total)
}

proptest! {
    /// Refunds: amounts are ≥ 0 and in whole cents, accepted refunds never
    /// add up to more than the total, over-quantity (and zero-quantity)
    /// requests are rejected, refunding every remaining unit gives exactly
    /// what remains, so in the end the refunds add up to the total to the cent.
    #[test]
    fn refunds_never_exceed_total_and_add_up(
        (cur, lines, total, requests, with_failed) in refund_case(),
    ) {
        let o = refund_order(cur, &lines, total);
        let (steps, _) = run_refunds(&o, &requests, with_failed)?;
        let mut sum = 0i64;
        for step in &steps {
            let valid = step.all_positive
                && step.asked.iter().zip(&step.left).all(|(a, l)| a <= l);
            match &step.result {
                Ok(amount) => {
                    prop_assert!(valid, "accepted {:?} with {:?} left", step.asked, step.left);
                    prop_assert_eq!(amount.currency(), cur);
                    let c = to_cents(amount.amount());
                    prop_assert!(c.is_some(), "refund {} is not in whole cents", amount);
                    let c = c.unwrap_or_default();
                    prop_assert!(c >= 0, "negative refund {}", amount);
                    let asked_all = step.asked == step.left;
                    if asked_all {
                        prop_assert_eq!(c, total - step.before_cents, "refunding everything left");
                    }
                    sum += c;
                    prop_assert!(sum <= total, "refunded {} of a {} total", dec_cents(sum), o.total);
                }
                Err(e) => {
                    prop_assert!(!valid, "rejected a valid request {:?} ({:?} left): {:?}",
                        step.asked, step.left, e);
                    prop_assert!(
                        matches!(
                            e,
                            Error::Validation { field: "lines", .. }
                                | Error::Refused { field: "lines", .. }
                        ),
                        "unexpected error {:?}", e
                    );
                }
            }
        }
        // The last step refunded whatever remained: everything is refunded.
        prop_assert_eq!(sum, total, "refunds must add up to the total");
        let last = steps.last().map(|s| s.left.iter().any(|&l| l > 0)).unwrap_or(false);
        if last {
            prop_assert!(steps.last().is_some_and(|s| s.result.is_ok()));
        }
    }

    /// Refunds: a partial refund (not everything left) gives back the lines'
    /// share of what was paid, half-up(Σ unit × qty × total / items_total),
    /// capped at what remains (integer oracle).
    #[test]
    fn partial_refund_is_prorated_half_up(
        (cur, lines, total, requests, with_failed) in refund_case(),
    ) {
        let o = refund_order(cur, &lines, total);
        let items_total: i64 = lines.iter().map(|&(p, q)| p * i64::from(q)).sum();
        let (steps, _) = run_refunds(&o, &requests, with_failed)?;
        for step in &steps {
            let Ok(amount) = &step.result else { continue };
            if step.asked == step.left {
                continue;
            }
            let share: i128 = step
                .asked
                .iter()
                .zip(&lines)
                .map(|(&q, &(p, _))| i128::from(p) * i128::from(q))
                .sum();
            let prorated = div_half_up(share * i128::from(total), i128::from(items_total));
            let remaining = i128::from(total - step.before_cents);
            let expected = prorated.min(remaining);
            prop_assert_eq!(
                to_cents(amount.amount()).map(i128::from),
                Some(expected),
                "share {} of total {} / items_total {}",
                dec_cents(share as i64), dec_cents(total), dec_cents(items_total)
            );
        }
    }
}

/// Refunds: a request for more units than a line has is rejected at once,
/// even on a fresh order (a fixed example complementing the properties).
#[test]
fn over_quantity_refund_is_rejected() {
    let o = refund_order(Currency::Cny, &[(1999, 2), (500, 1)], 2000);
    let lines = [RefundLine {
        item_id: o.items[0].id,
        quantity: 3,
    }];
    assert!(matches!(
        refund_amount(&o, &[], &lines),
        Err(Error::Refused { field: "lines", .. })
    ));
}

proptest! {
    /// Merging an order's lines keeps every unit: each SKU once, in the
    /// order of first mention, with the units of all its mentions; a merged
    /// line over the maximum is refused, never cut.
    #[test]
    fn merged_lines_keep_every_unit(
        raw in proptest::collection::vec((1i64..6, 1i64..=999), 1..=30)
    ) {
        use shop_core::service::{merge_lines, OrderLineRequest};
        let items: Vec<OrderLineRequest> = raw
            .iter()
            .map(|(sku, quantity)| OrderLineRequest { sku_id: SkuId(*sku), quantity: *quantity })
            .collect();
        let mut firsts: Vec<i64> = Vec::new();
        for (sku, _) in &raw {
            if !firsts.contains(sku) {
                firsts.push(*sku);
            }
        }
        let total = |sku: i64| raw.iter().filter(|(s, _)| *s == sku).map(|(_, q)| q).sum::<i64>();
        match merge_lines(&items) {
            Ok(merged) => {
                let order: Vec<i64> = merged.iter().map(|l| l.sku_id.0).collect();
                prop_assert_eq!(order, firsts);
                for line in &merged {
                    prop_assert_eq!(line.quantity, total(line.sku_id.0));
                    prop_assert!(line.quantity <= 999);
                }
            }
            Err(e) => {
                prop_assert!(matches!(e, Error::Refused { field: "items", .. }), "{:?}", e);
                prop_assert!(firsts.iter().any(|s| total(*s) > 999));
            }
        }
    }
}
