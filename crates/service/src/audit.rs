//! The audit log: who did what, and when, per account. Use cases record their event in their
//! own transaction ([`record`]), so the log holds exactly what happened.

use domain::account::Actor;
use domain::ObjectId;
pub use store::audit::AuditEvent;
use store::{Conn, Scope, StoreError};

use crate::{Principal, ServiceError, Services};

/// Records an event of `who` inside the caller's transaction.
pub(crate) async fn record(
    conn: &mut Conn,
    who: &Principal,
    action: &str,
    object: Option<ObjectId>,
    detail: &str,
) -> Result<(), StoreError> {
    store::audit::record(conn, crate::scope(who), who.actor, action, object, detail).await
}

/// Records an event of a user acting outside any mode (signing in, signing out everywhere).
pub(crate) async fn record_user(
    conn: &mut Conn,
    account: ObjectId,
    actor: Actor,
    action: &str,
    detail: &str,
) -> Result<(), StoreError> {
    let scope = Scope {
        account_id: account,
        test: false,
    };
    store::audit::record(conn, scope, actor, action, None, detail).await
}

/// The principal's account's events, newest first (both modes), and whether more follow.
pub async fn list(
    s: &Services,
    who: &Principal,
    before: Option<ObjectId>,
    limit: u32,
) -> Result<(Vec<AuditEvent>, bool), ServiceError> {
    Ok(store::audit::list(&mut *s.store.conn().await?, who.account_id, before, limit).await?)
}
