//! `/addresses`: create, retrieve, list, validate.
//! Shippo reference: seed 002 "Addresses"; <https://docs.goshippo.com/shippoapi/public-api/#tag/Addresses>.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use domain::address::{Address, AddressFields, AddressInput, Message};
use serde::{Deserialize, Serialize};
use service::addresses;
use utoipa::ToSchema;

use crate::auth::Auth;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Body, Id};
use crate::lenient;
use crate::pagination::{ListQuery, Paginated};
use crate::AppState;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/addresses", get(list).post(create))
        .route("/addresses/{id}", get(retrieve))
        .route("/addresses/{id}/validate", get(validate).post(validate))
}

/// Request body of `POST /addresses` (current Shippo fields plus the seed's `object_purpose`).
#[derive(Deserialize, ToSchema, Default)]
pub struct AddressCreateRequest {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[schema(value_type = Option<String>, example = "Shawn Ippotle")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[schema(value_type = Option<String>)]
    pub company: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[schema(value_type = Option<String>)]
    pub street_no: Option<String>,
    /// First street line, 35 character limit.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[schema(value_type = Option<String>, example = "215 Clayton St.")]
    pub street1: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[schema(value_type = Option<String>)]
    pub street2: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[schema(value_type = Option<String>)]
    pub street3: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[schema(value_type = Option<String>, example = "San Francisco")]
    pub city: Option<String>,
    /// State/province; required for purchase in the US, CA, AU and other countries whose
    /// published address format requires one.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[schema(value_type = Option<String>, example = "CA")]
    pub state: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[schema(value_type = Option<String>, example = "94117")]
    pub zip: Option<String>,
    /// ISO 3166-1 alpha-2 code; always required.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[schema(value_type = String, example = "US")]
    pub country: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[schema(value_type = Option<String>)]
    pub phone: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[schema(value_type = Option<String>)]
    pub email: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    #[schema(value_type = Option<bool>)]
    pub is_residential: Option<bool>,
    /// Up to 100 characters.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[schema(value_type = Option<String>)]
    pub metadata: Option<String>,
    /// Validate (and normalise) the address on creation.
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    #[schema(value_type = Option<bool>)]
    pub validate: Option<bool>,
    /// Seed (2014) API: `QUOTE` or `PURCHASE`. When absent it is derived from completeness.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[schema(value_type = Option<String>)]
    pub object_purpose: Option<String>,
}

impl From<AddressCreateRequest> for AddressInput {
    fn from(r: AddressCreateRequest) -> Self {
        AddressInput {
            fields: AddressFields {
                name: r.name.unwrap_or_default(),
                company: r.company.unwrap_or_default(),
                street_no: r.street_no.unwrap_or_default(),
                street1: r.street1.unwrap_or_default(),
                street2: r.street2.unwrap_or_default(),
                street3: r.street3.unwrap_or_default(),
                city: r.city.unwrap_or_default(),
                state: r.state.unwrap_or_default(),
                zip: r.zip.unwrap_or_default(),
                country: r.country.unwrap_or_default(),
                phone: r.phone.unwrap_or_default(),
                email: r.email.unwrap_or_default(),
                is_residential: r.is_residential,
                metadata: r.metadata.unwrap_or_default(),
            },
            purpose: r.object_purpose,
            validate: r.validate.unwrap_or(false),
        }
    }
}

/// A validation message.
#[derive(Serialize, ToSchema)]
pub struct MessageResponse {
    /// Who produced the message.
    pub source: String,
    /// Stable code, e.g. `invalid_postal_code`, `Invalid State`, `component_mismatch_error`.
    pub code: String,
    /// `address_error`, `address_warning` or `address_correction`.
    #[serde(rename = "type")]
    pub kind: String,
    pub text: String,
}

impl From<&Message> for MessageResponse {
    fn from(m: &Message) -> Self {
        Self {
            source: m.source.clone(),
            code: m.code.clone(),
            kind: m.kind.as_str().into(),
            text: m.text.clone(),
        }
    }
}

/// Verdict of a validation; empty (`{}`) until the address is validated.
#[derive(Serialize, ToSchema, Default)]
pub struct ValidationResultsResponse {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_valid: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub messages: Option<Vec<MessageResponse>>,
}

/// An Address, in both the current Shippo shape and the seed's (`object_state`,
/// `object_purpose`, `object_source`, `messages`).
#[derive(Serialize, ToSchema)]
pub struct AddressResponse {
    pub object_id: String,
    pub object_owner: String,
    #[schema(example = "2014-07-09T02:19:13.174Z")]
    pub object_created: String,
    pub object_updated: String,
    /// `VALID`, `INVALID` or `INCOMPLETE`.
    pub object_state: &'static str,
    /// `QUOTE` or `PURCHASE`.
    pub object_purpose: &'static str,
    /// `FULLY_ENTERED`, `PARTIALLY_ENTERED` or `VALIDATOR`.
    pub object_source: &'static str,
    pub is_complete: bool,
    pub name: String,
    pub company: String,
    pub street_no: String,
    pub street1: String,
    pub street2: String,
    pub street3: String,
    pub city: String,
    pub state: String,
    pub zip: String,
    pub country: String,
    pub phone: String,
    pub email: String,
    pub is_residential: Option<bool>,
    pub metadata: String,
    pub test: bool,
    pub ip: Option<String>,
    pub validation_results: ValidationResultsResponse,
    pub messages: Vec<MessageResponse>,
}

impl AddressResponse {
    /// The wire form of `a`, owned by `owner`.
    pub fn new(a: Address, owner: &str) -> Self {
        let is_complete = a.is_complete();
        let f = a.fields;
        Self {
            object_id: a.id.to_string(),
            object_owner: owner.to_string(),
            object_created: a.created.to_string(),
            object_updated: a.updated.to_string(),
            object_state: a.state.as_str(),
            object_purpose: a.purpose.as_str(),
            object_source: a.source.as_str(),
            is_complete,
            name: f.name,
            company: f.company,
            street_no: f.street_no,
            street1: f.street1,
            street2: f.street2,
            street3: f.street3,
            city: f.city,
            state: f.state,
            zip: f.zip,
            country: f.country,
            phone: f.phone,
            email: f.email,
            is_residential: f.is_residential,
            metadata: f.metadata,
            test: a.test,
            ip: None,
            validation_results: a
                .validation
                .map(|v| ValidationResultsResponse {
                    is_valid: Some(v.is_valid),
                    messages: Some(v.messages.iter().map(Into::into).collect()),
                })
                .unwrap_or_default(),
            messages: a.messages.iter().map(Into::into).collect(),
        }
    }
}

/// A page of addresses.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct AddressList {
    count: i64,
    next: Option<String>,
    previous: Option<String>,
    results: Vec<AddressResponse>,
}

/// Create a new address.
#[utoipa::path(post, path = "/addresses", tag = "Addresses",
    request_body(content((AddressCreateRequest = "application/json"))),
    responses((status = 201, description = "Created", body = AddressResponse),
               (status = 400, description = "Invalid input", body = ErrorBody),
               (status = 401, description = "Missing or invalid token", body = ErrorBody)),
    security(("ShippoToken" = [])))]
pub async fn create(
    State(state): State<AppState>,
    Auth(who): Auth,
    Body(req): Body<AddressCreateRequest>,
) -> Result<(StatusCode, Json<AddressResponse>), ApiError> {
    let address = addresses::create(&state.services, &who, req.into()).await?;
    Ok((
        StatusCode::CREATED,
        Json(AddressResponse::new(address, &who.account_name)),
    ))
}

/// Retrieve an address.
#[utoipa::path(get, path = "/addresses/{id}", tag = "Addresses", params(("id" = String, Path)),
    responses((status = 200, body = AddressResponse), (status = 404, body = ErrorBody)),
    security(("ShippoToken" = [])))]
pub async fn retrieve(
    State(state): State<AppState>,
    Auth(who): Auth,
    Id(id): Id,
) -> Result<Json<AddressResponse>, ApiError> {
    let address = addresses::get(&state.services, &who, id).await?;
    Ok(Json(AddressResponse::new(address, &who.account_name)))
}

/// List all addresses, newest first.
#[utoipa::path(get, path = "/addresses", tag = "Addresses",
    params(("page" = Option<u32>, Query), ("results" = Option<u32>, Query)),
    responses((status = 200, body = AddressList)), security(("ShippoToken" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Auth(who): Auth,
    q: ListQuery,
) -> Result<Json<Paginated<AddressResponse>>, ApiError> {
    let page = addresses::list(&state.services, &who, q.page).await?;
    Ok(Json(Paginated::new(&q, page, |a| {
        AddressResponse::new(a, &who.account_name)
    })))
}

/// Validate an existing address: values are normalised and `validation_results` filled in.
#[utoipa::path(method(get, post), path = "/addresses/{id}/validate", tag = "Addresses", params(("id" = String, Path)),
    responses((status = 200, body = AddressResponse), (status = 404, body = ErrorBody)),
    security(("ShippoToken" = [])))]
pub async fn validate(
    State(state): State<AppState>,
    Auth(who): Auth,
    Id(id): Id,
) -> Result<Json<AddressResponse>, ApiError> {
    let address = addresses::validate(&state.services, &who, id).await?;
    Ok(Json(AddressResponse::new(address, &who.account_name)))
}
