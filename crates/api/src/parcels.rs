//! `/parcels`: create, retrieve, list.
//! Shippo reference: seed 002 "Parcels", "Parcel Extras", "Parcel Templates";
//! <https://docs.goshippo.com/shippoapi/public-api/#tag/Parcels>.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use domain::parcel::{ExtraInput, MoneyInput, Parcel, ParcelExtra, ParcelInput};
use serde::{Deserialize, Serialize};
use service::parcels;
use utoipa::ToSchema;

use crate::auth::Auth;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Body, Id};
use crate::lenient;
use crate::pagination::{ListQuery, Paginated};
use crate::AppState;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/parcels", get(list).post(create))
        .route("/parcels/{id}", get(retrieve))
}

/// Money with options, as sent in `extra.COD` and `extra.insurance`.
#[derive(Deserialize, ToSchema, Default)]
pub struct MoneyRequest {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[schema(value_type = Option<String>, example = "5.50")]
    pub amount: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[schema(value_type = Option<String>, example = "USD")]
    pub currency: Option<String>,
    /// COD only: `SECURED_FUNDS`, `CASH` or `ANY` (default).
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[schema(value_type = Option<String>)]
    pub payment_method: Option<String>,
    /// Insurance only: `FEDEX`, `UPS` or `ONTRAC`.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[schema(value_type = Option<String>)]
    pub provider: Option<String>,
    /// Insurance only: description of the contents.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[schema(value_type = Option<String>)]
    pub content: Option<String>,
}

impl From<MoneyRequest> for MoneyInput {
    fn from(m: MoneyRequest) -> Self {
        MoneyInput {
            amount: m.amount,
            currency: m.currency,
            payment_method: m.payment_method,
            provider: m.provider,
            content: m.content,
        }
    }
}

/// Parcel extras as sent.
#[derive(Deserialize, ToSchema, Default)]
pub struct ParcelExtraRequest {
    #[serde(rename = "COD", default)]
    pub cod: Option<MoneyRequest>,
    #[serde(default)]
    pub insurance: Option<MoneyRequest>,
    /// Printed on the label where the carrier supports it; up to 50 characters.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[schema(value_type = Option<String>)]
    pub reference_1: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[schema(value_type = Option<String>)]
    pub reference_2: Option<String>,
}

/// Request body of `POST /parcels`. With a `template`, only `weight` and `mass_unit` are needed.
#[derive(Deserialize, ToSchema, Default)]
pub struct ParcelCreateRequest {
    /// decimal(10,4)
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[schema(value_type = Option<String>, example = "20")]
    pub length: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[schema(value_type = Option<String>, example = "15")]
    pub width: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[schema(value_type = Option<String>, example = "12")]
    pub height: Option<String>,
    /// `cm`, `in`, `ft`, `mm`, `m` or `yd`.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[schema(value_type = Option<String>, example = "in")]
    pub distance_unit: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[schema(value_type = String, example = "5")]
    pub weight: Option<String>,
    /// `g`, `oz`, `lb` or `kg`.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[schema(value_type = String, example = "lb")]
    pub mass_unit: Option<String>,
    /// A carrier parcel template token, e.g. `USPS_SmallFlatRateBox`.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[schema(value_type = Option<String>)]
    pub template: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[schema(value_type = Option<String>)]
    pub metadata: Option<String>,
    #[serde(default)]
    pub extra: Option<ParcelExtraRequest>,
}

impl From<ParcelCreateRequest> for ParcelInput {
    fn from(r: ParcelCreateRequest) -> Self {
        let extra = r.extra.unwrap_or_default();
        ParcelInput {
            length: r.length,
            width: r.width,
            height: r.height,
            distance_unit: r.distance_unit,
            weight: r.weight,
            mass_unit: r.mass_unit,
            template: r.template,
            metadata: r.metadata,
            extra: ExtraInput {
                cod: extra.cod.map(Into::into),
                insurance: extra.insurance.map(Into::into),
                reference_1: extra.reference_1,
                reference_2: extra.reference_2,
            },
        }
    }
}

/// Collect on delivery, as answered.
#[derive(Serialize, ToSchema)]
pub struct CodResponse {
    pub amount: String,
    pub currency: String,
    pub payment_method: &'static str,
}

/// Insurance, as answered.
#[derive(Serialize, ToSchema)]
pub struct InsuranceResponse {
    pub amount: String,
    pub currency: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<&'static str>,
    pub content: String,
}

/// Parcel extras, as answered: only the services that were requested.
#[derive(Serialize, ToSchema, Default)]
pub struct ParcelExtraResponse {
    #[serde(rename = "COD", skip_serializing_if = "Option::is_none")]
    pub cod: Option<CodResponse>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub insurance: Option<InsuranceResponse>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub reference_1: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub reference_2: String,
}

impl From<ParcelExtra> for ParcelExtraResponse {
    fn from(e: ParcelExtra) -> Self {
        Self {
            cod: e.cod.map(|c| CodResponse {
                amount: c.amount.to_string(),
                currency: c.currency,
                payment_method: c.payment_method.as_str(),
            }),
            insurance: e.insurance.map(|i| InsuranceResponse {
                amount: i.amount.to_string(),
                currency: i.currency,
                provider: i.provider.map(|p| p.as_str()),
                content: i.content,
            }),
            reference_1: e.reference_1,
            reference_2: e.reference_2,
        }
    }
}

/// A Parcel. Quantities are decimal strings, as Shippo sends them.
#[derive(Serialize, ToSchema)]
pub struct ParcelResponse {
    pub object_id: String,
    pub object_owner: String,
    pub object_created: String,
    pub object_updated: String,
    /// Always `VALID`: invalid parcels are refused, never stored.
    pub object_state: &'static str,
    pub template: Option<&'static str>,
    pub length: String,
    pub width: String,
    pub height: String,
    pub distance_unit: &'static str,
    pub weight: String,
    pub mass_unit: &'static str,
    pub metadata: String,
    pub extra: ParcelExtraResponse,
    pub test: bool,
}

impl ParcelResponse {
    /// The wire form of `p`, owned by `owner`.
    pub fn new(p: Parcel, owner: &str) -> Self {
        Self {
            object_id: p.id.to_string(),
            object_owner: owner.to_string(),
            object_created: p.created.to_string(),
            object_updated: p.updated.to_string(),
            object_state: "VALID",
            template: p.template.map(|t| t.token),
            length: p.length.to_string(),
            width: p.width.to_string(),
            height: p.height.to_string(),
            distance_unit: p.distance_unit.as_str(),
            weight: p.weight.to_string(),
            mass_unit: p.mass_unit.as_str(),
            metadata: p.metadata,
            extra: p.extra.into(),
            test: p.test,
        }
    }
}

/// A page of parcels.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ParcelList {
    count: i64,
    next: Option<String>,
    previous: Option<String>,
    results: Vec<ParcelResponse>,
}

/// Create a new parcel.
#[utoipa::path(post, path = "/parcels", tag = "Parcels",
    request_body(content((ParcelCreateRequest = "application/json"))),
    responses((status = 201, body = ParcelResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("ShippoToken" = [])))]
pub async fn create(
    State(state): State<AppState>,
    Auth(who): Auth,
    Body(req): Body<ParcelCreateRequest>,
) -> Result<(StatusCode, Json<ParcelResponse>), ApiError> {
    let parcel = parcels::create(&state.services, &who, req.into()).await?;
    Ok((
        StatusCode::CREATED,
        Json(ParcelResponse::new(parcel, &who.account_name)),
    ))
}

/// Retrieve a parcel.
#[utoipa::path(get, path = "/parcels/{id}", tag = "Parcels", params(("id" = String, Path)),
    responses((status = 200, body = ParcelResponse), (status = 404, body = ErrorBody)),
    security(("ShippoToken" = [])))]
pub async fn retrieve(
    State(state): State<AppState>,
    Auth(who): Auth,
    Id(id): Id,
) -> Result<Json<ParcelResponse>, ApiError> {
    let parcel = parcels::get(&state.services, &who, id).await?;
    Ok(Json(ParcelResponse::new(parcel, &who.account_name)))
}

/// List all parcels, newest first.
#[utoipa::path(get, path = "/parcels", tag = "Parcels",
    params(("page" = Option<u32>, Query), ("results" = Option<u32>, Query)),
    responses((status = 200, body = ParcelList)), security(("ShippoToken" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Auth(who): Auth,
    q: ListQuery,
) -> Result<Json<Paginated<ParcelResponse>>, ApiError> {
    let page = parcels::list(&state.services, &who, q.page).await?;
    Ok(Json(Paginated::new(&q, page, |p| {
        ParcelResponse::new(p, &who.account_name)
    })))
}
