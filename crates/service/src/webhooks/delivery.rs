//! Deliveries: the job that makes one attempt and schedules the next, the log, redelivery.

use domain::webhook::{Attempt, Delivery, DeliveryStatus, MAX_ATTEMPTS, RETRY_DELAYS_S};
use domain::{ObjectId, Timestamp};
use store::jobs::Claim;

use store::{Page, PageRequest};

use crate::{scope, Principal, ServiceError, Services};

use super::outbox::deliver_job;
use super::sender::send;
use super::subscriptions::secret_context;

/// A page of a subscription's delivery log.
pub async fn deliveries(
    s: &Services,
    who: &Principal,
    webhook: ObjectId,
    req: PageRequest,
) -> Result<Page<Delivery>, ServiceError> {
    let mut conn = s.store.conn().await?;
    store::webhooks::get(&mut conn, scope(who), webhook).await?;
    Ok(store::webhooks::deliveries(&mut conn, scope(who), webhook, req).await?)
}

/// One delivery of a subscription.
pub async fn delivery(
    s: &Services,
    who: &Principal,
    webhook: ObjectId,
    id: ObjectId,
) -> Result<Delivery, ServiceError> {
    let d = store::webhooks::delivery(&mut *s.store.conn().await?, scope(who), id).await?;
    if d.webhook != webhook {
        return Err(ServiceError::NotFound);
    }
    Ok(d)
}

/// Sends a delivery again (a failed one, or a delivered one the receiver lost): a new round
/// of attempts starts now.
pub async fn redeliver(
    s: &Services,
    who: &Principal,
    webhook: ObjectId,
    id: ObjectId,
) -> Result<Delivery, ServiceError> {
    let scope = scope(who);
    let mut d = delivery(s, who, webhook, id).await?;
    if d.status == DeliveryStatus::Pending {
        return Err(ServiceError::Conflict(
            "This delivery is still being attempted; wait for it to finish or fail.".into(),
        ));
    }
    let hook = store::webhooks::get(&mut *s.store.conn().await?, scope, webhook).await?;
    if !hook.webhook.active {
        return Err(ServiceError::Conflict(
            "This webhook is inactive; activate it before redelivering.".into(),
        ));
    }
    d.status = DeliveryStatus::Pending;
    d.updated = Timestamp::now();
    let job = deliver_job(&d);
    let (attempts, at, did) = (d.attempts.clone(), d.updated, d.id);
    s.store
        .write(move |conn| {
            Box::pin(async move {
                store::webhooks::record_attempt(conn, did, DeliveryStatus::Pending, &attempts, at)
                    .await?;
                store::jobs::enqueue(conn, job).await?;
                Ok(())
            })
        })
        .await?;
    s.job_signal.notify_one();
    Ok(d)
}

/// Runs one `deliver_webhook` job: one attempt, recorded with the job's completion or its next
/// run in one transaction.
pub async fn run_deliver_job(
    s: &Services,
    job: &Claim,
    id: ObjectId,
    first: usize,
) -> Result<(), ServiceError> {
    let (d, hook, deleted) = {
        let mut conn = s.store.conn().await?;
        let d = store::webhooks::delivery_by_id(&mut conn, id).await?;
        let (hook, deleted) = store::webhooks::by_id(&mut conn, d.webhook).await?;
        (d, hook, deleted)
    };
    let job_id = job.id;
    if d.status != DeliveryStatus::Pending {
        // Already settled (a repeat after a crash between sending and recording).
        return finish(s, job_id, None).await;
    }
    let mut attempts = d.attempts.clone();
    if deleted || !hook.webhook.active {
        attempts.push(Attempt {
            at: Timestamp::now(),
            status_code: None,
            latency_ms: 0,
            response: "not sent: the webhook was deleted or deactivated".into(),
        });
        return finish(s, job_id, Some((id, DeliveryStatus::Failed, attempts))).await;
    }
    let secret = String::from_utf8(
        s.cipher
            .decrypt(&hook.secret, &secret_context(hook.webhook.id))
            .map_err(|e| ServiceError::internal(format!("webhook secret: {e}")))?,
    )
    .map_err(|_| ServiceError::internal("webhook secret is not text"))?;
    let attempt = send(s, &hook.webhook, &d, &secret).await;
    let ok = attempt.status_code.is_some_and(|c| (200..300).contains(&c));
    attempts.push(attempt);
    let round = attempts.len().saturating_sub(first);
    if ok {
        finish(s, job_id, Some((id, DeliveryStatus::Delivered, attempts))).await
    } else if round >= MAX_ATTEMPTS {
        tracing::warn!(delivery = %id, "webhook delivery failed for good");
        finish(s, job_id, Some((id, DeliveryStatus::Failed, attempts))).await
    } else {
        let delay_ms = RETRY_DELAYS_S[round - 1] * 10 * i64::from(s.webhooks.retry_scale_percent);
        let at = Timestamp::from_millis(Timestamp::now().millis() + delay_ms);
        let why = attempts
            .last()
            .map(|a| a.response.clone())
            .unwrap_or_default();
        s.store
            .write(move |conn| {
                Box::pin(async move {
                    store::webhooks::record_attempt(
                        conn,
                        id,
                        DeliveryStatus::Pending,
                        &attempts,
                        Timestamp::now(),
                    )
                    .await?;
                    store::jobs::retry(conn, job_id, at, &why).await
                })
            })
            .await?;
        Ok(())
    }
}

async fn finish(
    s: &Services,
    job: ObjectId,
    outcome: Option<(ObjectId, DeliveryStatus, Vec<Attempt>)>,
) -> Result<(), ServiceError> {
    s.store
        .write(move |conn| {
            Box::pin(async move {
                if let Some((id, status, attempts)) = outcome {
                    store::webhooks::record_attempt(conn, id, status, &attempts, Timestamp::now())
                        .await?;
                }
                store::jobs::complete(conn, job).await
            })
        })
        .await?;
    Ok(())
}
