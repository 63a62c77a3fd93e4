//! The inbox's saved views (a name and the web app's filter query) and the API's recent
//! refusals per account and mode (the Developers page).

use domain::{ObjectId, Timestamp};
use sqlx::Row;

use crate::rows::id_of;
use crate::{Conn, Scope, StoreError};

/// A saved view of the orders inbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedView {
    pub id: ObjectId,
    pub name: String,
    /// The web app's filter query string (`status=PAID&country=DE`).
    pub query: String,
}

/// The account's saved views by name.
pub async fn list(conn: &mut Conn, account: ObjectId) -> Result<Vec<SavedView>, StoreError> {
    let rows = sqlx::query(
        "SELECT id, name, query FROM saved_views WHERE account_id = $1 ORDER BY name LIMIT 100",
    )
    .bind(account.to_string())
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(SavedView {
                id: id_of(r.try_get("id")?)?,
                name: r.try_get("name")?,
                query: r.try_get("query")?,
            })
        })
        .collect()
}

/// Saves a view, or gives a view of the same name the new query.
pub async fn upsert(conn: &mut Conn, account: ObjectId, v: &SavedView) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO saved_views (id, account_id, name, query, created_ms) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (account_id, name) DO UPDATE SET query = excluded.query",
    )
    .bind(v.id.to_string())
    .bind(account.to_string())
    .bind(&v.name)
    .bind(&v.query)
    .bind(Timestamp::now().millis())
    .execute(conn)
    .await?;
    Ok(())
}

/// Deletes one of the account's views; false when it has none of that id.
pub async fn delete(conn: &mut Conn, account: ObjectId, id: ObjectId) -> Result<bool, StoreError> {
    let done = sqlx::query("DELETE FROM saved_views WHERE account_id = $1 AND id = $2")
        .bind(account.to_string())
        .bind(id.to_string())
        .execute(conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// One refusal of the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// Time-ordered: when it was answered.
    pub id: ObjectId,
    pub method: String,
    pub path: String,
    pub status: i64,
    pub message: String,
}

/// Records refusals of `scope`'s API calls and keeps its newest `keep`.
pub async fn record_errors(
    conn: &mut Conn,
    scope: Scope,
    errors: &[ApiError],
    keep: i64,
) -> Result<(), StoreError> {
    for e in errors {
        sqlx::query(
            "INSERT INTO api_errors (id, account_id, test, method, path, status, message) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(e.id.to_string())
        .bind(scope.account_id.to_string())
        .bind(i64::from(scope.test))
        .bind(&e.method)
        .bind(&e.path)
        .bind(e.status)
        .bind(&e.message)
        .execute(&mut *conn)
        .await?;
    }
    // The oldest past `keep` go (one index range; the subquery reads `keep` + 1 ids at most).
    let cut = sqlx::query(
        "SELECT id FROM api_errors WHERE account_id = $1 AND test = $2 ORDER BY id DESC LIMIT 1 OFFSET $3",
    )
    .bind(scope.account_id.to_string())
    .bind(i64::from(scope.test))
    .bind(keep)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(row) = cut {
        let cut: String = row.try_get("id")?;
        sqlx::query("DELETE FROM api_errors WHERE account_id = $1 AND test = $2 AND id <= $3")
            .bind(scope.account_id.to_string())
            .bind(i64::from(scope.test))
            .bind(cut)
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// `scope`'s newest refusals, newest first.
pub async fn recent_errors(
    conn: &mut Conn,
    scope: Scope,
    limit: i64,
) -> Result<Vec<ApiError>, StoreError> {
    let rows = sqlx::query(
        "SELECT id, method, path, status, message FROM api_errors WHERE account_id = $1 AND test = $2 ORDER BY id DESC LIMIT $3",
    )
    .bind(scope.account_id.to_string())
    .bind(i64::from(scope.test))
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(ApiError {
                id: id_of(r.try_get("id")?)?,
                method: r.try_get("method")?,
                path: r.try_get("path")?,
                status: r.try_get("status")?,
                message: r.try_get("message")?,
            })
        })
        .collect()
}
