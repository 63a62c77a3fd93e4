//! Signing in and out.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::time::Duration;

use askama::Template;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::{Extension, Form};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use serde::Deserialize;
use service::users::{self, SignedIn};
use service::ServiceError;
use subtle::ConstantTimeEq;

use crate::assets::Assets;
use crate::{page, same_origin, see_other, session, Web};

/// Sign-in attempts allowed per email and per client address: a burst, refilled per minute.
const PER_EMAIL_PER_MINUTE: u32 = 5;
const PER_ADDRESS_PER_MINUTE: u32 = 20;

/// Sign-in attempts counted per email and per client address, in this process (several
/// processes each count their own).
pub(crate) struct Throttle {
    by_email: DefaultKeyedRateLimiter<String>,
    by_address: DefaultKeyedRateLimiter<IpAddr>,
}

impl Throttle {
    pub(crate) fn new() -> Self {
        let per_minute = |n: u32| Quota::per_minute(NonZeroU32::new(n).expect("non-zero quota"));
        Self {
            by_email: RateLimiter::keyed(per_minute(PER_EMAIL_PER_MINUTE)),
            by_address: RateLimiter::keyed(per_minute(PER_ADDRESS_PER_MINUTE)),
        }
    }

    /// `Err(wait)` when this email or this address has tried too often.
    pub(crate) fn check(&self, email: &str, address: Option<IpAddr>) -> Result<(), Duration> {
        let now = DefaultClock::default().now();
        self.by_email
            .check_key(&email.trim().to_lowercase())
            .map_err(|n| n.wait_time_from(now))?;
        if let Some(ip) = address {
            self.by_address
                .check_key(&ip)
                .map_err(|n| n.wait_time_from(now))?;
        }
        Ok(())
    }
}

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignInPage<'a> {
    assets: &'a Assets,
    csrf: Option<&'a str>,
    problem: Option<String>,
    email: &'a str,
    signed_out: bool,
    next: &'a str,
}

fn unavailable(web: &Web, e: ServiceError) -> Response {
    tracing::warn!(error = %e, "web page unavailable");
    sign_in_page(
        web,
        StatusCode::SERVICE_UNAVAILABLE,
        Some("Consign cannot answer right now; try again in a moment.".into()),
        "",
        false,
        "/",
    )
}

fn sign_in_page(
    web: &Web,
    status: StatusCode,
    problem: Option<String>,
    email: &str,
    signed_out: bool,
    next: &str,
) -> Response {
    page(
        status,
        SignInPage {
            assets: &web.assets,
            csrf: None,
            problem,
            email,
            signed_out,
            next,
        }
        .render(),
    )
}

#[derive(Deserialize)]
pub(crate) struct Shown {
    #[serde(rename = "signed-out")]
    signed_out: Option<String>,
    /// Where to go once signed in (a path of ours).
    #[serde(default)]
    next: String,
}

/// `next` when it is a path of this site (never another origin), else home.
fn local_path(next: &str) -> &str {
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && next.len() <= 2_000
        && !next.chars().any(char::is_control);
    if ok {
        next
    } else {
        "/"
    }
}

/// `GET /app/sign-in`.
pub(crate) async fn form(
    State(web): State<Web>,
    headers: HeaderMap,
    Query(shown): Query<Shown>,
) -> Response {
    if let Ok(Some(_)) = session::current(&web, &headers).await {
        return see_other("/", None);
    }
    sign_in_page(
        &web,
        StatusCode::OK,
        None,
        "",
        shown.signed_out.is_some(),
        local_path(&shown.next),
    )
}

#[derive(Deserialize)]
pub(crate) struct Credentials {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

/// `POST /app/sign-in`: a new session (any session the browser had ends), then home.
pub(crate) async fn submit(
    State(web): State<Web>,
    address: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    Form(c): Form<Credentials>,
) -> Response {
    if !same_origin(&web.config, &headers) {
        return forbidden(&web);
    }
    // What the form shows back is bounded like everything a user sends.
    let email: String = c.email.chars().take(domain::user::EMAIL_MAX).collect();
    if let Err(wait) = web
        .throttle
        .check(&email, address.map(|Extension(ConnectInfo(a))| a.ip()))
    {
        let problem = format!(
            "Too many attempts. Try again in {} seconds.",
            wait.as_secs().max(1)
        );
        return sign_in_page(
            &web,
            StatusCode::TOO_MANY_REQUESTS,
            Some(problem),
            &email,
            false,
            local_path(&c.next),
        );
    }
    match users::sign_in(&web.services, &email, &c.password).await {
        Ok(new) => {
            // Rotated at sign-in: whatever session this browser had is ended.
            if let Some(old) = session::secret(&headers) {
                let _ = users::sign_out(&web.services, &old).await;
            }
            see_other(local_path(&c.next), Some(session::set(&web, &new.secret)))
        }
        Err(ServiceError::Unauthorized) => sign_in_page(
            &web,
            StatusCode::UNAUTHORIZED,
            Some("That email and password do not match an active user.".into()),
            &email,
            false,
            local_path(&c.next),
        ),
        Err(e) => unavailable(&web, e),
    }
}

#[derive(Deserialize)]
pub(crate) struct Csrf {
    #[serde(default, rename = "_csrf")]
    csrf: String,
}

fn forbidden(web: &Web) -> Response {
    sign_in_page(
        web,
        StatusCode::FORBIDDEN,
        Some("That form did not come from this site's pages (or is too old); nothing was changed. Reload the page and try again.".into()),
        "",
        false,
        "/",
    )
}

/// The signed-in person behind an unsafe request that passed the forgery checks: our origin,
/// and the session's token in the form (or htmx's header), compared in constant time.
async fn checked(
    web: &Web,
    headers: &HeaderMap,
    form: &Csrf,
) -> Result<Option<(String, SignedIn)>, Response> {
    if !same_origin(&web.config, headers) {
        return Err(forbidden(web));
    }
    let current = session::current(web, headers)
        .await
        .map_err(|e| unavailable(web, e))?;
    let Some((secret, who)) = current else {
        return Ok(None);
    };
    let sent = headers
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or(&form.csrf);
    if bool::from(sent.as_bytes().ct_eq(who.csrf.as_bytes())) {
        Ok(Some((secret, who)))
    } else {
        Err(forbidden(web))
    }
}

/// `POST /app/sign-out`: ends this session.
pub(crate) async fn sign_out(
    State(web): State<Web>,
    headers: HeaderMap,
    Form(f): Form<Csrf>,
) -> Response {
    end(&web, &headers, &f, false).await
}

/// `POST /app/sign-out-everywhere`: ends every session of this person, on every device.
pub(crate) async fn sign_out_everywhere(
    State(web): State<Web>,
    headers: HeaderMap,
    Form(f): Form<Csrf>,
) -> Response {
    end(&web, &headers, &f, true).await
}

/// Ends the request's session (or, `everywhere`, every session of its person) once it passed
/// the forgery checks, clears the cookie and sends the browser to the sign-in page.
async fn end(web: &Web, headers: &HeaderMap, f: &Csrf, everywhere: bool) -> Response {
    let (secret, who) = match checked(web, headers, f).await {
        Ok(Some(found)) => found,
        Ok(None) => return see_other("/app/sign-in", Some(session::clear(web))),
        Err(refused) => return refused,
    };
    let ended = if everywhere {
        users::sign_out_everywhere(&web.services, who.user.account_id, who.user.id)
            .await
            .map(drop)
    } else {
        users::sign_out(&web.services, &secret).await
    };
    match ended {
        Ok(()) => see_other("/app/sign-in?signed-out=1", Some(session::clear(web))),
        Err(e) => unavailable(web, e),
    }
}
