//! The example shop, today a console walk-through on the in-memory backend:
//! it seeds a catalog, lets 20 shoppers race for 5 units of one SKU, closes
//! an expired order and prints what happened. The HTTP storefront and admin
//! API arrive with the example-shop issue.

use std::sync::Arc;

use chrono::Duration;
use shop_core::catalog::{ProductDraft, ProductKind, Property, SkuDraft};
use shop_core::clock::ManualClock;
use shop_core::ids::UserId;
use shop_core::memory::MemoryStore;
use shop_core::service::{OrderLineRequest, PlaceOrderRequest};
use shop_core::user::AddressDraft;
use shop_core::{Currency, Error, Money, Shop, Stores};

fn address() -> AddressDraft {
    AddressDraft {
        province: "Zhejiang".into(),
        city: "Hangzhou".into(),
        district: "Xihu".into(),
        street: "1 Lake Rd".into(),
        zip: "310000".into(),
        contact_name: "Wang Fang".into(),
        contact_phone: "13900000000".into(),
    }
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let shop = Shop::builder(Stores::from_backend(Arc::new(MemoryStore::new())))
        .clock(clock.clone())
        .build();

    let kitchen = shop.create_category("Kitchen", true, None).await?;
    let cups = shop
        .create_category("Cups", false, Some(kitchen.id))
        .await?;
    let (product, skus) = shop
        .create_product(
            ProductDraft {
                kind: ProductKind::Normal,
                title: "Tea cup".into(),
                long_title: "Hand-made porcelain tea cup".into(),
                description: "Fired twice.".into(),
                image: "https://example.com/cup.png".into(),
                on_sale: true,
                category_id: Some(cups.id),
                properties: vec![Property {
                    name: "material".into(),
                    value: "porcelain".into(),
                }],
            },
            vec![SkuDraft {
                title: "White".into(),
                description: String::new(),
                price: Money::parse("19.90", Currency::Cny)?,
                stock: 5,
            }],
        )
        .await?;
    println!(
        "catalog: {} at {} ({} in stock)",
        product.title, product.price, skus[0].stock
    );

    let sku = skus[0].id;
    let shoppers: Vec<_> = (1..=20)
        .map(|n| {
            let shop = shop.clone();
            tokio::spawn(async move {
                let user = UserId(n);
                let address = shop.create_address(user, address()).await?;
                shop.place_order(
                    user,
                    PlaceOrderRequest {
                        address_id: address.id,
                        items: vec![OrderLineRequest {
                            sku_id: sku,
                            quantity: 1,
                        }],
                        coupon_code: None,
                        remark: String::new(),
                        submit_token: None,
                    },
                )
                .await
            })
        })
        .collect();
    let (mut sold, mut refused) = (0, 0);
    for shopper in shoppers {
        match shopper.await.expect("shopper task") {
            Ok(_) => sold += 1,
            Err(Error::OutOfStock { .. }) => refused += 1,
            Err(e) => return Err(e),
        }
    }
    println!("20 shoppers, 5 units: {sold} orders placed, {refused} refused as out of stock");
    println!("stock now: {}", shop.sku(sku).await?.stock);

    clock.advance(Duration::minutes(31));
    let closed = shop.close_expired_orders().await?;
    println!("31 minutes later, unpaid: {closed} orders closed");
    println!("stock back to: {}", shop.sku(sku).await?.stock);
    Ok(())
}
