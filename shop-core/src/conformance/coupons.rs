//! Coupons: CRUD with a unique code, and once-per-user being released by
//! closing and by a full refund.

use std::sync::Arc;

use chrono::Duration;

use super::fixtures::{cny, Fixture};
use super::{is_already_exists, is_conflict, is_not_found, Backend};
use crate::coupon::{Coupon, CouponKind, CouponRejection};
use crate::error::{Entity, Error};
use crate::ids::CouponId;
use crate::order::{OrderAction, OrderState, OrderStatus, RefundStatus};
use crate::refund::FinishRefund;

/// Coupons: create, load by id and by exact code, list newest first (ties
/// by id descending), a taken code is `AlreadyExists`, updates never touch
/// `used` or the code, deleting needs no order to reference it.
pub async fn coupon_crud_and_unique_code<B: Backend>(store: Arc<B>) {
    let fx = Fixture::new(Arc::clone(&store));
    let at = |hours: i64| fx.now - Duration::hours(hours);
    let make = |hours: i64, used: u32| Coupon {
        created_at: at(hours),
        used,
        ..fx.build_coupon(50)
    };
    let c1 = make(2, 3);
    let c2 = make(1, 0);
    let c3 = make(1, 0);
    for c in [&c1, &c2, &c3] {
        store.create_coupon(c).await.unwrap();
    }
    assert_eq!(store.get_coupon(c1.id).await.unwrap(), Some(c1.clone()));
    assert_eq!(store.get_coupon(CouponId(999_999)).await.unwrap(), None);
    assert_eq!(
        store.get_coupon_by_code(&c2.code).await.unwrap(),
        Some(c2.clone())
    );
    assert_eq!(
        store
            .get_coupon_by_code(&c2.code.to_lowercase())
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store.list_coupons().await.unwrap(),
        vec![c3.clone(), c2.clone(), c1.clone()]
    );

    let mut taken = fx.build_coupon(5);
    taken.code = c1.code.clone();
    let err = store.create_coupon(&taken).await.unwrap_err();
    assert!(is_already_exists(&err, Entity::Coupon), "{err:?}");
    assert_eq!(store.get_coupon(taken.id).await.unwrap(), None);
    assert_eq!(store.list_coupons().await.unwrap().len(), 3);

    let mut draft = c1.draft.clone();
    draft.name = "Ten percent".to_owned();
    draft.kind = CouponKind::Percent;
    draft.value = 10.into();
    draft.min_amount = cny("100.00");
    draft.total = 7;
    draft.not_after = Some(fx.now + Duration::days(7));
    draft.enabled = false;
    store.update_coupon(c1.id, &draft).await.unwrap();
    let updated = store.get_coupon(c1.id).await.unwrap().unwrap();
    assert_eq!(
        updated,
        Coupon {
            draft: draft.clone(),
            ..c1.clone()
        }
    );
    assert_eq!(updated.used, 3);
    let err = store
        .update_coupon(CouponId(999_999), &draft)
        .await
        .unwrap_err();
    assert!(is_not_found(&err, Entity::Coupon), "{err:?}");

    store.delete_coupon(c2.id).await.unwrap();
    assert_eq!(store.get_coupon(c2.id).await.unwrap(), None);
    assert_eq!(store.get_coupon_by_code(&c2.code).await.unwrap(), None);
    let err = store.delete_coupon(c2.id).await.unwrap_err();
    assert!(is_not_found(&err, Entity::Coupon), "{err:?}");

    // Referenced by an order, even a closed one: not deletable.
    let sku = fx.sku(10).await;
    let order = fx.placed(fx.user(), &[(&sku, 1)], Some(&c3)).await;
    let err = store.delete_coupon(c3.id).await.unwrap_err();
    assert!(is_conflict(&err, Entity::Coupon), "{err:?}");
    store.close_order(order.id, fx.now, &[]).await.unwrap();
    let err = store.delete_coupon(c3.id).await.unwrap_err();
    assert!(is_conflict(&err, Entity::Coupon), "{err:?}");
    assert_eq!(store.get_coupon(c3.id).await.unwrap(), Some(c3.clone()));
    assert_eq!(store.list_coupons().await.unwrap(), vec![c3, updated]);
}

fn already_used(result: &crate::error::Result<crate::order::Order>) -> bool {
    matches!(
        result,
        Err(Error::CouponRejected(CouponRejection::AlreadyUsed))
    )
}

/// A user holding a coupon on a pending order may not use it again; once
/// that order is closed they may.
pub async fn coupon_once_per_user_released_after_close<B: Backend>(store: Arc<B>) {
    let fx = Fixture::new(Arc::clone(&store));
    let sku = fx.sku(10).await;
    let coupon = fx.coupon(10).await;
    let (buyer, other) = (fx.user(), fx.user());
    assert!(!store.coupon_held_by(coupon.id, buyer).await.unwrap());

    let first = fx.placed(buyer, &[(&sku, 1)], Some(&coupon)).await;
    assert!(store.coupon_held_by(coupon.id, buyer).await.unwrap());
    let second = fx.build_order(buyer, &[(&sku, 1)], Some(&coupon));
    assert!(already_used(&fx.place(&second).await));
    assert_eq!(fx.used(coupon.id).await, 1);
    assert_eq!(fx.stock(sku.id).await, 9);
    // Somebody else may.
    fx.placed(other, &[(&sku, 1)], Some(&coupon)).await;
    assert_eq!(fx.used(coupon.id).await, 2);

    store.close_order(first.id, fx.now, &[]).await.unwrap();
    assert!(!store.coupon_held_by(coupon.id, buyer).await.unwrap());
    assert_eq!(fx.used(coupon.id).await, 1);
    fx.place(&second).await.unwrap();
    assert!(store.coupon_held_by(coupon.id, buyer).await.unwrap());
    assert_eq!(fx.used(coupon.id).await, 2);
    assert_eq!(fx.stock(sku.id).await, 8);
}

/// A paid order holds the coupon until it is fully refunded: a partial
/// refund does not release it, a full one does (`used` is not given back).
pub async fn coupon_once_per_user_released_after_full_refund<B: Backend>(store: Arc<B>) {
    let fx = Fixture::new(Arc::clone(&store));
    let sku = fx.sku(10).await;
    let coupon = fx.coupon(10).await;
    let buyer = fx.user();
    let first = fx.placed(buyer, &[(&sku, 2)], Some(&coupon)).await;
    assert_eq!(first.total, cny("15.00"));
    let item = first.items[0].id;
    let paid = fx
        .advance(first.id, &[OrderAction::Pay, OrderAction::ApplyRefund])
        .await;
    assert!(store.coupon_held_by(coupon.id, buyer).await.unwrap());
    let retry = || fx.build_order(buyer, &[(&sku, 1)], Some(&coupon));
    assert!(already_used(&fx.place(&retry()).await));

    let processing = OrderState {
        status: OrderStatus::Paid,
        refund: RefundStatus::Processing,
    };
    let finish = |no: &str, next: RefundStatus| FinishRefund {
        refund_no: no.to_owned(),
        outcome: crate::refund::RefundRecordStatus::Succeeded,
        expected: processing,
        next: OrderState {
            status: OrderStatus::Paid,
            refund: next,
        },
        at: fx.now,
    };

    // Half refunded: still held.
    let half = fx.build_refund(&paid, "HALF", &[(item, 1)], cny("7.50"));
    store
        .create_refund(&fx.approve(half, paid.state), &[])
        .await
        .unwrap();
    store
        .finish_refund(&finish("HALF", RefundStatus::None), &[])
        .await
        .unwrap();
    assert!(store.coupon_held_by(coupon.id, buyer).await.unwrap());
    assert!(already_used(&fx.place(&retry()).await));

    // The rest refunded: released.
    let again = fx.advance(first.id, &[OrderAction::ApplyRefund]).await;
    let rest = fx.build_refund(&again, "REST", &[(item, 1)], cny("7.50"));
    store
        .create_refund(&fx.approve(rest, again.state), &[])
        .await
        .unwrap();
    assert!(store.coupon_held_by(coupon.id, buyer).await.unwrap());
    store
        .finish_refund(&finish("REST", RefundStatus::Refunded), &[])
        .await
        .unwrap();
    assert!(!store.coupon_held_by(coupon.id, buyer).await.unwrap());
    assert_eq!(fx.used(coupon.id).await, 1);
    fx.place(&retry()).await.unwrap();
    assert_eq!(fx.used(coupon.id).await, 2);
    assert_eq!(fx.stock(sku.id).await, 7);
}
