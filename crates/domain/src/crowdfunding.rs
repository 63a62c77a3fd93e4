//! Crowdfunding fulfilment (seed 000): a creator's projects, their backers' pledges, the
//! tracking a creator reports for each, and the carrier names creators write.
//!
//! A pledge with a complete, shippable address is a Consign order whose source is the project
//! ([`Project::source`]), unique by pledge id; a pledge still waiting for its address has no
//! order until an import completes it.

use crate::order::Source;
use crate::{ObjectId, Timestamp};

/// The source kind of every project's orders (`project:<id>`).
pub const SOURCE_KIND: &str = "project";

/// A creator's campaign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    pub id: ObjectId,
    pub test: bool,
    pub created: Timestamp,
    pub updated: Timestamp,
    pub name: String,
    /// Addresses are locked from this moment (set by hand or ahead of time).
    pub addresses_locked_at: Option<Timestamp>,
    /// Whether a project key was ever generated (the seed's 403 until then).
    pub has_keys: bool,
    /// The native provider integration, when configured.
    pub provider: Option<ProviderLink>,
    /// One reward parcel's weight (labels and provider records need one).
    pub reward_weight: Option<RewardWeight>,
}

/// A reward parcel's weight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RewardWeight {
    pub weight: rust_decimal::Decimal,
    pub unit: crate::units::MassUnit,
}

impl RewardWeight {
    /// A weight as entered (`"1.5"`, `"lb"`): positive, under 100,000, in g, oz, lb or kg.
    pub fn entered(weight: &str, unit: &str) -> Option<RewardWeight> {
        let weight = weight
            .trim()
            .parse::<rust_decimal::Decimal>()
            .ok()
            .filter(|d| {
                *d > rust_decimal::Decimal::ZERO && *d < rust_decimal::Decimal::from(100_000)
            })?;
        Some(RewardWeight {
            weight,
            unit: unit.trim().parse().ok()?,
        })
    }

    /// The stored form (`1.5 lb`).
    pub fn as_stored(&self) -> String {
        format!("{} {}", self.weight.normalize(), self.unit.as_str())
    }

    /// Reads the stored form.
    pub fn parse(s: &str) -> Option<Self> {
        let (w, u) = s.trim().split_once(' ')?;
        Some(Self {
            weight: w.parse().ok()?,
            unit: u.parse().ok()?,
        })
    }
}

impl Project {
    /// The order source of the project's pledges.
    pub fn source(&self) -> Source {
        source_of(self.id)
    }

    /// Whether addresses are locked at `now`.
    pub fn locked(&self, now: Timestamp) -> bool {
        self.addresses_locked_at.is_some_and(|at| at <= now)
    }
}

/// The order source of project `id`.
pub fn source_of(id: ObjectId) -> Source {
    Source::Integration(format!("{SOURCE_KIND}:{id}"))
}

/// The project behind an order source, when it is one.
pub fn project_of(source: &Source) -> Option<ObjectId> {
    match source {
        Source::Integration(s) => ObjectId::parse(s.strip_prefix(SOURCE_KIND)?.strip_prefix(':')?),
        _ => None,
    }
}

/// A project's link to the creator's provider account (secrets stay encrypted in the store and
/// are never part of this view).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderLink {
    /// The integration's kind (`easypost`, `shippo`).
    pub kind: String,
    /// The provider's API base (its public API unless pointed elsewhere).
    pub base_url: Option<String>,
    /// The return address (`address_from` of everything pushed).
    pub return_address: ObjectId,
    /// Whether a webhook secret is set (inbound events are refused until it is).
    pub has_webhook_secret: bool,
}

/// Where a pledge's parcel stands, as creators report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Progress {
    Shipped,
    Delivered,
}

wire_enum!(Progress { Shipped => "shipped", Delivered => "delivered" });

/// A backer's pledge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pledge {
    pub project: ObjectId,
    /// The platform's id of the pledge (the order's source id).
    pub pledge_id: String,
    /// The order, once the address is complete.
    pub order: Option<ObjectId>,
    pub backer_email: String,
    pub backer_name: String,
    pub tier_name: String,
    pub pledged_at: Timestamp,
    /// Why the pledge cannot ship yet (empty when it can).
    pub problems: Vec<String>,
    pub tracking: Option<Tracking>,
}

/// The latest tracking of a pledge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tracking {
    pub carrier: String,
    pub tracking_number: String,
    pub progress: Progress,
    pub updated: Timestamp,
}

/// A carrier as creators name it, with its public tracking page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownCarrier {
    /// Consign's (Shippo's) carrier token.
    pub token: &'static str,
    /// How emails name it.
    pub name: &'static str,
    /// The carrier's public tracking page; `{}` is the tracking number.
    pub tracking_url: &'static str,
    aliases: &'static [&'static str],
}

/// Carriers whose names are normalised, with the spellings creators and providers use
/// (compared without case, spaces, dots, dashes and underscores).
pub const CARRIERS: &[KnownCarrier] = &[
    KnownCarrier {
        token: "ups",
        name: "UPS",
        tracking_url: "https://www.ups.com/track?tracknum={}",
        aliases: &[
            "ups",
            "unitedparcelservice",
            "upsground",
            "upsmailinnovations",
        ],
    },
    KnownCarrier {
        token: "usps",
        name: "USPS",
        tracking_url: "https://tools.usps.com/go/TrackConfirmAction?tLabels={}",
        aliases: &[
            "usps",
            "unitedstatespostalservice",
            "uspostalservice",
            "postalservice",
        ],
    },
    KnownCarrier {
        token: "fedex",
        name: "FedEx",
        tracking_url: "https://www.fedex.com/fedextrack/?trknbr={}",
        aliases: &[
            "fedex",
            "federalexpress",
            "fedexground",
            "fedexexpress",
            "fdx",
        ],
    },
    KnownCarrier {
        token: "dhl_express",
        name: "DHL Express",
        tracking_url: "https://www.dhl.com/global-en/home/tracking.html?tracking-id={}",
        aliases: &["dhl", "dhlexpress", "dhlworldwide"],
    },
    KnownCarrier {
        token: "dhl_ecommerce",
        name: "DHL eCommerce",
        tracking_url: "https://webtrack.dhlecs.com/?trackingnumber={}",
        aliases: &["dhlecommerce", "dhlglobalmail", "dhlecs"],
    },
    KnownCarrier {
        token: "canada_post",
        name: "Canada Post",
        tracking_url:
            "https://www.canadapost-postescanada.ca/track-reperage/en#/search?searchFor={}",
        aliases: &["canadapost", "postescanada"],
    },
    KnownCarrier {
        token: "royal_mail",
        name: "Royal Mail",
        tracking_url: "https://www.royalmail.com/track-your-item#/tracking-results/{}",
        aliases: &["royalmail", "parcelforce"],
    },
    KnownCarrier {
        token: "australia_post",
        name: "Australia Post",
        tracking_url: "https://auspost.com.au/mypost/track/#/details/{}",
        aliases: &["australiapost", "auspost"],
    },
    KnownCarrier {
        token: "deutsche_post",
        name: "Deutsche Post",
        tracking_url: "https://www.deutschepost.de/sendung/simpleQuery.html?form.sendungsnummer={}",
        aliases: &["deutschepost", "dhlpaket", "dhlparcel"],
    },
];

fn squash(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// The known carrier a creator's spelling names (`UPS`, `ups`, `United Parcel Service`, …).
pub fn known_carrier(name: &str) -> Option<&'static KnownCarrier> {
    let key = squash(name);
    CARRIERS
        .iter()
        .find(|c| c.aliases.contains(&key.as_str()) || squash(c.token) == key)
}

/// The carrier's canonical name: a known carrier's own, else the name as given (trimmed).
pub fn carrier_name(name: &str) -> String {
    known_carrier(name).map_or_else(|| name.trim().to_string(), |c| c.name.to_string())
}

/// The carrier's public tracking page for `number`, when the carrier is known.
pub fn public_tracking_url(carrier: &str, number: &str) -> Option<String> {
    let encoded: String = number
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    known_carrier(carrier).map(|c| c.tracking_url.replace("{}", &encoded))
}

/// A tracking number as stored: trimmed, inner spaces removed, upper-cased.
pub fn clean_tracking_number(raw: &str) -> String {
    raw.chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_uppercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn carrier_spellings_normalise() {
        for (given, want) in [
            ("UPS", "UPS"),
            ("ups", "UPS"),
            ("United Parcel Service", "UPS"),
            ("U.P.S.", "UPS"),
            ("usps", "USPS"),
            ("U.S. Postal Service", "USPS"),
            ("FedEx", "FedEx"),
            ("Federal Express", "FedEx"),
            ("fedex_ground", "FedEx"),
            ("DHL", "DHL Express"),
            ("dhl_express", "DHL Express"),
            ("Canada Post", "Canada Post"),
        ] {
            assert_eq!(carrier_name(given), want, "{given}");
        }
        assert_eq!(carrier_name("  Bob's Couriers "), "Bob's Couriers");
        assert!(known_carrier("Bob's Couriers").is_none());
    }

    #[test]
    fn tracking_links_name_the_number() {
        assert_eq!(
            public_tracking_url("ups", "1Z999AA10123456784").unwrap(),
            "https://www.ups.com/track?tracknum=1Z999AA10123456784"
        );
        // Nothing but the number's letters and digits reaches the link.
        assert_eq!(
            public_tracking_url("USPS", "9400 1000&x=1").unwrap(),
            "https://tools.usps.com/go/TrackConfirmAction?tLabels=94001000x1"
        );
        assert!(public_tracking_url("nobody", "1").is_none());
        assert_eq!(clean_tracking_number(" 1z 999aa1 "), "1Z999AA1");
    }

    #[test]
    fn project_sources_round_trip() {
        let id = ObjectId::new();
        assert_eq!(project_of(&source_of(id)), Some(id));
        assert_eq!(project_of(&Source::Api), None);
        assert_eq!(project_of(&Source::Integration("shop:abc".into())), None);
    }

    #[test]
    fn a_lock_takes_effect_at_its_moment() {
        let mut p = Project {
            id: ObjectId::new(),
            test: true,
            created: Timestamp::from_millis(0),
            updated: Timestamp::from_millis(0),
            name: "x".into(),
            addresses_locked_at: None,
            has_keys: false,
            provider: None,
            reward_weight: None,
        };
        assert!(!p.locked(Timestamp::from_millis(10)));
        p.addresses_locked_at = Some(Timestamp::from_millis(10));
        assert!(!p.locked(Timestamp::from_millis(9)));
        assert!(p.locked(Timestamp::from_millis(10)));
    }
}
