//! Lengths and masses carry their unit and convert exactly (decimal factors, never floats).

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;

/// Units a parcel's dimensions may be given in (Shippo's `distance_unit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DistanceUnit {
    Cm,
    In,
    Ft,
    Mm,
    M,
    Yd,
}

/// Units a weight may be given in (Shippo's `mass_unit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MassUnit {
    G,
    Oz,
    Lb,
    Kg,
}

impl DistanceUnit {
    /// Every unit, in Shippo's order.
    pub const ALL: [DistanceUnit; 6] = [Self::Cm, Self::In, Self::Ft, Self::Mm, Self::M, Self::Yd];

    /// The wire spelling (`"cm"`, `"in"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cm => "cm",
            Self::In => "in",
            Self::Ft => "ft",
            Self::Mm => "mm",
            Self::M => "m",
            Self::Yd => "yd",
        }
    }

    /// Millimetres in one unit; exact by definition (1 in = 25.4 mm since 1959).
    fn mm(self) -> Decimal {
        match self {
            Self::Mm => Decimal::ONE,
            Self::Cm => Decimal::TEN,
            Self::M => Decimal::ONE_THOUSAND,
            Self::In => Decimal::new(254, 1),
            Self::Ft => Decimal::new(3048, 1),
            Self::Yd => Decimal::new(9144, 1),
        }
    }
}

impl MassUnit {
    /// Every unit, in Shippo's order.
    pub const ALL: [MassUnit; 4] = [Self::G, Self::Oz, Self::Lb, Self::Kg];

    /// The wire spelling (`"g"`, `"oz"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::G => "g",
            Self::Oz => "oz",
            Self::Lb => "lb",
            Self::Kg => "kg",
        }
    }

    /// Grams in one unit; exact by definition (1 lb = 453.59237 g, 1 oz = 1/16 lb).
    fn grams(self) -> Decimal {
        match self {
            Self::G => Decimal::ONE,
            Self::Kg => Decimal::ONE_THOUSAND,
            Self::Lb => Decimal::new(45_359_237, 5),
            Self::Oz => Decimal::new(28_349_523_125, 9),
        }
    }
}

macro_rules! unit_parse {
    ($t:ty, $what:literal) => {
        impl FromStr for $t {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let lower = s.trim().to_ascii_lowercase();
                Self::ALL
                    .into_iter()
                    .find(|u| u.as_str() == lower)
                    .ok_or_else(|| {
                        let all: Vec<&str> = Self::ALL.iter().map(|u| u.as_str()).collect();
                        format!(
                            "\"{s}\" is not a valid {}; use one of {}.",
                            $what,
                            all.join(", ")
                        )
                    })
            }
        }
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
unit_parse!(DistanceUnit, "distance unit");
unit_parse!(MassUnit, "mass unit");

/// Converts `value` from one distance unit to another, exactly where the result is representable.
pub fn convert_length(value: Decimal, from: DistanceUnit, to: DistanceUnit) -> Decimal {
    if from == to {
        return value;
    }
    ((value * from.mm()) / to.mm()).normalize()
}

/// Converts `value` from one mass unit to another, exactly where the result is representable.
pub fn convert_mass(value: Decimal, from: MassUnit, to: MassUnit) -> Decimal {
    if from == to {
        return value;
    }
    ((value * from.grams()) / to.grams()).normalize()
}

/// A quantity stored as SQL `decimal(10,4)`: at most six digits before the point and four after.
///
/// Parsing keeps the caller's scale (`"5"` stays `"5"`, `"5.50"` stays `"5.50"`), as Shippo echoes it.
pub fn parse_decimal_10_4(raw: &str) -> Result<Decimal, String> {
    let s = raw.trim();
    let value = Decimal::from_str(s)
        .or_else(|_| Decimal::from_scientific(s))
        .map_err(|_| format!("\"{raw}\" is not a valid number."))?;
    if value.scale() > 4 {
        let trimmed = value.normalize();
        if trimmed.scale() > 4 {
            return Err("Ensure that there are no more than 4 decimal places.".into());
        }
        return check_integer_digits(trimmed);
    }
    check_integer_digits(value)
}

fn check_integer_digits(value: Decimal) -> Result<Decimal, String> {
    if value.abs() >= Decimal::from(1_000_000) {
        return Err("Ensure that there are no more than 6 digits before the decimal point.".into());
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn length_conversions_are_exact() {
        assert_eq!(
            convert_length(d("1"), DistanceUnit::In, DistanceUnit::Cm),
            d("2.54")
        );
        assert_eq!(
            convert_length(d("3"), DistanceUnit::Ft, DistanceUnit::Yd),
            d("1")
        );
        assert_eq!(
            convert_length(d("12"), DistanceUnit::In, DistanceUnit::Ft),
            d("1")
        );
        assert_eq!(
            convert_length(d("1.5"), DistanceUnit::M, DistanceUnit::Mm),
            d("1500")
        );
        assert_eq!(
            convert_length(d("25.4"), DistanceUnit::Mm, DistanceUnit::In),
            d("1")
        );
    }

    #[test]
    fn mass_conversions_are_exact() {
        assert_eq!(convert_mass(d("1"), MassUnit::Lb, MassUnit::Oz), d("16"));
        assert_eq!(
            convert_mass(d("1"), MassUnit::Lb, MassUnit::G),
            d("453.59237")
        );
        assert_eq!(convert_mass(d("2"), MassUnit::Kg, MassUnit::G), d("2000"));
        assert_eq!(convert_mass(d("8"), MassUnit::Oz, MassUnit::Lb), d("0.5"));
        assert_eq!(
            convert_mass(d("453.59237"), MassUnit::G, MassUnit::Lb),
            d("1")
        );
    }

    #[test]
    fn units_parse_strictly_with_helpful_errors() {
        assert_eq!("IN".parse::<DistanceUnit>(), Ok(DistanceUnit::In));
        assert_eq!("kg".parse::<MassUnit>(), Ok(MassUnit::Kg));
        let err = "stone".parse::<MassUnit>().unwrap_err();
        assert!(err.contains("g, oz, lb, kg"), "{err}");
    }

    #[test]
    fn decimal_10_4_limits() {
        assert_eq!(parse_decimal_10_4("5").unwrap().to_string(), "5");
        assert_eq!(parse_decimal_10_4("5.50").unwrap().to_string(), "5.50");
        assert_eq!(
            parse_decimal_10_4("999999.9999").unwrap().to_string(),
            "999999.9999"
        );
        assert!(parse_decimal_10_4("1000000").is_err());
        assert!(parse_decimal_10_4("1.23456").is_err());
        assert_eq!(parse_decimal_10_4("1.50000").unwrap().to_string(), "1.5");
        assert!(parse_decimal_10_4("abc").is_err());
        assert!(parse_decimal_10_4("").is_err());
    }
}
