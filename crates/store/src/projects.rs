//! Crowdfunding projects, their API keys, backers' pledges, dispatch emails, what a provider
//! sync pushed, and the events providers sent back.

use std::collections::HashMap;

use domain::crowdfunding::{Pledge, Progress, Project, ProviderLink, Tracking};
use domain::{ObjectId, Timestamp};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::insert::{backend_of, mark, marks};
use crate::rows::{corrupt, id_of};
use crate::{Backend, Conn, Scope, StoreError};

/// A project with its encrypted secrets (never leave the service).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredProject {
    pub project: Project,
    pub scope: Scope,
    /// The provider's API key, encrypted.
    pub provider_key: Option<String>,
    /// The webhook secret, encrypted.
    pub webhook_secret: Option<String>,
}

const PROJECT_COLUMNS: &str = "p.id, p.account_id, p.test, p.created_ms, p.updated_ms, p.name, p.locked_ms, p.provider, p.provider_base, p.provider_key, p.webhook_secret, p.return_address, p.reward_weight, \
     EXISTS (SELECT 1 FROM project_keys k WHERE k.project_id = p.id) AS has_keys";

fn project_row(row: &AnyRow) -> Result<StoredProject, StoreError> {
    let provider: Option<String> = row.try_get("provider")?;
    let ret: Option<String> = row.try_get("return_address")?;
    let secret: Option<String> = row.try_get("webhook_secret")?;
    let link = match (provider, ret) {
        (Some(kind), Some(ret)) => Some(ProviderLink {
            kind,
            base_url: row.try_get("provider_base")?,
            return_address: id_of(&ret)?,
            has_webhook_secret: secret.is_some(),
        }),
        _ => None,
    };
    let test = row.try_get::<i64, _>("test")? != 0;
    let has_keys: bool = match row.try_get::<bool, _>("has_keys") {
        Ok(b) => b,
        Err(_) => row.try_get::<i64, _>("has_keys")? != 0,
    };
    Ok(StoredProject {
        project: Project {
            id: id_of(row.try_get("id")?)?,
            test,
            created: Timestamp::from_millis(row.try_get("created_ms")?),
            updated: Timestamp::from_millis(row.try_get("updated_ms")?),
            name: row.try_get("name")?,
            addresses_locked_at: row
                .try_get::<Option<i64>, _>("locked_ms")?
                .map(Timestamp::from_millis),
            has_keys,
            provider: link,
            reward_weight: match row.try_get::<Option<String>, _>("reward_weight")? {
                Some(w) => Some(
                    domain::crowdfunding::RewardWeight::parse(&w)
                        .ok_or_else(|| corrupt("reward weight", &w))?,
                ),
                None => None,
            },
        },
        scope: Scope {
            account_id: id_of(row.try_get("account_id")?)?,
            test,
        },
        provider_key: row.try_get("provider_key")?,
        webhook_secret: secret,
    })
}

/// Stores a new project.
pub async fn insert(conn: &mut Conn, scope: Scope, p: &Project) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO projects (id, account_id, test, created_ms, updated_ms, name, locked_ms, reward_weight) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(p.id.to_string())
    .bind(scope.account_id.to_string())
    .bind(i64::from(scope.test))
    .bind(p.created.millis())
    .bind(p.updated.millis())
    .bind(p.name.clone())
    .bind(p.addresses_locked_at.map(|t| t.millis()))
    .bind(p.reward_weight.map(|w| w.as_stored()))
    .execute(conn)
    .await?;
    Ok(())
}

/// One of `scope`'s projects (locked for the caller's transaction on PostgreSQL when
/// `for_update`).
pub async fn get(conn: &mut Conn, scope: Scope, id: ObjectId) -> Result<StoredProject, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {PROJECT_COLUMNS} FROM projects p WHERE p.id = $1 AND p.account_id = $2 AND p.test = $3"
    ))
    .bind(id.to_string())
    .bind(scope.account_id.to_string())
    .bind(i64::from(scope.test))
    .fetch_optional(conn)
    .await?
    .ok_or(StoreError::NotFound)?;
    project_row(&row)
}

/// A project by id alone, for callers that prove their right to it otherwise (a project key,
/// a provider's signature).
pub async fn find(conn: &mut Conn, id: ObjectId) -> Result<StoredProject, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {PROJECT_COLUMNS} FROM projects p WHERE p.id = $1"
    ))
    .bind(id.to_string())
    .fetch_optional(conn)
    .await?
    .ok_or(StoreError::NotFound)?;
    project_row(&row)
}

/// `scope`'s projects, newest first.
pub async fn list(conn: &mut Conn, scope: Scope) -> Result<Vec<StoredProject>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {PROJECT_COLUMNS} FROM projects p WHERE p.account_id = $1 AND p.test = $2 ORDER BY p.id DESC LIMIT 1000"
    ))
    .bind(scope.account_id.to_string())
    .bind(i64::from(scope.test))
    .fetch_all(conn)
    .await?;
    rows.iter().map(project_row).collect()
}

/// Saves a project's name, lock and provider link (secrets as given, encrypted).
pub async fn update(conn: &mut Conn, p: &StoredProject) -> Result<(), StoreError> {
    let link = p.project.provider.as_ref();
    let done = sqlx::query(
        "UPDATE projects SET updated_ms = $1, name = $2, locked_ms = $3, provider = $4, provider_base = $5, provider_key = $6, webhook_secret = $7, return_address = $8, reward_weight = $9 \
         WHERE id = $10 AND account_id = $11 AND test = $12",
    )
    .bind(p.project.updated.millis())
    .bind(p.project.name.clone())
    .bind(p.project.addresses_locked_at.map(|t| t.millis()))
    .bind(link.map(|l| l.kind.clone()))
    .bind(link.and_then(|l| l.base_url.clone()))
    .bind(p.provider_key.clone())
    .bind(p.webhook_secret.clone())
    .bind(link.map(|l| l.return_address.to_string()))
    .bind(p.project.reward_weight.map(|w| w.as_stored()))
    .bind(p.project.id.to_string())
    .bind(p.scope.account_id.to_string())
    .bind(i64::from(p.scope.test))
    .execute(conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// A project key as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    pub id: ObjectId,
    pub prefix: String,
    pub created: Timestamp,
    pub revoked: Option<Timestamp>,
}

/// Stores a key's hash.
pub async fn insert_key(
    conn: &mut Conn,
    project: ObjectId,
    key: &KeyInfo,
    hash: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO project_keys (id, project_id, key_hash, prefix, created_ms) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(key.id.to_string())
    .bind(project.to_string())
    .bind(hash.to_string())
    .bind(key.prefix.clone())
    .bind(key.created.millis())
    .execute(conn)
    .await?;
    Ok(())
}

/// Revokes a project's live keys (all, or the one with `id`); how many it revoked.
pub async fn revoke_keys(
    conn: &mut Conn,
    project: ObjectId,
    id: Option<ObjectId>,
    now: Timestamp,
) -> Result<u64, StoreError> {
    let done = match id {
        Some(id) => sqlx::query(
            "UPDATE project_keys SET revoked_ms = $1 WHERE project_id = $2 AND id = $3 AND revoked_ms IS NULL",
        )
        .bind(now.millis())
        .bind(project.to_string())
        .bind(id.to_string())
        .execute(conn)
        .await?,
        None => sqlx::query(
            "UPDATE project_keys SET revoked_ms = $1 WHERE project_id = $2 AND revoked_ms IS NULL",
        )
        .bind(now.millis())
        .bind(project.to_string())
        .execute(conn)
        .await?,
    };
    Ok(done.rows_affected())
}

/// A project's keys, newest first.
pub async fn keys(conn: &mut Conn, project: ObjectId) -> Result<Vec<KeyInfo>, StoreError> {
    let rows = sqlx::query(
        "SELECT id, prefix, created_ms, revoked_ms FROM project_keys WHERE project_id = $1 ORDER BY id DESC",
    )
    .bind(project.to_string())
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(KeyInfo {
                id: id_of(r.try_get("id")?)?,
                prefix: r.try_get("prefix")?,
                created: Timestamp::from_millis(r.try_get("created_ms")?),
                revoked: r
                    .try_get::<Option<i64>, _>("revoked_ms")?
                    .map(Timestamp::from_millis),
            })
        })
        .collect()
}

/// The project a live key (by hash) opens.
pub async fn project_of_key(conn: &mut Conn, hash: &str) -> Result<Option<ObjectId>, StoreError> {
    let row = sqlx::query(
        "SELECT project_id FROM project_keys WHERE key_hash = $1 AND revoked_ms IS NULL",
    )
    .bind(hash.to_string())
    .fetch_optional(conn)
    .await?;
    row.map(|r| id_of(r.try_get("project_id")?)).transpose()
}

/// A pledge as an import writes it (tracking columns are the tracking updates' own).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PledgeRow {
    pub pledge: Pledge,
    /// Place in the project's listing (import order).
    pub position: i64,
}

const PLEDGE_COLUMNS: &str = "project_id, pledge_id, order_id, backer_email, backer_name, tier_name, pledged_ms, problems, carrier, tracking_number, progress, tracked_ms, position";

fn pledge_row(row: &AnyRow) -> Result<PledgeRow, StoreError> {
    let order: Option<String> = row.try_get("order_id")?;
    let problems: String = row.try_get("problems")?;
    let progress: Option<String> = row.try_get("progress")?;
    let tracking = match progress {
        Some(p) => Some(Tracking {
            carrier: row
                .try_get::<Option<String>, _>("carrier")?
                .unwrap_or_default(),
            tracking_number: row
                .try_get::<Option<String>, _>("tracking_number")?
                .unwrap_or_default(),
            progress: Progress::parse(&p).ok_or_else(|| corrupt("pledge progress", &p))?,
            updated: Timestamp::from_millis(
                row.try_get::<Option<i64>, _>("tracked_ms")?.unwrap_or(0),
            ),
        }),
        None => None,
    };
    Ok(PledgeRow {
        pledge: Pledge {
            project: id_of(row.try_get("project_id")?)?,
            pledge_id: row.try_get("pledge_id")?,
            order: order.as_deref().map(id_of).transpose()?,
            backer_email: row.try_get("backer_email")?,
            backer_name: row.try_get("backer_name")?,
            tier_name: row.try_get("tier_name")?,
            pledged_at: Timestamp::from_millis(row.try_get("pledged_ms")?),
            problems: serde_json::from_str(&problems)
                .map_err(|_| corrupt("pledge problems", &problems))?,
            tracking,
        },
        position: row.try_get("position")?,
    })
}

/// The project's pledges among `ids`, by pledge id.
pub async fn pledges_by_id(
    conn: &mut Conn,
    project: ObjectId,
    ids: &[String],
) -> Result<HashMap<String, PledgeRow>, StoreError> {
    let mut out = HashMap::new();
    let b = backend_of(conn);
    for chunk in ids.chunks(500) {
        let sql = format!(
            "SELECT {PLEDGE_COLUMNS} FROM pledges WHERE project_id = {} AND pledge_id IN ({})",
            mark(b, 1),
            marks(b, 2, chunk.len())
        );
        let mut q = sqlx::query(&sql).bind(project.to_string());
        for id in chunk {
            q = q.bind(id.clone());
        }
        for row in q.fetch_all(&mut *conn).await? {
            let p = pledge_row(&row)?;
            out.insert(p.pledge.pledge_id.clone(), p);
        }
    }
    Ok(out)
}

/// The pledge behind an order (locked for the caller's transaction on PostgreSQL when
/// `for_update`: concurrent tracking updates of one order then run one after the other).
pub async fn pledge_of_order(
    conn: &mut Conn,
    order: ObjectId,
    for_update: bool,
) -> Result<Option<PledgeRow>, StoreError> {
    let lock = if for_update && backend_of(conn) == Backend::Postgres {
        " FOR UPDATE"
    } else {
        ""
    };
    let row = sqlx::query(&format!(
        "SELECT {PLEDGE_COLUMNS} FROM pledges WHERE order_id = $1{lock}"
    ))
    .bind(order.to_string())
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(pledge_row).transpose()
}

/// The pledges of orders among `orders` (those that are pledges).
pub async fn pledges_of_orders(
    conn: &mut Conn,
    orders: &[ObjectId],
) -> Result<Vec<PledgeRow>, StoreError> {
    let mut out = Vec::new();
    let b = backend_of(conn);
    for chunk in orders.chunks(500) {
        let sql = format!(
            "SELECT {PLEDGE_COLUMNS} FROM pledges WHERE order_id IN ({})",
            marks(b, 1, chunk.len())
        );
        let mut q = sqlx::query(&sql);
        for id in chunk {
            q = q.bind(id.to_string());
        }
        for row in q.fetch_all(&mut *conn).await? {
            out.push(pledge_row(&row)?);
        }
    }
    Ok(out)
}

/// The project's orders whose pledge carries tracking number `number`.
pub async fn orders_by_tracking(
    conn: &mut Conn,
    project: ObjectId,
    number: &str,
) -> Result<Vec<ObjectId>, StoreError> {
    let rows = sqlx::query(
        "SELECT order_id FROM pledges WHERE project_id = $1 AND tracking_number = $2 AND order_id IS NOT NULL",
    )
    .bind(project.to_string())
    .bind(number.to_string())
    .fetch_all(conn)
    .await?;
    rows.iter().map(|r| id_of(r.try_get("order_id")?)).collect()
}

/// The next free listing position of a project.
pub async fn next_position(conn: &mut Conn, project: ObjectId) -> Result<i64, StoreError> {
    let row =
        sqlx::query("SELECT COALESCE(MAX(position), 0) AS m FROM pledges WHERE project_id = $1")
            .bind(project.to_string())
            .fetch_one(conn)
            .await?;
    Ok(row.try_get::<i64, _>("m")? + 1)
}

/// Inserts new pledges and rewrites known ones' import fields (never their tracking).
pub async fn upsert_pledges(
    conn: &mut Conn,
    scope: Scope,
    rows: &[PledgeRow],
) -> Result<(), StoreError> {
    let b = backend_of(conn);
    for chunk in rows.chunks(60) {
        let width = 10;
        let values: Vec<String> = (0..chunk.len())
            .map(|i| format!("({})", marks(b, i * width + 1, width)))
            .collect();
        let sql = format!(
            "INSERT INTO pledges (project_id, pledge_id, account_id, position, order_id, backer_email, backer_name, tier_name, pledged_ms, problems) VALUES {} \
             ON CONFLICT (project_id, pledge_id) DO UPDATE SET order_id = excluded.order_id, backer_email = excluded.backer_email, \
             backer_name = excluded.backer_name, tier_name = excluded.tier_name, pledged_ms = excluded.pledged_ms, problems = excluded.problems",
            values.join(", ")
        );
        let mut q = sqlx::query(&sql);
        for r in chunk {
            let p = &r.pledge;
            q = q
                .bind(p.project.to_string())
                .bind(p.pledge_id.clone())
                .bind(scope.account_id.to_string())
                .bind(r.position)
                .bind(p.order.map(|o| o.to_string()))
                .bind(p.backer_email.clone())
                .bind(p.backer_name.clone())
                .bind(p.tier_name.clone())
                .bind(p.pledged_at.millis())
                .bind(serde_json::to_string(&p.problems).expect("strings serialise"));
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Sets a pledge's tracking.
pub async fn set_tracking(
    conn: &mut Conn,
    order: ObjectId,
    t: &Tracking,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE pledges SET carrier = $1, tracking_number = $2, progress = $3, tracked_ms = $4 WHERE order_id = $5",
    )
    .bind(t.carrier.clone())
    .bind(t.tracking_number.clone())
    .bind(t.progress.as_str())
    .bind(t.updated.millis())
    .bind(order.to_string())
    .execute(conn)
    .await?;
    Ok(())
}

/// Marks the pledge dispatched unless it already was: `true` when this call did (the caller
/// then queues the one dispatch email). A conditional update, so of concurrent callers exactly
/// one wins on either database.
pub async fn claim_dispatch(
    conn: &mut Conn,
    order: ObjectId,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE pledges SET dispatched_ms = $1 WHERE order_id = $2 AND dispatched_ms IS NULL",
    )
    .bind(now.millis())
    .bind(order.to_string())
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// One entry of the custom API's order list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShippingOrder {
    pub order: ObjectId,
    pub pledge_id: String,
    pub backer_email: String,
    pub tier_name: String,
    pub pledged_at: Timestamp,
    pub name: String,
    pub line1: String,
    pub line2: String,
    pub city: String,
    pub state: String,
    pub postal_code: String,
    pub country: String,
}

/// What "shippable" means in every query here: the pledge has its order and no problems (an
/// import that found the address incomplete keeps the order it had, but it no longer ships).
const SHIPPABLE: &str = "p.order_id IS NOT NULL AND p.problems = '[]'";

/// A project's shippable pledges in import order (`pending`: not yet shipped or delivered),
/// `limit` from `offset`, with how many there are in all.
pub async fn shipping_orders(
    conn: &mut Conn,
    project: ObjectId,
    pending: bool,
    limit: Option<i64>,
    offset: i64,
) -> Result<(i64, Vec<ShippingOrder>), StoreError> {
    let filter = if pending {
        " AND p.progress IS NULL"
    } else {
        ""
    };
    let total: i64 = sqlx::query(&format!(
        "SELECT COUNT(*) AS n FROM pledges p WHERE p.project_id = $1 AND {SHIPPABLE}{filter}"
    ))
    .bind(project.to_string())
    .fetch_one(&mut *conn)
    .await?
    .try_get("n")?;
    let rows = sqlx::query(&format!(
        "SELECT p.order_id, p.pledge_id, p.backer_email, p.tier_name, p.pledged_ms, a.name, a.street_no, a.street1, a.street2, a.city, a.state_code, a.zip, a.country \
         FROM pledges p JOIN orders o ON o.id = p.order_id JOIN addresses a ON a.id = o.to_address \
         WHERE p.project_id = $1 AND {SHIPPABLE}{filter} ORDER BY p.position LIMIT $2 OFFSET $3"
    ))
    .bind(project.to_string())
    .bind(limit.unwrap_or(i64::MAX))
    .bind(offset)
    .fetch_all(conn)
    .await?;
    let out = rows
        .iter()
        .map(|r| {
            let no: String = r.try_get("street_no")?;
            let street1: String = r.try_get("street1")?;
            Ok(ShippingOrder {
                order: id_of(r.try_get("order_id")?)?,
                pledge_id: r.try_get("pledge_id")?,
                backer_email: r.try_get("backer_email")?,
                tier_name: r.try_get("tier_name")?,
                pledged_at: Timestamp::from_millis(r.try_get("pledged_ms")?),
                name: r.try_get("name")?,
                line1: if no.is_empty() {
                    street1
                } else {
                    format!("{no} {street1}")
                },
                line2: r.try_get("street2")?,
                city: r.try_get("city")?,
                state: r.try_get("state_code")?,
                postal_code: r.try_get("zip")?,
                country: r.try_get("country")?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok((total, out))
}

/// How a project's pledges stand.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PledgeCounts {
    pub pledges: i64,
    pub shippable: i64,
    pub shipped: i64,
    pub delivered: i64,
    pub dispatch_emails: i64,
}

/// Counts of a project's pledges.
pub async fn counts(conn: &mut Conn, project: ObjectId) -> Result<PledgeCounts, StoreError> {
    let r = sqlx::query(&format!(
        "SELECT COUNT(*) AS n, COALESCE(SUM(CASE WHEN {SHIPPABLE} THEN 1 ELSE 0 END), 0) AS shippable, \
         COALESCE(SUM(CASE WHEN p.progress = 'shipped' THEN 1 ELSE 0 END), 0) AS shipped, \
         COALESCE(SUM(CASE WHEN p.progress = 'delivered' THEN 1 ELSE 0 END), 0) AS delivered, \
         COUNT(p.dispatched_ms) AS dispatched FROM pledges p WHERE p.project_id = $1"
    ))
    .bind(project.to_string())
    .fetch_one(conn)
    .await?;
    Ok(PledgeCounts {
        pledges: r.try_get("n")?,
        shippable: r.try_get("shippable")?,
        shipped: r.try_get("shipped")?,
        delivered: r.try_get("delivered")?,
        dispatch_emails: r.try_get("dispatched")?,
    })
}

/// A dispatch email row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DispatchEmail {
    pub id: ObjectId,
    pub account: ObjectId,
    pub project: ObjectId,
    pub order: ObjectId,
    pub recipient: String,
    pub carrier: String,
    pub tracking_number: String,
    pub tracking_url: String,
    pub status: String,
    pub error: Option<String>,
}

/// Stores a dispatch email (at most one per order: the unique index backs the claim).
pub async fn insert_dispatch(
    conn: &mut Conn,
    d: &DispatchEmail,
    now: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO dispatch_emails (id, account_id, project_id, order_id, created_ms, updated_ms, recipient, carrier, tracking_number, tracking_url, status, error) \
         VALUES ($1, $2, $3, $4, $5, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(d.id.to_string())
    .bind(d.account.to_string())
    .bind(d.project.to_string())
    .bind(d.order.to_string())
    .bind(now.millis())
    .bind(d.recipient.clone())
    .bind(d.carrier.clone())
    .bind(d.tracking_number.clone())
    .bind(d.tracking_url.clone())
    .bind(d.status.clone())
    .bind(d.error.clone())
    .execute(conn)
    .await?;
    Ok(())
}

/// A dispatch email by id.
pub async fn dispatch(conn: &mut Conn, id: ObjectId) -> Result<DispatchEmail, StoreError> {
    let r = sqlx::query(
        "SELECT id, account_id, project_id, order_id, recipient, carrier, tracking_number, tracking_url, status, error FROM dispatch_emails WHERE id = $1",
    )
    .bind(id.to_string())
    .fetch_optional(conn)
    .await?
    .ok_or(StoreError::NotFound)?;
    Ok(DispatchEmail {
        id: id_of(r.try_get("id")?)?,
        account: id_of(r.try_get("account_id")?)?,
        project: id_of(r.try_get("project_id")?)?,
        order: id_of(r.try_get("order_id")?)?,
        recipient: r.try_get("recipient")?,
        carrier: r.try_get("carrier")?,
        tracking_number: r.try_get("tracking_number")?,
        tracking_url: r.try_get("tracking_url")?,
        status: r.try_get("status")?,
        error: r.try_get("error")?,
    })
}

/// Settles a dispatch email.
pub async fn set_dispatch_status(
    conn: &mut Conn,
    id: ObjectId,
    status: &str,
    error: Option<&str>,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE dispatch_emails SET status = $1, error = $2, updated_ms = $3 WHERE id = $4",
    )
    .bind(status.to_string())
    .bind(error.map(str::to_string))
    .bind(Timestamp::now().millis())
    .bind(id.to_string())
    .execute(conn)
    .await?;
    Ok(())
}

/// What a sync pushed for one order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderRecord {
    pub order: ObjectId,
    pub provider: String,
    pub remote_id: Option<String>,
    pub digest: String,
    /// `synced` or `failed`.
    pub status: String,
    pub error: Option<String>,
}

/// The records of `orders` in a project.
pub async fn provider_records(
    conn: &mut Conn,
    project: ObjectId,
    orders: &[ObjectId],
) -> Result<HashMap<ObjectId, ProviderRecord>, StoreError> {
    let mut out = HashMap::new();
    let b = backend_of(conn);
    for chunk in orders.chunks(500) {
        let sql = format!(
            "SELECT order_id, provider, remote_id, digest, status, error FROM provider_records WHERE project_id = {} AND order_id IN ({})",
            mark(b, 1),
            marks(b, 2, chunk.len())
        );
        let mut q = sqlx::query(&sql).bind(project.to_string());
        for id in chunk {
            q = q.bind(id.to_string());
        }
        for r in q.fetch_all(&mut *conn).await? {
            let order = id_of(r.try_get("order_id")?)?;
            out.insert(
                order,
                ProviderRecord {
                    order,
                    provider: r.try_get("provider")?,
                    remote_id: r.try_get("remote_id")?,
                    digest: r.try_get("digest")?,
                    status: r.try_get("status")?,
                    error: r.try_get("error")?,
                },
            );
        }
    }
    Ok(out)
}

/// The order a provider's record id belongs to.
pub async fn order_of_remote(
    conn: &mut Conn,
    project: ObjectId,
    remote_id: &str,
) -> Result<Option<ObjectId>, StoreError> {
    let row = sqlx::query(
        "SELECT order_id FROM provider_records WHERE project_id = $1 AND remote_id = $2",
    )
    .bind(project.to_string())
    .bind(remote_id.to_string())
    .fetch_optional(conn)
    .await?;
    row.map(|r| id_of(r.try_get("order_id")?)).transpose()
}

/// Records what a sync did for one order.
pub async fn put_provider_record(
    conn: &mut Conn,
    project: ObjectId,
    r: &ProviderRecord,
    now: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO provider_records (project_id, order_id, provider, remote_id, digest, status, error, synced_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         ON CONFLICT (project_id, order_id) DO UPDATE SET provider = excluded.provider, \
         remote_id = COALESCE(excluded.remote_id, provider_records.remote_id), \
         digest = CASE WHEN excluded.status = 'synced' THEN excluded.digest ELSE provider_records.digest END, \
         status = excluded.status, error = excluded.error, synced_ms = excluded.synced_ms",
    )
    .bind(project.to_string())
    .bind(r.order.to_string())
    .bind(r.provider.clone())
    .bind(r.remote_id.clone())
    .bind(r.digest.clone())
    .bind(r.status.clone())
    .bind(r.error.clone())
    .bind(now.millis())
    .execute(conn)
    .await?;
    Ok(())
}

/// A sync run and its report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sync {
    pub id: ObjectId,
    pub project: ObjectId,
    pub created: Timestamp,
    pub updated: Timestamp,
    /// `RUNNING`, `DONE`, or `FAILED` (the provider stayed unreachable through every attempt).
    pub status: String,
    pub created_records: i64,
    pub updated_records: i64,
    pub skipped: i64,
    pub failed: i64,
    /// `[{pledge_id, order, error}]`.
    pub failures: serde_json::Value,
    /// The last order done.
    pub cursor: Option<ObjectId>,
    /// The job's attempts that failed as a whole (the provider unreachable), oldest first.
    pub attempts: Vec<SyncAttempt>,
}

/// One attempt of a sync job that could not reach the provider.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SyncAttempt {
    /// The job's attempt (1 = the first run).
    pub attempt: i64,
    pub at: Timestamp,
    /// A short, sanitised excerpt of why (never a credential).
    pub error: String,
}

/// The `failures` column: the backers' failures as a JSON array, or, once a job attempt
/// failed, `{"backers": [...], "attempts": [...]}` (no migration; older rows are arrays).
fn failures_column(s: &Sync) -> String {
    if s.attempts.is_empty() {
        return s.failures.to_string();
    }
    serde_json::json!({"backers": s.failures, "attempts": s.attempts}).to_string()
}

fn read_failures(raw: &str) -> Option<(serde_json::Value, Vec<SyncAttempt>)> {
    let v: serde_json::Value = serde_json::from_str(raw).ok()?;
    match v {
        serde_json::Value::Object(mut o) => Some((
            o.remove("backers")?,
            serde_json::from_value(o.remove("attempts")?).ok()?,
        )),
        v => Some((v, Vec::new())),
    }
}

const SYNC_COLUMNS: &str = "id, project_id, created_ms, updated_ms, status, created, updated, skipped, failed, failures, cursor";

fn sync_row(r: &AnyRow) -> Result<Sync, StoreError> {
    let raw: String = r.try_get("failures")?;
    let (failures, attempts) = read_failures(&raw).ok_or_else(|| corrupt("sync failures", &raw))?;
    Ok(Sync {
        id: id_of(r.try_get("id")?)?,
        project: id_of(r.try_get("project_id")?)?,
        created: Timestamp::from_millis(r.try_get("created_ms")?),
        updated: Timestamp::from_millis(r.try_get("updated_ms")?),
        status: r.try_get("status")?,
        created_records: r.try_get("created")?,
        updated_records: r.try_get("updated")?,
        skipped: r.try_get("skipped")?,
        failed: r.try_get("failed")?,
        failures,
        attempts,
        cursor: r
            .try_get::<Option<String>, _>("cursor")?
            .as_deref()
            .map(id_of)
            .transpose()?,
    })
}

/// Stores a new sync.
pub async fn insert_sync(conn: &mut Conn, account: ObjectId, s: &Sync) -> Result<(), StoreError> {
    sqlx::query(&format!(
        "INSERT INTO project_syncs (account_id, {SYNC_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
    ))
    .bind(account.to_string())
    .bind(s.id.to_string())
    .bind(s.project.to_string())
    .bind(s.created.millis())
    .bind(s.updated.millis())
    .bind(s.status.clone())
    .bind(s.created_records)
    .bind(s.updated_records)
    .bind(s.skipped)
    .bind(s.failed)
    .bind(failures_column(s))
    .bind(s.cursor.map(|c| c.to_string()))
    .execute(conn)
    .await?;
    Ok(())
}

/// Saves a sync's progress.
pub async fn update_sync(conn: &mut Conn, s: &Sync) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE project_syncs SET updated_ms = $1, status = $2, created = $3, updated = $4, skipped = $5, failed = $6, failures = $7, cursor = $8 WHERE id = $9",
    )
    .bind(s.updated.millis())
    .bind(s.status.clone())
    .bind(s.created_records)
    .bind(s.updated_records)
    .bind(s.skipped)
    .bind(s.failed)
    .bind(failures_column(s))
    .bind(s.cursor.map(|c| c.to_string()))
    .bind(s.id.to_string())
    .execute(conn)
    .await?;
    Ok(())
}

/// A project's sync by id.
pub async fn sync(conn: &mut Conn, project: ObjectId, id: ObjectId) -> Result<Sync, StoreError> {
    let r = sqlx::query(&format!(
        "SELECT {SYNC_COLUMNS} FROM project_syncs WHERE id = $1 AND project_id = $2"
    ))
    .bind(id.to_string())
    .bind(project.to_string())
    .fetch_optional(conn)
    .await?
    .ok_or(StoreError::NotFound)?;
    sync_row(&r)
}

/// The project's shippable orders after `after` (by order id), `limit` of them.
pub async fn shippable_orders_after(
    conn: &mut Conn,
    project: ObjectId,
    after: Option<ObjectId>,
    limit: i64,
) -> Result<Vec<(String, ObjectId)>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT p.pledge_id, p.order_id FROM pledges p WHERE p.project_id = $1 AND {SHIPPABLE} AND p.order_id > $2 ORDER BY p.order_id LIMIT $3"
    ))
    .bind(project.to_string())
    .bind(after.map(|a| a.to_string()).unwrap_or_default())
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("pledge_id")?, id_of(r.try_get("order_id")?)?)))
        .collect()
}

/// An event a provider sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectEvent {
    pub id: ObjectId,
    pub project: ObjectId,
    pub received: Timestamp,
    pub provider: String,
    /// The provider's id of the event (or a digest of its body): replays share it.
    pub key: String,
    pub kind: String,
    pub tracking_number: Option<String>,
    /// The order it was matched to (None = kept unmatched).
    pub order: Option<ObjectId>,
    pub note: String,
    pub body: String,
}

/// Stores an event unless the project already has one with its key: `true` when stored.
pub async fn insert_event(
    conn: &mut Conn,
    account: ObjectId,
    e: &ProjectEvent,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "INSERT INTO project_events (id, project_id, account_id, received_ms, provider, event_key, kind, tracking_number, order_id, note, body) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (project_id, provider, event_key) DO NOTHING",
    )
    .bind(e.id.to_string())
    .bind(e.project.to_string())
    .bind(account.to_string())
    .bind(e.received.millis())
    .bind(e.provider.clone())
    .bind(e.key.clone())
    .bind(e.kind.clone())
    .bind(e.tracking_number.clone())
    .bind(e.order.map(|o| o.to_string()))
    .bind(e.note.clone())
    .bind(e.body.clone())
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A project's events, newest first (`unmatched` only those matched to no order).
pub async fn events(
    conn: &mut Conn,
    project: ObjectId,
    unmatched: bool,
    limit: i64,
) -> Result<Vec<ProjectEvent>, StoreError> {
    let filter = if unmatched {
        " AND order_id IS NULL"
    } else {
        ""
    };
    let rows = sqlx::query(&format!(
        "SELECT id, project_id, received_ms, provider, event_key, kind, tracking_number, order_id, note, body FROM project_events \
         WHERE project_id = $1{filter} ORDER BY id DESC LIMIT $2"
    ))
    .bind(project.to_string())
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            let order: Option<String> = r.try_get("order_id")?;
            Ok(ProjectEvent {
                id: id_of(r.try_get("id")?)?,
                project: id_of(r.try_get("project_id")?)?,
                received: Timestamp::from_millis(r.try_get("received_ms")?),
                provider: r.try_get("provider")?,
                key: r.try_get("event_key")?,
                kind: r.try_get("kind")?,
                tracking_number: r.try_get("tracking_number")?,
                order: order.as_deref().map(id_of).transpose()?,
                note: r.try_get("note")?,
                body: r.try_get("body")?,
            })
        })
        .collect()
}

/// Whether a label (by carrier account and number) carries a pledge's order: its backer gets
/// the project's dispatch email instead of the generic "shipped" email.
pub async fn label_carries_pledge(
    conn: &mut Conn,
    carrier_account: ObjectId,
    number: &str,
) -> Result<bool, StoreError> {
    let row = sqlx::query(
        "SELECT 1 AS one FROM transactions t JOIN order_parcels op ON op.transaction_id = t.id \
         JOIN pledges p ON p.order_id = op.order_id WHERE t.carrier_account_id = $1 AND t.tracking_number = $2 LIMIT 1",
    )
    .bind(carrier_account.to_string())
    .bind(number.to_string())
    .fetch_optional(conn)
    .await?;
    Ok(row.is_some())
}
