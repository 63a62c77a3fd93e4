//! A carrier defined by a rate card: services, zones, weight brackets with a per-step price above
//! the last bracket, dimensional weight, limits and surcharges, all decimal.
//!
//! Zones are chosen by specificity: a rule matches when both its origin and destination places
//! match; a place matching by postal code beats one matching by region (state), which beats
//! country, which beats "anywhere". The destination weighs more than the origin. Among equally
//! specific rules the one listed first wins. This expresses country zones, regional zones, and
//! origin × destination charts (USPS-style ZIP3 zones: one rule per origin prefix × destination
//! prefix).

mod csv;
mod format;
mod rate;
pub mod tracking;

use domain::units::{DistanceUnit, MassUnit};
use rust_decimal::Decimal;

pub use csv::{parse_csv, to_csv};
pub use format::{parse_json, to_json, CardError};
pub use rate::rate_shipment;
pub use tracking::{CheckDigit, TrackingFormat};

use std::sync::Arc;

use crate::{
    local, Capability, Carrier, CarrierFuture, CarrierMeta, PurchaseRequest, Purchased, RateFuture,
    RefundRequest, RefundState, ServiceLevel, ShipmentSpec,
};

/// A validated rate card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateCard {
    pub name: String,
    /// ISO 4217 code every price is in.
    pub currency: String,
    /// The unit weights and brackets are expressed in.
    pub mass_unit: MassUnit,
    /// The unit dimensions and size limits are expressed in.
    pub distance_unit: DistanceUnit,
    pub services: Vec<Service>,
    pub zones: Vec<Zone>,
    pub surcharges: Vec<Surcharge>,
    /// The tracking numbers its labels carry.
    pub tracking: TrackingFormat,
}

/// A service level of the card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    pub token: String,
    pub name: String,
    pub terms: String,
    pub transit_days: Option<u32>,
    pub trackable: bool,
    /// Whether the service may carry insured parcels.
    pub insurance: bool,
    /// Dimensional-weight divisor (volume in the card's distance unit cubed ÷ divisor = weight
    /// in the card's mass unit); `None` = priced by actual weight only.
    pub dim_divisor: Option<Decimal>,
    pub max_weight: Option<Decimal>,
    /// Longest side.
    pub max_length: Option<Decimal>,
    /// Length + 2 × width + 2 × height, with length the longest side.
    pub max_length_plus_girth: Option<Decimal>,
    /// Prices per zone id.
    pub prices: Vec<ZonePrices>,
}

/// Weight brackets of one service in one zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZonePrices {
    pub zone: String,
    /// Ascending by `max_weight`; a parcel takes the first bracket it fits.
    pub brackets: Vec<Bracket>,
    /// Above the last bracket: this price per started `per` units of weight; `None` = no rate above it.
    pub step: Option<Step>,
}

/// Up to `max_weight` (inclusive) costs `price`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bracket {
    pub max_weight: Decimal,
    pub price: Decimal,
}

/// `price` for every started `per` units of weight above the last bracket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    pub per: Decimal,
    pub price: Decimal,
}

/// A zone: an id and the origin × destination rules that lead to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Zone {
    pub id: String,
    pub name: String,
    pub rules: Vec<ZoneRule>,
}

/// Parcels from `origin` to `destination` are in this zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneRule {
    pub origin: Place,
    pub destination: Place,
}

/// A set of locations: a country (or any, when empty), optionally narrowed to regions (state
/// codes) or postal codes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Place {
    /// ISO code; empty = any country.
    pub country: String,
    pub regions: Vec<String>,
    pub postal: Vec<PostalMatch>,
}

/// A postal-code pattern, compared on the upper-cased code without spaces or dashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PostalMatch {
    /// Codes starting with this (e.g. `"941"` for ZIP3 941).
    Prefix(String),
    /// Codes whose first `from.len()` characters lie in `from..=to` (e.g. `"1000"`–`"1999"`).
    Range { from: String, to: String },
}

/// An extra charge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Surcharge {
    pub code: String,
    pub name: String,
    pub when: Condition,
    /// Service tokens it applies to; empty = all.
    pub services: Vec<String>,
}

/// How much a surcharge adds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Amount {
    /// This much per parcel.
    Fixed(Decimal),
    /// This percentage of the parcel's base price (of the declared value, for insurance bands).
    Percent(Decimal),
}

/// When a surcharge applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// Always (e.g. fuel).
    Always(Amount),
    /// The recipient address is residential.
    Residential(Amount),
    /// The destination is one of these places (remote or extended areas).
    Remote(Amount, Vec<Place>),
    /// A signature is requested.
    Signature(Amount),
    /// Saturday delivery is requested.
    SaturdayDelivery(Amount),
    /// A value is declared for insurance: the first band whose `max_value` covers it.
    Insurance(Vec<InsuranceBand>),
}

/// Insurance price for declared values up to `max_value`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InsuranceBand {
    pub max_value: Decimal,
    pub amount: Amount,
}

fn normalise_postal(zip: &str) -> String {
    zip.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

impl PostalMatch {
    fn matches(&self, zip: &str) -> bool {
        match self {
            PostalMatch::Prefix(p) => zip.starts_with(p.as_str()),
            PostalMatch::Range { from, to } => {
                zip.len() >= from.len() && {
                    let head = &zip[..from.len()];
                    head >= from.as_str() && head <= to.as_str()
                }
            }
        }
    }
}

impl Place {
    /// How specifically this place matches a location: `None` if it does not, else 0 (any
    /// country) … 3 (postal code).
    pub fn specificity(&self, country: &str, state: &str, zip: &str) -> Option<u8> {
        if self.country.is_empty() {
            return Some(0);
        }
        if self.country != country {
            return None;
        }
        if !self.postal.is_empty() {
            let zip = normalise_postal(zip);
            return self.postal.iter().any(|p| p.matches(&zip)).then_some(3);
        }
        if !self.regions.is_empty() {
            return self
                .regions
                .iter()
                .any(|r| r.eq_ignore_ascii_case(state))
                .then_some(2);
        }
        Some(1)
    }
}

impl RateCard {
    /// The zone of a shipment from `from` to `to`, by the rules in the module documentation.
    pub fn zone_for(&self, from: &crate::Location, to: &crate::Location) -> Option<&Zone> {
        let mut best: Option<(u8, &Zone)> = None;
        for zone in &self.zones {
            for rule in &zone.rules {
                let (Some(o), Some(d)) = (
                    rule.origin
                        .specificity(&from.country, &from.state, &from.zip),
                    rule.destination
                        .specificity(&to.country, &to.state, &to.zip),
                ) else {
                    continue;
                };
                let score = d * 4 + o;
                if best.is_none_or(|(s, _)| score > s) {
                    best = Some((score, zone));
                }
            }
        }
        best.map(|(_, z)| z)
    }
}

static META: CarrierMeta = CarrierMeta {
    id: "ratecard",
    name: "Rate card",
    capabilities: &[
        Capability::Rates,
        Capability::Labels,
        Capability::ScanEvents,
        Capability::Refunds,
        Capability::Manifests,
        Capability::RateCard,
        Capability::PrintsLabels,
    ],
};

/// What the rate-card carrier is and can do.
pub fn meta() -> &'static CarrierMeta {
    &META
}

/// The rate-card carrier for one uploaded card (shared: cards are cached by version).
#[derive(Debug, Clone)]
pub struct RateCardCarrier {
    pub card: Arc<RateCard>,
    /// The series its tracking numbers are drawn from (one per carrier account).
    pub series: String,
}

impl Carrier for RateCardCarrier {
    fn meta(&self) -> &CarrierMeta {
        &META
    }

    fn provider(&self) -> &str {
        &self.card.name
    }

    fn currency(&self) -> &str {
        &self.card.currency
    }

    fn rates<'a>(&'a self, shipment: &'a ShipmentSpec) -> RateFuture<'a> {
        Box::pin(std::future::ready(Ok(rate_shipment(&self.card, shipment))))
    }

    fn purchase<'a>(&'a self, request: PurchaseRequest<'a>) -> CarrierFuture<'a, Purchased> {
        Box::pin(async move {
            let serial = request.serials.next(&self.series).await?;
            local::make(&request, self.card.tracking.format(serial))
        })
    }

    fn refund<'a>(&'a self, _: RefundRequest<'a>) -> CarrierFuture<'a, RefundState> {
        // The courier bills only labels it carries: an unused label is void at once.
        Box::pin(std::future::ready(Ok(RefundState::Refunded)))
    }

    fn service_levels(&self) -> Vec<ServiceLevel> {
        crate::test_carrier::service_levels(&self.card)
    }
}
