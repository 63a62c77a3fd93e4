//! Label purchases and what follows them (seed 002 "Transactions", "Refunds", "Manifests").
//!
//! A transaction buys one rate: at most one transaction per rate, ever (a retried purchase
//! answers the first). Its label and commercial invoice are files in the blob store, named by
//! `label_key`/`invoice_key`. A refund and a manifest each move labels along:
//! SUCCESS → REFUNDPENDING → REFUNDED/REFUNDREJECTED, and a manifested label cannot be refunded.

use crate::shipment::Note;
use crate::{ObjectId, Timestamp};

/// Where a purchase stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransactionStatus {
    /// Accepted, not yet queued (not used by Consign; kept for the wire enum).
    Waiting,
    /// The label is being bought by a background job.
    Queued,
    /// The label exists.
    Success,
    /// The purchase failed; `messages` say why.
    Error,
    /// Refunded.
    Refunded,
    /// A refund is being processed.
    RefundPending,
    /// The carrier refused the refund.
    RefundRejected,
}
wire_enum!(TransactionStatus {
    Waiting => "WAITING",
    Queued => "QUEUED",
    Success => "SUCCESS",
    Error => "ERROR",
    Refunded => "REFUNDED",
    RefundPending => "REFUNDPENDING",
    RefundRejected => "REFUNDREJECTED",
});

/// A rate purchase and its label.
#[derive(Debug, Clone, PartialEq)]
pub struct Transaction {
    pub id: ObjectId,
    pub created: Timestamp,
    pub updated: Timestamp,
    pub test: bool,
    pub status: TransactionStatus,
    pub rate: ObjectId,
    pub shipment: ObjectId,
    pub carrier_account: ObjectId,
    /// The shipment's sender address (manifests group labels by it).
    pub address_from: ObjectId,
    /// The shipment date (manifests close out one day).
    pub shipment_date: Timestamp,
    /// The `label_file_type` wire name.
    pub label_file_type: String,
    pub metadata: String,
    pub tracking_number: Option<String>,
    pub tracking_url: Option<String>,
    pub eta: Option<Timestamp>,
    /// Blob-store key of the label file.
    pub label_key: Option<String>,
    /// Blob-store key of the commercial invoice (international shipments).
    pub invoice_key: Option<String>,
    pub messages: Vec<Note>,
    /// Bought with the one-call "instalabel" request.
    pub instalabel: bool,
    /// The `Idempotency-Key` the purchase was made with.
    pub idempotency_key: Option<String>,
    /// The manifest that closed it out.
    pub manifest: Option<ObjectId>,
    /// What the carrier adapter keeps about the label (an upstream provider's shipment, tracker
    /// or transaction ids), for refunds and tracking.
    pub remote: Option<serde_json::Value>,
}

impl Transaction {
    /// Whether a refund may be asked for: a successful label not yet on a manifest.
    pub fn refundable(&self) -> Result<(), String> {
        if self.manifest.is_some() {
            return Err("This label is on a manifest (handed to the carrier) and can no longer be refunded.".into());
        }
        match self.status {
            TransactionStatus::Success => Ok(()),
            TransactionStatus::RefundPending
            | TransactionStatus::Refunded
            | TransactionStatus::RefundRejected => {
                Err("A refund was already requested for this label.".into())
            }
            other => Err(format!(
                "Only a successful label can be refunded; this one is {}.",
                other.as_str()
            )),
        }
    }
}

/// Where a refund stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundStatus {
    Queued,
    Pending,
    Success,
    Error,
}
wire_enum!(RefundStatus { Queued => "QUEUED", Pending => "PENDING", Success => "SUCCESS", Error => "ERROR" });

/// A refund of one transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct Refund {
    pub id: ObjectId,
    pub created: Timestamp,
    pub updated: Timestamp,
    pub test: bool,
    pub status: RefundStatus,
    pub transaction: ObjectId,
}

/// Where a manifest stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManifestStatus {
    Queued,
    Success,
    Error,
}
wire_enum!(ManifestStatus { Queued => "QUEUED", Success => "SUCCESS", Error => "ERROR" });

/// A close-out of one carrier account's labels of one day from one sender address.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    pub id: ObjectId,
    pub created: Timestamp,
    pub updated: Timestamp,
    pub test: bool,
    pub status: ManifestStatus,
    pub carrier_account: ObjectId,
    pub shipment_date: Timestamp,
    pub address_from: ObjectId,
    /// The transactions asked for; empty = every eligible one (filled in when it is made).
    pub transactions: Vec<ObjectId>,
    /// Blob-store key of the manifest PDF.
    pub document_key: Option<String>,
    /// Error codes of the seed (`manifest_no_transactions`, …) with their messages.
    pub errors: Vec<Note>,
}

/// Filters of `GET /transactions`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TransactionFilter {
    pub rate: Option<crate::ObjectId>,
    pub status: Option<TransactionStatus>,
    /// The label's tracking status (UNKNOWN: a label with no tracking events yet).
    pub tracking: Option<crate::tracking::TrackStatus>,
}
