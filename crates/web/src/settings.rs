//! Settings: the sender addresses "Buy labels" ships from (per mode).

use crate::address_form::AddressForm;
use crate::ctx::{Chrome, Ctx, Posted};
use crate::orders::sender_label;
use crate::{page, see_other};
use askama::Template;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage<'a> {
    assets: &'a crate::Assets,
    csrf: Option<&'a str>,
    c: Chrome<'a>,
    senders: Vec<(String, String)>,
    problem: Option<String>,
    af: AddressForm,
}

async fn render(
    ctx: &Ctx,
    status: StatusCode,
    problem: Option<String>,
    af: AddressForm,
) -> Response {
    let senders = match service::addresses::senders(&ctx.web.services, &ctx.principal).await {
        Ok(s) => s.iter().map(sender_label).collect(),
        Err(e) => return ctx.failed(e),
    };
    page(
        status,
        SettingsPage {
            assets: &ctx.web.assets,
            csrf: Some(&ctx.who.csrf),
            c: ctx.chrome("/app/settings"),
            senders,
            problem,
            af,
        }
        .render(),
    )
}

/// `GET /app/settings`.
pub(crate) async fn show(ctx: Ctx) -> Response {
    render(&ctx, StatusCode::OK, None, AddressForm::empty("s")).await
}

/// `POST /app/settings/senders`: a new sender address (complete, or refused with the reasons).
pub(crate) async fn add_sender(Posted(ctx, form): Posted) -> Response {
    let af = AddressForm::posted("s", &form);
    match service::addresses::add_sender(&ctx.web.services, &ctx.principal, af.input()).await {
        Ok(_) => see_other("/app/settings", None),
        Err(service::ServiceError::Validation(v)) => {
            render(
                &ctx,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(crate::ctx::messages(&v)),
                af,
            )
            .await
        }
        Err(e) => ctx.failed(e),
    }
}

/// `POST /app/settings/senders/{id}/remove`.
pub(crate) async fn remove_sender(Path(id): Path<String>, Posted(ctx, _): Posted) -> Response {
    let Some(id) = domain::ObjectId::parse(id.trim()) else {
        return ctx.failed(service::ServiceError::NotFound);
    };
    match service::addresses::remove_sender(&ctx.web.services, &ctx.principal, id).await {
        Ok(()) => see_other("/app/settings", None),
        Err(e) => ctx.failed(e),
    }
}
