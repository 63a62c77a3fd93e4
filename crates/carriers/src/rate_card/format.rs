//! The rate card's upload/download format (JSON), and its validation with errors that name the
//! offending entry (`prices[3].brackets[2].max_weight: …`).
//!
//! ```json
//! {"name": "…", "currency": "EUR", "mass_unit": "kg", "distance_unit": "cm",
//!  "services": [{"token": "std", "name": "Standard", "terms": "2-3 days", "transit_days": 3,
//!                "trackable": true, "insurance": true, "dim_divisor": "5000", "max_weight": "30",
//!                "max_length": "150", "max_length_plus_girth": "300"}],
//!  "zones": [{"id": "A", "name": "Local", "rules": [{"origin": {"country": "PT", "postal_prefixes": ["1"]},
//!                                                    "destination": {"country": "PT", "postal_ranges": [["1000", "1999"]]}}]}],
//!  "prices": [{"service": "std", "zone": "A", "brackets": [{"max_weight": "1", "price": "4.50"}],
//!              "step": {"per": "1", "price": "0.80"}}],
//!  "surcharges": [{"code": "fuel", "name": "Fuel", "type": "always", "percent": "12.5"},
//!                 {"code": "remote", "type": "remote", "fixed": "5", "places": [{"country": "PT", "postal_prefixes": ["9"]}]},
//!                 {"code": "insurance", "type": "insurance", "bands": [{"max_value": "100", "fixed": "1.50"}]}]}
//! ```
//! Decimals may be JSON strings or numbers; `type` is one of `always`, `residential`, `remote`,
//! `signature`, `saturday_delivery`, `insurance`.

use std::collections::HashSet;

use domain::error::FieldErrors;
use domain::money::parse_currency;
use domain::units::{DistanceUnit, MassUnit};
use domain::{address_meta, ValidationError};
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize};

use super::{
    Amount, Bracket, CheckDigit, Condition, InsuranceBand, Place, PostalMatch, RateCard, Service,
    Step, Surcharge, TrackingFormat, Zone, ZonePrices, ZoneRule,
};

/// Why a card was refused: messages per entry path.
pub type CardError = ValidationError;

/// A decimal as JSON text or number.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(transparent)]
pub(super) struct Num(pub(super) String);

impl<'de> Deserialize<'de> for Num {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match serde_json::Value::deserialize(d)? {
            serde_json::Value::String(s) => Ok(Num(s)),
            serde_json::Value::Number(n) => Ok(Num(n.to_string())),
            other => Err(serde::de::Error::custom(format!(
                "expected a number, found {other}"
            ))),
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub(super) struct CardDoc {
    pub(super) name: String,
    pub(super) currency: String,
    pub(super) mass_unit: String,
    pub(super) distance_unit: String,
    pub(super) services: Vec<ServiceDoc>,
    pub(super) zones: Vec<ZoneDoc>,
    pub(super) prices: Vec<PricesDoc>,
    #[serde(default)]
    pub(super) surcharges: Vec<SurchargeDoc>,
    /// Default: 12 digits with a Luhn check digit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) tracking: Option<TrackingDoc>,
}

/// `{"prefix": "CT", "digits": 8, "suffix": "PT", "check_digit": "s10"}`.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct TrackingDoc {
    #[serde(default)]
    pub(super) prefix: String,
    pub(super) digits: u8,
    #[serde(default)]
    pub(super) suffix: String,
    #[serde(default = "no_check")]
    pub(super) check_digit: String,
}

fn no_check() -> String {
    "none".into()
}

#[derive(Debug, Serialize, Deserialize)]
pub(super) struct ServiceDoc {
    pub(super) token: String,
    pub(super) name: String,
    #[serde(default)]
    pub(super) terms: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) transit_days: Option<u32>,
    #[serde(default = "yes")]
    pub(super) trackable: bool,
    #[serde(default)]
    pub(super) insurance: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) dim_divisor: Option<Num>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) max_weight: Option<Num>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) max_length: Option<Num>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) max_length_plus_girth: Option<Num>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Serialize, Deserialize)]
pub(super) struct ZoneDoc {
    pub(super) id: String,
    #[serde(default)]
    pub(super) name: String,
    pub(super) rules: Vec<RuleDoc>,
}

#[derive(Debug, Serialize, Deserialize)]
pub(super) struct RuleDoc {
    #[serde(default)]
    pub(super) origin: PlaceDoc,
    #[serde(default)]
    pub(super) destination: PlaceDoc,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub(super) struct PlaceDoc {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub(super) country: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) regions: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) postal_prefixes: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) postal_ranges: Vec<(String, String)>,
}

#[derive(Debug, Serialize, Deserialize)]
pub(super) struct PricesDoc {
    pub(super) service: String,
    pub(super) zone: String,
    pub(super) brackets: Vec<BracketDoc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) step: Option<StepDoc>,
}

#[derive(Debug, Serialize, Deserialize)]
pub(super) struct BracketDoc {
    pub(super) max_weight: Num,
    pub(super) price: Num,
}

#[derive(Debug, Serialize, Deserialize)]
pub(super) struct StepDoc {
    pub(super) per: Num,
    pub(super) price: Num,
}

#[derive(Debug, Serialize, Deserialize)]
pub(super) struct SurchargeDoc {
    pub(super) code: String,
    #[serde(default)]
    pub(super) name: String,
    #[serde(rename = "type")]
    pub(super) kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) fixed: Option<Num>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) percent: Option<Num>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) places: Vec<PlaceDoc>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) bands: Vec<BandDoc>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) services: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize)]
pub(super) struct BandDoc {
    pub(super) max_value: Num,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) fixed: Option<Num>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) percent: Option<Num>,
}

/// Collects errors while converting, each under its entry path.
struct Check(FieldErrors);

impl Check {
    fn err(&mut self, path: &str, msg: impl Into<String>) {
        self.0.add(path, msg);
    }

    fn decimal(&mut self, path: &str, n: &Num, positive: bool) -> Option<Decimal> {
        let value =
            n.0.trim()
                .parse::<Decimal>()
                .or_else(|_| Decimal::from_scientific(n.0.trim()));
        match value {
            Ok(v) if positive && v <= Decimal::ZERO => self.err(path, "must be greater than 0"),
            Ok(v) if v.is_sign_negative() && !v.is_zero() => self.err(path, "must not be negative"),
            Ok(v) => return Some(v),
            Err(_) => self.err(path, format!("\"{}\" is not a number", n.0)),
        }
        None
    }

    fn opt_positive(&mut self, path: &str, n: &Option<Num>) -> Option<Decimal> {
        n.as_ref().and_then(|n| self.decimal(path, n, true))
    }

    fn amount(&mut self, path: &str, fixed: &Option<Num>, percent: &Option<Num>) -> Option<Amount> {
        match (fixed, percent) {
            (Some(f), None) => self
                .decimal(&format!("{path}.fixed"), f, false)
                .map(Amount::Fixed),
            (None, Some(p)) => self
                .decimal(&format!("{path}.percent"), p, false)
                .map(Amount::Percent),
            _ => {
                self.err(path, "give exactly one of fixed or percent");
                None
            }
        }
    }

    fn place(&mut self, path: &str, p: &PlaceDoc) -> Place {
        let country = p.country.trim().to_ascii_uppercase();
        if !country.is_empty() && address_meta::country(&country).is_none() {
            self.err(
                &format!("{path}.country"),
                format!("\"{}\" is not an ISO 3166-1 alpha-2 code", p.country),
            );
        }
        if country.is_empty()
            && !(p.regions.is_empty() && p.postal_prefixes.is_empty() && p.postal_ranges.is_empty())
        {
            self.err(path, "regions and postal codes need a country");
        }
        let norm = |s: &str| super::normalise_postal(s);
        let mut postal: Vec<PostalMatch> = Vec::new();
        for (i, prefix) in p.postal_prefixes.iter().enumerate() {
            let n = norm(prefix);
            if n.is_empty() {
                self.err(&format!("{path}.postal_prefixes[{i}]"), "must not be empty");
            }
            postal.push(PostalMatch::Prefix(n));
        }
        for (i, (from, to)) in p.postal_ranges.iter().enumerate() {
            let (from, to) = (norm(from), norm(to));
            if from.is_empty() || from.len() != to.len() || from > to {
                self.err(
                    &format!("{path}.postal_ranges[{i}]"),
                    "must be [from, to] of equal length with from ≤ to",
                );
            }
            postal.push(PostalMatch::Range { from, to });
        }
        Place {
            country,
            regions: p
                .regions
                .iter()
                .map(|r| r.trim().to_ascii_uppercase())
                .collect(),
            postal,
        }
    }
}

/// Parses and validates a card; every problem is reported, each under its path.
pub fn parse_json(json: &str) -> Result<RateCard, CardError> {
    let doc: CardDoc = serde_json::from_str(json).map_err(|e| {
        ValidationError::field("card", format!("not a valid rate card document: {e}"))
    })?;
    validate(doc)
}

/// Checks a card document and builds the card; errors are keyed by their path in the document.
pub(super) fn validate(doc: CardDoc) -> Result<RateCard, CardError> {
    let mut c = Check(FieldErrors::new());
    if doc.name.trim().is_empty() {
        c.err("name", "must not be empty");
    }
    let currency = parse_currency(&doc.currency)
        .map_err(|e| c.err("currency", e))
        .unwrap_or_default();
    let mass_unit = doc
        .mass_unit
        .parse::<MassUnit>()
        .map_err(|e| c.err("mass_unit", e))
        .ok();
    let distance_unit = doc
        .distance_unit
        .parse::<DistanceUnit>()
        .map_err(|e| c.err("distance_unit", e))
        .ok();

    if doc.services.is_empty() {
        c.err("services", "a card needs at least one service");
    }
    let mut tokens = HashSet::new();
    let mut services: Vec<Service> = Vec::new();
    for (i, s) in doc.services.iter().enumerate() {
        let path = format!("services[{i}]");
        if s.token.is_empty()
            || !s
                .token
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
        {
            c.err(&format!("{path}.token"), "use letters, digits and _ only");
        } else if !tokens.insert(s.token.clone()) {
            c.err(
                &format!("{path}.token"),
                format!("\"{}\" is already used", s.token),
            );
        }
        if s.name.trim().is_empty() {
            c.err(&format!("{path}.name"), "must not be empty");
        }
        services.push(Service {
            token: s.token.clone(),
            name: s.name.trim().to_string(),
            terms: s.terms.trim().to_string(),
            transit_days: s.transit_days,
            trackable: s.trackable,
            insurance: s.insurance,
            dim_divisor: c.opt_positive(&format!("{path}.dim_divisor"), &s.dim_divisor),
            max_weight: c.opt_positive(&format!("{path}.max_weight"), &s.max_weight),
            max_length: c.opt_positive(&format!("{path}.max_length"), &s.max_length),
            max_length_plus_girth: c.opt_positive(
                &format!("{path}.max_length_plus_girth"),
                &s.max_length_plus_girth,
            ),
            prices: Vec::new(),
        });
    }

    if doc.zones.is_empty() {
        c.err("zones", "a card needs at least one zone");
    }
    let mut zone_ids = HashSet::new();
    let mut zones = Vec::new();
    for (i, z) in doc.zones.iter().enumerate() {
        let path = format!("zones[{i}]");
        if z.id.trim().is_empty() {
            c.err(&format!("{path}.id"), "must not be empty");
        } else if !zone_ids.insert(z.id.clone()) {
            c.err(
                &format!("{path}.id"),
                format!("\"{}\" is already used", z.id),
            );
        }
        if z.rules.is_empty() {
            c.err(&format!("{path}.rules"), "a zone needs at least one rule");
        }
        let rules = z
            .rules
            .iter()
            .enumerate()
            .map(|(j, r)| ZoneRule {
                origin: c.place(&format!("{path}.rules[{j}].origin"), &r.origin),
                destination: c.place(&format!("{path}.rules[{j}].destination"), &r.destination),
            })
            .collect();
        zones.push(Zone {
            id: z.id.clone(),
            name: if z.name.trim().is_empty() {
                z.id.clone()
            } else {
                z.name.trim().into()
            },
            rules,
        });
    }

    let mut seen = HashSet::new();
    for (i, p) in doc.prices.iter().enumerate() {
        let path = format!("prices[{i}]");
        if !zone_ids.contains(&p.zone) {
            c.err(&format!("{path}.zone"), format!("no zone \"{}\"", p.zone));
        }
        if !seen.insert((p.service.clone(), p.zone.clone())) {
            c.err(&path, format!("{} × {} is priced twice", p.service, p.zone));
        }
        if p.brackets.is_empty() {
            c.err(&format!("{path}.brackets"), "needs at least one bracket");
        }
        let mut brackets: Vec<Bracket> = Vec::new();
        let mut last_max: Option<Decimal> = None;
        for (j, b) in p.brackets.iter().enumerate() {
            let bp = format!("{path}.brackets[{j}]");
            let max_weight = c.decimal(&format!("{bp}.max_weight"), &b.max_weight, true);
            let price = c.decimal(&format!("{bp}.price"), &b.price, false);
            if let Some(max_weight) = max_weight {
                if last_max.is_some_and(|prev| max_weight <= prev) {
                    c.err(
                        &format!("{bp}.max_weight"),
                        "must be greater than the previous bracket's",
                    );
                }
                last_max = Some(max_weight);
            }
            if let (Some(max_weight), Some(price)) = (max_weight, price) {
                brackets.push(Bracket { max_weight, price });
            }
        }
        let step = p.step.as_ref().and_then(|s| {
            let per = c.decimal(&format!("{path}.step.per"), &s.per, true);
            let price = c.decimal(&format!("{path}.step.price"), &s.price, false);
            Some(Step {
                per: per?,
                price: price?,
            })
        });
        match services.iter_mut().find(|s| s.token == p.service) {
            Some(s) => s.prices.push(ZonePrices {
                zone: p.zone.clone(),
                brackets,
                step,
            }),
            None => c.err(
                &format!("{path}.service"),
                format!("no service \"{}\"", p.service),
            ),
        }
    }
    for (i, s) in services.iter().enumerate() {
        if s.prices.is_empty() && !s.token.is_empty() {
            c.err(
                &format!("services[{i}]"),
                format!("\"{}\" has no prices", s.token),
            );
        }
    }

    let mut codes = HashSet::new();
    let mut surcharges = Vec::new();
    for (i, s) in doc.surcharges.iter().enumerate() {
        let path = format!("surcharges[{i}]");
        if s.code.trim().is_empty() || s.code == "base" {
            c.err(&format!("{path}.code"), "must not be empty or \"base\"");
        } else if !codes.insert(s.code.clone()) {
            c.err(
                &format!("{path}.code"),
                format!("\"{}\" is already used", s.code),
            );
        }
        for (j, t) in s.services.iter().enumerate() {
            if !tokens.contains(t) {
                c.err(
                    &format!("{path}.services[{j}]"),
                    format!("no service \"{t}\""),
                );
            }
        }
        let when = match s.kind.as_str() {
            "insurance" => {
                if s.bands.is_empty() {
                    c.err(
                        &format!("{path}.bands"),
                        "insurance needs at least one band",
                    );
                }
                let mut bands: Vec<InsuranceBand> = Vec::new();
                for (j, b) in s.bands.iter().enumerate() {
                    let bp = format!("{path}.bands[{j}]");
                    let max_value = c.decimal(&format!("{bp}.max_value"), &b.max_value, true);
                    let amount = c.amount(&bp, &b.fixed, &b.percent);
                    if let (Some(max_value), Some(amount)) = (max_value, amount) {
                        if bands.last().is_some_and(|prev| max_value <= prev.max_value) {
                            c.err(
                                &format!("{bp}.max_value"),
                                "must be greater than the previous band's",
                            );
                        }
                        bands.push(InsuranceBand { max_value, amount });
                    }
                }
                Some(Condition::Insurance(bands))
            }
            kind => {
                let amount = c.amount(&path, &s.fixed, &s.percent);
                match kind {
                    "always" => amount.map(Condition::Always),
                    "residential" => amount.map(Condition::Residential),
                    "signature" => amount.map(Condition::Signature),
                    "saturday_delivery" => amount.map(Condition::SaturdayDelivery),
                    "remote" => {
                        if s.places.is_empty() {
                            c.err(
                                &format!("{path}.places"),
                                "a remote-area surcharge needs places",
                            );
                        }
                        let places = s
                            .places
                            .iter()
                            .enumerate()
                            .map(|(j, p)| c.place(&format!("{path}.places[{j}]"), p))
                            .collect();
                        amount.map(|a| Condition::Remote(a, places))
                    }
                    other => {
                        c.err(&format!("{path}.type"), format!("\"{other}\" is not one of always, residential, remote, signature, saturday_delivery, insurance"));
                        None
                    }
                }
            }
        };
        if let Some(when) = when {
            surcharges.push(Surcharge {
                code: s.code.clone(),
                name: if s.name.trim().is_empty() {
                    s.code.clone()
                } else {
                    s.name.trim().into()
                },
                when,
                services: s.services.clone(),
            });
        }
    }
    let tracking = match &doc.tracking {
        None => TrackingFormat::default(),
        Some(t) => {
            let check = CheckDigit::parse(&t.check_digit).unwrap_or_else(|| {
                c.err("tracking.check_digit", "use s10, mod10 or none");
                CheckDigit::None
            });
            let format = TrackingFormat {
                prefix: t.prefix.trim().to_ascii_uppercase(),
                digits: t.digits,
                suffix: t.suffix.trim().to_ascii_uppercase(),
                check,
            };
            if let Err(e) = format.check() {
                c.err("tracking", e);
            }
            format
        }
    };
    c.0.into_result()?;
    Ok(RateCard {
        name: doc.name.trim().to_string(),
        currency,
        mass_unit: mass_unit.expect("checked"),
        distance_unit: distance_unit.expect("checked"),
        services,
        zones,
        surcharges,
        tracking,
    })
}

fn num(d: Decimal) -> Num {
    Num(d.to_string())
}

fn place_doc(p: &Place) -> PlaceDoc {
    PlaceDoc {
        country: p.country.clone(),
        regions: p.regions.clone(),
        postal_prefixes: p
            .postal
            .iter()
            .filter_map(|m| {
                if let PostalMatch::Prefix(x) = m {
                    Some(x.clone())
                } else {
                    None
                }
            })
            .collect(),
        postal_ranges: p
            .postal
            .iter()
            .filter_map(|m| {
                if let PostalMatch::Range { from, to } = m {
                    Some((from.clone(), to.clone()))
                } else {
                    None
                }
            })
            .collect(),
    }
}

fn amount_doc(a: Amount) -> (Option<Num>, Option<Num>) {
    match a {
        Amount::Fixed(v) => (Some(num(v)), None),
        Amount::Percent(v) => (None, Some(num(v))),
    }
}

/// Writes a card in the upload format; `parse_json(&to_json(card))` gives the same card.
pub fn to_json(card: &RateCard) -> String {
    serde_json::to_string_pretty(&to_doc(card)).expect("a card serialises")
}

/// The document form of a card.
pub(super) fn to_doc(card: &RateCard) -> CardDoc {
    CardDoc {
        name: card.name.clone(),
        currency: card.currency.clone(),
        mass_unit: card.mass_unit.as_str().into(),
        distance_unit: card.distance_unit.as_str().into(),
        services: card
            .services
            .iter()
            .map(|s| ServiceDoc {
                token: s.token.clone(),
                name: s.name.clone(),
                terms: s.terms.clone(),
                transit_days: s.transit_days,
                trackable: s.trackable,
                insurance: s.insurance,
                dim_divisor: s.dim_divisor.map(num),
                max_weight: s.max_weight.map(num),
                max_length: s.max_length.map(num),
                max_length_plus_girth: s.max_length_plus_girth.map(num),
            })
            .collect(),
        zones: card
            .zones
            .iter()
            .map(|z| ZoneDoc {
                id: z.id.clone(),
                name: z.name.clone(),
                rules: z
                    .rules
                    .iter()
                    .map(|r| RuleDoc {
                        origin: place_doc(&r.origin),
                        destination: place_doc(&r.destination),
                    })
                    .collect(),
            })
            .collect(),
        prices: card
            .services
            .iter()
            .flat_map(|s| {
                s.prices.iter().map(|p| PricesDoc {
                    service: s.token.clone(),
                    zone: p.zone.clone(),
                    brackets: p
                        .brackets
                        .iter()
                        .map(|b| BracketDoc {
                            max_weight: num(b.max_weight),
                            price: num(b.price),
                        })
                        .collect(),
                    step: p.step.map(|st| StepDoc {
                        per: num(st.per),
                        price: num(st.price),
                    }),
                })
            })
            .collect(),
        surcharges: card
            .surcharges
            .iter()
            .map(|s| {
                let (kind, amount, places, bands) = match &s.when {
                    Condition::Always(a) => ("always", Some(*a), vec![], vec![]),
                    Condition::Residential(a) => ("residential", Some(*a), vec![], vec![]),
                    Condition::Signature(a) => ("signature", Some(*a), vec![], vec![]),
                    Condition::SaturdayDelivery(a) => {
                        ("saturday_delivery", Some(*a), vec![], vec![])
                    }
                    Condition::Remote(a, places) => (
                        "remote",
                        Some(*a),
                        places.iter().map(place_doc).collect(),
                        vec![],
                    ),
                    Condition::Insurance(bands) => (
                        "insurance",
                        None,
                        vec![],
                        bands
                            .iter()
                            .map(|b| {
                                let (fixed, percent) = amount_doc(b.amount);
                                BandDoc {
                                    max_value: num(b.max_value),
                                    fixed,
                                    percent,
                                }
                            })
                            .collect(),
                    ),
                };
                let (fixed, percent) = amount.map(amount_doc).unwrap_or((None, None));
                SurchargeDoc {
                    code: s.code.clone(),
                    name: s.name.clone(),
                    kind: kind.into(),
                    fixed,
                    percent,
                    places,
                    bands,
                    services: s.services.clone(),
                }
            })
            .collect(),
        tracking: (card.tracking != TrackingFormat::default()).then(|| TrackingDoc {
            prefix: card.tracking.prefix.clone(),
            digits: card.tracking.digits,
            suffix: card.tracking.suffix.clone(),
            check_digit: card.tracking.check.as_str().into(),
        }),
    }
}
