//! Tracking (seed 002 "Tracking Status"): a parcel's status and the scan events behind it.
//!
//! A [`Track`] is one tracking number an account follows: registered with `POST /tracks`, or
//! created by the first scan of a label Consign issued. Its history is the carrier's events
//! sorted by when they happened (not when they arrived: couriers upload late and out of order),
//! and its current status is the latest event. Events are deduplicated by (time, status,
//! substatus), and a history must make sense: nothing follows DELIVERED except RETURNED, and
//! nothing follows RETURNED.

pub mod scan;

use serde::{Deserialize, Serialize};

pub use scan::{parse_scan, status_text, Scan, ScanInput};

use crate::{ObjectId, Timestamp};

/// The high-level status of a parcel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TrackStatus {
    Unknown,
    PreTransit,
    Transit,
    Delivered,
    Returned,
    Failure,
}
wire_enum!(TrackStatus {
    Unknown => "UNKNOWN",
    PreTransit => "PRE_TRANSIT",
    Transit => "TRANSIT",
    Delivered => "DELIVERED",
    Returned => "RETURNED",
    Failure => "FAILURE",
});

impl TrackStatus {
    /// Every status, in wire order.
    pub const ALL: [TrackStatus; 6] = [
        TrackStatus::Unknown,
        TrackStatus::PreTransit,
        TrackStatus::Transit,
        TrackStatus::Delivered,
        TrackStatus::Returned,
        TrackStatus::Failure,
    ];

    /// Whether the parcel's journey is over (polling stops).
    pub fn is_terminal(self) -> bool {
        matches!(self, TrackStatus::Delivered | TrackStatus::Returned)
    }

    /// Whether `next` may follow `self` in a history.
    pub fn may_precede(self, next: TrackStatus) -> bool {
        match self {
            TrackStatus::Delivered => matches!(next, TrackStatus::Returned),
            TrackStatus::Returned => false,
            _ => true,
        }
    }
}

/// A finer classification of an event (Shippo's event definitions).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Substatus {
    pub code: String,
    pub text: String,
    pub action_required: bool,
}

/// Shippo's substatus codes: (code, text, action required).
pub const SUBSTATUSES: &[(&str, &str, bool)] = &[
    (
        "information_received",
        "Information about the package received.",
        false,
    ),
    (
        "address_issue",
        "Address information is incorrect. Contact carrier to ensure delivery.",
        true,
    ),
    (
        "contact_carrier",
        "Package is held; contact the carrier.",
        true,
    ),
    ("delayed", "Delivery of package is delayed.", false),
    (
        "delivery_attempted",
        "Delivery of package was attempted.",
        false,
    ),
    (
        "delivery_rescheduled",
        "Delivery of package is rescheduled.",
        false,
    ),
    (
        "delivery_scheduled",
        "Package is scheduled for delivery.",
        false,
    ),
    (
        "location_inaccessible",
        "Delivery location cannot be accessed by carrier.",
        true,
    ),
    (
        "notice_left",
        "Carrier left a notice during attempted delivery.",
        true,
    ),
    ("out_for_delivery", "Package is out for delivery.", false),
    (
        "package_accepted",
        "Package has been accepted into the carrier network for delivery.",
        false,
    ),
    (
        "package_arrived",
        "Package has arrived at an intermediate location in the carrier network.",
        false,
    ),
    (
        "package_damaged",
        "Carrier has reported that the package is damaged.",
        false,
    ),
    (
        "package_departed",
        "Package has departed from an intermediate location in the carrier network.",
        false,
    ),
    ("package_forwarded", "Package has been forwarded.", false),
    ("package_held", "Package held at carrier location.", true),
    (
        "package_processed",
        "Package has been processed at a carrier location.",
        false,
    ),
    (
        "package_processing",
        "Package is being processed at a carrier location.",
        false,
    ),
    (
        "pickup_available",
        "Package is available for pickup at carrier location.",
        true,
    ),
    (
        "reschedule_delivery",
        "Contact carrier to reschedule delivery.",
        true,
    ),
    ("delivered", "Package has been delivered.", false),
    (
        "return_to_sender",
        "Package is in transit back to the sender.",
        false,
    ),
    (
        "package_unclaimed",
        "Package was not claimed by the recipient.",
        false,
    ),
    ("package_undeliverable", "Package is undeliverable.", false),
    ("package_disposed", "Package has been disposed of.", false),
    ("package_lost", "Package has been lost.", false),
    ("other", "Other status.", false),
];

impl Substatus {
    /// The substatus of a known code.
    pub fn from_code(code: &str) -> Option<Self> {
        let code = code.trim();
        SUBSTATUSES
            .iter()
            .find(|(c, _, _)| c.eq_ignore_ascii_case(code))
            .map(|(c, text, action)| Substatus {
                code: c.to_string(),
                text: text.to_string(),
                action_required: *action,
            })
    }
}

/// Where an event happened: city, state, postal code and country only.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Place {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
}

impl Place {
    /// Whether nothing is known.
    pub fn is_empty(&self) -> bool {
        self.city.is_none() && self.state.is_none() && self.zip.is_none() && self.country.is_none()
    }

    /// "City, ST, Country" for people (public page, emails).
    pub fn human(&self) -> String {
        [&self.city, &self.state, &self.country]
            .into_iter()
            .flatten()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// One carrier event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackEvent {
    pub id: ObjectId,
    /// When Consign recorded it.
    pub created: Timestamp,
    /// When the carrier says it happened (`status_date`).
    pub occurred: Timestamp,
    pub status: TrackStatus,
    pub substatus: Option<Substatus>,
    pub details: String,
    pub location: Option<Place>,
}

impl TrackEvent {
    /// What makes two events the same event.
    fn same_as(&self, other: &TrackEvent) -> bool {
        self.occurred == other.occurred
            && self.status == other.status
            && self.substatus.as_ref().map(|s| &s.code) == other.substatus.as_ref().map(|s| &s.code)
    }
}

/// A followed tracking number.
#[derive(Debug, Clone, PartialEq)]
pub struct Track {
    pub id: ObjectId,
    pub created: Timestamp,
    pub updated: Timestamp,
    pub test: bool,
    /// Carrier token (`shippo`, `ratecard`, …).
    pub carrier: String,
    pub tracking_number: String,
    /// The label it belongs to, when Consign sold it.
    pub transaction: Option<ObjectId>,
    /// The carrier account that issued it (rate-card labels).
    pub carrier_account: Option<ObjectId>,
    pub metadata: String,
    /// Service level (token, name).
    pub servicelevel: Option<(String, String)>,
    pub address_from: Option<Place>,
    pub address_to: Option<Place>,
    pub eta: Option<Timestamp>,
    pub original_eta: Option<Timestamp>,
    /// The recipient's email, for buyer notifications (never on the wire).
    pub notify_email: Option<String>,
    /// Oldest first.
    pub history: Vec<TrackEvent>,
    /// The next poll, for carriers Consign polls; `None` when nobody polls it.
    pub poll_at: Option<Timestamp>,
    /// Polls that failed in a row.
    pub poll_failures: i64,
}

impl Track {
    /// The latest event, if any.
    pub fn current(&self) -> Option<&TrackEvent> {
        self.history.last()
    }

    /// The current status (UNKNOWN before the first event).
    pub fn status(&self) -> TrackStatus {
        self.current().map_or(TrackStatus::Unknown, |e| e.status)
    }
}

/// What happened to an event offered to a history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Offer {
    /// New; inserted at this index.
    Added(usize),
    /// Already there.
    Duplicate,
    /// Would make the history impossible; why.
    Rejected(String),
}

/// Inserts `event` into `history` (oldest first) unless it is a duplicate or would break the
/// order of things. Events at the same instant keep their arrival order.
pub fn offer(history: &mut Vec<TrackEvent>, event: TrackEvent) -> Offer {
    if history.iter().any(|e| e.same_as(&event)) {
        return Offer::Duplicate;
    }
    let at = history.partition_point(|e| e.occurred <= event.occurred);
    if let Some(before) = at.checked_sub(1).map(|i| &history[i]) {
        if !before.status.may_precede(event.status) {
            return Offer::Rejected(format!(
                "A {} event cannot follow {} (at {}): nothing moves after DELIVERED except RETURNED, and nothing after RETURNED.",
                event.status.as_str(),
                before.status.as_str(),
                before.occurred
            ));
        }
    }
    if let Some(after) = history.get(at) {
        if !event.status.may_precede(after.status) {
            return Offer::Rejected(format!(
                "A {} event at {} cannot come before the {} event at {}: nothing moves after DELIVERED except RETURNED, and nothing after RETURNED.",
                event.status.as_str(),
                event.occurred,
                after.status.as_str(),
                after.occurred
            ));
        }
    }
    history.insert(at, event);
    Offer::Added(at)
}

/// A buyer email Consign sends once per parcel and kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NotificationKind {
    /// The parcel first moved (TRANSIT).
    Shipped,
    /// The parcel arrived (DELIVERED).
    Delivered,
}
wire_enum!(NotificationKind { Shipped => "shipped", Delivered => "delivered" });

impl NotificationKind {
    /// The email a track's new current status calls for, if any.
    pub fn for_status(status: TrackStatus) -> Option<Self> {
        match status {
            TrackStatus::Transit => Some(NotificationKind::Shipped),
            TrackStatus::Delivered => Some(NotificationKind::Delivered),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(ms: i64, status: TrackStatus) -> TrackEvent {
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

    fn statuses(h: &[TrackEvent]) -> Vec<TrackStatus> {
        h.iter().map(|e| e.status).collect()
    }

    use TrackStatus::*;

    #[test]
    fn out_of_order_events_are_sorted_by_time() {
        let mut h = Vec::new();
        assert_eq!(offer(&mut h, ev(30, Delivered)), Offer::Added(0));
        assert_eq!(offer(&mut h, ev(10, PreTransit)), Offer::Added(0));
        assert_eq!(offer(&mut h, ev(20, Transit)), Offer::Added(1));
        assert_eq!(statuses(&h), [PreTransit, Transit, Delivered]);
    }

    #[test]
    fn duplicates_are_recognised_by_time_status_and_substatus() {
        let mut h = vec![ev(10, Transit)];
        assert_eq!(offer(&mut h, ev(10, Transit)), Offer::Duplicate);
        let mut other = ev(10, Transit);
        other.substatus = Substatus::from_code("package_departed");
        assert_eq!(offer(&mut h, other), Offer::Added(1));
        assert_eq!(h.len(), 2);
    }

    #[test]
    fn nothing_but_returned_follows_delivered() {
        let mut h = vec![ev(10, Transit), ev(20, Delivered)];
        let refused = offer(&mut h, ev(30, Transit));
        assert!(matches!(&refused, Offer::Rejected(m) if m.contains("cannot follow DELIVERED")));
        assert!(matches!(
            offer(&mut h, ev(15, Delivered)),
            Offer::Rejected(_)
        ));
        assert_eq!(offer(&mut h, ev(30, Returned)), Offer::Added(2));
        assert!(matches!(offer(&mut h, ev(40, Transit)), Offer::Rejected(_)));
        // An earlier event slotting in before DELIVERED is fine.
        assert_eq!(offer(&mut h, ev(5, PreTransit)), Offer::Added(0));
        assert_eq!(statuses(&h), [PreTransit, Transit, Delivered, Returned]);
    }

    #[test]
    fn substatus_codes_come_from_shippo_definitions() {
        let s = Substatus::from_code("Out_For_Delivery").unwrap();
        assert_eq!(s.code, "out_for_delivery");
        assert!(!s.action_required);
        assert!(Substatus::from_code("notice_left").unwrap().action_required);
        assert!(Substatus::from_code("teleported").is_none());
    }

    #[test]
    fn notifications_follow_the_current_status() {
        assert_eq!(
            NotificationKind::for_status(Transit),
            Some(NotificationKind::Shipped)
        );
        assert_eq!(
            NotificationKind::for_status(Delivered),
            Some(NotificationKind::Delivered)
        );
        assert_eq!(NotificationKind::for_status(Failure), None);
    }
}

/// A courier's scan key as listed (never the key itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanKey {
    pub id: crate::ObjectId,
    pub account_id: crate::ObjectId,
    pub carrier_account: crate::ObjectId,
    pub created: crate::Timestamp,
    /// The first characters, to tell keys apart.
    pub prefix: String,
    pub revoked: Option<crate::Timestamp>,
}
