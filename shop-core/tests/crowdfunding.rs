//! Crowdfunding beyond the conformance suite, on the memory store: buyers
//! are told a campaign's result (one message per paid order), and setting
//! up a campaign refuses what cannot be one, writing nothing.

#![cfg(feature = "testing")]

use std::sync::Arc;

use chrono::Duration;
use shop_core::catalog::ProductKind;
use shop_core::conformance::fixtures::{base_time, cny};
use shop_core::conformance::shop::{verified_account, Mailbox, ShopWorld};
use shop_core::crowdfunding::{CrowdfundingDraft, CrowdfundingStore};
use shop_core::ids::UserId;
use shop_core::memory::MemoryStore;
use shop_core::notify::{Message, Notification};
use shop_core::{Currency, Error, Money};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_paid_order_of_a_decided_campaign_gets_one_message() {
    let store = Arc::new(MemoryStore::new());
    let mail = Arc::new(Mailbox::default());
    let w = ShopWorld::with_notifier(store.clone(), mail.clone());
    let (shop, clock) = (w.shop.clone(), w.clock.clone());
    let mut draft = ShopWorld::product_draft("Solar lamp", "Back it.");
    draft.kind = ProductKind::Crowdfunding;
    let (product, skus) = shop
        .create_product(draft, vec![ShopWorld::sku_draft("40.00", 100)])
        .await
        .unwrap();
    let campaign = shop
        .create_crowdfunding(CrowdfundingDraft {
            product_id: product.id,
            target: cny("1000.00"),
            ends_at: base_time() + Duration::hours(1),
        })
        .await
        .unwrap();
    let (a, b, c) = (UserId(7_000_001), UserId(7_000_002), UserId(7_000_003));
    for user in [a, b, c] {
        verified_account(store.as_ref(), user).await;
    }
    let mut paid = Vec::new();
    for user in [a, b, a] {
        let address = shop
            .create_address(user, ShopWorld::address_draft())
            .await
            .unwrap();
        let order = shop
            .crowdfunding_order(user, skus[0].id, 1, address.id, "")
            .await
            .unwrap();
        let body = format!("{}|{}|TXN-{}", order.no, order.total.amount(), order.id);
        shop.handle_payment_notification(
            shop_core::conformance::shop::TEST_GATEWAY,
            &shop_core::payment::RawNotification {
                body: body.into_bytes(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        paid.push(order);
    }
    let address = shop
        .create_address(c, ShopWorld::address_draft())
        .await
        .unwrap();
    shop.crowdfunding_order(c, skus[0].id, 1, address.id, "")
        .await
        .unwrap();

    clock.advance(Duration::hours(1));
    let report = shop.finish_crowdfundings().await.unwrap();
    assert_eq!(report.refunds, 3);
    shop.dispatch_events().await.unwrap();
    // A second dispatch delivers nothing again.
    shop.dispatch_events().await.unwrap();

    let mails = mail.all();
    let failed: Vec<&Notification> = mails
        .iter()
        .filter(|n| matches!(n.message, Message::CrowdfundingFailed { .. }))
        .collect();
    assert_eq!(failed.len(), 3, "one per paid order: {failed:#?}");
    let mut keys: Vec<&str> = failed.iter().map(|n| n.key.as_str()).collect();
    keys.sort_unstable();
    keys.dedup();
    assert_eq!(keys.len(), 3, "each under its own key");
    for order in &paid {
        assert!(failed.iter().any(|n| matches!(
            &n.message,
            Message::CrowdfundingFailed { order_no, product_title, total, target }
                if *order_no == order.no && product_title == "Solar lamp"
                    && *total == cny("120.00") && *target == cny("1000.00")
        )));
    }
    assert!(
        !failed.iter().any(|n| n.to.contains("7000003")),
        "the unpaid buyer gets nothing"
    );
    let refunded = mails
        .iter()
        .filter(|n| matches!(n.message, Message::RefundSucceeded { .. }))
        .count();
    assert_eq!(refunded, 3);
    let view = shop.crowdfunding(campaign.id).await.unwrap();
    assert_eq!(view.progress.to_string(), "12.00");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setting_up_a_campaign_refuses_what_cannot_be_one_and_writes_nothing() {
    let store = Arc::new(MemoryStore::new());
    let w = ShopWorld::new(store.clone());
    let mut draft = ShopWorld::product_draft("Solar lamp", "Back it.");
    draft.kind = ProductKind::Crowdfunding;
    let (product, _) = w
        .shop
        .create_product(draft, vec![ShopWorld::sku_draft("40.00", 100)])
        .await
        .unwrap();
    let normal = w.sku("Cup", "10.00", 5).await;
    let now = w.shop.now();
    let ok = CrowdfundingDraft {
        product_id: product.id,
        target: cny("1000.00"),
        ends_at: now + Duration::days(7),
    };
    let cases: Vec<(&str, CrowdfundingDraft)> = vec![
        (
            "target",
            CrowdfundingDraft {
                target: cny("0.00"),
                ..ok.clone()
            },
        ),
        (
            "target",
            CrowdfundingDraft {
                target: cny("10.001"),
                ..ok.clone()
            },
        ),
        (
            "target",
            CrowdfundingDraft {
                target: Money::parse("1000.00", Currency::Usd).unwrap(),
                ..ok.clone()
            },
        ),
        (
            "ends_at",
            CrowdfundingDraft {
                ends_at: now,
                ..ok.clone()
            },
        ),
        (
            "ends_at",
            CrowdfundingDraft {
                ends_at: now + Duration::days(400),
                ..ok.clone()
            },
        ),
    ];
    for (field, draft) in cases {
        match w.shop.create_crowdfunding(draft.clone()).await {
            Err(Error::Validation { field: f, .. }) => assert_eq!(f, field, "{draft:?}"),
            other => panic!("{draft:?}: expected a validation error, got {other:?}"),
        }
    }
    match w
        .shop
        .create_crowdfunding(CrowdfundingDraft {
            product_id: normal.product_id,
            ..ok.clone()
        })
        .await
    {
        Err(Error::Refused { field, .. }) => assert_eq!(field, "product_id"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    match w
        .shop
        .create_crowdfunding(CrowdfundingDraft {
            product_id: shop_core::ids::ProductId(424_242),
            ..ok.clone()
        })
        .await
    {
        Err(Error::NotFound { .. }) => {}
        other => panic!("expected NotFound, got {other:?}"),
    }
    assert!(store
        .crowdfunding_of_product(product.id)
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        store.list_crowdfundings(None, 1, 10).await.unwrap().total,
        0
    );
    w.shop.create_crowdfunding(ok).await.unwrap();
}
