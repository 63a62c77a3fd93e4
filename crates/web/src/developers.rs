//! Developers: the account's API tokens (made and shown once, revoked), its webhooks with
//! their delivery logs and redeliver, and the API's recent refusals.

use askama::Template;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use domain::account::Mode;
use domain::ObjectId;

use crate::ctx::{Chrome, Ctx, Posted};
use crate::orders::date;
use crate::{page, see_other};

/// One webhook subscription as the page lists it.
pub(crate) struct HookRow {
    id: String,
    url: String,
    event: String,
    active: bool,
}

/// One delivery of a webhook's log.
pub(crate) struct DeliveryRow {
    id: String,
    made: String,
    event: String,
    status: &'static str,
    attempts: usize,
    last: String,
}

#[derive(Template)]
#[template(path = "webhook.html")]
struct WebhookPage<'a> {
    assets: &'a crate::Assets,
    csrf: Option<&'a str>,
    c: Chrome<'a>,
    hook: HookRow,
    deliveries: Vec<DeliveryRow>,
    redelivered: bool,
}

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
    hooks: Vec<HookRow>,
    /// The form's one-time key.
    key: String,
    /// The form was answered before (a reload): no second token.
    again: bool,
    /// A token just made: shown this once.
    made: Option<String>,
    /// The API's recent refusals in this mode.
    errors: Vec<ErrorRow>,
}

/// One refusal of the API.
pub(crate) struct ErrorRow {
    when: String,
    method: String,
    path: String,
    status: i64,
    message: String,
}

/// Refusals the page lists.
const ERRORS_SHOWN: i64 = 50;

async fn render(ctx: &Ctx, made: Option<String>, again: bool) -> Response {
    let tokens = match service::accounts::list_tokens(
        &ctx.web.services,
        &ctx.principal.account_name,
    )
    .await
    {
        Ok(t) => t,
        Err(e) => return ctx.failed(e),
    };
    let hooks = match service::webhooks::list(
        &ctx.web.services,
        &ctx.principal,
        domain::page::PageRequest {
            page: 1,
            results: 100,
        },
    )
    .await
    {
        Ok(h) => h.items.iter().map(hook_row).collect(),
        Err(e) => return ctx.failed(e),
    };
    let errors =
        match service::api_errors::recent(&ctx.web.services, &ctx.principal, ERRORS_SHOWN).await {
            Ok(e) => e
                .into_iter()
                .map(|e| ErrorRow {
                    when: date(domain::Timestamp::from_millis(e.id.millis())),
                    method: e.method,
                    path: e.path,
                    status: e.status,
                    message: e.message,
                })
                .collect(),
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
            hooks,
            key: ObjectId::new().to_string(),
            again,
            made,
            errors,
        }
        .render(),
    )
}

/// `GET /app/developers`.
pub(crate) async fn show(ctx: Ctx) -> Response {
    render(&ctx, None, false).await
}

/// `POST /app/developers/tokens`: a new token of the chosen mode, shown once on the answer.
pub(crate) async fn create(Posted(ctx, form): Posted) -> Response {
    let mode = if form.get("mode") == "live" {
        Mode::Live
    } else {
        Mode::Test
    };
    // One token per form: a reload (or a double click) of the answer makes no second one.
    let key: String = form.get("key").chars().take(64).collect();
    let fresh = ctx.web.first_use(&key);
    if !fresh {
        return render(&ctx, None, true).await;
    }
    match service::accounts::make_token(&ctx.web.services, &ctx.principal, mode).await {
        Ok((_, token)) => render(&ctx, Some(token), false).await,
        Err(e) => ctx.failed(e),
    }
}

/// `POST /app/developers/tokens/{id}/revoke`.
pub(crate) async fn revoke(Path(id): Path<String>, Posted(ctx, _): Posted) -> Response {
    let Some(id) = crate::id_of(&id) else {
        return ctx.failed(service::ServiceError::NotFound);
    };
    match service::accounts::revoke_token_by_id(&ctx.web.services, &ctx.principal, id).await {
        Ok(()) => see_other("/app/developers", None),
        Err(e) => ctx.failed(e),
    }
}

fn hook_row(w: &domain::webhook::Webhook) -> HookRow {
    HookRow {
        id: w.id.to_string(),
        url: w.url.clone(),
        event: w.event.as_str().to_string(),
        active: w.active,
    }
}

#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct WebhookQuery {
    #[serde(default)]
    redelivered: String,
}

/// `GET /app/developers/webhooks/{id}`: a subscription and its latest deliveries, each with
/// its attempts, and redeliver.
pub(crate) async fn webhook(
    ctx: Ctx,
    Path(id): Path<String>,
    axum::extract::Query(q): axum::extract::Query<WebhookQuery>,
) -> Response {
    let Some(id) = crate::id_of(&id) else {
        return ctx.failed(service::ServiceError::NotFound);
    };
    let s = &ctx.web.services;
    let hook = match service::webhooks::get(s, &ctx.principal, id).await {
        Ok(h) => h,
        Err(e) => return ctx.failed(e),
    };
    let req = domain::page::PageRequest {
        page: 1,
        results: 50,
    };
    let deliveries = match service::webhooks::deliveries(s, &ctx.principal, id, req).await {
        Ok(d) => d,
        Err(e) => return ctx.failed(e),
    };
    let deliveries = deliveries
        .items
        .iter()
        .map(|d| DeliveryRow {
            id: d.id.to_string(),
            made: date(d.created),
            event: d.event.as_str().to_string(),
            status: d.status.as_str(),
            attempts: d.attempts.len(),
            last: d
                .attempts
                .last()
                .map(|a| match a.status_code {
                    Some(code) => format!("HTTP {code} in {} ms", a.latency_ms),
                    None => a.response.chars().take(120).collect(),
                })
                .unwrap_or_default(),
        })
        .collect();
    page(
        StatusCode::OK,
        WebhookPage {
            assets: &ctx.web.assets,
            csrf: Some(&ctx.who.csrf),
            c: ctx.chrome("/app/developers"),
            hook: hook_row(&hook),
            deliveries,
            redelivered: !q.redelivered.is_empty(),
        }
        .render(),
    )
}

/// `POST /app/developers/webhooks/{id}/redeliver` (the form names the `delivery`): sends that
/// event again, as the API's redeliver does.
pub(crate) async fn redeliver(Path(id): Path<String>, Posted(ctx, form): Posted) -> Response {
    let (Some(id), Some(delivery)) = (
        crate::id_of(&id),
        domain::ObjectId::parse(form.get("delivery")),
    ) else {
        return ctx.failed(service::ServiceError::NotFound);
    };
    match service::webhooks::redeliver(&ctx.web.services, &ctx.principal, id, delivery).await {
        Ok(_) => see_other(
            &format!("/app/developers/webhooks/{id}?redelivered=1"),
            None,
        ),
        Err(e) => ctx.failed(e),
    }
}
