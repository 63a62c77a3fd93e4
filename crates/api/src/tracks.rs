//! `/tracks`: a tracking number's status and history, and registration for `track_updated`
//! webhooks. Shippo reference: seed 002 "Tracking Status";
//! <https://docs.goshippo.com/shippoapi/public-api/#tag/Tracking-Status>.

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use domain::tracking::{Place, Track, TrackEvent, TrackStatus};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use service::tracking;
use utoipa::ToSchema;

use crate::auth::Auth;
use crate::error::{ApiError, ErrorBody};
use crate::extract::Body;
use crate::lenient;
use crate::AppState;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/tracks", post(register))
        .route("/tracks/{carrier}/{number}", get(retrieve))
}

/// City, state, postal code and country of an event or an address.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, Default)]
pub struct Location {
    pub city: Option<String>,
    pub state: Option<String>,
    pub zip: Option<String>,
    pub country: Option<String>,
}

impl From<&Place> for Location {
    fn from(p: &Place) -> Self {
        Location {
            city: p.city.clone(),
            state: p.state.clone(),
            zip: p.zip.clone(),
            country: p.country.clone(),
        }
    }
}

impl From<Location> for Place {
    fn from(l: Location) -> Self {
        let f = |v: Option<String>| v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
        Place {
            city: f(l.city),
            state: f(l.state),
            zip: f(l.zip),
            country: f(l.country).map(|c| c.to_ascii_uppercase()),
        }
    }
}

/// A finer classification of an event.
#[derive(Debug, Serialize, ToSchema)]
pub struct SubstatusResponse {
    pub code: String,
    pub text: String,
    pub action_required: bool,
}

/// One tracking event (and the current status).
#[derive(Debug, Serialize, ToSchema)]
pub struct TrackingStatusResponse {
    pub object_created: String,
    pub object_updated: String,
    pub object_id: String,
    /// UNKNOWN, PRE_TRANSIT, TRANSIT, DELIVERED, RETURNED, FAILURE.
    pub status: &'static str,
    pub substatus: Option<SubstatusResponse>,
    pub status_details: String,
    pub status_date: Option<String>,
    pub location: Option<Location>,
}

impl TrackingStatusResponse {
    /// The wire form of an event.
    pub fn new(e: &TrackEvent) -> Self {
        TrackingStatusResponse {
            object_created: e.created.to_string(),
            object_updated: e.created.to_string(),
            object_id: e.id.to_string(),
            status: e.status.as_str(),
            substatus: e.substatus.as_ref().map(|s| SubstatusResponse {
                code: s.code.clone(),
                text: s.text.clone(),
                action_required: s.action_required,
            }),
            status_details: e.details.clone(),
            status_date: Some(e.occurred.to_string()),
            location: e.location.as_ref().map(Location::from),
        }
    }

    /// The status of a track with no events yet.
    fn unknown(t: &Track) -> Self {
        TrackingStatusResponse {
            object_created: t.created.to_string(),
            object_updated: t.updated.to_string(),
            object_id: t.id.to_string(),
            status: TrackStatus::Unknown.as_str(),
            substatus: None,
            status_details: domain::tracking::status_text(TrackStatus::Unknown).to_string(),
            status_date: None,
            location: None,
        }
    }

    /// A track's current status: its latest event, or UNKNOWN.
    pub fn current(t: &Track) -> Self {
        t.current().map_or_else(|| Self::unknown(t), Self::new)
    }
}

/// A service level as token and name.
#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceLevelResponse {
    pub token: String,
    pub name: String,
}

/// A Track.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrackResponse {
    pub carrier: String,
    pub tracking_number: String,
    pub address_from: Option<Location>,
    pub address_to: Option<Location>,
    /// The transaction of a label Consign sold (shown to its owner only).
    pub transaction: Option<String>,
    pub eta: Option<String>,
    pub original_eta: Option<String>,
    pub servicelevel: Option<ServiceLevelResponse>,
    pub metadata: Option<String>,
    pub tracking_status: TrackingStatusResponse,
    /// Oldest first.
    pub tracking_history: Vec<TrackingStatusResponse>,
    pub messages: Vec<String>,
    pub test: bool,
}

impl TrackResponse {
    /// The wire form of a track.
    pub fn new(t: &Track, show_transaction: bool, messages: Vec<String>) -> Self {
        TrackResponse {
            carrier: t.carrier.clone(),
            tracking_number: t.tracking_number.clone(),
            address_from: t.address_from.as_ref().map(Location::from),
            address_to: t.address_to.as_ref().map(Location::from),
            transaction: t
                .transaction
                .filter(|_| show_transaction)
                .map(|id| id.to_string()),
            eta: t.eta.map(|e| e.to_string()),
            original_eta: t.original_eta.map(|e| e.to_string()),
            servicelevel: t
                .servicelevel
                .as_ref()
                .map(|(token, name)| ServiceLevelResponse {
                    token: token.clone(),
                    name: name.clone(),
                }),
            metadata: (!t.metadata.is_empty()).then(|| t.metadata.clone()),
            tracking_status: TrackingStatusResponse::current(t),
            tracking_history: t.history.iter().map(TrackingStatusResponse::new).collect(),
            messages,
            test: t.test,
        }
    }
}

/// Objects as webhooks carry them: exactly what `GET /tracks` and `GET /transactions/{id}`
/// answer (current shape).
pub struct ShippoWire;

impl tracking::Wire for ShippoWire {
    fn track(&self, track: &Track, show_transaction: bool) -> Value {
        serde_json::to_value(TrackResponse::new(track, show_transaction, Vec::new()))
            .expect("a track serialises")
    }

    fn transaction(
        &self,
        cipher: &service::Cipher,
        base: &str,
        owner: &str,
        t: &domain::transaction::Transaction,
    ) -> Value {
        crate::transactions::webhook_body(cipher, base, owner, t)
    }

    fn shipment_request(
        &self,
        raw: &Value,
    ) -> Result<service::shipments::CreateShipment, domain::ValidationError> {
        crate::batches::read_shipment(raw)
    }

    fn order(&self, owner: &str, view: &service::orders::OrderView) -> Value {
        serde_json::to_value(crate::orders::OrderResponse::new(view, owner))
            .expect("an order serialises")
    }
}

/// Register a tracking number for webhooks.
#[derive(Debug, Deserialize, ToSchema)]
pub struct TracksRequest {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub carrier: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub tracking_number: Option<String>,
    /// Up to 100 characters.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub metadata: Option<String>,
}

/// The status and history of a tracking number.
#[utoipa::path(get, path = "/tracks/{carrier}/{tracking_number}", tag = "Tracking",
    params(("carrier" = String, Path), ("tracking_number" = String, Path)),
    responses((status = 200, body = TrackResponse), (status = 400, body = ErrorBody)), security(("ShippoToken" = [])))]
pub async fn retrieve(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path((carrier, number)): Path<(String, String)>,
) -> Result<Json<TrackResponse>, ApiError> {
    let (track, messages) = tracking::get(&state.services, &who, &carrier, &number).await?;
    Ok(Json(TrackResponse::new(&track, true, messages)))
}

/// Register a tracking number for `track_updated` webhooks (answers 200, as Shippo does). A
/// Shippo test number (`SHIPPO_TRANSIT`, …) sends its webhook right away.
#[utoipa::path(post, path = "/tracks", tag = "Tracking",
    request_body(content((TracksRequest = "application/json"))),
    responses((status = 200, body = TrackResponse), (status = 400, body = ErrorBody)), security(("ShippoToken" = [])))]
pub async fn register(
    State(state): State<AppState>,
    Auth(who): Auth,
    Body(req): Body<TracksRequest>,
) -> Result<Json<TrackResponse>, ApiError> {
    // Missing or malformed carrier and number are named by the service's checks.
    let (track, messages) = tracking::register(
        &state.services,
        &who,
        req.carrier.as_deref().unwrap_or_default(),
        req.tracking_number.as_deref().unwrap_or_default(),
        req.metadata,
    )
    .await?;
    Ok(Json(TrackResponse::new(&track, true, messages)))
}
