//! Conformance cases: the session port alone (a backend that keeps only
//! sessions, like Redis, runs them too).

use std::sync::Arc;

use chrono::Duration;

use super::fixtures::base_time;
use super::{concurrently, is_already_exists};
use crate::account::{Session, SessionStore};
use crate::error::Entity;
use crate::ids::UserId;

fn session(digest: &str, user: i64, lifetime: Duration) -> Session {
    Session {
        token_hash: digest.to_owned(),
        user_id: UserId(user),
        created_at: base_time(),
        expires_at: base_time() + lifetime,
    }
}

/// Sessions: found until they expire, ended by delete (twice is fine),
/// unique digests.
pub async fn sessions_expire_and_end<S: SessionStore + ?Sized>(store: Arc<S>) {
    let now = base_time();
    let s = session("digest-1", 7_001, Duration::hours(2));
    store.create_session(&s).await.unwrap();
    let err = store.create_session(&s).await.unwrap_err();
    assert!(is_already_exists(&err, Entity::Session), "{err:?}");
    let before = now + Duration::minutes(119);
    assert_eq!(
        store.get_session("digest-1", before).await.unwrap(),
        Some(s.clone())
    );
    assert_eq!(
        store.get_session("digest-1", s.expires_at).await.unwrap(),
        None
    );
    assert_eq!(store.get_session("digest-2", now).await.unwrap(), None);
    store.delete_session("digest-1").await.unwrap();
    store.delete_session("digest-1").await.unwrap();
    assert_eq!(store.get_session("digest-1", now).await.unwrap(), None);
    store.create_session(&s).await.unwrap();
    assert_eq!(store.get_session("digest-1", now).await.unwrap(), Some(s));
}

/// Purging deletes exactly the sessions expired at `now` and counts them;
/// a second purge finds nothing; sessions still valid stay usable.
pub async fn sessions_purge_expired<S: SessionStore + ?Sized>(store: Arc<S>) {
    let now = base_time();
    let short = session("short", 7_101, Duration::minutes(10));
    let exact = session("exact", 7_102, Duration::minutes(30));
    let long = session("long", 7_103, Duration::hours(3));
    for s in [&short, &exact, &long] {
        store.create_session(s).await.unwrap();
    }
    assert_eq!(store.purge_expired_sessions(now).await.unwrap(), 0);
    let at = now + Duration::minutes(30);
    assert_eq!(store.purge_expired_sessions(at).await.unwrap(), 2);
    assert_eq!(store.purge_expired_sessions(at).await.unwrap(), 0);
    assert_eq!(store.get_session("short", now).await.unwrap(), None);
    assert_eq!(store.get_session("exact", now).await.unwrap(), None);
    assert_eq!(store.get_session("long", at).await.unwrap(), Some(long));
}

/// Twenty logins racing for one digest: exactly one creates it.
pub async fn sessions_unique_under_concurrency<S: SessionStore + ?Sized>(store: Arc<S>) {
    let results = concurrently(
        (0..20)
            .map(|i| {
                let store = Arc::clone(&store);
                async move {
                    let s = session("raced", 7_200 + i, Duration::hours(1));
                    store.create_session(&s).await.map(|()| s)
                }
            })
            .collect(),
    )
    .await;
    let won: Vec<Session> = results
        .iter()
        .filter_map(|r| r.as_ref().ok().cloned())
        .collect();
    assert_eq!(won.len(), 1, "{results:?}");
    assert!(results
        .iter()
        .filter_map(|r| r.as_ref().err())
        .all(|e| is_already_exists(e, Entity::Session)));
    assert_eq!(
        store.get_session("raced", base_time()).await.unwrap(),
        Some(won[0].clone())
    );
}

/// Ending a user's sessions ends all of theirs and nobody else's, and
/// counts them; ending again ends none.
pub async fn sessions_of_a_user_end_together<S: SessionStore + ?Sized>(store: Arc<S>) {
    let now = base_time();
    for digest in ["u1-a", "u1-b", "u1-c"] {
        store
            .create_session(&session(digest, 7_101, Duration::hours(3)))
            .await
            .unwrap();
    }
    let other = session("u2-a", 7_102, Duration::hours(3));
    store.create_session(&other).await.unwrap();
    store.delete_session("u1-c").await.unwrap();
    assert_eq!(store.end_user_sessions(UserId(7_101)).await.unwrap(), 2);
    for digest in ["u1-a", "u1-b", "u1-c"] {
        assert_eq!(store.get_session(digest, now).await.unwrap(), None);
    }
    assert_eq!(store.get_session("u2-a", now).await.unwrap(), Some(other));
    assert_eq!(store.end_user_sessions(UserId(7_101)).await.unwrap(), 0);
    // A new session after the reset works.
    let fresh = session("u1-d", 7_101, Duration::hours(1));
    store.create_session(&fresh).await.unwrap();
    assert_eq!(store.get_session("u1-d", now).await.unwrap(), Some(fresh));
}
