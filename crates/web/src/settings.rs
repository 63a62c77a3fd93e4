//! Settings: the sender addresses "Buy labels" ships from (per mode), the default label file
//! type, the buyer emails' templates with a preview, and the branding (name, colour, logo) the
//! buyers see.

use service::notifications::{self, Effective, Settings};

use crate::address_form::AddressForm;
use crate::ctx::{Chrome, Ctx, Posted, Uploaded};
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
    label_format: String,
    formats: Vec<&'static str>,
    emails: Emails,
    brand: Brand,
}

/// The branding form.
pub(crate) struct Brand {
    name: String,
    color: String,
    /// Where its logo is seen (none: no logo).
    logo: Option<String>,
    problem: Option<String>,
}

/// The buyer emails' form: what is in force (or was entered), and its preview when asked.
pub(crate) struct Emails {
    enabled: bool,
    shipped_subject: String,
    shipped_text: String,
    delivered_subject: String,
    delivered_text: String,
    /// (subject, text) when shipped and when delivered.
    preview: Option<[(String, String); 2]>,
    problem: Option<String>,
}

impl Emails {
    fn of(e: &Effective) -> Self {
        Self {
            enabled: e.enabled,
            shipped_subject: e.shipped[0].clone(),
            shipped_text: e.shipped[1].clone(),
            delivered_subject: e.delivered[0].clone(),
            delivered_text: e.delivered[1].clone(),
            preview: None,
            problem: None,
        }
    }
}

#[derive(Template)]
#[template(path = "email_preview.html")]
struct PreviewFragment {
    emails: Emails,
}

async fn render(
    ctx: &Ctx,
    status: StatusCode,
    problem: Option<String>,
    af: AddressForm,
    emails: Option<Emails>,
    brand: Option<Brand>,
) -> Response {
    let s = &ctx.web.services;
    let work = async {
        let senders = service::addresses::senders(s, &ctx.principal).await?;
        let format = service::accounts::default_label_file_type(s, &ctx.principal).await?;
        let (_, effective) = notifications::get_settings(s, &ctx.principal).await?;
        let brand = service::branding::get(s, &ctx.principal).await?;
        Ok::<_, service::ServiceError>((senders, format, effective, brand))
    };
    let (senders, label_format, effective, b) = match work.await {
        Ok(w) => w,
        Err(e) => return ctx.failed(e),
    };
    let senders = senders.iter().map(sender_label).collect();
    page(
        status,
        SettingsPage {
            assets: &ctx.web.assets,
            csrf: Some(&ctx.who.csrf),
            c: ctx.chrome("/app/settings"),
            senders,
            problem,
            af,
            label_format,
            formats: service::accounts::label_file_types(),
            emails: emails.unwrap_or_else(|| Emails::of(&effective)),
            brand: brand.unwrap_or(Brand {
                name: b.name,
                color: b.color,
                logo: b
                    .logo
                    .map(|_| service::branding::logo_path(ctx.principal.account_id)),
                problem: None,
            }),
        }
        .render(),
    )
}

/// `GET /app/settings`.
pub(crate) async fn show(ctx: Ctx) -> Response {
    render(
        &ctx,
        StatusCode::OK,
        None,
        AddressForm::empty("s"),
        None,
        None,
    )
    .await
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
                None,
                None,
            )
            .await
        }
        Err(e) => ctx.failed(e),
    }
}

/// `POST /app/settings/senders/{id}/remove`.
pub(crate) async fn remove_sender(Path(id): Path<String>, Posted(ctx, _): Posted) -> Response {
    let Some(id) = crate::id_of(&id) else {
        return ctx.failed(service::ServiceError::NotFound);
    };
    match service::addresses::remove_sender(&ctx.web.services, &ctx.principal, id).await {
        Ok(()) => see_other("/app/settings", None),
        Err(e) => ctx.failed(e),
    }
}

/// `POST /app/settings/labels`: the default label file type.
pub(crate) async fn label_format(Posted(ctx, form): Posted) -> Response {
    let raw = Some(form.get("label_file_type").to_string());
    match service::accounts::set_default_label_file_type(&ctx.web.services, &ctx.principal, raw)
        .await
    {
        Ok(_) => see_other("/app/settings", None),
        Err(service::ServiceError::Validation(v)) => {
            let why = Some(crate::ctx::messages(&v));
            render(
                &ctx,
                StatusCode::UNPROCESSABLE_ENTITY,
                why,
                AddressForm::empty("s"),
                None,
                None,
            )
            .await
        }
        Err(e) => ctx.failed(e),
    }
}

/// The templates a form sent: a field left as the default stays unset (so a later change of
/// the defaults reaches it).
fn entered(form: &crate::ctx::FormData) -> Settings {
    let defaults = Settings::default().effective();
    let field = |name: &str, default: &str| {
        let v: String = form.get(name).chars().take(60_000).collect();
        let v = v.replace("\r\n", "\n");
        (!v.is_empty() && v != default.replace("\r\n", "\n")).then_some(v)
    };
    Settings {
        enabled: Some(form.get("enabled") == "1"),
        shipped_subject: field("shipped_subject", &defaults.shipped[0]),
        shipped_text: field("shipped_text", &defaults.shipped[1]),
        delivered_subject: field("delivered_subject", &defaults.delivered[0]),
        delivered_text: field("delivered_text", &defaults.delivered[1]),
        ..Settings::default()
    }
}

/// The form again as entered.
fn as_entered(settings: &Settings) -> Emails {
    Emails::of(&settings.effective())
}

/// `POST /app/settings/emails`: saves the buyer emails (kept HTML templates stay as they are).
pub(crate) async fn emails(Posted(ctx, form): Posted) -> Response {
    let s = &ctx.web.services;
    let mut settings = entered(&form);
    // The HTML versions are edited through the API; the form keeps them.
    match notifications::get_settings(s, &ctx.principal).await {
        Ok((stored, _)) => {
            settings.shipped_html = stored.shipped_html;
            settings.delivered_html = stored.delivered_html;
        }
        Err(e) => return ctx.failed(e),
    }
    match notifications::put_settings(s, &ctx.principal, settings.clone()).await {
        Ok(_) => see_other("/app/settings#emails", None),
        Err(service::ServiceError::Validation(v)) => {
            let mut emails = as_entered(&settings);
            emails.problem = Some(crate::ctx::messages(&v));
            render(
                &ctx,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                AddressForm::empty("s"),
                Some(emails),
                None,
            )
            .await
        }
        Err(e) => ctx.failed(e),
    }
}

/// `POST /app/settings/emails/preview`: the emails as entered, for a sample parcel, nothing
/// saved (htmx swaps the preview in as you type; without JavaScript, the page again).
pub(crate) async fn preview(Posted(ctx, form): Posted) -> Response {
    let settings = entered(&form);
    let mut emails = as_entered(&settings);
    let url = format!("{}/track/9400111899223197428490", ctx.base);
    let shop = match service::branding::get(&ctx.web.services, &ctx.principal).await {
        Ok(b) => b.name,
        Err(e) => return ctx.failed(e),
    };
    match notifications::preview(&settings, &url, &shop) {
        Ok(p) => emails.preview = Some(p),
        Err(service::ServiceError::Validation(v)) => {
            emails.problem = Some(crate::ctx::messages(&v));
        }
        Err(e) => return ctx.failed(e),
    }
    if ctx.htmx {
        return page(StatusCode::OK, PreviewFragment { emails }.render());
    }
    render(
        &ctx,
        StatusCode::OK,
        None,
        AddressForm::empty("s"),
        Some(emails),
        None,
    )
    .await
}

/// `POST /app/settings/branding` (a form with a file): the name, colour and logo buyers see;
/// refused, the form again with the reasons and what was entered.
pub(crate) async fn branding(Uploaded(ctx, form, file): Uploaded) -> Response {
    let logo = match file.filter(|f| !f.is_empty()) {
        Some(bytes) => service::branding::LogoChange::New(bytes.to_vec()),
        None if form.get("remove_logo") == "1" => service::branding::LogoChange::Remove,
        None => service::branding::LogoChange::Keep,
    };
    let (name, color) = (form.get("name"), form.get("color"));
    match service::branding::set(&ctx.web.services, &ctx.principal, name, color, logo).await {
        Ok(_) => see_other("/app/settings#branding", None),
        Err(service::ServiceError::Validation(v)) => {
            let current = service::branding::get(&ctx.web.services, &ctx.principal).await;
            let brand = Brand {
                name: name.chars().take(100).collect(),
                color: color.chars().take(20).collect(),
                logo: current
                    .ok()
                    .and_then(|b| b.logo)
                    .map(|_| service::branding::logo_path(ctx.principal.account_id)),
                problem: Some(crate::ctx::messages(&v)),
            };
            render(
                &ctx,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                AddressForm::empty("s"),
                None,
                Some(brand),
            )
            .await
        }
        Err(e) => ctx.failed(e),
    }
}
