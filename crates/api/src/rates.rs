//! Rates: `/rates/{id}`, `/shipments/{id}/rates` and `/shipments/{id}/rates/{CURRENCY}`.
//! Shippo reference: seed 002 "Rates"; <https://docs.goshippo.com/shippoapi/public-api/#tag/Rates>.

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use domain::page::Page;
use domain::shipment::{Money, Note, Rate};
use domain::ObjectId;
use serde::Serialize;
use service::shipments;
use utoipa::ToSchema;

use crate::auth::Auth;
use crate::error::{ApiError, ErrorBody};
use crate::extract::Id;
use crate::pagination::{ListQuery, Paginated};
use crate::version::Shape;
use crate::AppState;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/rates/{id}", get(retrieve))
        .route("/shipments/{id}/rates", get(list))
        .route("/shipments/{id}/rates/{currency}", get(list_in_currency))
}

/// A message about a shipment or rate.
#[derive(Serialize, ToSchema)]
pub struct NoteResponse {
    /// Who said it: a carrier's name or `Consign`.
    pub source: String,
    /// Stable code, e.g. `too_heavy`, `no_zone`, `carrier_timeout`.
    pub code: String,
    pub text: String,
}

impl From<&Note> for NoteResponse {
    fn from(n: &Note) -> Self {
        Self {
            source: n.source.clone(),
            code: n.code.clone(),
            text: n.text.clone(),
        }
    }
}

/// A rate's service level.
#[derive(Serialize, ToSchema)]
pub struct ServiceLevelResponse {
    pub name: String,
    pub token: String,
    pub terms: String,
    pub extended_token: String,
    pub parent_servicelevel: Option<String>,
}

/// A Rate in the current shape (what the official SDKs parse).
#[derive(Serialize, ToSchema)]
pub struct RateResponse {
    pub object_id: String,
    pub object_owner: String,
    pub object_created: String,
    pub object_updated: String,
    pub shipment: String,
    /// `CHEAPEST`, `FASTEST`, `BESTVALUE` across the shipment's rates.
    pub attributes: Vec<&'static str>,
    /// In the sender's country's currency.
    #[schema(example = "8.40")]
    pub amount: String,
    pub currency: String,
    /// In the recipient's country's currency (or the one asked for in the path).
    pub amount_local: String,
    pub currency_local: String,
    pub provider: String,
    pub provider_image_75: String,
    pub provider_image_200: String,
    pub servicelevel: ServiceLevelResponse,
    pub estimated_days: Option<u32>,
    pub duration_terms: String,
    pub arrives_by: Option<String>,
    pub zone: String,
    pub included_insurance_price: Option<String>,
    pub messages: Vec<NoteResponse>,
    pub carrier_account: String,
    pub test: bool,
}

/// A Rate in the seed's shape (`Shippo-API-Version: 2014-02-11` or older).
#[derive(Serialize, ToSchema)]
pub struct LegacyRateResponse {
    pub object_state: &'static str,
    /// `QUOTE` rates cannot be bought.
    pub object_purpose: &'static str,
    pub object_created: String,
    pub object_updated: String,
    pub object_id: String,
    pub object_owner: String,
    pub shipment: String,
    pub attributes: Vec<&'static str>,
    pub amount: String,
    pub currency: String,
    pub amount_local: String,
    pub currency_local: String,
    pub provider: String,
    pub provider_image_75: String,
    pub provider_image_200: String,
    pub servicelevel_name: String,
    pub servicelevel_token: String,
    pub servicelevel_terms: String,
    pub days: Option<u32>,
    pub arrives_by: Option<String>,
    pub duration_terms: String,
    pub trackable: bool,
    pub insurance: bool,
    pub insurance_amount_local: String,
    pub insurance_currency_local: Option<String>,
    pub insurance_amount: String,
    pub insurance_currency: Option<String>,
    pub messages: Vec<NoteResponse>,
    pub carrier_account: String,
    pub zone: String,
    pub test: bool,
}

/// A rate in the shape the client asked for.
#[derive(Serialize)]
#[serde(untagged)]
pub enum RateBody {
    Current(Box<RateResponse>),
    Legacy(Box<LegacyRateResponse>),
}

impl RateBody {
    /// The wire form of `r` owned by `owner`; `local` replaces `amount_local` when a currency was
    /// asked for in the path.
    pub fn new(r: Rate, owner: &str, shape: Shape, local: Option<Money>) -> Self {
        match shape {
            Shape::Current => Self::Current(Box::new(RateResponse::new(r, owner, local))),
            Shape::Legacy => Self::Legacy(Box::new(LegacyRateResponse::new(r, owner, local))),
        }
    }
}

impl RateResponse {
    /// The current wire form of `r` (see [`RateBody::new`]).
    pub fn new(r: Rate, owner: &str, local: Option<Money>) -> Self {
        let d = r.details;
        let local = local.unwrap_or(d.amount_local);
        Self {
            object_id: r.id.to_string(),
            object_owner: owner.to_string(),
            object_created: r.created.to_string(),
            object_updated: r.created.to_string(),
            shipment: r.shipment.to_string(),
            attributes: d.attributes.iter().map(|a| a.as_str()).collect(),
            amount: d.amount.amount.to_string(),
            currency: d.amount.currency,
            amount_local: local.amount.to_string(),
            currency_local: local.currency,
            provider: d.provider,
            provider_image_75: String::new(),
            provider_image_200: String::new(),
            servicelevel: ServiceLevelResponse {
                name: d.service_name,
                token: d.service_token.clone(),
                terms: d.service_terms.clone(),
                extended_token: d.service_token,
                parent_servicelevel: None,
            },
            estimated_days: d.days,
            duration_terms: d.service_terms,
            arrives_by: None,
            zone: d.zone,
            included_insurance_price: d.insurance_price.map(|p| p.to_string()),
            messages: d.messages.iter().map(Into::into).collect(),
            carrier_account: r.carrier_account.to_string(),
            test: r.test,
        }
    }
}

impl LegacyRateResponse {
    /// The seed's wire form of `r` (see [`RateBody::new`]).
    pub fn new(r: Rate, owner: &str, local: Option<Money>) -> Self {
        let d = r.details;
        let local = local.unwrap_or(d.amount_local);
        let insured = d.insured.as_ref();
        let insured_amount = insured.map_or("0.00".into(), |m| m.amount.to_string());
        Self {
            object_state: "VALID",
            object_purpose: if d.quote_only { "QUOTE" } else { "PURCHASE" },
            object_created: r.created.to_string(),
            object_updated: r.created.to_string(),
            object_id: r.id.to_string(),
            object_owner: owner.to_string(),
            shipment: r.shipment.to_string(),
            attributes: d.attributes.iter().map(|a| a.as_str()).collect(),
            amount: d.amount.amount.to_string(),
            currency: d.amount.currency,
            amount_local: local.amount.to_string(),
            currency_local: local.currency,
            provider: d.provider,
            provider_image_75: String::new(),
            provider_image_200: String::new(),
            servicelevel_name: d.service_name,
            servicelevel_token: d.service_token,
            servicelevel_terms: d.service_terms.clone(),
            days: d.days,
            arrives_by: None,
            duration_terms: d.service_terms,
            trackable: d.trackable,
            insurance: insured.is_some(),
            insurance_amount_local: insured_amount.clone(),
            insurance_currency_local: insured.map(|m| m.currency.clone()),
            insurance_amount: insured_amount,
            insurance_currency: insured.map(|m| m.currency.clone()),
            messages: d.messages.iter().map(Into::into).collect(),
            carrier_account: r.carrier_account.to_string(),
            zone: d.zone,
            test: r.test,
        }
    }
}

/// A page of rates.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct RateList {
    count: i64,
    next: Option<String>,
    previous: Option<String>,
    results: Vec<RateResponse>,
}

/// Retrieve a rate.
#[utoipa::path(get, path = "/rates/{id}", tag = "Rates", params(("id" = String, Path)),
    responses((status = 200, body = RateResponse), (status = 404, body = ErrorBody)),
    security(("ShippoToken" = [])))]
pub async fn retrieve(
    State(state): State<AppState>,
    Auth(who): Auth,
    shape: Shape,
    Id(id): Id,
) -> Result<Json<RateBody>, ApiError> {
    let rate = shipments::rate(&state.services, &who, id).await?;
    Ok(Json(RateBody::new(rate, &who.account_name, shape, None)))
}

/// List a shipment's rates.
#[utoipa::path(get, path = "/shipments/{id}/rates", tag = "Rates",
    params(("id" = String, Path), ("page" = Option<u32>, Query), ("results" = Option<u32>, Query)),
    responses((status = 200, body = RateList), (status = 404, body = ErrorBody)),
    security(("ShippoToken" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Auth(who): Auth,
    shape: Shape,
    Id(id): Id,
    q: ListQuery,
) -> Result<Json<Paginated<RateBody>>, ApiError> {
    let rates = shipments::rates(&state.services, &who, id).await?;
    Ok(Json(Paginated::new(&q, page_of(rates, &q), |r| {
        RateBody::new(r, &who.account_name, shape, None)
    })))
}

/// List a shipment's rates with `amount_local`/`currency_local` in the currency asked for.
#[utoipa::path(get, path = "/shipments/{id}/rates/{currency}", tag = "Rates",
    params(("id" = String, Path), ("currency" = String, Path, example = "EUR"),
           ("page" = Option<u32>, Query), ("results" = Option<u32>, Query)),
    responses((status = 200, body = RateList), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("ShippoToken" = [])))]
pub async fn list_in_currency(
    State(state): State<AppState>,
    Auth(who): Auth,
    shape: Shape,
    Path((id, currency)): Path<(String, String)>,
    q: ListQuery,
) -> Result<Json<Paginated<RateBody>>, ApiError> {
    let id = ObjectId::parse(&id).ok_or_else(|| ApiError::not_found("Object"))?;
    let currency = shipments::check_currency(&state.services, &currency)?;
    let rates = shipments::rates(&state.services, &who, id).await?;
    let s = &state.services;
    Ok(Json(Paginated::new(&q, page_of(rates, &q), |r| {
        let local = shipments::price_in(s, &r, &currency);
        RateBody::new(r, &who.account_name, shape, Some(local))
    })))
}

/// One page of a shipment's rates (a shipment has few; they are paged in memory).
fn page_of(rates: Vec<Rate>, q: &ListQuery) -> Page<Rate> {
    let total = rates.len() as i64;
    let items = rates
        .into_iter()
        .skip(q.page.offset() as usize)
        .take(q.page.results as usize)
        .collect();
    Page {
        items,
        total,
        request: q.page,
    }
}
