//! A request id for every request: answered in `X-Request-Id`, recorded on the request's log
//! span, and put in the body of 500 and 503 answers so a user's report finds the logged cause.
//! An id the client sends (up to 64 visible ASCII characters) is kept; otherwise a new one.

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::response::Response;

/// The header carrying the id, both ways.
pub static HEADER: HeaderName = HeaderName::from_static("x-request-id");

tokio::task_local! {
    static CURRENT: String;
}

/// The id of the request being handled (empty outside a request).
pub fn current() -> String {
    CURRENT.try_with(Clone::clone).unwrap_or_default()
}

fn acceptable(v: &HeaderValue) -> Option<String> {
    let s = v.to_str().ok()?;
    (!s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_graphic()))
        .then(|| s.to_string())
}

/// A new id: 16 hex digits fixed per process (random) and 16 counting requests, so ids are
/// unique across processes and cheap to make.
fn fresh() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::LazyLock;
    // The random tail of an object id.
    static PROCESS: LazyLock<String> =
        LazyLock::new(|| domain::ObjectId::new().to_string()[16..].to_string());
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!("{}{:016x}", *PROCESS, NEXT.fetch_add(1, Ordering::Relaxed))
}

/// The request's id: the client's when sane, else a new one.
pub fn of(req: &Request) -> String {
    req.headers()
        .get(&HEADER)
        .and_then(acceptable)
        .unwrap_or_else(fresh)
}

/// Runs `handle` with `id` as the current request id and answers the id in the header.
pub async fn scoped(id: String, handle: impl std::future::Future<Output = Response>) -> Response {
    tracing::Span::current().record("request_id", id.as_str());
    let header = HeaderValue::from_str(&id).ok();
    let mut res = CURRENT.scope(id, handle).await;
    if let Some(v) = header {
        res.headers_mut().insert(HEADER.clone(), v);
    }
    res
}
