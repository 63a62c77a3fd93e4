//! `/files/{account}/{object}/{name}`: label, invoice and manifest files. Served to the owning
//! account's token, or to anyone with a valid signed link (`expires`, `signature`); never across
//! accounts, and a token of one mode never reads the other mode's files.

use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use domain::Timestamp;
use serde::Deserialize;
use service::files;

use crate::error::ApiError;
use crate::AppState;

pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/files/{account}/{object}/{name}", get(download))
}

/// A signed link's parameters.
#[derive(Debug, Deserialize)]
pub struct LinkQuery {
    pub expires: Option<String>,
    pub signature: Option<String>,
}

impl LinkQuery {
    /// The link's parameters in a query string. A query that cannot be read names no link (it is
    /// never answered with axum's plain-text rejection); an `expires` that is not a number makes
    /// the link invalid, like a wrong signature.
    fn of(query: Option<&str>) -> Self {
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(query.unwrap_or("")).unwrap_or_default();
        let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        LinkQuery {
            expires: get("expires"),
            signature: get("signature"),
        }
    }
}

fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "No such file.")
}

/// Download a file.
#[utoipa::path(get, path = "/files/{account}/{object}/{name}", tag = "Files",
    params(("account" = String, Path), ("object" = String, Path), ("name" = String, Path),
        ("expires" = Option<i64>, Query, description = "A signed link's expiry (Unix seconds); with `signature`, no token is needed"),
        ("signature" = Option<String>, Query, description = "A signed link's signature")),
    responses((status = 200, description = "The file", content((Vec<u8> = "application/pdf"), (Vec<u8> = "image/png"), (Vec<u8> = "application/zpl"), (Vec<u8> = "application/octet-stream"))),
        (status = 403, body = crate::error::ErrorBody, description = "The signed link is invalid or has expired"),
        (status = 404, body = crate::error::ErrorBody)),
    security(("ShippoToken" = []), ()))]
pub async fn download(
    State(state): State<AppState>,
    Path((account, object, name)): Path<(String, String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let s = &state.services;
    let link = LinkQuery::of(query.as_deref());
    let key = format!("{account}/{object}/{name}");
    if !files::valid_key(&key) {
        return Err(not_found());
    }
    let allowed = match (link.expires.as_deref(), link.signature.as_deref()) {
        (Some(expires), Some(signature)) => {
            let valid = expires.trim().parse::<i64>().is_ok_and(|expires| {
                files::check_link(&s.cipher, &key, expires, signature, Timestamp::now())
            });
            if !valid {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "link_invalid",
                    "This link is invalid or has expired; read the object again for a fresh link.",
                ));
            }
            true
        }
        _ => {
            let who = crate::auth::principal(&state, &headers).await?;
            files::visible_to(s, &who, &key).await?
        }
    };
    if !allowed {
        return Err(not_found());
    }
    let bytes = s
        .blobs
        .get(&key)
        .await
        .map_err(|e| ApiError::unavailable(format!("file store: {e}")))?
        .ok_or_else(not_found)?;
    Ok((
        [
            (header::CONTENT_TYPE, files::content_type(&key)),
            (header::CACHE_CONTROL, "private, max-age=3600"),
        ],
        bytes,
    )
        .into_response())
}
