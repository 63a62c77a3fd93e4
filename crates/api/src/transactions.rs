//! `/transactions`: buy a label (by rate, or "instalabel" with a whole shipment), retrieve, list.
//! Shippo reference: seed 002 "Transactions"; <https://docs.goshippo.com/shippoapi/public-api/#tag/Transactions>.
//!
//! `async` defaults to `true` for a rate purchase and `false` for instalabel, as in the SDK. A
//! retried request (same rate, or the same `Idempotency-Key` header) answers the first purchase.
//! `label_url` and `commercial_invoice_url` are signed links on Consign valid for 7 days (see
//! [`service::files`]); the current shape's `tracking_status` is a status string, the seed's
//! (`Shippo-API-Version` ≤ 2014-02-11) an object.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use axum::{Json, Router};
use documents::LabelFormat;
use domain::shipment::Rate;
use domain::tracking::{Track, TrackStatus};
use domain::transaction::TransactionFilter;
use domain::transaction::{Transaction, TransactionStatus};
use domain::FieldErrors;
use domain::{ObjectId, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use service::orders::OrderLink;
use service::transactions::{self, InstalabelInput, LabelOptions, PurchaseInput};
use service::{files, scope, tracking};
use utoipa::ToSchema;

use crate::auth::Auth;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{nested, Body, Id};
use crate::lenient;
use crate::pagination::{base_url, ListQuery, Paginated};
use crate::rates::NoteResponse;
use crate::shipments::ShipmentCreateRequest;
use crate::tracks::TrackingStatusResponse;
use crate::version::Shape;
use crate::AppState;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/transactions", get(list).post(create))
        .route("/transactions/{id}", get(retrieve))
}

/// Buy a rate (`rate`), or a shipment's rate in one call (`shipment`, `carrier_account`,
/// `servicelevel_token`).
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct TransactionCreateRequest {
    /// The rate to buy.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub rate: Option<String>,
    /// Instalabel: the shipment to create and buy.
    #[schema(value_type = Option<Object>)]
    pub shipment: Option<Value>,
    /// Instalabel: the carrier account whose rate to buy.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub carrier_account: Option<String>,
    /// Instalabel: the service level to buy.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub servicelevel_token: Option<String>,
    /// PNG, PNG_2.3x7.5, PDF, PDF_2.3x7.5, PDF_4x6, PDF_4x8, PDF_A4, PDF_A5, PDF_A6, ZPLII
    /// (default: the account's).
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub label_file_type: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub metadata: Option<String>,
    /// `true` answers QUEUED and makes the label in the background.
    #[serde(rename = "async", default, deserialize_with = "lenient::opt_bool")]
    #[schema(value_type = Option<bool>)]
    pub asynchronous: Option<bool>,
    /// The order the parcel carries (an id), or Consign: several orders' ids (one buyer's
    /// orders shipped together).
    #[schema(value_type = Option<String>)]
    pub order: Option<Value>,
    /// Consign: the part of the order(s) this parcel carries, `[{order?, line_item, quantity}]`
    /// (`order` may be left out when one order is named); without it the parcel carries
    /// everything still to ship.
    #[schema(value_type = Option<Vec<Object>>)]
    pub line_items: Option<Value>,
}

/// Reads `order` and `line_items` into the orders a purchase names.
fn order_links(
    order: Option<Value>,
    line_items: Option<Value>,
    errors: &mut FieldErrors,
) -> Vec<OrderLink> {
    use domain::order::Portion;
    use domain::ObjectId;
    let mut links: Vec<OrderLink> = Vec::new();
    let ids: Vec<Value> = match order {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a,
        Some(v) => vec![v],
    };
    for (i, v) in ids.iter().enumerate() {
        let raw = v.as_str().map(str::trim).unwrap_or_default();
        match ObjectId::parse(raw) {
            Some(id) => links.push(OrderLink {
                order: id,
                portions: Vec::new(),
            }),
            None if raw.is_empty() && ids.len() == 1 && v.is_string() => {}
            None => errors.add(
                if ids.len() == 1 {
                    "order".to_string()
                } else {
                    format!("order.{i}")
                },
                format!("No order with id {v}."),
            ),
        }
    }
    let items = match line_items {
        None | Some(Value::Null) => return links,
        Some(Value::Array(a)) => a,
        Some(_) => {
            errors.add(
                "line_items",
                "Expected a list of {line_item, quantity} objects.",
            );
            return links;
        }
    };
    if links.is_empty() {
        errors.add(
            "order",
            "Name the order whose line items the parcel carries.",
        );
        return links;
    }
    for (i, item) in items.iter().enumerate() {
        let field = format!("line_items.{i}");
        let id = |k: &str| {
            item.get(k)
                .and_then(Value::as_str)
                .and_then(|s| ObjectId::parse(s.trim()))
        };
        let Some(line_item) = id("line_item").or_else(|| id("object_id")) else {
            errors.add(format!("{field}.line_item"), "A line item id is required.");
            continue;
        };
        let quantity = match item.get("quantity") {
            None | Some(Value::Null) => None,
            Some(q) => q
                .as_u64()
                .or_else(|| q.as_str().and_then(|s| s.trim().parse().ok()))
                .and_then(|n| u32::try_from(n).ok()),
        };
        let Some(quantity) = quantity.filter(|q| *q >= 1) else {
            errors.add(
                format!("{field}.quantity"),
                "A whole number of at least 1 is required.",
            );
            continue;
        };
        let order = match item.get("order") {
            None | Some(Value::Null) if links.len() == 1 => links[0].order,
            None | Some(Value::Null) => {
                errors.add(
                    format!("{field}.order"),
                    "Several orders are named: say which one this line item is of.",
                );
                continue;
            }
            Some(v) => match v.as_str().and_then(|s| ObjectId::parse(s.trim())) {
                Some(o) if links.iter().any(|l| l.order == o) => o,
                _ => {
                    errors.add(
                        format!("{field}.order"),
                        format!("{v} is not one of the orders named in `order`."),
                    );
                    continue;
                }
            },
        };
        let link = links
            .iter_mut()
            .find(|l| l.order == order)
            .expect("named above");
        link.portions.push(Portion {
            line_item,
            quantity,
        });
    }
    links
}

/// A Transaction in the current shape.
#[derive(Serialize, ToSchema)]
pub struct TransactionResponse {
    pub object_id: String,
    pub object_owner: String,
    pub object_created: String,
    pub object_updated: String,
    pub object_state: &'static str,
    /// WAITING, QUEUED, SUCCESS, ERROR, REFUNDED, REFUNDPENDING, REFUNDREJECTED.
    pub status: &'static str,
    /// Always null (purchases through the API belong to no user); the SDK requires the key.
    #[schema(value_type = Option<Object>)]
    pub created_by: Option<Value>,
    pub test: bool,
    /// The rate's id, or (instalabel answer) the rate as an object.
    #[schema(schema_with = id_or_object)]
    pub rate: Value,
    pub tracking_number: String,
    /// UNKNOWN until tracking events arrive; null before the label exists.
    pub tracking_status: Option<&'static str>,
    #[schema(value_type = Vec<Object>)]
    pub tracking_history: Vec<Value>,
    pub tracking_url_provider: String,
    pub eta: Option<String>,
    pub label_file_type: String,
    pub label_url: String,
    pub commercial_invoice_url: String,
    pub qr_code_url: String,
    pub messages: Vec<NoteResponse>,
    pub metadata: String,
    /// The manifest this label is on.
    pub manifest: Option<String>,
}

/// A Transaction in the seed's shape.
#[derive(Serialize, ToSchema)]
pub struct LegacyTransactionResponse {
    pub object_state: &'static str,
    pub object_status: &'static str,
    pub object_created: String,
    pub object_updated: String,
    pub object_id: String,
    pub object_owner: String,
    pub was_test: bool,
    pub rate: String,
    pub tracking_number: String,
    #[schema(value_type = Option<Object>)]
    pub tracking_status: Option<Value>,
    #[schema(value_type = Vec<Object>)]
    pub tracking_history: Vec<Value>,
    pub tracking_url_provider: String,
    pub eta: String,
    pub label_url: String,
    pub commercial_invoice_url: String,
    pub messages: Vec<NoteResponse>,
    pub customs_note: String,
    pub submission_note: String,
    pub metadata: String,
}

/// Either shape.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum TransactionBody {
    Current(Box<TransactionResponse>),
    Legacy(Box<LegacyTransactionResponse>),
}

/// A transaction as `transaction_created`/`transaction_updated` webhooks carry it: the
/// current shape, as `GET /transactions/{id}` answers it.
pub(crate) fn webhook_body(
    cipher: &service::Cipher,
    base: &str,
    owner: &str,
    t: &Transaction,
) -> Value {
    serde_json::to_value(TransactionBody::new(
        cipher,
        t.clone(),
        owner,
        Shape::Current,
        base,
        None,
        None,
    ))
    .expect("a transaction serialises")
}

/// Links of a transaction's files, built for the request that reads it.
struct Links {
    label: String,
    invoice: String,
    tracking: String,
}

fn links(cipher: &service::Cipher, t: &Transaction, base: &str) -> Links {
    let now = Timestamp::now();
    let signed = |k: &Option<String>| {
        k.as_deref()
            .map(|k| format!("{base}{}", files::signed_path(cipher, k, now)))
            .unwrap_or_default()
    };
    Links {
        label: signed(&t.label_key),
        invoice: signed(&t.invoice_key),
        tracking: t
            .tracking_url
            .as_deref()
            .map(|p| format!("{base}{p}"))
            .unwrap_or_default(),
    }
}

/// `rate` in the document: a string (the rate's id) or an object (the instalabel answer).
fn id_or_object() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Type};
    OneOfBuilder::new()
        .item(ObjectBuilder::new().schema_type(Type::String))
        .item(ObjectBuilder::new().schema_type(Type::Object))
        .build()
        .into()
}

/// The rate as the instalabel answer carries it (the SDK's CoreRate).
fn core_rate(r: &Rate) -> Value {
    json!({
        "object_id": r.id.to_string(),
        "amount": r.details.amount.amount.to_string(),
        "currency": r.details.amount.currency,
        "amount_local": r.details.amount_local.amount.to_string(),
        "currency_local": r.details.amount_local.currency,
        "provider": r.details.provider,
        "servicelevel_name": r.details.service_name,
        "servicelevel_token": r.details.service_token,
        "carrier_account": r.carrier_account.to_string(),
    })
}

impl TransactionBody {
    fn new(
        cipher: &service::Cipher,
        t: Transaction,
        owner: &str,
        shape: Shape,
        base: &str,
        rate: Option<&Rate>,
        track: Option<&Track>,
    ) -> Self {
        let l = links(cipher, &t, base);
        let has_label = t.label_key.is_some();
        let history: Vec<Value> = track
            .map(|k| {
                k.history
                    .iter()
                    .map(|e| {
                        serde_json::to_value(TrackingStatusResponse::new(e)).expect("serialises")
                    })
                    .collect()
            })
            .unwrap_or_default();
        let status = track.map_or(TrackStatus::Unknown, Track::status);
        let messages = t.messages.iter().map(NoteResponse::from).collect();
        match shape {
            Shape::Current => TransactionBody::Current(Box::new(TransactionResponse {
                object_id: t.id.to_string(),
                object_owner: owner.to_string(),
                object_created: t.created.to_string(),
                object_updated: t.updated.to_string(),
                object_state: "VALID",
                status: t.status.as_str(),
                created_by: None,
                test: t.test,
                rate: rate.map(core_rate).unwrap_or_else(|| Value::String(t.rate.to_string())),
                tracking_number: t.tracking_number.unwrap_or_default(),
                tracking_status: has_label.then_some(status.as_str()),
                tracking_history: history,
                tracking_url_provider: l.tracking,
                eta: t.eta.map(|e| e.to_string()),
                label_file_type: t.label_file_type,
                label_url: l.label,
                commercial_invoice_url: l.invoice,
                qr_code_url: String::new(),
                messages,
                metadata: t.metadata,
                manifest: t.manifest.map(|m| m.to_string()),
            })),
            Shape::Legacy => TransactionBody::Legacy(Box::new(LegacyTransactionResponse {
                object_state: "VALID",
                object_status: t.status.as_str(),
                object_created: t.created.to_string(),
                object_updated: t.updated.to_string(),
                object_id: t.id.to_string(),
                object_owner: owner.to_string(),
                was_test: t.test,
                rate: t.rate.to_string(),
                tracking_number: t.tracking_number.unwrap_or_default(),
                tracking_status: has_label.then(|| match track {
                    Some(k) => serde_json::to_value(TrackingStatusResponse::current(k)).expect("serialises"),
                    None => json!({"object_created": t.updated.to_string(), "object_updated": t.updated.to_string(), "object_id": t.id.to_string(), "status": "UNKNOWN", "status_details": "", "status_date": null}),
                }),
                tracking_history: history,
                tracking_url_provider: l.tracking,
                eta: t.eta.map(|e| e.to_string()).unwrap_or_default(),
                label_url: l.label,
                commercial_invoice_url: l.invoice,
                messages,
                customs_note: String::new(),
                submission_note: String::new(),
                metadata: t.metadata,
            })),
        }
    }
}

/// What a purchase says about its label, read and checked (problems added to `errors`).
fn label_options(
    label_file_type: Option<String>,
    metadata: Option<String>,
    key: Option<String>,
    errors: &mut FieldErrors,
) -> LabelOptions {
    let format = match label_file_type
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        None => None,
        Some(raw) => match LabelFormat::parse(raw) {
            Some(f) => Some(f),
            None => {
                let names: Vec<&str> = LabelFormat::ALL.iter().map(|f| f.as_str()).collect();
                errors.add(
                    "label_file_type",
                    format!(
                        "\"{raw}\" is not a label file type; use one of {}.",
                        names.join(", ")
                    ),
                );
                None
            }
        },
    };
    let metadata = metadata.unwrap_or_default();
    if metadata.chars().count() > transactions::METADATA_MAX {
        errors.add(
            "metadata",
            format!("At most {} characters.", transactions::METADATA_MAX),
        );
    }
    let key = key.map(|k| k.trim().to_string()).filter(|k| !k.is_empty());
    if let Some(k) = &key {
        if k.len() > transactions::IDEMPOTENCY_KEY_MAX || k.chars().any(char::is_control) {
            errors.add(
                "Idempotency-Key",
                format!(
                    "At most {} printable characters.",
                    transactions::IDEMPOTENCY_KEY_MAX
                ),
            );
        }
    }
    LabelOptions {
        format,
        metadata,
        key,
    }
}

/// A required object id: "required" when absent, "No {what} with id" when it cannot be one.
fn required_id(
    errors: &mut FieldErrors,
    field: &str,
    what: &str,
    raw: Option<&str>,
) -> Option<domain::ObjectId> {
    match raw.map(str::trim) {
        None | Some("") => {
            errors.add(field, "This field is required.");
            None
        }
        Some(raw) => {
            let id = domain::ObjectId::parse(raw);
            if id.is_none() {
                errors.add(field, format!("No {what} with id \"{raw}\"."));
            }
            id
        }
    }
}

fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    match headers.get("idempotency-key") {
        None => Ok(None),
        Some(v) => v
            .to_str()
            .map(|s| Some(s.to_string()))
            .map_err(|_| ApiError::field("Idempotency-Key", "Use printable ASCII characters.")),
    }
}

/// Buy a label.
#[utoipa::path(post, path = "/transactions", tag = "Transactions",
    request_body(content((TransactionCreateRequest = "application/json"))),
    params(("Idempotency-Key" = Option<String>, Header, description = "Retries with the same key answer the first purchase")),
    responses((status = 201, body = TransactionBody), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("ShippoToken" = [])))]
pub async fn create(
    State(state): State<AppState>,
    Auth(who): Auth,
    shape: Shape,
    headers: HeaderMap,
    Body(req): Body<TransactionCreateRequest>,
) -> Result<(StatusCode, Json<TransactionBody>), ApiError> {
    let key = idempotency_key(&headers)?;
    let base = base_url(&headers, &state);
    let s = &state.services;
    let body = match req.shipment {
        Some(shipment) => {
            let shipment: ShipmentCreateRequest = nested("shipment", shipment)?;
            let mut errors = FieldErrors::new();
            let account = required_id(
                &mut errors,
                "carrier_account",
                "carrier account",
                req.carrier_account.as_deref(),
            );
            let token = req
                .servicelevel_token
                .unwrap_or_default()
                .trim()
                .to_string();
            if token.is_empty() {
                errors.add("servicelevel_token", "This field is required.");
            }
            let options = label_options(req.label_file_type, req.metadata, key, &mut errors);
            let orders = order_links(req.order, req.line_items, &mut errors);
            errors.into_result()?;
            let input = InstalabelInput {
                orders,
                shipment: shipment.try_into()?,
                carrier_account: account.expect("checked above"),
                servicelevel_token: token,
                options,
                asynchronous: req.asynchronous.unwrap_or(false),
            };
            let (t, rate) = transactions::instalabel(s, &who, input).await?;
            TransactionBody::new(
                &s.cipher,
                t,
                &who.account_name,
                shape,
                &base,
                Some(&rate),
                None,
            )
        }
        None => {
            let mut errors = FieldErrors::new();
            let rate = required_id(&mut errors, "rate", "rate", req.rate.as_deref());
            let options = label_options(req.label_file_type, req.metadata, key, &mut errors);
            let orders = order_links(req.order, req.line_items, &mut errors);
            errors.into_result()?;
            let input = PurchaseInput {
                orders,
                rate: rate.expect("checked above"),
                options,
                asynchronous: req.asynchronous.unwrap_or(true),
            };
            let t = transactions::purchase(s, &who, input).await?;
            TransactionBody::new(&s.cipher, t, &who.account_name, shape, &base, None, None)
        }
    };
    Ok((StatusCode::CREATED, Json(body)))
}

/// Retrieve a transaction.
#[utoipa::path(get, path = "/transactions/{id}", tag = "Transactions", params(("id" = String, Path)),
    responses((status = 200, body = TransactionBody), (status = 404, body = ErrorBody)),
    security(("ShippoToken" = [])))]
pub async fn retrieve(
    State(state): State<AppState>,
    Auth(who): Auth,
    shape: Shape,
    headers: HeaderMap,
    Id(id): Id,
) -> Result<Json<TransactionBody>, ApiError> {
    let s = &state.services;
    let t = transactions::get(s, &who, id).await?;
    let rate = if t.instalabel && shape == Shape::Current {
        Some(transactions::rate_of(s, &who, &t).await?)
    } else {
        None
    };
    let track = tracking::of_transactions(s, scope(&who), &[t.id])
        .await?
        .remove(&t.id);
    Ok(Json(TransactionBody::new(
        &s.cipher,
        t,
        &who.account_name,
        shape,
        &base_url(&headers, &state),
        rate.as_ref(),
        track.as_ref(),
    )))
}

/// A page of transactions.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct TransactionList {
    count: i64,
    next: Option<String>,
    previous: Option<String>,
    results: Vec<TransactionBody>,
}

/// List transactions, newest first; filter by `rate`, `object_status` (or `status`) and
/// `tracking_status`.
#[utoipa::path(get, path = "/transactions", tag = "Transactions",
    params(("page" = Option<u32>, Query), ("results" = Option<u32>, Query), ("rate" = Option<String>, Query),
        ("object_status" = Option<String>, Query), ("tracking_status" = Option<String>, Query)),
    responses((status = 200, body = TransactionList), (status = 400, body = ErrorBody)), security(("ShippoToken" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Auth(who): Auth,
    shape: Shape,
    headers: HeaderMap,
    q: ListQuery,
) -> Result<Json<Paginated<TransactionBody>>, ApiError> {
    let mut filter = TransactionFilter::default();
    if let Some(raw) = q.param("rate").map(str::trim).filter(|v| !v.is_empty()) {
        filter.rate = Some(
            ObjectId::parse(raw)
                .ok_or_else(|| ApiError::field("rate", format!("\"{raw}\" is not a rate id.")))?,
        );
    }
    if let Some(raw) = q
        .param("object_status")
        .or(q.param("status"))
        .map(str::trim)
        .filter(|v| !v.is_empty())
    {
        filter.status = Some(TransactionStatus::parse(raw).ok_or_else(|| {
            ApiError::field("object_status", format!("\"{raw}\" is not a status; use WAITING, QUEUED, SUCCESS, ERROR, REFUNDED, REFUNDPENDING or REFUNDREJECTED."))
        })?);
    }
    if let Some(raw) = q
        .param("tracking_status")
        .map(str::trim)
        .filter(|v| !v.is_empty())
    {
        filter.tracking = Some(TrackStatus::parse(raw).ok_or_else(|| {
            ApiError::field(
                "tracking_status",
                format!("\"{raw}\" is not a tracking status; use UNKNOWN, PRE_TRANSIT, TRANSIT, DELIVERED, RETURNED or FAILURE."),
            )
        })?);
    }
    let s = &state.services;
    let page = transactions::list(s, &who, &filter, q.page).await?;
    let ids: Vec<ObjectId> = page.items.iter().map(|t| t.id).collect();
    let mut tracks = tracking::of_transactions(s, scope(&who), &ids).await?;
    let base = base_url(&headers, &state);
    Ok(Json(Paginated::new(&q, page, |t| {
        let track = tracks.remove(&t.id);
        TransactionBody::new(
            &s.cipher,
            t,
            &who.account_name,
            shape,
            &base,
            None,
            track.as_ref(),
        )
    })))
}
