//! Outbound webhooks (seed 002 "Webhooks"), a module per concern: `subscriptions`, the `outbox`,
//! `signing`, the `sender` with its address guard, and `delivery` (the job and the delivery log).
//!
//! An event becomes one delivery row per matching subscription plus a `deliver_webhook` job,
//! written by [`outbox()`] inside the transaction of the change that caused it, so a crash can
//! lose neither. The job POSTs the stored payload, signed (see [`signature()`]), records the
//! attempt (status code, latency, the start of the answer) and either finishes or schedules the
//! next attempt ([`domain::webhook::RETRY_DELAYS_S`]). A worker killed mid-send leaves its job
//! leased; the lease expires and the delivery is sent again: receivers get every event at least
//! once and can drop repeats by the `Consign-Delivery` id.

mod delivery;
mod outbox;
mod sender;
mod subscriptions;

pub use delivery::{deliveries, delivery, redeliver, run_deliver_job};
pub use domain::signing::{signature, verify};
pub use outbox::{deliver_job, deliveries_for, outbox};
pub use sender::{WebhookSender, TIMEOUT};
pub use subscriptions::{create, delete, get, list, update, Created, WebhookInput};

/// Header carrying `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`.
pub const SIGNATURE_HEADER: &str = "Consign-Signature";
/// Header carrying the delivery's id (the same on every retry of it).
pub const DELIVERY_HEADER: &str = "Consign-Delivery";
/// Header carrying the event name.
pub const EVENT_HEADER: &str = "Consign-Event";
