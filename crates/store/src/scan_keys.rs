//! Courier scan keys: the credentials a courier's scanners post tracking events with. Each key
//! belongs to one carrier account and is stored as SHA-256, like API tokens.

use domain::{ObjectId, Timestamp};
use sqlx::Row;

use crate::accounts::hash_token;
use crate::rows::id_of;
use crate::{Conn, StoreError};

pub use domain::tracking::ScanKey;

fn from_row(row: &sqlx::any::AnyRow) -> Result<ScanKey, StoreError> {
    Ok(ScanKey {
        id: id_of(row.try_get("id")?)?,
        account_id: id_of(row.try_get("account_id")?)?,
        carrier_account: id_of(row.try_get("carrier_account_id")?)?,
        created: Timestamp::from_millis(row.try_get("created_ms")?),
        prefix: row.try_get("prefix")?,
        revoked: row
            .try_get::<Option<i64>, _>("revoked_ms")?
            .map(Timestamp::from_millis),
    })
}

const COLUMNS: &str = "id, account_id, carrier_account_id, created_ms, prefix, revoked_ms";

/// Stores a new key (its hash).
pub async fn insert(conn: &mut Conn, key: &ScanKey, secret: &str) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO scan_keys (id, account_id, carrier_account_id, created_ms, key_hash, prefix) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(key.id.to_string())
    .bind(key.account_id.to_string())
    .bind(key.carrier_account.to_string())
    .bind(key.created.millis())
    .bind(hash_token(secret))
    .bind(key.prefix.clone())
    .execute(conn)
    .await?;
    Ok(())
}

/// The live key a secret belongs to.
pub async fn authenticate(conn: &mut Conn, secret: &str) -> Result<ScanKey, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM scan_keys WHERE key_hash = $1 AND revoked_ms IS NULL"
    ))
    .bind(hash_token(secret))
    .fetch_one(conn)
    .await?;
    from_row(&row)
}

/// The keys of one carrier account of `account`, newest first.
pub async fn list(
    conn: &mut Conn,
    account: ObjectId,
    carrier_account: ObjectId,
) -> Result<Vec<ScanKey>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM scan_keys WHERE account_id = $1 AND carrier_account_id = $2 ORDER BY id DESC"
    ))
    .bind(account.to_string())
    .bind(carrier_account.to_string())
    .fetch_all(conn)
    .await?;
    rows.iter().map(from_row).collect()
}

/// Revokes a key of `account`.
pub async fn revoke(conn: &mut Conn, account: ObjectId, id: ObjectId) -> Result<(), StoreError> {
    let done = sqlx::query(
        "UPDATE scan_keys SET revoked_ms = $1 WHERE id = $2 AND account_id = $3 AND revoked_ms IS NULL",
    )
    .bind(Timestamp::now().millis())
    .bind(id.to_string())
    .bind(account.to_string())
    .execute(conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}
