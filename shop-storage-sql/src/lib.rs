//! # shop-storage-sql
//!
//! The storage ports of [`shop_core`] on [sqlx](https://docs.rs/sqlx):
//! [`SqliteStore`] (the embedded default), [`PgStore`] (PostgreSQL 15 and
//! later) and [`MySqlStore`] (MySQL or MariaDB with InnoDB). Each store
//! implements every store trait and passes `shop_core::conformance`.
//!
//! Race-sensitive rules are enforced in SQL so they hold across processes:
//! stock is decremented with `UPDATE … WHERE stock >= ?`, a coupon's use
//! with `UPDATE … WHERE used < total`, once-per-user by the primary key of
//! `coupon_holds`, and every state change is `UPDATE … WHERE status = ?`.
//! Times are bound from the shop's clock, never the database's `now()`.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> shop_core::Result<()> {
//! use std::sync::Arc;
//! use shop_core::{Shop, Stores};
//! use shop_storage_sql::SqliteStore;
//!
//! let dir = std::env::temp_dir().join(format!("shop-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! let url = format!("sqlite://{}/shop.db", dir.display());
//! let store = SqliteStore::connect(&url).await?;
//! store.migrate().await?;
//! let shop = Shop::builder(Stores::from_backend(Arc::new(store))).build();
//! assert!(shop.category_tree().await?.is_empty());
//! # std::fs::remove_dir_all(&dir).ok();
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod common;
mod mysql;
mod postgres;
mod sqlite;

pub use mysql::MySqlStore;
pub use postgres::PgStore;
pub use sqlite::SqliteStore;
/// The sqlx version these stores are built with, so applications can use
/// matching pool and driver types.
pub use sqlx;
