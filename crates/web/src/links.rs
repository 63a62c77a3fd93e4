//! The signed-out pages of links sent by email: an invitation or a reset opens "set your
//! password" (`/app/welcome?token=`), which signs the person in; "forgot your password"
//! (`/app/forgot`) asks for a reset link without saying whether the email has an account.

use std::net::SocketAddr;

use askama::Template;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::{Extension, Form};
use serde::Deserialize;
use service::user_links::{self, Purpose, ResetAnswer};
use service::ServiceError;

use crate::assets::Assets;
use crate::{page, same_origin, see_other, session, Web};

#[derive(Template)]
#[template(path = "welcome.html")]
struct WelcomePage<'a> {
    assets: &'a Assets,
    csrf: Option<&'a str>,
    /// `None`: the link does not work (used, expired, unknown).
    who: Option<(String, String, bool)>,
    token: &'a str,
    problem: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct Token {
    #[serde(default)]
    token: String,
    #[serde(default)]
    password: String,
}

async fn welcome_page(
    web: &Web,
    status: StatusCode,
    token: &str,
    problem: Option<String>,
) -> Response {
    let who = match user_links::open(&web.services, token).await {
        Ok(o) => Some((o.user.email, o.account_name, o.purpose == Purpose::Invite)),
        Err(ServiceError::NotFound) => None,
        Err(e) => return crate::ctx::unavailable(web, e),
    };
    let status = if who.is_none() {
        StatusCode::NOT_FOUND
    } else {
        status
    };
    page(
        status,
        WelcomePage {
            assets: &web.assets,
            csrf: None,
            who,
            token,
            problem,
        }
        .render(),
    )
}

/// `GET /app/welcome?token=`: set your password (or why the link no longer works).
pub(crate) async fn welcome(State(web): State<Web>, Query(t): Query<Token>) -> Response {
    let token: String = t.token.chars().take(200).collect();
    welcome_page(&web, StatusCode::OK, &token, None).await
}

/// `POST /app/welcome`: the password set, the link spent, signed in (every other session of
/// the person ends), then home.
pub(crate) async fn set_password(
    State(web): State<Web>,
    headers: HeaderMap,
    Form(t): Form<Token>,
) -> Response {
    let token: String = t.token.chars().take(200).collect();
    if !same_origin(&web.config, &headers) {
        return welcome_page(
            &web,
            StatusCode::FORBIDDEN,
            &token,
            Some("That form did not come from this site's pages; nothing was changed.".into()),
        )
        .await;
    }
    match user_links::set_password(&web.services, &token, &t.password).await {
        Ok(new) => {
            if let Some(old) = session::secret(&headers) {
                let _ = service::users::sign_out(&web.services, &old).await;
            }
            see_other("/", Some(session::set(&web, &new.secret)))
        }
        Err(ServiceError::Validation(v)) => {
            welcome_page(
                &web,
                StatusCode::UNPROCESSABLE_ENTITY,
                &token,
                Some(crate::ctx::messages(&v)),
            )
            .await
        }
        Err(ServiceError::NotFound) => {
            welcome_page(&web, StatusCode::NOT_FOUND, &token, None).await
        }
        Err(e) => crate::ctx::unavailable(&web, e),
    }
}

#[derive(Template)]
#[template(path = "forgot.html")]
struct ForgotPage<'a> {
    assets: &'a Assets,
    csrf: Option<&'a str>,
    answer: Option<&'static str>,
    problem: Option<String>,
}

fn forgot_page(
    web: &Web,
    status: StatusCode,
    answer: Option<&'static str>,
    problem: Option<String>,
) -> Response {
    page(
        status,
        ForgotPage {
            assets: &web.assets,
            csrf: None,
            answer,
            problem,
        }
        .render(),
    )
}

/// `GET /app/forgot`.
pub(crate) async fn forgot(State(web): State<Web>) -> Response {
    forgot_page(&web, StatusCode::OK, None, None)
}

#[derive(Deserialize)]
pub(crate) struct Email {
    #[serde(default)]
    email: String,
}

/// `POST /app/forgot`: a reset link is emailed if the email names a user; the answer is the
/// same either way. Throttled with the sign-in attempts (per email and client address).
pub(crate) async fn send_reset(
    State(web): State<Web>,
    address: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    Form(f): Form<Email>,
) -> Response {
    if !same_origin(&web.config, &headers) {
        return forgot_page(
            &web,
            StatusCode::FORBIDDEN,
            None,
            Some("That form did not come from this site's pages; nothing was sent.".into()),
        );
    }
    let email: String = f.email.chars().take(domain::user::EMAIL_MAX).collect();
    if let Err(wait) = web
        .throttle
        .check(&email, address.map(|Extension(ConnectInfo(a))| a.ip()))
    {
        let problem = format!(
            "Too many attempts. Try again in {} seconds.",
            wait.as_secs().max(1)
        );
        return forgot_page(&web, StatusCode::TOO_MANY_REQUESTS, None, Some(problem));
    }
    let base = crate::base_url(&web.config, &headers);
    match user_links::request_reset(&web.services, &email, &base).await {
        Ok(ResetAnswer::OnItsWay) => forgot_page(
            &web,
            StatusCode::OK,
            Some("If that email belongs to a user, a link to set a new password is on its way. It works once, for an hour."),
            None,
        ),
        Ok(ResetAnswer::NoMailServer) => forgot_page(
            &web,
            StatusCode::OK,
            Some("This server sends no email. Ask an owner or admin of your account to reset your password (consign user reset-password)."),
            None,
        ),
        Err(e) => crate::ctx::unavailable(&web, e),
    }
}
