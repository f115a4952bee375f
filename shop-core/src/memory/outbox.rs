//! `OutboxStore` and `JobStore`: the outbox is part of the state, so a
//! write and its events share the lock ([`MemoryStore::write`]).

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::MemoryStore;
use crate::error::Result;
use crate::events::{EventRecord, ListenerStart};
use crate::jobs::{lost_lease, JobClaim, JobOutcome, JobRun, JobStore};
use crate::outbox::{
    lost_listener, ListenerClaim, ListenerFailure, ListenerState, OutboxStatus, OutboxStore,
    StoredEvent,
};

/// The events and the listeners' progress.
#[derive(Debug, Default)]
pub(super) struct Outbox {
    events: BTreeMap<i64, EventRecord>,
    /// The last sequence number handed out (never reused, even after
    /// pruning).
    last_seq: i64,
    listeners: BTreeMap<String, Listener>,
}

#[derive(Debug, Clone)]
struct Listener {
    state: ListenerState,
    owner: Option<String>,
}

impl Outbox {
    pub(super) fn append(&mut self, events: &[EventRecord]) {
        for e in events {
            self.last_seq += 1;
            self.events.insert(self.last_seq, e.clone());
        }
    }

    /// The newest event's number.
    fn head(&self) -> i64 {
        self.last_seq
    }

    /// The claim's listener while `claim.owner` holds it.
    fn held(&mut self, claim: &ListenerClaim) -> Result<&mut Listener> {
        self.listeners
            .get_mut(&claim.name)
            .filter(|l| l.owner.as_deref() == Some(claim.owner.as_str()))
            .ok_or_else(|| lost_listener(&claim.name))
    }
}

#[async_trait]
impl OutboxStore for MemoryStore {
    async fn register_listener(
        &self,
        name: &str,
        start: ListenerStart,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let mut state = self.state();
        let head = match start {
            ListenerStart::Oldest => crate::outbox::oldest_start(
                state
                    .outbox
                    .events
                    .iter()
                    .next()
                    .map(|(seq, e)| (*seq, e.occurred_at)),
                now,
            ),
            ListenerStart::Newest => state.outbox.head(),
        };
        state
            .outbox
            .listeners
            .entry(name.to_owned())
            .or_insert_with(|| Listener {
                state: ListenerState {
                    name: name.to_owned(),
                    position: head,
                    attempts: 0,
                    next_attempt_at: now,
                    last_error: None,
                    leased_until: None,
                },
                owner: None,
            });
        Ok(())
    }

    async fn remove_listener(&self, name: &str) -> Result<()> {
        self.state().outbox.listeners.remove(name);
        Ok(())
    }

    async fn claim_listener(
        &self,
        names: &[String],
        owner: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Option<ListenerClaim>> {
        let mut state = self.state();
        let head = state.outbox.head();
        let due = state
            .outbox
            .listeners
            .values_mut()
            .filter(|l| names.contains(&l.state.name))
            .filter(|l| l.state.next_attempt_at <= now)
            .filter(|l| l.state.leased_until.is_none_or(|until| until <= now))
            .filter(|l| l.state.position < head)
            .min_by(|a, b| {
                (a.state.next_attempt_at, &a.state.name)
                    .cmp(&(b.state.next_attempt_at, &b.state.name))
            });
        Ok(due.map(|l| {
            l.owner = Some(owner.to_owned());
            l.state.leased_until = Some(lease_until);
            ListenerClaim {
                name: l.state.name.clone(),
                owner: owner.to_owned(),
                position: l.state.position,
                attempts: l.state.attempts,
            }
        }))
    }

    async fn read_events(&self, after: i64, limit: u32) -> Result<Vec<StoredEvent>> {
        let state = self.state();
        Ok(state
            .outbox
            .events
            .range(after.saturating_add(1)..)
            .take(limit as usize)
            .map(|(seq, record)| StoredEvent {
                seq: *seq,
                record: record.clone(),
            })
            .collect())
    }

    async fn advance_listener(
        &self,
        claim: &ListenerClaim,
        position: i64,
        lease_until: DateTime<Utc>,
    ) -> Result<()> {
        let mut state = self.state();
        let l = state.outbox.held(claim)?;
        l.state.position = position;
        l.state.attempts = 0;
        l.state.last_error = None;
        l.state.leased_until = Some(lease_until);
        Ok(())
    }

    async fn release_listener(
        &self,
        claim: &ListenerClaim,
        failure: Option<&ListenerFailure>,
    ) -> Result<()> {
        let mut state = self.state();
        let l = state.outbox.held(claim)?;
        l.owner = None;
        l.state.leased_until = None;
        if let Some(f) = failure {
            l.state.attempts = l.state.attempts.saturating_add(1);
            l.state.next_attempt_at = f.next_attempt_at;
            l.state.last_error = Some(f.error.clone());
        }
        Ok(())
    }

    async fn outbox_status(&self) -> Result<OutboxStatus> {
        let state = self.state();
        Ok(OutboxStatus {
            head: state.outbox.head(),
            listeners: state
                .outbox
                .listeners
                .values()
                .map(|l| l.state.clone())
                .collect(),
        })
    }

    async fn prune_events(&self, before: DateTime<Utc>, limit: u32) -> Result<u64> {
        let mut state = self.state();
        let outbox = &mut state.outbox;
        let handled = outbox
            .listeners
            .values()
            .map(|l| l.state.position)
            .min()
            .unwrap_or(i64::MAX);
        let doomed: Vec<i64> = outbox
            .events
            .iter()
            // The newest event stays, as the stores keep it (it tells a new
            // listener where to start).
            .take_while(|(seq, _)| **seq <= handled && **seq < outbox.last_seq)
            .filter(|(_, e)| e.occurred_at < before)
            .take(limit as usize)
            .map(|(seq, _)| *seq)
            .collect();
        for seq in &doomed {
            outbox.events.remove(seq);
        }
        Ok(doomed.len() as u64)
    }
}

/// A job's row: its latest run, the last tick it finished and who holds it.
#[derive(Debug, Clone)]
pub(super) struct Job {
    run: JobRun,
    done_tick: Option<DateTime<Utc>>,
    owner: Option<String>,
}

#[async_trait]
impl JobStore for MemoryStore {
    async fn claim_job(
        &self,
        claim: &JobClaim,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<bool> {
        let mut state = self.state();
        let run = JobRun {
            name: claim.name.clone(),
            tick: claim.tick,
            node: claim.node.clone(),
            started_at: now,
            finished_at: None,
            outcome: None,
            detail: None,
            leased_until: Some(lease_until),
        };
        match state.jobs.get_mut(&claim.name) {
            None => {
                state.jobs.insert(
                    claim.name.clone(),
                    Job {
                        run,
                        done_tick: None,
                        owner: Some(claim.owner.clone()),
                    },
                );
                Ok(true)
            }
            Some(job) => {
                let ran = job.done_tick.is_some_and(|t| t >= claim.tick);
                let held = job.run.leased_until.is_some_and(|until| until > now);
                if ran || held {
                    return Ok(false);
                }
                job.run = run;
                job.owner = Some(claim.owner.clone());
                Ok(true)
            }
        }
    }

    async fn renew_job(&self, claim: &JobClaim, lease_until: DateTime<Utc>) -> Result<()> {
        let mut state = self.state();
        let job = held(&mut state.jobs, claim)?;
        job.run.leased_until = Some(lease_until);
        Ok(())
    }

    async fn finish_job(
        &self,
        claim: &JobClaim,
        finished_at: DateTime<Utc>,
        outcome: JobOutcome,
        detail: &str,
    ) -> Result<()> {
        let mut state = self.state();
        let job = held(&mut state.jobs, claim)?;
        job.run.finished_at = Some(finished_at);
        job.run.outcome = Some(outcome);
        job.run.detail = Some(detail.to_owned());
        job.run.leased_until = None;
        job.done_tick = Some(claim.tick);
        job.owner = None;
        Ok(())
    }

    async fn job_runs(&self) -> Result<Vec<JobRun>> {
        Ok(self.state().jobs.values().map(|j| j.run.clone()).collect())
    }
}

fn held<'a>(jobs: &'a mut BTreeMap<String, Job>, claim: &JobClaim) -> Result<&'a mut Job> {
    jobs.get_mut(&claim.name)
        .filter(|j| j.owner.as_deref() == Some(claim.owner.as_str()))
        .ok_or_else(|| lost_lease(&claim.name))
}
