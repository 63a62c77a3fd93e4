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

/// A link that sets a user's password (an invitation or a reset).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserLink {
    pub id: ObjectId,
    pub user_id: ObjectId,
    /// `invite` or `reset`.
    pub purpose: String,
    /// The token sealed for the job that emails it (gone once sent).
    pub token_sealed: Option<String>,
    pub base_url: String,
    pub created: Timestamp,
    pub expires: Timestamp,
    pub used: Option<Timestamp>,
    pub sent: Option<Timestamp>,
    pub error: Option<String>,
}

const LINK_COLUMNS: &str =
    "id, user_id, purpose, token_sealed, base_url, created_ms, expires_ms, used_ms, sent_ms, error";

fn link_from_row(row: &sqlx::any::AnyRow) -> Result<UserLink, StoreError> {
    let opt_ts = |c: &str| -> Result<Option<Timestamp>, StoreError> {
        Ok(row
            .try_get::<Option<i64>, _>(c)?
            .map(Timestamp::from_millis))
    };
    Ok(UserLink {
        id: id_of(row.try_get("id")?)?,
        user_id: id_of(row.try_get("user_id")?)?,
        purpose: row.try_get("purpose")?,
        token_sealed: row.try_get("token_sealed")?,
        base_url: row.try_get("base_url")?,
        created: Timestamp::from_millis(row.try_get("created_ms")?),
        expires: Timestamp::from_millis(row.try_get("expires_ms")?),
        used: opt_ts("used_ms")?,
        sent: opt_ts("sent_ms")?,
        error: row.try_get("error")?,
    })
}

/// Stores a link found later by `token` (kept hashed); the user's earlier unused links of the
/// same purpose stop working.
pub async fn insert_link(conn: &mut Conn, link: &UserLink, token: &str) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE user_links SET expires_ms = $1 WHERE user_id = $2 AND purpose = $3 AND used_ms IS NULL AND expires_ms > $1",
    )
    .bind(link.created.millis())
    .bind(link.user_id.to_string())
    .bind(link.purpose.clone())
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO user_links (id, user_id, purpose, token_hash, token_sealed, base_url, created_ms, expires_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(link.id.to_string())
    .bind(link.user_id.to_string())
    .bind(link.purpose.clone())
    .bind(hash_token(token))
    .bind(link.token_sealed.clone())
    .bind(link.base_url.clone())
    .bind(link.created.millis())
    .bind(link.expires.millis())
    .execute(conn)
    .await?;
    Ok(())
}

/// The link `token` opens, with its user (whatever their states; the service judges).
pub async fn link_by_token(conn: &mut Conn, token: &str) -> Result<(UserLink, User), StoreError> {
    link_where(conn, "token_hash", hash_token(token)).await
}

/// A link by id, with its user.
pub async fn link(conn: &mut Conn, id: ObjectId) -> Result<(UserLink, User), StoreError> {
    link_where(conn, "id", id.to_string()).await
}

/// The link whose `column` (a unique one) is `value`, with its user.
async fn link_where(
    conn: &mut Conn,
    column: &str,
    value: String,
) -> Result<(UserLink, User), StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {LINK_COLUMNS} FROM user_links WHERE {column} = $1"
    ))
    .bind(value)
    .fetch_one(&mut *conn)
    .await?;
    let link = link_from_row(&row)?;
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM users WHERE id = $1"))
        .bind(link.user_id.to_string())
        .fetch_one(conn)
        .await?;
    Ok((link, from_row(&row)?))
}

/// Marks a link used, once: false when it was used (or had expired) already.
pub async fn use_link(conn: &mut Conn, id: ObjectId, now: Timestamp) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE user_links SET used_ms = $1, token_sealed = NULL WHERE id = $2 AND used_ms IS NULL AND expires_ms > $1",
    )
    .bind(now.millis())
    .bind(id.to_string())
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Records how a link's email went: sent (`error` none) or not; the sealed token goes either
/// way.
pub async fn settle_link(
    conn: &mut Conn,
    id: ObjectId,
    sent: Option<Timestamp>,
    error: Option<&str>,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE user_links SET sent_ms = $1, error = $2, token_sealed = NULL WHERE id = $3",
    )
    .bind(sent.map(|t| t.millis()))
    .bind(error.map(str::to_string))
    .bind(id.to_string())
    .execute(conn)
    .await?;
    Ok(())
}
