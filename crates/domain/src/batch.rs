//! Batches (seed 002 "Batches"): up to 10,000 shipments validated, then bought, together.
//!
//! A batch is VALIDATING while its shipments are made and rated, then VALID (every one can be
//! bought) or INVALID (some must be removed); PURCHASING while its labels are bought, then
//! PURCHASED with its labels merged into files of at most [`LABELS_PER_FILE`]. Its shipments keep
//! the request's order (`position`).

use crate::shipment::Note;
use crate::{ObjectId, Timestamp};

/// Most shipments one batch holds.
pub const MAX_SHIPMENTS: usize = 10_000;
/// Labels per merged file (seed 002: "a merged file of 100 labels each").
pub const LABELS_PER_FILE: usize = 100;

/// Where a batch stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchStatus {
    Validating,
    Valid,
    Invalid,
    Purchasing,
    Purchased,
}
wire_enum!(BatchStatus {
    Validating => "VALIDATING",
    Valid => "VALID",
    Invalid => "INVALID",
    Purchasing => "PURCHASING",
    Purchased => "PURCHASED",
});

/// Where one batch shipment stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchShipmentStatus {
    /// Not validated yet (not shown: Shippo's batch shipments have no such state, and a
    /// VALIDATING batch lists none).
    Pending,
    Valid,
    /// Cannot be bought; `messages` say why.
    Invalid,
    /// Its address is incomplete.
    Incomplete,
    /// Its purchase failed; `messages` say why.
    TransactionFailed,
}
wire_enum!(BatchShipmentStatus {
    Pending => "PENDING",
    Valid => "VALID",
    Invalid => "INVALID",
    Incomplete => "INCOMPLETE",
    TransactionFailed => "TRANSACTION_FAILED",
});

/// A batch.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    pub id: ObjectId,
    pub created: Timestamp,
    pub updated: Timestamp,
    pub test: bool,
    pub status: BatchStatus,
    pub default_carrier_account: ObjectId,
    pub default_servicelevel_token: String,
    /// The `label_filetype` wire name; `None` = the account's default.
    pub label_filetype: Option<String>,
    pub metadata: String,
    /// Blob-store keys of the merged label files, in order.
    pub label_keys: Vec<String>,
    /// Whether `batch_created` went out (once, when the first validation ended).
    pub announced: bool,
    /// The key of the form (or request) that made it: a second submission with the same key
    /// is answered with this batch instead of making another.
    pub idempotency_key: Option<String>,
    /// Buy its labels as soon as validation ends VALID (the web app's "Buy labels").
    pub purchase_when_valid: bool,
}

/// One shipment of a batch.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchShipment {
    pub id: ObjectId,
    pub batch: ObjectId,
    pub position: i64,
    pub status: BatchShipmentStatus,
    /// How to make the shipment, until validation has made it (the service's own JSON).
    pub request: Option<serde_json::Value>,
    pub shipment: Option<ObjectId>,
    /// The order the shipment fulfils (batches made from orders).
    pub order: Option<ObjectId>,
    /// Overrides the batch's default.
    pub carrier_account: Option<ObjectId>,
    /// Overrides the batch's default.
    pub servicelevel_token: Option<String>,
    pub metadata: String,
    /// The rate validation chose (carrier account and service level).
    pub rate: Option<ObjectId>,
    pub transaction: Option<ObjectId>,
    pub messages: Vec<Note>,
}

/// Shippo's `object_results` counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchCounts {
    pub creation_succeeded: i64,
    pub creation_failed: i64,
    pub purchase_succeeded: i64,
    pub purchase_failed: i64,
    /// Not validated yet.
    pub pending: i64,
}

/// The `object_results` filter of `GET /batches/{id}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchResultFilter {
    CreationSucceeded,
    CreationFailed,
    PurchaseSucceeded,
    PurchaseFailed,
}
wire_enum!(BatchResultFilter {
    CreationSucceeded => "creation_succeeded",
    CreationFailed => "creation_failed",
    PurchaseSucceeded => "purchase_succeeded",
    PurchaseFailed => "purchase_failed",
});

impl BatchCounts {
    /// The status validation ends in.
    pub fn validated(&self) -> BatchStatus {
        if self.creation_failed > 0 {
            BatchStatus::Invalid
        } else {
            BatchStatus::Valid
        }
    }
}
