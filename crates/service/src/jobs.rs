//! The job worker: claims due jobs from the database queue (`store::jobs`) and runs them.
//!
//! It runs inside the server process (no second process to deploy), up to 64 jobs at once, each
//! in its own task. A request that enqueues work wakes it at once; otherwise it looks for due
//! jobs every [`POLL`]. A failed job is retried with
//! exponential backoff (1 s, 2 s, 4 s, … capped at 5 min) up to [`MAX_ATTEMPTS`] claims, then
//! abandoned and its owner told (a shipment goes to ERROR with a message).
//!
//! Leases are short ([`LEASE`], 15 s by default) and renewed by a heartbeat every third of a
//! lease while a job runs, so a slow job keeps its claim and a job whose worker died (crash,
//! kill -9) is claimed again within one lease. On SQLite the server is the queue's only worker,
//! so at start-up it frees every lease left by a process that died, at once.

use std::sync::Arc;
use std::time::Duration;

use domain::Timestamp;
use store::jobs::{self, Job};

use crate::{
    manifests, notifications, refunds, shipments, transactions, webhooks, ServiceError, Services,
};

/// How often the worker looks for due jobs when nobody wakes it.
pub const POLL: Duration = Duration::from_millis(500);
/// How long a claim lasts unless renewed (default of `job_lease_s`); the heartbeat renews the
/// claims of running jobs every third of it.
pub const LEASE: Duration = Duration::from_secs(15);
/// Claims before a job is abandoned.
pub const MAX_ATTEMPTS: i64 = 8;
/// Jobs run at once: each runs in its own task, and a free slot is refilled as soon as a job
/// ends, so one slow job (a webhook receiver taking its full timeout) never holds up the rest.
const SLOTS: usize = 64;

/// Runs the worker until the task is dropped or aborted. Work is never lost by stopping it:
/// unfinished jobs keep their lease and run again after it expires.
pub async fn run_worker(s: Services) {
    if s.store.backend() == store::Backend::Sqlite {
        match jobs::release_all(&s.store).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(jobs = n, "freed the leases of a process that stopped"),
            Err(e) => tracing::warn!(error = %e, "could not free old leases; they expire"),
        }
    }
    let slots = Arc::new(tokio::sync::Semaphore::new(SLOTS));
    let held = Held::default();
    let _heartbeat = AbortOnDrop(tokio::spawn(heartbeat(s.clone(), held.clone())));
    loop {
        // Wait for a free slot, then claim as many jobs as there are free slots.
        match slots.clone().acquire_owned().await {
            Ok(permit) => drop(permit),
            Err(_) => return,
        }
        match claim_due(&s, slots.available_permits() as i64).await {
            Ok(jobs) if jobs.is_empty() => {
                let _ = tokio::time::timeout(POLL, s.job_signal.notified()).await;
            }
            Ok(jobs) => {
                for job in jobs {
                    let Ok(permit) = slots.clone().acquire_owned().await else {
                        return;
                    };
                    let (s, held) = (s.clone(), held.clone());
                    held.lock().insert(job.id, job.attempts);
                    tokio::spawn(async move {
                        run_one(&s, &job).await;
                        held.lock().remove(&job.id);
                        drop(permit);
                    });
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "job queue unavailable; retrying");
                tokio::time::sleep(POLL).await;
            }
        }
    }
}

/// The jobs this worker is running: id → the claim (`attempts`) it holds.
#[derive(Clone, Default)]
struct Held(Arc<std::sync::Mutex<std::collections::HashMap<domain::ObjectId, i64>>>);

impl Held {
    fn lock(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<domain::ObjectId, i64>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Ends a task when the worker that started it ends.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Renews the leases of the running jobs every third of a lease, in one statement.
async fn heartbeat(s: Services, held: Held) {
    let lease = s.job_lease;
    loop {
        tokio::time::sleep(lease / 3).await;
        let running: Vec<(domain::ObjectId, i64)> =
            held.lock().iter().map(|(id, a)| (*id, *a)).collect();
        if let Err(e) = jobs::renew(&s.store, &running, lease.as_millis() as i64).await {
            tracing::warn!(error = %e, "could not renew job leases");
        }
    }
}

/// Claims up to `limit` due jobs (none without a write when nothing is due).
async fn claim_due(s: &Services, limit: i64) -> Result<Vec<Job>, ServiceError> {
    if limit == 0 || !jobs::any_due(&mut *s.store.conn().await?).await? {
        return Ok(Vec::new());
    }
    Ok(jobs::claim(&s.store, limit, s.job_lease.as_millis() as i64).await?)
}

#[tracing::instrument(skip_all, fields(job = %job.id, kind = %job.kind, attempt = job.attempts))]
async fn run_one(s: &Services, job: &Job) {
    let outcome = match job.kind.as_str() {
        shipments::RATE_JOB => shipments::run_rate_job(s, job).await,
        transactions::BUY_JOB => transactions::run_buy_job(s, job).await,
        refunds::REFUND_JOB => refunds::run_refund_job(s, job).await,
        manifests::MANIFEST_JOB => manifests::run_manifest_job(s, job).await,
        webhooks::DELIVER_JOB => webhooks::run_deliver_job(s, job).await,
        notifications::EMAIL_JOB => notifications::run_send_job(s, job).await,
        other => Err(ServiceError::internal(format!(
            "unknown job kind {other:?}"
        ))),
    };
    let Err(e) = outcome else { return };
    let error = e.to_string();
    let recorded = if job.attempts >= MAX_ATTEMPTS || matches!(e, ServiceError::NotFound) {
        tracing::error!(%error, "job abandoned");
        match job.kind.as_str() {
            shipments::RATE_JOB if !matches!(e, ServiceError::NotFound) => {
                shipments::fail_rate_job(s, job, &error).await
            }
            transactions::BUY_JOB if !matches!(e, ServiceError::NotFound) => {
                transactions::fail_buy_job(s, job, &error).await
            }
            _ => abandon(s, job, &error).await,
        }
    } else {
        let delay = backoff(job.attempts);
        tracing::warn!(%error, retry_in_ms = delay.as_millis() as u64, "job failed; will retry");
        let (id, at) = (
            job.id,
            Timestamp::from_millis(Timestamp::now().millis() + delay.as_millis() as i64),
        );
        s.store
            .write(move |conn| Box::pin(async move { jobs::retry(conn, id, at, &error).await }))
            .await
            .map_err(Into::into)
    };
    if let Err(e) = recorded {
        // The lease will expire and the job run again; nothing is lost.
        tracing::warn!(error = %e, "could not record the job's failure");
    }
}

async fn abandon(s: &Services, job: &Job, error: &str) -> Result<(), ServiceError> {
    let (id, error) = (job.id, error.to_string());
    Ok(s.store
        .write(move |conn| Box::pin(async move { jobs::abandon(conn, id, &error).await }))
        .await?)
}

/// Delay before the next attempt after `attempts` claims.
pub fn backoff(attempts: i64) -> Duration {
    let exp = attempts.clamp(1, 20) as u32 - 1;
    Duration::from_secs((1u64 << exp).min(300))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_five_minutes() {
        let secs: Vec<u64> = (1..=10).map(|a| backoff(a).as_secs()).collect();
        assert_eq!(secs, [1, 2, 4, 8, 16, 32, 64, 128, 256, 300]);
    }
}
