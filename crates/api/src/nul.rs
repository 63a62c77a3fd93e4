//! NUL (U+0000) refused at the edge. No field of Consign's accepts it, and PostgreSQL's text
//! cannot store it, so a NUL that reached SQL answered 500 on PostgreSQL and was stored on
//! SQLite: one rule for both, decided before any handler reads the request.
//!
//! - the path and the query, percent-decoded (`%00`);
//! - every body as it streams in: a raw 0 byte, and in JSON bodies the escape `\u0000` (an
//!   escaped backslash followed by `u0000` is text, not an escape, and passes). Form bodies'
//!   `%00` is refused where they are decoded ([`crate::extract`]).
//!
//! A body found to carry one fails to read, and the extractors answer it with the JSON error
//! shape (400 `invalid_body`). Every body Consign takes is text (JSON, forms, CSV) except the
//! routes of [`BINARY_UPLOADS`] (a logo is an image, full of 0 bytes): their bodies pass, the
//! file is checked for what it is (an image's first bytes) and never stored as text, and their
//! text fields are refused control characters (NUL among them) by the service.

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{StatusCode, Uri};
use futures_util::StreamExt;

use crate::error::ApiError;

/// What a body read fails with when it carries a NUL.
pub(crate) const BODY_MESSAGE: &str =
    "The request body contains a NUL character (U+0000), which no field accepts.";

/// Which part of the URI carries a percent-encoded NUL, if any.
pub(crate) fn in_uri(uri: &Uri) -> Option<&'static str> {
    let decoded_has_nul = |s: &str| percent_encoding::percent_decode(s.as_bytes()).any(|b| b == 0);
    if decoded_has_nul(uri.path()) {
        Some("path")
    } else if uri.query().is_some_and(decoded_has_nul) {
        Some("query")
    } else {
        None
    }
}

/// The 400 for a NUL in `part` of the request.
pub(crate) fn refusal(part: &str) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "invalid_request",
        format!("The request's {part} contains a NUL character (U+0000), which no field accepts."),
    )
}

/// Routes whose bodies carry a binary file (multipart forms only).
const BINARY_UPLOADS: &[&str] = &["/app/settings/branding"];

/// The request with its body checked as it streams (bodies that may carry none — no
/// `Content-Length` above 0, no `Transfer-Encoding` — are left as they are, and so are the
/// multipart forms of [`BINARY_UPLOADS`]).
pub(crate) fn guard_body(req: Request) -> Request {
    let headers = req.headers();
    if BINARY_UPLOADS.contains(&req.uri().path())
        && crate::extract::media_type(headers) == "multipart/form-data"
    {
        return req;
    }
    let has_body = headers.contains_key(axum::http::header::TRANSFER_ENCODING)
        || headers
            .get(axum::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim() != "0");
    if !has_body {
        return req;
    }
    let json = crate::extract::is_json(&crate::extract::media_type(headers));
    let (parts, body) = req.into_parts();
    let mut scan = Scan::new(json);
    let stream = body.into_data_stream().map(move |chunk| {
        let chunk: Bytes = chunk?;
        if scan.feed(&chunk) {
            return Err(axum::Error::new(BODY_MESSAGE));
        }
        Ok(chunk)
    });
    Request::from_parts(parts, Body::from_stream(stream))
}

/// A streaming search for a raw NUL and (in JSON) an unescaped `\u0000`, across chunks.
struct Scan {
    json: bool,
    /// Backslashes seen in a row just before the current byte.
    backslashes: usize,
    /// How much of `u0000` follows an escaping backslash (0 = none).
    matched: usize,
}

impl Scan {
    fn new(json: bool) -> Self {
        Self {
            json,
            backslashes: 0,
            matched: 0,
        }
    }

    /// Whether `chunk` completes a NUL.
    fn feed(&mut self, chunk: &[u8]) -> bool {
        if !self.json {
            return chunk.contains(&0);
        }
        for &b in chunk {
            if b == 0 {
                return true;
            }
            if self.matched > 0 {
                if b == b'0' {
                    self.matched += 1;
                    if self.matched == 5 {
                        return true;
                    }
                    continue;
                }
                self.matched = 0;
            }
            match b {
                b'\\' => {
                    self.backslashes += 1;
                    continue;
                }
                b'u' if self.backslashes % 2 == 1 => self.matched = 1,
                _ => {}
            }
            self.backslashes = 0;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(json: bool, chunks: &[&[u8]]) -> bool {
        let mut s = Scan::new(json);
        chunks.iter().any(|c| s.feed(c))
    }

    #[test]
    fn finds_nul_in_every_form_and_across_chunks() {
        assert!(found(true, &[br#"{"a":"x\u0000"}"#]));
        assert!(found(true, &[br#"{"a":"x\u00"#, br#"00"}"#]));
        assert!(found(true, &[br#"{"a":"x\"#, br#"u0000"}"#]));
        assert!(found(true, &[br#"{"a":"x\\\u0000"}"#]));
        assert!(found(
            true,
            b"{\"a\":\"x\0\"}"
                .as_slice()
                .chunks(3)
                .collect::<Vec<_>>()
                .as_slice()
        ));
        assert!(found(false, &[b"a,b\n\0,c"]));
        // An escaped backslash before `u0000` is text; other escapes pass.
        assert!(!found(true, &[br#"{"a":"C:\\u0000"}"#]));
        assert!(!found(true, &[br#"{"a":"\u0001\u00e9 u0000"}"#]));
        assert!(!found(false, &[br#"a,\u0000"#]));
    }

    #[test]
    fn finds_percent_encoded_nul_in_paths_and_queries() {
        let uri = |s: &str| s.parse::<Uri>().unwrap();
        assert_eq!(in_uri(&uri("/track/A%00B")), Some("path"));
        assert_eq!(in_uri(&uri("/orders?shop_app=%00")), Some("query"));
        assert_eq!(in_uri(&uri("/orders?shop_app=x%2500")), None);
        assert_eq!(in_uri(&uri("/orders?shop_app=shopify")), None);
    }
}
