//! `/batches`: create (201, VALIDATING), retrieve with its shipments 100 a page, add and remove
//! shipments, purchase (202, PURCHASING); and Consign's batch from orders.
//! Shippo reference: seed 002 "Batches"; <https://docs.goshippo.com/shippoapi/public-api/#tag/Batches>.

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use documents::LabelFormat;
use domain::batch::{BatchResultFilter, BatchShipment};
use domain::page::PageRequest;
use domain::{FieldErrors, ObjectId, Timestamp, ValidationError};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use service::batches::{
    self, BatchView, CreateBatch, NewBatchShipment, ParcelPlan, ShipmentSource,
};
use service::files;
use utoipa::ToSchema;

use crate::auth::Auth;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{from_value, AnyBody, Body, Id};
use crate::lenient;
use crate::pagination::{base_url, ListQuery};
use crate::rates::NoteResponse;
use crate::shipments::ShipmentCreateRequest;
use crate::AppState;

/// Bodies of up to 10,000 inline shipments.
pub const BULK_BODY_LIMIT: usize = 64 * 1024 * 1024;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/batches", post(create))
        .route("/batches/from_orders", post(from_orders))
        .route("/batches/{id}", get(retrieve))
        .route("/batches/{id}/add_shipments", post(add_shipments))
        .route("/batches/{id}/remove_shipments", post(remove_shipments))
        .route("/batches/{id}/purchase", post(purchase))
        .layer(DefaultBodyLimit::max(BULK_BODY_LIMIT))
}

/// The inline shipment of a batch as the service keeps it until validation reads it.
pub(crate) fn read_shipment(
    raw: &Value,
) -> Result<service::shipments::CreateShipment, ValidationError> {
    let fail = |e: ApiError| ValidationError(e.into_fields("shipment"));
    let req: ShipmentCreateRequest = from_value(raw.clone()).map_err(fail)?;
    req.try_into().map_err(fail)
}

fn shipment_entry(v: Value, i: usize, errors: &mut FieldErrors) -> Option<NewBatchShipment> {
    let field = format!("batch_shipments.{i}");
    let Value::Object(mut o) = v else {
        // Shippo's second form: a list of shipment ids.
        if let Value::String(id) = v {
            return Some(NewBatchShipment {
                shipment: ShipmentSource::Existing { shipment: id },
                carrier_account: None,
                servicelevel_token: None,
                metadata: String::new(),
            });
        }
        errors.add(field, "Expected a batch shipment object or a shipment id.");
        return None;
    };
    let text = |o: &serde_json::Map<String, Value>, k: &str| match o.get(k) {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let carrier_account = text(&o, "carrier_account");
    let servicelevel_token = text(&o, "servicelevel_token");
    let metadata = text(&o, "metadata").unwrap_or_default();
    let shipment = match o.remove("shipment") {
        Some(Value::String(id)) => ShipmentSource::Existing { shipment: id },
        Some(Value::Object(s)) => ShipmentSource::Wire {
            request: Value::Object(s),
        },
        _ => {
            errors.add(
                format!("{field}.shipment"),
                "This field is required: a shipment object or a shipment id.",
            );
            return None;
        }
    };
    Some(NewBatchShipment {
        shipment,
        carrier_account,
        servicelevel_token,
        metadata,
    })
}

fn entries(list: Vec<Value>, errors: &mut FieldErrors) -> Vec<NewBatchShipment> {
    list.into_iter()
        .enumerate()
        .filter_map(|(i, v)| shipment_entry(v, i, errors))
        .collect()
}

fn label_filetype(raw: Option<String>, errors: &mut FieldErrors) -> Option<String> {
    let raw = raw
        .map(|r| r.trim().to_string())
        .filter(|r| !r.is_empty())?;
    match LabelFormat::parse(&raw) {
        Some(f) => Some(f.as_str().to_string()),
        None => {
            errors.add(
                "label_filetype",
                format!("\"{raw}\" is not a label file type (PNG, PNG_2.3x7.5, PDF, PDF_2.3x7.5, PDF_4x6, PDF_4x8, PDF_A4, PDF_A5, PDF_A6, ZPLII)."),
            );
            None
        }
    }
}

/// Create a batch.
#[derive(Debug, Deserialize, ToSchema)]
pub struct BatchCreateRequest {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub default_carrier_account: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub default_servicelevel_token: Option<String>,
    /// PNG, PNG_2.3x7.5, PDF, PDF_2.3x7.5, PDF_4x6, PDF_4x8, PDF_A4, PDF_A5, PDF_A6, ZPLII.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub label_filetype: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub metadata: Option<String>,
    /// Batch shipments `{shipment (object or id), carrier_account?, servicelevel_token?,
    /// metadata?}`, or shipment ids. Up to 10,000.
    #[schema(value_type = Vec<Object>)]
    pub batch_shipments: Option<Vec<Value>>,
}

/// A batch shipment.
#[derive(Serialize, ToSchema)]
pub struct BatchShipmentResponse {
    pub object_id: String,
    /// The shipment made for it (null while it could not be made).
    pub shipment: Option<String>,
    /// INVALID, VALID, INCOMPLETE, TRANSACTION_FAILED.
    pub status: &'static str,
    pub object_status: &'static str,
    pub carrier_account: Option<String>,
    pub servicelevel_token: Option<String>,
    pub metadata: String,
    pub transaction: Option<String>,
    pub messages: Vec<NoteResponse>,
    /// Consign: the order the shipment fulfils (batches made from orders).
    pub order: Option<String>,
}

impl From<&BatchShipment> for BatchShipmentResponse {
    fn from(b: &BatchShipment) -> Self {
        Self {
            object_id: b.id.to_string(),
            shipment: b.shipment.map(|s| s.to_string()),
            status: b.status.as_str(),
            object_status: b.status.as_str(),
            carrier_account: b.carrier_account.map(|s| s.to_string()),
            servicelevel_token: b.servicelevel_token.clone(),
            metadata: b.metadata.clone(),
            transaction: b.transaction.map(|s| s.to_string()),
            messages: b.messages.iter().map(NoteResponse::from).collect(),
            order: b.order.map(|s| s.to_string()),
        }
    }
}

/// A page of a batch's shipments.
#[derive(Serialize, ToSchema)]
pub struct BatchShipmentPage {
    pub count: i64,
    pub next: Option<String>,
    pub previous: Option<String>,
    pub results: Vec<BatchShipmentResponse>,
}

/// `object_results`.
#[derive(Serialize, ToSchema)]
pub struct BatchResults {
    pub creation_succeeded: i64,
    pub creation_failed: i64,
    pub purchase_succeeded: i64,
    pub purchase_failed: i64,
}

/// A Batch.
#[derive(Serialize, ToSchema)]
pub struct BatchResponse {
    pub object_id: String,
    pub object_owner: String,
    /// VALIDATING, VALID, INVALID, PURCHASING, PURCHASED.
    pub status: &'static str,
    pub object_status: &'static str,
    pub object_created: String,
    pub object_updated: String,
    pub metadata: String,
    pub default_carrier_account: String,
    pub default_servicelevel_token: String,
    pub label_filetype: Option<String>,
    pub batch_shipments: BatchShipmentPage,
    pub object_results: BatchResults,
    /// Signed links to the merged label files, 100 labels each.
    pub label_url: Vec<String>,
    /// Consign: shipments not yet validated (progress while VALIDATING).
    pub pending: i64,
    pub test: bool,
}

impl BatchResponse {
    fn new(s: &service::Services, v: BatchView, owner: &str, base: &str, link: &str) -> Self {
        let now = Timestamp::now();
        let page = &v.shipments;
        let url = |p: u32| {
            format!(
                "{link}{}page={p}&results={}",
                if link.contains('?') { "&" } else { "?" },
                page.request.results
            )
        };
        Self {
            object_id: v.batch.id.to_string(),
            object_owner: owner.to_string(),
            status: v.batch.status.as_str(),
            object_status: v.batch.status.as_str(),
            object_created: v.batch.created.to_string(),
            object_updated: v.batch.updated.to_string(),
            metadata: v.batch.metadata.clone(),
            default_carrier_account: v.batch.default_carrier_account.to_string(),
            default_servicelevel_token: v.batch.default_servicelevel_token.clone(),
            label_filetype: v.batch.label_filetype.clone(),
            batch_shipments: BatchShipmentPage {
                count: page.total,
                next: page.has_next().then(|| url(page.request.page + 1)),
                previous: page.has_previous().then(|| url(page.request.page - 1)),
                results: page.items.iter().map(BatchShipmentResponse::from).collect(),
            },
            object_results: BatchResults {
                creation_succeeded: v.counts.creation_succeeded,
                creation_failed: v.counts.creation_failed,
                purchase_succeeded: v.counts.purchase_succeeded,
                purchase_failed: v.counts.purchase_failed,
            },
            label_url: v
                .batch
                .label_keys
                .iter()
                .map(|k| format!("{base}{}", files::signed_path(&s.cipher, k, now)))
                .collect(),
            pending: v.counts.pending,
            test: v.batch.test,
        }
    }
}

fn answer(state: &AppState, headers: &HeaderMap, v: BatchView, owner: &str) -> Json<BatchResponse> {
    let base = base_url(headers, state);
    let link = format!("{base}/batches/{}", v.batch.id);
    Json(BatchResponse::new(&state.services, v, owner, &base, &link))
}

/// Create a batch: answered VALIDATING with no shipments; retrieve it to see them.
#[utoipa::path(post, path = "/batches", tag = "Batches",
    request_body(content((BatchCreateRequest = "application/json"))),
    responses((status = 201, body = BatchResponse), (status = 400, body = ErrorBody)), security(("ShippoToken" = [])))]
pub async fn create(
    State(state): State<AppState>,
    Auth(who): Auth,
    headers: HeaderMap,
    Body(req): Body<BatchCreateRequest>,
) -> Result<(StatusCode, Json<BatchResponse>), ApiError> {
    let mut errors = FieldErrors::new();
    let shipments = match req.batch_shipments {
        Some(list) => entries(list, &mut errors),
        None => {
            errors.add("batch_shipments", "This field is required.");
            Vec::new()
        }
    };
    let input = CreateBatch {
        default_carrier_account: req.default_carrier_account,
        default_servicelevel_token: req.default_servicelevel_token,
        label_filetype: label_filetype(req.label_filetype, &mut errors),
        metadata: req.metadata.unwrap_or_default(),
        shipments,
        errors,
        idempotency_key: None,
        purchase_when_valid: false,
    };
    let v = batches::create(&state.services, &who, input).await?;
    Ok((
        StatusCode::CREATED,
        answer(&state, &headers, v, &who.account_name),
    ))
}

/// Retrieve a batch with its shipments, 100 a page (`page`, `results`), filtered by
/// `object_results` (creation_succeeded, creation_failed, purchase_succeeded, purchase_failed).
#[utoipa::path(get, path = "/batches/{id}", tag = "Batches", params(("id" = String, Path), ("page" = Option<u32>, Query), ("results" = Option<u32>, Query), ("object_results" = Option<String>, Query)),
    responses((status = 200, body = BatchResponse), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)), security(("ShippoToken" = [])))]
pub async fn retrieve(
    State(state): State<AppState>,
    Auth(who): Auth,
    headers: HeaderMap,
    Id(id): Id,
    q: ListQuery,
) -> Result<Json<BatchResponse>, ApiError> {
    let filter = match q.param("object_results").map(str::trim).filter(|v| !v.is_empty()) {
        None => None,
        Some(raw) => Some(BatchResultFilter::parse(raw).ok_or_else(|| {
            ApiError::field(
                "object_results",
                format!("\"{raw}\" is not one of creation_succeeded, creation_failed, purchase_succeeded, purchase_failed."),
            )
        })?),
    };
    // 100 a page unless the client asks for fewer.
    let page = PageRequest {
        page: q.page.page,
        results: if q.results_given {
            q.page.results.min(batches::PAGE)
        } else {
            batches::PAGE
        },
    };
    let v = batches::get(&state.services, &who, id, filter, page).await?;
    let base = base_url(&headers, &state);
    let mut link = format!("{base}/batches/{id}");
    if let Some(f) = filter {
        link.push_str(&format!("?object_results={}", f.as_str()));
    }
    Ok(Json(BatchResponse::new(
        &state.services,
        v,
        &who.account_name,
        &base,
        &link,
    )))
}

/// Another account's (or mode's) batch is unknown before the body is judged.
async fn exists(state: &AppState, who: &service::Principal, id: ObjectId) -> Result<(), ApiError> {
    batches::get(
        &state.services,
        who,
        id,
        None,
        PageRequest {
            page: 1,
            results: 1,
        },
    )
    .await?;
    Ok(())
}

fn array(v: Value, what: &str) -> Result<Vec<Value>, ApiError> {
    match v {
        Value::Array(a) => Ok(a),
        _ => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_body",
            format!("The request body must be a JSON array of {what}."),
        )),
    }
}

/// Add shipments to a batch not yet purchased (the body is a JSON array of batch shipments).
#[utoipa::path(post, path = "/batches/{id}/add_shipments", tag = "Batches", params(("id" = String, Path)),
    request_body(content((Vec<Object> = "application/json"))),
    responses((status = 200, body = BatchResponse), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)), security(("ShippoToken" = [])))]
pub async fn add_shipments(
    State(state): State<AppState>,
    Auth(who): Auth,
    headers: HeaderMap,
    Id(id): Id,
    AnyBody(body): AnyBody,
) -> Result<Json<BatchResponse>, ApiError> {
    exists(&state, &who, id).await?;
    let list = array(body, "batch shipments")?;
    let mut errors = FieldErrors::new();
    let given = entries(list, &mut errors);
    if given.is_empty() && errors.is_empty() {
        errors.add("batch_shipments", "Add at least one batch shipment.");
    }
    errors.into_result()?;
    let v = batches::add_shipments(&state.services, &who, id, given).await?;
    Ok(answer(&state, &headers, v, &who.account_name))
}

/// Remove shipments from a batch not yet purchased (the body is a JSON array of batch-shipment
/// ids).
#[utoipa::path(post, path = "/batches/{id}/remove_shipments", tag = "Batches", params(("id" = String, Path)),
    request_body(content((Vec<String> = "application/json"))),
    responses((status = 200, body = BatchResponse), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)), security(("ShippoToken" = [])))]
pub async fn remove_shipments(
    State(state): State<AppState>,
    Auth(who): Auth,
    headers: HeaderMap,
    Id(id): Id,
    AnyBody(body): AnyBody,
) -> Result<Json<BatchResponse>, ApiError> {
    exists(&state, &who, id).await?;
    let list = array(body, "batch shipment ids")?;
    let mut errors = FieldErrors::new();
    let mut ids = Vec::with_capacity(list.len());
    for (i, v) in list.iter().enumerate() {
        match v.as_str().and_then(|s| ObjectId::parse(s.trim())) {
            Some(id) => ids.push(id),
            None => errors.add(format!("{i}"), format!("{v} is not a batch shipment id.")),
        }
    }
    errors.into_result()?;
    let v = batches::remove_shipments(&state.services, &who, id, ids).await?;
    Ok(answer(&state, &headers, v, &who.account_name))
}

/// Purchase a VALID batch: answered 202 PURCHASING; PURCHASED when every label is bought.
#[utoipa::path(post, path = "/batches/{id}/purchase", tag = "Batches", params(("id" = String, Path)),
    responses((status = 202, body = BatchResponse), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)), security(("ShippoToken" = [])))]
pub async fn purchase(
    State(state): State<AppState>,
    Auth(who): Auth,
    headers: HeaderMap,
    Id(id): Id,
) -> Result<(StatusCode, Json<BatchResponse>), ApiError> {
    let v = batches::purchase(&state.services, &who, id).await?;
    Ok((
        StatusCode::ACCEPTED,
        answer(&state, &headers, v, &who.account_name),
    ))
}

/// Make a batch from orders (Consign extension).
#[derive(Debug, Deserialize, ToSchema)]
pub struct BatchFromOrdersRequest {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub default_carrier_account: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub default_servicelevel_token: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub label_filetype: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub metadata: Option<String>,
    /// The sender address (an id). Required.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub address_from: Option<String>,
    /// Which orders: statuses (default PAID), `start_date`, `end_date` (placed at), `shop_app`.
    pub order_status: Option<Vec<String>>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub start_date: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub end_date: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub shop_app: Option<String>,
    /// The parcel's size: a carrier template token (`USPS_SmallFlatRateBox`), a user parcel
    /// template's id (its size, and its weight as the default weight) or the dimensions below;
    /// its weight comes from each order's line items still to ship (else the order's weight,
    /// else `default_weight`); an order with none of them is INCOMPLETE.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub parcel_template: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub length: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub width: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub height: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub distance_unit: Option<String>,
    /// The weight of a parcel whose order says nothing of its weight (decimal string);
    /// without it such orders are INCOMPLETE.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub default_weight: Option<String>,
    /// The unit of `default_weight` (`lb`, `oz`, `kg`, `g`); default: `mass_unit`.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub default_weight_unit: Option<String>,
    /// Former name of `default_weight` (still read).
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub weight: Option<String>,
    /// The parcels' mass unit (default: the orders' own).
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub mass_unit: Option<String>,
    /// What the customs declaration of each international order takes from the request (the
    /// rest comes from its line items); without `certify_signer` international orders are
    /// INCOMPLETE.
    pub customs: Option<CustomsDefaultsRequest>,
}

/// Customs defaults of a batch from orders (Consign extension).
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct CustomsDefaultsRequest {
    /// Who certifies the declarations. Required for international orders.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub certify_signer: Option<String>,
    /// Shippo's `contents_type` (default MERCHANDISE).
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub contents_type: Option<String>,
    /// Shippo's `incoterm` (DDP, DDU, FCA, DAP, eDAP).
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub incoterm: Option<String>,
    /// Shippo's `non_delivery_option` (default RETURN).
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub non_delivery_option: Option<String>,
    /// The origin country (ISO 3166-1 alpha-2) of line items that do not name theirs.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub origin_country: Option<String>,
}

/// A request's text value trimmed; `None` when it is blank.
fn trimmed(v: Option<String>) -> Option<String> {
    v.map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
}

/// The customs defaults, their choices checked (errors named `customs.<field>`).
fn customs_plan(
    c: Option<CustomsDefaultsRequest>,
    errors: &mut FieldErrors,
) -> Option<batches::CustomsPlan> {
    let c = c?;
    let plan = batches::CustomsPlan {
        certify_signer: trimmed(c.certify_signer),
        contents_type: trimmed(c.contents_type).map(|v| v.to_ascii_uppercase()),
        incoterm: trimmed(c.incoterm),
        non_delivery_option: trimmed(c.non_delivery_option).map(|v| v.to_ascii_uppercase()),
        origin_country: trimmed(c.origin_country).map(|v| v.to_ascii_uppercase()),
    };
    for (field, value, choices) in [
        (
            "contents_type",
            &plan.contents_type,
            &domain::customs::CONTENTS_TYPES[..],
        ),
        ("incoterm", &plan.incoterm, &domain::customs::INCOTERMS[..]),
        (
            "non_delivery_option",
            &plan.non_delivery_option,
            &domain::customs::NON_DELIVERY_OPTIONS[..],
        ),
    ] {
        if let Some(v) = value {
            if !choices.contains(&v.as_str()) {
                errors.add(
                    format!("customs.{field}"),
                    format!("\"{v}\" is not one of {}.", choices.join(", ")),
                );
            }
        }
    }
    if let Some(c) = &plan.origin_country {
        if c.len() != 2 || !c.chars().all(|ch| ch.is_ascii_alphabetic()) {
            errors.add(
                "customs.origin_country",
                format!("\"{c}\" is not an ISO 3166-1 alpha-2 country code."),
            );
        }
    }
    if let Some(s) = &plan.certify_signer {
        if s.chars().count() > 100 {
            errors.add("customs.certify_signer", "At most 100 characters.");
        }
    }
    Some(plan)
}

/// Make a batch of one shipment per matching order (Consign extension): the day's "ship
/// everything" is this call and `POST /batches/{id}/purchase`.
#[utoipa::path(post, path = "/batches/from_orders", tag = "Batches",
    request_body(content((BatchFromOrdersRequest = "application/json"))),
    responses((status = 201, body = BatchResponse), (status = 400, body = ErrorBody)), security(("ShippoToken" = [])))]
pub async fn from_orders(
    State(state): State<AppState>,
    Auth(who): Auth,
    headers: HeaderMap,
    Body(req): Body<BatchFromOrdersRequest>,
) -> Result<(StatusCode, Json<BatchResponse>), ApiError> {
    let mut errors = FieldErrors::new();
    let mut filter = domain::order::OrderFilter::default();
    for (i, raw) in req.order_status.unwrap_or_default().iter().enumerate() {
        match domain::order::OrderStatus::parse(raw.trim()) {
            Some(s) => filter.statuses.push(s),
            None => errors.add(
                format!("order_status.{i}"),
                format!("\"{raw}\" is not an order status."),
            ),
        }
    }
    filter.placed_from = crate::orders::time(req.start_date, "start_date", &mut errors);
    filter.placed_to = crate::orders::time(req.end_date, "end_date", &mut errors);
    filter.shop_app = req.shop_app;
    let address_from = req.address_from.unwrap_or_default();
    if address_from.trim().is_empty() {
        errors.add("address_from", "This field is required.");
    }
    let template = req
        .parcel_template
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty());
    // A user parcel template (by id): its size, its carrier template, its weight.
    let mut user = None;
    if let Some(id) = template.as_deref().and_then(ObjectId::parse) {
        match service::parcel_templates::get(&state.services, &who, id).await {
            Ok(t) => user = Some(t),
            Err(service::ServiceError::NotFound) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let known = match &user {
        Some(u) => u
            .template
            .as_deref()
            .and_then(domain::parcel_templates::find),
        None => template
            .as_deref()
            .and_then(|t| domain::parcel_templates::find(t).filter(|k| k.has_dimensions())),
    };
    if template.is_some() && known.is_none() && user.is_none() {
        errors.add(
            "parcel_template",
            "Not a carrier parcel template with dimensions, nor one of your parcel templates.",
        );
    }
    let dim = |v: Option<String>, t: Option<&str>, u: Option<&str>| {
        v.or(u.map(String::from))
            .or(t.map(String::from))
            .filter(|x| !x.trim().is_empty())
    };
    let u = user.as_ref();
    let default_weight = trimmed(req.default_weight.or(req.weight));
    let default_unit = trimmed(req.default_weight_unit);
    if let Some(w) = &default_weight {
        if !w
            .parse::<rust_decimal::Decimal>()
            .is_ok_and(|d| d > rust_decimal::Decimal::ZERO)
        {
            errors.add(
                "default_weight",
                format!("\"{w}\" is not a positive decimal number."),
            );
        }
        if default_unit.is_none() && req.mass_unit.is_none() {
            errors.add(
                "default_weight_unit",
                "This field is required with default_weight (lb, oz, kg or g).",
            );
        }
    }
    for (f, v) in [
        ("default_weight_unit", &default_unit),
        ("mass_unit", &req.mass_unit),
    ] {
        if let Some(v) = v {
            if v.trim().parse::<domain::units::MassUnit>().is_err() {
                errors.add(f, format!("\"{v}\" is not one of lb, oz, kg, g."));
            }
        }
    }
    let (weight, weight_unit) = match (default_weight, u.and_then(|u| u.weight.clone())) {
        (Some(w), _) => (Some(w), default_unit.or(req.mass_unit.clone())),
        (None, Some(w)) => (
            Some(w),
            u.and_then(|u| u.weight_unit)
                .map(|m| m.as_str().to_string()),
        ),
        (None, None) => (None, None),
    };
    let parcel = ParcelPlan {
        length: dim(
            req.length,
            known.map(|k| k.length),
            u.map(|u| u.length.as_str()),
        )
        .unwrap_or_default(),
        width: dim(
            req.width,
            known.map(|k| k.width),
            u.map(|u| u.width.as_str()),
        )
        .unwrap_or_default(),
        height: dim(
            req.height,
            known.map(|k| k.height),
            u.map(|u| u.height.as_str()),
        )
        .unwrap_or_default(),
        distance_unit: dim(
            req.distance_unit,
            known.map(|k| k.unit.as_str()),
            u.map(|u| u.distance_unit.as_str()),
        )
        .unwrap_or_else(|| "in".into()),
        template: known.map(|k| k.token.to_string()),
        weight,
        weight_unit,
        mass_unit: req.mass_unit,
        entered_weight: None,
    };
    if known.is_none() && user.is_none() {
        for (f, v) in [
            ("length", &parcel.length),
            ("width", &parcel.width),
            ("height", &parcel.height),
        ] {
            if v.trim().is_empty() {
                errors.add(f, "This field is required without a parcel_template.");
            }
        }
    }
    let input = CreateBatch {
        default_carrier_account: req.default_carrier_account,
        default_servicelevel_token: req.default_servicelevel_token,
        label_filetype: label_filetype(req.label_filetype, &mut errors),
        metadata: req.metadata.unwrap_or_default(),
        shipments: Vec::new(),
        errors: FieldErrors::new(),
        idempotency_key: None,
        purchase_when_valid: false,
    };
    let customs = customs_plan(req.customs, &mut errors);
    errors.into_result()?;
    let v = batches::from_orders_with_customs(
        &state.services,
        &who,
        filter,
        &address_from,
        parcel,
        customs,
        input,
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        answer(&state, &headers, v, &who.account_name),
    ))
}
