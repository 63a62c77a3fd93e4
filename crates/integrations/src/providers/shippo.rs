//! Shippo: one order per backer (`POST /orders` in Shippo's shape, `order_number` = the pledge
//! id, the Consign order id in `notes`), and its `transaction_created` / `track_updated`
//! webhooks, signed `X-Shippo-Signature` = hex HMAC-SHA256 of the raw body.

use carriers::http::{join, Call, Client};
use domain::crowdfunding::Progress;
use reqwest::Method;
use serde_json::{json, Value};

use super::{
    digest, header, location, EventSource, InboundError, InboundEvent, OrderProvider, Outbound,
    ProviderError, ProviderFuture,
};

const API: &str = "https://api.goshippo.com";

pub(super) struct Shippo {
    base: String,
    authorization: String,
    http: Client,
}

impl Shippo {
    pub(super) fn new(key: &str, base: Option<&str>, http: Client) -> Self {
        Self {
            base: base.unwrap_or(API).to_string(),
            authorization: format!("ShippoToken {key}"),
            http,
        }
    }
}

/// The body of `POST /orders` for one backer.
pub(crate) fn order_body(r: &Outbound<'_>) -> Value {
    let weight = r.weight.0.normalize().to_string();
    json!({
        "order_number": r.pledge_id,
        "order_status": "PAID",
        "placed_at": r.placed_at.to_string(),
        "to_address": carriers::shippo_upstream::address(&location(r.to)),
        "from_address": carriers::shippo_upstream::address(&location(r.from)),
        "line_items": [{
            "title": if r.tier_name.is_empty() { "Reward" } else { r.tier_name },
            "quantity": 1,
            "weight": weight,
            "weight_unit": r.weight.1.as_str(),
        }],
        "weight": weight,
        "weight_unit": r.weight.1.as_str(),
        "notes": format!("consign:{}", r.reference),
    })
}

impl OrderProvider for Shippo {
    fn push<'a>(&'a self, r: &'a Outbound<'a>, key: &'a str) -> ProviderFuture<'a, String> {
        Box::pin(async move {
            let body = order_body(r);
            let mut call = Call::new(Method::POST, join(&self.base, "/orders"));
            call.authorization = Some(&self.authorization);
            call.json = Some(&body);
            call.idempotency_key = Some(key);
            let answer = self.http.send(&call).await?;
            if !answer.ok() {
                return Err(ProviderError::Rejected(
                    carriers::shippo_upstream::error_text(&answer),
                ));
            }
            answer.json()["object_id"]
                .as_str()
                .map(str::to_string)
                .ok_or_else(|| {
                    ProviderError::Rejected("Shippo answered without an object_id.".into())
                })
        })
    }
}

pub(super) struct Events;
pub(super) static EVENTS: Events = Events;

/// An id given as a string or as an object with `object_id`.
fn id_in(v: &Value) -> Option<String> {
    v.as_str()
        .or_else(|| v["object_id"].as_str())
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

impl EventSource for Events {
    fn read(
        &self,
        secret: &str,
        headers: &[(String, String)],
        body: &[u8],
    ) -> Result<Vec<InboundEvent>, InboundError> {
        let signature =
            header(headers, "x-shippo-signature").ok_or(InboundError::Unauthenticated)?;
        let inbound = carriers::Inbound {
            headers: &[("x-shippo-signature".to_string(), signature.to_string())],
            body,
            now_s: 0,
        };
        if !carriers::shippo_upstream::signed(secret, &inbound) {
            return Err(InboundError::Unauthenticated);
        }
        let event: Value = serde_json::from_slice(body).map_err(|_| {
            InboundError::Malformed("The body is not a JSON Shippo webhook.".into())
        })?;
        let kind = event["event"].as_str().unwrap_or_default().to_string();
        let d = &event["data"];
        // Shippo's webhooks carry no event id: the body's digest tells a replay.
        let key = digest(body);
        let mut references: Vec<String> = [id_in(&d["order"]), id_in(&d["object_id"])]
            .into_iter()
            .flatten()
            .collect();
        // Labels bought from an order keep its number (the pledge id) or Consign's note in
        // their metadata.
        if let Some(m) = d["metadata"].as_str() {
            references.extend(
                m.split(|c: char| c.is_whitespace() || c == '#' || c == ',')
                    .filter(|t| !t.is_empty())
                    .map(|t| t.trim_start_matches("consign:").to_string()),
            );
        }
        let number = d["tracking_number"]
            .as_str()
            .filter(|s| !s.is_empty())
            .map(str::to_string);
        let (carrier, progress) = match kind.as_str() {
            "track_updated" => (
                d["carrier"].as_str().map(str::to_string),
                match d["tracking_status"]["status"].as_str() {
                    Some("DELIVERED") => Some(Progress::Delivered),
                    Some("FAILURE") => None,
                    _ => number.as_ref().map(|_| Progress::Shipped),
                },
            ),
            "transaction_created" | "transaction_updated" => (
                d["rate"]["provider"].as_str().map(str::to_string),
                match d["status"].as_str() {
                    Some("SUCCESS") => number.as_ref().map(|_| Progress::Shipped),
                    _ => None,
                },
            ),
            _ => (None, None),
        };
        Ok(vec![InboundEvent {
            key,
            kind,
            references,
            tracking_number: number,
            carrier,
            progress,
        }])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sign(secret: &str, body: &[u8]) -> Vec<(String, String)> {
        use hmac_check::sign;
        vec![("X-Shippo-Signature".into(), sign(secret, body))]
    }

    mod hmac_check {
        pub fn sign(secret: &str, body: &[u8]) -> String {
            // HMAC-SHA256 by its definition (RFC 2104), so the test does not reuse the code
            // it checks.
            use sha2::{Digest, Sha256};
            let mut key = secret.as_bytes().to_vec();
            key.resize(64, 0);
            let inner: Vec<u8> = key
                .iter()
                .map(|b| b ^ 0x36)
                .chain(body.iter().copied())
                .collect();
            let inner = Sha256::digest(&inner);
            let outer: Vec<u8> = key
                .iter()
                .map(|b| b ^ 0x5c)
                .chain(inner.iter().copied())
                .collect();
            hex::encode(Sha256::digest(&outer))
        }
    }

    #[test]
    fn signed_events_read_and_forged_ones_are_refused() {
        let body = br#"{"event": "track_updated", "test": true, "data": {"carrier": "usps", "tracking_number": "9205590164917312751089", "metadata": "Order #P-17", "tracking_status": {"status": "DELIVERED"}}}"#;
        let events = EVENTS.read("whsec", &sign("whsec", body), body).unwrap();
        let e = &events[0];
        assert_eq!(e.kind, "track_updated");
        assert_eq!(e.progress, Some(Progress::Delivered));
        assert_eq!(e.carrier.as_deref(), Some("usps"));
        assert!(e.references.contains(&"P-17".to_string()));
        assert_eq!(
            EVENTS.read("other", &sign("whsec", body), body),
            Err(InboundError::Unauthenticated)
        );
        assert_eq!(
            EVENTS.read("whsec", &[], body),
            Err(InboundError::Unauthenticated)
        );
        let tx = br#"{"event": "transaction_created", "data": {"object_id": "tx1", "status": "SUCCESS", "tracking_number": "1Z1", "order": {"object_id": "ord1"}, "rate": {"provider": "UPS"}}}"#;
        let e = &EVENTS.read("k", &sign("k", tx), tx).unwrap()[0];
        assert_eq!(e.references[0], "ord1");
        assert_eq!(
            (e.carrier.as_deref(), e.progress),
            (Some("UPS"), Some(Progress::Shipped))
        );
    }

    #[test]
    fn orders_are_sent_in_shippos_shape() {
        let to = domain::address::AddressFields {
            name: "Alex Smith".into(),
            street1: "123 Main St".into(),
            city: "Portland".into(),
            state: "OR".into(),
            zip: "97201".into(),
            country: "US".into(),
            ..Default::default()
        };
        let r = Outbound {
            reference: "abc",
            pledge_id: "xyz789",
            tier_name: "Standard Edition",
            placed_at: domain::Timestamp::from_millis(0),
            to: &to,
            from: &to,
            weight: (
                rust_decimal::Decimal::new(15, 1),
                domain::units::MassUnit::Lb,
            ),
        };
        let b = order_body(&r);
        assert_eq!(b["order_number"], "xyz789");
        assert_eq!(b["to_address"]["zip"], "97201");
        assert_eq!(
            (b["weight"].as_str(), b["weight_unit"].as_str()),
            (Some("1.5"), Some("lb"))
        );
        assert_eq!(b["placed_at"], "1970-01-01T00:00:00.000Z");
    }
}
