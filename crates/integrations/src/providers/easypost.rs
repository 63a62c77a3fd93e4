//! EasyPost: one shipment per backer (`POST /v2/shipments`, the body Consign's EasyPost carrier
//! adapter builds, `reference` = the Consign order id), and its `tracker.*` events, signed
//! `X-Hmac-Signature` (or `X-Hmac-Signature-256`) `hmac-sha256-hex=<hex>` over the raw body
//! with the NFKD-normalised secret.

use base64::Engine as _;
use carriers::http::{join, Call, Client};
use carriers::{ParcelSpec, ShipmentSpec};
use domain::crowdfunding::Progress;
use domain::units::DistanceUnit;
use reqwest::Method;
use rust_decimal::Decimal;
use serde_json::Value;

use super::{
    digest, header, location, EventSource, InboundError, InboundEvent, OrderProvider, Outbound,
    ProviderError, ProviderFuture,
};

const API: &str = "https://api.easypost.com";

pub(super) struct EasyPost {
    base: String,
    authorization: String,
    http: Client,
}

impl EasyPost {
    pub(super) fn new(key: &str, base: Option<&str>, http: Client) -> Self {
        Self {
            base: base.unwrap_or(API).to_string(),
            authorization: format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{key}:"))
            ),
            http,
        }
    }
}

/// EasyPost's error as one sentence (`error.message` and its field errors, objects or strings).
fn error_text(v: &Value, status: u16) -> String {
    let e = &v["error"];
    let mut parts = vec![e["message"]
        .as_str()
        .map_or_else(|| format!("EasyPost answered {status}."), str::to_string)];
    for item in e["errors"].as_array().into_iter().flatten() {
        match item {
            Value::String(s) => parts.push(s.clone()),
            o => {
                let field = o["field"].as_str().unwrap_or_default();
                let message = o["message"].as_str().unwrap_or_default();
                parts.push(format!("{field}: {message}"));
            }
        }
    }
    parts.join(" ")
}

impl OrderProvider for EasyPost {
    fn push<'a>(&'a self, r: &'a Outbound<'a>, key: &'a str) -> ProviderFuture<'a, String> {
        Box::pin(async move {
            let spec = ShipmentSpec {
                from: location(r.from),
                to: location(r.to),
                parcels: vec![ParcelSpec {
                    length: Decimal::ZERO,
                    width: Decimal::ZERO,
                    height: Decimal::ZERO,
                    distance_unit: DistanceUnit::In,
                    weight: r.weight.0,
                    mass_unit: r.weight.1,
                }],
                reference: r.reference.to_string(),
                ..ShipmentSpec::default()
            };
            let (path, body) = carriers::easypost::create_body(&spec);
            let mut call = Call::new(Method::POST, join(&self.base, path));
            call.authorization = Some(&self.authorization);
            call.json = Some(&body);
            call.idempotency_key = Some(key);
            let answer = self.http.send(&call).await?;
            let v = answer.json();
            if !answer.ok() {
                return Err(ProviderError::Rejected(error_text(
                    &v,
                    answer.status.as_u16(),
                )));
            }
            v["id"]
                .as_str()
                .map(str::to_string)
                .ok_or_else(|| ProviderError::Rejected("EasyPost answered without an id.".into()))
        })
    }
}

pub(super) struct Events;
pub(super) static EVENTS: Events = Events;

impl EventSource for Events {
    fn read(
        &self,
        secret: &str,
        headers: &[(String, String)],
        body: &[u8],
    ) -> Result<Vec<InboundEvent>, InboundError> {
        let signature = header(headers, "x-hmac-signature")
            .or_else(|| header(headers, "x-hmac-signature-256"))
            .ok_or(InboundError::Unauthenticated)?;
        if !carriers::easypost::signature_matches(secret, signature, body) {
            return Err(InboundError::Unauthenticated);
        }
        let event: Value = serde_json::from_slice(body).map_err(|_| {
            InboundError::Malformed("The body is not a JSON EasyPost event.".into())
        })?;
        let kind = event["description"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let key = event["id"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| digest(body));
        if !kind.starts_with("tracker.") {
            // Other events (batches, refunds, …) are kept and change nothing.
            return Ok(vec![InboundEvent {
                key,
                kind,
                references: Vec::new(),
                tracking_number: None,
                carrier: None,
                progress: None,
            }]);
        }
        let t = &event["result"];
        let number = t["tracking_code"].as_str().filter(|s| !s.is_empty());
        let progress = match t["status"].as_str() {
            Some("delivered") => Some(Progress::Delivered),
            Some("cancelled" | "error") => None,
            _ => number.map(|_| Progress::Shipped),
        };
        Ok(vec![InboundEvent {
            // One event id per delivery of a change; the status keeps replays apart from news.
            key,
            kind,
            references: t["shipment_id"]
                .as_str()
                .map(str::to_string)
                .into_iter()
                .collect(),
            tracking_number: number.map(str::to_string),
            carrier: t["carrier"].as_str().map(str::to_string),
            progress,
        }])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture() -> Vec<u8> {
        std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../testdata/fixtures/easypost/event-body.json"
        ))
        .unwrap()
    }

    #[test]
    fn the_published_event_verifies_under_either_header_and_reads() {
        let body = fixture();
        let sig =
            "hmac-sha256-hex=38f3f53c103713df81616a0a186d77141957323ec21d5fe9363db93840f527db";
        for name in ["X-Hmac-Signature", "X-Hmac-Signature-256"] {
            let h = vec![(name.to_string(), sig.to_string())];
            let events = EVENTS.read("s\u{e9}cret", &h, &body).unwrap();
            let v: Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(events[0].kind, "tracker.updated");
            assert_eq!(events[0].key, v["id"].as_str().unwrap());
            assert_eq!(
                events[0].tracking_number.as_deref(),
                v["result"]["tracking_code"].as_str()
            );
            let shipment: Vec<String> = v["result"]["shipment_id"]
                .as_str()
                .map(str::to_string)
                .into_iter()
                .collect();
            assert_eq!(events[0].references, shipment);
            assert_eq!(
                events[0].progress.is_some(),
                events[0].tracking_number.is_some()
            );
        }
        // The composed form of the secret (e + combining accent) is the same key after NFKD.
        let h = vec![("x-hmac-signature".to_string(), sig.to_string())];
        assert!(EVENTS.read("se\u{301}cret", &h, &body).is_ok());
        assert_eq!(
            EVENTS.read("secret", &h, &body),
            Err(InboundError::Unauthenticated)
        );
        assert_eq!(
            EVENTS.read("s\u{e9}cret", &[], &body),
            Err(InboundError::Unauthenticated)
        );
        let mut forged = body.clone();
        forged[10] ^= 1;
        assert_eq!(
            EVENTS.read("s\u{e9}cret", &h, &forged),
            Err(InboundError::Unauthenticated)
        );
    }

    #[test]
    fn errors_read_in_both_shapes() {
        let v: Value = serde_json::from_str(r#"{"error": {"code": "PARAMETER.REQUIRED", "message": "Missing required parameter.", "errors": [{"field": "shipment", "message": "cannot be blank"}, "plain"]}}"#).unwrap();
        assert_eq!(
            error_text(&v, 422),
            "Missing required parameter. shipment: cannot be blank plain"
        );
    }
}
