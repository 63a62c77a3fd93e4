//! Refund rows.

use domain::transaction::{Refund, RefundStatus};
use domain::{ObjectId, Timestamp};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::insert::{Args, Rows};
use crate::page::scoped;
use crate::{Conn, Page, PageRequest, Scope, StoreError};

const COLUMNS: &str = "id, test, created_ms, updated_ms, status, transaction_id";

fn from_row(row: &AnyRow) -> Result<Refund, StoreError> {
    let bad = |v: &str| StoreError::Corrupt(format!("refund {v:?}"));
    let id: String = row.try_get("id")?;
    let status: String = row.try_get("status")?;
    let transaction: String = row.try_get("transaction_id")?;
    Ok(Refund {
        id: ObjectId::parse(&id).ok_or_else(|| bad(&id))?,
        created: Timestamp::from_millis(row.try_get("created_ms")?),
        updated: Timestamp::from_millis(row.try_get("updated_ms")?),
        test: row.try_get::<i64, _>("test")? != 0,
        status: RefundStatus::parse(&status).ok_or_else(|| bad(&status))?,
        transaction: ObjectId::parse(&transaction).ok_or_else(|| bad(&transaction))?,
    })
}

impl Rows for Refund {
    const TABLE: &'static str = "refunds";
    const COLUMNS: &'static str = COLUMNS;
    const WIDTH: usize = 7;

    fn bind(&self, a: &mut Args, scope: Scope) {
        a.add(scope.account_id.to_string())
            .add(self.id.to_string())
            .add(i64::from(self.test))
            .add(self.created.millis())
            .add(self.updated.millis())
            .add(self.status.as_str())
            .add(self.transaction.to_string());
    }
}

/// Stores a refund (a conflict when the transaction already has one).
pub async fn insert(conn: &mut Conn, scope: Scope, refund: &Refund) -> Result<(), StoreError> {
    crate::insert::insert_rows(conn, scope, std::slice::from_ref(refund)).await
}

/// One refund of `scope`.
pub async fn get(conn: &mut Conn, scope: Scope, id: ObjectId) -> Result<Refund, StoreError> {
    scoped::get(conn, "refunds", COLUMNS, scope, id, from_row).await
}

/// A page of `scope`'s refunds, newest first.
pub async fn list(
    conn: &mut Conn,
    scope: Scope,
    req: PageRequest,
) -> Result<Page<Refund>, StoreError> {
    scoped::list(conn, "refunds", COLUMNS, scope, req, from_row).await
}

/// Sets a refund's status.
pub async fn set_status(
    conn: &mut Conn,
    id: ObjectId,
    status: RefundStatus,
    at: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE refunds SET status = $1, updated_ms = $2 WHERE id = $3")
        .bind(status.as_str())
        .bind(at.millis())
        .bind(id.to_string())
        .execute(conn)
        .await?;
    Ok(())
}
