//! Labels and tracking: the account's labels newest first, found by tracking number; one
//! label's page with its file, a reprint in another file type (labels Consign draws itself),
//! its parcel's timeline, the orders it carries, its public tracking page and a refund.

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
    /// The public tracking page.
    public: String,
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

/// A label as the list and its page show it (its file behind a link signed at `now`).
fn label_row(
    s: &service::Services,
    t: &domain::transaction::Transaction,
    now: Timestamp,
) -> LabelRow {
    LabelRow {
        id: t.id.to_string(),
        made: date(t.created),
        status: t.status.as_str(),
        tracking: t.tracking_number.clone().unwrap_or_default(),
        public: t.tracking_url.clone().unwrap_or_default(),
        file: signed(s, &t.label_key, now),
        refundable: t.status == domain::transaction::TransactionStatus::Success,
    }
}

/// A link to a stored file signed at `now` (empty without a file).
fn signed(s: &service::Services, key: &Option<String>, now: Timestamp) -> String {
    key.as_deref()
        .map(|k| service::files::signed_path(&s.cipher, k, now))
        .unwrap_or_default()
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
    let labels: Vec<LabelRow> = items.iter().map(|t| label_row(s, t, now)).collect();
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

/// One scan of the parcel's timeline.
pub(crate) struct Scan {
    when: String,
    status: &'static str,
    details: String,
    place: String,
}

#[derive(Template)]
#[template(path = "label.html")]
struct LabelPage<'a> {
    assets: &'a crate::Assets,
    csrf: Option<&'a str>,
    c: Chrome<'a>,
    l: LabelRow,
    carrier: String,
    service: String,
    price: String,
    file_type: String,
    invoice: String,
    orders: Vec<String>,
    /// File types it can be drawn again in (empty: only as bought).
    formats: Vec<&'static str>,
    scans: Vec<Scan>,
    /// The track's status now (or none before its first scan).
    tracking_status: String,
    problem: Option<String>,
}

async fn render_label(
    ctx: &Ctx,
    id: ObjectId,
    status: StatusCode,
    problem: Option<String>,
) -> Response {
    let s = &ctx.web.services;
    let v = match service::transactions::label(s, &ctx.principal, id).await {
        Ok(v) => v,
        Err(e) => return ctx.failed(e),
    };
    let t = &v.transaction;
    let now = Timestamp::now();
    let formats = if v.reprints {
        service::accounts::label_file_types()
            .into_iter()
            .filter(|f| *f != t.label_file_type)
            .collect()
    } else {
        Vec::new()
    };
    let (scans, tracking_status) = match &v.track {
        Some(track) => (
            track
                .history
                .iter()
                .rev()
                .map(|e| Scan {
                    when: date(e.occurred),
                    status: e.status.as_str(),
                    details: e.details.clone(),
                    place: e.location.as_ref().map(|p| p.human()).unwrap_or_default(),
                })
                .collect(),
            track.status().as_str().to_string(),
        ),
        None => (Vec::new(), String::new()),
    };
    let d = &v.rate.details;
    page(
        status,
        LabelPage {
            assets: &ctx.web.assets,
            csrf: Some(&ctx.who.csrf),
            c: ctx.chrome("/app/labels"),
            l: label_row(s, t, now),
            carrier: d.provider.clone(),
            service: d.service_name.clone(),
            price: format!("{} {}", d.amount.amount, d.amount.currency),
            file_type: t.label_file_type.clone(),
            invoice: signed(s, &t.invoice_key, now),
            orders: v.orders.iter().map(ToString::to_string).collect(),
            formats,
            scans,
            tracking_status,
            problem,
        }
        .render(),
    )
}

/// `GET /app/labels/{id}`: one label.
pub(crate) async fn show(ctx: Ctx, Path(id): Path<String>) -> Response {
    let Some(id) = crate::id_of(&id) else {
        return ctx.failed(service::ServiceError::NotFound);
    };
    render_label(&ctx, id, StatusCode::OK, None).await
}

/// `POST /app/labels/{id}/reprint`: the label drawn again in the chosen file type; the browser
/// is sent to the file.
pub(crate) async fn reprint(Path(id): Path<String>, Posted(ctx, form): Posted) -> Response {
    let Some(id) = crate::id_of(&id) else {
        return ctx.failed(service::ServiceError::NotFound);
    };
    let s = &ctx.web.services;
    match service::transactions::reprint(s, &ctx.principal, id, form.get("label_file_type")).await {
        Ok(key) => see_other(
            &service::files::signed_path(&s.cipher, &key, Timestamp::now()),
            None,
        ),
        Err(service::ServiceError::Validation(v)) => {
            let why = crate::ctx::messages(&v);
            render_label(&ctx, id, StatusCode::UNPROCESSABLE_ENTITY, Some(why)).await
        }
        Err(e) => ctx.failed(e),
    }
}
