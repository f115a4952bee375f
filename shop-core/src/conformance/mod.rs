//! The conformance suite: the one set of checks every storage backend must
//! pass, so every backend behaves the same (feature `testing`).
//!
//! Each case is a plain `pub async fn case<B: Backend>(store: Arc<B>)` that
//! starts from an empty store and panics on the first difference from the
//! port contracts. Cases that race (many buyers, payments against closing,
//! replayed tokens) spawn their tasks on the tokio runtime, so run them on a
//! multi-threaded runtime.
//!
//! # Implementing a backend
//!
//! 1. Implement the store ports (every supertrait of [`Backend`]) on one
//!    type. A backend for some ports only (carts or
//!    sessions in Redis) runs the matching part of the suite instead:
//!    [`cart_conformance_tests!`](crate::cart_conformance_tests),
//!    [`session_conformance_tests!`](crate::session_conformance_tests). The trait
//!    docs are the contract; `shop_core::memory`'s module docs record how
//!    their ambiguous parts are read, and [`MemoryStore`](crate::memory::MemoryStore)
//!    is the reference implementation.
//! 2. Put every race-sensitive check (stock, coupon use, once per user,
//!    submit tokens, state compare-and-set, refund limits) inside the one
//!    atomic write, e.g. in a transaction with `WHERE` clauses or unique
//!    constraints, never in a read followed by a write.
//! 3. Add `shop-core` with feature `testing` and `tokio` (features `macros`,
//!    `rt-multi-thread`) as dev-dependencies and write one test file:
//!
//! ```no_run
//! // tests/conformance.rs of a backend crate
//! # mod my_backend {
//! #     pub async fn connect_fresh_database() -> shop_core::memory::MemoryStore {
//! #         shop_core::memory::MemoryStore::new()
//! #     }
//! # }
//! shop_core::conformance_tests!(async { my_backend::connect_fresh_database().await });
//! # fn main() {}
//! ```
//!
//! The macro expands to one `#[tokio::test]` per case (see
//! [`conformance_tests!`](crate::conformance_tests)), each calling the factory
//! afresh: every test needs an empty store of its own.

mod accounts;
mod cache;
mod carts;
mod catalog;
mod catalog_listing;
mod coupons;
mod crowdfunding;
mod delay;
pub mod fixtures;
mod installment;
mod lifecycle;
mod outbox;
mod placement;
mod races;
mod refunds;
mod reviews;
mod seckill;
mod sessions;
pub mod shop;
mod shop_rules;
mod tokens;
mod users;

use std::future::Future;
use std::sync::Arc;

use tokio::sync::Barrier;

use crate::error::{Entity, Error, StoreError};

pub use accounts::{
    accounts_crud_and_unique_email, email_verification_is_single_use, password_reset_is_single_use,
};
pub use cache::{read_cache_serves_edits_after_dispatch, read_cache_versioned_puts};
pub use carts::{
    cart_add_merge_update_remove, cart_concurrent_adds_count_exactly,
    cart_line_quantities_stay_within_limits,
};
pub use catalog::{
    catalog_category_tree, catalog_product_crud, catalog_sku_crud_and_stock,
    catalog_stock_never_negative_under_concurrency,
};
pub use catalog_listing::{catalog_keyword_search_is_the_same_everywhere, catalog_list_products};
pub use coupons::{
    coupon_crud_and_unique_code, coupon_once_per_user_released_after_close,
    coupon_once_per_user_released_after_full_refund,
};
pub use crowdfunding::{
    crowdfunding_failure_refunds_every_paid_order_once, crowdfunding_orders_follow_the_campaign,
};
pub use delay::delay_queue_leases_and_redelivers;
pub use installment::{
    installment_fines_over_a_year_match_the_hand_figures,
    installment_periods_are_paid_in_order_and_once,
};
pub use lifecycle::{
    close_order_restores_stock_and_coupon_once, list_expired_orders_in_chunks,
    list_orders_filters_and_pages, transition_is_compare_and_set,
};
pub use outbox::{
    dispatch_delivers_in_order_and_isolates_failures, job_ticks_run_once_under_concurrency,
    outbox_claims_are_exclusive_under_concurrency, outbox_listener_claims_progress_and_failures,
    outbox_prunes_only_handled_old_events, outbox_records_events_with_their_writes,
};
pub use placement::{
    place_order_duplicate_number_writes_nothing, place_order_out_of_stock_writes_nothing,
    place_order_rechecks_coupon, place_order_stores_order_and_takes_everything,
    submit_token_is_single_use,
};
pub use races::{
    close_order_races_payment, concurrent_buyers_never_oversell,
    coupon_once_per_user_under_concurrency, coupon_total_limit_under_concurrency,
    submit_token_replays_under_concurrency, transition_pays_once_under_concurrency,
};
pub use refunds::{
    create_refund_once_per_expected_state, finish_refund_exactly_once,
    list_pending_refunds_in_chunks, refunds_never_exceed_what_was_paid,
};
pub use reviews::{
    review_order_and_refresh_product_stats, review_order_validation_changes_nothing,
};
pub use seckill::{
    flash_sale_close_races_payment, flash_sale_close_races_payment_with, flash_sale_crowd,
    flash_sale_crowd_never_oversells, flash_sale_one_unit_per_buyer_until_the_close,
    flash_sale_reconciliation_with, flash_sale_store_keeps_sales_and_ledgers,
};
pub use sessions::{
    sessions_expire_and_end, sessions_of_a_user_end_together, sessions_purge_expired,
    sessions_unique_under_concurrency,
};
pub use shop_rules::{
    decimals_read_the_same_on_every_backend, refund_approvals_race_to_one,
    submit_token_retries_get_their_order, text_rules_hold_on_every_backend,
};
pub use tokens::{
    submit_token_claims_are_compare_and_set, submit_token_claims_with,
    submit_tokens_apart_place_once_with, submit_tokens_apart_place_one_order,
};
pub use users::{
    addresses_crud_and_order, favorites_idempotent_newest_first, history_newest_first_and_capped,
};

pub use crate::service::Backend;

/// Runs every future as its own tokio task, all released together by a
/// barrier so they really race, and returns their outputs in order.
pub async fn concurrently<F>(futures: Vec<F>) -> Vec<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let barrier = Arc::new(Barrier::new(futures.len()));
    let tasks: Vec<_> = futures
        .into_iter()
        .map(|future| {
            let barrier = Arc::clone(&barrier);
            tokio::spawn(async move {
                barrier.wait().await;
                future.await
            })
        })
        .collect();
    let mut outputs = Vec::with_capacity(tasks.len());
    for task in tasks {
        outputs.push(task.await.expect("a racing task panicked"));
    }
    outputs
}

/// Whether `error` is `StoreError::Conflict` about `entity`.
pub fn is_conflict(error: &Error, entity: Entity) -> bool {
    matches!(error, Error::Store(StoreError::Conflict { entity: e, .. }) if *e == entity)
}

/// Whether `error` is `StoreError::AlreadyExists` about `entity`.
pub fn is_already_exists(error: &Error, entity: Entity) -> bool {
    matches!(error, Error::Store(StoreError::AlreadyExists { entity: e, .. }) if *e == entity)
}

/// Whether `error` is `Error::NotFound` about `entity`.
pub fn is_not_found(error: &Error, entity: Entity) -> bool {
    matches!(error, Error::NotFound { entity: e, .. } if *e == entity)
}

/// Whether `error` is `Error::Refused` about `field`.
pub fn is_refused(error: &Error, field: &str) -> bool {
    matches!(error, Error::Refused { field: f, .. } if *f == field)
}

/// Whether `error` is `Error::Validation` of `field`.
pub fn is_validation(error: &Error, field: &str) -> bool {
    matches!(error, Error::Validation { field: f, .. } if *f == field)
}

/// Generates one `#[tokio::test]` (multi-threaded, 4 workers) per
/// conformance case, in a module named `shop_conformance`, each running the
/// case on a fresh store from the factory.
///
/// The factory is an expression evaluating to a future of the store (any
/// type implementing [`Backend`](crate::conformance::Backend)); it is
/// evaluated once per test and may use items of the calling module. The
/// calling crate needs `tokio` (features `macros`, `rt-multi-thread`) as a
/// dev-dependency.
///
/// ```no_run
/// shop_core::conformance_tests!(async { shop_core::memory::MemoryStore::new() });
/// # fn main() {}
/// ```
///
/// For a backend that needs a server, write `skippable` before a factory
/// whose future yields `Option<store>`: `None` skips the test (the factory
/// should print why, and must panic instead when the `CI` environment
/// variable is set, so a missing server never passes silently in CI).
///
/// ```no_run
/// shop_core::conformance_tests!(skippable async { Some(shop_core::memory::MemoryStore::new()) });
/// # fn main() {}
/// ```
#[macro_export]
macro_rules! conformance_tests {
    (skippable $factory:expr $(,)?) => {
        $crate::conformance_tests!(@cases $factory);
    };
    ($factory:expr $(,)?) => {
        $crate::conformance_tests!(@cases async { ::std::option::Option::Some($factory.await) });
    };
    (@cases $factory:expr) => {
        $crate::__conformance_cases! {
            shop_conformance ($factory)
            catalog_category_tree,
            catalog_product_crud,
            catalog_list_products,
            catalog_keyword_search_is_the_same_everywhere,
            catalog_sku_crud_and_stock,
            catalog_stock_never_negative_under_concurrency,
            addresses_crud_and_order,
            favorites_idempotent_newest_first,
            cart_add_merge_update_remove,
            cart_concurrent_adds_count_exactly,
            cart_line_quantities_stay_within_limits,
            place_order_stores_order_and_takes_everything,
            place_order_out_of_stock_writes_nothing,
            place_order_rechecks_coupon,
            place_order_duplicate_number_writes_nothing,
            submit_token_is_single_use,
            concurrent_buyers_never_oversell,
            coupon_total_limit_under_concurrency,
            coupon_once_per_user_under_concurrency,
            submit_token_replays_under_concurrency,
            transition_pays_once_under_concurrency,
            close_order_races_payment,
            coupon_crud_and_unique_code,
            coupon_once_per_user_released_after_close,
            coupon_once_per_user_released_after_full_refund,
            close_order_restores_stock_and_coupon_once,
            list_expired_orders_in_chunks,
            transition_is_compare_and_set,
            list_orders_filters_and_pages,
            review_order_and_refresh_product_stats,
            review_order_validation_changes_nothing,
            refunds_never_exceed_what_was_paid,
            create_refund_once_per_expected_state,
            finish_refund_exactly_once,
            list_pending_refunds_in_chunks,
            accounts_crud_and_unique_email,
            email_verification_is_single_use,
            password_reset_is_single_use,
            sessions_expire_and_end,
            sessions_purge_expired,
            sessions_unique_under_concurrency,
            sessions_of_a_user_end_together,
            text_rules_hold_on_every_backend,
            decimals_read_the_same_on_every_backend,
            refund_approvals_race_to_one,
            submit_token_retries_get_their_order,
            submit_token_claims_are_compare_and_set,
            submit_tokens_apart_place_one_order,
            outbox_records_events_with_their_writes,
            outbox_listener_claims_progress_and_failures,
            outbox_claims_are_exclusive_under_concurrency,
            outbox_prunes_only_handled_old_events,
            dispatch_delivers_in_order_and_isolates_failures,
            job_ticks_run_once_under_concurrency,
            flash_sale_store_keeps_sales_and_ledgers,
            flash_sale_one_unit_per_buyer_until_the_close,
            flash_sale_crowd_never_oversells,
            flash_sale_close_races_payment,
            history_newest_first_and_capped,
            crowdfunding_orders_follow_the_campaign,
            crowdfunding_failure_refunds_every_paid_order_once,
            installment_periods_are_paid_in_order_and_once,
            installment_fines_over_a_year_match_the_hand_figures,
        }
    };
}

/// The cart cases of the suite alone, for a backend that implements only
/// [`CartStore`](crate::cart::CartStore) (e.g. carts in Redis next to orders in SQL). Same factory
/// forms as [`conformance_tests!`]; the tests land in a module named
/// `shop_cart_conformance`.
///
/// ```no_run
/// shop_core::cart_conformance_tests!(async { shop_core::memory::MemoryStore::new() });
/// # fn main() {}
/// ```
#[macro_export]
macro_rules! cart_conformance_tests {
    (skippable $factory:expr $(,)?) => {
        $crate::__conformance_cases! {
            shop_cart_conformance ($factory)
            cart_add_merge_update_remove,
            cart_concurrent_adds_count_exactly,
            cart_line_quantities_stay_within_limits,
        }
    };
    ($factory:expr $(,)?) => {
        $crate::cart_conformance_tests!(
            skippable async { ::std::option::Option::Some($factory.await) }
        );
    };
}

/// The session cases of the suite alone, for a backend that implements only
/// [`SessionStore`](crate::account::SessionStore) (e.g. sessions in Redis). Same factory forms as
/// [`conformance_tests!`]; the tests land in a module named
/// `shop_session_conformance`.
///
/// ```no_run
/// shop_core::session_conformance_tests!(async { shop_core::memory::MemoryStore::new() });
/// # fn main() {}
/// ```
#[macro_export]
macro_rules! session_conformance_tests {
    (skippable $factory:expr $(,)?) => {
        $crate::__conformance_cases! {
            shop_session_conformance ($factory)
            sessions_expire_and_end,
            sessions_purge_expired,
            sessions_unique_under_concurrency,
            sessions_of_a_user_end_together,
        }
    };
    ($factory:expr $(,)?) => {
        $crate::session_conformance_tests!(
            skippable async { ::std::option::Option::Some($factory.await) }
        );
    };
}

/// Implementation detail of [`conformance_tests!`].
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_cases {
    ($module:ident ($factory:expr) $($case:ident),* $(,)?) => {
        /// The shop-core conformance suite, one test per case.
        #[allow(unused_imports)]
        mod $module {
            use super::*;
            $(
                #[::tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    let ::std::option::Option::Some(store) = $factory.await else {
                        return;
                    };
                    let store = ::std::sync::Arc::new(store);
                    $crate::conformance::$case(store).await;
                }
            )*
        }
    };
}
