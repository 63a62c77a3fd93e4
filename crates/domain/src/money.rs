//! Currencies (ISO 4217) and money amounts as decimals.

use rust_decimal::Decimal;

/// Active ISO 4217 alphabetic codes (ISO 4217 list one, 2024 edition; funds and metals excluded).
const ISO_4217: &[&str] = &[
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT",
    "BGN", "BHD", "BIF", "BMD", "BND", "BOB", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD",
    "CDF", "CHF", "CLP", "CNY", "COP", "CRC", "CUP", "CVE", "CZK", "DJF", "DKK", "DOP", "DZD",
    "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS", "GIP", "GMD", "GNF", "GTQ",
    "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IQD", "IRR", "ISK", "JMD", "JOD",
    "JPY", "KES", "KGS", "KHR", "KMF", "KPW", "KRW", "KWD", "KYD", "KZT", "LAK", "LBP", "LKR",
    "LRD", "LSL", "LYD", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR",
    "MWK", "MXN", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR", "NZD", "OMR", "PAB", "PEN",
    "PGK", "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD", "RUB", "RWF", "SAR", "SBD", "SCR",
    "SDG", "SEK", "SGD", "SHP", "SLE", "SOS", "SRD", "SSP", "STN", "SVC", "SYP", "SZL", "THB",
    "TJS", "TMT", "TND", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "UGX", "USD", "UYU", "UZS",
    "VED", "VES", "VND", "VUV", "WST", "XAF", "XCD", "XCG", "XOF", "XPF", "YER", "ZAR", "ZMW",
    "ZWG",
];

static COUNTRY_CURRENCY: std::sync::LazyLock<std::collections::HashMap<String, String>> =
    std::sync::LazyLock::new(|| {
        serde_json::from_str(include_str!("../data/country-currency.json"))
            .expect("the bundled country-currency table is valid")
    });

/// The default currency of a country (ISO 3166-1 alpha-2 → ISO 4217), from the
/// `country-to-currency` 3.0.1 package's table (MIT; `data/country-currency.json`).
pub fn country_currency(country: &str) -> Option<&'static str> {
    COUNTRY_CURRENCY.get(country).map(String::as_str)
}

/// Parses an ISO 4217 currency code (case-insensitive), returning it upper-cased.
pub fn parse_currency(raw: &str) -> Result<String, String> {
    let code = raw.trim().to_ascii_uppercase();
    if ISO_4217.binary_search(&code.as_str()).is_ok() {
        Ok(code)
    } else {
        Err(format!("\"{raw}\" is not an ISO 4217 currency code."))
    }
}

/// Parses a non-negative money amount with at most 2 decimals beyond what the currency needs
/// (Shippo sends amounts as strings such as `"5.35"`).
pub fn parse_amount(raw: &str) -> Result<Decimal, String> {
    let value: Decimal = raw
        .trim()
        .parse()
        .map_err(|_| format!("\"{raw}\" is not a valid amount."))?;
    if value.is_sign_negative() {
        return Err("Amount must not be negative.".into());
    }
    if value.scale() > 4 || value >= Decimal::from(10_000_000_000i64) {
        return Err(
            "Amount must have at most 10 digits before and 4 after the decimal point.".into(),
        );
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn currency_list_is_sorted_for_binary_search() {
        assert!(ISO_4217.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn currencies_parse() {
        assert_eq!(parse_currency("usd"), Ok("USD".into()));
        assert_eq!(parse_currency("EUR"), Ok("EUR".into()));
        assert!(parse_currency("XYZ").is_err());
        assert!(parse_currency("US").is_err());
    }

    #[test]
    fn amounts_parse() {
        assert_eq!(parse_amount("5.35").unwrap().to_string(), "5.35");
        assert!(parse_amount("-1").is_err());
        assert!(parse_amount("1.23456").is_err());
        assert!(parse_amount("ten").is_err());
    }
}

/// Digits after the decimal point in a currency's minor unit (ISO 4217): 0 for CLP, JPY, KRW …,
/// 3 for BHD, KWD …, 2 for the rest.
pub fn minor_units(currency: &str) -> u32 {
    const ZERO: &[&str] = &[
        "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "VND", "VUV",
        "XAF", "XOF", "XPF",
    ];
    const THREE: &[&str] = &["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"];
    if ZERO.contains(&currency) {
        0
    } else if THREE.contains(&currency) {
        3
    } else {
        2
    }
}

/// Rounds an amount to the currency's minor unit, half away from zero (as invoices do).
pub fn round_to_currency(amount: Decimal, currency: &str) -> Decimal {
    amount.round_dp_with_strategy(
        minor_units(currency),
        rust_decimal::RoundingStrategy::MidpointAwayFromZero,
    )
}

#[cfg(test)]
mod country_tests {
    use super::*;

    #[test]
    fn countries_have_their_currencies() {
        assert_eq!(country_currency("US"), Some("USD"));
        assert_eq!(country_currency("PT"), Some("EUR"));
        assert_eq!(country_currency("CL"), Some("CLP"));
        assert_eq!(country_currency("JP"), Some("JPY"));
        assert_eq!(country_currency("ZZ"), None);
    }
}

#[cfg(test)]
mod rounding_tests {
    use super::*;

    #[test]
    fn rounds_to_the_minor_unit() {
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        assert_eq!(round_to_currency(d("4.125"), "EUR"), d("4.13"));
        assert_eq!(round_to_currency(d("4590.5"), "CLP"), d("4591"));
        assert_eq!(round_to_currency(d("1.2345"), "KWD"), d("1.235"));
    }
}
