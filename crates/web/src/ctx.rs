//! Who a page is for: the signed-in person, checked once for every page and form.
//!
//! [`Ctx`] (a GET) and [`Posted`] (a form) are the only ways a handler learns who acts. Both
//! look the route up in the one table ([`crate::routes`]) and refuse, before the handler runs:
//! a visitor who is signed out (sent to the sign-in page), an unsafe request from another
//! origin or without the session's anti-forgery token (403, nothing changed), and a role without
//! the route's permission (403). What passes carries the principal every service call takes:
//! the person's account, the mode they picked and the actor `User { id, role }`.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, MatchedPath, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use domain::account::Mode;
use domain::user::Role;
use service::users::{self, SignedIn};
use service::{Principal, ServiceError};
use subtle::ConstantTimeEq;

use crate::assets::Assets;
use crate::{page, routes, same_origin, see_other, session, Web};

/// The cookie that keeps the mode a person works in (`live`; absent = test). Not a secret:
/// both modes belong to the person's account, and their role decides what they may do.
pub(crate) const MODE_COOKIE: &str = "consign_mode";

/// A signed-in request that passed every check of its route.
pub(crate) struct Ctx {
    pub web: Web,
    pub who: SignedIn,
    pub principal: Principal,
    /// An htmx request (answered with a fragment).
    pub htmx: bool,
    /// Where this server is reached (the public URL, else the request's host): links that
    /// are pasted elsewhere (a provider's webhook URL) start with it.
    pub base: String,
}

/// A form post that passed every check, with its fields.
pub(crate) struct Posted(pub Ctx, pub FormData);

/// A form's fields as sent (repeated names kept, e.g. the selected orders' checkboxes).
#[derive(Debug, Default)]
pub(crate) struct FormData(Vec<(String, String)>);

/// Most fields a form may carry (a selection of orders is at most this many checkboxes).
const FORM_FIELDS_MAX: usize = 1_100;

impl FormData {
    fn parse(body: &[u8]) -> Self {
        Self(
            form_urlencoded::parse(body)
                .take(FORM_FIELDS_MAX)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The first value of `name`, trimmed ("" when absent).
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .unwrap_or("")
    }

    /// Every value of `name`.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .collect()
    }
}

/// What every signed-in page shows around its content.
pub(crate) struct Chrome<'a> {
    pub csrf: &'a str,
    pub who: &'a str,
    pub role: Role,
    pub account: &'a str,
    pub live: bool,
    pub nav: Vec<Nav>,
}

/// One link of the main navigation.
pub(crate) struct Nav {
    pub href: &'static str,
    pub label: &'static str,
    pub current: bool,
}

#[derive(Template)]
#[template(path = "problem.html")]
struct ProblemPage<'a> {
    assets: &'a Assets,
    csrf: Option<&'a str>,
    c: Option<Chrome<'a>>,
    title: &'a str,
    message: &'a str,
}

impl Ctx {
    /// The page chrome, with `section` (a nav link's path) marked current.
    pub fn chrome(&self, section: &str) -> Chrome<'_> {
        let role = self.who.user.role;
        let nav = routes::NAV
            .iter()
            .filter(|(_, _, permission)| permission.is_none_or(|p| role.can(p)))
            .map(|&(href, label, _)| Nav {
                href,
                label,
                current: href == section,
            })
            .collect();
        Chrome {
            csrf: &self.who.csrf,
            who: if self.who.user.name.is_empty() {
                &self.who.user.email
            } else {
                &self.who.user.name
            },
            role,
            account: &self.principal.account_name,
            live: self.principal.mode == Mode::Live,
            nav,
        }
    }

    /// A problem page (or fragment) with the chrome.
    pub fn problem(&self, status: StatusCode, title: &str, message: &str) -> Response {
        page(
            status,
            ProblemPage {
                assets: &self.web.assets,
                csrf: Some(&self.who.csrf),
                c: Some(self.chrome("")),
                title,
                message,
            }
            .render(),
        )
    }

    /// A service error as a page: what was not found, what was refused and why, or "try again".
    pub fn failed(&self, e: ServiceError) -> Response {
        match e {
            ServiceError::NotFound => self.problem(
                StatusCode::NOT_FOUND,
                "Not found",
                "There is no such thing in this account (in this mode).",
            ),
            ServiceError::Validation(v) => self.problem(
                StatusCode::UNPROCESSABLE_ENTITY,
                "That was refused",
                &messages(&v),
            ),
            ServiceError::Conflict(m) => self.problem(StatusCode::CONFLICT, "That was refused", &m),
            e => unavailable(&self.web, e),
        }
    }
}

/// A validation error's messages in one line, each naming its field.
pub(crate) fn messages(v: &domain::ValidationError) -> String {
    v.0.iter()
        .flat_map(|(f, ms)| ms.iter().map(move |m| format!("{f}: {m}")))
        .collect::<Vec<_>>()
        .join(" ")
}

/// "Try again": the database or another part is down (the cause is logged, not shown).
pub(crate) fn unavailable(web: &Web, e: ServiceError) -> Response {
    tracing::warn!(error = %e, "web page unavailable");
    problem_page(
        web,
        StatusCode::SERVICE_UNAVAILABLE,
        "Try again in a moment",
        "Consign cannot answer right now.",
    )
}

/// A problem page without the chrome (before anyone is known).
pub(crate) fn problem_page(web: &Web, status: StatusCode, title: &str, message: &str) -> Response {
    page(
        status,
        ProblemPage {
            assets: &web.assets,
            csrf: None,
            c: None,
            title,
            message,
        }
        .render(),
    )
}

fn forgery(web: &Web) -> Response {
    problem_page(
        web,
        StatusCode::FORBIDDEN,
        "Refused",
        "That form did not come from this site's pages (or is too old); nothing was changed. Reload the page and try again.",
    )
}

/// The mode the request's cookie names.
fn mode_of(headers: &HeaderMap) -> Mode {
    let live = headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .any(|(name, value)| name == MODE_COOKIE && value == "live");
    if live {
        Mode::Live
    } else {
        Mode::Test
    }
}

/// The checks every page and form share before its body is read (a signed-out visitor's body
/// never is): the origin of an unsafe request, the session and the route's permission. The
/// anti-forgery token is checked by [`token_ok`] once the form is read.
async fn check(parts: &Parts, web: &Web) -> Result<Ctx, Response> {
    let unsafe_method = parts.method != Method::GET && parts.method != Method::HEAD;
    let htmx = parts.headers.contains_key("hx-request");
    if unsafe_method && !same_origin(&web.config, &parts.headers) {
        return Err(forgery(web));
    }
    let who = match session::current(web, &parts.headers).await {
        Ok(Some((_, who))) => who,
        Ok(None) => return Err(signed_out(parts, htmx)),
        Err(e) => return Err(unavailable(web, e)),
    };
    let path = parts
        .extensions
        .get::<MatchedPath>()
        .map(|p| p.as_str())
        .unwrap_or("");
    let principal = users::principal(&web.services, &who, mode_of(&parts.headers))
        .await
        .map_err(|e| unavailable(web, e))?;
    let base = crate::base_url(&web.config, &parts.headers);
    let ctx = Ctx {
        web: web.clone(),
        who,
        principal,
        htmx,
        base,
    };
    match routes::permission(&parts.method, path) {
        // Not in the table: a handler outside it cannot be reached this way (a bug).
        None => Err(ctx.problem(StatusCode::NOT_FOUND, "Not found", "No such page.")),
        Some(Some(needed)) if !ctx.who.user.role.can(needed) => Err(ctx.problem(
            StatusCode::FORBIDDEN,
            "Not for your role",
            &format!(
                "Your role ({}) does not allow this: it needs the {} permission. Ask an owner or admin of the account.",
                ctx.who.user.role,
                needed.as_str()
            ),
        )),
        Some(_) => Ok(ctx),
    }
}

/// Whether an unsafe request carries the session's anti-forgery token: htmx's
/// `X-CSRF-Token` header, else the form's `_csrf` field (compared in constant time).
fn token_ok(parts: &Parts, ctx: &Ctx, body_token: &str) -> bool {
    let sent = parts
        .headers
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or(body_token);
    bool::from(sent.as_bytes().ct_eq(ctx.who.csrf.as_bytes()))
}

/// Signed out: to the sign-in page (htmx follows `HX-Redirect`), back here afterwards.
fn signed_out(parts: &Parts, htmx: bool) -> Response {
    let back = if parts.method == Method::GET {
        parts
            .uri
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/")
    } else {
        "/"
    };
    let to = if back == "/" {
        "/app/sign-in".to_string()
    } else {
        format!(
            "/app/sign-in?next={}",
            form_urlencoded::byte_serialize(back.as_bytes()).collect::<String>()
        )
    };
    if htmx {
        (StatusCode::UNAUTHORIZED, [("hx-redirect", to)]).into_response()
    } else {
        see_other(&to, None)
    }
}

impl FromRequestParts<Web> for Ctx {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, web: &Web) -> Result<Self, Self::Rejection> {
        check(parts, web).await
    }
}

impl FromRequest<Web> for Posted {
    type Rejection = Response;

    async fn from_request(req: Request, web: &Web) -> Result<Self, Self::Rejection> {
        let (parts, body) = req.into_parts();
        let ctx = check(&parts, web).await?;
        let bytes = Bytes::from_request(Request::from_parts(parts.clone(), body), web)
            .await
            .map_err(IntoResponse::into_response)?;
        let form = FormData::parse(&bytes);
        if !token_ok(&parts, &ctx, form.get("_csrf")) {
            return Err(forgery(web));
        }
        Ok(Posted(ctx, form))
    }
}

/// A form with a file (`multipart/form-data`, within the route's body limit) that passed every
/// check: its fields, and the file of the `file` field when one was chosen. A form sent
/// url-encoded (no file) is read as [`Posted`] reads it.
pub(crate) struct Uploaded(pub Ctx, pub FormData, pub Option<Bytes>);

/// Most bytes a multipart form's other fields (not its file) may hold together.
const FIELDS_BYTES_MAX: usize = 64 * 1024;

impl FromRequest<Web> for Uploaded {
    type Rejection = Response;

    async fn from_request(req: Request, web: &Web) -> Result<Self, Self::Rejection> {
        let multipart = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"));
        if !multipart {
            let Posted(ctx, form) = Posted::from_request(req, web).await?;
            return Ok(Uploaded(ctx, form, None));
        }
        let (parts, body) = req.into_parts();
        let ctx = check(&parts, web).await?;
        let unreadable = |e: axum::extract::multipart::MultipartError| {
            let (status, message) = if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                (
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "The file is larger than this form takes.".to_string(),
                )
            } else {
                (
                    StatusCode::BAD_REQUEST,
                    format!("The form could not be read: {e}"),
                )
            };
            ctx.problem(status, "That was refused", &message)
        };
        let mut form =
            axum::extract::Multipart::from_request(Request::from_parts(parts.clone(), body), web)
                .await
                .map_err(IntoResponse::into_response)?;
        let (mut fields, mut file, mut room) = (Vec::new(), None, FIELDS_BYTES_MAX);
        while let Some(field) = form.next_field().await.map_err(unreadable)? {
            let name = field.name().unwrap_or("").to_string();
            let chosen = field.file_name().is_some_and(|f| !f.is_empty());
            let data = field.bytes().await.map_err(unreadable)?;
            if name == "file" {
                // A form sent without a chosen file still has the part, empty and unnamed.
                if chosen || !data.is_empty() {
                    file = Some(data);
                }
            } else if data.len() <= room && fields.len() < FORM_FIELDS_MAX {
                room -= data.len();
                fields.push((name, String::from_utf8_lossy(&data).into_owned()));
            }
        }
        let form = FormData(fields);
        if !token_ok(&parts, &ctx, form.get("_csrf")) {
            return Err(forgery(web));
        }
        Ok(Uploaded(ctx, form, file))
    }
}
