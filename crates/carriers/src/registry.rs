//! The carriers Consign knows, in one compile-time list: each entry's metadata, how its
//! parameters are checked, and how an account's adapter is built. Adding a carrier is one
//! module and one line in [`ENTRIES`].

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::rate_card::{RateCard, RateCardCarrier};
use crate::{
    easypost, http, rate_card, shippo_upstream, test_carrier, test_tracking, Carrier, CarrierError,
    CarrierMeta, ServiceLevel, TrackAnswer,
};

/// What building an account's adapter may use.
pub struct AccountContext<'a> {
    /// The Consign carrier account's id (names its tracking-number series).
    pub id: &'a str,
    /// Its decrypted parameters.
    pub parameters: &'a Map<String, Value>,
    /// Its current rate card (accounts whose carrier takes one, once uploaded).
    pub card: Option<Arc<RateCard>>,
    /// The shared outbound client.
    pub http: &'a http::Client,
}

/// Field errors as `(field, message)`.
pub type ParameterErrors = Vec<(String, String)>;

struct Entry {
    meta: fn() -> &'static CarrierMeta,
    /// Field errors of an account's parameters (test account or not; URLs by the guard), as
    /// `(field, message)`.
    check: fn(&Map<String, Value>, bool, http::Guard) -> ParameterErrors,
    build: fn(AccountContext<'_>) -> Result<Box<dyn Carrier>, CarrierError>,
    /// The services every account of the carrier offers (empty: they depend on the account).
    levels: fn() -> Vec<ServiceLevel>,
    /// The headers its pushed events are signed in (lower case; none: it pushes nothing).
    signature_headers: &'static [&'static str],
}

fn no_parameters(_: &Map<String, Value>, _: bool, _: http::Guard) -> Vec<(String, String)> {
    Vec::new()
}

fn none() -> Vec<ServiceLevel> {
    Vec::new()
}

static ENTRIES: [Entry; 4] = [
    Entry {
        meta: rate_card::meta,
        check: no_parameters,
        build: |ctx| {
            match ctx.card {
            Some(card) => Ok(Box::new(RateCardCarrier {
                card,
                series: ctx.id.to_string(),
            })),
            None => Err(CarrierError::Rejected(format!(
                "Carrier account {} has no rate card yet; upload one at /carrier_accounts/{}/rate_card.",
                ctx.id, ctx.id
            ))),
        }
        },
        levels: none,
        signature_headers: &[],
    },
    Entry {
        meta: test_carrier::meta,
        check: no_parameters,
        build: |_| Ok(Box::new(test_carrier::TestCarrier)),
        levels: || test_carrier::service_levels(test_carrier::TestCarrier::card()),
        signature_headers: &[],
    },
    Entry {
        meta: easypost::meta,
        check: |p, test, guard| crate::upstream::check_parameters(p, test, guard, ("EZTK", "EZAK")),
        build: |ctx| {
            Ok(Box::new(easypost::EasyPost::new(
                ctx.parameters,
                ctx.http.clone(),
            )?))
        },
        levels: easypost::service_levels,
        signature_headers: easypost::SIGNATURE_HEADERS,
    },
    Entry {
        meta: shippo_upstream::meta,
        check: |p, test, guard| {
            crate::upstream::check_parameters(p, test, guard, ("shippo_test_", "shippo_live_"))
        },
        build: |ctx| {
            Ok(Box::new(shippo_upstream::ShippoUpstream::new(
                ctx.parameters,
                ctx.http.clone(),
            )?))
        },
        levels: easypost::service_levels,
        signature_headers: shippo_upstream::SIGNATURE_HEADERS,
    },
];

fn entry(id: &str) -> Option<&'static Entry> {
    ENTRIES.iter().find(|e| (e.meta)().id == id)
}

/// Every carrier an account can be created for.
pub fn all() -> Vec<&'static CarrierMeta> {
    ENTRIES.iter().map(|e| (e.meta)()).collect()
}

/// A carrier by its token.
pub fn find(id: &str) -> Option<&'static CarrierMeta> {
    entry(id).map(|e| (e.meta)())
}

/// Field errors of `parameters` for an account of `carrier` (unknown carriers have none here:
/// the carrier itself is refused); URLs must be ones `guard` lets Consign call.
pub fn check_parameters(
    carrier: &str,
    parameters: &Map<String, Value>,
    test: bool,
    guard: http::Guard,
) -> Vec<(String, String)> {
    entry(carrier).map_or_else(Vec::new, |e| (e.check)(parameters, test, guard))
}

/// The adapter of one carrier account.
pub fn build(carrier: &str, ctx: AccountContext<'_>) -> Result<Box<dyn Carrier>, CarrierError> {
    match entry(carrier) {
        Some(e) => (e.build)(ctx),
        None => Err(CarrierError::Rejected(format!(
            "Carrier {carrier} is not supported by this version of Consign."
        ))),
    }
}

/// The fixed service levels of `carrier` (for the carriers list).
pub fn service_levels(carrier: &str) -> Vec<ServiceLevel> {
    entry(carrier).map_or_else(Vec::new, |e| (e.levels)())
}

/// Whether a request carries any carrier's signature header (`headers` lower-case names): an
/// unsigned push is refused before anything is looked up.
pub fn carries_signature(headers: &[(String, String)]) -> bool {
    ENTRIES
        .iter()
        .flat_map(|e| e.signature_headers.iter())
        .any(|h| headers.iter().any(|(k, _)| k == h))
}

/// The carrier whose account every Consign account gets in test mode (Shippo's test carrier).
pub fn test_mode_carrier() -> &'static CarrierMeta {
    test_carrier::meta()
}

/// The carrier of the demo account's courier.
pub fn demo_carrier() -> &'static CarrierMeta {
    rate_card::meta()
}

/// A scripted history for `number`, when `carrier` plays one without being asked (Shippo's test
/// numbers `SHIPPO_TRANSIT`, …, answer at once on `GET /tracks` and `POST /tracks`).
pub fn scripted_history(
    carrier: &str,
    number: &str,
    anchor: domain::Timestamp,
) -> Option<TrackAnswer> {
    (carrier == test_carrier::meta().id)
        .then(|| test_tracking::history(number, anchor))
        .flatten()
        .map(|(events, eta)| TrackAnswer { events, eta })
}

/// Whether `number` of `carrier` is scripted (see [`scripted_history`]).
pub fn is_scripted(carrier: &str, number: &str) -> bool {
    carrier == test_carrier::meta().id && test_tracking::status_of(number).is_some()
}

/// Whether accounts of `carrier` sell several real carriers' labels (upstream providers, the
/// test-mode carrier), so they enable every carrier's parcel templates.
pub fn sells_many(carrier: &str) -> bool {
    carrier == test_mode_carrier().id
        || find(carrier).is_some_and(|m| m.can(crate::Capability::PaidPostage))
}
