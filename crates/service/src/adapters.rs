//! Each carrier account's adapter: built by `carriers::registry` from the account's decrypted
//! parameters (and, for rate-card carriers, its current card), kept per owner for
//! [`ACCOUNTS_TTL`]. Every use case that talks to a carrier — rating, purchases, refunds,
//! tracking polls, pushed events, service levels — gets its adapter here and asks the port; none
//! looks at the carrier's token.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use carriers::rate_card::{self, RateCard};
use carriers::registry::{self, AccountContext};
use carriers::{Capability, Carrier};
use domain::ObjectId;
use store::carrier_accounts::{self as repo, RatingAccount};
use store::LazyConn;

use crate::{ServiceError, Services};

/// Parsed rate cards by carrier account: `(version, card)`. A stored version never changes, so
/// an entry is only replaced when a newer version is uploaded.
pub(crate) type CardCache = Arc<Mutex<HashMap<ObjectId, (i64, Arc<RateCard>)>>>;

/// How long a process trusts its copy of an owner's carrier accounts. Changes made through
/// this process apply at once (they clear the copy); changes made by another process (the
/// `ratecard upload` CLI, another node on PostgreSQL) apply within this time.
pub(crate) const ACCOUNTS_TTL: Duration = Duration::from_secs(2);

/// One carrier account with its adapter (or why it has none: no rate card yet, say).
pub(crate) struct Ready {
    pub account: RatingAccount,
    pub adapter: Result<Arc<dyn Carrier>, String>,
}

/// Each owner's carrier accounts with their adapters, with when they were read.
pub(crate) type AccountCache = Arc<Mutex<HashMap<ObjectId, (Instant, Arc<Vec<Ready>>)>>>;

/// `owner`'s carrier accounts and adapters, from the cache when fresh.
pub(crate) async fn of_owner(
    s: &Services,
    conn: &mut LazyConn<'_>,
    owner: ObjectId,
) -> Result<Arc<Vec<Ready>>, ServiceError> {
    if let Some((at, ready)) = s.accounts.lock().expect("account cache").get(&owner) {
        if at.elapsed() < ACCOUNTS_TTL {
            return Ok(ready.clone());
        }
    }
    let rows = repo::for_rating(conn.get().await?, owner).await?;
    let mut ready = Vec::with_capacity(rows.len());
    for account in rows {
        let adapter = build(s, conn, owner, &account).await?;
        ready.push(Ready { account, adapter });
    }
    let ready = Arc::new(ready);
    s.accounts
        .lock()
        .expect("account cache")
        .insert(owner, (Instant::now(), ready.clone()));
    Ok(ready)
}

async fn build(
    s: &Services,
    conn: &mut LazyConn<'_>,
    owner: ObjectId,
    a: &RatingAccount,
) -> Result<Result<Arc<dyn Carrier>, String>, ServiceError> {
    let card = match (registry::find(&a.carrier), a.card_version) {
        (Some(meta), Some(version)) if meta.can(Capability::RateCard) => {
            Some(card(s, conn, a.id, version).await?)
        }
        _ => None,
    };
    // An account whose parameters cannot be read (a changed secret key) has no adapter; the
    // owner's other accounts still work.
    let parameters = match crate::carrier_accounts::unseal(
        &s.cipher,
        owner,
        a.id,
        &a.parameters_sealed,
    ) {
        Ok(p) => p,
        Err(e) => {
            tracing::error!(carrier_account = %a.id, error = %e, "carrier account parameters do not decrypt");
            return Ok(Err(format!(
                    "Carrier account {} cannot be used: its stored credentials cannot be read with this server's secret key.",
                    a.id
                )));
        }
    };
    let id = a.id.to_string();
    Ok(registry::build(
        &a.carrier,
        AccountContext {
            id: &id,
            parameters: &parameters,
            card,
            http: &s.http,
        },
    )
    .map(Arc::from)
    .map_err(|e| e.to_string()))
}

/// The adapter of one of `owner`'s carrier accounts.
pub(crate) async fn of_account(
    s: &Services,
    owner: ObjectId,
    id: ObjectId,
) -> Result<Arc<dyn Carrier>, ServiceError> {
    let ready = of_owner(s, &mut s.store.lazy_conn(), owner).await?;
    let found = ready
        .iter()
        .find(|r| r.account.id == id)
        .ok_or(ServiceError::NotFound)?;
    found.adapter.clone().map_err(|why| {
        ServiceError::Validation(domain::ValidationError::field("carrier_account", why))
    })
}

/// Drops the cached accounts of `owner` (after it changed one).
pub(crate) fn forget(s: &Services, owner: ObjectId) {
    s.accounts.lock().expect("account cache").remove(&owner);
}

/// A carrier account's card at `version`, parsed once per process.
pub(crate) async fn card(
    s: &Services,
    conn: &mut LazyConn<'_>,
    account: ObjectId,
    version: i64,
) -> Result<Arc<RateCard>, ServiceError> {
    if let Some((v, card)) = s.cards.lock().expect("card cache").get(&account) {
        if *v == version {
            return Ok(card.clone());
        }
    }
    let json = repo::rate_card_version(conn.get().await?, account, version).await?;
    let card = Arc::new(rate_card::parse_json(&json).map_err(|e| {
        ServiceError::internal(format!(
            "stored rate card {account} v{version} no longer validates: {e}"
        ))
    })?);
    s.cards
        .lock()
        .expect("card cache")
        .insert(account, (version, card.clone()));
    Ok(card)
}
