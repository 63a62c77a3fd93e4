//! The error queue's fix in place: a shipment of a batch made from orders that cannot be bought
//! (INVALID or INCOMPLETE) is corrected — the order's ship-to, the parcel's weight, the customs
//! defaults — and validated again in the same batch, which is VALIDATING until it is.
//!
//! A new ship-to is the order's own correction ([`crate::orders::change_ship_to`]: validated,
//! audited, `order_updated`), made first; the shipment's new plan and its return to PENDING are
//! then one transaction with the batch locked. If that second step fails, the order keeps its
//! corrected address and the fix can simply be sent again.

use domain::address::AddressInput;
use domain::batch::{Batch, BatchShipment, BatchShipmentStatus, BatchStatus};
use domain::units::MassUnit;
use domain::{ObjectId, ValidationError};
use rust_decimal::Decimal;

use super::{closed, CustomsPlan, ParcelPlan, ShipmentSource};
use crate::jobs::Job;
use crate::orders::OrderView;
use crate::{scope, Principal, ServiceError, Services};

/// What a person corrects in one shipment of the error queue; `None` keeps what it was.
#[derive(Debug, Clone, Default)]
pub struct ShipmentFix {
    /// The order's new ship-to.
    pub ship_to: Option<AddressInput>,
    /// The parcel's weight and its unit, over what the order says.
    pub weight: Option<(String, String)>,
    /// Customs defaults; an empty field keeps the batch's.
    pub customs: CustomsPlan,
}

/// What the fix form shows: the shipment, why it failed, its order and its plan.
#[derive(Debug, Clone)]
pub struct FixView {
    pub batch: Batch,
    pub shipment: BatchShipment,
    pub order: OrderView,
    /// The parcel and customs plan it is made with.
    pub parcel: ParcelPlan,
    pub customs: CustomsPlan,
    /// Sent from another country than the ship-to's (a customs declaration is made).
    pub international: bool,
}

/// The order source of a shipment that can be fixed, or why it cannot.
fn order_source(
    batch: &Batch,
    bs: &BatchShipment,
) -> Result<(ObjectId, ObjectId, ParcelPlan, CustomsPlan), ServiceError> {
    if matches!(
        batch.status,
        BatchStatus::Purchasing | BatchStatus::Purchased
    ) {
        return Err(closed(batch.id, batch.status));
    }
    if !matches!(
        bs.status,
        BatchShipmentStatus::Invalid | BatchShipmentStatus::Incomplete
    ) {
        return Err(ValidationError::field(
            "shipment",
            format!(
                "This shipment is {}: only INVALID and INCOMPLETE ones are fixed.",
                bs.status.as_str()
            ),
        )
        .into());
    }
    match bs
        .request
        .clone()
        .and_then(|r| serde_json::from_value::<ShipmentSource>(r).ok())
    {
        Some(ShipmentSource::Order {
            order,
            address_from,
            parcel,
            customs,
        }) => Ok((
            order,
            address_from,
            *parcel,
            customs.map(|c| *c).unwrap_or_default(),
        )),
        _ => Err(ValidationError::field(
            "shipment",
            "Only shipments of a batch made from orders are fixed here; remove this one (remove_shipments) and add it again corrected.",
        )
        .into()),
    }
}

/// The error queue's shipment `shipment` of batch `batch`, with what its fix form shows.
pub async fn fixable(
    s: &Services,
    who: &Principal,
    batch: ObjectId,
    shipment: ObjectId,
) -> Result<FixView, ServiceError> {
    let scope = scope(who);
    let mut conn = s.store.conn().await?;
    let b = store::batches::get(&mut conn, scope, batch).await?;
    let bs = store::batches::shipment(&mut conn, batch, shipment).await?;
    let (order, address_from, parcel, customs) = order_source(&b, &bs)?;
    let from_country = store::addresses::get(&mut conn, scope, address_from)
        .await
        .ok()
        .map(|a| a.fields.country);
    drop(conn);
    let order = crate::orders::get(s, who, order).await?;
    let international =
        from_country.is_some_and(|c| !c.eq_ignore_ascii_case(&order.to_address.fields.country));
    Ok(FixView {
        batch: b,
        shipment: bs,
        order,
        parcel,
        customs,
        international,
    })
}

/// A weight a person entered: a positive decimal and a known unit.
fn entered_weight(weight: &str, unit: &str) -> Result<(String, String), ServiceError> {
    let w: Option<Decimal> = weight.trim().parse().ok().filter(|w| *w > Decimal::ZERO);
    let u: Option<MassUnit> = unit.trim().parse().ok();
    match (w, u) {
        (Some(w), Some(u)) if w.scale() <= 4 => {
            Ok((w.normalize().to_string(), u.as_str().to_string()))
        }
        (None, _) | (Some(_), Some(_)) => Err(ValidationError::field(
            "weight",
            "Give the parcel's weight as a number above 0 with at most 4 decimals.",
        )
        .into()),
        (Some(_), None) => Err(ValidationError::field(
            "mass_unit",
            "Choose the weight's unit: g, oz, lb or kg.",
        )
        .into()),
    }
}

/// Corrects a shipment of the error queue and validates it again (the batch is VALIDATING
/// until it is; a batch of "Buy labels" then buys once it is VALID, as it would have).
pub async fn fix(
    s: &Services,
    who: &Principal,
    batch: ObjectId,
    shipment: ObjectId,
    fix: ShipmentFix,
) -> Result<(), ServiceError> {
    let scope = scope(who);
    let (b, bs) = {
        let mut conn = s.store.conn().await?;
        let b = store::batches::get(&mut conn, scope, batch).await?;
        let bs = store::batches::shipment(&mut conn, batch, shipment).await?;
        (b, bs)
    };
    let (order, address_from, mut parcel, mut customs) = order_source(&b, &bs)?;
    if let Some((w, u)) = &fix.weight {
        parcel.entered_weight = Some(entered_weight(w, u)?);
    }
    let text = |v: Option<String>| v.map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
    let given = fix.customs;
    customs.certify_signer = text(given.certify_signer).or(customs.certify_signer);
    customs.contents_type = text(given.contents_type).or(customs.contents_type);
    customs.incoterm = text(given.incoterm).or(customs.incoterm);
    customs.non_delivery_option = text(given.non_delivery_option).or(customs.non_delivery_option);
    customs.origin_country = text(given.origin_country)
        .map(|c| c.to_ascii_uppercase())
        .or(customs.origin_country);
    if let Some(ship_to) = fix.ship_to {
        crate::orders::change_ship_to(s, who, order, ship_to).await?;
    }
    let source = ShipmentSource::Order {
        order,
        address_from,
        parcel: Box::new(parcel),
        customs: (customs != CustomsPlan::default()).then(|| Box::new(customs)),
    };
    let request = serde_json::to_value(&source).expect("a source serialises");
    let job = Job::ValidateBatch {
        account: scope.account_id,
        test: scope.test,
        batch,
    }
    .due_now();
    let actor = who.clone();
    let detail = format!("batch {batch}, shipment {}", bs.position + 1);
    let refused = s
        .store
        .write(move |conn| {
            Box::pin(async move {
                let b = store::batches::get_for_update(conn, scope, batch).await?;
                if matches!(b.status, BatchStatus::Purchasing | BatchStatus::Purchased) {
                    return Ok(Some(b.status));
                }
                let mut bs = store::batches::shipment(conn, batch, shipment).await?;
                // Fixed by another hand meanwhile: validated again once is enough.
                if !matches!(
                    bs.status,
                    BatchShipmentStatus::Invalid | BatchShipmentStatus::Incomplete
                ) {
                    return Ok(None);
                }
                bs.status = BatchShipmentStatus::Pending;
                bs.request = Some(request);
                bs.shipment = None;
                bs.rate = None;
                bs.messages = Vec::new();
                store::batches::record(conn, &bs).await?;
                store::batches::move_status(
                    conn,
                    scope,
                    batch,
                    &[BatchStatus::Valid, BatchStatus::Invalid],
                    BatchStatus::Validating,
                )
                .await?;
                store::jobs::enqueue(conn, job).await?;
                crate::audit::record(conn, &actor, "fixed a batch shipment", Some(order), &detail)
                    .await?;
                Ok(None)
            })
        })
        .await?;
    if let Some(status) = refused {
        return Err(closed(batch, status));
    }
    s.job_signal.notify_one();
    Ok(())
}
