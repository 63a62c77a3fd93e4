//! The job that prices an `async` shipment.

use domain::shipment::ShipmentStatus;
use domain::{ObjectId, Timestamp};
use store::jobs::{self, Claim};

use store::shipments as repo;
use store::Scope;

use super::view;
use crate::rating::{self, Parts};
use crate::{ServiceError, Services};

/// Runs a [`crate::jobs::Job::RateShipment`]: prices the queued shipment and records its rates,
/// SUCCESS and the job's completion in one transaction. Idempotent: a shipment no longer QUEUED is left alone.
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
        let extra = shipment.extras.clone();
        let customs = rating::customs_of(s, scope, v.customs_declaration.as_ref(), &[]).await?;
        let parts = Parts {
            from: &v.address_from,
            to: &v.address_to,
            parcels: &v.parcels,
            extra: &extra,
            customs,
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
