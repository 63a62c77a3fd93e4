//! Crowdfunding projects (seed 000; a Consign extension for managing them, with an account
//! token) and the seed's own endpoints, byte-compatible with its examples:
//!
//! - `GET /api/shipping/orders?project=ID[&status=pending][&limit=N&offset=M]` and
//!   `POST /api/shipping/tracking`, with a project key (`Authorization: Bearer <key>`); errors
//!   as the seed's table (400 naming the parameter, 401, 403 before any key exists, 404).
//! - `POST /api/fulfillment/easypost/{projectId}` and `/api/fulfillment/shippo/{projectId}`:
//!   no authentication header, the provider's signature over the raw body.

use axum::extract::{DefaultBodyLimit, Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use domain::crowdfunding::{Project, RewardWeight};
use domain::{FieldErrors, ObjectId, Timestamp};
use serde::Serialize;
use serde_json::{json, Value};
use service::crowdfunding::{
    self, backers, inbound, sync, tracking, ProjectEvent, Refusal, ShippingOrder, Sync,
};

use crate::auth::Auth;
use crate::error::ApiError;
use crate::extract::{AnyBody, Id, RawBody};
use crate::pagination::ListQuery;
use crate::AppState;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/projects", get(list).post(create))
        .route("/projects/{id}", get(retrieve).put(update))
        .route("/projects/{id}/provider", put(connect))
        .route("/projects/{id}/keys", post(create_key))
        .route("/projects/{id}/keys/revoke", post(revoke))
        // A backer report may be far larger than the server's default body limit (2 MB): the
        // route takes what the import reads, and the import refuses more.
        .route(
            "/projects/{id}/backers/import",
            post(import_backers).layer(DefaultBodyLimit::max(
                backers::MAX_BYTES + crate::orders::FORM_ROOM,
            )),
        )
        .route("/projects/{id}/tracking/import", post(import_tracking))
        .route("/projects/{id}/sync", post(start_sync))
        .route("/projects/{id}/syncs/{sync}", get(get_sync))
        .route("/projects/{id}/events", get(events))
        .route("/api/shipping/orders", get(shipping_orders))
        .route("/api/shipping/tracking", post(shipping_tracking))
        .route("/api/fulfillment/{provider}/{project}", post(fulfillment))
}

/// The path a provider posts to for a project.
fn webhook_path(provider: &str, id: ObjectId) -> String {
    format!("/api/fulfillment/{provider}/{id}")
}

fn base(state: &AppState, headers: &HeaderMap) -> String {
    crate::pagination::base_url(headers, state)
}

fn project_json(p: &Project, base: &str) -> Value {
    let provider = p.provider.as_ref().map(|l| {
        json!({
            "provider": l.kind,
            "base_url": l.base_url,
            "return_address": l.return_address.to_string(),
            "api_key": "set (encrypted; never shown)",
            "webhook_secret_set": l.has_webhook_secret,
        })
    });
    json!({
        "object_id": p.id.to_string(),
        "object_created": p.created.to_string(),
        "object_updated": p.updated.to_string(),
        "test": p.test,
        "name": p.name,
        "addresses_locked_at": p.addresses_locked_at.map(|t| t.to_string()),
        "addresses_locked": p.locked(Timestamp::now()),
        "reward_weight": p.reward_weight.map(|w| json!({"weight": w.weight.normalize().to_string(), "mass_unit": w.unit.as_str()})),
        "has_keys": p.has_keys,
        "provider": provider,
        // What to paste into the provider's dashboard.
        "webhook_urls": {
            "easypost": format!("{base}{}", webhook_path("easypost", p.id)),
            "shippo": format!("{base}{}", webhook_path("shippo", p.id)),
        },
    })
}

fn text(v: &Value, field: &str, errors: &mut FieldErrors) -> Option<String> {
    match &v[field] {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        _ => {
            errors.add(field, "Expected a string.");
            None
        }
    }
}

/// Reads the project fields of a create or update body.
fn project_input(v: &Value) -> crowdfunding::ProjectInput {
    let mut errors = FieldErrors::new();
    if !v.is_object() {
        errors.add("body", "Expected a JSON object.");
    }
    let name = text(v, "name", &mut errors);
    let mut lock = None;
    if v.get("addresses_locked_at").is_some() {
        lock = Some(match &v["addresses_locked_at"] {
            Value::Null => None,
            Value::String(s) => match Timestamp::parse(s) {
                Some(t) => Some(t),
                None => {
                    errors.add(
                        "addresses_locked_at",
                        "Expected an ISO 8601 date-time, or null to unlock.",
                    );
                    None
                }
            },
            _ => {
                errors.add(
                    "addresses_locked_at",
                    "Expected an ISO 8601 date-time, or null to unlock.",
                );
                None
            }
        });
    }
    match &v["lock_addresses"] {
        Value::Null => {}
        Value::Bool(true) => lock = Some(Some(Timestamp::now())),
        Value::Bool(false) => lock = Some(None),
        _ => errors.add("lock_addresses", "Expected true or false."),
    }
    let mut weight = None;
    if v.get("reward_weight").is_some() {
        weight = Some(match &v["reward_weight"] {
            Value::Null => None,
            w => {
                let amount = w["weight"]
                    .as_str()
                    .map(str::to_string)
                    .or_else(|| w["weight"].as_f64().map(|f| f.to_string()));
                let unit = w["mass_unit"].as_str();
                match amount
                    .zip(unit)
                    .and_then(|(a, u)| RewardWeight::entered(&a, u))
                {
                    Some(w) => Some(w),
                    _ => {
                        errors.add(
                            "reward_weight",
                            "Expected {\"weight\": \"1.5\", \"mass_unit\": \"lb\"} (a positive weight; g, oz, lb or kg).",
                        );
                        None
                    }
                }
            }
        });
    }
    crowdfunding::ProjectInput {
        name,
        addresses_locked_at: lock,
        reward_weight: weight,
        errors,
    }
}

/// Create a project.
#[utoipa::path(post, path = "/projects", tag = "Projects",
    request_body(content((crate::openapi::crowdfunding::ProjectRequest = "application/json"))),
    responses((status = 201, body = crate::openapi::crowdfunding::Project), (status = 400, body = crate::error::ErrorBody)), security(("ShippoToken" = [])))]
pub async fn create(
    State(state): State<AppState>,
    Auth(who): Auth,
    headers: HeaderMap,
    AnyBody(v): AnyBody,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let p = crowdfunding::create(&state.services, &who, project_input(&v)).await?;
    Ok((
        StatusCode::CREATED,
        Json(project_json(&p, &base(&state, &headers))),
    ))
}

/// The account's projects.
#[utoipa::path(get, path = "/projects", tag = "Projects",
    responses((status = 200, body = crate::openapi::crowdfunding::ProjectList)), security(("ShippoToken" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Auth(who): Auth,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let b = base(&state, &headers);
    let list = crowdfunding::list(&state.services, &who).await?;
    Ok(Json(json!({
        "results": list.iter().map(|p| project_json(p, &b)).collect::<Vec<_>>(),
    })))
}

/// A project with its counts, keys (prefixes only) and webhook URLs.
#[utoipa::path(get, path = "/projects/{id}", tag = "Projects", params(("id" = String, Path, description = "The project's object_id")),
    responses((status = 200, body = crate::openapi::crowdfunding::Project), (status = 404, body = crate::error::ErrorBody)), security(("ShippoToken" = [])))]
pub async fn retrieve(
    State(state): State<AppState>,
    Auth(who): Auth,
    Id(id): Id,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let v = crowdfunding::get(&state.services, &who, id).await?;
    let mut out = project_json(&v.project, &base(&state, &headers));
    out["counts"] = json!({
        "pledges": v.counts.pledges,
        "shippable": v.counts.shippable,
        "shipped": v.counts.shipped,
        "delivered": v.counts.delivered,
        "dispatch_emails": v.counts.dispatch_emails,
    });
    out["keys"] = v
        .keys
        .iter()
        .map(|k| {
            json!({
                "object_id": k.id.to_string(),
                "prefix": k.prefix,
                "created": k.created.to_string(),
                "revoked": k.revoked.map(|t| t.to_string()),
            })
        })
        .collect();
    Ok(Json(out))
}

/// Rename, lock or unlock addresses, set the reward weight.
#[utoipa::path(put, path = "/projects/{id}", tag = "Projects", params(("id" = String, Path, description = "The project's object_id")),
    request_body(content((crate::openapi::crowdfunding::ProjectRequest = "application/json"))),
    responses((status = 200, body = crate::openapi::crowdfunding::Project), (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)), security(("ShippoToken" = [])))]
pub async fn update(
    State(state): State<AppState>,
    Auth(who): Auth,
    Id(id): Id,
    headers: HeaderMap,
    AnyBody(v): AnyBody,
) -> Result<Json<Value>, ApiError> {
    let p = crowdfunding::update(&state.services, &who, id, project_input(&v)).await?;
    Ok(Json(project_json(&p, &base(&state, &headers))))
}

/// Link the creator's EasyPost or Shippo account: `provider`, `api_key`, `webhook_secret`,
/// `return_address` (an id or an address object), optional `base_url`.
#[utoipa::path(put, path = "/projects/{id}/provider", tag = "Projects", params(("id" = String, Path, description = "The project's object_id")),
    request_body(content((crate::openapi::crowdfunding::ProviderRequest = "application/json"))),
    responses((status = 200, body = crate::openapi::crowdfunding::Project), (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)), security(("ShippoToken" = [])))]
pub async fn connect(
    State(state): State<AppState>,
    Auth(who): Auth,
    Id(id): Id,
    headers: HeaderMap,
    AnyBody(v): AnyBody,
) -> Result<Json<Value>, ApiError> {
    let mut errors = FieldErrors::new();
    let kind = text(&v, "provider", &mut errors).unwrap_or_default();
    let api_key = text(&v, "api_key", &mut errors).unwrap_or_default();
    let webhook_secret = text(&v, "webhook_secret", &mut errors);
    let base_url = text(&v, "base_url", &mut errors);
    let return_address = crate::orders::address_or_id(
        "return_address",
        v.get("return_address").cloned(),
        &mut errors,
    );
    let p = crowdfunding::connect_provider(
        &state.services,
        &who,
        id,
        crowdfunding::ProviderInput {
            kind,
            api_key,
            webhook_secret,
            base_url,
            return_address,
            errors,
        },
    )
    .await?;
    Ok(Json(project_json(&p, &base(&state, &headers))))
}

/// Generate a project key (`{"rotate": true}` revokes the others): the key is in this answer
/// only.
#[utoipa::path(post, path = "/projects/{id}/keys", tag = "Projects", params(("id" = String, Path, description = "The project's object_id")),
    request_body(content = Option<crate::openapi::crowdfunding::KeyRequest>, description = "Optional", content_type = "application/json"),
    responses((status = 201, body = crate::openapi::crowdfunding::KeyCreated), (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)), security(("ShippoToken" = [])))]
pub async fn create_key(
    State(state): State<AppState>,
    Auth(who): Auth,
    Id(id): Id,
    RawBody(body): RawBody,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let v: Value = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&body)
            .map_err(|_| ApiError::field("body", "Expected a JSON object."))?
    };
    let rotate = match &v["rotate"] {
        Value::Null => false,
        Value::Bool(b) => *b,
        _ => return Err(ApiError::field("rotate", "Expected true or false.")),
    };
    let (info, key) = crowdfunding::create_key(&state.services, &who, id, rotate).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "object_id": info.id.to_string(),
            "key": key,
            "prefix": info.prefix,
            "created": info.created.to_string(),
            "note": "Shown once: Consign stores only its hash.",
        })),
    ))
}

/// Revoke one key (`{"key": "<object_id>"}`) or all of them.
#[utoipa::path(post, path = "/projects/{id}/keys/revoke", tag = "Projects", params(("id" = String, Path, description = "The project's object_id")),
    request_body(content = Option<crate::openapi::crowdfunding::RevokeRequest>, description = "Optional: without `key`, every key is revoked", content_type = "application/json"),
    responses((status = 200, body = crate::openapi::crowdfunding::Revoked), (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)), security(("ShippoToken" = [])))]
pub async fn revoke(
    State(state): State<AppState>,
    Auth(who): Auth,
    Id(id): Id,
    RawBody(body): RawBody,
) -> Result<Json<Value>, ApiError> {
    let v: Value = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&body)
            .map_err(|_| ApiError::field("body", "Expected a JSON object."))?
    };
    let key = match &v["key"] {
        Value::Null => None,
        Value::String(k) => Some(ObjectId::parse(k).ok_or_else(|| ApiError::not_found("Key"))?),
        _ => return Err(ApiError::field("key", "Expected a key's object_id.")),
    };
    let n = crowdfunding::revoke_keys(&state.services, &who, id, key)
        .await
        .map_err(|e| match e {
            service::ServiceError::NotFound => ApiError::not_found("Key"),
            e => e.into(),
        })?;
    Ok(Json(json!({ "revoked": n })))
}

fn notes(list: &[backers::RowNote]) -> Vec<Value> {
    list.iter()
        .map(|n| json!({"row": n.line, "pledge_id": n.pledge_id, "field": n.field, "message": n.message}))
        .collect()
}

/// Import a backer report (CSV as `text/csv` or `multipart/form-data`; `dry_run`, `mapping`).
#[utoipa::path(post, path = "/projects/{id}/backers/import", tag = "Projects", params(("id" = String, Path, description = "The project's object_id"), ("dry_run" = Option<bool>, Query, description = "Check the file and answer what would change, saving nothing"), ("mapping" = Option<String>, Query, description = "A JSON object mapping Consign's column names to the file's")),
    request_body(content((String = "text/csv")), description = "A backer report (Kickstarter's columns, or any with `mapping`); also accepted as the `file` field of multipart/form-data"),
    responses((status = 200, body = crate::openapi::crowdfunding::BackerImport), (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)), security(("ShippoToken" = [])))]
pub async fn import_backers(
    State(state): State<AppState>,
    Auth(who): Auth,
    Id(id): Id,
    q: ListQuery,
    req: axum::extract::Request,
) -> Result<Json<Value>, ApiError> {
    // The project first: another account's id answers 404 before the file is read.
    crowdfunding::get(&state.services, &who, id).await?;
    let (bytes, options) = crate::orders::upload(&q, req).await?;
    let r = backers::import(&state.services, &who, id, &bytes, options, &|_, _| {}).await?;
    Ok(Json(json!({
        "dry_run": r.dry_run,
        "rows": r.rows,
        "created": r.created,
        "updated": r.updated,
        "unchanged": r.unchanged,
        "shippable": r.shippable,
        "not_shippable": notes(&r.not_shippable),
        "rejections": notes(&r.rejections),
    })))
}

/// Upload tracking (CSV: `orderId` or `pledgeId`, `carrier`, `trackingNumber`, optional
/// `status`); each backer is emailed once.
#[utoipa::path(post, path = "/projects/{id}/tracking/import", tag = "Projects", params(("id" = String, Path, description = "The project's object_id"), ("dry_run" = Option<bool>, Query, description = "Check the file and answer what would change, saving nothing"), ("mapping" = Option<String>, Query, description = "A JSON object mapping Consign's column names to the file's")),
    request_body(content((String = "text/csv")), description = "Columns `orderId` or `pledgeId`, `carrier`, `trackingNumber`, optional `status`; also accepted as the `file` field of multipart/form-data"),
    responses((status = 200, body = crate::openapi::crowdfunding::TrackingImport), (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)), security(("ShippoToken" = [])))]
pub async fn import_tracking(
    State(state): State<AppState>,
    Auth(who): Auth,
    Id(id): Id,
    q: ListQuery,
    req: axum::extract::Request,
) -> Result<Json<Value>, ApiError> {
    crowdfunding::get(&state.services, &who, id).await?;
    let (bytes, options) = crate::orders::upload(&q, req).await?;
    let r = backers::import_tracking(&state.services, &who, id, &bytes, options).await?;
    Ok(Json(json!({
        "dry_run": r.dry_run,
        "rows": r.rows,
        "updated": r.updated,
        "unchanged": r.unchanged,
        "dispatch_emails": r.emails,
        "email": if r.email_off { "not_configured" } else { "configured" },
        "rejections": notes(&r.rejections),
    })))
}

fn sync_json(s: &Sync) -> Value {
    json!({
        "object_id": s.id.to_string(),
        "project": s.project.to_string(),
        "object_created": s.created.to_string(),
        "object_updated": s.updated.to_string(),
        "status": s.status,
        "created": s.created_records,
        "updated": s.updated_records,
        "skipped": s.skipped,
        "failed": s.failed,
        "failures": s.failures,
        "attempts": s.attempts.iter().map(|a| json!({
            "attempt": a.attempt,
            "at": a.at.to_string(),
            "error": a.error,
        })).collect::<Vec<_>>(),
        // Why a FAILED sync stopped: its last attempt's error.
        "error": (s.status == "FAILED").then(|| s.attempts.last().map(|a| a.error.clone())).flatten(),
    })
}

/// Sync orders into the linked provider account (202: a job does it; poll the sync).
#[utoipa::path(post, path = "/projects/{id}/sync", tag = "Projects", params(("id" = String, Path, description = "The project's object_id")),
    responses((status = 202, body = crate::openapi::crowdfunding::ProjectSync), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody, description = "No provider linked to the project yet")), security(("ShippoToken" = [])))]
pub async fn start_sync(
    State(state): State<AppState>,
    Auth(who): Auth,
    Id(id): Id,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let s = sync::start(&state.services, &who, id).await?;
    Ok((StatusCode::ACCEPTED, Json(sync_json(&s))))
}

/// A sync's report.
#[utoipa::path(get, path = "/projects/{id}/syncs/{sync}", tag = "Projects", params(("id" = String, Path, description = "The project's object_id"), ("sync" = String, Path, description = "The sync's object_id")),
    responses((status = 200, body = crate::openapi::crowdfunding::ProjectSync), (status = 404, body = crate::error::ErrorBody)), security(("ShippoToken" = [])))]
pub async fn get_sync(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path((id, sync_id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let parse = |v: &str| ObjectId::parse(v).ok_or_else(|| ApiError::not_found("Object"));
    let s = sync::get(&state.services, &who, parse(&id)?, parse(&sync_id)?).await?;
    Ok(Json(sync_json(&s)))
}

fn event_json(e: &ProjectEvent) -> Value {
    json!({
        "object_id": e.id.to_string(),
        "received": e.received.to_string(),
        "provider": e.provider,
        "event": e.kind,
        "tracking_number": e.tracking_number,
        "order": e.order.map(|o| o.to_string()),
        "matched": e.order.is_some(),
        "note": e.note,
        "body": serde_json::from_str::<Value>(&e.body).unwrap_or(Value::String(e.body.clone())),
    })
}

/// The events providers sent (`?unmatched=true`: those matched to no order).
#[utoipa::path(get, path = "/projects/{id}/events", tag = "Projects", params(("id" = String, Path, description = "The project's object_id"), ("unmatched" = Option<bool>, Query, description = "Only the events matched to no order")),
    responses((status = 200, body = crate::openapi::crowdfunding::ProjectEventList), (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)), security(("ShippoToken" = [])))]
pub async fn events(
    State(state): State<AppState>,
    Auth(who): Auth,
    Id(id): Id,
    q: ListQuery,
) -> Result<Json<Value>, ApiError> {
    let unmatched = match q.param("unmatched") {
        None | Some("false") | Some("0") => false,
        Some("true") | Some("1") => true,
        Some(other) => {
            return Err(ApiError::field(
                "unmatched",
                format!("\"{other}\" is not true or false."),
            ))
        }
    };
    let list = inbound::list(&state.services, &who, id, unmatched).await?;
    Ok(Json(
        json!({ "results": list.iter().map(event_json).collect::<Vec<_>>() }),
    ))
}

// ---- The seed's custom API ----

fn refusal(r: Refusal) -> ApiError {
    match r {
        Refusal::Invalid { param, message } => ApiError::field(&param, message),
        Refusal::BadKey => ApiError::unauthorized(
            "Invalid or missing API key: send Authorization: Bearer <your-project-api-key>.",
        ),
        Refusal::NoKeyYet => ApiError::new(
            StatusCode::FORBIDDEN,
            "no_api_key",
            "No API key has been generated for this project yet.",
        ),
        Refusal::NotFound(what) => ApiError::not_found(what),
        Refusal::Failed(m) => ApiError::unavailable(m),
    }
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let v = headers.get("authorization")?.to_str().ok()?.trim();
    let (scheme, key) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| key.trim().to_string())
}

/// The seed's `shipTo`.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct ShipTo<'a> {
    name: &'a str,
    line1: &'a str,
    line2: Option<&'a str>,
    city: &'a str,
    state: &'a str,
    postal_code: &'a str,
    country: &'a str,
}

/// One entry of the seed's `orders[]`.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct SeedOrder<'a> {
    order_id: String,
    pledge_id: &'a str,
    backer_email: &'a str,
    tier_name: &'a str,
    order_date: String,
    ship_to: ShipTo<'a>,
}

impl<'a> From<&'a ShippingOrder> for SeedOrder<'a> {
    fn from(o: &'a ShippingOrder) -> Self {
        SeedOrder {
            order_id: o.order.to_string(),
            pledge_id: &o.pledge_id,
            backer_email: &o.backer_email,
            tier_name: &o.tier_name,
            order_date: o.pledged_at.to_string(),
            ship_to: ShipTo {
                name: &o.name,
                line1: &o.line1,
                line2: (!o.line2.is_empty()).then_some(o.line2.as_str()),
                city: &o.city,
                state: &o.state,
                postal_code: &o.postal_code,
                country: &o.country,
            },
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
struct SeedOrders<'a> {
    total: i64,
    orders: Vec<SeedOrder<'a>>,
}

/// Most orders one page may hold when `limit` is given.
const PAGE_MAX: i64 = 1000;

/// `GET /api/shipping/orders` (seed 000): the project's collected addresses. Optional `limit`
/// (1–1000) and `offset` page through large projects; without them every order is answered,
/// in the seed's shape either way (`total` counts all that match).
#[utoipa::path(get, path = "/api/shipping/orders", tag = "Crowdfunding API",
    params(("project" = String, Query, description = "Required. Your project ID."), ("status" = Option<String>, Query, description = "Optional. Pass `pending` to exclude addresses that already have a shipped or delivered record.", pattern = "^pending$"), ("limit" = Option<i64>, Query, minimum = 1, maximum = 1000, description = "Consign: at most this many orders (`total` still counts all)"), ("offset" = Option<i64>, Query, minimum = 0, description = "Consign: skip this many orders")),
    responses((status = 200, body = SeedOrders<'static>), (status = 400, body = crate::error::ErrorBody, description = "Missing or invalid parameter."), (status = 401, body = crate::error::ErrorBody, description = "Invalid or missing API key."), (status = 403, body = crate::error::ErrorBody, description = "No API key has been generated for this project yet."), (status = 404, body = crate::error::ErrorBody, description = "Project or order not found.")),
    security(("ProjectKey" = [])))]
pub async fn shipping_orders(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(query.as_deref().unwrap_or("")).unwrap_or_default();
    let param = |k: &str| {
        pairs
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.trim().to_string())
    };
    let project = param("project").filter(|p| !p.is_empty());
    let hint = project.as_deref().and_then(ObjectId::parse);
    let key = bearer(&headers);
    // An unknown key with a project that does not exist is a 401 (nothing to tell apart);
    // a project id that is not an id cannot exist.
    let stored = crowdfunding::authorize(&state.services, key.as_deref(), hint)
        .await
        .map_err(refusal)?;
    let Some(project) = project else {
        return Err(ApiError::field(
            "project",
            "Missing required parameter: project.",
        ));
    };
    if hint != Some(stored.project.id) {
        return Err(ApiError::not_found("Project"));
    }
    let pending = match param("status").as_deref() {
        None | Some("") => false,
        Some("pending") => true,
        Some(other) => {
            return Err(ApiError::field(
                "status",
                format!("status must be \"pending\" when given, not \"{other}\"."),
            ))
        }
    };
    let number = |k: &str, min: i64, max: i64| -> Result<Option<i64>, ApiError> {
        match param(k) {
            None => Ok(None),
            Some(v) => match v.parse::<i64>() {
                Ok(n) if (min..=max).contains(&n) => Ok(Some(n)),
                _ => Err(ApiError::field(
                    k,
                    format!("{k} must be a whole number from {min} to {max}."),
                )),
            },
        }
    };
    let limit = number("limit", 1, PAGE_MAX)?;
    let offset = number("offset", 0, i64::MAX / 2)?.unwrap_or(0);
    let _ = project;
    let (total, orders) =
        crowdfunding::shipping_orders(&state.services, &stored, pending, limit, offset).await?;
    let body = SeedOrders {
        total,
        orders: orders.iter().map(SeedOrder::from).collect(),
    };
    Ok(Json(body).into_response())
}

/// `POST /api/shipping/tracking` (seed 000): `orderId`, `trackingNumber`, `carrier`, `status`
/// (`shipped` | `delivered`); idempotent, the first `shipped` emails the backer once.
#[utoipa::path(post, path = "/api/shipping/tracking", tag = "Crowdfunding API",
    request_body(content((crate::openapi::crowdfunding::ShippingTrackingRequest = "application/json"))),
    responses((status = 200, body = crate::openapi::crowdfunding::ShippingTrackingResponse), (status = 400, body = crate::error::ErrorBody, description = "Missing or invalid parameter."), (status = 401, body = crate::error::ErrorBody, description = "Invalid or missing API key."), (status = 403, body = crate::error::ErrorBody, description = "No API key has been generated for this project yet."), (status = 404, body = crate::error::ErrorBody, description = "Project or order not found.")),
    security(("ProjectKey" = [])))]
pub async fn shipping_tracking(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Json<Value>, ApiError> {
    let key = bearer(&headers);
    let v: Option<Value> = serde_json::from_slice(&body).ok();
    // The order names the project a keyless request meant (for the seed's 403).
    let hint = match (&key, &v) {
        (None, Some(v)) => match v["orderId"].as_str().and_then(ObjectId::parse) {
            Some(order) => crowdfunding::project_of_order(&state.services, order).await,
            None => None,
        },
        _ => None,
    };
    let stored = crowdfunding::authorize(&state.services, key.as_deref(), hint)
        .await
        .map_err(refusal)?;
    let Some(v) = v.filter(Value::is_object) else {
        return Err(ApiError::field(
            "body",
            "Expected a JSON object with orderId, trackingNumber, carrier and status.",
        ));
    };
    let field = |k: &str| -> Result<Option<String>, ApiError> {
        match &v[k] {
            Value::Null => Ok(None),
            Value::String(s) => Ok(Some(s.clone())),
            Value::Number(n) if k != "status" => Ok(Some(n.to_string())),
            _ => Err(ApiError::field(k, format!("{k} must be a string."))),
        }
    };
    let (order, number, carrier, status) = (
        field("orderId")?,
        field("trackingNumber")?,
        field("carrier")?,
        field("status")?,
    );
    let applied = tracking::report(
        &state.services,
        &stored,
        order.as_deref(),
        carrier.as_deref(),
        number.as_deref(),
        status.as_deref(),
    )
    .await
    .map_err(refusal)?;
    Ok(Json(json!({
        "ok": true,
        "orderId": order,
        "trackingNumber": applied.tracking.tracking_number,
        "carrier": applied.tracking.carrier,
        "status": applied.tracking.progress.as_str(),
        "changed": applied.changed,
        // Consign's fields (the seed prints no answer): `emailQueued` is true only when this
        // report queued the backer's dispatch email; `emailSent` is the same value, kept for
        // clients of earlier versions; `email` says why no email went.
        "emailQueued": applied.dispatched,
        "emailSent": applied.dispatched,
        "email": email_state(applied.dispatched, applied.email_off),
    })))
}

/// What happened to the backer's dispatch email: `queued` by this report, `not_configured`
/// (the server has no mail server: nothing is queued), else `not_queued` (already queued by
/// an earlier report).
fn email_state(queued: bool, off: bool) -> &'static str {
    match (queued, off) {
        (true, _) => "queued",
        (false, true) => "not_configured",
        (false, false) => "not_queued",
    }
}

/// `POST /api/fulfillment/{easypost|shippo}/{projectId}` (seed 000): a provider's signed event.
#[utoipa::path(post, path = "/api/fulfillment/{provider}/{project}", tag = "Crowdfunding API",
    params(("provider" = crate::openapi::crowdfunding::ProviderKind, Path), ("project" = String, Path, description = "The project's object_id")),
    request_body(content((String = "application/json")), description = "The provider's event exactly as it sent it (EasyPost `tracker.created`/`tracker.updated`, Shippo `transaction_created`/`track_updated`), signed over these bytes"),
    responses((status = 200, body = crate::openapi::crowdfunding::FulfillmentResponse), (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody, description = "Missing or forged signature"), (status = 404, body = crate::error::ErrorBody, description = "No such project linked to this provider")),
    security(("ProjectSignature" = [])))]
pub async fn fulfillment(
    State(state): State<AppState>,
    Path((provider, project)): Path<(String, String)>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Json<Value>, ApiError> {
    let headers: Vec<(String, String)> = headers
        .iter()
        .filter_map(|(k, v)| {
            Some((
                k.as_str().to_ascii_lowercase(),
                v.to_str().ok()?.to_string(),
            ))
        })
        .collect();
    let r = inbound::receive(&state.services, &provider, &project, &headers, &body)
        .await
        .map_err(|e| match e {
            inbound::Refused::Unauthenticated => ApiError::unauthorized(
                "The signature is missing or does not verify with the webhook secret set for this project.",
            ),
            inbound::Refused::NotFound => ApiError::not_found("Project"),
            inbound::Refused::Malformed(m) => ApiError::field("body", m),
            inbound::Refused::Failed(e) => e.into(),
        })?;
    Ok(Json(json!({
        "received": r.events,
        "matched": r.matched,
        "unmatched": r.unmatched,
        "duplicates": r.duplicates,
    })))
}
