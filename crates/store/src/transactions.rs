//! Transaction (label purchase) rows and tracking-number serials.

use domain::shipment::Note;
use domain::transaction::{Transaction, TransactionStatus};
use domain::{ObjectId, Timestamp};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::insert::{Args, Rows, Script};
use crate::jobs::NewJob;
use crate::page::scoped;
use crate::rows::{corrupt, id_of};
use crate::{Backend, Conn, Page, PageRequest, Scope, StoreError};

const COLUMNS: &str = "id, test, created_ms, updated_ms, status, rate_id, shipment_id, carrier_account_id, address_from, shipment_date_ms, label_file_type, metadata, tracking_number, tracking_url, eta_ms, label_key, invoice_key, messages, instalabel, idempotency_key, manifest_id, remote";

fn from_row(row: &AnyRow) -> Result<Transaction, StoreError> {
    let status: String = row.try_get("status")?;
    let messages: String = row.try_get("messages")?;
    let manifest: Option<String> = row.try_get("manifest_id")?;
    Ok(Transaction {
        id: id_of(row.try_get("id")?)?,
        created: Timestamp::from_millis(row.try_get("created_ms")?),
        updated: Timestamp::from_millis(row.try_get("updated_ms")?),
        test: row.try_get::<i64, _>("test")? != 0,
        status: TransactionStatus::parse(&status)
            .ok_or_else(|| corrupt("transaction status", &status))?,
        rate: id_of(row.try_get("rate_id")?)?,
        shipment: id_of(row.try_get("shipment_id")?)?,
        carrier_account: id_of(row.try_get("carrier_account_id")?)?,
        address_from: id_of(row.try_get("address_from")?)?,
        shipment_date: Timestamp::from_millis(row.try_get("shipment_date_ms")?),
        label_file_type: row.try_get("label_file_type")?,
        metadata: row.try_get("metadata")?,
        tracking_number: row.try_get("tracking_number")?,
        tracking_url: row.try_get("tracking_url")?,
        eta: row
            .try_get::<Option<i64>, _>("eta_ms")?
            .map(Timestamp::from_millis),
        label_key: row.try_get("label_key")?,
        invoice_key: row.try_get("invoice_key")?,
        messages: serde_json::from_str(&messages)
            .map_err(|e| corrupt("transaction messages", e.to_string()))?,
        instalabel: row.try_get::<i64, _>("instalabel")? != 0,
        idempotency_key: row.try_get("idempotency_key")?,
        manifest: manifest.as_deref().map(id_of).transpose()?,
        remote: row
            .try_get::<Option<String>, _>("remote")?
            .map(|r| serde_json::from_str(&r))
            .transpose()
            .map_err(|e| corrupt("transaction remote", e.to_string()))?,
    })
}

impl Rows for Transaction {
    const TABLE: &'static str = "transactions";
    const COLUMNS: &'static str = COLUMNS;
    const WIDTH: usize = 23;

    fn bind(&self, a: &mut Args, scope: Scope) {
        a.add(scope.account_id.to_string())
            .add(self.id.to_string())
            .add(i64::from(self.test))
            .add(self.created.millis())
            .add(self.updated.millis())
            .add(self.status.as_str())
            .add(self.rate.to_string())
            .add(self.shipment.to_string())
            .add(self.carrier_account.to_string())
            .add(self.address_from.to_string())
            .add(self.shipment_date.millis())
            .add(self.label_file_type.clone())
            .add(self.metadata.clone())
            .add(self.tracking_number.clone())
            .add(self.tracking_url.clone())
            .add(self.eta.map(|t| t.millis()))
            .add(self.label_key.clone())
            .add(self.invoice_key.clone())
            .add(serde_json::to_string(&self.messages).expect("notes serialise"))
            .add(i64::from(self.instalabel))
            .add(self.idempotency_key.clone())
            .add(self.manifest.map(|m| m.to_string()))
            .add(self.remote.as_ref().map(|r| r.to_string()));
    }
}

/// The writes of a purchase: the transaction, the track that follows it (labels an adapter asks
/// Consign to poll), its `transaction_created` deliveries and the jobs
/// (the background purchase, the deliveries'), in one statement. Fails with a conflict when the
/// rate (or the idempotency key) was already used.
pub fn purchase_script(
    backend: Backend,
    scope: Scope,
    t: &Transaction,
    jobs: &[NewJob],
    deliveries: &[crate::webhooks::NewDelivery<'_>],
    tracks: &[domain::tracking::Track],
) -> Script {
    let mut script = Script::new(backend);
    script.insert(scope, std::slice::from_ref(t));
    script.insert(scope, tracks);
    script.insert(scope, deliveries);
    script.insert(scope, jobs);
    script
}

/// One transaction of `scope`.
pub async fn get(conn: &mut Conn, scope: Scope, id: ObjectId) -> Result<Transaction, StoreError> {
    scoped::get(conn, "transactions", COLUMNS, scope, id, from_row).await
}

/// The transaction that bought `rate`, if any (within `scope`).
pub async fn find_by_rate(
    conn: &mut Conn,
    scope: Scope,
    rate: ObjectId,
) -> Result<Option<Transaction>, StoreError> {
    // By the rate alone, so every planner takes the unique index on `rate_id` (with the owner in
    // the WHERE clause PostgreSQL, before its first ANALYZE, scanned the owner's index and
    // filtered every one of its transactions); the scope is checked on the one row.
    let row = sqlx::query(&format!(
        "SELECT account_id AS owner, {COLUMNS} FROM transactions WHERE rate_id = $1"
    ))
    .bind(rate.to_string())
    .fetch_optional(conn)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let owner: String = row.try_get("owner")?;
    let t = from_row(&row)?;
    Ok((owner == scope.account_id.to_string() && t.test == scope.test).then_some(t))
}

/// The account's transaction made with `Idempotency-Key: key`, if any.
pub async fn find_by_key(
    conn: &mut Conn,
    scope: Scope,
    key: &str,
) -> Result<Option<Transaction>, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM transactions WHERE account_id = $1 AND idempotency_key = $2"
    ))
    .bind(scope.account_id.to_string())
    .bind(key.to_string())
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(from_row).transpose()
}

pub use domain::transaction::TransactionFilter;

/// A page of `scope`'s transactions, newest first.
pub async fn list(
    conn: &mut Conn,
    scope: Scope,
    filter: &TransactionFilter,
    req: PageRequest,
) -> Result<Page<Transaction>, StoreError> {
    let tracking = match filter.tracking {
        None => "",
        Some(domain::tracking::TrackStatus::Unknown) => " AND tracking_number IS NOT NULL AND NOT EXISTS (SELECT 1 FROM tracks k WHERE k.transaction_id = transactions.id AND k.status <> 'UNKNOWN')",
        Some(_) => " AND EXISTS (SELECT 1 FROM tracks k WHERE k.transaction_id = transactions.id AND k.status = $T)",
    };
    let condition = format!("account_id = $1 AND test = $2 AND ($3 IS NULL OR rate_id = $3) AND ($4 IS NULL OR status = $4){tracking}");
    let tracked = filter.tracking.map(|t| t.as_str().to_string());
    let rate = filter.rate.map(|r| r.to_string());
    let status = filter.status.map(|s| s.as_str().to_string());
    // The tracking filter's placeholder ($T) follows the others of each query.
    let moving = filter
        .tracking
        .is_some_and(|t| t != domain::tracking::TrackStatus::Unknown);
    let count_sql = format!(
        "SELECT COUNT(*) AS n FROM transactions WHERE {}",
        condition.replace("$T", "$5")
    );
    let mut q = sqlx::query(&count_sql)
        .bind(scope.account_id.to_string())
        .bind(i64::from(scope.test))
        .bind(rate.clone())
        .bind(status.clone());
    if moving {
        q = q.bind(tracked.clone());
    }
    let total: i64 = q.fetch_one(&mut *conn).await?.try_get("n")?;
    let page_sql = format!(
        "SELECT {COLUMNS} FROM transactions WHERE {} ORDER BY id DESC LIMIT $5 OFFSET $6",
        condition.replace("$T", "$7")
    );
    let mut q = sqlx::query(&page_sql)
        .bind(scope.account_id.to_string())
        .bind(i64::from(scope.test))
        .bind(rate)
        .bind(status)
        .bind(i64::from(req.results))
        .bind(req.offset());
    if moving {
        q = q.bind(tracked);
    }
    let rows = q.fetch_all(conn).await?;
    Ok(Page {
        items: rows.iter().map(from_row).collect::<Result<_, _>>()?,
        total,
        request: req,
    })
}

/// Records the outcome of a background purchase (only while it is still QUEUED, so a job that
/// runs twice changes nothing the second time). Returns whether it changed the row.
pub async fn finish_purchase(conn: &mut Conn, t: &Transaction) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE transactions SET status = $1, updated_ms = $2, tracking_number = $3, tracking_url = $4, eta_ms = $5, \
         label_key = $6, invoice_key = $7, messages = $8, remote = $9 WHERE id = $10 AND status = 'QUEUED'",
    )
    .bind(t.status.as_str())
    .bind(t.updated.millis())
    .bind(t.tracking_number.clone())
    .bind(t.tracking_url.clone())
    .bind(t.eta.map(|e| e.millis()))
    .bind(t.label_key.clone())
    .bind(t.invoice_key.clone())
    .bind(serde_json::to_string(&t.messages).expect("notes serialise"))
    .bind(t.remote.as_ref().map(|r| r.to_string()))
    .bind(t.id.to_string())
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Moves a transaction from `from` to `to` (refunds); returns whether it was in `from`.
pub async fn move_status(
    conn: &mut Conn,
    id: ObjectId,
    from: TransactionStatus,
    to: TransactionStatus,
    messages: Option<&[Note]>,
    at: Timestamp,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE transactions SET status = $1, updated_ms = $2, messages = COALESCE($3, messages) WHERE id = $4 AND status = $5",
    )
    .bind(to.as_str())
    .bind(at.millis())
    .bind(messages.map(|m| serde_json::to_string(m).expect("notes serialise")))
    .bind(id.to_string())
    .bind(from.as_str())
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Successful, unmanifested labels of one carrier account whose shipment date falls in
/// `[from, until)`, oldest first. The sender address is not a filter: as at Shippo, a manifest's
/// `address_from` is the pickup address printed on the scan form, and clients that send
/// addresses inline get a new address object per shipment.
pub async fn manifestable(
    conn: &mut Conn,
    scope: Scope,
    carrier_account: ObjectId,
    from: Timestamp,
    until: Timestamp,
) -> Result<Vec<Transaction>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM transactions WHERE carrier_account_id = $1 \
         AND shipment_date_ms >= $2 AND shipment_date_ms < $3 AND account_id = $4 AND test = $5 \
         AND status = 'SUCCESS' AND manifest_id IS NULL ORDER BY id"
    ))
    .bind(carrier_account.to_string())
    .bind(from.millis())
    .bind(until.millis())
    .bind(scope.account_id.to_string())
    .bind(i64::from(scope.test))
    .fetch_all(conn)
    .await?;
    rows.iter().map(from_row).collect()
}

/// Puts labels on a manifest: only successful labels not on another manifest. Returns how many
/// were taken.
pub async fn assign_manifest(
    conn: &mut Conn,
    ids: &[ObjectId],
    manifest: ObjectId,
    at: Timestamp,
) -> Result<u64, StoreError> {
    let mut taken = 0;
    for chunk in ids.chunks(500) {
        let placeholders: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 3)).collect();
        let sql = format!(
            "UPDATE transactions SET manifest_id = $1, updated_ms = $2 WHERE manifest_id IS NULL AND status = 'SUCCESS' AND id IN ({})",
            placeholders.join(", ")
        );
        let mut q = sqlx::query(&sql)
            .bind(manifest.to_string())
            .bind(at.millis());
        for id in chunk {
            q = q.bind(id.to_string());
        }
        taken += q.execute(&mut *conn).await?.rows_affected();
    }
    Ok(taken)
}

/// The transactions on a manifest, oldest first.
pub async fn on_manifest(
    conn: &mut Conn,
    manifest: ObjectId,
) -> Result<Vec<Transaction>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM transactions WHERE manifest_id = $1 ORDER BY id"
    ))
    .bind(manifest.to_string())
    .fetch_all(conn)
    .await?;
    rows.iter().map(from_row).collect()
}

/// Reserves `n` tracking serials of a series (a carrier account's id, or a series shared by
/// many accounts) and returns the first: the block `[first, first + n)` is this caller's alone,
/// on every backend and across processes.
pub async fn reserve_serials(conn: &mut Conn, series: &str, n: i64) -> Result<i64, StoreError> {
    let next: i64 = sqlx::query(
        "INSERT INTO serial_series (series, next_serial) VALUES ($1, $2 + 1) \
         ON CONFLICT (series) DO UPDATE SET next_serial = serial_series.next_serial + $2 \
         RETURNING next_serial",
    )
    .bind(series.to_string())
    .bind(n)
    .fetch_one(conn)
    .await?
    .try_get("next_serial")?;
    Ok(next - n)
}

/// Moves a successful, unmanifested label to REFUNDPENDING; false when it is not (any more).
pub async fn begin_refund(
    conn: &mut Conn,
    id: ObjectId,
    at: Timestamp,
) -> Result<bool, StoreError> {
    let done = sqlx::query("UPDATE transactions SET status = 'REFUNDPENDING', updated_ms = $1 WHERE id = $2 AND status = 'SUCCESS' AND manifest_id IS NULL")
        .bind(at.millis())
        .bind(id.to_string())
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// What a track needs from the label Consign sold for it.
#[derive(Debug, Clone, PartialEq)]
pub struct Label {
    pub scope: Scope,
    pub transaction: ObjectId,
    pub carrier_account: ObjectId,
    /// The carrier account's carrier token (`ratecard`, `shippo`).
    pub carrier: String,
    pub tracking_number: String,
    pub eta: Option<Timestamp>,
    pub rate: domain::shipment::RateDetails,
    /// (city, state, zip, country) of the sender and the recipient.
    pub from: [String; 4],
    pub to: [String; 4],
    /// The recipient's email ("" when none): the shipment's, else that of an order the label
    /// carries.
    pub to_email: String,
}

fn label_from_row(row: &AnyRow) -> Result<Label, StoreError> {
    let quote: String = row.try_get("quote")?;
    let four = |p: &str| -> Result<[String; 4], StoreError> {
        Ok([
            row.try_get(format!("{p}_city").as_str())?,
            row.try_get(format!("{p}_state").as_str())?,
            row.try_get(format!("{p}_zip").as_str())?,
            row.try_get(format!("{p}_country").as_str())?,
        ])
    };
    Ok(Label {
        scope: Scope {
            account_id: id_of(row.try_get("account_id")?)?,
            test: row.try_get::<i64, _>("test")? != 0,
        },
        transaction: id_of(row.try_get("id")?)?,
        carrier_account: id_of(row.try_get("carrier_account_id")?)?,
        carrier: row.try_get("carrier")?,
        tracking_number: row.try_get("tracking_number")?,
        eta: row
            .try_get::<Option<i64>, _>("eta_ms")?
            .map(Timestamp::from_millis),
        rate: serde_json::from_str(&quote)
            .map_err(|e| corrupt("transaction rate", e.to_string()))?,
        from: four("f")?,
        to: four("t")?,
        to_email: row.try_get("t_email")?,
    })
}

const LABEL_SELECT: &str = "SELECT t.id, t.account_id, t.test, t.carrier_account_id, c.carrier, t.tracking_number, t.eta_ms, r.quote, \
     f.city AS f_city, f.state_code AS f_state, f.zip AS f_zip, f.country AS f_country, \
     a.city AS t_city, a.state_code AS t_state, a.zip AS t_zip, a.country AS t_country, COALESCE(NULLIF(a.email, ''), (SELECT oa.email FROM order_parcels op JOIN orders o ON o.id = op.order_id \
     JOIN addresses oa ON oa.id = o.to_address WHERE op.transaction_id = t.id AND oa.email <> '' ORDER BY op.order_id LIMIT 1), '') AS t_email \
     FROM transactions t JOIN rates r ON r.id = t.rate_id JOIN shipments s ON s.id = t.shipment_id \
     JOIN addresses f ON f.id = s.address_from JOIN addresses a ON a.id = s.address_to \
     JOIN carrier_accounts c ON c.id = t.carrier_account_id";

/// The labels a carrier account issued among `numbers` (a label that failed has no number).
pub async fn labels_by_number(
    conn: &mut Conn,
    carrier_account: ObjectId,
    numbers: &[String],
) -> Result<Vec<Label>, StoreError> {
    let mut out = Vec::new();
    for chunk in numbers.chunks(900) {
        let b = crate::insert::backend_of(conn);
        let sql = format!(
            "{LABEL_SELECT} WHERE t.carrier_account_id = {} AND t.tracking_number IN ({})",
            crate::insert::mark(b, 1),
            crate::insert::marks(b, 2, chunk.len())
        );
        let mut q = sqlx::query(&sql).bind(carrier_account.to_string());
        for n in chunk {
            q = q.bind(n.clone());
        }
        for row in q.fetch_all(&mut *conn).await? {
            out.push(label_from_row(&row)?);
        }
    }
    Ok(out)
}

/// `scope`'s label with tracking number `number`, if Consign sold one.
pub async fn label_of_number(
    conn: &mut Conn,
    scope: Scope,
    number: &str,
) -> Result<Option<Label>, StoreError> {
    let sql = format!(
        "{LABEL_SELECT} WHERE t.account_id = $1 AND t.test = $2 AND t.tracking_number = $3 ORDER BY t.id DESC LIMIT 1"
    );
    let row = sqlx::query(&sql)
        .bind(scope.account_id.to_string())
        .bind(i64::from(scope.test))
        .bind(number.to_string())
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(label_from_row).transpose()
}

/// The newest label with tracking number `number` in any account (the public tracking page).
pub async fn label_of_carrier_account(
    conn: &mut Conn,
    carrier_account: ObjectId,
    number: &str,
) -> Result<Option<Label>, StoreError> {
    let sql = format!(
        "{LABEL_SELECT} WHERE t.carrier_account_id = $1 AND t.tracking_number = $2 ORDER BY t.id LIMIT 1"
    );
    let row = sqlx::query(&sql)
        .bind(carrier_account.to_string())
        .bind(number.to_string())
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(label_from_row).transpose()
}

/// `scope`'s labels newest first, older than `before` when given (keyset pages, no count),
/// only those with `tracking_number` when given: at most `limit`, and whether more follow.
pub async fn recent(
    conn: &mut Conn,
    scope: Scope,
    before: Option<ObjectId>,
    tracking_number: Option<&str>,
    limit: u32,
) -> Result<(Vec<Transaction>, bool), StoreError> {
    // A number is looked up on its own index; otherwise the owner's index, newest first.
    let (number, limit_mark) = match tracking_number {
        Some(_) => (" AND tracking_number = $4", "$5"),
        None => ("", "$4"),
    };
    let sql = format!(
        "SELECT {COLUMNS} FROM transactions WHERE account_id = $1 AND test = $2 AND id < $3{number} ORDER BY id DESC LIMIT {limit_mark}"
    );
    let mut q = sqlx::query(&sql)
        .bind(scope.account_id.to_string())
        .bind(i64::from(scope.test))
        .bind(crate::page::before_bound(before));
    if let Some(n) = tracking_number {
        q = q.bind(n.to_string());
    }
    let rows = q.bind(i64::from(limit) + 1).fetch_all(conn).await?;
    let more = rows.len() > limit as usize;
    let items = rows
        .iter()
        .take(limit as usize)
        .map(from_row)
        .collect::<Result<_, _>>()?;
    Ok((items, more))
}
