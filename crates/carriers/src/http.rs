//! The one outbound HTTP client every call Consign makes for a user goes through (reqwest with
//! rustls): providers, their label and form downloads, project syncs, and (built by the same
//! [`Guard`]) webhooks.
//!
//! - **Where it may go**: a [`Guard`] refuses loopback, private, link-local and other
//!   non-public addresses. A URL's host is parsed the way the client itself parses it (WHATWG:
//!   `2130706433`, `0x7f000001`, `0177.0.0.1`, `127.1`, `127.0.0.1.` are all 127.0.0.1), so the
//!   decision is made on the address actually connected to, whatever the spelling; host names
//!   are resolved by the guard's resolver, which drops non-public addresses and hands the
//!   remaining ones to the connector (they are connected to as checked, never re-resolved).
//!   Redirects are followed only to public addresses, at most [`MAX_REDIRECTS`].
//! - **How long and how much**: an overall deadline per attempt and a bounded answer size.
//! - **Retries** with exponential backoff on 429, 5xx and broken connections honouring
//!   `Retry-After`, the idempotency key a purchase gives on every attempt.
//! - **What is said**: a tracing event per attempt with method, path, status and latency — never
//!   the query, the headers or a body, so no credential reaches a log; what the far end answered
//!   reaches users only as a short [`excerpt`].

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::CarrierError;

/// How the client behaves.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Whole-call limit of one attempt.
    pub timeout: Duration,
    /// Attempts in all (1 = no retry).
    pub attempts: u32,
    /// First backoff; doubled per retry.
    pub backoff: Duration,
    /// A `Retry-After` longer than this is not waited for: the call fails as unavailable.
    pub max_wait: Duration,
    /// Largest body accepted (labels included).
    pub max_body: usize,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(20),
            attempts: 3,
            backoff: Duration::from_millis(200),
            max_wait: Duration::from_secs(10),
            max_body: 20 * 1024 * 1024,
        }
    }
}

/// Redirects followed at most (each to a public address).
pub const MAX_REDIRECTS: usize = 3;

/// Longest URL saved or called: room for providers' signed file links (S3 links with session
/// tokens run past 2,000 characters).
pub const MAX_URL: usize = 8192;

/// Which addresses outbound calls may reach. Public only by default; `allow_private` (the
/// server's `allow_private_network` setting) lets tests and closed networks reach loopback and
/// private hosts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Guard {
    /// Whether loopback, private, link-local and other non-public addresses may be reached.
    pub allow_private: bool,
}

impl Guard {
    /// Public addresses only.
    pub const PUBLIC: Guard = Guard {
        allow_private: false,
    };
    /// Any address (tests, closed networks).
    pub const ANY: Guard = Guard {
        allow_private: true,
    };

    /// Checks an outbound URL as it is saved or called: absolute http(s), a host, no
    /// credentials before the host, at most [`MAX_URL`] characters; unless private addresses are
    /// allowed, an IP-literal host (any spelling) must be public and `localhost` names are
    /// refused. Host names are checked again each time they are resolved. Returns the URL as
    /// the client will use it (its canonical form).
    pub fn check(&self, raw: &str) -> Result<reqwest::Url, String> {
        let raw = raw.trim();
        if raw.len() > MAX_URL || raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err("The URL is too long or contains spaces.".into());
        }
        let url = reqwest::Url::parse(raw)
            .map_err(|_| "Enter an absolute http:// or https:// URL.".to_string())?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!("Use http or https, not {:?}.", url.scheme()));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err("Put credentials in the URL's path or query, not before the host.".into());
        }
        let Some(host) = url.host_str().filter(|h| !h.is_empty()) else {
            return Err("The URL has no host.".into());
        };
        if !self.allow_private && !public_host(host) {
            return Err(format!(
                "{host} is a loopback, private or otherwise internal address; this server does not connect there (see allow_private_network)."
            ));
        }
        Ok(url)
    }

    /// A reqwest client builder bound by this guard: its resolver (unless private addresses
    /// are allowed) and its redirect rule. Every outbound client is built from one.
    ///
    /// Public-only clients ignore the `HTTP(S)_PROXY` environment: through a proxy, host names
    /// are resolved by the proxy, not by the guard's resolver, so internal hosts would be
    /// reachable by name. A deployment that must go out through a proxy runs with
    /// `allow_private_network` and polices the proxy itself (docs/CONFIGURATION.md).
    pub fn client_builder(self) -> reqwest::ClientBuilder {
        let mut builder = reqwest::Client::builder().redirect(self.redirects());
        if !self.allow_private {
            builder = builder.dns_resolver(Arc::new(PublicOnly)).no_proxy();
        }
        builder
    }

    fn redirects(self) -> reqwest::redirect::Policy {
        reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= MAX_REDIRECTS {
                attempt.error(format!("more than {MAX_REDIRECTS} redirects"))
            } else if let Err(e) = self.check(attempt.url().as_str()) {
                attempt.error(e)
            } else {
                attempt.follow()
            }
        })
    }
}

/// Whether a URL's host (as the URL parser wrote it: dotted IPv4, bracketed IPv6, or a name)
/// may be connected to without allowing private addresses.
fn public_host(host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    if host == "localhost" || host.ends_with(".localhost") {
        return false;
    }
    let literal = host.trim_start_matches('[').trim_end_matches(']');
    literal
        .parse::<IpAddr>()
        .map_or(true, |ip| !domain::webhook::is_private_ip(ip))
}

/// A resolver that drops non-public addresses; the addresses it answers are the ones connected
/// to.
struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        Box::pin(async move {
            let host = format!("{}:0", name.as_str());
            let addrs: Vec<SocketAddr> =
                tokio::time::timeout(Duration::from_secs(5), tokio::net::lookup_host(host))
                    .await
                    .map_err(|_| format!("resolving {} timed out", name.as_str()))??
                    .filter(|a| !domain::webhook::is_private_ip(a.ip()))
                    .collect();
            if addrs.is_empty() {
                return Err(format!(
                    "{} resolves only to internal addresses; this server does not connect there",
                    name.as_str()
                )
                .into());
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// How many characters of an outside system's words are shown to users.
pub const ANSWER_EXCERPT: usize = 300;

/// At most `max` characters of what an outside system answered, fit to show a user: control
/// characters and runs of white space become one space, and a cut is marked with `…`.
pub fn excerpt(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max + 4));
    let mut count = 0;
    let mut space = false;
    for c in text.trim().chars() {
        if c.is_whitespace() || c.is_control() {
            space = true;
            continue;
        }
        if count >= max {
            out.push('…');
            return out;
        }
        if space && !out.is_empty() {
            out.push(' ');
            count += 1;
        }
        space = false;
        out.push(c);
        count += 1;
    }
    out
}

/// The shared client (cheap to clone: one connection pool).
#[derive(Debug, Clone)]
pub struct Client {
    inner: reqwest::Client,
    policy: Policy,
    guard: Guard,
}

impl Default for Client {
    /// A public-only client with the default policy.
    fn default() -> Self {
        Self::new(Policy::default(), Guard::PUBLIC)
    }
}

/// One call to make.
#[derive(Debug, Clone)]
pub struct Call<'a> {
    pub method: Method,
    pub url: String,
    /// The `Authorization` header's value (marked sensitive: never logged).
    pub authorization: Option<&'a str>,
    pub json: Option<&'a Value>,
    /// Sent as `Idempotency-Key` on every attempt.
    pub idempotency_key: Option<&'a str>,
    /// Extra headers (not secrets).
    pub headers: &'a [(&'static str, &'a str)],
}

impl<'a> Call<'a> {
    /// A call without a body.
    pub fn new(method: Method, url: String) -> Self {
        Self {
            method,
            url,
            authorization: None,
            json: None,
            idempotency_key: None,
            headers: &[],
        }
    }
}

/// What the far end answered (any status but 429 and 5xx, which are retried and then errors).
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: StatusCode,
    pub body: Vec<u8>,
}

impl Answer {
    /// The body as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    /// Whether the status is 2xx.
    pub fn ok(&self) -> bool {
        self.status.is_success()
    }
}

/// The path of a URL, for logs (no query string: tokens sometimes travel there).
fn path_of(url: &str) -> &str {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let path = after_scheme.find('/').map_or("/", |i| &after_scheme[i..]);
    path.split(['?', '#']).next().unwrap_or("/")
}

/// Seconds of a `Retry-After` header (delta-seconds form; an HTTP date counts as one second).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let v = headers.get("retry-after")?.to_str().ok()?.trim();
    Some(Duration::from_secs(v.parse::<u64>().unwrap_or(1)))
}

impl Client {
    /// A client with `policy`, reaching what `guard` allows.
    pub fn new(policy: Policy, guard: Guard) -> Self {
        let inner = guard
            .client_builder()
            .connect_timeout(Duration::from_secs(5).min(policy.timeout))
            .timeout(policy.timeout)
            .user_agent(concat!("Consign/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("the TLS backend initialises");
        Self {
            inner,
            policy,
            guard,
        }
    }

    /// The guard this client calls through (URLs are checked with it when saved).
    pub fn guard(&self) -> Guard {
        self.guard
    }

    /// Makes `call`, retrying what may succeed later.
    pub async fn send(&self, call: &Call<'_>) -> Result<Answer, CarrierError> {
        let path = path_of(&call.url).to_string();
        let mut wait = self.policy.backoff;
        let mut last = String::new();
        for attempt in 1..=self.policy.attempts.max(1) {
            let started = Instant::now();
            let outcome = self.attempt(call).await;
            let ms = started.elapsed().as_secs_f64() * 1000.0;
            let retry_in = match outcome {
                Ok((status, headers, body)) => {
                    tracing::info!(method = %call.method, path = %path, status = status.as_u16(), latency_ms = ms, attempt, "carrier call");
                    if status != StatusCode::TOO_MANY_REQUESTS && !status.is_server_error() {
                        return Ok(Answer { status, body });
                    }
                    last = format!("answered {}", status.as_u16());
                    retry_after(&headers).unwrap_or(wait)
                }
                Err(e) => {
                    tracing::warn!(method = %call.method, path = %path, latency_ms = ms, attempt, error = %e, "carrier call failed");
                    last = e;
                    wait
                }
            };
            if attempt == self.policy.attempts.max(1) {
                break;
            }
            if retry_in > self.policy.max_wait {
                last = format!("{last} and asked to wait {} s", retry_in.as_secs());
                break;
            }
            tokio::time::sleep(retry_in).await;
            wait *= 2;
        }
        Err(CarrierError::Unavailable(format!(
            "{} {path} failed: {last}.",
            call.method
        )))
    }

    async fn attempt(&self, call: &Call<'_>) -> Result<(StatusCode, HeaderMap, Vec<u8>), String> {
        // IP literals never reach the resolver: the URL is checked as the client parses it.
        let url = self.guard.check(&call.url)?;
        let mut req = self.inner.request(call.method.clone(), url);
        if let Some(auth) = call.authorization {
            let mut v = HeaderValue::from_str(auth)
                .map_err(|_| "credential is not a valid header".to_string())?;
            v.set_sensitive(true);
            req = req.header(AUTHORIZATION, v);
        }
        if let Some(key) = call.idempotency_key {
            req = req.header("Idempotency-Key", key);
        }
        for (k, v) in call.headers {
            req = req.header(*k, *v);
        }
        if let Some(body) = call.json {
            req = req
                .header(CONTENT_TYPE, "application/json")
                .body(serde_json::to_vec(body).expect("JSON serialises"));
        }
        let mut resp = req.send().await.map_err(describe)?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(describe)? {
            if body.len() + chunk.len() > self.policy.max_body {
                return Err(format!(
                    "the answer is larger than {} bytes",
                    self.policy.max_body
                ));
            }
            body.extend_from_slice(&chunk);
        }
        Ok((status, headers, body))
    }

    /// Downloads a file (a label the provider hosts).
    pub async fn download(&self, url: &str) -> Result<Vec<u8>, CarrierError> {
        let answer = self.send(&Call::new(Method::GET, url.to_string())).await?;
        if !answer.ok() {
            return Err(CarrierError::Unavailable(format!(
                "downloading {} answered {}.",
                path_of(url),
                answer.status.as_u16()
            )));
        }
        Ok(answer.body)
    }
}

/// A reqwest error without its URL (which may carry a signed query).
fn describe(e: reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else if e.is_body() || e.is_decode() {
        "broken answer"
    } else {
        "request failed"
    };
    kind.to_string()
}

/// `base` + `path`, one slash between them.
pub fn join(base: &str, path: &str) -> String {
    format!(
        "{}/{}",
        base.trim_end_matches('/'),
        path.trim_start_matches('/')
    )
}

/// Checks an `api_base` parameter: an absolute http(s) URL without query or credentials whose
/// host `guard` lets Consign reach.
pub fn check_base(base: &str, guard: Guard) -> Result<(), String> {
    let ok = (base.starts_with("https://") || base.starts_with("http://"))
        && !base.contains(['?', '#', '@', ' '])
        && base.len() <= 300
        && base.split("://").nth(1).is_some_and(|h| !h.is_empty());
    if !ok {
        return Err(
            "Must be an http(s) URL such as https://api.easypost.com (no query, no credentials)."
                .into(),
        );
    }
    guard.check(base).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logs_paths_without_queries() {
        assert_eq!(
            path_of("https://api.x.com/v2/shipments?key=secret"),
            "/v2/shipments"
        );
        assert_eq!(path_of("http://127.0.0.1:9/files/a.png#x"), "/files/a.png");
        assert_eq!(path_of("https://host"), "/");
        assert_eq!(join("http://h/v2/", "/shipments"), "http://h/v2/shipments");
        assert!(check_base("https://api.easypost.com", Guard::PUBLIC).is_ok());
        assert!(check_base("http://127.0.0.1:8080/api", Guard::ANY).is_ok());
        assert!(check_base("http://127.0.0.1:8080/api", Guard::PUBLIC).is_err());
        assert!(check_base("ftp://x", Guard::ANY).is_err());
        assert!(check_base("https://user:pw@x", Guard::ANY).is_err());
        assert!(check_base("https://", Guard::ANY).is_err());
    }

    /// Every spelling of an internal address outside testing found, and the IPv6 forms.
    const INTERNAL: [&str; 16] = [
        "http://127.0.0.1:9000/",
        "http://2130706433/",
        "http://127.1/",
        "http://0x7f000001/",
        "http://0177.0.0.1/",
        "http://0/",
        "http://127.0.0.1./",
        "http://2852039166/",
        "http://169.254.169.254/latest/meta-data",
        "http://10.1.2.3/",
        "http://192.168.0.1/",
        "http://localhost:8080/",
        "http://[::1]:8080/x",
        "http://[::ffff:127.0.0.1]/",
        "http://[fd00::1]/",
        "http://LOCALHOST./",
    ];

    #[test]
    fn internal_addresses_are_refused_in_every_spelling() {
        for url in INTERNAL {
            let e = Guard::PUBLIC.check(url).unwrap_err();
            assert!(e.contains("internal address"), "{url}: {e}");
            assert!(Guard::ANY.check(url).is_ok(), "{url}");
        }
        assert_eq!(
            Guard::PUBLIC
                .check(" https://example.com/hook?x=1 ")
                .unwrap()
                .as_str(),
            "https://example.com/hook?x=1"
        );
        assert!(Guard::PUBLIC.check("http://8.8.8.8/").is_ok());
        assert!(Guard::PUBLIC
            .check("ftp://example.com/")
            .unwrap_err()
            .contains("http"));
        assert!(Guard::PUBLIC.check("example.com/hook").is_err());
        assert!(Guard::PUBLIC.check("https://user:pw@example.com/").is_err());
    }

    #[test]
    fn excerpts_are_short_and_plain() {
        assert_eq!(excerpt("  a\r\n\tb\u{0}c  ", 10), "a b c");
        let long = "é".repeat(400);
        let e = excerpt(&long, 200);
        assert_eq!(e.chars().count(), 201);
        assert!(e.ends_with('…'));
    }

    const SECRET: &str = "HTTP/1.1 200 OK\r\ncontent-length: 6\r\nconnection: close\r\n\r\nsecret";

    /// A listener on loopback that answers every connection with `answer`, counting them.
    fn listener(answer: String) -> (u16, Arc<std::sync::atomic::AtomicUsize>) {
        use std::io::{Read, Write};
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let hits = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = hits.clone();
        std::thread::spawn(move || {
            for mut sock in l.incoming().flatten() {
                counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let mut buf = [0u8; 4096];
                let _ = sock.read(&mut buf);
                let _ = sock.write_all(answer.as_bytes());
            }
        });
        (port, hits)
    }

    #[tokio::test]
    async fn calls_never_reach_internal_addresses_whatever_the_spelling() {
        let (port, hits) = listener(SECRET.into());
        let client = Client::new(
            Policy {
                attempts: 1,
                ..Policy::default()
            },
            Guard::PUBLIC,
        );
        for host in [
            "127.0.0.1",
            "2130706433",
            "0x7f000001",
            "127.1",
            "0177.0.0.1",
            "127.0.0.1.",
            "localhost",
            "[::ffff:127.0.0.1]",
        ] {
            let err = client
                .download(&format!("http://{host}:{port}/label.pdf"))
                .await
                .unwrap_err();
            assert!(!err.to_string().contains("secret"), "{host}: {err}");
        }
        assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 0);
        // The same listener is reached when private addresses are allowed.
        let open = Client::new(Policy::default(), Guard::ANY);
        let body = open
            .download(&format!("http://2130706433:{port}/label.pdf"))
            .await
            .unwrap();
        assert_eq!(body, b"secret");
    }

    #[tokio::test]
    async fn redirects_to_internal_addresses_are_not_followed() {
        let (inner, hits) = listener(SECRET.into());
        let (outer, _) = listener(format!(
            "HTTP/1.1 302 Found\r\nlocation: http://127.0.0.1:{inner}/\r\ncontent-length: 0\r\n\r\n"
        ));
        // The first hop is allowed (as a public host would be); its redirect inward is not.
        let guard = Guard::PUBLIC;
        let client = reqwest::Client::builder()
            .redirect(guard.redirects())
            .build()
            .unwrap();
        let err = client
            .get(format!("http://127.0.0.1:{outer}/"))
            .send()
            .await
            .unwrap_err();
        assert!(err.is_redirect(), "{err}");
        assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 0);
    }
}
