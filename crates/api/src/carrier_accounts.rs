//! `/carrier_accounts`: create, retrieve, list, update (PUT); no delete, per the seed.
//! Shippo reference: seed 002 "Carrier Accounts"; <https://docs.goshippo.com/shippoapi/public-api/#tag/Carrier-Accounts>.
//! Also `/carrier_accounts/{id}/rate_card` (Consign's own): upload (JSON or CSV) and download the
//! card of a rate-card account.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::header::{ACCEPT, CONTENT_TYPE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use carriers::rate_card::{self, RateCard};
use domain::carrier_account::CarrierAccountFilter;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use service::carrier_accounts::{self, mask, CarrierAccount, CarrierAccountInput, InstalledCard};
use utoipa::ToSchema;

use crate::auth::Auth;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{media_type, Body, Id, RawBody};
use crate::lenient;
use crate::pagination::{ListQuery, Paginated};
use crate::AppState;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/carrier_accounts", get(list).post(create))
        .route("/carrier_accounts/{id}", get(retrieve).put(update))
        .route(
            "/carrier_accounts/{id}/rate_card",
            get(download_card).put(upload_card).post(upload_card),
        )
}

/// Body of `POST /carrier_accounts` and `PUT /carrier_accounts/{id}`.
#[derive(Deserialize, ToSchema, Default)]
pub struct CarrierAccountRequest {
    /// Carrier token: `ratecard` (your own rate card) or `shippo` (test carrier).
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[schema(value_type = String, example = "ratecard")]
    pub carrier: Option<String>,
    /// Your identifier of the account with that carrier (unique per carrier).
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[schema(value_type = String, example = "321123")]
    pub account_id: Option<String>,
    /// Credentials and settings; stored encrypted, answered masked. A JSON object (or, in form
    /// bodies, its JSON text).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub parameters: Option<Value>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    #[schema(value_type = Option<bool>)]
    pub test: Option<bool>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    #[schema(value_type = Option<bool>)]
    pub active: Option<bool>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[schema(value_type = Option<String>)]
    pub metadata: Option<String>,
}

impl From<CarrierAccountRequest> for CarrierAccountInput {
    fn from(r: CarrierAccountRequest) -> Self {
        CarrierAccountInput {
            carrier: r.carrier,
            account_id: r.account_id,
            parameters: r.parameters,
            test: r.test,
            active: r.active,
            metadata: r.metadata,
        }
    }
}

/// A carrier account. `parameters` are masked: credentials are never answered in clear.
#[derive(Serialize, ToSchema)]
pub struct CarrierAccountResponse {
    pub object_id: String,
    pub object_owner: String,
    pub object_created: String,
    pub object_updated: String,
    pub carrier: String,
    pub carrier_name: String,
    pub account_id: String,
    #[schema(value_type = Object)]
    pub parameters: Map<String, Value>,
    pub test: bool,
    pub active: bool,
    pub is_shippo_account: bool,
    pub metadata: String,
    /// Only with `?service_levels=true` on the list.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_levels: Option<Vec<crate::carriers::ServiceLevelResponse>>,
    /// Where the provider pushes tracking events for this account (carriers that push only; a
    /// Consign extension): give it to EasyPost or Shippo as the webhook URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub events_url: Option<String>,
}

impl CarrierAccountResponse {
    /// The wire form of `a`, owned by `owner`, on a server at `base`.
    pub fn new(a: CarrierAccount, owner: &str, base: &str) -> Self {
        let pushes = carriers::registry::find(&a.carrier)
            .is_some_and(|m| m.can(carriers::Capability::TrackingPush));
        Self {
            events_url: pushes.then(|| {
                format!(
                    "{}{}",
                    base.trim_end_matches('/'),
                    crate::inbound::events_path(&a.id.to_string())
                )
            }),
            object_id: a.id.to_string(),
            object_owner: owner.into(),
            object_created: a.created.to_string(),
            object_updated: a.updated.to_string(),
            carrier_name: carriers::registry::find(&a.carrier)
                .map(|m| m.name)
                .unwrap_or("")
                .into(),
            carrier: a.carrier,
            account_id: a.account_id,
            parameters: mask(&a.parameters),
            test: a.test,
            active: a.active,
            is_shippo_account: false,
            service_levels: None,
            metadata: a.metadata,
        }
    }
}

/// A page of carrier accounts.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct CarrierAccountList {
    count: i64,
    next: Option<String>,
    previous: Option<String>,
    results: Vec<CarrierAccountResponse>,
}

/// Create a carrier account.
#[utoipa::path(post, path = "/carrier_accounts", tag = "Carrier Accounts",
    request_body(content((CarrierAccountRequest = "application/json"))),
    responses((status = 201, body = CarrierAccountResponse), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("ShippoToken" = [])))]
pub async fn create(
    State(state): State<AppState>,
    Auth(who): Auth,
    Body(req): Body<CarrierAccountRequest>,
) -> Result<(StatusCode, Json<CarrierAccountResponse>), ApiError> {
    let account = carrier_accounts::create(&state.services, &who, req.into()).await?;
    Ok((
        StatusCode::CREATED,
        Json(CarrierAccountResponse::new(
            account,
            &who.account_name,
            &state.services.public_url,
        )),
    ))
}

/// Retrieve a carrier account.
#[utoipa::path(get, path = "/carrier_accounts/{id}", tag = "Carrier Accounts", params(("id" = String, Path)),
    responses((status = 200, body = CarrierAccountResponse), (status = 404, body = ErrorBody)), security(("ShippoToken" = [])))]
pub async fn retrieve(
    State(state): State<AppState>,
    Auth(who): Auth,
    Id(id): Id,
) -> Result<Json<CarrierAccountResponse>, ApiError> {
    let account = carrier_accounts::get(&state.services, &who, id).await?;
    Ok(Json(CarrierAccountResponse::new(
        account,
        &who.account_name,
        &state.services.public_url,
    )))
}

/// Update a carrier account; parameters sent back masked keep their stored values.
#[utoipa::path(put, path = "/carrier_accounts/{id}", tag = "Carrier Accounts", params(("id" = String, Path)),
    request_body(content = CarrierAccountRequest, content_type = "application/json"),
    responses((status = 200, body = CarrierAccountResponse), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "Another carrier account of this account already has that carrier and account_id")),
    security(("ShippoToken" = [])))]
pub async fn update(
    State(state): State<AppState>,
    Auth(who): Auth,
    Id(id): Id,
    Body(req): Body<CarrierAccountRequest>,
) -> Result<Json<CarrierAccountResponse>, ApiError> {
    let account = carrier_accounts::update(&state.services, &who, id, req.into()).await?;
    Ok(Json(CarrierAccountResponse::new(
        account,
        &who.account_name,
        &state.services.public_url,
    )))
}

/// List carrier accounts, optionally by `carrier` and `account_id`.
#[utoipa::path(get, path = "/carrier_accounts", tag = "Carrier Accounts",
    params(("carrier" = Option<String>, Query), ("account_id" = Option<String>, Query), ("service_levels" = Option<bool>, Query, description = "Include each account's service levels"), ("page" = Option<u32>, Query), ("results" = Option<u32>, Query)),
    responses((status = 200, body = CarrierAccountList)), security(("ShippoToken" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Auth(who): Auth,
    q: ListQuery,
) -> Result<Json<Paginated<CarrierAccountResponse>>, ApiError> {
    let filter = CarrierAccountFilter {
        carrier: q.param("carrier").map(|c| c.to_ascii_lowercase()),
        carrier_account_id: q.param("account_id").map(str::to_string),
    };
    // A query boolean as the SDKs send it: true or false.
    let with_levels = match q.param("service_levels").map(str::trim) {
        None | Some("") => false,
        Some(v) if v.eq_ignore_ascii_case("true") => true,
        Some(v) if v.eq_ignore_ascii_case("false") => false,
        Some(v) => {
            return Err(ApiError::field(
                "service_levels",
                format!("\"{v}\" is not a boolean; use true or false."),
            ))
        }
    };
    let page = carrier_accounts::list(&state.services, &who, filter, q.page).await?;
    let mut levels = Vec::new();
    if with_levels {
        for a in &page.items {
            levels.push(carrier_accounts::service_levels(&state.services, &who, a).await?);
        }
    }
    let mut levels = levels.into_iter();
    Ok(Json(Paginated::new(&q, page, |a| {
        let mut r = CarrierAccountResponse::new(a, &who.account_name, &state.services.public_url);
        r.service_levels = levels.next().map(|l| {
            l.into_iter()
                .map(|(token, name)| crate::carriers::ServiceLevelResponse { token, name })
                .collect()
        });
        r
    })))
}

/// What an upload installed.
#[derive(Serialize, ToSchema)]
pub struct RateCardSummary {
    pub carrier_account: String,
    pub version: i64,
    pub name: String,
    pub currency: String,
    pub services: Vec<ServiceSummary>,
    pub zones: Vec<String>,
    /// The format of the tracking numbers its labels will carry: `N` a serial digit, `C` the
    /// check digit, e.g. `CTNNNNNNNNCPT (s10)`.
    pub tracking_number_format: String,
    /// A number in that format (serial 1).
    #[schema(example = "CT000000016PT")]
    pub tracking_number_example: String,
}

/// A service of a card.
#[derive(Serialize, ToSchema)]
pub struct ServiceSummary {
    pub token: String,
    pub name: String,
}

fn summary(id: String, installed: InstalledCard) -> RateCardSummary {
    let card = installed.card;
    RateCardSummary {
        carrier_account: id,
        version: installed.version,
        name: card.name,
        currency: card.currency,
        services: card
            .services
            .into_iter()
            .map(|s| ServiceSummary {
                token: s.token,
                name: s.name,
            })
            .collect(),
        zones: card.zones.into_iter().map(|z| z.id).collect(),
        tracking_number_format: format!(
            "{}{}{}{} ({})",
            card.tracking.prefix,
            "N".repeat(usize::from(card.tracking.digits)),
            if card.tracking.check == carriers::rate_card::CheckDigit::None {
                ""
            } else {
                "C"
            },
            card.tracking.suffix,
            card.tracking.check.as_str()
        ),
        tracking_number_example: card.tracking.format(1),
    }
}

/// Which format an upload is in: by its content type, or — for what `curl --data-binary` and
/// generic clients send (none, form, octet-stream) — by its first character (`{` = JSON).
fn card_format(content_type: &str, text: &str) -> Option<CardFormat> {
    match content_type {
        "application/json" => Some(CardFormat::Json),
        "text/csv" | "application/csv" | "text/plain" => Some(CardFormat::Csv),
        "" | "application/x-www-form-urlencoded" | "application/octet-stream" => {
            Some(if text.trim_start().starts_with('{') {
                CardFormat::Json
            } else {
                CardFormat::Csv
            })
        }
        _ => None,
    }
}

enum CardFormat {
    Json,
    Csv,
}

/// Upload a new version of the account's rate card: `application/json` (Consign's card
/// document) or `text/csv` (one record per row). Rates already quoted keep their card.
#[utoipa::path(method(put, post), path = "/carrier_accounts/{id}/rate_card", tag = "Carrier Accounts", params(("id" = String, Path)),
    request_body(content((String = "application/json"), (String = "text/csv"))),
    responses((status = 200, body = RateCardSummary), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("ShippoToken" = [])))]
pub async fn upload_card(
    State(state): State<AppState>,
    Auth(who): Auth,
    Id(id): Id,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Json<RateCardSummary>, ApiError> {
    // Another account's (or an unknown) carrier account is a 404 whatever the body holds.
    carrier_accounts::get(&state.services, &who, id).await?;
    let content_type = media_type(&headers);
    let text = std::str::from_utf8(&body)
        .map_err(|_| ApiError::field("card", "The card must be UTF-8 text."))?;
    let card: RateCard = match card_format(&content_type, text) {
        Some(CardFormat::Csv) => rate_card::parse_csv(text)?,
        Some(CardFormat::Json) => rate_card::parse_json(text)?,
        None => {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "Send the card as application/json or text/csv.",
            ))
        }
    };
    let installed = carrier_accounts::upload_rate_card(&state.services, &who, id, card).await?;
    Ok(Json(summary(id.to_string(), installed)))
}

/// Format of a download.
#[derive(Deserialize, Default)]
pub struct DownloadFormat {
    format: Option<String>,
}

/// Download the account's current rate card as JSON, or as CSV with `?format=csv` or
/// `Accept: text/csv`. The `Rate-Card-Version` header names the version.
#[utoipa::path(get, path = "/carrier_accounts/{id}/rate_card", tag = "Carrier Accounts",
    params(("id" = String, Path), ("format" = Option<String>, Query)),
    responses((status = 200, description = "The card (JSON or CSV)"), (status = 404, body = ErrorBody)), security(("ShippoToken" = [])))]
pub async fn download_card(
    State(state): State<AppState>,
    Auth(who): Auth,
    Id(id): Id,
    headers: HeaderMap,
    format: Result<Query<DownloadFormat>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(format) = format.map_err(|e| ApiError::field("format", e.body_text()))?;
    let wants_csv = format
        .format
        .map(|f| f.eq_ignore_ascii_case("csv"))
        .unwrap_or(false)
        || headers
            .get(ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("text/csv"));
    let installed = carrier_accounts::current_rate_card(&state.services, &who, id)
        .await
        .map_err(|e| match e {
            service::ServiceError::NotFound => ApiError::not_found("Rate card"),
            other => other.into(),
        })?;
    let version = installed.version.to_string();
    Ok(if wants_csv {
        (
            [
                (CONTENT_TYPE, "text/csv; charset=utf-8"),
                (
                    axum::http::HeaderName::from_static("rate-card-version"),
                    version.as_str(),
                ),
            ],
            rate_card::to_csv(&installed.card),
        )
            .into_response()
    } else {
        (
            [
                (CONTENT_TYPE, "application/json"),
                (
                    axum::http::HeaderName::from_static("rate-card-version"),
                    version.as_str(),
                ),
            ],
            rate_card::to_json(&installed.card),
        )
            .into_response()
    })
}
