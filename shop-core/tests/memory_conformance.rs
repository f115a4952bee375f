//! The conformance suite against the in-memory backend.

#![cfg(feature = "testing")]

shop_core::conformance_tests!(async { shop_core::memory::MemoryStore::new() });
