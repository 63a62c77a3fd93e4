//! The `purchase_batch` job: buys each valid shipment's label, then merges the labels into files
//! of at most 100 and ends the batch PURCHASED with `batch_purchased`.

use documents::LabelFormat;
use domain::batch::{Batch, BatchShipment, BatchShipmentStatus, BatchStatus, LABELS_PER_FILE};
use domain::transaction::TransactionStatus;
use domain::webhook::WebhookEvent;
use domain::ObjectId;
use futures_util::{stream, StreamExt, TryStreamExt};
use store::jobs::Claim;
use store::Scope;

use crate::orders::OrderLink;
use crate::rating::{note, CONSIGN};
use crate::transactions::{self, LabelOptions, PurchaseInput};
use crate::{files, webhooks, Principal, ServiceError, Services};

/// Labels bought per recorded chunk.
const CHUNK: i64 = 200;
/// Labels bought at once (as many as a busy HTTP client would ask for: carriers in-process
/// are CPU-bound, remote ones wait on the network).
const AT_ONCE: usize = 32;

/// Runs (or resumes) a batch's purchase.
pub(crate) async fn run_purchase_job(
    s: &Services,
    job: &Claim,
    scope: Scope,
    id: ObjectId,
) -> Result<(), ServiceError> {
    let who = crate::accounts::principal_of(s, scope).await?;
    loop {
        let mut conn = s.store.conn().await?;
        let batch = store::batches::get(&mut conn, scope, id).await?;
        if batch.status != BatchStatus::Purchasing {
            drop(conn);
            let job_id = job.id;
            s.store
                .write(move |conn| {
                    Box::pin(async move { store::jobs::complete(conn, job_id).await })
                })
                .await?;
            return Ok(());
        }
        let due = store::batches::in_status(&mut conn, id, BatchShipmentStatus::Valid, true, CHUNK)
            .await?;
        drop(conn);
        if due.is_empty() {
            return finish(s, job, scope, &batch).await;
        }
        let done: Vec<BatchShipment> = stream::iter(due)
            .map(|bs| buy_one(s, &who, &batch, bs))
            .buffer_unordered(AT_ONCE)
            .try_collect()
            .await?;
        super::record(s, done).await?;
    }
}

/// Buys one batch shipment's rate. A retry after a crash finds the label its rate already
/// bought (no carrier is asked twice).
async fn buy_one(
    s: &Services,
    who: &Principal,
    batch: &Batch,
    mut bs: BatchShipment,
) -> Result<BatchShipment, ServiceError> {
    let Some(rate) = bs.rate else {
        bs.status = BatchShipmentStatus::TransactionFailed;
        bs.messages = vec![note(CONSIGN, "no_rate", "The shipment has no rate to buy.")];
        return Ok(bs);
    };
    let input = PurchaseInput {
        rate,
        options: LabelOptions {
            format: batch.label_filetype.as_deref().and_then(LabelFormat::parse),
            metadata: bs.metadata.clone(),
            key: None,
        },
        asynchronous: false,
        orders: bs
            .order
            .map(|order| OrderLink {
                order,
                portions: Vec::new(),
            })
            .into_iter()
            .collect(),
    };
    match transactions::purchase(s, who, input).await {
        Ok(t) => {
            bs.transaction = Some(t.id);
            if t.status != TransactionStatus::Success {
                bs.status = BatchShipmentStatus::TransactionFailed;
                bs.messages = t.messages;
            }
        }
        Err(ServiceError::Validation(e)) => {
            bs.status = BatchShipmentStatus::TransactionFailed;
            bs.messages = super::notes_of(&e);
        }
        Err(ServiceError::Conflict(why)) => {
            bs.status = BatchShipmentStatus::TransactionFailed;
            bs.messages = vec![note(CONSIGN, "conflict", why)];
        }
        Err(e) => return Err(e),
    }
    Ok(bs)
}

/// Merges the labels (PDF and ZPL II; PNG labels stay single files), records PURCHASED with the
/// merged files and sends `batch_purchased`, in one transaction with the job's completion.
async fn finish(
    s: &Services,
    job: &Claim,
    scope: Scope,
    batch: &Batch,
) -> Result<(), ServiceError> {
    let started = std::time::Instant::now();
    let keys = store::batches::label_keys(&mut *s.store.conn().await?, batch.id).await?;
    // Each file: its kind, its number and its labels' keys.
    let mut files: Vec<(&'static str, usize, Vec<String>)> = Vec::new();
    for (kind, group) in group_by_kind(&keys) {
        for chunk in group.chunks(LABELS_PER_FILE) {
            files.push((kind, files.len() + 1, chunk.to_vec()));
        }
    }
    let count = files.len();
    // Merging is CPU work: on the blocking pool, as many at once as there are cores.
    let at_once = std::thread::available_parallelism().map_or(2, |n| n.get());
    let mut merged: Vec<String> = Vec::with_capacity(count);
    let mut files = files.into_iter().peekable();
    while files.peek().is_some() {
        let mut round = Vec::with_capacity(at_once);
        for (kind, n, chunk) in files.by_ref().take(at_once) {
            round.push(merge_one(s, scope, batch.id, kind, n, chunk));
        }
        merged.extend(futures_util::future::try_join_all(round).await?);
    }
    tracing::info!(
        batch = %batch.id,
        files = count,
        labels = keys.len(),
        ms = started.elapsed().as_millis() as u64,
        "merged the batch's labels"
    );
    let (job_id, id) = (job.id, batch.id);
    s.store
        .write(move |conn| {
            Box::pin(async move {
                if store::batches::finish_purchase(conn, id, &merged).await? {
                    webhooks::outbox(conn, WebhookEvent::BatchPurchased, &[scope], |_| {
                        serde_json::Value::String(id.to_string())
                    })
                    .await?;
                }
                store::jobs::complete(conn, job_id).await
            })
        })
        .await?;
    s.job_signal.notify_one();
    // Thousands of new labels: PostgreSQL's planner learns of them now (the labels page, the
    // search by tracking number), not at autovacuum's next pass.
    if keys.len() > 1_000 {
        s.store
            .analyze(&["transactions", "order_parcels", "batch_shipments"])
            .await?;
    }
    Ok(())
}

/// Reads one file's labels, merges them and stores the file; answers its key.
async fn merge_one(
    s: &Services,
    scope: Scope,
    batch: ObjectId,
    kind: &'static str,
    n: usize,
    chunk: Vec<String>,
) -> Result<String, ServiceError> {
    let mut files = Vec::with_capacity(chunk.len());
    for k in &chunk {
        let bytes = s
            .blobs
            .get(k)
            .await
            .map_err(|e| ServiceError::Unavailable(format!("label file {k}: {e}")))?
            .ok_or_else(|| ServiceError::internal(format!("label file {k} is missing")))?;
        files.push(bytes);
    }
    let bytes = tokio::task::spawn_blocking(move || match kind {
        "pdf" => documents::merge::pdfs(&files).map_err(ServiceError::internal),
        _ => Ok(documents::merge::zpl(&files)),
    })
    .await
    .map_err(|e| ServiceError::internal(format!("merging labels: {e}")))??;
    let key = files::key(scope.account_id, batch, &format!("labels-{n}.{kind}"));
    s.blobs
        .put(&key, bytes)
        .await
        .map_err(|e| ServiceError::Unavailable(format!("merged labels: {e}")))?;
    Ok(key)
}

/// The label keys that merge (PDF, then ZPL), each kind in request order.
fn group_by_kind(keys: &[String]) -> Vec<(&'static str, Vec<String>)> {
    let mut out: Vec<(&'static str, Vec<String>)> = vec![("pdf", Vec::new()), ("zpl", Vec::new())];
    for k in keys {
        if k.ends_with(".pdf") {
            out[0].1.push(k.clone());
        } else if k.ends_with(".zpl") {
            out[1].1.push(k.clone());
        }
    }
    out.retain(|(_, v)| !v.is_empty());
    out
}
