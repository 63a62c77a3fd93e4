//! What a change to a track causes, inside its transaction: events, status, webhook outbox
//! rows and buyer emails.

use std::collections::HashMap;

use domain::tracking::{NotificationKind, TrackEvent, TrackStatus};
use domain::webhook::WebhookEvent;
use domain::{ObjectId, Timestamp};
use store::{Conn, Scope, StoreError};

use super::Wire;
use crate::{notifications, webhooks, Services};

/// What [`apply`] needs from the services, cloned into a write closure.
#[derive(Clone)]
pub(crate) struct Effects {
    wire: std::sync::Arc<dyn Wire>,
    emails: bool,
}

impl Effects {
    pub(crate) fn of(s: &Services) -> Self {
        Self {
            wire: s.wire.clone(),
            emails: s.mailer.is_some(),
        }
    }
}

/// One track's change: the track, its new events already placed in its history.
pub(crate) struct Change<'a> {
    pub owned: &'a mut store::tracks::Owned,
    pub events: Vec<TrackEvent>,
}

/// Stores the changes' new events and the tracks' new state (new tracks are inserted), and
/// writes what they cause: a `track_updated` delivery per subscribed webhook and track and,
/// when a change calls for one, the buyer's email (at most once per parcel and kind). A few
/// statements for the whole batch, so a courier's 1,000-event upload is one quick transaction.
pub(crate) async fn apply(
    conn: &mut Conn,
    fx: &Effects,
    changes: &mut [Change<'_>],
) -> Result<(), StoreError> {
    let now = Timestamp::now();
    for c in changes.iter_mut() {
        c.owned.track.updated = now;
        if c.owned.track.status().is_terminal() {
            c.owned.track.poll_at = None;
        }
    }
    // Tracks first: new ones must exist before their events.
    let tracks: Vec<store::tracks::ScopedTrack> = changes
        .iter()
        .map(|c| store::tracks::ScopedTrack {
            scope: c.owned.scope,
            track: &c.owned.track,
        })
        .collect();
    store::tracks::upsert(conn, &tracks).await?;
    let rows: Vec<store::tracks::NewEvent> = changes
        .iter()
        .flat_map(|c| {
            c.events.iter().map(|event| store::tracks::NewEvent {
                track: c.owned.track.id,
                event,
            })
        })
        .collect();
    store::tracks::insert_events(conn, &rows).await?;
    let scopes: Vec<Scope> = changes.iter().map(|c| c.owned.scope).collect();
    webhooks::outbox(conn, WebhookEvent::TrackUpdated, &scopes, |i| {
        fx.wire.track(&changes[i].owned.track, true)
    })
    .await?;
    if fx.emails {
        // Each account's on/off setting, read once per batch.
        let mut enabled: HashMap<ObjectId, bool> = HashMap::new();
        for c in changes.iter() {
            let (track, scope) = (&c.owned.track, c.owned.scope);
            let Some(email) = track.notify_email.as_deref() else {
                continue;
            };
            for kind in emails_due(&track.history, &c.events) {
                let on = match enabled.get(&scope.account_id) {
                    Some(on) => *on,
                    None => {
                        let on = notifications::enabled(conn, scope.account_id).await?;
                        enabled.insert(scope.account_id, on);
                        on
                    }
                };
                if !on {
                    break;
                }
                // A backer's parcel already had the project's dispatch email.
                if kind == NotificationKind::Shipped {
                    if let Some(ca) = track.carrier_account {
                        if store::projects::label_carries_pledge(conn, ca, &track.tracking_number)
                            .await?
                        {
                            continue;
                        }
                    }
                }
                let id = ObjectId::new();
                if store::notifications::claim(conn, scope, id, track.id, kind, email).await? {
                    store::jobs::enqueue(conn, notifications::send_job(id)).await?;
                }
            }
        }
    }
    Ok(())
}

/// The buyer emails a change calls for, in sending order: "shipped" when a new event is the
/// parcel moving (unless it had already arrived before this change: a late scan), "delivered"
/// when it now stands delivered. Each is sent at most once per parcel anyway (the caller claims).
fn emails_due(history: &[TrackEvent], new_events: &[TrackEvent]) -> Vec<NotificationKind> {
    let arrived_before = history
        .iter()
        .any(|e| e.status == TrackStatus::Delivered && !new_events.contains(e));
    let current = history.last().map(|e| e.status);
    let mut due = Vec::new();
    if !arrived_before && new_events.iter().any(|e| e.status == TrackStatus::Transit) {
        due.push(NotificationKind::Shipped);
    }
    if current == Some(TrackStatus::Delivered) {
        due.push(NotificationKind::Delivered);
    }
    due
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(ms: i64, status: TrackStatus) -> TrackEvent {
        TrackEvent {
            id: ObjectId::at(ms),
            created: Timestamp::from_millis(ms),
            occurred: Timestamp::from_millis(ms),
            status,
            substatus: None,
            details: String::new(),
            location: None,
        }
    }

    #[test]
    fn emails_follow_what_the_change_shows() {
        use NotificationKind::{Delivered, Shipped};
        use TrackStatus::{Delivered as D, PreTransit as P, Transit as T};
        let (p, t, d) = (event(1, P), event(2, T), event(3, D));
        // One batch that shows the parcel moving and arriving: both, in order.
        let all = vec![p.clone(), t.clone(), d.clone()];
        assert_eq!(emails_due(&all, &all), [Shipped, Delivered]);
        // Pre-transit alone: none.
        assert!(emails_due(std::slice::from_ref(&p), std::slice::from_ref(&p)).is_empty());
        // A late TRANSIT scan after the delivery was known: no "shipped" after "delivered".
        assert_eq!(emails_due(&all, std::slice::from_ref(&t)), [Delivered]);
        // Moving only.
        assert_eq!(emails_due(&[p, t.clone()], &[t]), [Shipped]);
    }
}
