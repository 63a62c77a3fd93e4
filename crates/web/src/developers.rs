//! Developers: the account's API tokens (made and shown once, revoked).

use askama::Template;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use domain::account::Mode;

use crate::ctx::{Chrome, Ctx, Posted};
use crate::orders::date;
use crate::{page, see_other};

/// One token as the page lists it (never the token itself).
pub(crate) struct TokenRow {
    id: String,
    prefix: String,
    live: bool,
    created: String,
    revoked: String,
}

#[derive(Template)]
#[template(path = "developers.html")]
struct DevelopersPage<'a> {
    assets: &'a crate::Assets,
    csrf: Option<&'a str>,
    c: Chrome<'a>,
    tokens: Vec<TokenRow>,
    /// A token just made: shown this once.
    made: Option<String>,
}

async fn render(ctx: &Ctx, made: Option<String>) -> Response {
    let tokens = match service::accounts::list_tokens(
        &ctx.web.services,
        &ctx.principal.account_name,
    )
    .await
    {
        Ok(t) => t,
        Err(e) => return ctx.failed(e),
    };
    let tokens = tokens
        .iter()
        .rev()
        .map(|t| TokenRow {
            id: t.id.to_string(),
            prefix: t.prefix.clone(),
            live: t.mode == Mode::Live,
            created: date(t.created),
            revoked: t.revoked.map(date).unwrap_or_default(),
        })
        .collect();
    page(
        if made.is_some() {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        },
        DevelopersPage {
            assets: &ctx.web.assets,
            csrf: Some(&ctx.who.csrf),
            c: ctx.chrome("/app/developers"),
            tokens,
            made,
        }
        .render(),
    )
}

/// `GET /app/developers`.
pub(crate) async fn show(ctx: Ctx) -> Response {
    render(&ctx, None).await
}

/// `POST /app/developers/tokens`: a new token of the chosen mode, shown once on the answer.
pub(crate) async fn create(Posted(ctx, form): Posted) -> Response {
    let mode = if form.get("mode") == "live" {
        Mode::Live
    } else {
        Mode::Test
    };
    match service::accounts::make_token(&ctx.web.services, &ctx.principal, mode).await {
        Ok((_, token)) => render(&ctx, Some(token)).await,
        Err(e) => ctx.failed(e),
    }
}

/// `POST /app/developers/tokens/{id}/revoke`.
pub(crate) async fn revoke(Path(id): Path<String>, Posted(ctx, _): Posted) -> Response {
    let Some(id) = domain::ObjectId::parse(id.trim()) else {
        return ctx.failed(service::ServiceError::NotFound);
    };
    match service::accounts::revoke_token_by_id(&ctx.web.services, &ctx.principal, id).await {
        Ok(()) => see_other("/app/developers", None),
        Err(e) => ctx.failed(e),
    }
}
