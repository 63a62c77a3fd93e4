//! Importing orders from a CSV file (a shop's export): choose the file, preview how its columns
//! are read and what the import would do (a dry run, nothing written), adjust the column map,
//! then import the very file previewed. The report names each refused row and why.

use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;
use service::orders::csv::{ImportOptions, ImportReport};

use crate::ctx::{Chrome, Ctx, Uploaded};
use crate::page;
use crate::uploads::{self, ColumnRow};

#[derive(Template)]
#[template(path = "order_import.html")]
struct ImportPage<'a> {
    assets: &'a crate::Assets,
    csrf: Option<&'a str>,
    c: Chrome<'a>,
    problem: Option<String>,
    /// The kept file of a preview (imported by the next step).
    upload: String,
    columns: Vec<ColumnRow>,
    fields: Vec<&'static str>,
    report: Option<ImportReport>,
}

fn render(status: StatusCode, mut p: ImportPage<'_>) -> Response {
    p.fields = service::orders::csv::COLUMNS.iter().map(|c| c.0).collect();
    page(status, p.render())
}

fn blank(ctx: &Ctx) -> ImportPage<'_> {
    ImportPage {
        assets: &ctx.web.assets,
        csrf: Some(&ctx.who.csrf),
        c: ctx.chrome("/app/orders"),
        problem: None,
        upload: String::new(),
        columns: Vec::new(),
        fields: Vec::new(),
        report: None,
    }
}

/// `GET /app/orders/import`.
pub(crate) async fn form(ctx: Ctx) -> Response {
    render(StatusCode::OK, blank(&ctx))
}

/// `POST /app/orders/import`: `action=preview` (a dry run of the chosen or kept file, with its
/// columns) or `import`.
pub(crate) async fn submit(Uploaded(ctx, form, file): Uploaded) -> Response {
    let mut p = blank(&ctx);
    let (bytes, upload) = match uploads::file_of(&ctx, &form, file).await {
        Ok(f) => f,
        Err(why) => {
            p.problem = Some(why);
            return render(StatusCode::UNPROCESSABLE_ENTITY, p);
        }
    };
    p.upload = upload.to_string();
    let s = &ctx.web.services;
    let detected = match service::orders::csv::preview_columns(&bytes, &[]) {
        Ok(c) => c,
        Err(e) => return refused(&ctx, p, e),
    };
    // The selects are sent only once the preview showed them.
    let mapping = match uploads::mapping_of(&form, &detected) {
        Ok(m) => m,
        Err(why) => {
            p.columns = uploads::rows(&detected);
            p.problem = Some(why);
            return render(StatusCode::UNPROCESSABLE_ENTITY, p);
        }
    };
    p.columns = match service::orders::csv::preview_columns(&bytes, &mapping) {
        Ok(c) => uploads::rows(&c),
        Err(e) => return refused(&ctx, p, e),
    };
    let dry_run = form.get("action") != "import";
    let options = ImportOptions { dry_run, mapping };
    match service::orders::csv::import(s, &ctx.principal, &bytes, &options, &|_, _| {}).await {
        Ok(report) => {
            if !dry_run {
                // Imported: the kept file is done with (a failure to delete it is harmless).
                let _ = service::uploads::discard(s, &ctx.principal, upload).await;
                p.upload.clear();
            }
            p.report = Some(report);
            render(StatusCode::OK, p)
        }
        Err(e) => refused(&ctx, p, e),
    }
}

/// The page again with why the file was refused (a validation or a conflict), else the error.
fn refused(ctx: &Ctx, mut p: ImportPage<'_>, e: service::ServiceError) -> Response {
    match e {
        service::ServiceError::Validation(v) => {
            p.problem = Some(crate::ctx::messages(&v));
            render(StatusCode::UNPROCESSABLE_ENTITY, p)
        }
        service::ServiceError::Conflict(m) => {
            p.problem = Some(m);
            render(StatusCode::CONFLICT, p)
        }
        e => ctx.failed(e),
    }
}
