//! Labels bought and their spend per day, carrier and currency (the home page's chart), rolled
//! up from settled transactions after a cursor per account and mode.

use domain::ObjectId;
use sqlx::Row;

use crate::rows::id_of;
use crate::{Conn, Scope, StoreError};

/// A transaction as the roll-up reads it: when, in what state, and its rate's quote (JSON).
#[derive(Debug, Clone)]
pub struct Bought {
    pub id: ObjectId,
    pub created_ms: i64,
    pub status: String,
    pub quote: String,
}

/// One day's labels of one carrier in one currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Day {
    /// Days since 1970-01-01 (UTC).
    pub day: i64,
    pub carrier: String,
    pub currency: String,
    pub labels: i64,
    /// The spend in ten-thousandths of the currency.
    pub amount_e4: i64,
}

/// The last transaction rolled up for `scope`.
pub async fn cursor(conn: &mut Conn, scope: Scope) -> Result<Option<ObjectId>, StoreError> {
    let row =
        sqlx::query("SELECT last_id FROM label_day_cursors WHERE account_id = $1 AND test = $2")
            .bind(scope.account_id.to_string())
            .bind(i64::from(scope.test))
            .fetch_optional(conn)
            .await?;
    row.map(|r| id_of(r.try_get("last_id")?)).transpose()
}

/// Up to `limit` transactions of `scope` after `after`, oldest first (on the owner index).
pub async fn after(
    conn: &mut Conn,
    scope: Scope,
    after: Option<ObjectId>,
    limit: i64,
) -> Result<Vec<Bought>, StoreError> {
    let rows = sqlx::query(
        "SELECT t.id, t.created_ms, t.status, r.quote FROM transactions t JOIN rates r ON r.id = t.rate_id \
         WHERE t.account_id = $1 AND t.test = $2 AND t.id > $3 ORDER BY t.id LIMIT $4",
    )
    .bind(scope.account_id.to_string())
    .bind(i64::from(scope.test))
    .bind(after.map(|a| a.to_string()).unwrap_or_default())
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Bought {
                id: id_of(r.try_get("id")?)?,
                created_ms: r.try_get("created_ms")?,
                status: r.try_get("status")?,
                quote: r.try_get("quote")?,
            })
        })
        .collect()
}

/// Adds labels to a day's row.
pub async fn add(conn: &mut Conn, scope: Scope, d: &Day) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO label_days (account_id, test, day, carrier, currency, labels, amount_e4) VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (account_id, test, day, carrier, currency) DO UPDATE SET labels = label_days.labels + excluded.labels, \
         amount_e4 = label_days.amount_e4 + excluded.amount_e4",
    )
    .bind(scope.account_id.to_string())
    .bind(i64::from(scope.test))
    .bind(d.day)
    .bind(d.carrier.clone())
    .bind(d.currency.clone())
    .bind(d.labels)
    .bind(d.amount_e4)
    .execute(conn)
    .await?;
    Ok(())
}

/// Moves the cursor from `from` to `to`; false when another roll-up moved it first (the
/// caller's transaction then rolls back, counting nothing twice).
pub async fn advance(
    conn: &mut Conn,
    scope: Scope,
    from: Option<ObjectId>,
    to: ObjectId,
) -> Result<bool, StoreError> {
    let done = match from {
        None => sqlx::query(
            "INSERT INTO label_day_cursors (account_id, test, last_id) VALUES ($1, $2, $3) ON CONFLICT (account_id, test) DO NOTHING",
        )
        .bind(scope.account_id.to_string())
        .bind(i64::from(scope.test))
        .bind(to.to_string())
        .execute(conn)
        .await?,
        Some(from) => sqlx::query(
            "UPDATE label_day_cursors SET last_id = $1 WHERE account_id = $2 AND test = $3 AND last_id = $4",
        )
        .bind(to.to_string())
        .bind(scope.account_id.to_string())
        .bind(i64::from(scope.test))
        .bind(from.to_string())
        .execute(conn)
        .await?,
    };
    Ok(done.rows_affected() == 1)
}

/// `scope`'s days from `since` (days since the epoch), oldest first.
pub async fn since(conn: &mut Conn, scope: Scope, since: i64) -> Result<Vec<Day>, StoreError> {
    let rows = sqlx::query(
        "SELECT day, carrier, currency, labels, amount_e4 FROM label_days WHERE account_id = $1 AND test = $2 AND day >= $3 ORDER BY day, carrier, currency",
    )
    .bind(scope.account_id.to_string())
    .bind(i64::from(scope.test))
    .bind(since)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Day {
                day: r.try_get("day")?,
                carrier: r.try_get("carrier")?,
                currency: r.try_get("currency")?,
                labels: r.try_get("labels")?,
                amount_e4: r.try_get("amount_e4")?,
            })
        })
        .collect()
}
