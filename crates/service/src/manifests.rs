//! Manifests: the close-out of a day's labels for one carrier account
//! (seed 002 "Manifests", seed 001's manifest "signed by both the merchant and logistics
//! company").
//!
//! Creating one stores it as QUEUED with a `make_manifest` job in one transaction. The job puts
//! the labels on it (every eligible label when none are named: successful, not refunded, not on
//! another manifest, same carrier account and shipment day; the sender address is the pickup
//! address printed on the form, not a filter), renders the PDF and
//! records SUCCESS, or ERROR with the seed's error codes. Manifested labels cannot be refunded.

use carriers::Capability;
use documents::manifest::{ManifestData, ManifestRow};
use domain::address::{Address, AddressInput};
use domain::error::FieldErrors;
use domain::shipment::Note;
use domain::transaction::{Manifest, ManifestStatus, Transaction, TransactionStatus};
use domain::{ObjectId, Timestamp};
use rust_decimal::Decimal;
use store::jobs::Claim;

use crate::jobs::Job;
use store::{Conn, Page, PageRequest, Scope, StoreError};

use crate::labels;
use crate::rating::note;
use crate::{addresses, files, scope, Principal, ServiceError, Services};

/// Most transactions one manifest may name.
pub const MAX_TRANSACTIONS: usize = 10_000;

/// The sender address: by id or as a new object.
#[derive(Debug, Clone)]
pub enum AddressGiven {
    Id(String),
    New(Box<AddressInput>),
}

/// A manifest to create: the objects it names still to resolve, its day read by the wire layer.
#[derive(Debug, Clone, Default)]
pub struct ManifestInput {
    /// The carrier account (an id to resolve).
    pub carrier_account: Option<String>,
    /// Its day (any time within it); required.
    pub shipment_date: Option<Timestamp>,
    pub address_from: Option<AddressGiven>,
    /// Exactly these labels (ids to resolve), instead of the whole day's.
    pub transactions: Option<Vec<String>>,
    /// What the wire layer already found wrong: reported with what the service finds.
    pub errors: FieldErrors,
}

/// Creates a manifest (QUEUED); the job makes it.
#[tracing::instrument(skip_all, fields(account = %who.account_id))]
pub async fn create(
    s: &Services,
    who: &Principal,
    input: ManifestInput,
) -> Result<Manifest, ServiceError> {
    let scope = scope(who);
    let mut errors = input.errors;
    let mut conn = s.store.conn().await?;
    let carrier_account = match input.carrier_account.as_deref().map(str::trim) {
        None | Some("") => {
            errors.add("carrier_account", "This field is required.");
            None
        }
        Some(raw) => {
            let found = match ObjectId::parse(raw) {
                Some(id) => {
                    match store::carrier_accounts::get(&mut conn, scope.account_id, id).await {
                        Ok(row) => {
                            let meta = carriers::registry::find(&row.carrier);
                            if let Some(m) = meta.filter(|m| !m.can(Capability::Manifests)) {
                                errors.add(
                                    "carrier_account",
                                    carriers::CarrierError::unsupported(m, Capability::Manifests)
                                        .to_string()
                                        + " Close out its labels at the provider (e.g. an EasyPost scan form).",
                                );
                                return Err(errors
                                    .into_result()
                                    .expect_err("an error was added")
                                    .into());
                            }
                            Some(id)
                        }
                        Err(StoreError::NotFound) => None,
                        Err(e) => return Err(e.into()),
                    }
                }
                None => None,
            };
            if found.is_none() {
                errors.add(
                    "carrier_account",
                    format!("No carrier account with id \"{raw}\"."),
                );
            }
            found
        }
    };
    let shipment_date = input.shipment_date;
    if shipment_date.is_none() && !errors.iter().any(|(f, _)| f == "shipment_date") {
        errors.add(
            "shipment_date",
            "This field is required (ISO 8601, e.g. 2026-11-23T00:00:00Z).",
        );
    }
    let mut new_address: Option<Address> = None;
    let address_from = match input.address_from {
        None => {
            errors.add("address_from", "This field is required.");
            None
        }
        Some(AddressGiven::Id(raw)) => {
            let found = match ObjectId::parse(raw.trim()) {
                Some(id) => match store::addresses::get(&mut conn, scope, id).await {
                    Ok(a) => Some(a.id),
                    Err(StoreError::NotFound) => None,
                    Err(e) => return Err(e.into()),
                },
                None => None,
            };
            if found.is_none() {
                errors.add("address_from", format!("No address with id \"{raw}\"."));
            }
            found
        }
        Some(AddressGiven::New(input)) => match addresses::build(s, who, *input).await {
            Ok(a) => {
                let id = a.id;
                new_address = Some(a);
                Some(id)
            }
            Err(ServiceError::Validation(e)) => {
                errors.absorb(e.prefixed("address_from"));
                None
            }
            Err(e) => return Err(e),
        },
    };
    let mut transactions = Vec::new();
    let given = input.transactions.unwrap_or_default();
    if given.len() > MAX_TRANSACTIONS {
        errors.add(
            "transactions",
            format!("At most {MAX_TRANSACTIONS} transactions."),
        );
    } else {
        for (i, raw) in given.iter().enumerate() {
            let found = match ObjectId::parse(raw.trim()) {
                Some(id) => match store::transactions::get(&mut conn, scope, id).await {
                    Ok(t) => Some(t.id),
                    Err(StoreError::NotFound) => None,
                    Err(e) => return Err(e.into()),
                },
                None => None,
            };
            match found {
                Some(id) if !transactions.contains(&id) => transactions.push(id),
                Some(_) => {}
                None => errors.add(
                    format!("transactions.{i}"),
                    format!("No transaction with id \"{raw}\"."),
                ),
            }
        }
    }
    errors.into_result()?;
    drop(conn);
    let now = Timestamp::now();
    let manifest = Manifest {
        id: ObjectId::at(now.millis()),
        created: now,
        updated: now,
        test: scope.test,
        status: ManifestStatus::Queued,
        carrier_account: carrier_account.expect("checked"),
        shipment_date: shipment_date.expect("checked"),
        address_from: address_from.expect("checked"),
        transactions,
        document_key: None,
        errors: Vec::new(),
    };
    let job = Job::MakeManifest {
        account: scope.account_id,
        test: scope.test,
        manifest: manifest.id,
    }
    .due_now();
    let stored = manifest.clone();
    s.store
        .write(move |conn| {
            Box::pin(async move {
                if let Some(a) = &new_address {
                    store::addresses::insert(conn, scope, a).await?;
                }
                store::manifests::insert(conn, scope, &stored).await?;
                store::jobs::enqueue(conn, job).await?;
                Ok(())
            })
        })
        .await?;
    s.job_signal.notify_one();
    Ok(manifest)
}

/// One of the principal's manifests.
pub async fn get(s: &Services, who: &Principal, id: ObjectId) -> Result<Manifest, ServiceError> {
    Ok(store::manifests::get(&mut *s.store.conn().await?, scope(who), id).await?)
}

/// A page of the principal's manifests, newest first.
pub async fn list(
    s: &Services,
    who: &Principal,
    page: PageRequest,
) -> Result<Page<Manifest>, ServiceError> {
    Ok(store::manifests::list(&mut *s.store.conn().await?, scope(who), page).await?)
}

/// The UTC day `[start, end)` containing `t`.
fn day_of(t: Timestamp) -> (Timestamp, Timestamp) {
    let day = 86_400_000;
    let start = t.millis().div_euclid(day) * day;
    (
        Timestamp::from_millis(start),
        Timestamp::from_millis(start + day),
    )
}

fn error(code: &str, text: &str) -> Note {
    note("Consign", code, text)
}

/// The seed's sender-address error codes for `a`.
fn address_errors(a: &Address) -> Vec<Note> {
    let f = &a.fields;
    let mut out = Vec::new();
    if f.zip.trim().is_empty() {
        out.push(error("address_from_missing_zip", "The sender address is missing the zip. Please update the sender address and try again."));
    }
    if f.city.trim().is_empty() {
        out.push(error("address_from_missing_city", "The sender address is missing the city. Please update the sender address and try again."));
    }
    if f.name.trim().is_empty() && f.company.trim().is_empty() {
        out.push(error("address_from_missing_name", "The sender address is missing the name. Please update the sender address and try again."));
    }
    out
}

/// Makes a QUEUED manifest (idempotent: labels already on it stay on it; a finished manifest is
/// left alone).
pub(crate) async fn run_manifest_job(
    s: &Services,
    job: &Claim,
    scope: Scope,
    id: ObjectId,
) -> Result<(), ServiceError> {
    let job_id = job.id;
    let mut conn = s.store.conn().await?;
    let mut m = store::manifests::get(&mut conn, scope, id).await?;
    if m.status != ManifestStatus::Queued {
        drop(conn);
        s.store
            .write(move |conn| Box::pin(async move { store::jobs::complete(conn, job_id).await }))
            .await?;
        return Ok(());
    }
    let from = store::addresses::get(&mut conn, scope, m.address_from).await?;
    let mut errors = address_errors(&from);
    let (start, end) = day_of(m.shipment_date);
    let already = store::transactions::on_manifest(&mut conn, id).await?;
    let candidates: Vec<Transaction> = if !already.is_empty() {
        already
    } else if m.transactions.is_empty() {
        store::transactions::manifestable(&mut conn, scope, m.carrier_account, start, end).await?
    } else {
        let mut chosen = Vec::new();
        for tid in &m.transactions {
            let t = store::transactions::get(&mut conn, scope, *tid).await?;
            if t.carrier_account != m.carrier_account
                || t.status != TransactionStatus::Success
                || t.manifest.is_some()
            {
                errors.push(error(
                    "manifest_invalid_transactions",
                    &format!("Transaction {} cannot be manifested: it must be a successful, unrefunded label of this carrier account not already on a manifest.", t.id),
                ));
            } else {
                chosen.push(t);
            }
        }
        chosen
    };
    if candidates.is_empty() && errors.is_empty() {
        errors.push(error("manifest_no_transactions", "There are no shipments in the manifest. Please check that the shipment date of the shipments matches the shipment date of the manifest."));
    }
    if !errors.is_empty() {
        m.status = ManifestStatus::Error;
        m.errors = errors;
        m.updated = Timestamp::now();
        drop(conn);
        s.store
            .write(move |conn| {
                Box::pin(async move {
                    store::manifests::finish(conn, &m).await?;
                    store::jobs::complete(conn, job_id).await
                })
            })
            .await?;
        return Ok(());
    }
    let data = manifest_data(&mut conn, s, scope, &m, &from, &candidates).await?;
    drop(conn);
    let doc = documents::manifest::render(&data)
        .map_err(|e| ServiceError::internal(format!("manifest document: {e}")))?;
    let key = files::key(scope.account_id, m.id, "manifest.pdf");
    labels::put(s, &key, doc.bytes).await?;
    m.transactions = candidates.iter().map(|t| t.id).collect();
    m.document_key = Some(key);
    m.status = ManifestStatus::Success;
    m.updated = Timestamp::now();
    s.store
        .write(move |conn| {
            Box::pin(async move {
                let taken =
                    store::transactions::assign_manifest(conn, &m.transactions, m.id, m.updated)
                        .await?;
                let mut m = m;
                if taken as usize != m.transactions.len() {
                    // A label was refunded or manifested meanwhile: only what is on it counts.
                    m.transactions = store::transactions::on_manifest(conn, m.id)
                        .await?
                        .iter()
                        .map(|t| t.id)
                        .collect();
                }
                store::manifests::finish(conn, &m).await?;
                store::jobs::complete(conn, job_id).await
            })
        })
        .await?;
    Ok(())
}

async fn manifest_data(
    conn: &mut Conn,
    s: &Services,
    scope: Scope,
    m: &Manifest,
    from: &Address,
    labels_on: &[Transaction],
) -> Result<ManifestData, ServiceError> {
    let account = store::carrier_accounts::get(conn, scope.account_id, m.carrier_account).await?;
    let mut rows = Vec::with_capacity(labels_on.len());
    let mut grams = Decimal::ZERO;
    let mut carrier = String::new();
    for t in labels_on {
        let shipment = store::shipments::get(conn, scope, t.shipment).await?;
        let to = store::addresses::get(conn, scope, shipment.address_to).await?;
        let rate = store::shipments::get_rate(conn, scope, t.rate).await?;
        let mut weight = Decimal::ZERO;
        for pid in &shipment.parcels {
            let p = store::parcels::get(conn, scope, *pid).await?;
            weight +=
                domain::units::convert_mass(p.weight, p.mass_unit, domain::units::MassUnit::G);
        }
        grams += weight;
        carrier.clone_from(&rate.details.provider);
        rows.push(ManifestRow {
            tracking_number: t.tracking_number.clone().unwrap_or_default(),
            city: to.fields.city.clone(),
            postal_code: to.fields.zip.clone(),
            country: to.fields.country.clone(),
            service: rate.details.service_name.clone(),
            weight: format!(
                "{} kg",
                (weight / Decimal::ONE_THOUSAND).round_dp(3).normalize()
            ),
        });
    }
    let _ = s;
    Ok(ManifestData {
        manifest_id: m.id.to_string(),
        carrier: if carrier.is_empty() {
            account.carrier.clone()
        } else {
            carrier
        },
        account: account.carrier_account_id.clone(),
        shipment_date: m.shipment_date.to_datetime().format("%Y-%m-%d").to_string(),
        from: domain::address_layout::lines(&from.fields),
        rows,
        total_weight: format!(
            "{} kg",
            (grams / Decimal::ONE_THOUSAND).round_dp(3).normalize()
        ),
        test: m.test,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::address::{AddressFields, AddressState, Purpose, Source};

    fn address(fields: AddressFields) -> Address {
        Address {
            id: ObjectId::new(),
            created: Timestamp::now(),
            updated: Timestamp::now(),
            test: true,
            fields,
            purpose: Purpose::Purchase,
            state: AddressState::Valid,
            source: Source::Validator,
            messages: Vec::new(),
            validation: None,
        }
    }

    #[test]
    fn a_sender_without_zip_city_or_name_gets_the_seeds_codes() {
        let codes = |a: &Address| {
            address_errors(a)
                .into_iter()
                .map(|n| n.code)
                .collect::<Vec<_>>()
        };
        let empty = address(AddressFields {
            country: "US".into(),
            ..Default::default()
        });
        assert_eq!(
            codes(&empty),
            [
                "address_from_missing_zip",
                "address_from_missing_city",
                "address_from_missing_name"
            ]
        );
        let fine = address(AddressFields {
            name: "Shop".into(),
            city: "Lisboa".into(),
            zip: "1100-053".into(),
            country: "PT".into(),
            ..Default::default()
        });
        assert!(codes(&fine).is_empty());
    }

    #[test]
    fn the_day_of_a_shipment_date_is_its_utc_day() {
        let t = Timestamp::parse("2026-11-23T18:30:00Z").unwrap();
        let (start, end) = day_of(t);
        assert_eq!(start, Timestamp::parse("2026-11-23T00:00:00Z").unwrap());
        assert_eq!(end, Timestamp::parse("2026-11-24T00:00:00Z").unwrap());
    }
}
