//! Consign's web app: server-rendered pages for the people of an account (docs/WEB.md). Pages
//! call the same service functions as the API — never the API over HTTP, never SQL of their
//! own. Every signed-in page and form is declared once in [`routes`] and checked once in
//! [`ctx`]; signing in and out ([`sign_in`]) and the app's own files ([`assets`]) stand outside.
//!
//! Every page is answered with the same headers ([`page`]): a CSP that allows only our own
//! files (no inline scripts), no framing, no sniffing, no caching. Every unsafe request must
//! come from our own origin ([`same_origin`]) and, once signed in, carry the session's
//! anti-forgery token (a hidden `_csrf` field, or htmx's `X-CSRF-Token` header).

mod address_form;
mod assets;
mod audit;
mod batches;
mod carriers;
mod ctx;
mod developers;
mod home;
mod labels;
mod links;
mod manifests;
mod order_import;
mod orders;
mod projects;
pub mod routes;
mod session;
mod settings;
mod sign_in;
mod team;
mod uploads;

use std::sync::Arc;

use axum::http::header::{
    HeaderName, CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, HOST, ORIGIN, REFERER,
    X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use service::Services;

pub use assets::Assets;

/// How the web app is served.
#[derive(Debug, Clone, Default)]
pub struct WebConfig {
    /// The externally visible base URL (e.g. `https://ship.example.com`): the one origin forms
    /// are accepted from, and whether cookies are `Secure`. Unset: the request's own host.
    pub public_url: Option<String>,
}

/// What every handler of the web app shares (one allocation: cloned per request).
#[derive(Clone)]
pub(crate) struct Web(Arc<Shared>);

/// The parts of [`Web`].
pub(crate) struct Shared {
    pub services: Services,
    pub config: WebConfig,
    pub assets: Assets,
    pub throttle: sign_in::Throttle,
    /// Keys of the "make a token" forms already answered in this process: a reload of the
    /// answer makes no second token.
    pub made_tokens: std::sync::Mutex<std::collections::HashMap<String, std::time::Instant>>,
}

impl std::ops::Deref for Web {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl Web {
    /// Whether a form's one-time `key` is used for the first time in this process (an empty
    /// key always is): a reload or double click of a form that shows a secret once makes no
    /// second one. Keys are kept an hour.
    pub(crate) fn first_use(&self, key: &str) -> bool {
        let mut made = self.made_tokens.lock().unwrap_or_else(|e| e.into_inner());
        made.retain(|_, at| at.elapsed() < std::time::Duration::from_secs(3600));
        if made.len() > 10_000 {
            made.clear();
        }
        key.is_empty()
            || made
                .insert(key.to_string(), std::time::Instant::now())
                .is_none()
    }
}

/// The web app's routes (`/`, `/app/…`), for any outer router state.
pub fn router<S: Clone + Send + Sync + 'static>(
    services: Services,
    config: WebConfig,
) -> Router<S> {
    let web = Web(Arc::new(Shared {
        services,
        config,
        assets: Assets::new(),
        throttle: sign_in::Throttle::new(),
        made_tokens: Default::default(),
    }));
    let mut router = Router::new();
    for (route, handler) in routes::entries() {
        router = router.route(route.path, handler);
    }
    router
        .route("/app/sign-in", get(sign_in::form).post(sign_in::submit))
        .route("/app/sign-out", post(sign_in::sign_out))
        .route(
            "/app/sign-out-everywhere",
            post(sign_in::sign_out_everywhere),
        )
        .route(
            "/app/welcome",
            get(links::welcome).post(links::set_password),
        )
        .route("/app/forgot", get(links::forgot).post(links::send_reset))
        .route("/app/static/{name}", get(assets::serve))
        // Browsers ask for it on pages without HTML (a PDF in the viewer): nothing, cached.
        .route(
            "/favicon.ico",
            get(|| async {
                (
                    StatusCode::NO_CONTENT,
                    [(CACHE_CONTROL, "public, max-age=31536000")],
                )
            }),
        )
        .with_state(web)
}

/// The headers of every page.
const PAGE_HEADERS: [(HeaderName, &str); 5] = [
    (CONTENT_TYPE, "text/html; charset=utf-8"),
    (CACHE_CONTROL, "no-store"),
    (
        CONTENT_SECURITY_POLICY,
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    ),
    (X_FRAME_OPTIONS, "DENY"),
    (X_CONTENT_TYPE_OPTIONS, "nosniff"),
];

/// A rendered page with its status and the page headers.
pub(crate) fn page(status: StatusCode, html: Result<String, askama::Error>) -> Response {
    match html {
        Ok(body) => (status, PAGE_HEADERS, body).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                PAGE_HEADERS,
                "<!doctype html><title>Error</title><p>Something went wrong on our side.</p>",
            )
                .into_response()
        }
    }
}

/// `303 See Other` to `to` (after a form, the browser GETs the next page).
pub(crate) fn see_other(to: &str, cookie: Option<String>) -> Response {
    let mut res = (
        StatusCode::SEE_OTHER,
        [(axum::http::header::LOCATION, to.to_string())],
    )
        .into_response();
    if let Some(c) = cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
        res.headers_mut().insert(axum::http::header::SET_COOKIE, c);
    }
    res
}

/// The object id in a page's path (`None`: not an id, answered as not found).
pub(crate) fn id_of(raw: &str) -> Option<domain::ObjectId> {
    domain::ObjectId::parse(raw.trim())
}

/// Where this server is reached: the public URL, else the request's own host (over http).
/// Links pasted or emailed elsewhere start with it.
pub(crate) fn base_url(config: &WebConfig, headers: &HeaderMap) -> String {
    match &config.public_url {
        Some(url) => url.trim_end_matches('/').to_string(),
        None => format!(
            "http://{}",
            headers
                .get(HOST)
                .and_then(|h| h.to_str().ok())
                .unwrap_or("localhost")
        ),
    }
}

/// The origin (`scheme://host[:port]`) of a URL, lower-cased.
fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let host = rest.split(['/', '?', '#']).next()?;
    (!host.is_empty()).then(|| {
        format!(
            "{}://{}",
            scheme.to_ascii_lowercase(),
            host.to_ascii_lowercase()
        )
    })
}

/// Whether an unsafe request comes from our own pages: its `Origin` (else its `Referer`'s)
/// must be the public URL's origin, or — with no public URL set — the request's own host. A
/// request with neither header is refused (browsers send `Origin` on every form post).
pub(crate) fn same_origin(config: &WebConfig, headers: &HeaderMap) -> bool {
    let header = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    let Some(from) = header(ORIGIN)
        .and_then(origin_of)
        .or_else(|| header(REFERER).and_then(origin_of))
    else {
        return false;
    };
    match config.public_url.as_deref().and_then(origin_of) {
        Some(ours) => from == ours,
        None => header(HOST).is_some_and(|host| {
            let host = host.to_ascii_lowercase();
            from == format!("http://{host}") || from == format!("https://{host}")
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(HeaderName, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(k.clone(), HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn forms_are_accepted_from_our_own_origin_only() {
        let open = WebConfig::default();
        let ours = headers(&[
            (HOST, "ship.example:8080"),
            (ORIGIN, "http://ship.example:8080"),
        ]);
        assert!(same_origin(&open, &ours));
        let referer_only = headers(&[
            (HOST, "ship.example"),
            (REFERER, "https://ship.example/app/sign-in"),
        ]);
        assert!(same_origin(&open, &referer_only));
        for foreign in [
            headers(&[(HOST, "ship.example"), (ORIGIN, "https://evil.example")]),
            headers(&[(HOST, "ship.example"), (ORIGIN, "null")]),
            headers(&[(HOST, "ship.example")]),
            headers(&[
                (HOST, "ship.example"),
                (ORIGIN, "http://ship.example.evil.example"),
            ]),
        ] {
            assert!(!same_origin(&open, &foreign), "{foreign:?}");
        }
        let public = WebConfig {
            public_url: Some("https://Ship.Example/".into()),
        };
        assert!(same_origin(
            &public,
            &headers(&[(HOST, "internal:8080"), (ORIGIN, "https://ship.example")])
        ));
        assert!(!same_origin(
            &public,
            &headers(&[(HOST, "internal:8080"), (ORIGIN, "http://internal:8080")])
        ));
    }
}
