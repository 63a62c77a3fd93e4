//! Carrier-account rows and their rate-card versions. `parameters` arrives here already
//! encrypted; this module never sees credentials in clear.

use domain::{ObjectId, Timestamp};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::{Conn, Page, PageRequest, StoreError};

/// A stored carrier account (`parameters_sealed` is the encrypted JSON object).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CarrierAccountRow {
    pub id: ObjectId,
    pub created: Timestamp,
    pub updated: Timestamp,
    pub carrier: String,
    pub carrier_account_id: String,
    pub test: bool,
    pub active: bool,
    pub metadata: String,
    pub parameters_sealed: String,
}

pub use domain::carrier_account::CarrierAccountFilter as Filter;

const COLUMNS: &str =
    "id, created_ms, updated_ms, carrier, carrier_account_id, test, active, metadata, parameters";

fn from_row(row: &AnyRow) -> Result<CarrierAccountRow, StoreError> {
    let id: String = row.try_get("id")?;
    Ok(CarrierAccountRow {
        id: ObjectId::parse(&id)
            .ok_or_else(|| StoreError::Corrupt(format!("carrier account id {id:?}")))?,
        created: Timestamp::from_millis(row.try_get("created_ms")?),
        updated: Timestamp::from_millis(row.try_get("updated_ms")?),
        carrier: row.try_get("carrier")?,
        carrier_account_id: row.try_get("carrier_account_id")?,
        test: row.try_get::<i64, _>("test")? != 0,
        active: row.try_get::<i64, _>("active")? != 0,
        metadata: row.try_get("metadata")?,
        parameters_sealed: row.try_get("parameters")?,
    })
}

fn conflict(e: sqlx::Error, r: &CarrierAccountRow) -> StoreError {
    match StoreError::from(e) {
        StoreError::Conflict(_) => StoreError::Conflict(format!(
            "a {} carrier account with account_id {:?} already exists",
            r.carrier, r.carrier_account_id
        )),
        other => other,
    }
}

/// Stores a new carrier account of `owner`.
pub async fn insert(
    conn: &mut Conn,
    owner: ObjectId,
    r: &CarrierAccountRow,
) -> Result<(), StoreError> {
    sqlx::query(&format!("INSERT INTO carrier_accounts (account_id, {COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"))
        .bind(owner.to_string())
        .bind(r.id.to_string())
        .bind(r.created.millis())
        .bind(r.updated.millis())
        .bind(&r.carrier)
        .bind(&r.carrier_account_id)
        .bind(i64::from(r.test))
        .bind(i64::from(r.active))
        .bind(&r.metadata)
        .bind(&r.parameters_sealed)
        .execute(conn)
        .await
        .map_err(|e| conflict(e, r))?;
    Ok(())
}

/// Replaces a carrier account's mutable fields.
pub async fn update(
    conn: &mut Conn,
    owner: ObjectId,
    r: &CarrierAccountRow,
) -> Result<(), StoreError> {
    let done = sqlx::query(
        "UPDATE carrier_accounts SET updated_ms = $1, carrier_account_id = $2, test = $3, active = $4, metadata = $5, parameters = $6 \
         WHERE id = $7 AND account_id = $8",
    )
    .bind(r.updated.millis())
    .bind(&r.carrier_account_id)
    .bind(i64::from(r.test))
    .bind(i64::from(r.active))
    .bind(&r.metadata)
    .bind(&r.parameters_sealed)
    .bind(r.id.to_string())
    .bind(owner.to_string())
    .execute(conn)
    .await
    .map_err(|e| conflict(e, r))?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// One of `owner`'s carrier accounts.
pub async fn get(
    conn: &mut Conn,
    owner: ObjectId,
    id: ObjectId,
) -> Result<CarrierAccountRow, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM carrier_accounts WHERE id = $1 AND account_id = $2"
    ))
    .bind(id.to_string())
    .bind(owner.to_string())
    .fetch_one(conn)
    .await?;
    from_row(&row)
}

/// A page of `owner`'s carrier accounts, newest first, optionally filtered.
pub async fn list(
    conn: &mut Conn,
    owner: ObjectId,
    filter: &Filter,
    req: PageRequest,
) -> Result<Page<CarrierAccountRow>, StoreError> {
    // Unset filters bind NULL and match everything, so one statement serves every combination.
    let condition = "account_id = $1 AND ($2 IS NULL OR carrier = $2) AND ($3 IS NULL OR carrier_account_id = $3)";
    let total: i64 = sqlx::query(&format!(
        "SELECT COUNT(*) AS n FROM carrier_accounts WHERE {condition}"
    ))
    .bind(owner.to_string())
    .bind(filter.carrier.clone())
    .bind(filter.carrier_account_id.clone())
    .fetch_one(&mut *conn)
    .await?
    .try_get("n")?;
    let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM carrier_accounts WHERE {condition} ORDER BY id DESC LIMIT $4 OFFSET $5"))
        .bind(owner.to_string())
        .bind(filter.carrier.clone())
        .bind(filter.carrier_account_id.clone())
        .bind(i64::from(req.results))
        .bind(req.offset())
        .fetch_all(conn)
        .await?;
    Ok(Page {
        items: rows.iter().map(from_row).collect::<Result<_, _>>()?,
        total,
        request: req,
    })
}

/// Stores a new version of a carrier account's rate card and returns its version number.
/// The caller has checked that the carrier account is `owner`'s.
pub async fn add_rate_card(
    conn: &mut Conn,
    carrier_account: ObjectId,
    card_json: &str,
) -> Result<i64, StoreError> {
    let current: Option<i64> =
        sqlx::query("SELECT MAX(version) AS v FROM rate_cards WHERE carrier_account_id = $1")
            .bind(carrier_account.to_string())
            .fetch_one(&mut *conn)
            .await?
            .try_get("v")?;
    let version = current.unwrap_or(0) + 1;
    sqlx::query("INSERT INTO rate_cards (id, carrier_account_id, version, created_ms, card) VALUES ($1, $2, $3, $4, $5)")
        .bind(ObjectId::new().to_string())
        .bind(carrier_account.to_string())
        .bind(version)
        .bind(Timestamp::now().millis())
        .bind(card_json)
        .execute(conn)
        .await?;
    Ok(version)
}

/// The newest rate card of a carrier account: `(version, card JSON)`.
pub async fn current_rate_card(
    conn: &mut Conn,
    carrier_account: ObjectId,
) -> Result<(i64, String), StoreError> {
    let row = sqlx::query("SELECT version, card FROM rate_cards WHERE carrier_account_id = $1 ORDER BY version DESC LIMIT 1")
        .bind(carrier_account.to_string())
        .fetch_one(conn)
        .await?;
    Ok((row.try_get("version")?, row.try_get("card")?))
}

/// The account that owns carrier account `id` (for requests that arrive without a token: a
/// carrier's pushed events).
pub async fn owner_of(conn: &mut Conn, id: ObjectId) -> Result<Option<ObjectId>, StoreError> {
    let row = sqlx::query("SELECT account_id FROM carrier_accounts WHERE id = $1")
        .bind(id.to_string())
        .fetch_optional(conn)
        .await?;
    match row {
        Some(r) => {
            let raw: String = r.try_get("account_id")?;
            Ok(Some(ObjectId::parse(&raw).ok_or_else(|| {
                StoreError::Corrupt(format!("account id {raw:?}"))
            })?))
        }
        None => Ok(None),
    }
}

/// What building a carrier account's adapter needs: its sealed parameters and the newest card
/// version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RatingAccount {
    pub id: ObjectId,
    pub carrier: String,
    pub test: bool,
    pub active: bool,
    /// The current rate-card version (rate-card accounts with a card only).
    pub card_version: Option<i64>,
    /// The encrypted parameters (as in [`CarrierAccountRow`]).
    pub parameters_sealed: String,
}

/// All of `owner`'s carrier accounts, oldest first, with their current card versions.
pub async fn for_rating(
    conn: &mut Conn,
    owner: ObjectId,
) -> Result<Vec<RatingAccount>, StoreError> {
    let rows = sqlx::query(
        "SELECT ca.id, ca.carrier, ca.test, ca.active, ca.parameters, \
            (SELECT MAX(r.version) FROM rate_cards r WHERE r.carrier_account_id = ca.id) AS card_version \
         FROM carrier_accounts ca WHERE ca.account_id = $1 ORDER BY ca.id",
    )
    .bind(owner.to_string())
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|row| {
            let id: String = row.try_get("id")?;
            Ok(RatingAccount {
                id: ObjectId::parse(&id)
                    .ok_or_else(|| StoreError::Corrupt(format!("carrier account id {id:?}")))?,
                carrier: row.try_get("carrier")?,
                test: row.try_get::<i64, _>("test")? != 0,
                active: row.try_get::<i64, _>("active")? != 0,
                card_version: row.try_get("card_version")?,
                parameters_sealed: row.try_get("parameters")?,
            })
        })
        .collect()
}

/// One version of a carrier account's rate card (JSON).
pub async fn rate_card_version(
    conn: &mut Conn,
    carrier_account: ObjectId,
    version: i64,
) -> Result<String, StoreError> {
    Ok(
        sqlx::query("SELECT card FROM rate_cards WHERE carrier_account_id = $1 AND version = $2")
            .bind(carrier_account.to_string())
            .bind(version)
            .fetch_one(conn)
            .await?
            .try_get("card")?,
    )
}

/// Accounts that have no carrier account of `carrier`.
pub async fn owners_without(conn: &mut Conn, carrier: &str) -> Result<Vec<ObjectId>, StoreError> {
    let rows = sqlx::query(
        "SELECT a.id FROM accounts a WHERE NOT EXISTS \
         (SELECT 1 FROM carrier_accounts ca WHERE ca.account_id = a.id AND ca.carrier = $1)",
    )
    .bind(carrier)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|row| {
            let id: String = row.try_get("id")?;
            ObjectId::parse(&id).ok_or_else(|| StoreError::Corrupt(format!("account id {id:?}")))
        })
        .collect()
}
