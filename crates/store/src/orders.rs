//! Order rows and the parcels (labels) that carry them.

use std::collections::HashMap;

use domain::order::{Order, OrderFilter, OrderStatus, Portion, Source};
use domain::{ObjectId, Timestamp};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::insert::{backend_of, mark, marks, Args, Rows};
use crate::page::scoped;
use crate::rows::{corrupt, id_of};
use crate::{Backend, Conn, PageRequest, Scope, StoreError};

const COLUMNS: &str = "id, test, created_ms, updated_ms, status, shown_status, source, source_id, order_number, placed_ms, to_address, from_address, shop_app, line_items, details";

fn from_row(row: &AnyRow) -> Result<Order, StoreError> {
    let status: String = row.try_get("status")?;
    let from: Option<String> = row.try_get("from_address")?;
    Ok(Order {
        id: id_of(row.try_get("id")?)?,
        created: Timestamp::from_millis(row.try_get("created_ms")?),
        updated: Timestamp::from_millis(row.try_get("updated_ms")?),
        test: row.try_get::<i64, _>("test")? != 0,
        status: OrderStatus::parse(&status).ok_or_else(|| corrupt("order status", &status))?,
        source: Source::parse(row.try_get("source")?),
        source_id: row.try_get("source_id")?,
        order_number: row.try_get("order_number")?,
        placed_at: Timestamp::from_millis(row.try_get("placed_ms")?),
        to_address: id_of(row.try_get("to_address")?)?,
        from_address: from.as_deref().map(id_of).transpose()?,
        shop_app: row.try_get("shop_app")?,
        line_items: serde_json::from_str(row.try_get("line_items")?)
            .map_err(|e| corrupt("order line items", e.to_string()))?,
        details: serde_json::from_str(row.try_get("details")?)
            .map_err(|e| corrupt("order details", e.to_string()))?,
    })
}

impl Rows for Order {
    const TABLE: &'static str = "orders";
    const COLUMNS: &'static str = COLUMNS;
    const WIDTH: usize = 16;

    fn bind(&self, a: &mut Args, scope: Scope) {
        a.add(scope.account_id.to_string())
            .add(self.id.to_string())
            .add(i64::from(self.test))
            .add(self.created.millis())
            .add(self.updated.millis())
            .add(self.status.as_str())
            .add(self.status.shippo())
            .add(self.source.as_str().to_string())
            .add(self.source_id.clone())
            .add(self.order_number.clone())
            .add(self.placed_at.millis())
            .add(self.to_address.to_string())
            .add(self.from_address.map(|a| a.to_string()))
            .add(self.shop_app.clone())
            .add(serde_json::to_string(&self.line_items).expect("line items serialise"))
            .add(serde_json::to_string(&self.details).expect("details serialise"));
    }
}

/// Stores new orders (an import's chunk, or one).
pub async fn insert(conn: &mut Conn, scope: Scope, orders: &[Order]) -> Result<(), StoreError> {
    for chunk in orders.chunks(1000) {
        crate::insert::insert_rows(conn, scope, chunk).await?;
    }
    Ok(())
}

/// Writes an order's changeable fields (status, addresses, line items, details, number).
pub async fn update(conn: &mut Conn, scope: Scope, o: &Order) -> Result<(), StoreError> {
    let done = sqlx::query(
        "UPDATE orders SET updated_ms = $1, status = $2, shown_status = $13, order_number = $3, placed_ms = $4, to_address = $5, from_address = $6, shop_app = $7, line_items = $8, details = $9 WHERE id = $10 AND account_id = $11 AND test = $12",
    )
    .bind(o.updated.millis())
    .bind(o.status.as_str())
    .bind(o.order_number.clone())
    .bind(o.placed_at.millis())
    .bind(o.to_address.to_string())
    .bind(o.from_address.map(|a| a.to_string()))
    .bind(o.shop_app.clone())
    .bind(serde_json::to_string(&o.line_items).expect("line items serialise"))
    .bind(serde_json::to_string(&o.details).expect("details serialise"))
    .bind(o.id.to_string())
    .bind(scope.account_id.to_string())
    .bind(i64::from(scope.test))
    .bind(o.status.shippo())
    .execute(conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// One order of `scope`.
pub async fn get(conn: &mut Conn, scope: Scope, id: ObjectId) -> Result<Order, StoreError> {
    scoped::get(conn, "orders", COLUMNS, scope, id, from_row).await
}

/// One order of `scope`, locked until the transaction ends on PostgreSQL (fulfilment is a
/// read-modify-write of its line items; SQLite's single writer already serialises it).
pub async fn get_for_update(
    conn: &mut Conn,
    scope: Scope,
    id: ObjectId,
) -> Result<Order, StoreError> {
    let lock = match backend_of(conn) {
        Backend::Postgres => " FOR UPDATE",
        Backend::Sqlite => "",
    };
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM orders WHERE id = $1 AND account_id = $2 AND test = $3{lock}"
    ))
    .bind(id.to_string())
    .bind(scope.account_id.to_string())
    .bind(i64::from(scope.test))
    .fetch_one(conn)
    .await?;
    from_row(&row)
}

/// The orders of `scope` that came from `source` with these source ids, by source id.
pub async fn find_by_source(
    conn: &mut Conn,
    scope: Scope,
    source: &Source,
    ids: &[String],
) -> Result<HashMap<String, Order>, StoreError> {
    let mut out = HashMap::new();
    let backend = backend_of(conn);
    for chunk in ids.chunks(500) {
        let sql = format!(
            "SELECT {COLUMNS} FROM orders WHERE account_id = {} AND test = {} AND source = {} AND source_id IN ({})",
            mark(backend, 1),
            mark(backend, 2),
            mark(backend, 3),
            marks(backend, 4, chunk.len())
        );
        // Not a prepared statement kept for reuse: PostgreSQL planned the kept one generically
        // after a few chunks, took the owner's index and filtered all the account's orders on
        // every chunk (an import slowed as it grew: 4,000 rows/s for 50,000). Planned for its
        // values each time, it takes the unique (account, test, source, source_id) index.
        let mut q = sqlx::query(&sql)
            .persistent(false)
            .bind(scope.account_id.to_string())
            .bind(i64::from(scope.test))
            .bind(source.as_str().to_string());
        for id in chunk {
            q = q.bind(id.clone());
        }
        for row in q.fetch_all(&mut *conn).await? {
            let o = from_row(&row)?;
            if let Some(k) = o.source_id.clone() {
                out.insert(k, o);
            }
        }
    }
    Ok(out)
}

/// The `WHERE` condition of a list of `scope`'s orders matching `filter` (unqualified column
/// names of `orders`), with its placeholders' values.
fn condition_of(
    backend: crate::Backend,
    scope: Scope,
    filter: &OrderFilter,
) -> (String, Filter, String) {
    let mut q = Filter::new(backend);
    let mut condition = format!(
        "account_id = {} AND test = {}",
        q.text(scope.account_id.to_string()),
        q.int(i64::from(scope.test))
    );
    if !filter.statuses.is_empty() {
        // Shippo's states match as they show (PAID includes held orders), on their own index;
        // a Consign state (ON_HOLD, DELIVERED, RETURNED) matches exactly.
        let column = if filter.statuses.iter().all(|s| s.shippo() == s.as_str()) {
            "shown_status"
        } else {
            "status"
        };
        if let [one] = filter.statuses.as_slice() {
            // One status as a range of one value: the planner keeps the status in the ORDER BY
            // below (an equality would drop it), so only the status index gives that order and
            // the page is read from it. With `= status`, PostgreSQL took the primary key
            // backwards and filtered the newest orders: 25,000 SHIPPED ones before the first
            // PAID (180 req/s against 0.4 ms a query this way).
            let (low, high) = (
                q.text(one.as_str().to_string()),
                q.text(one.as_str().to_string()),
            );
            condition.push_str(&format!(" AND {column} >= {low} AND {column} <= {high}"));
        } else {
            let list = filter
                .statuses
                .iter()
                .map(|s| q.text(s.as_str().to_string()))
                .collect::<Vec<_>>()
                .join(", ");
            condition.push_str(&format!(" AND {column} IN ({list})"));
        }
    }
    if let Some(t) = filter.placed_from {
        condition.push_str(&format!(" AND placed_ms >= {}", q.int(t.millis())));
    }
    if let Some(t) = filter.placed_to {
        condition.push_str(&format!(" AND placed_ms <= {}", q.int(t.millis())));
    }
    if let Some(app) = &filter.shop_app {
        condition.push_str(&format!(" AND shop_app = {}", q.text(app.clone())));
    }
    if let Some(country) = &filter.country {
        // Probed per order while the page fills (newest first), on the addresses' key.
        condition.push_str(&format!(
            " AND EXISTS (SELECT 1 FROM addresses a WHERE a.id = orders.to_address AND a.country = {})",
            q.text(country.clone())
        ));
    }
    if !filter.ids.is_empty() {
        let list = filter
            .ids
            .iter()
            .map(|id| q.text(id.to_string()))
            .collect::<Vec<_>>()
            .join(", ");
        condition.push_str(&format!(" AND id IN ({list})"));
    }
    if let Some(before) = filter.before {
        condition.push_str(&format!(" AND id < {}", q.text(before.to_string())));
    }
    if let Some(text) = filter
        .search
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        let ids = search(&mut q, scope, text);
        condition.push_str(&format!(" AND id IN ({ids})"));
    }
    // One status: the status index's own order (its rows for that status, newest first: the
    // same rows in the same order as by id), so the planner walks that index and stops at the
    // page. Several statuses: by id.
    let order = match filter.statuses.as_slice() {
        [one] => {
            let column = if one.shippo() == one.as_str() {
                "shown_status"
            } else {
                "status"
            };
            format!("{column} DESC, id DESC")
        }
        _ => "id DESC".to_string(),
    };
    (condition, q, order)
}

/// A page of `scope`'s orders, newest first, filtered, and whether more follow. No total is
/// counted (Shippo's order list has no `count`): counting 50,000 orders on every page would cost
/// more than the page.
pub async fn list(
    conn: &mut Conn,
    scope: Scope,
    filter: &OrderFilter,
    req: PageRequest,
) -> Result<(Vec<Order>, bool), StoreError> {
    let (condition, mut q, order) = condition_of(backend_of(conn), scope, filter);
    let page_sql = format!(
        "SELECT {COLUMNS} FROM orders WHERE {condition} ORDER BY {order} LIMIT {} OFFSET {}",
        q.int(i64::from(req.results) + 1),
        q.int(if filter.before.is_some() {
            0
        } else {
            req.offset()
        })
    );
    let rows = q.bind(sqlx::query(&page_sql)).fetch_all(conn).await?;
    let more = rows.len() > req.results as usize;
    let items = rows
        .iter()
        .take(req.results as usize)
        .map(from_row)
        .collect::<Result<_, _>>()?;
    Ok((items, more))
}

/// How many of `scope`'s orders match `filter`, counted up to `cap` (a page says "100+"
/// rather than count 50,000 rows).
pub async fn count_up_to(
    conn: &mut Conn,
    scope: Scope,
    filter: &OrderFilter,
    cap: u32,
) -> Result<i64, StoreError> {
    let (condition, mut q, _) = condition_of(backend_of(conn), scope, filter);
    let sql = format!(
        "SELECT COUNT(*) AS n FROM (SELECT 1 FROM orders WHERE {condition} LIMIT {}) x",
        q.int(i64::from(cap))
    );
    Ok(q.bind(sqlx::query(&sql))
        .fetch_one(conn)
        .await?
        .try_get("n")?)
}

/// One order as the web app's inbox lists it: its own columns and its ship-to's name and place,
/// read in one query.
#[derive(Debug, Clone, PartialEq)]
pub struct InboxRow {
    pub id: ObjectId,
    pub order_number: Option<String>,
    pub placed: Timestamp,
    pub status: OrderStatus,
    /// Units ordered, over every line item.
    pub units: u32,
    pub total_price: Option<String>,
    pub currency: Option<String>,
    pub name: String,
    pub company: String,
    pub city: String,
    pub country: String,
}

/// What the inbox reads of the line items and details (the rest of their JSON is skipped).
#[derive(serde::Deserialize)]
struct Units {
    #[serde(default)]
    quantity: u32,
}

#[derive(serde::Deserialize)]
struct Totals {
    #[serde(default)]
    total_price: Option<String>,
    #[serde(default)]
    currency: Option<String>,
}

/// The newest of `scope`'s orders matching `filter` for the inbox (at most `limit`, keyset by
/// `filter.before`), and whether more follow: the orders' page first, then its ship-to
/// addresses joined, so only the columns shown cross from the database.
pub async fn inbox(
    conn: &mut Conn,
    scope: Scope,
    filter: &OrderFilter,
    limit: u32,
) -> Result<(Vec<InboxRow>, bool), StoreError> {
    let (condition, mut q, order) = condition_of(backend_of(conn), scope, filter);
    let sql = format!(
        "SELECT o.id, o.order_number, o.placed_ms, o.status, o.line_items, o.details, a.name, a.company, a.city, a.country \
         FROM (SELECT id, order_number, placed_ms, status, line_items, details, to_address FROM orders WHERE {condition} ORDER BY {order} LIMIT {}) o \
         JOIN addresses a ON a.id = o.to_address ORDER BY o.id DESC",
        q.int(i64::from(limit) + 1)
    );
    let rows = q.bind(sqlx::query(&sql)).fetch_all(conn).await?;
    let more = rows.len() > limit as usize;
    let mut out = Vec::with_capacity(rows.len().min(limit as usize));
    for row in rows.iter().take(limit as usize) {
        let status: String = row.try_get("status")?;
        let items: Vec<Units> = serde_json::from_str(row.try_get("line_items")?)
            .map_err(|e| corrupt("order line items", e.to_string()))?;
        let totals: Totals = serde_json::from_str(row.try_get("details")?)
            .map_err(|e| corrupt("order details", e.to_string()))?;
        out.push(InboxRow {
            id: id_of(row.try_get("id")?)?,
            order_number: row.try_get("order_number")?,
            placed: Timestamp::from_millis(row.try_get("placed_ms")?),
            status: OrderStatus::parse(&status).ok_or_else(|| corrupt("order status", &status))?,
            units: items.iter().map(|i| i.quantity).sum(),
            total_price: totals.total_price,
            currency: totals.currency,
            name: row.try_get("name")?,
            company: row.try_get("company")?,
            city: row.try_get("city")?,
            country: row.try_get("country")?,
        });
    }
    Ok((out, more))
}

/// The ids of the orders the search box's `text` names, each part on its own index: the order
/// number, the buyer's email and full name (lower-cased, whole value), a tracking number of a
/// label carrying the order, a backer's pledge id.
fn search(q: &mut Filter, scope: Scope, text: &str) -> String {
    let bare = text.trim_start_matches('#');
    let lower = text.to_lowercase();
    // Written part by part: each placeholder is made where it appears (SQLite's `?` order).
    let owner = |q: &mut Filter, alias: &str| {
        let account = q.text(scope.account_id.to_string());
        let test = q.int(i64::from(scope.test));
        format!("{alias}account_id = {account} AND {alias}test = {test}")
    };
    let mut parts = Vec::with_capacity(5);
    let by_number = format!(
        "SELECT id FROM orders WHERE {} AND order_number IN ({}, {})",
        owner(q, ""),
        q.text(bare.to_string()),
        q.text(format!("#{bare}"))
    );
    parts.push(by_number);
    for column in ["email", "name"] {
        let by_buyer = format!(
            "SELECT o.id FROM addresses a JOIN orders o ON o.to_address = a.id WHERE {} AND lower(a.{column}) = {}",
            owner(q, "a."),
            q.text(lower.clone())
        );
        parts.push(by_buyer);
    }
    // Scoped through order_parcels' account (the outer query checks the mode), so the planner
    // reads transactions by tracking number, not every label of the account.
    let by_tracking = format!(
        "SELECT op.order_id FROM transactions t JOIN order_parcels op ON op.transaction_id = t.id WHERE t.tracking_number IN ({}, {}) AND op.account_id = {}",
        q.text(text.to_string()),
        q.text(text.to_uppercase()),
        q.text(scope.account_id.to_string())
    );
    parts.push(by_tracking);
    let by_pledge = format!(
        "SELECT p.order_id FROM pledges p JOIN projects pr ON pr.id = p.project_id WHERE p.pledge_id = {} AND p.order_id IS NOT NULL AND {}",
        q.text(text.to_string()),
        owner(q, "pr.")
    );
    parts.push(by_pledge);
    parts.join(" UNION ")
}

type Query<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

/// A value bound to a list query.
enum Bound {
    Text(String),
    Int(i64),
}

/// A list query's placeholders and their values, numbered as they are written (SQLite binds
/// `?` in textual order, so each placeholder appears exactly once in the SQL).
struct Filter {
    backend: crate::Backend,
    values: Vec<Bound>,
}

impl Filter {
    fn new(backend: crate::Backend) -> Self {
        Self {
            backend,
            values: Vec::new(),
        }
    }

    fn text(&mut self, v: String) -> String {
        self.values.push(Bound::Text(v));
        mark(self.backend, self.values.len())
    }

    fn int(&mut self, v: i64) -> String {
        self.values.push(Bound::Int(v));
        mark(self.backend, self.values.len())
    }

    fn bind<'q>(self, mut q: Query<'q>) -> Query<'q> {
        for v in self.values {
            q = match v {
                Bound::Text(t) => q.bind(t),
                Bound::Int(i) => q.bind(i),
            };
        }
        q
    }
}

/// What one label carries of one order.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderParcel {
    pub transaction: ObjectId,
    pub order: ObjectId,
    pub portions: Vec<Portion>,
}

impl Rows for OrderParcel {
    const TABLE: &'static str = "order_parcels";
    const COLUMNS: &'static str = "transaction_id, order_id, portions, released";
    const WIDTH: usize = 5;

    fn bind(&self, a: &mut Args, scope: Scope) {
        a.add(scope.account_id.to_string())
            .add(self.transaction.to_string())
            .add(self.order.to_string())
            .add(serde_json::to_string(&self.portions).expect("portions serialise"))
            .add(0_i64);
    }
}

/// Records what a label carries.
pub async fn insert_parcels(
    conn: &mut Conn,
    scope: Scope,
    parcels: &[OrderParcel],
) -> Result<(), StoreError> {
    crate::insert::insert_rows(conn, scope, parcels).await
}

fn parcel_row(row: &AnyRow) -> Result<OrderParcel, StoreError> {
    Ok(OrderParcel {
        transaction: id_of(row.try_get("transaction_id")?)?,
        order: id_of(row.try_get("order_id")?)?,
        portions: serde_json::from_str(row.try_get("portions")?)
            .map_err(|e| corrupt("order parcel portions", e.to_string()))?,
    })
}

/// What a label carries (not yet given back).
pub async fn parcels_of_transaction(
    conn: &mut Conn,
    transaction: ObjectId,
) -> Result<Vec<OrderParcel>, StoreError> {
    let rows = sqlx::query(
        "SELECT transaction_id, order_id, portions FROM order_parcels WHERE transaction_id = $1 AND released = 0 ORDER BY order_id",
    )
    .bind(transaction.to_string())
    .fetch_all(conn)
    .await?;
    rows.iter().map(parcel_row).collect()
}

/// Marks a label's parcels given back (its refund went through, or it failed); true when
/// this call did it (a second call changes nothing).
pub async fn release_parcels(conn: &mut Conn, transaction: ObjectId) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE order_parcels SET released = 1 WHERE transaction_id = $1 AND released = 0",
    )
    .bind(transaction.to_string())
    .execute(conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// A label of an order, as the order shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderLabel {
    pub transaction: ObjectId,
    /// The transaction's status (its wire name).
    pub status: String,
    pub tracking_number: Option<String>,
}

/// The labels of each order among `orders` (given back ones too: a refunded label stays in
/// the order's history), oldest first.
pub async fn transactions_of(
    conn: &mut Conn,
    orders: &[ObjectId],
) -> Result<HashMap<ObjectId, Vec<OrderLabel>>, StoreError> {
    let mut out: HashMap<ObjectId, Vec<OrderLabel>> = HashMap::new();
    let backend = backend_of(conn);
    for chunk in orders.chunks(500) {
        let sql = format!(
            "SELECT op.order_id, op.transaction_id, t.status, t.tracking_number FROM order_parcels op JOIN transactions t ON t.id = op.transaction_id WHERE op.order_id IN ({}) ORDER BY op.transaction_id",
            marks(backend, 1, chunk.len())
        );
        let mut q = sqlx::query(&sql);
        for id in chunk {
            q = q.bind(id.to_string());
        }
        for row in q.fetch_all(&mut *conn).await? {
            out.entry(id_of(row.try_get("order_id")?)?)
                .or_default()
                .push(OrderLabel {
                    transaction: id_of(row.try_get("transaction_id")?)?,
                    status: row.try_get("status")?,
                    tracking_number: row.try_get("tracking_number")?,
                });
        }
    }
    Ok(out)
}

/// Whether any label still carries part of `order`.
pub async fn has_open_parcels(conn: &mut Conn, order: ObjectId) -> Result<bool, StoreError> {
    let row =
        sqlx::query("SELECT COUNT(*) AS n FROM order_parcels WHERE order_id = $1 AND released = 0")
            .bind(order.to_string())
            .fetch_one(conn)
            .await?;
    Ok(row.try_get::<i64, _>("n")? > 0)
}
