//! Consign's persistence: one sqlx codebase for SQLite and PostgreSQL.
//!
//! Queries go through sqlx's `Any` driver with portable SQL (`$N` placeholders, TEXT and 64-bit
//! INTEGER columns only), so the same code runs on both backends; each backend keeps its own
//! migration history under `migrations/`. Repositories are plain async functions over a
//! connection, so a service can run several of them inside one transaction.

pub mod accounts;
pub mod addresses;
pub mod audit;
pub mod batches;
pub mod branding;
pub mod carrier_accounts;
pub mod customs;
mod error;
mod insert;
pub mod jobs;
pub mod label_days;
pub mod manifests;
mod migrations;
pub mod notifications;
pub mod orders;
pub mod page;
pub mod parcels;
pub mod projects;
pub mod refunds;
mod rows;
pub mod scan_keys;
pub mod shipments;
pub mod tracks;
pub mod transactions;
pub mod user_templates;
pub mod users;
pub mod views;
pub mod webhooks;
mod writer;

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, ConnectOptions, Executor};
use tracing::Instrument;

pub use error::StoreError;
pub use insert::Script;
pub use page::{Page, PageRequest};
pub use sqlx::AnyConnection as Conn;
pub use writer::ConnFuture;

/// Which database the store talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// Picks the backend from a database URL's scheme.
    pub fn from_url(url: &str) -> Result<Self, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(Self::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Ok(Self::Postgres)
        } else {
            Err(StoreError::Config(format!(
                "unsupported database URL scheme in {}: use sqlite:// or postgres://",
                redact_url(url)
            )))
        }
    }
}

/// A connection taken from the pool (returned to it when dropped).
pub type PooledConn = sqlx::pool::PoolConnection<sqlx::Any>;

/// The connection pool and the backend it speaks to.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// SQLite only: the group-commit writer (see `writer.rs`).
    writer: Option<writer::Writer>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend)
            .finish()
    }
}

/// A pooled connection acquired on first use (see [`Store::lazy_conn`]), for use cases that
/// read only in some cases.
pub struct LazyConn<'a> {
    store: &'a Store,
    conn: Option<sqlx::pool::PoolConnection<sqlx::Any>>,
}

impl LazyConn<'_> {
    /// The connection, acquiring it if this is the first use.
    pub async fn get(&mut self) -> Result<&mut Conn, StoreError> {
        if self.conn.is_none() {
            self.conn = Some(self.store.conn().await?);
        }
        Ok(self.conn.as_mut().expect("just acquired"))
    }
}

/// Replaces any password in a database URL, for logs and error messages.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

impl Store {
    /// Connects to `url` (`sqlite://path?mode=rwc` or `postgres://...`). SQLite runs in WAL mode
    /// with a busy timeout so concurrent writers wait instead of failing.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(url)?;
        let options = AnyConnectOptions::from_str(url)
            .map_err(|e| {
                StoreError::Config(format!("invalid database URL {}: {e}", redact_url(url)))
            })?
            .disable_statement_logging();
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections.max(1))
            .acquire_timeout(Duration::from_secs(10))
            // A pinged SQLite connection is a round trip to its thread on every acquire, for a
            // file that cannot go away; a PostgreSQL server can restart, so its connections are
            // checked before use.
            .test_before_acquire(backend == Backend::Postgres)
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        conn.execute("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY;")
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .map_err(|e| StoreError::Config(format!("cannot connect to {}: {e}", redact_url(url))))?;
        let writer = (backend == Backend::Sqlite).then(|| writer::Writer::start(pool.clone()));
        Ok(Self {
            pool,
            backend,
            writer,
        })
    }

    /// Applies pending migrations for this backend.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        migrations::run(&self.pool, self.backend).await
    }

    /// The backend in use.
    /// Refreshes PostgreSQL's statistics of `tables` after a bulk write (a big import), so the
    /// next queries are planned on what the tables now hold — until autovacuum's next pass,
    /// the planner would take 50,000 new rows for none and filter an index scan over all of
    /// them. SQLite plans without statistics: nothing to do there.
    pub async fn analyze(&self, tables: &[&str]) -> Result<(), StoreError> {
        if self.backend == Backend::Postgres && !tables.is_empty() {
            sqlx::query(&format!("ANALYZE {}", tables.join(", ")))
                .execute(&self.pool)
                .await?;
        }
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Checks that the database answers (for `/health`).
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// A read-only connection from the pool.
    pub async fn conn(&self) -> Result<PooledConn, StoreError> {
        Ok(self.pool.acquire().await?)
    }

    /// A connection taken from the pool only when first needed.
    pub fn lazy_conn(&self) -> LazyConn<'_> {
        LazyConn {
            store: self,
            conn: None,
        }
    }

    /// Runs one use case's writes atomically and returns once they are durable.
    ///
    /// `f` gets a connection inside a transaction; if it fails, none of its writes are kept.
    /// On PostgreSQL each call is its own transaction on a pooled connection. On SQLite calls
    /// are group-committed by one writer (each in a savepoint, one `COMMIT` with
    /// `synchronous = FULL` per batch), so no caller is answered before its work is on disk.
    pub async fn write<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut Conn) -> ConnFuture<'c, T> + Send + 'static,
    {
        match &self.writer {
            Some(writer) => writer.write(f).await,
            // The transaction runs in a task of its own, so a caller that goes away (a client
            // hanging up, a timeout) cannot abandon it half way: sqlx's `begin` is not
            // cancel-safe on PostgreSQL (a future dropped during `BEGIN`'s round trip returns
            // the connection to the pool inside a transaction nothing will end, and the next
            // borrower's single statements — `write_script` — are then seen by nobody else;
            // transact-rs/sqlx#4393). A started use case finishes or rolls back, as on SQLite,
            // where the writer thread owns it.
            None => {
                let pool = self.pool.clone();
                let task = tokio::spawn(
                    async move {
                        let mut tx = pool.begin().await?;
                        let value = f(&mut tx).await?;
                        tx.commit().await?;
                        Ok(value)
                    }
                    .in_current_span(),
                );
                match task.await {
                    Ok(result) => result,
                    Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                    Err(e) => Err(StoreError::Commit(format!("the write was stopped: {e}"))),
                }
            }
        }
    }

    /// Runs a [`Script`] atomically and returns once it is durable: one statement, on SQLite
    /// inside the group commit, on PostgreSQL on its own (a statement is its own transaction).
    pub async fn write_script(&self, script: Script) -> Result<(), StoreError> {
        match &self.writer {
            Some(writer) => writer.write_script(script).await,
            None => {
                let mut conn = self.pool.acquire().await?;
                script.run(&mut conn, "").await
            }
        }
    }

    /// Closes every connection (on shutdown).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords_only() {
        assert_eq!(
            redact_url("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(
            redact_url("sqlite://data/consign.db"),
            "sqlite://data/consign.db"
        );
    }

    #[test]
    fn backend_from_scheme() {
        assert_eq!(Backend::from_url("sqlite://x.db").unwrap(), Backend::Sqlite);
        assert_eq!(
            Backend::from_url("postgresql://h/db").unwrap(),
            Backend::Postgres
        );
        assert!(Backend::from_url("mysql://h/db").is_err());
    }
}

/// The visibility of every query: one account, in one mode. Objects made with a test token are
/// invisible to live tokens and the other way round; other accounts' objects are never visible.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Scope {
    pub account_id: domain::ObjectId,
    pub test: bool,
}
