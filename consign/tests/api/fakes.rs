//! The outside world, faked at the protocol level: a webhook receiver (real HTTP) and a mail
//! server (real SMTP on loopback).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// One request a receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
    /// What the receiver answered.
    pub answered: u16,
}

impl Received {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("webhook bodies are JSON")
    }
}

#[derive(Clone)]
struct ReceiverState {
    got: Arc<Mutex<Vec<Received>>>,
    status: Arc<AtomicU16>,
    delay_ms: Arc<AtomicU64>,
}

/// A webhook receiver on 127.0.0.1 that records every request and answers `status`.
pub struct Receiver {
    pub url: String,
    state: ReceiverState,
}

async fn receive(State(s): State<ReceiverState>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let delay = s.delay_ms.load(Ordering::Relaxed);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    let answered = s.status.load(Ordering::Relaxed);
    s.got.lock().unwrap().push(Received {
        headers: headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    v.to_str().unwrap_or_default().to_string(),
                )
            })
            .collect(),
        body: body.to_vec(),
        answered,
    });
    StatusCode::from_u16(answered).unwrap()
}

impl Receiver {
    pub async fn start() -> Self {
        let state = ReceiverState {
            got: Arc::default(),
            status: Arc::new(AtomicU16::new(200)),
            delay_ms: Arc::default(),
        };
        let app = axum::Router::new()
            .route("/hook", axum::routing::post(receive))
            .with_state(state.clone());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Receiver { url, state }
    }

    /// What it answers from now on.
    pub fn answer(&self, status: u16) {
        self.state.status.store(status, Ordering::Relaxed);
    }

    /// How long it takes to answer from now on.
    pub fn slow(&self, ms: u64) {
        self.state.delay_ms.store(ms, Ordering::Relaxed);
    }

    pub fn got(&self) -> Vec<Received> {
        self.state.got.lock().unwrap().clone()
    }

    /// Waits until `pred` holds for what it got (panics after `secs`).
    pub async fn wait_until(&self, secs: u64, pred: impl Fn(&[Received]) -> bool) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        loop {
            let got = self.got();
            if pred(&got) {
                return got;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "receiver waited {secs} s; got {} requests: {:?}",
                got.len(),
                got.iter()
                    .map(|r| String::from_utf8_lossy(&r.body).to_string())
                    .collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// One message a mail server accepted.
#[derive(Debug, Clone)]
pub struct Mail {
    pub from: String,
    pub to: Vec<String>,
    /// The message as sent (headers and body), with quoted-printable soft breaks removed.
    pub data: String,
}

impl Mail {
    /// A header's value (first occurrence).
    pub fn header(&self, name: &str) -> Option<String> {
        self.data.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
    }
}

/// A mail server on 127.0.0.1 speaking plain SMTP (RFC 5321: greeting, EHLO, MAIL, RCPT, DATA
/// with dot-stuffing, RSET, NOOP, QUIT), keeping every message.
pub struct SmtpServer {
    pub port: u16,
    mails: Arc<Mutex<Vec<Mail>>>,
}

impl SmtpServer {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let mails: Arc<Mutex<Vec<Mail>>> = Arc::default();
        let store = mails.clone();
        tokio::spawn(async move {
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    return;
                };
                let store = store.clone();
                tokio::spawn(async move {
                    let _ = session(socket, store).await;
                });
            }
        });
        SmtpServer { port, mails }
    }

    pub fn mails(&self) -> Vec<Mail> {
        self.mails.lock().unwrap().clone()
    }

    pub async fn wait_for(&self, n: usize, secs: u64) -> Vec<Mail> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        loop {
            let mails = self.mails();
            if mails.len() >= n {
                return mails;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "mail server waited {secs} s for {n} messages; got {mails:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

async fn session(
    socket: tokio::net::TcpStream,
    store: Arc<Mutex<Vec<Mail>>>,
) -> std::io::Result<()> {
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read);
    write.write_all(b"220 fake.test ESMTP ready\r\n").await?;
    let (mut from, mut to) = (String::new(), Vec::new());
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let cmd = line.trim_end().to_string();
        let upper = cmd.to_ascii_uppercase();
        if upper.starts_with("EHLO") {
            write
                .write_all(b"250-fake.test\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n")
                .await?;
        } else if upper.starts_with("HELO") {
            write.write_all(b"250 fake.test\r\n").await?;
        } else if upper.starts_with("MAIL FROM:") {
            from = cmd[10..].trim().trim_matches(['<', '>']).to_string();
            from = from
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .trim_matches(['<', '>'])
                .to_string();
            write.write_all(b"250 OK\r\n").await?;
        } else if upper.starts_with("RCPT TO:") {
            to.push(cmd[8..].trim().trim_matches(['<', '>']).to_string());
            write.write_all(b"250 OK\r\n").await?;
        } else if upper == "DATA" {
            write.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await?;
            let mut data = String::new();
            loop {
                line.clear();
                if lines.read_line(&mut line).await? == 0 {
                    return Ok(());
                }
                if line == ".\r\n" || line == ".\n" {
                    break;
                }
                // Dot-stuffing: a leading ".." stands for ".".
                data.push_str(
                    line.strip_prefix('.')
                        .filter(|l| l.starts_with('.'))
                        .unwrap_or(&line),
                );
            }
            store.lock().unwrap().push(Mail {
                from: std::mem::take(&mut from),
                to: std::mem::take(&mut to),
                data: data.replace("=\r\n", ""),
            });
            write.write_all(b"250 OK queued\r\n").await?;
        } else if upper == "RSET" {
            from.clear();
            to.clear();
            write.write_all(b"250 OK\r\n").await?;
        } else if upper == "NOOP" {
            write.write_all(b"250 OK\r\n").await?;
        } else if upper == "QUIT" {
            write.write_all(b"221 bye\r\n").await?;
            return Ok(());
        } else {
            write.write_all(b"502 not implemented\r\n").await?;
        }
    }
}
