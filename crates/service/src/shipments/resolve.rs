//! What a shipment request names by id or as an object, resolved: addresses, parcels, the
//! customs declaration and the carrier accounts to ask.

use domain::address::Address;
use domain::customs::{CustomsDeclaration, CustomsItem};
use domain::error::FieldErrors;
use domain::parcel::Parcel;
use domain::ObjectId;

use store::{addresses as address_repo, parcels as parcel_repo, LazyConn, Scope};

use super::{AddressRef, ParcelRef, MAX_PARCELS};
use crate::customs::{self, DeclarationRef};
use crate::{addresses, parcels, scope, Principal, ServiceError, Services};

/// Which address field and whether it was made by this request.
pub(super) struct Resolved<T> {
    pub(super) value: T,
    pub(super) new: bool,
}

/// The declaration a shipment names: `(declaration, the new one to store, its new items)`.
pub(super) async fn resolve_declaration(
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

#[allow(clippy::too_many_arguments)]
pub(super) async fn resolve_address(
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

pub(super) async fn resolve_parcels(
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
pub(super) fn found<T>(r: Result<T, store::StoreError>) -> Result<Option<T>, ServiceError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(store::StoreError::NotFound) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

pub(super) async fn check_carrier_accounts(
    s: &Services,
    conn: &mut LazyConn<'_>,
    scope: Scope,
    given: &[String],
    errors: &mut FieldErrors,
) -> Result<Vec<ObjectId>, ServiceError> {
    if given.is_empty() {
        return Ok(Vec::new());
    }
    let known = crate::adapters::of_owner(s, conn, scope.account_id).await?;
    let mut ids = Vec::with_capacity(given.len());
    for (i, raw) in given.iter().enumerate() {
        match ObjectId::parse(raw.trim()).filter(|id| known.iter().any(|k| k.account.id == *id)) {
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
