//! The outbox: every write that changes state records its
//! [events](crate::events) in the same atomic step (each writing store
//! method takes them as `events: &[EventRecord]`), and the [`Dispatcher`]
//! delivers them to listeners afterwards — at least once, in order per
//! aggregate, each listener at its own pace.
//!
//! # How delivery works
//!
//! Events get increasing sequence numbers (`seq`). Each listener has a row
//! of progress in the store: the `position` it has handled up to, its
//! failed attempts and when it may be tried again, and a lease. A dispatch
//! claims a due listener ([`OutboxStore::claim_listener`]: on PostgreSQL and
//! MySQL/MariaDB with `FOR UPDATE SKIP LOCKED`, so dispatchers on several
//! nodes never deliver the same listener at once; on SQLite under its
//! single writer), reads the events after its position, hands them over one
//! by one and records the new position after each
//! ([`OutboxStore::advance_listener`], which also renews the lease). A
//! listener that fails is released with a backoff (1 s doubling up to
//! [`DispatchConfig::max_backoff`]) and gets the same event again later;
//! the others go on. A listener failing on one event with an error that is
//! not retryable skips it after [`DispatchConfig::max_attempts`] attempts,
//! so one undeliverable message does not hold back every later one.
//!
//! # Commit order and gaps
//!
//! A sequence number is taken when the event is inserted, but the row only
//! becomes visible when its transaction commits, and two transactions may
//! commit in the other order. Where the next number after a listener's
//! position is missing, the dispatcher therefore stops there and comes back,
//! unless the event after the gap is older than [`DispatchConfig::gap_grace`]
//! (then the missing number belongs to a transaction that rolled back: the
//! stores insert events as the last statement before committing, so no
//! transaction holds one uncommitted for long). Events of one aggregate are
//! written under that aggregate's row lock, so their numbers follow their
//! commit order and a listener sees them in order.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};

use crate::clock::Clock;
use crate::error::{Error, Result, StoreError};
use crate::events::{EventEnvelope, EventListener, EventRecord, ListenerStart};

/// An event as stored in the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    /// Its sequence number.
    pub seq: i64,
    /// The event.
    pub record: EventRecord,
}

/// A listener leased to one dispatcher.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerClaim {
    /// The listener's name.
    pub name: String,
    /// Who holds the lease (unique per claim).
    pub owner: String,
    /// The last event it handled (0: none yet).
    pub position: i64,
    /// Failed attempts since it last handled an event.
    pub attempts: u32,
}

/// Why a listener was released without finishing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerFailure {
    /// Not to be claimed before this.
    pub next_attempt_at: DateTime<Utc>,
    /// What went wrong, for people.
    pub error: String,
}

/// A listener's progress.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", derive(serde::Serialize))]
pub struct ListenerState {
    /// Its name.
    pub name: String,
    /// The last event it handled.
    pub position: i64,
    /// Failed attempts since it last handled an event.
    pub attempts: u32,
    /// When it may be tried again.
    pub next_attempt_at: DateTime<Utc>,
    /// Its last failure, cleared when it handles an event.
    pub last_error: Option<String>,
    /// Until when a dispatcher holds it.
    pub leased_until: Option<DateTime<Utc>>,
}

/// The outbox as a whole.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", derive(serde::Serialize))]
pub struct OutboxStatus {
    /// The newest event's sequence number (0: none yet).
    pub head: i64,
    /// Every registered listener, by name.
    pub listeners: Vec<ListenerState>,
}

impl OutboxStatus {
    /// How many events `listener` has not handled yet (`None`: unknown
    /// listener).
    pub fn lag(&self, listener: &str) -> Option<i64> {
        self.listeners
            .iter()
            .find(|l| l.name == listener)
            .map(|l| (self.head - l.position).max(0))
    }
}

/// How young the oldest kept event may be for a listener registered at
/// [`ListenerStart::Oldest`] to start from the very beginning (see
/// [`oldest_start`]).
pub const OLDEST_START_GRACE_MINUTES: i64 = 5;

/// Where a listener registered at `now` at [`ListenerStart::Oldest`]
/// starts, given the oldest event kept (its number and when it occurred):
/// right before it — or at 0 when that event is younger than
/// [`OLDEST_START_GRACE_MINUTES`], because an event written just before it
/// may still be committing under a lower number (a listener registered on
/// the first dispatch of a busy new shop would otherwise skip it). Starting
/// at 0 after a prune costs the listener at most one wait for the gap (see
/// [`DispatchConfig::gap_grace`]). 0 with no event.
pub fn oldest_start(oldest: Option<(i64, DateTime<Utc>)>, now: DateTime<Utc>) -> i64 {
    match oldest {
        Some((seq, at)) if at < now - Duration::minutes(OLDEST_START_GRACE_MINUTES) => {
            (seq - 1).max(0)
        }
        _ => 0,
    }
}

/// Port: the outbox's events and its listeners' progress. Events are
/// written by the other stores' writing methods, inside their atomic step.
#[async_trait]
pub trait OutboxStore: Send + Sync + 'static {
    /// Adds a listener unless it is known, at `start`: before the oldest
    /// event kept ([`oldest_start`] at `now`), or after the newest. A known
    /// listener keeps its progress.
    async fn register_listener(
        &self,
        name: &str,
        start: ListenerStart,
        now: DateTime<Utc>,
    ) -> Result<()>;

    /// Forgets a listener, so it no longer holds back pruning.
    async fn remove_listener(&self, name: &str) -> Result<()>;

    /// Leases to `owner` until `lease_until` one of `names` that is
    /// registered, due (`next_attempt_at <= now`), not leased (or its lease
    /// ended at or before `now`) and behind the newest event, preferring the
    /// longest due. Two callers never hold the same listener at once. `None`
    /// when no listener qualifies.
    async fn claim_listener(
        &self,
        names: &[String],
        owner: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Option<ListenerClaim>>;

    /// At most `limit` events with `seq > after`, by `seq`.
    async fn read_events(&self, after: i64, limit: u32) -> Result<Vec<StoredEvent>>;

    /// Records that the claimed listener handled every event up to
    /// `position`, clears its failures and extends its lease to
    /// `lease_until`. `Conflict` when `claim.owner` no longer holds it.
    async fn advance_listener(
        &self,
        claim: &ListenerClaim,
        position: i64,
        lease_until: DateTime<Utc>,
    ) -> Result<()>;

    /// Ends the claim's lease. With a failure, counts an attempt, keeps the
    /// error and defers the listener. `Conflict` when `claim.owner` no
    /// longer holds it.
    async fn release_listener(
        &self,
        claim: &ListenerClaim,
        failure: Option<&ListenerFailure>,
    ) -> Result<()>;

    /// The newest event's number and every listener's progress, by name.
    async fn outbox_status(&self) -> Result<OutboxStatus>;

    /// Deletes at most `limit` of the oldest events that every registered
    /// listener has handled and that occurred before `before` (with no
    /// listener, every event before `before`), always keeping the newest
    /// event (it tells where a new listener starts); how many it deleted.
    async fn prune_events(&self, before: DateTime<Utc>, limit: u32) -> Result<u64>;
}

/// How a [`Dispatcher`] works.
#[derive(Debug, Clone)]
pub struct DispatchConfig {
    /// Events read per query.
    pub batch_size: u32,
    /// At most this many events per listener per dispatch, so one busy
    /// listener does not hold a dispatch forever.
    pub max_events_per_claim: u32,
    /// How long a claim lasts without progress; each handled event renews
    /// it. A dispatcher that dies holding a listener delays it by this much.
    pub lease: Duration,
    /// How long a missing sequence number may stay missing before the
    /// dispatcher takes it for a rolled-back write (see the module docs).
    pub gap_grace: Duration,
    /// The longest wait between two attempts of a failing listener.
    pub max_backoff: Duration,
    /// After this many failures in a row on one event with an error that
    /// is not retryable ([`Error::is_retryable`]: e.g. an SMTP server
    /// refusing an address for good, a template that does not render), the
    /// listener skips the event and goes on; the skip is reported
    /// ([`DispatchReport::skipped`]). Retryable errors (a server that is
    /// down) are retried for as long as they last.
    pub max_attempts: u32,
}

impl Default for DispatchConfig {
    fn default() -> Self {
        DispatchConfig {
            batch_size: 100,
            max_events_per_claim: 1000,
            lease: Duration::seconds(30),
            gap_grace: Duration::seconds(60),
            max_backoff: Duration::minutes(10),
            max_attempts: 10,
        }
    }
}

impl DispatchConfig {
    /// How long to wait after the `attempts`-th failure in a row: 1 s,
    /// 2 s, 4 s, … up to [`DispatchConfig::max_backoff`].
    pub fn backoff(&self, attempts: u32) -> Duration {
        let exp = attempts.saturating_sub(1).min(30);
        let secs = 1i64 << exp;
        Duration::seconds(secs).min(self.max_backoff)
    }
}

/// What one dispatch did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DispatchReport {
    /// Events handed to listeners that accepted them.
    pub delivered: u64,
    /// Listeners that failed, with their error; they are retried later.
    pub failed: Vec<(String, String)>,
    /// Events a listener gave up on after [`DispatchConfig::max_attempts`]
    /// permanent failures: (listener, event number, the last error).
    pub skipped: Vec<(String, i64, String)>,
}

/// Delivers the outbox's events to listeners. Run it from several nodes at
/// once if you like: each listener is leased to one dispatcher at a time.
pub struct Dispatcher {
    store: Arc<dyn OutboxStore>,
    listeners: Vec<Arc<dyn EventListener>>,
    clock: Arc<dyn Clock>,
    config: DispatchConfig,
    registered: AtomicBool,
}

impl std::fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dispatcher")
            .field("listeners", &self.names())
            .field("config", &self.config)
            .finish()
    }
}

/// Longest listener name the stores keep.
pub const MAX_LISTENER_NAME: usize = 100;

impl Dispatcher {
    /// A dispatcher of `store`'s events to `listeners`, on `clock`.
    pub fn new(
        store: Arc<dyn OutboxStore>,
        listeners: Vec<Arc<dyn EventListener>>,
        clock: Arc<dyn Clock>,
        config: DispatchConfig,
    ) -> Self {
        Dispatcher {
            store,
            listeners,
            clock,
            config,
            registered: AtomicBool::new(false),
        }
    }

    /// The listeners' names, in registration order.
    pub fn names(&self) -> Vec<String> {
        self.listeners.iter().map(|l| l.name().to_owned()).collect()
    }

    /// Registers every listener with the store once (a new one starts where
    /// its [`EventListener::start`] says). Refuses empty, over-long or
    /// repeated names.
    pub async fn register(&self) -> Result<()> {
        if self.registered.load(Ordering::Acquire) {
            return Ok(());
        }
        let mut seen = HashSet::new();
        for listener in &self.listeners {
            let name = listener.name().to_owned();
            if name.trim().is_empty() || name.chars().count() > MAX_LISTENER_NAME {
                return Err(Error::validation(
                    "listener",
                    format!("a listener's name must have 1 to {MAX_LISTENER_NAME} characters"),
                ));
            }
            if !seen.insert(name.clone()) {
                return Err(Error::validation(
                    "listener",
                    format!("two listeners are named {name:?}"),
                ));
            }
        }
        let now = self.clock.now();
        for listener in &self.listeners {
            self.store
                .register_listener(listener.name(), listener.start(), now)
                .await?;
        }
        self.registered.store(true, Ordering::Release);
        Ok(())
    }

    /// Hands every listener that is due the events it has not handled yet
    /// (each listener at most once per call, at most
    /// [`DispatchConfig::max_events_per_claim`] events). A failing listener
    /// is deferred and reported; the others go on.
    pub async fn dispatch(&self) -> Result<DispatchReport> {
        self.register().await?;
        let mut report = DispatchReport::default();
        let mut left = self.names();
        while !left.is_empty() {
            let now = self.clock.now();
            let owner = format!("{:016x}", rand::random::<u64>());
            let Some(claim) = self
                .store
                .claim_listener(&left, &owner, now, now + self.config.lease)
                .await?
            else {
                break;
            };
            left.retain(|n| *n != claim.name);
            let Some(listener) = self.listeners.iter().find(|l| l.name() == claim.name) else {
                continue;
            };
            self.deliver(listener.as_ref(), claim, &mut report).await?;
        }
        Ok(report)
    }

    /// Delivers to one claimed listener until it is caught up, fails, meets
    /// a recent gap or reaches the per-claim limit, then releases it.
    async fn deliver(
        &self,
        listener: &dyn EventListener,
        mut claim: ListenerClaim,
        report: &mut DispatchReport,
    ) -> Result<()> {
        let mut handled = 0u32;
        'reading: while handled < self.config.max_events_per_claim {
            let events = self
                .store
                .read_events(claim.position, self.config.batch_size)
                .await?;
            let full = events.len() == self.config.batch_size as usize;
            for stored in events {
                let now = self.clock.now();
                if stored.seq != claim.position + 1
                    && stored.record.occurred_at > now - self.config.gap_grace
                {
                    // A write with an earlier number may not have committed
                    // yet: come back to it.
                    break 'reading;
                }
                // An event this code cannot read (written by a newer
                // version) is never skipped: a newer dispatcher delivers it.
                let (outcome, skippable) = match stored.record.decode() {
                    Ok(event) => {
                        let envelope = EventEnvelope {
                            seq: stored.seq,
                            occurred_at: stored.record.occurred_at,
                            event,
                        };
                        let outcome = listener.on_event(&envelope).await;
                        let permanent = outcome.as_ref().is_err_and(|e| !e.is_retryable());
                        (outcome, permanent)
                    }
                    Err(e) => (Err(e), false),
                };
                let mut skipped = false;
                if let Err(e) = outcome {
                    let attempts = claim.attempts.saturating_add(1);
                    let error = format!("event {}: {e}", stored.seq);
                    if !(skippable && attempts >= self.config.max_attempts) {
                        let failure = ListenerFailure {
                            next_attempt_at: self.clock.now() + self.config.backoff(attempts),
                            error,
                        };
                        report
                            .failed
                            .push((claim.name.clone(), failure.error.clone()));
                        return lost_is_fine(
                            self.store.release_listener(&claim, Some(&failure)).await,
                        );
                    }
                    report.skipped.push((claim.name.clone(), stored.seq, error));
                    skipped = true;
                }
                let lease_until = self.clock.now() + self.config.lease;
                match self
                    .store
                    .advance_listener(&claim, stored.seq, lease_until)
                    .await
                {
                    Ok(()) => {}
                    // Another dispatcher took the listener over after our
                    // lease ran out; it delivers from the recorded position.
                    Err(Error::Store(StoreError::Conflict { .. })) => return Ok(()),
                    Err(e) => return Err(e),
                }
                claim.position = stored.seq;
                claim.attempts = 0;
                if !skipped {
                    report.delivered += 1;
                }
                handled += 1;
                if handled >= self.config.max_events_per_claim {
                    break 'reading;
                }
            }
            if !full {
                break;
            }
        }
        lost_is_fine(self.store.release_listener(&claim, None).await)
    }
}

/// A release that finds its lease taken over ([`lost_listener`]) is fine:
/// the new holder goes on from the recorded position.
fn lost_is_fine(released: Result<()>) -> Result<()> {
    match released {
        Err(Error::Store(StoreError::Conflict { .. })) => Ok(()),
        other => other,
    }
}

/// The `Conflict` an [`OutboxStore`] answers for a claim that no longer
/// holds its listener's lease.
pub fn lost_listener(name: &str) -> Error {
    Error::Store(StoreError::Conflict {
        entity: crate::error::Entity::EventListener,
        id: name.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_maximum() {
        let c = DispatchConfig::default();
        assert_eq!(c.backoff(1), Duration::seconds(1));
        assert_eq!(c.backoff(2), Duration::seconds(2));
        assert_eq!(c.backoff(5), Duration::seconds(16));
        assert_eq!(c.backoff(40), Duration::minutes(10));
        assert_eq!(c.backoff(0), Duration::seconds(1));
    }
}
