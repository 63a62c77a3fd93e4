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

use crate::{Backend, Conn, Store, StoreError};

/// A claimed job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub id: ObjectId,
    pub kind: String,
    pub payload: String,
    /// How many times it has been claimed, this time included.
    pub attempts: i64,
}

/// Adds a job that may run from `run_at` on.
pub async fn enqueue(
    conn: &mut Conn,
    kind: &str,
    payload: &str,
    run_at: Timestamp,
) -> Result<ObjectId, StoreError> {
    let now = Timestamp::now();
    let id = ObjectId::at(now.millis());
    sqlx::query("INSERT INTO jobs (id, kind, payload, created_ms, run_at_ms, attempts) VALUES ($1, $2, $3, $4, $5, 0)")
        .bind(id.to_string())
        .bind(kind)
        .bind(payload)
        .bind(now.millis())
        .bind(run_at.millis())
        .execute(conn)
        .await?;
    Ok(id)
}

/// Claims up to `limit` due jobs for `lease_ms` milliseconds.
pub async fn claim(store: &Store, limit: i64, lease_ms: i64) -> Result<Vec<Job>, StoreError> {
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
                        Ok(Job {
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
