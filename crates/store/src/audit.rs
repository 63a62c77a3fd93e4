//! The audit log's rows: who did what to which object and when, per account.

use domain::account::Actor;
use domain::{ObjectId, Timestamp};
use sqlx::Row;

use crate::rows::id_of;
use crate::{Conn, Scope, StoreError};

/// One line of the audit log as listed: the actor's email when a user acted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    pub id: ObjectId,
    pub test: bool,
    /// `user`, `token`, `cli` or `job`.
    pub actor_kind: String,
    pub actor_id: Option<String>,
    /// The acting user's email (users only).
    pub actor_email: Option<String>,
    pub action: String,
    pub object: Option<String>,
    pub detail: String,
}

impl AuditEvent {
    /// When it happened (ids are time-ordered).
    pub fn at(&self) -> Timestamp {
        Timestamp::from_millis(self.id.millis())
    }
}

fn actor_parts(actor: Actor) -> (&'static str, Option<String>) {
    match actor {
        Actor::User { id, .. } => ("user", Some(id.to_string())),
        Actor::Token(id) => ("token", Some(id.to_string())),
        Actor::Cli => ("cli", None),
        Actor::Job => ("job", None),
    }
}

/// Records one event inside the caller's transaction (so it is kept exactly when what it
/// describes is).
pub async fn record(
    conn: &mut Conn,
    scope: Scope,
    actor: Actor,
    action: &str,
    object: Option<ObjectId>,
    detail: &str,
) -> Result<(), StoreError> {
    let (kind, id) = actor_parts(actor);
    sqlx::query(
        "INSERT INTO audit_events (id, account_id, test, actor_kind, actor_id, action, object_id, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(ObjectId::new().to_string())
    .bind(scope.account_id.to_string())
    .bind(i64::from(scope.test))
    .bind(kind)
    .bind(id)
    .bind(action.to_string())
    .bind(object.map(|o| o.to_string()))
    .bind(detail.chars().take(500).collect::<String>())
    .execute(conn)
    .await?;
    Ok(())
}

/// The account's events newest first (both modes), older than `before` when given: at most
/// `limit`, and whether more follow.
pub async fn list(
    conn: &mut Conn,
    account: ObjectId,
    before: Option<ObjectId>,
    limit: u32,
) -> Result<(Vec<AuditEvent>, bool), StoreError> {
    let rows = sqlx::query(
        "SELECT a.id, a.test, a.actor_kind, a.actor_id, u.email AS actor_email, a.action, a.object_id, a.detail \
         FROM audit_events a LEFT JOIN users u ON a.actor_kind = 'user' AND u.id = a.actor_id \
         WHERE a.account_id = $1 AND a.id < $2 ORDER BY a.id DESC LIMIT $3",
    )
    .bind(account.to_string())
    .bind(crate::page::before_bound(before))
    .bind(i64::from(limit) + 1)
    .fetch_all(conn)
    .await?;
    let more = rows.len() > limit as usize;
    let mut out = Vec::with_capacity(rows.len().min(limit as usize));
    for row in rows.iter().take(limit as usize) {
        out.push(AuditEvent {
            id: id_of(row.try_get("id")?)?,
            test: row.try_get::<i64, _>("test")? != 0,
            actor_kind: row.try_get("actor_kind")?,
            actor_id: row.try_get("actor_id")?,
            actor_email: row.try_get("actor_email")?,
            action: row.try_get("action")?,
            object: row.try_get("object_id")?,
            detail: row.try_get("detail")?,
        });
    }
    Ok((out, more))
}
