//! `/carriers`: carrier tokens and their service-level tokens (seed 002 "Carriers", "Service
//! Levels"), from the code's registry, with what Consign can do for each.

use axum::extract::Path;
use axum::routing::get;
use axum::{Json, Router};
use carriers::catalogue::{self, KnownCarrier};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::Auth;
use crate::error::{ApiError, ErrorBody};
use crate::AppState;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/carriers", get(list))
        .route("/carriers/{token}", get(retrieve))
}

/// A service level.
#[derive(Serialize, ToSchema)]
pub struct ServiceLevelResponse {
    pub token: String,
    pub name: String,
}

/// A carrier token.
#[derive(Serialize, ToSchema)]
pub struct CarrierResponse {
    pub token: String,
    pub name: String,
    /// Whether carrier accounts can be created for it in Consign.
    pub supported: bool,
    /// `rates`, `labels`, `tracking`, `refunds`, `manifests`, `address_validation`.
    pub capabilities: Vec<&'static str>,
    pub service_levels: Vec<ServiceLevelResponse>,
}

impl From<&KnownCarrier> for CarrierResponse {
    fn from(c: &KnownCarrier) -> Self {
        Self {
            token: c.token.clone(),
            name: c.name.clone(),
            supported: !c.capabilities.is_empty(),
            capabilities: c.capabilities.iter().map(|c| c.as_str()).collect(),
            service_levels: c
                .service_levels
                .iter()
                .map(|s| ServiceLevelResponse {
                    token: s.token.clone(),
                    name: s.name.clone(),
                })
                .collect(),
        }
    }
}

/// The list of carriers.
#[derive(Serialize, ToSchema)]
pub struct CarrierList {
    pub results: Vec<CarrierResponse>,
}

/// List carrier tokens: Consign's own carriers first, then every token Shippo's API knows.
#[utoipa::path(get, path = "/carriers", tag = "Carriers", responses((status = 200, body = CarrierList)), security(("ShippoToken" = [])))]
pub async fn list(_auth: Auth) -> Json<CarrierList> {
    Json(CarrierList {
        results: catalogue::all().iter().map(Into::into).collect(),
    })
}

/// One carrier by token.
#[utoipa::path(get, path = "/carriers/{token}", tag = "Carriers", params(("token" = String, Path)),
    responses((status = 200, body = CarrierResponse), (status = 404, body = ErrorBody)), security(("ShippoToken" = [])))]
pub async fn retrieve(
    _auth: Auth,
    Path(token): Path<String>,
) -> Result<Json<CarrierResponse>, ApiError> {
    catalogue::find(&token)
        .map(|c| Json(c.into()))
        .ok_or_else(|| ApiError::not_found("Carrier"))
}
