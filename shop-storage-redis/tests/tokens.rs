//! Checkout submit tokens in Redis beside orders in SQLite: the claim
//! protocol's contract, and fifty copies of one submission placing one
//! order.

mod common;

use std::sync::Arc;

use shop_core::conformance::{submit_token_claims_with, submit_tokens_apart_place_once_with};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn token_claims_are_one_compare_and_set() {
    let Some(redis) = common::redis_store().await else {
        return;
    };
    submit_token_claims_with(Arc::new(redis)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_copies_of_a_submission_place_one_order() {
    let Some(redis) = common::redis_store().await else {
        return;
    };
    submit_tokens_apart_place_once_with(common::sqlite().await, Arc::new(redis)).await;
}
