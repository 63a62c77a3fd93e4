//! Backer reports: the CSV a crowdfunding platform or pledge manager exports, one row per
//! backer. Kickstarter's backer report columns are known by name (`Backer UID`, `Email`,
//! `Reward Title`, `Pledged At`, `Shipping Name`, `Shipping Address 1`, …); other pledge
//! managers' files are read through a header map (`field → column`), see `docs/CROWDFUNDING.md`.
//!
//! This module only reads: each row becomes a [`BackerRecord`] or a [`RowError`] naming its line
//! and field. Whether an address will ship is the service's judgement.

use chrono::NaiveDateTime;
use domain::address::AddressFields;
use domain::Timestamp;

use crate::columns::{Columns, Header};

/// The fields a backer report gives, each with the column names exports use (Kickstarter's
/// first).
pub const COLUMNS: Columns = &[
    (
        "pledge_id",
        &[
            "backer uid",
            "pledge id",
            "pledge uid",
            "backer id",
            "order id",
        ],
    ),
    ("backer_number", &["backer number", "backer #"]),
    ("backer_name", &["backer name", "name", "full name"]),
    (
        "email",
        &["email", "backer email", "email address", "e-mail"],
    ),
    (
        "tier_name",
        &["reward title", "reward", "reward name", "tier", "tier name"],
    ),
    ("pledge_amount", &["pledge amount", "amount"]),
    (
        "pledged_at",
        &[
            "pledged at",
            "pledge date",
            "backed at",
            "order date",
            "created at",
        ],
    ),
    ("ship_name", &["shipping name", "recipient", "ship to name"]),
    (
        "ship_line1",
        &[
            "shipping address 1",
            "address 1",
            "address line 1",
            "street",
        ],
    ),
    (
        "ship_line2",
        &["shipping address 2", "address 2", "address line 2"],
    ),
    ("ship_city", &["shipping city", "city"]),
    (
        "ship_state",
        &["shipping state", "state", "province", "region"],
    ),
    (
        "ship_postal_code",
        &[
            "shipping postal code",
            "postal code",
            "zip",
            "zip code",
            "postcode",
        ],
    ),
    (
        "ship_country",
        &[
            "shipping country code",
            "country code",
            "shipping country",
            "country",
        ],
    ),
    (
        "ship_phone",
        &["shipping phone number", "phone", "phone number"],
    ),
];

/// Largest report read.
pub const MAX_BYTES: usize = 64 * 1024 * 1024;

/// One backer as the report gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackerRecord {
    /// The file's line (1 = the header).
    pub line: usize,
    pub pledge_id: String,
    pub backer_number: Option<String>,
    pub backer_name: String,
    pub email: String,
    pub tier_name: String,
    pub pledge_amount: Option<String>,
    pub pledged_at: Option<Timestamp>,
    /// The ship-to address as far as the backer filled it in (country upper-cased).
    pub ship_to: AddressFields,
}

/// A row that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub line: usize,
    pub field: String,
    pub message: String,
}

/// Reads a report: the rows, each read or refused; `Err` when the file itself is unusable (not
/// CSV, too large, or without the columns a pledge needs).
pub fn read(
    bytes: &[u8],
    mapping: &[(String, String)],
) -> Result<Vec<Result<BackerRecord, RowError>>, domain::ValidationError> {
    if bytes.len() > MAX_BYTES {
        return Err(domain::ValidationError::field(
            "file",
            format!("A backer report is at most {} MB.", MAX_BYTES / 1024 / 1024),
        ));
    }
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(bytes);
    let headers = reader
        .headers()
        .map_err(|e| domain::ValidationError::field("file", format!("Not a CSV file: {e}")))?
        .clone();
    let header = Header::read(&headers, mapping, COLUMNS, &["pledge_id", "email"])?;
    let mut out = Vec::new();
    for (i, row) in reader.records().enumerate() {
        let line = i + 2;
        out.push(match row {
            Err(e) => Err(RowError {
                line,
                field: "file".into(),
                message: format!("Not readable as CSV: {e}"),
            }),
            Ok(row) => record(&header, &row, line),
        });
    }
    Ok(out)
}

fn record(h: &Header, row: &csv::StringRecord, line: usize) -> Result<BackerRecord, RowError> {
    let get = |f: &str| h.get(row, f).map(str::to_string);
    let refuse = |field: &str, message: String| RowError {
        line,
        field: field.into(),
        message,
    };
    let pledge_id = get("pledge_id")
        .ok_or_else(|| refuse("pledge_id", "Every backer needs a pledge id.".into()))?;
    if pledge_id.chars().count() > 100 {
        return Err(refuse(
            "pledge_id",
            "A pledge id is at most 100 characters.".into(),
        ));
    }
    let email = get("email").unwrap_or_default();
    if !plausible_email(&email) {
        return Err(refuse(
            "email",
            format!("\"{email}\" is not an email address."),
        ));
    }
    let pledged_at = match get("pledged_at") {
        None => None,
        Some(raw) => Some(parse_date(&raw).ok_or_else(|| {
            refuse(
                "pledged_at",
                format!(
                    "\"{raw}\" is not a date (e.g. 2026/05/25, 10:00 or 2026-05-25T10:00:00Z)."
                ),
            )
        })?),
    };
    let ship_name = get("ship_name")
        .or_else(|| get("backer_name"))
        .unwrap_or_default();
    Ok(BackerRecord {
        line,
        pledge_id,
        backer_number: get("backer_number"),
        backer_name: get("backer_name").unwrap_or_else(|| ship_name.clone()),
        email: email.clone(),
        tier_name: get("tier_name").unwrap_or_default(),
        pledge_amount: get("pledge_amount"),
        pledged_at,
        ship_to: AddressFields {
            name: ship_name,
            street1: get("ship_line1").unwrap_or_default(),
            street2: get("ship_line2").unwrap_or_default(),
            city: get("ship_city").unwrap_or_default(),
            state: get("ship_state").unwrap_or_default(),
            zip: get("ship_postal_code").unwrap_or_default(),
            country: get("ship_country").unwrap_or_default().to_ascii_uppercase(),
            phone: get("ship_phone").unwrap_or_default(),
            email,
            ..AddressFields::default()
        },
    })
}

fn plausible_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && s.len() <= 254
        && !s.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// The date formats pledge managers write: RFC 3339, Kickstarter's `2026/05/25, 10:00`,
/// `2026-05-25 10:00:00`, `2026-05-25`, `05/25/2026` (UTC when no offset is given).
pub fn parse_date(raw: &str) -> Option<Timestamp> {
    if let Some(t) = Timestamp::parse(raw) {
        return Some(t);
    }
    for f in [
        "%Y/%m/%d, %H:%M",
        "%Y/%m/%d, %H:%M:%S",
        "%Y/%m/%d %H:%M",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%m/%d/%Y %H:%M",
    ] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(raw.trim(), f) {
            return Some(Timestamp::from_millis(dt.and_utc().timestamp_millis()));
        }
    }
    for f in ["%Y/%m/%d", "%m/%d/%Y"] {
        if let Ok(d) = chrono::NaiveDate::parse_from_str(raw.trim(), f) {
            let dt = d.and_hms_opt(0, 0, 0)?;
            return Some(Timestamp::from_millis(dt.and_utc().timestamp_millis()));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const KICKSTARTER: &str = "Backer Number,Backer UID,Backer Name,Email,Shipping Country,Shipping Amount,Reward Title,Reward Minimum,Reward ID,Pledge Amount,Pledged At,Rewards Sent?,Pledged Status,Notes,Shipping Name,Shipping Address 1,Shipping Address 2,Shipping City,Shipping State,Shipping Postal Code,Shipping Country Name,Shipping Country Code,Shipping Phone Number,Shipping Delivery Notes\n\
1,1234567890,Alex Smith,backer@example.com,US,$5.00,Standard Edition,$25.00,111,$30.00,\"2026/05/25, 10:00\",,collected,,Alex Smith,123 Main St,,Portland,OR,97201,United States,US,+1 503 555 0100,\n\
2,2234567890,Sam Jones,not-an-email,US,$5.00,Standard Edition,$25.00,111,$30.00,\"2026/05/25, 11:00\",,collected,,,,,,,,,,,\n";

    #[test]
    fn a_kickstarter_report_reads_by_its_own_column_names() {
        let rows = read(KICKSTARTER.as_bytes(), &[]).unwrap();
        let first = rows[0].as_ref().unwrap();
        assert_eq!(first.pledge_id, "1234567890");
        assert_eq!(first.backer_number.as_deref(), Some("1"));
        assert_eq!(first.tier_name, "Standard Edition");
        assert_eq!(first.email, "backer@example.com");
        assert_eq!(
            first.pledged_at.unwrap().to_string(),
            "2026-05-25T10:00:00.000Z"
        );
        assert_eq!(first.ship_to.street1, "123 Main St");
        assert_eq!(first.ship_to.country, "US");
        assert_eq!(first.ship_to.zip, "97201");
        let second = rows[1].as_ref().unwrap_err();
        assert_eq!((second.line, second.field.as_str()), (3, "email"));
    }

    #[test]
    fn another_pledge_managers_file_reads_through_a_map() {
        let csv =
            "Ref,Mail,Item,Addr,Town,Post,Land\nP-1,a@b.de,Deluxe,Hauptstr. 1,Berlin,10115,de\n";
        let map = |f: &str, c: &str| (f.to_string(), c.to_string());
        let rows = read(
            csv.as_bytes(),
            &[
                map("pledge_id", "Ref"),
                map("email", "Mail"),
                map("tier_name", "Item"),
                map("ship_line1", "Addr"),
                map("ship_city", "Town"),
                map("ship_postal_code", "Post"),
                map("ship_country", "Land"),
            ],
        )
        .unwrap();
        let r = rows[0].as_ref().unwrap();
        assert_eq!(
            (r.pledge_id.as_str(), r.ship_to.country.as_str()),
            ("P-1", "DE")
        );
        assert!(r.pledged_at.is_none());
        let e = read(b"Foo,Bar\n1,2\n", &[]).unwrap_err();
        assert!(format!("{e:?}").contains("pledge_id"));
    }

    #[test]
    fn dates_in_the_forms_pledge_managers_write() {
        for raw in [
            "2026/05/25, 10:00",
            "2026-05-25T10:00:00.000Z",
            "2026-05-25 10:00:00",
            "05/25/2026 10:00",
        ] {
            assert_eq!(
                parse_date(raw).unwrap().to_string(),
                "2026-05-25T10:00:00.000Z",
                "{raw}"
            );
        }
        assert!(parse_date("yesterday").is_none());
    }
}
