//! Shipments and their rates (seed 002 "Shipments", "Rates").
//!
//! Creating a shipment stores any nested addresses and parcels, the shipment and, with
//! `async: false`, its rates, in one transaction. With `async: true` the shipment is stored as
//! QUEUED together with a `rate_shipment` job in the same transaction; the job worker prices it
//! and records the rates and SUCCESS in one more.

use domain::address::{parse_purpose, Address, AddressInput, Purpose};
use domain::customs::{CustomsDeclaration, CustomsItem};
use domain::error::FieldErrors;
use domain::money::parse_currency;
use domain::parcel::{Parcel, ParcelInput};
use domain::shipment::{purpose_of, Money, Rate, Shipment, ShipmentStatus};
use domain::shipment_extra::{parse_shipment_extra, ShipmentExtra};
use domain::text::{check_text, pick};
use domain::{ObjectId, Timestamp, ValidationError};
use serde_json::{Map, Value};
use store::jobs::{self, Claim};

use crate::jobs::Job;
use store::shipments::{self as repo, CreatedFilter, NewShipment};
use store::{
    addresses as address_repo, parcels as parcel_repo, Conn, LazyConn, Page, PageRequest, Scope,
};

use crate::customs::{self, DeclarationRef};
use crate::rating::{self, Parts};
use crate::{addresses, parcels, scope, Principal, ServiceError, Services};

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

/// What a caller sends to create a shipment (current and seed-era fields alike).
#[derive(Debug, Clone, Default)]
pub struct ShipmentInput {
    pub address_from: Option<AddressRef>,
    pub address_to: Option<AddressRef>,
    pub address_return: Option<AddressRef>,
    /// `parcels`, or the seed's single `parcel`.
    pub parcels: Vec<ParcelRef>,
    /// A customs declaration by id or as a new object.
    pub customs_declaration: Option<DeclarationRef>,
    pub extra: Option<Value>,
    pub carrier_accounts: Vec<String>,
    /// `shipment_date`, or the seed's `submission_date`.
    pub shipment_date: Option<String>,
    pub metadata: Option<String>,
    /// The seed's `object_purpose`.
    pub purpose: Option<String>,
    /// Answer at once with QUEUED and price in the background.
    pub asynchronous: bool,
    /// Seed-era top-level fields, folded into `extra`.
    pub insurance_amount: Option<String>,
    pub insurance_currency: Option<String>,
    pub reference_1: Option<String>,
    pub reference_2: Option<String>,
    /// Seed-era: `DROPOFF` or `PICKUP` (checked, not used for pricing).
    pub submission_type: Option<String>,
    /// Seed-era scan-based returns: the outbound transaction.
    pub return_of: Option<String>,
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

/// Which address field and whether it was made by this request.
struct Resolved<T> {
    value: T,
    new: bool,
}

/// Creates a shipment and, unless `asynchronous`, prices it before answering.
#[tracing::instrument(skip_all, fields(account = %who.account_id))]
pub async fn create(
    s: &Services,
    who: &Principal,
    input: ShipmentInput,
) -> Result<ShipmentView, ServiceError> {
    let scope = scope(who);
    let mut errors = FieldErrors::new();
    let mut conn = s.store.lazy_conn();

    let extra_value = extra_with_legacy_fields(&input, &mut errors);
    check_stored_json(&mut errors, "extra", &extra_value);
    let extra = match parse_shipment_extra(Some(&extra_value)) {
        Ok(x) => Some(x),
        Err(e) => {
            errors.absorb(e);
            None
        }
    };
    let from = resolve_address(
        s,
        who,
        &mut conn,
        "address_from",
        input.address_from,
        true,
        &mut errors,
    )
    .await?;
    let to = resolve_address(
        s,
        who,
        &mut conn,
        "address_to",
        input.address_to,
        true,
        &mut errors,
    )
    .await?;
    let ret = resolve_address(
        s,
        who,
        &mut conn,
        "address_return",
        input.address_return,
        false,
        &mut errors,
    )
    .await?;
    let parcels = resolve_parcels(who, &mut conn, input.parcels, &mut errors).await?;
    let carrier_accounts =
        check_carrier_accounts(s, &mut conn, scope, &input.carrier_accounts, &mut errors).await?;

    let shipment_date = match input.shipment_date.as_deref().map(str::trim) {
        None | Some("") => Timestamp::now(),
        Some(raw) => Timestamp::parse(raw).unwrap_or_else(|| {
            errors.add(
                "shipment_date",
                format!("\"{raw}\" is not an ISO 8601 date-time such as 2014-01-18T00:35:03.463Z."),
            );
            Timestamp::now()
        }),
    };
    let metadata = input.metadata.unwrap_or_default().trim().to_string();
    check_text(&mut errors, "metadata", &metadata, 100);
    let (customs_declaration, new_declaration, new_customs_items) =
        resolve_declaration(who, &mut conn, input.customs_declaration, &mut errors).await?;
    drop(conn);
    if let Err(m) = pick(
        input.submission_type.as_deref().unwrap_or(""),
        &["DROPOFF", "PICKUP"],
    ) {
        errors.add("submission_type", m);
    }
    if let Some(id) = input
        .return_of
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        errors.add("return_of", format!("No transaction with id \"{id}\"."));
    }
    let requested = parse_purpose(input.purpose.as_deref()).unwrap_or_else(|m| {
        errors.add("object_purpose", m);
        None
    });
    if requested == Some(Purpose::Purchase) {
        for (field, a) in [("address_from", &from), ("address_to", &to)] {
            if let Some(a) = a.as_ref().filter(|a| a.value.purpose == Purpose::Quote) {
                errors.add(field, format!(
                    "A PURCHASE shipment needs PURCHASE addresses; address {} is a QUOTE address (it lacks values a label needs).",
                    a.value.id
                ));
            }
        }
    }
    errors.into_result()?;
    let (from, to, extra) = (
        from.expect("checked"),
        to.expect("checked"),
        extra.expect("checked"),
    );

    let now = Timestamp::now();
    let mut shipment = Shipment {
        id: ObjectId::at(now.millis()),
        created: now,
        updated: now,
        test: scope.test,
        status: if input.asynchronous {
            ShipmentStatus::Queued
        } else {
            ShipmentStatus::Success
        },
        purpose: match requested {
            Some(Purpose::Quote) => Purpose::Quote,
            _ => purpose_of(from.value.purpose, to.value.purpose),
        },
        address_from: from.value.id,
        address_to: to.value.id,
        address_return: ret.as_ref().map(|r| r.value.id),
        parcels: parcels.iter().map(|p| p.value.id).collect(),
        shipment_date,
        carrier_accounts,
        customs_declaration: customs_declaration.as_ref().map(|d| d.id),
        extra: extra_value,
        metadata,
        messages: Vec::new(),
    };
    let parcel_values: Vec<Parcel> = parcels.iter().map(|p| p.value.clone()).collect();
    let rates = if input.asynchronous {
        Vec::new()
    } else {
        let parts = Parts {
            from: &from.value,
            to: &to.value,
            parcels: &parcel_values,
            extra: &extra,
        };
        let priced = rating::price(s, scope, &shipment, &parts).await?;
        shipment.messages = priced.messages;
        priced.rates
    };

    let new_addresses: Vec<Address> = [Some(&from), Some(&to), ret.as_ref()]
        .into_iter()
        .flatten()
        .filter(|a| a.new)
        .map(|a| a.value.clone())
        .collect();
    let new_parcels: Vec<Parcel> = parcels
        .iter()
        .filter(|p| p.new)
        .map(|p| p.value.clone())
        .collect();
    let job = input.asynchronous.then(|| {
        Job::RateShipment {
            account: scope.account_id,
            test: scope.test,
            shipment: shipment.id,
        }
        .due_now()
    });
    let new = NewShipment {
        addresses: &new_addresses,
        parcels: &new_parcels,
        customs_items: &new_customs_items,
        declaration: new_declaration,
        shipment: &shipment,
        rates: &rates,
        job,
    };
    s.store
        .write_script(repo::creation_script(s.store.backend(), scope, &new))
        .await?;
    if input.asynchronous {
        s.job_signal.notify_one();
    }
    Ok(ShipmentView {
        shipment,
        address_from: from.value,
        address_to: to.value,
        address_return: ret.map(|r| r.value),
        parcels: parcel_values,
        customs_declaration,
        rates,
    })
}

/// The declaration a shipment names: `(declaration, the new one to store, its new items)`.
async fn resolve_declaration(
    who: &Principal,
    conn: &mut LazyConn<'_>,
    given: Option<DeclarationRef>,
    errors: &mut FieldErrors,
) -> Result<
    (
        Option<CustomsDeclaration>,
        Option<CustomsDeclaration>,
        Vec<CustomsItem>,
    ),
    ServiceError,
> {
    const FIELD: &str = "customs_declaration";
    match given {
        None => Ok((None, None, Vec::new())),
        Some(DeclarationRef::Id(raw)) => {
            let found = match ObjectId::parse(raw.trim()) {
                Some(id) => {
                    found(store::customs::get_declaration(conn.get().await?, scope(who), id).await)?
                }
                None => None,
            };
            if found.is_none() {
                errors.add(FIELD, format!("No customs declaration with id \"{raw}\"."));
            }
            Ok((found, None, Vec::new()))
        }
        Some(DeclarationRef::New(input, items)) => {
            match customs::build_declaration(who, conn, *input, items).await? {
                Ok((declaration, new_items)) => {
                    Ok((Some(declaration.clone()), Some(declaration), new_items))
                }
                Err(e) => {
                    errors.absorb(e.prefixed(FIELD));
                    Ok((None, None, Vec::new()))
                }
            }
        }
    }
}

/// Largest `extra` object stored as sent, serialised.
pub const STORED_JSON_MAX: usize = 32 * 1024;

fn check_stored_json(errors: &mut FieldErrors, field: &str, value: &Value) {
    if value.to_string().len() > STORED_JSON_MAX {
        errors.add(
            field,
            format!("Must be at most {STORED_JSON_MAX} bytes of JSON."),
        );
    }
}

/// `extra` with the seed's top-level `insurance_amount`/`insurance_currency` and
/// `reference_1`/`reference_2` folded in where today's API has them (values in `extra` win).
fn extra_with_legacy_fields(input: &ShipmentInput, errors: &mut FieldErrors) -> Value {
    let mut extra = match &input.extra {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(other) => {
            errors.add("extra", format!("Expected an object, found {other}."));
            Map::new()
        }
    };
    let given = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    match (
        given(&input.insurance_amount),
        given(&input.insurance_currency),
    ) {
        (Some(amount), Some(currency)) => {
            extra
                .entry("insurance")
                .or_insert_with(|| serde_json::json!({"amount": amount, "currency": currency}));
        }
        (Some(_), None) => errors.add(
            "insurance_currency",
            "Required when insurance_amount is set.",
        ),
        _ => {}
    }
    for (key, value) in [
        ("reference_1", &input.reference_1),
        ("reference_2", &input.reference_2),
    ] {
        if let Some(v) = given(value) {
            extra.entry(key).or_insert(Value::String(v));
        }
    }
    Value::Object(extra)
}

#[allow(clippy::too_many_arguments)]
async fn resolve_address(
    s: &Services,
    who: &Principal,
    conn: &mut LazyConn<'_>,
    field: &str,
    given: Option<AddressRef>,
    required: bool,
    errors: &mut FieldErrors,
) -> Result<Option<Resolved<Address>>, ServiceError> {
    match given {
        None => {
            if required {
                errors.add(field, "This field is required.");
            }
            Ok(None)
        }
        Some(AddressRef::Id(raw)) => {
            let found = match ObjectId::parse(raw.trim()) {
                Some(id) => found(address_repo::get(conn.get().await?, scope(who), id).await)?,
                None => None,
            };
            if found.is_none() {
                errors.add(field, format!("No address with id \"{raw}\"."));
            }
            Ok(found.map(|value| Resolved { value, new: false }))
        }
        Some(AddressRef::New(input)) => match addresses::build(s, who, *input).await {
            Ok(value) => Ok(Some(Resolved { value, new: true })),
            Err(ServiceError::Validation(e)) => {
                errors.absorb(e.prefixed(field));
                Ok(None)
            }
            Err(e) => Err(e),
        },
    }
}

async fn resolve_parcels(
    who: &Principal,
    conn: &mut LazyConn<'_>,
    given: Vec<ParcelRef>,
    errors: &mut FieldErrors,
) -> Result<Vec<Resolved<Parcel>>, ServiceError> {
    if given.is_empty() {
        errors.add("parcels", "At least one parcel is required.");
    }
    if given.len() > MAX_PARCELS {
        errors.add(
            "parcels",
            format!("At most {MAX_PARCELS} parcels per shipment."),
        );
        return Ok(Vec::new());
    }
    let mut out = Vec::with_capacity(given.len());
    for (i, p) in given.into_iter().enumerate() {
        let field = format!("parcels.{i}");
        match p {
            ParcelRef::Id(raw) => {
                let found = match ObjectId::parse(raw.trim()) {
                    Some(id) => found(parcel_repo::get(conn.get().await?, scope(who), id).await)?,
                    None => None,
                };
                match found {
                    Some(value) => out.push(Resolved { value, new: false }),
                    None => errors.add(field, format!("No parcel with id \"{raw}\".")),
                }
            }
            ParcelRef::New(input) => match parcels::build(who, *input) {
                Ok(value) => out.push(Resolved { value, new: true }),
                Err(ServiceError::Validation(e)) => errors.absorb(e.prefixed(&field)),
                Err(e) => return Err(e),
            },
        }
    }
    Ok(out)
}

/// `Ok(None)` for a row that does not exist (or is not the caller's).
fn found<T>(r: Result<T, store::StoreError>) -> Result<Option<T>, ServiceError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(store::StoreError::NotFound) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

async fn check_carrier_accounts(
    s: &Services,
    conn: &mut LazyConn<'_>,
    scope: Scope,
    given: &[String],
    errors: &mut FieldErrors,
) -> Result<Vec<ObjectId>, ServiceError> {
    if given.is_empty() {
        return Ok(Vec::new());
    }
    let known = rating::rating_accounts(s, conn, scope.account_id).await?;
    let mut ids = Vec::with_capacity(given.len());
    for (i, raw) in given.iter().enumerate() {
        match ObjectId::parse(raw.trim()).filter(|id| known.iter().any(|k| k.id == *id)) {
            Some(id) if !ids.contains(&id) => ids.push(id),
            Some(_) => {}
            None => errors.add(
                format!("carrier_accounts.{i}"),
                format!("No carrier account with id \"{raw}\"."),
            ),
        }
    }
    Ok(ids)
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
    let address_from = address_repo::get(conn, scope, shipment.address_from).await?;
    let address_to = address_repo::get(conn, scope, shipment.address_to).await?;
    let address_return = match shipment.address_return {
        Some(id) => Some(address_repo::get(conn, scope, id).await?),
        None => None,
    };
    let mut parcels = Vec::with_capacity(shipment.parcels.len());
    for id in &shipment.parcels {
        parcels.push(parcel_repo::get(conn, scope, *id).await?);
    }
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

/// Runs a [`Job::RateShipment`]: prices the queued shipment and records its rates, SUCCESS and the job's
/// completion in one transaction. Idempotent: a shipment no longer QUEUED is left alone.
pub(crate) async fn run_rate_job(
    s: &Services,
    job: &Claim,
    scope: Scope,
    id: ObjectId,
) -> Result<(), ServiceError> {
    let mut conn = s.store.conn().await?;
    let shipment = repo::get(&mut conn, scope, id).await?;
    let priced = if shipment.status == ShipmentStatus::Queued {
        let v = view(&mut conn, scope, shipment.clone()).await?;
        drop(conn);
        let extra: ShipmentExtra = parse_shipment_extra(Some(&shipment.extra)).map_err(|e| {
            ServiceError::internal(format!(
                "stored extra of shipment {id} no longer parses: {e}"
            ))
        })?;
        let parts = Parts {
            from: &v.address_from,
            to: &v.address_to,
            parcels: &v.parcels,
            extra: &extra,
        };
        Some(rating::price(s, scope, &shipment, &parts).await?)
    } else {
        None
    };
    let job_id = job.id;
    s.store
        .write(move |conn| {
            Box::pin(async move {
                if let Some(priced) = priced {
                    // Another worker may have finished it while this one priced (an expired lease).
                    if repo::get(conn, scope, id).await?.status == ShipmentStatus::Queued {
                        repo::insert_rates(conn, scope, &priced.rates).await?;
                        repo::set_status(
                            conn,
                            scope,
                            id,
                            ShipmentStatus::Success,
                            &priced.messages,
                            Timestamp::now(),
                        )
                        .await?;
                    }
                }
                jobs::complete(conn, job_id).await
            })
        })
        .await?;
    Ok(())
}

/// Marks a queued shipment ERROR after its job gave up, saying why.
pub(crate) async fn fail_rate_job(
    s: &Services,
    job: &Claim,
    scope: Scope,
    id: ObjectId,
    error: &str,
) -> Result<(), ServiceError> {
    let (job_id, error) = (job.id, error.to_string());
    s.store
        .write(move |conn| {
            Box::pin(async move {
                if repo::get(conn, scope, id).await?.status == ShipmentStatus::Queued {
                    let note = rating::note(
                        rating::CONSIGN,
                        "rating_failed",
                        format!("Rates could not be computed: {error}"),
                    );
                    repo::set_status(
                        conn,
                        scope,
                        id,
                        ShipmentStatus::Error,
                        &[note],
                        Timestamp::now(),
                    )
                    .await?;
                }
                jobs::abandon(conn, job_id, &error).await
            })
        })
        .await?;
    Ok(())
}
