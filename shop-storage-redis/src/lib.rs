//! # shop-storage-redis
//!
//! Redis adapters: carts, flash-sale stock, idempotency tokens, delayed jobs.
//!
//! **Not built yet.** This crate is reserved in the workspace and holds no
//! code today; see the feature table in the repository README.
