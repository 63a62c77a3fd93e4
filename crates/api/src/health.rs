//! `GET /health`: liveness and database readiness.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use utoipa::ToSchema;

use crate::AppState;

pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/health", get(health))
}

/// Health report.
#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `ok` or `degraded`.
    status: &'static str,
    /// `ok` or the reason the database is not answering.
    database: String,
    version: &'static str,
}

/// Liveness and database readiness; 503 when the database does not answer.
#[utoipa::path(get, path = "/health", tag = "Health",
    responses((status = 200, body = Health), (status = 503, body = Health)))]
pub async fn health(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    let version = env!("CARGO_PKG_VERSION");
    match state.services.store.ping().await {
        Ok(()) => (
            StatusCode::OK,
            Json(Health {
                status: "ok",
                database: "ok".into(),
                version,
            }),
        ),
        Err(e) => {
            tracing::warn!(error = %e, "health check: database unavailable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(Health {
                    status: "degraded",
                    database: "unavailable".into(),
                    version,
                }),
            )
        }
    }
}
