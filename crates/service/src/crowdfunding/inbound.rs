//! Events the creator's provider sends (`POST /api/fulfillment/{provider}/{projectId}`): no
//! token; the signature over the raw body is checked with the webhook secret the creator
//! pasted (constant time, in the provider's adapter). Each event is kept once (a replay
//! changes nothing), matched to its backer's order — by the provider record a sync made, by a
//! Consign order id or pledge id the event carries, else by tracking number — and applied
//! through `tracking::apply` (so the dispatch email goes once). Events that match no order
//! are kept and listed, never dropped.

use domain::crowdfunding::carrier_name;
use domain::{ObjectId, Timestamp};
use integrations::providers::{InboundError, InboundEvent};
use store::projects::{ProjectEvent, StoredProject};
use store::{Conn, StoreError};

use super::secret;
use super::tracking::{self, Report};
use crate::{scope, Principal, ServiceError, Services};

/// What one request did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Received {
    pub events: usize,
    /// Matched to an order and applied.
    pub matched: usize,
    /// Kept without an order.
    pub unmatched: usize,
    /// Already received (replays).
    pub duplicates: usize,
}

/// Why an inbound request is refused.
#[derive(Debug)]
pub enum Refused {
    /// Missing or forged signature, or no secret set: 401.
    Unauthenticated,
    /// No such project, or it is not linked to this provider: 404.
    NotFound,
    /// Signed but unreadable: 400.
    Malformed(String),
    Failed(ServiceError),
}

impl From<ServiceError> for Refused {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::NotFound => Refused::NotFound,
            e => Refused::Failed(e),
        }
    }
}

/// Receives a provider's request for project `id`.
pub async fn receive(
    s: &Services,
    provider: &str,
    id: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> Result<Received, Refused> {
    let id = ObjectId::parse(id.trim()).ok_or(Refused::NotFound)?;
    let project = {
        let mut conn = s.store.conn().await.map_err(ServiceError::from)?;
        store::projects::find(&mut conn, id)
            .await
            .map_err(ServiceError::from)?
    };
    let link = project.project.provider.clone().ok_or(Refused::NotFound)?;
    if link.kind != provider {
        return Err(Refused::NotFound);
    }
    let source = integrations::providers::events_of(provider).ok_or(Refused::NotFound)?;
    let secret = secret(s, &project, "webhook_secret")?.ok_or(Refused::Unauthenticated)?;
    let events = source.read(&secret, headers, body).map_err(|e| match e {
        InboundError::Unauthenticated => Refused::Unauthenticated,
        InboundError::Malformed(m) => Refused::Malformed(m),
    })?;
    let body = String::from_utf8_lossy(body).into_owned();
    let (s2, kind) = (s.clone(), provider.to_string());
    let received = s
        .store
        .write(move |conn| {
            Box::pin(async move {
                let mut out = Received::default();
                for e in events {
                    out.events += 1;
                    let order = match_order(conn, &project, &e).await?;
                    let note = match (&order, e.progress) {
                        (Some(_), Some(_)) => "applied",
                        (Some(_), None) => "matched; nothing to apply",
                        (None, _) => "no order of this project matches",
                    };
                    let row = ProjectEvent {
                        id: ObjectId::new(),
                        project: project.project.id,
                        received: Timestamp::now(),
                        provider: kind.clone(),
                        key: e.key.clone(),
                        kind: e.kind.clone(),
                        tracking_number: e.tracking_number.clone(),
                        order,
                        note: note.into(),
                        body: body.clone(),
                    };
                    if !store::projects::insert_event(conn, project.scope.account_id, &row).await? {
                        out.duplicates += 1;
                        continue;
                    }
                    match (order, e.progress, &e.tracking_number) {
                        (Some(order), Some(progress), Some(number)) => {
                            let report = Report {
                                order,
                                carrier: carrier_name(e.carrier.as_deref().unwrap_or(&kind)),
                                tracking_number: domain::crowdfunding::clean_tracking_number(
                                    number,
                                ),
                                progress,
                                consign_page: None,
                            };
                            tracking::apply(conn, &s2, &project, &report, Timestamp::now()).await?;
                            out.matched += 1;
                        }
                        (Some(_), _, _) => out.matched += 1,
                        (None, _, _) => out.unmatched += 1,
                    }
                }
                Ok(out)
            })
        })
        .await
        .map_err(ServiceError::from)?;
    if received.matched > 0 {
        s.job_signal.notify_one();
    }
    Ok(received)
}

/// The project's order an event is about.
async fn match_order(
    conn: &mut Conn,
    project: &StoredProject,
    e: &InboundEvent,
) -> Result<Option<ObjectId>, StoreError> {
    let id = project.project.id;
    for r in &e.references {
        if let Some(o) = store::projects::order_of_remote(conn, id, r).await? {
            return Ok(Some(o));
        }
    }
    for r in &e.references {
        if let Some(o) = ObjectId::parse(r) {
            if let Some(p) = store::projects::pledge_of_order(conn, o, false).await? {
                if p.pledge.project == id {
                    return Ok(Some(o));
                }
            }
        }
    }
    let refs: Vec<String> = e
        .references
        .iter()
        .filter(|r| r.len() <= 100)
        .cloned()
        .collect();
    if !refs.is_empty() {
        if let Some(o) = store::projects::pledges_by_id(conn, id, &refs)
            .await?
            .into_values()
            .find_map(|p| p.pledge.order)
        {
            return Ok(Some(o));
        }
    }
    if let Some(n) = &e.tracking_number {
        let number = domain::crowdfunding::clean_tracking_number(n);
        if let Some(o) = store::projects::orders_by_tracking(conn, id, &number)
            .await?
            .first()
        {
            return Ok(Some(*o));
        }
    }
    Ok(None)
}

/// A project's received events, newest first (`unmatched`: only those kept without an order).
pub async fn list(
    s: &Services,
    who: &Principal,
    id: ObjectId,
    unmatched: bool,
) -> Result<Vec<ProjectEvent>, ServiceError> {
    let mut conn = s.store.conn().await?;
    store::projects::get(&mut conn, scope(who), id).await?;
    Ok(store::projects::events(&mut conn, id, unmatched, 500).await?)
}
