//! The creator's provider account (seed 000 "Native EasyPost / Shippo integration"): one
//! record per backer pushed into it ([`OrderProvider`]), and the signed events it sends back
//! ([`EventSource`]). The service asks [`connect`] and [`events_of`] for a project's kind and
//! never looks at which provider it is.

mod easypost;
mod shippo;

use std::future::Future;
use std::pin::Pin;

use carriers::http::Client;
use domain::address::AddressFields;
use domain::crowdfunding::Progress;

/// The provider kinds a project may connect.
pub const KINDS: &[&str] = &["easypost", "shippo"];

/// A future a provider returns.
pub type ProviderFuture<'a, T> =
    Pin<Box<dyn Future<Output = Result<T, ProviderError>> + Send + 'a>>;

/// Why a push failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// The provider refused this record (its words): retrying the same cannot help.
    #[error("{0}")]
    Rejected(String),
    /// Unreachable, 5xx or 429 after the client's retries: a later attempt may succeed.
    #[error("{0}")]
    Unavailable(String),
}

impl From<carriers::CarrierError> for ProviderError {
    fn from(e: carriers::CarrierError) -> Self {
        match e {
            carriers::CarrierError::Unavailable(m) => ProviderError::Unavailable(m),
            other => ProviderError::Rejected(other.to_string()),
        }
    }
}

/// Longest excerpt [`excerpt`] keeps.
pub const EXCERPT_CHARS: usize = 200;

/// A provider error made fit for a report a creator reads: `secrets` (the API key, the webhook
/// secret) and a URL's user info (`https://user:pass@…`) replaced by `[redacted]`, a URL's
/// query string dropped, control characters and runs of spaces collapsed, at most
/// [`EXCERPT_CHARS`] characters (`…` when cut).
pub fn excerpt(message: &str, secrets: &[&str]) -> String {
    let mut m = message.to_string();
    for secret in secrets.iter().filter(|s| s.len() >= 4) {
        m = m.replace(secret, "[redacted]");
    }
    let words: Vec<String> = m
        .split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
        .map(|w| match w.find("://") {
            Some(at) => {
                let (scheme, rest) = w.split_at(at + 3);
                let rest = match rest.find(['/', '?', '#']) {
                    Some(end) if rest[..end].contains('@') => {
                        format!(
                            "[redacted]@{}",
                            &rest[rest[..end].rfind('@').unwrap() + 1..]
                        )
                    }
                    None if rest.contains('@') => {
                        format!("[redacted]@{}", &rest[rest.rfind('@').unwrap() + 1..])
                    }
                    _ => rest.to_string(),
                };
                let rest = rest
                    .split(['?', '#'])
                    .next()
                    .unwrap_or_default()
                    .to_string();
                format!("{scheme}{rest}")
            }
            None => w.to_string(),
        })
        .collect();
    let m = words.join(" ");
    if m.chars().count() <= EXCERPT_CHARS {
        return m;
    }
    let cut: String = m.chars().take(EXCERPT_CHARS - 1).collect();
    format!("{cut}…")
}

/// One backer's record to push.
#[derive(Debug, Clone)]
pub struct Outbound<'a> {
    /// Consign's order id: the record's reference, what events are matched back by.
    pub reference: &'a str,
    pub pledge_id: &'a str,
    pub tier_name: &'a str,
    pub placed_at: domain::Timestamp,
    pub to: &'a AddressFields,
    pub from: &'a AddressFields,
    /// The reward parcel's weight and its unit (`lb`, `oz`, `g`, `kg`).
    pub weight: (rust_decimal::Decimal, domain::units::MassUnit),
}

/// Pushes records into a provider account.
pub trait OrderProvider: Send + Sync {
    /// Creates the provider's record for one backer; its id. `key` is sent as the idempotency
    /// key of every attempt (a provider that honours it never makes two).
    fn push<'a>(&'a self, record: &'a Outbound<'a>, key: &'a str) -> ProviderFuture<'a, String>;
}

/// The connection to a provider account of `kind`: its API key and (for tests and proxies) its
/// API base; `None` for an unknown kind.
pub fn connect(
    kind: &str,
    api_key: &str,
    base_url: Option<&str>,
    http: Client,
) -> Option<Box<dyn OrderProvider>> {
    match kind {
        "easypost" => Some(Box::new(easypost::EasyPost::new(api_key, base_url, http))),
        "shippo" => Some(Box::new(shippo::Shippo::new(api_key, base_url, http))),
        _ => None,
    }
}

/// What one inbound event says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundEvent {
    /// The provider's id of the event (replays share it), else a digest of the body.
    pub key: String,
    /// `tracker.updated`, `transaction_created`, …
    pub kind: String,
    /// Ids of the provider's records the event names (shipment, order): matched against what a
    /// sync pushed.
    pub references: Vec<String>,
    pub tracking_number: Option<String>,
    pub carrier: Option<String>,
    /// What it means for the pledge (`None`: nothing, e.g. a failed label).
    pub progress: Option<Progress>,
}

/// Why an inbound request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InboundError {
    /// Missing or forged signature.
    Unauthenticated,
    /// Signed, but not an event this reads.
    Malformed(String),
}

/// Reads a provider's signed events.
pub trait EventSource: Send + Sync {
    /// Checks the signature over the raw body (constant time), then reads the events.
    fn read(
        &self,
        secret: &str,
        headers: &[(String, String)],
        body: &[u8],
    ) -> Result<Vec<InboundEvent>, InboundError>;
}

/// The event reader of `kind`.
pub fn events_of(kind: &str) -> Option<&'static dyn EventSource> {
    match kind {
        "easypost" => Some(&easypost::EVENTS),
        "shippo" => Some(&shippo::EVENTS),
        _ => None,
    }
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// A digest of a body, for events without an id of their own.
fn digest(body: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(body))
}

fn location(a: &AddressFields) -> carriers::Location {
    carriers::Location {
        country: a.country.clone(),
        state: a.state.clone(),
        zip: a.zip.clone(),
        residential: a.is_residential.unwrap_or(true),
        address: a.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_excerpt_names_no_secret_and_stays_short() {
        let m = "POST /v2/shipments failed: error sending request for url (https://EZTK_key:x@api.example/v2/shipments?api_key=EZTK_key&x=1): connection refused.";
        let e = excerpt(m, &["EZTK_key"]);
        assert!(!e.contains("EZTK_key"), "{e}");
        assert!(!e.contains("x@"), "{e}");
        assert!(e.contains("[redacted]@api.example/v2/shipments"), "{e}");
        assert!(e.ends_with("connection refused."), "{e}");
        let long = format!("line1\n\tline2 {}", "x".repeat(500));
        let e = excerpt(&long, &[]);
        assert!(e.starts_with("line1 line2 x"), "{e}");
        assert_eq!(e.chars().count(), EXCERPT_CHARS);
        assert!(e.ends_with('…'));
        assert_eq!(excerpt("answered 503", &[""]), "answered 503");
    }
}
