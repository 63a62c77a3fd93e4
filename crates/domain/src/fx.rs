//! Currency conversion with an exchange-rate table in the European Central Bank's published
//! `eurofxref.csv` format (a header `Date, USD, JPY, …` and one row of units per euro).
//!
//! The default table is the ECB euro reference rates of **26 September 2024**
//! (`data/ecb-eurofxref-2024-09-26.csv`); operators point `exchange_rates` at a newer file (the
//! ECB publishes one every working day) or add currencies the ECB does not quote (e.g. CLP) as
//! extra columns.

use std::collections::HashMap;
use std::sync::LazyLock;

use rust_decimal::Decimal;

use crate::money::round_to_currency;

/// Units of each currency per euro, as of one date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExchangeRates {
    /// The table's date, as written in the file.
    pub date: String,
    per_euro: HashMap<String, Decimal>,
}

static DEFAULT: LazyLock<ExchangeRates> = LazyLock::new(|| {
    ExchangeRates::from_ecb_csv(include_str!("../data/ecb-eurofxref-2024-09-26.csv"))
        .expect("the bundled ECB table parses")
});

impl ExchangeRates {
    /// The bundled ECB table of 26 September 2024.
    pub fn bundled() -> &'static ExchangeRates {
        &DEFAULT
    }

    /// Parses the ECB `eurofxref.csv` format; errors say which column is wrong.
    pub fn from_ecb_csv(text: &str) -> Result<Self, String> {
        let mut lines = text.lines().filter(|l| !l.trim().is_empty());
        let header: Vec<&str> = lines
            .next()
            .ok_or("the table is empty")?
            .split(',')
            .map(str::trim)
            .collect();
        let row: Vec<&str> = lines
            .next()
            .ok_or("the table has no row of rates")?
            .split(',')
            .map(str::trim)
            .collect();
        if !header
            .first()
            .is_some_and(|h| h.eq_ignore_ascii_case("date"))
        {
            return Err("the first column must be Date".into());
        }
        let mut per_euro = HashMap::from([("EUR".to_string(), Decimal::ONE)]);
        for (i, code) in header.iter().enumerate().skip(1) {
            if code.is_empty() {
                continue;
            }
            let raw = row.get(i).copied().unwrap_or("");
            let rate: Decimal = raw
                .parse()
                .map_err(|_| format!("{code}: \"{raw}\" is not a rate"))?;
            if rate <= Decimal::ZERO {
                return Err(format!("{code}: the rate must be positive"));
            }
            per_euro.insert(code.to_ascii_uppercase(), rate);
        }
        Ok(Self {
            date: row[0].to_string(),
            per_euro,
        })
    }

    /// Whether the table quotes `currency`.
    pub fn knows(&self, currency: &str) -> bool {
        self.per_euro.contains_key(currency)
    }

    /// `amount` in `from` expressed in `to`, rounded to `to`'s minor unit; `None` when the table
    /// does not quote one of them.
    pub fn convert(&self, amount: Decimal, from: &str, to: &str) -> Option<Decimal> {
        if from == to {
            return Some(amount);
        }
        let (f, t) = (self.per_euro.get(from)?, self.per_euro.get(to)?);
        Some(round_to_currency(amount / f * t, to))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn the_bundled_table_is_the_ecbs_of_its_date() {
        let fx = ExchangeRates::bundled();
        assert_eq!(fx.date, "26 September 2024");
        assert!(fx.knows("USD") && fx.knows("EUR") && fx.knows("JPY"));
        assert!(!fx.knows("CLP"));
    }

    #[test]
    fn converts_through_the_euro_and_rounds_to_the_target() {
        let fx = ExchangeRates::bundled();
        // 100 EUR = 111.55 USD; 10 USD = 10 / 1.1155 EUR = 8.96459… → 8.96 EUR.
        assert_eq!(fx.convert(d("100"), "EUR", "USD"), Some(d("111.55")));
        assert_eq!(fx.convert(d("10"), "USD", "EUR"), Some(d("8.96")));
        // 10 USD in JPY: 10 / 1.1155 × 160.78 = 1441.326… → 1441 (no minor unit).
        assert_eq!(fx.convert(d("10"), "USD", "JPY"), Some(d("1441")));
        assert_eq!(fx.convert(d("5"), "USD", "USD"), Some(d("5")));
        assert_eq!(fx.convert(d("5"), "USD", "CLP"), None);
    }

    #[test]
    fn operator_tables_can_add_currencies_and_are_checked() {
        let fx = ExchangeRates::from_ecb_csv("Date, USD, CLP,\n21 November 2026, 1.05, 985.4,\n")
            .unwrap();
        assert_eq!(fx.convert(d("10"), "USD", "CLP"), Some(d("9385")));
        assert!(ExchangeRates::from_ecb_csv("Date, USD\n1 May 2026, abc\n")
            .unwrap_err()
            .contains("USD"));
        assert!(ExchangeRates::from_ecb_csv("Currency, USD\nx, 1\n").is_err());
        assert!(ExchangeRates::from_ecb_csv("").is_err());
    }
}
