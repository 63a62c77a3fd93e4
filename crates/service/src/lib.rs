//! Consign's use cases. Each public function is one use case and, when it writes, runs in one
//! database transaction; handlers (HTTP, CLI) call these and never the store directly.

pub mod accounts;
mod adapters;
pub mod addresses;
pub mod api_errors;
pub mod audit;
pub mod batches;
pub mod branding;
pub mod carrier_accounts;
pub mod crowdfunding;
pub mod crypto;
pub mod customs;
mod error;
pub mod files;
pub mod jobs;
mod labels;
pub mod manifests;
pub mod notifications;
pub mod orders;
pub mod parcel_templates;
pub mod parcels;
mod rating;
pub mod refunds;
pub mod scan_keys;
pub mod shipments;
pub mod stats;
pub mod tracking;
pub mod transactions;
pub mod uploads;
pub mod user_links;
pub mod users;
pub mod validator;
pub mod views;
pub mod webhooks;

use std::sync::Arc;
use std::time::Duration;

use domain::fx::ExchangeRates;

pub use carriers::rate_card::RateCard;
pub use carriers::{Quote, RateResult};
pub use crypto::Cipher;
pub use error::ServiceError;
pub use integrations::columns::Column;
pub use store::accounts::Principal;
use store::{Scope, Store};
pub use validator::{AddressValidator, OfflineValidator};

/// Default time a carrier gets to answer for rates before the shipment goes on without it.
pub const DEFAULT_RATE_TIMEOUT: Duration = Duration::from_secs(10);

/// Everything a use case needs: the store and the pluggable collaborators.
#[derive(Clone)]
pub struct Services {
    pub store: Store,
    pub validator: Arc<dyn AddressValidator>,
    /// Encrypts provider credentials at rest.
    pub cipher: Cipher,
    /// Converts rates into the sender's and the recipient's currencies.
    pub exchange_rates: Arc<ExchangeRates>,
    /// How long each carrier may take to answer for rates.
    pub rate_timeout: Duration,
    /// Parsed rate cards by carrier account and version (cards never change once stored).
    cards: adapters::CardCache,
    /// Carrier accounts and their adapters by owner (see `adapters::ACCOUNTS_TTL`).
    accounts: adapters::AccountCache,
    /// The outbound HTTP client every remote carrier adapter shares.
    pub http: carriers::http::Client,
    /// Wakes the job worker when a request enqueues work.
    pub(crate) job_signal: Arc<tokio::sync::Notify>,
    /// Label, invoice and manifest files.
    pub blobs: Arc<dyn files::BlobStore>,
    /// Tracking serials reserved by this process: series → (next, end).
    pub(crate) serials: Arc<std::sync::Mutex<std::collections::HashMap<String, (i64, i64)>>>,
    /// How webhook payloads look on the wire; set by the HTTP layer.
    pub wire: Arc<dyn tracking::Wire>,
    /// Sends webhooks (and decides whether private addresses are allowed).
    pub webhooks: webhooks::WebhookSender,
    /// Sends buyer emails; `None` when no SMTP server is configured (no emails are queued).
    pub mailer: Option<notifications::Mailer>,
    /// The server's public base URL, for links in emails and webhook payloads.
    pub public_url: String,
    /// Tracking poll schedule.
    pub tracking: tracking::TrackingConfig,
    /// How long a refund pending at the carrier waits before it is asked again.
    pub refund_recheck: Duration,
    /// How long a claimed job is the claimer's before another worker may run it (a crashed
    /// worker's jobs run again after this).
    pub job_lease: Duration,
    /// In-process locks by idempotency key (requests with one key run one after another).
    pub(crate) key_locks: KeyLocks,
}

/// Async locks by name, each alive while someone holds or waits for it.
#[derive(Clone, Default)]
pub(crate) struct KeyLocks(
    Arc<
        std::sync::Mutex<
            std::collections::HashMap<String, std::sync::Weak<tokio::sync::Mutex<()>>>,
        >,
    >,
);

impl KeyLocks {
    /// Waits for and holds the lock named `name` until the guard is dropped.
    pub(crate) async fn lock(&self, name: String) -> tokio::sync::OwnedMutexGuard<()> {
        let lock = {
            let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
            map.retain(|_, w| w.strong_count() > 0);
            match map.get(&name).and_then(std::sync::Weak::upgrade) {
                Some(l) => l,
                None => {
                    let l = Arc::new(tokio::sync::Mutex::new(()));
                    map.insert(name, Arc::downgrade(&l));
                    l
                }
            }
        };
        lock.lock_owned().await
    }
}

impl Services {
    /// Services over `store` with the offline address validator, the bundled exchange rates,
    /// the default rate timeout, files kept in memory (set `blobs` for a real store), no
    /// email, public-only webhooks and tracks in [`tracking::PlainWire`] form (the HTTP layer
    /// sets its own).
    pub fn new(store: Store, cipher: Cipher) -> Self {
        Self {
            store,
            validator: Arc::new(OfflineValidator),
            cipher,
            exchange_rates: Arc::new(ExchangeRates::bundled().clone()),
            rate_timeout: DEFAULT_RATE_TIMEOUT,
            cards: adapters::CardCache::default(),
            accounts: adapters::AccountCache::default(),
            http: carriers::http::Client::default(),
            job_signal: Arc::new(tokio::sync::Notify::new()),
            blobs: Arc::new(files::MemoryBlobs::default()),
            serials: Arc::default(),
            wire: Arc::new(tracking::PlainWire),
            webhooks: webhooks::WebhookSender::new(carriers::http::Guard::PUBLIC),
            mailer: None,
            public_url: "http://127.0.0.1:8080".into(),
            tracking: tracking::TrackingConfig::default(),
            job_lease: jobs::LEASE,
            refund_recheck: Duration::from_secs(900),
            key_locks: KeyLocks::default(),
        }
    }
}

/// The query scope of a principal: its account, in its token's mode.
pub fn scope(p: &Principal) -> Scope {
    Scope {
        account_id: p.account_id,
        test: p.mode.is_test(),
    }
}
