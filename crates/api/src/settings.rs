//! `/settings/labels`: the account's label settings (a Consign extension; Shippo keeps them in
//! its dashboard at /settings/labels). Today: the default `label_file_type`.
//!
//! `/settings/notifications`: buyer emails on/off and their templates (subject, plain text and
//! HTML for "shipped" and "delivered"); a field sent as null goes back to the default.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use service::{accounts, notifications};
use utoipa::ToSchema;

use crate::auth::Auth;
use crate::error::{ApiError, ErrorBody};
use crate::extract::Body;
use crate::lenient;
use crate::AppState;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/settings/labels", get(retrieve).put(update))
        .route(
            "/settings/notifications",
            get(retrieve_notifications).put(update_notifications),
        )
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

/// Buyer-email settings. Templates may use `{{tracking_number}}`, `{{carrier}}`,
/// `{{tracking_url}}`, `{{status}}`, `{{status_details}}`, `{{eta_line}}`, `{{where}}`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct NotificationSettings {
    /// Whether buyers get "shipped" and "delivered" emails (default true; needs an SMTP server).
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    #[schema(value_type = Option<bool>)]
    pub enabled: Option<bool>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub shipped_subject: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub shipped_text: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub shipped_html: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub delivered_subject: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub delivered_text: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub delivered_html: Option<String>,
    /// Whether this server has an SMTP server configured (read-only).
    #[serde(default)]
    pub smtp_configured: bool,
}

fn effective(e: notifications::Effective, smtp: bool) -> NotificationSettings {
    let [shipped_subject, shipped_text, shipped_html] = e.shipped;
    let [delivered_subject, delivered_text, delivered_html] = e.delivered;
    NotificationSettings {
        enabled: Some(e.enabled),
        shipped_subject: Some(shipped_subject),
        shipped_text: Some(shipped_text),
        shipped_html: Some(shipped_html),
        delivered_subject: Some(delivered_subject),
        delivered_text: Some(delivered_text),
        delivered_html: Some(delivered_html),
        smtp_configured: smtp,
    }
}

/// The account's buyer-email settings, defaults filled in.
#[utoipa::path(get, path = "/settings/notifications", tag = "Settings", responses((status = 200, body = NotificationSettings)), security(("ShippoToken" = [])))]
pub async fn retrieve_notifications(
    State(state): State<AppState>,
    Auth(who): Auth,
) -> Result<Json<NotificationSettings>, ApiError> {
    let (_, eff) = notifications::get_settings(&state.services, &who).await?;
    Ok(Json(effective(eff, state.services.mailer.is_some())))
}

/// Replace the account's buyer-email settings (fields left out or null take the defaults).
#[utoipa::path(put, path = "/settings/notifications", tag = "Settings", request_body = NotificationSettings,
    responses((status = 200, body = NotificationSettings), (status = 400, body = ErrorBody)), security(("ShippoToken" = [])))]
pub async fn update_notifications(
    State(state): State<AppState>,
    Auth(who): Auth,
    Body(req): Body<NotificationSettings>,
) -> Result<Json<NotificationSettings>, ApiError> {
    let settings = notifications::Settings {
        enabled: req.enabled,
        shipped_subject: req.shipped_subject,
        shipped_text: req.shipped_text,
        shipped_html: req.shipped_html,
        delivered_subject: req.delivered_subject,
        delivered_text: req.delivered_text,
        delivered_html: req.delivered_html,
    };
    let (_, eff) = notifications::put_settings(&state.services, &who, settings).await?;
    Ok(Json(effective(eff, state.services.mailer.is_some())))
}
