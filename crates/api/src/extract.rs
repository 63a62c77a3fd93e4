//! Extractors that answer bad input with the API's error shape: request bodies (JSON or
//! form-encoded), object ids in paths, and list queries.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use axum::http::StatusCode;
use domain::ObjectId;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::error::ApiError;

/// A request body as `T`, from `application/json` (the default when no content type is sent) or
/// `application/x-www-form-urlencoded` (what `curl -d` sends; `a[b]=1` nests, `a[]=1` appends).
/// Unknown fields are ignored, as Shippo does. An empty POST body reads as `{}` (`curl -X POST`
/// without data); an empty PUT body is refused, since a PUT replaces what it names.
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        from_value(read_value(req, state).await?).map(Body)
    }
}

/// A request body as any JSON value (a body that is a JSON array, e.g. `add_shipments`), read
/// as [`Body`] reads its bodies.
pub struct AnyBody(pub Value);

impl<S: Send + Sync> FromRequest<S> for AnyBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        read_value(req, state).await.map(AnyBody)
    }
}

/// A request body as raw bytes (CSV uploads, signed webhook bodies, bodies a handler parses
/// itself), its failures in the API's error shape: too large is a JSON 413, unreadable (or
/// carrying a NUL, refused at the edge) a JSON 400 — never axum's plain-text rejections.
pub struct RawBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        Bytes::from_request(req, state)
            .await
            .map(RawBody)
            .map_err(body_error)
    }
}

/// The API's answer to a body that could not be read.
fn body_error(rejection: axum::extract::rejection::BytesRejection) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return too_large("The request body is larger than this server accepts.");
    }
    read_error(
        &rejection,
        "The request body is larger than this server accepts.",
    )
}

/// The API's answer to a body stream that failed (`RawBody`, or a handler reading the stream
/// itself): over the route's limit a JSON 413 saying `too_big`, a NUL refused at the edge or
/// anything else unreadable a JSON 400. One mapping, so every raw body fails alike.
pub(crate) fn read_error(error: &(dyn std::error::Error + 'static), too_big: &str) -> ApiError {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = cause {
        let said = e.to_string();
        // http_body_util's LengthLimitError: the route's DefaultBodyLimit.
        if said == "length limit exceeded" {
            return too_large(too_big);
        }
        if said == crate::nul::BODY_MESSAGE {
            return ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_body",
                crate::nul::BODY_MESSAGE,
            );
        }
        cause = e.source();
    }
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "invalid_body",
        format!("Could not read the request body: {error}"),
    )
}

fn too_large(message: &str) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        message.to_string(),
    )
}

async fn read_value<S: Send + Sync>(req: Request, state: &S) -> Result<Value, ApiError> {
    {
        let content_type = media_type(req.headers());
        let is_put = req.method() == axum::http::Method::PUT;
        let RawBody(bytes) = RawBody::from_request(req, state).await?;
        if is_put && bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_body",
                "A PUT needs a body: the new state of what it replaces.",
            ));
        }
        let value = match content_type.as_str() {
            ct if is_json(ct) => parse_json(&bytes)?,
            "application/x-www-form-urlencoded" => {
                if bytes.windows(3).any(|w| w == b"%00") {
                    return Err(ApiError::new(
                        StatusCode::BAD_REQUEST,
                        "invalid_body",
                        crate::nul::BODY_MESSAGE,
                    ));
                }
                form_to_json(&bytes)?
            }
            other => {
                return Err(ApiError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "unsupported_media_type",
                    format!("Content type \"{other}\" is not supported; send application/json or application/x-www-form-urlencoded."),
                ))
            }
        };
        Ok(value)
    }
}

/// Whether a media type (as [`media_type`] gives it) is read as JSON: none sent, JSON, or an
/// `application/…+json` type.
pub fn is_json(media: &str) -> bool {
    matches!(media, "" | "application/json" | "text/json")
        || (media.starts_with("application/") && media.ends_with("+json"))
}

/// The media type of a request (`application/json` of `application/json; charset=utf-8`),
/// lower-cased; empty when none was sent.
pub fn media_type(headers: &axum::http::HeaderMap) -> String {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default()
}

fn parse_json(bytes: &[u8]) -> Result<Value, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Map::new()));
    }
    serde_json::from_slice(bytes).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            format!("The request body is not valid JSON: {e}."),
        )
    })
}

/// Deserializes a JSON value, naming the field at fault when a value has the wrong type.
pub fn from_value<T: DeserializeOwned>(value: Value) -> Result<T, ApiError> {
    if !value.is_object() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            "The request body must be a JSON object.",
        ));
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let message = e.into_inner().to_string();
        if path == "." || path.is_empty() {
            ApiError::new(StatusCode::BAD_REQUEST, "validation_error", message)
        } else {
            ApiError::field(&path, format!("Invalid value: {message}."))
        }
    })
}

/// Deserializes an object nested in a request under `prefix` (e.g. `address_to`), naming
/// fields with their full path in errors.
pub fn nested<T: DeserializeOwned>(prefix: &str, value: Value) -> Result<T, ApiError> {
    if !value.is_object() {
        return Err(ApiError::field(
            prefix,
            format!("Expected an object or an object id, found {value}."),
        ));
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let message = e.into_inner().to_string();
        ApiError::field(
            &format!("{prefix}.{path}"),
            format!("Invalid value: {message}."),
        )
    })
}

/// Deepest nesting a form key may have (`a[b][c]` is 3): deeper than any Shippo field, and
/// small enough that building and dropping the JSON value never nears the stack's limit.
pub const MAX_FORM_DEPTH: usize = 8;
/// Most pairs one form body may hold.
pub const MAX_FORM_PAIRS: usize = 10_000;

fn bad_form(detail: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "invalid_body", detail)
}

/// One percent-decoded part of a form pair (`+` is a space); invalid UTF-8 is refused rather
/// than stored with replacement characters.
fn decode_form_part(raw: &[u8]) -> Result<String, ApiError> {
    let spaced: Vec<u8> = raw
        .iter()
        .map(|&b| if b == b'+' { b' ' } else { b })
        .collect();
    percent_encoding::percent_decode(&spaced)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| bad_form("The form body is not valid UTF-8 once percent-decoded."))
}

/// Turns form pairs into a JSON object: `a=1` → `{"a":"1"}` (the last repeat wins),
/// `a[]=1&a[]=2` → `{"a":["1","2"]}`, `a[b]=1` → `{"a":{"b":"1"}}`. Keys nest at most
/// [`MAX_FORM_DEPTH`] deep and a body holds at most [`MAX_FORM_PAIRS`] pairs (400 beyond).
pub fn form_to_json(bytes: &[u8]) -> Result<Value, ApiError> {
    let mut root = Map::new();
    let pairs = bytes.split(|&b| b == b'&').filter(|p| !p.is_empty());
    for (n, pair) in pairs.enumerate() {
        if n == MAX_FORM_PAIRS {
            return Err(bad_form(format!(
                "The form body has more than {MAX_FORM_PAIRS} fields."
            )));
        }
        let (key, value) = match pair.iter().position(|&b| b == b'=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &[][..]),
        };
        let key = decode_form_part(key)?;
        let value = decode_form_part(value)?;
        let (head, rest) = match key.find('[') {
            Some(i) => (&key[..i], &key[i..]),
            None => (key.as_str(), ""),
        };
        let mut segments = vec![head.to_string()];
        let mut rest = rest;
        while let Some(stripped) = rest.strip_prefix('[') {
            let Some(end) = stripped.find(']') else { break };
            if segments.len() == MAX_FORM_DEPTH {
                return Err(ApiError::field(
                    head,
                    format!("Form keys nest at most {MAX_FORM_DEPTH} levels deep."),
                ));
            }
            segments.push(stripped[..end].to_string());
            rest = &stripped[end + 1..];
        }
        insert(&mut root, &segments, Value::String(value));
    }
    Ok(Value::Object(root))
}

fn insert(obj: &mut Map<String, Value>, segments: &[String], value: Value) {
    let (first, rest) = segments.split_first().expect("at least one segment");
    if rest.is_empty() {
        obj.insert(first.clone(), value);
        return;
    }
    if rest.len() == 1 && rest[0].is_empty() {
        let slot = obj
            .entry(first.clone())
            .or_insert_with(|| Value::Array(vec![]));
        if !slot.is_array() {
            *slot = Value::Array(vec![]);
        }
        slot.as_array_mut().expect("array").push(value);
        return;
    }
    let slot = obj
        .entry(first.clone())
        .or_insert_with(|| Value::Object(Map::new()));
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    insert(slot.as_object_mut().expect("object"), rest, value);
}

/// An object id from the path; anything that is not one answers 404 like an unknown id.
pub struct Id(pub ObjectId);

impl<S: Send + Sync> FromRequestParts<S> for Id {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(raw): Path<String> = Path::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::not_found("Object"))?;
        ObjectId::parse(&raw)
            .map(Id)
            .ok_or_else(|| ApiError::not_found("Object"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_bodies_nest_and_append() {
        let v = form_to_json(
            b"name=Shawn+Ippotle&extra[COD][amount]=5&tags[]=a&tags[]=b&zip=1&zip=94117",
        )
        .unwrap();
        assert_eq!(
            v,
            serde_json::json!({"name": "Shawn Ippotle", "extra": {"COD": {"amount": "5"}}, "tags": ["a", "b"], "zip": "94117"})
        );
    }

    #[test]
    fn form_bodies_decode_percent_escapes_and_refuse_invalid_utf8() {
        let v = form_to_json(b"name=Jos%C3%A9+%26+Co&empty=&bare").unwrap();
        assert_eq!(
            v,
            serde_json::json!({"name": "José & Co", "empty": "", "bare": ""})
        );
        let err = form_to_json(b"name=%ff%fe").unwrap_err();
        assert_eq!(
            (err.status, err.code),
            (StatusCode::BAD_REQUEST, "invalid_body")
        );
        assert!(form_to_json(b"%ff=1").is_err(), "keys too");
    }

    #[test]
    fn form_keys_nest_a_bounded_depth_and_bodies_hold_bounded_pairs() {
        let ok = format!("a{}=x", "[b]".repeat(MAX_FORM_DEPTH - 1));
        assert!(form_to_json(ok.as_bytes()).is_ok());
        let deep = format!("name{}=x", "[a]".repeat(10_000));
        let err = form_to_json(deep.as_bytes()).unwrap_err();
        assert_eq!(err.status, StatusCode::BAD_REQUEST);
        assert_eq!(
            err.fields.iter().next().unwrap().1[0],
            format!("Form keys nest at most {MAX_FORM_DEPTH} levels deep.")
        );
        let many = vec!["a[]=1"; MAX_FORM_PAIRS + 1].join("&");
        let err = form_to_json(many.as_bytes()).unwrap_err();
        assert!(err.detail.contains("more than"), "{}", err.detail);
    }

    #[test]
    fn wrong_types_name_the_field() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct T {
            inner: Inner,
        }
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct Inner {
            flag: bool,
        }
        let err = from_value::<T>(serde_json::json!({"inner": {"flag": "x"}})).unwrap_err();
        assert_eq!(err.status, StatusCode::BAD_REQUEST);
        assert_eq!(err.fields.iter().next().unwrap().0, "inner.flag");
        let err = from_value::<T>(serde_json::json!([1])).unwrap_err();
        assert_eq!(err.code, "invalid_json");
    }
}
