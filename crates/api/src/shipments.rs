//! `/shipments`: create (with rates), retrieve, list.
//! Shippo reference: seed 002 "Shipments"; <https://docs.goshippo.com/shippoapi/public-api/#tag/Shipments>.
//!
//! Both request shapes are accepted: today's (`parcels`, nested objects or ids) and the seed's
//! (`object_purpose`, single `parcel`, top-level `insurance_amount`/`reference_1`, …). The
//! response follows `Shippo-API-Version` (see [`crate::version`]). `async` defaults to `false`:
//! rates come back in the response unless the client asks for background rating.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use axum::{Json, Router};
use domain::address::parse_purpose;
use domain::shipment::CreatedFilter;
use domain::shipment_extra::{parse_shipment_extra, ShipmentExtra};
use domain::text::pick;
use domain::FieldErrors;
use domain::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Map;
use serde_json::Value;
use service::shipments::{self, AddressRef, CreateShipment, ParcelRef, ShipmentView};
use utoipa::ToSchema;

use crate::addresses::{AddressCreateRequest, AddressResponse};
use crate::auth::Auth;
use crate::customs::{declaration_ref, CustomsDeclarationResponse};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{nested, Body, Id};
use crate::lenient;
use crate::pagination::{base_url, ListQuery, Paginated};
use crate::parcels::{ParcelCreateRequest, ParcelResponse};
use crate::rates::{LegacyRateResponse, NoteResponse, RateResponse};
use crate::version::Shape;
use crate::AppState;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/shipments", get(list).post(create))
        .route("/shipments/{id}", get(retrieve))
}

/// Longest creation-date range a list may filter on (seed 002, "List all shipments").
pub const MAX_FILTER_DAYS: i64 = 90;

/// Request body of `POST /shipments`.
#[derive(Deserialize, ToSchema, Default)]
pub struct ShipmentCreateRequest {
    /// An Address object, or the `object_id` of a stored one.
    #[schema(value_type = Object)]
    pub address_from: Option<Value>,
    #[schema(value_type = Object)]
    pub address_to: Option<Value>,
    /// Where undeliverable parcels go back to (default: `address_from`).
    #[schema(value_type = Option<Object>)]
    pub address_return: Option<Value>,
    /// Parcel objects or `object_id`s: one per piece of a multi-piece shipment.
    #[schema(value_type = Vec<Object>)]
    pub parcels: Option<Value>,
    /// Seed (2014) API: a single parcel.
    #[schema(value_type = Option<Object>)]
    pub parcel: Option<Value>,
    /// A customs declaration object (with its items as objects or ids), or the `object_id` of one.
    #[schema(value_type = Option<Object>)]
    pub customs_declaration: Option<Value>,
    /// Shipment extras (seed 002 "Shipment Extras").
    #[schema(value_type = Option<Object>)]
    pub extra: Option<Value>,
    /// Carrier account `object_id`s to ask; default: every active one.
    #[schema(value_type = Option<Vec<String>>)]
    pub carrier_accounts: Option<Value>,
    /// ISO 8601; default now.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[schema(value_type = Option<String>, example = "2026-11-23T12:00:00Z")]
    pub shipment_date: Option<String>,
    /// Seed (2014) name of `shipment_date`.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[schema(value_type = Option<String>)]
    pub submission_date: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[schema(value_type = Option<String>)]
    pub metadata: Option<String>,
    /// `true`: answer at once with status `QUEUED`; rates follow in the background.
    #[serde(rename = "async", default, deserialize_with = "lenient::opt_bool")]
    #[schema(value_type = Option<bool>)]
    pub asynchronous: Option<bool>,
    /// Seed (2014) API: `QUOTE` or `PURCHASE`.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[schema(value_type = Option<String>)]
    pub object_purpose: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[schema(value_type = Option<String>)]
    pub insurance_amount: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[schema(value_type = Option<String>)]
    pub insurance_currency: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[schema(value_type = Option<String>)]
    pub reference_1: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[schema(value_type = Option<String>)]
    pub reference_2: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[schema(value_type = Option<String>)]
    pub submission_type: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[schema(value_type = Option<String>)]
    pub return_of: Option<String>,
}

fn address_ref(field: &str, v: Option<Value>) -> Result<Option<AddressRef>, ApiError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(id)) if id.trim().is_empty() => Ok(None),
        Some(Value::String(id)) => Ok(Some(AddressRef::Id(id))),
        Some(v) => Ok(Some(AddressRef::New(Box::new(
            nested::<AddressCreateRequest>(field, v)?.into(),
        )))),
    }
}

fn parcel_ref(field: &str, v: Value) -> Result<ParcelRef, ApiError> {
    match v {
        Value::String(id) => Ok(ParcelRef::Id(id)),
        v => Ok(ParcelRef::New(Box::new(
            nested::<ParcelCreateRequest>(field, v)?.into(),
        ))),
    }
}

/// `parcels` as a list (form bodies may send `parcels[0][weight]`, which arrives as an object
/// keyed by index), else the seed's single `parcel`.
fn parcel_refs(parcels: Option<Value>, parcel: Option<Value>) -> Result<Vec<ParcelRef>, ApiError> {
    let (field, items) = match (parcels, parcel) {
        (Some(Value::Array(items)), _) => ("parcels", items),
        (Some(Value::Object(m)), _)
            if !m.is_empty() && m.keys().all(|k| k.parse::<usize>().is_ok()) =>
        {
            let mut entries: Vec<(usize, Value)> = m
                .into_iter()
                .map(|(k, v)| (k.parse().expect("checked"), v))
                .collect();
            entries.sort_by_key(|(i, _)| *i);
            ("parcels", entries.into_iter().map(|(_, v)| v).collect())
        }
        (Some(Value::Null) | None, Some(Value::Null) | None) => return Ok(Vec::new()),
        (Some(Value::Null) | None, Some(p)) => ("parcel", vec![p]),
        (Some(p), _) => ("parcels", vec![p]),
    };
    items
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            let path = if field == "parcel" {
                field.to_string()
            } else {
                format!("{field}.{i}")
            };
            parcel_ref(&path, v)
        })
        .collect()
}

fn carrier_account_ids(v: Option<Value>) -> Result<Vec<String>, ApiError> {
    match v {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(vec![s]),
        Some(Value::Array(items)) => items
            .into_iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::String(s) => Ok(s),
                other => Err(ApiError::field(
                    &format!("carrier_accounts.{i}"),
                    format!("Expected a carrier account id, found {other}."),
                )),
            })
            .collect(),
        Some(other) => Err(ApiError::field(
            "carrier_accounts",
            format!("Expected a list of carrier account ids, found {other}."),
        )),
    }
}

/// The wire request as the service's command: references kept to resolve, the seed-era fields
/// folded in, everything else read and checked here; what is wrong travels in `errors`, so the
/// service names it together with what it finds (every problem at once).
impl TryFrom<ShipmentCreateRequest> for CreateShipment {
    type Error = ApiError;

    fn try_from(r: ShipmentCreateRequest) -> Result<Self, ApiError> {
        let mut errors = FieldErrors::new();
        let extra_json = extra_with_legacy_fields(&r, &mut errors);
        let extra = parse_shipment_extra(Some(&extra_json)).unwrap_or_else(|e| {
            errors.absorb(e);
            ShipmentExtra::default()
        });
        let shipment_date = match r
            .shipment_date
            .as_deref()
            .or(r.submission_date.as_deref())
            .map(str::trim)
        {
            None | Some("") => None,
            Some(raw) => Timestamp::parse(raw).or_else(|| {
                errors.add(
                    "shipment_date",
                    format!(
                        "\"{raw}\" is not an ISO 8601 date-time such as 2014-01-18T00:35:03.463Z."
                    ),
                );
                None
            }),
        };
        // Seed-era: `DROPOFF` or `PICKUP` (checked, not used for pricing).
        if let Err(m) = pick(
            r.submission_type.as_deref().unwrap_or(""),
            &["DROPOFF", "PICKUP"],
        ) {
            errors.add("submission_type", m);
        }
        // Seed-era scan-based returns name an outbound transaction; none exists to return yet.
        if let Some(id) = r
            .return_of
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
        {
            errors.add("return_of", format!("No transaction with id \"{id}\"."));
        }
        let purpose = parse_purpose(r.object_purpose.as_deref()).unwrap_or_else(|m| {
            errors.add("object_purpose", m);
            None
        });
        Ok(CreateShipment {
            address_from: address_ref("address_from", r.address_from)?,
            address_to: address_ref("address_to", r.address_to)?,
            address_return: address_ref("address_return", r.address_return)?,
            parcels: parcel_refs(r.parcels, r.parcel)?,
            customs_declaration: declaration_ref("customs_declaration", r.customs_declaration)?,
            extra,
            extra_json,
            carrier_accounts: carrier_account_ids(r.carrier_accounts)?,
            shipment_date,
            metadata: r.metadata.unwrap_or_default(),
            purpose,
            asynchronous: r.asynchronous.unwrap_or(false),
            errors,
        })
    }
}

/// `extra` with the seed's top-level `insurance_amount`/`insurance_currency` and
/// `reference_1`/`reference_2` folded in where today's API has them (values in `extra` win).
fn extra_with_legacy_fields(input: &ShipmentCreateRequest, errors: &mut FieldErrors) -> Value {
    let mut extra = match &input.extra {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(other) => {
            errors.add("extra", format!("Expected an object, found {other}."));
            Map::new()
        }
    };
    let given = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    match (
        given(&input.insurance_amount),
        given(&input.insurance_currency),
    ) {
        (Some(amount), Some(currency)) => {
            extra
                .entry("insurance")
                .or_insert_with(|| serde_json::json!({"amount": amount, "currency": currency}));
        }
        (Some(_), None) => errors.add(
            "insurance_currency",
            "Required when insurance_amount is set.",
        ),
        _ => {}
    }
    for (key, value) in [
        ("reference_1", &input.reference_1),
        ("reference_2", &input.reference_2),
    ] {
        if let Some(v) = given(value) {
            extra.entry(key).or_insert(Value::String(v));
        }
    }
    Value::Object(extra)
}

/// A Shipment in the current shape (what the official SDKs parse).
#[derive(Serialize, ToSchema)]
pub struct ShipmentResponse {
    pub object_id: String,
    pub object_owner: String,
    pub object_created: String,
    pub object_updated: String,
    /// `QUEUED` while rates are computed in the background, then `SUCCESS` (or `ERROR`).
    pub status: &'static str,
    pub address_from: AddressResponse,
    pub address_to: AddressResponse,
    pub address_return: Option<AddressResponse>,
    pub parcels: Vec<ParcelResponse>,
    pub shipment_date: String,
    pub carrier_accounts: Vec<String>,
    pub customs_declaration: Option<CustomsDeclarationResponse>,
    #[schema(value_type = Object)]
    pub extra: Value,
    pub metadata: String,
    pub messages: Vec<NoteResponse>,
    pub rates: Vec<RateResponse>,
    pub test: bool,
}

/// A Shipment in the seed's shape (`Shippo-API-Version: 2014-02-11` or older): objects by id.
#[derive(Serialize, ToSchema)]
pub struct LegacyShipmentResponse {
    pub object_state: &'static str,
    pub object_status: &'static str,
    pub object_purpose: &'static str,
    pub object_created: String,
    pub object_updated: String,
    pub object_id: String,
    pub object_owner: String,
    pub address_from: String,
    pub address_to: String,
    pub address_return: String,
    /// The first parcel; `parcels` lists all of a multi-piece shipment.
    pub parcel: String,
    pub parcels: Vec<String>,
    pub submission_date: String,
    pub insurance_amount: String,
    pub insurance_currency: String,
    #[schema(value_type = Object)]
    pub extra: Value,
    /// The declaration's id.
    pub customs_declaration: Option<String>,
    pub reference_1: String,
    pub reference_2: String,
    pub rates_url: String,
    pub rates_list: Vec<LegacyRateResponse>,
    pub carrier_accounts: Vec<String>,
    pub messages: Vec<NoteResponse>,
    pub metadata: String,
    pub test: bool,
}

/// A shipment in the shape the client asked for.
#[derive(Serialize)]
#[serde(untagged)]
pub enum ShipmentBody {
    Current(Box<ShipmentResponse>),
    Legacy(Box<LegacyShipmentResponse>),
}

fn extra_text(extra: &Value, path: &[&str]) -> String {
    let mut v = extra;
    for key in path {
        match v.get(key) {
            Some(next) => v = next,
            None => return String::new(),
        }
    }
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

impl ShipmentBody {
    /// The wire form of `v`, owned by `owner`; `base` is the public base URL (for `rates_url`).
    pub fn new(v: ShipmentView, owner: &str, shape: Shape, base: &str) -> Self {
        let s = v.shipment;
        let carrier_accounts = s.carrier_accounts.iter().map(ToString::to_string).collect();
        let messages = s.messages.iter().map(Into::into).collect();
        match shape {
            Shape::Current => Self::Current(Box::new(ShipmentResponse {
                object_id: s.id.to_string(),
                object_owner: owner.to_string(),
                object_created: s.created.to_string(),
                object_updated: s.updated.to_string(),
                status: s.status.as_str(),
                address_from: AddressResponse::new(v.address_from, owner),
                address_to: AddressResponse::new(v.address_to, owner),
                address_return: v.address_return.map(|a| AddressResponse::new(a, owner)),
                parcels: v
                    .parcels
                    .into_iter()
                    .map(|p| ParcelResponse::new(p, owner))
                    .collect(),
                shipment_date: s.shipment_date.to_string(),
                carrier_accounts,
                customs_declaration: v
                    .customs_declaration
                    .map(|d| CustomsDeclarationResponse::new(d, owner)),
                extra: s.extra,
                metadata: s.metadata,
                messages,
                rates: v
                    .rates
                    .into_iter()
                    .map(|r| RateResponse::new(r, owner, None))
                    .collect(),
                test: s.test,
            })),
            Shape::Legacy => Self::Legacy(Box::new(LegacyShipmentResponse {
                object_state: "VALID",
                object_status: s.status.as_str(),
                object_purpose: s.purpose.as_str(),
                object_created: s.created.to_string(),
                object_updated: s.updated.to_string(),
                object_id: s.id.to_string(),
                object_owner: owner.to_string(),
                address_from: s.address_from.to_string(),
                address_to: s.address_to.to_string(),
                address_return: s.address_return.unwrap_or(s.address_from).to_string(),
                parcel: s
                    .parcels
                    .first()
                    .map(ToString::to_string)
                    .unwrap_or_default(),
                parcels: s.parcels.iter().map(ToString::to_string).collect(),
                submission_date: s.shipment_date.to_string(),
                insurance_amount: extra_text(&s.extra, &["insurance", "amount"]),
                insurance_currency: extra_text(&s.extra, &["insurance", "currency"]),
                reference_1: extra_text(&s.extra, &["reference_1"]),
                reference_2: extra_text(&s.extra, &["reference_2"]),
                extra: s.extra,
                customs_declaration: s.customs_declaration.map(|d| d.to_string()),
                rates_url: format!("{base}/shipments/{}/rates/", s.id),
                rates_list: v
                    .rates
                    .into_iter()
                    .map(|r| LegacyRateResponse::new(r, owner, None))
                    .collect(),
                carrier_accounts,
                messages,
                metadata: s.metadata,
                test: s.test,
            })),
        }
    }
}

/// A page of shipments.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ShipmentList {
    count: i64,
    next: Option<String>,
    previous: Option<String>,
    results: Vec<ShipmentResponse>,
}

/// Create a shipment and get its rates.
#[utoipa::path(post, path = "/shipments", tag = "Shipments",
    request_body(content((ShipmentCreateRequest = "application/json"))),
    params(("Shippo-API-Version" = Option<String>, Header, description = "`2014-02-11` or older answers in the seed's shape")),
    responses((status = 201, body = ShipmentResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("ShippoToken" = [])))]
pub async fn create(
    State(state): State<AppState>,
    Auth(who): Auth,
    shape: Shape,
    headers: HeaderMap,
    Body(req): Body<ShipmentCreateRequest>,
) -> Result<(StatusCode, Json<ShipmentBody>), ApiError> {
    let view = shipments::create(&state.services, &who, req.try_into()?).await?;
    let base = base_url(&headers, &state);
    Ok((
        StatusCode::CREATED,
        Json(ShipmentBody::new(view, &who.account_name, shape, &base)),
    ))
}

/// Retrieve a shipment with its rates.
#[utoipa::path(get, path = "/shipments/{id}", tag = "Shipments", params(("id" = String, Path)),
    responses((status = 200, body = ShipmentResponse), (status = 404, body = ErrorBody)),
    security(("ShippoToken" = [])))]
pub async fn retrieve(
    State(state): State<AppState>,
    Auth(who): Auth,
    shape: Shape,
    headers: HeaderMap,
    Id(id): Id,
) -> Result<Json<ShipmentBody>, ApiError> {
    let view = shipments::get(&state.services, &who, id).await?;
    let base = base_url(&headers, &state);
    Ok(Json(ShipmentBody::new(
        view,
        &who.account_name,
        shape,
        &base,
    )))
}

fn created_filter(q: &ListQuery) -> Result<CreatedFilter, ApiError> {
    let bound = |name: &str| -> Result<Option<i64>, ApiError> {
        match q.param(name).map(str::trim).filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(raw) => Timestamp::parse(raw).map(|t| Some(t.millis())).ok_or_else(|| {
                ApiError::field(name, format!("\"{raw}\" is not an ISO 8601 UTC date such as 2017-01-01 or 2017-01-01T03:30:30Z."))
            }),
        }
    };
    let f = CreatedFilter {
        gt: bound("object_created_gt")?,
        gte: bound("object_created_gte")?,
        lt: bound("object_created_lt")?,
        lte: bound("object_created_lte")?,
    };
    if let (Some(from), Some(to)) = (f.gt.or(f.gte), f.lt.or(f.lte)) {
        if to - from > MAX_FILTER_DAYS * 86_400_000 {
            return Err(ApiError::field(
                "object_created_lt",
                format!("The date range may span at most {MAX_FILTER_DAYS} days."),
            ));
        }
    }
    Ok(f)
}

/// List shipments, newest first, optionally by creation date.
#[utoipa::path(get, path = "/shipments", tag = "Shipments",
    params(("page" = Option<u32>, Query), ("results" = Option<u32>, Query),
           ("object_created_gt" = Option<String>, Query), ("object_created_gte" = Option<String>, Query),
           ("object_created_lt" = Option<String>, Query), ("object_created_lte" = Option<String>, Query)),
    responses((status = 200, body = ShipmentList), (status = 400, body = ErrorBody)),
    security(("ShippoToken" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Auth(who): Auth,
    shape: Shape,
    headers: HeaderMap,
    q: ListQuery,
) -> Result<Json<Paginated<ShipmentBody>>, ApiError> {
    let filter = created_filter(&q)?;
    let page = shipments::list(&state.services, &who, filter, q.page).await?;
    let base = base_url(&headers, &state);
    Ok(Json(Paginated::new(&q, page, |v| {
        ShipmentBody::new(v, &who.account_name, shape, &base)
    })))
}
