//! Packing slips: a real PDF per order (or one PDF for many), stored in the blob store and
//! answered as a signed link, so a printer or a browser fetches it without a token.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use documents::packing_slip::{self, SlipData, SlipLine};
use domain::order::Portion;
use domain::{ObjectId, Timestamp, ValidationError};

use super::OrderView;
use crate::{files, scope, Principal, ServiceError, Services};

/// Most orders one merged slip file holds.
pub const MAX_ORDERS: usize = 500;

/// A stored slip file.
#[derive(Debug, Clone)]
pub struct Slip {
    /// Blob-store key (sign it for a link).
    pub key: String,
    pub created: Timestamp,
}

fn data(v: &OrderView, portions: Option<&[Portion]>, shop: &str) -> SlipData {
    let o = &v.order;
    let lines = o
        .line_items
        .iter()
        .filter_map(|l| {
            let quantity = match portions {
                None => l.quantity,
                Some(p) => p
                    .iter()
                    .filter(|p| p.line_item == l.id)
                    .map(|p| p.quantity)
                    .sum(),
            };
            (quantity > 0).then(|| SlipLine {
                title: l.title.clone(),
                variant: l.variant_title.clone().unwrap_or_default(),
                sku: l.sku.clone().unwrap_or_default(),
                quantity,
                ordered: l.quantity,
            })
        })
        .collect();
    SlipData {
        order_number: o.order_number.clone().unwrap_or_else(|| o.id.to_string()),
        placed: o.placed_at.to_string().chars().take(10).collect(),
        ship_to: domain::address_layout::lines(&v.to_address.fields),
        from: v
            .from_address
            .as_ref()
            .map(|a| domain::address_layout::lines(&a.fields))
            .unwrap_or_default(),
        lines,
        notes: o.details.notes.clone().unwrap_or_default(),
        test: o.test,
        shop: shop.to_string(),
    }
}

/// The account's brand name for its slips (empty: none set).
async fn shop_name(s: &Services, who: &Principal) -> Result<String, ServiceError> {
    Ok(crate::branding::of_account(s, who.account_id)
        .await?
        .map(|b| b.name)
        .unwrap_or_default())
}

/// Sets its flag when dropped: the request that owns it is gone (its client went away, or the
/// server is stopping), so the render working for it stops.
struct StopOnDrop(Arc<AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

async fn store_slip(
    s: &Services,
    who: &Principal,
    object: ObjectId,
    name: &str,
    slips: Vec<SlipData>,
) -> Result<Slip, ServiceError> {
    // Rendering is CPU work: on the blocking pool, never on the threads serving requests, and
    // given up when this request is dropped.
    let stop = Arc::new(AtomicBool::new(false));
    let _guard = StopOnDrop(stop.clone());
    let rendered = tokio::task::spawn_blocking(move || packing_slip::render_unless(&slips, &stop))
        .await
        .map_err(|e| ServiceError::internal(format!("packing slip render: {e}")))?;
    let doc = rendered
        .map_err(|e| {
            ValidationError::field(
                "order_number",
                format!("cannot be printed as a barcode: {e}"),
            )
        })?
        .ok_or_else(|| ServiceError::Unavailable("the packing slip was cancelled".into()))?;
    let key = files::key(who.account_id, object, name);
    s.blobs
        .put(&key, doc.bytes)
        .await
        .map_err(|e| ServiceError::Unavailable(format!("packing slip: {e}")))?;
    Ok(Slip {
        key,
        created: Timestamp::now(),
    })
}

/// The packing slip of one order: every line item as ordered, or with `transaction` the part
/// of the order that label carries.
pub async fn packing_slip(
    s: &Services,
    who: &Principal,
    id: ObjectId,
    transaction: Option<ObjectId>,
) -> Result<Slip, ServiceError> {
    let view = super::get(s, who, id).await?;
    let portions = match transaction {
        None => None,
        Some(t) => {
            let mut conn = s.store.conn().await?;
            // The label must be the principal's.
            store::transactions::get(&mut conn, scope(who), t).await?;
            let parcels = store::orders::parcels_of_transaction(&mut conn, t).await?;
            let Some(p) = parcels.into_iter().find(|p| p.order == id) else {
                return Err(ValidationError::field(
                    "transaction",
                    format!("Transaction {t} carries nothing of order {id}."),
                )
                .into());
            };
            Some(p.portions)
        }
    };
    // A parcel's slip is filed under its label, the whole order's under the order.
    let object = transaction.unwrap_or(id);
    store_slip(
        s,
        who,
        object,
        "packing-slip.pdf",
        vec![data(&view, portions.as_deref(), &shop_name(s, who).await?)],
    )
    .await
}

/// One PDF of the packing slips of `ids` (in that order), each order as ordered.
pub async fn packing_slips(
    s: &Services,
    who: &Principal,
    ids: &[ObjectId],
) -> Result<Slip, ServiceError> {
    if ids.is_empty() || ids.len() > MAX_ORDERS {
        return Err(ValidationError::field(
            "orders",
            format!("Name from 1 to {MAX_ORDERS} orders."),
        )
        .into());
    }
    let scope = scope(who);
    let mut conn = s.store.conn().await?;
    let mut orders = Vec::with_capacity(ids.len());
    for (i, id) in ids.iter().enumerate() {
        match store::orders::get(&mut conn, scope, *id).await {
            Ok(o) => orders.push(o),
            Err(store::StoreError::NotFound) => {
                return Err(ValidationError::field(
                    format!("orders.{i}"),
                    format!("No order with id \"{id}\"."),
                )
                .into())
            }
            Err(e) => return Err(e.into()),
        }
    }
    let views = super::views(&mut conn, scope, orders).await?;
    drop(conn);
    let shop = shop_name(s, who).await?;
    let slips: Vec<SlipData> = views.iter().map(|v| data(v, None, &shop)).collect();
    // Named by a fresh id: each merged file is its own object.
    let object = ObjectId::new();
    store_slip(s, who, object, "packing-slips.pdf", slips).await
}
