//! Scans as couriers send them, checked: the pure half of scan ingestion (the service stores
//! them).

use super::{Place, Substatus, TrackEvent, TrackStatus};
use crate::{FieldErrors, ObjectId, Timestamp, ValidationError};

/// One scan as a courier sends it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScanInput {
    pub tracking_number: Option<String>,
    pub status: Option<String>,
    pub substatus: Option<String>,
    pub details: Option<String>,
    pub location: Option<Place>,
    pub occurred_at: Option<String>,
}

/// A checked scan.
#[derive(Debug, Clone, PartialEq)]
pub struct Scan {
    pub tracking_number: String,
    pub event: TrackEvent,
}

/// Checks one scan field by field (every problem named) and makes its event; `now` bounds how
/// far in the future a scan may claim to be.
pub fn parse_scan(input: &ScanInput, now: Timestamp) -> Result<Scan, ValidationError> {
    let mut e = FieldErrors::new();
    let number = input
        .tracking_number
        .as_deref()
        .map(str::trim)
        .unwrap_or_default();
    if number.is_empty() {
        e.add("tracking_number", "This field is required.");
    } else if number.len() > 64 {
        e.add(
            "tracking_number",
            "Ensure this field has no more than 64 characters.",
        );
    }
    let status = match input.status.as_deref().map(str::trim) {
        None | Some("") => {
            e.add("status", "This field is required.");
            None
        }
        Some(s) => TrackStatus::parse(s).or_else(|| {
            e.add(
                "status",
                format!("Unknown status {s:?}; use UNKNOWN, PRE_TRANSIT, TRANSIT, DELIVERED, RETURNED or FAILURE."),
            );
            None
        }),
    };
    let substatus = match input.substatus.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(code) => Substatus::from_code(code).or_else(|| {
            e.add(
                "substatus",
                format!("Unknown substatus {code:?}; use one of Shippo's codes (package_accepted, out_for_delivery, delivered, …)."),
            );
            None
        }),
    };
    let occurred = match input.occurred_at.as_deref().map(str::trim) {
        None | Some("") => {
            e.add(
                "occurred_at",
                "This field is required (ISO 8601 date-time, e.g. 2026-11-23T08:15:00Z).",
            );
            None
        }
        Some(s) => match Timestamp::parse(s) {
            None => {
                e.add(
                    "occurred_at",
                    format!("{s:?} is not an ISO 8601 date-time."),
                );
                None
            }
            // A little clock skew is fine; a scan from tomorrow is a mistake.
            Some(t) if t.millis() > now.millis() + 3_600_000 => {
                e.add(
                    "occurred_at",
                    "This scan is more than an hour in the future.",
                );
                None
            }
            Some(t) => Some(t),
        },
    };
    let details = input.details.as_deref().map(str::trim).unwrap_or_default();
    if details.chars().count() > 500 {
        e.add(
            "details",
            "Ensure this field has no more than 500 characters.",
        );
    }
    let location = input.location.clone().filter(|l| !l.is_empty());
    if let Some(l) = &location {
        for (field, v) in [
            ("city", &l.city),
            ("state", &l.state),
            ("zip", &l.zip),
            ("country", &l.country),
        ] {
            if v.as_deref().is_some_and(|v| v.chars().count() > 100) {
                e.add(
                    format!("location.{field}"),
                    "Ensure this field has no more than 100 characters.",
                );
            }
        }
    }
    e.into_result()?;
    let (status, occurred) = (status.expect("checked"), occurred.expect("checked"));
    let details = if details.is_empty() {
        substatus
            .as_ref()
            .map(|s| s.text.clone())
            .unwrap_or_else(|| status_text(status).to_string())
    } else {
        details.to_string()
    };
    Ok(Scan {
        tracking_number: number.to_string(),
        event: TrackEvent {
            id: ObjectId::at(now.millis()),
            created: now,
            occurred,
            status,
            substatus,
            details,
            location,
        },
    })
}

/// A sentence for a status with no details.
pub fn status_text(status: TrackStatus) -> &'static str {
    match status {
        TrackStatus::Unknown => "The carrier has not reported this parcel yet.",
        TrackStatus::PreTransit => {
            "The label was created; the parcel has not been handed over yet."
        }
        TrackStatus::Transit => "The parcel is on its way.",
        TrackStatus::Delivered => "The parcel was delivered.",
        TrackStatus::Returned => "The parcel is being returned to the sender.",
        TrackStatus::Failure => "The carrier could not deliver the parcel.",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(number: &str, status: &str, at: &str) -> ScanInput {
        ScanInput {
            tracking_number: Some(number.into()),
            status: Some(status.into()),
            occurred_at: Some(at.into()),
            ..ScanInput::default()
        }
    }

    #[test]
    fn scans_are_checked_field_by_field() {
        let now = Timestamp::parse("2026-11-23T10:00:00Z").unwrap();
        let ok = parse_scan(&input("CT1", "transit", "2026-11-23T09:00:00+01:00"), now).unwrap();
        assert_eq!(ok.event.status, TrackStatus::Transit);
        assert_eq!(
            ok.event.occurred,
            Timestamp::parse("2026-11-23T08:00:00Z").unwrap()
        );
        assert_eq!(ok.event.details, status_text(TrackStatus::Transit));
        let bad = parse_scan(
            &ScanInput {
                substatus: Some("teleported".into()),
                ..input("", "LOST", "yesterday")
            },
            now,
        )
        .unwrap_err();
        let fields: Vec<&str> = bad.0.iter().map(|(f, _)| f).collect();
        assert_eq!(
            fields,
            ["tracking_number", "status", "substatus", "occurred_at"]
        );
        let future = parse_scan(&input("CT1", "TRANSIT", "2026-11-24T10:00:00Z"), now).unwrap_err();
        assert!(future
            .0
            .iter()
            .any(|(f, m)| f == "occurred_at" && m[0].contains("future")));
    }

    #[test]
    fn a_substatus_gives_details_when_none_are_sent() {
        let now = Timestamp::parse("2026-11-23T10:00:00Z").unwrap();
        let scan = parse_scan(
            &ScanInput {
                substatus: Some("out_for_delivery".into()),
                ..input("CT1", "TRANSIT", "2026-11-23T09:00:00Z")
            },
            now,
        )
        .unwrap();
        assert_eq!(scan.event.details, "Package is out for delivery.");
    }
}
