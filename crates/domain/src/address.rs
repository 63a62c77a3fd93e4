//! Addresses: the user's input, the checks every address gets on creation, and the offline
//! validator that normalises and judges it (seed 002, "Addresses").

use crate::address_meta::{self, Country};
use crate::error::FieldErrors;
use crate::text::check_text;
use crate::{ObjectId, Timestamp, ValidationError};

/// Street lines longer than this are cut by carriers; the seed states a 35-character limit.
pub const STREET_LINE_MAX: usize = 35;
/// `metadata` is "a string of up to 100 characters".
pub const METADATA_MAX: usize = 100;
/// Hard limit for any other text field; longer input is refused outright.
pub const TEXT_MAX: usize = 255;
/// Who produced validation messages.
pub const VALIDATOR_SOURCE: &str = "Consign Address Validator";

/// Whether an address may only be used for quotes or also to buy labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Quote,
    Purchase,
}

/// `VALID`, `INVALID` (failed a check) or `INCOMPLETE` (lacks a value needed to buy a label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressState {
    Valid,
    Invalid,
    Incomplete,
}

/// Who entered the values: the user in full, the user in part, or the validator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    FullyEntered,
    PartiallyEntered,
    Validator,
}

/// Severity of a validation message (Shippo's `type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageKind {
    Error,
    Warning,
    Correction,
}

wire_enum!(Purpose { Quote => "QUOTE", Purchase => "PURCHASE" });
wire_enum!(AddressState { Valid => "VALID", Invalid => "INVALID", Incomplete => "INCOMPLETE" });
wire_enum!(Source { FullyEntered => "FULLY_ENTERED", PartiallyEntered => "PARTIALLY_ENTERED", Validator => "VALIDATOR" });
wire_enum!(MessageKind { Error => "address_error", Warning => "address_warning", Correction => "address_correction" });

/// One finding about an address, with a stable code and a sentence for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub source: String,
    pub code: String,
    pub kind: MessageKind,
    pub text: String,
}

impl Message {
    fn new(code: &str, kind: MessageKind, text: impl Into<String>) -> Self {
        Self {
            source: VALIDATOR_SOURCE.into(),
            code: code.into(),
            kind,
            text: text.into(),
        }
    }
}

/// The values of an address. Empty strings mean "not given", as Shippo echoes them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddressFields {
    pub name: String,
    pub company: String,
    pub street_no: String,
    pub street1: String,
    pub street2: String,
    pub street3: String,
    pub city: String,
    pub state: String,
    pub zip: String,
    /// ISO 3166-1 alpha-2, upper-case.
    pub country: String,
    pub phone: String,
    pub email: String,
    pub is_residential: Option<bool>,
    pub metadata: String,
}

/// The result of an explicit validation (`validate: true` or `/addresses/{id}/validate`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationResults {
    pub is_valid: bool,
    pub messages: Vec<Message>,
}

/// A stored address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    pub id: ObjectId,
    pub created: Timestamp,
    pub updated: Timestamp,
    /// Made with a test token.
    pub test: bool,
    pub fields: AddressFields,
    pub purpose: Purpose,
    pub state: AddressState,
    pub source: Source,
    /// Findings of the checks run on creation (and on validation).
    pub messages: Vec<Message>,
    /// Present once the address has been validated.
    pub validation: Option<ValidationResults>,
}

impl Address {
    /// Complete addresses hold every value a label needs and passed every check.
    pub fn is_complete(&self) -> bool {
        self.state == AddressState::Valid
    }
}

/// What a caller sends to create an address, before any checks.
#[derive(Debug, Clone, Default)]
pub struct AddressInput {
    pub fields: AddressFields,
    /// The seed's `object_purpose`; derived from completeness when absent.
    pub purpose: Option<String>,
    /// Validate (and normalise) right away.
    pub validate: bool,
}

/// The verdict of [`assess`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assessment {
    pub purpose: Purpose,
    pub state: AddressState,
    pub source: Source,
    pub messages: Vec<Message>,
}

/// Checks that refuse the input outright (400): country present and known, purpose spelled right,
/// lengths within storage limits, and every value a PURCHASE address needs when one is requested.
/// Returns the cleaned fields (trimmed, country upper-cased) and the requested purpose.
pub fn parse_input(
    input: AddressInput,
) -> Result<(AddressFields, Option<Purpose>), ValidationError> {
    let mut f = input.fields;
    let mut errors = FieldErrors::new();
    for (name, value) in text_fields_mut(&mut f) {
        *value = value.trim().to_string();
        let max = if name == "metadata" {
            METADATA_MAX
        } else {
            TEXT_MAX
        };
        check_text(&mut errors, name, value, max);
    }
    if f.country.is_empty() {
        errors.add("country", "This field is required.");
    } else {
        match address_meta::country_by_code_or_name(&f.country) {
            Some(c) => f.country = c.code.clone(),
            None => errors.add(
                "country",
                format!(
                    "\"{}\" is not a valid ISO 3166-1 alpha-2 country code or English country name.",
                    f.country
                ),
            ),
        }
    }
    let purpose = parse_purpose(input.purpose.as_deref()).unwrap_or_else(|m| {
        errors.add("object_purpose", m);
        None
    });
    if purpose == Some(Purpose::Purchase) {
        if let Some(country) = address_meta::country(&f.country) {
            for field in missing_for_purchase(&f, country) {
                errors.add(field, "This field is required for a PURCHASE address.");
            }
        }
    }
    errors.into_result()?;
    Ok((f, purpose))
}

/// The seed's `object_purpose` (`QUOTE` or `PURCHASE`, any case); `Ok(None)` when not given.
pub fn parse_purpose(raw: Option<&str>) -> Result<Option<Purpose>, String> {
    Ok(crate::text::pick(raw.unwrap_or(""), &["QUOTE", "PURCHASE"])?.and_then(Purpose::parse))
}

fn text_fields_mut(f: &mut AddressFields) -> [(&'static str, &mut String); 13] {
    [
        ("name", &mut f.name),
        ("company", &mut f.company),
        ("street_no", &mut f.street_no),
        ("street1", &mut f.street1),
        ("street2", &mut f.street2),
        ("street3", &mut f.street3),
        ("city", &mut f.city),
        ("state", &mut f.state),
        ("zip", &mut f.zip),
        ("country", &mut f.country),
        ("phone", &mut f.phone),
        ("email", &mut f.email),
        ("metadata", &mut f.metadata),
    ]
}

/// The fields a label needs that this address lacks, per the country's published requirements
/// (name, street and city always; state and postal code where the country requires them).
pub fn missing_for_purchase(f: &AddressFields, country: &Country) -> Vec<&'static str> {
    let mut missing = Vec::new();
    if f.name.is_empty() && f.company.is_empty() {
        missing.push("name");
    }
    if f.street1.is_empty() {
        missing.push("street1");
    }
    if f.city.is_empty() {
        missing.push("city");
    }
    if f.state.is_empty() && country.requires('S') {
        missing.push("state");
    }
    if f.zip.is_empty() && country.requires('Z') {
        missing.push("zip");
    }
    missing
}

/// The checks every address gets: completeness (for purchase) and well-formedness of what was given.
pub fn assess(f: &AddressFields, requested: Option<Purpose>) -> Assessment {
    let mut messages = Vec::new();
    let Some(country) = address_meta::country(&f.country) else {
        // parse_input guarantees a known country; stay total anyway.
        messages.push(Message::new(
            "invalid_country",
            MessageKind::Error,
            "Unknown country.",
        ));
        return Assessment {
            purpose: Purpose::Quote,
            state: AddressState::Invalid,
            source: Source::PartiallyEntered,
            messages,
        };
    };
    let missing = missing_for_purchase(f, country);
    for field in &missing {
        messages.push(Message::new(
            "missing_field",
            MessageKind::Warning,
            format!(
                "{field} is required to purchase a label for {}.",
                country.name
            ),
        ));
    }
    let invalid = check_format(f, country, &mut messages);
    let complete = missing.is_empty();
    let purpose = requested.unwrap_or(if complete {
        Purpose::Purchase
    } else {
        Purpose::Quote
    });
    let state = if invalid {
        AddressState::Invalid
    } else if !complete {
        AddressState::Incomplete
    } else {
        AddressState::Valid
    };
    Assessment {
        purpose,
        state,
        source: if complete {
            Source::FullyEntered
        } else {
            Source::PartiallyEntered
        },
        messages,
    }
}

/// Format checks; pushes messages and returns true when any error was found.
fn check_format(f: &AddressFields, country: &Country, messages: &mut Vec<Message>) -> bool {
    let before = messages.len();
    for (field, value) in [
        ("street1", &f.street1),
        ("street2", &f.street2),
        ("street3", &f.street3),
    ] {
        if value.chars().count() > STREET_LINE_MAX {
            messages.push(Message::new(
                "street_line_too_long",
                MessageKind::Error,
                format!(
                    "{field} has {} characters; carriers accept at most {STREET_LINE_MAX}.",
                    value.chars().count()
                ),
            ));
        }
    }
    let subdivision = if f.state.is_empty() || country.subdivisions.is_empty() {
        None
    } else {
        match country.subdivision(&f.state) {
            Some(s) => Some(s),
            None => {
                messages.push(Message::new(
                    "Invalid State",
                    MessageKind::Error,
                    format!(
                        "\"{}\" is not a state or province of {}.",
                        f.state, country.name
                    ),
                ));
                None
            }
        }
    };
    if !f.zip.is_empty() {
        if !country.has_postal_codes() {
            // Not an error: some shops put a code here anyway; carriers ignore it.
        } else if !country.zip_matches(&f.zip) {
            let example = country
                .zip_examples
                .first()
                .map(|e| format!(" (for example {e})"))
                .unwrap_or_default();
            messages.push(Message::new(
                "invalid_postal_code",
                MessageKind::Error,
                format!(
                    "\"{}\" is not a valid postal code for {}{example}.",
                    f.zip, country.name
                ),
            ));
        } else if let Some(sub) = subdivision {
            if !sub.zip_belongs(&f.zip) {
                messages.push(Message::new(
                    "component_mismatch_error",
                    MessageKind::Error,
                    format!("Postal code {} is not in {}.", f.zip, sub.name),
                ));
            }
        }
    }
    if !f.email.is_empty() && !email_is_sane(&f.email) {
        messages.push(Message::new(
            "invalid_email",
            MessageKind::Error,
            format!("\"{}\" is not a valid email address.", f.email),
        ));
    }
    if !f.phone.is_empty() && !phone_is_sane(&f.phone) {
        messages.push(Message::new(
            "invalid_phone",
            MessageKind::Error,
            format!("\"{}\" is not a valid phone number (6 to 15 digits, optionally with +, spaces, dashes, dots, parentheses).", f.phone),
        ));
    }
    messages.len() > before
}

/// RFC 5321 sanity: one `@`, a local part of 1–64 characters, a dotted domain of valid labels.
pub fn email_is_sane(email: &str) -> bool {
    let Some((local, domain)) = email.rsplit_once('@') else {
        return false;
    };
    if local.is_empty() || local.len() > 64 || email.len() > 254 || local.contains('@') {
        return false;
    }
    if local.chars().any(|c| c.is_whitespace() || c.is_control())
        || local.starts_with('.')
        || local.ends_with('.')
    {
        return false;
    }
    let labels: Vec<&str> = domain.split('.').collect();
    labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_alphanumeric() || c == '-')
        })
}

/// E.164 sanity: 6–15 digits, with only `+` (leading), spaces, dashes, dots and parentheses around them.
/// An extension (`x123`, `ext. 12`) is allowed after the number.
pub fn phone_is_sane(phone: &str) -> bool {
    let lower = phone.to_ascii_lowercase();
    let main = lower
        .split_once("ext")
        .or_else(|| lower.split_once('x'))
        .map(|(m, _)| m)
        .unwrap_or(&lower);
    let mut digits = 0;
    for (i, c) in main.trim().chars().enumerate() {
        match c {
            '0'..='9' => digits += 1,
            '+' if i == 0 => {}
            ' ' | '-' | '.' | '(' | ')' | '/' => {}
            _ => return false,
        }
    }
    (6..=15).contains(&digits)
}

/// The offline validator: normalises what it can (state names to codes, postal-code case and
/// spacing, whitespace) and judges the result. Pure; carriers' validators plug in beside it in
/// the service layer.
pub fn validate_offline(f: &AddressFields) -> (AddressFields, ValidationResults) {
    let mut out = f.clone();
    let mut corrections = Vec::new();
    for (_, value) in text_fields_mut(&mut out) {
        let collapsed = value.split_whitespace().collect::<Vec<_>>().join(" ");
        *value = collapsed;
    }
    if let Some(country) = address_meta::country(&out.country) {
        if let Some(sub) = (!out.state.is_empty())
            .then(|| country.subdivision(&out.state))
            .flatten()
        {
            if sub.code != out.state {
                corrections.push(Message::new(
                    "administrative_area_change",
                    MessageKind::Correction,
                    format!("State \"{}\" was changed to \"{}\".", out.state, sub.code),
                ));
                out.state = sub.code.clone();
            }
        }
        if country.has_postal_codes() && !out.zip.is_empty() {
            let upper = out.zip.to_uppercase();
            let fixed = normalise_zip(&country.code, &upper);
            if fixed != out.zip && country.zip_matches(&fixed) {
                corrections.push(Message::new(
                    "postal_code_change",
                    MessageKind::Correction,
                    format!("Postal code \"{}\" was changed to \"{fixed}\".", out.zip),
                ));
                out.zip = fixed;
            }
        }
    }
    let verdict = assess(&out, None);
    let is_valid = verdict.state == AddressState::Valid;
    let mut messages = verdict.messages;
    messages.extend(corrections);
    (out, ValidationResults { is_valid, messages })
}

/// Country-specific spacing that carriers expect (e.g. Canadian `H3Z2Y7` → `H3Z 2Y7`).
fn normalise_zip(country: &str, zip: &str) -> String {
    let compact: String = zip.chars().filter(|c| !c.is_whitespace()).collect();
    match country {
        "CA" if compact.len() == 6 => format!("{} {}", &compact[..3], &compact[3..]),
        "GB" | "IM" | "JE" | "GG" if compact.len() >= 5 && compact.is_ascii() => {
            let split = compact.len() - 3;
            format!("{} {}", &compact[..split], &compact[split..])
        }
        "NL" if compact.len() == 6 && compact.is_ascii() => {
            format!("{} {}", &compact[..4], &compact[4..])
        }
        _ => zip.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn us() -> AddressFields {
        AddressFields {
            name: "Shawn Ippotle".into(),
            street1: "215 Clayton St.".into(),
            city: "San Francisco".into(),
            state: "CA".into(),
            zip: "94117".into(),
            country: "US".into(),
            email: "shippotle@goshippo.com".into(),
            phone: "+1 555 341 9393".into(),
            ..Default::default()
        }
    }

    fn input(f: AddressFields) -> AddressInput {
        AddressInput {
            fields: f,
            ..Default::default()
        }
    }

    #[test]
    fn complete_us_address_is_valid_purchase() {
        let (f, p) = parse_input(input(us())).unwrap();
        let a = assess(&f, p);
        assert_eq!(a.state, AddressState::Valid, "{:?}", a.messages);
        assert_eq!(a.purpose, Purpose::Purchase);
        assert_eq!(a.source, Source::FullyEntered);
        assert!(a.messages.is_empty());
    }

    #[test]
    fn country_is_required_and_must_be_iso() {
        let err = parse_input(input(AddressFields::default())).unwrap_err();
        assert_eq!(err.to_string(), "country: This field is required.");
        let mut f = us();
        f.country = "XX".into();
        assert!(parse_input(input(f))
            .unwrap_err()
            .to_string()
            .contains("ISO 3166-1"));
        let mut f = us();
        f.country = "de".into();
        f.state.clear();
        f.zip = "10115".into();
        assert_eq!(parse_input(input(f)).unwrap().0.country, "DE");
    }

    #[test]
    fn quote_address_is_incomplete_partially_entered() {
        let f = AddressFields {
            zip: "94117".into(),
            country: "US".into(),
            ..Default::default()
        };
        let a = assess(&f, None);
        assert_eq!(a.purpose, Purpose::Quote);
        assert_eq!(a.state, AddressState::Incomplete);
        assert_eq!(a.source, Source::PartiallyEntered);
        assert!(a.messages.iter().any(|m| m.text.starts_with("street1")));
    }

    #[test]
    fn explicit_purchase_requires_every_field() {
        let f = AddressFields {
            zip: "94117".into(),
            country: "US".into(),
            ..Default::default()
        };
        let err = parse_input(AddressInput {
            fields: f,
            purpose: Some("PURCHASE".into()),
            validate: false,
        })
        .unwrap_err();
        let fields: Vec<&str> = err.0.iter().map(|(f, _)| f).collect();
        assert_eq!(fields, ["name", "street1", "city", "state"]);
    }

    #[test]
    fn state_required_for_us_ca_au_but_not_de() {
        for (country, zip) in [("US", "94117"), ("CA", "H3Z 2Y7"), ("AU", "2060")] {
            let f = AddressFields {
                name: "A".into(),
                street1: "1 Main".into(),
                city: "X".into(),
                zip: zip.into(),
                country: country.into(),
                ..Default::default()
            };
            assert_eq!(
                assess(&f, None).state,
                AddressState::Incomplete,
                "{country}"
            );
        }
        let f = AddressFields {
            name: "A".into(),
            street1: "Unter den Linden 1".into(),
            city: "Berlin".into(),
            zip: "10117".into(),
            country: "DE".into(),
            ..Default::default()
        };
        assert_eq!(assess(&f, None).state, AddressState::Valid);
    }

    #[test]
    fn wrong_formats_make_the_address_invalid_with_codes() {
        let mut f = us();
        f.zip = "9411".into();
        f.street1 = "x".repeat(36);
        f.email = "not-an-email".into();
        f.phone = "call me".into();
        let a = assess(&f, None);
        assert_eq!(a.state, AddressState::Invalid);
        let codes: Vec<&str> = a.messages.iter().map(|m| m.code.as_str()).collect();
        assert_eq!(
            codes,
            [
                "street_line_too_long",
                "invalid_postal_code",
                "invalid_email",
                "invalid_phone"
            ]
        );
    }

    #[test]
    fn zip_must_lie_in_the_state() {
        let mut f = us();
        f.zip = "10001".into();
        let a = assess(&f, None);
        assert_eq!(a.state, AddressState::Invalid);
        assert_eq!(a.messages[0].code, "component_mismatch_error");
    }

    #[test]
    fn unknown_state_is_invalid() {
        let mut f = us();
        f.state = "Narnia".into();
        let a = assess(&f, None);
        assert_eq!(a.messages[0].code, "Invalid State");
    }

    #[test]
    fn validator_normalises_state_names_and_postal_codes() {
        let f = AddressFields {
            name: "Jean  Tremblay".into(),
            street1: "1 Rue   Sainte-Catherine".into(),
            city: "Montréal".into(),
            state: "Quebec".into(),
            zip: "h3z2y7".into(),
            country: "CA".into(),
            ..Default::default()
        };
        let (out, results) = validate_offline(&f);
        assert_eq!(out.state, "QC");
        assert_eq!(out.zip, "H3Z 2Y7");
        assert_eq!(out.name, "Jean Tremblay");
        assert!(results.is_valid, "{:?}", results.messages);
        let codes: Vec<&str> = results.messages.iter().map(|m| m.code.as_str()).collect();
        assert_eq!(codes, ["administrative_area_change", "postal_code_change"]);
    }

    #[test]
    fn email_and_phone_sanity() {
        assert!(email_is_sane("a.b+c@example.co.uk"));
        assert!(!email_is_sane("a@b"));
        assert!(!email_is_sane("a b@example.com"));
        assert!(!email_is_sane("@example.com"));
        assert!(phone_is_sane("+1 (555) 341-9393"));
        assert!(phone_is_sane("15553419393 ext. 12"));
        assert!(!phone_is_sane("12345"));
        assert!(!phone_is_sane("555-CALL-NOW"));
    }

    #[test]
    fn non_latin_values_are_kept() {
        let f = AddressFields {
            name: "Łukasz Żółć".into(),
            street1: "ul. Piotrkowska 1".into(),
            city: "Łódź".into(),
            zip: "90-001".into(),
            country: "PL".into(),
            ..Default::default()
        };
        let a = assess(&f, None);
        assert_eq!(a.state, AddressState::Valid, "{:?}", a.messages);
    }
}
