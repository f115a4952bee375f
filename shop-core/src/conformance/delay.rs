//! The delay queue's contract, for every implementation (memory, Redis):
//! due jobs earliest first, a claim leases them, a worker that dies leaves
//! its jobs to the next claim after the lease, concurrent claims never
//! share a job.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::Duration;

use super::concurrently;
use super::fixtures::base_time;
use crate::delay::DelayQueue;

/// See the module documentation.
pub async fn delay_queue_leases_and_redelivers<Q: DelayQueue>(queue: Arc<Q>) {
    let t = base_time();
    let lease = Duration::seconds(30);
    queue
        .schedule("b", "2", t + Duration::seconds(2))
        .await
        .unwrap();
    queue
        .schedule("a", "1", t + Duration::seconds(1))
        .await
        .unwrap();
    queue
        .schedule("late", "9", t + Duration::hours(1))
        .await
        .unwrap();
    assert_eq!(queue.queued().await.unwrap(), 3);
    assert!(queue.claim_due(t, lease, 10).await.unwrap().is_empty());

    let now = t + Duration::seconds(5);
    let claimed = queue.claim_due(now, lease, 10).await.unwrap();
    let ids: Vec<&str> = claimed.iter().map(|j| j.id.as_str()).collect();
    assert_eq!(ids, ["a", "b"], "due jobs, earliest first");
    assert_eq!(claimed[0].payload, "1");
    assert!(
        queue.claim_due(now, lease, 10).await.unwrap().is_empty(),
        "leased"
    );
    // The worker died: after the lease both come back; one is completed.
    let after = now + lease;
    let again = queue.claim_due(after, lease, 1).await.unwrap();
    assert_eq!(again.len(), 1, "the limit holds");
    assert_eq!(again[0].id, "a");
    queue.complete("a").await.unwrap();
    queue.complete("a").await.unwrap();
    let rest = queue.claim_due(after, lease, 10).await.unwrap();
    assert_eq!(
        rest.iter().map(|j| j.id.as_str()).collect::<Vec<_>>(),
        ["b"]
    );
    // Scheduling an id again replaces its job.
    queue.schedule("b", "3", after).await.unwrap();
    let replaced = queue.claim_due(after, lease, 10).await.unwrap();
    assert_eq!(replaced.len(), 1);
    assert_eq!(replaced[0].payload, "3");
    queue.complete("b").await.unwrap();
    assert_eq!(queue.queued().await.unwrap(), 1);
    assert!(queue.schedule("", "x", t).await.is_err());

    // Forty due jobs, ten workers claiming at once: each job once.
    let at = t + Duration::hours(2);
    for i in 0..40 {
        queue
            .schedule(&format!("job-{i}"), "x", at - Duration::seconds(i))
            .await
            .unwrap();
    }
    let claims: Vec<_> = (0..10)
        .map(|_| {
            let queue = queue.clone();
            async move { queue.claim_due(at, lease, 5).await.unwrap() }
        })
        .collect();
    let mut seen = HashSet::new();
    let mut total = 0;
    for jobs in concurrently(claims).await {
        for job in jobs {
            total += 1;
            assert!(seen.insert(job.id.clone()), "{} claimed twice", job.id);
        }
    }
    // 10 workers × 5: the 40 due jobs plus the `late` one, each once.
    assert_eq!(total, 41);
}
