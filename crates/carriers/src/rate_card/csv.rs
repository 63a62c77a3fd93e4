//! The rate card as CSV, the form a carrier's price list usually comes in: one record per row,
//! the first column naming the record. Lines starting with `#` are comments; cells are trimmed;
//! quote cells that contain commas.
//!
//! ```text
//! card,NAME,CURRENCY,MASS_UNIT,DISTANCE_UNIT
//! service,TOKEN,NAME,TERMS,TRANSIT_DAYS,TRACKABLE,INSURANCE,DIM_DIVISOR,MAX_WEIGHT,MAX_LENGTH,MAX_LENGTH_PLUS_GIRTH
//! zone,ID,NAME,ORIGIN,DESTINATION            (one row per rule)
//! price,SERVICE,ZONE,MAX_WEIGHT,PRICE        (one row per weight bracket)
//! step,SERVICE,ZONE,PER,PRICE                (price per started PER above the last bracket)
//! surcharge,CODE,NAME,TYPE,AMOUNT,PLACES,SERVICES
//! band,CODE,MAX_VALUE,AMOUNT                 (insurance bands of surcharge CODE)
//! tracking,PREFIX,DIGITS,SUFFIX,CHECK_DIGIT  (optional: s10, mod10 or none)
//! ```
//! Places: `*` (anywhere), `PT` (a country), `US/CA+NY` (regions), `PT:1*+2*` (postal prefixes),
//! `PT:1000-1999` (postal ranges); several places are joined with `|`. AMOUNT is `1.50` (fixed) or
//! `10%`. TRACKABLE/INSURANCE are `yes`/`no`; SERVICES are tokens joined with `|` (empty = all).
//! Errors name the row: `row 12 (price): max_weight: must be greater than the previous bracket's`.

use domain::csv_cell::{escape_cell, unescape_cell};
use std::collections::BTreeMap;

use domain::error::FieldErrors;
use domain::ValidationError;

use super::format::{
    to_doc, validate, BandDoc, BracketDoc, CardDoc, Num, PlaceDoc, PricesDoc, RuleDoc, ServiceDoc,
    StepDoc, SurchargeDoc, TrackingDoc, ZoneDoc,
};
use super::{CardError, RateCard};

const CARD_FIELDS: [&str; 4] = ["name", "currency", "mass_unit", "distance_unit"];

/// Where each document path came from, to name rows in errors.
#[derive(Default)]
struct Rows(BTreeMap<String, (u64, &'static str)>);

fn opt(cell: &str) -> Option<Num> {
    (!cell.is_empty()).then(|| Num(cell.to_string()))
}

fn yes_no(cell: &str, default: bool) -> Result<bool, String> {
    domain::text::parse_flag(cell)
        .map(|flag| flag.unwrap_or(default))
        .map_err(|()| format!("\"{cell}\" is not yes or no"))
}

fn parse_place(cell: &str) -> PlaceDoc {
    let cell = cell.trim();
    if cell.is_empty() || cell == "*" {
        return PlaceDoc::default();
    }
    let (head, postal) = cell.split_once(':').unwrap_or((cell, ""));
    let (country, regions) = head.split_once('/').unwrap_or((head, ""));
    let mut place = PlaceDoc {
        country: country.trim().to_string(),
        ..Default::default()
    };
    place.regions = regions
        .split('+')
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(str::to_string)
        .collect();
    for p in postal.split('+').map(str::trim).filter(|p| !p.is_empty()) {
        match (p.strip_suffix('*'), p.split_once('-')) {
            (Some(prefix), _) => place.postal_prefixes.push(prefix.to_string()),
            (None, Some((from, to))) => {
                place.postal_ranges.push((from.to_string(), to.to_string()))
            }
            (None, None) => place.postal_prefixes.push(p.to_string()),
        }
    }
    place
}

fn amount(cell: &str) -> (Option<Num>, Option<Num>) {
    match cell.strip_suffix('%') {
        Some(p) => (None, Some(Num(p.trim().to_string()))),
        None if cell.is_empty() => (None, None),
        None => (Some(Num(cell.to_string())), None),
    }
}

fn list(cell: &str) -> Vec<String> {
    cell.split('|')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// Parses and validates a CSV rate card; errors name the row (and column) at fault.
pub fn parse_csv(text: &str) -> Result<RateCard, CardError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .comment(Some(b'#'))
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let mut doc = CardDoc {
        name: String::new(),
        currency: String::new(),
        mass_unit: String::new(),
        distance_unit: String::new(),
        services: vec![],
        zones: vec![],
        prices: vec![],
        surcharges: vec![],
        tracking: None,
    };
    let mut rows = Rows::default();
    let mut errors = FieldErrors::new();
    let mut saw_card = false;
    for record in reader.records() {
        let record =
            record.map_err(|e| ValidationError::field("csv", format!("unreadable CSV: {e}")))?;
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        // A `'` that `to_csv` put before a formula-like cell is taken off (`domain::csv_cell`).
        let cell = |i: usize| unescape_cell(record.get(i).unwrap_or("")).to_string();
        let kind = cell(0).to_ascii_lowercase();
        if record.iter().all(str::is_empty) || kind == "record" {
            continue; // blank line or a header row
        }
        let here = |what: &'static str| (line, what);
        match kind.as_str() {
            "card" => {
                if saw_card {
                    errors.add(format!("row {line} (card)"), "the card row appears twice");
                }
                saw_card = true;
                (doc.name, doc.currency, doc.mass_unit, doc.distance_unit) = (cell(1), cell(2), cell(3), cell(4));
                for key in CARD_FIELDS {
                    rows.0.insert(key.into(), here("card"));
                }
            }
            "service" => {
                rows.0.insert(format!("services[{}]", doc.services.len()), here("service"));
                let trackable = yes_no(&cell(5), true).unwrap_or_else(|e| {
                    errors.add(format!("row {line} (service): trackable"), e);
                    true
                });
                let insurance = yes_no(&cell(6), false).unwrap_or_else(|e| {
                    errors.add(format!("row {line} (service): insurance"), e);
                    false
                });
                let transit_days = match cell(4).as_str() {
                    "" => None,
                    d => d.parse().map_err(|_| errors.add(format!("row {line} (service): transit_days"), format!("\"{d}\" is not a whole number"))).ok(),
                };
                doc.services.push(ServiceDoc {
                    token: cell(1),
                    name: cell(2),
                    terms: cell(3),
                    transit_days,
                    trackable,
                    insurance,
                    dim_divisor: opt(&cell(7)),
                    max_weight: opt(&cell(8)),
                    max_length: opt(&cell(9)),
                    max_length_plus_girth: opt(&cell(10)),
                });
            }
            "zone" => {
                let id = cell(1);
                let index = match doc.zones.iter().position(|z| z.id == id) {
                    Some(i) => i,
                    None => {
                        rows.0.insert(format!("zones[{}]", doc.zones.len()), here("zone"));
                        doc.zones.push(ZoneDoc { id: id.clone(), name: cell(2), rules: vec![] });
                        doc.zones.len() - 1
                    }
                };
                let zone = &mut doc.zones[index];
                rows.0.insert(format!("zones[{index}].rules[{}]", zone.rules.len()), here("zone"));
                zone.rules.push(RuleDoc { origin: parse_place(&cell(3)), destination: parse_place(&cell(4)) });
            }
            "price" | "step" => {
                let (service, zone) = (cell(1), cell(2));
                let index = match doc.prices.iter().position(|p| p.service == service && p.zone == zone) {
                    Some(i) => i,
                    None => {
                        rows.0.insert(format!("prices[{}]", doc.prices.len()), here(if kind == "price" { "price" } else { "step" }));
                        doc.prices.push(PricesDoc { service, zone, brackets: vec![], step: None });
                        doc.prices.len() - 1
                    }
                };
                let prices = &mut doc.prices[index];
                if kind == "price" {
                    rows.0.insert(format!("prices[{index}].brackets[{}]", prices.brackets.len()), here("price"));
                    prices.brackets.push(BracketDoc { max_weight: Num(cell(3)), price: Num(cell(4)) });
                } else {
                    if prices.step.is_some() {
                        errors.add(format!("row {line} (step)"), "a second step for the same service and zone");
                    }
                    rows.0.insert(format!("prices[{index}].step"), here("step"));
                    prices.step = Some(StepDoc { per: Num(cell(3)), price: Num(cell(4)) });
                }
            }
            "tracking" => {
                rows.0.insert("tracking".into(), here("tracking"));
                match cell(2).parse::<u8>() {
                    Ok(digits) => {
                        doc.tracking = Some(TrackingDoc {
                            prefix: cell(1),
                            digits,
                            suffix: cell(3),
                            check_digit: cell(4),
                        })
                    }
                    Err(_) => errors.add(
                        format!("row {line} (tracking): digits"),
                        format!("\"{}\" is not a whole number", cell(2)),
                    ),
                }
            }
            "surcharge" => {
                rows.0.insert(format!("surcharges[{}]", doc.surcharges.len()), here("surcharge"));
                let (fixed, percent) = amount(&cell(4));
                let places = cell(5).split('|').filter(|p| !p.trim().is_empty()).map(parse_place).collect();
                doc.surcharges.push(SurchargeDoc {
                    code: cell(1),
                    name: cell(2),
                    kind: cell(3).to_ascii_lowercase(),
                    fixed,
                    percent,
                    places,
                    bands: vec![],
                    services: list(&cell(6)),
                });
            }
            "band" => {
                let code = cell(1);
                match doc.surcharges.iter().position(|s| s.code == code) {
                    Some(i) => {
                        let s = &mut doc.surcharges[i];
                        rows.0.insert(format!("surcharges[{i}].bands[{}]", s.bands.len()), here("band"));
                        let (fixed, percent) = amount(&cell(3));
                        s.bands.push(BandDoc { max_value: Num(cell(2)), fixed, percent });
                    }
                    None => errors.add(format!("row {line} (band)"), format!("no surcharge \"{code}\" above this row")),
                }
            }
            other => errors.add(format!("row {line}"), format!("\"{other}\" is not a record type (card, service, zone, price, step, surcharge, band)")),
        }
    }
    if !saw_card {
        errors.add(
            "card",
            "the CSV needs a card row: card,NAME,CURRENCY,MASS_UNIT,DISTANCE_UNIT",
        );
    }
    let result = validate(doc);
    match result {
        Ok(card) if errors.is_empty() => Ok(card),
        Ok(_) => Err(ValidationError(errors)),
        Err(ValidationError(found)) => {
            for (path, messages) in found.iter() {
                let key = rows.locate(path);
                for m in messages {
                    errors.add(key.clone(), m.clone());
                }
            }
            Err(ValidationError(errors))
        }
    }
}

impl Rows {
    /// `prices[3].brackets[2].max_weight` → `row 14 (price): max_weight`.
    fn locate(&self, path: &str) -> String {
        let best = self
            .0
            .iter()
            .filter(|(k, _)| {
                path == k.as_str()
                    || path.starts_with(&format!("{k}."))
                    || path.starts_with(&format!("{k}["))
            })
            .max_by_key(|(k, _)| k.len());
        match best {
            Some((k, (line, kind))) => {
                // Card-level fields are their own key; name them, since the row holds four.
                let rest = match path[k.len()..].trim_start_matches('.') {
                    "" if CARD_FIELDS.contains(&k.as_str()) => k.as_str(),
                    rest => rest,
                };
                if rest.is_empty() {
                    format!("row {line} ({kind})")
                } else {
                    format!("row {line} ({kind}): {rest}")
                }
            }
            None => path.to_string(),
        }
    }
}

fn place_cell(p: &PlaceDoc) -> String {
    if p.country.is_empty() {
        return "*".into();
    }
    let mut s = p.country.clone();
    if !p.regions.is_empty() {
        s.push('/');
        s.push_str(&p.regions.join("+"));
    }
    let postal: Vec<String> = p
        .postal_prefixes
        .iter()
        .map(|x| format!("{x}*"))
        .chain(p.postal_ranges.iter().map(|(a, b)| format!("{a}-{b}")))
        .collect();
    if !postal.is_empty() {
        s.push(':');
        s.push_str(&postal.join("+"));
    }
    s
}

fn amount_cell(fixed: &Option<Num>, percent: &Option<Num>) -> String {
    match (fixed, percent) {
        (Some(f), _) => f.0.clone(),
        (None, Some(p)) => format!("{}%", p.0),
        _ => String::new(),
    }
}

/// Writes a card as CSV; `parse_csv(&to_csv(card))` gives the same card. Cells a spreadsheet
/// would read as a formula are prefixed with `'`, which `parse_csv` takes off.
pub fn to_csv(card: &RateCard) -> String {
    let doc = to_doc(card);
    let mut w = csv::WriterBuilder::new().flexible(true).from_writer(vec![]);
    let n = |v: &Option<Num>| v.as_ref().map(|n| n.0.clone()).unwrap_or_default();
    let yn = |b: bool| if b { "yes" } else { "no" }.to_string();
    let mut rows: Vec<Vec<String>> = vec![vec![
        "card".into(),
        doc.name,
        doc.currency,
        doc.mass_unit,
        doc.distance_unit,
    ]];
    for s in doc.services {
        rows.push(vec![
            "service".into(),
            s.token,
            s.name,
            s.terms,
            s.transit_days.map(|d| d.to_string()).unwrap_or_default(),
            yn(s.trackable),
            yn(s.insurance),
            n(&s.dim_divisor),
            n(&s.max_weight),
            n(&s.max_length),
            n(&s.max_length_plus_girth),
        ]);
    }
    for z in doc.zones {
        for r in &z.rules {
            rows.push(vec![
                "zone".into(),
                z.id.clone(),
                z.name.clone(),
                place_cell(&r.origin),
                place_cell(&r.destination),
            ]);
        }
    }
    for p in doc.prices {
        for b in &p.brackets {
            rows.push(vec![
                "price".into(),
                p.service.clone(),
                p.zone.clone(),
                b.max_weight.0.clone(),
                b.price.0.clone(),
            ]);
        }
        if let Some(st) = &p.step {
            rows.push(vec![
                "step".into(),
                p.service.clone(),
                p.zone.clone(),
                st.per.0.clone(),
                st.price.0.clone(),
            ]);
        }
    }
    for s in doc.surcharges {
        let places = s
            .places
            .iter()
            .map(place_cell)
            .collect::<Vec<_>>()
            .join("|");
        rows.push(vec![
            "surcharge".into(),
            s.code.clone(),
            s.name.clone(),
            s.kind.clone(),
            amount_cell(&s.fixed, &s.percent),
            places,
            s.services.join("|"),
        ]);
        for b in &s.bands {
            rows.push(vec![
                "band".into(),
                s.code.clone(),
                b.max_value.0.clone(),
                amount_cell(&b.fixed, &b.percent),
            ]);
        }
    }
    if let Some(t) = doc.tracking {
        rows.push(vec![
            "tracking".into(),
            t.prefix,
            t.digits.to_string(),
            t.suffix,
            t.check_digit,
        ]);
    }
    for row in rows {
        // No cell starts a spreadsheet formula (names and negative amounts get a `'`).
        w.write_record(row.iter().map(|c| escape_cell(c).into_owned()))
            .expect("writing CSV to memory");
    }
    String::from_utf8(w.into_inner().expect("flushing CSV to memory"))
        .expect("CSV of UTF-8 cells is UTF-8")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_like_names_are_written_escaped_and_read_back_exactly() {
        let mut card = crate::test_carrier::demo_card();
        card.name = "=HYPERLINK(\"http://evil.example\",\"Rates\")".into();
        card.services[0].name = "@Express".into();
        let text = to_csv(&card);
        assert!(
            text.starts_with("card,\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"Rates\"\")\","),
            "{text}"
        );
        assert!(text.contains(",'@Express,"), "{text}");
        assert_eq!(parse_csv(&text).unwrap(), card);
    }
}
