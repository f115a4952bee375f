//! The cart and session parts of the shop-core conformance suite, on a real
//! Redis server (`SHOP_TEST_REDIS_URL`), each test under its own key prefix.

mod common;

shop_core::cart_conformance_tests!(skippable common::redis_store());
shop_core::session_conformance_tests!(skippable common::redis_store());
