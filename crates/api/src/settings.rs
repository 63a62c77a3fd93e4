//! `/settings/labels`: the account's label settings (a Consign extension; Shippo keeps them in
//! its dashboard at /settings/labels). Today: the default `label_file_type`.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use service::accounts;
use utoipa::ToSchema;

use crate::auth::Auth;
use crate::error::{ApiError, ErrorBody};
use crate::extract::Body;
use crate::lenient;
use crate::AppState;

pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/settings/labels", get(retrieve).put(update))
}

/// Label settings.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LabelSettings {
    /// The label file type of purchases that name none (initially PDF_4x6).
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub default_label_file_type: Option<String>,
}

/// The account's label settings.
#[utoipa::path(get, path = "/settings/labels", tag = "Settings", responses((status = 200, body = LabelSettings)), security(("ShippoToken" = [])))]
pub async fn retrieve(
    State(state): State<AppState>,
    Auth(who): Auth,
) -> Result<Json<LabelSettings>, ApiError> {
    let v = accounts::default_label_file_type(&state.services, &who).await?;
    Ok(Json(LabelSettings {
        default_label_file_type: Some(v),
    }))
}

/// Change the account's label settings.
#[utoipa::path(put, path = "/settings/labels", tag = "Settings", request_body = LabelSettings,
    responses((status = 200, body = LabelSettings), (status = 400, body = ErrorBody)), security(("ShippoToken" = [])))]
pub async fn update(
    State(state): State<AppState>,
    Auth(who): Auth,
    Body(req): Body<LabelSettings>,
) -> Result<Json<LabelSettings>, ApiError> {
    let v =
        accounts::set_default_label_file_type(&state.services, &who, req.default_label_file_type)
            .await?;
    Ok(Json(LabelSettings {
        default_label_file_type: Some(v),
    }))
}
