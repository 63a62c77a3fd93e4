//! Shipments and their rates (seed 002 "Shipments", "Rates").
//!
//! Creating a shipment stores any nested addresses and parcels, the shipment and, with
//! `async: false`, its rates, in one transaction. With `async: true` the shipment is stored as
//! QUEUED together with a `rate_shipment` job in the same transaction; the job worker prices it
//! and records the rates and SUCCESS in one more. Modules: `create`, `resolve` (addresses,
//! parcels, declarations and carrier accounts given by id or as objects) and `rate_job`.
mod create;
mod rate_job;
mod resolve;

pub use create::{create, STORED_JSON_MAX};

use domain::address::Purpose;
use domain::error::FieldErrors;
use domain::shipment_extra::ShipmentExtra;
use domain::Timestamp;
pub(crate) use rate_job::{fail_rate_job, run_rate_job};

use domain::address::{Address, AddressInput};
use domain::customs::CustomsDeclaration;
use domain::money::parse_currency;
use domain::parcel::{Parcel, ParcelInput};
use domain::shipment::{Money, Rate, Shipment};
use domain::{ObjectId, ValidationError};
use serde_json::Value;

use store::shipments::{self as repo, CreatedFilter};
use store::{addresses as address_repo, parcels as parcel_repo, Conn, Page, PageRequest, Scope};

use crate::customs::DeclarationRef;
use crate::{scope, Principal, ServiceError, Services};

/// Most parcels one shipment may hold.
pub const MAX_PARCELS: usize = 100;

/// An address given by id or as a new object.
#[derive(Debug, Clone)]
pub enum AddressRef {
    Id(String),
    New(Box<AddressInput>),
}

/// A parcel given by id or as a new object.
#[derive(Debug, Clone)]
pub enum ParcelRef {
    Id(String),
    New(Box<ParcelInput>),
}

/// A shipment to create, as the service takes it: the objects it names still to resolve (by id
/// or given whole), everything else already read and checked by the caller's wire layer.
#[derive(Debug, Clone, Default)]
pub struct CreateShipment {
    pub address_from: Option<AddressRef>,
    pub address_to: Option<AddressRef>,
    pub address_return: Option<AddressRef>,
    pub parcels: Vec<ParcelRef>,
    /// A customs declaration by id or as a new object.
    pub customs_declaration: Option<DeclarationRef>,
    /// The extras, checked.
    pub extra: ShipmentExtra,
    /// The `extra` object they were read from, kept and answered as sent (at most
    /// [`STORED_JSON_MAX`] bytes).
    pub extra_json: Value,
    /// Carrier accounts to ask (ids to resolve); none = every active one.
    pub carrier_accounts: Vec<String>,
    /// None = now.
    pub shipment_date: Option<Timestamp>,
    pub metadata: String,
    /// The seed's `object_purpose`, when given.
    pub purpose: Option<Purpose>,
    /// Answer at once with QUEUED and price in the background.
    pub asynchronous: bool,
    /// What the wire layer already found wrong while reading the request: reported together
    /// with what the service finds resolving it, so a client hears of every field at once.
    pub errors: FieldErrors,
}

/// A shipment with the objects it is made of and its rates.
#[derive(Debug, Clone)]
pub struct ShipmentView {
    pub shipment: Shipment,
    pub address_from: Address,
    pub address_to: Address,
    pub address_return: Option<Address>,
    pub parcels: Vec<Parcel>,
    pub customs_declaration: Option<CustomsDeclaration>,
    pub rates: Vec<Rate>,
}

/// One of the principal's shipments with its addresses, parcels and rates.
pub async fn get(
    s: &Services,
    who: &Principal,
    id: ObjectId,
) -> Result<ShipmentView, ServiceError> {
    let mut conn = s.store.conn().await?;
    let shipment = repo::get(&mut conn, scope(who), id).await?;
    view(&mut conn, scope(who), shipment).await
}

pub(crate) async fn view(
    conn: &mut Conn,
    scope: Scope,
    shipment: Shipment,
) -> Result<ShipmentView, ServiceError> {
    let mut v = parts(conn, scope, shipment).await?;
    v.rates = repo::rates_of(conn, scope, v.shipment.id).await?;
    Ok(v)
}

/// A shipment with its addresses, parcels and customs declaration, without its rates.
pub(crate) async fn parts(
    conn: &mut Conn,
    scope: Scope,
    shipment: Shipment,
) -> Result<ShipmentView, ServiceError> {
    // One query for the addresses, one for the parcels (a purchase reads a shipment's parts
    // on every call).
    let ids: Vec<ObjectId> = [shipment.address_from, shipment.address_to]
        .into_iter()
        .chain(shipment.address_return)
        .collect();
    let addresses = address_repo::get_many(conn, scope, &ids).await?;
    let address = |id: ObjectId| addresses.get(&id).cloned().ok_or(ServiceError::NotFound);
    let address_from = address(shipment.address_from)?;
    let address_to = address(shipment.address_to)?;
    let address_return = shipment.address_return.map(address).transpose()?;
    let found = parcel_repo::get_many(conn, scope, &shipment.parcels).await?;
    let parcels = shipment
        .parcels
        .iter()
        .map(|id| found.get(id).cloned().ok_or(ServiceError::NotFound))
        .collect::<Result<Vec<_>, _>>()?;
    let customs_declaration = match shipment.customs_declaration {
        Some(id) => Some(store::customs::get_declaration(conn, scope, id).await?),
        None => None,
    };
    Ok(ShipmentView {
        shipment,
        address_from,
        address_to,
        address_return,
        parcels,
        customs_declaration,
        rates: Vec::new(),
    })
}

/// A page of the principal's shipments, newest first, within the creation-date filter.
pub async fn list(
    s: &Services,
    who: &Principal,
    filter: CreatedFilter,
    page: PageRequest,
) -> Result<Page<ShipmentView>, ServiceError> {
    let mut conn = s.store.conn().await?;
    let page = repo::list(&mut conn, scope(who), filter, page).await?;
    let mut items = Vec::with_capacity(page.items.len());
    for shipment in page.items {
        items.push(view(&mut conn, scope(who), shipment).await?);
    }
    Ok(Page {
        items,
        total: page.total,
        request: page.request,
    })
}

/// The rates of one of the principal's shipments (404 if the shipment is not theirs).
pub async fn rates(
    s: &Services,
    who: &Principal,
    shipment: ObjectId,
) -> Result<Vec<Rate>, ServiceError> {
    let mut conn = s.store.conn().await?;
    repo::get(&mut conn, scope(who), shipment).await?;
    Ok(repo::rates_of(&mut conn, scope(who), shipment).await?)
}

/// One of the principal's rates.
pub async fn rate(s: &Services, who: &Principal, id: ObjectId) -> Result<Rate, ServiceError> {
    let mut conn = s.store.conn().await?;
    Ok(repo::get_rate(&mut conn, scope(who), id).await?)
}

/// Checks a currency asked for in `/shipments/{id}/rates/{CURRENCY}`: an ISO code the
/// exchange-rate table quotes.
pub fn check_currency(s: &Services, raw: &str) -> Result<String, ValidationError> {
    let code = parse_currency(raw).map_err(|m| ValidationError::field("currency", m))?;
    if !s.exchange_rates.knows(&code) {
        return Err(ValidationError::field(
            "currency",
            format!(
                "The exchange-rate table (of {}) has no rate for {code}.",
                s.exchange_rates.date
            ),
        ));
    }
    Ok(code)
}

/// A rate's price in `currency` (checked by [`check_currency`]).
pub fn price_in(s: &Services, rate: &Rate, currency: &str) -> Money {
    let quoted = &rate.details.quoted;
    match s
        .exchange_rates
        .convert(quoted.amount, &quoted.currency, currency)
    {
        Some(amount) => Money {
            amount,
            currency: currency.to_string(),
        },
        None => quoted.clone(),
    }
}
