//! `OutboxStore` and `JobStore`: the events every write records in its own
//! transaction ([`append`], called by `commit_with` right before the
//! commit), the listeners' progress and leases, the jobs' leases and last
//! runs.
//!
//! A listener is claimed in a short transaction: on PostgreSQL and
//! MySQL/MariaDB a `SELECT … FOR UPDATE SKIP LOCKED` picks a due listener
//! that no concurrent claimer holds, then the lease is written; on SQLite the
//! write transaction holds the database's single write lock. Leases, job
//! ticks and progress are conditional `UPDATE`s on the holder, so a claimer
//! whose lease was taken over writes nothing (`Conflict`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use shop_core::events::{EventRecord, ListenerStart};
use shop_core::jobs::{lost_lease, JobClaim, JobOutcome, JobRun, JobStore};
use shop_core::outbox::{
    lost_listener, ListenerClaim, ListenerFailure, ListenerState, OutboxStatus, OutboxStore,
    StoredEvent,
};
use shop_core::{Error, Result};

use crate::dialect::Tx;
use crate::error::{corrupt, Violation};
use crate::rows::Cols;
use crate::sql::Sql;
use crate::{commit, Dialect, SqlStore};

/// Inserts `events` into the outbox inside `tx`, in one statement.
pub(crate) async fn append<D: Dialect>(tx: &mut Tx<D>, events: &[EventRecord]) -> Result<()> {
    if events.is_empty() {
        return Ok(());
    }
    let mut insert = Sql::new(
        "INSERT INTO shop_outbox (aggregate_type, aggregate_id, event_type, version, payload, \
         occurred_at) VALUES ",
    );
    for (i, e) in events.iter().enumerate() {
        insert.push(if i == 0 { "(" } else { ", (" });
        insert
            .push_bind(e.aggregate_type.as_str())
            .push(", ")
            .push_bind(e.aggregate_id)
            .push(", ")
            .push_bind(e.event_type.as_str())
            .push(", ")
            .push_bind(e.version)
            .push(", ")
            .push_bind(e.payload.as_str())
            .push(", ")
            .push_bind(e.occurred_at)
            .push(")");
    }
    D::execute(tx, &insert).await.map(|_| ())
}

fn event_from(r: &impl Cols) -> Result<StoredEvent> {
    Ok(StoredEvent {
        seq: r.int("seq")?,
        record: EventRecord {
            aggregate_type: r.text("aggregate_type")?,
            aggregate_id: r.int("aggregate_id")?,
            event_type: r.text("event_type")?,
            version: r.count("version")?,
            payload: r.text("payload")?,
            occurred_at: r.time("occurred_at")?,
        },
    })
}

fn listener_from(r: &impl Cols) -> Result<ListenerState> {
    Ok(ListenerState {
        name: r.text("name")?,
        position: r.int("position")?,
        attempts: r.count("attempts")?,
        next_attempt_at: r.time("next_attempt_at")?,
        last_error: r.opt_text("last_error")?,
        leased_until: r.opt_time("lease_until")?,
    })
}

fn job_from(r: &impl Cols) -> Result<JobRun> {
    let outcome = r
        .opt_text("outcome")?
        .map(|o| JobOutcome::parse(&o).ok_or_else(|| corrupt("outcome", &o)))
        .transpose()?;
    Ok(JobRun {
        name: r.text("name")?,
        tick: r.time("tick")?,
        node: r.text("node")?,
        started_at: r.time("started_at")?,
        finished_at: r.opt_time("finished_at")?,
        outcome,
        detail: r.opt_text("detail")?,
        leased_until: r.opt_time("lease_until")?,
    })
}

impl<D: Dialect> SqlStore<D> {
    /// The newest event's number (0 when there is none).
    async fn head(&self) -> Result<i64> {
        let row = self
            .one(
                Sql::new("SELECT COALESCE(MAX(seq), 0) AS head FROM shop_outbox"),
                |r| r.int("head"),
            )
            .await?;
        Ok(row.unwrap_or(0))
    }

    /// Runs `update` (the holder's name and owner bound last) and fails
    /// with `lost` when it matched nothing.
    async fn update_held(&self, update: Sql, lost: impl FnOnce() -> Error) -> Result<()> {
        if self.execute(update).await? == 0 {
            return Err(lost());
        }
        Ok(())
    }
}

#[async_trait]
impl<D: Dialect> OutboxStore for SqlStore<D> {
    async fn register_listener(
        &self,
        name: &str,
        start: ListenerStart,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let position = match start {
            ListenerStart::Newest => {
                let newest = Sql::new("SELECT MAX(seq) AS newest FROM shop_outbox");
                self.one(newest, |r| r.opt_int("newest"))
                    .await?
                    .flatten()
                    .unwrap_or(0)
            }
            ListenerStart::Oldest => {
                let oldest =
                    Sql::new("SELECT seq, occurred_at FROM shop_outbox ORDER BY seq LIMIT 1");
                let oldest = self
                    .one(oldest, |r| Ok((r.int("seq")?, r.time("occurred_at")?)))
                    .await?;
                shop_core::outbox::oldest_start(oldest, now)
            }
        };
        let insert = Sql::new(
            "INSERT INTO shop_outbox_listeners (name, position, attempts, next_attempt_at) \
             VALUES (?, ?, 0, ?)",
        )
        .bind(name)
        .bind(position)
        .bind(now);
        match self.execute(insert).await {
            // Known already: it keeps its progress.
            Err(e) if e.is_unique_violation() => Ok(()),
            other => other.map(|_| ()),
        }
    }

    async fn remove_listener(&self, name: &str) -> Result<()> {
        self.execute(Sql::new("DELETE FROM shop_outbox_listeners WHERE name = ?").bind(name))
            .await
            .map(|_| ())
    }

    async fn claim_listener(
        &self,
        names: &[String],
        owner: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Option<ListenerClaim>> {
        if names.is_empty() {
            return Ok(None);
        }
        // Read apart from the locking query, so the claim never locks the
        // outbox's newest rows (writers insert there).
        let head = self.head().await?;
        let mut tx = self.write().await?;
        let mut pick = Sql::new(
            "SELECT name, position, attempts FROM shop_outbox_listeners \
             WHERE next_attempt_at <= ? AND (lease_until IS NULL OR lease_until <= ?) \
             AND position < ? AND name IN (",
        )
        .bind(now)
        .bind(now)
        .bind(head);
        for (i, name) in names.iter().enumerate() {
            pick.push(if i == 0 { "" } else { ", " })
                .push_bind(name.as_str());
        }
        pick.push(") ORDER BY next_attempt_at, name LIMIT 1")
            .push(D::SKIP_LOCKED);
        let Some(row) = D::fetch_optional(&mut tx, &pick).await? else {
            return Ok(None);
        };
        let claim = ListenerClaim {
            name: row.text("name")?,
            owner: owner.to_owned(),
            position: row.int("position")?,
            attempts: row.count("attempts")?,
        };
        let lease = Sql::new(
            "UPDATE shop_outbox_listeners SET lease_owner = ?, lease_until = ? WHERE name = ?",
        )
        .bind(owner)
        .bind(lease_until)
        .bind(claim.name.as_str());
        D::execute(&mut tx, &lease).await?;
        commit::<D>(tx).await?;
        Ok(Some(claim))
    }

    async fn read_events(&self, after: i64, limit: u32) -> Result<Vec<StoredEvent>> {
        self.all(
            Sql::new(
                "SELECT seq, aggregate_type, aggregate_id, event_type, version, payload, \
                 occurred_at FROM shop_outbox WHERE seq > ? ORDER BY seq LIMIT ?",
            )
            .bind(after)
            .bind(limit),
            event_from,
        )
        .await
    }

    async fn advance_listener(
        &self,
        claim: &ListenerClaim,
        position: i64,
        lease_until: DateTime<Utc>,
    ) -> Result<()> {
        let update = Sql::new(
            "UPDATE shop_outbox_listeners SET position = ?, attempts = 0, last_error = NULL, \
             lease_until = ? WHERE name = ? AND lease_owner = ?",
        )
        .bind(position)
        .bind(lease_until)
        .bind(claim.name.as_str())
        .bind(claim.owner.as_str());
        self.update_held(update, || lost_listener(&claim.name))
            .await
    }

    async fn release_listener(
        &self,
        claim: &ListenerClaim,
        failure: Option<&ListenerFailure>,
    ) -> Result<()> {
        let update = match failure {
            None => Sql::new(
                "UPDATE shop_outbox_listeners SET lease_owner = NULL, lease_until = NULL \
                 WHERE name = ? AND lease_owner = ?",
            ),
            Some(f) => Sql::new(
                "UPDATE shop_outbox_listeners SET lease_owner = NULL, lease_until = NULL, \
                 attempts = attempts + 1, next_attempt_at = ?, last_error = ? \
                 WHERE name = ? AND lease_owner = ?",
            )
            .bind(f.next_attempt_at)
            .bind(truncate(&f.error)),
        };
        let update = update.bind(claim.name.as_str()).bind(claim.owner.as_str());
        self.update_held(update, || lost_listener(&claim.name))
            .await
    }

    async fn outbox_status(&self) -> Result<OutboxStatus> {
        let head = self.head().await?;
        let listeners = self
            .all(
                Sql::new("SELECT * FROM shop_outbox_listeners ORDER BY name"),
                listener_from,
            )
            .await?;
        Ok(OutboxStatus { head, listeners })
    }

    async fn prune_events(&self, before: DateTime<Utc>, limit: u32) -> Result<u64> {
        let handled = self
            .one(
                Sql::new("SELECT MIN(position) AS handled FROM shop_outbox_listeners"),
                |r| r.opt_int("handled"),
            )
            .await?
            .flatten()
            .unwrap_or(i64::MAX);
        let head = self.head().await?;
        // The inner query is wrapped once more: MySQL allows no LIMIT in an
        // IN subquery, but does in a derived table.
        let delete = Sql::new(
            "DELETE FROM shop_outbox WHERE seq IN (SELECT seq FROM (SELECT seq FROM shop_outbox \
             WHERE seq <= ? AND seq < ? AND occurred_at < ? ORDER BY seq LIMIT ?) AS chunk)",
        )
        .bind(handled)
        .bind(head)
        .bind(before)
        .bind(limit);
        self.execute(delete).await
    }
}

/// Longest error or detail text kept, in characters.
const MAX_TEXT: usize = 4000;

fn truncate(text: &str) -> String {
    text.chars().take(MAX_TEXT).collect()
}

#[async_trait]
impl<D: Dialect> JobStore for SqlStore<D> {
    async fn claim_job(
        &self,
        claim: &JobClaim,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<bool> {
        let first = Sql::new(
            "INSERT INTO shop_jobs (name, tick, node, started_at, lease_owner, lease_until) \
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(claim.name.as_str())
        .bind(claim.tick)
        .bind(claim.node.as_str())
        .bind(now)
        .bind(claim.owner.as_str())
        .bind(lease_until);
        match self.execute(first).await {
            Ok(_) => return Ok(true),
            Err(e) if e.is_unique_violation() => {}
            Err(e) => return Err(e),
        }
        let take = Sql::new(
            "UPDATE shop_jobs SET tick = ?, node = ?, started_at = ?, finished_at = NULL, \
             outcome = NULL, detail = NULL, lease_owner = ?, lease_until = ? \
             WHERE name = ? AND (done_tick IS NULL OR done_tick < ?) \
             AND (lease_until IS NULL OR lease_until <= ?)",
        )
        .bind(claim.tick)
        .bind(claim.node.as_str())
        .bind(now)
        .bind(claim.owner.as_str())
        .bind(lease_until)
        .bind(claim.name.as_str())
        .bind(claim.tick)
        .bind(now);
        Ok(self.execute(take).await? == 1)
    }

    async fn renew_job(&self, claim: &JobClaim, lease_until: DateTime<Utc>) -> Result<()> {
        let update =
            Sql::new("UPDATE shop_jobs SET lease_until = ? WHERE name = ? AND lease_owner = ?")
                .bind(lease_until)
                .bind(claim.name.as_str())
                .bind(claim.owner.as_str());
        self.update_held(update, || lost_lease(&claim.name)).await
    }

    async fn finish_job(
        &self,
        claim: &JobClaim,
        finished_at: DateTime<Utc>,
        outcome: JobOutcome,
        detail: &str,
    ) -> Result<()> {
        let update = Sql::new(
            "UPDATE shop_jobs SET finished_at = ?, outcome = ?, detail = ?, done_tick = ?, \
             lease_owner = NULL, lease_until = NULL WHERE name = ? AND lease_owner = ?",
        )
        .bind(finished_at)
        .bind(outcome.as_str())
        .bind(truncate(detail))
        .bind(claim.tick)
        .bind(claim.name.as_str())
        .bind(claim.owner.as_str());
        self.update_held(update, || lost_lease(&claim.name)).await
    }

    async fn job_runs(&self) -> Result<Vec<JobRun>> {
        self.all(Sql::new("SELECT * FROM shop_jobs ORDER BY name"), job_from)
            .await
    }
}
