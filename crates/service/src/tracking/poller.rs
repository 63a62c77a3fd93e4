//! The poller: tracks due for a refresh are claimed (a lease, SKIP LOCKED on PostgreSQL) and
//! their carrier asked.

use std::time::Duration;

use domain::tracking::{offer, Offer, TrackEvent};
use domain::{ObjectId, Timestamp};

use carriers::TrackRequest;

use crate::{adapters, ServiceError, Services};

use super::effects::{apply, Change, Effects};
use super::tracks::test_history;

/// How long a poll claim lasts (a poller that dies mid-poll frees the track after this).
const POLL_LEASE_MS: i64 = 5 * 60 * 1000;

/// Runs the poller until the task is aborted: claims tracks due for a refresh and asks their
/// carrier. Several processes share the work through the claim (SKIP LOCKED on PostgreSQL).
pub async fn run_poller(s: Services) {
    loop {
        match poll_due(&s).await {
            Ok(0) => tokio::time::sleep(Duration::from_secs(5)).await,
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "tracking poller: database unavailable");
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
        }
    }
}

/// Claims and refreshes one batch of due tracks; returns how many.
pub async fn poll_due(s: &Services) -> Result<usize, ServiceError> {
    if !store::tracks::any_poll_due(&mut *s.store.conn().await?).await? {
        return Ok(0);
    }
    let backend = s.store.backend();
    let ids = s
        .store
        .write(move |conn| {
            Box::pin(async move {
                store::tracks::claim_due_polls(conn, backend, 16, POLL_LEASE_MS).await
            })
        })
        .await?;
    for id in &ids {
        if let Err(e) = poll_one(s, *id).await {
            tracing::warn!(track = %id, error = %e, "tracking poll failed");
        }
    }
    Ok(ids.len())
}

/// Asks the carrier for one track's news and applies it; an error backs off (doubling from
/// one interval up to a day) and five errors in a row stop polling.
async fn poll_one(s: &Services, id: ObjectId) -> Result<(), ServiceError> {
    let Some(owned) = store::tracks::by_id(&mut *s.store.conn().await?, id).await? else {
        return Ok(());
    };
    let answer = fetch(s, &owned).await;
    let ctx = Effects::of(s);
    let every = s.tracking.poll_interval.as_millis() as i64;
    s.store
        .write(move |conn| {
            Box::pin(async move {
                let mut owned = owned;
                let now = Timestamp::now().millis();
                match answer {
                    Ok((events, eta)) => {
                        let mut added = Vec::new();
                        for e in events {
                            if let Offer::Added(_) = offer(&mut owned.track.history, e.clone()) {
                                added.push(e);
                            }
                        }
                        owned.track.eta = eta.or(owned.track.eta);
                        owned.track.poll_failures = 0;
                        owned.track.poll_at = (!owned.track.status().is_terminal())
                            .then(|| Timestamp::from_millis(now + every));
                        if added.is_empty() {
                            store::tracks::save(conn, &owned.track).await
                        } else {
                            apply(
                                conn,
                                &ctx,
                                &mut [Change {
                                    owned: &mut owned,
                                    events: added,
                                }],
                            )
                            .await
                        }
                    }
                    Err(why) => {
                        owned.track.poll_failures += 1;
                        let backoff = (every << owned.track.poll_failures.min(5)).min(86_400_000);
                        owned.track.poll_at = (owned.track.poll_failures < 5)
                            .then(|| Timestamp::from_millis(now + backoff));
                        tracing::warn!(track = %owned.track.id, %why, "carrier did not answer");
                        store::tracks::save(conn, &owned.track).await
                    }
                }
            })
        })
        .await?;
    s.job_signal.notify_one();
    Ok(())
}

/// The carrier's current answer for a polled track: the adapter of the carrier account that sold
/// the label (with what it kept about it), else a scripted history (Shippo's test numbers).
#[allow(clippy::type_complexity)]
async fn fetch(
    s: &Services,
    owned: &store::tracks::Owned,
) -> Result<(Vec<TrackEvent>, Option<Timestamp>), String> {
    let t = &owned.track;
    let Some(account) = t.carrier_account else {
        return test_history(&t.carrier, &t.tracking_number, t.created)
            .ok_or_else(|| format!("{} numbers cannot be polled", t.carrier));
    };
    let adapter = adapters::of_account(s, owned.scope.account_id, account)
        .await
        .map_err(|e| e.to_string())?;
    let remote = match t.transaction {
        Some(id) => {
            store::transactions::get(
                &mut *s.store.conn().await.map_err(|e| e.to_string())?,
                owned.scope,
                id,
            )
            .await
            .map_err(|e| e.to_string())?
            .remote
        }
        None => None,
    };
    let answer = adapter
        .track(TrackRequest {
            tracking_number: &t.tracking_number,
            remote: remote.as_ref(),
            since: t.created,
        })
        .await
        .map_err(|e| e.to_string())?;
    Ok((answer.events, answer.eta))
}
