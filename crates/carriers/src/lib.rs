//! Carrier adapters. Every carrier implements [`Carrier`] and declares what it can do
//! ([`Capability`]); nothing outside this crate knows a carrier's own API, price list format or
//! token. An operation an adapter lacks answers [`CarrierError::NotSupported`].
//!
//! Adapters: [`rate_card`], a carrier whose prices are a user-defined rate card (the regional
//! courier of seed 001), rated and labelled in-process; [`test_carrier`], Shippo's test-mode
//! carrier; [`easypost`] and [`shippo_upstream`], the user's own EasyPost or Shippo account
//! (every big carrier through one provider), over the shared [`http`] client. Adding a carrier is
//! one module here and one line in [`registry`].

pub mod catalogue;
pub use documents::{Document, LabelData, LabelFormat};
pub mod easypost;
pub mod http;
mod local;
mod port;
pub mod rate_card;
pub mod registry;
mod shipment;
pub mod shippo_upstream;
pub mod test_carrier;
pub mod test_tracking;
mod upstream;

pub use port::{
    BoughtRate, CarrierFuture, Inbound, PurchaseRequest, Purchased, PushError, PushedTrack,
    RefundRequest, RefundState, Serials, ServiceLevel, TrackAnswer, TrackRequest,
};
pub use shipment::{
    ChargeLine, Customs, Location, Message, Options, ParcelSpec, Quote, RateResult, ShipmentSpec,
};

/// Operations a carrier adapter may support.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Capability {
    /// Prices shipments.
    Rates,
    /// Sells labels.
    Labels,
    /// Answers tracking questions when asked (polled).
    Tracking,
    /// Pushes tracking events to Consign (inbound webhooks, signed).
    TrackingPush,
    /// The carrier's own staff post scans to Consign with scan keys (a courier without an API).
    ScanEvents,
    /// Takes back unused labels.
    Refunds,
    /// Consign closes out its labels on a manifest.
    Manifests,
    /// Checks addresses.
    AddressValidation,
    /// Prices from a rate card the user uploads.
    RateCard,
    /// Consign makes its labels itself (its own tracking numbers, drawn by `documents`): no
    /// carrier or provider checks the addresses printed on them, so Consign refuses to print an
    /// INVALID recipient address. Upstream providers lack it: they validate what they sell.
    PrintsLabels,
    /// Its labels are postage bought with the user's money (an upstream provider's live
    /// account): test-mode tokens never use its live accounts.
    PaidPostage,
}

/// What the API needs to know about a carrier without calling it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CarrierMeta {
    /// Shippo-style carrier token (`"shippo"`, `"ratecard"`, …).
    pub id: &'static str,
    /// Human name.
    pub name: &'static str,
    pub capabilities: &'static [Capability],
}

impl CarrierMeta {
    /// Whether the carrier supports `c`.
    pub fn can(&self, c: Capability) -> bool {
        self.capabilities.contains(&c)
    }
}

/// Why a carrier did not do what was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CarrierError {
    /// The adapter lacks the operation (it does not declare the capability).
    #[error("{carrier} does not support {}.", .operation.as_str().replace('_', " "))]
    NotSupported {
        /// The carrier's name.
        carrier: &'static str,
        operation: Capability,
    },
    /// The carrier answered and refused (bad request, refused credentials, no such rate): retrying
    /// the same request cannot help. The text is the carrier's, fit to show the user.
    #[error("{0}")]
    Rejected(String),
    /// The carrier could not be reached or failed (timeouts, 5xx, 429 after the retries): a later
    /// retry may succeed.
    #[error("{0}")]
    Unavailable(String),
}

impl CarrierError {
    /// The "not supported" answer of `meta` for `operation`.
    pub fn unsupported(meta: &CarrierMeta, operation: Capability) -> Self {
        CarrierError::NotSupported {
            carrier: meta.name,
            operation,
        }
    }
}

/// What [`Carrier::rates`] returns.
pub type RateFuture<'a> = CarrierFuture<'a, RateResult>;

/// A carrier adapter: one per carrier account, built by [`registry::build`].
pub trait Carrier: Send + Sync {
    /// Id, name and capabilities.
    fn meta(&self) -> &CarrierMeta;
    /// The name rates show as their `provider` (e.g. `USPS`, or a rate card's name); upstream
    /// providers name each quote's carrier in [`Quote::provider`].
    fn provider(&self) -> &str;
    /// The currency its prices are in (insured values are converted into it before rating).
    fn currency(&self) -> &str {
        "USD"
    }
    /// Prices a shipment: one quote per service that can carry it, and messages for those that
    /// cannot (never a silent omission). Callers bound it with a timeout.
    fn rates<'a>(&'a self, shipment: &'a ShipmentSpec) -> RateFuture<'a>;
    /// Buys the label of a quote this adapter gave.
    fn purchase<'a>(&'a self, request: PurchaseRequest<'a>) -> CarrierFuture<'a, Purchased> {
        let _ = request;
        Box::pin(std::future::ready(Err(CarrierError::unsupported(
            self.meta(),
            Capability::Labels,
        ))))
    }
    /// Asks for an unused label's money back (or how an earlier request stands).
    fn refund<'a>(&'a self, request: RefundRequest<'a>) -> CarrierFuture<'a, RefundState> {
        let _ = request;
        Box::pin(std::future::ready(Err(CarrierError::unsupported(
            self.meta(),
            Capability::Refunds,
        ))))
    }
    /// A parcel's tracking, asked now (polling).
    fn track<'a>(&'a self, request: TrackRequest<'a>) -> CarrierFuture<'a, TrackAnswer> {
        let _ = request;
        Box::pin(std::future::ready(Err(CarrierError::unsupported(
            self.meta(),
            Capability::Tracking,
        ))))
    }
    /// Reads a pushed tracking event after checking its signature over the raw body.
    fn pushed(&self, inbound: &Inbound<'_>) -> Result<Vec<PushedTrack>, PushError> {
        let _ = inbound;
        Err(PushError::Unauthenticated)
    }
    /// The services the account offers.
    fn service_levels(&self) -> Vec<ServiceLevel> {
        Vec::new()
    }
}
