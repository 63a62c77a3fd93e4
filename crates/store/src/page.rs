//! Page requests and pages (the types are the domain's), and the shared scoped list queries.

pub use domain::page::{Page, PageRequest, DEFAULT_RESULTS, MAX_RESULTS};

/// Shared queries for tables whose rows belong to a [`Scope`](crate::Scope) (`account_id`,
/// `test`) and sort by their time-ordered `id`.
pub(crate) mod scoped {
    use domain::ObjectId;
    use sqlx::any::AnyRow;
    use sqlx::Row;

    use super::{Page, PageRequest};
    use crate::{Conn, Scope, StoreError};

    /// ` AND condition`, or nothing for an empty condition.
    fn and(condition: &str) -> String {
        if condition.is_empty() {
            String::new()
        } else {
            format!(" AND {condition}")
        }
    }

    /// One row of `table` by id, visible only within `scope`.
    pub async fn get<T>(
        conn: &mut Conn,
        table: &str,
        columns: &str,
        scope: Scope,
        id: ObjectId,
        from_row: fn(&AnyRow) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        get_where(conn, table, columns, scope, id, "", from_row).await
    }

    /// [`get`] of a row that also meets `condition` (SQL with no placeholders; empty for none).
    pub async fn get_where<T>(
        conn: &mut Conn,
        table: &str,
        columns: &str,
        scope: Scope,
        id: ObjectId,
        condition: &str,
        from_row: fn(&AnyRow) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let extra = and(condition);
        let row = sqlx::query(&format!(
            "SELECT {columns} FROM {table} WHERE id = $1 AND account_id = $2 AND test = $3{extra}"
        ))
        .bind(id.to_string())
        .bind(scope.account_id.to_string())
        .bind(i64::from(scope.test))
        .fetch_one(conn)
        .await?;
        from_row(&row)
    }

    /// The rows of `table` among `ids` visible within `scope` (missing ones are left out), by
    /// id, in one query per 500 ids. The query is by id alone, so every planner takes the
    /// primary key (with the owner in the WHERE clause PostgreSQL's generic plan scanned the
    /// owner's index and filtered every one of its rows); the scope is checked on the rows.
    pub async fn get_many<T>(
        conn: &mut Conn,
        table: &str,
        columns: &str,
        scope: Scope,
        ids: &[ObjectId],
        from_row: fn(&AnyRow) -> Result<T, StoreError>,
    ) -> Result<std::collections::HashMap<ObjectId, T>, StoreError> {
        let mut out = std::collections::HashMap::new();
        let backend = crate::insert::backend_of(conn);
        let owner = scope.account_id.to_string();
        for chunk in ids.chunks(500) {
            let sql = format!(
                "SELECT account_id AS owner, test AS owner_test, id AS owner_id, {columns} FROM {table} WHERE id IN ({})",
                crate::insert::marks(backend, 1, chunk.len())
            );
            let mut q = sqlx::query(&sql);
            for id in chunk {
                q = q.bind(id.to_string());
            }
            for row in q.fetch_all(&mut *conn).await? {
                if row.try_get::<String, _>("owner")? == owner
                    && (row.try_get::<i64, _>("owner_test")? != 0) == scope.test
                {
                    let id = crate::rows::id_of(&row.try_get::<String, _>("owner_id")?)?;
                    out.insert(id, from_row(&row)?);
                }
            }
        }
        Ok(out)
    }

    /// A page of `table`'s rows within `scope`, newest first, with the total count.
    pub async fn list<T>(
        conn: &mut Conn,
        table: &str,
        columns: &str,
        scope: Scope,
        req: PageRequest,
        from_row: fn(&AnyRow) -> Result<T, StoreError>,
    ) -> Result<Page<T>, StoreError> {
        list_where(conn, table, columns, scope, "", req, from_row).await
    }

    /// [`list`] of the rows that also meet `condition` (SQL with no placeholders, e.g.
    /// `deleted_ms IS NULL`; empty for none).
    pub async fn list_where<T>(
        conn: &mut Conn,
        table: &str,
        columns: &str,
        scope: Scope,
        condition: &str,
        req: PageRequest,
        from_row: fn(&AnyRow) -> Result<T, StoreError>,
    ) -> Result<Page<T>, StoreError> {
        let extra = and(condition);
        let total: i64 = sqlx::query(&format!(
            "SELECT COUNT(*) AS n FROM {table} WHERE account_id = $1 AND test = $2{extra}"
        ))
        .bind(scope.account_id.to_string())
        .bind(i64::from(scope.test))
        .fetch_one(&mut *conn)
        .await?
        .try_get("n")?;
        let rows = sqlx::query(&format!(
            "SELECT {columns} FROM {table} WHERE account_id = $1 AND test = $2{extra} ORDER BY id DESC LIMIT $3 OFFSET $4"
        ))
        .bind(scope.account_id.to_string())
        .bind(i64::from(scope.test))
        .bind(i64::from(req.results))
        .bind(req.offset())
        .fetch_all(conn)
        .await?;
        Ok(Page {
            items: rows.iter().map(from_row).collect::<Result<_, _>>()?,
            total,
            request: req,
        })
    }
}

/// The bound of a keyset page (`id < bound`, newest first): the last id of the page before, or
/// for the first page a value above every id (ids are lower-case hex; "g" sorts after them).
pub(crate) fn before_bound(before: Option<domain::ObjectId>) -> String {
    before.map_or_else(|| "g".to_string(), |b| b.to_string())
}
