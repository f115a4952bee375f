//! `LogNotifier` writes the rendered mail to the log.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::*;
use shop_core::notify::{Locale, Notifier};
use shop_notify::{LogNotifier, Templates};

/// A log writer that keeps what is written.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test(flavor = "current_thread")]
async fn the_mail_goes_to_the_log_at_info() {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(captured.clone())
        .with_max_level(tracing::Level::INFO)
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let notifier = LogNotifier::new(Templates::default());
    let n = notification(Locale::ZhCn, messages().remove(0));
    notifier.send(&n).await.unwrap();

    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(log.contains("INFO"), "{log}");
    assert!(log.contains("shop_notify"), "{log}");
    assert!(
        log.contains("shop_notify: mail to li.lei@example.com (verify_email, "),
        "{log}"
    );
    assert!(log.contains("--- end of mail ---"), "{log}");
    assert!(log.contains("Subject: 【Shop】请验证您的邮箱地址"), "{log}");
    assert!(log.contains(TOKEN), "the token is in the text body: {log}");
    assert!(log.contains("李雷，您好："), "{log}");
    assert!(!log.contains("<html"), "the HTML body is left out: {log}");
}
