//! What the upstream providers' adapters (EasyPost, Shippo) share: reading their parameters,
//! Shippo service-level tokens for the carriers' own service names, HMAC checks over raw bodies,
//! and file downloads.

use hmac::{Hmac, Mac};
use rust_decimal::Decimal;
use serde_json::{Map, Value};
use sha2::Sha256;

use reqwest::Method;

use crate::http::{join, Answer, Call, Client};
use crate::{CarrierError, Document};

/// One account's connection to a provider's JSON API: its base URL, credentials and fixed
/// headers, and how the provider words its errors.
#[derive(Debug, Clone)]
pub(crate) struct Api {
    pub base: String,
    /// The `Authorization` value (never logged).
    pub authorization: String,
    pub headers: &'static [(&'static str, &'static str)],
    pub error_text: fn(&Answer) -> String,
    pub http: Client,
}

impl Api {
    /// A 2xx answer's JSON, or the provider's error as a refusal (429 and 5xx are retried by
    /// the client first, then unavailable).
    pub async fn ok(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        idempotency_key: Option<&str>,
    ) -> Result<Value, CarrierError> {
        let mut call = Call::new(method, join(&self.base, path));
        call.authorization = Some(&self.authorization);
        call.json = body;
        call.idempotency_key = idempotency_key;
        call.headers = self.headers;
        let answer = self.http.send(&call).await?;
        if answer.ok() {
            return Ok(answer.json());
        }
        // The provider's words reach users (shipment messages, errors): a short, plain excerpt.
        Err(CarrierError::Rejected(crate::http::excerpt(
            &(self.error_text)(&answer),
            crate::http::ANSWER_EXCERPT,
        )))
    }

    /// Downloads one of the provider's files.
    pub async fn fetch(&self, url: &str, what: &str) -> Result<Document, CarrierError> {
        fetch(&self.http, url, what).await
    }
}

/// A string parameter, trimmed (`None` when absent or empty).
pub(crate) fn param<'a>(parameters: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    parameters
        .get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// Checks the parameters every upstream account has: a required `api_key` string, an optional
/// `api_base` URL and an optional `webhook_secret` string.
/// A test account must hold the provider's test key and a live one its live key, told apart by
/// the providers' published prefixes (`(test, live)`, e.g. EasyPost's `EZTK`/`EZAK`); keys with
/// neither prefix are taken as they are.
pub(crate) fn check_parameters(
    parameters: &Map<String, Value>,
    test: bool,
    guard: crate::http::Guard,
    prefixes: (&str, &str),
) -> Vec<(String, String)> {
    let mut errors = Vec::new();
    match parameters.get("api_key") {
        Some(Value::String(s)) if !s.trim().is_empty() && s.len() <= 200 => {
            let key = s.trim();
            if test && key.starts_with(prefixes.1) {
                errors.push((
                    "parameters.api_key".into(),
                    format!(
                        "This is a test carrier account: use your test key ({}…), not a live one.",
                        prefixes.0
                    ),
                ));
            } else if !test && key.starts_with(prefixes.0) {
                errors.push((
                    "parameters.api_key".into(),
                    format!("This is a live carrier account: use your live key ({}…), or create the account with test: true.", prefixes.1),
                ));
            }
        }
        Some(Value::String(s)) if s.len() > 200 => errors.push((
            "parameters.api_key".into(),
            "Must be at most 200 characters.".into(),
        )),
        _ => errors.push((
            "parameters.api_key".into(),
            "This field is required: the API key of your own account with the provider.".into(),
        )),
    }
    match parameters.get("api_base") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) => {
            if let Err(m) = crate::http::check_base(s.trim(), guard) {
                errors.push(("parameters.api_base".into(), m));
            }
        }
        Some(_) => errors.push(("parameters.api_base".into(), "Must be a URL string.".into())),
    }
    match parameters.get("webhook_secret") {
        None | Some(Value::Null) | Some(Value::String(_)) => {}
        Some(_) => errors.push((
            "parameters.webhook_secret".into(),
            "Must be a string.".into(),
        )),
    }
    errors
}

/// The Shippo token of a provider's carrier and service (`USPS` + `Priority` → `usps_priority`):
/// from the table of known names, else the carrier's token and the service in snake case.
pub(crate) fn service_token(carrier: &str, service: &str) -> String {
    let carrier_token = carrier_token(carrier);
    let snake = snake_case(service);
    for (c, s, token) in SERVICE_NAMES {
        if c.eq_ignore_ascii_case(&carrier_token) && s.eq_ignore_ascii_case(service) {
            return (*token).to_string();
        }
    }
    if snake.starts_with(&format!("{carrier_token}_")) {
        snake
    } else {
        format!("{carrier_token}_{snake}")
    }
}

/// A carrier's Shippo token from its name (`UPS` → `ups`, `DHLExpress` → `dhl_express`).
pub(crate) fn carrier_token(carrier: &str) -> String {
    match carrier.trim().to_ascii_lowercase().as_str() {
        "dhlexpress" | "dhl express" | "dhl_express" => "dhl_express".into(),
        "canadapost" | "canada post" => "canada_post".into(),
        "fedex" | "fedexdefault" => "fedex".into(),
        other => snake_case(other),
    }
}

/// `GroundAdvantage` → `ground_advantage`, `FEDEX_2_DAY` → `fedex_2_day`, `2ndDayAir` →
/// `2nd_day_air`.
pub(crate) fn snake_case(s: &str) -> String {
    let mut out = String::new();
    let mut prev: Option<char> = None;
    for c in s.trim().chars() {
        if c.is_ascii_alphanumeric() {
            let boundary = c.is_ascii_uppercase()
                && prev.is_some_and(|p| p.is_ascii_lowercase() || p.is_ascii_digit());
            if boundary && !out.ends_with('_') {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('_') {
            out.push('_');
        }
        prev = Some(c);
    }
    out.trim_end_matches('_').to_string()
}

/// Provider service names whose Shippo token is not their snake case.
const SERVICE_NAMES: &[(&str, &str, &str)] = &[
    ("usps", "GroundAdvantage", "usps_ground_advantage"),
    ("usps", "Priority", "usps_priority"),
    ("usps", "Express", "usps_priority_express"),
    ("usps", "MediaMail", "usps_media_mail"),
    (
        "usps",
        "PriorityMailInternational",
        "usps_priority_mail_international",
    ),
    (
        "usps",
        "ExpressMailInternational",
        "usps_priority_mail_express_international",
    ),
    (
        "usps",
        "FirstClassPackageInternationalService",
        "usps_first_class_package_international_service",
    ),
    ("ups", "Ground", "ups_ground"),
    ("ups", "NextDayAir", "ups_next_day_air"),
    ("ups", "NextDayAirSaver", "ups_next_day_air_saver"),
    ("ups", "NextDayAirEarlyAM", "ups_next_day_air_early_am"),
    ("ups", "2ndDayAir", "ups_second_day_air"),
    ("ups", "2ndDayAirAM", "ups_second_day_air_am"),
    ("ups", "3DaySelect", "ups_3_day_select"),
    ("ups", "UPSStandard", "ups_standard"),
    ("ups", "UPSSaver", "ups_saver"),
    ("ups", "Expedited", "ups_expedited"),
    ("fedex", "FEDEX_GROUND", "fedex_ground"),
    ("fedex", "GROUND_HOME_DELIVERY", "fedex_home_delivery"),
    ("fedex", "FEDEX_2_DAY", "fedex_2_day"),
    ("fedex", "FEDEX_2_DAY_AM", "fedex_2_day_am"),
    ("fedex", "FEDEX_EXPRESS_SAVER", "fedex_express_saver"),
    ("fedex", "STANDARD_OVERNIGHT", "fedex_standard_overnight"),
    ("fedex", "PRIORITY_OVERNIGHT", "fedex_priority_overnight"),
    ("fedex", "FIRST_OVERNIGHT", "fedex_first_overnight"),
    (
        "fedex",
        "INTERNATIONAL_ECONOMY",
        "fedex_international_economy",
    ),
    (
        "fedex",
        "INTERNATIONAL_PRIORITY",
        "fedex_international_priority",
    ),
    ("dhl_express", "ExpressWorldwide", "dhl_express_worldwide"),
    (
        "dhl_express",
        "ExpressWorldwideNonDoc",
        "dhl_express_worldwide_nondoc",
    ),
];

/// `CamelCase` and `SNAKE_CASE` service names as words (`GroundAdvantage` → `Ground Advantage`).
pub(crate) fn service_name(service: &str) -> String {
    snake_case(service)
        .split('_')
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A decimal from a JSON string or number (providers send prices as strings).
pub(crate) fn decimal(v: &Value) -> Option<Decimal> {
    match v {
        Value::String(s) => s.trim().parse().ok(),
        Value::Number(n) => n.to_string().parse().ok(),
        _ => None,
    }
}

/// Whether `hex_sig` is HMAC-SHA256(`key`, `body`), compared in constant time.
pub(crate) fn hmac_hex_matches(key: &[u8], body: &[u8], hex_sig: &str) -> bool {
    let Ok(sig) = hex::decode(hex_sig.trim()) else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(body);
    mac.verify_slice(&sig).is_ok()
}

/// The document kind of a label file, from its name, media type or first bytes.
pub(crate) fn document(bytes: Vec<u8>, hint: &str) -> Document {
    let hint = hint.to_ascii_lowercase();
    let by_bytes = if bytes.starts_with(b"%PDF") {
        Some("pdf")
    } else if bytes.starts_with(b"\x89PNG") {
        Some("png")
    } else if bytes.starts_with(b"^XA") || bytes.starts_with(b"\n^XA") {
        Some("zpl")
    } else {
        None
    };
    let kind = by_bytes.or_else(|| ["pdf", "png", "zpl"].into_iter().find(|k| hint.contains(k)));
    let (content_type, extension) = match kind {
        Some("pdf") => ("application/pdf", "pdf"),
        Some("png") => ("image/png", "png"),
        Some("zpl") => ("application/zpl", "zpl"),
        _ => ("application/octet-stream", "bin"),
    };
    Document {
        bytes,
        content_type,
        extension,
    }
}

/// Downloads a provider's file, refusing non-http(s) links.
pub(crate) async fn fetch(
    http: &crate::http::Client,
    url: &str,
    what: &str,
) -> Result<Document, CarrierError> {
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err(CarrierError::Rejected(format!(
            "The provider's {what} link is not an http(s) URL."
        )));
    }
    let bytes = http.download(url).await?;
    Ok(document(bytes, url.split('?').next().unwrap_or(url)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_services_get_shippo_tokens() {
        assert_eq!(
            service_token("USPS", "GroundAdvantage"),
            "usps_ground_advantage"
        );
        assert_eq!(service_token("USPS", "Express"), "usps_priority_express");
        assert_eq!(service_token("UPS", "2ndDayAir"), "ups_second_day_air");
        assert_eq!(service_token("FedEx", "FEDEX_GROUND"), "fedex_ground");
        assert_eq!(
            service_token("DHLExpress", "ExpressWorldwide"),
            "dhl_express_worldwide"
        );
        assert_eq!(service_token("Veho", "GroundPlus"), "veho_ground_plus");
        assert_eq!(service_name("GroundAdvantage"), "Ground Advantage");
        assert_eq!(service_name("FEDEX_2_DAY"), "Fedex 2 Day");
        assert_eq!(snake_case("NextDayAirEarlyAM"), "next_day_air_early_am");
    }

    #[test]
    fn upstream_parameters_are_checked() {
        let p = |v: Value| v.as_object().unwrap().clone();
        let ep = ("EZTK", "EZAK");
        let g = crate::http::Guard::PUBLIC;
        let internal = check_parameters(
            &p(serde_json::json!({"api_key": "EZTK1", "api_base": "http://2130706433/v2"})),
            true,
            g,
            ep,
        );
        assert_eq!(internal.len(), 1);
        assert_eq!(internal[0].0, "parameters.api_base");
        assert!(internal[0].1.contains("internal address"), "{internal:?}");
        assert!(
            check_parameters(&p(serde_json::json!({"api_key": "EZTK1"})), true, g, ep).is_empty()
        );
        assert!(
            check_parameters(&p(serde_json::json!({"api_key": "EZAK1"})), false, g, ep).is_empty()
        );
        assert_eq!(
            check_parameters(&p(serde_json::json!({"api_key": "EZAK1"})), true, g, ep).len(),
            1
        );
        assert_eq!(
            check_parameters(&p(serde_json::json!({"api_key": "EZTK1"})), false, g, ep).len(),
            1
        );
        let e = check_parameters(
            &p(serde_json::json!({"api_base": "ftp://x", "webhook_secret": 3})),
            true,
            g,
            ep,
        );
        let fields: Vec<&str> = e.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(
            fields,
            [
                "parameters.api_key",
                "parameters.api_base",
                "parameters.webhook_secret"
            ]
        );
    }
}
