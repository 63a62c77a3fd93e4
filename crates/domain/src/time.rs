//! Timestamps as Shippo writes them: RFC 3339, UTC, milliseconds, `Z`.

use std::fmt;

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};

/// A point in time with millisecond precision, stored as milliseconds since the Unix epoch
/// (and serialised as that number in Consign's own stored JSON; the wire uses `Display`).
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct Timestamp(i64);

impl Timestamp {
    /// The current time, truncated to milliseconds.
    pub fn now() -> Self {
        Self(Utc::now().timestamp_millis())
    }

    /// From milliseconds since the epoch.
    pub fn from_millis(ms: i64) -> Self {
        Self(ms)
    }

    /// Milliseconds since the epoch (the stored form).
    pub fn millis(self) -> i64 {
        self.0
    }

    /// As a chrono UTC date-time.
    pub fn to_datetime(self) -> DateTime<Utc> {
        Utc.timestamp_millis_opt(self.0)
            .single()
            .unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
    }

    /// Parses an ISO 8601 / RFC 3339 date-time (any offset) or a plain `YYYY-MM-DD` date (midnight UTC).
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
            return Some(Self(dt.timestamp_millis()));
        }
        if let Ok(dt) = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f") {
            return Some(Self(dt.and_utc().timestamp_millis()));
        }
        chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|dt| Self(dt.and_utc().timestamp_millis()))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            &self
                .to_datetime()
                .to_rfc3339_opts(SecondsFormat::Millis, true),
        )
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_rfc3339_utc_with_millis_and_z() {
        assert_eq!(
            Timestamp::from_millis(1_405_048_753_174).to_string(),
            "2014-07-11T03:19:13.174Z"
        );
        assert_eq!(
            Timestamp::from_millis(0).to_string(),
            "1970-01-01T00:00:00.000Z"
        );
    }

    #[test]
    fn parses_offsets_naive_and_dates() {
        let t = Timestamp::parse("2014-07-11T05:19:13.174+02:00").unwrap();
        assert_eq!(t.millis(), 1_405_048_753_174);
        assert_eq!(
            Timestamp::parse("2014-07-11T03:19:13.174")
                .unwrap()
                .millis(),
            1_405_048_753_174
        );
        assert_eq!(Timestamp::parse("1970-01-02").unwrap().millis(), 86_400_000);
        assert!(Timestamp::parse("yesterday").is_none());
    }
}
