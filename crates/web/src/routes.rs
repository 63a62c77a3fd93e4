//! The one table of the web app's signed-in pages and forms: method, path, the permission it
//! needs, and its handler. The router is built from it, [`crate::ctx`] checks each request
//! against it, and the role sweep test walks it ([`table`]), so a new page is declared once
//! and covered everywhere.

use std::sync::LazyLock;

use axum::http::Method;
use axum::routing::{get, post, MethodRouter};
use domain::user::Permission;

use crate::{
    audit, batches, carriers, developers, home, labels, manifests, order_import, orders, projects,
    settings, team, Web,
};

/// A form that takes a CSV file: the body may hold the largest file an import reads.
fn upload(handler: MethodRouter<Web>) -> MethodRouter<Web> {
    handler.layer(axum::extract::DefaultBodyLimit::max(
        service::orders::csv::MAX_BYTES + 64 * 1024,
    ))
}

/// One page or form of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// `GET` (a page) or `POST` (a form).
    pub method: Method,
    /// The axum path, with `{id}` for an object of the account.
    pub path: &'static str,
    /// What the signed-in person's role must allow (`None`: anyone signed in).
    pub permission: Option<Permission>,
}

fn entry(
    method: Method,
    path: &'static str,
    permission: Option<Permission>,
    handler: MethodRouter<Web>,
) -> (Route, MethodRouter<Web>) {
    (
        Route {
            method,
            path,
            permission,
        },
        handler,
    )
}

/// Every signed-in page and form with its handler.
pub(crate) fn entries() -> Vec<(Route, MethodRouter<Web>)> {
    use Permission::{Carriers, Develop, Settings, Ship, Users};
    let (g, p) = (Method::GET, Method::POST);
    vec![
        entry(g.clone(), "/", None, get(home::home)),
        entry(g.clone(), "/app", None, get(home::home)),
        entry(p.clone(), "/app/mode", None, post(home::set_mode)),
        entry(g.clone(), "/app/orders", Some(Ship), get(orders::inbox)),
        entry(p.clone(), "/app/orders/buy", Some(Ship), post(orders::buy)),
        entry(
            p.clone(),
            "/app/orders/views",
            Some(Ship),
            post(orders::save_view),
        ),
        entry(
            p.clone(),
            "/app/orders/views/{id}/delete",
            Some(Ship),
            post(orders::delete_view),
        ),
        entry(
            g.clone(),
            "/app/orders/import",
            Some(Ship),
            get(order_import::form),
        ),
        entry(
            p.clone(),
            "/app/orders/import",
            Some(Ship),
            upload(post(order_import::submit)),
        ),
        entry(g.clone(), "/app/orders/{id}", Some(Ship), get(orders::show)),
        entry(
            p.clone(),
            "/app/orders/{id}/status",
            Some(Ship),
            post(orders::set_status),
        ),
        entry(
            p.clone(),
            "/app/orders/{id}/rates",
            Some(Ship),
            post(orders::rates),
        ),
        entry(
            p.clone(),
            "/app/orders/{id}/label",
            Some(Ship),
            post(orders::label),
        ),
        entry(
            p.clone(),
            "/app/orders/{id}/ship-to",
            Some(Ship),
            post(orders::change_ship_to),
        ),
        entry(
            p.clone(),
            "/app/orders/slips",
            Some(Ship),
            post(orders::slips),
        ),
        entry(g.clone(), "/app/labels", Some(Ship), get(labels::list)),
        entry(g.clone(), "/app/labels/{id}", Some(Ship), get(labels::show)),
        entry(
            p.clone(),
            "/app/labels/{id}/reprint",
            Some(Ship),
            post(labels::reprint),
        ),
        entry(
            p.clone(),
            "/app/labels/{id}/refund",
            Some(Ship),
            post(labels::refund),
        ),
        entry(
            g.clone(),
            "/app/manifests",
            Some(Ship),
            get(manifests::list),
        ),
        entry(
            p.clone(),
            "/app/manifests",
            Some(Ship),
            post(manifests::create),
        ),
        entry(g.clone(), "/app/projects", Some(Ship), get(projects::list)),
        entry(
            p.clone(),
            "/app/projects",
            Some(Ship),
            post(projects::create),
        ),
        entry(
            g.clone(),
            "/app/projects/{id}",
            Some(Ship),
            get(projects::show),
        ),
        entry(
            p.clone(),
            "/app/projects/{id}/lock",
            Some(Ship),
            post(projects::lock),
        ),
        entry(
            p.clone(),
            "/app/projects/{id}/backers",
            Some(Ship),
            upload(post(projects::import_backers)),
        ),
        entry(
            p.clone(),
            "/app/projects/{id}/tracking",
            Some(Ship),
            upload(post(projects::import_tracking)),
        ),
        entry(
            p.clone(),
            "/app/projects/{id}/keys",
            Some(Develop),
            post(projects::make_key),
        ),
        entry(
            p.clone(),
            "/app/projects/{id}/keys/revoke",
            Some(Develop),
            post(projects::revoke_key),
        ),
        entry(
            p.clone(),
            "/app/projects/{id}/provider",
            Some(Carriers),
            post(projects::connect),
        ),
        entry(
            p.clone(),
            "/app/projects/{id}/sync",
            Some(Ship),
            post(projects::sync),
        ),
        entry(g.clone(), "/app/batches", Some(Ship), get(batches::list)),
        entry(
            g.clone(),
            "/app/batches/{id}",
            Some(Ship),
            get(batches::show),
        ),
        entry(
            p.clone(),
            "/app/batches/{id}/purchase",
            Some(Ship),
            post(batches::purchase),
        ),
        entry(
            g.clone(),
            "/app/batches/{id}/shipments/{shipment}",
            Some(Ship),
            get(batches::fix_form),
        ),
        entry(
            p.clone(),
            "/app/batches/{id}/shipments/{shipment}",
            Some(Ship),
            post(batches::fix),
        ),
        entry(
            g.clone(),
            "/app/developers",
            Some(Develop),
            get(developers::show),
        ),
        entry(
            p.clone(),
            "/app/developers/tokens",
            Some(Develop),
            post(developers::create),
        ),
        entry(
            p.clone(),
            "/app/developers/tokens/{id}/revoke",
            Some(Develop),
            post(developers::revoke),
        ),
        entry(
            g.clone(),
            "/app/developers/webhooks/{id}",
            Some(Develop),
            get(developers::webhook),
        ),
        entry(
            p.clone(),
            "/app/developers/webhooks/{id}/redeliver",
            Some(Develop),
            post(developers::redeliver),
        ),
        entry(
            g.clone(),
            "/app/carriers",
            Some(Carriers),
            get(carriers::list),
        ),
        entry(
            p.clone(),
            "/app/carriers",
            Some(Carriers),
            post(carriers::create),
        ),
        entry(
            g.clone(),
            "/app/carriers/{id}",
            Some(Carriers),
            get(carriers::show),
        ),
        entry(
            p.clone(),
            "/app/carriers/{id}/credentials",
            Some(Carriers),
            post(carriers::credentials),
        ),
        entry(
            p.clone(),
            "/app/carriers/{id}/rate-card",
            Some(Carriers),
            upload(post(carriers::rate_card)),
        ),
        entry(
            p.clone(),
            "/app/carriers/{id}/scan-keys",
            Some(Carriers),
            post(carriers::make_key),
        ),
        entry(
            p.clone(),
            "/app/carriers/{id}/scan-keys/revoke",
            Some(Carriers),
            post(carriers::revoke_key),
        ),
        entry(g.clone(), "/app/audit", Some(Users), get(audit::list)),
        entry(g.clone(), "/app/team", Some(Users), get(team::show)),
        entry(p.clone(), "/app/team", Some(Users), post(team::create)),
        entry(g, "/app/settings", Some(Settings), get(settings::show)),
        entry(
            p.clone(),
            "/app/settings/senders",
            Some(Settings),
            post(settings::add_sender),
        ),
        entry(
            p.clone(),
            "/app/settings/labels",
            Some(Settings),
            post(settings::label_format),
        ),
        entry(
            p.clone(),
            "/app/settings/branding",
            Some(Settings),
            post(settings::branding),
        ),
        entry(
            p.clone(),
            "/app/settings/emails",
            Some(Settings),
            post(settings::emails),
        ),
        entry(
            p.clone(),
            "/app/settings/emails/preview",
            Some(Settings),
            post(settings::preview),
        ),
        entry(
            p,
            "/app/settings/senders/{id}/remove",
            Some(Settings),
            post(settings::remove_sender),
        ),
    ]
}

static TABLE: LazyLock<Vec<Route>> =
    LazyLock::new(|| entries().into_iter().map(|(r, _)| r).collect());

/// The table, for tests and docs.
pub fn table() -> Vec<Route> {
    TABLE.clone()
}

/// The permission the route `path` (as matched) needs for `method`: `None` when the table has
/// no such route, `Some(None)` when anyone signed in may use it.
pub(crate) fn permission(method: &Method, path: &str) -> Option<Option<Permission>> {
    let method = if method == Method::HEAD {
        &Method::GET
    } else {
        method
    };
    TABLE
        .iter()
        .find(|r| r.method == method && r.path == path)
        .map(|r| r.permission)
}

/// The main navigation: path, label, and what a role needs to see it.
pub(crate) const NAV: &[(&str, &str, Option<Permission>)] = &[
    ("/", "Home", None),
    ("/app/orders", "Orders", Some(Permission::Ship)),
    ("/app/batches", "Batches", Some(Permission::Ship)),
    ("/app/labels", "Labels", Some(Permission::Ship)),
    ("/app/manifests", "Manifests", Some(Permission::Ship)),
    ("/app/projects", "Projects", Some(Permission::Ship)),
    ("/app/carriers", "Carriers", Some(Permission::Carriers)),
    ("/app/developers", "Developers", Some(Permission::Develop)),
    ("/app/team", "Team", Some(Permission::Users)),
    ("/app/settings", "Settings", Some(Permission::Settings)),
    ("/app/audit", "Audit log", Some(Permission::Users)),
];
