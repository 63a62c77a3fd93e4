//! The HTTP sender: a client whose resolver refuses private and loopback addresses (unless
//! allowed), one attempt at a time, the answer recorded.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use domain::webhook::{self, Attempt, Delivery, Webhook, RESPONSE_EXCERPT};
use domain::Timestamp;

use super::{DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER};
use crate::Services;
use domain::signing::signature;

/// How long a receiver has to answer.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// How webhooks are sent: the HTTP client and whether private addresses are allowed.
#[derive(Clone)]
pub struct WebhookSender {
    client: reqwest::Client,
    /// Whether URLs may point at loopback/private addresses (off by default; on in tests).
    pub allow_private: bool,
    /// Percent of [`RETRY_DELAYS_S`] actually waited (100; tests and staging shrink it).
    pub retry_scale_percent: u32,
}

impl WebhookSender {
    /// A sender; with `allow_private` false, host names that resolve to private addresses are
    /// refused at send time too (not only IP literals at creation).
    pub fn new(allow_private: bool) -> Self {
        let mut builder = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .connect_timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("Consign-Webhooks/", env!("CARGO_PKG_VERSION")))
            .pool_max_idle_per_host(32);
        if !allow_private {
            builder = builder.dns_resolver(Arc::new(PublicOnly));
        }
        Self {
            client: builder.build().expect("the HTTP client builds"),
            allow_private,
            retry_scale_percent: 100,
        }
    }
}

/// A resolver that drops private, loopback and link-local addresses.
struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        Box::pin(async move {
            let host = format!("{}:0", name.as_str());
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host(host)
                .await?
                .filter(|a| !webhook::is_private_ip(a.ip()))
                .collect();
            if addrs.is_empty() {
                return Err(format!(
                    "{} resolves only to private addresses; webhooks are not sent there",
                    name.as_str()
                )
                .into());
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
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
    // IP literals are checked here (the resolver only sees host names).
    if let Err(m) = webhook::check_url(&hook.url, s.webhooks.allow_private) {
        return attempt(None, m);
    }
    let body = d.payload.clone().into_bytes();
    let sig = signature(secret, at.millis() / 1000, &body);
    let sent = s
        .webhooks
        .client
        .post(&hook.url)
        .header("content-type", "application/json")
        .header(SIGNATURE_HEADER, sig)
        .header(DELIVERY_HEADER, d.id.to_string())
        .header(EVENT_HEADER, d.event.as_str())
        .body(body)
        .send()
        .await;
    match sent {
        Ok(resp) => {
            let code = resp.status().as_u16();
            let text = resp.text().await.unwrap_or_default();
            attempt(Some(code), excerpt(&text))
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

fn excerpt(text: &str) -> String {
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
