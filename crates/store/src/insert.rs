//! Multi-row inserts, and on SQLite several tables' inserts in one statement string.
//!
//! Every statement sent to SQLite is a round trip to the thread that owns its connection (two
//! context switches), which is most of what a small write costs; a use case that stores a
//! shipment with its addresses, parcels and rates sends them as one string with globally
//! numbered `$N` placeholders (sqlx binds `$N` across the statements of a string). PostgreSQL's
//! extended protocol takes one statement at a time, so there each table is its own statement.

use sqlx::any::AnyArguments;
use sqlx::query::Query;

use crate::Scope;

/// A query being built, with its binds.
pub(crate) type AnyQuery<'q> = Query<'q, sqlx::Any, AnyArguments<'q>>;

/// A table whose rows can be inserted in bulk.
pub(crate) trait Rows: Sized {
    /// The table.
    const TABLE: &'static str;
    /// Its columns after `account_id`.
    const COLUMNS: &'static str;
    /// How many values a row binds, `account_id` included.
    const WIDTH: usize;
    /// Binds one row's values, `account_id` first, in `COLUMNS` order.
    fn bind<'q>(&self, q: AnyQuery<'q>, scope: Scope) -> AnyQuery<'q>;
}

/// `INSERT INTO t (account_id, …) VALUES ($o+1, …), (…)` for `rows` rows, numbering
/// placeholders from `offset + 1`.
pub(crate) fn insert_sql<T: Rows>(rows: usize, offset: usize) -> String {
    let mut out = format!(
        "INSERT INTO {} (account_id, {}) VALUES ",
        T::TABLE,
        T::COLUMNS
    );
    for r in 0..rows {
        out.push_str(if r == 0 { "(" } else { ", (" });
        for c in 0..T::WIDTH {
            if c > 0 {
                out.push_str(", ");
            }
            out.push('$');
            out.push_str(&(offset + r * T::WIDTH + c + 1).to_string());
        }
        out.push(')');
    }
    out
}

/// Binds every row of `items`.
pub(crate) fn bind_all<'q, T: Rows>(
    mut q: AnyQuery<'q>,
    scope: Scope,
    items: &[T],
) -> AnyQuery<'q> {
    for item in items {
        q = item.bind(q, scope);
    }
    q
}

/// Inserts `items` in one statement.
pub(crate) async fn insert_rows<T: Rows>(
    conn: &mut crate::Conn,
    scope: Scope,
    items: &[T],
) -> Result<(), crate::StoreError> {
    if items.is_empty() {
        return Ok(());
    }
    let sql = insert_sql::<T>(items.len(), 0);
    bind_all(sqlx::query(&sql), scope, items)
        .execute(conn)
        .await?;
    Ok(())
}

/// Several tables' rows as one statement string: `(sql, binds)` built in two passes, since the
/// query borrows its finished SQL.
#[derive(Default)]
pub(crate) struct Script {
    sql: String,
    offset: usize,
}

impl Script {
    /// Adds the insert of `items` (nothing when empty).
    pub(crate) fn add<T: Rows>(&mut self, items: &[T]) {
        if items.is_empty() {
            return;
        }
        if !self.sql.is_empty() {
            self.sql.push_str("; ");
        }
        self.sql
            .push_str(&insert_sql::<T>(items.len(), self.offset));
        self.offset += items.len() * T::WIDTH;
    }

    /// The statement string.
    pub(crate) fn sql(&self) -> &str {
        &self.sql
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Pair;
    impl Rows for Pair {
        const TABLE: &'static str = "t";
        const COLUMNS: &'static str = "a, b";
        const WIDTH: usize = 3;
        fn bind<'q>(&self, q: AnyQuery<'q>, _: Scope) -> AnyQuery<'q> {
            q
        }
    }

    #[test]
    fn placeholders_number_on_across_rows_and_statements() {
        assert_eq!(
            insert_sql::<Pair>(2, 0),
            "INSERT INTO t (account_id, a, b) VALUES ($1, $2, $3), ($4, $5, $6)"
        );
        let mut s = Script::default();
        s.add(&[Pair]);
        s.add::<Pair>(&[]);
        s.add(&[Pair]);
        assert_eq!(
            s.sql(),
            "INSERT INTO t (account_id, a, b) VALUES ($1, $2, $3); INSERT INTO t (account_id, a, b) VALUES ($4, $5, $6)"
        );
    }
}
