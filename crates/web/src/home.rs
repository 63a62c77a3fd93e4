//! The home page — what needs doing today — and the test/live switch.

use askama::Template;
use axum::http::header::REFERER;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use domain::order::{OrderFilter, OrderStatus};
use domain::user::Permission;

use service::stats::Day;

use crate::ctx::{Chrome, Ctx, Posted, MODE_COOKIE};
use crate::{page, see_other};

/// Counts on the home page stop here ("100+"): no COUNT over the table.
const COUNT_CAP: u32 = 100;

/// One line of the to-do list.
pub(crate) struct Todo {
    count: String,
    what: String,
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
    chart: Option<Chart>,
}

/// Days back the exceptions (failed parcels, webhooks that gave up) are looked for.
const EXCEPTION_DAYS: i64 = 7;
/// Days the chart shows (today included).
const CHART_DAYS: i64 = 30;
/// Carriers drawn by name; the rest are "other".
const CHART_CARRIERS: usize = 5;
const CHART_W: i64 = 900;
const CHART_H: i64 = 150;

/// The 30-day chart of labels by carrier, drawn on the server as SVG.
pub(crate) struct Chart {
    bars: Vec<Bar>,
    /// `(css class, carrier, labels, spend per currency)`.
    legend: Vec<(String, String, i64, String)>,
    ticks: Vec<(i64, String)>,
    max: i64,
    summary: String,
}

/// One carrier's part of one day's column.
pub(crate) struct Bar {
    x: i64,
    y: i64,
    w: i64,
    h: i64,
    class: String,
    title: String,
}

fn day_name(day: i64) -> String {
    domain::Timestamp::from_millis(day * 86_400_000)
        .to_string()
        .chars()
        .take(10)
        .collect()
}

/// The chart of `days` (None when nothing was bought in the period).
fn chart(days: &[Day]) -> Option<Chart> {
    if days.is_empty() {
        return None;
    }
    let today = domain::Timestamp::now().millis().div_euclid(86_400_000);
    let first = today - CHART_DAYS + 1;
    // Carriers by labels, the most first.
    let mut totals: Vec<(String, i64)> = Vec::new();
    for d in days {
        match totals.iter_mut().find(|(c, _)| *c == d.carrier) {
            Some(t) => t.1 += d.labels,
            None => totals.push((d.carrier.clone(), d.labels)),
        }
    }
    totals.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let slot = |carrier: &str| {
        totals
            .iter()
            .position(|(c, _)| c == carrier)
            .unwrap_or(0)
            .min(CHART_CARRIERS)
    };
    let names: Vec<String> = (0..=CHART_CARRIERS.min(totals.len().saturating_sub(1)))
        .map(|i| {
            if i == CHART_CARRIERS {
                "other".to_string()
            } else {
                totals[i].0.clone()
            }
        })
        .collect();
    // Labels per day and slot; spend per slot and currency.
    let mut grid = vec![vec![0i64; names.len()]; CHART_DAYS as usize];
    let mut spend: Vec<Vec<(String, i64)>> = vec![Vec::new(); names.len()];
    for d in days {
        let (i, k) = ((d.day - first) as usize, slot(&d.carrier));
        if d.day < first || i >= grid.len() {
            continue;
        }
        grid[i][k] += d.labels;
        match spend[k].iter_mut().find(|(c, _)| *c == d.currency) {
            Some(x) => x.1 += d.amount_e4,
            None => spend[k].push((d.currency.clone(), d.amount_e4)),
        }
    }
    let max = grid
        .iter()
        .map(|day| day.iter().sum::<i64>())
        .max()
        .unwrap_or(0)
        .max(1);
    let w = CHART_W / CHART_DAYS;
    let mut bars = Vec::new();
    for (i, day) in grid.iter().enumerate() {
        let mut top = CHART_H;
        for (k, n) in day.iter().enumerate() {
            if *n == 0 {
                continue;
            }
            let h = (n * CHART_H / max).max(1);
            top -= h;
            bars.push(Bar {
                x: i as i64 * w + 1,
                y: top,
                w: w - 2,
                h,
                class: format!("c{k}"),
                title: format!("{}: {n} {} labels", day_name(first + i as i64), names[k]),
            });
        }
    }
    let labels: i64 = grid.iter().flatten().sum();
    let legend = names
        .iter()
        .enumerate()
        .map(|(k, name)| {
            let n: i64 = grid.iter().map(|d| d[k]).sum();
            let money = spend[k]
                .iter()
                .map(|(c, e4)| {
                    let amount = rust_decimal::Decimal::new(*e4, 4).round_dp(2);
                    format!("{amount} {c}")
                })
                .collect::<Vec<_>>()
                .join(", ");
            (format!("c{k}"), name.clone(), n, money)
        })
        .collect();
    let ticks = (0..CHART_DAYS)
        .step_by(7)
        .map(|i| (i * w, day_name(first + i)[5..].to_string()))
        .collect();
    Some(Chart {
        bars,
        legend,
        ticks,
        max,
        summary: format!("{labels} labels in the last {CHART_DAYS} days, at most {max} a day"),
    })
}

async fn capped(ctx: &Ctx, status: OrderStatus) -> Result<String, service::ServiceError> {
    let filter = OrderFilter {
        statuses: vec![status],
        ..OrderFilter::default()
    };
    let n = service::orders::count_up_to(&ctx.web.services, &ctx.principal, &filter, COUNT_CAP + 1)
        .await?;
    Ok(count_text(n))
}

/// A count as home shows it: "100+" past [`COUNT_CAP`].
fn count_text(n: i64) -> String {
    if n > i64::from(COUNT_CAP) {
        format!("{COUNT_CAP}+")
    } else {
        n.to_string()
    }
}

/// `GET /` and `GET /app`.
pub(crate) async fn home(ctx: Ctx) -> Response {
    let can_ship = ctx.who.user.role.can(Permission::Ship);
    let mut todo = Vec::new();
    let mut drawn = None;
    if can_ship {
        let work = async {
            let to_ship = capped(&ctx, OrderStatus::Paid).await?;
            let held = capped(&ctx, OrderStatus::OnHold).await?;
            let batches = service::batches::recent(&ctx.web.services, &ctx.principal, 10).await?;
            let days: Vec<Day> =
                service::stats::label_days(&ctx.web.services, &ctx.principal, CHART_DAYS).await?;
            let wrong =
                service::stats::exceptions(&ctx.web.services, &ctx.principal, EXCEPTION_DAYS)
                    .await?;
            Ok::<_, service::ServiceError>((to_ship, held, batches, days, wrong))
        };
        let (to_ship, held, batches, days, wrong) = match work.await {
            Ok(w) => w,
            Err(e) => return ctx.failed(e),
        };
        drawn = chart(&days);
        todo.push(Todo {
            urgent: to_ship != "0",
            count: to_ship,
            what: "orders to ship".into(),
            href: "/app/orders?status=PAID".into(),
        });
        todo.push(Todo {
            urgent: false,
            count: held,
            what: "orders on hold".into(),
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
                what: what.into(),
                href: format!("/app/batches/{}", b.id),
                urgent,
            });
        }
        for p in wrong.parcels {
            todo.push(Todo {
                count: "1".into(),
                what: format!(
                    "parcel {} {}",
                    p.tracking_number,
                    if p.status == "RETURNED" {
                        "came back"
                    } else {
                        "failed"
                    }
                ),
                href: p
                    .transaction
                    .map(|t| format!("/app/labels/{t}"))
                    .unwrap_or_else(|| format!("/app/labels?tracking={}", p.tracking_number)),
                urgent: true,
            });
        }
        if wrong.failed_deliveries > 0 && ctx.who.user.role.can(Permission::Develop) {
            todo.push(Todo {
                count: count_text(wrong.failed_deliveries),
                what: "webhook deliveries that gave up".into(),
                href: "/app/developers".into(),
                urgent: true,
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
            chart: drawn,
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
