//! Labels and tracking: the account's labels newest first, found by tracking number, each with
//! its file and public tracking page, and a refund for an unused one.

use askama::Template;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::Response;
use domain::{ObjectId, Timestamp};
use serde::Deserialize;

use crate::ctx::{Chrome, Ctx, Posted};
use crate::orders::date;
use crate::{page, see_other};

/// Labels per page.
const PAGE_SIZE: u32 = 50;

#[derive(Debug, Default, Deserialize)]
pub(crate) struct LabelsQuery {
    #[serde(default)]
    tracking: String,
    #[serde(default)]
    before: String,
    /// The label a refund was just asked for.
    #[serde(default)]
    refunded: String,
}

/// One label of the list.
pub(crate) struct LabelRow {
    id: String,
    made: String,
    status: &'static str,
    tracking: String,
    file: String,
    refundable: bool,
}

#[derive(Template)]
#[template(path = "labels.html")]
struct LabelsPage<'a> {
    assets: &'a crate::Assets,
    csrf: Option<&'a str>,
    c: Chrome<'a>,
    tracking: &'a str,
    labels: Vec<LabelRow>,
    next: Option<String>,
    refunded: Option<String>,
}

/// `GET /app/labels`.
pub(crate) async fn list(ctx: Ctx, Query(q): Query<LabelsQuery>) -> Response {
    let tracking: String = q.tracking.trim().chars().take(100).collect();
    let before = ObjectId::parse(q.before.trim());
    let s = &ctx.web.services;
    let found = service::transactions::recent(
        s,
        &ctx.principal,
        before,
        Some(tracking.as_str()).filter(|t| !t.is_empty()),
        PAGE_SIZE,
    )
    .await;
    let (items, more) = match found {
        Ok(f) => f,
        Err(e) => return ctx.failed(e),
    };
    let now = Timestamp::now();
    let labels: Vec<LabelRow> = items
        .iter()
        .map(|t| LabelRow {
            id: t.id.to_string(),
            made: date(t.created),
            status: t.status.as_str(),
            tracking: t.tracking_number.clone().unwrap_or_default(),
            file: t
                .label_key
                .as_deref()
                .map(|k| service::files::signed_path(&s.cipher, k, now))
                .unwrap_or_default(),
            refundable: t.status == domain::transaction::TransactionStatus::Success,
        })
        .collect();
    let next = more
        .then(|| {
            labels
                .last()
                .map(|l| format!("/app/labels?before={}", l.id))
        })
        .flatten();
    page(
        StatusCode::OK,
        LabelsPage {
            assets: &ctx.web.assets,
            csrf: Some(&ctx.who.csrf),
            c: ctx.chrome("/app/labels"),
            tracking: &tracking,
            labels,
            next,
            refunded: ObjectId::parse(q.refunded.trim()).map(|id| id.to_string()),
        }
        .render(),
    )
}

/// `POST /app/labels/{id}/refund`: asks the carrier to refund an unused label.
pub(crate) async fn refund(Path(id): Path<String>, Posted(ctx, _): Posted) -> Response {
    let Some(id) = crate::id_of(&id) else {
        return ctx.failed(service::ServiceError::NotFound);
    };
    // Another account's label (or none) is not found, not "refused".
    if let Err(e) = service::transactions::get(&ctx.web.services, &ctx.principal, id).await {
        return ctx.failed(e);
    }
    match service::refunds::create(&ctx.web.services, &ctx.principal, Some(id.to_string())).await {
        Ok(_) => see_other(&format!("/app/labels?refunded={id}"), None),
        Err(e) => ctx.failed(e),
    }
}
