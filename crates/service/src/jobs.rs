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

use domain::{ObjectId, Timestamp};
use serde::{Deserialize, Serialize};
use store::jobs::{self, Claim, NewJob};
use store::Scope;

use crate::{
    batches, crowdfunding, manifests, notifications, refunds, shipments, transactions, webhooks,
    ServiceError, Services,
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

/// Every kind of background work and what it needs. Stored as the `kind` column (the variant's
/// name below) and the `payload` column (its fields as JSON); the names and fields are the
/// stored format, so a variant is renamed only with a migration of the rows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "payload", rename_all = "snake_case")]
pub enum Job {
    /// Price a QUEUED shipment (`async: true`).
    RateShipment {
        account: ObjectId,
        test: bool,
        shipment: ObjectId,
    },
    /// Make a QUEUED transaction's label.
    BuyLabel {
        account: ObjectId,
        test: bool,
        transaction: ObjectId,
    },
    /// Settle a refund.
    RefundLabel {
        account: ObjectId,
        test: bool,
        refund: ObjectId,
    },
    /// Put the day's labels on a QUEUED manifest and render it.
    MakeManifest {
        account: ObjectId,
        test: bool,
        manifest: ObjectId,
    },
    /// One attempt at a webhook delivery; `first` is how many attempts the log held when this
    /// round began (a redelivery starts a new round).
    DeliverWebhook { delivery: ObjectId, first: usize },
    /// Send a buyer email.
    SendEmail { notification: ObjectId },
    /// Make and rate a VALIDATING batch's pending shipments.
    ValidateBatch {
        account: ObjectId,
        test: bool,
        batch: ObjectId,
    },
    /// Buy a PURCHASING batch's labels and merge them.
    PurchaseBatch {
        account: ObjectId,
        test: bool,
        batch: ObjectId,
    },
    /// Send a backer's dispatch email.
    SendDispatch { email: ObjectId },
    /// Email a link that sets a user's password (an invitation or a reset).
    SendUserLink { link: ObjectId },
    /// Push a project's backers into its provider account.
    SyncProject {
        account: ObjectId,
        test: bool,
        project: ObjectId,
        sync: ObjectId,
    },
}

impl Job {
    /// The stored row: due now.
    pub fn due_now(&self) -> NewJob {
        let v = serde_json::to_value(self).expect("a job serialises");
        let kind = v["kind"].as_str().expect("a job has a kind");
        NewJob::now(kind, v["payload"].to_string())
    }

    /// The job a stored row holds; a payload that no longer decodes is a bug, not a retry.
    pub fn decode(claim: &Claim) -> Result<Job, ServiceError> {
        let payload: serde_json::Value = serde_json::from_str(&claim.payload).map_err(|e| {
            ServiceError::internal(format!(
                "job {} ({}): payload is not JSON: {e}",
                claim.id, claim.kind
            ))
        })?;
        serde_json::from_value(serde_json::json!({"kind": claim.kind, "payload": payload})).map_err(
            |e| {
                ServiceError::internal(format!(
                    "job {} ({}): payload does not decode: {e}",
                    claim.id, claim.kind
                ))
            },
        )
    }
}

/// The scope of an account's job.
pub(crate) fn scope_of(account: ObjectId, test: bool) -> Scope {
    Scope {
        account_id: account,
        test,
    }
}

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
async fn claim_due(s: &Services, limit: i64) -> Result<Vec<Claim>, ServiceError> {
    if limit == 0 || !jobs::any_due(&mut *s.store.conn().await?).await? {
        return Ok(Vec::new());
    }
    Ok(jobs::claim(&s.store, limit, s.job_lease.as_millis() as i64).await?)
}

#[tracing::instrument(skip_all, fields(job = %claim.id, kind = %claim.kind, attempt = claim.attempts))]
async fn run_one(s: &Services, claim: &Claim) {
    let job = match Job::decode(claim) {
        Ok(job) => job,
        Err(e) => {
            // Running it again would fail the same way: abandoned at once, kept for the record.
            tracing::error!(error = %e, "job abandoned: its payload does not decode");
            if let Err(e) = abandon(s, claim, &e.to_string()).await {
                tracing::warn!(error = %e, "could not record the job's failure");
            }
            return;
        }
    };
    let outcome = match &job {
        Job::RateShipment {
            account,
            test,
            shipment,
        } => shipments::run_rate_job(s, claim, scope_of(*account, *test), *shipment).await,
        Job::BuyLabel {
            account,
            test,
            transaction,
        } => transactions::run_buy_job(s, claim, scope_of(*account, *test), *transaction).await,
        Job::RefundLabel {
            account,
            test,
            refund,
        } => refunds::run_refund_job(s, claim, scope_of(*account, *test), *refund).await,
        Job::MakeManifest {
            account,
            test,
            manifest,
        } => manifests::run_manifest_job(s, claim, scope_of(*account, *test), *manifest).await,
        Job::DeliverWebhook { delivery, first } => {
            webhooks::run_deliver_job(s, claim, *delivery, *first).await
        }
        Job::SendEmail { notification } => {
            notifications::run_send_job(s, claim, *notification).await
        }
        Job::ValidateBatch {
            account,
            test,
            batch,
        } => batches::run_validate_job(s, claim, scope_of(*account, *test), *batch).await,
        Job::PurchaseBatch {
            account,
            test,
            batch,
        } => batches::run_purchase_job(s, claim, scope_of(*account, *test), *batch).await,
        Job::SendDispatch { email } => crowdfunding::tracking::run_send_job(s, claim, *email).await,
        Job::SendUserLink { link } => crate::user_links::run_send_job(s, claim, *link).await,
        Job::SyncProject {
            account,
            test,
            project,
            sync,
        } => {
            crowdfunding::sync::run_job(s, claim, scope_of(*account, *test), *project, *sync).await
        }
    };
    let Err(e) = outcome else { return };
    let error = e.to_string();
    let give_up = claim.attempts >= MAX_ATTEMPTS || matches!(e, ServiceError::NotFound);
    let recorded = if give_up {
        tracing::error!(%error, "job abandoned");
        match (&job, &e) {
            (_, ServiceError::NotFound) => abandon(s, claim, &error).await,
            (
                Job::RateShipment {
                    account,
                    test,
                    shipment,
                },
                _,
            ) => {
                shipments::fail_rate_job(s, claim, scope_of(*account, *test), *shipment, &error)
                    .await
            }
            (
                Job::BuyLabel {
                    account,
                    test,
                    transaction,
                },
                _,
            ) => {
                let scope = Scope {
                    account_id: *account,
                    test: *test,
                };
                transactions::fail_buy_job(s, claim, scope, *transaction, &error).await
            }
            _ => abandon(s, claim, &error).await,
        }
    } else {
        let delay = backoff(claim.attempts);
        tracing::warn!(%error, retry_in_ms = delay.as_millis() as u64, "job failed; will retry");
        let (id, at) = (
            claim.id,
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

async fn abandon(s: &Services, claim: &Claim, error: &str) -> Result<(), ServiceError> {
    let (id, error) = (claim.id, error.to_string());
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
    fn jobs_round_trip_through_their_stored_kind_and_payload() {
        let job = Job::BuyLabel {
            account: ObjectId::new(),
            test: true,
            transaction: ObjectId::new(),
        };
        let row = job.due_now();
        assert_eq!(row.kind, "buy_label");
        let claim = Claim {
            id: row.id,
            kind: row.kind.clone(),
            payload: row.payload.clone(),
            attempts: 1,
        };
        assert_eq!(Job::decode(&claim).unwrap(), job);
        // The stored shape of earlier versions still decodes.
        let old = Claim {
            kind: "deliver_webhook".into(),
            payload: format!("{{\"delivery\":\"{}\",\"first\":2}}", ObjectId::new()),
            ..claim.clone()
        };
        assert!(matches!(
            Job::decode(&old),
            Ok(Job::DeliverWebhook { first: 2, .. })
        ));
        for (kind, payload) in [
            ("buy_label", "{\"account\": 1}"),
            ("no_such", "{}"),
            ("send_email", "not json"),
        ] {
            let bad = Claim {
                kind: kind.into(),
                payload: payload.into(),
                ..claim.clone()
            };
            let err = Job::decode(&bad).unwrap_err();
            assert!(matches!(err, ServiceError::Internal(_)), "{kind}: {err}");
            assert!(
                err.to_string().contains(&claim.id.to_string()),
                "the job's id: {err}"
            );
        }
    }

    #[test]
    fn backoff_doubles_up_to_five_minutes() {
        let secs: Vec<u64> = (1..=10).map(|a| backoff(a).as_secs()).collect();
        assert_eq!(secs, [1, 2, 4, 8, 16, 32, 64, 128, 256, 300]);
    }
}
