//! Conformance cases: accounts and e-mail verification.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use super::fixtures::Fixture;
use super::{concurrently, is_already_exists, is_not_found, Backend};
use crate::account::{Account, AccountToken, Role, TokenPurpose};
use crate::error::Entity;
use crate::ids::UserId;
use crate::notify::Locale;

fn account<B: Backend>(fx: &Fixture<B>, email: &str, minutes: i64) -> Account {
    Account {
        id: fx.user(),
        email: email.to_owned(),
        name: "Li Lei".into(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        role: Role::Customer,
        email_verified_at: None,
        created_at: fx.now + Duration::minutes(minutes),
        deactivated_at: None,
        locale: Locale::ZhCn,
    }
}

fn token(
    hash: &str,
    user: UserId,
    purpose: TokenPurpose,
    expires_at: DateTime<Utc>,
) -> AccountToken {
    AccountToken {
        token_hash: hash.to_owned(),
        user_id: user,
        purpose,
        expires_at,
    }
}

/// Accounts: create, read by id and e-mail, unique e-mail and id, oldest
/// first in pages, role, password-hash and deactivation changes.
pub async fn accounts_crud_and_unique_email<B: Backend>(store: Arc<B>) {
    let fx = Fixture::new(Arc::clone(&store));
    let a = account(&fx, "a@example.com", 0);
    let b = account(&fx, "b@example.com", 1);
    let c = account(&fx, "c@example.com", 2);
    for acc in [&b, &a, &c] {
        store.create_account(acc).await.unwrap();
    }
    assert_eq!(store.get_account(a.id).await.unwrap(), Some(a.clone()));
    assert_eq!(
        store.get_account_by_email("b@example.com").await.unwrap(),
        Some(b.clone())
    );
    assert_eq!(
        store
            .get_account_by_email("nobody@example.com")
            .await
            .unwrap(),
        None
    );
    assert_eq!(store.get_account(UserId(424_242)).await.unwrap(), None);

    let mut same_email = account(&fx, "a@example.com", 3);
    let err = store.create_account(&same_email).await.unwrap_err();
    assert!(is_already_exists(&err, Entity::Account), "{err:?}");
    same_email.id = a.id;
    same_email.email = "d@example.com".into();
    let err = store.create_account(&same_email).await.unwrap_err();
    assert!(is_already_exists(&err, Entity::Account), "{err:?}");
    assert_eq!(
        store.get_account_by_email("d@example.com").await.unwrap(),
        None
    );

    let first = store.list_accounts(1, 2).await.unwrap();
    assert_eq!(first.total, 3);
    assert_eq!(first.items, vec![a.clone(), b.clone()]);
    assert_eq!(
        store.list_accounts(2, 2).await.unwrap().items,
        vec![c.clone()]
    );

    store.set_role(b.id, Role::Admin).await.unwrap();
    assert_eq!(
        store.get_account(b.id).await.unwrap().unwrap().role,
        Role::Admin
    );
    let err = store
        .set_role(UserId(424_242), Role::Admin)
        .await
        .unwrap_err();
    assert!(is_not_found(&err, Entity::Account), "{err:?}");

    store
        .set_password_hash(b.id, "$argon2id$new")
        .await
        .unwrap();
    let changed = store.get_account(b.id).await.unwrap().unwrap();
    assert_eq!(changed.password_hash, "$argon2id$new");
    assert_eq!(
        store
            .get_account(a.id)
            .await
            .unwrap()
            .unwrap()
            .password_hash,
        a.password_hash
    );
    let err = store
        .set_password_hash(UserId(424_242), "$argon2id$x")
        .await
        .unwrap_err();
    assert!(is_not_found(&err, Entity::Account), "{err:?}");

    let at = fx.now + Duration::minutes(30);
    store.set_deactivated(c.id, Some(at)).await.unwrap();
    let off = store.get_account(c.id).await.unwrap().unwrap();
    assert_eq!(off.deactivated_at, Some(at));
    assert_eq!(
        store
            .get_account(a.id)
            .await
            .unwrap()
            .unwrap()
            .deactivated_at,
        None
    );
    store.set_deactivated(c.id, None).await.unwrap();
    assert_eq!(store.get_account(c.id).await.unwrap(), Some(c.clone()));
    let err = store
        .set_deactivated(UserId(424_242), Some(at))
        .await
        .unwrap_err();
    assert!(is_not_found(&err, Entity::Account), "{err:?}");
}

/// Verification tokens: single use (also under concurrency), expiring, and
/// an unknown or expired token changes nothing.
pub async fn email_verification_is_single_use<B: Backend>(store: Arc<B>) {
    let fx = Fixture::new(Arc::clone(&store));
    let a = account(&fx, "v@example.com", 0);
    store.create_account(&a).await.unwrap();
    let expiry = fx.now + Duration::hours(1);
    store
        .issue_token(
            &token("expired", a.id, TokenPurpose::VerifyEmail, fx.now),
            &[],
        )
        .await
        .unwrap();
    let err = store.verify_email("expired", fx.now).await.unwrap_err();
    assert!(is_not_found(&err, Entity::VerificationToken), "{err:?}");
    let err = store.verify_email("unknown", fx.now).await.unwrap_err();
    assert!(is_not_found(&err, Entity::VerificationToken), "{err:?}");
    assert_eq!(
        store
            .get_account(a.id)
            .await
            .unwrap()
            .unwrap()
            .email_verified_at,
        None
    );
    let err = store
        .issue_token(
            &token("expired", a.id, TokenPurpose::VerifyEmail, expiry),
            &[],
        )
        .await
        .unwrap_err();
    assert!(
        is_already_exists(&err, Entity::VerificationToken),
        "{err:?}"
    );

    // A reset token does not verify an address.
    store
        .issue_token(
            &token("reset", a.id, TokenPurpose::ResetPassword, expiry),
            &[],
        )
        .await
        .unwrap();
    let err = store.verify_email("reset", fx.now).await.unwrap_err();
    assert!(is_not_found(&err, Entity::VerificationToken), "{err:?}");
    store
        .issue_token(&token("good", a.id, TokenPurpose::VerifyEmail, expiry), &[])
        .await
        .unwrap();
    let at = fx.now + Duration::minutes(5);
    let results = concurrently(
        (0..20)
            .map(|_| {
                let store = Arc::clone(&store);
                async move { store.verify_email("good", at).await }
            })
            .collect(),
    )
    .await;
    let verified: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(verified, vec![&a.id], "{results:?}");
    assert!(results
        .iter()
        .filter_map(|r| r.as_ref().err())
        .all(|e| is_not_found(e, Entity::VerificationToken)));
    assert_eq!(
        store
            .get_account(a.id)
            .await
            .unwrap()
            .unwrap()
            .email_verified_at,
        Some(at)
    );
}

/// Password reset tokens: single use (also under concurrency), expiring,
/// not interchangeable with verification tokens; a reset sets the hash and
/// counts as a verified address; a refused reset changes nothing.
pub async fn password_reset_is_single_use<B: Backend>(store: Arc<B>) {
    let fx = Fixture::new(Arc::clone(&store));
    let a = account(&fx, "r@example.com", 0);
    store.create_account(&a).await.unwrap();
    let expiry = fx.now + Duration::hours(1);
    for (hash, purpose, expires) in [
        ("late", TokenPurpose::ResetPassword, fx.now),
        ("verify", TokenPurpose::VerifyEmail, expiry),
        ("reset", TokenPurpose::ResetPassword, expiry),
    ] {
        store
            .issue_token(&token(hash, a.id, purpose, expires), &[])
            .await
            .unwrap();
    }
    let err = store
        .issue_token(
            &token("reset", a.id, TokenPurpose::ResetPassword, expiry),
            &[],
        )
        .await
        .unwrap_err();
    assert!(
        is_already_exists(&err, Entity::PasswordResetToken),
        "{err:?}"
    );
    for refused in ["late", "verify", "unknown"] {
        let err = store
            .reset_password(refused, "$argon2id$refused", fx.now)
            .await
            .unwrap_err();
        assert!(
            is_not_found(&err, Entity::PasswordResetToken),
            "{refused}: {err:?}"
        );
    }
    assert_eq!(store.get_account(a.id).await.unwrap(), Some(a.clone()));

    let at = fx.now + Duration::minutes(5);
    let results = concurrently(
        (0..20)
            .map(|i| {
                let store = Arc::clone(&store);
                async move {
                    store
                        .reset_password("reset", &format!("$argon2id$new{i}"), at)
                        .await
                }
            })
            .collect(),
    )
    .await;
    let reset: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(reset, vec![&a.id], "{results:?}");
    let after = store.get_account(a.id).await.unwrap().unwrap();
    assert!(after.password_hash.starts_with("$argon2id$new"));
    assert_eq!(after.email_verified_at, Some(at));
    // The verification token still works (and keeps the first time).
    assert_eq!(
        store
            .verify_email("verify", at + Duration::minutes(1))
            .await
            .unwrap(),
        a.id
    );
    assert_eq!(
        store
            .get_account(a.id)
            .await
            .unwrap()
            .unwrap()
            .email_verified_at,
        Some(at)
    );
}
