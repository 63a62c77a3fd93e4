//! `/orders`: create, retrieve, list (Shippo "Orders"), plus Consign's status moves, packing
//! slips and CSV import/export.
//! Shippo reference: <https://docs.goshippo.com/shippoapi/public-api/#tag/Orders>.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use domain::address::Address;
use domain::order::{LineItem, OrderDetails, OrderFilter, OrderStatus, Source};
use domain::{FieldErrors, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use service::orders::{self, AddressOrId, CreateOrder, NewLineItem, OrderView};
use utoipa::ToSchema;

use crate::addresses::{AddressCreateRequest, AddressResponse};
use crate::auth::Auth;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{nested, Body, Id};
use crate::lenient;
use crate::pagination::{base_url, Linked, ListQuery};
use crate::AppState;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/orders", get(list).post(create))
        .route("/orders/{id}", get(retrieve))
        .route("/orders/{id}/status", post(set_status))
        .route("/orders/{id}/packingslip", get(packing_slip))
        .route("/orders/packingslips", post(packing_slips))
        .route(
            "/orders/import",
            post(import).layer(axum::extract::DefaultBodyLimit::max(
                service::orders::csv::MAX_BYTES + FORM_ROOM,
            )),
        )
        .route("/orders/export", get(export))
}

/// Shippo's `shop_app` values (the SDK checks them exactly).
pub const SHOP_APPS: &[&str] = &[
    "Amazon",
    "Bigcommerce",
    "CSV_Import",
    "eBay",
    "ePages",
    "Etsy",
    "Godaddy",
    "Magento",
    "Shippo",
    "Shopify",
    "Spreecommerce",
    "StripeRelay",
    "Walmart",
    "Weebly",
    "WooCommerce",
];

/// A line item to create.
#[derive(Debug, Deserialize, ToSchema)]
pub struct LineItemCreateRequest {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub title: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub variant_title: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub sku: Option<String>,
    /// Whole number, default 1.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[schema(value_type = Option<i64>)]
    pub quantity: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub total_price: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub currency: Option<String>,
    /// The whole line's weight.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub weight: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub weight_unit: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub manufacture_country: Option<String>,
    /// Consign: the Harmonized System code (customs declarations of batches from orders).
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub hs_code: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub max_ship_time: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub max_delivery_time: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub description: Option<String>,
}

/// Create an order.
#[derive(Debug, Deserialize, ToSchema)]
pub struct OrderCreateRequest {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub order_number: Option<String>,
    /// UNKNOWN, AWAITPAY, PAID (default), REFUNDED, CANCELLED, PARTIALLY_FULFILLED, SHIPPED; also
    /// Consign's ON_HOLD, DELIVERED, RETURNED.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub order_status: Option<String>,
    /// ISO 8601. Required.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub placed_at: Option<String>,
    /// An address object or id. Required.
    #[schema(value_type = Object)]
    pub to_address: Option<Value>,
    #[schema(value_type = Option<Object>)]
    pub from_address: Option<Value>,
    #[serde(default)]
    pub line_items: Option<Vec<Value>>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub currency: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub notes: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub shipping_cost: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub shipping_cost_currency: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub shipping_method: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub subtotal_price: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub total_price: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub total_tax: Option<String>,
    /// Total weight. Required (as Shippo requires it).
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub weight: Option<String>,
    /// g, kg, lb, oz. Required.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub weight_unit: Option<String>,
    /// One of Shippo's platforms (default `Shippo`).
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub shop_app: Option<String>,
    /// Consign: the order's id at its source; creating an order with a known one updates it.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub source_id: Option<String>,
}

/// Reads an ISO 8601 time into `errors` under `field`.
pub(crate) fn time(
    raw: Option<String>,
    field: &str,
    errors: &mut FieldErrors,
) -> Option<Timestamp> {
    let raw = raw
        .map(|r| r.trim().to_string())
        .filter(|r| !r.is_empty())?;
    Timestamp::parse(&raw).or_else(|| {
        errors.add(
            field,
            format!("\"{raw}\" is not an ISO 8601 date and time."),
        );
        None
    })
}

/// An address given as an object or an id.
pub(crate) fn address_or_id(
    field: &str,
    v: Option<Value>,
    errors: &mut FieldErrors,
) -> Option<AddressOrId> {
    match v {
        None | Some(Value::Null) => None,
        Some(Value::String(id)) => Some(AddressOrId::Id(id)),
        Some(v) => match nested::<AddressCreateRequest>(field, v) {
            Ok(a) => Some(AddressOrId::New(Box::new(a.into()))),
            Err(e) => {
                merge(errors, e.into_fields(field));
                None
            }
        },
    }
}

fn merge(into: &mut FieldErrors, from: FieldErrors) {
    for (field, messages) in from.iter() {
        for m in messages {
            into.add(field, m.clone());
        }
    }
}

fn shop_app(raw: Option<String>, errors: &mut FieldErrors) -> Option<String> {
    let raw = raw
        .map(|r| r.trim().to_string())
        .filter(|r| !r.is_empty())?;
    match SHOP_APPS.iter().find(|a| a.eq_ignore_ascii_case(&raw)) {
        Some(a) => Some(a.to_string()),
        None => {
            errors.add(
                "shop_app",
                format!("\"{raw}\" is not one of {}.", SHOP_APPS.join(", ")),
            );
            None
        }
    }
}

/// Reads an order status (Shippo's or Consign's spelling).
pub(crate) fn status(raw: Option<String>, errors: &mut FieldErrors) -> Option<OrderStatus> {
    let raw = raw
        .map(|r| r.trim().to_string())
        .filter(|r| !r.is_empty())?;
    OrderStatus::parse(&raw).or_else(|| {
        errors.add(
            "order_status",
            format!("\"{raw}\" is not one of UNKNOWN, AWAITPAY, PAID, ON_HOLD, PARTIALLY_FULFILLED, SHIPPED, DELIVERED, CANCELLED, REFUNDED, RETURNED."),
        );
        None
    })
}

impl OrderCreateRequest {
    fn into_command(self) -> CreateOrder {
        let mut errors = FieldErrors::new();
        // Shippo requires both (its recorded 400 names them).
        for (field, v) in [("weight", &self.weight), ("weight_unit", &self.weight_unit)] {
            if v.as_deref().is_none_or(|v| v.trim().is_empty()) {
                errors.add(field, "This field is required.");
            }
        }
        let to_address = address_or_id("to_address", self.to_address, &mut errors);
        let from_address = address_or_id("from_address", self.from_address, &mut errors);
        let mut line_items = Vec::new();
        for (i, v) in self.line_items.unwrap_or_default().into_iter().enumerate() {
            let field = format!("line_items.{i}");
            match nested::<LineItemCreateRequest>(&field, v) {
                Ok(l) => line_items.push(line_item(l, &field, &mut errors)),
                Err(e) => merge(&mut errors, e.into_fields(&field)),
            }
        }
        CreateOrder {
            source: Source::Api,
            source_id: self
                .source_id
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty()),
            order_number: self.order_number,
            status: status(self.order_status, &mut errors),
            placed_at: time(self.placed_at, "placed_at", &mut errors),
            to_address,
            from_address,
            shop_app: shop_app(self.shop_app, &mut errors),
            line_items,
            details: OrderDetails {
                currency: self.currency,
                subtotal_price: self.subtotal_price,
                total_price: self.total_price,
                total_tax: self.total_tax,
                shipping_cost: self.shipping_cost,
                shipping_cost_currency: self.shipping_cost_currency,
                shipping_method: self.shipping_method,
                weight: self.weight,
                weight_unit: self.weight_unit,
                notes: self.notes,
                buyer_email: None,
                buyer_phone: None,
            },
            errors,
        }
    }
}

fn line_item(l: LineItemCreateRequest, field: &str, errors: &mut FieldErrors) -> NewLineItem {
    let quantity = match l.quantity.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(q) => match q.parse::<i64>() {
            Ok(n) => Some(n),
            Err(_) => {
                errors.add(
                    format!("{field}.quantity"),
                    format!("\"{q}\" is not a whole number."),
                );
                None
            }
        },
    };
    NewLineItem {
        title: l.title.unwrap_or_default(),
        variant_title: l.variant_title,
        sku: l.sku,
        quantity,
        total_price: l.total_price,
        currency: l.currency,
        weight: l.weight,
        weight_unit: l.weight_unit,
        manufacture_country: l.manufacture_country,
        hs_code: l.hs_code,
        max_ship_time: time(l.max_ship_time, &format!("{field}.max_ship_time"), errors),
        max_delivery_time: time(
            l.max_delivery_time,
            &format!("{field}.max_delivery_time"),
            errors,
        ),
        description: l.description,
    }
}

/// A line item.
#[derive(Serialize, ToSchema)]
pub struct LineItemResponse {
    pub object_id: String,
    pub title: String,
    pub variant_title: Option<String>,
    pub sku: Option<String>,
    pub quantity: u32,
    /// Consign: how many are on labels.
    pub quantity_shipped: u32,
    pub total_price: Option<String>,
    pub currency: Option<String>,
    pub weight: Option<String>,
    pub weight_unit: Option<String>,
    pub manufacture_country: Option<String>,
    /// Consign: the Harmonized System code.
    pub hs_code: Option<String>,
    pub max_ship_time: Option<String>,
    pub max_delivery_time: Option<String>,
    pub description: Option<String>,
}

impl From<&LineItem> for LineItemResponse {
    fn from(l: &LineItem) -> Self {
        Self {
            object_id: l.id.to_string(),
            title: l.title.clone(),
            variant_title: l.variant_title.clone(),
            sku: l.sku.clone(),
            quantity: l.quantity,
            quantity_shipped: l.shipped,
            total_price: l.total_price.clone(),
            currency: l.currency.clone(),
            weight: l.weight.clone(),
            weight_unit: l.weight_unit.clone(),
            manufacture_country: l.manufacture_country.clone(),
            hs_code: l.hs_code.clone(),
            max_ship_time: l.max_ship_time.map(|t| t.to_string()),
            max_delivery_time: l.max_delivery_time.map(|t| t.to_string()),
            description: l.description.clone(),
        }
    }
}

/// A label of an order.
#[derive(Serialize, ToSchema)]
pub struct OrderTransaction {
    pub object_id: String,
    /// The transaction's status (SUCCESS, QUEUED, REFUNDED, …).
    pub status: String,
    pub tracking_number: Option<String>,
}

/// An Order.
#[derive(Serialize, ToSchema)]
pub struct OrderResponse {
    pub object_id: String,
    pub object_owner: String,
    pub object_created: String,
    pub object_updated: String,
    pub order_number: Option<String>,
    /// Shippo's enum: UNKNOWN, AWAITPAY, PAID, REFUNDED, CANCELLED, PARTIALLY_FULFILLED, SHIPPED.
    pub order_status: &'static str,
    /// Consign: the full state (adds ON_HOLD, DELIVERED, RETURNED).
    pub consign_status: &'static str,
    pub placed_at: String,
    pub to_address: AddressResponse,
    pub from_address: Option<AddressResponse>,
    pub shop_app: String,
    /// Consign: where the order came from (`api`, `csv`, an integration) and its id there.
    pub source: String,
    pub source_id: Option<String>,
    pub weight: Option<String>,
    pub weight_unit: Option<String>,
    /// The labels bought for the order, oldest first, with a few of their fields (Shippo:
    /// "returned expanded with a limited number of fields").
    pub transactions: Vec<OrderTransaction>,
    pub total_tax: Option<String>,
    pub total_price: Option<String>,
    pub subtotal_price: Option<String>,
    pub currency: Option<String>,
    pub shipping_method: Option<String>,
    pub shipping_cost: Option<String>,
    pub shipping_cost_currency: Option<String>,
    pub line_items: Vec<LineItemResponse>,
    pub notes: Option<String>,
    pub test: bool,
}

fn address_response(a: &Address, owner: &str) -> AddressResponse {
    AddressResponse::new(a.clone(), owner)
}

impl OrderResponse {
    /// The wire form of `v`, owned by `owner`.
    pub fn new(v: &OrderView, owner: &str) -> Self {
        let (o, d) = (&v.order, &v.order.details);
        Self {
            object_id: o.id.to_string(),
            object_owner: owner.to_string(),
            object_created: o.created.to_string(),
            object_updated: o.updated.to_string(),
            order_number: o.order_number.clone(),
            order_status: o.status.shippo(),
            consign_status: o.status.as_str(),
            placed_at: o.placed_at.to_string(),
            to_address: address_response(&v.to_address, owner),
            from_address: v.from_address.as_ref().map(|a| address_response(a, owner)),
            shop_app: o.shop_app.clone(),
            source: o.source.as_str().to_string(),
            source_id: o.source_id.clone(),
            weight: d.weight.clone(),
            weight_unit: d.weight_unit.clone(),
            transactions: v
                .transactions
                .iter()
                .map(|t| OrderTransaction {
                    object_id: t.transaction.to_string(),
                    status: t.status.clone(),
                    tracking_number: t.tracking_number.clone(),
                })
                .collect(),
            total_tax: d.total_tax.clone(),
            total_price: d.total_price.clone(),
            subtotal_price: d.subtotal_price.clone(),
            currency: d.currency.clone(),
            shipping_method: d.shipping_method.clone(),
            shipping_cost: d.shipping_cost.clone(),
            shipping_cost_currency: d.shipping_cost_currency.clone(),
            line_items: o.line_items.iter().map(LineItemResponse::from).collect(),
            notes: d.notes.clone(),
            test: o.test,
        }
    }
}

/// Create an order (201). A `source_id` already known updates that order instead.
#[utoipa::path(post, path = "/orders", tag = "Orders",
    request_body(content((OrderCreateRequest = "application/json"))),
    responses((status = 201, body = OrderResponse), (status = 400, body = ErrorBody)), security(("ShippoToken" = [])))]
pub async fn create(
    State(state): State<AppState>,
    Auth(who): Auth,
    Body(req): Body<OrderCreateRequest>,
) -> Result<(StatusCode, Json<OrderResponse>), ApiError> {
    let v = orders::create(&state.services, &who, req.into_command()).await?;
    Ok((
        StatusCode::CREATED,
        Json(OrderResponse::new(&v, &who.account_name)),
    ))
}

/// Retrieve an order.
#[utoipa::path(get, path = "/orders/{id}", tag = "Orders", params(("id" = String, Path)),
    responses((status = 200, body = OrderResponse), (status = 404, body = ErrorBody)), security(("ShippoToken" = [])))]
pub async fn retrieve(
    State(state): State<AppState>,
    Auth(who): Auth,
    Id(id): Id,
) -> Result<Json<OrderResponse>, ApiError> {
    let v = orders::get(&state.services, &who, id).await?;
    Ok(Json(OrderResponse::new(&v, &who.account_name)))
}

/// A page of orders (no `count`, as Shippo's).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct OrderList {
    next: Option<String>,
    previous: Option<String>,
    results: Vec<OrderResponse>,
}

/// The list filters: `order_status[]` (repeatable; `order_status` too), `start_date` and
/// `end_date` (placed at, inclusive, ISO 8601), `shop_app`.
pub(crate) fn filter(q: &ListQuery) -> Result<OrderFilter, ApiError> {
    let mut errors = FieldErrors::new();
    let mut f = OrderFilter::default();
    let mut raw = q.params("order_status[]");
    raw.extend(q.params("order_status"));
    for r in raw {
        for part in r.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match OrderStatus::parse(part) {
                Some(s) if !f.statuses.contains(&s) => f.statuses.push(s),
                Some(_) => {}
                None => errors.add(
                    "order_status",
                    format!("\"{part}\" is not an order status."),
                ),
            }
        }
    }
    f.placed_from = time(
        q.param("start_date").map(String::from),
        "start_date",
        &mut errors,
    );
    f.placed_to = time(
        q.param("end_date").map(String::from),
        "end_date",
        &mut errors,
    );
    f.shop_app = q
        .param("shop_app")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from);
    errors.into_result()?;
    Ok(f)
}

/// List orders, newest first.
#[utoipa::path(get, path = "/orders", tag = "Orders", params(("page" = Option<u32>, Query), ("results" = Option<u32>, Query),
        ("order_status[]" = Option<Vec<String>>, Query), ("start_date" = Option<String>, Query), ("end_date" = Option<String>, Query), ("shop_app" = Option<String>, Query)),
    responses((status = 200, body = OrderList), (status = 400, body = ErrorBody)), security(("ShippoToken" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Auth(who): Auth,
    q: ListQuery,
) -> Result<Json<Linked<OrderResponse>>, ApiError> {
    let f = filter(&q)?;
    let page = orders::list(&state.services, &who, &f, q.page).await?;
    Ok(Json(Linked::new(&q, page.items, page.more, |v| {
        OrderResponse::new(&v, &who.account_name)
    })))
}

/// Move an order (Consign extension).
#[derive(Debug, Deserialize, ToSchema)]
pub struct OrderStatusRequest {
    /// ON_HOLD, PAID (release), CANCELLED, REFUNDED, DELIVERED, RETURNED, AWAITPAY, UNKNOWN.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub order_status: Option<String>,
}

/// Hold, release, cancel or close an order (Consign extension); fulfilment states come from
/// labels and cannot be set.
#[utoipa::path(post, path = "/orders/{id}/status", tag = "Orders", params(("id" = String, Path)),
    request_body(content((OrderStatusRequest = "application/json"))),
    responses((status = 200, body = OrderResponse), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)), security(("ShippoToken" = [])))]
pub async fn set_status(
    State(state): State<AppState>,
    Auth(who): Auth,
    Id(id): Id,
    Body(req): Body<OrderStatusRequest>,
) -> Result<Json<OrderResponse>, ApiError> {
    // Another account's (or mode's) order is unknown before the body is judged.
    orders::get(&state.services, &who, id).await?;
    let mut errors = FieldErrors::new();
    let s = status(req.order_status, &mut errors);
    if s.is_none() && errors.is_empty() {
        errors.add("order_status", "This field is required.");
    }
    errors.into_result()?;
    let v = orders::set_status(&state.services, &who, id, s.expect("checked")).await?;
    Ok(Json(OrderResponse::new(&v, &who.account_name)))
}

/// A packing slip link.
#[derive(Serialize, ToSchema)]
pub struct PackingSlipResponse {
    /// A signed link to the PDF (no token needed).
    pub slip_url: String,
    /// When the link stops working.
    pub expires: String,
    pub created: String,
}

fn slip_answer(
    state: &AppState,
    headers: &HeaderMap,
    slip: orders::slips::Slip,
) -> Json<PackingSlipResponse> {
    let base = base_url(headers, state);
    let path = service::files::signed_path(&state.services.cipher, &slip.key, slip.created);
    Json(PackingSlipResponse {
        slip_url: format!("{base}{path}"),
        expires: Timestamp::from_millis(
            slip.created.millis() + service::files::LINK_TTL_SECS * 1000,
        )
        .to_string(),
        created: slip.created.to_string(),
    })
}

/// The packing slip of an order: a signed link to a PDF with the order number as Code 128, the
/// ship-to address, the line items and notes; with `transaction`, the part of the order that
/// label carries.
#[utoipa::path(get, path = "/orders/{id}/packingslip", tag = "Orders", params(("id" = String, Path), ("transaction" = Option<String>, Query)),
    responses((status = 200, body = PackingSlipResponse), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)), security(("ShippoToken" = [])))]
pub async fn packing_slip(
    State(state): State<AppState>,
    Auth(who): Auth,
    headers: HeaderMap,
    Id(id): Id,
    q: ListQuery,
) -> Result<Json<PackingSlipResponse>, ApiError> {
    let transaction = match q
        .param("transaction")
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        None => None,
        Some(raw) => Some(domain::ObjectId::parse(raw).ok_or_else(|| {
            ApiError::field("transaction", format!("No transaction with id \"{raw}\"."))
        })?),
    };
    let slip = orders::slips::packing_slip(&state.services, &who, id, transaction).await?;
    Ok(slip_answer(&state, &headers, slip))
}

/// Several orders' packing slips in one PDF.
#[derive(Debug, Deserialize, ToSchema)]
pub struct PackingSlipsRequest {
    /// Order ids, printed in this order (at most 500).
    pub orders: Option<Vec<String>>,
}

/// One PDF of many orders' packing slips (Consign extension), each order on its own page.
#[utoipa::path(post, path = "/orders/packingslips", tag = "Orders",
    request_body(content((PackingSlipsRequest = "application/json"))),
    responses((status = 200, body = PackingSlipResponse), (status = 400, body = ErrorBody)), security(("ShippoToken" = [])))]
pub async fn packing_slips(
    State(state): State<AppState>,
    Auth(who): Auth,
    headers: HeaderMap,
    Body(req): Body<PackingSlipsRequest>,
) -> Result<Json<PackingSlipResponse>, ApiError> {
    let mut errors = FieldErrors::new();
    let mut ids = Vec::new();
    for (i, raw) in req.orders.unwrap_or_default().iter().enumerate() {
        match domain::ObjectId::parse(raw.trim()) {
            Some(id) => ids.push(id),
            None => errors.add(
                format!("orders.{i}"),
                format!("No order with id \"{raw}\"."),
            ),
        }
    }
    errors.into_result()?;
    let slip = orders::slips::packing_slips(&state.services, &who, &ids).await?;
    Ok(slip_answer(&state, &headers, slip))
}

/// One row (or order) an import did not take.
#[derive(Serialize, ToSchema)]
pub struct ImportRejection {
    /// The file's line (the header is line 1).
    pub row: usize,
    /// The column (Consign's name), or `order`/`row`.
    pub field: String,
    pub message: String,
    pub order_number: Option<String>,
}

/// What an import did, or (dry run) would do.
#[derive(Serialize, ToSchema)]
pub struct ImportResponse {
    pub dry_run: bool,
    /// Data rows read.
    pub rows: usize,
    /// Orders they make.
    pub orders: usize,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub rejected: usize,
    /// Order numbers created and updated.
    pub created_orders: Vec<String>,
    pub updated_orders: Vec<String>,
    /// The first 1,000 rejections by row (`rejected` counts every rejected order).
    pub rejections: Vec<ImportRejection>,
    /// Rejections left off the list.
    pub rejections_omitted: usize,
}

impl From<orders::csv::ImportReport> for ImportResponse {
    fn from(r: orders::csv::ImportReport) -> Self {
        Self {
            dry_run: r.dry_run,
            rows: r.rows,
            orders: r.orders,
            created: r.created,
            updated: r.updated,
            unchanged: r.unchanged,
            rejected: r.rejected,
            created_orders: r.created_numbers,
            updated_orders: r.updated_numbers,
            rejections: r
                .rejections
                .into_iter()
                .map(|x| ImportRejection {
                    row: x.row,
                    field: x.field,
                    message: x.message,
                    order_number: x.order_number,
                })
                .collect(),
            rejections_omitted: r.rejections_omitted,
        }
    }
}

/// Reads `mapping` (a JSON object `{"field": "Column"}`) and `dry_run`.
fn import_options(
    dry_run: Option<&str>,
    mapping: Option<&str>,
) -> Result<orders::csv::ImportOptions, ApiError> {
    let dry_run = match dry_run.map(str::trim) {
        None | Some("") | Some("false") | Some("0") => false,
        Some("true") | Some("1") => true,
        Some(other) => {
            return Err(ApiError::field(
                "dry_run",
                format!("\"{other}\" is not true or false."),
            ))
        }
    };
    let mapping = match mapping.map(str::trim).filter(|m| !m.is_empty()) {
        None => Vec::new(),
        Some(raw) => {
            let v: serde_json::Map<String, Value> = serde_json::from_str(raw).map_err(|_| {
                ApiError::field(
                    "mapping",
                    "Expected a JSON object of {\"consign_column\": \"Your column\"}.",
                )
            })?;
            v.into_iter()
                .map(|(k, v)| match v {
                    Value::String(c) => Ok((k, c)),
                    _ => Err(ApiError::field(
                        &format!("mapping.{k}"),
                        "Expected a column name.",
                    )),
                })
                .collect::<Result<_, _>>()?
        }
    };
    Ok(orders::csv::ImportOptions { dry_run, mapping })
}

/// What a CSV upload route takes beyond its file's limit: room for a multipart form's
/// boundaries, part headers and `dry_run`/`mapping` parts, so a file of the full size fits.
pub(crate) const FORM_ROOM: usize = 64 * 1024;

/// The body's announced length, capped at the largest an upload takes: the size of the one
/// buffer a file is read into.
fn announced(headers: &axum::http::HeaderMap) -> usize {
    headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<usize>().ok())
        .unwrap_or(0)
        .min(orders::csv::MAX_BYTES + FORM_ROOM)
}

/// A `text/csv` body read into one buffer of its announced size as it arrives (collecting it
/// whole first would hold it twice), within the route's body limit.
async fn read_file(req: axum::extract::Request) -> Result<axum::body::Bytes, ApiError> {
    use axum::RequestExt;
    use futures_util::StreamExt;
    let mut data = Vec::with_capacity(announced(req.headers()));
    let mut stream = req.into_limited_body().into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| {
            crate::extract::read_error(&e, "The file is larger than an import takes.")
        })?;
        data.extend_from_slice(&chunk);
    }
    Ok(axum::body::Bytes::from(data))
}

/// The answer to a multipart form that could not be read: a file over the route's limit is a
/// JSON 413 (as a `text/csv` one is), anything else a JSON 400.
fn form_error(e: axum::extract::multipart::MultipartError) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "The file is larger than an import takes.",
        );
    }
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "invalid_body",
        format!("The form cannot be read: {e}"),
    )
}

/// A CSV upload: `text/csv` (the body is the file) or `multipart/form-data` (a `file` part;
/// optional `dry_run` and `mapping` parts, else the same query parameters); UTF-8 only.
pub(crate) async fn upload(
    q: &ListQuery,
    req: axum::extract::Request,
) -> Result<(axum::body::Bytes, orders::csv::ImportOptions), ApiError> {
    use axum::extract::FromRequest;
    let media = crate::extract::media_type(req.headers());
    let hint = announced(req.headers());
    let (bytes, dry, map) = if media == "multipart/form-data" {
        let mut form = axum::extract::Multipart::from_request(req, &())
            .await
            .map_err(|e| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_body",
                    format!("The form cannot be read: {e}"),
                )
            })?;
        let (mut file, mut dry, mut map) = (None, None, None);
        while let Some(mut field) = form.next_field().await.map_err(form_error)? {
            let name = field.name().unwrap_or("").to_string();
            if name == "file" {
                // Into one buffer of the request's size, as it arrives.
                let mut data = Vec::with_capacity(hint);
                while let Some(chunk) = field.chunk().await.map_err(form_error)? {
                    data.extend_from_slice(&chunk);
                }
                file = Some(axum::body::Bytes::from(data));
                continue;
            }
            let data = field.bytes().await.map_err(form_error)?;
            match name.as_str() {
                "dry_run" => dry = Some(String::from_utf8_lossy(&data).into_owned()),
                "mapping" => map = Some(String::from_utf8_lossy(&data).into_owned()),
                _ => {}
            }
        }
        let Some(file) = file else {
            return Err(ApiError::field(
                "file",
                "This field is required: the CSV file.",
            ));
        };
        (file, dry, map)
    } else if media == "text/csv" || media == "text/plain" || media == "application/csv" {
        (read_file(req).await?, None, None)
    } else {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!("Send the file as text/csv or multipart/form-data, not \"{media}\"."),
        ));
    };
    let options = import_options(
        dry.as_deref().or(q.param("dry_run")),
        map.as_deref().or(q.param("mapping")),
    )?;
    if std::str::from_utf8(&bytes).is_err() {
        return Err(ApiError::field("file", "The file is not UTF-8 text."));
    }
    Ok((bytes, options))
}

/// Import orders from CSV (Consign extension): `text/csv` (the body is the file) or
/// `multipart/form-data` (a `file` part; optional `dry_run` and `mapping` parts). Query:
/// `dry_run=true` answers what would be created, updated and rejected; `mapping` is a JSON
/// object naming your columns for Consign's (see docs/ORDERS.md). Idempotent on the order
/// number; each rejection names its row and field. One import per account at a time: another
/// while it runs answers 409 `conflict`.
#[utoipa::path(post, path = "/orders/import", tag = "Orders", params(("dry_run" = Option<bool>, Query), ("mapping" = Option<String>, Query)),
    request_body(content((String = "text/csv"))),
    responses((status = 200, body = ImportResponse), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody, description = "Another import of the account is running")), security(("ShippoToken" = [])))]
pub async fn import(
    State(state): State<AppState>,
    Auth(who): Auth,
    q: ListQuery,
    req: axum::extract::Request,
) -> Result<Json<ImportResponse>, ApiError> {
    // The account's turn first: a refused upload is not read.
    let slot = orders::csv::ImportSlot::take(&who)?;
    let (bytes, options) = upload(&q, req).await?;
    let report =
        orders::csv::import_in(&state.services, &who, &slot, &bytes, &options, &|_, _| {}).await?;
    drop((slot, bytes));
    Ok(Json(report.into()))
}

/// Export orders as CSV (Consign extension), one row per line item, in the columns an import
/// reads; the list filters apply.
#[utoipa::path(get, path = "/orders/export", tag = "Orders", params(("order_status[]" = Option<Vec<String>>, Query), ("start_date" = Option<String>, Query), ("end_date" = Option<String>, Query), ("shop_app" = Option<String>, Query)),
    responses((status = 200, body = String, content_type = "text/csv"), (status = 400, body = ErrorBody)), security(("ShippoToken" = [])))]
pub async fn export(
    State(state): State<AppState>,
    Auth(who): Auth,
    q: ListQuery,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let f = filter(&q)?;
    let bytes = orders::csv::export(&state.services, &who, &f, &|_, _| {}).await?;
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                axum::http::header::CONTENT_DISPOSITION,
                "attachment; filename=\"orders.csv\"",
            ),
        ],
        bytes,
    )
        .into_response())
}
