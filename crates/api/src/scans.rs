//! The courier's side (seed 001): scan events posted by a courier's scanners with a scan key,
//! and the merchant's management of those keys. A Consign extension: Shippo has no equivalent,
//! because there the carriers are someone else.
//!
//! - `POST /carrier_accounts/{id}/scan_keys` (merchant token): a key for one rate-card carrier
//!   account, shown once; `GET` lists them; `DELETE /scan_keys/{id}` revokes one.
//! - `POST /scans` (`Authorization: Bearer consign_scan_…`): one event as a JSON object
//!   (201, or 400 when refused), a batch as `{"events": [...]}` or a JSON array, or a CSV file
//!   (`text/csv`, header `tracking_number,status,substatus,details,occurred_at,city,state,zip,country`);
//!   a batch (at most 1,000 events) answers 200 with an outcome per event.

use axum::extract::{FromRequestParts, State};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{delete, post};
use axum::{Json, Router};
use domain::tracking::ScanInput;
use domain::tracking::ScanKey;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use service::scan_keys;
use service::tracking::{self, ScanOutcome};
use utoipa::ToSchema;

use crate::auth::{token_from_header, Auth};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{from_value, media_type, Id, RawBody};
use crate::lenient;
use crate::tracks::Location;
use crate::AppState;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/carrier_accounts/{id}/scan_keys",
            post(create_key).get(list_keys),
        )
        .route("/scan_keys/{id}", delete(revoke_key))
        .route("/scans", post(ingest))
}

/// The courier's key from the `Authorization` header.
pub struct Courier(pub ScanKey);

impl FromRequestParts<AppState> for Courier {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let key = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|h| h.to_str().ok())
            .and_then(token_from_header)
            .filter(|k| k.len() <= 200)
            .ok_or_else(|| {
                ApiError::unauthorized(
                    "Send the courier's scan key: Authorization: Bearer consign_scan_….",
                )
            })?;
        scan_keys::authenticate(&state.services, key)
            .await
            .map(Courier)
            .map_err(|e| match e {
                service::ServiceError::Unauthorized => {
                    ApiError::unauthorized("Invalid or revoked scan key.")
                }
                e => e.into(),
            })
    }
}

/// A scan key (the key itself only in the create answer).
#[derive(Serialize, ToSchema)]
pub struct ScanKeyResponse {
    pub object_id: String,
    pub object_created: String,
    pub carrier_account: String,
    /// The first characters of the key.
    pub prefix: String,
    pub revoked: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

impl ScanKeyResponse {
    fn new(k: ScanKey, key: Option<String>) -> Self {
        ScanKeyResponse {
            object_id: k.id.to_string(),
            object_created: k.created.to_string(),
            carrier_account: k.carrier_account.to_string(),
            prefix: k.prefix,
            revoked: k.revoked.map(|t| t.to_string()),
            key,
        }
    }
}

/// Create a scan key for a rate-card carrier account (the key is shown once).
#[utoipa::path(post, path = "/carrier_accounts/{id}/scan_keys", tag = "Scans", params(("id" = String, Path)),
    responses((status = 201, body = ScanKeyResponse), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)), security(("ShippoToken" = [])))]
pub async fn create_key(
    State(state): State<AppState>,
    Auth(who): Auth,
    Id(id): Id,
) -> Result<(StatusCode, Json<ScanKeyResponse>), ApiError> {
    let (key, secret) = scan_keys::create(&state.services, &who, id).await?;
    Ok((
        StatusCode::CREATED,
        Json(ScanKeyResponse::new(key, Some(secret))),
    ))
}

/// The scan keys of a carrier account.
#[utoipa::path(get, path = "/carrier_accounts/{id}/scan_keys", tag = "Scans", params(("id" = String, Path)),
    responses((status = 200, body = Vec<ScanKeyResponse>)), security(("ShippoToken" = [])))]
pub async fn list_keys(
    State(state): State<AppState>,
    Auth(who): Auth,
    Id(id): Id,
) -> Result<Json<Vec<ScanKeyResponse>>, ApiError> {
    let keys = scan_keys::list(&state.services, &who, id).await?;
    Ok(Json(
        keys.into_iter()
            .map(|k| ScanKeyResponse::new(k, None))
            .collect(),
    ))
}

/// Revoke a scan key (204).
#[utoipa::path(delete, path = "/scan_keys/{id}", tag = "Scans", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)), security(("ShippoToken" = [])))]
pub async fn revoke_key(
    State(state): State<AppState>,
    Auth(who): Auth,
    Id(id): Id,
) -> Result<StatusCode, ApiError> {
    scan_keys::revoke(&state.services, &who, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// One scan event.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ScanRequest {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub tracking_number: Option<String>,
    /// UNKNOWN, PRE_TRANSIT, TRANSIT, DELIVERED, RETURNED or FAILURE.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub status: Option<String>,
    /// One of Shippo's substatus codes (`package_accepted`, `out_for_delivery`, …).
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub substatus: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub details: Option<String>,
    pub location: Option<Location>,
    /// When it happened (ISO 8601 with an offset).
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub occurred_at: Option<String>,
}

impl From<ScanRequest> for ScanInput {
    fn from(r: ScanRequest) -> Self {
        ScanInput {
            tracking_number: r.tracking_number,
            status: r.status,
            substatus: r.substatus,
            details: r.details,
            location: r.location.map(Into::into),
            occurred_at: r.occurred_at,
        }
    }
}

/// What became of one event.
#[derive(Serialize, ToSchema)]
pub struct ScanResult {
    pub index: usize,
    pub tracking_number: String,
    /// accepted, duplicate or rejected.
    pub result: &'static str,
    /// The parcel's status after the event (accepted events).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<&'static str>,
    /// Why it was refused, per field.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub errors: Option<Value>,
}

/// A batch's outcome.
#[derive(Serialize, ToSchema)]
pub struct ScanBatchResponse {
    pub accepted: usize,
    pub duplicates: usize,
    pub rejected: usize,
    pub results: Vec<ScanResult>,
}

fn result(index: usize, number: &str, o: ScanOutcome) -> ScanResult {
    let (result, status, errors) = match o {
        ScanOutcome::Accepted(s) => ("accepted", Some(s.as_str()), None),
        ScanOutcome::Duplicate => ("duplicate", None, None),
        ScanOutcome::Rejected(e) => (
            "rejected",
            None,
            Some(Value::Object(
                e.iter()
                    .map(|(f, m)| (f.to_string(), Value::from(m.to_vec())))
                    .collect(),
            )),
        ),
    };
    ScanResult {
        index,
        tracking_number: number.to_string(),
        result,
        status,
        errors,
    }
}

/// The CSV columns of a scan upload.
const CSV_COLUMNS: [&str; 9] = [
    "tracking_number",
    "status",
    "substatus",
    "details",
    "occurred_at",
    "city",
    "state",
    "zip",
    "country",
];

fn parse_csv(body: &[u8]) -> Result<Vec<ScanInput>, ApiError> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(true)
        .from_reader(body);
    let headers = reader
        .headers()
        .map_err(|e| ApiError::field("csv", format!("Unreadable header row: {e}.")))?
        .clone();
    let col = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    let idx: Vec<Option<usize>> = CSV_COLUMNS.iter().map(|c| col(c)).collect();
    for required in ["tracking_number", "status", "occurred_at"] {
        if col(required).is_none() {
            return Err(ApiError::field(
                "csv",
                format!(
                    "The header row lacks {required:?}; columns are {}.",
                    CSV_COLUMNS.join(",")
                ),
            ));
        }
    }
    let mut out = Vec::new();
    for (n, record) in reader.records().enumerate() {
        let record = record.map_err(|e| ApiError::field("csv", format!("Row {}: {e}.", n + 2)))?;
        let get = |i: usize| {
            idx[i]
                .and_then(|c| record.get(c))
                .map(str::to_string)
                .filter(|v| !v.is_empty())
        };
        let location = Location {
            city: get(5),
            state: get(6),
            zip: get(7),
            country: get(8),
        };
        out.push(ScanInput {
            tracking_number: get(0),
            status: get(1),
            substatus: get(2),
            details: get(3),
            occurred_at: get(4),
            location: Some(location.into()),
        });
    }
    Ok(out)
}

/// Post scan events: one (JSON object), a batch (`{"events": [...]}` or an array, up to 1,000)
/// or a CSV upload. Authenticated with a courier's scan key.
#[utoipa::path(post, path = "/scans", tag = "Scans",
    request_body(content((ScanRequest = "application/json"), (String = "text/csv"))),
    responses((status = 201, body = ScanResult, description = "one event stored (or already stored)"),
        (status = 200, body = ScanBatchResponse, description = "a batch: an outcome per event"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("ScanKey" = [])))]
pub async fn ingest(
    State(state): State<AppState>,
    Courier(key): Courier,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let media = media_type(&headers);
    let (inputs, single) = if media == "text/csv" {
        (parse_csv(&body)?, false)
    } else {
        let value: Value = serde_json::from_slice(&body).map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_json",
                format!("The request body is not valid JSON: {e}."),
            )
        })?;
        match value {
            Value::Array(items) => (parse_items(items)?, false),
            Value::Object(ref o) if o.contains_key("events") => {
                match value.get("events").cloned() {
                    Some(Value::Array(items)) => (parse_items(items)?, false),
                    _ => return Err(ApiError::field("events", "Send a list of events.")),
                }
            }
            Value::Object(_) => (vec![from_value::<ScanRequest>(value)?.into()], true),
            _ => {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_json",
                    "Send an event object, {\"events\": [...]}, or a CSV file.",
                ))
            }
        }
    };
    if inputs.is_empty() {
        return Err(ApiError::field("events", "Send at least one event."));
    }
    let outcomes = tracking::ingest(&state.services, &key, &inputs).await?;
    let numbers: Vec<String> = inputs
        .iter()
        .map(|i| {
            i.tracking_number
                .clone()
                .unwrap_or_default()
                .trim()
                .to_string()
        })
        .collect();
    if single {
        let outcome = outcomes.into_iter().next().expect("one outcome");
        return match outcome {
            ScanOutcome::Rejected(e) => Err(domain::ValidationError(e).into()),
            o => Ok((StatusCode::CREATED, Json(result(0, &numbers[0], o))).into_response()),
        };
    }
    let results: Vec<ScanResult> = outcomes
        .into_iter()
        .enumerate()
        .map(|(i, o)| result(i, &numbers[i], o))
        .collect();
    let count = |r: &str| results.iter().filter(|x| x.result == r).count();
    Ok(Json(ScanBatchResponse {
        accepted: count("accepted"),
        duplicates: count("duplicate"),
        rejected: count("rejected"),
        results,
    })
    .into_response())
}

fn parse_items(items: Vec<Value>) -> Result<Vec<ScanInput>, ApiError> {
    if items.len() > tracking::MAX_BATCH {
        return Err(ApiError::field(
            "events",
            format!(
                "Send at most {} events per request (this one has {}).",
                tracking::MAX_BATCH,
                items.len()
            ),
        ));
    }
    items
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            crate::extract::nested::<ScanRequest>(&format!("events.{i}"), v).map(Into::into)
        })
        .collect()
}
