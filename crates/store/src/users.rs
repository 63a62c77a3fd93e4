//! Users of the web app and their sessions. Passwords arrive here already hashed (Argon2id,
//! by the service); session ids are kept as SHA-256 only, like API tokens.

use domain::user::{Role, User};
use domain::{ObjectId, Timestamp};
use sqlx::Row;

use crate::accounts::hash_token;
use crate::rows::{corrupt, id_of};
use crate::{Conn, StoreError};

const COLUMNS: &str = "id, account_id, email, name, role, created_ms, updated_ms, disabled_ms";

fn from_row(row: &sqlx::any::AnyRow) -> Result<User, StoreError> {
    let role: String = row.try_get("role")?;
    Ok(User {
        id: id_of(row.try_get("id")?)?,
        account_id: id_of(row.try_get("account_id")?)?,
        email: row.try_get("email")?,
        name: row.try_get("name")?,
        role: Role::parse(&role).ok_or_else(|| corrupt("user role", &role))?,
        created: Timestamp::from_millis(row.try_get("created_ms")?),
        updated: Timestamp::from_millis(row.try_get("updated_ms")?),
        disabled: row
            .try_get::<Option<i64>, _>("disabled_ms")?
            .map(Timestamp::from_millis),
    })
}

/// Stores a new user; `Conflict` when the email is taken.
pub async fn insert(conn: &mut Conn, user: &User, password_hash: &str) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO users (id, account_id, email, name, role, password_hash, created_ms, updated_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(user.id.to_string())
    .bind(user.account_id.to_string())
    .bind(user.email.clone())
    .bind(user.name.clone())
    .bind(user.role.as_str())
    .bind(password_hash.to_string())
    .bind(user.created.millis())
    .bind(user.updated.millis())
    .execute(conn)
    .await?;
    Ok(())
}

/// The user with this (normalised) email and their password hash.
pub async fn by_email(conn: &mut Conn, email: &str) -> Result<(User, String), StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS}, password_hash FROM users WHERE email = $1"
    ))
    .bind(email.to_string())
    .fetch_one(conn)
    .await?;
    Ok((from_row(&row)?, row.try_get("password_hash")?))
}

/// A user of `account`.
pub async fn get(conn: &mut Conn, account: ObjectId, id: ObjectId) -> Result<User, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM users WHERE id = $1 AND account_id = $2"
    ))
    .bind(id.to_string())
    .bind(account.to_string())
    .fetch_one(conn)
    .await?;
    from_row(&row)
}

/// The users of `account`, oldest first.
pub async fn list(conn: &mut Conn, account: ObjectId) -> Result<Vec<User>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM users WHERE account_id = $1 ORDER BY id"
    ))
    .bind(account.to_string())
    .fetch_all(conn)
    .await?;
    rows.iter().map(from_row).collect()
}

/// Sets a user's password hash (and `updated`).
pub async fn set_password(
    conn: &mut Conn,
    id: ObjectId,
    password_hash: &str,
) -> Result<(), StoreError> {
    let done = sqlx::query("UPDATE users SET password_hash = $1, updated_ms = $2 WHERE id = $3")
        .bind(password_hash.to_string())
        .bind(Timestamp::now().millis())
        .bind(id.to_string())
        .execute(conn)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// A session as its cookie finds it.
#[derive(Debug, Clone)]
pub struct SessionRow {
    pub user: User,
    /// The user's account's name and default label file type (read with the session, so a
    /// page needs no other query to know whom it acts for).
    pub account_name: String,
    pub label_file_type: String,
    pub csrf: String,
    pub created: Timestamp,
    pub last_seen: Timestamp,
    pub expires: Timestamp,
}

/// Stores a new session for `user`, found later by `secret` (kept hashed).
pub async fn insert_session(
    conn: &mut Conn,
    secret: &str,
    user: ObjectId,
    csrf: &str,
    now: Timestamp,
    expires: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO sessions (id_hash, user_id, csrf, created_ms, last_seen_ms, expires_ms) VALUES ($1, $2, $3, $4, $4, $5)",
    )
    .bind(hash_token(secret))
    .bind(user.to_string())
    .bind(csrf.to_string())
    .bind(now.millis())
    .bind(expires.millis())
    .execute(conn)
    .await?;
    Ok(())
}

/// The session `secret` opens, with its user (whatever their state; the service judges).
pub async fn session(conn: &mut Conn, secret: &str) -> Result<SessionRow, StoreError> {
    let row = sqlx::query(
        "SELECT u.id, u.account_id, u.email, u.name, u.role, u.created_ms, u.updated_ms, u.disabled_ms, \
         s.csrf, s.created_ms AS session_created_ms, s.last_seen_ms, s.expires_ms, \
         a.name AS account_name, a.label_file_type \
         FROM sessions s JOIN users u ON u.id = s.user_id JOIN accounts a ON a.id = u.account_id \
         WHERE s.id_hash = $1",
    )
    .bind(hash_token(secret))
    .fetch_one(conn)
    .await?;
    Ok(SessionRow {
        user: from_row(&row)?,
        account_name: row.try_get("account_name")?,
        label_file_type: row.try_get("label_file_type")?,
        csrf: row.try_get("csrf")?,
        created: Timestamp::from_millis(row.try_get("session_created_ms")?),
        last_seen: Timestamp::from_millis(row.try_get("last_seen_ms")?),
        expires: Timestamp::from_millis(row.try_get("expires_ms")?),
    })
}

/// Records activity on a session.
pub async fn touch_session(
    conn: &mut Conn,
    secret: &str,
    now: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE sessions SET last_seen_ms = $1 WHERE id_hash = $2")
        .bind(now.millis())
        .bind(hash_token(secret))
        .execute(conn)
        .await?;
    Ok(())
}

/// Ends one session (no error when it is already gone).
pub async fn delete_session(conn: &mut Conn, secret: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
        .bind(hash_token(secret))
        .execute(conn)
        .await?;
    Ok(())
}

/// Ends every session of a user; answers how many there were.
pub async fn delete_sessions_of(conn: &mut Conn, user: ObjectId) -> Result<u64, StoreError> {
    let done = sqlx::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(user.to_string())
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}
