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
