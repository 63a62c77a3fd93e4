//! Carrier adapters. Every carrier implements [`Carrier`] and declares what it can do; nothing
//! outside this crate knows a carrier's own API or price list format.
//!
//! Adapters so far: [`rate_card`], a carrier whose prices are a user-defined rate card (the
//! regional courier of seed 001), rated entirely in-process; and [`test_carrier`], Shippo's
//! test-mode carrier with fixed prices.

pub mod catalogue;
pub mod rate_card;
pub mod registry;
mod shipment;
pub mod test_carrier;
pub mod test_tracking;

use std::future::Future;
use std::pin::Pin;

pub use shipment::{
    ChargeLine, Location, Message, Options, ParcelSpec, Quote, RateResult, ShipmentSpec,
};

/// Operations a carrier adapter may support.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Capability {
    Rates,
    Labels,
    Tracking,
    Refunds,
    Manifests,
    AddressValidation,
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

/// A carrier that could not answer at all (network down, credentials refused, …). Services it
/// merely cannot offer are [`Message`]s in a [`RateResult`], not errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CarrierError(pub String);

/// What [`Carrier::rates`] returns: a future, so adapters that call a remote API can await it
/// while in-process ones answer at once.
pub type RateFuture<'a> =
    Pin<Box<dyn Future<Output = Result<RateResult, CarrierError>> + Send + 'a>>;

/// A carrier adapter.
pub trait Carrier: Send + Sync {
    /// Id, name and capabilities.
    fn meta(&self) -> &CarrierMeta;
    /// The name rates show as their `provider` (e.g. `USPS`, or a rate card's name).
    fn provider(&self) -> &str;
    /// Prices a shipment: one quote per service that can carry it, and messages for those that
    /// cannot (never a silent omission). Callers bound it with a timeout.
    fn rates<'a>(&'a self, shipment: &'a ShipmentSpec) -> RateFuture<'a>;
}
