//! Consign's HTTP layer: the Shippo-compatible wire format over the service layer.
//!
//! Each resource has its own module with its wire types and a `router()`; handlers extract,
//! map wire → domain, call one service function and map domain → wire. Nothing here runs SQL.

pub mod addresses;
pub mod auth;
pub mod batches;
pub mod carrier_accounts;
pub mod carriers;
pub mod customs;
pub mod error;
pub mod extract;
pub mod files;
mod health;
pub mod inbound;
mod lenient;
pub mod manifests;
mod nul;
mod openapi;
pub mod orders;
pub mod pagination;
pub mod parcel_templates;
pub mod parcels;
pub mod projects;
pub mod rate_limit;
pub mod rates;
pub mod refunds;
mod refusals;
pub mod request_id;
pub mod scans;
pub mod settings;
pub mod shipments;
mod tracking_page;
pub mod tracks;
pub mod transactions;
pub mod version;
pub mod webhooks;

use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Router;
use service::Services;
use tower::Layer;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::normalize_path::{NormalizePath, NormalizePathLayer};
use tower_http::trace::TraceLayer;

use crate::error::ApiError;

pub use openapi::openapi_json;

/// Default request body limit: generous for batch imports, small enough to refuse abuse.
pub const DEFAULT_BODY_LIMIT: usize = 2 * 1024 * 1024;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub services: Services,
    /// Externally visible base URL (e.g. `https://ship.example.com`), used for absolute links;
    /// when unset, links are built from the request's `Host` header.
    pub public_url: Option<String>,
}

/// HTTP settings.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    pub public_url: Option<String>,
    pub body_limit: usize,
    pub rate_limits: rate_limit::RateLimits,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            public_url: None,
            body_limit: DEFAULT_BODY_LIMIT,
            rate_limits: rate_limit::RateLimits::default(),
        }
    }
}

/// The full application: routes, error fallbacks, limits, tracing, panic safety, and trailing
/// slashes removed *before* routing (never redirected: a redirected POST becomes a GET).
pub fn app(services: Services, config: HttpConfig) -> NormalizePath<Router> {
    // The web app's pages (crates/web) beside the API, behind the same edge layer.
    let pages = web::router(
        services.clone(),
        web::WebConfig {
            public_url: config.public_url.clone(),
        },
    );
    let state = AppState {
        services,
        public_url: config.public_url,
    };
    let limiter = rate_limit::Limiter::new(&config.rate_limits);
    let router = Router::new()
        .merge(health::router())
        .merge(openapi::router())
        .merge(addresses::router())
        .merge(parcels::router())
        .merge(parcel_templates::router())
        .merge(carrier_accounts::router())
        .merge(carriers::router())
        .merge(customs::router())
        .merge(shipments::router())
        .merge(rates::router())
        .merge(transactions::router())
        .merge(refunds::router())
        .merge(manifests::router())
        .merge(orders::router())
        .merge(batches::router())
        .merge(projects::router())
        .merge(files::router())
        .merge(settings::router())
        .merge(tracks::router())
        .merge(webhooks::router())
        .merge(scans::router())
        .merge(inbound::router())
        .merge(tracking_page::router())
        .merge(pages)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            state.services.clone(),
            refusals::layer,
        ))
        .layer(DefaultBodyLimit::max(config.body_limit))
        .layer(CatchPanicLayer::custom(|_| ApiError::internal("handler panicked").into_response()))
        .layer(axum::middleware::from_fn_with_state(limiter, edge))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request| {
                    tracing::info_span!("http", method = %req.method(), path = %req.uri().path(), request_id = tracing::field::Empty)
                })
                .on_request(())
                .on_response(|res: &Response, latency: Duration, _span: &tracing::Span| {
                    tracing::debug!(status = res.status().as_u16(), latency_us = latency.as_micros() as u64, "response");
                }),
        )
        .with_state(state);
    NormalizePathLayer::trim_trailing_slash().layer(router)
}

/// What every request passes first, in one layer: its id (answered in `X-Request-Id` and put on
/// 5xx bodies), the rate limits (429), a path whose percent-decoded bytes are not UTF-8
/// answered with the JSON 404 before a path extractor answers it in plain text, and NUL
/// (U+0000) refused in every text input — path, query, body — before anything reads it (see
/// [`nul`]): one rule for both databases (PostgreSQL's text cannot hold it at all).
async fn edge(
    axum::extract::State(limiter): axum::extract::State<Option<rate_limit::Limiter>>,
    req: Request,
    next: axum::middleware::Next,
) -> Response {
    let id = request_id::of(&req);
    if let Some(refused) = limiter.as_ref().and_then(|l| rate_limit::refuse(l, &req)) {
        return request_id::scoped(id, async { refused }).await;
    }
    if percent_encoding::percent_decode(req.uri().path().as_bytes())
        .decode_utf8()
        .is_err()
    {
        let res = ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "No such object: the path is not valid UTF-8.",
        )
        .into_response();
        return request_id::scoped(id, async { res }).await;
    }
    if let Some(part) = nul::in_uri(req.uri()) {
        let res = nul::refusal(part).into_response();
        return request_id::scoped(id, async { res }).await;
    }
    let req = nul::guard_body(req);
    request_id::scoped(id, next.run(req)).await
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "No such endpoint.")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "This endpoint does not support that method.",
    )
}
