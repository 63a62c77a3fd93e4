//! Webhook subscriptions and their deliveries (the outbox).

use domain::webhook::{Attempt, Delivery, DeliveryStatus, Webhook, WebhookEvent};
use domain::{ObjectId, Timestamp};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::insert::{insert_rows, Args, Rows};
use crate::page::scoped;
use crate::rows::{corrupt, id_of};
use crate::{Conn, Page, PageRequest, Scope, StoreError};

const COLUMNS: &str = "id, test, created_ms, updated_ms, url, event, active, secret";
const DELIVERY_COLUMNS: &str =
    "id, test, created_ms, updated_ms, webhook_id, event, payload, status, attempts";

/// A subscription with its signing secret as stored (encrypted by the service layer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub webhook: Webhook,
    pub secret: String,
}

fn from_row(row: &AnyRow) -> Result<Stored, StoreError> {
    let event: String = row.try_get("event")?;
    Ok(Stored {
        webhook: Webhook {
            id: id_of(row.try_get("id")?)?,
            created: Timestamp::from_millis(row.try_get("created_ms")?),
            updated: Timestamp::from_millis(row.try_get("updated_ms")?),
            is_test: row.try_get::<i64, _>("test")? != 0,
            url: row.try_get("url")?,
            event: WebhookEvent::parse(&event).ok_or_else(|| corrupt("webhook event", &event))?,
            active: row.try_get::<i64, _>("active")? != 0,
        },
        secret: row.try_get("secret")?,
    })
}

impl Rows for Stored {
    const TABLE: &'static str = "webhooks";
    const COLUMNS: &'static str = COLUMNS;
    const WIDTH: usize = 9;

    fn bind(&self, a: &mut Args, scope: Scope) {
        let w = &self.webhook;
        a.add(scope.account_id.to_string())
            .add(w.id.to_string())
            .add(i64::from(w.is_test))
            .add(w.created.millis())
            .add(w.updated.millis())
            .add(w.url.clone())
            .add(w.event.as_str())
            .add(i64::from(w.active))
            .add(self.secret.clone());
    }
}

/// Stores a subscription.
pub async fn insert(conn: &mut Conn, scope: Scope, w: &Stored) -> Result<(), StoreError> {
    insert_rows(conn, scope, std::slice::from_ref(w)).await
}

/// One subscription of `scope` (deleted ones are gone).
pub async fn get(conn: &mut Conn, scope: Scope, id: ObjectId) -> Result<Stored, StoreError> {
    scoped::get_where(
        conn,
        "webhooks",
        COLUMNS,
        scope,
        id,
        "deleted_ms IS NULL",
        from_row,
    )
    .await
}

/// A subscription by id in any account, deleted or not (delivery jobs carry the id).
pub async fn by_id(conn: &mut Conn, id: ObjectId) -> Result<(Stored, bool), StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS}, deleted_ms FROM webhooks WHERE id = $1"
    ))
    .bind(id.to_string())
    .fetch_one(conn)
    .await?;
    let deleted = row.try_get::<Option<i64>, _>("deleted_ms")?.is_some();
    Ok((from_row(&row)?, deleted))
}

/// `scope`'s subscriptions, newest first.
pub async fn list(
    conn: &mut Conn,
    scope: Scope,
    req: PageRequest,
) -> Result<Page<Stored>, StoreError> {
    scoped::list_where(
        conn,
        "webhooks",
        COLUMNS,
        scope,
        "deleted_ms IS NULL",
        req,
        from_row,
    )
    .await
}

/// The active subscriptions of `scope` that receive `event`.
pub async fn subscribers(
    conn: &mut Conn,
    scope: Scope,
    event: WebhookEvent,
) -> Result<Vec<Webhook>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM webhooks WHERE account_id = $1 AND test = $2 AND active = 1 AND deleted_ms IS NULL AND (event = $3 OR event = 'all')"
    ))
    .bind(scope.account_id.to_string())
    .bind(i64::from(scope.test))
    .bind(event.as_str())
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| from_row(r).map(|s| s.webhook))
        .collect()
}

/// Saves a subscription's url, event and active flag.
pub async fn update(conn: &mut Conn, scope: Scope, w: &Webhook) -> Result<(), StoreError> {
    let done = sqlx::query(
        "UPDATE webhooks SET url = $1, event = $2, active = $3, updated_ms = $4 WHERE id = $5 AND account_id = $6 AND test = $7 AND deleted_ms IS NULL",
    )
    .bind(w.url.clone())
    .bind(w.event.as_str())
    .bind(i64::from(w.active))
    .bind(w.updated.millis())
    .bind(w.id.to_string())
    .bind(scope.account_id.to_string())
    .bind(i64::from(scope.test))
    .execute(conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Deletes a subscription (kept as a tombstone so its delivery log stays readable; pending
/// deliveries to it stop).
pub async fn delete(conn: &mut Conn, scope: Scope, id: ObjectId) -> Result<(), StoreError> {
    let done = sqlx::query(
        "UPDATE webhooks SET deleted_ms = $1 WHERE id = $2 AND account_id = $3 AND test = $4 AND deleted_ms IS NULL",
    )
    .bind(Timestamp::now().millis())
    .bind(id.to_string())
    .bind(scope.account_id.to_string())
    .bind(i64::from(scope.test))
    .execute(conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

fn delivery_from_row(row: &AnyRow) -> Result<Delivery, StoreError> {
    let event: String = row.try_get("event")?;
    let status: String = row.try_get("status")?;
    let attempts: String = row.try_get("attempts")?;
    Ok(Delivery {
        id: id_of(row.try_get("id")?)?,
        created: Timestamp::from_millis(row.try_get("created_ms")?),
        updated: Timestamp::from_millis(row.try_get("updated_ms")?),
        webhook: id_of(row.try_get("webhook_id")?)?,
        event: WebhookEvent::parse(&event).ok_or_else(|| corrupt("webhook event", &event))?,
        payload: row.try_get("payload")?,
        status: DeliveryStatus::parse(&status).ok_or_else(|| corrupt("webhook status", &status))?,
        attempts: serde_json::from_str(&attempts)
            .map_err(|e| corrupt("webhook attempts", e.to_string()))?,
    })
}

/// A delivery row with its scope (the outbox is written for whichever account an event is in).
pub struct NewDelivery<'a> {
    pub scope: Scope,
    pub delivery: &'a Delivery,
}

impl Rows for NewDelivery<'_> {
    const TABLE: &'static str = "webhook_deliveries";
    const COLUMNS: &'static str = "account_id, id, test, created_ms, updated_ms, webhook_id, event, payload, status, attempts";
    const SCOPED: bool = false;
    const WIDTH: usize = 10;

    fn bind(&self, a: &mut Args, _: Scope) {
        let d = self.delivery;
        a.add(self.scope.account_id.to_string())
            .add(d.id.to_string())
            .add(i64::from(self.scope.test))
            .add(d.created.millis())
            .add(d.updated.millis())
            .add(d.webhook.to_string())
            .add(d.event.as_str())
            .add(d.payload.clone())
            .add(d.status.as_str())
            .add(serde_json::to_string(&d.attempts).expect("attempts serialise"));
    }
}

/// Stores deliveries (in the transaction of the change that caused them).
pub async fn insert_deliveries(
    conn: &mut Conn,
    items: &[NewDelivery<'_>],
) -> Result<(), StoreError> {
    crate::insert::insert_unscoped(conn, items, 500).await
}

/// A delivery by id, in any account (delivery jobs carry the id).
pub async fn delivery_by_id(conn: &mut Conn, id: ObjectId) -> Result<Delivery, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE id = $1"
    ))
    .bind(id.to_string())
    .fetch_one(conn)
    .await?;
    delivery_from_row(&row)
}

/// One delivery of `scope`.
pub async fn delivery(conn: &mut Conn, scope: Scope, id: ObjectId) -> Result<Delivery, StoreError> {
    scoped::get(
        conn,
        "webhook_deliveries",
        DELIVERY_COLUMNS,
        scope,
        id,
        delivery_from_row,
    )
    .await
}

/// A page of one subscription's deliveries (of `scope`), newest first.
pub async fn deliveries(
    conn: &mut Conn,
    scope: Scope,
    webhook: ObjectId,
    req: PageRequest,
) -> Result<Page<Delivery>, StoreError> {
    let total: i64 = sqlx::query(
        "SELECT COUNT(*) AS n FROM webhook_deliveries WHERE account_id = $1 AND test = $2 AND webhook_id = $3",
    )
    .bind(scope.account_id.to_string())
    .bind(i64::from(scope.test))
    .bind(webhook.to_string())
    .fetch_one(&mut *conn)
    .await?
    .try_get("n")?;
    let rows = sqlx::query(&format!(
        "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE account_id = $1 AND test = $2 AND webhook_id = $3 ORDER BY id DESC LIMIT $4 OFFSET $5"
    ))
    .bind(scope.account_id.to_string())
    .bind(i64::from(scope.test))
    .bind(webhook.to_string())
    .bind(i64::from(req.results))
    .bind(req.offset())
    .fetch_all(conn)
    .await?;
    Ok(Page {
        items: rows
            .iter()
            .map(delivery_from_row)
            .collect::<Result<_, _>>()?,
        total,
        request: req,
    })
}

/// Records an attempt's outcome and the delivery's new status.
pub async fn record_attempt(
    conn: &mut Conn,
    id: ObjectId,
    status: DeliveryStatus,
    attempts: &[Attempt],
    at: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE webhook_deliveries SET status = $1, attempts = $2, updated_ms = $3 WHERE id = $4",
    )
    .bind(status.as_str())
    .bind(serde_json::to_string(attempts).expect("attempts serialise"))
    .bind(at.millis())
    .bind(id.to_string())
    .execute(conn)
    .await?;
    Ok(())
}

/// How many of `scope`'s webhook deliveries gave up since `since_ms`, counted to `cap` + 1 at
/// most (on the `webhook_deliveries_status` index).
pub async fn failed_since(
    conn: &mut Conn,
    scope: Scope,
    since_ms: i64,
    cap: i64,
) -> Result<i64, StoreError> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS n FROM (SELECT 1 AS one FROM webhook_deliveries \
         WHERE account_id = $1 AND test = $2 AND status = 'FAILED' AND updated_ms >= $3 LIMIT $4) capped",
    )
    .bind(scope.account_id.to_string())
    .bind(i64::from(scope.test))
    .bind(since_ms)
    .bind(cap + 1)
    .fetch_one(conn)
    .await?;
    Ok(row.try_get("n")?)
}
