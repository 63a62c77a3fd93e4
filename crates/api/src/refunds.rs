//! `/refunds`: ask for a refund of an unused label, retrieve, list.
//! Shippo reference: seed 002 "Refunds"; <https://docs.goshippo.com/shippoapi/public-api/#tag/Refunds>.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use domain::transaction::Refund;
use serde::{Deserialize, Serialize};
use service::refunds;
use utoipa::ToSchema;

use crate::auth::Auth;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Body, Id};
use crate::lenient;
use crate::pagination::{ListQuery, Paginated};
use crate::version::Shape;
use crate::AppState;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/refunds", get(list).post(create))
        .route("/refunds/{id}", get(retrieve))
}

/// Ask for a refund.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RefundRequest {
    /// The transaction whose label is refunded.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub transaction: Option<String>,
    /// Accepted; refunds are always settled in the background.
    #[serde(rename = "async", default, deserialize_with = "lenient::opt_bool")]
    #[schema(value_type = Option<bool>)]
    pub asynchronous: Option<bool>,
}

/// A Refund (`status` in the current shape, `object_status` in the seed's: both are sent).
#[derive(Serialize, ToSchema)]
pub struct RefundResponse {
    pub object_id: String,
    pub object_owner: String,
    pub object_created: String,
    pub object_updated: String,
    /// QUEUED, PENDING, SUCCESS, ERROR.
    pub status: &'static str,
    pub object_status: &'static str,
    pub transaction: String,
    pub test: bool,
}

impl RefundResponse {
    fn new(r: Refund, owner: &str, _shape: Shape) -> Self {
        RefundResponse {
            object_id: r.id.to_string(),
            object_owner: owner.to_string(),
            object_created: r.created.to_string(),
            object_updated: r.updated.to_string(),
            status: r.status.as_str(),
            object_status: r.status.as_str(),
            transaction: r.transaction.to_string(),
            test: r.test,
        }
    }
}

/// Ask for a refund: answers QUEUED; the transaction is REFUNDPENDING until it is settled.
#[utoipa::path(post, path = "/refunds", tag = "Refunds",
    request_body(content((RefundRequest = "application/json"))),
    responses((status = 201, body = RefundResponse), (status = 400, body = ErrorBody)), security(("ShippoToken" = [])))]
pub async fn create(
    State(state): State<AppState>,
    Auth(who): Auth,
    shape: Shape,
    Body(req): Body<RefundRequest>,
) -> Result<(StatusCode, Json<RefundResponse>), ApiError> {
    let _ = req.asynchronous;
    let r = refunds::create(&state.services, &who, req.transaction).await?;
    Ok((
        StatusCode::CREATED,
        Json(RefundResponse::new(r, &who.account_name, shape)),
    ))
}

/// Retrieve a refund.
#[utoipa::path(get, path = "/refunds/{id}", tag = "Refunds", params(("id" = String, Path)),
    responses((status = 200, body = RefundResponse), (status = 404, body = ErrorBody)), security(("ShippoToken" = [])))]
pub async fn retrieve(
    State(state): State<AppState>,
    Auth(who): Auth,
    shape: Shape,
    Id(id): Id,
) -> Result<Json<RefundResponse>, ApiError> {
    Ok(Json(RefundResponse::new(
        refunds::get(&state.services, &who, id).await?,
        &who.account_name,
        shape,
    )))
}

/// A page of refunds.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct RefundList {
    count: i64,
    next: Option<String>,
    previous: Option<String>,
    results: Vec<RefundResponse>,
}

/// List refunds, newest first.
#[utoipa::path(get, path = "/refunds", tag = "Refunds", params(("page" = Option<u32>, Query), ("results" = Option<u32>, Query)),
    responses((status = 200, body = RefundList)), security(("ShippoToken" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Auth(who): Auth,
    shape: Shape,
    q: ListQuery,
) -> Result<Json<Paginated<RefundResponse>>, ApiError> {
    let page = refunds::list(&state.services, &who, q.page).await?;
    Ok(Json(Paginated::new(&q, page, |r| {
        RefundResponse::new(r, &who.account_name, shape)
    })))
}
