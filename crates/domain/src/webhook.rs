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

/// Whether an address is not on the public internet: loopback, private, link-local, unspecified,
/// CGNAT, benchmarking, reserved, broadcast, multicast, documentation, unique-local, and IPv6
/// forms that embed such an IPv4 address (mapped, compatible, NAT64, 6to4). Checked by the
/// outbound guard on the address actually connected to.
pub fn is_private_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            a == 0 // "this network", including 0.0.0.0
                || v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a >= 240 // reserved
                || a == 100 && (64..128).contains(&b) // CGNAT
                || a == 198 && (b == 18 || b == 19) // benchmarking
                || a == 192 && b == 0 && c == 0 // IETF protocol assignments
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            let embedded = |hi: u16, lo: u16| {
                is_private_ip(IpAddr::V4(std::net::Ipv4Addr::new(
                    (hi >> 8) as u8,
                    hi as u8,
                    (lo >> 8) as u8,
                    lo as u8,
                )))
            };
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00 // unique local
                || (s[0] & 0xffc0) == 0xfe80 // link local
                || (s[0] & 0xffc0) == 0xfec0 // site local (deprecated)
                || s[0] == 0x2001 && s[1] == 0x0db8 // documentation
                || v6.to_ipv4_mapped().is_some_and(|v4| is_private_ip(IpAddr::V4(v4)))
                || s[..6] == [0; 6] && embedded(s[6], s[7]) // IPv4-compatible ::a.b.c.d
                || s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] && embedded(s[6], s[7]) // NAT64
                || s[0] == 0x2002 && embedded(s[1], s[2]) // 6to4
                || s[0] == 0x2001 && s[1] == 0 // Teredo (carries an IPv4 address)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses_are_private() {
        for ip in [
            "127.0.0.1",
            "0.0.0.0",
            "0.1.2.3",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.0.1",
            "169.254.169.254",
            "100.64.0.1",
            "198.18.0.1",
            "255.255.255.255",
            "224.0.0.1",
            "240.0.0.1",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2002:7f00:1::",
            "ff02::1",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
        ] {
            assert!(is_private_ip(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "8.8.8.8",
            "1.1.1.1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
            "2002:808:808::",
        ] {
            assert!(!is_private_ip(ip.parse().unwrap()), "{ip}");
        }
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
