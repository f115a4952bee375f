//! The binary shuts down gracefully on SIGTERM and SIGINT: it stops
//! accepting connections, lets a request in flight finish, and exits 0.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The example binary on a fresh SQLite file and a free port; returns the
/// process, its address and a reader of the rest of its standard output.
fn spawn_shop() -> (Child, String, std::sync::mpsc::Receiver<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_shop-example"))
        .env("SHOP_DATABASE_URL", common::sqlite_url())
        .env("SHOP_BIND", "127.0.0.1:0")
        .env_remove("SHOP_REDIS_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn the shop");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let first = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the shop says where it listens");
    let addr = first
        .strip_prefix("shop listening on http://")
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("unexpected first line: {first}"))
        .to_owned();
    (child, addr, rx)
}

fn signal(child: &Child, name: &str) {
    let status = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(child.id().to_string())
        .status()
        .expect("kill");
    assert!(status.success());
}

/// Waits up to 20 s for the process to exit; its status.
fn wait_exit(child: &mut Child) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the shop did not exit within 20 s of the signal");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_the_request_in_flight_then_exits_0() {
    let (mut child, addr, lines) = spawn_shop();
    // A login whose body is half sent when the signal comes.
    let body = br#"{"email":"nobody@example.com","password":"wrong password"}"#;
    let mut stream = TcpStream::connect(&addr).await.expect("connect");
    let head = format!(
        "POST /api/auth/login HTTP/1.1\r\nHost: shop\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&body[..10]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;

    signal(&child, "TERM");
    // The listener closes: new connections are refused.
    let mut refused = false;
    for _ in 0..50 {
        if TcpStream::connect(&addr).await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(refused, "new connections are still accepted after SIGTERM");
    // The request in flight completes and is answered.
    stream.write_all(&body[10..]).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(15), stream.read_to_end(&mut answer))
        .await
        .expect("answered in time")
        .expect("read");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    assert!(answer.contains("invalid_credentials"), "{answer}");

    let status = wait_exit(&mut child);
    assert!(status.success(), "{status}");
    let said: Vec<String> = lines.try_iter().collect();
    assert!(
        said.iter().any(|l| l == "SIGTERM: shutting down"),
        "{said:?}"
    );
    assert_eq!(said.last().map(String::as_str), Some("stopped"), "{said:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_exits_0_too() {
    let (mut child, addr, lines) = spawn_shop();
    let mut stream = TcpStream::connect(&addr).await.expect("connect");
    stream
        .write_all(b"GET /api/categories HTTP/1.1\r\nHost: shop\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 16];
    let n = stream.read(&mut buf).await.unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
    // An idle keep-alive connection does not hold the shutdown up.
    signal(&child, "INT");
    let status = wait_exit(&mut child);
    assert!(status.success(), "{status}");
    let said: Vec<String> = lines.try_iter().collect();
    assert!(
        said.iter().any(|l| l == "SIGINT: shutting down"),
        "{said:?}"
    );
}
