//! Parcels: dimensions and weight with their units, carrier templates, and parcel extras
//! (seed 002, "Parcels", "Parcel Extras", "Parcel Templates").

use rust_decimal::Decimal;

use crate::error::FieldErrors;
use crate::money::{parse_amount, parse_currency};
use crate::parcel_templates::{self, ParcelTemplate};
use crate::text::check_text;
use crate::units::{parse_decimal_10_4, DistanceUnit, MassUnit};
use crate::{ObjectId, Timestamp, ValidationError};

/// `reference_1`/`reference_2`: "Up to 50 characters".
pub const REFERENCE_MAX: usize = 50;
/// Insurance `content` description limit.
pub const CONTENT_MAX: usize = 255;

/// How a COD amount may be paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum CodPaymentMethod {
    SecuredFunds,
    Cash,
    Any,
}

impl CodPaymentMethod {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SecuredFunds => "SECURED_FUNDS",
            Self::Cash => "CASH",
            Self::Any => "ANY",
        }
    }
}

/// Who insures the parcel when not Consign's default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum InsuranceProvider {
    Fedex,
    Ups,
    Ontrac,
}

impl InsuranceProvider {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Fedex => "FEDEX",
            Self::Ups => "UPS",
            Self::Ontrac => "ONTRAC",
        }
    }
}

/// Collect on delivery.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Cod {
    pub amount: Decimal,
    pub currency: String,
    pub payment_method: CodPaymentMethod,
}

/// Declared-value insurance.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Insurance {
    pub amount: Decimal,
    pub currency: String,
    pub provider: Option<InsuranceProvider>,
    pub content: String,
}

/// Optional per-parcel services.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParcelExtra {
    pub cod: Option<Cod>,
    pub insurance: Option<Insurance>,
    pub reference_1: String,
    pub reference_2: String,
}

/// A stored parcel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parcel {
    pub id: ObjectId,
    pub created: Timestamp,
    pub updated: Timestamp,
    pub test: bool,
    pub length: Decimal,
    pub width: Decimal,
    pub height: Decimal,
    pub distance_unit: DistanceUnit,
    pub weight: Decimal,
    pub mass_unit: MassUnit,
    pub template: Option<&'static ParcelTemplate>,
    pub extra: ParcelExtra,
    pub metadata: String,
}

/// The values of a new parcel once checked (no id yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewParcel {
    pub length: Decimal,
    pub width: Decimal,
    pub height: Decimal,
    pub distance_unit: DistanceUnit,
    pub weight: Decimal,
    pub mass_unit: MassUnit,
    pub template: Option<&'static ParcelTemplate>,
    pub extra: ParcelExtra,
    pub metadata: String,
}

/// What a caller sends, as text (numbers arrive as JSON numbers or strings; the wire layer
/// turns both into text).
#[derive(Debug, Clone, Default)]
pub struct ParcelInput {
    pub length: Option<String>,
    pub width: Option<String>,
    pub height: Option<String>,
    pub distance_unit: Option<String>,
    pub weight: Option<String>,
    pub mass_unit: Option<String>,
    pub template: Option<String>,
    pub metadata: Option<String>,
    pub extra: ExtraInput,
}

/// Parcel extras as sent.
#[derive(Debug, Clone, Default)]
pub struct ExtraInput {
    pub cod: Option<MoneyInput>,
    pub insurance: Option<MoneyInput>,
    pub reference_1: Option<String>,
    pub reference_2: Option<String>,
}

/// An amount with currency and the options COD and insurance add to it.
#[derive(Debug, Clone, Default)]
pub struct MoneyInput {
    pub amount: Option<String>,
    pub currency: Option<String>,
    /// COD `payment_method`.
    pub payment_method: Option<String>,
    /// Insurance `provider`.
    pub provider: Option<String>,
    /// Insurance `content`.
    pub content: Option<String>,
}

fn non_empty(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn positive(errors: &mut FieldErrors, field: &str, raw: Option<&str>) -> Option<Decimal> {
    let Some(raw) = raw else {
        errors.add(field, "This field is required.");
        return None;
    };
    match parse_decimal_10_4(raw) {
        Ok(v) if v > Decimal::ZERO => Some(v),
        Ok(_) => {
            errors.add(field, "Ensure this value is greater than 0.");
            None
        }
        Err(e) => {
            errors.add(field, e);
            None
        }
    }
}

/// Checks a parcel: units spelled right, decimal(10,4) quantities above zero, a known template
/// (whose published dimensions replace any sent), and well-formed extras.
pub fn parse_parcel(input: ParcelInput) -> Result<NewParcel, ValidationError> {
    let mut errors = FieldErrors::new();
    let template = match non_empty(&input.template) {
        None => None,
        Some(token) => match parcel_templates::find(token) {
            Some(t) => Some(t),
            None => {
                errors.add(
                    "template",
                    format!("\"{token}\" is not a valid parcel template token."),
                );
                None
            }
        },
    };
    let weight = positive(&mut errors, "weight", non_empty(&input.weight));
    let mass_unit = match non_empty(&input.mass_unit) {
        None => {
            errors.add("mass_unit", "This field is required.");
            None
        }
        Some(u) => u
            .parse::<MassUnit>()
            .map_err(|e| errors.add("mass_unit", e))
            .ok(),
    };
    let dims = match template.filter(|t| t.has_dimensions()) {
        Some(t) => Some((
            t.length.parse().expect("template dimensions are decimals"),
            t.width.parse().expect("template dimensions are decimals"),
            t.height.parse().expect("template dimensions are decimals"),
            t.unit,
        )),
        None => {
            let length = positive(&mut errors, "length", non_empty(&input.length));
            let width = positive(&mut errors, "width", non_empty(&input.width));
            let height = positive(&mut errors, "height", non_empty(&input.height));
            let unit = match non_empty(&input.distance_unit) {
                None => {
                    errors.add("distance_unit", "This field is required.");
                    None
                }
                Some(u) => u
                    .parse::<DistanceUnit>()
                    .map_err(|e| errors.add("distance_unit", e))
                    .ok(),
            };
            match (length, width, height, unit) {
                (Some(l), Some(w), Some(h), Some(u)) => Some((l, w, h, u)),
                _ => None,
            }
        }
    };
    let metadata = input.metadata.unwrap_or_default().trim().to_string();
    check_text(
        &mut errors,
        "metadata",
        &metadata,
        crate::address::METADATA_MAX,
    );
    let extra = parse_extra(input.extra, &mut errors);
    errors.into_result()?;
    let (length, width, height, distance_unit) = dims.expect("checked above");
    Ok(NewParcel {
        length,
        width,
        height,
        distance_unit,
        weight: weight.expect("checked above"),
        mass_unit: mass_unit.expect("checked above"),
        template,
        extra,
        metadata,
    })
}

fn parse_money(
    m: &MoneyInput,
    prefix: &str,
    errors: &mut FieldErrors,
) -> Option<(Decimal, String)> {
    let amount = match non_empty(&m.amount) {
        None => {
            errors.add(format!("{prefix}.amount"), "This field is required.");
            None
        }
        Some(a) => parse_amount(a)
            .map_err(|e| errors.add(format!("{prefix}.amount"), e))
            .ok(),
    };
    let currency = match non_empty(&m.currency) {
        None => {
            errors.add(format!("{prefix}.currency"), "This field is required.");
            None
        }
        Some(c) => parse_currency(c)
            .map_err(|e| errors.add(format!("{prefix}.currency"), e))
            .ok(),
    };
    Some((amount?, currency?))
}

fn parse_extra(input: ExtraInput, errors: &mut FieldErrors) -> ParcelExtra {
    let cod = input.cod.as_ref().and_then(|m| {
        let method = match non_empty(&m.payment_method)
            .map(str::to_ascii_uppercase)
            .as_deref()
        {
            None | Some("ANY") => Some(CodPaymentMethod::Any),
            Some("CASH") => Some(CodPaymentMethod::Cash),
            Some("SECURED_FUNDS") => Some(CodPaymentMethod::SecuredFunds),
            Some(other) => {
                errors.add(
                    "extra.COD.payment_method",
                    format!("\"{other}\" is not a valid choice; use SECURED_FUNDS, CASH or ANY."),
                );
                None
            }
        };
        let (amount, currency) = parse_money(m, "extra.COD", errors)?;
        Some(Cod {
            amount,
            currency,
            payment_method: method?,
        })
    });
    let insurance = input.insurance.as_ref().and_then(|m| {
        let provider = match non_empty(&m.provider)
            .map(str::to_ascii_uppercase)
            .as_deref()
        {
            None => Some(None),
            Some("FEDEX") => Some(Some(InsuranceProvider::Fedex)),
            Some("UPS") => Some(Some(InsuranceProvider::Ups)),
            Some("ONTRAC") => Some(Some(InsuranceProvider::Ontrac)),
            Some(other) => {
                errors.add(
                    "extra.insurance.provider",
                    format!("\"{other}\" is not a valid choice; use FEDEX, UPS or ONTRAC."),
                );
                None
            }
        };
        let content = m.content.clone().unwrap_or_default().trim().to_string();
        check_text(errors, "extra.insurance.content", &content, CONTENT_MAX);
        let (amount, currency) = parse_money(m, "extra.insurance", errors)?;
        Some(Insurance {
            amount,
            currency,
            provider: provider?,
            content,
        })
    });
    let mut reference = |field: &str, v: Option<String>| {
        let v = v.unwrap_or_default().trim().to_string();
        check_text(errors, &format!("extra.{field}"), &v, REFERENCE_MAX);
        v
    };
    let reference_1 = reference("reference_1", input.reference_1);
    let reference_2 = reference("reference_2", input.reference_2);
    ParcelExtra {
        cod,
        insurance,
        reference_1,
        reference_2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Option<String> {
        Some(v.to_string())
    }

    fn basic() -> ParcelInput {
        ParcelInput {
            length: s("5"),
            width: s("5"),
            height: s("5"),
            distance_unit: s("cm"),
            weight: s("2"),
            mass_unit: s("lb"),
            ..Default::default()
        }
    }

    #[test]
    fn parses_the_seed_example() {
        let p = parse_parcel(basic()).unwrap();
        assert_eq!(p.length.to_string(), "5");
        assert_eq!(p.distance_unit, DistanceUnit::Cm);
        assert_eq!(p.mass_unit, MassUnit::Lb);
        assert!(p.template.is_none());
    }

    #[test]
    fn template_dimensions_replace_the_sent_ones() {
        let mut input = basic();
        input.template = s("FedEx_Box_10kg");
        let p = parse_parcel(input).unwrap();
        assert_eq!(
            (
                p.length.to_string(),
                p.width.to_string(),
                p.height.to_string()
            ),
            ("15.81".into(), "12.94".into(), "10.19".into())
        );
        assert_eq!(p.distance_unit, DistanceUnit::In);
        assert_eq!(p.weight.to_string(), "2");
    }

    #[test]
    fn template_alone_needs_only_weight() {
        let input = ParcelInput {
            template: s("USPS_SmallFlatRateBox"),
            weight: s("1"),
            mass_unit: s("lb"),
            ..Default::default()
        };
        assert!(parse_parcel(input).is_ok());
        let input = ParcelInput {
            template: s("USPS_SoftPack"),
            weight: s("1"),
            mass_unit: s("lb"),
            ..Default::default()
        };
        let err = parse_parcel(input).unwrap_err().to_string();
        assert!(err.contains("length: This field is required."), "{err}");
    }

    #[test]
    fn reports_every_bad_field() {
        let input = ParcelInput {
            length: s("0"),
            width: s("abc"),
            height: s("1234567"),
            distance_unit: s("furlong"),
            weight: s("1.23456"),
            mass_unit: None,
            template: s("NoSuchBox"),
            ..Default::default()
        };
        let err = parse_parcel(input).unwrap_err();
        let fields: Vec<&str> = err.0.iter().map(|(f, _)| f).collect();
        assert_eq!(
            fields,
            [
                "template",
                "weight",
                "mass_unit",
                "length",
                "width",
                "height",
                "distance_unit"
            ]
        );
    }

    #[test]
    fn extras_are_validated() {
        let mut input = basic();
        input.extra = ExtraInput {
            cod: Some(MoneyInput {
                amount: s("5.5"),
                currency: s("usd"),
                ..Default::default()
            }),
            insurance: Some(MoneyInput {
                amount: s("200"),
                currency: s("USD"),
                provider: s("UPS"),
                content: s("T-Shirts"),
                ..Default::default()
            }),
            reference_1: s("Order 42"),
            reference_2: None,
        };
        let p = parse_parcel(input).unwrap();
        let cod = p.extra.cod.unwrap();
        assert_eq!(
            (cod.currency.as_str(), cod.payment_method),
            ("USD", CodPaymentMethod::Any)
        );
        assert_eq!(
            p.extra.insurance.unwrap().provider,
            Some(InsuranceProvider::Ups)
        );

        let mut input = basic();
        input.extra = ExtraInput {
            cod: Some(MoneyInput {
                amount: s("-1"),
                currency: s("XXX"),
                payment_method: s("CHEQUE"),
                ..Default::default()
            }),
            insurance: Some(MoneyInput {
                provider: s("DHL"),
                ..Default::default()
            }),
            reference_1: Some("r".repeat(51)),
            reference_2: None,
        };
        let err = parse_parcel(input).unwrap_err();
        let fields: Vec<&str> = err.0.iter().map(|(f, _)| f).collect();
        assert_eq!(
            fields,
            [
                "extra.COD.payment_method",
                "extra.COD.amount",
                "extra.COD.currency",
                "extra.insurance.provider",
                "extra.insurance.amount",
                "extra.insurance.currency",
                "extra.reference_1"
            ]
        );
    }
}
