//! Flash sales with the in-memory fast stock in front of the memory store:
//! the crowd and the close race of the conformance suite through the gate,
//! and reconciliation after a process died between the take and the order.

#![cfg(feature = "testing")]

use std::sync::Arc;

use chrono::Duration;
use shop_core::catalog::ProductKind;
use shop_core::conformance::fixtures::{base_time, cny};
use shop_core::conformance::shop::ShopWorld;
use shop_core::conformance::{
    flash_sale_close_races_payment_with, flash_sale_crowd, flash_sale_reconciliation_with,
};
use shop_core::memory::{MemorySeckillStock, MemoryStore};
use shop_core::seckill::{FlashSaleDraft, FlashSaleStore};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_crowd_through_the_gate_never_oversells() {
    let stock = Arc::new(MemorySeckillStock::new());
    flash_sale_crowd(
        Arc::new(MemoryStore::new()),
        Some(stock),
        10_000,
        2_000,
        100,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_close_racing_a_payment_returns_the_unit_to_the_gate_once() {
    let stock = Arc::new(MemorySeckillStock::new());
    flash_sale_close_races_payment_with(Arc::new(MemoryStore::new()), Some(stock)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconciliation_returns_a_unit_whose_order_was_never_written() {
    let stock = Arc::new(MemorySeckillStock::new());
    let forgetful = stock.clone();
    flash_sale_reconciliation_with(Arc::new(MemoryStore::new()), stock, |sale| {
        forgetful.forget(sale);
        std::future::ready(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setting_up_a_sale_refuses_what_cannot_be_sold_and_writes_nothing() {
    let store = Arc::new(MemoryStore::new());
    let w = ShopWorld::new(store.clone());
    let mut draft = ShopWorld::product_draft("Flash phone", "One per buyer.");
    draft.kind = ProductKind::Seckill;
    let (_, skus) = w
        .shop
        .create_product(draft, vec![ShopWorld::sku_draft("999.00", 7)])
        .await
        .unwrap();
    let sku = &skus[0];
    let normal = w.sku("Plain cup", "5.00", 5).await;
    let now = base_time();
    let ok = FlashSaleDraft {
        sku_id: sku.id,
        price: cny("1.00"),
        quantity: 3,
        starts_at: now,
        ends_at: now + Duration::hours(1),
    };
    let field = |r: shop_core::Result<shop_core::seckill::FlashSale>| match r {
        Err(
            shop_core::Error::Validation { field, .. } | shop_core::Error::Refused { field, .. },
        ) => field,
        other => panic!("expected a refusal, got {other:?}"),
    };
    let past = FlashSaleDraft {
        starts_at: now - Duration::hours(2),
        ends_at: now - Duration::hours(1),
        ..ok.clone()
    };
    assert_eq!(field(w.shop.create_flash_sale(past).await), "ends_at");
    let far = FlashSaleDraft {
        starts_at: now + Duration::days(400),
        ends_at: now + Duration::days(401),
        ..ok.clone()
    };
    assert_eq!(field(w.shop.create_flash_sale(far).await), "starts_at");
    let plain = FlashSaleDraft {
        sku_id: normal.id,
        ..ok.clone()
    };
    assert_eq!(field(w.shop.create_flash_sale(plain).await), "sku_id");
    let dollars = FlashSaleDraft {
        price: shop_core::Money::parse("1.00", shop_core::Currency::Usd).unwrap(),
        ..ok.clone()
    };
    assert_eq!(field(w.shop.create_flash_sale(dollars).await), "price");
    assert!(store.flash_sale_of_sku(sku.id).await.unwrap().is_none());
    assert_eq!(
        w.shop.product_detail(sku.product_id).await.unwrap().skus[0].stock,
        7,
        "nothing changed"
    );
    w.shop.create_flash_sale(ok.clone()).await.unwrap();
    assert_eq!(field(w.shop.create_flash_sale(ok).await), "sku_id");
}
