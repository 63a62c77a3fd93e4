//! Request rate limits (DESIGN §7): one budget per credential (the token an `Authorization`
//! header carries, whatever its spelling: `ShippoToken t`, `bearer  t `, `t` share one budget —
//! each spelling had its own before, so one token got many budgets) and one per client IP
//! (`/health` is exempt from it: load balancers probe it often), each a token bucket (GCRA, the `governor` crate) refilled at a steady rate
//! with room for a burst. Past a budget the answer is `429` with `Retry-After` and the error
//! shape. Loopback clients are not limited unless asked (a reverse proxy on the same machine
//! would otherwise put every user in one bucket; tests and benchmarks run on loopback); the
//! token budget still applies to everyone once loopback is limited.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request};
use axum::http::header::{AUTHORIZATION, RETRY_AFTER};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::error::ApiError;

/// One budget: a steady rate and a burst.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    pub per_second: u32,
    pub burst: u32,
}

/// The limits of a server; a `None` budget is unlimited.
#[derive(Debug, Clone, Default)]
pub struct RateLimits {
    pub per_token: Option<Budget>,
    pub per_ip: Option<Budget>,
    /// Whether clients on loopback (127.0.0.0/8, ::1) are limited too.
    pub limit_loopback: bool,
}

/// The live buckets.
#[derive(Clone)]
pub struct Limiter(Arc<Inner>);

struct Inner {
    per_token: Option<DefaultKeyedRateLimiter<u64>>,
    per_ip: Option<DefaultKeyedRateLimiter<IpAddr>>,
    limit_loopback: bool,
}

fn quota(b: Budget) -> Option<Quota> {
    let rate = NonZeroU32::new(b.per_second)?;
    let burst = NonZeroU32::new(b.burst.max(b.per_second))?;
    Some(Quota::per_second(rate).allow_burst(burst))
}

impl Limiter {
    /// Buckets for `limits`; `None` when nothing is limited.
    pub fn new(limits: &RateLimits) -> Option<Self> {
        let per_token = limits.per_token.and_then(quota).map(RateLimiter::keyed);
        let per_ip = limits.per_ip.and_then(quota).map(RateLimiter::keyed);
        if per_token.is_none() && per_ip.is_none() {
            return None;
        }
        let limiter = Limiter(Arc::new(Inner {
            per_token,
            per_ip,
            limit_loopback: limits.limit_loopback,
        }));
        // Forget idle clients now and then, so the buckets stay as many as the active clients.
        let weak = Arc::downgrade(&limiter.0);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(60)).await;
                let Some(inner) = weak.upgrade() else { return };
                if let Some(l) = &inner.per_token {
                    l.retain_recent();
                }
                if let Some(l) = &inner.per_ip {
                    l.retain_recent();
                }
            }
        });
        Some(limiter)
    }

    /// How long to wait before the next request is allowed, or `None` to let it through.
    fn check(&self, ip: Option<IpAddr>, authorization: Option<&[u8]>) -> Option<Duration> {
        let inner = &self.0;
        if ip.is_some_and(|ip| ip.is_loopback()) && !inner.limit_loopback {
            return None;
        }
        let clock = DefaultClock::default();
        if let (Some(l), Some(ip)) = (&inner.per_ip, ip) {
            if let Err(not_until) = l.check_key(&ip) {
                return Some(not_until.wait_time_from(clock.now()));
            }
        }
        if let (Some(l), Some(auth)) = (&inner.per_token, authorization) {
            let mut h = DefaultHasher::new();
            auth.hash(&mut h);
            if let Err(not_until) = l.check_key(&h.finish()) {
                return Some(not_until.wait_time_from(clock.now()));
            }
        }
        None
    }
}

/// The 429 answer for `req` when it is past a budget, `None` to let it through.
pub fn refuse(limiter: &Limiter, req: &Request) -> Option<Response> {
    let ip = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    // The credential itself, not the header's spelling.
    let auth = req.headers().get(AUTHORIZATION).map(|v| {
        match v.to_str().ok().and_then(crate::auth::token_from_header) {
            Some(token) => token.as_bytes(),
            None => v.as_bytes(),
        }
    });
    let ip = ip.filter(|_| req.uri().path() != "/health");
    let wait = limiter.check(ip, auth)?;
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let mut res = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        format!("Too many requests; try again in {secs} s."),
    )
    .into_response();
    res.headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from(secs.max(1)));
    Some(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_budget_lets_its_burst_through_then_refuses_with_a_wait() {
        let limiter = Limiter::new(&RateLimits {
            per_token: Some(Budget {
                per_second: 1,
                burst: 3,
            }),
            per_ip: Some(Budget {
                per_second: 1,
                burst: 5,
            }),
            limit_loopback: false,
        })
        .unwrap();
        let ip: IpAddr = "203.0.113.7".parse().unwrap();
        for _ in 0..3 {
            assert_eq!(limiter.check(Some(ip), Some(b"ShippoToken a")), None);
        }
        let wait = limiter.check(Some(ip), Some(b"ShippoToken a")).unwrap();
        assert!(
            wait <= Duration::from_secs(1) && wait > Duration::ZERO,
            "{wait:?}"
        );
        // Another token from the same address has its own budget, until the address's runs out.
        assert_eq!(limiter.check(Some(ip), Some(b"ShippoToken b")), None);
        assert!(
            limiter.check(Some(ip), Some(b"ShippoToken c")).is_some(),
            "the IP's burst of 5 is spent"
        );
        // Loopback is not limited unless asked.
        let lo: IpAddr = "127.0.0.1".parse().unwrap();
        for _ in 0..10 {
            assert_eq!(limiter.check(Some(lo), Some(b"ShippoToken a")), None);
        }
    }

    #[tokio::test]
    async fn every_spelling_of_one_token_shares_its_budget_and_health_has_no_ip_budget() {
        let limiter = Limiter::new(&RateLimits {
            per_token: Some(Budget {
                per_second: 1,
                burst: 3,
            }),
            per_ip: Some(Budget {
                per_second: 1,
                burst: 2,
            }),
            limit_loopback: true,
        })
        .unwrap();
        let request = |path: &str, auth: Option<&str>, ip: [u8; 4]| {
            let mut b = Request::builder().uri(path);
            if let Some(a) = auth {
                b = b.header(AUTHORIZATION, a);
            }
            let mut req = b.body(axum::body::Body::empty()).unwrap();
            req.extensions_mut()
                .insert(ConnectInfo(SocketAddr::from((ip, 1000))));
            req
        };
        let spellings = [
            "ShippoToken shippo_test_abc",
            "shippotoken   shippo_test_abc",
            "Bearer shippo_test_abc",
            "TOKEN shippo_test_abc ",
            "shippo_test_abc",
        ];
        // Each from its own address, so only the token's budget (burst 3) counts.
        let passed = spellings
            .iter()
            .enumerate()
            .filter(|(i, a)| {
                refuse(
                    &limiter,
                    &request("/orders", Some(a), [203, 0, 113, *i as u8]),
                )
                .is_none()
            })
            .count();
        assert_eq!(passed, 3);
        // /health from one address: never limited by the address's budget of 2.
        for _ in 0..10 {
            assert!(refuse(&limiter, &request("/health", None, [198, 51, 100, 1])).is_none());
        }
        assert!(refuse(&limiter, &request("/orders", None, [198, 51, 100, 1])).is_none());
        assert!(refuse(&limiter, &request("/orders", None, [198, 51, 100, 1])).is_none());
        assert!(refuse(&limiter, &request("/orders", None, [198, 51, 100, 1])).is_some());
    }

    #[test]
    fn no_budget_means_no_limiter() {
        assert!(Limiter::new(&RateLimits::default()).is_none());
        let zero = Budget {
            per_second: 0,
            burst: 10,
        };
        assert!(Limiter::new(&RateLimits {
            per_token: Some(zero),
            per_ip: None,
            limit_loopback: true
        })
        .is_none());
    }
}
