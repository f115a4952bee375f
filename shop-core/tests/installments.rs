//! Installment notices on the memory store: a reminder before a period
//! falls due (once per period and day), and one notice when it goes
//! overdue.

#![cfg(feature = "testing")]

use std::sync::Arc;

use chrono::Duration;
use shop_core::conformance::shop::{verified_account, Mailbox, ShopWorld, TEST_GATEWAY};
use shop_core::ids::UserId;
use shop_core::memory::MemoryStore;
use shop_core::notify::Message;
use shop_core::payment::RawNotification;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buyers_are_reminded_before_a_due_date_and_told_once_when_overdue() {
    let store = Arc::new(MemoryStore::new());
    let mail = Arc::new(Mailbox::default());
    let w = ShopWorld::with_notifier(store.clone(), mail.clone());
    let (shop, clock) = (w.shop.clone(), w.clock.clone());
    let (_, skus) = shop
        .create_product(
            ShopWorld::product_draft("Sofa", "Grey."),
            vec![ShopWorld::sku_draft("900.00", 3)],
        )
        .await
        .unwrap();
    let buyer = UserId(7_100_001);
    verified_account(store.as_ref(), buyer).await;
    let address = shop
        .create_address(buyer, ShopWorld::address_draft())
        .await
        .unwrap();
    let token = shop.issue_submit_token(buyer).await.unwrap();
    let order = shop
        .place_order(
            buyer,
            shop_core::service::PlaceOrderRequest {
                address_id: address.id,
                items: vec![shop_core::service::OrderLineRequest {
                    sku_id: skus[0].id,
                    quantity: 1,
                }],
                coupon_code: None,
                remark: String::new(),
                submit_token: Some(token),
            },
        )
        .await
        .unwrap();
    let plan = shop
        .create_installment_plan(buyer, order.id, 3)
        .await
        .unwrap();
    let first = &plan.periods[0];
    let body = format!("{}|{}|T1", first.no, first.payable().unwrap().amount());
    shop.handle_payment_notification(
        TEST_GATEWAY,
        &RawNotification {
            body: body.into_bytes(),
            ..Default::default()
        },
    )
    .await
    .unwrap();

    let second = plan.periods[1].clone();
    let due = |m: &Message| matches!(m, Message::InstallmentDue { index: 2, .. });
    let overdue = |m: &Message| matches!(m, Message::InstallmentOverdue { index: 2, .. });

    // Four days before: too early.
    clock.set(second.due_at - Duration::days(4));
    assert_eq!(shop.remind_installments().await.unwrap(), 0);
    // Two days before: reminded; a second run that day repeats the key.
    clock.set(second.due_at - Duration::days(2));
    assert_eq!(shop.remind_installments().await.unwrap(), 1);
    assert_eq!(shop.remind_installments().await.unwrap(), 1);
    let reminders: Vec<_> = mail.all().into_iter().filter(|n| due(&n.message)).collect();
    assert_eq!(reminders.len(), 2);
    assert_eq!(reminders[0].key, reminders[1].key);
    match &reminders[0].message {
        Message::InstallmentDue {
            order_no,
            count,
            amount,
            due_at,
            ..
        } => {
            assert_eq!(*order_no, order.no);
            assert_eq!(*count, 3);
            assert_eq!(*amount, second.payable().unwrap());
            assert_eq!(*due_at, second.due_at);
        }
        other => panic!("{other:?}"),
    }

    // Overdue: one notice, with the first fine, however many days pass.
    for day in 1..=5 {
        clock.set(second.due_at + Duration::days(day));
        shop.apply_installment_fines().await.unwrap();
        shop.dispatch_events().await.unwrap();
    }
    let notices: Vec<_> = mail
        .all()
        .into_iter()
        .filter(|n| overdue(&n.message))
        .collect();
    assert_eq!(notices.len(), 1, "{notices:#?}");
    match &notices[0].message {
        Message::InstallmentOverdue { fine, amount, .. } => {
            assert!(fine.is_positive());
            assert_eq!(
                *amount,
                second.payable().unwrap().checked_add(*fine).unwrap()
            );
        }
        other => panic!("{other:?}"),
    }
    // The fine stays on the period until it is paid.
    let now = shop.installment_plan(buyer, order.id).await.unwrap();
    assert!(now.periods[1].fine.is_positive());
}
