//! Crowdfunding projects (seed 000) for their creators: create one; import the backer report
//! (columns previewed and remapped, a dry run, then the not-shippable list with reasons); lock
//! the addresses now or from a date; project keys shown once; the provider link, its webhook
//! URL to paste and the sync; tracking CSV uploads with their report; the dispatch email as
//! backers will read it.

use askama::Template;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::Response;
use domain::crowdfunding::{Project, RewardWeight};
use domain::user::Permission;
use domain::{ObjectId, Timestamp};
use serde::Deserialize;
use service::crowdfunding::backers::{self, ImportOptions, ImportReport, TrackingReport};
use service::crowdfunding::{self as projects, ProjectInput, ProjectView, ProviderInput};
use service::ServiceError;

use crate::ctx::{Chrome, Ctx, Posted, Uploaded};
use crate::uploads::{self, ColumnRow};
use crate::{id_of, page, see_other};

#[derive(Template)]
#[template(path = "projects.html")]
struct ProjectsPage<'a> {
    assets: &'a crate::Assets,
    csrf: Option<&'a str>,
    c: Chrome<'a>,
    projects: Vec<ProjectRow>,
    problem: Option<String>,
    units: Vec<&'static str>,
}

struct ProjectRow {
    id: String,
    name: String,
    created: String,
    lock: String,
}

fn date(t: Timestamp) -> String {
    t.to_string().chars().take(10).collect()
}

/// How the project's address lock stands.
fn lock_of(p: &Project) -> String {
    match p.addresses_locked_at {
        None => "Open: backers may change their addresses".into(),
        Some(at) if at <= Timestamp::now() => format!("Locked since {}", date(at)),
        Some(at) => format!("Locks on {}", date(at)),
    }
}

async fn list_page(ctx: &Ctx, status: StatusCode, problem: Option<String>) -> Response {
    let list = match projects::list(&ctx.web.services, &ctx.principal).await {
        Ok(l) => l,
        Err(e) => return ctx.failed(e),
    };
    page(
        status,
        ProjectsPage {
            assets: &ctx.web.assets,
            csrf: Some(&ctx.who.csrf),
            c: ctx.chrome("/app/projects"),
            projects: list
                .iter()
                .map(|p| ProjectRow {
                    id: p.id.to_string(),
                    name: p.name.clone(),
                    created: date(p.created),
                    lock: lock_of(p),
                })
                .collect(),
            problem,
            units: domain::units::MassUnit::ALL
                .iter()
                .map(|u| u.as_str())
                .collect(),
        }
        .render(),
    )
}

/// `GET /app/projects`.
pub(crate) async fn list(ctx: Ctx) -> Response {
    list_page(&ctx, StatusCode::OK, None).await
}

/// `POST /app/projects`: a new project (name, one reward parcel's weight).
pub(crate) async fn create(Posted(ctx, form): Posted) -> Response {
    let mut input = ProjectInput {
        name: Some(form.get("name").chars().take(300).collect()),
        ..ProjectInput::default()
    };
    if !form.get("weight").is_empty() {
        match RewardWeight::entered(form.get("weight"), form.get("unit")) {
            Some(w) => input.reward_weight = Some(Some(w)),
            None => input.errors.add(
                "reward_weight",
                "A reward's weight is a positive number (e.g. 1.5) in g, oz, lb or kg.",
            ),
        }
    }
    match projects::create(&ctx.web.services, &ctx.principal, input).await {
        Ok(p) => see_other(&format!("/app/projects/{}", p.id), None),
        Err(ServiceError::Validation(v)) => {
            list_page(
                &ctx,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(crate::ctx::messages(&v)),
            )
            .await
        }
        Err(e) => ctx.failed(e),
    }
}

#[derive(Template)]
#[template(path = "project.html")]
struct ProjectPage<'a> {
    assets: &'a crate::Assets,
    csrf: Option<&'a str>,
    c: Chrome<'a>,
    p: &'a ProjectView,
    lock: String,
    locked: bool,
    weight: String,
    problem: Option<String>,
    /// What this person's role may see and do beyond shipping.
    may_keys: bool,
    may_provider: bool,
    /// A key just made (shown once), or a reload of the form that made one.
    made_key: Option<String>,
    again: bool,
    form_key: String,
    /// The backer import under way: the kept file, its columns, the report.
    upload: String,
    columns: Vec<ColumnRow>,
    fields: Vec<&'static str>,
    backers: Option<ImportReport>,
    tracking: Option<TrackingReport>,
    sync: Option<service::crowdfunding::sync::Sync>,
    webhook_url: String,
    kinds: &'static [&'static str],
    senders: Vec<(String, String)>,
    email_subject: String,
    email_text: String,
}

/// What a step of the project page adds to it.
#[derive(Default)]
struct Step {
    status: Option<StatusCode>,
    problem: Option<String>,
    made_key: Option<String>,
    again: bool,
    upload: String,
    columns: Vec<ColumnRow>,
    backers: Option<ImportReport>,
    tracking: Option<TrackingReport>,
    sync: Option<ObjectId>,
}

async fn project_page(ctx: &Ctx, id: ObjectId, step: Step) -> Response {
    let s = &ctx.web.services;
    let view = match projects::get(s, &ctx.principal, id).await {
        Ok(v) => v,
        Err(e) => return ctx.failed(e),
    };
    let sync = match step.sync {
        Some(sync) => match service::crowdfunding::sync::get(s, &ctx.principal, id, sync).await {
            Ok(x) => Some(x),
            Err(ServiceError::NotFound) => None,
            Err(e) => return ctx.failed(e),
        },
        None => None,
    };
    let senders = match service::addresses::senders(s, &ctx.principal).await {
        Ok(list) => list.iter().map(crate::orders::sender_label).collect(),
        Err(e) => return ctx.failed(e),
    };
    let p = &view.project;
    let role = ctx.who.user.role;
    let (email_subject, email_text) = backers_email(ctx, p);
    page(
        step.status.unwrap_or(StatusCode::OK),
        ProjectPage {
            assets: &ctx.web.assets,
            csrf: Some(&ctx.who.csrf),
            c: ctx.chrome("/app/projects"),
            lock: lock_of(p),
            locked: p.locked(Timestamp::now()),
            weight: p
                .reward_weight
                .map(|w| format!("{} {}", w.weight.normalize(), w.unit.as_str()))
                .unwrap_or_default(),
            problem: step.problem,
            may_keys: role.can(Permission::Develop),
            may_provider: role.can(Permission::Carriers),
            made_key: step.made_key,
            again: step.again,
            form_key: ObjectId::new().to_string(),
            upload: step.upload,
            columns: step.columns,
            fields: backers::fields(),
            backers: step.backers,
            tracking: step.tracking,
            sync,
            webhook_url: p
                .provider
                .as_ref()
                .map(|l| format!("{}/api/fulfillment/{}/{}", ctx.base, l.kind, p.id))
                .unwrap_or_default(),
            kinds: service::crowdfunding::PROVIDER_KINDS,
            senders,
            email_subject,
            email_text,
            p: &view,
        }
        .render(),
    )
}

/// The dispatch email with a sample parcel, its link to this server's tracking page.
fn backers_email(ctx: &Ctx, p: &Project) -> (String, String) {
    service::crowdfunding::tracking::dispatch_preview(
        &p.name,
        &format!("{}/track/9400111899223197428490", ctx.base),
    )
}

/// `?sync=`: the sync just started.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ShowQuery {
    #[serde(default)]
    sync: String,
}

/// `GET /app/projects/{id}`.
pub(crate) async fn show(ctx: Ctx, Path(id): Path<String>, q: Query<ShowQuery>) -> Response {
    let Some(id) = id_of(&id) else {
        return ctx.failed(ServiceError::NotFound);
    };
    let step = Step {
        sync: id_of(&q.sync),
        ..Step::default()
    };
    project_page(&ctx, id, step).await
}

/// The page again with why a step was refused (a validation or a conflict), else the error.
async fn refused(ctx: &Ctx, id: ObjectId, mut step: Step, e: ServiceError) -> Response {
    match e {
        ServiceError::Validation(v) => {
            step.problem = Some(crate::ctx::messages(&v));
            step.status = Some(StatusCode::UNPROCESSABLE_ENTITY);
        }
        ServiceError::Conflict(m) => {
            step.problem = Some(m);
            step.status = Some(StatusCode::CONFLICT);
        }
        e => return ctx.failed(e),
    }
    project_page(ctx, id, step).await
}

/// `POST /app/projects/{id}/lock`: `lock=now`, `lock=date` (with `date`) or `lock=open`.
pub(crate) async fn lock(Path(id): Path<String>, Posted(ctx, form): Posted) -> Response {
    let Some(id) = id_of(&id) else {
        return ctx.failed(ServiceError::NotFound);
    };
    let mut input = ProjectInput::default();
    match form.get("lock") {
        "now" => input.addresses_locked_at = Some(Some(Timestamp::now())),
        "open" => input.addresses_locked_at = Some(None),
        _ => match Timestamp::parse(form.get("date")).filter(|_| form.get("date").len() == 10) {
            Some(at) => input.addresses_locked_at = Some(Some(at)),
            None => input
                .errors
                .add("date", "Choose the day the addresses lock (YYYY-MM-DD)."),
        },
    }
    match projects::update(&ctx.web.services, &ctx.principal, id, input).await {
        Ok(_) => see_other(&format!("/app/projects/{id}"), None),
        Err(e) => refused(&ctx, id, Step::default(), e).await,
    }
}

/// `POST /app/projects/{id}/backers`: the backer report previewed (`action=preview`, a dry run
/// with its columns) or imported (`action=import`, the file kept from the preview).
pub(crate) async fn import_backers(
    Path(id): Path<String>,
    Uploaded(ctx, form, file): Uploaded,
) -> Response {
    let Some(id) = id_of(&id) else {
        return ctx.failed(ServiceError::NotFound);
    };
    let s = &ctx.web.services;
    // Another account's project is not found before its file is looked at.
    if let Err(e) = projects::get(s, &ctx.principal, id).await {
        return ctx.failed(e);
    }
    let mut step = Step::default();
    let (bytes, upload) = match uploads::file_of(&ctx, &form, file).await {
        Ok(f) => f,
        Err(why) => {
            step.problem = Some(why);
            step.status = Some(StatusCode::UNPROCESSABLE_ENTITY);
            return project_page(&ctx, id, step).await;
        }
    };
    step.upload = upload.to_string();
    let detected = match backers::preview_columns(&bytes, &[]) {
        Ok(c) => c,
        Err(e) => return refused(&ctx, id, step, e).await,
    };
    let mapping = match uploads::mapping_of(&form, &detected) {
        Ok(m) => m,
        Err(why) => {
            step.columns = uploads::rows(&detected);
            step.problem = Some(why);
            step.status = Some(StatusCode::UNPROCESSABLE_ENTITY);
            return project_page(&ctx, id, step).await;
        }
    };
    step.columns = match backers::preview_columns(&bytes, &mapping) {
        Ok(c) => uploads::rows(&c),
        Err(e) => return refused(&ctx, id, step, e).await,
    };
    let dry_run = form.get("action") != "import";
    let options = ImportOptions { dry_run, mapping };
    match backers::import(s, &ctx.principal, id, &bytes, options, &|_, _| {}).await {
        Ok(report) => {
            if !dry_run {
                let _ = service::uploads::discard(s, &ctx.principal, upload).await;
                step.upload.clear();
                step.columns.clear();
            }
            step.backers = Some(report);
            project_page(&ctx, id, step).await
        }
        Err(e) => refused(&ctx, id, step, e).await,
    }
}

/// `POST /app/projects/{id}/tracking`: a tracking CSV applied (or, `dry_run`, checked).
pub(crate) async fn import_tracking(
    Path(id): Path<String>,
    Uploaded(ctx, form, file): Uploaded,
) -> Response {
    let Some(id) = id_of(&id) else {
        return ctx.failed(ServiceError::NotFound);
    };
    let s = &ctx.web.services;
    if let Err(e) = projects::get(s, &ctx.principal, id).await {
        return ctx.failed(e);
    }
    let Some(file) = file else {
        let step = Step {
            problem: Some("Choose a tracking CSV file.".into()),
            status: Some(StatusCode::UNPROCESSABLE_ENTITY),
            ..Step::default()
        };
        return project_page(&ctx, id, step).await;
    };
    let options = ImportOptions {
        dry_run: form.get("dry_run") == "1",
        mapping: Vec::new(),
    };
    match backers::import_tracking(s, &ctx.principal, id, &file, options).await {
        Ok(report) => {
            let step = Step {
                tracking: Some(report),
                ..Step::default()
            };
            project_page(&ctx, id, step).await
        }
        Err(e) => refused(&ctx, id, Step::default(), e).await,
    }
}

/// `POST /app/projects/{id}/keys`: a new project key, shown once (a reload makes no second).
pub(crate) async fn make_key(Path(id): Path<String>, Posted(ctx, form): Posted) -> Response {
    let Some(id) = id_of(&id) else {
        return ctx.failed(ServiceError::NotFound);
    };
    let key: String = form.get("key").chars().take(64).collect();
    if !ctx.web.first_use(&key) {
        let step = Step {
            again: true,
            ..Step::default()
        };
        return project_page(&ctx, id, step).await;
    }
    match projects::create_key(&ctx.web.services, &ctx.principal, id, false).await {
        Ok((_, secret)) => {
            let step = Step {
                made_key: Some(secret),
                ..Step::default()
            };
            project_page(&ctx, id, step).await
        }
        Err(e) => ctx.failed(e),
    }
}

/// `POST /app/projects/{id}/keys/revoke`: the key `key_id`.
pub(crate) async fn revoke_key(Path(id): Path<String>, Posted(ctx, form): Posted) -> Response {
    let Some(id) = id_of(&id) else {
        return ctx.failed(ServiceError::NotFound);
    };
    let Some(key) = id_of(form.get("key_id")) else {
        return ctx.failed(ServiceError::NotFound);
    };
    match projects::revoke_keys(&ctx.web.services, &ctx.principal, id, Some(key)).await {
        Ok(_) => see_other(&format!("/app/projects/{id}"), None),
        Err(e) => ctx.failed(e),
    }
}

/// `POST /app/projects/{id}/provider`: the creator's provider account (kind, API key, webhook
/// secret, the return address among the sender addresses).
pub(crate) async fn connect(Path(id): Path<String>, Posted(ctx, form): Posted) -> Response {
    let Some(id) = id_of(&id) else {
        return ctx.failed(ServiceError::NotFound);
    };
    let text = |n: &str| form.get(n).chars().take(500).collect::<String>();
    let secret = text("webhook_secret");
    let from = text("return_address");
    let input = ProviderInput {
        kind: text("kind"),
        api_key: text("api_key"),
        webhook_secret: (!secret.is_empty()).then_some(secret),
        base_url: None,
        return_address: (!from.is_empty()).then_some(service::orders::AddressOrId::Id(from)),
        errors: Default::default(),
    };
    match projects::connect_provider(&ctx.web.services, &ctx.principal, id, input).await {
        Ok(_) => see_other(&format!("/app/projects/{id}"), None),
        Err(e) => refused(&ctx, id, Step::default(), e).await,
    }
}

/// `POST /app/projects/{id}/sync`: pushes the project's orders to its provider (a job); the
/// page follows it.
pub(crate) async fn sync(Path(id): Path<String>, Posted(ctx, _): Posted) -> Response {
    let Some(id) = id_of(&id) else {
        return ctx.failed(ServiceError::NotFound);
    };
    match service::crowdfunding::sync::start(&ctx.web.services, &ctx.principal, id).await {
        Ok(sync) => see_other(&format!("/app/projects/{id}?sync={}", sync.id), None),
        Err(e) => refused(&ctx, id, Step::default(), e).await,
    }
}
