//! Smoke test of the in-memory backend (replaced by the conformance suite).

use chrono::{DateTime, Duration};
use rust_decimal_macros::dec;
use shop_core::catalog::{CatalogStore, Category, Product, ProductKind, Sku};
use shop_core::ids::*;
use shop_core::memory::MemoryStore;
use shop_core::order::*;
use shop_core::user::AddressSnapshot;
use shop_core::{Currency, Error, Money};

#[tokio::test]
async fn smoke() {
    let s = MemoryStore::new();
    let now = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
    let cat = Category::new(CategoryId(1), "A", true, None).unwrap();
    s.create_category(&cat).await.unwrap();
    let price = Money::new(dec!(10.00), Currency::Cny);
    let p = Product {
        id: ProductId(2),
        kind: ProductKind::Normal,
        title: "t".into(),
        long_title: "".into(),
        description: "".into(),
        image: "".into(),
        on_sale: true,
        category_id: Some(cat.id),
        properties: vec![],
        rating: dec!(0),
        sold_count: 0,
        review_count: 0,
        price,
        created_at: now,
        updated_at: now,
    };
    let sku = Sku {
        id: SkuId(3),
        product_id: p.id,
        title: "s".into(),
        description: "".into(),
        price,
        stock: 2,
    };
    s.create_product(&p, &[sku.clone()]).await.unwrap();
    let mk = |id: i64, no: &str| Order {
        id: OrderId(id),
        no: no.into(),
        user_id: UserId(1),
        kind: ProductKind::Normal,
        address: AddressSnapshot {
            address: "a".into(),
            zip: "".into(),
            contact_name: "c".into(),
            contact_phone: "1".into(),
        },
        items: vec![OrderItem {
            id: OrderItemId(id * 10),
            product_id: p.id,
            sku_id: sku.id,
            quantity: 2,
            unit_price: price,
            review: None,
        }],
        items_total: price,
        total: price,
        coupon_id: None,
        remark: "".into(),
        state: OrderState::PENDING,
        payment: None,
        shipment: None,
        refund_reason: None,
        refund_refusal: None,
        created_at: now,
        expires_at: now + Duration::minutes(30),
        closed_at: None,
    };
    let o = s
        .place_order(&PlaceOrder {
            order: mk(5, "n1"),
            submit_token: None,
            clear_cart: true,
        })
        .await
        .unwrap();
    assert_eq!(s.get_order(o.id).await.unwrap(), Some(o.clone()));
    assert_eq!(s.get_sku(sku.id).await.unwrap().unwrap().stock, 0);
    let e = s
        .place_order(&PlaceOrder {
            order: mk(6, "n2"),
            submit_token: None,
            clear_cart: true,
        })
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::OutOfStock {
                requested: 2,
                available: 0,
                ..
            }
        ),
        "{e:?}"
    );
    s.close_order(o.id, now).await.unwrap();
    assert_eq!(s.get_sku(sku.id).await.unwrap().unwrap().stock, 2);
    assert!(s.close_order(o.id, now).await.is_err());
}
