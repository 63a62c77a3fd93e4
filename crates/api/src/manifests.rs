//! `/manifests`: close out a day's labels, retrieve, list.
//! Shippo reference: seed 002 "Manifests"; <https://docs.goshippo.com/shippoapi/public-api/#tag/Manifests>.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use axum::{Json, Router};
use domain::transaction::Manifest;
use domain::FieldErrors;
use domain::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use service::manifests::{self, AddressGiven, ManifestInput};
use service::{files, Services};
use utoipa::ToSchema;

use crate::addresses::AddressCreateRequest;
use crate::auth::Auth;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{nested, Body, Id};
use crate::lenient;
use crate::pagination::{base_url, ListQuery, Paginated};
use crate::rates::NoteResponse;
use crate::AppState;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/manifests", get(list).post(create))
        .route("/manifests/{id}", get(retrieve))
}

/// Create a manifest.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ManifestCreateRequest {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub carrier_account: Option<String>,
    /// The day to close out (ISO 8601).
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub shipment_date: Option<String>,
    /// The seed's name for `shipment_date`.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub submission_date: Option<String>,
    /// The sender (pickup) address: an id or an address object.
    #[schema(value_type = Object)]
    pub address_from: Option<Value>,
    /// Transactions to put on it (default: every eligible label).
    pub transactions: Option<Vec<String>>,
    /// Accepted; manifests are always made in the background.
    #[serde(rename = "async", default, deserialize_with = "lenient::opt_bool")]
    #[schema(value_type = Option<bool>)]
    pub asynchronous: Option<bool>,
}

/// A Manifest.
#[derive(Serialize, ToSchema)]
pub struct ManifestResponse {
    pub object_id: String,
    pub object_owner: String,
    pub object_created: String,
    pub object_updated: String,
    /// QUEUED, SUCCESS, ERROR.
    pub status: &'static str,
    pub object_status: &'static str,
    pub carrier_account: String,
    pub shipment_date: String,
    pub submission_date: String,
    pub address_from: String,
    pub transactions: Vec<String>,
    /// Signed links to the manifest PDF.
    pub documents: Vec<String>,
    /// The seed's error codes, as "code: message".
    pub errors: Vec<String>,
    /// The same errors with their codes apart.
    pub messages: Vec<NoteResponse>,
    pub test: bool,
}

impl ManifestResponse {
    fn new(s: &Services, m: Manifest, owner: &str, base: &str) -> Self {
        let documents = m
            .document_key
            .as_deref()
            .map(|k| {
                vec![format!(
                    "{base}{}",
                    files::signed_path(&s.cipher, k, Timestamp::now())
                )]
            })
            .unwrap_or_default();
        ManifestResponse {
            object_id: m.id.to_string(),
            object_owner: owner.to_string(),
            object_created: m.created.to_string(),
            object_updated: m.updated.to_string(),
            status: m.status.as_str(),
            object_status: m.status.as_str(),
            carrier_account: m.carrier_account.to_string(),
            shipment_date: m.shipment_date.to_string(),
            submission_date: m.shipment_date.to_string(),
            address_from: m.address_from.to_string(),
            transactions: m.transactions.iter().map(ToString::to_string).collect(),
            documents,
            errors: m
                .errors
                .iter()
                .map(|e| format!("{}: {}", e.code, e.text))
                .collect(),
            messages: m.errors.iter().map(NoteResponse::from).collect(),
            test: m.test,
        }
    }
}

/// Create a manifest: answers QUEUED; the document follows.
#[utoipa::path(post, path = "/manifests", tag = "Manifests",
    request_body(content((ManifestCreateRequest = "application/json"))),
    responses((status = 201, body = ManifestResponse), (status = 400, body = ErrorBody)), security(("ShippoToken" = [])))]
pub async fn create(
    State(state): State<AppState>,
    Auth(who): Auth,
    headers: HeaderMap,
    Body(req): Body<ManifestCreateRequest>,
) -> Result<(StatusCode, Json<ManifestResponse>), ApiError> {
    let address_from = match req.address_from {
        None | Some(Value::Null) => None,
        Some(Value::String(id)) => Some(AddressGiven::Id(id)),
        Some(v) => Some(AddressGiven::New(Box::new(
            nested::<AddressCreateRequest>("address_from", v)?.into(),
        ))),
    };
    // `shipment_date`, or the seed's `submission_date`.
    let mut errors = FieldErrors::new();
    let shipment_date = match req
        .shipment_date
        .or(req.submission_date)
        .as_deref()
        .map(str::trim)
    {
        None | Some("") => None,
        Some(raw) => Timestamp::parse(raw).or_else(|| {
            errors.add(
                "shipment_date",
                format!("\"{raw}\" is not an ISO 8601 date and time."),
            );
            None
        }),
    };
    let input = ManifestInput {
        carrier_account: req.carrier_account,
        shipment_date,
        address_from,
        transactions: req.transactions,
        errors,
    };
    let m = manifests::create(&state.services, &who, input).await?;
    Ok((
        StatusCode::CREATED,
        Json(ManifestResponse::new(
            &state.services,
            m,
            &who.account_name,
            &base_url(&headers, &state),
        )),
    ))
}

/// Retrieve a manifest.
#[utoipa::path(get, path = "/manifests/{id}", tag = "Manifests", params(("id" = String, Path)),
    responses((status = 200, body = ManifestResponse), (status = 404, body = ErrorBody)), security(("ShippoToken" = [])))]
pub async fn retrieve(
    State(state): State<AppState>,
    Auth(who): Auth,
    headers: HeaderMap,
    Id(id): Id,
) -> Result<Json<ManifestResponse>, ApiError> {
    let m = manifests::get(&state.services, &who, id).await?;
    Ok(Json(ManifestResponse::new(
        &state.services,
        m,
        &who.account_name,
        &base_url(&headers, &state),
    )))
}

/// A page of manifests.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ManifestList {
    count: i64,
    next: Option<String>,
    previous: Option<String>,
    results: Vec<ManifestResponse>,
}

/// List manifests, newest first.
#[utoipa::path(get, path = "/manifests", tag = "Manifests", params(("page" = Option<u32>, Query), ("results" = Option<u32>, Query)),
    responses((status = 200, body = ManifestList)), security(("ShippoToken" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Auth(who): Auth,
    headers: HeaderMap,
    q: ListQuery,
) -> Result<Json<Paginated<ManifestResponse>>, ApiError> {
    let page = manifests::list(&state.services, &who, q.page).await?;
    let base = base_url(&headers, &state);
    Ok(Json(Paginated::new(&q, page, |m| {
        ManifestResponse::new(&state.services, m, &who.account_name, &base)
    })))
}
