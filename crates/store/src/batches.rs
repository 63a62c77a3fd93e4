//! Batch rows and their shipments.

use domain::batch::{
    Batch, BatchCounts, BatchResultFilter, BatchShipment, BatchShipmentStatus, BatchStatus,
};
use domain::{ObjectId, Timestamp};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::insert::{Args, Rows};
use crate::page::scoped;
use crate::rows::{corrupt, id_of};
use crate::{Conn, Page, PageRequest, Scope, StoreError};

const COLUMNS: &str = "id, test, created_ms, updated_ms, status, default_carrier_account, default_servicelevel_token, label_filetype, metadata, label_keys, announced, idempotency_key, purchase_when_valid";

fn from_row(row: &AnyRow) -> Result<Batch, StoreError> {
    let status: String = row.try_get("status")?;
    Ok(Batch {
        id: id_of(row.try_get("id")?)?,
        created: Timestamp::from_millis(row.try_get("created_ms")?),
        updated: Timestamp::from_millis(row.try_get("updated_ms")?),
        test: row.try_get::<i64, _>("test")? != 0,
        status: BatchStatus::parse(&status).ok_or_else(|| corrupt("batch status", &status))?,
        default_carrier_account: id_of(row.try_get("default_carrier_account")?)?,
        default_servicelevel_token: row.try_get("default_servicelevel_token")?,
        label_filetype: row.try_get("label_filetype")?,
        metadata: row.try_get("metadata")?,
        label_keys: serde_json::from_str(row.try_get("label_keys")?)
            .map_err(|e| corrupt("batch label keys", e.to_string()))?,
        announced: row.try_get::<i64, _>("announced")? != 0,
        idempotency_key: row.try_get("idempotency_key")?,
        purchase_when_valid: row.try_get::<i64, _>("purchase_when_valid")? != 0,
    })
}

impl Rows for Batch {
    const TABLE: &'static str = "batches";
    const COLUMNS: &'static str = COLUMNS;
    const WIDTH: usize = 14;

    fn bind(&self, a: &mut Args, scope: Scope) {
        a.add(scope.account_id.to_string())
            .add(self.id.to_string())
            .add(i64::from(self.test))
            .add(self.created.millis())
            .add(self.updated.millis())
            .add(self.status.as_str())
            .add(self.default_carrier_account.to_string())
            .add(self.default_servicelevel_token.clone())
            .add(self.label_filetype.clone())
            .add(self.metadata.clone())
            .add(serde_json::to_string(&self.label_keys).expect("keys serialise"))
            .add(i64::from(self.announced))
            .add(self.idempotency_key.clone())
            .add(i64::from(self.purchase_when_valid));
    }
}

const SHIPMENT_COLUMNS: &str = "id, batch_id, position, status, request, shipment_id, order_id, carrier_account, servicelevel_token, metadata, rate_id, transaction_id, messages, removed";

fn opt_id(row: &AnyRow, col: &str) -> Result<Option<ObjectId>, StoreError> {
    let raw: Option<String> = row.try_get(col)?;
    raw.as_deref().map(id_of).transpose()
}

fn shipment_row(row: &AnyRow) -> Result<BatchShipment, StoreError> {
    let status: String = row.try_get("status")?;
    let request: Option<String> = row.try_get("request")?;
    Ok(BatchShipment {
        id: id_of(row.try_get("id")?)?,
        batch: id_of(row.try_get("batch_id")?)?,
        position: row.try_get("position")?,
        status: BatchShipmentStatus::parse(&status)
            .ok_or_else(|| corrupt("batch shipment status", &status))?,
        request: request
            .map(|r| serde_json::from_str(&r))
            .transpose()
            .map_err(|e| corrupt("batch shipment request", e.to_string()))?,
        shipment: opt_id(row, "shipment_id")?,
        order: opt_id(row, "order_id")?,
        carrier_account: opt_id(row, "carrier_account")?,
        servicelevel_token: row.try_get("servicelevel_token")?,
        metadata: row.try_get("metadata")?,
        rate: opt_id(row, "rate_id")?,
        transaction: opt_id(row, "transaction_id")?,
        messages: serde_json::from_str(row.try_get("messages")?)
            .map_err(|e| corrupt("batch shipment messages", e.to_string()))?,
    })
}

impl Rows for BatchShipment {
    const TABLE: &'static str = "batch_shipments";
    const COLUMNS: &'static str = SHIPMENT_COLUMNS;
    const WIDTH: usize = 15;

    fn bind(&self, a: &mut Args, scope: Scope) {
        a.add(scope.account_id.to_string())
            .add(self.id.to_string())
            .add(self.batch.to_string())
            .add(self.position)
            .add(self.status.as_str())
            .add(self.request.as_ref().map(|r| r.to_string()))
            .add(self.shipment.map(|s| s.to_string()))
            .add(self.order.map(|s| s.to_string()))
            .add(self.carrier_account.map(|s| s.to_string()))
            .add(self.servicelevel_token.clone())
            .add(self.metadata.clone())
            .add(self.rate.map(|s| s.to_string()))
            .add(self.transaction.map(|s| s.to_string()))
            .add(serde_json::to_string(&self.messages).expect("notes serialise"))
            .add(0_i64);
    }
}

/// Stores a batch.
pub async fn insert(conn: &mut Conn, scope: Scope, b: &Batch) -> Result<(), StoreError> {
    crate::insert::insert_rows(conn, scope, std::slice::from_ref(b)).await
}

/// Stores batch shipments (in chunks within every backend's limit on bound values).
pub async fn insert_shipments(
    conn: &mut Conn,
    scope: Scope,
    items: &[BatchShipment],
) -> Result<(), StoreError> {
    for chunk in items.chunks(500) {
        crate::insert::insert_rows(conn, scope, chunk).await?;
    }
    Ok(())
}

/// One batch of `scope`.
pub async fn get(conn: &mut Conn, scope: Scope, id: ObjectId) -> Result<Batch, StoreError> {
    scoped::get(conn, "batches", COLUMNS, scope, id, from_row).await
}

/// The batch of `scope` made with this idempotency key, if any.
pub async fn by_key(conn: &mut Conn, scope: Scope, key: &str) -> Result<Option<Batch>, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM batches WHERE account_id = $1 AND test = $2 AND idempotency_key = $3"
    ))
    .bind(scope.account_id.to_string())
    .bind(i64::from(scope.test))
    .bind(key.to_string())
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// One batch of `scope`, locked until the transaction ends: `FOR UPDATE` on PostgreSQL (SQLite's
/// single writer already serialises write transactions). Every write that changes a batch's
/// shipments or status takes this first and decides on what it reads here, so adding and
/// removing shipments, the start of a purchase and the end of a validation never interleave.
pub async fn get_for_update(
    conn: &mut Conn,
    scope: Scope,
    id: ObjectId,
) -> Result<Batch, StoreError> {
    let lock = match crate::insert::backend_of(conn) {
        crate::Backend::Postgres => " FOR UPDATE",
        crate::Backend::Sqlite => "",
    };
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM batches WHERE id = $1 AND account_id = $2 AND test = $3{lock}"
    ))
    .bind(id.to_string())
    .bind(scope.account_id.to_string())
    .bind(i64::from(scope.test))
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(from_row).ok_or(StoreError::NotFound)?
}

/// Moves a batch from `from` to `to`; false when it was not in `from` (someone else moved it).
pub async fn move_status(
    conn: &mut Conn,
    scope: Scope,
    id: ObjectId,
    from: &[BatchStatus],
    to: BatchStatus,
) -> Result<bool, StoreError> {
    let list: Vec<String> = from.iter().map(|s| format!("'{}'", s.as_str())).collect();
    let done = sqlx::query(&format!(
        "UPDATE batches SET status = $1, updated_ms = $2 WHERE id = $3 AND account_id = $4 AND test = $5 AND status IN ({})",
        list.join(", ")
    ))
    .bind(to.as_str())
    .bind(Timestamp::now().millis())
    .bind(id.to_string())
    .bind(scope.account_id.to_string())
    .bind(i64::from(scope.test))
    .execute(conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Marks `batch_created` sent; true when this call did it.
pub async fn mark_announced(conn: &mut Conn, id: ObjectId) -> Result<bool, StoreError> {
    let done = sqlx::query("UPDATE batches SET announced = 1 WHERE id = $1 AND announced = 0")
        .bind(id.to_string())
        .execute(conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Records the merged label files and PURCHASED; false when the batch was not PURCHASING.
pub async fn finish_purchase(
    conn: &mut Conn,
    id: ObjectId,
    label_keys: &[String],
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE batches SET status = 'PURCHASED', label_keys = $1, updated_ms = $2 WHERE id = $3 AND status = 'PURCHASING'",
    )
    .bind(serde_json::to_string(label_keys).expect("keys serialise"))
    .bind(Timestamp::now().millis())
    .bind(id.to_string())
    .execute(conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// The counts of a batch's shipments.
pub async fn counts(conn: &mut Conn, batch: ObjectId) -> Result<BatchCounts, StoreError> {
    let rows = sqlx::query(
        "SELECT status, transaction_id IS NOT NULL AS bought, COUNT(*) AS n FROM batch_shipments WHERE batch_id = $1 AND removed = 0 GROUP BY status, transaction_id IS NOT NULL",
    )
    .bind(batch.to_string())
    .fetch_all(conn)
    .await?;
    let mut c = BatchCounts::default();
    for row in rows {
        let status: String = row.try_get("status")?;
        let bought = row
            .try_get::<bool, _>("bought")
            .or_else(|_| row.try_get::<i64, _>("bought").map(|b| b != 0))?;
        let n: i64 = row.try_get("n")?;
        match BatchShipmentStatus::parse(&status) {
            Some(BatchShipmentStatus::Pending) => c.pending += n,
            Some(BatchShipmentStatus::Valid) => {
                c.creation_succeeded += n;
                if bought {
                    c.purchase_succeeded += n;
                }
            }
            Some(BatchShipmentStatus::TransactionFailed) => {
                c.creation_succeeded += n;
                c.purchase_failed += n;
            }
            Some(BatchShipmentStatus::Invalid | BatchShipmentStatus::Incomplete) => {
                c.creation_failed += n
            }
            None => return Err(corrupt("batch shipment status", status)),
        }
    }
    Ok(c)
}

/// A page of a batch's validated shipments in request order, filtered by `object_results`.
pub async fn shipments(
    conn: &mut Conn,
    batch: ObjectId,
    filter: Option<BatchResultFilter>,
    req: PageRequest,
) -> Result<Page<BatchShipment>, StoreError> {
    let condition = match filter {
        None => "status <> 'PENDING'",
        Some(BatchResultFilter::CreationSucceeded) => "status IN ('VALID', 'TRANSACTION_FAILED')",
        Some(BatchResultFilter::CreationFailed) => "status IN ('INVALID', 'INCOMPLETE')",
        Some(BatchResultFilter::PurchaseSucceeded) => {
            "status = 'VALID' AND transaction_id IS NOT NULL"
        }
        Some(BatchResultFilter::PurchaseFailed) => "status = 'TRANSACTION_FAILED'",
    };
    let total: i64 = sqlx::query(&format!(
        "SELECT COUNT(*) AS n FROM batch_shipments WHERE batch_id = $1 AND removed = 0 AND {condition}"
    ))
    .bind(batch.to_string())
    .fetch_one(&mut *conn)
    .await?
    .try_get("n")?;
    let rows = sqlx::query(&format!(
        "SELECT {SHIPMENT_COLUMNS} FROM batch_shipments WHERE batch_id = $1 AND removed = 0 AND {condition} ORDER BY position LIMIT $2 OFFSET $3"
    ))
    .bind(batch.to_string())
    .bind(i64::from(req.results))
    .bind(req.offset())
    .fetch_all(conn)
    .await?;
    Ok(Page {
        items: rows.iter().map(shipment_row).collect::<Result<_, _>>()?,
        total,
        request: req,
    })
}

/// Up to `limit` of a batch's shipments in `status` (not removed), in request order; with
/// `unbought`, only those without a transaction.
pub async fn in_status(
    conn: &mut Conn,
    batch: ObjectId,
    status: BatchShipmentStatus,
    unbought: bool,
    limit: i64,
) -> Result<Vec<BatchShipment>, StoreError> {
    let extra = if unbought {
        " AND transaction_id IS NULL"
    } else {
        ""
    };
    let rows = sqlx::query(&format!(
        "SELECT {SHIPMENT_COLUMNS} FROM batch_shipments WHERE batch_id = $1 AND status = $2 AND removed = 0{extra} ORDER BY position LIMIT $3"
    ))
    .bind(batch.to_string())
    .bind(status.as_str())
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter().map(shipment_row).collect()
}

/// One shipment of a batch (not removed).
pub async fn shipment(
    conn: &mut Conn,
    batch: ObjectId,
    id: ObjectId,
) -> Result<BatchShipment, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {SHIPMENT_COLUMNS} FROM batch_shipments WHERE batch_id = $1 AND id = $2 AND removed = 0"
    ))
    .bind(batch.to_string())
    .bind(id.to_string())
    .fetch_optional(conn)
    .await?
    .ok_or(StoreError::NotFound)?;
    shipment_row(&row)
}

/// Records what validating or buying a batch shipment found.
pub async fn record(conn: &mut Conn, s: &BatchShipment) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE batch_shipments SET status = $1, request = $2, shipment_id = $3, rate_id = $4, transaction_id = $5, messages = $6 WHERE id = $7",
    )
    .bind(s.status.as_str())
    .bind(s.request.as_ref().map(|r| r.to_string()))
    .bind(s.shipment.map(|v| v.to_string()))
    .bind(s.rate.map(|v| v.to_string()))
    .bind(s.transaction.map(|v| v.to_string()))
    .bind(serde_json::to_string(&s.messages).expect("notes serialise"))
    .bind(s.id.to_string())
    .execute(conn)
    .await?;
    Ok(())
}

/// Takes batch shipments out of a batch; answers how many were removed (unknown ids and
/// those already removed are left).
pub async fn remove(conn: &mut Conn, batch: ObjectId, ids: &[ObjectId]) -> Result<u64, StoreError> {
    let backend = crate::insert::backend_of(conn);
    let mut n = 0;
    for chunk in ids.chunks(500) {
        let sql = format!(
            "UPDATE batch_shipments SET removed = 1 WHERE batch_id = {} AND removed = 0 AND id IN ({})",
            crate::insert::mark(backend, 1),
            crate::insert::marks(backend, 2, chunk.len())
        );
        let mut q = sqlx::query(&sql).bind(batch.to_string());
        for id in chunk {
            q = q.bind(id.to_string());
        }
        n += q.execute(&mut *conn).await?.rows_affected();
    }
    Ok(n)
}

/// The next free position in a batch.
pub async fn next_position(conn: &mut Conn, batch: ObjectId) -> Result<i64, StoreError> {
    let row = sqlx::query(
        "SELECT COALESCE(MAX(position), -1) + 1 AS n FROM batch_shipments WHERE batch_id = $1",
    )
    .bind(batch.to_string())
    .fetch_one(conn)
    .await?;
    Ok(row.try_get("n")?)
}

/// The label files of a batch's bought shipments, in request order.
pub async fn label_keys(conn: &mut Conn, batch: ObjectId) -> Result<Vec<String>, StoreError> {
    let rows = sqlx::query(
        "SELECT t.label_key FROM batch_shipments b JOIN transactions t ON t.id = b.transaction_id WHERE b.batch_id = $1 AND b.removed = 0 AND t.status = 'SUCCESS' AND t.label_key IS NOT NULL ORDER BY b.position",
    )
    .bind(batch.to_string())
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| r.try_get::<String, _>("label_key").map_err(Into::into))
        .collect()
}

/// `scope`'s batches, newest first, older than `before` when given (keyset pages): at most
/// `limit`, and whether more follow.
pub async fn list(
    conn: &mut Conn,
    scope: Scope,
    before: Option<ObjectId>,
    limit: u32,
) -> Result<(Vec<Batch>, bool), StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM batches WHERE account_id = $1 AND test = $2 AND id < $3 ORDER BY id DESC LIMIT $4"
    ))
    .bind(scope.account_id.to_string())
    .bind(i64::from(scope.test))
    .bind(crate::page::before_bound(before))
    .bind(i64::from(limit) + 1)
    .fetch_all(conn)
    .await?;
    let more = rows.len() > limit as usize;
    let items = rows
        .iter()
        .take(limit as usize)
        .map(from_row)
        .collect::<Result<_, _>>()?;
    Ok((items, more))
}

/// Whether a purchase of the batch failed for some shipment (one index probe, no count).
pub async fn any_purchase_failed(conn: &mut Conn, batch: ObjectId) -> Result<bool, StoreError> {
    Ok(sqlx::query(
        "SELECT 1 AS one FROM batch_shipments WHERE batch_id = $1 AND status = 'TRANSACTION_FAILED' AND removed = 0 LIMIT 1",
    )
    .bind(batch.to_string())
    .fetch_optional(conn)
    .await?
    .is_some())
}

/// The first `limit` validated shipments of a batch in its order (no count).
pub async fn first_shipments(
    conn: &mut Conn,
    batch: ObjectId,
    limit: u32,
) -> Result<Vec<BatchShipment>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {SHIPMENT_COLUMNS} FROM batch_shipments WHERE batch_id = $1 AND removed = 0 AND status <> 'PENDING' ORDER BY position LIMIT $2"
    ))
    .bind(batch.to_string())
    .bind(i64::from(limit))
    .fetch_all(conn)
    .await?;
    rows.iter().map(shipment_row).collect()
}
