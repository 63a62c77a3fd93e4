//! Shippo as an upstream provider (`carrier: "shippo_upstream"`): the user's own Shippo account
//! (or another Consign, which speaks the same API) buys the postage.
//!
//! Parameters: `api_key` (the user's `shippo_test_…`/`shippo_live_…` token, sent as
//! `Authorization: ShippoToken …`), `api_base` (default `https://api.goshippo.com`),
//! `webhook_secret` (the secret of the `track_updated` webhook pointing at the carrier account's
//! inbound URL).
//!
//! - Rates: `POST /shipments` with `async: false`, addresses, parcels and the customs declaration
//!   inline.
//! - Purchase: `POST /transactions` with `async: false` and the rate's id; the label (and the
//!   commercial invoice) are downloaded once. Every attempt carries the purchase's
//!   `Idempotency-Key` (another Consign answers a second purchase of one rate with the first;
//!   Shippo does not publish what it does).
//! - Refund: the transaction is read first (`REFUNDPENDING`/`REFUNDED`/`REFUNDREJECTED` answer at
//!   once), else `POST /refunds`.
//! - Tracking: `GET /tracks/{carrier}/{number}`, and `track_updated` webhooks signed
//!   `X-Shippo-Signature: <hex HMAC-SHA256 of the raw body>` (seed 000) or, from a Consign
//!   upstream, `Consign-Signature: t=…,v1=…`.

use domain::tracking::{Place, Substatus, TrackEvent, TrackStatus};
use domain::{ObjectId, Timestamp};
use reqwest::Method;
use serde_json::{json, Map, Value};

use crate::http::{Answer, Client};
use crate::upstream::{self, decimal, param, Api};
use crate::{
    Capability, Carrier, CarrierError, CarrierFuture, CarrierMeta, Inbound, Location, Message,
    PurchaseRequest, Purchased, PushError, PushedTrack, Quote, RateFuture, RateResult,
    RefundRequest, RefundState, ServiceLevel, ShipmentSpec, TrackAnswer, TrackRequest,
};

/// The headers a pushed `track_updated` is signed in: Shippo's, or another Consign's.
pub const SIGNATURE_HEADERS: &[&str] = &["x-shippo-signature", "consign-signature"];

/// Shippo's production API.
pub const DEFAULT_BASE: &str = "https://api.goshippo.com";

/// How far a `Consign-Signature` timestamp may be from now.
const SIGNATURE_TOLERANCE_S: i64 = 300;

static META: CarrierMeta = CarrierMeta {
    id: "shippo_upstream",
    name: "Shippo (your account)",
    capabilities: &[
        Capability::Rates,
        Capability::Labels,
        Capability::Refunds,
        Capability::Tracking,
        Capability::TrackingPush,
        Capability::PaidPostage,
    ],
};

/// What the Shippo upstream adapter is and can do.
pub fn meta() -> &'static CarrierMeta {
    &META
}

/// One Shippo account.
#[derive(Debug, Clone)]
pub struct ShippoUpstream {
    api: Api,
    webhook_secret: Option<String>,
}

impl ShippoUpstream {
    /// The adapter for an account's parameters (checked by [`crate::registry`]).
    pub fn new(parameters: &Map<String, Value>, http: Client) -> Result<Self, CarrierError> {
        let key = param(parameters, "api_key")
            .ok_or_else(|| CarrierError::Rejected("This Shippo account has no api_key.".into()))?;
        Ok(Self {
            api: Api {
                base: param(parameters, "api_base")
                    .unwrap_or(DEFAULT_BASE)
                    .to_string(),
                authorization: format!("ShippoToken {key}"),
                headers: &[("Shippo-API-Version", "2018-02-08")],
                error_text,
                http,
            },
            webhook_secret: param(parameters, "webhook_secret").map(str::to_string),
        })
    }

    async fn buy(&self, request: &PurchaseRequest<'_>) -> Result<Purchased, CarrierError> {
        let rate = request
            .rate
            .remote
            .and_then(|r| r["rate"].as_str())
            .ok_or_else(|| CarrierError::Rejected("This rate did not come from Shippo.".into()))?;
        let body = json!({
            "rate": rate,
            "label_file_type": request.format.as_str(),
            "async": false,
        });
        let t = self
            .api
            .ok(
                Method::POST,
                "/transactions",
                Some(&body),
                Some(request.idempotency_key),
            )
            .await?;
        match t["status"].as_str().unwrap_or_default() {
            "SUCCESS" => {}
            "ERROR" => {
                return Err(CarrierError::Rejected(format!(
                    "Shippo could not buy the label: {}",
                    messages_text(&t["messages"]).unwrap_or_else(|| "no reason given.".into())
                )))
            }
            other => {
                return Err(CarrierError::Unavailable(format!(
                    "Shippo has not finished the label yet ({other})."
                )))
            }
        }
        let number = t["tracking_number"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let url = t["label_url"].as_str().unwrap_or_default();
        if number.is_empty() || url.is_empty() {
            return Err(CarrierError::Unavailable(
                "Shippo answered SUCCESS without a label or tracking number.".into(),
            ));
        }
        let label = self.api.fetch(url, "label").await?;
        let invoice = match t["commercial_invoice_url"]
            .as_str()
            .filter(|u| !u.is_empty())
        {
            Some(u) => Some(self.api.fetch(u, "commercial invoice").await?),
            None => None,
        };
        let carrier = request
            .rate
            .remote
            .and_then(|r| r["carrier"].as_str())
            .unwrap_or_default();
        Ok(Purchased {
            tracking_number: number,
            label,
            invoice,
            tracking_url_provider: t["tracking_url_provider"]
                .as_str()
                .filter(|u| !u.is_empty())
                .map(str::to_string),
            eta: t["eta"].as_str().and_then(Timestamp::parse),
            remote: Some(json!({"transaction": t["object_id"], "rate": rate, "carrier": carrier})),
            messages: Vec::new(),
            follow: true,
        })
    }
}

/// Shippo's address from Consign's.
pub fn address(l: &Location) -> Value {
    let a = &l.address;
    let mut v = json!({
        "name": a.name, "company": a.company, "street1": a.street1, "street2": a.street2,
        "street3": a.street3, "city": a.city, "state": a.state, "zip": a.zip,
        "country": a.country, "phone": a.phone, "email": a.email,
    });
    if !a.street_no.is_empty() {
        v["street_no"] = json!(a.street_no);
    }
    if let Some(r) = a.is_residential {
        v["is_residential"] = json!(r);
    }
    v
}

/// The body of `POST /shipments`.
pub fn create_body(spec: &ShipmentSpec) -> Value {
    let text = |d: rust_decimal::Decimal| d.normalize().to_string();
    let mut body = json!({
        "address_from": address(&spec.from),
        "address_to": address(&spec.to),
        "parcels": spec.parcels.iter().map(|p| json!({
            "length": text(p.length), "width": text(p.width), "height": text(p.height),
            "distance_unit": p.distance_unit.as_str(),
            "weight": text(p.weight), "mass_unit": p.mass_unit.as_str(),
        })).collect::<Vec<_>>(),
        "async": false,
    });
    let mut extra = Map::new();
    if spec.options.signature {
        extra.insert("signature_confirmation".into(), json!("STANDARD"));
    }
    if spec.options.saturday_delivery {
        extra.insert("saturday_delivery".into(), json!(true));
    }
    if !extra.is_empty() {
        body["extra"] = Value::Object(extra);
    }
    if !spec.reference.is_empty() {
        body["metadata"] = json!(spec.reference);
    }
    if let Some(c) = &spec.customs {
        let d = &c.declaration;
        body["customs_declaration"] = json!({
            "certify": d.certify,
            "certify_signer": d.certify_signer,
            "contents_type": d.contents_type,
            "contents_explanation": d.contents_explanation,
            "non_delivery_option": d.non_delivery_option,
            "eel_pfc": d.eel_pfc,
            "incoterm": d.incoterm,
            "invoice": d.invoice,
            "items": c.items.iter().map(|i| json!({
                "description": i.description,
                "quantity": i.quantity,
                "net_weight": text(i.net_weight),
                "mass_unit": i.mass_unit.as_str(),
                "value_amount": text(i.value_amount),
                "value_currency": i.value_currency,
                "origin_country": i.origin_country,
                "tariff_number": i.tariff_number,
            })).collect::<Vec<_>>(),
        });
    }
    body
}

/// Quotes and messages from a Shippo shipment.
pub fn read_rates(shipment: &Value) -> RateResult {
    let mut result = RateResult::default();
    for r in shipment["rates"].as_array().into_iter().flatten() {
        let Some(amount) = decimal(&r["amount"]) else {
            continue;
        };
        let sl = &r["servicelevel"];
        let provider = r["provider"].as_str().unwrap_or("Shippo").to_string();
        let token = sl["token"].as_str().unwrap_or_default().to_string();
        result.quotes.push(Quote {
            service_name: sl["name"].as_str().unwrap_or(&token).to_string(),
            service_token: token,
            terms: sl["terms"].as_str().unwrap_or_default().to_string(),
            days: r["estimated_days"]
                .as_u64()
                .or_else(|| r["days"].as_u64())
                .map(|d| d as u32),
            zone: r["zone"].as_str().unwrap_or_default().to_string(),
            amount,
            currency: r["currency"].as_str().unwrap_or("USD").to_string(),
            lines: vec![crate::ChargeLine {
                code: "postage".into(),
                amount,
            }],
            trackable: true,
            insurance: None,
            remote: Some(json!({
                "rate": r["object_id"],
                "shipment": shipment["object_id"],
                "carrier": upstream::carrier_token(&provider),
            })),
            provider: Some(provider),
        });
    }
    for m in shipment["messages"].as_array().into_iter().flatten() {
        result.messages.push(Message {
            service: None,
            code: m["code"].as_str().unwrap_or("rate_error").to_string(),
            text: format!(
                "{}: {}",
                m["source"].as_str().unwrap_or("Shippo"),
                m["text"].as_str().unwrap_or_default()
            ),
        });
    }
    result
}

/// Shippo's `messages[]` as one sentence.
fn messages_text(messages: &Value) -> Option<String> {
    let texts: Vec<&str> = messages
        .as_array()?
        .iter()
        .filter_map(|m| m["text"].as_str())
        .collect();
    (!texts.is_empty()).then(|| texts.join(" "))
}

/// Shippo's errors as one sentence: field-keyed lists (`{"rate": ["This field is required."]}`),
/// `{"detail": "…"}`, or an HTML 404.
pub fn error_text(answer: &Answer) -> String {
    let v = answer.json();
    let mut parts = Vec::new();
    if let Value::Object(o) = &v {
        for (field, value) in o {
            match value {
                Value::String(s) if field == "detail" => parts.push(s.trim().to_string()),
                Value::String(s) => parts.push(format!("{field}: {s}")),
                Value::Array(list) => {
                    for item in list {
                        if let Some(s) = item.as_str() {
                            parts.push(format!("{field}: {s}"));
                        }
                    }
                }
                _ => {}
            }
        }
    }
    let who = if answer.status.as_u16() == 401 {
        "Shippo refused the API token"
    } else {
        "Shippo"
    };
    if parts.is_empty() {
        return format!("{who} answered {}.", answer.status.as_u16());
    }
    format!("{who}: {}", parts.join(" "))
}

/// A Track object's history as events, and its ETA.
pub fn track_answer(track: &Value, now: Timestamp) -> TrackAnswer {
    let read = |e: &Value| {
        let occurred = e["status_date"].as_str().and_then(Timestamp::parse)?;
        let status = TrackStatus::parse(e["status"].as_str().unwrap_or_default())
            .unwrap_or(TrackStatus::Unknown);
        let loc = &e["location"];
        let f = |k: &str| {
            loc[k]
                .as_str()
                .map(str::to_string)
                .filter(|s| !s.is_empty())
        };
        let place = Place {
            city: f("city"),
            state: f("state"),
            zip: f("zip"),
            country: f("country"),
        };
        Some(TrackEvent {
            id: ObjectId::at(occurred.millis()),
            created: now,
            occurred,
            status,
            substatus: e["substatus"]["code"]
                .as_str()
                .and_then(Substatus::from_code),
            details: e["status_details"].as_str().unwrap_or_default().to_string(),
            location: (!place.is_empty()).then_some(place),
        })
    };
    let mut events: Vec<TrackEvent> = track["tracking_history"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(read)
        .collect();
    if let Some(current) = read(&track["tracking_status"]) {
        if !events
            .iter()
            .any(|e| e.occurred == current.occurred && e.status == current.status)
        {
            events.push(current);
        }
    }
    TrackAnswer {
        events,
        eta: track["eta"].as_str().and_then(Timestamp::parse),
    }
}

/// Whether the request is signed by `secret`: `X-Shippo-Signature` (hex HMAC-SHA256 of the raw
/// body) or `Consign-Signature` (`t=…,v1=…` over `"t." + body`, within five minutes).
pub fn signed(secret: &str, inbound: &Inbound<'_>) -> bool {
    if let Some(h) = inbound.header("x-shippo-signature") {
        return upstream::hmac_hex_matches(secret.as_bytes(), inbound.body, h);
    }
    inbound.header("consign-signature").is_some_and(|h| {
        domain::signing::verify(
            secret,
            h,
            inbound.body,
            inbound.now_s,
            SIGNATURE_TOLERANCE_S,
        )
    })
}

impl Carrier for ShippoUpstream {
    fn meta(&self) -> &CarrierMeta {
        &META
    }

    fn provider(&self) -> &str {
        "Shippo"
    }

    fn rates<'a>(&'a self, shipment: &'a ShipmentSpec) -> RateFuture<'a> {
        Box::pin(async move {
            let created = self
                .api
                .ok(
                    Method::POST,
                    "/shipments",
                    Some(&create_body(shipment)),
                    None,
                )
                .await?;
            Ok(read_rates(&created))
        })
    }

    fn purchase<'a>(&'a self, request: PurchaseRequest<'a>) -> CarrierFuture<'a, Purchased> {
        Box::pin(async move { self.buy(&request).await })
    }

    fn refund<'a>(&'a self, request: RefundRequest<'a>) -> CarrierFuture<'a, RefundState> {
        Box::pin(async move {
            let id = request
                .remote
                .and_then(|r| r["transaction"].as_str())
                .ok_or_else(|| {
                    CarrierError::Rejected("This label has no Shippo transaction.".into())
                })?
                .to_string();
            let t = self
                .api
                .ok(Method::GET, &format!("/transactions/{id}"), None, None)
                .await?;
            let status = match t["status"].as_str().unwrap_or_default() {
                "SUCCESS" => {
                    let key = format!("refund-{id}");
                    let body = json!({"transaction": id, "async": false});
                    let r = self
                        .api
                        .ok(Method::POST, "/refunds", Some(&body), Some(&key))
                        .await?;
                    match r["status"].as_str().unwrap_or_default() {
                        "SUCCESS" => "REFUNDED",
                        "ERROR" => "REFUNDREJECTED",
                        _ => "REFUNDPENDING",
                    }
                    .to_string()
                }
                other => other.to_string(),
            };
            Ok(match status.as_str() {
                "REFUNDED" => RefundState::Refunded,
                "REFUNDREJECTED" => RefundState::Rejected("Shippo refused the refund.".into()),
                "REFUNDPENDING" => RefundState::Pending,
                other => RefundState::Rejected(format!("Shippo cannot refund a {other} label.")),
            })
        })
    }

    fn track<'a>(&'a self, request: TrackRequest<'a>) -> CarrierFuture<'a, TrackAnswer> {
        Box::pin(async move {
            let carrier = request
                .remote
                .and_then(|r| r["carrier"].as_str())
                .filter(|c| !c.is_empty())
                .unwrap_or("usps");
            let track = self
                .api
                .ok(
                    Method::GET,
                    &format!("/tracks/{carrier}/{}", request.tracking_number),
                    None,
                    None,
                )
                .await?;
            Ok(track_answer(&track, Timestamp::now()))
        })
    }

    fn pushed(&self, inbound: &Inbound<'_>) -> Result<Vec<PushedTrack>, PushError> {
        let secret = self
            .webhook_secret
            .as_deref()
            .ok_or(PushError::Unauthenticated)?;
        if !signed(secret, inbound) {
            return Err(PushError::Unauthenticated);
        }
        let event: Value = serde_json::from_slice(inbound.body)
            .map_err(|_| PushError::Malformed("The body is not a JSON Shippo webhook.".into()))?;
        if event["event"].as_str() != Some("track_updated") {
            // transaction_created and the rest are acknowledged and change nothing.
            return Ok(Vec::new());
        }
        let track = &event["data"];
        let number = track["tracking_number"]
            .as_str()
            .filter(|s| !s.is_empty())
            .ok_or_else(|| PushError::Malformed("The track has no tracking_number.".into()))?;
        Ok(vec![PushedTrack {
            tracking_number: number.to_string(),
            answer: track_answer(track, Timestamp::now()),
        }])
    }

    fn service_levels(&self) -> Vec<ServiceLevel> {
        crate::easypost::service_levels()
    }
}

#[cfg(test)]
mod tests {
    use hmac::{Hmac, Mac};
    use sha2::Sha256;

    use super::*;

    #[test]
    fn shippo_errors_read_in_every_shape() {
        let a = |status: u16, body: &str| Answer {
            status: reqwest::StatusCode::from_u16(status).unwrap(),
            body: body.as_bytes().to_vec(),
        };
        assert_eq!(
            error_text(&a(400, r#"{"rate": ["This field is required."]}"#)),
            "Shippo: rate: This field is required."
        );
        assert_eq!(
            error_text(&a(400, r#"{"detail": "Invalid create request."}"#)),
            "Shippo: Invalid create request."
        );
        assert_eq!(
            error_text(&a(404, "<h1>Not Found</h1>")),
            "Shippo answered 404."
        );
        assert!(error_text(&a(401, r#"{"detail": "Invalid token."}"#))
            .starts_with("Shippo refused the API token"));
    }

    #[test]
    fn signatures_of_both_senders_verify() {
        let body = br#"{"event":"track_updated","data":{"tracking_number":"X"}}"#;
        let mut mac = Hmac::<Sha256>::new_from_slice(b"whsec").unwrap();
        mac.update(body);
        let hexsig = hex::encode(mac.finalize().into_bytes());
        let h = vec![("x-shippo-signature".to_string(), hexsig.clone())];
        assert!(signed(
            "whsec",
            &Inbound {
                headers: &h,
                body,
                now_s: 0
            }
        ));
        assert!(!signed(
            "other",
            &Inbound {
                headers: &h,
                body,
                now_s: 0
            }
        ));
        let mut mac = Hmac::<Sha256>::new_from_slice(b"whsec").unwrap();
        mac.update(b"1700000000.");
        mac.update(body);
        let consign = format!(
            "t=1700000000,v1={}",
            hex::encode(mac.finalize().into_bytes())
        );
        let h = vec![("consign-signature".to_string(), consign)];
        assert!(signed(
            "whsec",
            &Inbound {
                headers: &h,
                body,
                now_s: 1_700_000_100
            }
        ));
        assert!(
            !signed(
                "whsec",
                &Inbound {
                    headers: &h,
                    body,
                    now_s: 1_700_009_000
                }
            ),
            "old timestamps are replays"
        );
        assert!(!signed(
            "whsec",
            &Inbound {
                headers: &[],
                body,
                now_s: 0
            }
        ));
    }
}
