//! Closing expired orders through the service on a real database: chunked
//! by id, two workers at once, each order closed (and its stock given back)
//! exactly once.

mod common;

use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use shop_core::catalog::{ProductDraft, ProductKind, SkuDraft};
use shop_core::clock::ManualClock;
use shop_core::conformance::Backend;
use shop_core::ids::{SequentialIds, UserId};
use shop_core::service::{OrderLineRequest, PlaceOrderRequest};
use shop_core::user::AddressDraft;
use shop_core::{Currency, Money, Shop, ShopConfig, Stores};

/// 120 orders of 2 units each on a SKU of 240, closed by two concurrent
/// workers in chunks of 7: exactly 120 closes and all 240 units back.
pub async fn two_workers_close_each_expired_order_once<B: Backend>(store: B) {
    let store = Arc::new(store);
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 5, 1, 8, 0, 0).unwrap(),
    ));
    let config = ShopConfig {
        close_batch_size: 7,
        ..ShopConfig::default()
    };
    let shop = Shop::builder(Stores::from_backend(Arc::clone(&store)))
        .clock(clock.clone())
        .ids(Arc::new(SequentialIds::default()))
        .config(config)
        .build();
    let (_, skus) = shop
        .create_product(
            ProductDraft {
                kind: ProductKind::Normal,
                title: "Kettle".into(),
                long_title: String::new(),
                description: String::new(),
                image: String::new(),
                on_sale: true,
                category_id: None,
                properties: vec![],
            },
            vec![SkuDraft {
                title: "steel".into(),
                description: String::new(),
                price: Money::parse("30.00", Currency::Cny).unwrap(),
                stock: 240,
            }],
        )
        .await
        .unwrap();
    let sku = skus[0].id;
    for n in 0..120 {
        let user = UserId(500 + n);
        let address = shop
            .create_address(
                user,
                AddressDraft {
                    province: "Sichuan".into(),
                    city: "Chengdu".into(),
                    district: String::new(),
                    street: "2 Panda Rd".into(),
                    zip: String::new(),
                    contact_name: "Zhang".into(),
                    contact_phone: "138".into(),
                },
            )
            .await
            .unwrap();
        shop.place_order(
            user,
            PlaceOrderRequest {
                address_id: address.id,
                items: vec![OrderLineRequest {
                    sku_id: sku,
                    quantity: 2,
                }],
                coupon_code: None,
                remark: String::new(),
                submit_token: None,
            },
        )
        .await
        .unwrap();
    }
    assert_eq!(store.get_sku(sku).await.unwrap().unwrap().stock, 0);
    clock.advance(Duration::minutes(31));
    let (a, b) = tokio::join!(shop.close_expired_orders(), shop.close_expired_orders());
    assert_eq!(a.unwrap() + b.unwrap(), 120);
    assert_eq!(store.get_sku(sku).await.unwrap().unwrap().stock, 240);
    assert_eq!(shop.close_expired_orders().await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_two_workers_close_each_expired_order_once() {
    two_workers_close_each_expired_order_once(common::sqlite_store().await).await;
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_two_workers_close_each_expired_order_once() {
    if let Some(store) = common::pg::fresh().await {
        two_workers_close_each_expired_order_once(store).await;
    }
}

#[cfg(feature = "mysql")]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mysql_two_workers_close_each_expired_order_once() {
    if let Some(store) = common::my::fresh().await {
        two_workers_close_each_expired_order_once(store).await;
    }
}
