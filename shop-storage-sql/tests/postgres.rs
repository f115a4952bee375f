//! The shop-core conformance suite on PostgreSQL, each test in a fresh
//! schema of its own, plus two checks that a placement which fails after it
//! has taken stock leaves nothing behind.
//!
//! The server is `SHOP_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`); when it is unreachable the
//! tests skip loudly (or fail when `CI` is set).

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{server_missing, server_url, unique_name};
use shop_core::cart::CartStore;
use shop_core::conformance::fixtures::Fixture;
use shop_core::coupon::CouponRejection;
use shop_core::order::{OrderStore, PlaceOrder};
use shop_core::Error;
use shop_storage_sql::PgStore;
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};
use tokio::sync::OnceCell;

const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// Connections per test store: enough for the racing cases to really race.
const POOL_SIZE: u32 = 8;

/// Every schema these tests create starts with this.
const SCHEMA_PREFIX: &str = "shop_t_";

/// Whether this test binary has dropped the schemas of earlier runs yet.
static STALE_SCHEMAS_DROPPED: OnceCell<()> = OnceCell::const_new();

/// Drops the test schemas of other processes that nobody uses any more:
/// not named with our pid, and with no open session named after them (each
/// test's connections carry its schema as `application_name`, so a schema
/// of a test binary running right now is left alone).
async fn drop_stale_schemas(admin: &mut PgConnection) -> Result<usize, sqlx::Error> {
    let ours = format!("shop\\_t\\_{}\\_%", std::process::id());
    let stale: Vec<String> = sqlx::query_scalar(
        "SELECT n.nspname::text FROM pg_namespace n \
         WHERE n.nspname LIKE 'shop\\_t\\_%' AND n.nspname NOT LIKE $1 \
         AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a \
                         WHERE a.application_name = n.nspname::text)",
    )
    .bind(ours)
    .fetch_all(&mut *admin)
    .await?;
    let mut dropped = 0;
    for schema in &stale {
        // Another run may be dropping the same schema: not our problem.
        match sqlx::query(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
            .execute(&mut *admin)
            .await
        {
            Ok(_) => dropped += 1,
            Err(e) => eprintln!("could not drop stale test schema {schema}: {e}"),
        }
    }
    Ok(dropped)
}

/// A migrated store in a new schema of its own, and the schema's name (also
/// the `application_name` of the store's connections); `None` when the
/// server is missing.
async fn fresh_schema() -> Option<(PgStore, String)> {
    let url = server_url("SHOP_TEST_POSTGRES_URL", DEFAULT_URL);
    let options: PgConnectOptions = url
        .parse()
        .expect("SHOP_TEST_POSTGRES_URL is a postgres:// URL");
    let schema = unique_name(SCHEMA_PREFIX);
    // Named after the schema before the schema exists, so that no other
    // run's clean-up takes it for abandoned.
    let options = options.application_name(&schema);
    let mut admin = match PgConnection::connect_with(&options).await {
        Ok(conn) => conn,
        Err(e) => return server_missing("PostgreSQL", &url, e),
    };
    STALE_SCHEMAS_DROPPED
        .get_or_init(|| async {
            match drop_stale_schemas(&mut admin).await {
                Ok(0) => {}
                Ok(n) => eprintln!("dropped {n} test schemas left by earlier runs"),
                Err(e) => eprintln!("could not look for stale test schemas: {e}"),
            }
        })
        .await;
    sqlx::query(&format!("CREATE SCHEMA \"{schema}\""))
        .execute(&mut admin)
        .await
        .expect("create the test schema");
    let store = PgStore::connect_with(options.options([("search_path", &schema)]), POOL_SIZE)
        .await
        .expect("connect the store");
    store.migrate().await.expect("migrate");
    admin.close().await.ok();
    Some((store, schema))
}

async fn fresh() -> Option<PgStore> {
    fresh_schema().await.map(|(store, _)| store)
}

shop_core::conformance_tests!(skippable fresh());

/// Kills the server session of a `place_order` while it waits for a lock on
/// the second SKU it takes (so it has already decremented the first one):
/// the call fails and nothing it did survives.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn killed_session_mid_placement_writes_nothing() {
    let Some((store, schema)) = fresh_schema().await else {
        return;
    };
    let store = Arc::new(store);
    let fx = Fixture::new(Arc::clone(&store));
    let skus = fx.product(&[("10.00", 5), ("20.00", 5)]).await;
    let (a, b) = (&skus[0], &skus[1]);
    assert!(a.id < b.id, "stock is taken in SKU-id order: a first");
    let coupon = fx.coupon(10).await;
    let buyer = fx.user();
    store.add_to_cart(buyer, a.id, 2, fx.now).await.unwrap();
    let before = fx.observe(&[a, b], Some(&coupon), buyer).await;

    // Another transaction holds b's row: the placement will wait on it.
    let mut blocker = store.pool().begin().await.unwrap();
    sqlx::query("SELECT id FROM skus WHERE id = $1 FOR UPDATE")
        .bind(b.id.0)
        .fetch_one(&mut *blocker)
        .await
        .unwrap();

    let order = fx.build_order(buyer, &[(a, 2), (b, 3)], Some(&coupon));
    let placing = tokio::spawn({
        let store = Arc::clone(&store);
        let cmd = PlaceOrder {
            order: order.clone(),
            submit_token: None,
            clear_cart: true,
        };
        async move { store.place_order(&cmd).await }
    });

    // The placement's session, blocked in the stock decrement.
    let mut waited = Duration::ZERO;
    let pid: i32 = loop {
        let found: Option<i32> = sqlx::query_scalar(
            "SELECT pid FROM pg_stat_activity WHERE application_name = $1 \
             AND wait_event_type = 'Lock' AND query LIKE 'UPDATE skus SET stock = stock - %'",
        )
        .bind(&schema)
        .fetch_optional(store.pool())
        .await
        .unwrap();
        if let Some(pid) = found {
            break pid;
        }
        assert!(
            waited < Duration::from_secs(20),
            "the placement never blocked on the second SKU"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
        waited += Duration::from_millis(20);
    };
    // It has taken a's stock: a's row is locked by its update.
    let err = sqlx::query("SELECT id FROM skus WHERE id = $1 FOR UPDATE NOWAIT")
        .bind(a.id.0)
        .fetch_one(store.pool())
        .await
        .unwrap_err();
    assert_eq!(
        err.as_database_error().and_then(|d| d.code()).as_deref(),
        Some("55P03"),
        "a's row should be locked by the placement: {err}"
    );

    let killed: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1)")
        .bind(pid)
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert!(killed);
    let result = tokio::time::timeout(Duration::from_secs(20), placing)
        .await
        .expect("place_order returns once its session is killed")
        .unwrap();
    let err = result.expect_err("a placement whose session was killed fails");
    eprintln!("place_order failed as expected: {err:?}");
    assert!(matches!(err, Error::Store(_)), "{err:?}");
    blocker.rollback().await.unwrap();

    assert_eq!(fx.observe(&[a, b], Some(&coupon), buyer).await, before);
    assert_eq!(store.get_order(order.id).await.unwrap(), None);
    assert_eq!(store.get_order_by_no(&order.no).await.unwrap(), None);

    // Nothing is left half-done: the same order goes through now.
    fx.placed(buyer, &[(a, 2), (b, 3)], Some(&coupon)).await;
    assert_eq!((fx.stock(a.id).await, fx.stock(b.id).await), (3, 2));
    assert_eq!(fx.used(coupon.id).await, 1);
}

/// A placement refused by a statement that runs after every stock
/// decrement (the coupon's use, then its once-per-user hold) writes
/// nothing: stock, coupon, token, cart and orders stay as they were.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn refusal_after_stock_decrement_writes_nothing() {
    let Some(store) = fresh().await else {
        return;
    };
    let store = Arc::new(store);
    let fx = Fixture::new(Arc::clone(&store));
    let skus = fx.product(&[("10.00", 5), ("20.00", 5)]).await;
    let (a, b) = (&skus[0], &skus[1]);
    let buyer = fx.user();

    // Held: the buyer already has it on a live order (refused when the hold
    // is inserted, after `used` was incremented). Exhausted: its one copy is
    // taken (refused by the `used < total` update).
    let held = fx.coupon(10).await;
    fx.placed(buyer, &[(a, 1)], Some(&held)).await;
    let exhausted = fx.coupon(1).await;
    fx.placed(fx.user(), &[(b, 1)], Some(&exhausted)).await;

    store.add_to_cart(buyer, a.id, 2, fx.now).await.unwrap();
    store.add_to_cart(buyer, b.id, 3, fx.now).await.unwrap();
    store
        .issue_submit_token(buyer, "after-stock", fx.now + chrono::Duration::minutes(10))
        .await
        .unwrap();

    for (coupon, reason) in [
        (&held, CouponRejection::AlreadyUsed),
        (&exhausted, CouponRejection::Exhausted),
    ] {
        let before = fx.observe(&[a, b], Some(coupon), buyer).await;
        let order = fx.build_order(buyer, &[(a, 2), (b, 3)], Some(coupon));
        let err = store
            .place_order(&PlaceOrder {
                order: order.clone(),
                submit_token: Some("after-stock".to_owned()),
                clear_cart: true,
            })
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::CouponRejected(r) if *r == reason),
            "expected {reason:?}, got {err:?}"
        );
        assert_eq!(fx.observe(&[a, b], Some(coupon), buyer).await, before);
        assert_eq!(before.stock, [4, 4]);
        assert_eq!(store.get_order(order.id).await.unwrap(), None);
    }

    // The token and the cart are still there for an order that fits.
    let fits = fx.build_order(buyer, &[(a, 2), (b, 3)], None);
    store
        .place_order(&PlaceOrder {
            order: fits,
            submit_token: Some("after-stock".to_owned()),
            clear_cart: true,
        })
        .await
        .unwrap();
    assert_eq!((fx.stock(a.id).await, fx.stock(b.id).await), (2, 1));
    assert_eq!(store.list_cart(buyer).await.unwrap(), vec![]);
}

/// Stock is taken in SKU-id order, but the refusal names the same line as
/// the in-memory store: the first line, in the order's own line order, that
/// does not fit (earlier lines of the same SKU counted first).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn out_of_stock_names_the_first_short_line_in_line_order() {
    let Some(store) = fresh().await else {
        return;
    };
    let store = Arc::new(store);
    let fx = Fixture::new(Arc::clone(&store));
    let skus = fx.product(&[("10.00", 2), ("20.00", 4)]).await;
    let (a, b) = (&skus[0], &skus[1]);
    assert!(a.id < b.id);
    let buyer = fx.user();
    let before = fx.observe(&[a, b], None, buyer).await;

    // Both lines are short; b's comes first in the order, a's first by id.
    let both_short = fx.build_order(buyer, &[(b, 5), (a, 3)], None);
    let err = fx.place(&both_short).await.unwrap_err();
    assert!(
        matches!(err, Error::OutOfStock { sku, requested: 5, available: 4 } if sku == b.id),
        "{err:?}"
    );
    // b twice: the second line only sees what the first one left.
    let twice = fx.build_order(buyer, &[(b, 3), (a, 1), (b, 2)], None);
    let err = fx.place(&twice).await.unwrap_err();
    assert!(
        matches!(err, Error::OutOfStock { sku, requested: 2, available: 1 } if sku == b.id),
        "{err:?}"
    );
    assert_eq!(fx.observe(&[a, b], None, buyer).await, before);
    assert_eq!(fx.order_count().await, 0);
}
