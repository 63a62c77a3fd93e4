//! An account's branding (name, accent colour, logo) as stored.

use domain::{ObjectId, Timestamp};
use sqlx::Row;

use crate::{Conn, StoreError};

/// An account's branding; an empty name shows none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Branding {
    pub name: String,
    /// `#rrggbb`.
    pub color: String,
    /// The logo's blob key and media type.
    pub logo: Option<(String, String)>,
}

/// The account's branding, if it set one.
pub async fn get(conn: &mut Conn, account: ObjectId) -> Result<Option<Branding>, StoreError> {
    let row = sqlx::query(
        "SELECT name, color, logo_key, logo_type FROM account_branding WHERE account_id = $1",
    )
    .bind(account.to_string())
    .fetch_optional(conn)
    .await?;
    row.map(|r| {
        let key: Option<String> = r.try_get("logo_key")?;
        let kind: Option<String> = r.try_get("logo_type")?;
        Ok(Branding {
            name: r.try_get("name")?,
            color: r.try_get("color")?,
            logo: key.zip(kind),
        })
    })
    .transpose()
}

/// Stores the account's branding.
pub async fn put(conn: &mut Conn, account: ObjectId, b: &Branding) -> Result<(), StoreError> {
    let (key, kind) = b.logo.clone().unzip();
    sqlx::query(
        "INSERT INTO account_branding (account_id, name, color, logo_key, logo_type, updated_ms) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (account_id) DO UPDATE SET name = excluded.name, color = excluded.color, logo_key = excluded.logo_key, \
         logo_type = excluded.logo_type, updated_ms = excluded.updated_ms",
    )
    .bind(account.to_string())
    .bind(&b.name)
    .bind(&b.color)
    .bind(key)
    .bind(kind)
    .bind(Timestamp::now().millis())
    .execute(conn)
    .await?;
    Ok(())
}
