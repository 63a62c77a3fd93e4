//! Manifests: the day's close-out per carrier account — made from the page (carrier account,
//! day, pickup address) by the same job as the API's, listed with their state and PDF.

use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;
use domain::page::PageRequest;
use domain::{ObjectId, Timestamp};
use service::manifests::{AddressGiven, ManifestInput};

use crate::ctx::{Chrome, Ctx, Posted};
use crate::orders::{date, sender_label};
use crate::{page, see_other};

#[derive(Template)]
#[template(path = "manifests.html")]
struct ManifestsPage<'a> {
    assets: &'a crate::Assets,
    csrf: Option<&'a str>,
    c: Chrome<'a>,
    manifests: Vec<Row>,
    /// `(id, label)` of the carrier accounts that take manifests.
    accounts: Vec<(String, String)>,
    senders: Vec<(String, String)>,
    today: String,
    problem: Option<String>,
}

struct Row {
    day: String,
    account: String,
    status: String,
    labels: usize,
    file: String,
    errors: String,
}

async fn render(ctx: &Ctx, status: StatusCode, problem: Option<String>) -> Response {
    let s = &ctx.web.services;
    let work = async {
        let all = PageRequest {
            page: 1,
            results: domain::page::MAX_RESULTS,
        };
        let manifests = service::manifests::list(s, &ctx.principal, PageRequest::default()).await?;
        let accounts =
            service::carrier_accounts::list(s, &ctx.principal, Default::default(), all).await?;
        let senders = service::addresses::senders(s, &ctx.principal).await?;
        Ok::<_, service::ServiceError>((manifests, accounts, senders))
    };
    let (manifests, accounts, senders) = match work.await {
        Ok(w) => w,
        Err(e) => return ctx.failed(e),
    };
    let name_of = |id: ObjectId| {
        accounts
            .items
            .iter()
            .find(|a| a.id == id)
            .map(|a| format!("{} {}", a.carrier, a.account_id))
            .unwrap_or_else(|| id.to_string())
    };
    let now = Timestamp::now();
    let rows = manifests
        .items
        .iter()
        .map(|m| Row {
            day: date(m.shipment_date).chars().take(10).collect(),
            account: name_of(m.carrier_account),
            status: m.status.as_str().to_string(),
            labels: m.transactions.len(),
            file: m
                .document_key
                .as_deref()
                .map(|k| service::files::signed_path(&s.cipher, k, now))
                .unwrap_or_default(),
            errors: m
                .errors
                .iter()
                .map(|e| e.text.clone())
                .collect::<Vec<_>>()
                .join(" "),
        })
        .collect();
    let test = ctx.principal.mode.is_test();
    page(
        status,
        ManifestsPage {
            assets: &ctx.web.assets,
            csrf: Some(&ctx.who.csrf),
            c: ctx.chrome("/app/manifests"),
            manifests: rows,
            accounts: accounts
                .items
                .iter()
                .filter(|a| a.active && a.test == test)
                .filter(|a| service::carrier_accounts::makes_manifests(&a.carrier))
                .map(|a| (a.id.to_string(), format!("{} {}", a.carrier, a.account_id)))
                .collect(),
            senders: senders.iter().map(sender_label).collect(),
            today: now.to_string().chars().take(10).collect(),
            problem,
        }
        .render(),
    )
}

/// `GET /app/manifests`.
pub(crate) async fn list(ctx: Ctx) -> Response {
    render(&ctx, StatusCode::OK, None).await
}

/// `POST /app/manifests`: a manifest of one carrier account's labels of one day (made by a job).
pub(crate) async fn create(Posted(ctx, form): Posted) -> Response {
    let mut input = ManifestInput {
        carrier_account: Some(form.get("carrier_account").to_string()),
        address_from: Some(AddressGiven::Id(form.get("address_from").to_string())),
        ..ManifestInput::default()
    };
    match Timestamp::parse(form.get("day")).filter(|_| form.get("day").len() == 10) {
        Some(day) => input.shipment_date = Some(day),
        None => input.errors.add("day", "Choose the day (YYYY-MM-DD)."),
    }
    match service::manifests::create(&ctx.web.services, &ctx.principal, input).await {
        Ok(_) => see_other("/app/manifests", None),
        Err(service::ServiceError::Validation(v)) => {
            render(
                &ctx,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(crate::ctx::messages(&v)),
            )
            .await
        }
        Err(e) => ctx.failed(e),
    }
}
