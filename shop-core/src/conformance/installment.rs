//! Installment plans on the backend under test: options, replacing a
//! pending plan, paying periods in order and exactly once (ten copies of a
//! notification at once), the order paid by the first period, and the
//! daily fines of a 12-period plan over a simulated year against figures
//! computed by hand.

use std::sync::Arc;

use chrono::Duration;

use super::fixtures::cny;
use super::shop::{ShopWorld, TEST_GATEWAY};
use super::{concurrently, Backend};
use crate::catalog::Sku;
use crate::error::{Error, PaymentError};
use crate::ids::InstallmentPlanId;
use crate::ids::UserId;
use crate::installment::{InstallmentPeriod, PlanStatus};
use crate::money::Money;
use crate::order::{Order, OrderStatus};
use crate::payment::RawNotification;
use crate::service::{NotificationOutcome, INSTALLMENT_METHOD};

/// `buyer`'s unpaid order of `quantity` × `sku`.
async fn unpaid_order(w: &ShopWorld, buyer: UserId, sku: &Sku, quantity: i64) -> Order {
    let address = w.address(buyer).await;
    let request = w.request(buyer, &address, sku, quantity).await;
    w.shop
        .place_order(buyer, request)
        .await
        .expect("place_order")
}

/// The gateway's notification that `no` was paid `amount` by `txn`.
async fn notify(
    w: &ShopWorld,
    no: &str,
    amount: Money,
    txn: &str,
) -> crate::Result<NotificationOutcome> {
    w.shop
        .handle_payment_notification(
            TEST_GATEWAY,
            &RawNotification {
                body: format!("{no}|{}|{txn}", amount.amount()).into_bytes(),
                ..RawNotification::default()
            },
        )
        .await
}

/// Options only for the buyer's unpaid order of at least the minimum; a
/// new plan replaces a pending one; periods are paid in order, each
/// exactly once even when ten copies of its notification arrive at once;
/// the first pays the order (method `installment`) and the last finishes
/// the plan; a wrong amount or an out-of-order period changes nothing; a
/// paid order gets no new plan and no refund application.
pub async fn installment_periods_are_paid_in_order_and_once<B: Backend>(store: Arc<B>) {
    let w = ShopWorld::new(store);
    let sku = w.sku("Sofa", "500.00", 10).await;
    let cheap = w.sku("Cushion", "100.00", 10).await;
    let buyer = w.user();
    let order = unpaid_order(&w, buyer, &sku, 2).await;
    assert_eq!(order.total, cny("1000.00"));

    let options = w.shop.installment_options(buyer, order.id).await.unwrap();
    let counts: Vec<u32> = options.iter().map(|o| o.terms.count).collect();
    assert_eq!(counts, [3, 6, 12]);
    assert_eq!(options[0].total_fee, cny("15.00"));
    let small = unpaid_order(&w, buyer, &cheap, 2).await;
    assert!(matches!(
        w.shop.installment_options(buyer, small.id).await,
        Err(Error::Refused { field: "total", .. })
    ));
    assert!(matches!(
        w.shop.create_installment_plan(buyer, small.id, 3).await,
        Err(Error::Refused { field: "total", .. })
    ));
    let stranger = w.user();
    assert!(matches!(
        w.shop.create_installment_plan(stranger, order.id, 3).await,
        Err(Error::Forbidden { .. })
    ));
    assert!(matches!(
        w.shop.create_installment_plan(buyer, order.id, 4).await,
        Err(Error::Validation { field: "count", .. })
    ));

    // A new plan replaces the pending one.
    let first = w
        .shop
        .create_installment_plan(buyer, order.id, 6)
        .await
        .unwrap();
    let plan = w
        .shop
        .create_installment_plan(buyer, order.id, 3)
        .await
        .unwrap();
    assert_ne!(first.id, plan.id);
    let stored = w.shop.installment_plan(buyer, order.id).await.unwrap();
    assert_eq!(stored, plan);
    assert!(matches!(
        w.shop.installment_plan(stranger, order.id).await,
        Err(Error::Forbidden { .. })
    ));
    let bases: Vec<Money> = plan.periods.iter().map(|p| p.base).collect();
    assert_eq!(bases, [cny("333.33"), cny("333.33"), cny("333.34")]);

    // Out of order, or the wrong amount: refused, nothing changes.
    assert!(matches!(
        w.shop
            .start_period_payment(buyer, order.id, 2, TEST_GATEWAY, None)
            .await,
        Err(Error::Refused { field: "index", .. })
    ));
    let p1 = plan.periods[0].clone();
    let p2 = plan.periods[1].clone();
    assert!(w
        .shop
        .start_period_payment(buyer, order.id, 1, TEST_GATEWAY, None)
        .await
        .is_ok());
    assert!(notify(&w, &p2.no, p2.payable().unwrap(), "T2")
        .await
        .is_err());
    assert!(matches!(
        notify(&w, &p1.no, cny("1.00"), "T1").await,
        Err(Error::Payment(PaymentError::AmountMismatch { .. }))
    ));
    assert_eq!(
        w.shop.any_order(order.id).await.unwrap().state.status,
        OrderStatus::Pending
    );

    // The first period pays the order.
    assert_eq!(
        notify(&w, &p1.no, p1.payable().unwrap(), "T1")
            .await
            .unwrap(),
        NotificationOutcome::PeriodPaid(order.id, 1)
    );
    let paid = w.shop.any_order(order.id).await.unwrap();
    assert_eq!(paid.state.status, OrderStatus::Paid);
    assert_eq!(paid.payment.as_ref().unwrap().method, INSTALLMENT_METHOD);
    assert_eq!(
        notify(&w, &p1.no, p1.payable().unwrap(), "T1")
            .await
            .unwrap(),
        NotificationOutcome::PeriodAlreadyPaid(order.id, 1)
    );
    let plan_now = w.shop.installment_plan(buyer, order.id).await.unwrap();
    assert_eq!(plan_now.status, PlanStatus::Repaying);

    // Ten copies of the second period's notification at once: paid once.
    let answers = concurrently(
        (0..10)
            .map(|_| {
                let shop = w.shop.clone();
                let (no, amount) = (p2.no.clone(), p2.payable().unwrap());
                async move {
                    shop.handle_payment_notification(
                        TEST_GATEWAY,
                        &RawNotification {
                            body: format!("{no}|{}|T2", amount.amount()).into_bytes(),
                            ..RawNotification::default()
                        },
                    )
                    .await
                }
            })
            .collect(),
    )
    .await;
    let paid_once = answers
        .iter()
        .filter(|a| matches!(a, Ok(NotificationOutcome::PeriodPaid(_, 2))))
        .count();
    assert_eq!(paid_once, 1, "{answers:?}");
    assert!(answers.iter().all(|a| matches!(
        a,
        Ok(NotificationOutcome::PeriodPaid(_, 2) | NotificationOutcome::PeriodAlreadyPaid(_, 2))
    )));

    // Another transaction for a paid period is refused.
    assert!(notify(&w, &p2.no, p2.payable().unwrap(), "OTHER")
        .await
        .is_err());
    let p3 = plan.periods[2].clone();
    notify(&w, &p3.no, p3.payable().unwrap(), "T3")
        .await
        .unwrap();
    let done = w.shop.installment_plan(buyer, order.id).await.unwrap();
    assert_eq!(done.status, PlanStatus::Finished);
    assert!(done.periods.iter().all(|p| p.payment.is_some()));
    assert_eq!(
        done.periods[1].payment.as_ref().unwrap().transaction_no,
        "T2"
    );

    assert!(matches!(
        w.shop.create_installment_plan(buyer, order.id, 3).await,
        Err(Error::Refused {
            field: "order_id",
            ..
        })
    ));
    assert!(matches!(
        w.shop.apply_refund(buyer, order.id, "too big").await,
        Err(Error::Refused {
            field: "order_id",
            ..
        })
    ));
}

/// A 12-period plan of 3,000.00 (each period 250.00 + 6.25 fee) made at
/// 20:00 in the shop's zone: the first period is paid at once, the second
/// 14 days late with its fine, the rest never; the daily job runs every
/// day for a year. The fines are the figures below, computed by hand:
/// 256.25 × overdue days × 0.05 %, half-up. A second run the same day
/// changes nothing; a paid period's fine stays what was paid.
pub async fn installment_fines_over_a_year_match_the_hand_figures<B: Backend>(store: Arc<B>) {
    let w = ShopWorld::new(store.clone());
    let sku = w.sku("Piano", "3000.00", 1).await;
    let buyer = w.user();
    let order = unpaid_order(&w, buyer, &sku, 1).await;
    let plan = w
        .shop
        .create_installment_plan(buyer, order.id, 12)
        .await
        .unwrap();
    assert!(plan
        .periods
        .iter()
        .all(|p| p.base == cny("250.00") && p.fee == cny("6.25")));
    let p1 = &plan.periods[0];
    notify(&w, &p1.no, p1.payable().unwrap(), "Y1")
        .await
        .unwrap();

    // The store lists unpaid periods by due date (the jobs' walk).
    let first_due = p1.due_at;
    let indexes = |listed: Vec<(InstallmentPlanId, InstallmentPeriod)>| {
        listed.into_iter().map(|(_, p)| p.index).collect::<Vec<_>>()
    };
    let window = store
        .list_unpaid_periods(
            Some(first_due + Duration::days(30)),
            first_due + Duration::days(90),
            None,
            10,
        )
        .await
        .unwrap();
    assert_eq!(indexes(window), [2, 3]);
    let before = store
        .list_unpaid_periods(None, first_due + Duration::days(61), None, 10)
        .await
        .unwrap();
    assert_eq!(indexes(before), [2, 3]);
    let paged = store
        .list_unpaid_periods(None, first_due + Duration::days(400), Some((plan.id, 3)), 2)
        .await
        .unwrap();
    assert_eq!(indexes(paged), [4, 5]);

    let start = w.shop.now();
    for day in 1..=365 {
        w.clock.set(start + Duration::days(day));
        w.shop.apply_installment_fines().await.unwrap();
        if day == 45 {
            // Due on day 30 at 04:00 after the plan's hour: 14 whole days
            // past it now. 256.25 × 14 × 0.05 % = 1.79375.
            let now = w.shop.installment_plan(buyer, order.id).await.unwrap();
            let p2 = &now.periods[1];
            assert_eq!(p2.fine, cny("1.79"));
            notify(&w, &p2.no, p2.payable().unwrap(), "Y2")
                .await
                .unwrap();
        }
    }
    assert_eq!(w.shop.apply_installment_fines().await.unwrap(), 0);
    let year = w.shop.installment_plan(buyer, order.id).await.unwrap();
    let fines: Vec<String> = year
        .periods
        .iter()
        .map(|p| p.fine.amount().to_string())
        .collect();
    // Period k is due 30 × (k − 1) days after the first due date, 4 hours
    // after the plan was made: 364 − 30 × (k − 1) whole days late now.
    assert_eq!(
        fines,
        [
            "0.00",  // paid at once
            "1.79",  // paid 14 days late
            "38.95", // 304 days: 38.95
            "35.11", // 274 days: 35.10625
            "31.26", // 244 days: 31.2625
            "27.42", // 214 days: 27.41875
            "23.58", // 184 days: 23.575
            "19.73", // 154 days: 19.73125
            "15.89", // 124 days: 15.8875
            "12.04", // 94 days: 12.04375
            "8.20",  // 64 days: 8.2
            "4.36",  // 34 days: 4.35625
        ]
    );
    assert_eq!(year.status, PlanStatus::Repaying);
}
