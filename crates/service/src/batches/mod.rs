//! Batches (seed 002 "Batches"): create (answered VALIDATING; a `validate_batch` job makes and
//! rates the shipments), add and remove shipments before purchase, purchase (answered
//! PURCHASING; a `purchase_batch` job buys every label and merges them), and batches made from
//! orders.
//!
//! Both jobs work through the batch in chunks and record each chunk as they go, so progress is
//! visible on the batch (its counts) and a crash resumes where it stopped: a label bought but not
//! yet recorded is found again by its rate (a rate is bought at most once), so no label is bought
//! twice. A shipment made but not yet recorded when the process died is made again (a spare
//! shipment object, never bought).

mod fix;
mod purchase;
mod validate;

pub use fix::{fix, fixable, FixView, ShipmentFix};

pub(crate) use purchase::run_purchase_job;
pub(crate) use validate::run_validate_job;

use domain::batch::{
    Batch, BatchCounts, BatchResultFilter, BatchShipment, BatchShipmentStatus, BatchStatus,
    MAX_SHIPMENTS,
};
use domain::order::{OrderFilter, OrderStatus};
use domain::text::check_text;
use domain::{FieldErrors, ObjectId, Timestamp, ValidationError};
use serde::{Deserialize, Serialize};
use store::{Page, PageRequest, Scope, StoreError};

use crate::jobs::Job;
use crate::{scope, Principal, ServiceError, Services};

/// How a batch shipment's shipment is made: the service's own stored form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ShipmentSource {
    /// A Shippo shipment request as sent, read by the wire layer when the batch is validated
    /// ([`crate::tracking::Wire::shipment_request`]).
    Wire { request: serde_json::Value },
    /// An existing shipment (by id, resolved when the batch is validated).
    Existing { shipment: String },
    /// A shipment to the order's buyer.
    Order {
        order: ObjectId,
        address_from: ObjectId,
        parcel: Box<ParcelPlan>,
        /// What an international order's customs declaration takes from the request.
        #[serde(default)]
        customs: Option<Box<CustomsPlan>>,
    },
}

/// The batch-level part of the customs declaration made for each international order of a batch
/// from orders (the rest comes from its line items: description, quantity, value, currency,
/// origin country, HS code, weight). Without a signer an international order is INCOMPLETE.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomsPlan {
    /// Who certifies the declarations (required for international orders).
    pub certify_signer: Option<String>,
    /// Shippo's `contents_type`; default MERCHANDISE.
    pub contents_type: Option<String>,
    /// Shippo's `incoterm` (DDP, DDU, …); default none.
    pub incoterm: Option<String>,
    /// Shippo's `non_delivery_option`; default RETURN.
    pub non_delivery_option: Option<String>,
    /// The origin country of line items that do not name theirs.
    pub origin_country: Option<String>,
}

/// The parcel of a shipment made from an order: a template's (or given) dimensions, and the
/// order's weight (its line items still to ship, else its own, else `weight`). An order that
/// says nothing of its weight, with no `weight` given, is INCOMPLETE: no weight is invented.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParcelPlan {
    pub length: String,
    pub width: String,
    pub height: String,
    pub distance_unit: String,
    pub template: Option<String>,
    /// The weight of a parcel whose order says nothing of its weight (the request's
    /// `default_weight`, or the user parcel template's weight); `None` = such orders are
    /// INCOMPLETE. (Batches stored before this was optional hold the old default, `"1"`.)
    #[serde(default)]
    pub weight: Option<String>,
    /// The unit of `weight`; `None` = `mass_unit`, else lb.
    #[serde(default)]
    pub weight_unit: Option<String>,
    /// The parcel's mass unit; `None` = the order's (its line items', else its own), else lb.
    pub mass_unit: Option<String>,
    /// The weight and unit a person entered for this one parcel (the error queue's fix); it
    /// wins over what the order says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entered_weight: Option<(String, String)>,
}

/// A shipment to add to a batch.
#[derive(Debug, Clone)]
pub struct NewBatchShipment {
    pub shipment: ShipmentSource,
    /// Overrides the batch's default (an id to resolve).
    pub carrier_account: Option<String>,
    pub servicelevel_token: Option<String>,
    pub metadata: String,
}

/// A batch to create.
#[derive(Debug, Clone)]
pub struct CreateBatch {
    pub default_carrier_account: Option<String>,
    pub default_servicelevel_token: Option<String>,
    /// The `label_filetype` wire name, checked; `None` = the account's default.
    pub label_filetype: Option<String>,
    pub metadata: String,
    pub shipments: Vec<NewBatchShipment>,
    /// What the wire layer found wrong reading the request.
    pub errors: FieldErrors,
    /// A submission's key (at most [`crate::transactions::IDEMPOTENCY_KEY_MAX`] characters):
    /// the batch already made with it is answered instead of a second one.
    pub idempotency_key: Option<String>,
    /// Buy the labels as soon as validation ends VALID.
    pub purchase_when_valid: bool,
}

/// A batch with one page of its shipments and its counts.
#[derive(Debug, Clone)]
pub struct BatchView {
    pub batch: Batch,
    pub counts: BatchCounts,
    pub shipments: Page<BatchShipment>,
}

/// Batch shipments shown per page (seed 002: "displayed 100 at a time").
pub const PAGE: u32 = 100;

async fn carrier_account(
    conn: &mut store::Conn,
    scope: Scope,
    raw: &str,
) -> Result<Option<ObjectId>, StoreError> {
    let Some(id) = ObjectId::parse(raw.trim()) else {
        return Ok(None);
    };
    match store::carrier_accounts::get(conn, scope.account_id, id).await {
        Ok(row) if row.active => Ok(Some(row.id)),
        Ok(_) | Err(StoreError::NotFound) => Ok(None),
        Err(e) => Err(e),
    }
}

fn invalid_account(raw: &str) -> String {
    format!("Invalid account object_id provided '{raw}'. Please list the available CarrierAccount objects (/carrier_accounts) to get your valid object_ids.")
}

/// The rows of new batch shipments from `position` on.
async fn rows(
    conn: &mut store::Conn,
    scope: Scope,
    batch: ObjectId,
    position: i64,
    given: Vec<NewBatchShipment>,
    orders: &[Option<ObjectId>],
) -> Result<Vec<BatchShipment>, StoreError> {
    let now = Timestamp::now();
    let mut out = Vec::with_capacity(given.len());
    for (i, g) in given.into_iter().enumerate() {
        // An override that names no carrier account of this account makes the shipment
        // INVALID at validation (the rest of the batch goes on).
        let (account, mut messages) = match g.carrier_account.as_deref().map(str::trim) {
            None | Some("") => (None, Vec::new()),
            Some(raw) => match carrier_account(conn, scope, raw).await? {
                Some(id) => (Some(id), Vec::new()),
                None => (
                    None,
                    vec![crate::rating::note(
                        crate::rating::CONSIGN,
                        "invalid_carrier_account",
                        invalid_account(raw),
                    )],
                ),
            },
        };
        if g.metadata.chars().count() > 100 {
            messages.push(crate::rating::note(
                crate::rating::CONSIGN,
                "metadata",
                "metadata: Ensure this field has no more than 100 characters.",
            ));
        }
        out.push(BatchShipment {
            id: ObjectId::at(now.millis()),
            batch,
            position: position + i as i64,
            // Problems found now are reported when validation reaches it (a VALIDATING batch
            // lists no shipments, as Shippo's does).
            status: BatchShipmentStatus::Pending,
            request: Some(serde_json::to_value(&g.shipment).expect("a source serialises")),
            shipment: None,
            order: orders.get(i).copied().flatten(),
            carrier_account: account,
            servicelevel_token: g
                .servicelevel_token
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty()),
            metadata: g.metadata.chars().take(100).collect(),
            rate: None,
            transaction: None,
            messages,
        });
    }
    Ok(out)
}

/// Creates a batch: VALIDATING, with its shipments to be made and rated by a job.
#[tracing::instrument(skip_all, fields(account = %who.account_id, shipments = input.shipments.len()))]
pub async fn create(
    s: &Services,
    who: &Principal,
    input: CreateBatch,
) -> Result<BatchView, ServiceError> {
    create_with_orders(s, who, input, Vec::new()).await
}

async fn create_with_orders(
    s: &Services,
    who: &Principal,
    input: CreateBatch,
    orders: Vec<Option<ObjectId>>,
) -> Result<BatchView, ServiceError> {
    let scope = scope(who);
    let mut errors = input.errors;
    let key = input
        .idempotency_key
        .map(|k| k.trim().to_string())
        .filter(|k| !k.is_empty());
    if let Some(k) = &key {
        if k.chars().count() > crate::transactions::IDEMPOTENCY_KEY_MAX
            || k.chars().any(char::is_control)
        {
            errors.add(
                "idempotency_key",
                "At most 255 printable characters, please.",
            );
        }
    }
    let mut conn = s.store.conn().await?;
    if let Some(k) = key.as_deref().filter(|_| errors.is_empty()) {
        if let Some(made) = store::batches::by_key(&mut conn, scope, k).await? {
            drop(conn);
            return first_page(s, scope, made.id).await;
        }
    }
    let account = match input.default_carrier_account.as_deref().map(str::trim) {
        None | Some("") => {
            errors.add("default_carrier_account", "This field is required.");
            None
        }
        Some(raw) => {
            let found = carrier_account(&mut conn, scope, raw).await?;
            if found.is_none() {
                errors.add("default_carrier_account", invalid_account(raw));
            }
            found
        }
    };
    let token = input
        .default_servicelevel_token
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty());
    if token.is_none() {
        errors.add("default_servicelevel_token", "This field is required.");
    }
    let metadata = input.metadata.trim().to_string();
    check_text(&mut errors, "metadata", &metadata, 100);
    if input.shipments.len() > MAX_SHIPMENTS {
        errors.add(
            "batch_shipments",
            format!("A batch holds at most {MAX_SHIPMENTS} shipments."),
        );
    }
    errors.into_result()?;
    let now = Timestamp::now();
    let batch = Batch {
        id: ObjectId::at(now.millis()),
        created: now,
        updated: now,
        test: scope.test,
        status: BatchStatus::Validating,
        default_carrier_account: account.expect("checked"),
        default_servicelevel_token: token.expect("checked"),
        label_filetype: input.label_filetype,
        metadata,
        label_keys: Vec::new(),
        announced: false,
        idempotency_key: key.clone(),
        purchase_when_valid: input.purchase_when_valid,
    };
    let items = rows(&mut conn, scope, batch.id, 0, input.shipments, &orders).await?;
    drop(conn);
    let job = Job::ValidateBatch {
        account: scope.account_id,
        test: scope.test,
        batch: batch.id,
    }
    .due_now();
    let stored = batch.clone();
    let (actor, count) = (who.clone(), items.len());
    let made = s
        .store
        .write(move |conn| {
            Box::pin(async move {
                if let Some(k) = &stored.idempotency_key {
                    if let Some(made) = store::batches::by_key(conn, scope, k).await? {
                        return Ok(made.id);
                    }
                }
                store::batches::insert(conn, scope, &stored).await?;
                store::batches::insert_shipments(conn, scope, &items).await?;
                store::jobs::enqueue(conn, job).await?;
                if stored.purchase_when_valid {
                    let detail = format!("{count} shipments, bought once valid");
                    crate::audit::record(conn, &actor, "bought labels", Some(stored.id), &detail)
                        .await?;
                }
                Ok(stored.id)
            })
        })
        .await;
    let id = match (made, key) {
        (Ok(id), _) => id,
        // The same key committed by a concurrent submission (PostgreSQL's unique index): theirs.
        (Err(StoreError::Conflict(_)), Some(k)) => {
            match store::batches::by_key(&mut *s.store.conn().await?, scope, &k).await? {
                Some(made) => made.id,
                None => {
                    return Err(ServiceError::Conflict(
                        "The batch could not be stored; try again.".into(),
                    ))
                }
            }
        }
        (Err(e), _) => return Err(e.into()),
    };
    s.job_signal.notify_one();
    if id == batch.id {
        // Answered from what was written: VALIDATING, every shipment pending, none listed (as
        // Shippo's), whatever the validation job has done since.
        return Ok(BatchView {
            batch,
            counts: BatchCounts {
                pending: count as i64,
                ..BatchCounts::default()
            },
            shipments: Page {
                items: Vec::new(),
                total: 0,
                request: PageRequest {
                    page: 1,
                    results: PAGE,
                },
            },
        });
    }
    first_page(s, scope, id).await
}

/// The batch with the first page of its shipments.
async fn first_page(s: &Services, scope: Scope, id: ObjectId) -> Result<BatchView, ServiceError> {
    view(
        s,
        scope,
        id,
        None,
        PageRequest {
            page: 1,
            results: PAGE,
        },
    )
    .await
}

/// The batch with one page of its (validated) shipments.
pub(crate) async fn view(
    s: &Services,
    scope: Scope,
    id: ObjectId,
    filter: Option<BatchResultFilter>,
    page: PageRequest,
) -> Result<BatchView, ServiceError> {
    let mut conn = s.store.conn().await?;
    let batch = store::batches::get(&mut conn, scope, id).await?;
    let counts = counts_of(&mut conn, &batch).await?;
    let shipments = store::batches::shipments(&mut conn, id, filter, page).await?;
    Ok(BatchView {
        batch,
        counts,
        shipments,
    })
}

/// One of the principal's batches.
pub async fn get(
    s: &Services,
    who: &Principal,
    id: ObjectId,
    filter: Option<BatchResultFilter>,
    page: PageRequest,
) -> Result<BatchView, ServiceError> {
    view(s, scope(who), id, filter, page).await
}

fn not_before_purchase(b: &Batch) -> Result<(), ServiceError> {
    if matches!(b.status, BatchStatus::Purchasing | BatchStatus::Purchased) {
        return Err(ValidationError::field(
            "batch",
            format!(
                "Batch {} is {}; shipments can be added and removed only before purchase.",
                b.id,
                b.status.as_str()
            ),
        )
        .into());
    }
    Ok(())
}

/// What a write that changes a batch's shipments found once it held the batch.
enum Change {
    Done,
    /// The batch is being (or was) purchased.
    Closed(BatchStatus),
    /// Adding would pass [`MAX_SHIPMENTS`]; the batch holds this many.
    Full(i64),
}

fn closed(id: ObjectId, status: BatchStatus) -> ServiceError {
    ValidationError::field(
        "batch",
        format!(
            "Batch {id} is {}; shipments can be added and removed only before purchase.",
            status.as_str()
        ),
    )
    .into()
}

/// Adds shipments to a batch not yet purchased: it is VALIDATING again until they are made.
/// The limit and the batch's state are checked inside the write, with the batch locked
/// ([`store::batches::get_for_update`]), so concurrent additions cannot pass
/// [`MAX_SHIPMENTS`] and none lands in a batch being purchased.
pub async fn add_shipments(
    s: &Services,
    who: &Principal,
    id: ObjectId,
    given: Vec<NewBatchShipment>,
) -> Result<BatchView, ServiceError> {
    let scope = scope(who);
    let mut conn = s.store.conn().await?;
    let batch = store::batches::get(&mut conn, scope, id).await?;
    not_before_purchase(&batch)?;
    let adding = given.len() as i64;
    // Positions are given inside the write (after the batch's last one).
    let mut items = rows(&mut conn, scope, id, 0, given, &[]).await?;
    drop(conn);
    let job = Job::ValidateBatch {
        account: scope.account_id,
        test: scope.test,
        batch: id,
    }
    .due_now();
    let change = s
        .store
        .write(move |conn| {
            Box::pin(async move {
                let batch = store::batches::get_for_update(conn, scope, id).await?;
                if matches!(
                    batch.status,
                    BatchStatus::Purchasing | BatchStatus::Purchased
                ) {
                    return Ok(Change::Closed(batch.status));
                }
                let counts = store::batches::counts(conn, id).await?;
                let held = counts.creation_succeeded + counts.creation_failed + counts.pending;
                if held + adding > MAX_SHIPMENTS as i64 {
                    return Ok(Change::Full(held));
                }
                let position = store::batches::next_position(conn, id).await?;
                for (i, item) in items.iter_mut().enumerate() {
                    item.position = position + i as i64;
                }
                store::batches::move_status(
                    conn,
                    scope,
                    id,
                    &[
                        BatchStatus::Validating,
                        BatchStatus::Valid,
                        BatchStatus::Invalid,
                    ],
                    BatchStatus::Validating,
                )
                .await?;
                store::batches::insert_shipments(conn, scope, &items).await?;
                store::jobs::enqueue(conn, job).await?;
                Ok(Change::Done)
            })
        })
        .await?;
    match change {
        Change::Done => {}
        Change::Closed(status) => return Err(closed(id, status)),
        Change::Full(held) => {
            return Err(ValidationError::field(
                "batch_shipments",
                format!(
                    "A batch holds at most {MAX_SHIPMENTS} shipments; this one has {held}, so {adding} more cannot be added."
                ),
            )
            .into())
        }
    }
    s.job_signal.notify_one();
    view(
        s,
        scope,
        id,
        None,
        PageRequest {
            page: 1,
            results: PAGE,
        },
    )
    .await
}

/// Takes shipments out of a batch not yet purchased; the batch's status follows what remains.
/// The batch's state is checked inside the write with the batch locked, so a removal and the
/// start of a purchase never interleave: either the shipments are out before the purchase job
/// reads the batch, or the removal is refused.
pub async fn remove_shipments(
    s: &Services,
    who: &Principal,
    id: ObjectId,
    ids: Vec<ObjectId>,
) -> Result<BatchView, ServiceError> {
    let scope = scope(who);
    let batch = store::batches::get(&mut *s.store.conn().await?, scope, id).await?;
    not_before_purchase(&batch)?;
    let change = s
        .store
        .write(move |conn| {
            Box::pin(async move {
                let batch = store::batches::get_for_update(conn, scope, id).await?;
                if matches!(
                    batch.status,
                    BatchStatus::Purchasing | BatchStatus::Purchased
                ) {
                    return Ok(Change::Closed(batch.status));
                }
                store::batches::remove(conn, id, &ids).await?;
                let counts = store::batches::counts(conn, id).await?;
                if counts.pending == 0 {
                    // What remains decides: removing the invalid ones makes it VALID.
                    store::batches::move_status(
                        conn,
                        scope,
                        id,
                        &[BatchStatus::Valid, BatchStatus::Invalid],
                        counts.validated(),
                    )
                    .await?;
                }
                Ok(Change::Done)
            })
        })
        .await?;
    if let Change::Closed(status) = change {
        return Err(closed(id, status));
    }
    view(
        s,
        scope,
        id,
        None,
        PageRequest {
            page: 1,
            results: PAGE,
        },
    )
    .await
}

/// Starts buying a VALID batch's labels: PURCHASING, with a `purchase_batch` job. A batch
/// already purchasing or purchased is answered as it is.
pub async fn purchase(
    s: &Services,
    who: &Principal,
    id: ObjectId,
) -> Result<BatchView, ServiceError> {
    let scope = scope(who);
    let batch = store::batches::get(&mut *s.store.conn().await?, scope, id).await?;
    match batch.status {
        BatchStatus::Purchasing | BatchStatus::Purchased => {}
        BatchStatus::Validating => {
            return Err(ValidationError::field(
                "batch",
                "The batch is still VALIDATING; purchase it once it is VALID.",
            )
            .into())
        }
        BatchStatus::Invalid => {
            return Err(ValidationError::field(
                "batch",
                "The batch is INVALID: remove its INVALID and INCOMPLETE shipments (remove_shipments) before purchasing.",
            )
            .into())
        }
        BatchStatus::Valid => {
            let job = Job::PurchaseBatch {
                account: scope.account_id,
                test: scope.test,
                batch: id,
            }
            .due_now();
            let actor = who.clone();
            s.store
                .write(move |conn| {
                    Box::pin(async move {
                        // Held while it moves, so no addition or removal interleaves.
                        store::batches::get_for_update(conn, scope, id).await?;
                        if store::batches::move_status(
                            conn,
                            scope,
                            id,
                            &[BatchStatus::Valid],
                            BatchStatus::Purchasing,
                        )
                        .await?
                        {
                            store::jobs::enqueue(conn, job).await?;
                            crate::audit::record(conn, &actor, "bought labels", Some(id), "batch purchase")
                                .await?;
                        }
                        Ok(())
                    })
                })
                .await?;
            s.job_signal.notify_one();
        }
    }
    view(
        s,
        scope,
        id,
        None,
        PageRequest {
            page: 1,
            results: PAGE,
        },
    )
    .await
}

/// Makes a batch of one shipment per order matching `filter` (default: every PAID order not
/// yet on a label), from `address_from`, with `parcel`'s dimensions and each order's weight.
/// International orders are INCOMPLETE (no customs defaults given): see
/// [`from_orders_with_customs`].
pub async fn from_orders(
    s: &Services,
    who: &Principal,
    filter: OrderFilter,
    address_from: &str,
    parcel: ParcelPlan,
    batch: CreateBatch,
) -> Result<BatchView, ServiceError> {
    from_orders_with_customs(s, who, filter, address_from, parcel, None, batch).await
}

/// [`from_orders`], with what the customs declarations of international orders take from the
/// request (the rest comes from each order's line items).
pub async fn from_orders_with_customs(
    s: &Services,
    who: &Principal,
    mut filter: OrderFilter,
    address_from: &str,
    parcel: ParcelPlan,
    customs: Option<CustomsPlan>,
    mut batch: CreateBatch,
) -> Result<BatchView, ServiceError> {
    let scope = scope(who);
    if filter.statuses.is_empty() {
        filter.statuses = vec![OrderStatus::Paid];
    }
    let mut conn = s.store.conn().await?;
    // A submission seen before is answered with its batch, whatever its orders became since.
    if let Some(k) = batch
        .idempotency_key
        .as_deref()
        .map(str::trim)
        .filter(|k| !k.is_empty())
    {
        if let Some(made) = store::batches::by_key(&mut conn, scope, k).await? {
            drop(conn);
            return first_page(s, scope, made.id).await;
        }
    }
    let from = match ObjectId::parse(address_from.trim()) {
        Some(id) => match store::addresses::get(&mut conn, scope, id).await {
            Ok(a) => Some(a.id),
            Err(StoreError::NotFound) => None,
            Err(e) => return Err(e.into()),
        },
        None => None,
    };
    let Some(from) = from else {
        return Err(ValidationError::field(
            "address_from",
            format!("No address with id \"{address_from}\"."),
        )
        .into());
    };
    let mut orders = Vec::new();
    let mut page = 1;
    loop {
        let (found, more) = store::orders::list(
            &mut conn,
            scope,
            &filter,
            PageRequest {
                page,
                results: domain::page::MAX_RESULTS,
            },
        )
        .await?;
        orders.extend(found.into_iter().filter(|o| {
            o.status.shippable() && (o.line_items.is_empty() || !o.remaining().is_empty())
        }));
        if !more || orders.len() > MAX_SHIPMENTS {
            break;
        }
        page += 1;
    }
    drop(conn);
    if orders.is_empty() {
        return Err(ValidationError::field("order_status", "No order to ship matches.").into());
    }
    // Oldest first, as they were placed.
    orders.reverse();
    let links: Vec<Option<ObjectId>> = orders.iter().map(|o| Some(o.id)).collect();
    batch.shipments = orders
        .iter()
        .map(|o| NewBatchShipment {
            shipment: ShipmentSource::Order {
                order: o.id,
                address_from: from,
                parcel: Box::new(parcel.clone()),
                customs: customs.clone().map(Box::new),
            },
            carrier_account: None,
            servicelevel_token: None,
            metadata: o
                .order_number
                .clone()
                .unwrap_or_default()
                .chars()
                .take(100)
                .collect(),
        })
        .collect();
    create_with_orders(s, who, batch, links).await
}

/// Records a chunk of validated or bought batch shipments in one transaction.
async fn record(s: &Services, done: Vec<BatchShipment>) -> Result<(), ServiceError> {
    s.store
        .write(move |conn| {
            Box::pin(async move {
                for d in &done {
                    store::batches::record(conn, d).await?;
                }
                Ok(())
            })
        })
        .await?;
    Ok(())
}

/// Messages from a validation error, each naming its field.
fn notes_of(e: &ValidationError) -> Vec<domain::shipment::Note> {
    e.0.iter()
        .flat_map(|(field, msgs)| {
            msgs.iter().map(move |m| {
                crate::rating::note(crate::rating::CONSIGN, field, format!("{field}: {m}"))
            })
        })
        .collect()
}

/// Whether a batch is still at work (for the CLI's progress).
pub fn busy(status: BatchStatus) -> bool {
    matches!(status, BatchStatus::Validating | BatchStatus::Purchasing)
}

/// A page of the principal's batches (newest first, older than `before`), each with its
/// counts, and whether more follow.
pub async fn list(
    s: &Services,
    who: &Principal,
    before: Option<ObjectId>,
    limit: u32,
) -> Result<(Vec<(Batch, BatchCounts)>, bool), ServiceError> {
    let scope = scope(who);
    let mut conn = s.store.conn().await?;
    let (batches, more) = store::batches::list(&mut conn, scope, before, limit).await?;
    let mut out = Vec::with_capacity(batches.len());
    for b in batches {
        let counts = counts_of(&mut conn, &b).await?;
        out.push((b, counts));
    }
    Ok((out, more))
}

/// Removes every INVALID and INCOMPLETE shipment of a batch not yet purchasing, so what can be
/// bought is bought (their orders stay to ship; the web app's "Buy the valid ones").
pub async fn remove_failed(
    s: &Services,
    who: &Principal,
    id: ObjectId,
) -> Result<BatchView, ServiceError> {
    let scope = scope(who);
    let mut conn = s.store.conn().await?;
    store::batches::get(&mut conn, scope, id).await?;
    let mut ids = Vec::new();
    for status in [
        BatchShipmentStatus::Invalid,
        BatchShipmentStatus::Incomplete,
    ] {
        let found =
            store::batches::in_status(&mut conn, id, status, false, MAX_SHIPMENTS as i64).await?;
        ids.extend(found.into_iter().map(|b| b.id));
    }
    drop(conn);
    remove_shipments(s, who, id, ids).await
}

/// The principal's newest batches (at most `limit`), each with whether any of its labels failed
/// to be bought: what the home page's to-do list needs, without counting any batch.
pub async fn recent(
    s: &Services,
    who: &Principal,
    limit: u32,
) -> Result<Vec<(Batch, bool)>, ServiceError> {
    let scope = scope(who);
    let mut conn = s.store.conn().await?;
    let (batches, _) = store::batches::list(&mut conn, scope, None, limit).await?;
    let mut out = Vec::with_capacity(batches.len());
    for b in batches {
        let failed = b.status == BatchStatus::Purchased
            && store::batches::any_purchase_failed(&mut conn, b.id).await?;
        out.push((b, failed));
    }
    Ok(out)
}

/// A batch and its counts, without its shipments (what a progress bar polls).
pub async fn progress(
    s: &Services,
    who: &Principal,
    id: ObjectId,
) -> Result<(Batch, BatchCounts), ServiceError> {
    let scope = scope(who);
    let mut conn = s.store.conn().await?;
    let batch = store::batches::get(&mut conn, scope, id).await?;
    let counts = counts_of(&mut conn, &batch).await?;
    Ok((batch, counts))
}

/// What a batch's page shows: the batch, its counts, the shipments that cannot be bought or
/// whose purchase failed (the error queue, up to `limit` of each kind) and its first `limit`
/// shipments — each read on an index, nothing counted but the counts.
pub async fn overview(
    s: &Services,
    who: &Principal,
    id: ObjectId,
    limit: u32,
) -> Result<(Batch, BatchCounts, Vec<BatchShipment>, Vec<BatchShipment>), ServiceError> {
    let scope = scope(who);
    let mut conn = s.store.conn().await?;
    let batch = store::batches::get(&mut conn, scope, id).await?;
    let counts = counts_of(&mut conn, &batch).await?;
    let mut failed = Vec::new();
    if counts.creation_failed + counts.purchase_failed > 0 {
        for status in [
            BatchShipmentStatus::Invalid,
            BatchShipmentStatus::Incomplete,
            BatchShipmentStatus::TransactionFailed,
        ] {
            failed.extend(
                store::batches::in_status(&mut conn, id, status, false, i64::from(limit)).await?,
            );
        }
        failed.sort_by_key(|b| b.position);
    }
    let first = store::batches::first_shipments(&mut conn, id, limit).await?;
    Ok((batch, counts, failed, first))
}

/// Counts of PURCHASED batches, which never change again, kept per process (bounded) so a
/// finished 10,000-shipment batch's page does not count its rows on every view.
static FINISHED_COUNTS: std::sync::LazyLock<
    std::sync::Mutex<std::collections::HashMap<ObjectId, BatchCounts>>,
> = std::sync::LazyLock::new(Default::default);

/// Finished batches whose counts are kept.
const FINISHED_KEPT: usize = 1_000;

/// A batch's counts: counted, or remembered once it is PURCHASED.
async fn counts_of(conn: &mut store::Conn, batch: &Batch) -> Result<BatchCounts, StoreError> {
    let finished = batch.status == BatchStatus::Purchased;
    if finished {
        let kept = FINISHED_COUNTS.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = kept.get(&batch.id) {
            return Ok(*c);
        }
    }
    let counts = store::batches::counts(conn, batch.id).await?;
    if finished {
        let mut kept = FINISHED_COUNTS.lock().unwrap_or_else(|e| e.into_inner());
        if kept.len() >= FINISHED_KEPT {
            kept.clear();
        }
        kept.insert(batch.id, counts);
    }
    Ok(counts)
}
