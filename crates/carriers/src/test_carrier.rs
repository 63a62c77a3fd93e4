//! The `shippo` test carrier: Shippo's test mode, so a test token gets rates with no
//! configuration. Prices are fixed and predictable (`data/test-carrier.json`), priced by the
//! same engine as rate cards:
//!
//! | service | domestic US | international |
//! |---|---|---|
//! | `usps_ground_advantage` | 5.00 USD up to 1 lb, +1.00 per started lb | — |
//! | `usps_priority` | 8.00 + 1.50/lb (dim divisor 166) | 40.00 + 5.00/lb |
//! | `usps_priority_express` | 25.00 + 3.00/lb (dim divisor 166) | 60.00 + 8.00/lb |
//!
//! plus 3.00 for a signature and 1 % of a declared value.

use std::sync::LazyLock;

use crate::rate_card::{parse_json, rate_shipment, RateCard};
use crate::{
    local, test_tracking, Capability, Carrier, CarrierError, CarrierFuture, CarrierMeta,
    PurchaseRequest, Purchased, RateFuture, RefundRequest, RefundState, ServiceLevel, ShipmentSpec,
    TrackAnswer, TrackRequest,
};

/// Prefix of the test carrier's numbers: Shippo's test labels carry USPS-style 26-digit numbers.
const TRACKING_PREFIX: &str = "92055901755477";

/// The test carrier's one series, shared by every account so no two accounts' test labels
/// carry the same number.
const SERIES: &str = "test_carrier";

static CARD: LazyLock<RateCard> = LazyLock::new(|| {
    parse_json(include_str!("../data/test-carrier.json"))
        .expect("the bundled test-carrier card is valid")
});

static META: CarrierMeta = CarrierMeta {
    id: "shippo",
    name: "Shippo (test)",
    capabilities: &[
        Capability::Rates,
        Capability::Labels,
        Capability::Tracking,
        Capability::Refunds,
        Capability::Manifests,
        Capability::PrintsLabels,
    ],
};

/// What the test carrier is and can do.
pub fn meta() -> &'static CarrierMeta {
    &META
}

/// Shippo's test-mode carrier.
#[derive(Debug, Clone, Copy, Default)]
pub struct TestCarrier;

impl TestCarrier {
    /// The fixed card behind the test carrier's prices.
    pub fn card() -> &'static RateCard {
        &CARD
    }
}

impl Carrier for TestCarrier {
    fn meta(&self) -> &CarrierMeta {
        &META
    }

    fn provider(&self) -> &str {
        "USPS"
    }

    fn currency(&self) -> &str {
        &CARD.currency
    }

    fn rates<'a>(&'a self, shipment: &'a ShipmentSpec) -> RateFuture<'a> {
        Box::pin(std::future::ready(Ok(rate_shipment(&CARD, shipment))))
    }

    fn purchase<'a>(&'a self, request: PurchaseRequest<'a>) -> CarrierFuture<'a, Purchased> {
        Box::pin(async move {
            let serial = request.serials.next(SERIES).await?;
            local::make(&request, format!("{TRACKING_PREFIX}{serial:012}"))
        })
    }

    fn refund<'a>(&'a self, _: RefundRequest<'a>) -> CarrierFuture<'a, RefundState> {
        // Test labels cost nothing: every unused one is refunded.
        Box::pin(std::future::ready(Ok(RefundState::Refunded)))
    }

    fn track<'a>(&'a self, request: TrackRequest<'a>) -> CarrierFuture<'a, TrackAnswer> {
        let answer = test_tracking::history(request.tracking_number, request.since)
            .map(|(events, eta)| TrackAnswer { events, eta })
            .ok_or_else(|| {
                CarrierError::Rejected(format!(
                    "{} is not a Shippo test number (SHIPPO_TRANSIT, SHIPPO_DELIVERED, …).",
                    request.tracking_number
                ))
            });
        Box::pin(std::future::ready(answer))
    }

    fn service_levels(&self) -> Vec<ServiceLevel> {
        service_levels(&CARD)
    }
}

/// A card's services as service levels.
pub(crate) fn service_levels(card: &RateCard) -> Vec<ServiceLevel> {
    card.services
        .iter()
        .map(|s| ServiceLevel {
            token: s.token.clone(),
            name: s.name.clone(),
        })
        .collect()
}

/// The demo rate card seeded into the demo account on first start (`data/demo-card.json`):
/// US zones by state (local, west, national), Canada/Mexico, Europe and the rest of the world.
pub fn demo_card() -> RateCard {
    parse_json(include_str!("../data/demo-card.json")).expect("the bundled demo card is valid")
}
