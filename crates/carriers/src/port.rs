//! What the service asks of a carrier beyond rates, and what it answers: purchases, refunds,
//! tracking by poll and by push, service levels. Every request is carrier-neutral; each adapter
//! uses what it needs of it.

use std::future::Future;
use std::pin::Pin;

use documents::invoice::InvoiceData;
use documents::{Document, LabelData, LabelFormat};
use domain::tracking::TrackEvent;
use domain::Timestamp;
use serde_json::Value;

use crate::{CarrierError, Message, ShipmentSpec};

/// A boxed future, as every port operation returns (remote adapters await, local ones answer at once).
pub type CarrierFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, CarrierError>> + Send + 'a>>;

/// Hands out the next serial of a named series (tracking numbers of labels Consign makes). The
/// service implements it over the database; gaps are allowed, repeats never.
pub trait Serials: Send + Sync {
    /// The next serial of `series`.
    fn next<'a>(&'a self, series: &'a str) -> CarrierFuture<'a, u64>;
}

/// The rate being bought, as the adapter priced it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoughtRate<'a> {
    pub service_token: &'a str,
    pub service_name: &'a str,
    /// What the adapter put in the quote's [`crate::Quote::remote`] (a provider's ids).
    pub remote: Option<&'a Value>,
}

/// A request to buy a label.
pub struct PurchaseRequest<'a> {
    pub shipment: &'a ShipmentSpec,
    pub rate: BoughtRate<'a>,
    pub format: LabelFormat,
    /// Stable for one purchase: every retry of it sends the same key, so a provider never sells
    /// the label twice.
    pub idempotency_key: &'a str,
    /// What a label Consign prints shows (adapters that render labels themselves fill in the
    /// tracking number); remote adapters ignore it.
    pub sheet: &'a LabelData,
    /// The commercial invoice to print (international shipments with a declaration), likewise.
    pub invoice: Option<&'a InvoiceData>,
    pub serials: &'a dyn Serials,
}

/// A bought label.
#[derive(Debug, Clone, PartialEq)]
pub struct Purchased {
    pub tracking_number: String,
    pub label: Document,
    pub invoice: Option<Document>,
    /// The carrier's own tracking page, when it has one.
    pub tracking_url_provider: Option<String>,
    pub eta: Option<Timestamp>,
    /// The provider's ids (shipment, tracker, transaction), kept with the label for refunds
    /// and tracking.
    pub remote: Option<Value>,
    pub messages: Vec<Message>,
    /// Whether Consign should follow the label by polling [`crate::Carrier::track`] (remote
    /// carriers); labels whose carrier pushes scans to Consign are not polled.
    pub follow: bool,
}

/// A label to refund.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundRequest<'a> {
    pub tracking_number: &'a str,
    pub remote: Option<&'a Value>,
}

/// Where a refund stands at the carrier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundState {
    /// Accepted, not settled yet: ask again later.
    Pending,
    Refunded,
    Rejected(String),
}

/// A label or number to follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackRequest<'a> {
    pub tracking_number: &'a str,
    /// The label's [`Purchased::remote`], when Consign sold it.
    pub remote: Option<&'a Value>,
    /// When Consign started following it (test numbers play their script from here).
    pub since: Timestamp,
}

/// A carrier's tracking answer.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TrackAnswer {
    /// The whole history as the carrier tells it (Consign keeps the events it lacks).
    pub events: Vec<TrackEvent>,
    pub eta: Option<Timestamp>,
}

/// One parcel's news in a pushed event.
#[derive(Debug, Clone, PartialEq)]
pub struct PushedTrack {
    pub tracking_number: String,
    pub answer: TrackAnswer,
}

/// Why a pushed event was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PushError {
    /// No signature, or one that does not verify: nothing may change.
    #[error("the signature is missing or does not verify")]
    Unauthenticated,
    /// Signed, but not an event Consign can read.
    #[error("{0}")]
    Malformed(String),
}

/// An inbound request as received: the headers (lower-case names) and the raw body.
pub struct Inbound<'a> {
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
    /// Now, in Unix seconds (for signature timestamps).
    pub now_s: i64,
}

impl Inbound<'_> {
    /// A header's value by lower-case name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A service level an adapter offers.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct ServiceLevel {
    pub token: String,
    pub name: String,
}
