//! EasyPost as an upstream provider (`carrier: "easypost"`): the user's own EasyPost account
//! buys the postage of every carrier EasyPost has; Consign keeps the label, the tracking and
//! the webhooks.
//!
//! Parameters: `api_key` (the user's test or production key), `api_base` (default
//! `https://api.easypost.com`), `webhook_secret` (the secret set on the EasyPost webhook that
//! points at the carrier account's inbound URL).
//!
//! - Rates: `POST /v2/shipments` (one parcel) or `POST /v2/orders` (several: an order's rates are
//!   per carrier and service, summed over its shipments).
//! - Purchase: `POST /v2/shipments/{id}/buy` or `POST /v2/orders/{id}/buy`; when EasyPost answers
//!   an error, the shipment is read back: a retry of a purchase that went through finds its
//!   label instead of buying another. A label in another format than asked for is converted
//!   with `GET /v2/shipments/{id}/label?file_format=…`. The label (and customs forms) are
//!   downloaded once and handed to Consign's file store.
//! - Refund: `POST /v2/shipments/{id}/refund`; `submitted` is pending and is asked again by
//!   reading the shipment's `refund_status`.
//! - Tracking: `GET /v2/trackers/{id}` (polling) and `tracker.created`/`tracker.updated` events
//!   pushed to Consign, signed `X-Hmac-Signature: hmac-sha256-hex=…` with the NFKD-normalised
//!   secret (`X-Hmac-Signature-256` accepted too).
//! - Errors: EasyPost's `{"error": {code, message, errors}}` with `errors` as objects or strings.

use base64::Engine as _;
use domain::tracking::{Place, Substatus, TrackEvent, TrackStatus};
use domain::units::{convert_length, convert_mass, DistanceUnit, MassUnit};
use domain::{ObjectId, Timestamp};
use reqwest::Method;
use serde_json::{json, Map, Value};
use unicode_normalization::UnicodeNormalization;

use crate::http::{Answer, Client};
use crate::upstream::{self, decimal, param, Api};
use crate::{
    Capability, Carrier, CarrierError, CarrierFuture, CarrierMeta, Inbound, LabelFormat, Location,
    Message, PurchaseRequest, Purchased, PushError, PushedTrack, Quote, RateFuture, RateResult,
    RefundRequest, RefundState, ServiceLevel, ShipmentSpec, TrackAnswer, TrackRequest,
};

/// The headers EasyPost signs its events in (the documented spelling and the one it sends).
pub const SIGNATURE_HEADERS: &[&str] = &["x-hmac-signature", "x-hmac-signature-256"];

/// EasyPost's production API.
pub const DEFAULT_BASE: &str = "https://api.easypost.com";

static META: CarrierMeta = CarrierMeta {
    id: "easypost",
    name: "EasyPost",
    capabilities: &[
        Capability::Rates,
        Capability::Labels,
        Capability::Refunds,
        Capability::Tracking,
        Capability::TrackingPush,
        Capability::PaidPostage,
    ],
};

/// What the EasyPost adapter is and can do.
pub fn meta() -> &'static CarrierMeta {
    &META
}

/// One EasyPost account.
#[derive(Debug, Clone)]
pub struct EasyPost {
    api: Api,
    webhook_secret: Option<String>,
}

impl EasyPost {
    /// The adapter for an account's parameters (checked by [`crate::registry`]).
    pub fn new(parameters: &Map<String, Value>, http: Client) -> Result<Self, CarrierError> {
        let key = param(parameters, "api_key").ok_or_else(|| {
            CarrierError::Rejected("This EasyPost account has no api_key.".into())
        })?;
        Ok(Self {
            api: Api {
                base: param(parameters, "api_base")
                    .unwrap_or(DEFAULT_BASE)
                    .to_string(),
                authorization: format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(format!("{key}:"))
                ),
                headers: &[],
                error_text,
                http,
            },
            webhook_secret: param(parameters, "webhook_secret").map(str::to_string),
        })
    }

    async fn buy(&self, request: &PurchaseRequest<'_>) -> Result<Purchased, CarrierError> {
        let remote = request.rate.remote.ok_or_else(|| {
            CarrierError::Rejected("This rate did not come from EasyPost.".into())
        })?;
        let s = |k: &str| remote.get(k).and_then(Value::as_str).unwrap_or_default();
        let key = Some(request.idempotency_key);
        let (bought, shipments) = if !s("order").is_empty() {
            let path = format!("/v2/orders/{}/buy", s("order"));
            let body = json!({"carrier": s("carrier"), "service": s("service")});
            let order = match self.api.ok(Method::POST, &path, Some(&body), key).await {
                Ok(v) => v,
                Err(e) => {
                    self.already_bought(&format!("/v2/orders/{}", s("order")), e)
                        .await?
                }
            };
            let shipments: Vec<Value> = order["shipments"].as_array().cloned().unwrap_or_default();
            (order, shipments)
        } else {
            let path = format!("/v2/shipments/{}/buy", s("shipment"));
            let body = json!({"rate": {"id": s("rate")}});
            let shipment = match self.api.ok(Method::POST, &path, Some(&body), key).await {
                Ok(v) => v,
                Err(e) => {
                    self.already_bought(&format!("/v2/shipments/{}", s("shipment")), e)
                        .await?
                }
            };
            (shipment.clone(), vec![shipment])
        };
        let first = shipments.first().ok_or_else(|| {
            CarrierError::Rejected("EasyPost answered the purchase without a shipment.".into())
        })?;
        let number = first["tracking_code"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if number.is_empty() {
            return Err(CarrierError::Unavailable(
                "EasyPost has not issued the tracking number yet.".into(),
            ));
        }
        let label_url = self.label_in(first, request.format).await?;
        let label = self.api.fetch(&label_url, "label").await?;
        let invoice = match first["forms"].as_array().and_then(|forms| {
            forms.iter().find_map(|f| {
                (f["form_type"].as_str() == Some("commercial_invoice"))
                    .then(|| f["form_url"].as_str())
                    .flatten()
            })
        }) {
            Some(url) => Some(self.api.fetch(url, "commercial invoice").await?),
            None => None,
        };
        let mut messages = Vec::new();
        if shipments.len() > 1 {
            let others: Vec<&str> = shipments[1..]
                .iter()
                .filter_map(|s| s["tracking_code"].as_str())
                .collect();
            messages.push(Message {
                service: None,
                code: "more_parcels".into(),
                text: format!(
                    "The other parcels of this order carry {}; their labels are at EasyPost.",
                    others.join(", ")
                ),
            });
        }
        let tracker = &first["tracker"];
        Ok(Purchased {
            tracking_number: number,
            label,
            invoice,
            tracking_url_provider: tracker["public_url"].as_str().map(str::to_string),
            eta: first["selected_rate"]["delivery_date"]
                .as_str()
                .or_else(|| tracker["est_delivery_date"].as_str())
                .and_then(Timestamp::parse),
            remote: Some(json!({
                "shipment": first["id"],
                "order": bought.get("object").filter(|o| *o == "Order").map(|_| bought["id"].clone()),
                "tracker": tracker["id"],
                "carrier": remote["carrier"],
                "service": remote["service"],
            })),
            messages,
            follow: true,
        })
    }

    /// After a refused buy: the shipment (or order) when it was bought after all (a retry of a
    /// purchase whose answer was lost), else the refusal.
    async fn already_bought(
        &self,
        path: &str,
        refusal: CarrierError,
    ) -> Result<Value, CarrierError> {
        let current = self.api.ok(Method::GET, path, None, None).await?;
        let bought = |s: &Value| !s["postage_label"].is_null() && s["tracking_code"].is_string();
        let done = match current["shipments"].as_array() {
            Some(list) => !list.is_empty() && list.iter().all(bought),
            None => bought(&current),
        };
        if done {
            Ok(current)
        } else {
            Err(refusal)
        }
    }

    /// The label's URL in `format`, converting at EasyPost when it answered another one.
    async fn label_in(
        &self,
        shipment: &Value,
        format: LabelFormat,
    ) -> Result<String, CarrierError> {
        let label = &shipment["postage_label"];
        let want = file_format(format);
        let current = label["label_file_type"]
            .as_str()
            .unwrap_or_default()
            .to_ascii_lowercase();
        let have = |v: &Value| v.as_str().filter(|s| !s.is_empty()).map(str::to_string);
        let field = match want {
            "PDF" => "label_pdf_url",
            "ZPL" => "label_zpl_url",
            _ => "label_url",
        };
        if want == "PNG" || current.contains(&want.to_ascii_lowercase()) {
            if let Some(url) = have(&label["label_url"]) {
                return Ok(url);
            }
        }
        if let Some(url) = have(&label[field]) {
            return Ok(url);
        }
        let id = shipment["id"].as_str().unwrap_or_default();
        let converted = self
            .api
            .ok(
                Method::GET,
                &format!("/v2/shipments/{id}/label?file_format={want}"),
                None,
                None,
            )
            .await?;
        have(&converted["postage_label"][field])
            .or_else(|| have(&converted["postage_label"]["label_url"]))
            .ok_or_else(|| {
                CarrierError::Rejected(format!("EasyPost has no {want} label for this shipment."))
            })
    }
}

/// EasyPost's `file_format` for a Consign label format.
fn file_format(format: LabelFormat) -> &'static str {
    match format.as_str() {
        f if f.starts_with("PDF") => "PDF",
        "ZPLII" => "ZPL",
        _ => "PNG",
    }
}

/// An EasyPost address from Consign's.
fn address(l: &Location) -> Value {
    let a = &l.address;
    let mut v = json!({
        "name": a.name, "company": a.company, "street1": a.street1, "street2": a.street2,
        "city": a.city, "state": a.state, "zip": a.zip, "country": a.country,
        "phone": a.phone, "email": a.email,
    });
    if let Some(r) = a.is_residential {
        v["residential"] = json!(r);
    }
    v
}

fn number(d: rust_decimal::Decimal) -> Value {
    serde_json::from_str(&d.round_dp(2).normalize().to_string()).unwrap_or(Value::Null)
}

/// An EasyPost parcel (inches and ounces).
fn parcel(p: &crate::ParcelSpec) -> Value {
    let inch = |v| number(convert_length(v, p.distance_unit, DistanceUnit::In));
    json!({
        "length": inch(p.length), "width": inch(p.width), "height": inch(p.height),
        "weight": number(convert_mass(p.weight, p.mass_unit, MassUnit::Oz)),
    })
}

/// EasyPost's `customs_info` from a declaration and its items.
fn customs(c: &crate::Customs) -> Value {
    let d = &c.declaration;
    json!({
        "contents_type": d.contents_type.to_ascii_lowercase(),
        "contents_explanation": d.contents_explanation,
        "customs_certify": d.certify,
        "customs_signer": d.certify_signer,
        "non_delivery_option": d.non_delivery_option.to_ascii_lowercase(),
        "restriction_type": "none",
        "eel_pfc": d.eel_pfc.unwrap_or(""),
        "customs_items": c.items.iter().map(|i| json!({
            "description": i.description,
            "quantity": i.quantity,
            "weight": number(convert_mass(i.net_weight, i.mass_unit, MassUnit::Oz)),
            "value": number(i.value_amount),
            "currency": i.value_currency,
            "hs_tariff_number": if i.tariff_number.is_empty() { &i.hs_code } else { &i.tariff_number },
            "origin_country": i.origin_country,
        })).collect::<Vec<_>>(),
    })
}

/// The body of `POST /v2/shipments` (one parcel) or `POST /v2/orders` (several).
pub fn create_body(spec: &ShipmentSpec) -> (&'static str, Value) {
    let mut options = Map::new();
    if spec.options.signature {
        options.insert("delivery_confirmation".into(), json!("SIGNATURE"));
    }
    if spec.options.saturday_delivery {
        options.insert("saturday_delivery".into(), json!(true));
    }
    let mut common = json!({
        "from_address": address(&spec.from),
        "to_address": address(&spec.to),
        "options": options,
    });
    if let Some(c) = &spec.customs {
        common["customs_info"] = customs(c);
    }
    if !spec.reference.is_empty() {
        common["reference"] = json!(spec.reference);
    }
    if spec.parcels.len() == 1 {
        common["parcel"] = parcel(&spec.parcels[0]);
        ("/v2/shipments", json!({ "shipment": common }))
    } else {
        common["shipments"] = spec
            .parcels
            .iter()
            .map(|p| json!({"parcel": parcel(p)}))
            .collect();
        ("/v2/orders", json!({ "order": common }))
    }
}

/// Quotes and messages from an EasyPost shipment or order.
pub fn read_rates(created: &Value) -> RateResult {
    let is_order = created["object"].as_str() == Some("Order");
    let mut result = RateResult::default();
    for r in created["rates"].as_array().into_iter().flatten() {
        let (carrier, service) = (
            r["carrier"].as_str().unwrap_or_default(),
            r["service"].as_str().unwrap_or_default(),
        );
        let Some(amount) = decimal(&r["rate"]) else {
            continue;
        };
        let mut remote = json!({
            "carrier": carrier, "service": service,
            "list_rate": r["list_rate"], "retail_rate": r["retail_rate"],
        });
        if is_order {
            remote["order"] = created["id"].clone();
        } else {
            remote["shipment"] = created["id"].clone();
            remote["rate"] = r["id"].clone();
        }
        let days = r["delivery_days"]
            .as_u64()
            .or_else(|| r["est_delivery_days"].as_u64())
            .map(|d| d as u32);
        result.quotes.push(Quote {
            service_token: upstream::service_token(carrier, service),
            service_name: upstream::service_name(service),
            terms: String::new(),
            days,
            zone: String::new(),
            amount,
            currency: r["currency"].as_str().unwrap_or("USD").to_string(),
            lines: vec![crate::ChargeLine {
                code: "postage".into(),
                amount,
            }],
            trackable: true,
            insurance: None,
            provider: Some(carrier.to_string()),
            remote: Some(remote),
        });
    }
    for m in created["messages"].as_array().into_iter().flatten() {
        result.messages.push(Message {
            service: None,
            code: m["type"].as_str().unwrap_or("rate_error").to_string(),
            text: format!(
                "{}: {}",
                m["carrier"].as_str().unwrap_or("EasyPost"),
                m["message"].as_str().unwrap_or_default()
            ),
        });
    }
    result
}

/// EasyPost's error as one sentence: its message and every field error, objects or strings.
pub fn error_text(answer: &Answer) -> String {
    let v = answer.json();
    let e = &v["error"];
    let mut parts = Vec::new();
    if let Some(m) = e["message"].as_str() {
        parts.push(m.trim_end_matches('.').to_string());
    }
    for item in e["errors"].as_array().into_iter().flatten() {
        match item {
            Value::String(s) => parts.push(s.clone()),
            Value::Object(o) => {
                let field = o.get("field").and_then(Value::as_str).unwrap_or_default();
                let message = o.get("message").and_then(Value::as_str).unwrap_or_default();
                parts.push(if field.is_empty() {
                    message.to_string()
                } else {
                    format!("{field} {message}")
                });
            }
            _ => {}
        }
    }
    if parts.is_empty() {
        return format!("EasyPost answered {}.", answer.status.as_u16());
    }
    let who = if answer.status.as_u16() == 401 {
        "EasyPost refused the API key"
    } else {
        "EasyPost"
    };
    format!("{who}: {}.", parts.join("; "))
}

/// Shippo's status (and substatus) for an EasyPost tracker status and detail.
pub fn status_of(status: &str, detail: &str) -> (TrackStatus, Option<Substatus>) {
    let (st, sub) = match status {
        "pre_transit" => (TrackStatus::PreTransit, "information_received"),
        "in_transit" => (TrackStatus::Transit, "package_accepted"),
        "out_for_delivery" => (TrackStatus::Transit, "out_for_delivery"),
        "available_for_pickup" => (TrackStatus::Transit, "pickup_available"),
        "delivered" => (TrackStatus::Delivered, "delivered"),
        "return_to_sender" => (TrackStatus::Returned, "return_to_sender"),
        "failure" | "error" => (TrackStatus::Failure, "package_undeliverable"),
        "cancelled" => (TrackStatus::Failure, "other"),
        _ => (TrackStatus::Unknown, ""),
    };
    let sub = match detail {
        "arrived_at_facility" | "arrived_at_destination" => Substatus::from_code("package_arrived"),
        "departed_facility" => Substatus::from_code("package_departed"),
        "label_created" | "status_update" => Substatus::from_code("information_received"),
        _ => None,
    }
    .filter(|_| status == "in_transit" || status == "pre_transit")
    .or_else(|| Substatus::from_code(sub));
    (st, sub)
}

/// A tracker's history as events, and its estimated delivery.
pub fn tracker_answer(tracker: &Value, now: Timestamp) -> TrackAnswer {
    let events = tracker["tracking_details"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| {
            let occurred = d["datetime"].as_str().and_then(Timestamp::parse)?;
            let (status, substatus) = status_of(
                d["status"].as_str().unwrap_or_default(),
                d["status_detail"].as_str().unwrap_or_default(),
            );
            let loc = &d["tracking_location"];
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
                substatus,
                details: d["message"].as_str().unwrap_or_default().to_string(),
                location: (!place.is_empty()).then_some(place),
            })
        })
        .collect();
    TrackAnswer {
        events,
        eta: tracker["est_delivery_date"]
            .as_str()
            .and_then(Timestamp::parse),
    }
}

/// Whether `header` (`hmac-sha256-hex=<hex>`) signs `body` with `secret`, NFKD-normalised as
/// EasyPost's clients do before keying the HMAC; constant-time.
pub fn signature_matches(secret: &str, header: &str, body: &[u8]) -> bool {
    let key: String = secret.nfkd().collect();
    let hex = header.trim();
    let hex = hex.strip_prefix("hmac-sha256-hex=").unwrap_or(hex);
    upstream::hmac_hex_matches(key.as_bytes(), body, hex)
}

impl Carrier for EasyPost {
    fn meta(&self) -> &CarrierMeta {
        &META
    }

    fn provider(&self) -> &str {
        "EasyPost"
    }

    fn rates<'a>(&'a self, shipment: &'a ShipmentSpec) -> RateFuture<'a> {
        Box::pin(async move {
            let (path, body) = create_body(shipment);
            let created = self.api.ok(Method::POST, path, Some(&body), None).await?;
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
                .and_then(|r| r["shipment"].as_str())
                .ok_or_else(|| {
                    CarrierError::Rejected("This label has no EasyPost shipment.".into())
                })?
                .to_string();
            let current = self
                .api
                .ok(Method::GET, &format!("/v2/shipments/{id}"), None, None)
                .await?;
            let shipment = if current["refund_status"].is_string() {
                current
            } else {
                let key = format!("refund-{id}");
                self.api
                    .ok(
                        Method::POST,
                        &format!("/v2/shipments/{id}/refund"),
                        Some(&json!({})),
                        Some(&key),
                    )
                    .await?
            };
            Ok(
                match shipment["refund_status"].as_str().unwrap_or_default() {
                    "refunded" => RefundState::Refunded,
                    "rejected" | "not_applicable" => RefundState::Rejected(format!(
                        "EasyPost refused the refund ({}).",
                        shipment["refund_status"].as_str().unwrap_or_default()
                    )),
                    _ => RefundState::Pending,
                },
            )
        })
    }

    fn track<'a>(&'a self, request: TrackRequest<'a>) -> CarrierFuture<'a, TrackAnswer> {
        Box::pin(async move {
            let tracker = match request.remote.and_then(|r| r["tracker"].as_str()) {
                Some(id) => {
                    self.api
                        .ok(Method::GET, &format!("/v2/trackers/{id}"), None, None)
                        .await?
                }
                None => {
                    let body = json!({"tracker": {"tracking_code": request.tracking_number}});
                    self.api
                        .ok(Method::POST, "/v2/trackers", Some(&body), None)
                        .await?
                }
            };
            Ok(tracker_answer(&tracker, Timestamp::now()))
        })
    }

    fn pushed(&self, inbound: &Inbound<'_>) -> Result<Vec<PushedTrack>, PushError> {
        let secret = self
            .webhook_secret
            .as_deref()
            .ok_or(PushError::Unauthenticated)?;
        let header = inbound
            .header("x-hmac-signature")
            .or_else(|| inbound.header("x-hmac-signature-256"))
            .ok_or(PushError::Unauthenticated)?;
        if !signature_matches(secret, header, inbound.body) {
            return Err(PushError::Unauthenticated);
        }
        let event: Value = serde_json::from_slice(inbound.body)
            .map_err(|_| PushError::Malformed("The body is not a JSON EasyPost event.".into()))?;
        let description = event["description"].as_str().unwrap_or_default();
        if !description.starts_with("tracker.") {
            // Other events (batches, refunds, …) are acknowledged and change nothing.
            return Ok(Vec::new());
        }
        let tracker = &event["result"];
        let number = tracker["tracking_code"]
            .as_str()
            .filter(|s| !s.is_empty())
            .ok_or_else(|| PushError::Malformed("The tracker has no tracking_code.".into()))?;
        Ok(vec![PushedTrack {
            tracking_number: number.to_string(),
            answer: tracker_answer(tracker, Timestamp::now()),
        }])
    }

    fn service_levels(&self) -> Vec<ServiceLevel> {
        service_levels()
    }
}

/// The services an EasyPost account commonly offers (the carriers it has enabled decide; these
/// are the USPS and UPS ones every new EasyPost account has).
pub fn service_levels() -> Vec<ServiceLevel> {
    [
        ("usps", "GroundAdvantage"),
        ("usps", "Priority"),
        ("usps", "Express"),
        ("ups", "Ground"),
        ("ups", "3DaySelect"),
        ("ups", "2ndDayAir"),
        ("ups", "NextDayAir"),
    ]
    .iter()
    .map(|(c, s)| ServiceLevel {
        token: upstream::service_token(c, s),
        name: format!("{} {}", c.to_ascii_uppercase(), upstream::service_name(s)),
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const EVENT: &[u8] = include_bytes!("../../../testdata/fixtures/easypost/event-body.json");

    #[test]
    fn the_published_signature_vector_verifies_with_the_nfkd_secret() {
        let header =
            "hmac-sha256-hex=38f3f53c103713df81616a0a186d77141957323ec21d5fe9363db93840f527db";
        assert!(signature_matches("s\u{e9}cret", header, EVENT));
        // Without NFKD the digest differs: a non-normalising check would refuse real deliveries.
        assert!(!upstream::hmac_hex_matches(
            "s\u{e9}cret".as_bytes(),
            EVENT,
            header.trim_start_matches("hmac-sha256-hex=")
        ));
        let mut tampered = EVENT.to_vec();
        tampered[10] ^= 1;
        assert!(!signature_matches("s\u{e9}cret", header, &tampered));
        assert!(!signature_matches("secret", header, EVENT));
    }

    #[test]
    fn a_pushed_tracker_becomes_shippo_events() {
        let ep = EasyPost::new(
            json!({"api_key": "k", "webhook_secret": "s\u{e9}cret"})
                .as_object()
                .unwrap(),
            Client::default(),
        )
        .unwrap();
        let headers = vec![(
            "x-hmac-signature".to_string(),
            "hmac-sha256-hex=38f3f53c103713df81616a0a186d77141957323ec21d5fe9363db93840f527db"
                .to_string(),
        )];
        let pushed = ep
            .pushed(&Inbound {
                headers: &headers,
                body: EVENT,
                now_s: 0,
            })
            .unwrap();
        assert_eq!(pushed.len(), 1);
        assert_eq!(pushed[0].tracking_number, "1");
        let events = &pushed[0].answer.events;
        assert_eq!(events[0].status, TrackStatus::PreTransit);
        assert_eq!(events[0].details, "Shipment information sent to FedEx");
        assert_eq!(events[1].status, TrackStatus::Transit);
        assert_eq!(
            events[1].location.as_ref().unwrap().city.as_deref(),
            Some("ORLANDO")
        );
        assert!(pushed[0].answer.eta.is_some());
        let forged = vec![(
            "x-hmac-signature-256".to_string(),
            "hmac-sha256-hex=00".to_string(),
        )];
        assert_eq!(
            ep.pushed(&Inbound {
                headers: &forged,
                body: EVENT,
                now_s: 0
            }),
            Err(PushError::Unauthenticated)
        );
        assert_eq!(
            ep.pushed(&Inbound {
                headers: &[],
                body: EVENT,
                now_s: 0
            }),
            Err(PushError::Unauthenticated)
        );
    }

    #[test]
    fn both_error_shapes_read() {
        let a = |status: u16, body: &str| Answer {
            status: reqwest::StatusCode::from_u16(status).unwrap(),
            body: body.as_bytes().to_vec(),
        };
        assert_eq!(
            error_text(&a(
                422,
                r#"{"error": {"code": "PARAMETER.REQUIRED", "message": "Missing required parameter.", "errors": [{"field": "shipment", "message": "cannot be blank"}]}}"#
            )),
            "EasyPost: Missing required parameter; shipment cannot be blank."
        );
        assert_eq!(
            error_text(&a(
                404,
                r#"{"error": {"code": "NOT_FOUND", "errors": ["No eligible insurance found"], "message": "The requested resource could not be found."}}"#
            )),
            "EasyPost: The requested resource could not be found; No eligible insurance found."
        );
        assert!(error_text(&a(
            401,
            r#"{"error": {"code": "APIKEY.INVALID", "message": "Invalid API Key."}}"#
        ))
        .starts_with("EasyPost refused the API key"));
        assert_eq!(error_text(&a(502, "<html>")), "EasyPost answered 502.");
    }

    #[test]
    fn statuses_map_to_shippos() {
        assert_eq!(status_of("out_for_delivery", "").0, TrackStatus::Transit);
        assert_eq!(
            status_of("out_for_delivery", "").1.unwrap().code,
            "out_for_delivery"
        );
        assert_eq!(status_of("delivered", "").0, TrackStatus::Delivered);
        assert_eq!(status_of("return_to_sender", "").0, TrackStatus::Returned);
        assert_eq!(status_of("failure", "").0, TrackStatus::Failure);
        assert_eq!(status_of("pre_transit", "").0, TrackStatus::PreTransit);
        assert_eq!(status_of("mystery", "").0, TrackStatus::Unknown);
    }
}
