//! Seed data for the conformance cases, built only with the public domain
//! functions (`Category::new`, `order_totals`, `payment_window`,
//! `OrderNoGenerator`, an [`IdGenerator`]).
//!
//! Times are whole seconds so every backend stores them exactly.

mod orders;

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use rust_decimal::Decimal;

use super::Backend;
use crate::cart::CartItem;
use crate::catalog::{cheapest_price, Category, Product, ProductKind, Sku};
use crate::coupon::{Coupon, CouponDraft, CouponKind};
use crate::ids::{
    AddressId, CategoryId, CouponId, IdGenerator, OrderNoGenerator, ProductId, SequentialIds,
    SkuId, UserId,
};
use crate::money::{Currency, Money};
use crate::order::OrderQuery;
use crate::user::{Address, AddressDraft};

/// The fixed "now" of every case: 2024-06-01 12:00:00 UTC.
pub fn base_time() -> DateTime<Utc> {
    DateTime::from_timestamp(1_717_243_200, 0).expect("a valid timestamp")
}

/// An amount in CNY, e.g. `cny("10.00")`.
pub fn cny(amount: &str) -> Money {
    Money::parse(amount, Currency::Cny).expect("a decimal amount")
}

/// A small category tree: `electronics/` › `phones/` › `android`, and a root
/// leaf `books`.
#[derive(Debug, Clone)]
pub struct CategoryTree {
    /// Root directory.
    pub electronics: Category,
    /// Directory under `electronics`.
    pub phones: Category,
    /// Leaf under `phones`.
    pub android: Category,
    /// Root leaf.
    pub books: Category,
}

/// A store plus the generators that build valid entities for it.
#[derive(Debug)]
pub struct Fixture<B> {
    /// The store under test.
    pub store: Arc<B>,
    /// Ids for every entity (one sequence, so ids never collide).
    pub ids: SequentialIds,
    /// Order numbers.
    pub order_nos: OrderNoGenerator,
    /// The time new entities are created at.
    pub now: DateTime<Utc>,
}

impl<B: Backend> Fixture<B> {
    /// A fixture on `store`, at [`base_time`], with ids from 1000.
    pub fn new(store: Arc<B>) -> Self {
        Fixture {
            store,
            ids: SequentialIds::starting_at(1000),
            order_nos: OrderNoGenerator::default(),
            now: base_time(),
        }
    }

    /// A fresh id.
    pub fn id(&self) -> i64 {
        self.ids.next_id()
    }

    /// A fresh user id.
    pub fn user(&self) -> UserId {
        UserId(self.id())
    }

    /// Stores a category under `parent`.
    pub async fn category(
        &self,
        name: &str,
        is_directory: bool,
        parent: Option<&Category>,
    ) -> Category {
        let category = Category::new(CategoryId(self.id()), name, is_directory, parent)
            .expect("a valid category");
        self.store
            .create_category(&category)
            .await
            .expect("create_category");
        category
    }

    /// Stores the [`CategoryTree`].
    pub async fn category_tree(&self) -> CategoryTree {
        let electronics = self.category("Electronics", true, None).await;
        let phones = self.category("Phones", true, Some(&electronics)).await;
        let android = self.category("Android", false, Some(&phones)).await;
        let books = self.category("Books", false, None).await;
        CategoryTree {
            electronics,
            phones,
            android,
            books,
        }
    }

    /// A normal, on-sale product (not stored) with one SKU per
    /// `(price, stock)`; its price is the cheapest SKU's, its counters zero.
    pub fn build_product(
        &self,
        title: &str,
        category: Option<&Category>,
        skus: &[(&str, u32)],
    ) -> (Product, Vec<Sku>) {
        let id = ProductId(self.id());
        let skus: Vec<Sku> = skus
            .iter()
            .enumerate()
            .map(|(i, (price, stock))| Sku {
                id: SkuId(self.id()),
                product_id: id,
                title: format!("{title} #{}", i + 1),
                description: format!("variant {} of {title}", i + 1),
                price: cny(price),
                stock: *stock,
            })
            .collect();
        let product = Product {
            id,
            kind: ProductKind::Normal,
            title: title.to_owned(),
            long_title: String::new(),
            description: String::new(),
            image: format!("https://img.example/{id}.png"),
            on_sale: true,
            category_id: category.map(|c| c.id),
            properties: Vec::new(),
            rating: Decimal::ZERO,
            sold_count: 0,
            review_count: 0,
            price: cheapest_price(skus.iter().map(|s| &s.price)).expect("at least one sku"),
            created_at: self.now,
            updated_at: self.now,
        };
        (product, skus)
    }

    /// Stores a product built by [`Fixture::build_product`] without a
    /// category, and returns its SKUs.
    pub async fn product(&self, skus: &[(&str, u32)]) -> Vec<Sku> {
        let (product, skus) = self.build_product("Widget", None, skus);
        self.store
            .create_product(&product, &skus, &[])
            .await
            .expect("create_product");
        skus
    }

    /// One SKU priced 10.00 with `stock` units, stored with its product.
    pub async fn sku(&self, stock: u32) -> Sku {
        self.product(&[("10.00", stock)]).await.remove(0)
    }

    /// A SKU's current stock.
    pub async fn stock(&self, sku: SkuId) -> u32 {
        self.store
            .get_sku(sku)
            .await
            .expect("get_sku")
            .expect("the sku exists")
            .stock
    }

    /// An address of `user` (not stored).
    pub fn build_address(&self, user: UserId) -> Address {
        Address {
            id: AddressId(self.id()),
            user_id: user,
            fields: AddressDraft {
                province: "Guangdong".to_owned(),
                city: "Shenzhen".to_owned(),
                district: "Nanshan".to_owned(),
                street: format!("{} Keyuan Road", user.0 % 1000),
                zip: "518000".to_owned(),
                contact_name: format!("User {user}"),
                contact_phone: "+86 755 0000 0000".to_owned(),
            },
            last_used_at: None,
        }
    }

    /// A coupon (not stored): 5.00 off, no minimum, `total` copies, enabled,
    /// no validity window, created at `now`.
    pub fn build_coupon(&self, total: u32) -> Coupon {
        let id = CouponId(self.id());
        Coupon {
            id,
            code: format!("CODE{:012}", id.0),
            draft: CouponDraft {
                name: format!("5 off #{id}"),
                kind: CouponKind::Fixed,
                value: Decimal::new(500, 2),
                min_amount: cny("0.00"),
                total,
                not_before: None,
                not_after: None,
                enabled: true,
            },
            used: 0,
            created_at: self.now,
        }
    }

    /// Stores a [`Fixture::build_coupon`] coupon.
    pub async fn coupon(&self, total: u32) -> Coupon {
        let coupon = self.build_coupon(total);
        self.store
            .create_coupon(&coupon)
            .await
            .expect("create_coupon");
        coupon
    }

    /// A coupon's current `used`.
    pub async fn used(&self, coupon: CouponId) -> u32 {
        self.store
            .get_coupon(coupon)
            .await
            .expect("get_coupon")
            .expect("the coupon exists")
            .used
    }
}

/// What a refused write must leave as it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    /// Stock of each SKU looked at.
    pub stock: Vec<u32>,
    /// The coupon's `used`, if one was looked at.
    pub used: Option<u32>,
    /// Whether the user holds that coupon.
    pub held: Option<bool>,
    /// Number of orders in the store.
    pub orders: u64,
    /// The user's cart.
    pub cart: Vec<CartItem>,
    /// The outbox's newest event: a refused write records none.
    pub events: i64,
}

impl<B: Backend> Fixture<B> {
    /// Observes the stock of `skus`, the coupon, every order and `user`'s cart.
    pub async fn observe(&self, skus: &[&Sku], coupon: Option<&Coupon>, user: UserId) -> Observed {
        let mut stock = Vec::new();
        for sku in skus {
            stock.push(self.stock(sku.id).await);
        }
        let (used, held) = match coupon {
            Some(c) => (
                Some(self.used(c.id).await),
                Some(
                    self.store
                        .coupon_held_by(c.id, user)
                        .await
                        .expect("coupon_held_by"),
                ),
            ),
            None => (None, None),
        };
        let orders = self.order_count().await;
        let cart = self.store.list_cart(user).await.expect("list_cart");
        let events = self
            .store
            .outbox_status()
            .await
            .expect("outbox_status")
            .head;
        Observed {
            stock,
            used,
            held,
            orders,
            cart,
            events,
        }
    }

    /// The number of orders in the store.
    pub async fn order_count(&self) -> u64 {
        self.store
            .list_orders(&OrderQuery {
                page: 1,
                per_page: 1,
                ..OrderQuery::default()
            })
            .await
            .expect("list_orders")
            .total
    }
}

/// `at` plus `minutes`.
pub fn minutes_after(at: DateTime<Utc>, minutes: i64) -> DateTime<Utc> {
    at + Duration::minutes(minutes)
}
