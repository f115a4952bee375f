//! The shop-core conformance suite on SQLite: each test gets a fresh
//! database file of its own.

mod common;

shop_core::conformance_tests!(common::sqlite_store());
