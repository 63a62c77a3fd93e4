//! Team: the account's users and their roles; adding a user with a role one's own may give.

use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;
use domain::user::Role;

use crate::ctx::{Chrome, Ctx, Posted};
use crate::orders::date;
use crate::page;

/// One user as the page lists them.
pub(crate) struct UserRow {
    email: String,
    name: String,
    role: Role,
    since: String,
    disabled: bool,
}

#[derive(Template)]
#[template(path = "team.html")]
struct TeamPage<'a> {
    assets: &'a crate::Assets,
    csrf: Option<&'a str>,
    c: Chrome<'a>,
    users: Vec<UserRow>,
    grantable: Vec<Role>,
    /// The user just added and the password made up for them (shown once).
    added: Option<(String, Option<String>)>,
    problem: Option<String>,
}

async fn render(
    ctx: &Ctx,
    status: StatusCode,
    added: Option<(String, Option<String>)>,
    problem: Option<String>,
) -> Response {
    let users =
        match service::users::list_users(&ctx.web.services, &ctx.principal.account_name).await {
            Ok(u) => u,
            Err(e) => return ctx.failed(e),
        };
    let mine = ctx.who.user.role;
    page(
        status,
        TeamPage {
            assets: &ctx.web.assets,
            csrf: Some(&ctx.who.csrf),
            c: ctx.chrome("/app/team"),
            users: users
                .into_iter()
                .map(|u| UserRow {
                    email: u.email,
                    name: u.name,
                    role: u.role,
                    since: date(u.created),
                    disabled: u.disabled.is_some(),
                })
                .collect(),
            grantable: Role::ALL
                .into_iter()
                .filter(|r| mine.may_grant(*r))
                .collect(),
            added,
            problem,
        }
        .render(),
    )
}

/// `GET /app/team`.
pub(crate) async fn show(ctx: Ctx) -> Response {
    render(&ctx, StatusCode::OK, None, None).await
}

/// `POST /app/team`: adds a user (a password is made up and shown once when none is given).
pub(crate) async fn create(Posted(ctx, form): Posted) -> Response {
    let Some(role) = Role::parse(form.get("role")) else {
        return render(
            &ctx,
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            Some("Choose a role.".into()),
        )
        .await;
    };
    let password = Some(form.get("password").to_string()).filter(|p| !p.is_empty());
    match service::users::add_user(
        &ctx.web.services,
        &ctx.principal,
        form.get("email"),
        form.get("name"),
        role,
        password,
    )
    .await
    {
        Ok((user, made_up)) => {
            render(&ctx, StatusCode::CREATED, Some((user.email, made_up)), None).await
        }
        Err(service::ServiceError::Validation(v)) => {
            render(
                &ctx,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                Some(crate::ctx::messages(&v)),
            )
            .await
        }
        Err(e) => ctx.failed(e),
    }
}
