//! The outbox: an event becomes one delivery row per subscriber and a job each, inside the
//! transaction of the change.

use domain::webhook::{Delivery, DeliveryStatus, Webhook, WebhookEvent};
use domain::{ObjectId, Timestamp};
use store::jobs::NewJob;

use crate::jobs::Job;
use store::webhooks::NewDelivery;
use store::{Conn, Scope, StoreError};

/// The job that sends `d` (a new round of attempts from its current log).
pub fn deliver_job(d: &Delivery) -> NewJob {
    Job::DeliverWebhook {
        delivery: d.id,
        first: d.attempts.len(),
    }
    .due_now()
}

/// Writes `event` for every subscription that wants it: delivery rows and their jobs, on the
/// caller's connection (inside the caller's transaction). `scopes[i]` is where the i-th event
/// happened and `data(i)` its object as the wire shows it (rendered only when someone
/// subscribed). Returns how many deliveries were queued.
pub async fn outbox(
    conn: &mut Conn,
    event: WebhookEvent,
    scopes: &[Scope],
    data: impl Fn(usize) -> serde_json::Value,
) -> Result<usize, StoreError> {
    let mut hooks: std::collections::HashMap<Scope, Vec<Webhook>> = Default::default();
    let now = Timestamp::now();
    let mut deliveries: Vec<(Scope, Delivery)> = Vec::new();
    for (i, scope) in scopes.iter().enumerate() {
        if !hooks.contains_key(scope) {
            let subs = store::webhooks::subscribers(conn, *scope, event).await?;
            hooks.insert(*scope, subs);
        }
        let subs = &hooks[scope];
        if subs.is_empty() {
            continue;
        }
        for d in deliveries_for(subs, *scope, event, &data(i), now) {
            deliveries.push((*scope, d));
        }
    }
    if deliveries.is_empty() {
        return Ok(0);
    }
    let rows: Vec<NewDelivery> = deliveries
        .iter()
        .map(|(scope, d)| NewDelivery {
            scope: *scope,
            delivery: d,
        })
        .collect();
    store::webhooks::insert_deliveries(conn, &rows).await?;
    let jobs: Vec<NewJob> = deliveries.iter().map(|(_, d)| deliver_job(d)).collect();
    store::jobs::enqueue_many(conn, &jobs).await?;
    Ok(deliveries.len())
}

/// One pending delivery of `event` (about `data`, in `scope`) per subscription in `subs`.
pub fn deliveries_for(
    subs: &[Webhook],
    scope: Scope,
    event: WebhookEvent,
    data: &serde_json::Value,
    now: Timestamp,
) -> Vec<Delivery> {
    if subs.is_empty() {
        return Vec::new();
    }
    let payload = serde_json::to_string(&serde_json::json!({
        "event": event.as_str(),
        "test": scope.test,
        "data": data,
    }))
    .expect("payload serialises");
    subs.iter()
        .map(|h| Delivery {
            id: ObjectId::at(now.millis()),
            created: now,
            updated: now,
            webhook: h.id,
            event,
            payload: payload.clone(),
            status: DeliveryStatus::Pending,
            attempts: Vec::new(),
        })
        .collect()
}
