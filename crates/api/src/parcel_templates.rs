//! `/parcel-templates`: the carrier parcel templates Consign knows, with their dimensions.
//! Shippo reference: seed 002 "Parcel Templates";
//! <https://docs.goshippo.com/shippoapi/public-api/#tag/Parcel-Templates>.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query};
use axum::routing::get;
use axum::{Json, Router};
use domain::parcel_templates::{self, ParcelTemplate};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Auth;
use crate::error::{ApiError, ErrorBody};
use crate::AppState;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/parcel-templates", get(list))
        .route("/parcel-templates/{token}", get(retrieve))
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
    /// `all` (default), `user` or `enabled`. Until carrier accounts exist every template counts as
    /// the user's.
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
    _auth: Auth,
    filter: Result<Query<ListFilter>, QueryRejection>,
) -> Result<Json<ParcelTemplateList>, ApiError> {
    let Query(filter) = filter.map_err(|e| ApiError::field("query", e.body_text()))?;
    if let Some(include) = filter.include.as_deref() {
        if !["all", "user", "enabled"].contains(&include) {
            return Err(ApiError::field("include", "Use all, user or enabled."));
        }
    }
    let carrier = filter.carrier.map(|c| c.to_ascii_lowercase());
    let results = parcel_templates::TEMPLATES
        .iter()
        .filter(|t| carrier.as_deref().is_none_or(|c| t.carrier == c))
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
