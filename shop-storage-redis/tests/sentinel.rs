//! `redis+sentinel://` URLs: the store finds the primary through a real
//! Sentinel this test starts (with a primary and a replica of its own),
//! and follows it through a manual failover and through the primary's
//! death, losing nothing that was replicated.

mod common;

use std::time::{Duration, Instant};

use chrono::Utc;
use shop_core::cart::CartStore;
use shop_core::ids::{SkuId, UserId};
use shop_storage_redis::RedisStore;

fn cli(port: u16, args: &[&str]) -> String {
    let mut all = vec!["-p".to_owned(), port.to_string()];
    all.extend(args.iter().map(|a| (*a).to_owned()));
    let out = common::redis_cli(&all).expect("redis-cli");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Polls `check` every 100 ms for up to 30 s.
async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The primary's port as the Sentinel names it.
fn primary_of(sentinel: u16) -> u16 {
    let answer = cli(
        sentinel,
        &["SENTINEL", "get-master-addr-by-name", "shoptest"],
    );
    answer
        .lines()
        .nth(1)
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or(0)
}

/// Adds `sku` to user 1's cart, retrying while the failover is under way
/// (a call that meets the broken connection fails with a retryable error;
/// the next one asks the Sentinel again).
async fn add_until_it_works(store: &RedisStore, sku: i64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match store
            .add_to_cart(UserId(1), SkuId(sku), 1, Utc::now())
            .await
        {
            Ok(_) => return,
            Err(e) => {
                assert!(e.is_retryable(), "{e:?}");
                assert!(Instant::now() < deadline, "no primary after 30 s: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_follows_the_primary_sentinel_names() {
    let started = (|| {
        let base = common::free_ports(3)?;
        let dir = common::scratch_dir("redis-sentinel")?;
        common::spawn_redis(&dir, base, "", None)?;
        common::spawn_redis(
            &dir,
            base + 1,
            &format!("--replicaof 127.0.0.1 {base}"),
            None,
        )?;
        common::wait_for_ping(base, &dir)?;
        common::wait_for_ping(base + 1, &dir)?;
        let config = format!(
            "sentinel monitor shoptest 127.0.0.1 {base} 1\n\
             sentinel down-after-milliseconds shoptest 1000\n\
             sentinel failover-timeout shoptest 5000\n"
        );
        common::spawn_redis(&dir, base + 2, "", Some(&config))?;
        common::wait_for_ping(base + 2, &dir)?;
        Ok::<_, String>(base)
    })();
    let base = match started {
        Ok(base) => base,
        Err(e) if std::env::var_os("CI").is_some() => panic!("cannot start a Sentinel: {e}"),
        Err(e) => {
            eprintln!("\n*** SKIPPED: cannot start a Sentinel ({e}) ***\n");
            return;
        }
    };
    let (first, second, sentinel) = (base, base + 1, base + 2);
    eventually("the replica's link", || {
        cli(second, &["INFO", "replication"]).contains("master_link_status:up")
    })
    .await;
    eventually("the Sentinel to see the replica", || {
        cli(sentinel, &["SENTINEL", "replicas", "shoptest"]).contains(&second.to_string())
    })
    .await;

    let url = format!("redis+sentinel://127.0.0.1:{sentinel}/shoptest");
    let store = RedisStore::connect(&url, common::unique_prefix())
        .await
        .unwrap();
    add_until_it_works(&store, 1).await;
    let key = format!("{}cart:1", store.prefix());
    eventually("the line on the replica", || {
        cli(second, &["EXISTS", &key]).trim() == "1"
    })
    .await;

    // A manual failover: the old primary turns replica while it lives.
    assert_eq!(
        cli(sentinel, &["SENTINEL", "FAILOVER", "shoptest"]).trim(),
        "OK"
    );
    eventually("the switch", || primary_of(sentinel) == second).await;
    eventually("the old primary to turn replica", || {
        cli(first, &["ROLE"]).starts_with("slave")
    })
    .await;
    add_until_it_works(&store, 2).await;
    eventually("the line on the new replica", || {
        cli(first, &["HLEN", &key]).trim() == "2"
    })
    .await;

    // The primary dies.
    cli(second, &["SHUTDOWN", "NOSAVE"]);
    eventually("the Sentinel to promote the replica", || {
        primary_of(sentinel) == first
    })
    .await;
    add_until_it_works(&store, 3).await;
    let skus: Vec<i64> = store
        .list_cart(UserId(1))
        .await
        .unwrap()
        .iter()
        .map(|l| l.sku_id.0)
        .collect();
    assert_eq!(skus.len(), 3, "{skus:?}");
    for sku in [1, 2, 3] {
        assert!(skus.contains(&sku), "{skus:?}");
    }
    store.clear().await.unwrap();
}
