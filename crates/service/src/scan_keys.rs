//! Courier scan keys: a merchant gives its courier a key per rate-card carrier account; the
//! courier's scanners post tracking events with it (not with the merchant's API token), and it
//! can only touch labels of that carrier account.

use domain::{ObjectId, Timestamp, ValidationError};
use rand::RngCore;
use store::scan_keys::ScanKey;
use store::StoreError;

use crate::{Principal, ServiceError, Services};

/// Prefix of every scan key.
pub const PREFIX: &str = "consign_scan_";

/// Creates a key for one of the principal's carrier accounts; the key is in the answer, once.
pub async fn create(
    s: &Services,
    who: &Principal,
    carrier_account: ObjectId,
) -> Result<(ScanKey, String), ServiceError> {
    let account =
        store::carrier_accounts::get(&mut *s.store.conn().await?, who.account_id, carrier_account)
            .await
            .map_err(|e| match e {
                StoreError::NotFound => ServiceError::NotFound,
                e => e.into(),
            })?;
    if !carriers::registry::find(&account.carrier)
        .is_some_and(|m| m.can(carriers::Capability::ScanEvents))
    {
        return Err(ValidationError::field(
            "carrier_account",
            "Scan keys are for rate-card carrier accounts (your own courier); other carriers report tracking themselves.",
        )
        .into());
    }
    let mut raw = [0u8; 20];
    rand::thread_rng().fill_bytes(&mut raw);
    let secret = format!("{PREFIX}{}", hex::encode(raw));
    let key = ScanKey {
        id: ObjectId::new(),
        account_id: who.account_id,
        carrier_account,
        created: Timestamp::now(),
        prefix: secret[..PREFIX.len() + 6].to_string(),
        revoked: None,
    };
    let (stored, hidden) = (key.clone(), secret.clone());
    s.store
        .write(move |conn| {
            Box::pin(async move { store::scan_keys::insert(conn, &stored, &hidden).await })
        })
        .await?;
    Ok((key, secret))
}

/// The keys of one of the principal's carrier accounts.
pub async fn list(
    s: &Services,
    who: &Principal,
    carrier_account: ObjectId,
) -> Result<Vec<ScanKey>, ServiceError> {
    let mut conn = s.store.conn().await?;
    // An unknown or another account's carrier account is a 404, not an empty list.
    store::carrier_accounts::get(&mut conn, who.account_id, carrier_account).await?;
    Ok(store::scan_keys::list(&mut conn, who.account_id, carrier_account).await?)
}

/// Revokes a key at once.
pub async fn revoke(s: &Services, who: &Principal, id: ObjectId) -> Result<(), ServiceError> {
    let account = who.account_id;
    Ok(s.store
        .write(move |conn| {
            Box::pin(async move { store::scan_keys::revoke(conn, account, id).await })
        })
        .await?)
}

/// The key a courier presents; `Unauthorized` when unknown or revoked.
pub async fn authenticate(s: &Services, secret: &str) -> Result<ScanKey, ServiceError> {
    if !secret.starts_with(PREFIX) {
        return Err(ServiceError::Unauthorized);
    }
    match store::scan_keys::authenticate(&mut *s.store.conn().await?, secret).await {
        Ok(k) => Ok(k),
        Err(StoreError::NotFound) => Err(ServiceError::Unauthorized),
        Err(e) => Err(e.into()),
    }
}
