//! Batches: the list, and one batch's live progress (htmx polls it while it works), its error
//! queue with each shipment's reasons, and its merged label files.

use askama::Template;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::Response;
use domain::batch::{Batch, BatchCounts, BatchShipment, BatchShipmentStatus, BatchStatus};
use domain::{ObjectId, Timestamp};
use serde::Deserialize;

use crate::address_form::AddressForm;
use crate::ctx::{Chrome, Ctx, FormData, Posted};
use crate::orders::date;
use crate::{page, see_other};

/// Batches per list page.
const PAGE_SIZE: u32 = 25;
/// Shipments shown on a batch's page (its counts cover the rest).
const SHIPMENTS_SHOWN: u32 = 50;

/// A batch in a list or at the top of its page.
pub(crate) struct Summary {
    id: String,
    created: String,
    status: &'static str,
    busy: bool,
    total: i64,
    done: i64,
    failed: i64,
    percent: i64,
    metadata: String,
}

fn summary(b: &Batch, c: &BatchCounts) -> Summary {
    let total = c.creation_succeeded + c.creation_failed + c.pending;
    let (done, failed) = match b.status {
        BatchStatus::Purchasing | BatchStatus::Purchased => {
            (c.purchase_succeeded + c.purchase_failed, c.purchase_failed)
        }
        _ => (c.creation_succeeded + c.creation_failed, c.creation_failed),
    };
    Summary {
        id: b.id.to_string(),
        created: date(b.created),
        status: b.status.as_str(),
        busy: service::batches::busy(b.status),
        total,
        done,
        failed,
        percent: if total == 0 { 100 } else { done * 100 / total },
        metadata: b.metadata.clone(),
    }
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct ListQuery {
    #[serde(default)]
    before: String,
}

#[derive(Template)]
#[template(path = "batches.html")]
struct ListPage<'a> {
    assets: &'a crate::Assets,
    csrf: Option<&'a str>,
    c: Chrome<'a>,
    batches: Vec<Summary>,
    next: Option<String>,
}

/// `GET /app/batches`.
pub(crate) async fn list(ctx: Ctx, Query(q): Query<ListQuery>) -> Response {
    let before = ObjectId::parse(q.before.trim());
    match service::batches::list(&ctx.web.services, &ctx.principal, before, PAGE_SIZE).await {
        Ok((found, more)) => {
            let batches: Vec<Summary> = found.iter().map(|(b, c)| summary(b, c)).collect();
            let next = more
                .then(|| {
                    batches
                        .last()
                        .map(|b| format!("/app/batches?before={}", b.id))
                })
                .flatten();
            page(
                StatusCode::OK,
                ListPage {
                    assets: &ctx.web.assets,
                    csrf: Some(&ctx.who.csrf),
                    c: ctx.chrome("/app/batches"),
                    batches,
                    next,
                }
                .render(),
            )
        }
        Err(e) => ctx.failed(e),
    }
}

/// One shipment of the batch page.
pub(crate) struct ShipmentRow {
    id: String,
    /// It can be corrected and validated again in the batch (the error queue's fix).
    fixable: bool,
    position: i64,
    order: String,
    status: &'static str,
    problem: bool,
    reasons: Vec<String>,
    transaction: String,
    /// What the shipment names (a batch from orders: the order number).
    metadata: String,
}

#[derive(Template)]
#[template(path = "batch.html")]
struct BatchPage<'a> {
    assets: &'a crate::Assets,
    csrf: Option<&'a str>,
    c: Chrome<'a>,
    b: Summary,
    /// The error queue: shipments that cannot be bought or whose purchase failed.
    failed: Vec<ShipmentRow>,
    shipments: Vec<ShipmentRow>,
    shown: u32,
    files: Vec<String>,
    problems: i64,
    can_buy: bool,
}

#[derive(Template)]
#[template(path = "batch_progress.html")]
struct Progress<'a> {
    b: &'a Summary,
}

fn rows(shipments: &[BatchShipment], open: bool) -> Vec<ShipmentRow> {
    shipments
        .iter()
        .map(|s| ShipmentRow {
            id: s.id.to_string(),
            fixable: open
                && s.order.is_some()
                && matches!(
                    s.status,
                    BatchShipmentStatus::Invalid | BatchShipmentStatus::Incomplete
                ),
            position: s.position + 1,
            order: s.order.map(|o| o.to_string()).unwrap_or_default(),
            status: s.status.as_str(),
            problem: matches!(
                s.status,
                BatchShipmentStatus::Invalid
                    | BatchShipmentStatus::Incomplete
                    | BatchShipmentStatus::TransactionFailed
            ),
            reasons: s.messages.iter().map(|m| m.text.clone()).collect(),
            transaction: s.transaction.map(|t| t.to_string()).unwrap_or_default(),
            metadata: s.metadata.clone(),
        })
        .collect()
}

/// `GET /app/batches/{id}`: the whole page, or (htmx polling) its progress alone; when the
/// batch stops working the progress fragment asks htmx to reload the page.
pub(crate) async fn show(ctx: Ctx, Path(id): Path<String>) -> Response {
    let Some(id) = crate::id_of(&id) else {
        return ctx.failed(service::ServiceError::NotFound);
    };
    if ctx.htmx {
        // The poll: the batch and its counts, no shipments.
        let (batch, counts) =
            match service::batches::progress(&ctx.web.services, &ctx.principal, id).await {
                Ok(p) => p,
                Err(e) => return ctx.failed(e),
            };
        let b = summary(&batch, &counts);
        let mut res = page(StatusCode::OK, Progress { b: &b }.render());
        if !b.busy {
            res.headers_mut()
                .insert("hx-refresh", axum::http::HeaderValue::from_static("true"));
        }
        return res;
    }
    let (batch, counts, failed, first) =
        match service::batches::overview(&ctx.web.services, &ctx.principal, id, SHIPMENTS_SHOWN)
            .await
        {
            Ok(v) => v,
            Err(e) => return ctx.failed(e),
        };
    let b = summary(&batch, &counts);
    let now = Timestamp::now();
    let files = batch
        .label_keys
        .iter()
        .map(|k| service::files::signed_path(&ctx.web.services.cipher, k, now))
        .collect();
    let problems = counts.creation_failed + counts.purchase_failed;
    let open = !matches!(
        batch.status,
        BatchStatus::Purchasing | BatchStatus::Purchased
    );
    page(
        StatusCode::OK,
        BatchPage {
            assets: &ctx.web.assets,
            csrf: Some(&ctx.who.csrf),
            c: ctx.chrome("/app/batches"),
            can_buy: matches!(batch.status, BatchStatus::Valid | BatchStatus::Invalid)
                && counts.creation_succeeded > 0,
            failed: rows(&failed, open),
            shipments: rows(&first, open),
            shown: SHIPMENTS_SHOWN,
            files,
            problems,
            b,
        }
        .render(),
    )
}

/// `POST /app/batches/{id}/purchase`: buys a VALID batch, or an INVALID one without its
/// shipments that cannot be bought (they leave the batch, their orders stay to ship).
pub(crate) async fn purchase(Path(id): Path<String>, Posted(ctx, _): Posted) -> Response {
    let Some(id) = crate::id_of(&id) else {
        return ctx.failed(service::ServiceError::NotFound);
    };
    let s = &ctx.web.services;
    let result = async {
        let v = service::batches::get(s, &ctx.principal, id, None, Default::default()).await?;
        if v.batch.status == BatchStatus::Invalid {
            service::batches::remove_failed(s, &ctx.principal, id).await?;
        }
        service::batches::purchase(s, &ctx.principal, id).await
    }
    .await;
    match result {
        Ok(_) => see_other(&format!("/app/batches/{id}"), None),
        Err(e) => ctx.failed(e),
    }
}

/// The error queue's fix of one shipment (`templates/batch_fix.html`).
#[derive(Template)]
#[template(path = "batch_fix.html")]
struct FixPage<'a> {
    assets: &'a crate::Assets,
    csrf: Option<&'a str>,
    c: Chrome<'a>,
    batch: String,
    shipment: String,
    order: String,
    order_name: String,
    reasons: Vec<String>,
    af: AddressForm,
    weight: String,
    mass_unit: String,
    international: bool,
    signer: String,
    contents_type: String,
    origin_country: String,
    problem: Option<String>,
}

/// Shippo's customs `contents_type` values, as the fix form offers them.
const CONTENTS_TYPES: [&str; 7] = [
    "MERCHANDISE",
    "GIFT",
    "SAMPLE",
    "DOCUMENTS",
    "RETURN_MERCHANDISE",
    "HUMANITARIAN_DONATION",
    "OTHER",
];

impl FixPage<'_> {
    fn contents_types(&self) -> &'static [&'static str] {
        &CONTENTS_TYPES
    }
}

fn fix_page<'a>(
    ctx: &'a Ctx,
    v: &service::batches::FixView,
    posted: Option<(&FormData, String)>,
) -> FixPage<'a> {
    let o = &v.order.order;
    let current = AddressForm::of("to", &v.order.to_address.fields);
    let (weight, unit) = v
        .parcel
        .entered_weight
        .clone()
        .unwrap_or_else(|| (String::new(), "lb".into()));
    let text = |f: Option<&FormData>, name: &str, kept: &Option<String>| match f {
        Some(f) => f.get(name).chars().take(200).collect(),
        None => kept.clone().unwrap_or_default(),
    };
    let form = posted.as_ref().map(|(f, _)| *f);
    FixPage {
        assets: &ctx.web.assets,
        csrf: Some(&ctx.who.csrf),
        c: ctx.chrome("/app/batches"),
        batch: v.batch.id.to_string(),
        shipment: v.shipment.id.to_string(),
        order: o.id.to_string(),
        order_name: o
            .order_number
            .clone()
            .unwrap_or_else(|| format!("shipment {}", v.shipment.position + 1)),
        reasons: v.shipment.messages.iter().map(|m| m.text.clone()).collect(),
        af: form.map_or(current, |f| AddressForm::posted("to", f)),
        weight: form.map_or(weight, |f| f.get("weight").chars().take(20).collect()),
        mass_unit: form.map_or(unit, |f| f.get("mass_unit").chars().take(3).collect()),
        international: v.international,
        signer: text(form, "certify_signer", &v.customs.certify_signer),
        contents_type: text(form, "contents_type", &v.customs.contents_type),
        origin_country: text(form, "origin_country", &v.customs.origin_country),
        problem: posted.map(|(_, p)| p),
    }
}

/// `GET /app/batches/{id}/shipments/{shipment}`: a shipment of the error queue, with its
/// reasons and a form to correct its ship-to, weight and customs.
pub(crate) async fn fix_form(ctx: Ctx, Path((id, shipment)): Path<(String, String)>) -> Response {
    let (Some(id), Some(shipment)) = (crate::id_of(&id), crate::id_of(&shipment)) else {
        return ctx.failed(service::ServiceError::NotFound);
    };
    match service::batches::fixable(&ctx.web.services, &ctx.principal, id, shipment).await {
        Ok(v) => page(StatusCode::OK, fix_page(&ctx, &v, None).render()),
        Err(e) => ctx.failed(e),
    }
}

/// `POST /app/batches/{id}/shipments/{shipment}`: corrects the shipment (a ship-to only when
/// it was changed) and validates it again; back to the batch, whose progress shows it.
pub(crate) async fn fix(
    Path((id, shipment)): Path<(String, String)>,
    Posted(ctx, form): Posted,
) -> Response {
    let (Some(id), Some(shipment)) = (crate::id_of(&id), crate::id_of(&shipment)) else {
        return ctx.failed(service::ServiceError::NotFound);
    };
    let s = &ctx.web.services;
    let v = match service::batches::fixable(s, &ctx.principal, id, shipment).await {
        Ok(v) => v,
        Err(e) => return ctx.failed(e),
    };
    let af = AddressForm::posted("to", &form);
    let changed = af != AddressForm::of("to", &v.order.to_address.fields);
    let weight = form.get("weight").trim();
    let given = |n: &str| Some(form.get(n).to_string());
    let fix = service::batches::ShipmentFix {
        ship_to: changed.then(|| af.input()),
        weight: (!weight.is_empty())
            .then(|| (weight.to_string(), form.get("mass_unit").to_string())),
        customs: service::batches::CustomsPlan {
            certify_signer: given("certify_signer"),
            contents_type: given("contents_type").filter(|c| CONTENTS_TYPES.contains(&c.as_str())),
            origin_country: given("origin_country"),
            ..Default::default()
        },
    };
    match service::batches::fix(s, &ctx.principal, id, shipment, fix).await {
        Ok(()) => see_other(&format!("/app/batches/{id}"), None),
        Err(service::ServiceError::Validation(e)) => {
            let why = crate::ctx::messages(&e);
            page(
                StatusCode::UNPROCESSABLE_ENTITY,
                fix_page(&ctx, &v, Some((&form, why))).render(),
            )
        }
        Err(e) => ctx.failed(e),
    }
}
