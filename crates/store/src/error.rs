use thiserror::Error;

/// What can go wrong in the store, in terms the layers above act on.
#[derive(Debug, Error)]
pub enum StoreError {
    /// No such row (or not visible to this account).
    #[error("not found")]
    NotFound,
    /// A unique constraint was violated (e.g. an account name already taken).
    #[error("conflict: {0}")]
    Conflict(String),
    /// Bad configuration (URL, backend).
    #[error("{0}")]
    Config(String),
    /// Stored data that does not decode; a bug or a manual edit.
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// Anything else from the database driver.
    #[error(transparent)]
    Database(sqlx::Error),
    /// The transaction holding this write did not commit (nothing of it was kept).
    #[error("write not committed: {0}")]
    Commit(String),
    /// A migration failed.
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl StoreError {
    /// Errors that pass by themselves: a busy pool, a dropped connection, a write that did not
    /// commit. Callers answer "try
    /// again later" for these; everything else is a bug or bad data.
    pub fn is_transient(&self) -> bool {
        match self {
            StoreError::Commit(_) => true,
            StoreError::Database(
                sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_),
            ) => true,
            // SQLite busy or locked; PostgreSQL connection exceptions (08…) and shutdowns (57P…).
            StoreError::Database(sqlx::Error::Database(db)) => db.code().is_some_and(|c| {
                matches!(c.as_ref(), "5" | "6" | "517")
                    || c.starts_with("08")
                    || c.starts_with("57P")
            }),
            _ => false,
        }
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                StoreError::Conflict(db.message().to_string())
            }
            // PostgreSQL gave up one of two transactions waiting on each other (deadlock or
            // serialization failure): nothing of it was kept, and running it again is safe.
            sqlx::Error::Database(db)
                if matches!(db.code().as_deref(), Some("40P01" | "40001")) =>
            {
                StoreError::Conflict(format!("concurrent update: {}", db.message()))
            }
            _ => StoreError::Database(e),
        }
    }
}
