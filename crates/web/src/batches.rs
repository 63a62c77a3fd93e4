//! Batches: the list, and one batch's live progress (htmx polls it while it works), its error
//! queue with each shipment's reasons, and its merged label files.

use askama::Template;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::Response;
use domain::batch::{Batch, BatchCounts, BatchShipment, BatchShipmentStatus, BatchStatus};
use domain::{ObjectId, Timestamp};
use serde::Deserialize;

use crate::ctx::{Chrome, Ctx, Posted};
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

fn rows(shipments: &[BatchShipment]) -> Vec<ShipmentRow> {
    shipments
        .iter()
        .map(|s| ShipmentRow {
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
    page(
        StatusCode::OK,
        BatchPage {
            assets: &ctx.web.assets,
            csrf: Some(&ctx.who.csrf),
            c: ctx.chrome("/app/batches"),
            can_buy: matches!(batch.status, BatchStatus::Valid | BatchStatus::Invalid)
                && counts.creation_succeeded > 0,
            failed: rows(&failed),
            shipments: rows(&first),
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
