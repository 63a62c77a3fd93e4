//! Parcel use cases (seed 002, "Parcels").

use domain::parcel::{self, Parcel, ParcelInput};
use domain::{ObjectId, Timestamp};
use store::{parcels as repo, Page, PageRequest};

use crate::{scope, Principal, ServiceError, Services};

/// Creates a parcel from checked input.
#[tracing::instrument(skip_all, fields(account = %who.account_id))]
pub async fn create(
    s: &Services,
    who: &Principal,
    input: ParcelInput,
) -> Result<Parcel, ServiceError> {
    let parcel = build(who, input)?;
    let scope = scope(who);
    Ok(s.store
        .write(move |conn| {
            Box::pin(async move { repo::insert(conn, scope, &parcel).await.map(|()| parcel) })
        })
        .await?)
}

/// A new parcel from checked input, not yet stored (shipments store theirs with the shipment).
pub(crate) fn build(who: &Principal, input: ParcelInput) -> Result<Parcel, ServiceError> {
    let p = parcel::parse_parcel(input)?;
    let now = Timestamp::now();
    let parcel = Parcel {
        id: ObjectId::at(now.millis()),
        created: now,
        updated: now,
        test: who.mode.is_test(),
        length: p.length,
        width: p.width,
        height: p.height,
        distance_unit: p.distance_unit,
        weight: p.weight,
        mass_unit: p.mass_unit,
        template: p.template,
        extra: p.extra,
        metadata: p.metadata,
    };
    Ok(parcel)
}

/// One of the principal's parcels.
pub async fn get(s: &Services, who: &Principal, id: ObjectId) -> Result<Parcel, ServiceError> {
    let mut conn = s.store.conn().await?;
    Ok(repo::get(&mut conn, scope(who), id).await?)
}

/// A page of the principal's parcels, newest first.
pub async fn list(
    s: &Services,
    who: &Principal,
    page: PageRequest,
) -> Result<Page<Parcel>, ServiceError> {
    let mut conn = s.store.conn().await?;
    Ok(repo::list(&mut conn, scope(who), page).await?)
}
