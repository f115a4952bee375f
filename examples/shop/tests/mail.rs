//! The example shop's e-mails over SMTP: a real SMTP listener on 127.0.0.1
//! (shop-notify's `SmtpSink`, started here) receives the verification,
//! "order paid" and "order shipped" mails of whole purchases over HTTP, in
//! English and in Chinese, with the right order number, amounts and
//! tracking number.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use reqwest::StatusCode;
use serde_json::json;
use shop_example::notifier::{RecordingNotifier, SmtpSecurity};
use shop_example::{start, Config};
use shop_notify::testing::{ReceivedMail, SmtpSink};

/// The mails to `email` once there are `n`, oldest first.
async fn mails_to(sink: &SmtpSink, email: &str, n: usize) -> Vec<ReceivedMail> {
    for _ in 0..500 {
        let mails = sink.messages_to(email);
        if mails.len() >= n {
            return mails;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!(
        "{email} did not get {n} mails: {:?}",
        sink.messages_to(email)
    );
}

fn token_in(mail: &ReceivedMail) -> String {
    let text = mail.text().expect("a text part");
    text.lines()
        .map(str::trim)
        .find(|l| l.len() == 64 && l.bytes().all(|b| b.is_ascii_hexdigit()))
        .expect("the token on a line of its own")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paid_and_shipped_mails_arrive_over_smtp_in_both_languages() {
    let sink = SmtpSink::start().await.expect("start the SMTP listener");
    let mut config = Config::new(sqlite_url());
    config.rate_limit_per_minute = 1000;
    config.mail.smtp_host = Some("127.0.0.1".into());
    config.mail.smtp_port = Some(sink.port());
    config.mail.smtp_security = SmtpSecurity::Plain;
    config.mail.mail_from = "Tea House <shop@tea.example>".into();
    config.mail.shop_name = "Tea House".into();
    let server = start(&config, config.mail.notifier().expect("SMTP settings"))
        .await
        .expect("start the app");
    let admin = server.admin.clone().expect("seeded");
    let app = App {
        server,
        mail: Arc::new(RecordingNotifier::new()),
        http: reqwest::Client::new(),
        admin_email: admin.email,
        admin_password: admin.password,
    };
    let admin = app.admin().await;

    // (how the buyer chose the language, the words each mail must hold)
    let cases = [
        (
            "en",
            json!({"locale": "en"}),
            None,
            ["Payment received", "has shipped", "Tracking number"],
        ),
        (
            "zh-CN",
            json!({}),
            Some("zh-CN,zh;q=0.9,en;q=0.5"),
            ["已支付", "已发货", "运单号"],
        ),
    ];
    for (locale, extra, accept_language, words) in cases {
        let email = format!("{}@example.com", unique("mail"));
        let mut body =
            json!({"name": "Li Lei", "email": email, "password": "correct horse battery"});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let mut register = app
            .http
            .post(format!("{}/api/auth/register", app.server.url))
            .json(&body);
        if let Some(accept) = accept_language {
            register = register.header("accept-language", accept);
        }
        let answer = register.send().await.expect("register");
        assert_eq!(answer.status(), StatusCode::CREATED);
        let account: serde_json::Value = answer.json().await.expect("json");
        assert_eq!(account["locale"], locale);

        let verification = mails_to(&sink, &email, 1).await.remove(0);
        assert_eq!(verification.recipients, vec![email.clone()]);
        let a = app
            .post(
                "/api/auth/verify",
                None,
                json!({"token": token_in(&verification)}),
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "verify: {}", a.text);
        let buyer = app.login(&email, "correct horse battery").await;

        let address = app.address(&buyer).await;
        let (sku, price) = app.some_sku().await;
        let placed = app.order(&buyer, address, sku, 2).await;
        assert_eq!(placed.status, StatusCode::CREATED, "{}", placed.text);
        let order = placed.body["id"].id().expect("order id");
        let order_no = placed.body["no"].as_str().expect("order number").to_owned();
        let total = placed.body["total"]["amount"]
            .as_str()
            .expect("total")
            .to_owned();
        assert_eq!(app.pay(&buyer, order).await.status, StatusCode::OK);
        let tracking_no = format!("SF{}", &order_no[order_no.len() - 8..]);
        let shipped = app
            .post(
                &format!("/api/admin/orders/{order}/ship"),
                Some(&admin),
                json!({"carrier": "SF Express", "tracking_no": tracking_no}),
            )
            .await;
        assert_eq!(shipped.status, StatusCode::OK, "{}", shipped.text);

        let mails = mails_to(&sink, &email, 3).await;
        let (paid, sent) = (&mails[1], &mails[2]);
        for mail in [paid, sent] {
            assert_eq!(mail.recipients, vec![email.clone()]);
            let from = mail.header("from").expect("a From header");
            assert!(from.contains("shop@tea.example"), "{from}");
            assert!(mail
                .message_id()
                .is_some_and(|id| id.contains("tea.example")));
        }
        let subject = paid.subject().expect("subject");
        assert!(subject.contains(&order_no), "{subject}");
        assert!(subject.contains(words[0]), "{locale}: {subject}");
        for part in [paid.text().expect("text"), paid.html().expect("html")] {
            assert!(part.contains(&order_no), "{part}");
            assert!(
                part.contains(&format!("{total} CNY")),
                "total {total}: {part}"
            );
            assert!(
                part.contains(&format!("{price} CNY")),
                "unit price {price}: {part}"
            );
            assert!(part.contains("Tea House"), "{part}");
        }
        let subject = sent.subject().expect("subject");
        assert!(subject.contains(&order_no), "{subject}");
        assert!(subject.contains(words[1]), "{locale}: {subject}");
        for part in [sent.text().expect("text"), sent.html().expect("html")] {
            assert!(part.contains(&order_no), "{part}");
            assert!(part.contains(&tracking_no), "{part}");
            assert!(part.contains("SF Express"), "{part}");
            assert!(part.contains(words[2]), "{locale}: {part}");
        }
    }

    // Delivered once: dispatching again sends nothing more.
    let before = sink.messages().len();
    app.server.state.shop.dispatch_events().await.unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(sink.messages().len(), before);
    app.server.stop().await;
}

/// While the SMTP server answers "try again later", the mail waits in the
/// outbox (the listener backs off) and goes out once it recovers; nothing
/// is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusing_smtp_server_delays_mail_but_loses_none() {
    let sink = SmtpSink::start().await.expect("start the SMTP listener");
    sink.fail_next(2);
    let mut config = Config::new(sqlite_url());
    config.rate_limit_per_minute = 1000;
    config.mail.smtp_host = Some("127.0.0.1".into());
    config.mail.smtp_port = Some(sink.port());
    config.mail.smtp_security = SmtpSecurity::Plain;
    let server = start(&config, config.mail.notifier().expect("SMTP settings"))
        .await
        .expect("start the app");
    let email = format!("{}@example.com", unique("later"));
    let answer = reqwest::Client::new()
        .post(format!("{}/api/auth/register", server.url))
        .json(&json!({"name": "Han", "email": email, "password": "correct horse battery"}))
        .send()
        .await
        .expect("register");
    assert_eq!(answer.status(), StatusCode::CREATED);
    // Refused twice (1 s, then 2 s of backoff), then delivered, once.
    let mails = mails_to(&sink, &email, 1).await;
    assert_eq!(mails.len(), 1);
    assert_eq!(sink.refused(), 2);
    // Its progress is recorded right after the send, and clears the
    // failures.
    let mut caught_up = false;
    for _ in 0..250 {
        let status = server.state.shop.outbox_status().await.unwrap();
        let notifications = status
            .listeners
            .iter()
            .find(|l| l.name == shop_core::service::NOTIFICATIONS_LISTENER)
            .expect("the notifications listener");
        if notifications.attempts == 0 && notifications.last_error.is_none() {
            caught_up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(caught_up, "the listener's failures were cleared");
    assert_eq!(sink.messages_to(&email).len(), 1, "sent once");
    server.stop().await;
}
