//! `/parcel-templates`: the carrier parcel templates Consign knows, with their dimensions.
//! Shippo reference: seed 002 "Parcel Templates";
//! <https://docs.goshippo.com/shippoapi/public-api/#tag/Parcel-Templates>.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use domain::parcel_templates::UserParcelTemplate;
use domain::parcel_templates::{self, ParcelTemplate};
use serde::{Deserialize, Serialize};
use service::parcel_templates::{self as user_templates, Include, TemplateInput};
use utoipa::ToSchema;

use crate::auth::Auth;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Body, Id};
use crate::lenient;
use crate::AppState;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/parcel-templates", get(list))
        .route("/parcel-templates/{token}", get(retrieve))
        .route("/user-parcel-templates", get(list_user).post(create_user))
        .route(
            "/user-parcel-templates/{id}",
            get(retrieve_user).put(update_user).delete(delete_user),
        )
}

/// A carrier parcel template.
#[derive(Serialize, ToSchema)]
pub struct ParcelTemplateResponse {
    /// The carrier's token, e.g. `usps`.
    pub carrier: &'static str,
    pub token: &'static str,
    pub name: &'static str,
    pub length: &'static str,
    pub width: &'static str,
    pub height: &'static str,
    pub distance_unit: &'static str,
    /// True when the template's size comes with the parcel (e.g. USPS Soft Pack).
    pub is_variable_dimensions: bool,
}

impl From<&'static ParcelTemplate> for ParcelTemplateResponse {
    fn from(t: &'static ParcelTemplate) -> Self {
        Self {
            carrier: t.carrier,
            token: t.token,
            name: t.name,
            length: t.length,
            width: t.width,
            height: t.height,
            distance_unit: t.unit.as_str(),
            is_variable_dimensions: !t.has_dimensions(),
        }
    }
}

/// The list of templates.
#[derive(Serialize, ToSchema)]
pub struct ParcelTemplateList {
    pub results: Vec<ParcelTemplateResponse>,
}

/// List filters.
#[derive(Deserialize)]
pub struct ListFilter {
    /// `all` (default), `user` (those the account's own templates use) or `enabled` (those of
    /// carriers the account has an active carrier account with).
    include: Option<String>,
    /// Carrier token, e.g. `fedex`.
    carrier: Option<String>,
}

/// List carrier parcel templates, optionally for one carrier.
#[utoipa::path(get, path = "/parcel-templates", tag = "Parcel Templates",
    params(("include" = Option<String>, Query), ("carrier" = Option<String>, Query)),
    responses((status = 200, body = ParcelTemplateList), (status = 400, body = ErrorBody)),
    security(("ShippoToken" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Auth(who): Auth,
    filter: Result<Query<ListFilter>, QueryRejection>,
) -> Result<Json<ParcelTemplateList>, ApiError> {
    let Query(filter) = filter.map_err(|e| ApiError::field("query", e.body_text()))?;
    let include = match filter.include.as_deref().map(str::trim) {
        None | Some("") | Some("all") => Include::All,
        Some("user") => Include::User,
        Some("enabled") => Include::Enabled,
        Some(_) => return Err(ApiError::field("include", "Use all, user or enabled.")),
    };
    let carrier = filter.carrier.map(|c| c.to_ascii_lowercase());
    let results =
        user_templates::carrier_templates(&state.services, &who, include, carrier.as_deref())
            .await?
            .into_iter()
            .map(Into::into)
            .collect();
    Ok(Json(ParcelTemplateList { results }))
}

/// Retrieve one carrier parcel template by token.
#[utoipa::path(get, path = "/parcel-templates/{token}", tag = "Parcel Templates", params(("token" = String, Path)),
    responses((status = 200, body = ParcelTemplateResponse), (status = 404, body = ErrorBody)),
    security(("ShippoToken" = [])))]
pub async fn retrieve(
    _auth: Auth,
    Path(token): Path<String>,
) -> Result<Json<ParcelTemplateResponse>, ApiError> {
    parcel_templates::find(&token)
        .map(|t| Json(t.into()))
        .ok_or_else(|| ApiError::not_found("Parcel template"))
}

/// Create or replace a user parcel template: a carrier `template` token (with an optional
/// weight), or `name`, `length`, `width`, `height`, `distance_unit`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct UserParcelTemplateRequest {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub length: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub width: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub height: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub distance_unit: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub weight: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub weight_unit: Option<String>,
    /// A carrier parcel template token.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub template: Option<String>,
}

impl From<UserParcelTemplateRequest> for TemplateInput {
    fn from(r: UserParcelTemplateRequest) -> Self {
        TemplateInput {
            name: r.name,
            length: r.length,
            width: r.width,
            height: r.height,
            distance_unit: r.distance_unit,
            weight: r.weight,
            weight_unit: r.weight_unit,
            template: r.template,
        }
    }
}

/// A User Parcel Template.
#[derive(Serialize, ToSchema)]
pub struct UserParcelTemplateResponse {
    pub object_id: String,
    pub object_owner: String,
    pub object_created: String,
    pub object_updated: String,
    pub name: String,
    pub length: String,
    pub width: String,
    pub height: String,
    pub distance_unit: &'static str,
    pub weight: Option<String>,
    pub weight_unit: Option<&'static str>,
    /// The carrier template it is based on.
    pub template: Option<ParcelTemplateResponse>,
}

impl UserParcelTemplateResponse {
    fn new(t: UserParcelTemplate, owner: &str) -> Self {
        Self {
            object_id: t.id.to_string(),
            object_owner: owner.to_string(),
            object_created: t.created.to_string(),
            object_updated: t.updated.to_string(),
            template: t
                .template
                .as_deref()
                .and_then(parcel_templates::find)
                .map(Into::into),
            name: t.name,
            length: t.length,
            width: t.width,
            height: t.height,
            distance_unit: t.distance_unit.as_str(),
            weight: t.weight,
            weight_unit: t.weight_unit.map(|u| u.as_str()),
        }
    }
}

/// The account's parcel templates.
#[derive(Serialize, ToSchema)]
pub struct UserParcelTemplateList {
    pub results: Vec<UserParcelTemplateResponse>,
}

/// List the account's parcel templates (newest first).
#[utoipa::path(get, path = "/user-parcel-templates", tag = "Parcel Templates",
    responses((status = 200, body = UserParcelTemplateList)), security(("ShippoToken" = [])))]
pub async fn list_user(
    State(state): State<AppState>,
    Auth(who): Auth,
) -> Result<Json<UserParcelTemplateList>, ApiError> {
    let page = user_templates::list(
        &state.services,
        &who,
        domain::page::PageRequest {
            page: 1,
            results: domain::page::MAX_RESULTS,
        },
    )
    .await?;
    Ok(Json(UserParcelTemplateList {
        results: page
            .items
            .into_iter()
            .map(|t| UserParcelTemplateResponse::new(t, &who.account_name))
            .collect(),
    }))
}

/// Create a parcel template (answers 200, as Shippo's spec says).
#[utoipa::path(post, path = "/user-parcel-templates", tag = "Parcel Templates",
    request_body(content((UserParcelTemplateRequest = "application/json"))),
    responses((status = 200, body = UserParcelTemplateResponse), (status = 400, body = ErrorBody)), security(("ShippoToken" = [])))]
pub async fn create_user(
    State(state): State<AppState>,
    Auth(who): Auth,
    Body(req): Body<UserParcelTemplateRequest>,
) -> Result<Json<UserParcelTemplateResponse>, ApiError> {
    let t = user_templates::create(&state.services, &who, req.into()).await?;
    Ok(Json(UserParcelTemplateResponse::new(t, &who.account_name)))
}

/// Retrieve a parcel template.
#[utoipa::path(get, path = "/user-parcel-templates/{id}", tag = "Parcel Templates", params(("id" = String, Path)),
    responses((status = 200, body = UserParcelTemplateResponse), (status = 404, body = ErrorBody)), security(("ShippoToken" = [])))]
pub async fn retrieve_user(
    State(state): State<AppState>,
    Auth(who): Auth,
    Id(id): Id,
) -> Result<Json<UserParcelTemplateResponse>, ApiError> {
    let t = user_templates::get(&state.services, &who, id).await?;
    Ok(Json(UserParcelTemplateResponse::new(t, &who.account_name)))
}

/// Replace a parcel template.
#[utoipa::path(put, path = "/user-parcel-templates/{id}", tag = "Parcel Templates", params(("id" = String, Path)),
    request_body(content((UserParcelTemplateRequest = "application/json"))),
    responses((status = 200, body = UserParcelTemplateResponse), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)), security(("ShippoToken" = [])))]
pub async fn update_user(
    State(state): State<AppState>,
    Auth(who): Auth,
    Id(id): Id,
    Body(req): Body<UserParcelTemplateRequest>,
) -> Result<Json<UserParcelTemplateResponse>, ApiError> {
    let t = user_templates::update(&state.services, &who, id, req.into()).await?;
    Ok(Json(UserParcelTemplateResponse::new(t, &who.account_name)))
}

/// Delete a parcel template (204).
#[utoipa::path(delete, path = "/user-parcel-templates/{id}", tag = "Parcel Templates", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)), security(("ShippoToken" = [])))]
pub async fn delete_user(
    State(state): State<AppState>,
    Auth(who): Auth,
    Id(id): Id,
) -> Result<StatusCode, ApiError> {
    user_templates::delete(&state.services, &who, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
