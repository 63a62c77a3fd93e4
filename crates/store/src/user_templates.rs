//! The merchant's own parcel templates.

use domain::parcel_templates::UserParcelTemplate;
use domain::{ObjectId, Timestamp};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::insert::{Args, Rows};
use crate::page::scoped;
use crate::rows::{corrupt, id_of};
use crate::{Conn, Page, PageRequest, Scope, StoreError};

const COLUMNS: &str = "id, test, created_ms, updated_ms, name, length, width, height, distance_unit, weight, weight_unit, template";

fn from_row(row: &AnyRow) -> Result<UserParcelTemplate, StoreError> {
    let unit: String = row.try_get("distance_unit")?;
    let mass: Option<String> = row.try_get("weight_unit")?;
    Ok(UserParcelTemplate {
        id: id_of(row.try_get("id")?)?,
        created: Timestamp::from_millis(row.try_get("created_ms")?),
        updated: Timestamp::from_millis(row.try_get("updated_ms")?),
        test: row.try_get::<i64, _>("test")? != 0,
        name: row.try_get("name")?,
        length: row.try_get("length")?,
        width: row.try_get("width")?,
        height: row.try_get("height")?,
        distance_unit: unit.parse().map_err(|_| corrupt("distance unit", &unit))?,
        weight: row.try_get("weight")?,
        weight_unit: mass
            .map(|m| m.parse().map_err(|_| corrupt("mass unit", &m)))
            .transpose()?,
        template: row.try_get("template")?,
    })
}

impl Rows for UserParcelTemplate {
    const TABLE: &'static str = "user_parcel_templates";
    const COLUMNS: &'static str = COLUMNS;
    const WIDTH: usize = 13;

    fn bind(&self, a: &mut Args, scope: Scope) {
        a.add(scope.account_id.to_string())
            .add(self.id.to_string())
            .add(i64::from(self.test))
            .add(self.created.millis())
            .add(self.updated.millis())
            .add(self.name.clone())
            .add(self.length.clone())
            .add(self.width.clone())
            .add(self.height.clone())
            .add(self.distance_unit.as_str())
            .add(self.weight.clone())
            .add(self.weight_unit.map(|u| u.as_str()))
            .add(self.template.clone());
    }
}

/// Stores a template.
pub async fn insert(
    conn: &mut Conn,
    scope: Scope,
    t: &UserParcelTemplate,
) -> Result<(), StoreError> {
    crate::insert::insert_rows(conn, scope, std::slice::from_ref(t)).await
}

/// One template of `scope`.
pub async fn get(
    conn: &mut Conn,
    scope: Scope,
    id: ObjectId,
) -> Result<UserParcelTemplate, StoreError> {
    scoped::get(conn, "user_parcel_templates", COLUMNS, scope, id, from_row).await
}

/// `scope`'s templates, newest first.
pub async fn list(
    conn: &mut Conn,
    scope: Scope,
    req: PageRequest,
) -> Result<Page<UserParcelTemplate>, StoreError> {
    scoped::list(conn, "user_parcel_templates", COLUMNS, scope, req, from_row).await
}

/// Replaces a template's values.
pub async fn update(
    conn: &mut Conn,
    scope: Scope,
    t: &UserParcelTemplate,
) -> Result<(), StoreError> {
    let done = sqlx::query(
        "UPDATE user_parcel_templates SET updated_ms = $1, name = $2, length = $3, width = $4, height = $5, distance_unit = $6, weight = $7, weight_unit = $8, template = $9 WHERE id = $10 AND account_id = $11 AND test = $12",
    )
    .bind(t.updated.millis())
    .bind(t.name.clone())
    .bind(t.length.clone())
    .bind(t.width.clone())
    .bind(t.height.clone())
    .bind(t.distance_unit.as_str())
    .bind(t.weight.clone())
    .bind(t.weight_unit.map(|u| u.as_str()))
    .bind(t.template.clone())
    .bind(t.id.to_string())
    .bind(scope.account_id.to_string())
    .bind(i64::from(scope.test))
    .execute(conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Deletes a template.
pub async fn delete(conn: &mut Conn, scope: Scope, id: ObjectId) -> Result<(), StoreError> {
    let done = sqlx::query(
        "DELETE FROM user_parcel_templates WHERE id = $1 AND account_id = $2 AND test = $3",
    )
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
