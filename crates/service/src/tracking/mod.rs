//! Tracking (seed 002 "Tracking Status", seed 001's status updates): tracks, courier scan
//! events, Shippo's test numbers and the poller, one module each: [`scans`] (courier uploads),
//! [`effects`] (what a change causes), [`tracks`] (registration, lookups, the public page) and
//! [`poller`]; checking a scan is pure and lives in `domain::tracking::scan`.
//!
//! Every change to a track — scans from a courier, a test number registered, a poll that found
//! news — goes through [`apply`], inside one database transaction: the new events, the track's
//! new status, a `track_updated` delivery for each subscribed webhook and, when the parcel first
//! moves or arrives, the buyer's email (once per parcel and kind). So a change and everything
//! it must cause are kept or lost together.

mod effects;
mod poller;
mod pushed;
mod scans;
mod tracks;

pub use poller::{poll_due, run_poller};
pub use pushed::{pushed, PushOutcome};
pub use scans::{ingest, ScanOutcome, MAX_BATCH};
pub(crate) use tracks::followed;
pub use tracks::{emails_of, get, of_transactions, public, public_path, register, PublicTrack};

use std::time::Duration;

use domain::tracking::Track;

/// How the wire shows the objects webhooks carry (implemented by the HTTP layer, so a payload
/// is exactly what `GET /tracks` or `GET /transactions/{id}` answers).
pub trait Wire: Send + Sync {
    /// The Track object; `transaction` is shown to its owner only.
    fn track(&self, track: &Track, show_transaction: bool) -> serde_json::Value;
    /// The Transaction object (current shape), its file links signed with `cipher` under
    /// `base`, owned by the account named `owner`.
    fn transaction(
        &self,
        cipher: &crate::Cipher,
        base: &str,
        owner: &str,
        t: &domain::transaction::Transaction,
    ) -> serde_json::Value;
    /// The Order object, owned by the account named `owner`.
    fn order(&self, owner: &str, view: &crate::orders::OrderView) -> serde_json::Value;
    /// Reads a Shippo shipment request kept as sent (a batch's inline shipments are stored so
    /// and read when the batch is validated), so the wire format stays in the HTTP layer.
    fn shipment_request(
        &self,
        raw: &serde_json::Value,
    ) -> Result<crate::shipments::CreateShipment, domain::ValidationError>;
}

/// Objects as plain JSON of a few fields, for services used without the HTTP layer (tools,
/// unit tests); the server uses the Shippo shapes from `api`.
pub struct PlainWire;

impl Wire for PlainWire {
    fn track(&self, t: &Track, _: bool) -> serde_json::Value {
        serde_json::json!({
            "carrier": t.carrier,
            "tracking_number": t.tracking_number,
            "status": t.status().as_str(),
        })
    }

    fn transaction(
        &self,
        _: &crate::Cipher,
        _: &str,
        owner: &str,
        t: &domain::transaction::Transaction,
    ) -> serde_json::Value {
        serde_json::json!({
            "object_id": t.id.to_string(),
            "object_owner": owner,
            "status": t.status.as_str(),
            "tracking_number": t.tracking_number,
        })
    }

    fn shipment_request(
        &self,
        _: &serde_json::Value,
    ) -> Result<crate::shipments::CreateShipment, domain::ValidationError> {
        Err(domain::ValidationError::field(
            "shipment",
            "Inline shipments are read by the HTTP layer; this service has none.",
        ))
    }

    fn order(&self, owner: &str, v: &crate::orders::OrderView) -> serde_json::Value {
        serde_json::json!({
            "object_id": v.order.id.to_string(),
            "object_owner": owner,
            "order_number": v.order.order_number,
            "order_status": v.order.status.shippo(),
        })
    }
}

/// Tracking settings.
#[derive(Debug, Clone, Copy)]
pub struct TrackingConfig {
    /// How often polled tracks are refreshed (default 3 hours, as seed 001 asks).
    pub poll_interval: Duration,
}

impl Default for TrackingConfig {
    fn default() -> Self {
        Self {
            poll_interval: Duration::from_secs(3 * 3600),
        }
    }
}
