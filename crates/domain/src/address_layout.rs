//! Addresses laid out as their country writes them, for labels, invoices and manifests.
//!
//! The layout is the country's published format (`address_meta::Layout`, Google's address
//! metadata): the order of the fields, the text between them and which fields are printed in
//! upper case. "SAN FRANCISCO CA 94103" in the US, "10117 Berlin" in Germany, city and postcode on
//! lines of their own in the UK, "〒100-0001" first in Japan. The destination country's name is
//! always the last line.

use crate::address::AddressFields;
use crate::address_meta::{self, Layout, DEFAULT_LAYOUT};

/// One piece of a format line: a field letter or the text between fields.
#[derive(Debug, PartialEq)]
enum Piece<'a> {
    Field(char),
    Text(&'a str),
}

/// The printed lines of an address: its country's layout, then the country's name.
pub fn lines(a: &AddressFields) -> Vec<String> {
    let country = address_meta::country(&a.country);
    let layout: &Layout = country
        .and_then(|c| c.layout.as_ref())
        .unwrap_or(&DEFAULT_LAYOUT);
    let format = match &layout.latin_format {
        Some(latin) if is_latin(a) => latin,
        _ => &layout.format,
    };
    let format = with_city(format);
    let mut out = Vec::with_capacity(7);
    for line in format.split("%n") {
        let pieces = parse(line);
        if pieces == [Piece::Field('A')] {
            // The street lines, each on a line of its own.
            for street in street_lines(a) {
                push(&mut out, street);
            }
            continue;
        }
        push(&mut out, render(&pieces, a, &layout.upper));
    }
    push(
        &mut out,
        country
            .map(|c| c.name.clone())
            .unwrap_or_else(|| a.country.clone()),
    );
    out
}

/// Formats that fold the city into the street (JP, MO, AE …) get it back, since Consign holds it
/// as a field of its own: on a line before a lone street line when the address is written big end
/// first (postcode or state above the street), after it otherwise, or after the street within its
/// line ("1-1 Chiyoda, Chiyoda-ku, TOKYO").
fn with_city(format: &str) -> String {
    if format.contains("%C") {
        return format.to_string();
    }
    let mut lines: Vec<String> = format.split("%n").map(str::to_string).collect();
    match lines.iter().position(|l| l.contains("%A")) {
        None => lines.push("%C".into()),
        Some(i) if lines[i] == "%A" => {
            let big_end_first = lines[..i]
                .iter()
                .any(|l| l.contains("%Z") || l.contains("%S"));
            lines.insert(if big_end_first { i } else { i + 1 }, "%C".into());
        }
        Some(i) => lines[i] = lines[i].replace("%A", "%A, %C"),
    }
    lines.join("%n")
}

fn push(out: &mut Vec<String>, line: String) {
    let line = line.split_whitespace().collect::<Vec<_>>().join(" ");
    if !line.is_empty() {
        out.push(line);
    }
}

fn street_lines(a: &AddressFields) -> Vec<String> {
    vec![
        format!("{} {}", a.street1.trim(), a.street_no.trim()),
        a.street2.clone(),
        a.street3.clone(),
    ]
}

fn parse(line: &str) -> Vec<Piece<'_>> {
    let mut pieces = Vec::new();
    let mut rest = line;
    while let Some(at) = rest.find('%') {
        if at > 0 {
            pieces.push(Piece::Text(&rest[..at]));
        }
        let mut chars = rest[at + 1..].chars();
        match chars.next() {
            Some(f) => {
                pieces.push(Piece::Field(f));
                rest = chars.as_str();
            }
            None => {
                pieces.push(Piece::Text("%"));
                rest = "";
            }
        }
    }
    if !rest.is_empty() {
        pieces.push(Piece::Text(rest));
    }
    pieces
}

fn value(a: &AddressFields, field: char) -> String {
    match field {
        'N' => a.name.clone(),
        'O' => a.company.clone(),
        'A' => street_lines(a).join(" "),
        'C' => a.city.clone(),
        'S' => a.state.clone(),
        'Z' => a.zip.clone(),
        // Dependent locality and sorting code are not held.
        _ => String::new(),
    }
}

/// One line: an empty field drops the text before it (or, for the line's first field, the text
/// after it), so "%C, %S %Z" without a state reads "CITY 94103", not "CITY,  94103".
fn render(pieces: &[Piece<'_>], a: &AddressFields, upper: &str) -> String {
    let values: Vec<Option<String>> = pieces
        .iter()
        .map(|p| match p {
            Piece::Field(f) => {
                let v = value(a, *f).trim().to_string();
                Some(if upper.contains(*f) {
                    v.to_uppercase()
                } else {
                    v
                })
            }
            Piece::Text(_) => None,
        })
        .collect();
    let empty = |i: usize| matches!(&values[i], Some(v) if v.is_empty());
    let mut keep = vec![true; pieces.len()];
    for i in 0..pieces.len() {
        if !empty(i) {
            continue;
        }
        keep[i] = false;
        let first_field = !(0..i).any(|j| values[j].is_some() && !empty(j));
        if first_field {
            if i + 1 < pieces.len() && values[i + 1].is_none() {
                keep[i + 1] = false;
            }
        } else if i > 0 && values[i - 1].is_none() {
            keep[i - 1] = false;
        }
    }
    let mut line = String::new();
    for (i, p) in pieces.iter().enumerate() {
        if !keep[i] {
            continue;
        }
        match (p, &values[i]) {
            (Piece::Text(t), _) => line.push_str(t),
            (_, Some(v)) => line.push_str(v),
            _ => {}
        }
    }
    line
}

/// True when the address is written in Latin script (so `lfmt` applies where published).
fn is_latin(a: &AddressFields) -> bool {
    [
        &a.name, &a.company, &a.street1, &a.street2, &a.city, &a.state,
    ]
    .iter()
    .all(|s| s.chars().all(|c| !c.is_alphabetic() || c < '\u{0250}'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address(country: &str, city: &str, state: &str, zip: &str) -> AddressFields {
        AddressFields {
            name: "Mr Hippo".into(),
            street1: "Main Street 1".into(),
            city: city.into(),
            state: state.into(),
            zip: zip.into(),
            country: country.into(),
            ..Default::default()
        }
    }

    #[test]
    fn the_us_prints_city_state_and_zip_in_that_order_upper_cased() {
        let l = lines(&address("US", "San Francisco", "CA", "94103"));
        assert_eq!(
            l,
            [
                "Mr Hippo",
                "Main Street 1",
                "SAN FRANCISCO CA 94103",
                "UNITED STATES"
            ]
        );
        let no_state = lines(&address("US", "San Francisco", "", "94103"));
        assert_eq!(no_state[2], "SAN FRANCISCO 94103");
    }

    #[test]
    fn germany_and_its_family_print_the_postcode_before_the_city() {
        assert_eq!(
            lines(&address("DE", "Berlin", "", "10117"))[2],
            "10117 Berlin"
        );
        assert_eq!(
            lines(&address("PT", "Lisboa", "", "1100-053"))[2],
            "1100-053 Lisboa"
        );
        // France upper-cases the city.
        assert_eq!(
            lines(&address("FR", "Paris", "", "75001"))[2],
            "75001 PARIS"
        );
    }

    #[test]
    fn the_uk_puts_town_and_postcode_on_lines_of_their_own() {
        let l = lines(&address("GB", "London", "", "SW1A 1AA"));
        assert_eq!(
            l,
            [
                "Mr Hippo",
                "Main Street 1",
                "LONDON",
                "SW1A 1AA",
                "UNITED KINGDOM"
            ]
        );
    }

    #[test]
    fn japan_starts_with_the_postcode_and_latin_addresses_use_the_latin_layout() {
        let mut native = address("JP", "千代田区", "東京都", "100-0001");
        native.name = "山田太郎".into();
        native.street1 = "千代田1-1".into();
        assert_eq!(
            lines(&native),
            [
                "〒100-0001",
                "東京都",
                "千代田区",
                "千代田1-1",
                "山田太郎",
                "JAPAN"
            ]
        );
        let latin = lines(&address("JP", "Chiyoda-ku", "Tokyo", "100-0001"));
        assert_eq!(
            latin,
            [
                "Mr Hippo",
                "Main Street 1, Chiyoda-ku, TOKYO",
                "100-0001",
                "JAPAN"
            ]
        );
    }

    #[test]
    fn brazil_joins_city_and_state_with_a_dash() {
        let l = lines(&address("BR", "São Paulo", "SP", "01310-100"));
        assert_eq!(l[2], "SÃO PAULO-SP");
        assert_eq!(l[3], "01310-100");
    }

    #[test]
    fn countries_without_a_published_layout_use_the_default() {
        // Angola publishes no format: name, street, city (upper-cased).
        let l = lines(&address("AO", "Luanda", "", ""));
        assert_eq!(l, ["Mr Hippo", "Main Street 1", "LUANDA", "ANGOLA"]);
    }
}
