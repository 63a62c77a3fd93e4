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
    /// The user just added and how they sign in.
    added: Option<(String, Added)>,
    problem: Option<String>,
}

/// How a user just added signs in.
pub(crate) enum Added {
    /// With the password given (`None`) or made up (shown once).
    Password(Option<String>),
    /// With an invitation link: emailed, or shown once to hand over.
    Invited { url: String, emailed: bool },
}

async fn render(
    ctx: &Ctx,
    status: StatusCode,
    added: Option<(String, Added)>,
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

/// `POST /app/team`: invites a user (`how=invite`: a link to set their password, emailed or
/// shown once) or adds one with a password (given, or made up and shown once).
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
    let (s, who) = (&ctx.web.services, &ctx.principal);
    let (email, name) = (form.get("email"), form.get("name"));
    let done = if form.get("how") == "password" {
        let password = Some(form.get("password").to_string()).filter(|p| !p.is_empty());
        service::users::add_user(s, who, email, name, role, password)
            .await
            .map(|(user, made_up)| (user.email, Added::Password(made_up)))
    } else {
        service::users::invite(s, who, email, name, role, &ctx.base)
            .await
            .map(|(user, i)| {
                (
                    user.email,
                    Added::Invited {
                        url: i.url,
                        emailed: i.emailed,
                    },
                )
            })
    };
    match done {
        Ok(added) => render(&ctx, StatusCode::CREATED, Some(added), None).await,
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
