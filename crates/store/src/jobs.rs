//! The durable job queue: work that runs after the request that caused it (async rates now;
//! purchases, refunds, webhook deliveries and tracking polls later).
//!
//! A job is enqueued inside the transaction of the change that needs it, so the two are kept or
//! lost together. Workers claim due jobs by taking a lease (`locked_until_ms`); a worker that
//! dies leaves a lease that expires and the job runs again, so handlers must be idempotent.
//! On PostgreSQL claims use `FOR UPDATE SKIP LOCKED`, so several Consign processes share the
//! queue without running a job twice at once; on SQLite the single writer serialises claims.

use domain::{ObjectId, Timestamp};
use sqlx::Row;

use crate::insert::{insert_rows, Args, Rows};
use crate::{Backend, Conn, Scope, Store, StoreError};

/// A claimed job as stored: its kind and payload are decoded by the service's `jobs::Job`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub id: ObjectId,
    pub kind: String,
    pub payload: String,
    /// How many times it has been claimed, this time included.
    pub attempts: i64,
}

/// A job to enqueue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewJob {
    pub id: ObjectId,
    pub kind: String,
    pub payload: String,
    pub created: Timestamp,
    /// It may run from then on.
    pub run_at: Timestamp,
}

impl NewJob {
    /// A job of `kind` due now.
    pub fn now(kind: &str, payload: String) -> Self {
        let now = Timestamp::now();
        Self {
            id: ObjectId::at(now.millis()),
            kind: kind.to_string(),
            payload,
            created: now,
            run_at: now,
        }
    }
}

impl Rows for NewJob {
    const TABLE: &'static str = "jobs";
    const COLUMNS: &'static str = "id, kind, payload, created_ms, run_at_ms, attempts";
    const SCOPED: bool = false;
    const WIDTH: usize = 6;

    fn bind(&self, a: &mut Args, _: Scope) {
        a.add(self.id.to_string())
            .add(self.kind.clone())
            .add(self.payload.clone())
            .add(self.created.millis())
            .add(self.run_at.millis())
            .add(0_i64);
    }
}

/// Adds a job (inside the caller's transaction).
pub async fn enqueue(conn: &mut Conn, job: NewJob) -> Result<ObjectId, StoreError> {
    let id = job.id;
    // Jobs belong to no account; the scope is not bound.
    let unscoped = Scope {
        account_id: id,
        test: false,
    };
    insert_rows(conn, unscoped, &[job]).await?;
    Ok(id)
}

/// Adds many jobs in one statement per 1,000 (inside the caller's transaction).
pub async fn enqueue_many(conn: &mut Conn, jobs: &[NewJob]) -> Result<(), StoreError> {
    crate::insert::insert_unscoped(conn, jobs, 1000).await
}

/// Whether any job is due: a read, so an idle worker never takes the write lock.
pub async fn any_due(conn: &mut Conn) -> Result<bool, StoreError> {
    let now = Timestamp::now().millis();
    Ok(sqlx::query(
        "SELECT id FROM jobs WHERE done_ms IS NULL AND run_at_ms <= $1 \
         AND (locked_until_ms IS NULL OR locked_until_ms < $1) LIMIT 1",
    )
    .bind(now)
    .fetch_optional(conn)
    .await?
    .is_some())
}

/// Claims up to `limit` due jobs for `lease_ms` milliseconds.
pub async fn claim(store: &Store, limit: i64, lease_ms: i64) -> Result<Vec<Claim>, StoreError> {
    let lock = match store.backend() {
        Backend::Postgres => "FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    let sql = format!(
        "UPDATE jobs SET locked_until_ms = $1, attempts = attempts + 1 WHERE id IN (\
            SELECT id FROM jobs WHERE done_ms IS NULL AND run_at_ms <= $2 \
            AND (locked_until_ms IS NULL OR locked_until_ms < $2) \
            ORDER BY run_at_ms LIMIT $3 {lock}) \
         RETURNING id, kind, payload, attempts"
    );
    store
        .write(move |conn| {
            Box::pin(async move {
                let now = Timestamp::now().millis();
                let rows = sqlx::query(&sql)
                    .bind(now + lease_ms)
                    .bind(now)
                    .bind(limit)
                    .fetch_all(conn)
                    .await?;
                rows.iter()
                    .map(|row| {
                        let id: String = row.try_get("id")?;
                        Ok(Claim {
                            id: ObjectId::parse(&id)
                                .ok_or_else(|| StoreError::Corrupt(format!("job id {id:?}")))?,
                            kind: row.try_get("kind")?,
                            payload: row.try_get("payload")?,
                            attempts: row.try_get("attempts")?,
                        })
                    })
                    .collect()
            })
        })
        .await
}

/// Extends by `lease_ms` the leases of jobs a worker still holds: each named by its id and the
/// claim (`attempts`) that gave it to this worker, so a lease another worker has since taken
/// is left alone. Returns how many were extended.
pub async fn renew(
    store: &Store,
    held: &[(ObjectId, i64)],
    lease_ms: i64,
) -> Result<u64, StoreError> {
    if held.is_empty() {
        return Ok(0);
    }
    let held = held.to_vec();
    store
        .write(move |conn| {
            Box::pin(async move {
                let b = crate::insert::backend_of(conn);
                let mark = |i| crate::insert::mark(b, i);
                let held_by_us: Vec<String> = (0..held.len())
                    .map(|i| format!("(id = {} AND attempts = {})", mark(3 + 2 * i), mark(4 + 2 * i)))
                    .collect();
                let sql = format!(
                    "UPDATE jobs SET locked_until_ms = {} WHERE done_ms IS NULL AND locked_until_ms >= {} AND ({})",
                    mark(1),
                    mark(2),
                    held_by_us.join(" OR ")
                );
                let now = Timestamp::now().millis();
                let mut q = sqlx::query(&sql).bind(now + lease_ms).bind(now);
                for (id, attempts) in &held {
                    q = q.bind(id.to_string()).bind(*attempts);
                }
                Ok(q.execute(&mut *conn).await?.rows_affected())
            })
        })
        .await
}

/// Frees every lease at once. Only for a process that knows it is the queue's only worker (the
/// SQLite server at start-up): every lease left then belongs to a process that died.
pub async fn release_all(store: &Store) -> Result<u64, StoreError> {
    store
        .write(|conn| {
            Box::pin(async move {
                Ok(sqlx::query(
                    "UPDATE jobs SET locked_until_ms = NULL WHERE done_ms IS NULL AND locked_until_ms IS NOT NULL",
                )
                .execute(&mut *conn)
                .await?
                .rows_affected())
            })
        })
        .await
}

/// Marks a job done (in the transaction that recorded its effect).
pub async fn complete(conn: &mut Conn, id: ObjectId) -> Result<(), StoreError> {
    sqlx::query("UPDATE jobs SET done_ms = $1, locked_until_ms = NULL WHERE id = $2")
        .bind(Timestamp::now().millis())
        .bind(id.to_string())
        .execute(conn)
        .await?;
    Ok(())
}

/// Releases a failed job to run again from `run_at`, recording why it failed.
/// Runs a job again at `run_at` with its attempts reset: it is waiting on someone else (a refund
/// pending at the carrier), not failing.
pub async fn defer(
    conn: &mut Conn,
    id: ObjectId,
    run_at: Timestamp,
    why: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE jobs SET run_at_ms = $1, locked_until_ms = NULL, attempts = 0, last_error = $2 WHERE id = $3",
    )
    .bind(run_at.millis())
    .bind(why)
    .bind(id.to_string())
    .execute(conn)
    .await?;
    Ok(())
}

/// Runs a failed job again at `run_at`.
pub async fn retry(
    conn: &mut Conn,
    id: ObjectId,
    run_at: Timestamp,
    error: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE jobs SET run_at_ms = $1, locked_until_ms = NULL, last_error = $2 WHERE id = $3",
    )
    .bind(run_at.millis())
    .bind(error)
    .bind(id.to_string())
    .execute(conn)
    .await?;
    Ok(())
}

/// Gives up on a job: done, with the last error kept for the record.
pub async fn abandon(conn: &mut Conn, id: ObjectId, error: &str) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE jobs SET done_ms = $1, locked_until_ms = NULL, last_error = $2 WHERE id = $3",
    )
    .bind(Timestamp::now().millis())
    .bind(error)
    .bind(id.to_string())
    .execute(conn)
    .await?;
    Ok(())
}

/// Jobs not yet done (for tests and operators).
pub async fn pending(conn: &mut Conn) -> Result<i64, StoreError> {
    Ok(
        sqlx::query("SELECT COUNT(*) AS n FROM jobs WHERE done_ms IS NULL")
            .fetch_one(conn)
            .await?
            .try_get("n")?,
    )
}
