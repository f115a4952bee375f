//! The shop-core conformance suite on SQLite: each test gets a fresh
//! database file of its own.

mod common;

shop_core::conformance_tests!(common::sqlite_store());

/// A whole-database ANALYZE leaves STAT4 samples for the keyword index's
/// FTS5 shadow tables, which make SQLite re-plan FTS5's lookups on every
/// step; the next migrate() (each start) forgets them, and search works.
#[tokio::test]
async fn migrate_forgets_statistics_of_the_search_index() {
    use shop_core::catalog::{CatalogStore, ProductQuery};
    use shop_core::conformance::fixtures::Fixture;
    use std::sync::Arc;

    let store = Arc::new(common::sqlite_store().await);
    let fx = Fixture::new(Arc::clone(&store));
    for i in 0..30 {
        let (product, skus) = fx.build_product(&format!("Teapot {i}"), None, &[("5.00", 1)]);
        store.create_product(&product, &skus, &[]).await.unwrap();
    }
    sqlx::query("ANALYZE").execute(store.pool()).await.unwrap();
    let shadow = || async {
        let n: i64 = sqlx::query_scalar(
            "SELECT (SELECT COUNT(*) FROM sqlite_stat1 WHERE tbl LIKE 'shop_products_search%') + \
             (SELECT COUNT(*) FROM sqlite_stat4 WHERE tbl LIKE 'shop_products_search%')",
        )
        .fetch_one(store.pool())
        .await
        .unwrap();
        n
    };
    assert!(shadow().await > 0, "ANALYZE sampled the shadow tables");
    store.migrate().await.unwrap();
    assert_eq!(shadow().await, 0);
    let found = store
        .list_products(&ProductQuery {
            keyword: Some("teapot 1".to_owned()),
            page: 1,
            per_page: 50,
            ..ProductQuery::default()
        })
        .await
        .unwrap();
    // "Teapot 1" and "Teapot 10" … "Teapot 19".
    assert_eq!(found.total, 11);
}

/// The shop's tables and migration records live beside an application's
/// own sqlx migrations and its tables named `products`, `orders` and
/// `sessions`; both migrate again and keep working.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shop_migrates_beside_an_apps_own_migrations() {
    shop_beside_app!(common::unmigrated_sqlite_store().await);
}

/// A database holding the unprefixed tables of a development version of
/// this crate (recorded in `_sqlx_migrations`) is refused with a sentence
/// that says so, and nothing is created beside it.
#[tokio::test]
async fn migrate_refuses_an_unprefixed_development_schema() {
    let store = common::unmigrated_sqlite_store().await;
    sqlx::raw_sql(
        "CREATE TABLE coupon_holds (coupon_id INTEGER, user_id INTEGER, order_id INTEGER); \
         CREATE TABLE refund_lines (refund_id INTEGER, line_no INTEGER, item_id INTEGER); \
         CREATE TABLE _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT); \
         INSERT INTO _sqlx_migrations (version, description) VALUES (1, 'init');",
    )
    .execute(store.pool())
    .await
    .unwrap();
    let err = store.migrate().await.unwrap_err();
    assert!(err.to_string().contains("unprefixed tables"), "{err}");
    let created: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM sqlite_master WHERE name LIKE 'shop\\_%' ESCAPE '\\'",
    )
    .fetch_one(store.pool())
    .await
    .unwrap();
    assert_eq!(created, 0);
}

/// A recorded migration that was changed since, that failed part-way, or
/// that this version does not know stops `migrate()` with a sentence naming
/// it.
#[tokio::test]
async fn migrate_refuses_a_changed_half_applied_or_unknown_migration() {
    let cases = [
        (
            "UPDATE shop_migrations SET checksum = 'changed' WHERE version = 1",
            "was changed after it was applied",
        ),
        (
            "UPDATE shop_migrations SET success = FALSE WHERE version = 1",
            "failed part-way",
        ),
        (
            "INSERT INTO shop_migrations (version, description, checksum, success) \
             VALUES (9999, 'future', 'x', TRUE)",
            "does not know",
        ),
    ];
    for (tamper, says) in cases {
        let store = common::sqlite_store().await;
        sqlx::query(tamper).execute(store.pool()).await.unwrap();
        let err = store.migrate().await.unwrap_err();
        assert!(err.to_string().contains(says), "{tamper}: {err}");
    }
}
