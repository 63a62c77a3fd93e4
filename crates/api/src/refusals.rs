//! The API's refusals of authenticated calls, kept for the Developers page's "recent errors"
//! ([`service::api_errors`]): the token's extractor names the caller on the request, the error
//! names its summary on the response, and this layer joins the two once the answer is made.
//! Calls without a valid token are nobody's and are not kept.

use std::sync::{Arc, OnceLock};

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use service::{Principal, Services};

/// Who made the call, once the token is checked.
#[derive(Clone, Default)]
pub(crate) struct Caller(Arc<OnceLock<Principal>>);

impl Caller {
    /// Names the caller (the first name given stays).
    pub(crate) fn set(&self, p: &Principal) {
        let _ = self.0.set(p.clone());
    }
}

/// An error answer's one-line summary (set by [`crate::error::ApiError`]).
#[derive(Clone)]
pub(crate) struct Refused(pub String);

/// Keeps the refusal of an authenticated call.
pub(crate) async fn layer(
    State(services): State<Services>,
    mut req: Request,
    next: Next,
) -> Response {
    let caller = Caller::default();
    req.extensions_mut().insert(caller.clone());
    let (method, uri) = (req.method().clone(), req.uri().clone());
    let res = next.run(req).await;
    let status = res.status();
    if status.is_client_error() || status.is_server_error() {
        if let (Some(p), Some(r)) = (caller.0.get(), res.extensions().get::<Refused>()) {
            service::api_errors::note(
                &services,
                service::scope(p),
                method.as_str(),
                uri.path(),
                status.as_u16(),
                &r.0,
            );
        }
    }
    res
}
