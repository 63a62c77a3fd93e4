//! Shippo's test tracking numbers (`SHIPPO_PRE_TRANSIT`, `SHIPPO_TRANSIT`, `SHIPPO_DELIVERED`,
//! `SHIPPO_RETURNED`, `SHIPPO_FAILURE`, `SHIPPO_UNKNOWN`): each answers its status with a
//! plausible history, so integrators can test their webhook receivers end to end.
//!
//! Histories are anchored at a time the caller gives (when the number was registered), so
//! asking again yields the same events and deduplicates to nothing new.

use domain::tracking::{Place, Substatus, TrackEvent, TrackStatus};
use domain::{ObjectId, Timestamp};

const HOUR: i64 = 3_600_000;

fn place(city: &str, state: &str, zip: &str) -> Option<Place> {
    Some(Place {
        city: Some(city.into()),
        state: Some(state.into()),
        zip: Some(zip.into()),
        country: Some("US".into()),
    })
}

/// The status a test number stands for, if it is one.
pub fn status_of(number: &str) -> Option<TrackStatus> {
    let rest = number.trim().to_ascii_uppercase();
    let rest = rest.strip_prefix("SHIPPO_")?;
    TrackStatus::parse(rest)
}

/// The history of a test number (oldest first) anchored at `anchor`, and its ETA.
pub fn history(number: &str, anchor: Timestamp) -> Option<(Vec<TrackEvent>, Option<Timestamp>)> {
    let status = status_of(number)?;
    let t = |h: i64| Timestamp::from_millis(anchor.millis() - 48 * HOUR + h * HOUR);
    let ev = |h: i64, s: TrackStatus, sub: &str, details: &str, loc: Option<Place>| TrackEvent {
        id: ObjectId::at(t(h).millis()),
        created: anchor,
        occurred: t(h),
        status: s,
        substatus: Substatus::from_code(sub),
        details: details.into(),
        location: loc,
    };
    let origin = || place("San Francisco", "CA", "94103");
    let hub = || place("Oakland", "CA", "94621");
    let dest = || place("Chicago", "IL", "60611");
    let accepted = || {
        ev(
            0,
            TrackStatus::PreTransit,
            "information_received",
            "The carrier has received the electronic shipment information.",
            origin(),
        )
    };
    let moving = || {
        ev(
            6,
            TrackStatus::Transit,
            "package_accepted",
            "Your shipment has been accepted.",
            origin(),
        )
    };
    let hubbed = || {
        ev(
            20,
            TrackStatus::Transit,
            "package_departed",
            "Departed from the regional facility.",
            hub(),
        )
    };
    let eta = Some(Timestamp::from_millis(anchor.millis() + 24 * HOUR));
    Some(match status {
        TrackStatus::Unknown => (Vec::new(), None),
        TrackStatus::PreTransit => (vec![accepted()], eta),
        TrackStatus::Transit => (vec![accepted(), moving(), hubbed()], eta),
        TrackStatus::Delivered => (
            vec![
                accepted(),
                moving(),
                hubbed(),
                ev(
                    40,
                    TrackStatus::Transit,
                    "out_for_delivery",
                    "Out for delivery.",
                    dest(),
                ),
                ev(
                    44,
                    TrackStatus::Delivered,
                    "delivered",
                    "Your shipment has been delivered.",
                    dest(),
                ),
            ],
            Some(t(44)),
        ),
        TrackStatus::Returned => (
            vec![
                accepted(),
                moving(),
                ev(
                    30,
                    TrackStatus::Failure,
                    "package_undeliverable",
                    "The address could not be found.",
                    dest(),
                ),
                ev(
                    40,
                    TrackStatus::Returned,
                    "return_to_sender",
                    "Your shipment is being returned to the sender.",
                    dest(),
                ),
            ],
            None,
        ),
        TrackStatus::Failure => (
            vec![
                accepted(),
                moving(),
                ev(
                    30,
                    TrackStatus::Failure,
                    "package_lost",
                    "The carrier reported the package lost.",
                    hub(),
                ),
            ],
            None,
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_test_number_ends_in_its_status() {
        let anchor = Timestamp::from_millis(1_700_000_000_000);
        for s in TrackStatus::ALL {
            let number = format!("SHIPPO_{}", s.as_str());
            let (events, _) = history(&number, anchor).unwrap();
            assert_eq!(
                events.last().map_or(TrackStatus::Unknown, |e| e.status),
                s,
                "{number}"
            );
            assert!(events.windows(2).all(|w| w[0].occurred < w[1].occurred));
            assert!(events.iter().all(|e| e.occurred <= anchor));
        }
        assert_eq!(history("shippo_delivered", anchor).unwrap().0.len(), 5);
        assert!(history("9205590175547712345678", anchor).is_none());
        // Asked again, the same events (ids aside): they deduplicate to nothing new.
        let key = |n: &str| {
            history(n, anchor)
                .unwrap()
                .0
                .into_iter()
                .map(|e| (e.occurred, e.status, e.details))
                .collect::<Vec<_>>()
        };
        assert_eq!(key("SHIPPO_TRANSIT"), key("SHIPPO_TRANSIT"));
    }
}
