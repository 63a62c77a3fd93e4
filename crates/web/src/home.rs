//! The home page — what needs doing today — and the test/live switch.

use askama::Template;
use axum::http::header::REFERER;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use domain::order::{OrderFilter, OrderStatus};
use domain::user::Permission;

use crate::ctx::{Chrome, Ctx, Posted, MODE_COOKIE};
use crate::{page, see_other};

/// Counts on the home page stop here ("100+"): no COUNT over the table.
const COUNT_CAP: u32 = 100;

/// One line of the to-do list.
pub(crate) struct Todo {
    count: String,
    what: &'static str,
    href: String,
    urgent: bool,
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage<'a> {
    assets: &'a crate::Assets,
    csrf: Option<&'a str>,
    c: Chrome<'a>,
    todo: Vec<Todo>,
    can_ship: bool,
}

async fn capped(ctx: &Ctx, status: OrderStatus) -> Result<String, service::ServiceError> {
    let filter = OrderFilter {
        statuses: vec![status],
        ..OrderFilter::default()
    };
    let n = service::orders::count_up_to(&ctx.web.services, &ctx.principal, &filter, COUNT_CAP + 1)
        .await?;
    Ok(if n > i64::from(COUNT_CAP) {
        format!("{COUNT_CAP}+")
    } else {
        n.to_string()
    })
}

/// `GET /` and `GET /app`.
pub(crate) async fn home(ctx: Ctx) -> Response {
    let can_ship = ctx.who.user.role.can(Permission::Ship);
    let mut todo = Vec::new();
    if can_ship {
        let work = async {
            let to_ship = capped(&ctx, OrderStatus::Paid).await?;
            let held = capped(&ctx, OrderStatus::OnHold).await?;
            let batches = service::batches::recent(&ctx.web.services, &ctx.principal, 10).await?;
            Ok::<_, service::ServiceError>((to_ship, held, batches))
        };
        let (to_ship, held, batches) = match work.await {
            Ok(w) => w,
            Err(e) => return ctx.failed(e),
        };
        todo.push(Todo {
            urgent: to_ship != "0",
            count: to_ship,
            what: "orders to ship",
            href: "/app/orders?status=PAID".into(),
        });
        todo.push(Todo {
            urgent: false,
            count: held,
            what: "orders on hold",
            href: "/app/orders?status=ON_HOLD".into(),
        });
        for (b, failed) in batches {
            let (what, urgent) = match b.status {
                domain::batch::BatchStatus::Invalid => ("batch with shipments to fix", true),
                s if service::batches::busy(s) => ("batch at work", false),
                _ if failed => ("batch with failed labels", true),
                _ => continue,
            };
            todo.push(Todo {
                count: "1".into(),
                what,
                href: format!("/app/batches/{}", b.id),
                urgent,
            });
        }
    }
    page(
        StatusCode::OK,
        HomePage {
            assets: &ctx.web.assets,
            csrf: Some(&ctx.who.csrf),
            c: ctx.chrome("/"),
            todo,
            can_ship,
        }
        .render(),
    )
}

/// `POST /app/mode`: work in test or live mode (kept in a cookie), back to the same page.
pub(crate) async fn set_mode(headers: HeaderMap, Posted(ctx, form): Posted) -> Response {
    let live = form.get("mode") == "live";
    let cookie = format!(
        "{MODE_COOKIE}={}; SameSite=Lax; Path=/; Max-Age={}",
        if live { "live" } else { "test" },
        if live { 60 * 60 * 24 * 365 } else { 0 }
    );
    // Back where the switch was pressed: the path of our own page (same_origin was checked).
    let back = headers
        .get(REFERER)
        .and_then(|v: &HeaderValue| v.to_str().ok())
        .and_then(|r| r.split_once("://").map(|(_, rest)| rest))
        .and_then(|rest| rest.find('/').map(|i| rest[i..].to_string()))
        .filter(|p| p.starts_with('/') && !p.starts_with("//"))
        // The section, not the object: an order of test mode is not one of live mode.
        .map(|p| {
            let path = p.split(['?', '#']).next().unwrap_or("/");
            path.splitn(4, '/').take(3).collect::<Vec<_>>().join("/")
        })
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "/".into());
    let _ = ctx;
    see_other(&back, Some(cookie))
}
