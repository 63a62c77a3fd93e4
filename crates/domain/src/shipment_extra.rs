//! Shipment extras (seed 002 "Shipment Extras", plus the current API's references, insurance and
//! returns fields): parsed from the request's `extra` object into typed options, every field
//! checked, errors keyed `extra.<field>`. Keys this version does not know are ignored, as Shippo
//! does, so newer clients keep working.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::FieldErrors;
use crate::money::{parse_amount, parse_currency};
use crate::parcel::{Cod, CodPaymentMethod, Insurance, InsuranceProvider, REFERENCE_MAX};
use crate::text::check_text;
use crate::ValidationError;

/// Signature options.
pub const SIGNATURE_CONFIRMATIONS: [&str; 5] = [
    "STANDARD",
    "ADULT",
    "CERTIFIED",
    "INDIRECT",
    "CARRIER_CONFIRMATION",
];
/// Who pays.
pub const BILLING_TYPES: [&str; 5] = [
    "SENDER",
    "RECIPIENT",
    "THIRD_PARTY",
    "THIRD_PARTY_CONSIGNEE",
    "COLLECT",
];
/// DHL Germany Paket Sameday windows, `HHMMHHMM`.
pub const DELIVERY_TIMEFRAMES: [&str; 6] = [
    "10001200", "12001400", "14001600", "16001800", "18002000", "19002100",
];
/// LaserShip handling attributes.
pub const LASERSHIP_ATTRS: [&str; 9] = [
    "TwoPersonDelivery",
    "Explosive",
    "Alcohol",
    "Hazmat",
    "ControlledSubstance",
    "Refrigerated",
    "DryIce",
    "Perishable",
    "NoRTS",
];
/// DHL eCommerce dangerous-goods category codes.
pub const DANGEROUS_GOODS_CODES: [&str; 9] = ["01", "02", "03", "04", "05", "06", "07", "08", "09"];
/// Alcohol recipient licence types.
pub const ALCOHOL_RECIPIENTS: [&str; 2] = ["licensee", "consumer"];

/// Billing details (UPS, FedEx, DHL Germany).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Billing {
    /// One of [`BILLING_TYPES`], if given.
    pub kind: Option<String>,
    pub account: String,
    pub zip: String,
    pub country: String,
    pub participation_code: String,
}

/// Alcohol declaration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alcohol {
    pub contains_alcohol: bool,
    /// One of [`ALCOHOL_RECIPIENTS`].
    pub recipient_type: Option<String>,
}

/// Dry-ice declaration; weight in kilograms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DryIce {
    pub contains_dry_ice: bool,
    pub weight: Decimal,
}

/// Every extra a shipment can ask for, checked. Stored with the shipment in its own serde shape
/// (the `extras` column), so it is parsed once, when the shipment is created; fields added
/// later default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ShipmentExtra {
    pub signature_confirmation: Option<String>,
    pub authority_to_leave: Option<bool>,
    pub saturday_delivery: bool,
    pub insurance: Option<Insurance>,
    pub insurance_content: String,
    pub insurance_provider: Option<InsuranceProvider>,
    pub bypass_address_validation: bool,
    pub request_retail_rates: bool,
    pub customer_branch: String,
    pub premium: bool,
    pub preferred_delivery_timeframe: Option<String>,
    pub lasership_attrs: Vec<String>,
    pub lasership_declared_value: Option<Decimal>,
    pub container_type: String,
    pub billing: Option<Billing>,
    pub cod: Option<Cod>,
    pub alcohol: Option<Alcohol>,
    pub dry_ice: Option<DryIce>,
    pub dangerous_goods_code: Option<String>,
    pub carbon_neutral: bool,
    pub is_return: bool,
    pub reference_1: String,
    pub reference_2: String,
}

struct Reader<'a, 'e> {
    obj: &'a Map<String, Value>,
    prefix: String,
    errors: &'e mut FieldErrors,
}

impl<'a> Reader<'a, '_> {
    fn path(&self, key: &str) -> String {
        format!("{}.{key}", self.prefix)
    }

    fn bool(&mut self, key: &str) -> Option<bool> {
        match self.obj.get(key)? {
            Value::Null => None,
            Value::Bool(b) => Some(*b),
            Value::String(s) => match crate::text::parse_flag(s) {
                Ok(flag) => flag,
                Err(()) => {
                    self.errors
                        .add(self.path(key), format!("\"{s}\" is not a valid boolean."));
                    None
                }
            },
            other => {
                self.errors.add(
                    self.path(key),
                    format!("Expected a boolean, found {other}."),
                );
                None
            }
        }
    }

    fn text(&mut self, key: &str, max: usize) -> String {
        let value = match self.obj.get(key) {
            None | Some(Value::Null) => return String::new(),
            Some(Value::String(s)) => s.trim().to_string(),
            Some(Value::Number(n)) => n.to_string(),
            Some(other) => {
                self.errors
                    .add(self.path(key), format!("Expected a string, found {other}."));
                return String::new();
            }
        };
        check_text(self.errors, &self.path(key), &value, max);
        value
    }

    fn choice(&mut self, key: &str, choices: &[&str]) -> Option<String> {
        let value = self.text(key, 64);
        match crate::text::pick(&value, choices) {
            Ok(found) => found.map(str::to_string),
            Err(m) => {
                self.errors.add(self.path(key), m);
                None
            }
        }
    }

    fn object(&mut self, key: &str) -> Option<&'a Map<String, Value>> {
        let obj: &'a Map<String, Value> = self.obj;
        match obj.get(key)? {
            Value::Object(m) => Some(m),
            Value::Null => None,
            other => {
                self.errors.add(
                    self.path(key),
                    format!("Expected an object, found {other}."),
                );
                None
            }
        }
    }
}

fn money(r: &mut Reader<'_, '_>) -> Option<(Decimal, String)> {
    let amount = r.text("amount", 32);
    let currency = r.text("currency", 8);
    let amount = if amount.is_empty() {
        r.errors.add(r.path("amount"), "This field is required.");
        None
    } else {
        parse_amount(&amount)
            .map_err(|e| r.errors.add(r.path("amount"), e))
            .ok()
    };
    let currency = if currency.is_empty() {
        r.errors.add(r.path("currency"), "This field is required.");
        None
    } else {
        parse_currency(&currency)
            .map_err(|e| r.errors.add(r.path("currency"), e))
            .ok()
    };
    Some((amount?, currency?))
}

fn provider(r: &mut Reader<'_, '_>, key: &str) -> Option<InsuranceProvider> {
    match r.choice(key, &["FEDEX", "UPS", "ONTRAC"])?.as_str() {
        "FEDEX" => Some(InsuranceProvider::Fedex),
        "UPS" => Some(InsuranceProvider::Ups),
        _ => Some(InsuranceProvider::Ontrac),
    }
}

/// Parses a request's `extra` object (absent or `null` = no extras).
pub fn parse_shipment_extra(extra: Option<&Value>) -> Result<ShipmentExtra, ValidationError> {
    let mut errors = FieldErrors::new();
    let empty = Map::new();
    let obj = match extra {
        None | Some(Value::Null) => &empty,
        Some(Value::Object(m)) => m,
        Some(other) => {
            return Err(ValidationError::field(
                "extra",
                format!("Expected an object, found {other}."),
            ))
        }
    };
    let mut r = Reader {
        obj,
        prefix: "extra".into(),
        errors: &mut errors,
    };
    let mut x = ShipmentExtra {
        signature_confirmation: r.choice("signature_confirmation", &SIGNATURE_CONFIRMATIONS),
        authority_to_leave: r.bool("authority_to_leave"),
        saturday_delivery: r.bool("saturday_delivery").unwrap_or(false),
        insurance_content: r.text("insurance_content", 255),
        insurance_provider: provider(&mut r, "insurance_provider"),
        bypass_address_validation: r.bool("bypass_address_validation").unwrap_or(false),
        request_retail_rates: r.bool("request_retail_rates").unwrap_or(false),
        customer_branch: r.text("customer_branch", 50),
        premium: r.bool("premium").unwrap_or(false),
        preferred_delivery_timeframe: r
            .choice("preferred_delivery_timeframe", &DELIVERY_TIMEFRAMES),
        container_type: r.text("container_type", 50),
        dangerous_goods_code: r.choice("dangerous_goods_code", &DANGEROUS_GOODS_CODES),
        carbon_neutral: r.bool("carbon_neutral").unwrap_or(false),
        is_return: r.bool("is_return").unwrap_or(false),
        reference_1: r.text("reference_1", REFERENCE_MAX),
        reference_2: r.text("reference_2", REFERENCE_MAX),
        ..Default::default()
    };
    x.lasership_attrs = match obj.get("lasership_attrs") {
        None | Some(Value::Null) => vec![],
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| v.as_str().unwrap_or_default().to_string())
            .collect(),
        Some(other) => {
            r.errors.add(
                "extra.lasership_attrs",
                format!("Expected a list, found {other}."),
            );
            vec![]
        }
    };
    for (i, attr) in x.lasership_attrs.iter_mut().enumerate() {
        match LASERSHIP_ATTRS
            .iter()
            .find(|a| a.eq_ignore_ascii_case(attr))
        {
            Some(a) => *attr = (*a).to_string(),
            None => r.errors.add(
                format!("extra.lasership_attrs[{i}]"),
                format!(
                    "\"{attr}\" is not a valid choice; use one of {}.",
                    LASERSHIP_ATTRS.join(", ")
                ),
            ),
        }
    }
    let declared = r.text("lasership_declared_value", 32);
    if !declared.is_empty() {
        x.lasership_declared_value = parse_amount(&declared)
            .map_err(|e| r.errors.add("extra.lasership_declared_value", e))
            .ok();
    }
    if let Some(m) = r.object("billing") {
        let mut b = Reader {
            obj: m,
            prefix: "extra.billing".into(),
            errors: &mut *r.errors,
        };
        let country = b.text("country", 2).to_ascii_uppercase();
        if !country.is_empty() && crate::address_meta::country(&country).is_none() {
            b.errors.add(
                "extra.billing.country",
                format!("\"{country}\" is not an ISO 3166-1 alpha-2 code."),
            );
        }
        x.billing = Some(Billing {
            kind: b.choice("type", &BILLING_TYPES),
            account: b.text("account", 50),
            zip: b.text("zip", 20),
            country,
            participation_code: b.text("participation_code", 2),
        });
    }
    if let Some(m) = r.object("COD") {
        let mut c = Reader {
            obj: m,
            prefix: "extra.COD".into(),
            errors: &mut *r.errors,
        };
        let method = match c
            .choice("payment_method", &["SECURED_FUNDS", "CASH", "ANY"])
            .as_deref()
        {
            Some("SECURED_FUNDS") => CodPaymentMethod::SecuredFunds,
            Some("CASH") => CodPaymentMethod::Cash,
            _ => CodPaymentMethod::Any,
        };
        x.cod = money(&mut c).map(|(amount, currency)| Cod {
            amount,
            currency,
            payment_method: method,
        });
    }
    if let Some(m) = r.object("insurance") {
        let mut c = Reader {
            obj: m,
            prefix: "extra.insurance".into(),
            errors: &mut *r.errors,
        };
        let content = c.text("content", 255);
        let provider = provider(&mut c, "provider");
        x.insurance = money(&mut c).map(|(amount, currency)| Insurance {
            amount,
            currency,
            provider,
            content,
        });
    }
    if let Some(m) = r.object("alcohol") {
        let mut a = Reader {
            obj: m,
            prefix: "extra.alcohol".into(),
            errors: &mut *r.errors,
        };
        let contains_alcohol = a.bool("contains_alcohol");
        if contains_alcohol.is_none() {
            a.errors
                .add("extra.alcohol.contains_alcohol", "This field is required.");
        }
        x.alcohol = Some(Alcohol {
            contains_alcohol: contains_alcohol.unwrap_or(false),
            recipient_type: a.choice("recipient_type", &ALCOHOL_RECIPIENTS),
        });
    }
    if let Some(m) = r.object("dry_ice") {
        let mut d = Reader {
            obj: m,
            prefix: "extra.dry_ice".into(),
            errors: &mut *r.errors,
        };
        let contains = d.bool("contains_dry_ice");
        if contains.is_none() {
            d.errors
                .add("extra.dry_ice.contains_dry_ice", "This field is required.");
        }
        let weight = d.text("weight", 32);
        let weight = match crate::units::parse_decimal_10_4(&weight) {
            Ok(w) if w > Decimal::ZERO => Some(w),
            _ => {
                d.errors.add(
                    "extra.dry_ice.weight",
                    "Enter the dry-ice weight in kilograms, greater than 0.",
                );
                None
            }
        };
        if let (Some(contains_dry_ice), Some(weight)) = (contains, weight) {
            x.dry_ice = Some(DryIce {
                contains_dry_ice,
                weight,
            });
        }
    }
    errors.into_result()?;
    Ok(x)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(v: Value) -> Vec<String> {
        parse_shipment_extra(Some(&v))
            .unwrap_err()
            .0
            .iter()
            .map(|(f, _)| f.to_string())
            .collect()
    }

    #[test]
    fn every_seed_extra_parses() {
        let x = parse_shipment_extra(Some(&json!({
            "signature_confirmation": "adult", "authority_to_leave": false, "saturday_delivery": "true",
            "insurance_content": "T-Shirts", "insurance_provider": "UPS", "bypass_address_validation": true,
            "request_retail_rates": true, "customer_branch": "SFO", "premium": true,
            "preferred_delivery_timeframe": "10001200", "lasership_attrs": ["Perishable", "dryice"],
            "lasership_declared_value": "50.00", "container_type": "BOX",
            "billing": {"type": "THIRD_PARTY", "account": "A1B2C3", "zip": "94117", "country": "us"},
            "COD": {"amount": "5.50", "currency": "USD", "payment_method": "CASH"},
            "alcohol": {"contains_alcohol": true, "recipient_type": "licensee"},
            "dry_ice": {"contains_dry_ice": true, "weight": "1.5"},
            "dangerous_goods_code": "03", "carbon_neutral": true, "reference_1": "PO 42",
            "insurance": {"amount": "200", "currency": "USD", "content": "Shoes"},
            "some_future_extra": {"x": 1}
        })))
        .unwrap();
        // Stored in its own shape and read back unchanged (what the rate job and labels read).
        let stored = serde_json::to_string(&x).unwrap();
        assert_eq!(serde_json::from_str::<ShipmentExtra>(&stored).unwrap(), x);
        assert_eq!(
            serde_json::from_str::<ShipmentExtra>("{}").unwrap(),
            ShipmentExtra::default()
        );
        assert_eq!(x.signature_confirmation.as_deref(), Some("ADULT"));
        assert!(x.saturday_delivery && x.premium && x.carbon_neutral && x.request_retail_rates);
        assert_eq!(x.authority_to_leave, Some(false));
        assert_eq!(x.lasership_attrs, ["Perishable", "DryIce"]);
        assert_eq!(x.billing.unwrap().country, "US");
        assert_eq!(x.cod.unwrap().payment_method, CodPaymentMethod::Cash);
        assert_eq!(x.dry_ice.unwrap().weight.to_string(), "1.5");
        assert_eq!(x.insurance.unwrap().amount.to_string(), "200");
        assert_eq!(x.insurance_provider, Some(InsuranceProvider::Ups));
    }

    #[test]
    fn absent_and_empty_extras_are_fine() {
        assert_eq!(
            parse_shipment_extra(None).unwrap(),
            ShipmentExtra::default()
        );
        assert_eq!(
            parse_shipment_extra(Some(&json!({}))).unwrap(),
            ShipmentExtra::default()
        );
        assert!(parse_shipment_extra(Some(&json!("fast"))).is_err());
    }

    #[test]
    fn every_bad_value_is_named() {
        let got = fields(json!({
            "signature_confirmation": "MAYBE", "saturday_delivery": "soon", "preferred_delivery_timeframe": "0900",
            "lasership_attrs": ["Fragile"], "billing": {"type": "FRIEND", "country": "XX"},
            "COD": {"amount": "-1"}, "alcohol": {"recipient_type": "minor"}, "dry_ice": {"weight": "0"},
            "dangerous_goods_code": "10", "reference_1": "x".repeat(51), "insurance_provider": "DHL"
        }));
        for f in [
            "extra.signature_confirmation",
            "extra.saturday_delivery",
            "extra.preferred_delivery_timeframe",
            "extra.lasership_attrs[0]",
            "extra.billing.type",
            "extra.billing.country",
            "extra.COD.amount",
            "extra.COD.currency",
            "extra.alcohol.contains_alcohol",
            "extra.alcohol.recipient_type",
            "extra.dry_ice.contains_dry_ice",
            "extra.dry_ice.weight",
            "extra.dangerous_goods_code",
            "extra.reference_1",
            "extra.insurance_provider",
        ] {
            assert!(got.iter().any(|g| g == f), "missing {f} in {got:?}");
        }
    }
}
