//! Refunds: partial by line, never more than was paid, each number once,
//! each finished exactly once.

use std::sync::Arc;

use chrono::Duration;

use super::fixtures::{cny, Fixture};
use super::{
    concurrently, is_already_exists, is_conflict, is_not_found, is_refused, is_validation, Backend,
};
use crate::error::Entity;
use crate::ids::OrderItemId;
use crate::money::{Currency, Money};
use crate::order::{OrderAction, OrderState, OrderStatus, RefundStatus};
use crate::refund::{refund_amount, FinishRefund, NewRefund, Refund, RefundRecordStatus};

fn state(status: OrderStatus, refund: RefundStatus) -> OrderState {
    OrderState { status, refund }
}

/// Partial refunds by line: over-quantity, unknown or empty lines
/// (`lines`), over-amount and foreign currency (`amount`) are `Validation`,
/// a taken refund number is `AlreadyExists`, a stale expected state is
/// `Conflict`, each refusal writes nothing; failed refunds stop counting.
pub async fn refunds_never_exceed_what_was_paid<B: Backend>(store: Arc<B>) {
    let fx = Fixture::new(Arc::clone(&store));
    let skus = fx.product(&[("10.00", 10), ("30.00", 10)]).await;
    let order = fx
        .placed(fx.user(), &[(&skus[0], 2), (&skus[1], 1)], None)
        .await;
    assert_eq!(order.total, cny("50.00"));
    let (ia, ib) = (order.items[0].id, order.items[1].id);
    use OrderStatus::Paid;
    use RefundStatus as R;
    let order = fx
        .advance(order.id, &[OrderAction::Pay, OrderAction::ApplyRefund])
        .await;
    assert_eq!(order.state, state(Paid, R::Applied));

    // r1: one unit of line a, its share of what was paid.
    let amount = refund_amount(&order, &[], &[line(ia, 1)]).unwrap();
    assert_eq!(amount, cny("10.00"));
    let r1 = fx.build_refund(&order, "R1", &[(ia, 1)], amount);
    store
        .create_refund(&fx.approve(r1.clone(), order.state), &[])
        .await
        .unwrap();
    assert_eq!(fx.order(order.id).await.state, state(Paid, R::Processing));
    assert_eq!(store.get_refund("R1").await.unwrap(), Some(r1.clone()));
    assert_eq!(store.get_refund("R0").await.unwrap(), None);
    assert_eq!(
        store.list_refunds(order.id).await.unwrap(),
        vec![r1.clone()]
    );

    let processing = state(Paid, R::Processing);
    let again = fx.build_refund(&order, "R1", &[(ib, 1)], cny("1.00"));
    let err = store
        .create_refund(&record(again, processing, processing), &[])
        .await
        .unwrap_err();
    assert!(is_already_exists(&err, Entity::Refund), "{err:?}");
    let stale = fx.build_refund(&order, "R-stale", &[(ib, 1)], cny("1.00"));
    let err = store
        .create_refund(&fx.approve(stale, state(Paid, R::Applied)), &[])
        .await
        .unwrap_err();
    assert!(is_conflict(&err, Entity::Order), "{err:?}");
    assert_eq!(
        store.list_refunds(order.id).await.unwrap(),
        vec![r1.clone()]
    );

    // r1 succeeds (partially): the order returns to "no refund".
    let done = finish(
        "R1",
        RefundRecordStatus::Succeeded,
        processing,
        state(Paid, R::None),
        &fx,
    );
    store.finish_refund(&done, &[]).await.unwrap();
    let r1 = store.get_refund("R1").await.unwrap().unwrap();
    assert_eq!(r1.status, RefundRecordStatus::Succeeded);
    assert_eq!(r1.finished_at, Some(done.at));
    let order = fx.advance(order.id, &[OrderAction::ApplyRefund]).await;
    let applied = order.state;

    let usd = Money::parse("30.00", Currency::Usd).unwrap();
    // (lines, amount, field, refused by the state rather than invalid)
    let refused = [
        (vec![(ia, 2)], cny("20.00"), "lines", true),
        (vec![(ia, 1), (ia, 1)], cny("20.00"), "lines", true),
        (vec![(OrderItemId(999_999), 1)], cny("1.00"), "lines", true),
        (vec![(ib, 0)], cny("1.00"), "lines", false),
        (vec![(ib, 1)], cny("40.01"), "amount", true),
        (vec![(ib, 1)], usd, "amount", false),
    ];
    for (i, (lines, amount, field, by_state)) in refused.iter().enumerate() {
        let bad = fx.build_refund(&order, &format!("BAD{i}"), lines, *amount);
        let err = store
            .create_refund(&fx.approve(bad, applied), &[])
            .await
            .unwrap_err();
        let expected = if *by_state {
            is_refused(&err, field)
        } else {
            is_validation(&err, field)
        };
        assert!(expected, "{lines:?} {amount}: {err:?}");
        assert_eq!(fx.order(order.id).await, order);
        assert_eq!(store.get_refund(&format!("BAD{i}")).await.unwrap(), None);
    }

    // r2: everything left, exactly what remains of the 50.00.
    let rest = [line(ia, 1), line(ib, 1)];
    let refunds = store.list_refunds(order.id).await.unwrap();
    let amount = refund_amount(&order, &refunds, &rest).unwrap();
    assert_eq!(amount, cny("40.00"));
    let r2 = fx.build_refund(&order, "R2", &[(ia, 1), (ib, 1)], amount);
    store
        .create_refund(&fx.approve(r2, applied), &[])
        .await
        .unwrap();
    let more = fx.build_refund(&order, "R3", &[(ia, 1)], cny("0.00"));
    let err = store
        .create_refund(&record(more, processing, processing), &[])
        .await
        .unwrap_err();
    assert!(is_refused(&err, "lines"), "{err:?}");

    // r2 fails: its units and amount may be refunded again.
    let failed = state(Paid, R::Failed);
    store
        .finish_refund(
            &finish("R2", RefundRecordStatus::Failed, processing, failed, &fx),
            &[],
        )
        .await
        .unwrap();
    let order = fx.advance(order.id, &[OrderAction::ApplyRefund]).await;
    let r4 = fx.build_refund(&order, "R4", &[(ia, 1), (ib, 1)], cny("40.00"));
    store
        .create_refund(&fx.approve(r4, order.state), &[])
        .await
        .unwrap();
    store
        .finish_refund(
            &finish(
                "R4",
                RefundRecordStatus::Succeeded,
                processing,
                state(Paid, R::Refunded),
                &fx,
            ),
            &[],
        )
        .await
        .unwrap();
    let statuses: Vec<_> = store
        .list_refunds(order.id)
        .await
        .unwrap()
        .iter()
        .map(|r| (r.refund_no.clone(), r.status))
        .collect();
    assert_eq!(
        statuses,
        [
            ("R1".to_owned(), RefundRecordStatus::Succeeded),
            ("R2".to_owned(), RefundRecordStatus::Failed),
            ("R4".to_owned(), RefundRecordStatus::Succeeded),
        ]
    );
    assert_eq!(fx.order(order.id).await.state, state(Paid, R::Refunded));
}

/// Ten refunds of the same order decided on the same state, at once: only
/// one is recorded (the others are `Conflict`), although together they would
/// stay within what was paid.
pub async fn create_refund_once_per_expected_state<B: Backend>(store: Arc<B>) {
    let fx = Fixture::new(Arc::clone(&store));
    let sku = fx.sku(100).await;
    let order = fx.placed(fx.user(), &[(&sku, 10)], None).await;
    let order = fx
        .advance(order.id, &[OrderAction::Pay, OrderAction::ApplyRefund])
        .await;
    let item = order.items[0].id;
    let commands: Vec<_> = (0..10)
        .map(|i| {
            let refund = fx.build_refund(&order, &format!("RACE{i}"), &[(item, 1)], cny("10.00"));
            fx.approve(refund, order.state)
        })
        .collect();
    let results = concurrently(
        commands
            .iter()
            .map(|cmd| {
                let store = Arc::clone(&store);
                let cmd = cmd.clone();
                async move { store.create_refund(&cmd, &[]).await }
            })
            .collect(),
    )
    .await;
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
    for result in &results {
        if let Err(e) = result {
            assert!(is_conflict(e, Entity::Order), "{e:?}");
        }
    }
    let refunds = store.list_refunds(order.id).await.unwrap();
    assert_eq!(refunds.len(), 1);
    assert_eq!(refunds[0].status, RefundRecordStatus::Pending);
    assert_eq!(
        fx.order(order.id).await.state,
        state(OrderStatus::Paid, RefundStatus::Processing)
    );
}

/// Ten concurrent finishes of one refund: exactly one succeeds, the rest
/// are `Conflict`; a stale order state is `Conflict` and leaves the refund
/// pending; an unknown number is `NotFound`.
pub async fn finish_refund_exactly_once<B: Backend>(store: Arc<B>) {
    let fx = Fixture::new(Arc::clone(&store));
    let sku = fx.sku(10).await;
    let order = fx.placed(fx.user(), &[(&sku, 2)], None).await;
    let order = fx
        .advance(order.id, &[OrderAction::Pay, OrderAction::ApplyRefund])
        .await;
    let refund = fx.build_refund(&order, "ONCE", &[(order.items[0].id, 2)], order.total);
    store
        .create_refund(&fx.approve(refund, order.state), &[])
        .await
        .unwrap();
    let processing = state(OrderStatus::Paid, RefundStatus::Processing);
    let refunded = state(OrderStatus::Paid, RefundStatus::Refunded);

    let err = store
        .finish_refund(
            &finish(
                "NOPE",
                RefundRecordStatus::Succeeded,
                processing,
                refunded,
                &fx,
            ),
            &[],
        )
        .await
        .unwrap_err();
    assert!(is_not_found(&err, Entity::Refund), "{err:?}");
    let stale = finish(
        "ONCE",
        RefundRecordStatus::Succeeded,
        order.state,
        refunded,
        &fx,
    );
    let err = store.finish_refund(&stale, &[]).await.unwrap_err();
    assert!(is_conflict(&err, Entity::Order), "{err:?}");
    let pending = store.get_refund("ONCE").await.unwrap().unwrap();
    assert_eq!(
        (pending.status, pending.finished_at),
        (RefundRecordStatus::Pending, None)
    );
    assert_eq!(fx.order(order.id).await.state, processing);

    let cmd = finish(
        "ONCE",
        RefundRecordStatus::Succeeded,
        processing,
        refunded,
        &fx,
    );
    let results = concurrently(
        (0..10)
            .map(|_| {
                let store = Arc::clone(&store);
                let cmd = cmd.clone();
                async move { store.finish_refund(&cmd, &[]).await }
            })
            .collect(),
    )
    .await;
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
    for result in &results {
        if let Err(e) = result {
            assert!(
                is_conflict(e, Entity::Refund) || is_conflict(e, Entity::Order),
                "{e:?}"
            );
        }
    }
    let done = store.get_refund("ONCE").await.unwrap().unwrap();
    assert_eq!(
        (done.status, done.finished_at),
        (RefundRecordStatus::Succeeded, Some(cmd.at))
    );
    assert_eq!(fx.order(order.id).await.state, refunded);

    // Finished is final, whatever the order's state says.
    let late = finish(
        "ONCE",
        RefundRecordStatus::Failed,
        refunded,
        processing,
        &fx,
    );
    let err = store.finish_refund(&late, &[]).await.unwrap_err();
    assert!(is_conflict(&err, Entity::Refund), "{err:?}");
    assert_eq!(store.get_refund("ONCE").await.unwrap().unwrap(), done);
    assert_eq!(fx.order(order.id).await.state, refunded);
}

/// A refund command from `expected` to `next`.
fn record(refund: Refund, expected: OrderState, next: OrderState) -> NewRefund {
    NewRefund {
        refund,
        expected,
        next,
    }
}

fn line(item_id: OrderItemId, quantity: u32) -> crate::refund::RefundLine {
    crate::refund::RefundLine { item_id, quantity }
}

fn finish<B: Backend>(
    refund_no: &str,
    outcome: RefundRecordStatus,
    expected: OrderState,
    next: OrderState,
    fx: &Fixture<B>,
) -> FinishRefund {
    FinishRefund {
        refund_no: refund_no.to_owned(),
        outcome,
        expected,
        next,
        at: fx.now + Duration::hours(1),
    }
}

/// Pending refunds of every order created before a time, by id, in chunks
/// after a cursor; finished refunds are never listed.
pub async fn list_pending_refunds_in_chunks<B: Backend>(store: Arc<B>) {
    let mut fx = Fixture::new(Arc::clone(&store));
    let sku = fx.sku(50).await;
    let start = fx.now;
    let mut ids = Vec::new();
    // Refunds created at minutes 4, 3, 2, 1, 0, 0: ids grow, times do not.
    for (i, minute) in [4i64, 3, 2, 1, 0, 0].into_iter().enumerate() {
        fx.now = start;
        let order = fx.placed(fx.user(), &[(&sku, 1)], None).await;
        let order = fx
            .advance(order.id, &[OrderAction::Pay, OrderAction::ApplyRefund])
            .await;
        fx.now = start + Duration::minutes(minute);
        let refund = fx.build_refund(
            &order,
            &format!("P{i}"),
            &[(order.items[0].id, 1)],
            order.total,
        );
        ids.push(refund.id);
        store
            .create_refund(&fx.approve(refund, order.state), &[])
            .await
            .unwrap();
    }
    // P1 (minute 3) finishes: it is no longer pending.
    let processing = state(OrderStatus::Paid, RefundStatus::Processing);
    store
        .finish_refund(
            &FinishRefund {
                refund_no: "P1".into(),
                outcome: RefundRecordStatus::Succeeded,
                expected: processing,
                next: processing
                    .apply(OrderAction::CompleteRefund)
                    .expect("a full refund"),
                at: start + Duration::minutes(10),
            },
            &[],
        )
        .await
        .unwrap();

    let listed = |before_minute: i64, after: Option<usize>, limit: u32| {
        let store = Arc::clone(&store);
        let after = after.map(|i| ids[i]);
        async move {
            store
                .list_pending_refunds(start + Duration::minutes(before_minute), after, limit)
                .await
                .unwrap()
                .into_iter()
                .map(|r| {
                    assert_eq!(r.status, RefundRecordStatus::Pending);
                    assert_eq!(r.lines.len(), 1, "refunds come with their lines");
                    r.refund_no
                })
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(listed(60, None, 10).await, ["P0", "P2", "P3", "P4", "P5"]);
    assert_eq!(listed(60, None, 2).await, ["P0", "P2"]);
    assert_eq!(listed(60, Some(2), 2).await, ["P3", "P4"], "after P2");
    assert_eq!(listed(60, Some(5), 2).await, Vec::<String>::new());
    assert_eq!(
        listed(2, None, 10).await,
        ["P3", "P4", "P5"],
        "strictly before"
    );
    assert_eq!(listed(0, None, 10).await, Vec::<String>::new());
}
