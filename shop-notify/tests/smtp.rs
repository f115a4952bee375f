//! `SmtpNotifier` end to end against `SmtpSink`: what arrives, retryable
//! and permanent failures, settings.

mod common;

use std::time::Duration;

use chrono::FixedOffset;
use common::*;
use shop_core::notify::{Locale, Message, Notification, Notifier};
use shop_core::StoreError;
use shop_notify::testing::SmtpSink;
use shop_notify::{
    Security, SmtpCredentials, SmtpNotifier, SmtpSettings, TemplateSettings, Templates,
};

const FROM: &str = "Tea House <shop@tea.example>";
const WAIT: Duration = Duration::from_secs(10);

fn templates() -> Templates {
    Templates::new(TemplateSettings {
        shop_name: "Tea House".to_owned(),
        utc_offset: FixedOffset::east_opt(8 * 3600).unwrap(),
        ..TemplateSettings::default()
    })
    .unwrap()
}

fn notifier(sink: &SmtpSink) -> SmtpNotifier {
    SmtpNotifier::new(sink.settings(FROM), templates()).unwrap()
}

fn order_paid() -> Message {
    messages().remove(2)
}

fn order_shipped() -> Message {
    messages().remove(3)
}

#[tokio::test]
async fn paid_and_shipped_mails_arrive_in_both_locales() {
    let sink = SmtpSink::start().await.unwrap();
    let notifier = notifier(&sink);
    let mut sent = Vec::new();
    for locale in Locale::ALL {
        for message in [order_paid(), order_shipped()] {
            let n = notification(locale, message);
            notifier.send(&n).await.unwrap();
            sent.push(n);
        }
    }
    let received = sink.wait_for(sent.len(), WAIT).await.unwrap();
    assert_eq!(received.len(), sent.len());

    for (n, mail) in sent.iter().zip(&received) {
        let what = format!("{} {}", n.locale.tag(), n.message.kind());
        let rendered = notifier.templates().render(n).unwrap();
        // Envelope.
        assert_eq!(mail.from, "shop@tea.example", "{what}");
        assert_eq!(mail.recipients, ["li.lei@example.com"], "{what}");
        // Headers.
        let to = mail.to().unwrap();
        assert!(
            to.contains("李雷") && to.contains("<li.lei@example.com>"),
            "{what}: {to}"
        );
        let from = mail.header("From").unwrap();
        assert!(
            from.contains("Tea House") && from.contains("<shop@tea.example>"),
            "{from}"
        );
        assert_eq!(mail.subject(), Some(rendered.subject.clone()), "{what}");
        assert_eq!(
            mail.message_id(),
            Some(format!("<{}@tea.example>", n.key)),
            "{what}"
        );
        assert_eq!(mail.message_id(), Some(notifier.message_id(&n.key)));
        let content_type = mail.header("Content-Type").unwrap();
        assert!(
            content_type.starts_with("multipart/alternative"),
            "{content_type}"
        );
        // Bodies, decoded.
        let text = mail.text().expect("a text part");
        let html = mail.html().expect("an HTML part");
        assert_eq!(text.replace("\r\n", "\n"), rendered.text, "{what}");
        assert_eq!(html.replace("\r\n", "\n"), rendered.html, "{what}");
        assert!(text.contains(ORDER_NO) && html.contains(ORDER_NO), "{what}");
        match &n.message {
            Message::OrderPaid { .. } => {
                for part in [&text, &html] {
                    assert!(part.contains("328.50 CNY"), "{what}: {part}");
                    assert!(part.contains("西湖龙井"), "{what}: {part}");
                }
            }
            Message::OrderShipped { .. } => {
                for part in [&text, &html] {
                    assert!(part.contains(TRACKING_NO), "{what}: {part}");
                    assert!(part.contains("顺丰速运"), "{what}: {part}");
                }
            }
            _ => unreachable!(),
        }
    }
    let zh_shipped = &received[1];
    assert_eq!(
        zh_shipped.subject().as_deref(),
        Some("【Tea House】订单 202405010042 已发货")
    );
    assert!(zh_shipped.text().unwrap().contains("运单号：SF1234567890"));
    let en_paid = &received[2];
    assert_eq!(
        en_paid.subject().as_deref(),
        Some("Payment received for order 202405010042")
    );
}

#[tokio::test]
async fn a_repeat_carries_the_same_message_id() {
    let sink = SmtpSink::start().await.unwrap();
    let notifier = notifier(&sink);
    let n = Notification {
        key: "order_shipped:202405010042/1 (retry)".to_owned(),
        ..notification(Locale::En, order_shipped())
    };
    notifier.send(&n).await.unwrap();
    notifier.send(&n).await.unwrap();
    let other = Notification {
        key: "order_shipped:202405010042/2".to_owned(),
        ..n.clone()
    };
    notifier.send(&other).await.unwrap();
    let received = sink.wait_for(3, WAIT).await.unwrap();
    let ids: Vec<String> = received.iter().map(|m| m.message_id().unwrap()).collect();
    assert_eq!(ids[0], ids[1]);
    assert_ne!(ids[0], ids[2]);
    assert_eq!(
        ids[0],
        "<order_shipped%3A202405010042/1%20%28retry%29@tea.example>"
    );
}

#[tokio::test]
async fn a_4xx_is_retryable_and_stores_nothing() {
    let sink = SmtpSink::start().await.unwrap();
    let notifier = notifier(&sink);
    let n = notification(Locale::ZhCn, order_paid());

    sink.fail_next(1);
    let err = notifier.send(&n).await.unwrap_err();
    assert!(err.is_retryable(), "{err:?}");
    assert!(
        matches!(err, shop_core::Error::Store(StoreError::Unavailable { .. })),
        "{err:?}"
    );
    assert!(err.to_string().contains("451"), "{err}");
    assert_eq!(sink.refused(), 1);
    assert!(sink.messages().is_empty());

    // The outbox's retry goes through.
    notifier.send(&n).await.unwrap();
    let received = sink.wait_for(1, WAIT).await.unwrap();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].message_id(), Some(notifier.message_id(&n.key)));
}

#[tokio::test]
async fn a_5xx_is_permanent() {
    let sink = SmtpSink::start().await.unwrap();
    let notifier = notifier(&sink);
    sink.reject_next(1);
    let err = notifier
        .send(&notification(Locale::En, order_paid()))
        .await
        .unwrap_err();
    assert!(!err.is_retryable(), "{err:?}");
    assert!(
        matches!(err, shop_core::Error::Store(StoreError::Backend { .. })),
        "{err:?}"
    );
    assert!(sink.messages().is_empty());
}

#[tokio::test]
async fn a_bad_recipient_is_permanent_and_nothing_is_sent() {
    let sink = SmtpSink::start().await.unwrap();
    let notifier = notifier(&sink);
    let n = Notification {
        to: "not an address".to_owned(),
        ..notification(Locale::En, order_shipped())
    };
    let err = notifier.send(&n).await.unwrap_err();
    assert!(
        matches!(err, shop_core::Error::Store(StoreError::Backend { .. })),
        "{err:?}"
    );
    assert!(sink.wait_for(1, Duration::from_millis(200)).await.is_err());
}

#[tokio::test]
async fn an_unreachable_server_is_retryable() {
    // A port that was free a moment ago and has nobody listening now.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let notifier = SmtpNotifier::new(
        SmtpSettings {
            timeout: Duration::from_secs(2),
            ..SmtpSettings::local_relay(port, FROM)
        },
        templates(),
    )
    .unwrap();
    let err = notifier
        .send(&notification(Locale::En, order_shipped()))
        .await
        .unwrap_err();
    assert!(err.is_retryable(), "{err:?}");
}

#[tokio::test]
async fn a_silent_server_times_out_and_is_retryable() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    // Accepts and never says a word.
    let silent = tokio::spawn(async move {
        let mut held = Vec::new();
        loop {
            if let Ok((stream, _)) = listener.accept().await {
                held.push(stream);
            }
        }
    });
    let notifier = SmtpNotifier::new(
        SmtpSettings {
            timeout: Duration::from_millis(300),
            ..SmtpSettings::local_relay(port, FROM)
        },
        templates(),
    )
    .unwrap();
    let sent = tokio::time::timeout(
        Duration::from_secs(10),
        notifier.send(&notification(Locale::En, order_shipped())),
    )
    .await
    .expect("the notifier's own timeout ends the wait");
    let err = sent.unwrap_err();
    assert!(err.is_retryable(), "{err:?}");
    silent.abort();
}

#[tokio::test]
async fn credentials_log_in() {
    let sink = SmtpSink::start().await.unwrap();
    let notifier = SmtpNotifier::new(
        SmtpSettings {
            credentials: Some(SmtpCredentials::new("mailer", "s3cret")),
            hello_name: Some("shop.tea.example".to_owned()),
            ..sink.settings(FROM)
        },
        templates(),
    )
    .unwrap();
    notifier
        .send(&notification(Locale::En, order_shipped()))
        .await
        .unwrap();
    let received = sink.wait_for(1, WAIT).await.unwrap();
    assert_eq!(received[0].auth_user.as_deref(), Some("mailer"));
}

#[tokio::test]
async fn the_sink_keeps_dots_and_reads_plain_mails() {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

    let sink = SmtpSink::start().await.unwrap();
    let stream = tokio::net::TcpStream::connect(sink.addr()).await.unwrap();
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    async fn expect(code: &str, read: &mut BufReader<tokio::net::tcp::OwnedReadHalf>) {
        let mut line = String::new();
        loop {
            line.clear();
            read.read_line(&mut line).await.unwrap();
            assert!(line.starts_with(code), "wanted {code}, got {line:?}");
            if line.as_bytes().get(3) != Some(&b'-') {
                break;
            }
        }
    }
    expect("220", &mut read).await;
    for (command, code) in [
        ("HELO client\r\n", "250"),
        ("NOOP\r\n", "250"),
        ("RCPT TO:<x@y>\r\n", "503"),
        ("MAIL FROM:<a@b.example>\r\n", "250"),
        ("RSET\r\n", "250"),
        ("MAIL FROM:<a@b.example>\r\n", "250"),
        ("RCPT TO:<c@d.example>\r\n", "250"),
        ("RCPT TO:<e@f.example>\r\n", "250"),
        ("DATA\r\n", "354"),
    ] {
        write.write_all(command.as_bytes()).await.unwrap();
        expect(code, &mut read).await;
    }
    write
        .write_all(b"Subject: =?utf-8?q?Caf=C3=A9?= time\r\n\r\nfirst\r\n..leading dot\r\n.\r\n")
        .await
        .unwrap();
    expect("250", &mut read).await;
    write.write_all(b"QUIT\r\n").await.unwrap();
    expect("221", &mut read).await;

    let mails = sink.wait_for(1, WAIT).await.unwrap();
    assert_eq!(mails[0].from, "a@b.example");
    assert_eq!(mails[0].recipients, ["c@d.example", "e@f.example"]);
    assert_eq!(mails[0].subject().as_deref(), Some("Café time"));
    assert_eq!(
        mails[0].text().as_deref(),
        Some("first\r\n.leading dot\r\n")
    );
    assert_eq!(sink.messages_to("E@F.example").len(), 1);
    sink.clear();
    assert!(sink.messages().is_empty());
    let err = sink
        .wait_for(1, Duration::from_millis(50))
        .await
        .unwrap_err();
    assert_eq!((err.wanted, err.received), (1, 0));
}

#[test]
fn settings_errors_name_the_setting() {
    let good = SmtpSettings::new("smtp.tea.example", FROM);
    assert!(good.validate().is_ok());
    assert_eq!(good.effective_port(), 587);
    assert_eq!(
        SmtpSettings {
            security: Security::Tls,
            ..good.clone()
        }
        .effective_port(),
        465
    );
    let cases = [
        (
            SmtpSettings {
                from: "Tea House".to_owned(),
                ..good.clone()
            },
            "from",
        ),
        (
            SmtpSettings {
                from: "shop@".to_owned(),
                ..good.clone()
            },
            "from",
        ),
        (
            SmtpSettings {
                host: " ".to_owned(),
                ..good.clone()
            },
            "host",
        ),
        (
            SmtpSettings {
                host: "smtp tea".to_owned(),
                ..good.clone()
            },
            "host",
        ),
        (
            SmtpSettings {
                port: Some(0),
                ..good.clone()
            },
            "port",
        ),
        (
            SmtpSettings {
                timeout: Duration::ZERO,
                ..good.clone()
            },
            "timeout",
        ),
        (
            SmtpSettings {
                credentials: Some(SmtpCredentials::new("", "x")),
                ..good.clone()
            },
            "credentials",
        ),
        (
            // Clear-text credentials to another machine.
            SmtpSettings {
                security: Security::Plain,
                credentials: Some(SmtpCredentials::new("u", "p")),
                ..good.clone()
            },
            "credentials",
        ),
        (
            SmtpSettings {
                hello_name: Some("a b".to_owned()),
                ..good.clone()
            },
            "hello_name",
        ),
    ];
    for (settings, setting) in cases {
        let err = SmtpNotifier::new(settings.clone(), Templates::default()).unwrap_err();
        assert_eq!(err.setting(), Some(setting), "{settings:?}: {err}");
        assert!(err.to_string().contains(&format!("`{setting}`")), "{err}");
        assert_eq!(settings.validate().unwrap_err().setting(), Some(setting));
    }
    // Credentials in clear text to this machine are fine.
    let local = SmtpSettings {
        credentials: Some(SmtpCredentials::new("u", "p")),
        ..SmtpSettings::local_relay(2525, FROM)
    };
    assert!(local.validate().is_ok());
    // TLS settings build without connecting.
    for security in [Security::StartTls, Security::Tls] {
        let settings = SmtpSettings {
            security,
            ..good.clone()
        };
        assert!(SmtpNotifier::new(settings, Templates::default()).is_ok());
    }
    // The password does not show.
    let debug = format!("{:?}", SmtpCredentials::new("u", "hunter2"));
    assert!(!debug.contains("hunter2"), "{debug}");
}
