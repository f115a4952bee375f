//! The shop-core conformance suite on MySQL / MariaDB, each test in a fresh
//! database `shop_t_<pid>_<nanos>_<n>` on the server at `SHOP_TEST_MYSQL_URL`
//! (default `mysql://root@127.0.0.1:3306/test`), plus what only a server can
//! show: a placement failing half-way, or losing its connection half-way,
//! writes nothing; deadlocks and lock wait timeouts are retried.

mod common;

use std::sync::Arc;
use std::time::Duration;

use shop_core::catalog::{CatalogStore, Sku};
use shop_core::conformance::fixtures::Fixture;
use shop_core::coupon::{CouponRejection, CouponStore};
use shop_core::order::{Order, OrderStore, PlaceOrder};
use shop_core::user::UserStore;
use shop_core::Error;
use shop_storage_sql::sqlx::{self, Executor};
use shop_storage_sql::MySqlStore;

use common::my::{fresh, fresh_database};

shop_core::conformance_tests!(skippable fresh());

/// Every pooled session runs in UTC, and an `UPDATE` writing identical
/// values counts as found (`CLIENT_FOUND_ROWS`), so it is not `NotFound`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_are_utc_and_updates_count_matched_rows() {
    let Some(store) = fresh().await else { return };
    let store = Arc::new(store);
    for _ in 0..3 {
        let zone: String = sqlx::query_scalar("SELECT CAST(@@session.time_zone AS CHAR)")
            .fetch_one(store.pool())
            .await
            .unwrap();
        assert_eq!(zone, "+00:00");
    }
    let fx = Fixture::new(Arc::clone(&store));
    let address = fx.build_address(fx.user());
    store.create_address(&address).await.unwrap();
    store.update_address(&address).await.unwrap();
    let coupon = fx.coupon(5).await;
    store.update_coupon(coupon.id, &coupon.draft).await.unwrap();
    assert_eq!(store.get_coupon(coupon.id).await.unwrap(), Some(coupon));
    let (product, skus) = fx.build_product("Same", None, &[("1.00", 1)]);
    store.create_product(&product, &skus, &[]).await.unwrap();
    store.update_product(&product, &[]).await.unwrap();
    store.update_sku(&skus[0], &[]).await.unwrap();
    assert_eq!(store.adjust_stock(skus[0].id, 0, &[]).await.unwrap(), 1);
}

/// A product in a category that does not exist is refused by the foreign
/// key as `NotFound { Category }`, and nothing of it is stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn product_in_unknown_category_is_not_found() {
    let Some(store) = fresh().await else { return };
    let store = Arc::new(store);
    let fx = Fixture::new(Arc::clone(&store));
    let (mut product, skus) = fx.build_product("Lost", None, &[("1.00", 1)]);
    product.category_id = Some(shop_core::ids::CategoryId(999_999));
    let err = store
        .create_product(&product, &skus, &[])
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::NotFound {
                entity: shop_core::Entity::Category,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(store.get_product(product.id).await.unwrap(), None);
    assert_eq!(store.get_sku(skus[0].id).await.unwrap(), None);
}

/// Stock of each SKU, the coupon's `used`, and the number of orders.
async fn snapshot(
    fx: &Fixture<MySqlStore>,
    skus: &[&Sku],
    coupon: &shop_core::coupon::Coupon,
) -> (Vec<u32>, u32, u64) {
    let mut stock = Vec::new();
    for sku in skus {
        stock.push(fx.stock(sku.id).await);
    }
    (stock, fx.used(coupon.id).await, fx.order_count().await)
}

/// A coupon refused after the stock lines were decremented (exhausted: its
/// `UPDATE` matches nothing; already used: its hold collides after `used`
/// was incremented) rolls everything back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coupon_refused_after_the_stock_writes_nothing() {
    let Some(store) = fresh().await else { return };
    let store = Arc::new(store);
    let fx = Fixture::new(Arc::clone(&store));
    let skus = fx.product(&[("10.00", 10), ("20.00", 10)]).await;
    let (a, b) = (&skus[0], &skus[1]);

    let mut spent = fx.build_coupon(1);
    spent.used = 1;
    store.create_coupon(&spent).await.unwrap();
    let before = snapshot(&fx, &[a, b], &spent).await;
    let order = fx.build_order(fx.user(), &[(a, 2), (b, 3)], Some(&spent));
    let err = fx.place(&order).await.unwrap_err();
    assert!(
        matches!(err, Error::CouponRejected(CouponRejection::Exhausted)),
        "{err:?}"
    );
    assert_eq!(snapshot(&fx, &[a, b], &spent).await, before);
    assert_eq!(store.get_order(order.id).await.unwrap(), None);

    let coupon = fx.coupon(10).await;
    let buyer = fx.user();
    fx.placed(buyer, &[(a, 1)], Some(&coupon)).await;
    let before = snapshot(&fx, &[a, b], &coupon).await;
    assert_eq!(before, (vec![9, 10], 1, 1));
    let again = fx.build_order(buyer, &[(a, 2), (b, 3)], Some(&coupon));
    let err = fx.place(&again).await.unwrap_err();
    assert!(
        matches!(err, Error::CouponRejected(CouponRejection::AlreadyUsed)),
        "{err:?}"
    );
    assert_eq!(snapshot(&fx, &[a, b], &coupon).await, before);
    assert_eq!(store.get_order(again.id).await.unwrap(), None);
}

/// Stock is taken in SKU-id order, but `OutOfStock` names the line the
/// line-by-line rule (and every other store) names: the first line, in the
/// order's own order, that the stock left by the lines before it cannot
/// cover.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_stock_names_the_same_line_as_the_other_stores() {
    let Some(store) = fresh().await else { return };
    let store = Arc::new(store);
    let fx = Fixture::new(Arc::clone(&store));
    let skus = fx.product(&[("10.00", 10), ("20.00", 1)]).await;
    let (a, b) = (&skus[0], &skus[1]);
    let buyer = fx.user();
    let cases = [
        (vec![(b, 5), (a, 20)], b, 5, 1),
        (vec![(a, 20), (b, 5)], a, 20, 10),
        (vec![(a, 6), (b, 1), (a, 6)], a, 6, 4),
    ];
    for (lines, sku, requested, available) in cases {
        let order = fx.build_order(buyer, &lines, None);
        let err = fx.place(&order).await.unwrap_err();
        assert!(
            matches!(err, Error::OutOfStock { sku: s, requested: r, available: v }
                if s == sku.id && r == requested && v == available),
            "{err:?}"
        );
        assert_eq!((fx.stock(a.id).await, fx.stock(b.id).await), (10, 1));
    }
    let mut ghost = fx.build_order(buyer, &[(a, 1), (b, 1)], None);
    ghost.items[1].sku_id = shop_core::ids::SkuId(999_999);
    let err = fx.place(&ghost).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::NotFound {
                entity: shop_core::Entity::Sku,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(fx.order_count().await, 0);
}

/// The server thread of a transaction of this database waiting for a row
/// lock while running a statement that starts with `statement`.
///
/// InnoDB serves `INNODB_TRX` from a cache it refreshes only when it was not
/// read for 100 ms, so this polls more slowly than that.
async fn blocked_thread(store: &MySqlStore, statement: &str) -> u64 {
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let id: Option<u64> = sqlx::query_scalar(
            "SELECT t.trx_mysql_thread_id FROM information_schema.INNODB_TRX t \
             JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id \
             WHERE t.trx_state = 'LOCK WAIT' AND p.DB = DATABASE() AND t.trx_query LIKE ?",
        )
        .bind(format!("{statement}%"))
        .fetch_optional(store.pool())
        .await
        .expect("look for the blocked transaction");
        if let Some(id) = id {
            return id;
        }
    }
    panic!("no transaction blocked on `{statement}`");
}

/// Places `order` while another transaction holds the row `lock` selects,
/// kills the placing connection once it waits on `statement`, and returns
/// what `place_order` said.
async fn place_and_kill(
    store: &Arc<MySqlStore>,
    order: &Order,
    lock: (&str, i64),
    statement: &str,
) -> shop_core::Result<Order> {
    let mut holder = store.pool().begin().await.unwrap();
    sqlx::query(lock.0)
        .bind(lock.1)
        .fetch_one(&mut *holder)
        .await
        .unwrap();
    let placing = spawn_place(store, order);
    let thread = blocked_thread(store, statement).await;
    sqlx::query(&format!("KILL CONNECTION {thread}"))
        .execute(store.pool())
        .await
        .unwrap();
    let result = tokio::time::timeout(Duration::from_secs(30), placing)
        .await
        .expect("place_order returns once its connection is gone")
        .expect("place_order does not panic");
    holder.rollback().await.unwrap();
    result
}

/// A connection killed in the middle of `place_order` (blocked on the
/// second line's SKU after taking the first line's stock, or on the coupon
/// after taking all of it) leaves no order, every stock and the coupon's
/// `used` as they were; the store keeps working afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_killed_mid_placement_writes_nothing() {
    let Some(store) = fresh().await else { return };
    let store = Arc::new(store);
    let fx = Fixture::new(Arc::clone(&store));
    let skus = fx.product(&[("10.00", 10), ("20.00", 10)]).await;
    let (a, b) = (&skus[0], &skus[1]);
    assert!(a.id < b.id, "stock is taken in SKU-id order");
    let coupon = fx.coupon(10).await;
    let buyer = fx.user();
    let before = snapshot(&fx, &[a, b], &coupon).await;
    assert_eq!(before, (vec![10, 10], 0, 0));

    let cases = [
        (
            "SELECT stock FROM shop_skus WHERE id = ? FOR UPDATE",
            b.id.0,
            "UPDATE shop_skus",
        ),
        (
            "SELECT used FROM shop_coupons WHERE id = ? FOR UPDATE",
            coupon.id.0,
            "UPDATE shop_coupons",
        ),
    ];
    for (lock, row, statement) in cases {
        let order = fx.build_order(buyer, &[(a, 2), (b, 3)], Some(&coupon));
        let result = place_and_kill(&store, &order, (lock, row), statement).await;
        assert!(result.is_err(), "{statement}: {result:?}");
        assert_eq!(snapshot(&fx, &[a, b], &coupon).await, before, "{statement}");
        assert_eq!(store.get_order(order.id).await.unwrap(), None);
        assert!(!store.coupon_held_by(coupon.id, buyer).await.unwrap());
    }

    let order = fx.placed(buyer, &[(a, 2), (b, 3)], Some(&coupon)).await;
    assert_eq!(snapshot(&fx, &[a, b], &coupon).await, (vec![8, 7], 1, 1));
    assert_eq!(store.get_order(order.id).await.unwrap(), Some(order));
}

/// Starts placing `order` (no token, cart untouched) on a task of its own.
fn spawn_place(
    store: &Arc<MySqlStore>,
    order: &Order,
) -> tokio::task::JoinHandle<shop_core::Result<Order>> {
    let store = Arc::clone(store);
    let events = Fixture::new(Arc::clone(&store)).placement_events(order);
    let cmd = PlaceOrder {
        order: order.clone(),
        submit_token: None,
        clear_cart: false,
        flash_sale: None,
        crowdfunding: None,
    };
    tokio::spawn(async move { store.place_order(&cmd, &events).await })
}

/// A deadlock (1213) that InnoDB resolves by rolling `place_order` back is
/// retried transparently: the order is placed once the other transaction
/// ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deadlocked_placement_is_retried() {
    let Some(store) = fresh().await else { return };
    let store = Arc::new(store);
    let fx = Fixture::new(Arc::clone(&store));
    let skus = fx.product(&[("10.00", 10), ("20.00", 10)]).await;
    let (a, b) = (&skus[0], &skus[1]);
    let order = fx.build_order(fx.user(), &[(a, 2), (b, 3)], None);

    // The other transaction writes many rows, so InnoDB picks the placement
    // (the smaller transaction) as the deadlock's victim.
    let mut other = store.pool().begin().await.unwrap();
    let rows: Vec<String> = (1..=200)
        .map(|i| format!("(1, {i}, '2024-06-01 00:00:00')"))
        .collect();
    sqlx::query(&format!(
        "INSERT INTO shop_favorites (user_id, product_id, created_at) VALUES {}",
        rows.join(", ")
    ))
    .execute(&mut *other)
    .await
    .unwrap();
    let lock = "SELECT stock FROM shop_skus WHERE id = ? FOR UPDATE";
    sqlx::query(lock)
        .bind(b.id.0)
        .fetch_one(&mut *other)
        .await
        .unwrap();
    let placing = spawn_place(&store, &order);
    blocked_thread(&store, "UPDATE shop_skus").await;
    // The placement holds `a` and waits for `b`; asking for `a` closes the
    // cycle.
    sqlx::query(lock)
        .bind(a.id.0)
        .fetch_one(&mut *other)
        .await
        .expect("the placement, not this transaction, is the deadlock's victim");
    other.rollback().await.unwrap();

    let placed = placing.await.unwrap();
    assert_eq!(placed.unwrap(), order);
    assert_eq!((fx.stock(a.id).await, fx.stock(b.id).await), (8, 7));
    assert_eq!(fx.order_count().await, 1);
}

/// A lock wait timeout (1205) is retried too: with sessions waiting at most
/// 1 s for a row lock, a placement blocked for 2.5 s still goes through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lock_wait_timeout_is_retried() {
    let Some(url) = fresh_database().await else {
        return;
    };
    let pool = MySqlStore::pool_options()
        .max_connections(4)
        .after_connect(|conn, _meta| {
            Box::pin(async move {
                conn.execute("SET time_zone = '+00:00', innodb_lock_wait_timeout = 1")
                    .await
                    .map(|_| ())
            })
        })
        .connect(&url)
        .await
        .unwrap();
    let store = Arc::new(MySqlStore::from_pool(pool));
    store.migrate().await.unwrap();
    let fx = Fixture::new(Arc::clone(&store));
    let skus = fx.product(&[("10.00", 10), ("20.00", 10)]).await;
    let (a, b) = (&skus[0], &skus[1]);
    let order = fx.build_order(fx.user(), &[(a, 2), (b, 3)], None);

    let mut holder = store.pool().begin().await.unwrap();
    sqlx::query("SELECT stock FROM shop_skus WHERE id = ? FOR UPDATE")
        .bind(b.id.0)
        .fetch_one(&mut *holder)
        .await
        .unwrap();
    let placing = spawn_place(&store, &order);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    // Blocked past two lock wait timeouts of 1 s: still waiting (retried),
    // neither failed nor placed.
    assert!(
        !placing.is_finished(),
        "the placement did not wait for the lock"
    );
    holder.rollback().await.unwrap();

    assert_eq!(placing.await.unwrap().unwrap(), order);
    assert_eq!((fx.stock(a.id).await, fx.stock(b.id).await), (8, 7));
    assert_eq!(fx.order_count().await, 1);
}

/// The shop's tables and migration records live beside an application's
/// own sqlx migrations and its tables named `products`, `orders` and
/// `sessions`; both migrate again and keep working.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shop_migrates_beside_an_apps_own_migrations() {
    let Some(store) = common::my::unmigrated().await else {
        return;
    };
    shop_beside_app!(store);
}
