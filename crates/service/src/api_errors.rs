//! The API's recent refusals per account and mode, for the Developers page: what was asked
//! (method and path, never the query, body or credentials) and what was answered (status and
//! message). Written off the request's path by a few background writes at a time; when more
//! refusals arrive than that at once the extra ones are not kept (a client failing in a loop
//! is shown by the ones that are). Each account and mode keeps its newest [`KEEP`].

use domain::ObjectId;
use store::views::ApiError;
use store::Scope;
use tokio::sync::Semaphore;

use crate::{scope, Principal, ServiceError, Services};

/// Refusals kept per account and mode.
pub const KEEP: i64 = 200;
/// Longest path and message kept.
const TEXT_MAX: usize = 300;
/// Refusals written at once; more are dropped, never queued.
static WRITING: Semaphore = Semaphore::const_new(4);

/// A refusal as the Developers page lists it.
pub type Refusal = ApiError;

/// Keeps a refusal of `scope`'s call in the background (or drops it when the writers are busy).
pub fn note(s: &Services, scope: Scope, method: &str, path: &str, status: u16, message: &str) {
    let Ok(permit) = WRITING.try_acquire() else {
        return;
    };
    let e = ApiError {
        id: ObjectId::new(),
        method: method.chars().take(10).collect(),
        path: path.chars().take(TEXT_MAX).collect(),
        status: i64::from(status),
        message: message.chars().take(TEXT_MAX).collect(),
    };
    let s = s.clone();
    tokio::spawn(async move {
        let _permit = permit;
        let kept = s
            .store
            .write(move |conn| {
                Box::pin(async move {
                    store::views::record_errors(conn, scope, std::slice::from_ref(&e), KEEP).await
                })
            })
            .await;
        if let Err(e) = kept {
            tracing::debug!(error = %e, "an API refusal was not kept");
        }
    });
}

/// The principal's newest refusals (its account and mode), newest first.
pub async fn recent(
    s: &Services,
    who: &Principal,
    limit: i64,
) -> Result<Vec<Refusal>, ServiceError> {
    Ok(
        store::views::recent_errors(&mut *s.store.conn().await?, scope(who), limit.min(KEEP))
            .await?,
    )
}
