//! Fulfilment: the labels that carry orders.
//!
//! A purchase may name orders (Shippo's `order`, and Consign's `orders`/`line_items` for a
//! parcel that carries part of an order, or several orders of one buyer). What the parcel
//! carries is checked before any carrier is asked ([`plan`]), and recorded with the label in the
//! purchase's own transaction ([`apply`]): each line item's shipped quantity grows, the order
//! moves to PARTIALLY_FULFILLED or SHIPPED, and `order_updated` (plus `order_fulfilled` when the
//! last item is covered) goes out. A label that is being bought counts; one that fails or is
//! refunded gives its quantities back ([`release`]), once.

use domain::order::{Order, OrderStatus, Portion};
use domain::webhook::WebhookEvent;
use domain::{ObjectId, Timestamp, ValidationError};
use store::orders::OrderParcel;
use store::{Conn, Scope, StoreError};

use super::views;
use crate::tracking::Wire;
use crate::{webhooks, ServiceError};

/// An order a purchase names, and what of it the parcel carries (empty = everything still to
/// ship).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderLink {
    pub order: ObjectId,
    pub portions: Vec<Portion>,
}

/// Checks what the parcel carries of each linked order, answering the parcels to record (with
/// the transaction id still to be set). Errors name `order`.
pub(crate) async fn plan(
    conn: &mut Conn,
    scope: Scope,
    links: &[OrderLink],
) -> Result<Vec<OrderParcel>, ServiceError> {
    let mut out = Vec::with_capacity(links.len());
    for link in links {
        if out.iter().any(|p: &OrderParcel| p.order == link.order) {
            return Err(ValidationError::field(
                "order",
                format!("Order {} is named twice.", link.order),
            )
            .into());
        }
        let mut order = match store::orders::get(conn, scope, link.order).await {
            Ok(o) => o,
            Err(StoreError::NotFound) => {
                return Err(ValidationError::field(
                    "order",
                    format!("No order with id \"{}\".", link.order),
                )
                .into())
            }
            Err(e) => return Err(e.into()),
        };
        let portions = if link.portions.is_empty() {
            order.remaining()
        } else {
            link.portions.clone()
        };
        if portions.is_empty() && !order.line_items.is_empty() {
            return Err(ValidationError::field(
                "order",
                format!(
                    "Every line item of order {} is already on a label.",
                    order.id
                ),
            )
            .into());
        }
        order
            .allocate(&portions)
            .map_err(|why| ValidationError::field("order", why))?;
        out.push(OrderParcel {
            transaction: ObjectId::at(0),
            order: order.id,
            portions,
        });
    }
    Ok(out)
}

/// What changed in one order, for its webhooks.
async fn announce(
    conn: &mut Conn,
    scope: Scope,
    order: Order,
    became_shipped: bool,
    wire: &dyn Wire,
    owner: &str,
) -> Result<(), StoreError> {
    let view = views(conn, scope, vec![order])
        .await?
        .pop()
        .expect("one view");
    let data = wire.order(owner, &view);
    webhooks::outbox(conn, WebhookEvent::OrderUpdated, &[scope], |_| data.clone()).await?;
    if became_shipped {
        webhooks::outbox(conn, WebhookEvent::OrderFulfilled, &[scope], |_| {
            data.clone()
        })
        .await?;
    }
    Ok(())
}

/// Records that `transaction` carries `parcels`, inside the purchase's transaction. A parcel
/// that no longer fits (another label took the quantities since [`plan`]) fails the whole
/// purchase with a conflict.
pub(crate) async fn apply(
    conn: &mut Conn,
    scope: Scope,
    transaction: ObjectId,
    parcels: &[OrderParcel],
    wire: &dyn Wire,
    owner: &str,
) -> Result<(), StoreError> {
    let now = Timestamp::now();
    let mut rows = Vec::with_capacity(parcels.len());
    for p in parcels {
        let mut order = store::orders::get_for_update(conn, scope, p.order).await?;
        order.allocate(&p.portions).map_err(StoreError::Conflict)?;
        let before = order.status;
        order.status = order.fulfilment(true);
        order.updated = now;
        store::orders::update(conn, scope, &order).await?;
        let shipped = order.status == OrderStatus::Shipped && before != OrderStatus::Shipped;
        announce(conn, scope, order, shipped, wire, owner).await?;
        rows.push(OrderParcel {
            transaction,
            ..p.clone()
        });
    }
    store::orders::insert_parcels(conn, scope, &rows).await
}

/// Gives back what `transaction` carried (its purchase failed or its refund went through);
/// a second call changes nothing.
pub(crate) async fn release(
    conn: &mut Conn,
    scope: Scope,
    transaction: ObjectId,
    wire: &dyn Wire,
    owner: &str,
) -> Result<(), StoreError> {
    let parcels = store::orders::parcels_of_transaction(conn, transaction).await?;
    if parcels.is_empty() || !store::orders::release_parcels(conn, transaction).await? {
        return Ok(());
    }
    let now = Timestamp::now();
    for p in parcels {
        let mut order = store::orders::get_for_update(conn, scope, p.order).await?;
        order.release(&p.portions);
        let labelled = store::orders::has_open_parcels(conn, order.id).await?;
        order.status = order.fulfilment(labelled);
        order.updated = now;
        store::orders::update(conn, scope, &order).await?;
        announce(conn, scope, order, false, wire, owner).await?;
    }
    Ok(())
}
