//! `/webhooks`: subscriptions to events, their signed deliveries and the delivery log.
//! Shippo reference: seed 002 "Webhooks"; <https://docs.goshippo.com/shippoapi/public-api/#tag/Webhooks>.
//!
//! Consign additions: `secret` (shown once, in the create answer) signs every delivery
//! (`Consign-Signature`, see the README); `GET /webhooks/{id}/deliveries` is the delivery log and
//! `POST /webhooks/{id}/deliveries/{delivery}/redeliver` sends one again.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use domain::webhook::{Delivery, Webhook};
use domain::ObjectId;
use serde::{Deserialize, Serialize};
use service::webhooks::{self, WebhookInput};
use utoipa::ToSchema;

use crate::auth::Auth;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Body, Id};
use crate::lenient;
use crate::pagination::{ListQuery, Paginated};
use crate::AppState;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/webhooks", get(list).post(create))
        .route("/webhooks/{id}", get(retrieve).put(update).delete(remove))
        .route("/webhooks/{id}/deliveries", get(deliveries))
        .route("/webhooks/{id}/deliveries/{delivery}", get(delivery))
        .route(
            "/webhooks/{id}/deliveries/{delivery}/redeliver",
            post(redeliver),
        )
}

/// Create or update a webhook.
#[derive(Debug, Deserialize, ToSchema)]
pub struct WebhookRequest {
    /// Where deliveries are POSTed (http or https).
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub url: Option<String>,
    /// transaction_created, transaction_updated, track_updated, batch_created, batch_purchased,
    /// Consign's order_created, order_updated, order_fulfilled, or all.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub event: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    #[schema(value_type = Option<bool>)]
    pub active: Option<bool>,
    /// Must match the token's mode when given (test tokens make test webhooks).
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    #[schema(value_type = Option<bool>)]
    pub is_test: Option<bool>,
}

impl From<WebhookRequest> for WebhookInput {
    fn from(r: WebhookRequest) -> Self {
        WebhookInput {
            url: r.url,
            event: r.event,
            active: r.active,
            is_test: r.is_test,
        }
    }
}

/// A Webhook.
#[derive(Serialize, ToSchema)]
pub struct WebhookResponse {
    pub object_id: String,
    pub object_owner: String,
    pub object_created: String,
    pub object_updated: String,
    pub url: String,
    pub event: &'static str,
    pub active: bool,
    pub is_test: bool,
    /// The signing secret: only in the answer to the create.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

impl WebhookResponse {
    fn new(w: Webhook, owner: &str, secret: Option<String>) -> Self {
        WebhookResponse {
            object_id: w.id.to_string(),
            object_owner: owner.to_string(),
            object_created: w.created.to_string(),
            object_updated: w.updated.to_string(),
            url: w.url,
            event: w.event.as_str(),
            active: w.active,
            is_test: w.is_test,
            secret,
        }
    }
}

/// One attempt of a delivery.
#[derive(Serialize, ToSchema)]
pub struct AttemptResponse {
    pub attempted_at: String,
    /// The receiver's HTTP status; null when it did not answer.
    pub status_code: Option<u16>,
    pub latency_ms: i64,
    /// The first 512 bytes of the answer, or why there was none.
    pub response: String,
}

/// A delivery of one event to one webhook.
#[derive(Serialize, ToSchema)]
pub struct DeliveryResponse {
    pub object_id: String,
    pub object_created: String,
    pub object_updated: String,
    pub webhook: String,
    pub event: &'static str,
    /// PENDING, DELIVERED or FAILED.
    pub status: &'static str,
    /// The exact body sent (and signed).
    pub payload: String,
    pub attempts: Vec<AttemptResponse>,
}

impl From<Delivery> for DeliveryResponse {
    fn from(d: Delivery) -> Self {
        DeliveryResponse {
            object_id: d.id.to_string(),
            object_created: d.created.to_string(),
            object_updated: d.updated.to_string(),
            webhook: d.webhook.to_string(),
            event: d.event.as_str(),
            status: d.status.as_str(),
            payload: d.payload,
            attempts: d
                .attempts
                .into_iter()
                .map(|a| AttemptResponse {
                    attempted_at: a.at.to_string(),
                    status_code: a.status_code,
                    latency_ms: a.latency_ms,
                    response: a.response,
                })
                .collect(),
        }
    }
}

/// Create a webhook. The answer carries its signing `secret`, once.
#[utoipa::path(post, path = "/webhooks", tag = "Webhooks",
    request_body(content((WebhookRequest = "application/json"))),
    responses((status = 201, body = WebhookResponse), (status = 400, body = ErrorBody)), security(("ShippoToken" = [])))]
pub async fn create(
    State(state): State<AppState>,
    Auth(who): Auth,
    Body(req): Body<WebhookRequest>,
) -> Result<(StatusCode, Json<WebhookResponse>), ApiError> {
    let created = webhooks::create(&state.services, &who, req.into()).await?;
    Ok((
        StatusCode::CREATED,
        Json(WebhookResponse::new(
            created.webhook,
            &who.account_name,
            Some(created.secret),
        )),
    ))
}

/// Retrieve a webhook.
#[utoipa::path(get, path = "/webhooks/{id}", tag = "Webhooks", params(("id" = String, Path)),
    responses((status = 200, body = WebhookResponse), (status = 404, body = ErrorBody)), security(("ShippoToken" = [])))]
pub async fn retrieve(
    State(state): State<AppState>,
    Auth(who): Auth,
    Id(id): Id,
) -> Result<Json<WebhookResponse>, ApiError> {
    let w = webhooks::get(&state.services, &who, id).await?;
    Ok(Json(WebhookResponse::new(w, &who.account_name, None)))
}

/// Update a webhook's url, event or active flag.
#[utoipa::path(put, path = "/webhooks/{id}", tag = "Webhooks", params(("id" = String, Path)), request_body = WebhookRequest,
    responses((status = 200, body = WebhookResponse), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)), security(("ShippoToken" = [])))]
pub async fn update(
    State(state): State<AppState>,
    Auth(who): Auth,
    Id(id): Id,
    Body(req): Body<WebhookRequest>,
) -> Result<Json<WebhookResponse>, ApiError> {
    let w = webhooks::update(&state.services, &who, id, req.into()).await?;
    Ok(Json(WebhookResponse::new(w, &who.account_name, None)))
}

/// Delete a webhook (204); deliveries still pending for it stop.
#[utoipa::path(delete, path = "/webhooks/{id}", tag = "Webhooks", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)), security(("ShippoToken" = [])))]
pub async fn remove(
    State(state): State<AppState>,
    Auth(who): Auth,
    Id(id): Id,
) -> Result<StatusCode, ApiError> {
    webhooks::delete(&state.services, &who, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A page of webhooks.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct WebhookList {
    count: i64,
    next: Option<String>,
    previous: Option<String>,
    results: Vec<WebhookResponse>,
}

/// List webhooks, newest first.
#[utoipa::path(get, path = "/webhooks", tag = "Webhooks", params(("page" = Option<u32>, Query), ("results" = Option<u32>, Query)),
    responses((status = 200, body = WebhookList)), security(("ShippoToken" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Auth(who): Auth,
    q: ListQuery,
) -> Result<Json<Paginated<WebhookResponse>>, ApiError> {
    let page = webhooks::list(&state.services, &who, q.page).await?;
    Ok(Json(Paginated::new(&q, page, |w| {
        WebhookResponse::new(w, &who.account_name, None)
    })))
}

/// A page of deliveries.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct DeliveryList {
    count: i64,
    next: Option<String>,
    previous: Option<String>,
    results: Vec<DeliveryResponse>,
}

/// A webhook's delivery log, newest first.
#[utoipa::path(get, path = "/webhooks/{id}/deliveries", tag = "Webhooks",
    params(("id" = String, Path), ("page" = Option<u32>, Query), ("results" = Option<u32>, Query)),
    responses((status = 200, body = DeliveryList), (status = 404, body = ErrorBody)), security(("ShippoToken" = [])))]
pub async fn deliveries(
    State(state): State<AppState>,
    Auth(who): Auth,
    Id(id): Id,
    q: ListQuery,
) -> Result<Json<Paginated<DeliveryResponse>>, ApiError> {
    let page = webhooks::deliveries(&state.services, &who, id, q.page).await?;
    Ok(Json(Paginated::new(&q, page, DeliveryResponse::from)))
}

fn two_ids(webhook: &str, delivery: &str) -> Result<(ObjectId, ObjectId), ApiError> {
    match (ObjectId::parse(webhook), ObjectId::parse(delivery)) {
        (Some(w), Some(d)) => Ok((w, d)),
        _ => Err(ApiError::not_found("Delivery")),
    }
}

/// One delivery with every attempt.
#[utoipa::path(get, path = "/webhooks/{id}/deliveries/{delivery}", tag = "Webhooks",
    params(("id" = String, Path), ("delivery" = String, Path)),
    responses((status = 200, body = DeliveryResponse), (status = 404, body = ErrorBody)), security(("ShippoToken" = [])))]
pub async fn delivery(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path((webhook, delivery)): Path<(String, String)>,
) -> Result<Json<DeliveryResponse>, ApiError> {
    let (w, d) = two_ids(&webhook, &delivery)?;
    Ok(Json(
        webhooks::delivery(&state.services, &who, w, d)
            .await?
            .into(),
    ))
}

/// Send a finished delivery again (a new round of attempts starts at once).
#[utoipa::path(post, path = "/webhooks/{id}/deliveries/{delivery}/redeliver", tag = "Webhooks",
    params(("id" = String, Path), ("delivery" = String, Path)),
    responses((status = 202, body = DeliveryResponse), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)), security(("ShippoToken" = [])))]
pub async fn redeliver(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path((webhook, delivery)): Path<(String, String)>,
) -> Result<(StatusCode, Json<DeliveryResponse>), ApiError> {
    let (w, d) = two_ids(&webhook, &delivery)?;
    let d = webhooks::redeliver(&state.services, &who, w, d).await?;
    Ok((StatusCode::ACCEPTED, Json(d.into())))
}
