//! Behaviour of the Redis adapters beyond the conformance suite: the shared
//! rate limiter, session TTLs, errors, and carts in Redis next to orders in
//! SQLite through the `Shop` facade.

mod common;

use std::sync::Arc;

use chrono::{Duration, Utc};
use shop_core::account::{Session, SessionStore};
use shop_core::cart::CartStore;
use shop_core::catalog::{ProductDraft, ProductKind, SkuDraft};
use shop_core::conformance::concurrently;
use shop_core::ids::{SkuId, UserId};
use shop_core::service::{OrderLineRequest, PlaceOrderRequest};
use shop_core::user::AddressDraft;
use shop_core::{Currency, Error, Money, Shop, StoreError, Stores};
use shop_storage_redis::redis::AsyncCommands;
use shop_storage_redis::RedisStore;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_rate_limiter_allows_exactly_the_burst_under_concurrency() {
    let Some(store) = common::redis_store().await else {
        return;
    };
    let store = Arc::new(store);
    common::ten_of_thirty_pass(store.clone()).await;
    assert!(!store.rate_limit("login:10.0.0.1", 10).await.unwrap());
    assert!(store.rate_limit("login:10.0.0.2", 10).await.unwrap());
    assert!(store.rate_limit("register:10.0.0.1", 10).await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_connections_with_one_prefix_share_a_bucket() {
    let Some(a) = common::redis_store().await else {
        return;
    };
    let b = RedisStore::connect(&common::redis_url(), a.prefix())
        .await
        .unwrap();
    let (a, b) = (Arc::new(a), Arc::new(b));
    let results = concurrently(
        (0..20)
            .map(|i| {
                let store = if i % 2 == 0 {
                    Arc::clone(&a)
                } else {
                    Arc::clone(&b)
                };
                async move { store.rate_limit("checkout:10.0.0.9", 7).await.unwrap() }
            })
            .collect(),
    )
    .await;
    assert_eq!(results.iter().filter(|ok| **ok).count(), 7);
}

#[tokio::test]
async fn sessions_expire_in_redis_after_their_lifetime() {
    let Some(store) = common::redis_store().await else {
        return;
    };
    let now = Utc::now();
    let session = Session {
        token_hash: "ttl".into(),
        user_id: UserId(1),
        created_at: now,
        expires_at: now + Duration::seconds(90),
    };
    store.create_session(&session).await.unwrap();
    let client = shop_storage_redis::redis::Client::open(common::redis_url()).unwrap();
    let mut raw = client.get_multiplexed_async_connection().await.unwrap();
    let ttl: i64 = raw
        .pttl(format!("{}{{sessions}}:session:ttl", store.prefix()))
        .await
        .unwrap();
    assert!((80_000..=90_000).contains(&ttl), "ttl {ttl} ms");
    store.delete_session("ttl").await.unwrap();
    let index: i64 = raw
        .zcard(format!("{}{{sessions}}:expiry", store.prefix()))
        .await
        .unwrap();
    assert_eq!(index, 0, "deleting a session leaves no index entry");
}

#[tokio::test]
async fn foreign_data_under_the_prefix_is_a_backend_error_not_a_panic() {
    let Some(store) = common::redis_store().await else {
        return;
    };
    let client = shop_storage_redis::redis::Client::open(common::redis_url()).unwrap();
    let mut raw = client.get_multiplexed_async_connection().await.unwrap();
    let _: () = raw
        .hset(format!("{}cart:5", store.prefix()), "17", "lots")
        .await
        .unwrap();
    let err = store.list_cart(UserId(5)).await.unwrap_err();
    assert!(
        matches!(err, Error::Store(StoreError::Backend { .. })),
        "{err:?}"
    );
    let _: () = raw
        .set(
            format!("{}{{sessions}}:session:bad", store.prefix()),
            "{not json",
        )
        .await
        .unwrap();
    let err = store.get_session("bad", Utc::now()).await.unwrap_err();
    assert!(
        matches!(err, Error::Store(StoreError::Backend { .. })),
        "{err:?}"
    );
}

#[tokio::test]
async fn an_unreachable_server_is_retryable_and_a_bad_url_is_a_validation_error() {
    let err = RedisStore::connect("redis://127.0.0.1:1", "x:")
        .await
        .unwrap_err();
    match err {
        Error::Store(e) => assert!(e.is_retryable(), "{e:?}"),
        other => panic!("{other:?}"),
    }
    let err = RedisStore::connect("http://nope", "x:").await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Validation {
                field: "redis_url",
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn carts_in_redis_orders_in_sqlite_placement_empties_the_bought_lines() {
    let Some(redis) = common::redis_store().await else {
        return;
    };
    let redis = Arc::new(redis);
    let sql = common::sqlite().await;
    let stores = Stores::from_backend(sql.clone()).with_carts(redis.clone());
    let shop = Shop::builder(stores).build();

    let (_, skus) = shop
        .create_product(
            ProductDraft {
                kind: ProductKind::Normal,
                title: "Lamp".into(),
                long_title: "Desk lamp".into(),
                description: "bright".into(),
                image: String::new(),
                on_sale: true,
                category_id: None,
                properties: vec![],
            },
            ["warm", "cold"]
                .into_iter()
                .map(|t| SkuDraft {
                    title: t.into(),
                    description: String::new(),
                    price: Money::parse("20.00", Currency::Cny).unwrap(),
                    stock: 5,
                })
                .collect(),
        )
        .await
        .unwrap();
    let buyer = UserId(77);
    shop.add_to_cart(buyer, skus[0].id, 2).await.unwrap();
    shop.add_to_cart(buyer, skus[1].id, 1).await.unwrap();
    let err = shop.add_to_cart(buyer, skus[1].id, 5).await.unwrap_err();
    assert!(matches!(err, Error::OutOfStock { .. }), "{err:?}");
    assert_eq!(redis.list_cart(buyer).await.unwrap().len(), 2);
    assert!(sql.list_cart(buyer).await.unwrap().is_empty());

    let address = shop
        .create_address(
            buyer,
            AddressDraft {
                province: "Beijing".into(),
                city: "Beijing".into(),
                district: "Haidian".into(),
                street: "1 Road".into(),
                zip: "100000".into(),
                contact_name: "Li Lei".into(),
                contact_phone: "13800000000".into(),
            },
        )
        .await
        .unwrap();
    shop.place_order(
        buyer,
        PlaceOrderRequest {
            address_id: address.id,
            items: vec![OrderLineRequest {
                sku_id: skus[0].id,
                quantity: 2,
            }],
            coupon_code: None,
            remark: String::new(),
            submit_token: None,
        },
    )
    .await
    .unwrap();
    let left: Vec<SkuId> = redis
        .list_cart(buyer)
        .await
        .unwrap()
        .iter()
        .map(|l| l.sku_id)
        .collect();
    assert_eq!(left, vec![skus[1].id]);
}

#[tokio::test]
async fn clear_deletes_exactly_the_keys_under_the_prefix() {
    let Some(store) = common::redis_store().await else {
        return;
    };
    let Some(neighbour) = common::redis_store().await else {
        return;
    };
    let now = Utc::now();
    for s in [&store, &neighbour] {
        s.add_to_cart(UserId(1), SkuId(2), 1, now).await.unwrap();
        s.create_session(&Session {
            token_hash: "c".into(),
            user_id: UserId(1),
            created_at: now,
            expires_at: now + Duration::hours(1),
        })
        .await
        .unwrap();
    }
    // The cart hash, the session, the expiry index and the user's sessions.
    assert_eq!(store.clear().await.unwrap(), 4);
    assert_eq!(store.list_cart(UserId(1)).await.unwrap(), vec![]);
    assert_eq!(store.get_session("c", now).await.unwrap(), None);
    assert_eq!(store.clear().await.unwrap(), 0);
    assert_eq!(neighbour.list_cart(UserId(1)).await.unwrap().len(), 1);
    assert!(neighbour.get_session("c", now).await.unwrap().is_some());
    neighbour.clear().await.unwrap();
}
