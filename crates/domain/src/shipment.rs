//! Shipments and the rates they produce (seed 002 "Shipments", "Rates").
//!
//! A shipment references stored addresses and parcels by id; a rate is the price of one service
//! of one carrier account for one shipment, fixed when it was priced (a later rate card never
//! changes it).

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::address::Purpose;
use crate::rate_attributes::Attribute;
use crate::{ObjectId, Timestamp};

/// Where rate generation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShipmentStatus {
    /// Submitted, not yet picked up by a worker.
    Waiting,
    /// Rates are being computed by a background job.
    Queued,
    /// Rate generation has concluded (possibly with no rates and messages saying why).
    Success,
    /// Rate generation gave up after its retries.
    Error,
}
wire_enum!(ShipmentStatus { Waiting => "WAITING", Queued => "QUEUED", Success => "SUCCESS", Error => "ERROR" });

/// A message about a shipment or rate: who said it, a stable code, and a sentence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    pub source: String,
    pub code: String,
    pub text: String,
}

/// A stored shipment.
#[derive(Debug, Clone, PartialEq)]
pub struct Shipment {
    pub id: ObjectId,
    pub created: Timestamp,
    pub updated: Timestamp,
    pub test: bool,
    pub status: ShipmentStatus,
    /// QUOTE when either address is a quote address: such a shipment's rates cannot be bought.
    pub purpose: Purpose,
    pub address_from: ObjectId,
    pub address_to: ObjectId,
    pub address_return: Option<ObjectId>,
    /// One or more parcels, in the order given.
    pub parcels: Vec<ObjectId>,
    /// When the parcels will be tendered to the carrier.
    pub shipment_date: Timestamp,
    /// The carrier accounts asked for; empty = every active one.
    pub carrier_accounts: Vec<ObjectId>,
    /// Its customs declaration (international shipments).
    pub customs_declaration: Option<ObjectId>,
    /// The `extra` object as sent, after [`crate::shipment_extra::parse_shipment_extra`]
    /// accepted it (answered back as sent).
    pub extra: Value,
    /// What it asks for, checked: what rating and labels read.
    pub extras: crate::shipment_extra::ShipmentExtra,
    pub metadata: String,
    pub messages: Vec<Note>,
}

/// An amount in a currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Money {
    pub amount: Decimal,
    pub currency: String,
}

/// Everything a rate says, fixed when it was priced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateDetails {
    /// Only a PURCHASE rate can be bought.
    pub quote_only: bool,
    /// The carrier adapter's token (`ratecard`, `shippo`).
    pub carrier: String,
    /// Who offers it, as rates show it (`USPS`, a rate card's name).
    pub provider: String,
    pub service_token: String,
    pub service_name: String,
    pub service_terms: String,
    pub days: Option<u32>,
    pub zone: String,
    /// In the sender's country's currency (the carrier's own currency when no exchange rate is
    /// known for it).
    pub amount: Money,
    /// In the recipient's country's currency (same fallback).
    pub amount_local: Money,
    /// As the carrier priced it, in its own currency.
    pub quoted: Money,
    /// The carrier's unrounded components of `quoted` (`base`, `fuel`, …).
    pub lines: Vec<(String, Decimal)>,
    pub trackable: bool,
    /// The value insured, when insurance was asked for and the service includes it.
    pub insured: Option<Money>,
    /// What the insurance adds to `amount`, in `amount`'s currency.
    pub insurance_price: Option<Decimal>,
    /// The rate-card version that priced it (rate-card carriers only).
    pub card_version: Option<i64>,
    pub attributes: Vec<Attribute>,
    pub messages: Vec<Note>,
    /// What the carrier adapter needs to buy it (an upstream provider's shipment and rate ids).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote: Option<Value>,
}

/// A stored rate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rate {
    pub id: ObjectId,
    pub created: Timestamp,
    pub test: bool,
    pub shipment: ObjectId,
    pub carrier_account: ObjectId,
    pub details: RateDetails,
}

/// The purpose of a shipment between two addresses: QUOTE if either is a quote address.
pub fn purpose_of(from: Purpose, to: Purpose) -> Purpose {
    if from == Purpose::Purchase && to == Purpose::Purchase {
        Purpose::Purchase
    } else {
        Purpose::Quote
    }
}

/// The seed's date-range filters of `GET /shipments` (creation time, milliseconds).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CreatedFilter {
    pub gt: Option<i64>,
    pub gte: Option<i64>,
    pub lt: Option<i64>,
    pub lte: Option<i64>,
}
