//! Consign's domain model: the nouns of shipping and the rules that hold for them.
//!
//! Nothing here does I/O or knows a wire format; the HTTP layer maps Shippo's JSON to these
//! types and back, and the store persists them.

/// `as_str`/`parse` for an enum with fixed wire spellings.
macro_rules! wire_enum {
    ($t:ty { $($v:ident => $s:literal),* $(,)? }) => {
        impl $t {
            /// The wire spelling.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$v => $s),* }
            }
            /// Parses the wire spelling (case-insensitive).
            pub fn parse(s: &str) -> Option<Self> {
                $(if s.eq_ignore_ascii_case($s) { return Some(Self::$v); })*
                None
            }
        }
    };
}

pub mod account;
pub mod address;
pub mod address_layout;
pub mod address_meta;
pub mod batch;
pub mod carrier_account;
pub mod crowdfunding;
pub mod csv_cell;
pub mod customs;
pub mod error;
pub mod fx;
pub mod id;
pub mod money;
pub mod order;
pub mod page;
pub mod parcel;
pub mod parcel_templates;
pub mod rate_attributes;
pub mod shipment;
pub mod shipment_extra;
pub mod signing;
pub mod text;
pub mod time;
pub mod time_zone;
pub mod tracking;
pub mod transaction;
pub mod units;
pub mod user;
pub mod webhook;

pub use error::{FieldErrors, ValidationError};
pub use id::ObjectId;
pub use time::Timestamp;
