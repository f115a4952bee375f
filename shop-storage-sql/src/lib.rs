//! # shop-storage-sql
//!
//! SQLite, PostgreSQL and MySQL/MariaDB storage backends on sqlx (issue #3).
//!
//! **Not built yet.** This crate is reserved in the workspace and holds no
//! code today; see the feature table in the repository README.
