//! The HTTP sender: a client built by the outbound [`Guard`] (public addresses only unless
//! allowed, whatever the URL's spelling; no redirects), one attempt at a time, the answer
//! recorded as a bounded excerpt.

use std::time::{Duration, Instant};

use carriers::http::Guard;
use domain::webhook::{Attempt, Delivery, Webhook, RESPONSE_EXCERPT};
use domain::Timestamp;

use super::{DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER};
use crate::Services;
use domain::signing::signature;

/// How long a receiver has to answer, connection to last byte.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// How webhooks are sent: the HTTP client and the guard deciding where they may go.
#[derive(Clone)]
pub struct WebhookSender {
    client: reqwest::Client,
    /// Where deliveries may go (the server's one `allow_private_network` switch).
    pub guard: Guard,
    /// Percent of [`domain::webhook::RETRY_DELAYS_S`] actually waited (100; tests and staging shrink it).
    pub retry_scale_percent: u32,
}

impl WebhookSender {
    /// A sender reaching what `guard` allows; receivers' redirects are never followed.
    pub fn new(guard: Guard) -> Self {
        let client = guard
            .client_builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(TIMEOUT)
            .connect_timeout(Duration::from_secs(5))
            .user_agent(concat!("Consign-Webhooks/", env!("CARGO_PKG_VERSION")))
            .pool_max_idle_per_host(32)
            .build()
            .expect("the HTTP client builds");
        Self {
            client,
            guard,
            retry_scale_percent: 100,
        }
    }
}

/// One POST of a delivery; never fails, the outcome is the attempt.
pub(super) async fn send(s: &Services, hook: &Webhook, d: &Delivery, secret: &str) -> Attempt {
    let at = Timestamp::now();
    let started = Instant::now();
    let attempt = |code: Option<u16>, response: String| Attempt {
        at,
        status_code: code,
        latency_ms: started.elapsed().as_millis() as i64,
        response,
    };
    // IP literals (any spelling) are checked here as the client parses them: the resolver
    // only sees host names.
    let url = match s.webhooks.guard.check(&hook.url) {
        Ok(url) => url,
        Err(m) => return attempt(None, m),
    };
    let body = d.payload.clone().into_bytes();
    let sig = signature(secret, at.millis() / 1000, &body);
    let sent = s
        .webhooks
        .client
        .post(url)
        .header("content-type", "application/json")
        .header(SIGNATURE_HEADER, sig)
        .header(DELIVERY_HEADER, d.id.to_string())
        .header(EVENT_HEADER, d.event.as_str())
        .body(body)
        .send()
        .await;
    match sent {
        Ok(mut resp) => {
            let code = resp.status().as_u16();
            // Only the excerpt's worth is read: a receiver cannot make Consign hold a large
            // answer.
            let mut head = Vec::new();
            while head.len() < RESPONSE_EXCERPT * 4 {
                match resp.chunk().await {
                    Ok(Some(chunk)) => head.extend_from_slice(&chunk),
                    _ => break,
                }
            }
            head.truncate(RESPONSE_EXCERPT * 4);
            attempt(Some(code), excerpt(&String::from_utf8_lossy(&head)))
        }
        Err(e) => attempt(None, excerpt(&error_chain(&e))),
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// At most [`RESPONSE_EXCERPT`] bytes of plain text.
fn excerpt(text: &str) -> String {
    let text = carriers::http::excerpt(text, RESPONSE_EXCERPT);
    let mut end = text.len().min(RESPONSE_EXCERPT);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_cut_on_character_boundaries() {
        let long = "é".repeat(400);
        let e = excerpt(&long);
        assert!(e.len() <= RESPONSE_EXCERPT && e.chars().all(|c| c == 'é'));
    }
}
