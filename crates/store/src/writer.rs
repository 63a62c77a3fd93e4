//! Group commit for SQLite: one writer task owns the write path, runs every queued use case in
//! its own savepoint inside one transaction, commits once, and only then answers each caller.
//!
//! SQLite admits one writer at a time and, with `synchronous = FULL`, each commit waits for the
//! disk. Batching the writers that arrive while a commit is in flight turns N commits into one
//! without weakening durability: nobody is answered before the commit that holds their work.
//! A failing use case rolls back to its savepoint and fails alone.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;

use futures_util::FutureExt;
use sqlx::{AnyConnection, AnyPool, Executor};
use tokio::sync::{mpsc, oneshot};

use crate::StoreError;

/// A boxed future borrowing the connection.
pub type ConnFuture<'c, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'c>>;

/// Delivers a job's result once its transaction's fate is known (`Some` = the commit failed).
type Deliver = Box<dyn FnOnce(Option<String>) + Send>;
/// A queued use case: runs on the writer's connection and reports success plus its deliverer.
type Job = Box<
    dyn for<'c> FnOnce(
            &'c mut AnyConnection,
        ) -> Pin<Box<dyn Future<Output = (bool, Deliver)> + Send + 'c>>
        + Send,
>;

/// Most use cases one transaction carries.
const MAX_BATCH: usize = 128;

/// The sending side kept by the store.
#[derive(Clone)]
pub(crate) struct Writer {
    jobs: mpsc::Sender<Job>,
}

impl Writer {
    /// Starts the writer task on `pool`: the only code of this process that writes to SQLite.
    pub(crate) fn start(pool: AnyPool) -> Self {
        let (jobs, rx) = mpsc::channel::<Job>(4096);
        tokio::spawn(run(pool, rx));
        Self { jobs }
    }

    /// Runs `f` in the next batch and returns its result after the batch commits.
    pub(crate) async fn write<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut AnyConnection) -> ConnFuture<'c, T> + Send + 'static,
    {
        let (done, answer) = oneshot::channel::<Result<T, StoreError>>();
        let job: Job = Box::new(move |conn| {
            Box::pin(async move {
                let result = f(conn).await;
                let ok = result.is_ok();
                let deliver: Deliver = Box::new(move |commit_error| {
                    let _ = done.send(match (result, commit_error) {
                        (Ok(value), None) => Ok(value),
                        (Ok(_), Some(e)) => Err(StoreError::Commit(e)),
                        (Err(e), _) => Err(e),
                    });
                });
                (ok, deliver)
            })
        });
        self.jobs
            .send(job)
            .await
            .map_err(|_| StoreError::Commit("the writer has stopped".into()))?;
        answer.await.map_err(|_| {
            StoreError::Commit("the write was abandoned; nothing was committed".into())
        })?
    }
}

async fn run(pool: AnyPool, mut rx: mpsc::Receiver<Job>) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let mut conn = match pool.acquire().await {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "writer: no connection; failing {} writes", batch.len());
                continue; // dropping the jobs answers their callers with an error
            }
        };
        // Savepoint boundaries ride along with the statement before them ("RELEASE job;
        // SAVEPOINT job"): every round trip to SQLite's thread is a pair of context switches,
        // which is most of what a small write costs.
        if let Err(e) = conn.execute("BEGIN IMMEDIATE; SAVEPOINT job").await {
            tracing::error!(error = %e, "writer: cannot begin; failing {} writes", batch.len());
            let _ = conn.execute("ROLLBACK").await;
            continue;
        }
        let mut delivers = Vec::with_capacity(batch.len());
        // A failure around a savepoint means the transaction may be gone; stop the batch there
        // (jobs not yet run are dropped, which answers their callers with an error).
        let mut broken: Option<String> = None;
        let mut committed = false;
        let last = batch.len() - 1;
        for (i, job) in batch.into_iter().enumerate() {
            // A panicking use case must not take the writer (and every later write) down with it:
            // its work is rolled back and its caller, whose answer channel is dropped, gets an error.
            let ok = match AssertUnwindSafe(job(&mut conn)).catch_unwind().await {
                Ok((ok, deliver)) => {
                    delivers.push(deliver);
                    ok
                }
                Err(_) => {
                    tracing::error!("writer: a use case panicked; its writes are rolled back");
                    false
                }
            };
            let end = match (ok, i == last) {
                (true, false) => "RELEASE job; SAVEPOINT job",
                (false, false) => "ROLLBACK TO job; RELEASE job; SAVEPOINT job",
                (true, true) => "RELEASE job; COMMIT",
                (false, true) => "ROLLBACK TO job; RELEASE job; COMMIT",
            };
            if let Err(e) = conn.execute(end).await {
                broken = Some(e.to_string());
                break;
            }
            committed = i == last;
        }
        let commit_error = match (broken, committed) {
            (Some(e), _) => Some(e),
            (None, true) => None,
            (None, false) => Some("the batch ended before its commit".into()),
        };
        if let Some(e) = &commit_error {
            tracing::error!(error = %e, "writer: batch not committed");
            let _ = conn.execute("ROLLBACK").await;
        }
        drop(conn);
        for deliver in delivers {
            deliver(commit_error.clone());
        }
    }
}
