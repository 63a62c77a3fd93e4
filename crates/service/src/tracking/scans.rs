//! Courier scans: a batch checked, applied to its tracks in one transaction.

use std::collections::BTreeMap;
use std::time::Duration;

use domain::tracking::{
    offer, parse_scan, Offer, Place, Scan, ScanInput, Track, TrackEvent, TrackStatus,
};
use domain::{FieldErrors, ObjectId, Timestamp, ValidationError};
use store::scan_keys::ScanKey;
use store::transactions::Label;

use crate::{ServiceError, Services};

use super::effects::{apply, Change, Effects};

/// Most events one scan request may carry.
pub const MAX_BATCH: usize = 1000;

/// What became of one scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanOutcome {
    /// Stored; the track's status right after it.
    Accepted(TrackStatus),
    /// The same event was already stored.
    Duplicate,
    /// Refused, with why (per field).
    Rejected(FieldErrors),
}

fn place4(p: &[String; 4]) -> Option<Place> {
    let f = |s: &String| (!s.is_empty()).then(|| s.clone());
    let place = Place {
        city: f(&p[0]),
        state: f(&p[1]),
        zip: f(&p[2]),
        country: f(&p[3]),
    };
    (!place.is_empty()).then_some(place)
}

/// A new track for a label Consign sold.
pub(super) fn track_of_label(label: &Label, now: Timestamp) -> Track {
    Track {
        id: ObjectId::at(now.millis()),
        created: now,
        updated: now,
        test: label.scope.test,
        carrier: label.carrier.clone(),
        tracking_number: label.tracking_number.clone(),
        transaction: Some(label.transaction),
        carrier_account: Some(label.carrier_account),
        metadata: String::new(),
        servicelevel: Some((
            label.rate.service_token.clone(),
            label.rate.service_name.clone(),
        )),
        address_from: place4(&label.from),
        address_to: place4(&label.to),
        eta: label.eta,
        original_eta: label.eta,
        notify_email: Some(label.to_email.clone()).filter(|e| !e.is_empty()),
        history: Vec::new(),
        poll_at: None,
        poll_failures: 0,
    }
}

/// Records a courier's scans (single, bulk or CSV rows), each for a label of the key's carrier
/// account. Every scan gets an outcome; accepted ones are stored with what they cause in one
/// transaction.
pub async fn ingest(
    s: &Services,
    key: &ScanKey,
    inputs: &[ScanInput],
) -> Result<Vec<ScanOutcome>, ServiceError> {
    if inputs.len() > MAX_BATCH {
        return Err(ValidationError::field(
            "events",
            format!(
                "Send at most {MAX_BATCH} events per request (this one has {}).",
                inputs.len()
            ),
        )
        .into());
    }
    let now = Timestamp::now();
    let mut outcomes: Vec<Option<ScanOutcome>> = vec![None; inputs.len()];
    let mut scans: Vec<(usize, Scan)> = Vec::with_capacity(inputs.len());
    for (i, input) in inputs.iter().enumerate() {
        match parse_scan(input, now) {
            Ok(scan) => scans.push((i, scan)),
            Err(e) => outcomes[i] = Some(ScanOutcome::Rejected(e.0)),
        }
    }
    if !scans.is_empty() {
        for (i, outcome) in decide(s, key.carrier_account, scans).await? {
            outcomes[i] = Some(outcome);
        }
    }
    Ok(outcomes
        .into_iter()
        .map(|o| o.expect("every scan decided"))
        .collect())
}

/// Applies checked scans (a courier's, or events a carrier pushed) for labels of
/// `carrier_account`, one outcome per scan in order.
pub(super) async fn ingest_scans(
    s: &Services,
    carrier_account: ObjectId,
    scans: Vec<Scan>,
) -> Result<Vec<ScanOutcome>, ServiceError> {
    if scans.is_empty() {
        return Ok(Vec::new());
    }
    let n = scans.len();
    let mut outcomes: Vec<Option<ScanOutcome>> = vec![None; n];
    for (i, outcome) in decide(s, carrier_account, scans.into_iter().enumerate().collect()).await? {
        outcomes[i] = Some(outcome);
    }
    Ok(outcomes
        .into_iter()
        .map(|o| o.expect("every scan decided"))
        .collect())
}

async fn decide(
    s: &Services,
    carrier_account: ObjectId,
    scans: Vec<(usize, Scan)>,
) -> Result<Vec<(usize, ScanOutcome)>, ServiceError> {
    // Two first scans of one parcel at once both create its track, and on PostgreSQL two
    // uploads touching the same parcels can deadlock: the loser (rolled back whole) retries.
    let mut tries = 0;
    let decided = loop {
        tries += 1;
        match ingest_once(s, carrier_account, scans.clone()).await {
            Err(ServiceError::Conflict(_)) if tries < 5 => {
                tokio::time::sleep(Duration::from_millis(5 * tries)).await;
            }
            other => break other?,
        }
    };
    s.job_signal.notify_one();
    Ok(decided)
}

async fn ingest_once(
    s: &Services,
    carrier_account: ObjectId,
    scans: Vec<(usize, Scan)>,
) -> Result<Vec<(usize, ScanOutcome)>, ServiceError> {
    let backend = s.store.backend();
    let ctx = Effects::of(s);
    Ok(s.store
        .write(move |conn| {
            Box::pin(async move {
                let mut numbers: Vec<String> = scans
                    .iter()
                    .map(|(_, sc)| sc.tracking_number.clone())
                    .collect();
                numbers.sort();
                numbers.dedup();
                let mut tracks =
                    store::tracks::for_carrier_account(conn, backend, carrier_account, &numbers)
                        .await?;
                let missing: Vec<String> = numbers
                    .iter()
                    .filter(|n| !tracks.contains_key(*n))
                    .cloned()
                    .collect();
                if !missing.is_empty() {
                    let now = Timestamp::now();
                    for label in
                        store::transactions::labels_by_number(conn, carrier_account, &missing)
                            .await?
                    {
                        let track = track_of_label(&label, now);
                        tracks.insert(
                            label.tracking_number.clone(),
                            store::tracks::Owned {
                                scope: label.scope,
                                track,
                            },
                        );
                    }
                }
                let mut decided = Vec::with_capacity(scans.len());
                let mut changed: BTreeMap<String, Vec<TrackEvent>> = BTreeMap::new();
                for (i, scan) in scans {
                    let Some(owned) = tracks.get_mut(&scan.tracking_number) else {
                        let mut e = FieldErrors::new();
                        e.add(
                            "tracking_number",
                            format!(
                                "{} is not a label of this carrier account.",
                                scan.tracking_number
                            ),
                        );
                        decided.push((i, ScanOutcome::Rejected(e)));
                        continue;
                    };
                    match offer(&mut owned.track.history, scan.event.clone()) {
                        Offer::Added(_) => {
                            changed
                                .entry(scan.tracking_number)
                                .or_default()
                                .push(scan.event);
                            decided.push((i, ScanOutcome::Accepted(owned.track.status())));
                        }
                        Offer::Duplicate => decided.push((i, ScanOutcome::Duplicate)),
                        Offer::Rejected(m) => {
                            let mut e = FieldErrors::new();
                            e.add("status", m);
                            decided.push((i, ScanOutcome::Rejected(e)));
                        }
                    }
                }
                let mut batch: Vec<Change> = Vec::with_capacity(changed.len());
                for (number, owned) in tracks.iter_mut() {
                    if let Some(events) = changed.remove(number) {
                        batch.push(Change { owned, events });
                    }
                }
                apply(conn, &ctx, &mut batch).await?;
                Ok(decided)
            })
        })
        .await?)
}
