//! Token authentication. Accepted forms of the `Authorization` header: `ShippoToken <token>`
//! (what Shippo's SDKs send), `Bearer <token>`, `Token <token>`, and the bare token.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use service::accounts;
use service::Principal;

use crate::error::ApiError;
use crate::AppState;

/// The authenticated caller.
pub struct Auth(pub Principal);

/// The token in an `Authorization` header value, without its scheme.
pub fn token_from_header(value: &str) -> Option<&str> {
    const SCHEMES: [&str; 3] = ["shippotoken", "bearer", "token"];
    let value = value.trim();
    let token = match value.split_once(char::is_whitespace) {
        Some((scheme, rest)) if SCHEMES.contains(&scheme.to_ascii_lowercase().as_str()) => {
            rest.trim()
        }
        Some(_) => return None,
        None if SCHEMES.contains(&value.to_ascii_lowercase().as_str()) => return None,
        None => value,
    };
    (!token.is_empty()).then_some(token)
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let p = principal(state, &parts.headers).await?;
        // Its refusals are kept for the Developers page (crate::refusals).
        if let Some(caller) = parts.extensions.get::<crate::refusals::Caller>() {
            caller.set(&p);
        }
        Ok(Auth(p))
    }
}

/// The principal of a request's `Authorization` header (401 when missing or not valid).
pub async fn principal(
    state: &AppState,
    headers: &axum::http::HeaderMap,
) -> Result<Principal, ApiError> {
    {
        let header = headers
            .get(AUTHORIZATION)
            .ok_or_else(|| ApiError::unauthorized("Authentication credentials were not provided: send Authorization: ShippoToken <API_TOKEN>."))?;
        let token = header
            .to_str()
            .ok()
            .and_then(token_from_header)
            .ok_or_else(|| {
                ApiError::unauthorized(
                    "Malformed Authorization header: send ShippoToken <API_TOKEN>.",
                )
            })?;
        if token.len() > 200 {
            return Err(ApiError::unauthorized("Invalid or revoked API token."));
        }
        Ok(accounts::authenticate(&state.services, token).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::token_from_header;

    #[test]
    fn accepts_every_documented_form() {
        assert_eq!(
            token_from_header("ShippoToken shippo_test_abc"),
            Some("shippo_test_abc")
        );
        assert_eq!(
            token_from_header("shippotoken  shippo_test_abc "),
            Some("shippo_test_abc")
        );
        assert_eq!(
            token_from_header("Bearer shippo_test_abc"),
            Some("shippo_test_abc")
        );
        assert_eq!(
            token_from_header("shippo_test_abc"),
            Some("shippo_test_abc")
        );
        assert_eq!(token_from_header("Basic dXNlcjpwYXNz"), None);
        assert_eq!(token_from_header("ShippoToken "), None);
        assert_eq!(token_from_header(""), None);
    }
}
