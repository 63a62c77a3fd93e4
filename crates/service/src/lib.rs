//! Consign's use cases. Each public function is one use case and, when it writes, runs in one
//! database transaction; handlers (HTTP, CLI) call these and never the store directly.

pub mod accounts;
pub mod addresses;
pub mod carrier_accounts;
pub mod crypto;
mod error;
pub mod parcels;
pub mod validator;

use std::sync::Arc;

pub use crypto::Cipher;
pub use error::ServiceError;
pub use store::accounts::Principal;
use store::{Scope, Store};
pub use validator::{AddressValidator, OfflineValidator};

/// Everything a use case needs: the store and the pluggable collaborators.
#[derive(Clone)]
pub struct Services {
    pub store: Store,
    pub validator: Arc<dyn AddressValidator>,
    /// Encrypts provider credentials at rest.
    pub cipher: Cipher,
}

impl Services {
    /// Services over `store` with the offline address validator.
    pub fn new(store: Store, cipher: Cipher) -> Self {
        Self {
            store,
            validator: Arc::new(OfflineValidator),
            cipher,
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
