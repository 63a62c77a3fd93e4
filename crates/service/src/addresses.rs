//! Address use cases (seed 002, "Addresses").

use domain::address::{self, Address, AddressInput, Source};
use domain::{ObjectId, Timestamp};
use store::{addresses as repo, Page, PageRequest};

use crate::{scope, Principal, ServiceError, Services};

/// Creates an address: refuses malformed input, records the creation checks, and validates
/// (normalising values) when asked to.
#[tracing::instrument(skip_all, fields(account = %who.account_id))]
pub async fn create(
    s: &Services,
    who: &Principal,
    input: AddressInput,
) -> Result<Address, ServiceError> {
    let address = build(s, who, input).await?;
    let scope = scope(who);
    Ok(s.store
        .write(move |conn| {
            Box::pin(async move { repo::insert(conn, scope, &address).await.map(|()| address) })
        })
        .await?)
}

/// A new address from checked input, not yet stored (shipments store theirs with the shipment).
pub(crate) async fn build(
    s: &Services,
    who: &Principal,
    input: AddressInput,
) -> Result<Address, ServiceError> {
    let validate = input.validate;
    let (mut fields, requested) = address::parse_input(input)?;
    let mut validation = None;
    if validate {
        let (normalised, results) = s.validator.validate(&fields).await?;
        fields = normalised;
        validation = Some(results);
    }
    let verdict = address::assess(&fields, requested);
    let now = Timestamp::now();
    let address = Address {
        id: ObjectId::at(now.millis()),
        created: now,
        updated: now,
        test: who.mode.is_test(),
        purpose: verdict.purpose,
        state: verdict.state,
        source: if validation.is_some() {
            Source::Validator
        } else {
            verdict.source
        },
        messages: match &validation {
            Some(v) => v.messages.clone(),
            None => verdict.messages,
        },
        validation,
        fields,
    };
    Ok(address)
}

/// One of the principal's addresses.
pub async fn get(s: &Services, who: &Principal, id: ObjectId) -> Result<Address, ServiceError> {
    let mut conn = s.store.conn().await?;
    Ok(repo::get(&mut conn, scope(who), id).await?)
}

/// A page of the principal's addresses, newest first.
pub async fn list(
    s: &Services,
    who: &Principal,
    page: PageRequest,
) -> Result<Page<Address>, ServiceError> {
    let mut conn = s.store.conn().await?;
    Ok(repo::list(&mut conn, scope(who), page).await?)
}

/// Validates a stored address: the validator's normalised values replace the entered ones
/// (`object_source` becomes `VALIDATOR`) and `validation_results` records the verdict.
#[tracing::instrument(skip_all, fields(account = %who.account_id, address = %id))]
pub async fn validate(
    s: &Services,
    who: &Principal,
    id: ObjectId,
) -> Result<Address, ServiceError> {
    let mut address = get(s, who, id).await?;
    let (fields, results) = s.validator.validate(&address.fields).await?;
    let verdict = address::assess(&fields, Some(address.purpose));
    address.fields = fields;
    address.state = verdict.state;
    address.source = Source::Validator;
    address.messages = results.messages.clone();
    address.validation = Some(results);
    address.updated = Timestamp::now();
    let scope = scope(who);
    Ok(s.store
        .write(move |conn| {
            Box::pin(async move { repo::update(conn, scope, &address).await.map(|()| address) })
        })
        .await?)
}

/// Adds a sender address (one "Buy labels" ships from): made as a PURCHASE address and
/// refused unless complete, so a label can be bought from it.
pub async fn add_sender(
    s: &Services,
    who: &Principal,
    mut input: AddressInput,
) -> Result<Address, ServiceError> {
    input.purpose = Some("PURCHASE".into());
    let address = build(s, who, input).await?;
    if !address.is_complete() {
        let why: Vec<String> = address.messages.iter().map(|m| m.text.clone()).collect();
        return Err(domain::ValidationError::field(
            "address",
            format!("A sender address must be complete: {}", why.join(" ")),
        )
        .into());
    }
    let scope = scope(who);
    let actor = who.clone();
    Ok(s.store
        .write(move |conn| {
            Box::pin(async move {
                repo::insert(conn, scope, &address).await?;
                repo::add_sender(conn, scope, address.id).await?;
                let f = &address.fields;
                let detail = format!("{}, {}, {} {}", f.name, f.street1, f.city, f.country);
                crate::audit::record(
                    conn,
                    &actor,
                    "added a sender address",
                    Some(address.id),
                    &detail,
                )
                .await?;
                Ok(address)
            })
        })
        .await?)
}

/// Removes a sender address from the list (the address stays: labels name it).
pub async fn remove_sender(
    s: &Services,
    who: &Principal,
    id: ObjectId,
) -> Result<(), ServiceError> {
    let scope = scope(who);
    let actor = who.clone();
    let removed = s
        .store
        .write(move |conn| {
            Box::pin(async move {
                let removed = repo::remove_sender(conn, scope, id).await?;
                if removed {
                    crate::audit::record(conn, &actor, "removed a sender address", Some(id), "")
                        .await?;
                }
                Ok(removed)
            })
        })
        .await?;
    if removed {
        Ok(())
    } else {
        Err(ServiceError::NotFound)
    }
}

/// The principal's sender addresses, oldest first.
pub async fn senders(s: &Services, who: &Principal) -> Result<Vec<Address>, ServiceError> {
    Ok(repo::senders(&mut *s.store.conn().await?, scope(who)).await?)
}
