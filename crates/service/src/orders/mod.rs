//! Orders (Shippo "Orders", seed 004): created through the API, imported from CSV files, and
//! later by integrations, all through [`save`]; fulfilled by labels (`fulfil`); packing slips
//! (`slips`); CSV import and export (`csv`).
//!
//! A source's order is stored once: saving an order whose source id is already known updates
//! it (address, line items, status within [`OrderStatus::can_become`]) and keeps what labels
//! already carry; saving it unchanged changes nothing and sends no webhook.

pub mod csv;
pub(crate) mod fulfil;
pub mod slips;

use std::collections::{HashMap, HashSet};

use domain::address::{Address, AddressInput};
use domain::order::{LineItem, Order, OrderDetails, OrderFilter, OrderStatus, Source};
use domain::text::check_text;
use domain::webhook::WebhookEvent;
use domain::{FieldErrors, ObjectId, Timestamp, ValidationError};
use rust_decimal::Decimal;
use store::{Conn, PageRequest, Scope, StoreError};

use crate::{addresses, scope, webhooks, Principal, ServiceError, Services};

pub use fulfil::OrderLink;

/// Most line items an order may have.
pub const LINE_ITEMS_MAX: usize = 500;
/// Longest free text (titles, notes).
const TEXT_MAX: usize = 1000;

/// A line item as a source gives it.
#[derive(Debug, Clone, Default)]
pub struct NewLineItem {
    pub title: String,
    pub variant_title: Option<String>,
    pub sku: Option<String>,
    /// None = 1.
    pub quantity: Option<i64>,
    pub total_price: Option<String>,
    pub currency: Option<String>,
    pub weight: Option<String>,
    pub weight_unit: Option<String>,
    pub manufacture_country: Option<String>,
    /// Harmonized System code (for customs declarations).
    pub hs_code: Option<String>,
    pub max_ship_time: Option<Timestamp>,
    pub max_delivery_time: Option<Timestamp>,
    pub description: Option<String>,
}

/// An order as a source gives it (the API, a CSV row group, an integration).
#[derive(Debug, Clone)]
pub struct CreateOrder {
    pub source: Source,
    /// The source's own id; an order already stored with it is updated.
    pub source_id: Option<String>,
    pub order_number: Option<String>,
    /// None = PAID (Shippo's default for orders created through the API).
    pub status: Option<OrderStatus>,
    pub placed_at: Option<Timestamp>,
    pub to_address: Option<AddressOrId>,
    pub from_address: Option<AddressOrId>,
    /// None = the source's own name (`Shippo` for the API, `CSV_Import` for files).
    pub shop_app: Option<String>,
    pub line_items: Vec<NewLineItem>,
    pub details: OrderDetails,
    /// What the wire layer found wrong reading the request.
    pub errors: FieldErrors,
}

impl CreateOrder {
    /// An empty order from `source`.
    pub fn new(source: Source) -> Self {
        Self {
            source,
            source_id: None,
            order_number: None,
            status: None,
            placed_at: None,
            to_address: None,
            from_address: None,
            shop_app: None,
            line_items: Vec::new(),
            details: OrderDetails::default(),
            errors: FieldErrors::new(),
        }
    }
}

/// An address given by id or as a new object.
#[derive(Debug, Clone)]
pub enum AddressOrId {
    Id(String),
    New(Box<AddressInput>),
}

/// An order with what it embeds.
#[derive(Debug, Clone)]
pub struct OrderView {
    pub order: Order,
    pub to_address: Address,
    pub from_address: Option<Address>,
    /// Its labels, oldest first (refunded ones too).
    pub transactions: Vec<store::orders::OrderLabel>,
}

/// What saving one order did.
#[derive(Debug, Clone)]
pub enum Outcome {
    Created(Box<OrderView>),
    Updated(Box<OrderView>),
    /// Already stored exactly so.
    Unchanged(Box<OrderView>),
    Rejected(ValidationError),
}

/// Creates one order through the API.
#[tracing::instrument(skip_all, fields(account = %who.account_id))]
pub async fn create(
    s: &Services,
    who: &Principal,
    input: CreateOrder,
) -> Result<OrderView, ServiceError> {
    match save(s, who, vec![input], false)
        .await?
        .into_iter()
        .next()
        .expect("one outcome per order")
    {
        Outcome::Created(v) | Outcome::Updated(v) | Outcome::Unchanged(v) => Ok(*v),
        Outcome::Rejected(e) => Err(e.into()),
    }
}

/// Saves orders: new ones are created, known ones (by source id) updated; each gets its
/// outcome, a bad one never stops the others. With `dry_run` nothing is written. The writes
/// (addresses, orders, their webhooks) are one transaction.
pub async fn save(
    s: &Services,
    who: &Principal,
    inputs: Vec<CreateOrder>,
    dry_run: bool,
) -> Result<Vec<Outcome>, ServiceError> {
    let scope = scope(who);
    let now = Timestamp::now();
    let mut conn = s.store.conn().await?;
    // Known orders of the inputs' sources.
    let mut by_source: HashMap<Source, Vec<String>> = HashMap::new();
    for i in &inputs {
        if let Some(id) = &i.source_id {
            by_source
                .entry(i.source.clone())
                .or_default()
                .push(id.clone());
        }
    }
    let mut known: HashMap<(Source, String), Order> = HashMap::new();
    for (source, ids) in by_source {
        for (id, o) in store::orders::find_by_source(&mut conn, scope, &source, &ids).await? {
            known.insert((source.clone(), id), o);
        }
    }
    let mut outcomes = Vec::with_capacity(inputs.len());
    let mut seen: HashSet<(Source, String)> = HashSet::new();
    let mut new_addresses: Vec<Address> = Vec::new();
    let mut created: Vec<OrderView> = Vec::new();
    let mut updated: Vec<OrderView> = Vec::new();
    for input in inputs {
        let key = input.source_id.clone().map(|id| (input.source.clone(), id));
        if let Some(k) = &key {
            if !seen.insert(k.clone()) {
                outcomes.push(Outcome::Rejected(ValidationError::field(
                    "order_number",
                    format!("Order \"{}\" appears more than once.", k.1),
                )));
                continue;
            }
        }
        let existing = key.as_ref().and_then(|k| known.get(k));
        match build(s, who, &mut conn, input, existing, now).await? {
            Err(e) => outcomes.push(Outcome::Rejected(e)),
            Ok((view, fresh)) => {
                new_addresses.extend(fresh);
                match existing {
                    None => {
                        outcomes.push(Outcome::Created(Box::new(view.clone())));
                        created.push(view);
                    }
                    Some(old) if same(old, &view.order) => {
                        let mut kept = view;
                        kept.order = old.clone();
                        outcomes.push(Outcome::Unchanged(Box::new(kept)));
                    }
                    Some(_) => {
                        outcomes.push(Outcome::Updated(Box::new(view.clone())));
                        updated.push(view);
                    }
                }
            }
        }
    }
    // Labels of the orders already stored (updated or not), for their answers.
    let ids: Vec<ObjectId> = outcomes
        .iter()
        .filter_map(|o| match o {
            Outcome::Updated(v) | Outcome::Unchanged(v) => Some(v.order.id),
            _ => None,
        })
        .collect();
    let labels = store::orders::transactions_of(&mut conn, &ids).await?;
    drop(conn);
    for o in outcomes.iter_mut() {
        if let Outcome::Updated(v) | Outcome::Unchanged(v) = o {
            v.transactions = labels.get(&v.order.id).cloned().unwrap_or_default();
        }
    }
    if dry_run || (created.is_empty() && updated.is_empty()) {
        return Ok(outcomes);
    }
    let (wire, owner) = (s.wire.clone(), who.account_name.clone());
    s.store
        .write(move |conn| {
            Box::pin(async move {
                store::addresses::insert_many(conn, scope, &new_addresses).await?;
                let orders: Vec<Order> = created.iter().map(|v| v.order.clone()).collect();
                store::orders::insert(conn, scope, &orders).await?;
                for v in &updated {
                    store::orders::update(conn, scope, &v.order).await?;
                }
                let scopes = vec![scope; created.len()];
                webhooks::outbox(conn, WebhookEvent::OrderCreated, &scopes, |i| {
                    wire.order(&owner, &created[i])
                })
                .await?;
                let scopes = vec![scope; updated.len()];
                webhooks::outbox(conn, WebhookEvent::OrderUpdated, &scopes, |i| {
                    wire.order(&owner, &updated[i])
                })
                .await?;
                Ok(())
            })
        })
        .await?;
    s.job_signal.notify_one();
    Ok(outcomes)
}

/// Whether saving `new` over `old` changes nothing a client sees.
fn same(old: &Order, new: &Order) -> bool {
    let strip = |o: &Order| {
        let mut o = o.clone();
        o.updated = Timestamp::from_millis(0);
        o
    };
    strip(old) == strip(new)
}

/// Checks an input and makes its order (new, or `existing` updated), with the addresses it
/// needs stored; `Ok(Err(_))` is a rejection of this order alone.
async fn build(
    s: &Services,
    who: &Principal,
    conn: &mut Conn,
    input: CreateOrder,
    existing: Option<&Order>,
    now: Timestamp,
) -> Result<Result<(OrderView, Vec<Address>), ValidationError>, ServiceError> {
    let scope = scope(who);
    let mut errors = input.errors;
    let mut fresh = Vec::new();
    let to = address(
        s,
        who,
        conn,
        "to_address",
        input.to_address,
        true,
        &mut errors,
    )
    .await?;
    let from = address(
        s,
        who,
        conn,
        "from_address",
        input.from_address,
        false,
        &mut errors,
    )
    .await?;
    let placed_at = input.placed_at;
    if placed_at.is_none() {
        errors.add("placed_at", "This field is required.");
    }
    let details = check_details(input.details, &mut errors);
    let mut items = Vec::with_capacity(input.line_items.len());
    if input.line_items.len() > LINE_ITEMS_MAX {
        errors.add(
            "line_items",
            format!("An order has at most {LINE_ITEMS_MAX} line items."),
        );
    }
    for (i, l) in input.line_items.into_iter().enumerate() {
        if let Some(item) = check_line_item(l, &format!("line_items.{i}"), now, &mut errors) {
            items.push(item);
        }
    }
    let number = input
        .order_number
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty());
    if let Some(n) = &number {
        check_text(&mut errors, "order_number", n, 100);
    }
    let shop_app = input.shop_app.unwrap_or_else(|| {
        match input.source {
            Source::Api => "Shippo",
            Source::Csv => "CSV_Import",
            Source::Integration(_) => "Shippo",
        }
        .to_string()
    });
    check_text(&mut errors, "shop_app", &shop_app, 50);
    let mut status = input.status.unwrap_or(OrderStatus::Paid);
    if let Some(old) = existing {
        // Shipped quantities stay with their line items (matched by SKU, else title and
        // variant); a source cannot order fewer than labels already carry.
        for (i, item) in items.iter_mut().enumerate() {
            if let Some(was) = old.line_items.iter().find(|o| same_item(o, item)) {
                item.id = was.id;
                item.shipped = was.shipped;
                if item.quantity < was.shipped {
                    errors.add(
                        format!("line_items.{i}.quantity"),
                        format!(
                            "{} of this line item are already on labels; the quantity cannot be {}.",
                            was.shipped, item.quantity
                        ),
                    );
                }
            }
        }
        for was in old.line_items.iter().filter(|o| o.shipped > 0) {
            if !items.iter().any(|i| i.id == was.id) {
                errors.add(
                    "line_items",
                    format!(
                        "Line item \"{}\" is on a label and cannot be removed.",
                        was.title
                    ),
                );
            }
        }
        // A source that still says PAID (or nothing new) leaves fulfilment to the labels, and
        // leaves a held order held: only the merchant releases it (a re-import of the same
        // file must not ship what was held).
        if (old.status.in_fulfilment() || old.status == OrderStatus::OnHold)
            && status.in_fulfilment()
        {
            status = old.status;
        } else if !old.status.can_become(status) {
            errors.add(
                "order_status",
                format!(
                    "Order {} is {} and cannot become {}; it may become {}.",
                    old.id,
                    old.status.as_str(),
                    status.as_str(),
                    old.status.moves_named()
                ),
            );
        } else if status == OrderStatus::Cancelled
            && old.status != OrderStatus::Cancelled
            && store::orders::has_open_parcels(conn, old.id).await?
        {
            // A source cannot cancel an order a label still carries: refund the label first.
            errors.add(
                "order_status",
                format!(
                    "Order {} is carried by a label; refund it first (POST /refunds), then cancel the order.",
                    old.id
                ),
            );
        }
    } else if matches!(
        status,
        OrderStatus::PartiallyFulfilled | OrderStatus::Shipped | OrderStatus::Delivered
    ) && !items.is_empty()
    {
        // Imported as already shipped elsewhere: every quantity counts as shipped.
        for item in &mut items {
            item.shipped = item.quantity;
        }
    }
    if let Err(e) = errors.into_result() {
        return Ok(Err(e));
    }
    let (to, from) = (to.expect("checked"), from);
    // An unchanged address keeps its row.
    let keep = |old: Option<ObjectId>, new: &(Address, bool), known: Option<&Address>| match (
        old, known,
    ) {
        (Some(id), Some(k)) if k.id == id && k.fields == new.0.fields => Some(k.clone()),
        _ => None,
    };
    let old_to = match existing {
        Some(o) => found(store::addresses::get(conn, scope, o.to_address).await)?,
        None => None,
    };
    let to_address = match keep(existing.map(|o| o.to_address), &to, old_to.as_ref()) {
        Some(k) => k,
        None => {
            if to.1 {
                fresh.push(to.0.clone());
            }
            to.0
        }
    };
    let from_address = match from {
        None => None,
        Some(f) => {
            let old = match existing.and_then(|o| o.from_address) {
                Some(id) => found(store::addresses::get(conn, scope, id).await)?,
                None => None,
            };
            Some(
                match keep(existing.and_then(|o| o.from_address), &f, old.as_ref()) {
                    Some(k) => k,
                    None => {
                        if f.1 {
                            fresh.push(f.0.clone());
                        }
                        f.0
                    }
                },
            )
        }
    };
    let order = Order {
        id: existing.map_or_else(|| ObjectId::at(now.millis()), |o| o.id),
        created: existing.map_or(now, |o| o.created),
        updated: now,
        test: scope.test,
        source: input.source,
        source_id: input.source_id,
        order_number: number,
        status,
        placed_at: placed_at.expect("checked"),
        to_address: to_address.id,
        from_address: from_address.as_ref().map(|a| a.id),
        shop_app,
        line_items: items,
        details,
    };
    let mut order = order;
    order.status = order.fulfilment(false);
    Ok(Ok((
        OrderView {
            order,
            to_address,
            from_address,
            transactions: Vec::new(),
        },
        fresh,
    )))
}

fn same_item(old: &LineItem, new: &LineItem) -> bool {
    match (&old.sku, &new.sku) {
        (Some(a), Some(b)) => a == b,
        _ => old.title == new.title && old.variant_title == new.variant_title,
    }
}

fn found<T>(r: Result<T, StoreError>) -> Result<Option<T>, ServiceError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(StoreError::NotFound) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Resolves an address: `(address, new)`; problems go to `errors` under `field`.
async fn address(
    s: &Services,
    who: &Principal,
    conn: &mut Conn,
    field: &str,
    given: Option<AddressOrId>,
    required: bool,
    errors: &mut FieldErrors,
) -> Result<Option<(Address, bool)>, ServiceError> {
    match given {
        None => {
            if required {
                errors.add(field, "This field is required.");
            }
            Ok(None)
        }
        Some(AddressOrId::Id(raw)) => {
            let a = match ObjectId::parse(raw.trim()) {
                Some(id) => found(store::addresses::get(conn, scope(who), id).await)?,
                None => None,
            };
            if a.is_none() {
                errors.add(field, format!("No address with id \"{raw}\"."));
            }
            Ok(a.map(|a| (a, false)))
        }
        Some(AddressOrId::New(input)) => match addresses::build(s, who, *input).await {
            Ok(a) => Ok(Some((a, true))),
            Err(ServiceError::Validation(e)) => {
                errors.absorb(e.prefixed(field));
                Ok(None)
            }
            Err(e) => Err(e),
        },
    }
}

/// A decimal amount written back canonically (`12.1` stays `12.1`), or an error for `field`.
fn decimal(raw: Option<String>, field: &str, errors: &mut FieldErrors) -> Option<String> {
    let raw = raw
        .map(|r| r.trim().to_string())
        .filter(|r| !r.is_empty())?;
    match raw.parse::<Decimal>() {
        Ok(d) if d >= Decimal::ZERO && d.scale() <= 4 && d < Decimal::from(1_000_000_000) => {
            Some(raw)
        }
        _ => {
            errors.add(
                field,
                format!("\"{raw}\" is not a non-negative decimal number (at most 4 decimals)."),
            );
            None
        }
    }
}

fn currency(raw: Option<String>, field: &str, errors: &mut FieldErrors) -> Option<String> {
    let raw = raw
        .map(|r| r.trim().to_string())
        .filter(|r| !r.is_empty())?;
    match domain::money::parse_currency(&raw) {
        Ok(c) => Some(c),
        Err(e) => {
            errors.add(field, e);
            None
        }
    }
}

fn mass_unit(raw: Option<String>, field: &str, errors: &mut FieldErrors) -> Option<String> {
    let raw = raw
        .map(|r| r.trim().to_string())
        .filter(|r| !r.is_empty())?;
    match raw.parse::<domain::units::MassUnit>() {
        Ok(u) => Some(u.as_str().to_string()),
        Err(e) => {
            errors.add(field, e);
            None
        }
    }
}

fn text(raw: Option<String>, field: &str, errors: &mut FieldErrors) -> Option<String> {
    let raw = raw
        .map(|r| r.trim().to_string())
        .filter(|r| !r.is_empty())?;
    check_text(errors, field, &raw, TEXT_MAX);
    Some(raw)
}

/// An HS code: digits, with the dots and spaces shops write (`6109.10`), up to 35 characters.
fn hs_code(raw: Option<String>, field: &str, errors: &mut FieldErrors) -> Option<String> {
    let raw = raw
        .map(|r| r.trim().to_string())
        .filter(|r| !r.is_empty())?;
    if raw.chars().count() > 35
        || !raw.chars().any(|c| c.is_ascii_digit())
        || !raw
            .chars()
            .all(|c| c.is_ascii_digit() || c == '.' || c == ' ')
    {
        errors.add(
            field,
            format!("\"{raw}\" is not an HS code (digits, dots and spaces, at most 35)."),
        );
        return None;
    }
    Some(raw)
}

fn check_details(d: OrderDetails, errors: &mut FieldErrors) -> OrderDetails {
    OrderDetails {
        currency: currency(d.currency, "currency", errors),
        subtotal_price: decimal(d.subtotal_price, "subtotal_price", errors),
        total_price: decimal(d.total_price, "total_price", errors),
        total_tax: decimal(d.total_tax, "total_tax", errors),
        shipping_cost: decimal(d.shipping_cost, "shipping_cost", errors),
        shipping_cost_currency: currency(
            d.shipping_cost_currency,
            "shipping_cost_currency",
            errors,
        ),
        shipping_method: text(d.shipping_method, "shipping_method", errors),
        weight: decimal(d.weight, "weight", errors),
        weight_unit: mass_unit(d.weight_unit, "weight_unit", errors),
        notes: text(d.notes, "notes", errors),
        buyer_email: text(d.buyer_email, "buyer_email", errors),
        buyer_phone: text(d.buyer_phone, "buyer_phone", errors),
    }
}

fn check_line_item(
    l: NewLineItem,
    field: &str,
    now: Timestamp,
    errors: &mut FieldErrors,
) -> Option<LineItem> {
    let before = errors.len();
    let title = l.title.trim().to_string();
    if title.is_empty() && l.sku.as_deref().is_none_or(|s| s.trim().is_empty()) {
        errors.add(
            format!("{field}.title"),
            "A line item needs a title or a SKU.",
        );
    }
    check_text(errors, &format!("{field}.title"), &title, TEXT_MAX);
    let quantity = l.quantity.unwrap_or(1);
    if !(1..=100_000).contains(&quantity) {
        errors.add(
            format!("{field}.quantity"),
            "Must be a whole number from 1 to 100000.",
        );
    }
    let country = l
        .manufacture_country
        .map(|c| c.trim().to_ascii_uppercase())
        .filter(|c| !c.is_empty());
    if let Some(c) = &country {
        if c.len() != 2 || !c.chars().all(|ch| ch.is_ascii_alphabetic()) {
            errors.add(
                format!("{field}.manufacture_country"),
                format!("\"{c}\" is not an ISO 3166-1 alpha-2 country code."),
            );
        }
    }
    let item = LineItem {
        id: ObjectId::at(now.millis()),
        title: if title.is_empty() {
            l.sku.clone().unwrap_or_default().trim().to_string()
        } else {
            title
        },
        variant_title: text(l.variant_title, &format!("{field}.variant_title"), errors),
        sku: text(l.sku, &format!("{field}.sku"), errors),
        quantity: quantity.clamp(0, 100_000) as u32,
        shipped: 0,
        total_price: decimal(l.total_price, &format!("{field}.total_price"), errors),
        currency: currency(l.currency, &format!("{field}.currency"), errors),
        weight: decimal(l.weight, &format!("{field}.weight"), errors),
        weight_unit: mass_unit(l.weight_unit, &format!("{field}.weight_unit"), errors),
        manufacture_country: country,
        hs_code: hs_code(l.hs_code, &format!("{field}.hs_code"), errors),
        max_ship_time: l.max_ship_time,
        max_delivery_time: l.max_delivery_time,
        description: text(l.description, &format!("{field}.description"), errors),
    };
    (errors.len() == before).then_some(item)
}

/// Reads the addresses and labels of `orders` and makes their views.
pub(crate) async fn views(
    conn: &mut Conn,
    scope: Scope,
    orders: Vec<Order>,
) -> Result<Vec<OrderView>, StoreError> {
    let mut ids: Vec<ObjectId> = orders.iter().map(|o| o.to_address).collect();
    ids.extend(orders.iter().filter_map(|o| o.from_address));
    let addresses = store::addresses::get_many(conn, scope, &ids).await?;
    let order_ids: Vec<ObjectId> = orders.iter().map(|o| o.id).collect();
    let labels = store::orders::transactions_of(conn, &order_ids).await?;
    orders
        .into_iter()
        .map(|order| {
            let to_address = addresses
                .get(&order.to_address)
                .cloned()
                .ok_or_else(|| StoreError::Corrupt(format!("order {} address", order.id)))?;
            Ok(OrderView {
                from_address: order.from_address.and_then(|a| addresses.get(&a).cloned()),
                transactions: labels.get(&order.id).cloned().unwrap_or_default(),
                to_address,
                order,
            })
        })
        .collect()
}

/// One of the principal's orders.
pub async fn get(s: &Services, who: &Principal, id: ObjectId) -> Result<OrderView, ServiceError> {
    let scope = scope(who);
    let mut conn = s.store.conn().await?;
    let order = store::orders::get(&mut conn, scope, id).await?;
    Ok(views(&mut conn, scope, vec![order])
        .await?
        .pop()
        .expect("one view"))
}

/// A page of orders and whether more follow (order lists count nothing, as Shippo's).
#[derive(Debug, Clone)]
pub struct OrderPage {
    pub items: Vec<OrderView>,
    pub more: bool,
    pub request: PageRequest,
}

/// A page of the principal's orders, newest first.
pub async fn list(
    s: &Services,
    who: &Principal,
    filter: &OrderFilter,
    page: PageRequest,
) -> Result<OrderPage, ServiceError> {
    let scope = scope(who);
    let mut conn = s.store.conn().await?;
    let (orders, more) = store::orders::list(&mut conn, scope, filter, page).await?;
    let items = views(&mut conn, scope, orders).await?;
    Ok(OrderPage {
        items,
        more,
        request: page,
    })
}

/// How many of the principal's orders match `filter`, counted up to `cap`.
pub async fn count_up_to(
    s: &Services,
    who: &Principal,
    filter: &OrderFilter,
    cap: u32,
) -> Result<i64, ServiceError> {
    let mut conn = s.store.conn().await?;
    Ok(store::orders::count_up_to(&mut conn, scope(who), filter, cap).await?)
}

/// An order of the web app's inbox with its labels (oldest first).
pub type InboxItem = (store::orders::InboxRow, Vec<store::orders::OrderLabel>);

/// The newest of the principal's orders matching `filter` for the inbox (keyset by
/// `filter.before`), each with its labels, and whether more follow: two queries whatever the
/// page holds.
pub async fn inbox(
    s: &Services,
    who: &Principal,
    filter: &OrderFilter,
    limit: u32,
) -> Result<(Vec<InboxItem>, bool), ServiceError> {
    let mut conn = s.store.conn().await?;
    let (rows, more) = store::orders::inbox(&mut conn, scope(who), filter, limit).await?;
    let ids: Vec<ObjectId> = rows.iter().map(|r| r.id).collect();
    let mut labels = store::orders::transactions_of(&mut conn, &ids).await?;
    let items = rows
        .into_iter()
        .map(|r| {
            let l = labels.remove(&r.id).unwrap_or_default();
            (r, l)
        })
        .collect();
    Ok((items, more))
}

/// Moves an order to `status` (hold, release, cancel, refund, delivered, returned), checked by
/// [`OrderStatus::can_become`]; labels decide the fulfilment states themselves. Releasing
/// (PAID, UNKNOWN) puts the order where its labels put it (PARTIALLY_FULFILLED when they carry
/// part of it). A move that would change nothing is refused with the allowed moves named, and
/// an order cannot be cancelled while a label still carries it (refund the label first).
pub async fn set_status(
    s: &Services,
    who: &Principal,
    id: ObjectId,
    status: OrderStatus,
) -> Result<OrderView, ServiceError> {
    let scope = scope(who);
    let (wire, owner) = (s.wire.clone(), who.account_name.clone());
    let actor = who.clone();
    let moved = s
        .store
        .write(move |conn| {
            Box::pin(async move {
                let mut order = store::orders::get_for_update(conn, scope, id).await?;
                if order.status == status {
                    return Ok(Moved::Same);
                }
                let refused = |why: String| -> Result<Moved, StoreError> {
                    Ok(Moved::Refused(format!(
                        "{why}; it may become {}.",
                        order.status.moves_named()
                    )))
                };
                if !order.status.can_become(status) {
                    let by_labels = matches!(
                        status,
                        OrderStatus::PartiallyFulfilled | OrderStatus::Shipped
                    );
                    return refused(format!(
                        "Order {id} is {} and cannot become {}{}",
                        order.status.as_str(),
                        status.as_str(),
                        if by_labels {
                            " (labels decide that)"
                        } else {
                            ""
                        }
                    ));
                }
                let labelled = store::orders::has_open_parcels(conn, order.id).await?;
                if status == OrderStatus::Cancelled && labelled {
                    let labels = store::orders::transactions_of(conn, &[order.id]).await?;
                    let live: Vec<String> = labels
                        .get(&order.id)
                        .into_iter()
                        .flatten()
                        .filter(|l| !matches!(l.status.as_str(), "REFUNDED" | "ERROR"))
                        .map(|l| l.transaction.to_string())
                        .collect();
                    return Ok(Moved::Refused(format!(
                        "Order {id} is carried by a label ({}); refund it first (POST /refunds), then cancel the order.",
                        live.join(", ")
                    )));
                }
                // Released from hold (PAID, UNKNOWN): where its labels put it.
                let target = if status.in_fulfilment() {
                    let mut o = order.clone();
                    o.status = status;
                    o.fulfilment(labelled)
                } else {
                    status
                };
                if target == order.status {
                    return refused(format!(
                        "Order {id} is {} and moving it to {} would change nothing",
                        order.status.as_str(),
                        status.as_str()
                    ));
                }
                let detail = format!(
                    "order {} from {} to {}",
                    order.order_number.as_deref().unwrap_or(""),
                    order.status.as_str(),
                    target.as_str()
                );
                order.status = target;
                order.updated = Timestamp::now();
                store::orders::update(conn, scope, &order).await?;
                crate::audit::record(conn, &actor, "changed an order's status", Some(id), &detail)
                    .await?;
                let view = views(conn, scope, vec![order]).await?.pop().expect("one");
                webhooks::outbox(conn, WebhookEvent::OrderUpdated, &[scope], |_| {
                    wire.order(&owner, &view)
                })
                .await?;
                Ok(Moved::Done(Box::new(view)))
            })
        })
        .await?;
    s.job_signal.notify_one();
    match moved {
        Moved::Same => get(s, who, id).await,
        Moved::Refused(why) => Err(ValidationError::field("order_status", why).into()),
        Moved::Done(v) => Ok(*v),
    }
}

/// Corrects an order's ship-to (a person fixing what validation refused): the new address is
/// validated and stored, and the order points at it, in one transaction with its audit entry and
/// `order_updated` webhook. Refused once the order is shipped, cancelled or refunded (its
/// labels name the old address) and while an unrefunded label carries it.
pub async fn change_ship_to(
    s: &Services,
    who: &Principal,
    id: ObjectId,
    mut input: domain::address::AddressInput,
) -> Result<OrderView, ServiceError> {
    // Found (or not) before the validator is asked anything.
    get(s, who, id).await?;
    input.validate = true;
    let address = crate::addresses::build(s, who, input).await?;
    let scope = scope(who);
    let (wire, owner) = (s.wire.clone(), who.account_name.clone());
    let actor = who.clone();
    let view = s
        .store
        .write(move |conn| {
            Box::pin(async move {
                let mut order = store::orders::get_for_update(conn, scope, id).await?;
                let closed = matches!(
                    order.status,
                    OrderStatus::Shipped | OrderStatus::Cancelled | OrderStatus::Refunded
                );
                if closed || store::orders::has_open_parcels(conn, order.id).await? {
                    return Ok(Err(format!(
                        "Order {} is {}{}: its ship-to can no longer change.",
                        order.order_number.as_deref().unwrap_or(""),
                        order.status.as_str(),
                        if closed {
                            ""
                        } else {
                            " and carried by a label (refund it first)"
                        }
                    )));
                }
                store::addresses::insert(conn, scope, &address).await?;
                let f = &address.fields;
                let detail = format!(
                    "order {}: {}, {}, {} {} ({})",
                    order.order_number.as_deref().unwrap_or(""),
                    f.name,
                    f.street1,
                    f.city,
                    f.country,
                    address.state.as_str()
                );
                order.to_address = address.id;
                order.updated = Timestamp::now();
                store::orders::update(conn, scope, &order).await?;
                crate::audit::record(
                    conn,
                    &actor,
                    "changed an order's ship-to",
                    Some(id),
                    &detail,
                )
                .await?;
                let view = views(conn, scope, vec![order]).await?.pop().expect("one");
                webhooks::outbox(conn, WebhookEvent::OrderUpdated, &[scope], |_| {
                    wire.order(&owner, &view)
                })
                .await?;
                Ok(Ok(view))
            })
        })
        .await?;
    s.job_signal.notify_one();
    view.map_err(|why| ValidationError::field("to_address", why).into())
}

enum Moved {
    Same,
    Refused(String),
    Done(Box<OrderView>),
}
