//! # shop-core
//!
//! The rules of an online shop — catalog, carts, orders, coupons, payments,
//! refunds and reviews — as plain Rust, with storage, payment, search and
//! notification behind ports (traits) that adapter crates implement.
//!
//! * Domain modules ([`money`], [`catalog`], [`cart`], [`coupon`], [`order`],
//!   [`refund`], [`user`]) hold the rules as plain functions and methods,
//!   testable without async or storage.
//! * Ports: one `#[async_trait]` trait per aggregate ([`catalog::CatalogStore`],
//!   [`user::UserStore`], [`cart::CartStore`], [`coupon::CouponStore`],
//!   [`order::OrderStore`], …), the outbox ([`outbox::OutboxStore`]) and the
//!   job runner's leases ([`jobs::JobStore`]), plus [`clock::Clock`], [`ids::IdGenerator`],
//!   [`payment::PaymentGateway`], [`search::SearchIndex`],
//!   [`notify::Notifier`] and [`events::EventListener`]. All are
//!   dyn-compatible, so an application holds `Arc<dyn OrderStore>` and may mix
//!   backends.
//! * [`Shop`] is the facade with every use case: it loads, decides with the
//!   pure rules, and writes with one atomic port call that records the
//!   change's [`events`] in the outbox; [`Shop::dispatch_events`]
//!   delivers them to listeners and [`Shop::job_runner`] runs the shop's
//!   jobs on a schedule, once per tick across nodes.
//! * `memory` (feature `memory`, on by default) is the in-memory reference
//!   backend; `conformance` (feature `testing`) is the suite every storage
//!   backend must pass; feature `openapi` derives `utoipa::ToSchema` on the
//!   types an HTTP API returns.
//!
//! ## Example
//!
//! A purchase on the in-memory backend:
//!
//! ```
//! use std::sync::Arc;
//! use shop_core::catalog::{ProductDraft, ProductKind, SkuDraft};
//! use shop_core::ids::UserId;
//! use shop_core::memory::MemoryStore;
//! use shop_core::service::{OrderLineRequest, PlaceOrderRequest};
//! use shop_core::user::AddressDraft;
//! use shop_core::{Currency, Error, Money, Shop, Stores};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Error> {
//! let shop = Shop::builder(Stores::from_backend(Arc::new(MemoryStore::new()))).build();
//!
//! let (_product, skus) = shop
//!     .create_product(
//!         ProductDraft {
//!             kind: ProductKind::Normal,
//!             title: "Tea cup".into(),
//!             long_title: "Hand-made tea cup".into(),
//!             description: "Porcelain.".into(),
//!             image: "https://example.com/cup.png".into(),
//!             on_sale: true,
//!             category_id: None,
//!             properties: vec![],
//!         },
//!         vec![SkuDraft {
//!             title: "White".into(),
//!             description: String::new(),
//!             price: Money::parse("19.90", Currency::Cny)?,
//!             stock: 1,
//!         }],
//!     )
//!     .await?;
//!
//! let buyer = UserId(1);
//! let address = shop
//!     .create_address(
//!         buyer,
//!         AddressDraft {
//!             province: "Zhejiang".into(),
//!             city: "Hangzhou".into(),
//!             district: "Xihu".into(),
//!             street: "1 Lake Rd".into(),
//!             zip: "310000".into(),
//!             contact_name: "Wang Fang".into(),
//!             contact_phone: "13900000000".into(),
//!         },
//!     )
//!     .await?;
//! shop.add_to_cart(buyer, skus[0].id, 1).await?;
//!
//! let token = shop.issue_submit_token(buyer).await?;
//! let order = shop
//!     .place_order(
//!         buyer,
//!         PlaceOrderRequest {
//!             address_id: address.id,
//!             items: vec![OrderLineRequest { sku_id: skus[0].id, quantity: 1 }],
//!             coupon_code: None,
//!             remark: String::new(),
//!             submit_token: Some(token),
//!         },
//!     )
//!     .await?;
//! assert_eq!(order.total, Money::parse("19.90", Currency::Cny)?);
//! assert!(shop.cart(buyer).await?.is_empty());
//!
//! // The last unit is sold: a second buyer gets a typed error.
//! let err = shop.add_to_cart(UserId(2), skus[0].id, 1).await.unwrap_err();
//! assert!(matches!(err, Error::OutOfStock { available: 0, .. }));
//! # Ok(())
//! # }
//! ```
//!
//! ## Implementing a backend
//!
//! A storage backend implements the store traits (the
//! [`conformance::Backend`] bound lists them). Each method that writes is
//! one atomic step and must enforce its race-sensitive rule in the write
//! itself (SQL `WHERE`, a unique constraint, a Lua script), never by a read
//! followed by a write: `place_order` decrements stock only where
//! `stock >= quantity`; coupon use increments only where `used < total`;
//! `transition`, `close_order`, `review_order` and the refund writes are
//! compare-and-set on the order's state and fail with
//! [`StoreError::Conflict`] when another actor got there first. A writing
//! method that takes `events: &[events::EventRecord]` writes them to its
//! outbox ([`outbox::OutboxStore`]) in the same atomic step, only when the
//! write succeeds. Bind times passed in (from the [`clock::Clock`]) rather
//! than the database's `now()`.
//! Prove it by running the conformance suite (feature `testing`):
//!
//! ```text
//! shop_core::conformance_tests!(async { MyStore::connect_fresh().await });
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod account;
pub mod cache;
pub mod cart;
pub mod catalog;
pub mod clock;
#[cfg(feature = "testing")]
pub mod conformance;
pub mod coupon;
pub mod crowdfunding;
pub mod delay;
pub mod error;
pub mod events;
pub mod ids;
pub mod installment;
pub mod jobs;
#[cfg(feature = "memory")]
pub mod memory;
pub mod money;
pub mod notify;
pub mod order;
pub mod outbox;
pub mod page;
pub mod payment;
pub mod refund;
pub mod search;
pub mod seckill;
pub mod service;
pub mod state;
pub mod text;
pub mod user;

pub use error::{Entity, Error, ErrorKind, Result, StoreError};
pub use money::{Currency, Money};
pub use service::{Backend, Shop, ShopBuilder, ShopConfig, Stores};
