//! Group commit for SQLite: one writer task owns the write path, runs every queued use case in
//! its own savepoint inside one transaction, commits once, and only answers each caller once
//! that commit is on disk.
//!
//! SQLite admits one writer at a time. Batching the writers that arrive while a batch runs turns
//! N commits into one without weakening durability: nobody is answered before the commit that
//! holds their work is durable. A failing use case rolls back to its savepoint and fails alone.
//!
//! The disk wait is taken off the write path: the writer's connection commits with
//! `synchronous = NORMAL` (the WAL frames are written, not yet flushed) and starts the next
//! batch at once, while a sync thread `fdatasync`s the WAL file and only then answers the
//! batch's callers. Every frame a commit wrote precedes that flush, so what is answered is as
//! durable as with `synchronous = FULL`; checkpoints still sync the WAL before and the database
//! after (SQLite's own rule in NORMAL mode). A database without a file (in memory) commits with
//! FULL semantics and answers at once.
//!
//! Every statement is a round trip to the thread sqlx runs the SQLite connection on (two context
//! switches, most of what a small write costs), so the savepoint boundary between two use cases
//! is sent as one string ("RELEASE job; SAVEPOINT job"), and a use case whose writes are a
//! [`Script`] known in advance carries the boundary after its own statements: one round trip.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::pin::Pin;

use futures_util::FutureExt;
use sqlx::{AnyConnection, AnyPool, Executor, Row};
use tokio::sync::{mpsc, oneshot};

use crate::insert::Script;
use crate::StoreError;

/// A boxed future borrowing the connection.
pub type ConnFuture<'c, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'c>>;

/// Delivers a job's result once its transaction's fate is known (`Some` = the commit failed).
type Deliver = Box<dyn FnOnce(Option<String>) + Send>;
/// How a job went: whether it succeeded, and whether it also ran the boundary it was offered.
struct Outcome {
    ok: bool,
    ran_boundary: bool,
}

/// A queued use case: runs on the writer's connection and reports its outcome plus its
/// deliverer. It is offered the statements that end it on success (a [`Script`] appends them to
/// its own; a closure leaves them to the writer).
type Job = Box<
    dyn for<'c> FnOnce(
            &'c mut AnyConnection,
            &'static str,
        ) -> Pin<Box<dyn Future<Output = (Outcome, Deliver)> + Send + 'c>>
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
        let job: Job = Box::new(move |conn, _boundary| {
            Box::pin(async move {
                let result = f(conn).await;
                let outcome = Outcome {
                    ok: result.is_ok(),
                    ran_boundary: false,
                };
                (outcome, deliverer(done, result))
            })
        });
        self.submit(job, answer).await
    }

    /// Runs `script` in the next batch, with the savepoint boundary after it in the same string.
    pub(crate) async fn write_script(&self, script: Script) -> Result<(), StoreError> {
        let (done, answer) = oneshot::channel::<Result<(), StoreError>>();
        let job: Job = Box::new(move |conn, boundary| {
            Box::pin(async move {
                let result = script.run(conn, boundary).await;
                let ok = result.is_ok();
                let outcome = Outcome {
                    ok,
                    ran_boundary: ok,
                };
                (outcome, deliverer(done, result))
            })
        });
        self.submit(job, answer).await
    }

    async fn submit<T>(
        &self,
        job: Job,
        answer: oneshot::Receiver<Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        self.jobs
            .send(job)
            .await
            .map_err(|_| StoreError::Commit("the writer has stopped".into()))?;
        answer.await.map_err(|_| {
            StoreError::Commit("the write was abandoned; nothing was committed".into())
        })?
    }
}

/// Answers a job's caller once its batch's fate is known.
fn deliverer<T: Send + 'static>(
    done: oneshot::Sender<Result<T, StoreError>>,
    result: Result<T, StoreError>,
) -> Deliver {
    Box::new(move |commit_error| {
        let _ = done.send(match (result, commit_error) {
            (Ok(value), None) => Ok(value),
            (Ok(_), Some(e)) => Err(StoreError::Commit(e)),
            (Err(e), _) => Err(e),
        });
    })
}

async fn run(pool: AnyPool, mut rx: mpsc::Receiver<Job>) {
    // The writer keeps one connection of its own, taken out of the pool: SQLite discards a
    // connection's page cache whenever another connection has written, so a writer that moved
    // between pooled connections would read every page it touches from the file again.
    let mut owned: Option<AnyConnection> = None;
    let mut syncer: Option<std::sync::mpsc::Sender<Vec<Deliver>>> = None;
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let mut conn = match owned.take() {
            Some(c) => c,
            None => match open(&pool, &mut syncer).await {
                Ok(c) => c,
                Err(e) => {
                    tracing::error!(error = %e, "writer: no connection; failing {} writes", batch.len());
                    continue; // dropping the jobs answers their callers with an error
                }
            },
        };
        if let Err(e) = conn.execute("BEGIN IMMEDIATE; SAVEPOINT job").await {
            tracing::error!(error = %e, "writer: cannot begin; failing {} writes", batch.len());
            let _ = conn.execute("ROLLBACK").await;
            continue; // the connection is dropped; the next batch opens a fresh one
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
            let is_last = i == last;
            let on_success = if is_last {
                "RELEASE job; COMMIT"
            } else {
                "RELEASE job; SAVEPOINT job"
            };
            let outcome = match AssertUnwindSafe(job(&mut conn, on_success))
                .catch_unwind()
                .await
            {
                Ok((outcome, deliver)) => {
                    delivers.push(deliver);
                    outcome
                }
                Err(_) => {
                    tracing::error!("writer: a use case panicked; its writes are rolled back");
                    Outcome {
                        ok: false,
                        ran_boundary: false,
                    }
                }
            };
            if !outcome.ran_boundary {
                let end = match (outcome.ok, is_last) {
                    (true, _) => on_success,
                    (false, false) => "ROLLBACK TO job; RELEASE job; SAVEPOINT job",
                    (false, true) => "ROLLBACK TO job; RELEASE job; COMMIT",
                };
                if let Err(e) = conn.execute(end).await {
                    broken = Some(e.to_string());
                    break;
                }
            }
            committed = is_last;
        }
        let commit_error = match (broken, committed) {
            (Some(e), _) => Some(e),
            (None, true) => None,
            (None, false) => Some("the batch ended before its commit".into()),
        };
        match &commit_error {
            Some(e) => {
                tracing::error!(error = %e, "writer: batch not committed");
                // A connection whose transaction failed is not trusted again.
                let _ = conn.execute("ROLLBACK").await;
            }
            None => owned = Some(conn),
        }
        match (&commit_error, &syncer) {
            (None, Some(sync)) => {
                if let Err(unsent) = sync.send(delivers) {
                    for deliver in unsent.0 {
                        deliver(Some("the WAL sync thread has stopped".into()));
                    }
                }
            }
            _ => {
                for deliver in delivers {
                    deliver(commit_error.clone());
                }
            }
        }
    }
}

/// Takes the writer's own connection out of the pool and, for a database file, switches it to
/// `synchronous = NORMAL` with the WAL sync thread (started once) answering after the flush.
async fn open(
    pool: &AnyPool,
    syncer: &mut Option<std::sync::mpsc::Sender<Vec<Deliver>>>,
) -> Result<AnyConnection, sqlx::Error> {
    let mut conn = pool.acquire().await?.detach();
    if syncer.is_none() {
        let file: String = sqlx::query("PRAGMA database_list")
            .fetch_all(&mut conn)
            .await?
            .iter()
            .find(|r| r.try_get::<String, _>("name").is_ok_and(|n| n == "main"))
            .and_then(|r| r.try_get("file").ok())
            .unwrap_or_default();
        if !file.is_empty() {
            *syncer = Some(start_syncer(PathBuf::from(format!("{file}-wal"))));
        }
    }
    if syncer.is_some() {
        conn.execute("PRAGMA synchronous = NORMAL").await?;
    }
    Ok(conn)
}

/// The thread that makes commits durable: flushes the WAL file once for every batch that
/// committed since its last flush, then answers their callers.
fn start_syncer(wal: PathBuf) -> std::sync::mpsc::Sender<Vec<Deliver>> {
    let (tx, rx) = std::sync::mpsc::channel::<Vec<Deliver>>();
    std::thread::Builder::new()
        .name("consign-wal-sync".into())
        .spawn(move || {
            let mut file: Option<std::fs::File> = None;
            while let Ok(mut pending) = rx.recv() {
                while let Ok(more) = rx.try_recv() {
                    pending.extend(more);
                }
                let flushed = match &file {
                    Some(f) => f.sync_data(),
                    None => std::fs::OpenOptions::new()
                        .read(true)
                        .write(true)
                        .open(&wal)
                        .and_then(|f| f.sync_data().map(|()| file = Some(f))),
                };
                let error = flushed.err().map(|e| {
                    tracing::error!(error = %e, wal = %wal.display(), "writer: cannot flush the WAL");
                    file = None;
                    format!("the commit could not be flushed to disk: {e}")
                });
                for deliver in pending {
                    deliver(error.clone());
                }
            }
        })
        .expect("the WAL sync thread starts");
    tx
}
