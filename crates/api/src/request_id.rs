//! A request id for every request: answered in `X-Request-Id`, recorded on the request's log
//! span, and put in the body of 500 and 503 answers so a user's report finds the logged cause.
//! An id the client sends (up to 64 visible ASCII characters) is kept; otherwise a new one.

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
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

/// The middleware: picks the id, runs the request with it, and answers it in the header.
pub async fn layer(req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get(&HEADER)
        .and_then(acceptable)
        .unwrap_or_else(|| domain::ObjectId::new().to_string());
    tracing::Span::current().record("request_id", id.as_str());
    let mut res = CURRENT.scope(id.clone(), next.run(req)).await;
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(HEADER.clone(), v);
    }
    res
}
