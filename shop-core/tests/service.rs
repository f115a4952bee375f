//! The service facade's use cases on the memory backend: the happy path of a
//! purchase, and bad input that must return its typed error and change
//! nothing.

mod common;

use chrono::{DateTime, Duration, Utc};
use common::*;
use rust_decimal_macros::dec;
use shop_core::cart::CartStore;
use shop_core::clock::ManualClock;
use shop_core::coupon::{CouponKind, CouponRejection};
use shop_core::events::{DomainEvent, EventRecord};
use shop_core::ids::SequentialIds;
use shop_core::ids::{AddressId, OrderId, ProductId, SkuId, UserId};
use shop_core::memory::MemoryStore;
use shop_core::order::{
    Order, OrderPatch, OrderQuery, OrderState, OrderStore, PlaceOrder, ProductReview, ReviewOrder,
};
use shop_core::order::{OrderAction, OrderStatus, RefundStatus};
use shop_core::page::Page;
use shop_core::payment::{GatewayRefundStatus, RawNotification};
use shop_core::refund::{RefundLine, RefundRecordStatus, RefundStore};
use shop_core::service::{NotificationOutcome, OrderLineRequest, PlaceOrderRequest, ReviewRequest};
use shop_core::{Entity, Error};
use shop_core::{Shop, Stores};
use std::sync::Arc;

const ALICE: UserId = UserId(1_000_001);
const BOB: UserId = UserId(1_000_002);

#[tokio::test]
async fn a_whole_purchase_from_cart_to_partial_and_full_refund() {
    let w = world();
    let sku = w.sku("10.00", 10).await;
    let other = w.sku("5.50", 10).await;
    w.shop.add_to_cart(ALICE, sku.id, 2).await.unwrap();
    w.shop.add_to_cart(ALICE, sku.id, 1).await.unwrap();
    w.shop.add_to_cart(ALICE, other.id, 2).await.unwrap();
    let cart = w.shop.cart(ALICE).await.unwrap();
    assert_eq!(cart.len(), 2);
    assert_eq!(cart[0].item.quantity, 3);
    assert_eq!(cart[0].line_total, cny("30.00"));

    let coupon = w
        .coupon(coupon_draft(CouponKind::Percent, dec!(10), "20.00", 5))
        .await;
    let address = w.shop.create_address(ALICE, address_draft()).await.unwrap();
    let token = w.shop.issue_submit_token(ALICE).await.unwrap();
    let order = w
        .shop
        .place_order(
            ALICE,
            PlaceOrderRequest {
                address_id: address.id,
                items: vec![
                    OrderLineRequest {
                        sku_id: sku.id,
                        quantity: 3,
                    },
                    OrderLineRequest {
                        sku_id: other.id,
                        quantity: 2,
                    },
                ],
                coupon_code: Some(coupon.code.clone()),
                remark: "ring twice".into(),
                submit_token: Some(token.clone()),
            },
        )
        .await
        .unwrap();
    assert_eq!(order.items_total, cny("41.00"));
    assert_eq!(order.total, cny("36.90"));
    assert_eq!(order.address.contact_name, "Li Lei");
    assert_eq!(order.expires_at, start() + Duration::minutes(30));
    assert_eq!(w.stock(&sku).await, 7);
    assert!(
        w.shop.cart(ALICE).await.unwrap().is_empty(),
        "bought lines leave the cart"
    );
    assert_eq!(w.shop.coupon(coupon.id).await.unwrap().used, 1);

    // Editing the address later does not change the order's snapshot.
    let mut changed = address_draft();
    changed.contact_name = "Han Meimei".into();
    w.shop
        .update_address(ALICE, address.id, changed)
        .await
        .unwrap();
    assert_eq!(
        w.shop
            .order(ALICE, order.id)
            .await
            .unwrap()
            .address
            .contact_name,
        "Li Lei"
    );

    assert_eq!(
        w.pay(&order).await.unwrap(),
        NotificationOutcome::Paid(order.id)
    );
    assert_eq!(
        w.pay(&order).await.unwrap(),
        NotificationOutcome::AlreadyPaid(order.id)
    );
    assert_eq!(
        w.count_events(|e| matches!(e, DomainEvent::OrderPaid { .. }))
            .await,
        1
    );
    assert_eq!(w.shop.product(sku.product_id).await.unwrap().sold_count, 3);

    w.shop
        .ship_order(order.id, "SF Express", "SF123")
        .await
        .unwrap();
    w.shop.confirm_receipt(ALICE, order.id).await.unwrap();
    let reviews = order
        .items
        .iter()
        .zip([5, 4])
        .map(|(i, r)| ReviewRequest {
            item_id: i.id,
            rating: r,
            text: "good".into(),
        })
        .collect();
    let reviewed = w.shop.review_order(ALICE, order.id, reviews).await.unwrap();
    assert_eq!(reviewed.state.status, OrderStatus::Reviewed);
    w.shop.dispatch_events().await.unwrap();
    let product = w.shop.product(sku.product_id).await.unwrap();
    assert_eq!((product.rating, product.review_count), (dec!(5), 1));
    assert_eq!(
        w.shop
            .product_reviews(sku.product_id, 10)
            .await
            .unwrap()
            .len(),
        1
    );

    // Partial refund of one unit of the first line, then the rest.
    w.shop
        .apply_refund(ALICE, order.id, "broken")
        .await
        .unwrap();
    let first = order.items[0].id;
    let partial = w
        .shop
        .approve_refund(
            order.id,
            Some(vec![RefundLine {
                item_id: first,
                quantity: 1,
            }]),
        )
        .await
        .unwrap();
    // 10.00 of 41.00 items, 36.90 paid: 10 × 36.9 / 41 = 9.00.
    assert_eq!(partial.amount, cny("9.00"));
    assert_eq!(partial.status, RefundRecordStatus::Succeeded);
    let after = w.shop.order(ALICE, order.id).await.unwrap();
    assert_eq!(after.state.refund, RefundStatus::None);

    w.shop
        .apply_refund(ALICE, order.id, "all of it")
        .await
        .unwrap();
    let rest = w.shop.approve_refund(order.id, None).await.unwrap();
    assert_eq!(rest.amount, cny("27.90"));
    let done = w.shop.order(ALICE, order.id).await.unwrap();
    assert_eq!(done.state.refund, RefundStatus::Refunded);
    assert_eq!(
        w.count_events(|e| matches!(e, DomainEvent::RefundSucceeded { .. }))
            .await,
        2
    );
    assert_eq!(w.gateway.refunds.lock().unwrap().len(), 2);

    // Nothing is left to refund.
    let err = w
        .shop
        .apply_refund(ALICE, order.id, "again")
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidTransition {
                action: OrderAction::ApplyRefund,
                ..
            }
        ),
        "{err}"
    );
    // The coupon is free again once the order is fully refunded.
    assert!(w
        .shop
        .check_coupon(ALICE, &coupon.code, cny("50.00"))
        .await
        .is_ok());
}

#[tokio::test]
async fn bad_quantities_are_rejected_and_change_nothing() {
    let w = world();
    let sku = w.sku("10.00", 5).await;
    for qty in [0, -1, -100, 1000, i64::MAX] {
        let err = w.shop.add_to_cart(ALICE, sku.id, qty).await.unwrap_err();
        assert!(
            matches!(
                err,
                Error::Validation {
                    field: "quantity",
                    ..
                }
            ),
            "{qty}: {err}"
        );
        let err = w.order(ALICE, &sku, qty, None).await.unwrap_err();
        assert!(
            matches!(
                err,
                Error::Validation {
                    field: "quantity",
                    ..
                }
            ),
            "{qty}: {err}"
        );
    }
    let err = w.shop.add_to_cart(ALICE, sku.id, 6).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::OutOfStock {
                requested: 6,
                available: 5,
                ..
            }
        ),
        "{err}"
    );
    assert!(w.shop.cart(ALICE).await.unwrap().is_empty());
    assert_eq!(w.stock(&sku).await, 5);
    assert_eq!(w.shop.orders(ALICE, 1, 10).await.unwrap().total, 0);
}

#[tokio::test]
async fn unknown_ids_are_not_found_and_change_nothing() {
    let w = world();
    let sku = w.sku("10.00", 5).await;
    let err = w.shop.add_to_cart(ALICE, SkuId(999), 1).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::NotFound {
                entity: Entity::Sku,
                ..
            }
        ),
        "{err}"
    );
    let address = w.shop.create_address(ALICE, address_draft()).await.unwrap();
    let req = |sku_id| PlaceOrderRequest {
        address_id: address.id,
        items: vec![
            OrderLineRequest {
                sku_id: sku.id,
                quantity: 1,
            },
            OrderLineRequest {
                sku_id,
                quantity: 1,
            },
        ],
        coupon_code: None,
        remark: String::new(),
        submit_token: None,
    };
    let err = w
        .shop
        .place_order(ALICE, req(SkuId(999)))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::NotFound {
                entity: Entity::Sku,
                ..
            }
        ),
        "{err}"
    );
    let mut bad_address = req(sku.id);
    bad_address.items.pop();
    bad_address.address_id = AddressId(424242);
    let err = w.shop.place_order(ALICE, bad_address).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::NotFound {
                entity: Entity::Address,
                ..
            }
        ),
        "{err}"
    );
    let err = w.shop.order(ALICE, OrderId(5)).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::NotFound {
                entity: Entity::Order,
                ..
            }
        ),
        "{err}"
    );
    let err = w.shop.add_favorite(ALICE, ProductId(77)).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::NotFound {
                entity: Entity::Product,
                ..
            }
        ),
        "{err}"
    );
    let err = w
        .order(ALICE, &sku, 1, Some("NOSUCHCODE"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::NotFound {
                entity: Entity::Coupon,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(w.stock(&sku).await, 5);
    assert_eq!(w.shop.orders(ALICE, 1, 10).await.unwrap().total, 0);
    assert!(w.shop.favorites(ALICE).await.unwrap().is_empty());
}

#[tokio::test]
async fn other_users_resources_are_forbidden_and_unchanged() {
    let w = world();
    let sku = w.sku("10.00", 5).await;
    let bobs = w.shop.create_address(BOB, address_draft()).await.unwrap();
    let err = w
        .shop
        .place_order(
            ALICE,
            PlaceOrderRequest {
                address_id: bobs.id,
                items: vec![OrderLineRequest {
                    sku_id: sku.id,
                    quantity: 1,
                }],
                coupon_code: None,
                remark: String::new(),
                submit_token: None,
            },
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Forbidden {
                entity: Entity::Address
            }
        ),
        "{err}"
    );
    assert_eq!(w.stock(&sku).await, 5);

    let mut changed = address_draft();
    changed.city = "Beijing".into();
    assert!(matches!(
        w.shop.update_address(ALICE, bobs.id, changed).await,
        Err(Error::Forbidden { .. })
    ));
    assert!(matches!(
        w.shop.delete_address(ALICE, bobs.id).await,
        Err(Error::Forbidden { .. })
    ));
    assert_eq!(w.shop.address(BOB, bobs.id).await.unwrap(), bobs);

    let order = w.order(BOB, &sku, 1, None).await.unwrap();
    assert!(matches!(
        w.shop.order(ALICE, order.id).await,
        Err(Error::Forbidden { .. })
    ));
    assert!(matches!(
        w.shop.start_payment(ALICE, order.id, "fake", None).await,
        Err(Error::Forbidden { .. })
    ));
    assert!(matches!(
        w.shop.apply_refund(ALICE, order.id, "mine").await,
        Err(Error::Forbidden { .. })
    ));
    assert!(matches!(
        w.shop.confirm_receipt(ALICE, order.id).await,
        Err(Error::Forbidden { .. })
    ));
    assert!(matches!(
        w.shop.refunds(ALICE, order.id).await,
        Err(Error::Forbidden { .. })
    ));
    assert_eq!(w.shop.order(BOB, order.id).await.unwrap(), order);
}

#[tokio::test]
async fn rejected_coupons_give_their_reason_and_change_nothing() {
    let w = world();
    let sku = w.sku("100.00", 50).await;
    let mut disabled = coupon_draft(CouponKind::Fixed, dec!(10), "0", 10);
    disabled.enabled = false;
    let mut expired = coupon_draft(CouponKind::Fixed, dec!(10), "0", 10);
    expired.not_after = Some(start() - Duration::days(1));
    let mut early = coupon_draft(CouponKind::Fixed, dec!(10), "0", 10);
    early.not_before = Some(start() + Duration::days(1));
    let minimum = coupon_draft(CouponKind::Fixed, dec!(10), "500.00", 10);
    let cases = [
        (disabled, CouponRejection::Disabled),
        (expired, CouponRejection::Expired),
        (early, CouponRejection::NotYetValid),
        (minimum, CouponRejection::BelowMinimum),
    ];
    for (draft, reason) in cases {
        let coupon = w.coupon(draft).await;
        let err = w
            .order(ALICE, &sku, 1, Some(&coupon.code))
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::CouponRejected(r) if r == reason),
            "{reason:?}: {err}"
        );
        assert_eq!(w.shop.coupon(coupon.id).await.unwrap().used, 0);
    }
    // Exhausted: total 1, used by Bob.
    let one = w
        .coupon(coupon_draft(CouponKind::Fixed, dec!(10), "0", 1))
        .await;
    w.order(BOB, &sku, 1, Some(&one.code)).await.unwrap();
    let err = w.order(ALICE, &sku, 1, Some(&one.code)).await.unwrap_err();
    assert!(
        matches!(err, Error::CouponRejected(CouponRejection::Exhausted)),
        "{err}"
    );
    // Once per user: Bob may not use another copy while his order is live.
    let many = w
        .coupon(coupon_draft(CouponKind::Fixed, dec!(10), "0", 10))
        .await;
    w.order(BOB, &sku, 1, Some(&many.code)).await.unwrap();
    let err = w.order(BOB, &sku, 1, Some(&many.code)).await.unwrap_err();
    assert!(
        matches!(err, Error::CouponRejected(CouponRejection::AlreadyUsed)),
        "{err}"
    );
    assert_eq!(w.shop.coupon(many.id).await.unwrap().used, 1);
    assert_eq!(w.stock(&sku).await, 48);
    assert_eq!(w.shop.orders(ALICE, 1, 10).await.unwrap().total, 0);
}

#[tokio::test]
async fn illegal_transitions_are_refused_and_change_nothing() {
    let w = world();
    let sku = w.sku("10.00", 5).await;
    let order = w.order(ALICE, &sku, 1, None).await.unwrap();
    let err = w.shop.ship_order(order.id, "SF", "1").await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidTransition {
                action: OrderAction::Ship,
                ..
            }
        ),
        "{err}"
    );
    let err = w.shop.confirm_receipt(ALICE, order.id).await.unwrap_err();
    assert!(matches!(
        err,
        Error::InvalidTransition {
            action: OrderAction::ConfirmReceipt,
            ..
        }
    ));
    let err = w
        .shop
        .apply_refund(ALICE, order.id, "why")
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        Error::InvalidTransition {
            action: OrderAction::ApplyRefund,
            ..
        }
    ));
    let err = w.shop.approve_refund(order.id, None).await.unwrap_err();
    assert!(matches!(
        err,
        Error::InvalidTransition {
            action: OrderAction::ApproveRefund,
            ..
        }
    ));
    let err = w
        .shop
        .review_order(ALICE, order.id, vec![])
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        Error::InvalidTransition {
            action: OrderAction::Review,
            ..
        }
    ));
    assert_eq!(w.shop.order(ALICE, order.id).await.unwrap(), order);

    // Shipping is refused while a refund is applied for.
    w.pay(&order).await.unwrap();
    w.shop
        .apply_refund(ALICE, order.id, "changed my mind")
        .await
        .unwrap();
    let before = w.shop.order(ALICE, order.id).await.unwrap();
    let err = w.shop.ship_order(order.id, "SF", "1").await.unwrap_err();
    assert!(matches!(
        err,
        Error::InvalidTransition {
            action: OrderAction::Ship,
            ..
        }
    ));
    // A refused refund keeps its reason and allows shipping again.
    let refused = w
        .shop
        .refuse_refund(order.id, "already packed")
        .await
        .unwrap();
    assert_eq!(refused.state.refund, RefundStatus::None);
    assert_eq!(refused.refund_refusal.as_deref(), Some("already packed"));
    assert_eq!(before.refund_reason.as_deref(), Some("changed my mind"));
    w.shop.ship_order(order.id, "SF", "1").await.unwrap();
}

#[tokio::test]
async fn payment_notifications_must_match_signature_merchant_order_and_amount() {
    let w = world();
    let sku = w.sku("10.00", 5).await;
    let order = w.order(ALICE, &sku, 2, None).await.unwrap();
    let pay = |merchant: &str, amount: &str, secret: &str| {
        paid_notification(merchant, &order, amount, "T1", secret)
    };

    let err = w
        .shop
        .handle_payment_notification("fake", &pay(MERCHANT, "20.00", "forged"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Payment(shop_core::payment::PaymentError::InvalidSignature)
        ),
        "{err}"
    );
    let err = w
        .shop
        .handle_payment_notification("fake", &pay("M-999", "20.00", SECRET))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Payment(shop_core::payment::PaymentError::MerchantMismatch { .. })
        ),
        "{err}"
    );
    let err = w
        .shop
        .handle_payment_notification("fake", &pay(MERCHANT, "19.99", SECRET))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Payment(shop_core::payment::PaymentError::AmountMismatch { .. })
        ),
        "{err}"
    );
    let mut unknown = order.clone();
    unknown.no = "20990101000000000000".into();
    let n = paid_notification(MERCHANT, &unknown, "20.00", "T1", SECRET);
    let err = w
        .shop
        .handle_payment_notification("fake", &n)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Payment(shop_core::payment::PaymentError::UnknownOrder(_))
        ),
        "{err}"
    );
    let err = w
        .shop
        .handle_payment_notification("nope", &n)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::NotFound {
                entity: Entity::PaymentGateway,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(w.shop.order(ALICE, order.id).await.unwrap(), order);
    assert_eq!(
        w.count_events(|e| matches!(e, DomainEvent::OrderPaid { .. }))
            .await,
        0
    );

    // The amount compares as a number: "20" equals 20.00.
    let ok = w
        .shop
        .handle_payment_notification("fake", &pay(MERCHANT, "20", SECRET))
        .await
        .unwrap();
    assert_eq!(ok, NotificationOutcome::Paid(order.id));
}

#[tokio::test]
async fn fifty_concurrent_identical_notifications_pay_once() {
    let w = world();
    let sku = w.sku("10.00", 5).await;
    let order = w.order(ALICE, &sku, 1, None).await.unwrap();
    let n = paid_notification(MERCHANT, &order, "10.00", "T-1", SECRET);
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let shop = w.shop.clone();
            let n = n.clone();
            tokio::spawn(async move { shop.handle_payment_notification("fake", &n).await })
        })
        .collect();
    let mut paid = 0;
    let mut duplicates = 0;
    for t in tasks {
        match t.await.unwrap().unwrap() {
            NotificationOutcome::Paid(_) => paid += 1,
            NotificationOutcome::AlreadyPaid(_) => duplicates += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((paid, duplicates), (1, 49));
    assert_eq!(
        w.count_events(|e| matches!(e, DomainEvent::OrderPaid { .. }))
            .await,
        1
    );
    w.shop.dispatch_events().await.unwrap();
    assert_eq!(w.shop.product(sku.product_id).await.unwrap().sold_count, 1);
}

#[tokio::test]
async fn expired_orders_close_once_and_give_back_stock_and_coupon() {
    let w = world();
    let sku = w.sku("10.00", 10).await;
    let coupon = w
        .coupon(coupon_draft(CouponKind::Fixed, dec!(1), "0", 10))
        .await;
    let stale = w.order(ALICE, &sku, 3, Some(&coupon.code)).await.unwrap();
    w.clock.advance(Duration::minutes(20));
    let fresh = w.order(BOB, &sku, 2, None).await.unwrap();
    assert_eq!(w.stock(&sku).await, 5);
    w.clock.advance(Duration::minutes(11));
    assert_eq!(w.shop.close_expired_orders().await.unwrap(), 1);
    assert_eq!(w.shop.close_expired_orders().await.unwrap(), 0);
    assert_eq!(w.stock(&sku).await, 8);
    assert_eq!(w.shop.coupon(coupon.id).await.unwrap().used, 0);
    let closed = w.shop.order(ALICE, stale.id).await.unwrap();
    assert_eq!(closed.state.status, OrderStatus::Closed);
    assert_eq!(
        w.shop.order(BOB, fresh.id).await.unwrap().state.status,
        OrderStatus::Pending
    );
    assert_eq!(
        w.count_events(|e| matches!(e, DomainEvent::OrderClosed { .. }))
            .await,
        1
    );
    // A payment arriving after the close is refused and changes nothing.
    let err = w.pay(&stale).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidTransition {
                action: OrderAction::Pay,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(w.stock(&sku).await, 8);
    // Paying an expired order is not even started.
    let err = w
        .shop
        .start_payment(ALICE, stale.id, "fake", None)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidTransition { .. }), "{err}");
}

#[tokio::test]
async fn many_expired_orders_close_in_chunks_with_two_workers() {
    let w = world();
    let sku = w.sku("1.00", 500).await;
    for i in 0..250 {
        w.order(UserId(10 + i), &sku, 2, None).await.unwrap();
    }
    assert_eq!(w.stock(&sku).await, 0);
    w.clock.advance(Duration::minutes(31));
    let (a, b) = tokio::join!(w.shop.close_expired_orders(), w.shop.close_expired_orders());
    assert_eq!(a.unwrap() + b.unwrap(), 250);
    assert_eq!(w.stock(&sku).await, 500);
    assert_eq!(
        w.count_events(|e| matches!(e, DomainEvent::OrderClosed { .. }))
            .await,
        250
    );
}

#[tokio::test]
async fn a_replayed_submit_token_places_no_second_order_and_answers_the_first() {
    let w = world();
    let sku = w.sku("10.00", 10).await;
    let address = w.shop.create_address(ALICE, address_draft()).await.unwrap();
    let token = w.shop.issue_submit_token(ALICE).await.unwrap();
    let req = PlaceOrderRequest {
        address_id: address.id,
        items: vec![OrderLineRequest {
            sku_id: sku.id,
            quantity: 1,
        }],
        coupon_code: None,
        remark: String::new(),
        submit_token: Some(token),
    };
    let first = w.shop.place_order(ALICE, req.clone()).await.unwrap();
    // Replayed, the same request answers the order it placed.
    let replayed = w.shop.place_order(ALICE, req.clone()).await.unwrap();
    assert_eq!(replayed.id, first.id);
    // Another request with the spent token is refused.
    let other = PlaceOrderRequest {
        remark: "something else".to_owned(),
        ..req.clone()
    };
    let err = w.shop.place_order(ALICE, other).await.unwrap_err();
    assert!(
        matches!(err, Error::SubmitTokenReused { order } if order == first.id),
        "{err}"
    );
    // Bob cannot use Alice's token either.
    let bobs = w.shop.create_address(BOB, address_draft()).await.unwrap();
    let token = w.shop.issue_submit_token(ALICE).await.unwrap();
    let stolen = PlaceOrderRequest {
        address_id: bobs.id,
        submit_token: Some(token),
        ..req
    };
    let err = w.shop.place_order(BOB, stolen).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::NotFound {
                entity: Entity::SubmitToken,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(w.stock(&sku).await, 9);
}

#[tokio::test]
async fn categories_form_a_tree_with_breadcrumbs_and_subtree_listing() {
    let w = world();
    let phones = w.shop.create_category("Phones", true, None).await.unwrap();
    let android = w
        .shop
        .create_category("Android", false, Some(phones.id))
        .await
        .unwrap();
    let err = w
        .shop
        .create_category("Nested", false, Some(android.id))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Refused {
                field: "parent_id",
                ..
            }
        ),
        "{err}"
    );
    let crumbs = w.shop.breadcrumbs(android.id).await.unwrap();
    assert_eq!(
        crumbs.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
        ["Phones", "Android"]
    );
    let mut draft = product_draft("Pixel");
    draft.category_id = Some(android.id);
    w.shop
        .create_product(
            draft,
            vec![
                sku_draft("128GB", "499.00", 3),
                sku_draft("256GB", "399.00", 3),
            ],
        )
        .await
        .unwrap();
    w.sku("1.00", 1).await; // uncategorised
    let page = w
        .shop
        .browse(shop_core::catalog::ProductQuery {
            category_id: Some(phones.id),
            page: 1,
            per_page: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(page.total, 1);
    assert_eq!(
        page.items[0].price,
        cny("399.00"),
        "the cheapest sku sets the price"
    );
    let tree = w.shop.category_tree().await.unwrap();
    assert_eq!(tree.len(), 1);
    assert_eq!(tree[0].children[0].category.id, android.id);
    let detail = w.shop.product_detail(page.items[0].id).await.unwrap();
    assert_eq!(detail.skus.len(), 2);
    assert_eq!(detail.breadcrumbs.len(), 2);
    // Off-sale products disappear from the storefront.
    w.shop.set_on_sale(page.items[0].id, false).await.unwrap();
    assert!(matches!(
        w.shop.product_detail(page.items[0].id).await,
        Err(Error::NotFound { .. })
    ));
}

#[tokio::test]
async fn carts_in_another_backend_lose_the_bought_lines_after_placement() {
    let orders = Arc::new(MemoryStore::new());
    let carts = Arc::new(MemoryStore::new());
    let stores = Stores::from_backend(orders.clone());
    assert!(stores.carts_cleared_by_placement());
    let stores = stores.with_carts(carts.clone());
    assert!(!stores.carts_cleared_by_placement());
    let shop = Shop::builder(stores)
        .clock(Arc::new(ManualClock::new(start())))
        .ids(Arc::new(SequentialIds::default()))
        .build();
    let (_, skus) = shop
        .create_product(
            product_draft("Pen"),
            vec![sku_draft("blue", "3.00", 10), sku_draft("red", "3.00", 10)],
        )
        .await
        .unwrap();
    let (bought, kept) = (&skus[0], &skus[1]);
    shop.add_to_cart(ALICE, bought.id, 2).await.unwrap();
    shop.add_to_cart(ALICE, kept.id, 1).await.unwrap();
    assert_eq!(carts.list_cart(ALICE).await.unwrap().len(), 2);
    assert!(orders.list_cart(ALICE).await.unwrap().is_empty());

    let address = shop.create_address(ALICE, address_draft()).await.unwrap();
    shop.place_order(
        ALICE,
        PlaceOrderRequest {
            address_id: address.id,
            items: vec![OrderLineRequest {
                sku_id: bought.id,
                quantity: 2,
            }],
            coupon_code: None,
            remark: String::new(),
            submit_token: None,
        },
    )
    .await
    .unwrap();
    let left = carts.list_cart(ALICE).await.unwrap();
    assert_eq!(
        left.iter().map(|l| l.sku_id).collect::<Vec<_>>(),
        vec![kept.id]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn refunds_the_gateway_missed_are_resent_and_settle_once() {
    let w = world();
    let sku = w.sku("20.00", 10).await;
    let mut stuck = Vec::new();
    for _ in 0..3 {
        let order = w.order(ALICE, &sku, 1, None).await.unwrap();
        w.pay(&order).await.unwrap();
        w.shop
            .apply_refund(ALICE, order.id, "broken")
            .await
            .unwrap();
        stuck.push(order);
    }
    // The gateway is down while the administrator approves: each refund is
    // recorded, stays pending, and the approval reports the error.
    *w.gateway.refund_unreachable.lock().unwrap() = true;
    for order in &stuck {
        let err = w.shop.approve_refund(order.id, None).await.unwrap_err();
        assert_eq!(err.kind(), shop_core::ErrorKind::Unavailable, "{err}");
        let refunds = w.store.list_refunds(order.id).await.unwrap();
        assert_eq!(refunds.len(), 1);
        assert_eq!(refunds[0].status, RefundRecordStatus::Pending);
        assert_eq!(
            w.store
                .get_order(order.id)
                .await
                .unwrap()
                .unwrap()
                .state
                .refund,
            RefundStatus::Processing
        );
    }
    let window = (Duration::minutes(5), Duration::hours(23));

    // Too young to retry: nothing is re-sent.
    let sent = w.gateway.refunds.lock().unwrap().len();
    let report = w
        .shop
        .retry_pending_refunds(window.0, window.1)
        .await
        .unwrap();
    assert_eq!(report, Default::default());
    assert_eq!(w.gateway.refunds.lock().unwrap().len(), sent);

    // Still down: re-sent, reported unreachable, still pending.
    w.clock.advance(Duration::minutes(6));
    let report = w
        .shop
        .retry_pending_refunds(window.0, window.1)
        .await
        .unwrap();
    assert_eq!(report.failed.len(), 3, "{report:?}");
    assert!(report.settled.is_empty());

    // One of them is settled by its notification meanwhile: it is not
    // re-sent.
    let settled_by_notification = w.store.list_refunds(stuck[2].id).await.unwrap()[0]
        .refund_no
        .clone();
    let n = RawNotification {
        body: format!("refund|{settled_by_notification}|ok|{SECRET}").into_bytes(),
        ..RawNotification::default()
    };
    w.shop
        .handle_payment_notification("fake", &n)
        .await
        .unwrap();

    // Back up: two workers retry at once, both in flight for every refund
    // (the gateway holds each call until both arrive); every refund settles
    // exactly once under its first refund number.
    *w.gateway.refund_unreachable.lock().unwrap() = false;
    *w.gateway.refund_barrier.lock().unwrap() = Some(Arc::new(tokio::sync::Barrier::new(2)));
    let sent_before = w.gateway.refunds.lock().unwrap().len();
    let workers: Vec<_> = (0..2)
        .map(|_| {
            let shop = w.shop.clone();
            tokio::spawn(async move { shop.retry_pending_refunds(window.0, window.1).await })
        })
        .collect();
    let mut settled = Vec::new();
    for worker in workers {
        let report = worker.await.unwrap().unwrap();
        assert!(report.failed.is_empty(), "{report:?}");
        settled.extend(report.settled);
    }
    *w.gateway.refund_barrier.lock().unwrap() = None;
    settled.sort();
    assert_eq!(settled.len(), 2, "each settled by one worker: {settled:?}");
    settled.dedup();
    assert_eq!(settled.len(), 2);
    assert!(!settled.contains(&settled_by_notification));
    let resent: Vec<String> = w.gateway.refunds.lock().unwrap()[sent_before..]
        .iter()
        .map(|r| r.refund_no.clone())
        .collect();
    assert_eq!(resent.len(), 4, "both workers sent both: {resent:?}");
    assert!(!resent.contains(&settled_by_notification));
    for order in &stuck {
        let refunds = w.store.list_refunds(order.id).await.unwrap();
        assert_eq!(refunds.len(), 1, "no second refund number");
        assert_eq!(refunds[0].status, RefundRecordStatus::Succeeded);
        assert!(w
            .gateway
            .refunds
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.order_no == order.no)
            .all(|r| r.refund_no == refunds[0].refund_no));
        assert_eq!(
            w.store
                .get_order(order.id)
                .await
                .unwrap()
                .unwrap()
                .state
                .refund,
            RefundStatus::Refunded
        );
    }
    assert_eq!(
        w.count_events(|e| matches!(e, DomainEvent::RefundSucceeded { .. }))
            .await,
        3,
        "each refund succeeds once"
    );
    let report = w
        .shop
        .retry_pending_refunds(window.0, window.1)
        .await
        .unwrap();
    assert_eq!(report, Default::default(), "nothing is left");

    // A refund pending past the window is reported, never re-sent.
    let late = w.order(BOB, &sku, 1, None).await.unwrap();
    w.pay(&late).await.unwrap();
    w.shop.apply_refund(BOB, late.id, "late").await.unwrap();
    *w.gateway.refund_answer.lock().unwrap() = GatewayRefundStatus::Pending;
    w.shop.approve_refund(late.id, None).await.unwrap();
    w.clock.advance(Duration::hours(24));
    let sent = w.gateway.refunds.lock().unwrap().len();
    let report = w
        .shop
        .retry_pending_refunds(window.0, window.1)
        .await
        .unwrap();
    assert_eq!(report.too_old.len(), 1, "{report:?}");
    assert_eq!(w.gateway.refunds.lock().unwrap().len(), sent);

    // A gateway answering "failed" settles the refund as failed; the buyer
    // may apply again.
    let failing = w.order(BOB, &sku, 1, None).await.unwrap();
    w.pay(&failing).await.unwrap();
    w.shop.apply_refund(BOB, failing.id, "again").await.unwrap();
    *w.gateway.refund_unreachable.lock().unwrap() = true;
    w.shop.approve_refund(failing.id, None).await.unwrap_err();
    *w.gateway.refund_unreachable.lock().unwrap() = false;
    *w.gateway.refund_answer.lock().unwrap() = GatewayRefundStatus::Failed;
    w.clock.advance(Duration::minutes(6));
    let report = w
        .shop
        .retry_pending_refunds(window.0, window.1)
        .await
        .unwrap();
    assert_eq!(report.settled.len(), 1, "{report:?}");
    assert_eq!(
        w.store
            .get_order(failing.id)
            .await
            .unwrap()
            .unwrap()
            .state
            .refund,
        RefundStatus::Failed
    );

    // A window that makes no sense is refused.
    for (min, max) in [
        (Duration::minutes(-1), Duration::hours(1)),
        (Duration::hours(2), Duration::hours(1)),
    ] {
        let err = w.shop.retry_pending_refunds(min, max).await.unwrap_err();
        assert!(matches!(err, Error::Validation { .. }), "{err:?}");
    }
}

#[tokio::test]
async fn catalog_input_past_its_limits_is_refused_and_changes_nothing() {
    use shop_core::catalog::{Property, MAX_CATEGORY_LEVEL, MAX_STOCK, MAX_TITLE_CHARS};
    let w = world();
    let field = |e: Error| match e {
        Error::Validation { field, .. } | Error::Refused { field, .. } => field,
        other => panic!("{other:?}"),
    };
    let mut long_title = product_draft("Pen");
    long_title.title = "x".repeat(MAX_TITLE_CHARS + 1);
    let mut many_properties = product_draft("Pen");
    many_properties.properties = (0..51)
        .map(|i| Property {
            name: format!("p{i}"),
            value: "v".into(),
        })
        .collect();
    let mut long_value = product_draft("Pen");
    long_value.properties = vec![Property {
        name: "color".into(),
        value: "v".repeat(256),
    }];
    for (draft, expected) in [
        (long_title, "title"),
        (many_properties, "properties"),
        (long_value, "properties"),
    ] {
        let err = w
            .shop
            .create_product(draft, vec![sku_draft("a", "1.00", 1)])
            .await
            .unwrap_err();
        assert_eq!(field(err), expected);
    }
    let err = w
        .shop
        .create_product(
            product_draft("Pen"),
            vec![sku_draft("a", "1.00", MAX_STOCK + 1)],
        )
        .await
        .unwrap_err();
    assert_eq!(field(err), "sku.stock");
    let mut long_sku = sku_draft("a", "1.00", 1);
    long_sku.title = "t".repeat(MAX_TITLE_CHARS + 1);
    let err = w
        .shop
        .create_product(product_draft("Pen"), vec![long_sku])
        .await
        .unwrap_err();
    assert_eq!(field(err), "sku.title");
    assert_eq!(
        w.shop
            .list_products(shop_core::catalog::ProductQuery {
                page: 1,
                per_page: 10,
                ..Default::default()
            })
            .await
            .unwrap()
            .total,
        0
    );

    let err = w
        .shop
        .list_products(shop_core::catalog::ProductQuery {
            page: 1,
            per_page: 10,
            keyword: Some("k".repeat(101)),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(field(err), "keyword");
    let mut long_name = coupon_draft(CouponKind::Fixed, dec!(5), "10.00", 5);
    long_name.name = "n".repeat(MAX_TITLE_CHARS + 1);
    let err = w.shop.create_coupon(long_name, None).await.unwrap_err();
    assert_eq!(field(err), "name");
    assert!(w.shop.coupons().await.unwrap().is_empty());

    // Categories nest at most MAX_CATEGORY_LEVEL + 1 deep.
    let mut parent = w.shop.create_category("L0", true, None).await.unwrap();
    for level in 1..=MAX_CATEGORY_LEVEL {
        parent = w
            .shop
            .create_category(&format!("L{level}"), true, Some(parent.id))
            .await
            .unwrap();
    }
    let err = w
        .shop
        .create_category("too deep", false, Some(parent.id))
        .await
        .unwrap_err();
    assert_eq!(field(err), "parent_id");
    let err = w
        .shop
        .create_category(&"n".repeat(MAX_TITLE_CHARS + 1), false, None)
        .await
        .unwrap_err();
    assert_eq!(field(err), "name");
    let count = |nodes: &[shop_core::catalog::CategoryNode]| -> usize {
        fn walk(nodes: &[shop_core::catalog::CategoryNode]) -> usize {
            nodes.iter().map(|n| 1 + walk(&n.children)).sum()
        }
        walk(nodes)
    };
    assert_eq!(
        count(&w.shop.category_tree().await.unwrap()),
        MAX_CATEGORY_LEVEL as usize + 1
    );
}

/// The memory store's orders, raising a stop signal at the first order
/// closed.
struct StopAtFirstClose(Arc<MemoryStore>, shop_core::service::StopSignal);

#[async_trait::async_trait]
impl OrderStore for StopAtFirstClose {
    async fn place_order(
        &self,
        cmd: &PlaceOrder,
        events: &[EventRecord],
    ) -> shop_core::Result<Order> {
        self.0.place_order(cmd, events).await
    }
    async fn get_order(&self, id: OrderId) -> shop_core::Result<Option<Order>> {
        self.0.get_order(id).await
    }
    async fn get_order_by_no(&self, no: &str) -> shop_core::Result<Option<Order>> {
        self.0.get_order_by_no(no).await
    }
    async fn list_orders(&self, query: &OrderQuery) -> shop_core::Result<Page<Order>> {
        self.0.list_orders(query).await
    }
    async fn transition(
        &self,
        id: OrderId,
        expected: OrderState,
        next: OrderState,
        patch: &OrderPatch,
        events: &[EventRecord],
    ) -> shop_core::Result<()> {
        self.0.transition(id, expected, next, patch, events).await
    }
    async fn close_order(
        &self,
        id: OrderId,
        at: DateTime<Utc>,
        events: &[EventRecord],
    ) -> shop_core::Result<()> {
        self.1.raise();
        self.0.close_order(id, at, events).await
    }
    async fn list_expired_orders(
        &self,
        now: DateTime<Utc>,
        after: Option<OrderId>,
        limit: u32,
    ) -> shop_core::Result<Vec<OrderId>> {
        self.0.list_expired_orders(now, after, limit).await
    }
    async fn review_order(
        &self,
        cmd: &ReviewOrder,
        events: &[EventRecord],
    ) -> shop_core::Result<()> {
        self.0.review_order(cmd, events).await
    }
    async fn list_product_reviews(
        &self,
        product: ProductId,
        limit: u32,
    ) -> shop_core::Result<Vec<ProductReview>> {
        self.0.list_product_reviews(product, limit).await
    }
}

#[tokio::test]
async fn closing_stops_at_the_chunk_boundary_after_a_stop_is_asked() {
    let w = world();
    let sku = w.sku("1.00", 500).await;
    for i in 0..250 {
        w.order(UserId(10 + i), &sku, 2, None).await.unwrap();
    }
    w.clock.advance(Duration::minutes(31));
    let stop = shop_core::service::StopSignal::new();
    let mut stores = shop_core::Stores::from_backend(w.store.clone());
    stores.orders = Arc::new(StopAtFirstClose(w.store.clone(), stop.clone()));
    let shop = shop_core::Shop::builder(stores)
        .clock(w.clock.clone())
        .build();
    // The stop is asked during the first chunk: that chunk is finished,
    // the next is not started.
    assert_eq!(shop.close_expired_orders_until(&stop).await.unwrap(), 100);
    assert_eq!(w.stock(&sku).await, 200);
    // A raised signal starts nothing; the next run does the rest.
    assert_eq!(shop.close_expired_orders_until(&stop).await.unwrap(), 0);
    assert_eq!(w.shop.close_expired_orders().await.unwrap(), 150);
    assert_eq!(w.stock(&sku).await, 500);
}

/// A gateway named `name` that does what `FakeGateway` does.
struct Named(&'static str, FakeGateway);

#[async_trait::async_trait]
impl shop_core::payment::PaymentGateway for Named {
    fn name(&self) -> &str {
        self.0
    }
    fn merchant_id(&self) -> &str {
        self.1.merchant_id()
    }
    async fn create_payment(
        &self,
        req: &shop_core::payment::PaymentRequest,
    ) -> Result<shop_core::payment::PaymentAction, shop_core::payment::PaymentError> {
        self.1.create_payment(req).await
    }
    async fn verify_notification(
        &self,
        raw: &RawNotification,
    ) -> Result<shop_core::payment::GatewayEvent, shop_core::payment::PaymentError> {
        self.1.verify_notification(raw).await
    }
    async fn refund(
        &self,
        req: &shop_core::payment::GatewayRefund,
    ) -> Result<GatewayRefundStatus, shop_core::payment::PaymentError> {
        self.1.refund(req).await
    }
}

/// A payment that names no gateway uses the builder's default when it is
/// registered, else the only gateway; with none it is `NotFound`, with
/// several and no default the caller must choose.
#[tokio::test]
async fn the_default_gateway_is_the_named_one_or_the_only_one() {
    let build = |names: &[&'static str], default: Option<&str>| {
        let mut b = Shop::builder(Stores::from_backend(Arc::new(MemoryStore::new())));
        for name in names {
            b = b.gateway(Arc::new(Named(name, FakeGateway::new())));
        }
        if let Some(d) = default {
            b = b.default_gateway(d);
        }
        b.build()
    };
    assert!(matches!(
        build(&[], None).default_gateway(),
        Err(Error::NotFound {
            entity: Entity::PaymentGateway,
            ..
        })
    ));
    assert_eq!(
        build(&["alipay"], None).default_gateway().unwrap(),
        "alipay"
    );
    let err = build(&["alipay", "wechat"], None)
        .default_gateway()
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Validation {
                field: "gateway",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("alipay, wechat"), "{err}");
    assert_eq!(
        build(&["alipay", "sandbox"], Some("sandbox"))
            .default_gateway()
            .unwrap(),
        "sandbox"
    );
    // A default that is not registered does not count.
    assert_eq!(
        build(&["alipay"], Some("sandbox"))
            .default_gateway()
            .unwrap(),
        "alipay"
    );
}
