//! Events carriers push to Consign (a Consign extension): `POST /carrier_accounts/{id}/events`,
//! the URL a merchant gives EasyPost (Webhooks) or Shippo (a `track_updated` webhook) for the
//! carrier account. No token: the carrier account's adapter checks the provider's signature over
//! the raw body with the account's `webhook_secret`; anything unsigned or forged answers 401 and
//! changes nothing. Events for parcels that are not the account's labels are counted as ignored
//! (answered 200, so the provider does not retry them forever).

use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use axum::{Json, Router};
use serde::Serialize;
use service::tracking;
use utoipa::ToSchema;

use crate::error::{ApiError, ErrorBody};
use crate::extract::{Id, RawBody};
use crate::AppState;

pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/carrier_accounts/{id}/events", post(receive))
}

/// What one pushed request changed.
#[derive(Serialize, ToSchema)]
pub struct PushResponse {
    /// Tracking events the request carried.
    pub received: usize,
    /// New events stored (webhooks and buyer emails follow).
    pub accepted: usize,
    /// Events Consign already had (a replay, or the full history sent again).
    pub duplicates: usize,
    /// Events for parcels that are not labels of this carrier account.
    pub ignored: usize,
}

/// The path carriers push to for carrier account `id` (relative to the public URL).
pub fn events_path(id: &str) -> String {
    format!("/carrier_accounts/{id}/events")
}

/// Receives a carrier's pushed tracking event (EasyPost `tracker.*`, Shippo `track_updated`).
#[utoipa::path(post, path = "/carrier_accounts/{id}/events", tag = "Carrier Accounts", params(("id" = String, Path)),
    request_body(content = String, description = "The provider's event, exactly as it sent it (signed over these bytes)", content_type = "application/json"),
    responses((status = 200, body = PushResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody, description = "Missing or forged signature"), (status = 404, body = ErrorBody)), security(("ProviderSignature" = [])))]
pub async fn receive(
    State(state): State<AppState>,
    Id(id): Id,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Json<PushResponse>, ApiError> {
    let headers: Vec<(String, String)> = headers
        .iter()
        .filter_map(|(k, v)| {
            Some((
                k.as_str().to_ascii_lowercase(),
                v.to_str().ok()?.to_string(),
            ))
        })
        .collect();
    let o = tracking::pushed(&state.services, id, &headers, &body)
        .await
        .map_err(|e| match e {
            service::ServiceError::Unauthorized => ApiError::unauthorized(
                "The signature is missing or does not verify with this carrier account's webhook_secret.",
            ),
            e => e.into(),
        })?;
    Ok(Json(PushResponse {
        received: o.received,
        accepted: o.accepted,
        duplicates: o.duplicates,
        ignored: o.ignored,
    }))
}
