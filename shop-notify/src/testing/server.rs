//! The sink's SMTP server side (RFC 5321, the parts a client needs).

use std::io;
use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD_PAD_INDIFFERENT;
use base64::Engine as _;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::task::JoinSet;

use super::{ReceivedMail, Refusal, Shared};

/// The longest command line or message the sink takes.
const MAX_LINE: usize = 64 * 1024;
const MAX_MESSAGE: usize = 32 * 1024 * 1024;

/// Accepts connections until the task is aborted; aborting it ends the
/// sessions too (they live in its `JoinSet`).
pub(crate) async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    let mut sessions = JoinSet::new();
    loop {
        let accepted = listener.accept().await;
        // Forget the sessions that ended.
        while sessions.try_join_next().is_some() {}
        match accepted {
            Ok((stream, _)) => {
                let shared = Arc::clone(&shared);
                sessions.spawn(async move {
                    let (read, write) = stream.into_split();
                    // A client that goes away is no error of the sink.
                    let _ = Session::new(read, write, shared).run().await;
                });
            }
            // Out of file descriptors or the like: breathe, then go on.
            Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
}

/// The transaction under way: `MAIL FROM` and `RCPT TO` so far.
#[derive(Default)]
struct Transaction {
    from: Option<String>,
    recipients: Vec<String>,
}

struct Session<R, W> {
    read: BufReader<R>,
    write: W,
    shared: Arc<Shared>,
    transaction: Transaction,
    auth_user: Option<String>,
}

/// What one line turned out to be.
enum Line {
    Text(Vec<u8>),
    TooLong,
    Closed,
}

impl<R: AsyncRead + Unpin, W: AsyncWrite + Unpin> Session<R, W> {
    fn new(read: R, write: W, shared: Arc<Shared>) -> Self {
        Session {
            read: BufReader::new(read),
            write,
            shared,
            transaction: Transaction::default(),
            auth_user: None,
        }
    }

    async fn reply(&mut self, text: &str) -> io::Result<()> {
        self.write.write_all(text.as_bytes()).await?;
        self.write.write_all(b"\r\n").await?;
        self.write.flush().await
    }

    /// One line with its line break (LF or CRLF) as sent.
    async fn line(&mut self, limit: usize) -> io::Result<Line> {
        let mut buf = Vec::new();
        let n = (&mut self.read)
            .take(limit as u64 + 1)
            .read_until(b'\n', &mut buf)
            .await?;
        if n == 0 {
            return Ok(Line::Closed);
        }
        if buf.len() > limit {
            return Ok(Line::TooLong);
        }
        Ok(Line::Text(buf))
    }

    async fn run(mut self) -> io::Result<()> {
        self.reply("220 127.0.0.1 ESMTP shop-notify SmtpSink ready")
            .await?;
        loop {
            let line = match self.line(MAX_LINE).await? {
                Line::Closed => return Ok(()),
                Line::TooLong => {
                    self.reply("500 5.5.6 Line too long").await?;
                    return Ok(());
                }
                Line::Text(line) => line,
            };
            let line = String::from_utf8_lossy(&line);
            let line = line.trim_end_matches(['\r', '\n']);
            let (verb, arg) = match line.split_once(' ') {
                Some((v, a)) => (v.to_ascii_uppercase(), a.trim()),
                None => (line.to_ascii_uppercase(), ""),
            };
            match verb.as_str() {
                "EHLO" => {
                    self.transaction = Transaction::default();
                    self.reply(
                        "250-127.0.0.1 greets you\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n\
                         250-PIPELINING\r\n250-SIZE 33554432\r\n250-AUTH PLAIN LOGIN\r\n\
                         250 ENHANCEDSTATUSCODES",
                    )
                    .await?;
                }
                "HELO" => {
                    self.transaction = Transaction::default();
                    self.reply("250 127.0.0.1").await?;
                }
                "MAIL" => self.mail(arg).await?,
                "RCPT" => self.rcpt(arg).await?,
                "DATA" => self.data().await?,
                "RSET" => {
                    self.transaction = Transaction::default();
                    self.reply("250 2.0.0 OK").await?;
                }
                "NOOP" => self.reply("250 2.0.0 OK").await?,
                "VRFY" => self.reply("252 2.1.5 Cannot verify, will accept").await?,
                "AUTH" => self.auth(arg).await?,
                "STARTTLS" => self.reply("454 4.7.0 TLS not available").await?,
                "QUIT" => {
                    self.reply("221 2.0.0 Bye").await?;
                    return Ok(());
                }
                _ => self.reply("500 5.5.2 Command not recognized").await?,
            }
        }
    }

    async fn mail(&mut self, arg: &str) -> io::Result<()> {
        if self.transaction.from.is_some() {
            return self.reply("503 5.5.1 Nested MAIL command").await;
        }
        let Some(path) = path_after(arg, "FROM:") else {
            return self.reply("501 5.5.4 Syntax: MAIL FROM:<address>").await;
        };
        match self.shared.next_refusal() {
            Some(Refusal::Transient) => {
                self.reply("451 4.3.0 Temporary failure (SmtpSink::fail_next), try again later")
                    .await
            }
            Some(Refusal::Permanent) => {
                self.reply("554 5.7.1 Transaction refused (SmtpSink::reject_next)")
                    .await
            }
            None => {
                self.transaction.from = Some(path);
                self.reply("250 2.1.0 OK").await
            }
        }
    }

    async fn rcpt(&mut self, arg: &str) -> io::Result<()> {
        if self.transaction.from.is_none() {
            return self.reply("503 5.5.1 Need MAIL before RCPT").await;
        }
        match path_after(arg, "TO:") {
            Some(path) if !path.is_empty() => {
                self.transaction.recipients.push(path);
                self.reply("250 2.1.5 OK").await
            }
            _ => self.reply("501 5.5.4 Syntax: RCPT TO:<address>").await,
        }
    }

    async fn data(&mut self) -> io::Result<()> {
        if self.transaction.recipients.is_empty() {
            return self.reply("503 5.5.1 Need RCPT before DATA").await;
        }
        self.reply("354 Start mail input; end with <CRLF>.<CRLF>")
            .await?;
        let mut data = Vec::new();
        let mut too_big = false;
        loop {
            let line = match self.line(MAX_LINE).await? {
                Line::Closed => return Ok(()),
                Line::TooLong => {
                    self.reply("500 5.5.6 Line too long").await?;
                    return Ok(());
                }
                Line::Text(line) => line,
            };
            let content = line
                .strip_suffix(b"\n")
                .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
                .unwrap_or(&line);
            if content == b"." {
                break;
            }
            // Dot-unstuffing (RFC 5321 4.5.2).
            let line = line.strip_prefix(b".").unwrap_or(&line);
            if data.len() + line.len() > MAX_MESSAGE {
                too_big = true;
            } else {
                data.extend_from_slice(line);
            }
        }
        let transaction = std::mem::take(&mut self.transaction);
        if too_big {
            return self.reply("552 5.3.4 Message too big").await;
        }
        self.shared.store(ReceivedMail {
            from: transaction.from.unwrap_or_default(),
            recipients: transaction.recipients,
            auth_user: self.auth_user.clone(),
            data,
        });
        self.reply("250 2.0.0 OK: queued").await
    }

    /// `AUTH PLAIN [response]` or `AUTH LOGIN [user]`: any password is
    /// right; the user is recorded.
    async fn auth(&mut self, arg: &str) -> io::Result<()> {
        let (mechanism, initial) = match arg.split_once(' ') {
            Some((m, i)) => (m.to_ascii_uppercase(), Some(i.trim().to_owned())),
            None => (arg.to_ascii_uppercase(), None),
        };
        let user = match mechanism.as_str() {
            "PLAIN" => {
                let response = match initial {
                    Some(r) => r,
                    None => {
                        self.reply("334 ").await?;
                        self.secret_line().await?
                    }
                };
                decode64(&response).and_then(|plain| {
                    // authzid NUL authcid NUL password
                    let mut fields = plain.split('\0');
                    fields.next()?;
                    fields.next().map(str::to_owned)
                })
            }
            "LOGIN" => {
                let user = match initial {
                    Some(u) => u,
                    None => {
                        self.reply("334 VXNlcm5hbWU6").await?;
                        self.secret_line().await?
                    }
                };
                self.reply("334 UGFzc3dvcmQ6").await?;
                let _password = self.secret_line().await?;
                decode64(&user)
            }
            _ => {
                return self
                    .reply("504 5.5.4 Unrecognized authentication type")
                    .await
            }
        };
        match user {
            Some(user) => {
                self.auth_user = Some(user);
                self.reply("235 2.7.0 Authentication successful").await
            }
            None => self.reply("501 5.5.2 Cannot decode response").await,
        }
    }

    async fn secret_line(&mut self) -> io::Result<String> {
        match self.line(MAX_LINE).await? {
            Line::Text(l) => Ok(String::from_utf8_lossy(&l)
                .trim_end_matches(['\r', '\n'])
                .to_owned()),
            _ => Err(io::ErrorKind::UnexpectedEof.into()),
        }
    }
}

fn decode64(s: &str) -> Option<String> {
    let bytes = STANDARD_PAD_INDIFFERENT.decode(s.trim()).ok()?;
    String::from_utf8(bytes).ok()
}

/// The address in `FROM:<a@b> PARAMS` (any case, spaces allowed after the
/// colon), without angle brackets; `<>` is the empty path.
fn path_after(arg: &str, prefix: &str) -> Option<String> {
    let head = arg.get(..prefix.len())?;
    if !head.eq_ignore_ascii_case(prefix) {
        return None;
    }
    let rest = arg[prefix.len()..].trim_start();
    if let Some(rest) = rest.strip_prefix('<') {
        let end = rest.find('>')?;
        Some(rest[..end].to_owned())
    } else {
        // Lenient: a bare address up to the first space.
        rest.split_whitespace().next().map(str::to_owned)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert_eq!(
            path_after("FROM:<a@b.c>", "FROM:").as_deref(),
            Some("a@b.c")
        );
        assert_eq!(
            path_after("from: <a@b.c> BODY=8BITMIME", "FROM:").as_deref(),
            Some("a@b.c")
        );
        assert_eq!(path_after("FROM:<>", "FROM:").as_deref(), Some(""));
        assert_eq!(path_after("TO:x@y", "TO:").as_deref(), Some("x@y"));
        assert_eq!(path_after("<a@b>", "FROM:"), None);
    }
}
