//! Tracks: registration (`POST /tracks`), lookups, a label's tracks and the public page.

use std::collections::HashMap;

use domain::tracking::{offer, Offer, Track, TrackEvent};
use domain::{FieldErrors, ObjectId, Timestamp, ValidationError};
use store::{Scope, StoreError};

use crate::{scope, Principal, ServiceError, Services};

use super::effects::{apply, Change, Effects};
use super::scans::track_of_label;

/// The tracking of `carrier`/`number` for the principal: its track when it follows the number,
/// else what Consign knows (a label it sold, a Shippo test number), else UNKNOWN with a message.
pub async fn get(
    s: &Services,
    who: &Principal,
    carrier: &str,
    number: &str,
) -> Result<(Track, Vec<String>), ServiceError> {
    let (carrier, number) = checked_pair(carrier, number)?;
    let scope = scope(who);
    let mut conn = s.store.conn().await?;
    if let Some(t) = store::tracks::find(&mut conn, scope, &carrier, &number).await? {
        return Ok((t, Vec::new()));
    }
    let now = Timestamp::now();
    if let Some(label) = store::transactions::label_of_number(&mut conn, scope, &number).await? {
        // Asked by the real carrier's token (`usps`) for a label an upstream provider sold.
        let mut known =
            store::tracks::of_transactions(&mut conn, scope, &[label.transaction]).await?;
        if let Some(t) = known.remove(&label.transaction) {
            return Ok((t, Vec::new()));
        }
        let mut t = track_of_label(&label, now);
        t.history.clear();
        return Ok((t, Vec::new()));
    }
    let mut t = bare(scope, &carrier, &number, now);
    if let Some((events, eta)) = test_history(&carrier, &number, now) {
        t.history = events;
        t.eta = eta;
        t.original_eta = eta;
        return Ok((t, Vec::new()));
    }
    Ok((t, vec![no_source(&carrier, &number)]))
}

fn no_source(carrier: &str, number: &str) -> String {
    format!(
        "Consign has no tracking information for {carrier} {number}: it was not issued by one of your carrier accounts and Consign has no {carrier} tracking connection. Register it with POST /tracks to receive updates when they arrive."
    )
}

fn checked_pair(carrier: &str, number: &str) -> Result<(String, String), ValidationError> {
    let mut e = FieldErrors::new();
    let (carrier, number) = (
        carrier.trim().to_ascii_lowercase(),
        number.trim().to_string(),
    );
    if carrier.is_empty() {
        e.add("carrier", "This field is required.");
    } else if carrier.len() > 50
        || !carrier
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        e.add(
            "carrier",
            "Use a carrier token such as shippo, usps or ratecard.",
        );
    }
    if number.is_empty() {
        e.add("tracking_number", "This field is required.");
    } else if number.len() > 64 || number.chars().any(char::is_control) {
        e.add(
            "tracking_number",
            "Ensure this field has no more than 64 characters.",
        );
    }
    e.into_result()?;
    Ok((carrier, number))
}

fn bare(scope: Scope, carrier: &str, number: &str, now: Timestamp) -> Track {
    Track {
        id: ObjectId::at(now.millis()),
        created: now,
        updated: now,
        test: scope.test,
        carrier: carrier.to_string(),
        tracking_number: number.to_string(),
        transaction: None,
        carrier_account: None,
        metadata: String::new(),
        servicelevel: None,
        address_from: None,
        address_to: None,
        eta: None,
        original_eta: None,
        notify_email: None,
        history: Vec::new(),
        poll_at: None,
        poll_failures: 0,
    }
}

/// A scripted number's history (Shippo's test numbers, any mode), as the carriers crate plays it.
pub(super) fn test_history(
    carrier: &str,
    number: &str,
    anchor: Timestamp,
) -> Option<(Vec<TrackEvent>, Option<Timestamp>)> {
    carriers::registry::scripted_history(carrier, number, anchor).map(|a| (a.events, a.eta))
}

/// Registers a number for `track_updated` webhooks (`POST /tracks`) and answers its tracking.
/// A Shippo test number gets its history at once, and with it a `track_updated` delivery, as
/// Shippo does, so a receiver can be tested end to end. Registering again updates `metadata`.
pub async fn register(
    s: &Services,
    who: &Principal,
    carrier: &str,
    number: &str,
    metadata: Option<String>,
) -> Result<(Track, Vec<String>), ServiceError> {
    let (carrier, number) = checked_pair(carrier, number)?;
    let metadata = metadata.unwrap_or_default();
    if metadata.chars().count() > 100 {
        return Err(ValidationError::field(
            "metadata",
            "Ensure this field has no more than 100 characters.",
        )
        .into());
    }
    let scope = scope(who);
    let ctx = Effects::of(s);
    let poll_every = s.tracking.poll_interval;
    // Two first registrations of one number at once: the loser (rolled back whole) retries and
    // finds the winner's track.
    let mut tries = 0;
    let track = loop {
        tries += 1;
        let (c2, n2, metadata) = (carrier.clone(), number.clone(), metadata.clone());
        let ctx = ctx.clone();
        let written = s
            .store
            .write(move |conn| {
                Box::pin(async move {
                    let now = Timestamp::now();
                    let existing = store::tracks::find(conn, scope, &c2, &n2).await?;
                    let (mut owned, is_new) = match existing {
                        Some(t) => (store::tracks::Owned { scope, track: t }, false),
                        None => {
                            let t = match store::transactions::label_of_number(conn, scope, &n2)
                                .await?
                            {
                                Some(label) => track_of_label(&label, now),
                                None => bare(scope, &c2, &n2, now),
                            };
                            (store::tracks::Owned { scope, track: t }, true)
                        }
                    };
                    owned.track.metadata = metadata;
                    let mut added = Vec::new();
                    if let Some((events, eta)) =
                        test_history(&owned.track.carrier, &n2, owned.track.created)
                    {
                        for e in events {
                            if let Offer::Added(_) = offer(&mut owned.track.history, e.clone()) {
                                added.push(e);
                            }
                        }
                        owned.track.eta = eta;
                        if owned.track.original_eta.is_none() {
                            owned.track.original_eta = eta;
                        }
                        if !owned.track.status().is_terminal() {
                            owned.track.poll_at = Some(Timestamp::from_millis(
                                now.millis() + poll_every.as_millis() as i64,
                            ));
                        }
                    }
                    if is_test_number(&owned.track) || !added.is_empty() {
                        // Test numbers announce themselves on every registration.
                        apply(
                            conn,
                            &ctx,
                            &mut [Change {
                                owned: &mut owned,
                                events: added,
                            }],
                        )
                        .await?;
                    } else {
                        owned.track.updated = now;
                        if is_new {
                            store::tracks::insert(conn, scope, &owned.track).await?;
                        } else {
                            store::tracks::save(conn, &owned.track).await?;
                        }
                    }
                    Ok(owned.track)
                })
            })
            .await;
        match written {
            Err(StoreError::Conflict(_)) if tries < 3 => continue,
            other => break other?,
        }
    };
    s.job_signal.notify_one();
    let messages =
        if track.transaction.is_none() && !is_test_number(&track) && track.history.is_empty() {
            vec![no_source(&carrier, &number)]
        } else {
            Vec::new()
        };
    Ok((track, messages))
}

pub(super) fn is_test_number(t: &Track) -> bool {
    carriers::registry::is_scripted(&t.carrier, &t.tracking_number)
}

/// The tracks of some of the principal's transactions (for their `tracking_status`).
pub async fn of_transactions(
    s: &Services,
    scope: Scope,
    ids: &[ObjectId],
) -> Result<HashMap<ObjectId, Track>, ServiceError> {
    Ok(store::tracks::of_transactions(&mut *s.store.conn().await?, scope, ids).await?)
}

/// The buyer emails of some of the principal's parcels (by their tracks' ids): kind,
/// recipient, status and when, for an order's timeline.
pub async fn emails_of(
    s: &Services,
    who: &Principal,
    tracks: &[ObjectId],
) -> Result<Vec<store::notifications::Sent>, ServiceError> {
    Ok(store::notifications::of_tracks(&mut *s.store.conn().await?, scope(who), tracks).await?)
}

/// A parcel's public page: the track (or, before its first scan, the label) of `number` issued
/// by `carrier_account`. A link without a carrier account (the old `/track/{number}`) answers only
/// while exactly one parcel anywhere carries that number: two accounts can issue the same number,
/// and one merchant's buyers must never see another's parcel.
pub async fn public(
    s: &Services,
    carrier_account: Option<ObjectId>,
    number: &str,
) -> Result<PublicTrack, ServiceError> {
    let (owner, track) = public_track(s, carrier_account, number).await?;
    // The name the carrier account goes by (a courier's own name on its rate card, the
    // provider's for upstream accounts), never the internal carrier token ("ratecard").
    let carrier_name = match (owner, track.carrier_account) {
        (Some(owner), Some(account)) => crate::adapters::of_account(s, owner, account)
            .await
            .map(|a| a.provider().to_string())
            .ok(),
        _ => None,
    }
    .unwrap_or_else(|| {
        carriers::catalogue::find(&track.carrier)
            .map_or_else(|| track.carrier.clone(), |c| c.name.clone())
    });
    let branding = match owner {
        Some(owner) => crate::branding::of_account(s, owner)
            .await?
            .filter(|b| !b.name.is_empty() || b.logo.is_some())
            .map(|b| (owner, b)),
        None => None,
    };
    Ok(PublicTrack {
        track,
        carrier_name,
        branding,
    })
}

/// What the public tracking page shows: the track and the name its carrier goes by.
#[derive(Debug, Clone)]
pub struct PublicTrack {
    pub track: Track,
    /// The carrier account's display name.
    pub carrier_name: String,
    /// The sender's branding (its account and what it set), when it set a name or logo.
    pub branding: Option<(ObjectId, crate::branding::Branding)>,
}

/// A public track and its owner account (`None` when unknown).
async fn public_track(
    s: &Services,
    carrier_account: Option<ObjectId>,
    number: &str,
) -> Result<(Option<ObjectId>, Track), ServiceError> {
    let number = number.trim();
    if number.is_empty() || number.len() > 64 {
        return Err(ServiceError::NotFound);
    }
    let mut conn = s.store.conn().await?;
    let carrier_account = match carrier_account {
        Some(id) => id,
        None => match store::tracks::carrier_accounts_of_number(&mut conn, number)
            .await?
            .as_slice()
        {
            [only] => *only,
            _ => return Err(ServiceError::NotFound),
        },
    };
    if let Some(o) = store::tracks::public(&mut conn, carrier_account, number).await? {
        return Ok((Some(o.scope.account_id), o.track));
    }
    // A label not scanned yet: its page shows it waiting for the first scan.
    store::transactions::label_of_carrier_account(&mut conn, carrier_account, number)
        .await?
        .map(|label| {
            (
                Some(label.scope.account_id),
                track_of_label(&label, Timestamp::now()),
            )
        })
        .ok_or(ServiceError::NotFound)
}

/// The track of a label just bought from an adapter that asked for it to be followed: polled
/// from one poll interval on (pushed events usually come first).
pub(crate) fn followed(
    s: &Services,
    scope: Scope,
    t: &domain::transaction::Transaction,
    view: &crate::shipments::ShipmentView,
    rate: &domain::shipment::Rate,
) -> Option<Track> {
    let number = t.tracking_number.clone()?;
    let four = |a: &domain::address::Address| {
        let f = &a.fields;
        [
            f.city.clone(),
            f.state.clone(),
            f.zip.clone(),
            f.country.clone(),
        ]
    };
    let label = store::transactions::Label {
        scope,
        transaction: t.id,
        carrier_account: t.carrier_account,
        carrier: rate.details.carrier.clone(),
        tracking_number: number,
        eta: t.eta,
        rate: rate.details.clone(),
        from: four(&view.address_from),
        to: four(&view.address_to),
        to_email: view.address_to.fields.email.clone(),
    };
    let now = Timestamp::now();
    let mut track = track_of_label(&label, now);
    track.poll_at = Some(Timestamp::from_millis(
        now.millis() + s.tracking.poll_interval.as_millis() as i64,
    ));
    Some(track)
}

/// The path of a parcel's public page (relative to the public URL).
pub fn public_path(carrier_account: Option<ObjectId>, number: &str) -> String {
    match carrier_account {
        Some(ca) => format!("/track/{ca}/{number}"),
        None => format!("/track/{number}"),
    }
}
