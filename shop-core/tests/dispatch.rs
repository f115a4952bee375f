//! The dispatcher's rules on the memory backend: a listener failing for
//! good on one event skips it after `max_attempts` and goes on; one failing
//! with retryable errors is retried as long as it takes, never skipping.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{Duration, TimeZone, Utc};
use shop_core::catalog::{ProductDraft, ProductKind, SkuDraft};
use shop_core::clock::ManualClock;
use shop_core::events::{DomainEvent, EventEnvelope, EventListener};
use shop_core::memory::MemoryStore;
use shop_core::{Currency, Error, Money, Shop, StoreError, Stores};

/// Fails on product created events of a product titled "bad", with a
/// permanent or a retryable error.
struct Picky {
    name: &'static str,
    retryable: bool,
    broken: AtomicBool,
    seen: Mutex<Vec<i64>>,
}

#[async_trait]
impl EventListener for Picky {
    fn name(&self) -> &str {
        self.name
    }

    async fn on_event(&self, e: &EventEnvelope) -> shop_core::Result<()> {
        if let DomainEvent::ProductCreated { .. } = e.event {
            if self.broken.load(Ordering::SeqCst) {
                self.broken.store(false, Ordering::SeqCst);
                let source = "refused".into();
                return Err(Error::Store(if self.retryable {
                    StoreError::Unavailable { source }
                } else {
                    StoreError::Backend { source }
                }));
            }
        }
        self.seen.lock().unwrap().push(e.seq);
        Ok(())
    }
}

fn draft(title: &str) -> (ProductDraft, Vec<SkuDraft>) {
    (
        ProductDraft {
            kind: ProductKind::Normal,
            title: title.into(),
            long_title: String::new(),
            description: String::new(),
            image: String::new(),
            on_sale: true,
            category_id: None,
            properties: vec![],
        },
        vec![SkuDraft {
            title: "one".into(),
            description: String::new(),
            price: Money::parse("1.00", Currency::Cny).unwrap(),
            stock: 1,
        }],
    )
}

#[tokio::test]
async fn a_permanent_failure_is_skipped_after_max_attempts_a_retryable_one_never() {
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap(),
    ));
    let permanent = Arc::new(Picky {
        name: "test.permanent",
        retryable: false,
        broken: AtomicBool::new(false),
        seen: Mutex::new(Vec::new()),
    });
    let transient = Arc::new(Picky {
        name: "test.transient",
        retryable: true,
        broken: AtomicBool::new(false),
        seen: Mutex::new(Vec::new()),
    });
    let shop = Shop::builder(Stores::from_backend(Arc::new(MemoryStore::new())))
        .clock(clock.clone())
        .listener(permanent.clone())
        .listener(transient.clone())
        .build();
    let (d, s) = draft("bad");
    shop.create_product(d, s).await.unwrap();
    let (d, s) = draft("good");
    shop.create_product(d, s).await.unwrap();

    let max = shop.config().dispatch.max_attempts;
    let mut skipped = Vec::new();
    for attempt in 1..=25 {
        // Both fail on the first event at every attempt.
        permanent.broken.store(true, Ordering::SeqCst);
        transient.broken.store(true, Ordering::SeqCst);
        let report = shop.dispatch_events().await.unwrap();
        skipped.extend(report.skipped.clone());
        if attempt < max {
            assert!(report.skipped.is_empty(), "attempt {attempt}: {report:?}");
        }
        clock.advance(Duration::minutes(11));
    }
    assert_eq!(skipped.len(), 1, "{skipped:?}");
    assert_eq!(skipped[0].0, "test.permanent");
    // The permanent one went on past the event it skipped; the retryable
    // one is still waiting at it.
    assert_eq!(permanent.seen.lock().unwrap().len(), 1);
    assert!(transient.seen.lock().unwrap().is_empty());
    let status = shop.outbox_status().await.unwrap();
    assert_eq!(status.lag("test.permanent"), Some(0));
    assert_eq!(status.lag("test.transient"), Some(2));
    let stuck = status
        .listeners
        .iter()
        .find(|l| l.name == "test.transient")
        .unwrap();
    assert_eq!(stuck.attempts, 25);
    assert!(stuck.last_error.as_deref().unwrap().contains("refused"));
    // Once it recovers, it gets both events.
    shop.dispatch_events().await.unwrap();
    assert_eq!(transient.seen.lock().unwrap().len(), 2);
}
