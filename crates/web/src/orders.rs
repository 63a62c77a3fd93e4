//! Orders: the inbox (views, filters, one search box, keyset pages, bulk "Buy labels") and the
//! order page (items, ship-to, labels, hold/release/cancel, timeline).

use askama::Template;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::Response;
use domain::order::{OrderFilter, OrderStatus, SEARCH_MAX};
use domain::page::PageRequest;
use domain::{ObjectId, Timestamp};
use serde::Deserialize;
use service::batches::{CreateBatch, ParcelPlan};
use service::orders::OrderView;

use crate::address_form::AddressForm;
use crate::ctx::{Chrome, Ctx, Posted};
use crate::{id_of, page, see_other};

/// Orders per inbox page.
const PAGE_SIZE: u32 = 50;
/// Most orders one "Buy labels" may take (a page's worth, twice over).
const SELECTION_MAX: usize = 1_000;

/// The inbox's ready-made views: label, status filter.
const VIEWS: &[(&str, &str)] = &[
    ("To ship", "PAID"),
    ("On hold", "ON_HOLD"),
    ("Partly shipped", "PARTIALLY_FULFILLED"),
    ("Shipped", "SHIPPED"),
    ("Awaiting payment", "AWAITPAY"),
    ("Cancelled", "CANCELLED"),
    ("All", ""),
];

/// The inbox's query: every filter is in the URL, so a view is a bookmark.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct InboxQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    country: String,
    #[serde(default)]
    source: String,
    /// `YYYY-MM-DD`, placed on or after.
    #[serde(default)]
    from: String,
    /// `YYYY-MM-DD`, placed on or before.
    #[serde(default)]
    to: String,
    /// Keyset: the last order of the previous page.
    #[serde(default)]
    before: String,
}

/// One row of the inbox.
pub(crate) struct Row {
    id: String,
    number: String,
    placed: String,
    buyer: String,
    destination: String,
    items: u32,
    total: String,
    status: &'static str,
    tracking: Vec<String>,
}

/// A carrier account offered by the "Buy labels" form.
pub(crate) struct CarrierChoice {
    id: String,
    label: String,
    services: Vec<(String, String)>,
}

/// A view link: ready-made, or saved by the account's people (then `id` deletes it).
pub(crate) struct ViewLink {
    label: String,
    href: String,
    current: bool,
    id: Option<String>,
}

#[derive(Template)]
#[template(path = "orders.html")]
struct InboxPage<'a> {
    assets: &'a crate::Assets,
    csrf: Option<&'a str>,
    c: Chrome<'a>,
    q: &'a InboxQuery,
    views: Vec<ViewLink>,
    statuses: Vec<&'static str>,
    rows: Vec<Row>,
    next: Option<String>,
    problems: Vec<String>,
    carriers: Vec<CarrierChoice>,
    senders: Vec<(String, String)>,
    key: String,
    filtered: bool,
    /// The filters as a query string (what "Save this view" keeps).
    here: String,
    /// Filtered in a way no view is yet.
    savable: bool,
}

#[derive(Template)]
#[template(path = "orders_rows.html")]
struct InboxRows<'a> {
    rows: &'a [Row],
    next: Option<String>,
    filtered: bool,
}

fn day(raw: &str, end: bool) -> Result<Option<Timestamp>, String> {
    if raw.is_empty() {
        return Ok(None);
    }
    let time = if end { "T23:59:59.999Z" } else { "T00:00:00Z" };
    Timestamp::parse(&format!("{raw}{time}"))
        .map(Some)
        .ok_or_else(|| format!("\"{raw}\" is not a date (YYYY-MM-DD)."))
}

/// The filter a query names, and what it got wrong.
fn filter_of(q: &InboxQuery) -> (OrderFilter, Vec<String>) {
    let mut f = OrderFilter::default();
    let mut problems = Vec::new();
    if !q.status.is_empty() {
        match OrderStatus::parse(&q.status) {
            Some(s) => f.statuses.push(s),
            None => problems.push(format!("\"{}\" is not an order status.", q.status)),
        }
    }
    let country = q.country.trim().to_ascii_uppercase();
    if !country.is_empty() {
        if country.len() == 2 && country.chars().all(|c| c.is_ascii_alphabetic()) {
            f.country = Some(country);
        } else {
            problems.push("A country is its two-letter code (e.g. US, DE).".into());
        }
    }
    if !q.source.trim().is_empty() {
        f.shop_app = Some(q.source.trim().chars().take(100).collect());
    }
    for (raw, end, slot) in [(&q.from, false, 0), (&q.to, true, 1)] {
        match day(raw.trim(), end) {
            Ok(t) if slot == 0 => f.placed_from = t,
            Ok(t) => f.placed_to = t,
            Err(e) => problems.push(e),
        }
    }
    let search = q.q.trim();
    if search.chars().count() > SEARCH_MAX {
        problems.push(format!("Search for at most {SEARCH_MAX} characters."));
    } else if !search.is_empty() {
        f.search = Some(search.to_string());
    }
    if !q.before.is_empty() {
        match ObjectId::parse(q.before.trim()) {
            Some(id) => f.before = Some(id),
            None => problems.push("That page link is not valid; start again.".into()),
        }
    }
    (f, problems)
}

/// A date as the inbox shows it (UTC).
pub(crate) fn date(t: Timestamp) -> String {
    t.to_datetime().format("%Y-%m-%d %H:%M").to_string()
}

/// An inbox row from the inbox's slim read.
fn inbox_row((r, labels): &service::orders::InboxItem) -> Row {
    Row {
        id: r.id.to_string(),
        number: r
            .order_number
            .clone()
            .unwrap_or_else(|| r.id.to_string()[..8].to_string()),
        placed: date(r.placed),
        buyer: if r.name.is_empty() {
            r.company.clone()
        } else {
            r.name.clone()
        },
        destination: [r.city.as_str(), r.country.as_str()]
            .iter()
            .filter(|s| !s.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join(", "),
        items: r.units,
        total: match &r.total_price {
            Some(a) => format!("{a} {}", r.currency.as_deref().unwrap_or(""))
                .trim()
                .to_string(),
            None => String::new(),
        },
        status: r.status.as_str(),
        tracking: labels
            .iter()
            .filter_map(|t| t.tracking_number.clone())
            .collect(),
    }
}

fn row(v: &OrderView) -> Row {
    let o = &v.order;
    let a = &v.to_address.fields;
    let money = |amount: &Option<String>, currency: &Option<String>| match amount {
        Some(a) => format!("{a} {}", currency.as_deref().unwrap_or(""))
            .trim()
            .to_string(),
        None => String::new(),
    };
    Row {
        id: o.id.to_string(),
        number: o
            .order_number
            .clone()
            .unwrap_or_else(|| o.id.to_string()[..8].to_string()),
        placed: date(o.placed_at),
        buyer: if a.name.is_empty() {
            a.company.clone()
        } else {
            a.name.clone()
        },
        destination: [a.city.as_str(), a.country.as_str()]
            .iter()
            .filter(|s| !s.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join(", "),
        items: o.line_items.iter().map(|l| l.quantity).sum(),
        total: money(&o.details.total_price, &o.details.currency),
        status: o.status.as_str(),
        tracking: v
            .transactions
            .iter()
            .filter_map(|t| t.tracking_number.clone())
            .collect(),
    }
}

/// The filters of `q` as a query string (no page position): what a saved view keeps.
fn query_of(q: &InboxQuery) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in [
        ("q", &q.q),
        ("status", &q.status),
        ("country", &q.country),
        ("source", &q.source),
        ("from", &q.from),
        ("to", &q.to),
    ] {
        let v = v.trim();
        if !v.is_empty() {
            s.append_pair(k, v);
        }
    }
    s.finish()
}

/// The inbox's filters read back from a query string (unknown keys dropped).
fn parse_query(raw: &str) -> InboxQuery {
    let mut q = InboxQuery::default();
    for (k, v) in form_urlencoded::parse(raw.as_bytes()) {
        let v: String = v.chars().take(100).collect();
        match k.as_ref() {
            "q" => q.q = v,
            "status" => q.status = v,
            "country" => q.country = v,
            "source" => q.source = v,
            "from" => q.from = v,
            "to" => q.to = v,
            _ => {}
        }
    }
    q
}

/// The query string of `q` with `before` set to `last` (the next page's link).
fn next_link(q: &InboxQuery, last: &str) -> String {
    let filters = query_of(q);
    let mut s = form_urlencoded::Serializer::new(filters.clone());
    s.append_pair("before", last);
    format!("/app/orders?{}", s.finish())
}

/// `GET /app/orders`: the inbox (the rows alone to htmx: search as you type, "More").
pub(crate) async fn inbox(ctx: Ctx, Query(q): Query<InboxQuery>) -> Response {
    let (filter, problems) = filter_of(&q);
    let filtered = filter != OrderFilter::default() || !problems.is_empty();
    let (rows, next) = if problems.is_empty() {
        match service::orders::inbox(&ctx.web.services, &ctx.principal, &filter, PAGE_SIZE).await {
            Ok((items, more)) => {
                let rows: Vec<Row> = items.iter().map(inbox_row).collect();
                let next = more
                    .then(|| rows.last().map(|r| next_link(&q, &r.id)))
                    .flatten();
                (rows, next)
            }
            Err(e) => return ctx.failed(e),
        }
    } else {
        (Vec::new(), None)
    };
    if ctx.htmx {
        return page(
            StatusCode::OK,
            InboxRows {
                rows: &rows,
                next,
                filtered,
            }
            .render(),
        );
    }
    let (carriers, senders) = match buy_choices(&ctx).await {
        Ok(c) => c,
        Err(e) => return ctx.failed(e),
    };
    let saved = match service::views::list(&ctx.web.services, &ctx.principal).await {
        Ok(v) => v,
        Err(e) => return ctx.failed(e),
    };
    let here = query_of(&q);
    let mut views: Vec<ViewLink> = VIEWS
        .iter()
        .map(|&(label, status)| {
            let query = if status.is_empty() {
                String::new()
            } else {
                format!("status={status}")
            };
            ViewLink {
                label: label.to_string(),
                href: format!("/app/orders?{query}")
                    .trim_end_matches('?')
                    .to_string(),
                current: query == here,
                id: None,
            }
        })
        .collect();
    views.extend(saved.into_iter().map(|v| {
        let query = query_of(&parse_query(&v.query));
        ViewLink {
            label: v.name,
            href: format!("/app/orders?{query}"),
            current: query == here,
            id: Some(v.id.to_string()),
        }
    }));
    let savable = !here.is_empty() && !views.iter().any(|v| v.current);
    page(
        StatusCode::OK,
        InboxPage {
            assets: &ctx.web.assets,
            csrf: Some(&ctx.who.csrf),
            c: ctx.chrome("/app/orders"),
            q: &q,
            views,
            statuses: VIEWS
                .iter()
                .map(|(_, s)| *s)
                .filter(|s| !s.is_empty())
                .collect(),
            rows,
            next,
            problems,
            carriers,
            senders,
            key: ObjectId::new().to_string(),
            filtered,
            here,
            savable,
        }
        .render(),
    )
}

/// What the "Buy labels" form offers: the active carrier accounts with their services, and the
/// account's sender addresses (kept in Settings).
async fn buy_choices(
    ctx: &Ctx,
) -> Result<(Vec<CarrierChoice>, Vec<(String, String)>), service::ServiceError> {
    let s = &ctx.web.services;
    let accounts = service::carrier_accounts::list(
        s,
        &ctx.principal,
        Default::default(),
        PageRequest {
            page: 1,
            results: 50,
        },
    )
    .await?;
    let mut carriers = Vec::new();
    for a in accounts.items.into_iter().filter(|a| a.active) {
        let services = service::carrier_accounts::service_levels(s, &ctx.principal, &a).await?;
        carriers.push(CarrierChoice {
            id: a.id.to_string(),
            label: format!("{} · {}", a.carrier, a.account_id),
            services,
        });
    }
    let senders = service::addresses::senders(s, &ctx.principal)
        .await?
        .iter()
        .map(sender_label)
        .collect();
    Ok((carriers, senders))
}

/// A sender address in one line: (id, "Name, street, city, country").
pub(crate) fn sender_label(a: &domain::address::Address) -> (String, String) {
    let f = &a.fields;
    let name = if f.company.is_empty() {
        &f.name
    } else {
        &f.company
    };
    (
        a.id.to_string(),
        format!(
            "{name}, {} {}, {} {}",
            f.street_no, f.street1, f.city, f.country
        )
        .replace("  ", " "),
    )
}

/// `POST /app/orders/buy`: the selected orders become a batch that buys its labels as soon as
/// it is valid. The form's idempotency key makes a double click (or a resubmission) one batch.
pub(crate) async fn buy(Posted(ctx, form): Posted) -> Response {
    let ids = selected(&form);
    if ids.is_empty() {
        return ctx.problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Nothing selected",
            "Tick the orders to buy labels for, then press Buy labels.",
        );
    }
    if ids.len() > SELECTION_MAX {
        return ctx.problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Too many orders",
            &format!("Buy labels for at most {SELECTION_MAX} orders at once."),
        );
    }
    let (service_level, carrier_account) = match form.get("service").split_once('|') {
        Some((account, token)) => (token.to_string(), account.to_string()),
        None => (String::new(), String::new()),
    };
    let weight = form.get("weight");
    let parcel = ParcelPlan {
        length: form.get("length").to_string(),
        width: form.get("width").to_string(),
        height: form.get("height").to_string(),
        distance_unit: "in".into(),
        template: None,
        weight: (!weight.is_empty()).then(|| weight.to_string()),
        weight_unit: (!weight.is_empty()).then(|| "lb".to_string()),
        mass_unit: None,
        entered_weight: None,
    };
    let filter = OrderFilter {
        ids,
        statuses: vec![OrderStatus::Paid, OrderStatus::PartiallyFulfilled],
        ..OrderFilter::default()
    };
    let batch = CreateBatch {
        default_carrier_account: Some(carrier_account),
        default_servicelevel_token: Some(service_level),
        label_filetype: None,
        metadata: "Bought from the web app".into(),
        shipments: Vec::new(),
        errors: Default::default(),
        idempotency_key: Some(form.get("key").to_string()),
        purchase_when_valid: true,
    };
    match service::batches::from_orders(
        &ctx.web.services,
        &ctx.principal,
        filter,
        form.get("address_from"),
        parcel,
        batch,
    )
    .await
    {
        Ok(v) => see_other(&format!("/app/batches/{}", v.batch.id), None),
        Err(e) => ctx.failed(e),
    }
}

/// The orders ticked in the inbox (one more than allowed, so too many can be refused).
fn selected(form: &crate::ctx::FormData) -> Vec<ObjectId> {
    form.all("order")
        .into_iter()
        .filter_map(ObjectId::parse)
        .take(SELECTION_MAX + 1)
        .collect()
}

/// `POST /app/orders/slips`: one PDF of the selected orders' packing slips (the inbox form's
/// second button), answered by sending the browser to the file.
pub(crate) async fn slips(Posted(ctx, form): Posted) -> Response {
    let ids = selected(&form);
    if ids.is_empty() {
        return ctx.problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Nothing selected",
            "Tick the orders to print packing slips for.",
        );
    }
    let s = &ctx.web.services;
    match service::orders::slips::packing_slips(s, &ctx.principal, &ids).await {
        Ok(slip) => see_other(
            &service::files::signed_path(&s.cipher, &slip.key, Timestamp::now()),
            None,
        ),
        Err(e) => ctx.failed(e),
    }
}

/// One label on the order page.
pub(crate) struct LabelRow {
    id: String,
    status: String,
    tracking: String,
}

/// One line of the order page's timeline.
pub(crate) struct Event {
    when: String,
    what: String,
}

#[derive(Template)]
#[template(path = "order.html")]
struct OrderPage<'a> {
    assets: &'a crate::Assets,
    csrf: Option<&'a str>,
    c: Chrome<'a>,
    o: Row,
    shop_app: String,
    notes: String,
    items: Vec<(String, String, u32, u32)>,
    ship_to: Vec<String>,
    email: String,
    address_state: String,
    address_messages: Vec<String>,
    labels: Vec<LabelRow>,
    moves: Vec<(&'static str, &'static str)>,
    timeline: Vec<Event>,
    /// The ship-to may still change (no label carries the order, it is not closed).
    editable: bool,
    /// The ship-to form (open when the address will not ship or a change was refused).
    af: AddressForm,
    fix_open: bool,
    problem: Option<String>,
    /// Shipping from the order page: the parcel form, and rates once asked for.
    ship: Option<Ship>,
}

/// The order page's "Ship" card: the parcel asked about, its rates, the items a label carries.
pub(crate) struct Ship {
    senders: Vec<(String, String)>,
    from: String,
    length: String,
    width: String,
    height: String,
    weight: String,
    /// `(line item id, title, quantity still to ship)`.
    items: Vec<(String, String, u32)>,
    rates: Vec<RateRow>,
    /// Why carriers gave no rate for a service.
    notes: Vec<String>,
    /// The purchase's one-time key (a double click buys once).
    key: String,
    problem: Option<String>,
}

/// One rate offered on the order page.
pub(crate) struct RateRow {
    id: String,
    service: String,
    provider: String,
    amount: String,
    days: String,
}

/// What a step of the Ship card brings to the order page.
#[derive(Default)]
struct ShipStep {
    from: String,
    dims: [String; 4],
    rates: Option<service::shipments::ShipmentView>,
    problem: Option<String>,
}

/// The buttons the order page offers: (target status, label).
fn moves_of(status: OrderStatus) -> Vec<(&'static str, &'static str)> {
    let mut out = Vec::new();
    for (to, label) in [
        (OrderStatus::OnHold, "Hold"),
        (OrderStatus::Paid, "Release"),
        (OrderStatus::Cancelled, "Cancel order"),
    ] {
        // "Release" only from hold; PAID from elsewhere is not a merchant's everyday move.
        let offered = match to {
            OrderStatus::Paid => status == OrderStatus::OnHold,
            _ => status.moves().contains(&to),
        };
        if offered {
            out.push((to.as_str(), label));
        }
    }
    out
}

/// `GET /app/orders/{id}`.
pub(crate) async fn show(ctx: Ctx, Path(id): Path<String>) -> Response {
    let Some(id) = id_of(&id) else {
        return ctx.failed(service::ServiceError::NotFound);
    };
    render_order(&ctx, id, StatusCode::OK, None, ShipStep::default()).await
}

/// The order page; `refused` is a ship-to change that was refused (why, and what was entered).
async fn render_order(
    ctx: &Ctx,
    id: ObjectId,
    status: StatusCode,
    refused: Option<(String, AddressForm)>,
    step: ShipStep,
) -> Response {
    let v = match service::orders::get(&ctx.web.services, &ctx.principal, id).await {
        Ok(v) => v,
        Err(e) => return ctx.failed(e),
    };
    let o = &v.order;
    let a = &v.to_address;
    let f = &a.fields;
    let ship_to = [
        f.name.clone(),
        f.company.clone(),
        format!("{} {}", f.street_no, f.street1).trim().to_string(),
        f.street2.clone(),
        f.street3.clone(),
        format!("{} {} {}", f.city, f.state, f.zip)
            .trim()
            .to_string(),
        f.country.clone(),
    ]
    .into_iter()
    .filter(|l| !l.is_empty())
    .collect();
    let mut timeline = vec![
        Event {
            when: date(o.placed_at),
            what: "Placed".into(),
        },
        Event {
            when: date(o.created),
            // Shippo's `shop_app` of an order made through its API is "Shippo".
            what: if o.shop_app == "Shippo" {
                "Created through the API".into()
            } else {
                format!("Received from {}", o.shop_app)
            },
        },
    ];
    let labels = v
        .transactions
        .iter()
        .map(|t| {
            timeline.push(Event {
                when: date(Timestamp::from_millis(t.transaction.millis())),
                what: format!(
                    "Label {} {}",
                    t.tracking_number
                        .as_deref()
                        .unwrap_or("(no tracking number)"),
                    t.status.to_lowercase()
                ),
            });
            LabelRow {
                id: t.transaction.to_string(),
                status: t.status.clone(),
                tracking: t.tracking_number.clone().unwrap_or_default(),
            }
        })
        .collect();
    // Its parcels' scans (the courier's, the carrier's).
    let ids: Vec<ObjectId> = v.transactions.iter().map(|t| t.transaction).collect();
    if !ids.is_empty() {
        let s = &ctx.web.services;
        match service::tracking::of_transactions(s, service::scope(&ctx.principal), &ids).await {
            Ok(tracks) => {
                // The buyer emails its parcels sent (or could not send).
                let ids: Vec<ObjectId> = tracks.values().map(|t| t.id).collect();
                let numbers: std::collections::HashMap<ObjectId, &str> = tracks
                    .values()
                    .map(|t| (t.id, t.tracking_number.as_str()))
                    .collect();
                match service::tracking::emails_of(s, &ctx.principal, &ids).await {
                    Ok(sent) => {
                        for m in sent {
                            timeline.push(Event {
                                when: date(Timestamp::from_millis(m.updated_ms)),
                                what: format!(
                                    "Email \"{}\" for {} to {}: {}",
                                    m.kind.to_lowercase(),
                                    numbers.get(&m.track).copied().unwrap_or(""),
                                    m.recipient,
                                    m.status.to_lowercase()
                                ),
                            });
                        }
                    }
                    Err(e) => return ctx.failed(e),
                }
                for track in tracks.values() {
                    for e in &track.history {
                        let place = e.location.as_ref().map(|p| p.human()).unwrap_or_default();
                        timeline.push(Event {
                            when: date(e.occurred),
                            what: [
                                format!("{} {}", track.tracking_number, e.status.as_str()),
                                e.details.clone(),
                                place,
                            ]
                            .into_iter()
                            .filter(|p| !p.is_empty())
                            .collect::<Vec<_>>()
                            .join(" · "),
                        });
                    }
                }
            }
            Err(e) => return ctx.failed(e),
        }
    }
    if o.updated != o.created {
        timeline.push(Event {
            when: date(o.updated),
            what: format!("Last changed ({})", o.status.as_str()),
        });
    }
    timeline.sort_by(|a, b| a.when.cmp(&b.when));
    let closed = matches!(
        o.status,
        OrderStatus::Shipped | OrderStatus::Cancelled | OrderStatus::Refunded
    );
    let carried = v
        .transactions
        .iter()
        .any(|t| !matches!(t.status.as_str(), "REFUNDED" | "ERROR"));
    let address_ok = a.state == domain::address::AddressState::Valid;
    let (problem, af) = match refused {
        Some((why, af)) => (Some(why), af),
        None => (None, AddressForm::of("to", f)),
    };
    // What is left to ship, and from where.
    let items: Vec<(String, String, u32)> = o
        .line_items
        .iter()
        .filter(|l| l.quantity > l.shipped)
        .map(|l| (l.id.to_string(), l.title.clone(), l.quantity - l.shipped))
        .collect();
    let ship = if o.status.shippable() && (o.line_items.is_empty() || !items.is_empty()) {
        let senders: Vec<(String, String)> =
            match service::addresses::senders(&ctx.web.services, &ctx.principal).await {
                Ok(list) => list.iter().map(sender_label).collect(),
                Err(e) => return ctx.failed(e),
            };
        let [length, width, height, weight] = step.dims;
        let (rates, notes) = match &step.rates {
            Some(v) => (
                v.rates
                    .iter()
                    .map(|r| RateRow {
                        id: r.id.to_string(),
                        service: r.details.service_name.clone(),
                        provider: r.details.provider.clone(),
                        amount: format!(
                            "{} {}",
                            r.details.amount.amount, r.details.amount.currency
                        ),
                        days: r.details.days.map(|d| d.to_string()).unwrap_or_default(),
                    })
                    .collect(),
                v.shipment.messages.iter().map(|m| m.text.clone()).collect(),
            ),
            None => (Vec::new(), Vec::new()),
        };
        let weight = if weight.is_empty() {
            o.details.weight.clone().unwrap_or_default()
        } else {
            weight
        };
        Some(Ship {
            from: if step.from.is_empty() {
                senders.first().map(|s| s.0.clone()).unwrap_or_default()
            } else {
                step.from
            },
            senders,
            length: or(length, "10"),
            width: or(width, "8"),
            height: or(height, "4"),
            weight,
            items,
            rates,
            notes,
            key: ObjectId::new().to_string(),
            problem: step.problem,
        })
    } else {
        None
    };
    page(
        status,
        OrderPage {
            assets: &ctx.web.assets,
            csrf: Some(&ctx.who.csrf),
            c: ctx.chrome("/app/orders"),
            o: row(&v),
            shop_app: o.shop_app.clone(),
            notes: o.details.notes.clone().unwrap_or_default(),
            items: o
                .line_items
                .iter()
                .map(|l| {
                    (
                        l.title.clone(),
                        l.sku.clone().unwrap_or_default(),
                        l.quantity,
                        l.shipped,
                    )
                })
                .collect(),
            ship_to,
            email: if f.email.is_empty() {
                o.details.buyer_email.clone().unwrap_or_default()
            } else {
                f.email.clone()
            },
            address_state: format!("{:?}", a.state).to_uppercase(),
            address_messages: a.messages.iter().map(|m| m.text.clone()).collect(),
            labels,
            moves: moves_of(o.status),
            timeline,
            editable: !closed && !carried,
            fix_open: problem.is_some() || !address_ok,
            af,
            problem,
            ship,
        }
        .render(),
    )
}

/// `POST /app/orders/{id}/ship-to`: corrects the ship-to (validated); refused, the page again
/// with the reasons and what was entered.
pub(crate) async fn change_ship_to(Path(id): Path<String>, Posted(ctx, form): Posted) -> Response {
    let Some(id) = id_of(&id) else {
        return ctx.failed(service::ServiceError::NotFound);
    };
    let af = AddressForm::posted("to", &form);
    match service::orders::change_ship_to(&ctx.web.services, &ctx.principal, id, af.input()).await {
        Ok(_) => see_other(&format!("/app/orders/{id}"), None),
        Err(service::ServiceError::Validation(v)) => {
            let why = crate::ctx::messages(&v);
            render_order(
                &ctx,
                id,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some((why, af)),
                ShipStep::default(),
            )
            .await
        }
        Err(e) => ctx.failed(e),
    }
}

/// `POST /app/orders/{id}/status`: hold, release or cancel.
pub(crate) async fn set_status(Path(id): Path<String>, Posted(ctx, form): Posted) -> Response {
    let Some(id) = id_of(&id) else {
        return ctx.failed(service::ServiceError::NotFound);
    };
    let Some(to) = OrderStatus::parse(form.get("status")) else {
        return ctx.problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Unknown status",
            "Choose hold, release or cancel.",
        );
    };
    match service::orders::set_status(&ctx.web.services, &ctx.principal, id, to).await {
        Ok(_) => see_other(&format!("/app/orders/{id}"), None),
        Err(e) => ctx.failed(e),
    }
}

fn or(v: String, default: &str) -> String {
    if v.is_empty() {
        default.to_string()
    } else {
        v
    }
}

/// The parcel fields of the Ship card: from, length, width, height (in), weight (lb).
fn ship_fields(form: &crate::ctx::FormData) -> (String, [String; 4]) {
    let f = |n: &str| form.get(n).chars().take(20).collect::<String>();
    (
        form.get("address_from").chars().take(40).collect(),
        [f("length"), f("width"), f("height"), f("weight")],
    )
}

/// `POST /app/orders/{id}/rates`: rates for one parcel from a sender address to the order's
/// ship-to, shown on the order page to pick one.
pub(crate) async fn rates(Path(id): Path<String>, Posted(ctx, form): Posted) -> Response {
    let Some(id) = id_of(&id) else {
        return ctx.failed(service::ServiceError::NotFound);
    };
    let v = match service::orders::get(&ctx.web.services, &ctx.principal, id).await {
        Ok(v) => v,
        Err(e) => return ctx.failed(e),
    };
    let (from, dims) = ship_fields(&form);
    let parcel = domain::parcel::ParcelInput {
        length: Some(dims[0].clone()),
        width: Some(dims[1].clone()),
        height: Some(dims[2].clone()),
        distance_unit: Some("in".into()),
        weight: Some(dims[3].clone()),
        mass_unit: Some("lb".into()),
        template: None,
        metadata: None,
        extra: Default::default(),
    };
    let input = service::shipments::CreateShipment {
        address_from: Some(service::shipments::AddressRef::Id(from.clone())),
        address_to: Some(service::shipments::AddressRef::Id(
            v.to_address.id.to_string(),
        )),
        parcels: vec![service::shipments::ParcelRef::New(Box::new(parcel))],
        metadata: format!(
            "Order {}",
            v.order.order_number.as_deref().unwrap_or_default()
        ),
        ..Default::default()
    };
    let mut step = ShipStep {
        from,
        dims,
        ..ShipStep::default()
    };
    let status = match service::shipments::create(&ctx.web.services, &ctx.principal, input).await {
        Ok(view) => {
            step.rates = Some(view);
            StatusCode::OK
        }
        Err(service::ServiceError::Validation(e)) => {
            step.problem = Some(crate::ctx::messages(&e));
            StatusCode::UNPROCESSABLE_ENTITY
        }
        Err(e) => return ctx.failed(e),
    };
    render_order(&ctx, id, status, None, step).await
}

/// `POST /app/orders/{id}/label`: buys the chosen rate's label for the chosen quantities of the
/// order's items (`qty.<line item>`), once per form (its key is the purchase's idempotency key).
pub(crate) async fn label(Path(id): Path<String>, Posted(ctx, form): Posted) -> Response {
    let Some(id) = id_of(&id) else {
        return ctx.failed(service::ServiceError::NotFound);
    };
    let v = match service::orders::get(&ctx.web.services, &ctx.principal, id).await {
        Ok(v) => v,
        Err(e) => return ctx.failed(e),
    };
    let refuse = |why: &str| ShipStep {
        problem: Some(why.to_string()),
        ..ShipStep::default()
    };
    let Some(rate) = ObjectId::parse(form.get("rate")) else {
        let step = refuse("Choose a rate (ask for rates first).");
        return render_order(&ctx, id, StatusCode::UNPROCESSABLE_ENTITY, None, step).await;
    };
    let mut portions = Vec::new();
    for l in &v.order.line_items {
        let raw = form.get(&format!("qty.{}", l.id));
        let quantity = if raw.is_empty() {
            0
        } else {
            raw.parse::<u32>().unwrap_or(u32::MAX)
        };
        if quantity > 0 {
            portions.push(domain::order::Portion {
                line_item: l.id,
                quantity,
            });
        }
    }
    if portions.is_empty() && !v.order.line_items.is_empty() {
        let step = refuse("Choose how many of each item the parcel carries.");
        return render_order(&ctx, id, StatusCode::UNPROCESSABLE_ENTITY, None, step).await;
    }
    let key: String = form.get("key").chars().take(64).collect();
    let input = service::transactions::PurchaseInput {
        rate,
        options: service::transactions::LabelOptions {
            key: (!key.is_empty()).then(|| format!("web-order-{key}")),
            metadata: format!(
                "Order {}",
                v.order.order_number.as_deref().unwrap_or_default()
            ),
            ..Default::default()
        },
        asynchronous: false,
        orders: vec![service::orders::OrderLink {
            order: id,
            portions,
        }],
    };
    match service::transactions::purchase(&ctx.web.services, &ctx.principal, input).await {
        Ok(t) if t.status == domain::transaction::TransactionStatus::Error => {
            let why = t
                .messages
                .iter()
                .map(|m| m.text.clone())
                .collect::<Vec<_>>()
                .join(" ");
            let step = refuse(&format!("The carrier refused the label: {why}"));
            render_order(&ctx, id, StatusCode::UNPROCESSABLE_ENTITY, None, step).await
        }
        Ok(_) => see_other(&format!("/app/orders/{id}"), None),
        Err(service::ServiceError::Validation(e)) => {
            let step = refuse(&crate::ctx::messages(&e));
            render_order(&ctx, id, StatusCode::UNPROCESSABLE_ENTITY, None, step).await
        }
        Err(e) => ctx.failed(e),
    }
}

/// `POST /app/orders/views`: saves the inbox's filters under a name, then shows them.
pub(crate) async fn save_view(Posted(ctx, form): Posted) -> Response {
    let query = query_of(&parse_query(form.get("query")));
    match service::views::save(&ctx.web.services, &ctx.principal, form.get("name"), &query).await {
        Ok(_) => see_other(&format!("/app/orders?{query}"), None),
        Err(service::ServiceError::Validation(v)) => ctx.problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            "The view was not saved",
            &crate::ctx::messages(&v),
        ),
        Err(e) => ctx.failed(e),
    }
}

/// `POST /app/orders/views/{id}/delete`: deletes a saved view.
pub(crate) async fn delete_view(Path(id): Path<String>, Posted(ctx, _): Posted) -> Response {
    let Some(id) = id_of(&id) else {
        return ctx.failed(service::ServiceError::NotFound);
    };
    match service::views::delete(&ctx.web.services, &ctx.principal, id).await {
        Ok(()) => see_other("/app/orders", None),
        Err(e) => ctx.failed(e),
    }
}
