//! Tracks (followed tracking numbers) and their carrier events.
//!
//! A track's scalar facts live in its row (`detail` holds service level, addresses and ETAs as
//! JSON); its history is `tracking_events`, one row per event, read oldest first. `status` in
//! the row is the latest event's, kept so the poller and lists need not read histories.

use std::collections::HashMap;

use domain::tracking::{Place, Substatus, Track, TrackEvent, TrackStatus};
use domain::{ObjectId, Timestamp};
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::insert::{backend_of, insert_rows, mark, marks, Args, Rows};
use crate::rows::{corrupt, id_of};
use crate::{Backend, Conn, Scope, StoreError};

const COLUMNS: &str = "id, account_id, test, created_ms, updated_ms, carrier, tracking_number, transaction_id, carrier_account_id, metadata, detail, status, poll_at_ms, poll_failures";
const EVENT_COLUMNS: &str =
    "id, track_id, created_ms, occurred_ms, status, substatus, details, location";

/// The JSON in `tracks.detail`.
#[derive(Serialize, Deserialize, Default)]
struct Detail {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    servicelevel: Option<(String, String)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    address_from: Option<Place>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    address_to: Option<Place>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    eta_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    original_eta_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    notify_email: Option<String>,
}

/// A track row and the account it belongs to (scans arrive without a scope).
#[derive(Debug, Clone, PartialEq)]
pub struct Owned {
    pub scope: Scope,
    pub track: Track,
}

fn from_row(row: &AnyRow) -> Result<Owned, StoreError> {
    let detail: String = row.try_get("detail")?;
    let d: Detail =
        serde_json::from_str(&detail).map_err(|e| corrupt("track detail", e.to_string()))?;
    let opt_id = |col: &str| -> Result<Option<ObjectId>, StoreError> {
        row.try_get::<Option<String>, _>(col)?
            .as_deref()
            .map(id_of)
            .transpose()
    };
    let test = row.try_get::<i64, _>("test")? != 0;
    Ok(Owned {
        scope: Scope {
            account_id: id_of(row.try_get("account_id")?)?,
            test,
        },
        track: Track {
            id: id_of(row.try_get("id")?)?,
            created: Timestamp::from_millis(row.try_get("created_ms")?),
            updated: Timestamp::from_millis(row.try_get("updated_ms")?),
            test,
            carrier: row.try_get("carrier")?,
            tracking_number: row.try_get("tracking_number")?,
            transaction: opt_id("transaction_id")?,
            carrier_account: opt_id("carrier_account_id")?,
            metadata: row.try_get("metadata")?,
            servicelevel: d.servicelevel,
            address_from: d.address_from,
            address_to: d.address_to,
            eta: d.eta_ms.map(Timestamp::from_millis),
            original_eta: d.original_eta_ms.map(Timestamp::from_millis),
            notify_email: d.notify_email,
            history: Vec::new(),
            poll_at: row
                .try_get::<Option<i64>, _>("poll_at_ms")?
                .map(Timestamp::from_millis),
            poll_failures: row.try_get("poll_failures")?,
        },
    })
}

fn detail_of(t: &Track) -> String {
    serde_json::to_string(&Detail {
        servicelevel: t.servicelevel.clone(),
        address_from: t.address_from.clone(),
        address_to: t.address_to.clone(),
        eta_ms: t.eta.map(Timestamp::millis),
        original_eta_ms: t.original_eta.map(Timestamp::millis),
        notify_email: t.notify_email.clone(),
    })
    .expect("track detail serialises")
}

fn event_from_row(row: &AnyRow) -> Result<(ObjectId, TrackEvent), StoreError> {
    let status: String = row.try_get("status")?;
    let substatus: String = row.try_get("substatus")?;
    let location: Option<String> = row.try_get("location")?;
    Ok((
        id_of(row.try_get("track_id")?)?,
        TrackEvent {
            id: id_of(row.try_get("id")?)?,
            created: Timestamp::from_millis(row.try_get("created_ms")?),
            occurred: Timestamp::from_millis(row.try_get("occurred_ms")?),
            status: TrackStatus::parse(&status).ok_or_else(|| corrupt("track status", &status))?,
            substatus: if substatus.is_empty() {
                None
            } else {
                Some(Substatus::from_code(&substatus).unwrap_or(Substatus {
                    code: substatus,
                    text: String::new(),
                    action_required: false,
                }))
            },
            details: row.try_get("details")?,
            location: location
                .as_deref()
                .map(serde_json::from_str)
                .transpose()
                .map_err(|e| corrupt("track location", e.to_string()))?,
        },
    ))
}

impl Rows for Track {
    const TABLE: &'static str = "tracks";
    const COLUMNS: &'static str = "id, test, created_ms, updated_ms, carrier, tracking_number, transaction_id, carrier_account_id, metadata, detail, status, poll_at_ms, poll_failures";
    const WIDTH: usize = 14;

    fn bind(&self, a: &mut Args, scope: Scope) {
        a.add(scope.account_id.to_string())
            .add(self.id.to_string())
            .add(i64::from(self.test))
            .add(self.created.millis())
            .add(self.updated.millis())
            .add(self.carrier.clone())
            .add(self.tracking_number.clone())
            .add(self.transaction.map(|t| t.to_string()))
            .add(self.carrier_account.map(|t| t.to_string()))
            .add(self.metadata.clone())
            .add(detail_of(self))
            .add(self.status().as_str())
            .add(self.poll_at.map(Timestamp::millis))
            .add(self.poll_failures);
    }
}

/// An event row, with the track it belongs to.
pub struct NewEvent<'a> {
    pub track: ObjectId,
    pub event: &'a TrackEvent,
}

impl Rows for NewEvent<'_> {
    const TABLE: &'static str = "tracking_events";
    const COLUMNS: &'static str = EVENT_COLUMNS;
    const SCOPED: bool = false;
    const WIDTH: usize = 8;

    fn bind(&self, a: &mut Args, _: Scope) {
        let e = self.event;
        a.add(e.id.to_string())
            .add(self.track.to_string())
            .add(e.created.millis())
            .add(e.occurred.millis())
            .add(e.status.as_str())
            .add(
                e.substatus
                    .as_ref()
                    .map(|s| s.code.clone())
                    .unwrap_or_default(),
            )
            .add(e.details.clone())
            .add(
                e.location
                    .as_ref()
                    .map(|l| serde_json::to_string(l).expect("place serialises")),
            );
    }
}

/// A track with the scope it belongs to, for writes spanning several accounts (a courier's
/// scans).
pub struct ScopedTrack<'a> {
    pub scope: Scope,
    pub track: &'a Track,
}

impl Rows for ScopedTrack<'_> {
    const TABLE: &'static str = "tracks";
    const COLUMNS: &'static str = "account_id, id, test, created_ms, updated_ms, carrier, tracking_number, transaction_id, carrier_account_id, metadata, detail, status, poll_at_ms, poll_failures";
    const SCOPED: bool = false;
    const WIDTH: usize = 14;

    fn bind(&self, a: &mut Args, _: Scope) {
        self.track.bind(a, self.scope);
    }
}

/// Inserts new tracks and saves changed ones (status, ETA, polling, metadata) in one statement
/// per 500 tracks.
pub async fn upsert(conn: &mut Conn, tracks: &[ScopedTrack<'_>]) -> Result<(), StoreError> {
    for chunk in tracks.chunks(500) {
        let mut args = Args::default();
        for t in chunk {
            t.bind(&mut args, t.scope);
        }
        let sql = format!(
            "{} ON CONFLICT (id) DO UPDATE SET updated_ms = excluded.updated_ms, status = excluded.status, \
             detail = excluded.detail, poll_at_ms = excluded.poll_at_ms, poll_failures = excluded.poll_failures, \
             metadata = excluded.metadata, transaction_id = excluded.transaction_id",
            crate::insert::insert_sql::<ScopedTrack>(chunk.len(), 0, crate::insert::backend_of(conn))
        );
        sqlx::query_with::<sqlx::Any, sqlx::any::AnyArguments<'_>>(&sql, args.into_inner())
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Stores a new track (its history goes in with [`insert_events`]).
pub async fn insert(conn: &mut Conn, scope: Scope, track: &Track) -> Result<(), StoreError> {
    insert_rows(conn, scope, std::slice::from_ref(track)).await
}

/// Stores events (at most 1,000 at a time keeps within every backend's bind limit).
pub async fn insert_events(conn: &mut Conn, events: &[NewEvent<'_>]) -> Result<(), StoreError> {
    crate::insert::insert_unscoped(conn, events, 1000).await
}

/// Records a track's new state after events were added (status, ETA, polling).
pub async fn save(conn: &mut Conn, track: &Track) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE tracks SET updated_ms = $1, status = $2, detail = $3, poll_at_ms = $4, poll_failures = $5, metadata = $6, transaction_id = $7 WHERE id = $8",
    )
    .bind(track.updated.millis())
    .bind(track.status().as_str())
    .bind(detail_of(track))
    .bind(track.poll_at.map(Timestamp::millis))
    .bind(track.poll_failures)
    .bind(track.metadata.clone())
    .bind(track.transaction.map(|t| t.to_string()))
    .bind(track.id.to_string())
    .execute(conn)
    .await?;
    Ok(())
}

/// Fills the histories of `tracks` (one query).
pub async fn load_histories(conn: &mut Conn, tracks: &mut [&mut Track]) -> Result<(), StoreError> {
    if tracks.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "SELECT {EVENT_COLUMNS} FROM tracking_events WHERE track_id IN ({}) ORDER BY occurred_ms, id",
        marks(backend_of(conn), 1, tracks.len())
    );
    let mut q = sqlx::query(&sql);
    for t in tracks.iter() {
        q = q.bind(t.id.to_string());
    }
    let mut by_track: HashMap<ObjectId, Vec<TrackEvent>> = HashMap::new();
    for row in q.fetch_all(conn).await? {
        let (track, event) = event_from_row(&row)?;
        by_track.entry(track).or_default().push(event);
    }
    for t in tracks.iter_mut() {
        t.history = by_track.remove(&t.id).unwrap_or_default();
    }
    Ok(())
}

type Query<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

async fn one(conn: &mut Conn, q: Query<'_>) -> Result<Option<Owned>, StoreError> {
    let Some(row) = q.fetch_optional(&mut *conn).await? else {
        return Ok(None);
    };
    let mut owned = from_row(&row)?;
    load_histories(conn, &mut [&mut owned.track]).await?;
    Ok(Some(owned))
}

/// `scope`'s track of `number` (of `carrier` if it has several), with its history.
pub async fn find(
    conn: &mut Conn,
    scope: Scope,
    carrier: &str,
    number: &str,
) -> Result<Option<Track>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM tracks WHERE account_id = $1 AND test = $2 AND tracking_number = $4 \
         ORDER BY CASE WHEN carrier = $3 THEN 0 ELSE 1 END, id LIMIT 1"
    );
    let q = sqlx::query(&sql)
        .bind(scope.account_id.to_string())
        .bind(i64::from(scope.test))
        .bind(carrier.to_string())
        .bind(number.to_string());
    Ok(one(conn, q).await?.map(|o| o.track))
}

/// A track by id (any account: for jobs, which carry the id).
pub async fn by_id(conn: &mut Conn, id: ObjectId) -> Result<Option<Owned>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM tracks WHERE id = $1");
    one(conn, sqlx::query(&sql).bind(id.to_string())).await
}

/// The track of `number` issued by `carrier_account` (the public page: a carrier account
/// belongs to one account and issues a number once).
pub async fn public(
    conn: &mut Conn,
    carrier_account: ObjectId,
    number: &str,
) -> Result<Option<Owned>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM tracks WHERE carrier_account_id = $1 AND tracking_number = $2 \
         ORDER BY id LIMIT 1"
    );
    let q = sqlx::query(&sql)
        .bind(carrier_account.to_string())
        .bind(number.to_string());
    one(conn, q).await
}

/// The carrier accounts whose tracks or labels carry `number`, at most two (the old unscoped
/// public links: they answer only while a number names one parcel).
pub async fn carrier_accounts_of_number(
    conn: &mut Conn,
    number: &str,
) -> Result<Vec<ObjectId>, StoreError> {
    let rows = sqlx::query(
        "SELECT carrier_account_id FROM tracks WHERE tracking_number = $1 AND carrier_account_id IS NOT NULL \
         UNION SELECT carrier_account_id FROM transactions WHERE tracking_number = $1 LIMIT 2",
    )
    .bind(number.to_string())
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| crate::rows::id_of(r.try_get("carrier_account_id")?))
        .collect()
}

/// The tracks of `transactions` (of `scope`), with histories, by transaction.
pub async fn of_transactions(
    conn: &mut Conn,
    scope: Scope,
    transactions: &[ObjectId],
) -> Result<HashMap<ObjectId, Track>, StoreError> {
    if transactions.is_empty() {
        return Ok(HashMap::new());
    }
    let b = backend_of(conn);
    let sql = format!(
        "SELECT {COLUMNS} FROM tracks WHERE account_id = {} AND test = {} AND transaction_id IN ({})",
        mark(b, 1),
        mark(b, 2),
        marks(b, 3, transactions.len())
    );
    let mut q = sqlx::query(&sql)
        .bind(scope.account_id.to_string())
        .bind(i64::from(scope.test));
    for t in transactions {
        q = q.bind(t.to_string());
    }
    let rows = q.fetch_all(&mut *conn).await?;
    let mut tracks: Vec<Track> = rows
        .iter()
        .map(|r| from_row(r).map(|o| o.track))
        .collect::<Result<_, _>>()?;
    load_histories(conn, &mut tracks.iter_mut().collect::<Vec<_>>()).await?;
    Ok(tracks
        .into_iter()
        .filter_map(|t| t.transaction.map(|id| (id, t)))
        .collect())
}

/// The tracks a carrier account issued among `numbers`, locked for the caller's transaction on
/// PostgreSQL (concurrent scans of one parcel queue up instead of racing), with histories.
pub async fn for_carrier_account(
    conn: &mut Conn,
    backend: Backend,
    carrier_account: ObjectId,
    numbers: &[String],
) -> Result<HashMap<String, Owned>, StoreError> {
    let mut out = HashMap::new();
    for chunk in numbers.chunks(900) {
        let lock = match backend {
            Backend::Postgres => " ORDER BY id FOR UPDATE",
            Backend::Sqlite => "",
        };
        let sql = format!(
            "SELECT {COLUMNS} FROM tracks WHERE carrier_account_id = {} AND tracking_number IN ({}){lock}",
            mark(backend, 1),
            marks(backend, 2, chunk.len())
        );
        let mut q = sqlx::query(&sql).bind(carrier_account.to_string());
        for n in chunk {
            q = q.bind(n.clone());
        }
        for row in q.fetch_all(&mut *conn).await? {
            let o = from_row(&row)?;
            out.insert(o.track.tracking_number.clone(), o);
        }
    }
    let mut refs: Vec<&mut Track> = out.values_mut().map(|o| &mut o.track).collect();
    for chunk in refs.chunks_mut(900) {
        load_histories(conn, chunk).await?;
    }
    Ok(out)
}

/// Claims up to `limit` tracks due for a poll by pushing their next poll `lease_ms` ahead
/// (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so processes never poll one track together).
pub async fn claim_due_polls(
    conn: &mut Conn,
    backend: Backend,
    limit: i64,
    lease_ms: i64,
) -> Result<Vec<ObjectId>, StoreError> {
    let lock = match backend {
        Backend::Postgres => "FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    let now = Timestamp::now().millis();
    let rows = sqlx::query(&format!(
        "UPDATE tracks SET poll_at_ms = $1 WHERE id IN (\
            SELECT id FROM tracks WHERE poll_at_ms IS NOT NULL AND poll_at_ms <= $2 \
            ORDER BY poll_at_ms LIMIT $3 {lock}) RETURNING id"
    ))
    .bind(now + lease_ms)
    .bind(now)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| id_of(&r.try_get::<String, _>("id")?))
        .collect()
}

/// Whether any track is due for a poll (a read, so an idle poller never writes).
pub async fn any_poll_due(conn: &mut Conn) -> Result<bool, StoreError> {
    Ok(sqlx::query(
        "SELECT id FROM tracks WHERE poll_at_ms IS NOT NULL AND poll_at_ms <= $1 LIMIT 1",
    )
    .bind(Timestamp::now().millis())
    .fetch_optional(conn)
    .await?
    .is_some())
}

/// A parcel that failed or came back, as the home page lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exception {
    pub transaction: Option<ObjectId>,
    pub tracking_number: String,
    pub status: String,
}

/// `scope`'s newest parcels (at most `limit`) whose latest event is FAILURE or RETURNED since
/// `since_ms`, on the `tracks_exceptions` index.
pub async fn exceptions(
    conn: &mut Conn,
    scope: Scope,
    since_ms: i64,
    limit: i64,
) -> Result<Vec<Exception>, StoreError> {
    let rows = sqlx::query(
        "SELECT transaction_id, tracking_number, status FROM tracks \
         WHERE account_id = $1 AND test = $2 AND status IN ('FAILURE', 'RETURNED') AND updated_ms >= $3 \
         ORDER BY updated_ms DESC LIMIT $4",
    )
    .bind(scope.account_id.to_string())
    .bind(i64::from(scope.test))
    .bind(since_ms)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            let t: Option<String> = r.try_get("transaction_id")?;
            Ok(Exception {
                transaction: t.as_deref().map(crate::rows::id_of).transpose()?,
                tracking_number: r.try_get("tracking_number")?,
                status: r.try_get("status")?,
            })
        })
        .collect()
}
