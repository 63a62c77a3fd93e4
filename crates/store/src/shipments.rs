//! Shipment and rate rows.

use domain::address::{Address, Purpose};
use domain::customs::{CustomsDeclaration, CustomsItem};
use domain::parcel::Parcel;
use domain::shipment::{Note, Rate, RateDetails, Shipment, ShipmentStatus};
use domain::{ObjectId, Timestamp};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::insert::{insert_rows, Args, Rows, Script};
use crate::jobs::NewJob;
use crate::page::scoped;
use crate::rows::{corrupt, id_of};
use crate::{Backend, Conn, Page, PageRequest, Scope, StoreError};
use domain::shipment_extra::{parse_shipment_extra, ShipmentExtra};

pub use domain::shipment::CreatedFilter;

fn ids_to_json(ids: &[ObjectId]) -> String {
    serde_json::to_string(&ids.iter().map(ToString::to_string).collect::<Vec<_>>())
        .expect("strings serialise")
}

fn ids_from_json(json: &str) -> Result<Vec<ObjectId>, StoreError> {
    let raw: Vec<String> =
        serde_json::from_str(json).map_err(|e| corrupt("shipment id list", e))?;
    raw.iter().map(|s| id_of(s)).collect()
}

fn json<T: serde::de::DeserializeOwned>(what: &str, raw: &str) -> Result<T, StoreError> {
    serde_json::from_str(raw).map_err(|e| corrupt(what, e.to_string()))
}

const COLUMNS: &str = "id, test, created_ms, updated_ms, status, purpose, address_from, address_to, address_return, parcels, shipment_date_ms, carrier_accounts, customs_declaration, extra, metadata, messages, extras";

/// The checked extras: their stored shape, or (a shipment from before migration 8) read again
/// from the `extra` object as sent.
fn extras_of(row: &AnyRow) -> Result<ShipmentExtra, StoreError> {
    match row.try_get::<Option<String>, _>("extras")? {
        Some(raw) => json("shipment extras", &raw),
        None => {
            let sent: serde_json::Value = json("extra", row.try_get("extra")?)?;
            parse_shipment_extra(Some(&sent)).map_err(|e| corrupt("shipment extra", e.to_string()))
        }
    }
}

fn from_row(row: &AnyRow) -> Result<Shipment, StoreError> {
    let status: String = row.try_get("status")?;
    let purpose: String = row.try_get("purpose")?;
    let address_return: Option<String> = row.try_get("address_return")?;
    let customs: Option<String> = row.try_get("customs_declaration")?;
    Ok(Shipment {
        id: id_of(row.try_get("id")?)?,
        created: Timestamp::from_millis(row.try_get("created_ms")?),
        updated: Timestamp::from_millis(row.try_get("updated_ms")?),
        test: row.try_get::<i64, _>("test")? != 0,
        status: ShipmentStatus::parse(&status)
            .ok_or_else(|| corrupt("shipment status", &status))?,
        purpose: Purpose::parse(&purpose).ok_or_else(|| corrupt("shipment purpose", &purpose))?,
        address_from: id_of(row.try_get("address_from")?)?,
        address_to: id_of(row.try_get("address_to")?)?,
        address_return: address_return.as_deref().map(id_of).transpose()?,
        parcels: ids_from_json(row.try_get("parcels")?)?,
        shipment_date: Timestamp::from_millis(row.try_get("shipment_date_ms")?),
        carrier_accounts: ids_from_json(row.try_get("carrier_accounts")?)?,
        customs_declaration: customs.as_deref().map(id_of).transpose()?,
        extras: extras_of(row)?,
        extra: json("extra", row.try_get("extra")?)?,
        metadata: row.try_get("metadata")?,
        messages: json("messages", row.try_get("messages")?)?,
    })
}

/// The writes that create a shipment: the addresses and parcels given as objects, the
/// shipment, its rates, and (for an `async` shipment) the job that will price it.
pub fn creation_script(backend: Backend, scope: Scope, new: &NewShipment) -> Script {
    let mut script = Script::new(backend);
    script.insert(scope, new.addresses);
    script.insert(scope, new.parcels);
    script.insert(scope, new.customs_items);
    script.insert(scope, new.declaration.as_slice());
    script.insert(scope, std::slice::from_ref(new.shipment));
    script.insert(scope, new.rates);
    script.insert(scope, new.job.as_slice());
    script
}

/// What creating a shipment stores.
pub struct NewShipment<'a> {
    /// Addresses given as objects in the request (not those given by id).
    pub addresses: &'a [Address],
    /// Parcels given as objects in the request.
    pub parcels: &'a [Parcel],
    /// Customs items given as objects inside a declaration given as an object.
    pub customs_items: &'a [CustomsItem],
    /// A customs declaration given as an object.
    pub declaration: Option<CustomsDeclaration>,
    pub shipment: &'a Shipment,
    /// Its rates (none for an `async` shipment).
    pub rates: &'a [Rate],
    /// The job that prices an `async` shipment.
    pub job: Option<NewJob>,
}

impl Rows for Shipment {
    const TABLE: &'static str = "shipments";
    const COLUMNS: &'static str = COLUMNS;
    const WIDTH: usize = 18;

    fn bind(&self, a: &mut Args, scope: Scope) {
        a.add(scope.account_id.to_string())
            .add(self.id.to_string())
            .add(i64::from(self.test))
            .add(self.created.millis())
            .add(self.updated.millis())
            .add(self.status.as_str())
            .add(self.purpose.as_str())
            .add(self.address_from.to_string())
            .add(self.address_to.to_string())
            .add(self.address_return.map(|a| a.to_string()))
            .add(ids_to_json(&self.parcels))
            .add(self.shipment_date.millis())
            .add(ids_to_json(&self.carrier_accounts))
            .add(self.customs_declaration.map(|c| c.to_string()))
            .add(self.extra.to_string())
            .add(self.metadata.clone())
            .add(serde_json::to_string(&self.messages).expect("notes serialise"))
            .add(serde_json::to_string(&self.extras).expect("extras serialise"));
    }
}

impl Rows for Rate {
    const TABLE: &'static str = "rates";
    const COLUMNS: &'static str = RATE_COLUMNS;
    const WIDTH: usize = 7;

    fn bind(&self, a: &mut Args, scope: Scope) {
        a.add(scope.account_id.to_string())
            .add(self.id.to_string())
            .add(i64::from(self.test))
            .add(self.shipment.to_string())
            .add(self.created.millis())
            .add(self.carrier_account.to_string())
            .add(serde_json::to_string(&self.details).expect("rates serialise"));
    }
}

/// Records the outcome of rate generation: status, messages and update time.
pub async fn set_status(
    conn: &mut Conn,
    scope: Scope,
    id: ObjectId,
    status: ShipmentStatus,
    messages: &[Note],
    updated: Timestamp,
) -> Result<(), StoreError> {
    let done = sqlx::query(
        "UPDATE shipments SET status = $1, messages = $2, updated_ms = $3 WHERE id = $4 AND account_id = $5 AND test = $6",
    )
    .bind(status.as_str())
    .bind(serde_json::to_string(messages).expect("notes serialise"))
    .bind(updated.millis())
    .bind(id.to_string())
    .bind(scope.account_id.to_string())
    .bind(i64::from(scope.test))
    .execute(conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// One shipment of `scope`.
pub async fn get(conn: &mut Conn, scope: Scope, id: ObjectId) -> Result<Shipment, StoreError> {
    scoped::get(conn, "shipments", COLUMNS, scope, id, from_row).await
}

/// A page of `scope`'s shipments, newest first, within the creation-time filter.
pub async fn list(
    conn: &mut Conn,
    scope: Scope,
    filter: CreatedFilter,
    req: PageRequest,
) -> Result<Page<Shipment>, StoreError> {
    // Unset bounds bind NULL and match everything, so one statement serves every combination.
    // Ids begin with their creation millisecond, so the bounds also become an id range that
    // the (account_id, test, id) index answers directly (an id's millisecond is never earlier
    // than its `created_ms`; the upper bound allows a second for a clock that stepped back).
    let condition = "account_id = $1 AND test = $2 AND id >= $7 AND id < $8 \
        AND ($3 IS NULL OR created_ms > $3) AND ($4 IS NULL OR created_ms >= $4) \
        AND ($5 IS NULL OR created_ms < $5) AND ($6 IS NULL OR created_ms <= $6)";
    let from = filter
        .gt
        .map(|t| t + 1)
        .into_iter()
        .chain(filter.gte)
        .max()
        .unwrap_or(0);
    let until = filter
        .lt
        .into_iter()
        .chain(filter.lte.map(|t| t + 1))
        .min()
        .map(|t| t.saturating_add(1000));
    let lo = ObjectId::first_at(from).to_string();
    let hi = crate::page::before_bound(until.map(ObjectId::first_at));
    let total: i64 = sqlx::query(&format!(
        "SELECT COUNT(*) AS n FROM shipments WHERE {condition}"
    ))
    .bind(scope.account_id.to_string())
    .bind(i64::from(scope.test))
    .bind(filter.gt)
    .bind(filter.gte)
    .bind(filter.lt)
    .bind(filter.lte)
    .bind(lo.clone())
    .bind(hi.clone())
    .fetch_one(&mut *conn)
    .await?
    .try_get("n")?;
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM shipments WHERE {condition} ORDER BY id DESC LIMIT $9 OFFSET $10"
    ))
    .bind(scope.account_id.to_string())
    .bind(i64::from(scope.test))
    .bind(filter.gt)
    .bind(filter.gte)
    .bind(filter.lt)
    .bind(filter.lte)
    .bind(lo)
    .bind(hi)
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

const RATE_COLUMNS: &str = "id, test, shipment_id, created_ms, carrier_account_id, quote";

fn rate_from_row(row: &AnyRow) -> Result<Rate, StoreError> {
    Ok(Rate {
        id: id_of(row.try_get("id")?)?,
        created: Timestamp::from_millis(row.try_get("created_ms")?),
        test: row.try_get::<i64, _>("test")? != 0,
        shipment: id_of(row.try_get("shipment_id")?)?,
        carrier_account: id_of(row.try_get("carrier_account_id")?)?,
        details: json::<RateDetails>("rate", row.try_get("quote")?)?,
    })
}

/// Stores a shipment's rates in one statement.
pub async fn insert_rates(conn: &mut Conn, scope: Scope, rates: &[Rate]) -> Result<(), StoreError> {
    insert_rows(conn, scope, rates).await
}

/// The rates of one of `scope`'s shipments, in the order they were priced.
pub async fn rates_of(
    conn: &mut Conn,
    scope: Scope,
    shipment: ObjectId,
) -> Result<Vec<Rate>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {RATE_COLUMNS} FROM rates WHERE shipment_id = $1 AND account_id = $2 AND test = $3 ORDER BY id"
    ))
    .bind(shipment.to_string())
    .bind(scope.account_id.to_string())
    .bind(i64::from(scope.test))
    .fetch_all(conn)
    .await?;
    rows.iter().map(rate_from_row).collect()
}

/// One rate of `scope`.
pub async fn get_rate(conn: &mut Conn, scope: Scope, id: ObjectId) -> Result<Rate, StoreError> {
    scoped::get(conn, "rates", RATE_COLUMNS, scope, id, rate_from_row).await
}
