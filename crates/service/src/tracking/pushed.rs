//! Tracking pushed by a carrier (EasyPost's tracker events, Shippo's `track_updated`): the
//! carrier account's adapter checks the signature over the raw bytes and reads the event, and
//! its parcels' new events go through the same path as courier scans (one transaction, webhooks
//! and buyer emails once). A replayed event finds every event already stored and changes nothing.

use carriers::{Capability, Inbound, PushError};
use domain::tracking::Scan;
use domain::{ObjectId, Timestamp, ValidationError};

use crate::{adapters, ServiceError, Services};

use super::scans::{ingest_scans, ScanOutcome};

/// What a pushed event changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PushOutcome {
    /// Events the carrier sent.
    pub received: usize,
    /// New events stored.
    pub accepted: usize,
    /// Events Consign already had (replays, full histories sent again).
    pub duplicates: usize,
    /// Events for parcels that are not labels of this carrier account, or refused.
    pub ignored: usize,
}

/// Reads and applies one pushed request for `carrier_account`. A request without any carrier's
/// signature header answers unauthorized at once; then an unknown account or one whose carrier
/// does not push answers not found, and a signature that does not verify unauthorized; nothing
/// changes unless the signature verifies.
pub async fn pushed(
    s: &Services,
    carrier_account: ObjectId,
    headers: &[(String, String)],
    body: &[u8],
) -> Result<PushOutcome, ServiceError> {
    // Unsigned requests learn nothing, not even whether the carrier account exists.
    if !carriers::registry::carries_signature(headers) {
        return Err(ServiceError::Unauthorized);
    }
    let owner = store::carrier_accounts::owner_of(&mut *s.store.conn().await?, carrier_account)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let adapter = match adapters::of_account(s, owner, carrier_account).await {
        Ok(a) if a.meta().can(Capability::TrackingPush) => a,
        Ok(_) | Err(ServiceError::Validation(_)) => return Err(ServiceError::NotFound),
        Err(e) => return Err(e),
    };
    let inbound = Inbound {
        headers,
        body,
        now_s: Timestamp::now().millis() / 1000,
    };
    let tracks = adapter.pushed(&inbound).map_err(|e| match e {
        PushError::Unauthenticated => ServiceError::Unauthorized,
        PushError::Malformed(m) => ServiceError::Validation(ValidationError::field("body", m)),
    })?;
    let scans: Vec<Scan> = tracks
        .into_iter()
        .flat_map(|t| {
            let number = t.tracking_number;
            t.answer.events.into_iter().map(move |event| Scan {
                tracking_number: number.clone(),
                event,
            })
        })
        .collect();
    let mut outcome = PushOutcome {
        received: scans.len(),
        ..PushOutcome::default()
    };
    for o in ingest_scans(s, carrier_account, scans).await? {
        match o {
            ScanOutcome::Accepted(_) => outcome.accepted += 1,
            ScanOutcome::Duplicate => outcome.duplicates += 1,
            ScanOutcome::Rejected(_) => outcome.ignored += 1,
        }
    }
    Ok(outcome)
}
