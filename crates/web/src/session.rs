//! The session cookie: `consign_session`, `HttpOnly`, `SameSite=Lax`, `Path=/`, `Secure` when
//! the public URL is https. Its value is the session's random id; the database keeps only its
//! hash (service::users).

use axum::http::header::COOKIE;
use axum::http::HeaderMap;
use service::users::{self, SignedIn};
use service::ServiceError;

use crate::Web;

/// The cookie's name.
pub(crate) const COOKIE_NAME: &str = "consign_session";

/// The session id the request's cookie carries, if any.
pub(crate) fn secret(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE_NAME)
        .map(|(_, value)| value.to_string())
}

/// Who the request's session names: `None` when signed out (or the session ended).
pub(crate) async fn current(
    web: &Web,
    headers: &HeaderMap,
) -> Result<Option<(String, SignedIn)>, ServiceError> {
    let Some(secret) = secret(headers) else {
        return Ok(None);
    };
    match users::session(&web.services, &secret).await {
        Ok(who) => Ok(Some((secret, who))),
        Err(ServiceError::Unauthorized) => Ok(None),
        Err(e) => Err(e),
    }
}

fn secure(web: &Web) -> &'static str {
    match &web.config.public_url {
        Some(url) if url.starts_with("https://") => "; Secure",
        _ => "",
    }
}

/// The `Set-Cookie` value that opens a session.
pub(crate) fn set(web: &Web, secret: &str) -> String {
    format!(
        "{COOKIE_NAME}={secret}; HttpOnly; SameSite=Lax; Path=/; Max-Age={}{}",
        users::SESSION_ABSOLUTE.as_secs(),
        secure(web)
    )
}

/// The `Set-Cookie` value that removes it.
pub(crate) fn clear(web: &Web) -> String {
    format!(
        "{COOKIE_NAME}=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0{}",
        secure(web)
    )
}
