//! Tracking (seed 002 "Tracking Status", seed 001's status updates): tracks, courier scan
//! events, Shippo's test numbers and the poller.
//!
//! Every change to a track — scans from a courier, a test number registered, a poll that found
//! news — goes through [`apply`], inside one database transaction: the new events, the track's
//! new status, a `track_updated` delivery for each subscribed webhook and, when the parcel first
//! moves or arrives, the buyer's email (once per parcel and kind). So a change and everything
//! it must cause are kept or lost together.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use domain::tracking::{
    offer, NotificationKind, Offer, Place, Substatus, Track, TrackEvent, TrackStatus,
};
use domain::webhook::WebhookEvent;
use domain::{FieldErrors, ObjectId, Timestamp, ValidationError};
use store::scan_keys::ScanKey;
use store::transactions::Label;
use store::{Conn, Scope, StoreError};

use crate::{notifications, scope, webhooks, Principal, ServiceError, Services};

/// How the wire shows the objects webhooks carry (implemented by the HTTP layer, so a payload
/// is exactly what `GET /tracks` or `GET /transactions/{id}` answers).
pub trait Wire: Send + Sync {
    /// The Track object; `transaction` is shown to its owner only.
    fn track(&self, track: &Track, show_transaction: bool) -> serde_json::Value;
    /// The Transaction object (current shape), its file links signed with `cipher` under
    /// `base`, owned by the account named `owner`.
    fn transaction(
        &self,
        cipher: &crate::Cipher,
        base: &str,
        owner: &str,
        t: &domain::transaction::Transaction,
    ) -> serde_json::Value;
}

/// Objects as plain JSON of a few fields, for services used without the HTTP layer (tools,
/// unit tests); the server uses the Shippo shapes from `api`.
pub struct PlainWire;

impl Wire for PlainWire {
    fn track(&self, t: &Track, _: bool) -> serde_json::Value {
        serde_json::json!({
            "carrier": t.carrier,
            "tracking_number": t.tracking_number,
            "status": t.status().as_str(),
        })
    }

    fn transaction(
        &self,
        _: &crate::Cipher,
        _: &str,
        owner: &str,
        t: &domain::transaction::Transaction,
    ) -> serde_json::Value {
        serde_json::json!({
            "object_id": t.id.to_string(),
            "object_owner": owner,
            "status": t.status.as_str(),
            "tracking_number": t.tracking_number,
        })
    }
}

/// Tracking settings.
#[derive(Debug, Clone, Copy)]
pub struct TrackingConfig {
    /// How often polled tracks are refreshed (default 3 hours, as seed 001 asks).
    pub poll_interval: Duration,
}

impl Default for TrackingConfig {
    fn default() -> Self {
        Self {
            poll_interval: Duration::from_secs(3 * 3600),
        }
    }
}

/// Most events one scan request may carry.
pub const MAX_BATCH: usize = 1000;

/// One scan as a courier sends it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScanInput {
    pub tracking_number: Option<String>,
    pub status: Option<String>,
    pub substatus: Option<String>,
    pub details: Option<String>,
    pub location: Option<Place>,
    pub occurred_at: Option<String>,
}

/// A checked scan.
#[derive(Debug, Clone, PartialEq)]
struct Scan {
    tracking_number: String,
    event: TrackEvent,
}

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

fn parse_scan(input: &ScanInput, now: Timestamp) -> Result<Scan, ValidationError> {
    let mut e = FieldErrors::new();
    let number = input
        .tracking_number
        .as_deref()
        .map(str::trim)
        .unwrap_or_default();
    if number.is_empty() {
        e.add("tracking_number", "This field is required.");
    } else if number.len() > 64 {
        e.add(
            "tracking_number",
            "Ensure this field has no more than 64 characters.",
        );
    }
    let status = match input.status.as_deref().map(str::trim) {
        None | Some("") => {
            e.add("status", "This field is required.");
            None
        }
        Some(s) => TrackStatus::parse(s).or_else(|| {
            e.add(
                "status",
                format!("Unknown status {s:?}; use UNKNOWN, PRE_TRANSIT, TRANSIT, DELIVERED, RETURNED or FAILURE."),
            );
            None
        }),
    };
    let substatus = match input.substatus.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(code) => Substatus::from_code(code).or_else(|| {
            e.add(
                "substatus",
                format!("Unknown substatus {code:?}; use one of Shippo's codes (package_accepted, out_for_delivery, delivered, …)."),
            );
            None
        }),
    };
    let occurred = match input.occurred_at.as_deref().map(str::trim) {
        None | Some("") => {
            e.add(
                "occurred_at",
                "This field is required (ISO 8601 date-time, e.g. 2026-11-23T08:15:00Z).",
            );
            None
        }
        Some(s) => match Timestamp::parse(s) {
            None => {
                e.add(
                    "occurred_at",
                    format!("{s:?} is not an ISO 8601 date-time."),
                );
                None
            }
            // A little clock skew is fine; a scan from tomorrow is a mistake.
            Some(t) if t.millis() > now.millis() + 3_600_000 => {
                e.add(
                    "occurred_at",
                    "This scan is more than an hour in the future.",
                );
                None
            }
            Some(t) => Some(t),
        },
    };
    let details = input.details.as_deref().map(str::trim).unwrap_or_default();
    if details.chars().count() > 500 {
        e.add(
            "details",
            "Ensure this field has no more than 500 characters.",
        );
    }
    let location = input.location.clone().filter(|l| !l.is_empty());
    if let Some(l) = &location {
        for (field, v) in [
            ("city", &l.city),
            ("state", &l.state),
            ("zip", &l.zip),
            ("country", &l.country),
        ] {
            if v.as_deref().is_some_and(|v| v.chars().count() > 100) {
                e.add(
                    format!("location.{field}"),
                    "Ensure this field has no more than 100 characters.",
                );
            }
        }
    }
    e.into_result()?;
    let (status, occurred) = (status.expect("checked"), occurred.expect("checked"));
    let details = if details.is_empty() {
        substatus
            .as_ref()
            .map(|s| s.text.clone())
            .unwrap_or_else(|| status_text(status).to_string())
    } else {
        details.to_string()
    };
    Ok(Scan {
        tracking_number: number.to_string(),
        event: TrackEvent {
            id: ObjectId::at(now.millis()),
            created: now,
            occurred,
            status,
            substatus,
            details,
            location,
        },
    })
}

/// A sentence for a status with no details.
pub fn status_text(status: TrackStatus) -> &'static str {
    match status {
        TrackStatus::Unknown => "The carrier has not reported this parcel yet.",
        TrackStatus::PreTransit => {
            "The label was created; the parcel has not been handed over yet."
        }
        TrackStatus::Transit => "The parcel is on its way.",
        TrackStatus::Delivered => "The parcel was delivered.",
        TrackStatus::Returned => "The parcel is being returned to the sender.",
        TrackStatus::Failure => "The carrier could not deliver the parcel.",
    }
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
fn track_of_label(label: &Label, now: Timestamp) -> Track {
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
        // Two first scans of one parcel at once both create its track, and on PostgreSQL two
        // uploads touching the same parcels can deadlock: the loser (rolled back whole) retries.
        let mut tries = 0;
        let decided = loop {
            tries += 1;
            match ingest_once(s, key.carrier_account, scans.clone()).await {
                Err(ServiceError::Conflict(_)) if tries < 5 => {
                    tokio::time::sleep(Duration::from_millis(5 * tries)).await;
                }
                other => break other?,
            }
        };
        for (i, outcome) in decided {
            outcomes[i] = Some(outcome);
        }
        s.job_signal.notify_one();
    }
    Ok(outcomes
        .into_iter()
        .map(|o| o.expect("every scan decided"))
        .collect())
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

/// What [`apply`] needs from the services, cloned into a write closure.
#[derive(Clone)]
pub(crate) struct Effects {
    wire: std::sync::Arc<dyn Wire>,
    emails: bool,
}

impl Effects {
    pub(crate) fn of(s: &Services) -> Self {
        Self {
            wire: s.wire.clone(),
            emails: s.mailer.is_some(),
        }
    }
}

/// One track's change: the track, its new events already placed in its history.
pub(crate) struct Change<'a> {
    pub owned: &'a mut store::tracks::Owned,
    pub events: Vec<TrackEvent>,
}

/// Stores the changes' new events and the tracks' new state (new tracks are inserted), and
/// writes what they cause: a `track_updated` delivery per subscribed webhook and track and,
/// when a change calls for one, the buyer's email (at most once per parcel and kind). A few
/// statements for the whole batch, so a courier's 1,000-event upload is one quick transaction.
pub(crate) async fn apply(
    conn: &mut Conn,
    fx: &Effects,
    changes: &mut [Change<'_>],
) -> Result<(), StoreError> {
    let now = Timestamp::now();
    for c in changes.iter_mut() {
        c.owned.track.updated = now;
        if c.owned.track.status().is_terminal() {
            c.owned.track.poll_at = None;
        }
    }
    // Tracks first: new ones must exist before their events.
    let tracks: Vec<store::tracks::ScopedTrack> = changes
        .iter()
        .map(|c| store::tracks::ScopedTrack {
            scope: c.owned.scope,
            track: &c.owned.track,
        })
        .collect();
    store::tracks::upsert(conn, &tracks).await?;
    let rows: Vec<store::tracks::NewEvent> = changes
        .iter()
        .flat_map(|c| {
            c.events.iter().map(|event| store::tracks::NewEvent {
                track: c.owned.track.id,
                event,
            })
        })
        .collect();
    store::tracks::insert_events(conn, &rows).await?;
    let scopes: Vec<Scope> = changes.iter().map(|c| c.owned.scope).collect();
    webhooks::outbox(conn, WebhookEvent::TrackUpdated, &scopes, |i| {
        fx.wire.track(&changes[i].owned.track, true)
    })
    .await?;
    if fx.emails {
        // Each account's on/off setting, read once per batch.
        let mut enabled: HashMap<ObjectId, bool> = HashMap::new();
        for c in changes.iter() {
            let (track, scope) = (&c.owned.track, c.owned.scope);
            let Some(email) = track.notify_email.as_deref() else {
                continue;
            };
            for kind in emails_due(&track.history, &c.events) {
                let on = match enabled.get(&scope.account_id) {
                    Some(on) => *on,
                    None => {
                        let on = notifications::enabled(conn, scope.account_id).await?;
                        enabled.insert(scope.account_id, on);
                        on
                    }
                };
                if !on {
                    break;
                }
                let id = ObjectId::new();
                if store::notifications::claim(conn, scope, id, track.id, kind, email).await? {
                    store::jobs::enqueue(conn, notifications::send_job(id)).await?;
                }
            }
        }
    }
    Ok(())
}

/// The buyer emails a change calls for, in sending order: "shipped" when a new event is the
/// parcel moving (unless it had already arrived before this change: a late scan), "delivered"
/// when it now stands delivered. Each is sent at most once per parcel anyway (the caller claims).
fn emails_due(history: &[TrackEvent], new_events: &[TrackEvent]) -> Vec<NotificationKind> {
    let arrived_before = history
        .iter()
        .any(|e| e.status == TrackStatus::Delivered && !new_events.contains(e));
    let current = history.last().map(|e| e.status);
    let mut due = Vec::new();
    if !arrived_before && new_events.iter().any(|e| e.status == TrackStatus::Transit) {
        due.push(NotificationKind::Shipped);
    }
    if current == Some(TrackStatus::Delivered) {
        due.push(NotificationKind::Delivered);
    }
    due
}

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

/// A Shippo test number's history (carrier `shippo`, any mode).
fn test_history(
    carrier: &str,
    number: &str,
    anchor: Timestamp,
) -> Option<(Vec<TrackEvent>, Option<Timestamp>)> {
    (carrier == carriers::test_carrier::meta().id)
        .then(|| carriers::test_tracking::history(number, anchor))
        .flatten()
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

fn is_test_number(t: &Track) -> bool {
    t.carrier == carriers::test_carrier::meta().id
        && carriers::test_tracking::status_of(&t.tracking_number).is_some()
}

/// The tracks of some of the principal's transactions (for their `tracking_status`).
pub async fn of_transactions(
    s: &Services,
    scope: Scope,
    ids: &[ObjectId],
) -> Result<HashMap<ObjectId, Track>, ServiceError> {
    Ok(store::tracks::of_transactions(&mut *s.store.conn().await?, scope, ids).await?)
}

/// A parcel's public page: the track (or, before its first scan, the label) of `number` issued
/// by `carrier_account`. A link without a carrier account (the old `/track/{number}`) answers only
/// while exactly one parcel anywhere carries that number: two accounts can issue the same number,
/// and one merchant's buyers must never see another's parcel.
pub async fn public(
    s: &Services,
    carrier_account: Option<ObjectId>,
    number: &str,
) -> Result<Track, ServiceError> {
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
        return Ok(o.track);
    }
    // A label not scanned yet: its page shows it waiting for the first scan.
    store::transactions::label_of_carrier_account(&mut conn, carrier_account, number)
        .await?
        .map(|label| track_of_label(&label, Timestamp::now()))
        .ok_or(ServiceError::NotFound)
}

/// The path of a parcel's public page (relative to the public URL).
pub fn public_path(carrier_account: Option<ObjectId>, number: &str) -> String {
    match carrier_account {
        Some(ca) => format!("/track/{ca}/{number}"),
        None => format!("/track/{number}"),
    }
}

/// How long a poll claim lasts (a poller that dies mid-poll frees the track after this).
const POLL_LEASE_MS: i64 = 5 * 60 * 1000;

/// Runs the poller until the task is aborted: claims tracks due for a refresh and asks their
/// carrier. Several processes share the work through the claim (SKIP LOCKED on PostgreSQL).
pub async fn run_poller(s: Services) {
    loop {
        match poll_due(&s).await {
            Ok(0) => tokio::time::sleep(Duration::from_secs(5)).await,
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "tracking poller: database unavailable");
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
        }
    }
}

/// Claims and refreshes one batch of due tracks; returns how many.
pub async fn poll_due(s: &Services) -> Result<usize, ServiceError> {
    if !store::tracks::any_poll_due(&mut *s.store.conn().await?).await? {
        return Ok(0);
    }
    let backend = s.store.backend();
    let ids = s
        .store
        .write(move |conn| {
            Box::pin(async move {
                store::tracks::claim_due_polls(conn, backend, 16, POLL_LEASE_MS).await
            })
        })
        .await?;
    for id in &ids {
        if let Err(e) = poll_one(s, *id).await {
            tracing::warn!(track = %id, error = %e, "tracking poll failed");
        }
    }
    Ok(ids.len())
}

/// Asks the carrier for one track's news and applies it; an error backs off (doubling from
/// one interval up to a day) and five errors in a row stop polling.
async fn poll_one(s: &Services, id: ObjectId) -> Result<(), ServiceError> {
    let Some(owned) = store::tracks::by_id(&mut *s.store.conn().await?, id).await? else {
        return Ok(());
    };
    let answer = fetch(&owned.track);
    let ctx = Effects::of(s);
    let every = s.tracking.poll_interval.as_millis() as i64;
    s.store
        .write(move |conn| {
            Box::pin(async move {
                let mut owned = owned;
                let now = Timestamp::now().millis();
                match answer {
                    Ok((events, eta)) => {
                        let mut added = Vec::new();
                        for e in events {
                            if let Offer::Added(_) = offer(&mut owned.track.history, e.clone()) {
                                added.push(e);
                            }
                        }
                        owned.track.eta = eta.or(owned.track.eta);
                        owned.track.poll_failures = 0;
                        owned.track.poll_at = (!owned.track.status().is_terminal())
                            .then(|| Timestamp::from_millis(now + every));
                        if added.is_empty() {
                            store::tracks::save(conn, &owned.track).await
                        } else {
                            apply(
                                conn,
                                &ctx,
                                &mut [Change {
                                    owned: &mut owned,
                                    events: added,
                                }],
                            )
                            .await
                        }
                    }
                    Err(why) => {
                        owned.track.poll_failures += 1;
                        let backoff = (every << owned.track.poll_failures.min(5)).min(86_400_000);
                        owned.track.poll_at = (owned.track.poll_failures < 5)
                            .then(|| Timestamp::from_millis(now + backoff));
                        tracing::warn!(track = %owned.track.id, %why, "carrier did not answer");
                        store::tracks::save(conn, &owned.track).await
                    }
                }
            })
        })
        .await?;
    s.job_signal.notify_one();
    Ok(())
}

/// The carrier's current answer for a polled track. Consign's pollable adapter today is the
/// test carrier; rate-card couriers push scans instead of being polled.
#[allow(clippy::type_complexity)]
fn fetch(t: &Track) -> Result<(Vec<TrackEvent>, Option<Timestamp>), String> {
    test_history(&t.carrier, &t.tracking_number, t.created)
        .ok_or_else(|| format!("{} numbers cannot be polled", t.carrier))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(number: &str, status: &str, at: &str) -> ScanInput {
        ScanInput {
            tracking_number: Some(number.into()),
            status: Some(status.into()),
            occurred_at: Some(at.into()),
            ..ScanInput::default()
        }
    }

    #[test]
    fn scans_are_checked_field_by_field() {
        let now = Timestamp::parse("2026-11-23T10:00:00Z").unwrap();
        let ok = parse_scan(&input("CT1", "transit", "2026-11-23T09:00:00+01:00"), now).unwrap();
        assert_eq!(ok.event.status, TrackStatus::Transit);
        assert_eq!(
            ok.event.occurred,
            Timestamp::parse("2026-11-23T08:00:00Z").unwrap()
        );
        assert_eq!(ok.event.details, status_text(TrackStatus::Transit));
        let bad = parse_scan(
            &ScanInput {
                substatus: Some("teleported".into()),
                ..input("", "LOST", "yesterday")
            },
            now,
        )
        .unwrap_err();
        let fields: Vec<&str> = bad.0.iter().map(|(f, _)| f).collect();
        assert_eq!(
            fields,
            ["tracking_number", "status", "substatus", "occurred_at"]
        );
        let future = parse_scan(&input("CT1", "TRANSIT", "2026-11-24T10:00:00Z"), now).unwrap_err();
        assert!(future
            .0
            .iter()
            .any(|(f, m)| f == "occurred_at" && m[0].contains("future")));
    }

    fn event(ms: i64, status: TrackStatus) -> TrackEvent {
        TrackEvent {
            id: ObjectId::at(ms),
            created: Timestamp::from_millis(ms),
            occurred: Timestamp::from_millis(ms),
            status,
            substatus: None,
            details: String::new(),
            location: None,
        }
    }

    #[test]
    fn emails_follow_what_the_change_shows() {
        use NotificationKind::{Delivered, Shipped};
        use TrackStatus::{Delivered as D, PreTransit as P, Transit as T};
        let (p, t, d) = (event(1, P), event(2, T), event(3, D));
        // One batch that shows the parcel moving and arriving: both, in order.
        let all = vec![p.clone(), t.clone(), d.clone()];
        assert_eq!(emails_due(&all, &all), [Shipped, Delivered]);
        // Pre-transit alone: none.
        assert!(emails_due(std::slice::from_ref(&p), std::slice::from_ref(&p)).is_empty());
        // A late TRANSIT scan after the delivery was known: no "shipped" after "delivered".
        assert_eq!(emails_due(&all, std::slice::from_ref(&t)), [Delivered]);
        // Moving only.
        assert_eq!(emails_due(&[p, t.clone()], &[t]), [Shipped]);
    }

    #[test]
    fn a_substatus_gives_details_when_none_are_sent() {
        let now = Timestamp::parse("2026-11-23T10:00:00Z").unwrap();
        let scan = parse_scan(
            &ScanInput {
                substatus: Some("out_for_delivery".into()),
                ..input("CT1", "TRANSIT", "2026-11-23T09:00:00Z")
            },
            now,
        )
        .unwrap();
        assert_eq!(scan.event.details, "Package is out for delivery.");
    }
}
