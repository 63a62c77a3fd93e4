//! "Sync orders" (seed 000): one provider record per backer with a complete address, pushed by
//! a durable job in order-id order, 100 orders a chunk, 8 at a time. Each chunk's results, the
//! report's counts and the cursor are one transaction, so a job resumed after a crash goes on
//! after the last chunk it recorded. What was pushed is remembered with a digest of what was
//! sent: a second sync skips unchanged backers and pushes a changed address again (providers
//! do not let a created shipment or order change its address), reporting it as updated.
//!
//! A provider that is down (unreachable, or 429 and 5xx after the HTTP client's own retries)
//! fails the job attempt, which the worker retries with backoff: each such attempt is listed in
//! the report with a short, sanitised excerpt of why (`attempts`), and after the last one
//! ([`crate::jobs::MAX_ATTEMPTS`]) the sync ends `FAILED` instead of staying `RUNNING`. A
//! refusal is that backer's failure, reported under `failures`.

use futures_util::stream::{self, StreamExt};
use integrations::providers::{excerpt, Outbound, ProviderError};
use serde_json::json;
use sha2::{Digest, Sha256};
use store::jobs::Claim;
pub use store::projects::Sync;
use store::projects::{ProviderRecord, SyncAttempt};
use store::Scope;

use domain::units::MassUnit;
use domain::{ObjectId, Timestamp};
use rust_decimal::Decimal;

use super::secret;
use crate::jobs::Job;
use crate::{scope, Principal, ServiceError, Services};

const CHUNK: i64 = 100;
const AT_ONCE: usize = 8;
/// The weight pushed when the project sets none.
const DEFAULT_WEIGHT: (i64, MassUnit) = (16, MassUnit::Oz);

/// One backer's push: pledge id, order, digest, the previous record, and the push's result
/// (`None`: unchanged, skipped).
type Pushed = (
    String,
    ObjectId,
    String,
    Option<ProviderRecord>,
    Option<Result<String, ProviderError>>,
);

/// Starts a sync of project `id`: its report, RUNNING until the job is done.
pub async fn start(s: &Services, who: &Principal, id: ObjectId) -> Result<Sync, ServiceError> {
    let scope = scope(who);
    let now = Timestamp::now();
    let sync = Sync {
        id: ObjectId::at(now.millis()),
        project: id,
        created: now,
        updated: now,
        status: "RUNNING".into(),
        created_records: 0,
        updated_records: 0,
        skipped: 0,
        failed: 0,
        failures: json!([]),
        cursor: None,
        attempts: Vec::new(),
    };
    let row = sync.clone();
    s.store
        .write(move |conn| {
            Box::pin(async move {
                let p = store::projects::get(conn, scope, id).await?;
                if p.project.provider.is_none() || p.provider_key.is_none() {
                    return Err(store::StoreError::Conflict(
                        "Connect a provider (provider, api_key, return_address) before syncing."
                            .into(),
                    ));
                }
                store::projects::insert_sync(conn, scope.account_id, &row).await?;
                store::jobs::enqueue(
                    conn,
                    Job::SyncProject {
                        account: scope.account_id,
                        test: scope.test,
                        project: id,
                        sync: row.id,
                    }
                    .due_now(),
                )
                .await
            })
        })
        .await?;
    s.job_signal.notify_one();
    Ok(sync)
}

/// A project's sync report.
pub async fn get(
    s: &Services,
    who: &Principal,
    project: ObjectId,
    id: ObjectId,
) -> Result<Sync, ServiceError> {
    let mut conn = s.store.conn().await?;
    store::projects::get(&mut conn, scope(who), project).await?;
    Ok(store::projects::sync(&mut conn, project, id).await?)
}

/// What was sent for a backer, as the digest compares it.
fn digest(o: &Outbound<'_>) -> String {
    let a = |f: &domain::address::AddressFields| {
        json!([
            f.name, f.company, f.street1, f.street2, f.city, f.state, f.zip, f.country, f.phone,
            f.email
        ])
    };
    let v = json!([
        a(o.to),
        a(o.from),
        o.tier_name,
        o.weight.0.normalize().to_string(),
        o.weight.1.as_str()
    ]);
    hex::encode(Sha256::digest(v.to_string().as_bytes()))
}

/// Runs one `sync_project` job.
pub async fn run_job(
    s: &Services,
    claim: &Claim,
    scope: Scope,
    project_id: ObjectId,
    sync_id: ObjectId,
) -> Result<(), ServiceError> {
    let (project, mut sync, from) = {
        let mut conn = s.store.conn().await?;
        let p = store::projects::get(&mut conn, scope, project_id).await?;
        let sync = store::projects::sync(&mut conn, project_id, sync_id).await?;
        let link = p.project.provider.clone().ok_or(ServiceError::NotFound)?;
        let from = store::addresses::get(&mut conn, scope, link.return_address).await?;
        (p, sync, from.fields)
    };
    let job_id = claim.id;
    if sync.status != "RUNNING" {
        s.store
            .write(move |conn| Box::pin(async move { store::jobs::complete(conn, job_id).await }))
            .await?;
        return Ok(());
    }
    let link = project.project.provider.clone().expect("checked");
    let key = secret(s, &project, "provider_key")?.ok_or(ServiceError::NotFound)?;
    let provider = integrations::providers::connect(
        &link.kind,
        &key,
        link.base_url.as_deref(),
        s.http.clone(),
    )
    .ok_or_else(|| ServiceError::internal(format!("unknown provider kind {}", link.kind)))?;
    let weight = project
        .project
        .reward_weight
        .map(|w| (w.weight, w.unit))
        .unwrap_or((Decimal::from(DEFAULT_WEIGHT.0), DEFAULT_WEIGHT.1));
    loop {
        let batch = {
            let mut conn = s.store.conn().await?;
            store::projects::shippable_orders_after(&mut conn, project_id, sync.cursor, CHUNK)
                .await?
        };
        let Some(last) = batch.last().map(|b| b.1) else {
            break;
        };
        let (orders, addresses, records, pledges) = {
            let mut conn = s.store.conn().await?;
            let ids: Vec<ObjectId> = batch.iter().map(|b| b.1).collect();
            let pledge_ids: Vec<String> = batch.iter().map(|b| b.0.clone()).collect();
            let orders = store::orders::find_by_source(
                &mut conn,
                scope,
                &project.project.source(),
                &pledge_ids,
            )
            .await?;
            let address_ids: Vec<ObjectId> = orders.values().map(|o| o.to_address).collect();
            let addresses = store::addresses::get_many(&mut conn, scope, &address_ids).await?;
            let records = store::projects::provider_records(&mut conn, project_id, &ids).await?;
            let pledges =
                store::projects::pledges_by_id(&mut conn, project_id, &pledge_ids).await?;
            (orders, addresses, records, pledges)
        };
        // (pledge id, order, digest, previous record, what to send)
        let mut work = Vec::new();
        for (pledge_id, order_id) in &batch {
            let (Some(order), Some(pledge)) = (orders.get(pledge_id), pledges.get(pledge_id))
            else {
                continue;
            };
            let Some(to) = addresses.get(&order.to_address) else {
                continue;
            };
            work.push((
                pledge_id.clone(),
                *order_id,
                order.placed_at,
                to.fields.clone(),
                pledge.pledge.tier_name.clone(),
            ));
        }
        let results: Vec<Pushed> = stream::iter(work.into_iter().map(
            |(pledge_id, order_id, placed_at, to, tier)| {
                let provider = &provider;
                let from = &from;
                let previous = records.get(&order_id).cloned();
                async move {
                    let reference = order_id.to_string();
                    let out = Outbound {
                        reference: &reference,
                        pledge_id: &pledge_id,
                        tier_name: &tier,
                        placed_at,
                        to: &to,
                        from,
                        weight,
                    };
                    let d = digest(&out);
                    if previous
                        .as_ref()
                        .is_some_and(|p| p.status == "synced" && p.digest == d)
                    {
                        return (pledge_id, order_id, d, previous, None);
                    }
                    let key = format!("consign-{project_id}-{order_id}-{}", &d[..16]);
                    let r = provider.push(&out, &key).await;
                    (pledge_id, order_id, d, previous, Some(r))
                }
            },
        ))
        .buffer_unordered(AT_ONCE)
        .collect()
        .await;
        let mut rows = Vec::new();
        let mut unavailable = None;
        for (pledge_id, order, d, previous, r) in results {
            match r {
                None => sync.skipped += 1,
                Some(Ok(remote)) => {
                    if previous.as_ref().is_some_and(|p| p.remote_id.is_some()) {
                        sync.updated_records += 1;
                    } else {
                        sync.created_records += 1;
                    }
                    rows.push(ProviderRecord {
                        order,
                        provider: link.kind.clone(),
                        remote_id: Some(remote),
                        digest: d,
                        status: "synced".into(),
                        error: None,
                    });
                }
                Some(Err(ProviderError::Unavailable(m))) => {
                    unavailable = Some(m);
                }
                Some(Err(ProviderError::Rejected(m))) => {
                    sync.failed += 1;
                    if let Some(list) = sync.failures.as_array_mut() {
                        if list.len() < 1000 {
                            list.push(json!({"pledge_id": pledge_id, "order": order.to_string(), "error": m}));
                        }
                    }
                    rows.push(ProviderRecord {
                        order,
                        provider: link.kind.clone(),
                        remote_id: None,
                        digest: d,
                        status: "failed".into(),
                        error: Some(m),
                    });
                }
            }
        }
        if unavailable.is_none() {
            sync.cursor = Some(last);
        }
        sync.updated = Timestamp::now();
        let (row, done) = (
            sync.clone(),
            unavailable.is_none() && (batch.len() as i64) < CHUNK,
        );
        let mut row = row;
        if done {
            row.status = "DONE".into();
        }
        // An unreachable provider: this attempt is the report's, and the last one ends it.
        let give_up = unavailable.is_some() && claim.attempts >= crate::jobs::MAX_ATTEMPTS;
        if let Some(m) = &unavailable {
            row.attempts.push(SyncAttempt {
                attempt: claim.attempts,
                at: Timestamp::now(),
                error: excerpt(m, &[&key]),
            });
            if give_up {
                row.status = "FAILED".into();
            }
        }
        sync = row.clone();
        s.store
            .write(move |conn| {
                Box::pin(async move {
                    let now = Timestamp::now();
                    for r in &rows {
                        store::projects::put_provider_record(conn, project_id, r, now).await?;
                    }
                    store::projects::update_sync(conn, &row).await?;
                    if done || give_up {
                        store::jobs::complete(conn, job_id).await?;
                    }
                    Ok(())
                })
            })
            .await?;
        if give_up {
            tracing::warn!(sync = %sync_id, attempts = claim.attempts, "sync failed: the provider stayed unreachable");
            return Ok(());
        }
        if let Some(m) = unavailable {
            // The pushed backers of this chunk are recorded; the rest go again on retry.
            return Err(ServiceError::Unavailable(format!(
                "provider: {}",
                excerpt(&m, &[&key])
            )));
        }
        if done {
            return Ok(());
        }
    }
    sync.status = "DONE".into();
    sync.updated = Timestamp::now();
    s.store
        .write(move |conn| {
            Box::pin(async move {
                store::projects::update_sync(conn, &sync).await?;
                store::jobs::complete(conn, job_id).await
            })
        })
        .await?;
    Ok(())
}
