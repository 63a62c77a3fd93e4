//! The audit log: who did what, and when, in the account (both modes), newest first.

use askama::Template;
use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::Response;
use domain::ObjectId;
use serde::Deserialize;

use crate::ctx::{Chrome, Ctx};
use crate::orders::date;
use crate::page;

/// Events per page.
const PAGE_SIZE: u32 = 100;

#[derive(Debug, Default, Deserialize)]
pub(crate) struct AuditQuery {
    #[serde(default)]
    before: String,
}

/// One line of the log.
pub(crate) struct Line {
    when: String,
    who: String,
    what: String,
    object: String,
    detail: String,
    live: bool,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage<'a> {
    assets: &'a crate::Assets,
    csrf: Option<&'a str>,
    c: Chrome<'a>,
    lines: Vec<Line>,
    next: Option<String>,
}

/// `GET /app/audit`.
pub(crate) async fn list(ctx: Ctx, Query(q): Query<AuditQuery>) -> Response {
    let before = ObjectId::parse(q.before.trim());
    let (events, more) =
        match service::audit::list(&ctx.web.services, &ctx.principal, before, PAGE_SIZE).await {
            Ok(found) => found,
            Err(e) => return ctx.failed(e),
        };
    let lines = events
        .iter()
        .map(|e| Line {
            when: date(e.at()),
            who: match (e.actor_kind.as_str(), &e.actor_email, &e.actor_id) {
                ("user", Some(email), _) => email.clone(),
                ("token", _, Some(id)) => format!("API token {}", &id[..8.min(id.len())]),
                ("cli", _, _) => "the command line".into(),
                ("job", _, _) => "Consign (a background job)".into(),
                (kind, _, _) => kind.to_string(),
            },
            what: e.action.clone(),
            object: e.object.clone().unwrap_or_default(),
            detail: e.detail.clone(),
            // Events about an object belong to a mode; sign-ins and users to none.
            live: !e.test && e.object.is_some(),
        })
        .collect();
    let next = more
        .then(|| events.last().map(|e| format!("/app/audit?before={}", e.id)))
        .flatten();
    page(
        StatusCode::OK,
        AuditPage {
            assets: &ctx.web.assets,
            csrf: Some(&ctx.who.csrf),
            c: ctx.chrome("/app/audit"),
            lines,
            next,
        }
        .render(),
    )
}
