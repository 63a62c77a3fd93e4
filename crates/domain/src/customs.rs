//! Customs items and declarations (seed 002 "Customs Items", "Customs Declarations"): what an
//! international parcel holds and how customs should treat it.

use rust_decimal::Decimal;

use crate::address_meta;
use crate::error::FieldErrors;
use crate::money::{parse_amount, parse_currency};
use crate::text::{check_text, pick};
use crate::units::{parse_decimal_10_4, MassUnit};
use crate::{ObjectId, Timestamp, ValidationError};

/// Most items one declaration may list.
pub const MAX_ITEMS: usize = 100;

/// Kinds of contents.
pub const CONTENTS_TYPES: [&str; 7] = [
    "DOCUMENTS",
    "GIFT",
    "SAMPLE",
    "MERCHANDISE",
    "HUMANITARIAN_DONATION",
    "RETURN_MERCHANDISE",
    "OTHER",
];
/// What the carrier does with an undeliverable parcel.
pub const NON_DELIVERY_OPTIONS: [&str; 2] = ["ABANDON", "RETURN"];
/// US export filing exemptions (EEL) or the AES filing (PFC).
pub const EEL_PFC: [&str; 5] = [
    "NOEEI_30_37_a",
    "NOEEI_30_37_h",
    "NOEEI_30_37_f",
    "NOEEI_30_36",
    "AES_ITN",
];
/// Who pays duties, and where the carrier's responsibility ends.
pub const INCOTERMS: [&str; 5] = ["DDP", "DDU", "FCA", "DAP", "eDAP"];
/// Canadian export filing (B13A) options.
pub const B13A_FILING_OPTIONS: [&str; 3] =
    ["FILED_ELECTRONICALLY", "SUMMARY_REPORTING", "NOT_REQUIRED"];

/// A stored customs item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomsItem {
    pub id: ObjectId,
    pub created: Timestamp,
    pub updated: Timestamp,
    pub test: bool,
    pub description: String,
    pub quantity: u32,
    /// Of all `quantity` pieces together.
    pub net_weight: Decimal,
    pub mass_unit: MassUnit,
    /// Of all `quantity` pieces together.
    pub value_amount: Decimal,
    pub value_currency: String,
    /// ISO 3166-1 alpha-2.
    pub origin_country: String,
    pub tariff_number: String,
    pub hs_code: String,
    pub sku_code: String,
    pub eccn_ear99: String,
    pub metadata: String,
}

/// A customs item as sent (numbers as text).
#[derive(Debug, Clone, Default)]
pub struct CustomsItemInput {
    pub description: Option<String>,
    pub quantity: Option<String>,
    pub net_weight: Option<String>,
    pub mass_unit: Option<String>,
    pub value_amount: Option<String>,
    pub value_currency: Option<String>,
    pub origin_country: Option<String>,
    pub tariff_number: Option<String>,
    pub hs_code: Option<String>,
    pub sku_code: Option<String>,
    pub eccn_ear99: Option<String>,
    pub metadata: Option<String>,
}

fn required(errors: &mut FieldErrors, field: &str, v: Option<String>) -> String {
    let v = v.unwrap_or_default().trim().to_string();
    if v.is_empty() {
        errors.add(field, "This field is required.");
    }
    v
}

fn optional(errors: &mut FieldErrors, field: &str, v: Option<String>, max: usize) -> String {
    let v = v.unwrap_or_default().trim().to_string();
    check_text(errors, field, &v, max);
    v
}

fn choice(
    errors: &mut FieldErrors,
    field: &str,
    v: Option<String>,
    choices: &[&'static str],
    is_required: bool,
) -> Option<&'static str> {
    match pick(v.as_deref().unwrap_or(""), choices) {
        Ok(None) if is_required => {
            errors.add(field, "This field is required.");
            None
        }
        Ok(found) => found,
        Err(m) => {
            errors.add(field, m);
            None
        }
    }
}

/// Checks a customs item; `at`/`test` stamp the new object.
pub fn parse_customs_item(
    input: CustomsItemInput,
    at: Timestamp,
    test: bool,
) -> Result<CustomsItem, ValidationError> {
    let mut e = FieldErrors::new();
    let description = required(&mut e, "description", input.description);
    check_text(&mut e, "description", &description, 200);
    let quantity_raw = required(&mut e, "quantity", input.quantity);
    let quantity = match quantity_raw.parse::<u32>() {
        Ok(q) if q > 0 => q,
        _ if quantity_raw.is_empty() => 0,
        _ => {
            e.add("quantity", "Enter a whole number greater than 0.");
            0
        }
    };
    let weight_raw = required(&mut e, "net_weight", input.net_weight);
    let net_weight = match parse_decimal_10_4(&weight_raw) {
        Ok(w) if w > Decimal::ZERO => w,
        Ok(_) => {
            e.add("net_weight", "Must be greater than 0.");
            Decimal::ZERO
        }
        Err(m) => {
            if !weight_raw.is_empty() {
                e.add("net_weight", m);
            }
            Decimal::ZERO
        }
    };
    let unit_raw = required(&mut e, "mass_unit", input.mass_unit);
    let mass_unit = match unit_raw.parse::<MassUnit>() {
        Ok(u) => Some(u),
        Err(_) => {
            if !unit_raw.is_empty() {
                e.add(
                    "mass_unit",
                    format!("\"{unit_raw}\" is not a valid choice; use g, oz, lb or kg."),
                );
            }
            None
        }
    };
    let value_raw = required(&mut e, "value_amount", input.value_amount);
    let value_amount = match parse_amount(&value_raw) {
        Ok(v) => v,
        Err(m) => {
            if !value_raw.is_empty() {
                e.add("value_amount", m);
            }
            Decimal::ZERO
        }
    };
    let currency_raw = required(&mut e, "value_currency", input.value_currency);
    let value_currency = match parse_currency(&currency_raw) {
        Ok(c) => c,
        Err(m) => {
            if !currency_raw.is_empty() {
                e.add("value_currency", m);
            }
            String::new()
        }
    };
    let country_raw = required(&mut e, "origin_country", input.origin_country);
    let origin_country = match address_meta::country_by_code_or_name(&country_raw) {
        Some(c) => c.code.clone(),
        None => {
            if !country_raw.is_empty() {
                e.add(
                    "origin_country",
                    format!("\"{country_raw}\" is not an ISO 3166-1 alpha-2 country code."),
                );
            }
            String::new()
        }
    };
    let tariff_number = optional(&mut e, "tariff_number", input.tariff_number, 35);
    let hs_code = optional(&mut e, "hs_code", input.hs_code, 35);
    let sku_code = optional(&mut e, "sku_code", input.sku_code, 100);
    let eccn_ear99 = optional(&mut e, "eccn_ear99", input.eccn_ear99, 35);
    let metadata = optional(&mut e, "metadata", input.metadata, 100);
    e.into_result()?;
    Ok(CustomsItem {
        id: ObjectId::at(at.millis()),
        created: at,
        updated: at,
        test,
        description,
        quantity,
        net_weight,
        mass_unit: mass_unit.expect("checked"),
        value_amount,
        value_currency,
        origin_country,
        tariff_number,
        hs_code,
        sku_code,
        eccn_ear99,
        metadata,
    })
}

/// A stored customs declaration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomsDeclaration {
    pub id: ObjectId,
    pub created: Timestamp,
    pub updated: Timestamp,
    pub test: bool,
    pub certify: bool,
    pub certify_signer: String,
    /// Its items, in the order given.
    pub items: Vec<ObjectId>,
    pub non_delivery_option: &'static str,
    pub contents_type: &'static str,
    pub contents_explanation: String,
    pub exporter_reference: String,
    pub importer_reference: String,
    pub invoice: String,
    pub license: String,
    pub certificate: String,
    pub notes: String,
    pub eel_pfc: Option<&'static str>,
    pub aes_itn: String,
    pub incoterm: Option<&'static str>,
    pub b13a_filing_option: Option<&'static str>,
    pub b13a_number: String,
    pub disclaimer: String,
    pub metadata: String,
}

/// A declaration as sent; `items` are resolved (ids looked up, objects checked) by the caller.
#[derive(Debug, Clone, Default)]
pub struct DeclarationInput {
    pub certify: Option<bool>,
    pub certify_signer: Option<String>,
    pub non_delivery_option: Option<String>,
    pub contents_type: Option<String>,
    pub contents_explanation: Option<String>,
    pub exporter_reference: Option<String>,
    pub importer_reference: Option<String>,
    pub invoice: Option<String>,
    pub license: Option<String>,
    pub certificate: Option<String>,
    pub notes: Option<String>,
    pub eel_pfc: Option<String>,
    pub aes_itn: Option<String>,
    pub incoterm: Option<String>,
    pub b13a_filing_option: Option<String>,
    pub b13a_number: Option<String>,
    pub disclaimer: Option<String>,
    pub metadata: Option<String>,
}

/// Checks a declaration over already resolved `items`.
pub fn parse_declaration(
    input: DeclarationInput,
    items: Vec<ObjectId>,
    at: Timestamp,
    test: bool,
) -> Result<CustomsDeclaration, ValidationError> {
    let mut e = FieldErrors::new();
    match input.certify {
        Some(true) => {}
        Some(false) => e.add(
            "certify",
            "Must be true: the signer certifies that the declaration is true and complete.",
        ),
        None => e.add("certify", "This field is required."),
    }
    let certify_signer = required(&mut e, "certify_signer", input.certify_signer);
    check_text(&mut e, "certify_signer", &certify_signer, 100);
    if items.is_empty() {
        e.add("items", "At least one customs item is required.");
    }
    if items.len() > MAX_ITEMS {
        e.add(
            "items",
            format!("At most {MAX_ITEMS} items per declaration."),
        );
    }
    let non_delivery_option = choice(
        &mut e,
        "non_delivery_option",
        input.non_delivery_option,
        &NON_DELIVERY_OPTIONS,
        true,
    );
    let contents_type = choice(
        &mut e,
        "contents_type",
        input.contents_type,
        &CONTENTS_TYPES,
        true,
    );
    let contents_explanation = optional(
        &mut e,
        "contents_explanation",
        input.contents_explanation,
        200,
    );
    if contents_type == Some("OTHER") && contents_explanation.is_empty() {
        e.add(
            "contents_explanation",
            "Required when contents_type is OTHER.",
        );
    }
    let eel_pfc = choice(&mut e, "eel_pfc", input.eel_pfc, &EEL_PFC, false);
    let aes_itn = optional(&mut e, "aes_itn", input.aes_itn, 35);
    if eel_pfc == Some("AES_ITN") && aes_itn.is_empty() {
        e.add("aes_itn", "Required when eel_pfc is AES_ITN.");
    }
    let incoterm = choice(&mut e, "incoterm", input.incoterm, &INCOTERMS, false);
    let b13a_filing_option = choice(
        &mut e,
        "b13a_filing_option",
        input.b13a_filing_option,
        &B13A_FILING_OPTIONS,
        false,
    );
    let declaration = CustomsDeclaration {
        id: ObjectId::at(at.millis()),
        created: at,
        updated: at,
        test,
        certify: true,
        certify_signer,
        items,
        non_delivery_option: non_delivery_option.unwrap_or("RETURN"),
        contents_type: contents_type.unwrap_or("OTHER"),
        contents_explanation,
        exporter_reference: optional(&mut e, "exporter_reference", input.exporter_reference, 100),
        importer_reference: optional(&mut e, "importer_reference", input.importer_reference, 100),
        invoice: optional(&mut e, "invoice", input.invoice, 100),
        license: optional(&mut e, "license", input.license, 100),
        certificate: optional(&mut e, "certificate", input.certificate, 100),
        notes: optional(&mut e, "notes", input.notes, 500),
        eel_pfc,
        aes_itn,
        incoterm,
        b13a_filing_option,
        b13a_number: optional(&mut e, "b13a_number", input.b13a_number, 35),
        disclaimer: optional(&mut e, "disclaimer", input.disclaimer, 500),
        metadata: optional(&mut e, "metadata", input.metadata, 100),
    };
    e.into_result()?;
    Ok(declaration)
}

/// The stored spelling of a choice back to its `&'static` form (`None` if unknown).
pub fn known(choices: &[&'static str], stored: &str) -> Option<&'static str> {
    choices.iter().find(|c| **c == stored).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item() -> CustomsItemInput {
        CustomsItemInput {
            description: Some("T-Shirt".into()),
            quantity: Some("2".into()),
            net_weight: Some("400".into()),
            mass_unit: Some("g".into()),
            value_amount: Some("20".into()),
            value_currency: Some("usd".into()),
            origin_country: Some("Germany".into()),
            ..Default::default()
        }
    }

    #[test]
    fn items_are_checked_and_normalised() {
        let i = parse_customs_item(item(), Timestamp::now(), true).unwrap();
        assert_eq!(
            (
                i.quantity,
                i.value_currency.as_str(),
                i.origin_country.as_str()
            ),
            (2, "USD", "DE")
        );
        let bad = CustomsItemInput {
            quantity: Some("0".into()),
            net_weight: Some("-1".into()),
            mass_unit: Some("stone".into()),
            value_currency: Some("XXY".into()),
            origin_country: Some("Atlantis".into()),
            ..item()
        };
        let e = parse_customs_item(bad, Timestamp::now(), true).unwrap_err();
        let fields: Vec<&str> = e.0.iter().map(|(f, _)| f).collect();
        assert_eq!(
            fields,
            [
                "quantity",
                "net_weight",
                "mass_unit",
                "value_currency",
                "origin_country"
            ]
        );
    }

    #[test]
    fn declarations_need_a_certified_signer_items_and_known_choices() {
        let input = DeclarationInput {
            certify: Some(false),
            contents_type: Some("OTHER".into()),
            non_delivery_option: Some("BURN".into()),
            eel_pfc: Some("AES_ITN".into()),
            ..Default::default()
        };
        let e = parse_declaration(input, vec![], Timestamp::now(), true).unwrap_err();
        let fields: Vec<&str> = e.0.iter().map(|(f, _)| f).collect();
        assert_eq!(
            fields,
            [
                "certify",
                "certify_signer",
                "items",
                "non_delivery_option",
                "contents_explanation",
                "aes_itn"
            ]
        );
        let ok = DeclarationInput {
            certify: Some(true),
            certify_signer: Some("Shawn Ippotle".into()),
            contents_type: Some("merchandise".into()),
            non_delivery_option: Some("ABANDON".into()),
            eel_pfc: Some("NOEEI_30_37_a".into()),
            incoterm: Some("DDU".into()),
            ..Default::default()
        };
        let d = parse_declaration(ok, vec![ObjectId::new()], Timestamp::now(), true).unwrap();
        assert_eq!((d.contents_type, d.incoterm), ("MERCHANDISE", Some("DDU")));
    }
}
