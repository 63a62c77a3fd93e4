//! Accounts and their API tokens. Tokens are stored only as SHA-256 hashes: they carry 160 random
//! bits, so a fast hash is enough (no password stretching needed) and lookups stay one index probe.

use domain::account::{Account, Actor, Mode};
use domain::{ObjectId, Timestamp};
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::{Conn, StoreError};

/// A token as listed (never the secret itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    pub id: ObjectId,
    pub account_name: String,
    pub mode: Mode,
    /// The first characters of the token, enough to recognise it.
    pub prefix: String,
    pub created: Timestamp,
    pub revoked: Option<Timestamp>,
}

/// The account, mode and actor a use case runs for (a token, a signed-in user, the CLI, a job).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub account_id: ObjectId,
    pub account_name: String,
    pub mode: Mode,
    /// Who acts.
    pub actor: Actor,
    /// The account's default `label_file_type`, read with the token (purchases need it).
    pub label_file_type: String,
}

/// SHA-256 of a token, hex-encoded: the only form in which tokens are stored.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn parse_id(s: &str) -> Result<ObjectId, StoreError> {
    ObjectId::parse(s).ok_or_else(|| StoreError::Corrupt(format!("bad id {s:?}")))
}

fn parse_mode(s: &str) -> Result<Mode, StoreError> {
    s.parse().map_err(StoreError::Corrupt)
}

/// Creates an account; a taken name is a [`StoreError::Conflict`].
pub async fn create_account(conn: &mut Conn, name: &str) -> Result<Account, StoreError> {
    let account = Account {
        id: ObjectId::new(),
        name: name.to_string(),
        created: Timestamp::now(),
    };
    sqlx::query("INSERT INTO accounts (id, name, created_ms) VALUES ($1, $2, $3)")
        .bind(account.id.to_string())
        .bind(&account.name)
        .bind(account.created.millis())
        .execute(conn)
        .await
        .map_err(|e| match StoreError::from(e) {
            StoreError::Conflict(_) => {
                StoreError::Conflict(format!("an account named {name:?} already exists"))
            }
            other => other,
        })?;
    Ok(account)
}

/// Finds an account by name.
pub async fn find_account(conn: &mut Conn, name: &str) -> Result<Account, StoreError> {
    let row = sqlx::query("SELECT id, name, created_ms FROM accounts WHERE name = $1")
        .bind(name)
        .fetch_one(conn)
        .await?;
    Ok(Account {
        id: parse_id(row.try_get("id")?)?,
        name: row.try_get("name")?,
        created: Timestamp::from_millis(row.try_get("created_ms")?),
    })
}

/// Number of accounts (0 on a fresh database).
pub async fn count_accounts(conn: &mut Conn) -> Result<i64, StoreError> {
    Ok(sqlx::query("SELECT COUNT(*) AS n FROM accounts")
        .fetch_one(conn)
        .await?
        .try_get("n")?)
}

/// Issues a new token for the account and returns it in clear, the only time it is ever shown.
/// Tokens look like Shippo's (`shippo_test_…`/`shippo_live_…`): the official SDKs add the
/// `ShippoToken` scheme only to that prefix.
pub async fn create_token(
    conn: &mut Conn,
    account: &Account,
    mode: Mode,
) -> Result<(TokenInfo, String), StoreError> {
    let mut secret = [0u8; 20];
    rand::thread_rng().fill_bytes(&mut secret);
    let token = format!("shippo_{}_{}", mode.as_str(), hex::encode(secret));
    let info = TokenInfo {
        id: ObjectId::new(),
        account_name: account.name.clone(),
        mode,
        prefix: token[..20].to_string(),
        created: Timestamp::now(),
        revoked: None,
    };
    sqlx::query(
        "INSERT INTO api_tokens (id, account_id, mode, token_hash, prefix, created_ms) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(info.id.to_string())
    .bind(account.id.to_string())
    .bind(mode.as_str())
    .bind(hash_token(&token))
    .bind(&info.prefix)
    .bind(info.created.millis())
    .execute(conn)
    .await?;
    Ok((info, token))
}

/// Lists an account's tokens, newest first.
pub async fn list_tokens(conn: &mut Conn, account: &Account) -> Result<Vec<TokenInfo>, StoreError> {
    let rows = sqlx::query(
        "SELECT id, mode, prefix, created_ms, revoked_ms FROM api_tokens WHERE account_id = $1 ORDER BY id DESC",
    )
    .bind(account.id.to_string())
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(TokenInfo {
                id: parse_id(row.try_get("id")?)?,
                account_name: account.name.clone(),
                mode: parse_mode(row.try_get("mode")?)?,
                prefix: row.try_get("prefix")?,
                created: Timestamp::from_millis(row.try_get("created_ms")?),
                revoked: row
                    .try_get::<Option<i64>, _>("revoked_ms")?
                    .map(Timestamp::from_millis),
            })
        })
        .collect()
}

/// Revokes a token of the account, by its id or by the token itself. Revoking twice is a no-op
/// that still succeeds; an unknown token is [`StoreError::NotFound`].
pub async fn revoke_token(
    conn: &mut Conn,
    account: &Account,
    id_or_token: &str,
) -> Result<(), StoreError> {
    let result = sqlx::query(
        "UPDATE api_tokens SET revoked_ms = COALESCE(revoked_ms, $1) WHERE account_id = $2 AND (id = $3 OR token_hash = $4)",
    )
    .bind(Timestamp::now().millis())
    .bind(account.id.to_string())
    .bind(id_or_token.to_ascii_lowercase())
    .bind(hash_token(id_or_token))
    .execute(conn)
    .await?;
    if result.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// The account a live (unrevoked) token belongs to, or [`StoreError::NotFound`].
pub async fn authenticate(conn: &mut Conn, token: &str) -> Result<Principal, StoreError> {
    let row = sqlx::query(
        "SELECT t.id AS token_id, t.mode, a.id AS account_id, a.name, a.label_file_type FROM api_tokens t \
         JOIN accounts a ON a.id = t.account_id WHERE t.token_hash = $1 AND t.revoked_ms IS NULL",
    )
    .bind(hash_token(token))
    .fetch_one(conn)
    .await?;
    Ok(Principal {
        account_id: parse_id(row.try_get("account_id")?)?,
        account_name: row.try_get("name")?,
        mode: parse_mode(row.try_get("mode")?)?,
        actor: Actor::Token(parse_id(row.try_get("token_id")?)?),
        label_file_type: row.try_get("label_file_type")?,
    })
}

/// The account's default `label_file_type` (used when a purchase names none).
pub async fn label_file_type(conn: &mut Conn, account: ObjectId) -> Result<String, StoreError> {
    Ok(
        sqlx::query("SELECT label_file_type FROM accounts WHERE id = $1")
            .bind(account.to_string())
            .fetch_one(conn)
            .await?
            .try_get("label_file_type")?,
    )
}

/// Sets the account's default `label_file_type` (the caller checks the name).
pub async fn set_label_file_type(
    conn: &mut Conn,
    account: ObjectId,
    format: &str,
) -> Result<(), StoreError> {
    let done = sqlx::query("UPDATE accounts SET label_file_type = $1 WHERE id = $2")
        .bind(format.to_string())
        .bind(account.to_string())
        .execute(conn)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// An account's name (its `object_owner`), by id.
pub async fn name_of(conn: &mut Conn, account: ObjectId) -> Result<String, StoreError> {
    Ok(sqlx::query("SELECT name FROM accounts WHERE id = $1")
        .bind(account.to_string())
        .fetch_one(conn)
        .await?
        .try_get("name")?)
}
