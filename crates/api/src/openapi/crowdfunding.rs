//! The shapes of the crowdfunding routes (`projects.rs`) for the OpenAPI document. The handlers
//! build their answers with `json!` (the seed's custom API answers as the seed prints it), so
//! these types only describe them; the seed's `GET /api/shipping/orders` answer is described by
//! the very structs the handler serialises (`projects::SeedOrders`). Schemathesis checks every
//! answer against these shapes (`scripts/schemathesis.sh`), so a field changed in a handler and
//! not here fails there.

// Field names are the wire's (the seed's camelCase included).
#![allow(
    non_snake_case,
    non_camel_case_types,
    clippy::upper_case_acronyms,
    dead_code
)]

use serde_json::Value;
use utoipa::ToSchema;

/// A project: create it, rename it, lock its addresses, set its reward weight (every field
/// optional on update; absent fields are left as they are).
#[derive(ToSchema)]
pub struct ProjectRequest {
    #[schema(example = "Tabletop Game, first edition")]
    pub name: Option<String>,
    /// Addresses are locked from this moment (ISO 8601); `null` unlocks.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub addresses_locked_at: Option<String>,
    /// `true` locks the addresses now, `false` unlocks them.
    pub lock_addresses: Option<bool>,
    /// One reward parcel's weight (`null` clears it).
    pub reward_weight: Option<RewardWeight>,
}

/// One reward parcel's weight.
#[derive(ToSchema)]
pub struct RewardWeight {
    /// A positive decimal below 100000 (a JSON number is accepted too).
    #[schema(example = "1.5")]
    pub weight: String,
    pub mass_unit: MassUnit,
}

/// A mass unit.
#[derive(ToSchema)]
pub enum MassUnit {
    g,
    oz,
    lb,
    kg,
}

/// The creator's provider account linked to a project (its key is never shown).
#[derive(ToSchema)]
pub struct ProjectProvider {
    pub provider: ProviderKind,
    /// The provider's API base when not its public API.
    pub base_url: Option<String>,
    /// The return address's `object_id` (`address_from` of everything pushed).
    pub return_address: String,
    /// Always `"set (encrypted; never shown)"`.
    pub api_key: String,
    /// Whether a webhook secret is set (events are refused until it is).
    pub webhook_secret_set: bool,
}

/// A provider Consign pushes a project's orders to and takes events from.
#[derive(ToSchema)]
pub enum ProviderKind {
    easypost,
    shippo,
}

/// What to paste into the provider's dashboard as the webhook URL.
#[derive(ToSchema)]
pub struct WebhookUrls {
    pub easypost: String,
    pub shippo: String,
}

/// A project's backers and what happened to their parcels.
#[derive(ToSchema)]
pub struct ProjectCounts {
    pub pledges: i64,
    pub shippable: i64,
    pub shipped: i64,
    pub delivered: i64,
    pub dispatch_emails: i64,
}

/// A project key as listed (its prefix only: the key is shown once, when generated).
#[derive(ToSchema)]
pub struct ProjectKeyInfo {
    pub object_id: String,
    pub prefix: String,
    #[schema(format = DateTime)]
    pub created: String,
    #[schema(format = DateTime)]
    pub revoked: Option<String>,
}

/// A crowdfunding project.
#[derive(ToSchema)]
pub struct Project {
    pub object_id: String,
    #[schema(format = DateTime)]
    pub object_created: String,
    #[schema(format = DateTime)]
    pub object_updated: String,
    pub test: bool,
    pub name: String,
    #[schema(format = DateTime)]
    pub addresses_locked_at: Option<String>,
    /// Whether the addresses are locked now.
    pub addresses_locked: bool,
    pub reward_weight: Option<RewardWeight>,
    /// Whether a project key was ever generated (the custom API answers 403 until then).
    pub has_keys: bool,
    pub provider: Option<ProjectProvider>,
    pub webhook_urls: WebhookUrls,
    /// Only in `GET /projects/{id}`.
    #[schema(nullable = false)]
    pub counts: Option<ProjectCounts>,
    /// Only in `GET /projects/{id}`.
    #[schema(nullable = false)]
    pub keys: Option<Vec<ProjectKeyInfo>>,
}

/// The account's projects (in this token's mode).
#[derive(ToSchema)]
pub struct ProjectList {
    pub results: Vec<Project>,
}

/// Link the creator's EasyPost or Shippo account.
#[derive(ToSchema)]
pub struct ProviderRequest {
    pub provider: ProviderKind,
    /// The provider's API key (stored encrypted, never shown again).
    pub api_key: String,
    /// The secret the provider signs its webhooks with.
    pub webhook_secret: Option<String>,
    /// The provider's API base (sandboxes, proxies); its public API when absent.
    pub base_url: Option<String>,
    /// An address's `object_id`, or an address object (stored as an address).
    pub return_address: Value,
}

/// Generate a project key.
#[derive(ToSchema)]
pub struct KeyRequest {
    /// Revoke the project's other keys.
    pub rotate: Option<bool>,
}

/// A new project key: the key is in this answer only.
#[derive(ToSchema)]
pub struct KeyCreated {
    pub object_id: String,
    /// The key, for `Authorization: Bearer <key>` on the custom API.
    pub key: String,
    pub prefix: String,
    #[schema(format = DateTime)]
    pub created: String,
    pub note: String,
}

/// Revoke one key, or all of them when `key` is absent.
#[derive(ToSchema)]
pub struct RevokeRequest {
    /// The key's `object_id`.
    pub key: Option<String>,
}

/// How many keys were revoked.
#[derive(ToSchema)]
pub struct Revoked {
    pub revoked: u64,
}

/// A note about one row of an uploaded file.
#[derive(ToSchema)]
pub struct RowNote {
    /// The row's line in the file.
    pub row: u64,
    pub pledge_id: Option<String>,
    pub field: String,
    pub message: String,
}

/// What a backer-report import did (or, dry, would do).
#[derive(ToSchema)]
pub struct BackerImport {
    pub dry_run: bool,
    pub rows: u64,
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    /// Pledges with a complete, valid address (an order each).
    pub shippable: u64,
    /// Backers whose address will not ship.
    pub not_shippable: Vec<RowNote>,
    /// Rows refused (nothing saved for them).
    pub rejections: Vec<RowNote>,
}

/// What a tracking upload did (or, dry, would do).
#[derive(ToSchema)]
pub struct TrackingImport {
    pub dry_run: bool,
    pub rows: u64,
    pub updated: u64,
    pub unchanged: u64,
    /// Dispatch emails queued (none without a mail server).
    pub dispatch_emails: u64,
    /// Whether the server has a mail server to send them.
    #[schema(nullable = false)]
    pub email: Option<MailServer>,
    pub rejections: Vec<RowNote>,
}

/// Whether a mail server is configured.
#[derive(ToSchema)]
pub enum MailServer {
    configured,
    not_configured,
}

/// One backer a sync could not push.
#[derive(ToSchema)]
pub struct SyncFailure {
    pub pledge_id: Option<String>,
    pub order: Option<String>,
    pub error: String,
}

/// One attempt of a sync that could not reach the provider.
#[derive(ToSchema)]
pub struct SyncAttempt {
    pub attempt: i64,
    #[schema(format = DateTime)]
    pub at: String,
    pub error: String,
}

/// A sync of a project's orders into its provider account.
#[derive(ToSchema)]
pub struct ProjectSync {
    pub object_id: String,
    pub project: String,
    #[schema(format = DateTime)]
    pub object_created: String,
    #[schema(format = DateTime)]
    pub object_updated: String,
    pub status: SyncStatus,
    pub created: i64,
    pub updated: i64,
    pub skipped: i64,
    pub failed: i64,
    pub failures: Vec<SyncFailure>,
    /// The job's attempts that failed as a whole, oldest first.
    #[schema(nullable = false)]
    pub attempts: Option<Vec<SyncAttempt>>,
    /// Why a `FAILED` sync stopped (its last attempt's error).
    pub error: Option<String>,
}

/// A sync's state.
#[derive(ToSchema)]
pub enum SyncStatus {
    RUNNING,
    DONE,
    FAILED,
}

/// An event a provider sent for a project.
#[derive(ToSchema)]
pub struct ProjectEvent {
    pub object_id: String,
    #[schema(format = DateTime)]
    pub received: String,
    pub provider: String,
    /// The provider's event name (`tracker.updated`, `track_updated`, …).
    pub event: String,
    pub tracking_number: Option<String>,
    /// The order it was matched to.
    pub order: Option<String>,
    pub matched: bool,
    pub note: String,
    /// The event as received (JSON, or its text when it was not JSON).
    pub body: Value,
}

/// The events providers sent.
#[derive(ToSchema)]
pub struct ProjectEventList {
    pub results: Vec<ProjectEvent>,
}

/// The seed's tracking report for one order.
#[derive(ToSchema)]
pub struct ShippingTrackingRequest {
    /// The `orderId` from the orders response.
    #[schema(example = "abc123")]
    pub orderId: String,
    /// Carrier tracking number.
    #[schema(example = "1Z999AA10123456784")]
    pub trackingNumber: String,
    /// e.g. UPS, USPS, FedEx.
    #[schema(example = "UPS")]
    pub carrier: String,
    pub status: ShippingStatus,
}

/// A parcel's progress as the seed names it.
#[derive(ToSchema)]
pub enum ShippingStatus {
    shipped,
    delivered,
}

/// The answer to a tracking report (the seed prints none; these are Consign's fields).
#[derive(ToSchema)]
pub struct ShippingTrackingResponse {
    pub ok: bool,
    pub orderId: Option<String>,
    pub trackingNumber: String,
    pub carrier: String,
    pub status: ShippingStatus,
    /// The order's tracking changed.
    pub changed: bool,
    /// This report queued the backer's dispatch email.
    #[schema(nullable = false)]
    pub emailQueued: Option<bool>,
    /// The same value as `emailQueued` (kept for earlier clients).
    pub emailSent: bool,
    /// Why no email went, when none did.
    #[schema(nullable = false)]
    pub email: Option<EmailState>,
}

/// What happened to the backer's dispatch email.
#[derive(ToSchema)]
pub enum EmailState {
    queued,
    not_queued,
    not_configured,
}

/// What a provider's webhook request did.
#[derive(ToSchema)]
pub struct FulfillmentResponse {
    /// Events the request carried.
    pub received: u64,
    /// Matched to an order and applied.
    pub matched: u64,
    /// Kept without an order.
    pub unmatched: u64,
    /// Already received (replays).
    pub duplicates: u64,
}
