//! Carrier parcel templates with their published dimensions.
//!
//! Tokens and dimensions are Shippo's, from its OpenAPI description (`ParcelTemplate*Enum`,
//! `public-api.yaml`, as served at `docs.goshippo.com/spec/shippoapi/`). A template with no
//! published size (0 × 0 × 0, or USPS Soft Pack, "length and width defined in the parcel") takes
//! the dimensions sent with it.
//! The list is data (`data/parcel-templates.json`), read once; its strings are borrowed from the
//! bundled file.

use std::sync::LazyLock;

use serde::Deserialize;

use crate::units::DistanceUnit;

/// One template: token, name, carrier and outside dimensions (length, width, height) as decimal
/// strings in `unit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParcelTemplate {
    pub token: &'static str,
    pub name: &'static str,
    pub carrier: &'static str,
    pub length: &'static str,
    pub width: &'static str,
    pub height: &'static str,
    pub unit: DistanceUnit,
}

impl ParcelTemplate {
    /// False for templates whose size comes with the parcel.
    pub fn has_dimensions(&self) -> bool {
        self.length != "0.00"
    }
}

static RAW: &str = include_str!("../data/parcel-templates.json");

#[derive(Deserialize)]
struct Raw {
    token: &'static str,
    name: &'static str,
    carrier: &'static str,
    length: &'static str,
    width: &'static str,
    height: &'static str,
    unit: &'static str,
}

/// Every template Consign knows.
pub static TEMPLATES: LazyLock<Vec<ParcelTemplate>> = LazyLock::new(|| {
    let raw: Vec<Raw> = serde_json::from_str(RAW).expect("bundled parcel templates are valid JSON");
    raw.into_iter()
        .map(|r| ParcelTemplate {
            token: r.token,
            name: r.name,
            carrier: r.carrier,
            length: r.length,
            width: r.width,
            height: r.height,
            unit: r.unit.parse().expect("bundled templates name a known unit"),
        })
        .collect()
});

/// Looks a template up by its token (exact, as Shippo's tokens are case-sensitive).
pub fn find(token: &str) -> Option<&'static ParcelTemplate> {
    TEMPLATES.iter().find(|t| t.token == token)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::units::DistanceUnit::{In, Mm};

    #[test]
    fn published_dimensions() {
        let t = find("USPS_SmallFlatRateBox").unwrap();
        assert_eq!(
            (t.length, t.width, t.height, t.unit),
            ("8.69", "5.44", "1.75", In)
        );
        let t = find("UPS_Box_10kg").unwrap();
        assert_eq!((t.length, t.unit), ("410.00", Mm));
        assert!(!find("USPS_SoftPack").unwrap().has_dimensions());
        assert!(find("usps_smallflatratebox").is_none());
    }

    #[test]
    fn tokens_are_unique() {
        let mut tokens: Vec<&str> = TEMPLATES.iter().map(|t| t.token).collect();
        tokens.sort();
        let n = tokens.len();
        tokens.dedup();
        assert_eq!(n, tokens.len());
        assert_eq!(n, 72);
    }
}

/// A parcel template the merchant saved (Shippo's "User Parcel Template"): its own size, or a
/// carrier template's, with an optional weight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserParcelTemplate {
    pub id: crate::ObjectId,
    pub created: crate::Timestamp,
    pub updated: crate::Timestamp,
    pub test: bool,
    pub name: String,
    /// Decimal strings in `distance_unit`.
    pub length: String,
    pub width: String,
    pub height: String,
    pub distance_unit: DistanceUnit,
    pub weight: Option<String>,
    pub weight_unit: Option<crate::units::MassUnit>,
    /// The carrier template it is based on (its token).
    pub template: Option<String>,
}
