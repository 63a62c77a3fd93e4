//! The web app's own files, built into the binary and served under a name that carries their
//! content's hash, so a browser may keep them for a year and a new build is fetched at once.
//! Nothing comes from a CDN: the app works offline.

use axum::extract::{Path, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, X_CONTENT_TYPE_OPTIONS};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use crate::Web;

/// htmx 2.0.4 from the npm registry (`npm pack htmx.org@2.0.4`, `dist/htmx.min.js`; licence
/// 0BSD, kept beside it).
const HTMX: &[u8] = include_bytes!("../static/htmx-2.0.4.min.js");
/// Our one stylesheet.
const CSS: &[u8] = include_bytes!("../static/app.css");

/// The files and the paths pages link them by.
#[derive(Debug)]
pub struct Assets {
    /// The stylesheet's path, e.g. `/app/static/app-1a2b3c4d5e.css`.
    pub css: String,
    /// htmx's path.
    pub htmx: String,
    files: Vec<(String, &'static [u8], &'static str)>,
}

fn hashed(stem: &str, ext: &str, bytes: &[u8]) -> String {
    format!("{stem}-{}.{ext}", &hex::encode(Sha256::digest(bytes))[..10])
}

impl Assets {
    /// Names every file by its content.
    pub fn new() -> Self {
        let css = hashed("app", "css", CSS);
        let htmx = hashed("htmx", "js", HTMX);
        Self {
            css: format!("/app/static/{css}"),
            htmx: format!("/app/static/{htmx}"),
            files: vec![
                (css, CSS, "text/css; charset=utf-8"),
                (htmx, HTMX, "text/javascript; charset=utf-8"),
            ],
        }
    }
}

impl Default for Assets {
    fn default() -> Self {
        Self::new()
    }
}

/// `GET /app/static/{name}`: a file by its hashed name, cached for a year.
pub(crate) async fn serve(State(web): State<Web>, Path(name): Path<String>) -> Response {
    match web.assets.files.iter().find(|(n, _, _)| *n == name) {
        Some((_, bytes, kind)) => (
            [
                (CONTENT_TYPE, *kind),
                (CACHE_CONTROL, "public, max-age=31536000, immutable"),
                (X_CONTENT_TYPE_OPTIONS, "nosniff"),
            ],
            *bytes,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "no such file").into_response(),
    }
}
