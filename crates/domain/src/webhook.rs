//! Outbound webhooks (seed 002 "Webhooks"): subscriptions and their deliveries.
//!
//! A subscription names an event (or `all`) and a URL. Every event that matches becomes one
//! [`Delivery`] per subscription, written in the same database transaction as the change that
//! caused it (an outbox), then sent by a durable job until the receiver answers 2xx or the
//! attempts run out ([`RETRY_DELAYS_S`]: 11 attempts over about 25½ hours).

use std::net::IpAddr;

use crate::{ObjectId, Timestamp};

/// What a subscription listens for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WebhookEvent {
    TransactionCreated,
    TransactionUpdated,
    TrackUpdated,
    BatchCreated,
    BatchPurchased,
    /// Consign extension: an order was created (API, import or an integration).
    OrderCreated,
    /// Consign extension: an order changed (status, address, line items, fulfilment).
    OrderUpdated,
    /// Consign extension: every line item of an order is on a label.
    OrderFulfilled,
    /// Every event.
    All,
}
wire_enum!(WebhookEvent {
    TransactionCreated => "transaction_created",
    TransactionUpdated => "transaction_updated",
    TrackUpdated => "track_updated",
    BatchCreated => "batch_created",
    BatchPurchased => "batch_purchased",
    OrderCreated => "order_created",
    OrderUpdated => "order_updated",
    OrderFulfilled => "order_fulfilled",
    All => "all",
});

impl WebhookEvent {
    /// Whether a subscription to `self` receives `event`.
    pub fn covers(self, event: WebhookEvent) -> bool {
        self == WebhookEvent::All || self == event
    }
}

/// A subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    pub id: ObjectId,
    pub created: Timestamp,
    pub updated: Timestamp,
    /// Test webhooks receive the events of test-mode objects, live ones those of live objects.
    pub is_test: bool,
    pub url: String,
    pub event: WebhookEvent,
    pub active: bool,
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStatus {
    /// Waiting for its (next) attempt.
    Pending,
    /// The receiver answered 2xx.
    Delivered,
    /// Every attempt failed.
    Failed,
}
wire_enum!(DeliveryStatus { Pending => "PENDING", Delivered => "DELIVERED", Failed => "FAILED" });

/// One attempt to deliver.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Attempt {
    pub at: Timestamp,
    /// The receiver's HTTP status, if it answered.
    pub status_code: Option<u16>,
    pub latency_ms: i64,
    /// The first bytes of the answer, or why there was none.
    pub response: String,
}

/// One event on its way to one subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub id: ObjectId,
    pub created: Timestamp,
    pub updated: Timestamp,
    pub webhook: ObjectId,
    pub event: WebhookEvent,
    /// The exact bytes sent (and signed).
    pub payload: String,
    pub status: DeliveryStatus,
    /// Oldest first.
    pub attempts: Vec<Attempt>,
}

/// Seconds to wait after attempt N (1-based) before attempt N+1: 11 attempts spread over
/// about 25½ hours, so a receiver that is down for a day still gets every event.
pub const RETRY_DELAYS_S: [i64; 10] = [10, 60, 300, 1800, 3600, 7200, 14400, 21600, 28800, 14400];

/// Attempts before a delivery is given up.
pub const MAX_ATTEMPTS: usize = RETRY_DELAYS_S.len() + 1;

/// How much of a receiver's answer the delivery log keeps.
pub const RESPONSE_EXCERPT: usize = 512;

/// Checks a webhook target URL: absolute http(s), a host, no credentials; private, loopback and
/// link-local IP literals (and `localhost`) only when `allow_private`. Returns the URL trimmed.
pub fn check_url(raw: &str, allow_private: bool) -> Result<String, String> {
    let url = raw.trim();
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| "Enter an absolute http:// or https:// URL.".to_string())?;
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return Err(format!(
            "Webhook URLs must use http or https, not {scheme:?}."
        ));
    }
    if url.len() > 2048 || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("The URL is too long or contains spaces.".into());
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err("Put credentials in the URL's path or query, not before the host.".into());
    }
    let host = host_of(authority).ok_or_else(|| "The URL has no host.".to_string())?;
    if !allow_private && is_private_host(&host) {
        return Err(format!(
            "{host} is a private or loopback address; this server does not send webhooks there (see allow_private_webhooks)."
        ));
    }
    Ok(url.to_string())
}

fn host_of(authority: &str) -> Option<String> {
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next()?.to_string()
    } else {
        authority
            .rsplit_once(':')
            .map_or(authority, |(h, _)| h)
            .to_string()
    };
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

fn is_private_host(host: &str) -> bool {
    if host == "localhost" || host.ends_with(".localhost") {
        return true;
    }
    host.parse::<IpAddr>().is_ok_and(is_private_ip)
}

/// Whether an address is loopback, private, link-local, unspecified or otherwise not on the
/// public internet (checked again on every delivery, after DNS resolution).
pub fn is_private_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.octets()[0] == 100 && (64..128).contains(&v4.octets()[1]) // CGNAT
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            v6.is_loopback()
                || v6.is_unspecified()
                || (s[0] & 0xfe00) == 0xfc00 // unique local
                || (s[0] & 0xffc0) == 0xfe80 // link local
                || v6.to_ipv4_mapped().is_some_and(|v4| is_private_ip(IpAddr::V4(v4)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_http_and_public_unless_allowed() {
        assert_eq!(
            check_url(" https://example.com/hook?x=1 ", false).unwrap(),
            "https://example.com/hook?x=1"
        );
        assert!(check_url("ftp://example.com/", false)
            .unwrap_err()
            .contains("http"));
        assert!(check_url("example.com/hook", false).is_err());
        assert!(check_url("https://user:pw@example.com/", false).is_err());
        for private in [
            "http://127.0.0.1:9000/",
            "http://localhost/",
            "http://10.1.2.3/",
            "http://192.168.0.1/",
            "http://[::1]:8080/x",
            "http://169.254.169.254/latest",
            "http://[::ffff:127.0.0.1]/",
        ] {
            assert!(check_url(private, false).is_err(), "{private}");
            assert!(check_url(private, true).is_ok(), "{private}");
        }
        assert!(check_url("http://8.8.8.8/", false).is_ok());
    }

    #[test]
    fn retries_span_more_than_a_day() {
        let total: i64 = RETRY_DELAYS_S.iter().sum();
        assert!(total >= 24 * 3600, "{total}");
        const { assert!(MAX_ATTEMPTS >= 8) };
    }

    #[test]
    fn all_covers_every_event() {
        assert!(WebhookEvent::All.covers(WebhookEvent::TrackUpdated));
        assert!(WebhookEvent::TrackUpdated.covers(WebhookEvent::TrackUpdated));
        assert!(!WebhookEvent::TransactionCreated.covers(WebhookEvent::TrackUpdated));
    }
}
