//! Multi-row inserts, and on SQLite several tables' inserts in one statement string.
//!
//! Every statement sent to SQLite is a round trip to the thread that owns its connection (two
//! context switches), which is most of what a small write costs; a use case that stores a
//! shipment with its addresses, parcels and rates sends them as one string of statements with
//! plain `?` placeholders (sqlx binds them in order across the statements). PostgreSQL's
//! extended protocol takes one statement at a time, so there each table is its own statement.
//! Values are bound when the script is built, in the caller's task, so the single SQLite writer
//! spends its time on SQL only.

use sqlx::any::AnyArguments;
use sqlx::{Any, Arguments, Encode, Type};

use crate::{Backend, Conn, Scope, StoreError};

/// Values bound in advance, owned so they can travel to the writer.
#[derive(Default)]
pub(crate) struct Args(AnyArguments<'static>);

impl Args {
    /// The bound values.
    pub(crate) fn into_inner(self) -> AnyArguments<'static> {
        self.0
    }

    /// Appends a value. Text, integers and their options always encode.
    pub(crate) fn add<T: 'static + Encode<'static, Any> + Type<Any>>(&mut self, v: T) -> &mut Self {
        self.0
            .add(v)
            .expect("text and integer values always encode");
        self
    }
}

/// A table whose rows can be inserted in bulk.
pub(crate) trait Rows: Sized {
    /// The table.
    const TABLE: &'static str;
    /// Its columns (after `account_id` when [`Rows::SCOPED`]).
    const COLUMNS: &'static str;
    /// Whether rows belong to an account: `account_id` comes first and is bound from the scope.
    const SCOPED: bool = true;
    /// How many values a row binds, `account_id` included.
    const WIDTH: usize;
    /// Binds one row's values (`account_id` first when scoped), in `COLUMNS` order.
    fn bind(&self, a: &mut Args, scope: Scope);
}

/// `INSERT INTO t ([account_id, ]…) VALUES ($o+1, …), (…)` for `rows` rows, numbering
/// placeholders from `offset + 1` on PostgreSQL. On SQLite the placeholders are plain `?`, bound
/// in order (also across the statements of one string): SQLite finds a named parameter's name
/// by a linear scan, so binding thousands of `$N` took 68 ms for a 1,000-row insert against
/// 2 ms with `?` (sqlx looks every name up).
pub(crate) fn insert_sql<T: Rows>(rows: usize, offset: usize, backend: Backend) -> String {
    let account = if T::SCOPED { "account_id, " } else { "" };
    let mut out = format!("INSERT INTO {} ({account}{}) VALUES ", T::TABLE, T::COLUMNS);
    for r in 0..rows {
        out.push_str(if r == 0 { "(" } else { ", (" });
        for c in 0..T::WIDTH {
            if c > 0 {
                out.push_str(", ");
            }
            match backend {
                Backend::Sqlite => out.push('?'),
                Backend::Postgres => {
                    out.push('$');
                    out.push_str(&(offset + r * T::WIDTH + c + 1).to_string());
                }
            }
        }
        out.push(')');
    }
    out
}

/// The `i`-th placeholder of a query: `$i` on PostgreSQL, `?` on SQLite (see [`insert_sql`]:
/// a query on SQLite must then use `?` throughout, bound in textual order).
pub(crate) fn mark(backend: Backend, i: usize) -> String {
    match backend {
        Backend::Sqlite => "?".to_string(),
        Backend::Postgres => format!("${i}"),
    }
}

/// `n` placeholders from the `first`-th on, comma-separated (an `IN (…)` list).
pub(crate) fn marks(backend: Backend, first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| mark(backend, i))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The backend a connection speaks to.
pub(crate) fn backend_of(conn: &Conn) -> Backend {
    if conn.backend_name().eq_ignore_ascii_case("postgresql") {
        Backend::Postgres
    } else {
        Backend::Sqlite
    }
}

/// Inserts rows that carry their own scope (or none), `chunk` rows per statement (keeping
/// within every backend's limit on bound values).
pub(crate) async fn insert_unscoped<T: Rows>(
    conn: &mut Conn,
    items: &[T],
    chunk: usize,
) -> Result<(), StoreError> {
    debug_assert!(!T::SCOPED, "scoped rows take their scope from insert_rows");
    let none = Scope {
        account_id: domain::ObjectId::at(0),
        test: false,
    };
    for part in items.chunks(chunk) {
        insert_rows(conn, none, part).await?;
    }
    Ok(())
}

/// Inserts `items` in one statement.
pub(crate) async fn insert_rows<T: Rows>(
    conn: &mut Conn,
    scope: Scope,
    items: &[T],
) -> Result<(), StoreError> {
    if items.is_empty() {
        return Ok(());
    }
    let mut args = Args::default();
    for item in items {
        item.bind(&mut args, scope);
    }
    let sql = insert_sql::<T>(items.len(), 0, backend_of(conn));
    sqlx::query_with::<Any, AnyArguments<'_>>(&sql, args.0)
        .execute(conn)
        .await?;
    Ok(())
}

/// A use case's writes known in advance: inserts into several tables, run by
/// [`Store::write_script`](crate::Store::write_script) as ONE statement, so it is atomic on its
/// own and costs one round trip. On SQLite that is the statements separated by `;` (sqlx binds
/// their `?` in order across them) plus the writer's savepoint
/// boundary; on PostgreSQL, whose protocol takes one statement at a time, the inserts are chained
/// as data-modifying `WITH` clauses (foreign keys are checked at the end of the statement, when
/// every row is in).
pub struct Script {
    backend: Backend,
    inserts: Vec<String>,
    args: Args,
}

impl Script {
    /// An empty script for `backend`.
    pub fn new(backend: Backend) -> Self {
        Self {
            backend,
            inserts: Vec::new(),
            args: Args::default(),
        }
    }

    /// Adds the insert of `items` for `scope` (nothing when empty).
    pub(crate) fn insert<T: Rows>(&mut self, scope: Scope, items: &[T]) {
        if items.is_empty() {
            return;
        }
        self.inserts.push(insert_sql::<T>(
            items.len(),
            self.args.0.len(),
            self.backend,
        ));
        for item in items {
            item.bind(&mut self.args, scope);
        }
    }

    /// The statement text; on SQLite followed by `trailer`.
    fn sql(&self, trailer: &str) -> String {
        match self.backend {
            Backend::Sqlite => {
                let mut sql = self.inserts.join("; ");
                if !trailer.is_empty() {
                    sql.push_str("; ");
                    sql.push_str(trailer);
                }
                sql
            }
            Backend::Postgres => match self.inserts.split_last() {
                None => String::new(),
                Some((last, [])) => last.clone(),
                Some((last, first)) => {
                    let with: Vec<String> = first
                        .iter()
                        .enumerate()
                        .map(|(i, insert)| format!("w{i} AS ({insert})"))
                        .collect();
                    format!("WITH {} {last}", with.join(", "))
                }
            },
        }
    }

    /// Runs the script on `conn` inside the caller's transaction ([`Store::write`](crate::Store::write)),
    /// for a use case that has more to write than the script.
    pub async fn execute(self, conn: &mut Conn) -> Result<(), StoreError> {
        self.run(conn, "").await
    }

    /// Runs the script on `conn`, on SQLite followed by `trailer` (the writer's savepoint
    /// boundary) in the same round trip.
    pub(crate) async fn run(self, conn: &mut Conn, trailer: &str) -> Result<(), StoreError> {
        if self.inserts.is_empty() && trailer.is_empty() {
            return Ok(());
        }
        let sql = self.sql(trailer);
        sqlx::query_with::<Any, AnyArguments<'_>>(&sql, self.args.0)
            .execute(conn)
            .await?;
        Ok(())
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
        fn bind(&self, a: &mut Args, scope: Scope) {
            a.add(scope.account_id.to_string()).add("a").add(1_i64);
        }
    }

    /// A table's declared columns: as many as it binds, and every one in the migrated schema.
    async fn check<T: Rows>(conn: &mut Conn) {
        let listed = T::COLUMNS.split(',').count() + usize::from(T::SCOPED);
        assert_eq!(
            listed,
            T::WIDTH,
            "{}: {} columns listed, WIDTH {}",
            T::TABLE,
            listed,
            T::WIDTH
        );
        let account = if T::SCOPED { "account_id, " } else { "" };
        let sql = format!("SELECT {account}{} FROM {} LIMIT 0", T::COLUMNS, T::TABLE);
        if let Err(e) = sqlx::query(&sql).fetch_all(&mut *conn).await {
            panic!("{}: the columns are not the schema's: {e}", T::TABLE);
        }
    }

    #[tokio::test]
    async fn every_tables_column_list_matches_its_width_and_the_schema() {
        use crate::{jobs, tracks, webhooks};
        let dir = std::env::temp_dir().join(format!("consign-columns-{}", domain::ObjectId::new()));
        std::fs::create_dir_all(&dir).unwrap();
        let store = crate::Store::connect(
            &format!("sqlite://{}?mode=rwc", dir.join("t.db").display()),
            1,
        )
        .await
        .unwrap();
        store.migrate().await.unwrap();
        let mut pooled = store.conn().await.unwrap();
        let conn: &mut Conn = &mut pooled;
        check::<domain::transaction::Transaction>(conn).await;
        check::<domain::transaction::Refund>(conn).await;
        check::<domain::transaction::Manifest>(conn).await;
        check::<jobs::NewJob>(conn).await;
        check::<domain::customs::CustomsItem>(conn).await;
        check::<domain::customs::CustomsDeclaration>(conn).await;
        check::<webhooks::Stored>(conn).await;
        check::<webhooks::NewDelivery<'static>>(conn).await;
        check::<domain::tracking::Track>(conn).await;
        check::<tracks::NewEvent<'static>>(conn).await;
        check::<tracks::ScopedTrack<'static>>(conn).await;
        check::<domain::shipment::Shipment>(conn).await;
        check::<domain::shipment::Rate>(conn).await;
        check::<domain::order::Order>(conn).await;
        check::<crate::orders::OrderParcel>(conn).await;
        check::<domain::batch::Batch>(conn).await;
        check::<domain::batch::BatchShipment>(conn).await;
        check::<domain::parcel_templates::UserParcelTemplate>(conn).await;
        drop(pooled);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn placeholders_number_on_across_rows_and_statements() {
        assert_eq!(
            insert_sql::<Pair>(2, 0, Backend::Postgres),
            "INSERT INTO t (account_id, a, b) VALUES ($1, $2, $3), ($4, $5, $6)"
        );
        assert_eq!(
            insert_sql::<Pair>(2, 3, Backend::Sqlite),
            "INSERT INTO t (account_id, a, b) VALUES (?, ?, ?), (?, ?, ?)"
        );
        let scope = Scope {
            account_id: domain::ObjectId::new(),
            test: true,
        };
        let mut s = Script::new(Backend::Sqlite);
        s.insert(scope, &[Pair]);
        s.insert::<Pair>(scope, &[]);
        s.insert(scope, &[Pair]);
        assert_eq!(
            s.sql("COMMIT"),
            "INSERT INTO t (account_id, a, b) VALUES (?, ?, ?); INSERT INTO t (account_id, a, b) VALUES (?, ?, ?); COMMIT"
        );
        assert_eq!(s.args.0.len(), 6);
        let mut pg = Script::new(Backend::Postgres);
        pg.insert(scope, &[Pair]);
        pg.insert(scope, &[Pair, Pair]);
        assert_eq!(
            pg.sql(""),
            "WITH w0 AS (INSERT INTO t (account_id, a, b) VALUES ($1, $2, $3)) INSERT INTO t (account_id, a, b) VALUES ($4, $5, $6), ($7, $8, $9)"
        );
    }
}
