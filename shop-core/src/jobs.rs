//! The job runner: named jobs on schedules, each tick leased so that with
//! N nodes it runs once.
//!
//! A [`Job`] has a name, a [`Schedule`] (every *n* seconds, aligned to the
//! Unix epoch so every node agrees on the ticks; or daily at a time of day
//! in a UTC offset) and a [`JobScope`]. A [`JobRunner`] on each node calls
//! [`JobRunner::run_due`] now and then; for every job whose latest tick has
//! not run yet it tries [`JobStore::claim_job`], a conditional write that
//! only one node wins. The winner holds a lease while it runs; a job working
//! in chunks renews it between chunks ([`JobContext::keep_alive`]). When a
//! node dies mid-run its lease expires and the next node to look runs the
//! job again (jobs are resumable: each chunk is its own atomic step). Each
//! job's last run — start, end, outcome, what it did — is kept in the store
//! ([`JobRunner::last_runs`]).
//!
//! A [`JobScope::Node`] job (dispatching the outbox, which leases its
//! listeners itself) runs on every node at each tick, under its own name
//! per node (`name@node`).

use std::future::Future;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Duration, FixedOffset, NaiveTime, TimeZone, Utc};

use crate::clock::Clock;
use crate::error::{Error, Result, StoreError};
use crate::service::StopSignal;

/// When a job runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schedule {
    /// Every `Duration` (at least a second), at the multiples of it since
    /// the Unix epoch.
    Every(Duration),
    /// Once a day at this time of day in this UTC offset.
    DailyAt(NaiveTime, FixedOffset),
}

impl Schedule {
    /// Every `secs` seconds.
    pub fn every_secs(secs: i64) -> Schedule {
        Schedule::Every(Duration::seconds(secs))
    }

    /// Every `minutes` minutes.
    pub fn every_minutes(minutes: i64) -> Schedule {
        Schedule::Every(Duration::minutes(minutes))
    }

    /// The latest tick at or before `now`.
    pub fn tick_at(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        match *self {
            Schedule::Every(every) => {
                let step = every.num_microseconds().unwrap_or(i64::MAX).max(1_000_000);
                let t = now.timestamp_micros();
                let tick = t - t.rem_euclid(step);
                DateTime::from_timestamp_micros(tick).unwrap_or(now)
            }
            Schedule::DailyAt(time, offset) => {
                let local = now.with_timezone(&offset);
                let today = local.date_naive().and_time(time);
                let at = offset
                    .from_local_datetime(&today)
                    .single()
                    .map(|d| d.with_timezone(&Utc))
                    .unwrap_or(now);
                if at <= now {
                    at
                } else {
                    at - Duration::days(1)
                }
            }
        }
    }

    /// The first tick after `now`.
    pub fn next_after(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        let tick = self.tick_at(now);
        match *self {
            Schedule::Every(every) => tick + every.max(Duration::seconds(1)),
            Schedule::DailyAt(..) => tick + Duration::days(1),
        }
    }
}

/// Where a job runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobScope {
    /// Once per tick in the whole deployment.
    Cluster,
    /// Once per tick on every node (its run is kept as `name@node`).
    Node,
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum JobOutcome {
    /// It did its work.
    Succeeded,
    /// It returned an error.
    Failed,
}

impl JobOutcome {
    /// `succeeded` or `failed`, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            JobOutcome::Succeeded => "succeeded",
            JobOutcome::Failed => "failed",
        }
    }

    /// The outcome of its stored name.
    pub fn parse(s: &str) -> Option<JobOutcome> {
        match s {
            "succeeded" => Some(JobOutcome::Succeeded),
            "failed" => Some(JobOutcome::Failed),
            _ => None,
        }
    }
}

/// A job's latest run as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JobRun {
    /// The job (`name@node` for a node-scoped job).
    pub name: String,
    /// The tick it ran for.
    pub tick: DateTime<Utc>,
    /// The node that ran it.
    pub node: String,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it ended; `None` while running (or when its node died).
    pub finished_at: Option<DateTime<Utc>>,
    /// How it ended.
    pub outcome: Option<JobOutcome>,
    /// What it did, or its error.
    pub detail: Option<String>,
    /// Until when its lease runs.
    pub leased_until: Option<DateTime<Utc>>,
}

/// A claim of one tick of one job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobClaim {
    /// The job's stored name.
    pub name: String,
    /// The tick.
    pub tick: DateTime<Utc>,
    /// Who holds it (unique per claim).
    pub owner: String,
    /// The node running it.
    pub node: String,
}

/// Port: the jobs' leases and last runs.
#[async_trait]
pub trait JobStore: Send + Sync + 'static {
    /// Claims `claim.tick` of job `claim.name` until `lease_until`, when the
    /// job has not finished that tick (or a later one) and no lease that
    /// runs after `now` holds it; records the run as started at `now`.
    /// Creates the job's record on first use. `false` when another claimer
    /// holds or has run it. Two claimers never both win one tick.
    async fn claim_job(
        &self,
        claim: &JobClaim,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<bool>;

    /// Extends the claim's lease. `Conflict` when it no longer holds it.
    async fn renew_job(&self, claim: &JobClaim, lease_until: DateTime<Utc>) -> Result<()>;

    /// Records the claimed run's end and releases the lease. `Conflict`
    /// when the claim no longer holds it.
    async fn finish_job(
        &self,
        claim: &JobClaim,
        finished_at: DateTime<Utc>,
        outcome: JobOutcome,
        detail: &str,
    ) -> Result<()>;

    /// Every job's latest run, by name.
    async fn job_runs(&self) -> Result<Vec<JobRun>>;
}

/// What a running job is given: its claim and a way to keep it.
pub struct JobContext {
    store: Arc<dyn JobStore>,
    clock: Arc<dyn Clock>,
    claim: JobClaim,
    lease: Duration,
    stop: StopSignal,
}

impl std::fmt::Debug for JobContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobContext")
            .field("claim", &self.claim)
            .finish()
    }
}

impl JobContext {
    /// The tick being run.
    pub fn tick(&self) -> DateTime<Utc> {
        self.claim.tick
    }

    /// Renews the lease; call it between chunks. `Conflict` when the lease
    /// was lost (the job ran past it and another node took over): stop
    /// then.
    pub async fn keep_alive(&self) -> Result<()> {
        self.store
            .renew_job(&self.claim, self.clock.now() + self.lease)
            .await
    }

    /// Raised when the runner is asked to stop: a chunked job stops at its
    /// next chunk boundary.
    pub fn stop(&self) -> &StopSignal {
        &self.stop
    }
}

/// A named job on a schedule.
#[async_trait]
pub trait Job: Send + Sync + 'static {
    /// The stable name its runs are kept under (at most 100 characters).
    fn name(&self) -> &str;
    /// When it runs.
    fn schedule(&self) -> Schedule;
    /// Where it runs; [`JobScope::Cluster`] unless overridden.
    fn scope(&self) -> JobScope {
        JobScope::Cluster
    }
    /// Does one run; the text says what it did (kept as the run's detail).
    async fn run(&self, ctx: &JobContext) -> Result<String>;
}

/// Runs jobs whose tick is due, once per tick across every node sharing
/// its [`JobStore`].
pub struct JobRunner {
    store: Arc<dyn JobStore>,
    clock: Arc<dyn Clock>,
    jobs: Vec<Arc<dyn Job>>,
    node: String,
    lease: Duration,
    stop: StopSignal,
}

impl std::fmt::Debug for JobRunner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.jobs.iter().map(|j| j.name()).collect();
        f.debug_struct("JobRunner")
            .field("node", &self.node)
            .field("jobs", &names)
            .finish()
    }
}

impl JobRunner {
    /// A runner on node `node` (unique per process, e.g. host and pid) with
    /// a lease of 5 minutes.
    pub fn new(store: Arc<dyn JobStore>, clock: Arc<dyn Clock>, node: impl Into<String>) -> Self {
        JobRunner {
            store,
            clock,
            jobs: Vec::new(),
            node: node.into(),
            lease: Duration::minutes(5),
            stop: StopSignal::new(),
        }
    }

    /// Adds a job.
    pub fn job(mut self, job: Arc<dyn Job>) -> Self {
        self.jobs.push(job);
        self
    }

    /// Adds jobs.
    pub fn jobs(mut self, jobs: impl IntoIterator<Item = Arc<dyn Job>>) -> Self {
        self.jobs.extend(jobs);
        self
    }

    /// Sets how long a run holds its tick without renewing.
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// The signal that stops [`JobRunner::run_until_stopped`] and asks
    /// running jobs to stop at their next chunk.
    pub fn stop_signal(&self) -> &StopSignal {
        &self.stop
    }

    /// This runner's node.
    pub fn node(&self) -> &str {
        &self.node
    }

    fn stored_name(&self, job: &dyn Job) -> String {
        match job.scope() {
            JobScope::Cluster => job.name().to_owned(),
            JobScope::Node => format!("{}@{}", job.name(), self.node),
        }
    }

    /// Runs every job whose latest tick this node wins, concurrently, and
    /// returns their runs (an `Err` for a job whose claim or bookkeeping
    /// failed). Jobs another node holds or has run are skipped.
    pub async fn run_due(&self) -> Vec<Result<JobRun>> {
        let runs = self.jobs.iter().map(|job| self.run_one(job.as_ref()));
        futures::future::join_all(runs)
            .await
            .into_iter()
            .flatten()
            .collect()
    }

    /// Runs `job` when this node wins its current tick.
    async fn run_one(&self, job: &dyn Job) -> Option<Result<JobRun>> {
        let now = self.clock.now();
        let claim = JobClaim {
            name: self.stored_name(job),
            tick: job.schedule().tick_at(now),
            owner: format!("{}:{:016x}", self.node, rand::random::<u64>()),
            node: self.node.clone(),
        };
        match self.store.claim_job(&claim, now, now + self.lease).await {
            Ok(true) => {}
            Ok(false) => return None,
            Err(e) => return Some(Err(e)),
        }
        let ctx = JobContext {
            store: self.store.clone(),
            clock: self.clock.clone(),
            claim: claim.clone(),
            lease: self.lease,
            stop: self.stop.clone(),
        };
        let (outcome, detail) = match job.run(&ctx).await {
            Ok(detail) => (JobOutcome::Succeeded, detail),
            Err(e) => (JobOutcome::Failed, e.to_string()),
        };
        let finished_at = self.clock.now();
        Some(
            match self
                .store
                .finish_job(&claim, finished_at, outcome, &detail)
                .await
            {
                Ok(()) => Ok(JobRun {
                    name: claim.name,
                    tick: claim.tick,
                    node: claim.node,
                    started_at: now,
                    finished_at: Some(finished_at),
                    outcome: Some(outcome),
                    detail: Some(detail),
                    leased_until: None,
                }),
                Err(e) => Err(e),
            },
        )
    }

    /// The earliest tick of any job after now.
    pub fn next_tick(&self) -> Option<DateTime<Utc>> {
        let now = self.clock.now();
        self.jobs.iter().map(|j| j.schedule().next_after(now)).min()
    }

    /// Runs the jobs until [`JobRunner::stop_signal`] is raised: each job
    /// whose tick comes is claimed and run, concurrently with the others, so
    /// a long run (re-sending refunds to a slow gateway) never delays the
    /// ticks of another job (dispatching the outbox every second). Between
    /// ticks it sleeps with `sleep` (e.g. `tokio::time::sleep`), at most
    /// `max_sleep` at a time so a raised stop is seen soon; every run (or
    /// error) goes to `report`. A tick another node holds is tried again
    /// after at most a lease, in case that node died. Once stopped, it
    /// waits for the runs in progress (they stop at their next chunk).
    pub async fn run_until_stopped<S, F>(
        &self,
        max_sleep: std::time::Duration,
        sleep: S,
        mut report: impl FnMut(Result<JobRun>),
    ) where
        S: Fn(std::time::Duration) -> F,
        F: Future<Output = ()>,
    {
        use futures::future::Either;
        use futures::stream::{FuturesUnordered, StreamExt};

        let mut running = FuturesUnordered::new();
        let mut busy = vec![false; self.jobs.len()];
        // The tick each job was last tried at, and when.
        let mut tried: Vec<Option<(DateTime<Utc>, DateTime<Utc>)>> = vec![None; self.jobs.len()];
        while !self.stop.is_raised() {
            let now = self.clock.now();
            for (i, job) in self.jobs.iter().enumerate() {
                let tick = job.schedule().tick_at(now);
                let recent = tried[i].is_some_and(|(t, at)| t == tick && now < at + self.lease);
                if busy[i] || recent {
                    continue;
                }
                busy[i] = true;
                tried[i] = Some((tick, now));
                running.push(async move { (i, self.run_one(job.as_ref()).await) });
            }
            let wait = self
                .next_tick()
                .map(|t| (t - self.clock.now()).to_std().unwrap_or_default())
                .unwrap_or(max_sleep)
                .min(max_sleep);
            let nap = sleep(wait);
            futures::pin_mut!(nap);
            loop {
                match futures::future::select(running.next(), nap.as_mut()).await {
                    Either::Left((Some((i, run)), _)) => {
                        busy[i] = false;
                        if let Some(run) = run {
                            report(run);
                        }
                    }
                    Either::Left((None, _)) => {
                        nap.as_mut().await;
                        break;
                    }
                    Either::Right(_) => break,
                }
            }
        }
        while let Some((_, run)) = running.next().await {
            if let Some(run) = run {
                report(run);
            }
        }
    }

    /// Every job's latest run, by name (each node's for node-scoped jobs).
    pub async fn last_runs(&self) -> Result<Vec<JobRun>> {
        self.store.job_runs().await
    }
}

/// The `Conflict` a [`JobStore`] answers for a claim that no longer holds
/// its job's lease.
pub fn lost_lease(name: &str) -> Error {
    Error::Store(StoreError::Conflict {
        entity: crate::error::Entity::Job,
        id: name.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .map(|d| d.with_timezone(&Utc))
            .unwrap_or_default()
    }

    #[test]
    fn ticks_are_aligned_and_daily_ticks_follow_the_offset() {
        let every = Schedule::every_minutes(5);
        assert_eq!(
            every.tick_at(at("2026-12-01T10:07:30Z")),
            at("2026-12-01T10:05:00Z")
        );
        assert_eq!(
            every.tick_at(at("2026-12-01T10:05:00Z")),
            at("2026-12-01T10:05:00Z")
        );
        assert_eq!(
            every.next_after(at("2026-12-01T10:05:00Z")),
            at("2026-12-01T10:10:00Z")
        );
        let beijing = FixedOffset::east_opt(8 * 3600).unwrap();
        let daily = Schedule::DailyAt(NaiveTime::from_hms_opt(3, 0, 0).unwrap(), beijing);
        // 03:00 in Beijing is 19:00 UTC the day before.
        assert_eq!(
            daily.tick_at(at("2026-12-01T20:00:00Z")),
            at("2026-12-01T19:00:00Z")
        );
        assert_eq!(
            daily.tick_at(at("2026-12-01T18:59:59Z")),
            at("2026-11-30T19:00:00Z")
        );
        assert_eq!(
            daily.next_after(at("2026-12-01T20:00:00Z")),
            at("2026-12-02T19:00:00Z")
        );
    }
}
