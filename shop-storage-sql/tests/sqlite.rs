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
        store.create_product(&product, &skus).await.unwrap();
    }
    sqlx::query("ANALYZE").execute(store.pool()).await.unwrap();
    let shadow = || async {
        let n: i64 = sqlx::query_scalar(
            "SELECT (SELECT COUNT(*) FROM sqlite_stat1 WHERE tbl LIKE 'products_search%') + \
             (SELECT COUNT(*) FROM sqlite_stat4 WHERE tbl LIKE 'products_search%')",
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
