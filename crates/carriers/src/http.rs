//! The one outbound HTTP client every remote adapter uses (reqwest with rustls): a timeout per
//! call, retries with exponential backoff on 429, 5xx and broken connections honouring
//! `Retry-After`, the idempotency key a purchase gives on every attempt, and a tracing event per
//! attempt with method, path, status and latency — never the query, the headers or a body, so
//! no credential reaches a log.

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

/// The shared client (cheap to clone: one connection pool).
#[derive(Debug, Clone)]
pub struct Client {
    inner: reqwest::Client,
    policy: Policy,
}

impl Default for Client {
    fn default() -> Self {
        Self::new(Policy::default())
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
    /// A client with `policy`.
    pub fn new(policy: Policy) -> Self {
        let inner = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5).min(policy.timeout))
            .timeout(policy.timeout)
            .user_agent(concat!("Consign/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("the TLS backend initialises");
        Self { inner, policy }
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
        let mut req = self.inner.request(call.method.clone(), &call.url);
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

/// Checks an `api_base` parameter: an absolute http(s) URL without query or credentials.
pub fn check_base(base: &str) -> Result<(), String> {
    let ok = (base.starts_with("https://") || base.starts_with("http://"))
        && !base.contains(['?', '#', '@', ' '])
        && base.len() <= 300
        && base.split("://").nth(1).is_some_and(|h| !h.is_empty());
    if ok {
        Ok(())
    } else {
        Err(
            "Must be an http(s) URL such as https://api.easypost.com (no query, no credentials)."
                .into(),
        )
    }
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
        assert!(check_base("https://api.easypost.com").is_ok());
        assert!(check_base("http://127.0.0.1:8080/api").is_ok());
        assert!(check_base("ftp://x").is_err());
        assert!(check_base("https://user:pw@x").is_err());
        assert!(check_base("https://").is_err());
    }
}
