//! The outbox and the job leases: events are written with their change and
//! only then, listeners' claims and job ticks are exclusive, progress and
//! failures are kept, pruning keeps what is still needed.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::Duration;

use super::fixtures::{base_time, Fixture};
use super::shop::ShopWorld;
use super::{concurrently, is_conflict, Backend};
use crate::error::{Entity, Error, Result, StoreError};
use crate::events::{DomainEvent, EventEnvelope, EventListener, EventRecord, ListenerStart};
use crate::ids::ProductId;
use crate::jobs::{JobClaim, JobOutcome};
use crate::outbox::ListenerFailure;

fn changed(product: i64) -> DomainEvent {
    DomainEvent::ProductChanged {
        product_id: ProductId(product),
    }
}

fn records(events: &[DomainEvent]) -> Vec<EventRecord> {
    EventRecord::all(events, base_time())
}

/// Every event in the outbox, decoded, oldest first.
async fn all_events<B: Backend>(store: &B) -> Vec<(i64, DomainEvent)> {
    store
        .read_events(0, 10_000)
        .await
        .expect("read_events")
        .into_iter()
        .map(|e| (e.seq, e.record.decode().expect("decode")))
        .collect()
}

/// A write records its events in the same step, in order, with increasing
/// numbers, as they were given; a refused write records none.
pub async fn outbox_records_events_with_their_writes<B: Backend>(store: Arc<B>) {
    let fx = Fixture::new(store.clone());
    let (product, skus) = fx.build_product("Kettle", None, &[("10.00", 2)]);
    let created = [
        DomainEvent::ProductCreated {
            product_id: product.id,
        },
        changed(product.id.0),
    ];
    store
        .create_product(&product, &skus, &records(&created))
        .await
        .expect("create_product");
    let stock = [DomainEvent::StockChanged {
        sku_id: skus[0].id,
        product_id: product.id,
        delta: -5,
        reason: crate::events::StockChangeReason::Adjusted,
    }];
    // Below zero: refused, and its event is not recorded.
    let err = store
        .adjust_stock(skus[0].id, -5, &records(&stock))
        .await
        .expect_err("below zero");
    assert!(matches!(err, Error::OutOfStock { .. }), "{err:?}");
    // An update of a missing product is refused too.
    let mut ghost = product.clone();
    ghost.id = ProductId(fx.id());
    let err = store
        .update_product(&ghost, &records(&[changed(ghost.id.0)]))
        .await
        .expect_err("missing product");
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");

    let events = all_events(store.as_ref()).await;
    assert_eq!(
        events.iter().map(|(_, e)| e.clone()).collect::<Vec<_>>(),
        created.to_vec()
    );
    assert!(events[0].0 >= 1 && events[1].0 > events[0].0, "{events:?}");
    let stored = store.read_events(0, 10).await.expect("read_events");
    assert_eq!(stored[0].record, records(&created)[0]);
    assert_eq!(
        store
            .read_events(events[0].0, 10)
            .await
            .expect("read")
            .len(),
        1
    );
    assert_eq!(
        store.outbox_status().await.expect("status").head,
        events[1].0
    );
}

/// Listeners start where asked, one claimer holds a listener at a time, a
/// lease that ran out can be taken over, and the old holder then loses its
/// writes; progress and failures are kept.
pub async fn outbox_listener_claims_progress_and_failures<B: Backend>(store: Arc<B>) {
    let at = base_time();
    let names = |n: &[&str]| n.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    let fx = Fixture::new(store.clone());
    let (product, skus) = fx.build_product("Kettle", None, &[("10.00", 2)]);
    store
        .create_product(&product, &skus, &records(&[changed(1), changed(2)]))
        .await
        .expect("create_product");
    let head = store.outbox_status().await.expect("status").head;
    store
        .register_listener("old", ListenerStart::Oldest, at)
        .await
        .expect("register");
    store
        .register_listener("new", ListenerStart::Newest, at)
        .await
        .expect("register");
    // Registering again keeps the progress.
    store
        .register_listener("new", ListenerStart::Oldest, at)
        .await
        .expect("register again");
    let status = store.outbox_status().await.expect("status");
    let position = |s: &crate::outbox::OutboxStatus, n: &str| {
        s.listeners.iter().find(|l| l.name == n).map(|l| l.position)
    };
    assert_eq!(position(&status, "old"), Some(head - 2));
    assert_eq!(position(&status, "new"), Some(head));
    assert_eq!(status.lag("old"), Some(2));

    // "new" is caught up: nothing to claim. "old" is claimed once.
    let lease = at + Duration::seconds(30);
    let all = names(&["old", "new", "unknown"]);
    let claim = store
        .claim_listener(&all, "a", at, lease)
        .await
        .expect("claim")
        .expect("old is due");
    assert_eq!(
        (claim.name.as_str(), claim.position, claim.attempts),
        ("old", head - 2, 0)
    );
    assert_eq!(
        store
            .claim_listener(&all, "b", at, lease)
            .await
            .expect("claim"),
        None
    );

    store
        .advance_listener(&claim, head - 1, lease)
        .await
        .expect("advance");
    // The lease runs out; "b" takes over; "a" can no longer write.
    let later = lease + Duration::seconds(1);
    let taken = store
        .claim_listener(&all, "b", later, later + Duration::seconds(30))
        .await
        .expect("claim")
        .expect("the lease ran out");
    assert_eq!((taken.owner.as_str(), taken.position), ("b", head - 1));
    let err = store
        .advance_listener(&claim, head, later)
        .await
        .expect_err("lost lease");
    assert!(is_conflict(&err, Entity::EventListener), "{err:?}");
    let err = store
        .release_listener(&claim, None)
        .await
        .expect_err("lost lease");
    assert!(is_conflict(&err, Entity::EventListener), "{err:?}");

    // A failure is counted, kept and defers the listener.
    let failure = ListenerFailure {
        next_attempt_at: later + Duration::seconds(10),
        error: "smtp down".into(),
    };
    store
        .release_listener(&taken, Some(&failure))
        .await
        .expect("release");
    let status = store.outbox_status().await.expect("status");
    let old = status
        .listeners
        .iter()
        .find(|l| l.name == "old")
        .expect("old");
    assert_eq!(
        (old.attempts, old.last_error.as_deref(), old.leased_until),
        (1, Some("smtp down"), None)
    );
    assert_eq!(old.next_attempt_at, failure.next_attempt_at);
    assert_eq!(
        store
            .claim_listener(&all, "c", later + Duration::seconds(9), lease)
            .await
            .expect("claim"),
        None,
        "not before its next attempt"
    );
    let retry = store
        .claim_listener(
            &all,
            "c",
            failure.next_attempt_at,
            failure.next_attempt_at + Duration::seconds(30),
        )
        .await
        .expect("claim")
        .expect("due again");
    assert_eq!(retry.attempts, 1);
    store
        .advance_listener(&retry, head, failure.next_attempt_at)
        .await
        .expect("advance");
    store.release_listener(&retry, None).await.expect("release");
    let status = store.outbox_status().await.expect("status");
    let old = status
        .listeners
        .iter()
        .find(|l| l.name == "old")
        .expect("old");
    assert_eq!(
        (old.position, old.attempts, old.last_error.clone()),
        (head, 0, None)
    );
    store.remove_listener("old").await.expect("remove");
    assert_eq!(
        store.outbox_status().await.expect("status").listeners.len(),
        1
    );
}

/// Of many dispatchers claiming one listener at once, one gets it.
pub async fn outbox_claims_are_exclusive_under_concurrency<B: Backend>(store: Arc<B>) {
    let at = base_time();
    store
        .register_listener("solo", ListenerStart::Oldest, at)
        .await
        .expect("register");
    let fx = Fixture::new(store.clone());
    fx.product(&[("1.00", 1)]).await;
    let (product, skus) = fx.build_product("Kettle", None, &[("10.00", 2)]);
    store
        .create_product(&product, &skus, &records(&[changed(product.id.0)]))
        .await
        .expect("create_product");
    let claims = concurrently(
        (0..16)
            .map(|i| {
                let store = store.clone();
                async move {
                    store
                        .claim_listener(
                            &["solo".to_owned()],
                            &format!("owner-{i}"),
                            at,
                            at + Duration::seconds(30),
                        )
                        .await
                        .expect("claim")
                }
            })
            .collect(),
    )
    .await;
    assert_eq!(claims.iter().flatten().count(), 1, "{claims:?}");
}

/// Pruning deletes, in chunks, only events every listener has handled and
/// that are older than asked, and always keeps the newest.
pub async fn outbox_prunes_only_handled_old_events<B: Backend>(store: Arc<B>) {
    let fx = Fixture::new(store.clone());
    let at = base_time();
    for i in 0..5 {
        let (product, skus) = fx.build_product("Kettle", None, &[("10.00", 2)]);
        let when = at + Duration::minutes(i);
        store
            .create_product(&product, &skus, &EventRecord::all(&[changed(i)], when))
            .await
            .expect("create_product");
    }
    let events = all_events(store.as_ref()).await;
    let seqs: Vec<i64> = events.iter().map(|(s, _)| *s).collect();
    store
        .register_listener("slow", ListenerStart::Oldest, at)
        .await
        .expect("register");
    let claim = store
        .claim_listener(&["slow".to_owned()], "a", at, at + Duration::minutes(1))
        .await
        .expect("claim")
        .expect("due");
    store
        .advance_listener(&claim, seqs[2], at)
        .await
        .expect("advance");
    store.release_listener(&claim, None).await.expect("release");
    let far = at + Duration::days(30);
    // At most 2 per call; only up to what "slow" handled.
    assert_eq!(store.prune_events(far, 2).await.expect("prune"), 2);
    assert_eq!(store.prune_events(far, 2).await.expect("prune"), 1);
    assert_eq!(store.prune_events(far, 2).await.expect("prune"), 0);
    let left: Vec<i64> = all_events(store.as_ref())
        .await
        .iter()
        .map(|(s, _)| *s)
        .collect();
    assert_eq!(left, seqs[3..].to_vec());
    // Without listeners, everything older than `before` goes, but the newest
    // stays.
    store.remove_listener("slow").await.expect("remove");
    assert_eq!(
        store
            .prune_events(at + Duration::minutes(3), 10)
            .await
            .expect("prune"),
        0
    );
    assert_eq!(store.prune_events(far, 10).await.expect("prune"), 1);
    let left: Vec<i64> = all_events(store.as_ref())
        .await
        .iter()
        .map(|(s, _)| *s)
        .collect();
    assert_eq!(left, vec![seqs[4]]);
    assert_eq!(store.outbox_status().await.expect("status").head, seqs[4]);
    // A listener that starts at the oldest kept event starts right before it
    // — unless that event is recent: an event written just before it may
    // still be committing under a lower number, so it starts at 0.
    store
        .register_listener("late", ListenerStart::Oldest, far)
        .await
        .expect("register");
    let status = store.outbox_status().await.expect("status");
    assert_eq!(status.listeners[0].position, seqs[4] - 1);
    let soon =
        at + Duration::minutes(4) + Duration::minutes(crate::outbox::OLDEST_START_GRACE_MINUTES)
            - Duration::seconds(1);
    store
        .register_listener("early", ListenerStart::Oldest, soon)
        .await
        .expect("register");
    let status = store.outbox_status().await.expect("status");
    let early = status.listeners.iter().find(|l| l.name == "early");
    assert_eq!(early.map(|l| l.position), Some(0));
}

/// Listens, failing while `down` is set; records what it handled.
struct Flaky {
    name: &'static str,
    down: AtomicBool,
    seen: Mutex<Vec<(i64, DomainEvent)>>,
}

impl Flaky {
    fn new(name: &'static str) -> Arc<Flaky> {
        Arc::new(Flaky {
            name,
            down: AtomicBool::new(false),
            seen: Mutex::new(Vec::new()),
        })
    }

    fn seen(&self) -> Vec<(i64, DomainEvent)> {
        self.seen.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

#[async_trait]
impl EventListener for Flaky {
    fn name(&self) -> &str {
        self.name
    }

    async fn on_event(&self, e: &EventEnvelope) -> Result<()> {
        if self.down.load(Ordering::SeqCst) {
            return Err(Error::Store(StoreError::Unavailable {
                source: "down".into(),
            }));
        }
        self.seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((e.seq, e.event.clone()));
        Ok(())
    }
}

/// Through the shop: every use case's events reach every listener in order
/// per aggregate; a listener that fails is retried with backoff without
/// holding the others back, and gets every event once it recovers.
pub async fn dispatch_delivers_in_order_and_isolates_failures<B: Backend>(store: Arc<B>) {
    let steady = Flaky::new("test.steady");
    let flaky = Flaky::new("test.flaky");
    let w = ShopWorld::with_listeners(store, vec![steady.clone(), flaky.clone()]);
    let sku = w.sku("Kettle", "10.00", 5).await;
    let buyer = w.user();
    flaky.down.store(true, Ordering::SeqCst);
    let order = w.paid_order(buyer, &sku, 2).await;
    let report = w.shop.dispatch_events().await.expect("dispatch");
    assert_eq!(report.failed.len(), 1, "{report:?}");
    assert!(report.failed[0].0 == "test.flaky", "{report:?}");
    let expected = vec![
        "product_created",
        "order_placed",
        "stock_changed",
        "order_paid",
    ];
    let kinds =
        |seen: &[(i64, DomainEvent)]| seen.iter().map(|(_, e)| e.event_type()).collect::<Vec<_>>();
    assert_eq!(kinds(&steady.seen()), expected);
    assert!(flaky.seen().is_empty());
    // Recovered, but backing off: nothing until its next attempt.
    flaky.down.store(false, Ordering::SeqCst);
    w.shop.dispatch_events().await.expect("dispatch");
    assert!(flaky.seen().is_empty());
    w.clock.advance(Duration::seconds(2));
    w.shop.dispatch_events().await.expect("dispatch");
    assert_eq!(kinds(&flaky.seen()), expected);
    // Delivered once: a further dispatch hands nothing again.
    w.shop.dispatch_events().await.expect("dispatch");
    assert_eq!(steady.seen(), flaky.seen());
    let mut by_order: HashMap<i64, Vec<&str>> = HashMap::new();
    for (_, e) in &steady.seen() {
        by_order
            .entry(e.aggregate().1)
            .or_default()
            .push(e.event_type());
    }
    assert_eq!(by_order[&order.id.0], vec!["order_placed", "order_paid"]);
    let status = w.shop.outbox_status().await.expect("status");
    assert!(
        status.listeners.iter().all(|l| l.position == status.head),
        "{status:?}"
    );
    assert_eq!(
        w.shop
            .product(sku.product_id)
            .await
            .expect("product")
            .sold_count,
        2
    );
}

/// Of many runners claiming one tick at once, one wins; a finished tick is
/// not run again; a lease that ran out is taken over and the old holder
/// loses its writes; the last run is kept.
pub async fn job_ticks_run_once_under_concurrency<B: Backend>(store: Arc<B>) {
    let at = base_time();
    let tick = at;
    let claim = |owner: String| JobClaim {
        name: "close_expired_orders".into(),
        tick,
        owner,
        node: "node-1".into(),
    };
    let wins = concurrently(
        (0..16)
            .map(|i| {
                let store = store.clone();
                let c = claim(format!("owner-{i}"));
                async move {
                    store
                        .claim_job(&c, at, at + Duration::minutes(5))
                        .await
                        .expect("claim_job")
                        .then_some(c)
                }
            })
            .collect(),
    )
    .await;
    let winners: Vec<JobClaim> = wins.into_iter().flatten().collect();
    assert_eq!(winners.len(), 1);
    let winner = &winners[0];
    let runs = store.job_runs().await.expect("job_runs");
    assert_eq!(runs.len(), 1);
    assert_eq!(
        (runs[0].started_at, runs[0].finished_at, runs[0].outcome),
        (at, None, None)
    );
    store
        .renew_job(winner, at + Duration::minutes(6))
        .await
        .expect("renew");
    // Still held at 5:30.
    let later = at + Duration::seconds(330);
    assert!(!store
        .claim_job(&claim("late".into()), later, later + Duration::minutes(5))
        .await
        .expect("claim_job"));
    // The holder died: after its lease another runner takes the tick over.
    let after = at + Duration::minutes(6);
    let heir = claim("heir".into());
    assert!(store
        .claim_job(&heir, after, after + Duration::minutes(5))
        .await
        .expect("claim_job"));
    let err = store
        .finish_job(winner, after, JobOutcome::Succeeded, "late")
        .await
        .expect_err("lost lease");
    assert!(is_conflict(&err, Entity::Job), "{err:?}");
    let err = store
        .renew_job(winner, after + Duration::minutes(5))
        .await
        .expect_err("lost lease");
    assert!(is_conflict(&err, Entity::Job), "{err:?}");
    store
        .finish_job(
            &heir,
            after + Duration::seconds(1),
            JobOutcome::Failed,
            "it broke",
        )
        .await
        .expect("finish");
    // A finished tick does not run again, a later one does.
    assert!(!store
        .claim_job(&claim("again".into()), after, after + Duration::minutes(5))
        .await
        .expect("claim_job"));
    let runs = store.job_runs().await.expect("job_runs");
    assert_eq!(
        (
            runs[0].node.as_str(),
            runs[0].finished_at,
            runs[0].outcome,
            runs[0].detail.as_deref(),
            runs[0].leased_until
        ),
        (
            "node-1",
            Some(after + Duration::seconds(1)),
            Some(JobOutcome::Failed),
            Some("it broke"),
            None
        )
    );
    let next = JobClaim {
        tick: tick + Duration::minutes(1),
        ..claim("next".into())
    };
    assert!(store
        .claim_job(&next, after, after + Duration::minutes(5))
        .await
        .expect("claim_job"));
}
