//! The carrier-neutral description of a shipment that adapters price, and what they answer.

use domain::address::AddressFields;
use domain::customs::{CustomsDeclaration, CustomsItem};
use domain::units::{DistanceUnit, MassUnit};
use rust_decimal::Decimal;
use serde_json::Value;

/// Where a parcel leaves from or goes to, as far as pricing cares.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Location {
    /// ISO 3166-1 alpha-2, upper-case.
    pub country: String,
    /// State/province code, upper-case (may be empty).
    pub state: String,
    /// Postal code as entered (may be empty).
    pub zip: String,
    pub residential: bool,
    /// The whole address (names, streets, phone, email): what labels and upstream providers
    /// need; rating reads the fields above.
    pub address: AddressFields,
}

/// One parcel's size and weight in its own units.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParcelSpec {
    pub length: Decimal,
    pub width: Decimal,
    pub height: Decimal,
    pub distance_unit: DistanceUnit,
    pub weight: Decimal,
    pub mass_unit: MassUnit,
}

/// Options that may cost extra.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    pub signature: bool,
    pub saturday_delivery: bool,
    /// Declared value to insure, in the carrier's currency.
    pub insured_value: Option<Decimal>,
}

/// A shipment to price.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShipmentSpec {
    pub from: Location,
    pub to: Location,
    /// One or more parcels (multi-piece shipments are priced per piece and summed).
    pub parcels: Vec<ParcelSpec>,
    pub options: Options,
    /// The customs declaration with its items (international shipments that have one).
    pub customs: Option<Customs>,
    /// The shipment's own reference (its metadata), passed to providers that keep one.
    pub reference: String,
}

/// A customs declaration and its items.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Customs {
    pub declaration: CustomsDeclaration,
    pub items: Vec<CustomsItem>,
}

/// A priced component of a quote (`base`, `fuel`, `residential`, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChargeLine {
    pub code: String,
    pub amount: Decimal,
}

/// A message from a carrier: its code and text are kept as given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The service it concerns, if any.
    pub service: Option<String>,
    pub code: String,
    pub text: String,
}

/// The price of one service for a shipment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quote {
    pub service_token: String,
    pub service_name: String,
    pub terms: String,
    pub days: Option<u32>,
    pub zone: String,
    /// Total, rounded to the currency's minor unit.
    pub amount: Decimal,
    pub currency: String,
    /// Unrounded components; they sum to `amount` before rounding.
    pub lines: Vec<ChargeLine>,
    pub trackable: bool,
    /// What insuring the declared value adds (included in `amount`), when it was asked for.
    pub insurance: Option<Decimal>,
    /// The carrier that carries it, when not the adapter's [`crate::Carrier::provider`] (an
    /// upstream provider's USPS or UPS).
    pub provider: Option<String>,
    /// What the adapter needs to buy it later (a provider's shipment and rate ids, its raw
    /// service name); kept with the rate as given.
    pub remote: Option<Value>,
}

/// Quotes plus messages about services that could not quote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RateResult {
    pub quotes: Vec<Quote>,
    pub messages: Vec<Message>,
}
