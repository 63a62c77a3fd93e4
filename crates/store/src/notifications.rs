//! Buyer notifications (one row per parcel and kind, ever) and each account's email settings.

use domain::tracking::NotificationKind;
use domain::{ObjectId, Timestamp};
use sqlx::Row;

use crate::{Conn, Scope, StoreError};

/// Where a notification stands.
pub const QUEUED: &str = "QUEUED";
/// Sent to the mail server.
pub const SENT: &str = "SENT";
/// Every attempt failed, or there was nobody to send it to.
pub const FAILED: &str = "FAILED";

/// A notification row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub id: ObjectId,
    pub scope: Scope,
    pub track: ObjectId,
    pub kind: NotificationKind,
    pub recipient: String,
    pub status: String,
    pub error: Option<String>,
}

/// Records that `kind` is due for a track, unless it already was: `true` when this call created
/// it (the caller then enqueues the send). The unique (track, kind) index makes it at most once
/// per parcel, however often the same event arrives.
pub async fn claim(
    conn: &mut Conn,
    scope: Scope,
    id: ObjectId,
    track: ObjectId,
    kind: NotificationKind,
    recipient: &str,
) -> Result<bool, StoreError> {
    let now = Timestamp::now().millis();
    let done = sqlx::query(
        "INSERT INTO notifications (id, account_id, test, created_ms, updated_ms, track_id, kind, recipient, status) \
         VALUES ($1, $2, $3, $4, $4, $5, $6, $7, $8) ON CONFLICT (track_id, kind) DO NOTHING",
    )
    .bind(id.to_string())
    .bind(scope.account_id.to_string())
    .bind(i64::from(scope.test))
    .bind(now)
    .bind(track.to_string())
    .bind(kind.as_str())
    .bind(recipient.to_string())
    .bind(QUEUED)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A notification by id.
pub async fn get(conn: &mut Conn, id: ObjectId) -> Result<Notification, StoreError> {
    let row = sqlx::query(
        "SELECT id, account_id, test, track_id, kind, recipient, status, error FROM notifications WHERE id = $1",
    )
    .bind(id.to_string())
    .fetch_one(conn)
    .await?;
    let bad = |v: &str| StoreError::Corrupt(format!("notification {v:?}"));
    let id_of = |col: &str| -> Result<ObjectId, StoreError> {
        let raw: String = row.try_get(col)?;
        ObjectId::parse(&raw).ok_or_else(|| bad(&raw))
    };
    let kind: String = row.try_get("kind")?;
    Ok(Notification {
        id: id_of("id")?,
        scope: Scope {
            account_id: id_of("account_id")?,
            test: row.try_get::<i64, _>("test")? != 0,
        },
        track: id_of("track_id")?,
        kind: NotificationKind::parse(&kind).ok_or_else(|| bad(&kind))?,
        recipient: row.try_get("recipient")?,
        status: row.try_get("status")?,
        error: row.try_get("error")?,
    })
}

/// One buyer email as an order's timeline shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    pub track: ObjectId,
    pub kind: String,
    pub recipient: String,
    pub status: String,
    /// When it last changed (queued, sent or given up).
    pub updated_ms: i64,
}

/// The buyer emails of some of `scope`'s parcels (their tracks), at most two per parcel.
pub async fn of_tracks(
    conn: &mut Conn,
    scope: Scope,
    tracks: &[ObjectId],
) -> Result<Vec<Sent>, StoreError> {
    let mut out = Vec::new();
    // A handful per order: one probe of the (track, kind) index each.
    for track in tracks.iter().take(50) {
        let rows = sqlx::query(
            "SELECT kind, recipient, status, updated_ms FROM notifications WHERE track_id = $1 AND account_id = $2 AND test = $3",
        )
        .bind(track.to_string())
        .bind(scope.account_id.to_string())
        .bind(i64::from(scope.test))
        .fetch_all(&mut *conn)
        .await?;
        for r in rows {
            out.push(Sent {
                track: *track,
                kind: r.try_get("kind")?,
                recipient: r.try_get("recipient")?,
                status: r.try_get("status")?,
                updated_ms: r.try_get("updated_ms")?,
            });
        }
    }
    Ok(out)
}

/// Sets a notification's status (and the last error, if any).
pub async fn set_status(
    conn: &mut Conn,
    id: ObjectId,
    status: &str,
    error: Option<&str>,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE notifications SET status = $1, error = $2, updated_ms = $3 WHERE id = $4")
        .bind(status)
        .bind(error.map(str::to_string))
        .bind(Timestamp::now().millis())
        .bind(id.to_string())
        .execute(conn)
        .await?;
    Ok(())
}

/// An account's email settings as stored (JSON), if it changed the defaults.
pub async fn settings(conn: &mut Conn, account: ObjectId) -> Result<Option<String>, StoreError> {
    Ok(
        sqlx::query("SELECT notification_settings FROM accounts WHERE id = $1")
            .bind(account.to_string())
            .fetch_one(conn)
            .await?
            .try_get("notification_settings")?,
    )
}

/// Saves an account's email settings (JSON).
pub async fn save_settings(
    conn: &mut Conn,
    account: ObjectId,
    json: &str,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE accounts SET notification_settings = $1 WHERE id = $2")
        .bind(json.to_string())
        .bind(account.to_string())
        .execute(conn)
        .await?;
    Ok(())
}
