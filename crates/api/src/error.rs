//! The one error shape every endpoint answers with.
//!
//! ```json
//! {"code": "validation_error", "detail": "zip: Enter a valid postal code.",
//!  "fields": {"zip": ["Enter a valid postal code."]}, "zip": ["Enter a valid postal code."]}
//! ```
//! `code` is stable and machine-readable; `detail` is for people. Validation errors also list
//! their messages per field, both under `fields` and at the top level, which is the shape
//! Shippo's own API uses (`{"zip": ["..."]}`) and what its clients print.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use domain::{FieldErrors, ValidationError};
use serde_json::{Map, Value};
use service::ServiceError;

/// An error answered to an API client.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub detail: String,
    pub fields: FieldErrors,
}

impl ApiError {
    /// The field errors of a 400 (a nested object's, to report with the rest of a request);
    /// any other error as its detail under `field`.
    pub fn into_fields(self, field: &str) -> FieldErrors {
        if self.fields.is_empty() {
            let mut f = FieldErrors::new();
            f.add(field, self.detail);
            f
        } else {
            self.fields
        }
    }

    /// An error without field details.
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status,
            code,
            detail: detail.into(),
            fields: FieldErrors::new(),
        }
    }

    /// 404 for an object that does not exist or is not the caller's.
    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} not found."),
        )
    }

    /// 400 naming one field.
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        ValidationError::field(field, message).into()
    }

    /// 401.
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", detail)
    }

    /// 500 with an opaque message and the request id; the cause (with its chain, for an
    /// `anyhow::Error` formatted with `{:#}`) is logged under that id, never sent.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, request_id = %crate::request_id::current(), "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "An internal error occurred; it has been logged. Quote the request_id when reporting it.",
        )
    }

    /// 503: a dependency is down or busy and the same request may succeed later. The cause is
    /// logged, never sent.
    pub fn unavailable(cause: impl std::fmt::Display) -> Self {
        tracing::warn!(error = %cause, request_id = %crate::request_id::current(), "service unavailable");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "service_unavailable",
            "The service is temporarily unavailable; try again shortly.",
        )
    }
}

impl From<ValidationError> for ApiError {
    fn from(e: ValidationError) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code: "validation_error",
            detail: e.to_string(),
            fields: e.0,
        }
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Validation(v) => v.into(),
            ServiceError::NotFound => Self::not_found("Object"),
            ServiceError::Conflict(m) => Self::new(StatusCode::CONFLICT, "conflict", m),
            ServiceError::Unauthorized => Self::unauthorized("Invalid or revoked API token."),
            ServiceError::Unavailable(m) => Self::unavailable(m),
            ServiceError::Internal(e) => Self::internal(format!("{e:#}")),
        }
    }
}

/// The JSON body of an error (shared with the OpenAPI document).
pub fn body(code: &str, detail: &str, fields: &FieldErrors) -> Value {
    let mut obj = Map::new();
    obj.insert("code".into(), code.into());
    obj.insert("detail".into(), detail.into());
    if !fields.is_empty() {
        let mut per_field = Map::new();
        for (field, messages) in fields.iter() {
            per_field.insert(field.into(), messages.into());
        }
        for (k, v) in &per_field {
            if !obj.contains_key(k) {
                obj.insert(k.clone(), v.clone());
            }
        }
        obj.insert("fields".into(), Value::Object(per_field));
    }
    Value::Object(obj)
}

impl ApiError {
    /// One line for the Developers page's recent errors: the code and what the body says (a
    /// server error only by its request id; its cause is in the log, never shown).
    fn summary(&self) -> String {
        if self.status.is_server_error() {
            return format!(
                "{}: see the server log for request {}",
                self.code,
                crate::request_id::current()
            );
        }
        let mut line = format!("{}: {}", self.code, self.detail);
        for (field, messages) in self.fields.iter().take(3) {
            if let Some(m) = messages.first() {
                line.push_str(&format!(" {field}: {m}"));
            }
        }
        line
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = body(self.code, &self.detail, &self.fields);
        if self.status.is_server_error() {
            body["request_id"] = crate::request_id::current().into();
        }
        let mut res = (self.status, Json(body)).into_response();
        res.extensions_mut()
            .insert(crate::refusals::Refused(self.summary()));
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            res.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                HeaderValue::from_static("1"),
            );
        }
        res
    }
}

/// The error body as documented in the OpenAPI description.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct ErrorBody {
    /// Stable machine-readable code: `validation_error`, `invalid_json`, `unsupported_media_type`,
    /// `payload_too_large`, `unauthorized`, `not_found`, `method_not_allowed`, `conflict`,
    /// `internal_error`, `service_unavailable`.
    code: String,
    /// A sentence for people.
    detail: String,
    /// Messages per field (validation errors only); also repeated at the top level, Shippo-style.
    fields: Option<std::collections::HashMap<String, Vec<String>>>,
    /// On 500 and 503 answers: the request's id (also in `X-Request-Id`), under which the cause
    /// was logged.
    request_id: Option<String>,
}
