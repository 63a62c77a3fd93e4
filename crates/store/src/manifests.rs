//! Manifest rows.

use domain::transaction::{Manifest, ManifestStatus};
use domain::{ObjectId, Timestamp};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::insert::{Args, Rows};
use crate::page::scoped;
use crate::rows::{corrupt, id_of};
use crate::{Conn, Page, PageRequest, Scope, StoreError};

const COLUMNS: &str = "id, test, created_ms, updated_ms, status, carrier_account_id, shipment_date_ms, address_from, transactions, document_key, errors";

fn from_row(row: &AnyRow) -> Result<Manifest, StoreError> {
    let status: String = row.try_get("status")?;
    let ids: Vec<String> = serde_json::from_str(row.try_get("transactions")?)
        .map_err(|e| corrupt("manifest", e.to_string()))?;
    Ok(Manifest {
        id: id_of(row.try_get("id")?)?,
        created: Timestamp::from_millis(row.try_get("created_ms")?),
        updated: Timestamp::from_millis(row.try_get("updated_ms")?),
        test: row.try_get::<i64, _>("test")? != 0,
        status: ManifestStatus::parse(&status).ok_or_else(|| corrupt("manifest", &status))?,
        carrier_account: id_of(row.try_get("carrier_account_id")?)?,
        shipment_date: Timestamp::from_millis(row.try_get("shipment_date_ms")?),
        address_from: id_of(row.try_get("address_from")?)?,
        transactions: ids.iter().map(|s| id_of(s)).collect::<Result<_, _>>()?,
        document_key: row.try_get("document_key")?,
        errors: serde_json::from_str(row.try_get("errors")?)
            .map_err(|e| corrupt("manifest", e.to_string()))?,
    })
}

fn ids_json(ids: &[ObjectId]) -> String {
    serde_json::to_string(&ids.iter().map(ToString::to_string).collect::<Vec<_>>())
        .expect("strings serialise")
}

impl Rows for Manifest {
    const TABLE: &'static str = "manifests";
    const COLUMNS: &'static str = COLUMNS;
    const WIDTH: usize = 12;

    fn bind(&self, a: &mut Args, scope: Scope) {
        a.add(scope.account_id.to_string())
            .add(self.id.to_string())
            .add(i64::from(self.test))
            .add(self.created.millis())
            .add(self.updated.millis())
            .add(self.status.as_str())
            .add(self.carrier_account.to_string())
            .add(self.shipment_date.millis())
            .add(self.address_from.to_string())
            .add(ids_json(&self.transactions))
            .add(self.document_key.clone())
            .add(serde_json::to_string(&self.errors).expect("notes serialise"));
    }
}

/// Stores a manifest.
pub async fn insert(conn: &mut Conn, scope: Scope, m: &Manifest) -> Result<(), StoreError> {
    crate::insert::insert_rows(conn, scope, std::slice::from_ref(m)).await
}

/// One manifest of `scope`.
pub async fn get(conn: &mut Conn, scope: Scope, id: ObjectId) -> Result<Manifest, StoreError> {
    scoped::get(conn, "manifests", COLUMNS, scope, id, from_row).await
}

/// A page of `scope`'s manifests, newest first.
pub async fn list(
    conn: &mut Conn,
    scope: Scope,
    req: PageRequest,
) -> Result<Page<Manifest>, StoreError> {
    scoped::list(conn, "manifests", COLUMNS, scope, req, from_row).await
}

/// Records a manifest's outcome: status, the transactions on it, its document and errors.
pub async fn finish(conn: &mut Conn, m: &Manifest) -> Result<(), StoreError> {
    sqlx::query("UPDATE manifests SET status = $1, updated_ms = $2, transactions = $3, document_key = $4, errors = $5 WHERE id = $6")
        .bind(m.status.as_str())
        .bind(m.updated.millis())
        .bind(ids_json(&m.transactions))
        .bind(m.document_key.clone())
        .bind(serde_json::to_string(&m.errors).expect("notes serialise"))
        .bind(m.id.to_string())
        .execute(conn)
        .await?;
    Ok(())
}
