//! The account use cases of `Shop` on the memory backend, with a stand-in
//! for the password hasher: registration mails a token that expires on the
//! shop's clock, logins answer alike for unknown addresses and wrong
//! passwords, sessions expire on the clock, password changes and resets end
//! every session, deactivation locks an account out, and a shop built
//! without the ports says which setting is missing.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{Duration, TimeZone, Utc};
use shop_core::account::{Role, Secrets};
use shop_core::clock::ManualClock;
use shop_core::ids::SequentialIds;
use shop_core::memory::MemoryStore;
use shop_core::notify::{Locale, Message, Notification, Notifier};
use shop_core::{Entity, Error, Result, Shop, StoreError, Stores};

/// "Hashes" by prefixing, counts verifications.
#[derive(Default)]
struct PlainSecrets {
    verifications: Mutex<u32>,
}

#[async_trait]
impl Secrets for PlainSecrets {
    async fn hash_password(&self, password: String) -> Result<String> {
        Ok(format!("plain:{password}"))
    }
    async fn verify_password(&self, password: String, hash: String) -> Result<bool> {
        *self.verifications.lock().unwrap() += 1;
        Ok(hash == format!("plain:{password}"))
    }
    async fn verify_no_password(&self, _password: String) -> Result<()> {
        *self.verifications.lock().unwrap() += 1;
        Ok(())
    }
    fn token_digest(&self, token: &str) -> String {
        format!("digest:{token}")
    }
}

#[derive(Default)]
struct Mailbox(Mutex<Vec<Notification>>);

#[async_trait]
impl Notifier for Mailbox {
    async fn send(&self, n: &Notification) -> Result<()> {
        self.0.lock().unwrap().push(n.clone());
        Ok(())
    }
}

impl Setup {
    /// Dispatches the outbox, then reads the token of the newest mail of
    /// `kind` to `to`.
    async fn token(&self, to: &str, kind: &str) -> String {
        self.shop.dispatch_events().await.unwrap();
        self.mail
            .0
            .lock()
            .unwrap()
            .iter()
            .rev()
            .filter(|n| n.to == to && n.message.kind() == kind)
            .find_map(|n| match &n.message {
                Message::VerifyEmail { token, .. } | Message::ResetPassword { token, .. } => {
                    Some(token.clone())
                }
                _ => None,
            })
            .expect("a mail with the token")
    }

    async fn mails(&self) -> usize {
        self.shop.dispatch_events().await.unwrap();
        self.mail.0.lock().unwrap().len()
    }
}

struct Setup {
    shop: Shop,
    clock: Arc<ManualClock>,
    secrets: Arc<PlainSecrets>,
    mail: Arc<Mailbox>,
}

fn setup() -> Setup {
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 6, 1, 9, 0, 0).unwrap(),
    ));
    let secrets = Arc::new(PlainSecrets::default());
    let mail = Arc::new(Mailbox::default());
    let shop = Shop::builder(Stores::from_backend(Arc::new(MemoryStore::new())))
        .clock(clock.clone())
        .ids(Arc::new(SequentialIds::default()))
        .secrets(secrets.clone())
        .notifier(mail.clone())
        .build();
    Setup {
        shop,
        clock,
        secrets,
        mail,
    }
}

const PW: &str = "correct horse battery";

#[tokio::test]
async fn registration_verification_and_login_follow_the_clock() {
    let s = setup();
    let account = s
        .shop
        .register(
            " Li Lei ",
            " Li@Example.COM ",
            PW.into(),
            Some(Locale::ZhCn),
        )
        .await
        .unwrap();
    assert_eq!(
        (account.name.as_str(), account.email.as_str()),
        ("Li Lei", "li@example.com")
    );
    let err = s
        .shop
        .register("Han", "li@example.com", PW.into(), None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Store(StoreError::AlreadyExists { .. })),
        "{err:?}"
    );
    assert!(matches!(
        s.shop.log_in("li@example.com", PW.into()).await,
        Err(Error::EmailNotVerified)
    ));

    // The token lasts 24 hours on the shop's clock.
    assert_eq!(account.locale, Locale::ZhCn);
    let token = s.token("li@example.com", "verify_email").await;
    let mail = s.mail.0.lock().unwrap()[0].clone();
    assert_eq!((mail.name.as_str(), mail.locale), ("Li Lei", Locale::ZhCn));
    s.clock.advance(Duration::hours(24));
    let err = s.shop.verify_email(&token).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::NotFound {
                entity: Entity::VerificationToken,
                ..
            }
        ),
        "{err:?}"
    );
    // A reset proves the address too, and mails its own token.
    s.shop
        .request_password_reset("li@example.com")
        .await
        .unwrap();
    let reset = s.token("li@example.com", "reset_password").await;
    s.shop
        .reset_password(&reset, "another horse".into())
        .await
        .unwrap();
    let logged_in = s
        .shop
        .log_in("LI@example.com", "another horse".into())
        .await
        .unwrap();
    assert_eq!(logged_in.account.id, account.id);
    assert_eq!(
        logged_in.session.token_hash,
        format!("digest:{}", logged_in.token)
    );

    // The session lasts 30 days on the clock.
    let (_, who) = s.shop.authenticate(&logged_in.token).await.unwrap();
    assert_eq!(who.id, account.id);
    s.clock.advance(Duration::days(30));
    assert!(matches!(
        s.shop.authenticate(&logged_in.token).await,
        Err(Error::Unauthenticated)
    ));
}

#[tokio::test]
async fn a_login_spends_a_verification_whether_or_not_the_address_exists() {
    let s = setup();
    s.shop
        .create_verified_account("Admin", "admin@example.com", PW.into(), Role::Admin)
        .await
        .unwrap();
    for (email, password) in [
        ("admin@example.com", "wrong password"),
        ("nobody@example.com", PW),
        ("not an address", PW),
    ] {
        let before = *s.secrets.verifications.lock().unwrap();
        let err = s.shop.log_in(email, password.into()).await.unwrap_err();
        assert!(matches!(err, Error::InvalidCredentials), "{email}: {err:?}");
        let spent = *s.secrets.verifications.lock().unwrap() - before;
        assert_eq!(spent, u32::from(email.contains('@')), "{email}");
    }
    let too_long = "x".repeat(200);
    assert!(matches!(
        s.shop.log_in("admin@example.com", too_long).await,
        Err(Error::InvalidCredentials)
    ));
    s.shop.log_in("admin@example.com", PW.into()).await.unwrap();
}

#[tokio::test]
async fn password_changes_and_deactivation_end_every_session() {
    let s = setup();
    let account = s
        .shop
        .create_verified_account("Mei", "mei@example.com", PW.into(), Role::Customer)
        .await
        .unwrap();
    let one = s.shop.log_in("mei@example.com", PW.into()).await.unwrap();
    let two = s.shop.log_in("mei@example.com", PW.into()).await.unwrap();

    let err = s
        .shop
        .change_password(account.id, "wrong".into(), "new horse 1".into())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Validation {
                field: "current_password",
                ..
            }
        ),
        "{err:?}"
    );
    let err = s
        .shop
        .change_password(account.id, PW.into(), "short".into())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Validation {
                field: "new_password",
                ..
            }
        ),
        "{err:?}"
    );
    s.shop.authenticate(&one.token).await.unwrap();

    s.shop
        .change_password(account.id, PW.into(), "new horse 1".into())
        .await
        .unwrap();
    for session in [&one, &two] {
        assert!(matches!(
            s.shop.authenticate(&session.token).await,
            Err(Error::Unauthenticated)
        ));
    }

    let three = s
        .shop
        .log_in("mei@example.com", "new horse 1".into())
        .await
        .unwrap();
    let err = s
        .shop
        .deactivate_account(account.id, account.id)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Refused { field: "id", .. }), "{err:?}");
    let admin = shop_core::ids::UserId(999_999);
    let off = s.shop.deactivate_account(admin, account.id).await.unwrap();
    assert_eq!(off.deactivated_at, Some(s.shop.now()));
    assert!(matches!(
        s.shop.authenticate(&three.token).await,
        Err(Error::Unauthenticated)
    ));
    assert!(matches!(
        s.shop.log_in("mei@example.com", "new horse 1".into()).await,
        Err(Error::AccountDeactivated)
    ));
    let mails = s.mails().await;
    s.shop
        .request_password_reset("mei@example.com")
        .await
        .unwrap();
    assert_eq!(s.mails().await, mails, "no reset mail while deactivated");
    s.shop.reactivate_account(account.id).await.unwrap();
    s.shop
        .log_in("mei@example.com", "new horse 1".into())
        .await
        .unwrap();
    s.shop.log_out(&three.token).await.unwrap();
}

#[tokio::test]
async fn a_shop_without_the_account_ports_names_the_missing_setting() {
    let shop = Shop::builder(Stores::from_backend(Arc::new(MemoryStore::new()))).build();
    let err = shop
        .register("A", "a@example.com", PW.into(), None)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("ShopBuilder::notifier"), "{err}");
    let err = shop.log_in("a@example.com", PW.into()).await.unwrap_err();
    assert!(err.to_string().contains("ShopBuilder::secrets"), "{err}");
}
