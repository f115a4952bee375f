//! # shop-core
//!
//! The rules of an online shop — catalog, carts, orders, coupons, payments,
//! refunds and reviews — as plain Rust, with storage, payment, search and
//! notification behind ports (traits) that adapter crates implement.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod cart;
pub mod catalog;
pub mod clock;
pub mod coupon;
pub mod error;
pub mod events;
pub mod ids;
pub mod money;
pub mod notify;
pub mod order;
pub mod payment;
pub mod refund;
pub mod search;
pub mod service;
pub mod user;

pub use error::{Entity, Error, ErrorKind, Result, StoreError};
pub use money::{Currency, Money};
pub use service::{Shop, ShopBuilder, ShopConfig, Stores};
