//! Carrier accounts: credentials entered once and shown masked; a rate-card account's card
//! uploaded with a preview of what it holds, then installed, and a price simulator that says
//! how a price is reached; the scan keys a courier's scanners post with.

use askama::Template;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::Response;
use domain::ObjectId;
use serde::Deserialize;
use serde_json::{Map, Value};
use service::carrier_accounts::{self as accounts, CarrierAccount, CarrierAccountInput};
use service::{RateCard, RateResult, ServiceError};

use crate::ctx::{Chrome, Ctx, FormData, Posted, Uploaded};
use crate::{id_of, page, see_other};

/// Credential rows a form offers beyond the ones an account has.
const NEW_ROWS: usize = 3;

#[derive(Template)]
#[template(path = "carriers.html")]
struct CarriersPage<'a> {
    assets: &'a crate::Assets,
    csrf: Option<&'a str>,
    c: Chrome<'a>,
    accounts: Vec<AccountRow>,
    carriers: Vec<(&'static str, &'static str)>,
    rows: Vec<usize>,
    problem: Option<String>,
}

struct AccountRow {
    id: String,
    carrier: String,
    account_id: String,
    test: bool,
    active: bool,
}

fn row(a: &CarrierAccount) -> AccountRow {
    AccountRow {
        id: a.id.to_string(),
        carrier: a.carrier.clone(),
        account_id: a.account_id.clone(),
        test: a.test,
        active: a.active,
    }
}

async fn list_page(ctx: &Ctx, status: StatusCode, problem: Option<String>) -> Response {
    let req = domain::page::PageRequest {
        page: 1,
        results: domain::page::MAX_RESULTS,
    };
    let list =
        match accounts::list(&ctx.web.services, &ctx.principal, Default::default(), req).await {
            Ok(p) => p.items,
            Err(e) => return ctx.failed(e),
        };
    page(
        status,
        CarriersPage {
            assets: &ctx.web.assets,
            csrf: Some(&ctx.who.csrf),
            c: ctx.chrome("/app/carriers"),
            accounts: list.iter().map(row).collect(),
            carriers: accounts::carriers(),
            rows: (0..NEW_ROWS).collect(),
            problem,
        }
        .render(),
    )
}

/// `GET /app/carriers`.
pub(crate) async fn list(ctx: Ctx) -> Response {
    list_page(&ctx, StatusCode::OK, None).await
}

/// The credentials of a form: rows `param.N` (name) and `value.N`; a row without a value keeps
/// the stored one (sent back masked, which the service reads as "keep").
fn parameters_of(form: &FormData, stored: &Map<String, Value>) -> Map<String, Value> {
    let masked = accounts::mask(stored);
    let mut out = Map::new();
    for i in 0..stored.len() + NEW_ROWS {
        let name: String = form.get(&format!("param.{i}")).chars().take(100).collect();
        if name.is_empty() {
            continue;
        }
        let value: String = form.get(&format!("value.{i}")).chars().take(4000).collect();
        if !value.is_empty() {
            out.insert(name, Value::String(value));
        } else if let Some(v) = masked.get(&name) {
            out.insert(name, v.clone());
        }
    }
    out
}

/// `POST /app/carriers`: a new carrier account.
pub(crate) async fn create(Posted(ctx, form): Posted) -> Response {
    let input = CarrierAccountInput {
        carrier: Some(form.get("carrier").into()),
        account_id: Some(form.get("account_id").chars().take(200).collect()),
        parameters: Some(Value::Object(parameters_of(&form, &Map::new()))),
        test: Some(form.get("test") == "1"),
        active: Some(true),
        metadata: None,
    };
    match accounts::create(&ctx.web.services, &ctx.principal, input).await {
        Ok(a) => see_other(&format!("/app/carriers/{}", a.id), None),
        Err(ServiceError::Validation(v)) => {
            list_page(
                &ctx,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(crate::ctx::messages(&v)),
            )
            .await
        }
        Err(e) => ctx.failed(e),
    }
}

#[derive(Template)]
#[template(path = "carrier.html")]
struct CarrierPage<'a> {
    assets: &'a crate::Assets,
    csrf: Option<&'a str>,
    c: Chrome<'a>,
    a: AccountRow,
    /// `(name, masked value)`.
    parameters: Vec<(String, String)>,
    new_rows: Vec<usize>,
    takes_card: bool,
    /// The installed card and its version.
    card: Option<(i64, CardView)>,
    /// A card uploaded and previewed, not yet installed: the kept file and what it holds.
    upload: String,
    preview: Option<CardView>,
    installed: bool,
    sim: SimQuery,
    result: Option<RateResult>,
    units: Vec<&'static str>,
    keys: Vec<KeyRow>,
    made_key: Option<String>,
    again: bool,
    form_key: String,
    problem: Option<String>,
}

/// What a rate card holds, as its preview shows it.
struct CardView {
    name: String,
    currency: String,
    units: String,
    /// `(token, name, transit days, zones priced)`.
    services: Vec<(String, String, String, usize)>,
    /// `(id, name)`.
    zones: Vec<(String, String)>,
    surcharges: Vec<String>,
}

fn card_view(card: &RateCard) -> CardView {
    CardView {
        name: card.name.clone(),
        currency: card.currency.clone(),
        units: format!(
            "{}, {}",
            card.mass_unit.as_str(),
            card.distance_unit.as_str()
        ),
        services: card
            .services
            .iter()
            .map(|s| {
                (
                    s.token.clone(),
                    s.name.clone(),
                    s.transit_days.map(|d| d.to_string()).unwrap_or_default(),
                    s.prices.len(),
                )
            })
            .collect(),
        zones: card
            .zones
            .iter()
            .map(|z| (z.id.clone(), z.name.clone()))
            .collect(),
        surcharges: card.surcharges.iter().map(|s| s.code.clone()).collect(),
    }
}

struct KeyRow {
    id: String,
    prefix: String,
    created: String,
    revoked: bool,
}

/// The simulator's question (a GET form: asking changes nothing).
#[derive(Debug, Default, Clone, Deserialize)]
pub(crate) struct SimQuery {
    #[serde(default)]
    from_country: String,
    #[serde(default)]
    from_state: String,
    #[serde(default)]
    from_zip: String,
    #[serde(default)]
    to_country: String,
    #[serde(default)]
    to_state: String,
    #[serde(default)]
    to_zip: String,
    #[serde(default)]
    weight: String,
    #[serde(default)]
    unit: String,
}

/// What a step of the account page adds to it.
#[derive(Default)]
struct Step {
    status: Option<StatusCode>,
    problem: Option<String>,
    upload: String,
    preview: Option<CardView>,
    installed: bool,
    made_key: Option<String>,
    again: bool,
    sim: SimQuery,
}

async fn account_page(ctx: &Ctx, id: ObjectId, mut step: Step) -> Response {
    let s = &ctx.web.services;
    let a = match accounts::get(s, &ctx.principal, id).await {
        Ok(a) => a,
        Err(e) => return ctx.failed(e),
    };
    let takes_card = accounts::takes_rate_card(&a.carrier);
    let (card, keys) = if takes_card {
        let card = match accounts::current_rate_card(s, &ctx.principal, id).await {
            Ok(c) => Some((c.version, card_view(&c.card))),
            Err(ServiceError::NotFound) => None,
            Err(e) => return ctx.failed(e),
        };
        let keys = match service::scan_keys::list(s, &ctx.principal, id).await {
            Ok(k) => k,
            Err(e) => return ctx.failed(e),
        };
        (card, keys)
    } else {
        (None, Vec::new())
    };
    // The simulator, when asked.
    let mut result = None;
    if card.is_some() && !step.sim.weight.is_empty() {
        let q = &step.sim;
        match (
            q.weight.trim().parse::<rust_decimal::Decimal>(),
            q.unit.parse::<domain::units::MassUnit>(),
        ) {
            (Ok(weight), Ok(mass_unit)) if weight > rust_decimal::Decimal::ZERO => {
                let sim = accounts::Simulation {
                    from: (
                        q.from_country.clone(),
                        q.from_state.clone(),
                        q.from_zip.clone(),
                    ),
                    to: (q.to_country.clone(), q.to_state.clone(), q.to_zip.clone()),
                    weight,
                    mass_unit,
                };
                match accounts::simulate(s, &ctx.principal, id, sim).await {
                    Ok(r) => result = Some(r),
                    Err(e) => return ctx.failed(e),
                }
            }
            _ => {
                step.problem = Some(
                    "The simulator needs a positive weight (e.g. 2.5) in g, oz, lb or kg.".into(),
                );
                step.status = Some(StatusCode::UNPROCESSABLE_ENTITY);
            }
        }
    }
    let masked = accounts::mask(&a.parameters);
    page(
        step.status.unwrap_or(StatusCode::OK),
        CarrierPage {
            assets: &ctx.web.assets,
            csrf: Some(&ctx.who.csrf),
            c: ctx.chrome("/app/carriers"),
            parameters: masked
                .iter()
                .map(|(k, v)| {
                    let shown = match v {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    (k.clone(), shown)
                })
                .collect(),
            new_rows: (masked.len()..masked.len() + NEW_ROWS).collect(),
            a: row(&a),
            takes_card,
            card,
            upload: step.upload,
            preview: step.preview,
            installed: step.installed,
            sim: step.sim,
            result,
            units: domain::units::MassUnit::ALL
                .iter()
                .map(|u| u.as_str())
                .collect(),
            keys: keys
                .iter()
                .map(|k| KeyRow {
                    id: k.id.to_string(),
                    prefix: k.prefix.clone(),
                    created: k.created.to_string().chars().take(10).collect(),
                    revoked: k.revoked.is_some(),
                })
                .collect(),
            made_key: step.made_key,
            again: step.again,
            form_key: ObjectId::new().to_string(),
            problem: step.problem,
        }
        .render(),
    )
}

/// `GET /app/carriers/{id}` (with the simulator's question, when asked).
pub(crate) async fn show(ctx: Ctx, Path(id): Path<String>, q: Query<SimQuery>) -> Response {
    let Some(id) = id_of(&id) else {
        return ctx.failed(ServiceError::NotFound);
    };
    let step = Step {
        sim: q.0,
        ..Step::default()
    };
    account_page(&ctx, id, step).await
}

/// The page again with why a step was refused, else the error.
async fn refused(ctx: &Ctx, id: ObjectId, mut step: Step, e: ServiceError) -> Response {
    match e {
        ServiceError::Validation(v) => {
            step.problem = Some(crate::ctx::messages(&v));
            step.status = Some(StatusCode::UNPROCESSABLE_ENTITY);
            account_page(ctx, id, step).await
        }
        e => ctx.failed(e),
    }
}

/// `POST /app/carriers/{id}/credentials`: credentials replaced (an empty value keeps the
/// stored one), the account switched on or off.
pub(crate) async fn credentials(Path(id): Path<String>, Posted(ctx, form): Posted) -> Response {
    let Some(id) = id_of(&id) else {
        return ctx.failed(ServiceError::NotFound);
    };
    let s = &ctx.web.services;
    let a = match accounts::get(s, &ctx.principal, id).await {
        Ok(a) => a,
        Err(e) => return ctx.failed(e),
    };
    let input = CarrierAccountInput {
        parameters: Some(Value::Object(parameters_of(&form, &a.parameters))),
        active: Some(form.get("active") == "1"),
        ..CarrierAccountInput::default()
    };
    match accounts::update(s, &ctx.principal, id, input).await {
        Ok(_) => see_other(&format!("/app/carriers/{id}"), None),
        Err(e) => refused(&ctx, id, Step::default(), e).await,
    }
}

/// `POST /app/carriers/{id}/rate-card`: a card previewed (`action=preview`: what it holds,
/// nothing installed) or installed (`action=install`, the file kept from the preview).
pub(crate) async fn rate_card(
    Path(id): Path<String>,
    Uploaded(ctx, form, file): Uploaded,
) -> Response {
    let Some(id) = id_of(&id) else {
        return ctx.failed(ServiceError::NotFound);
    };
    let s = &ctx.web.services;
    if let Err(e) = accounts::get(s, &ctx.principal, id).await {
        return ctx.failed(e);
    }
    let mut step = Step::default();
    let (bytes, upload) = match crate::uploads::file_of(&ctx, &form, file).await {
        Ok(f) => f,
        Err(why) => {
            step.problem = Some(why);
            step.status = Some(StatusCode::UNPROCESSABLE_ENTITY);
            return account_page(&ctx, id, step).await;
        }
    };
    let card = match accounts::read_rate_card(&bytes) {
        Ok(c) => c,
        Err(e) => return refused(&ctx, id, step, e).await,
    };
    if form.get("action") != "install" {
        step.upload = upload.to_string();
        step.preview = Some(card_view(&card));
        return account_page(&ctx, id, step).await;
    }
    match accounts::upload_rate_card(s, &ctx.principal, id, card).await {
        Ok(_) => {
            let _ = service::uploads::discard(s, &ctx.principal, upload).await;
            step.installed = true;
            account_page(&ctx, id, step).await
        }
        Err(e) => refused(&ctx, id, step, e).await,
    }
}

/// `POST /app/carriers/{id}/scan-keys`: a scan key for the courier, shown once.
pub(crate) async fn make_key(Path(id): Path<String>, Posted(ctx, form): Posted) -> Response {
    let Some(id) = id_of(&id) else {
        return ctx.failed(ServiceError::NotFound);
    };
    let key: String = form.get("key").chars().take(64).collect();
    if !ctx.web.first_use(&key) {
        let step = Step {
            again: true,
            ..Step::default()
        };
        return account_page(&ctx, id, step).await;
    }
    match service::scan_keys::create(&ctx.web.services, &ctx.principal, id).await {
        Ok((_, secret)) => {
            let step = Step {
                made_key: Some(secret),
                ..Step::default()
            };
            account_page(&ctx, id, step).await
        }
        Err(e) => refused(&ctx, id, Step::default(), e).await,
    }
}

/// `POST /app/carriers/{id}/scan-keys/revoke`: the key `key_id` of this account.
pub(crate) async fn revoke_key(Path(id): Path<String>, Posted(ctx, form): Posted) -> Response {
    let Some(id) = id_of(&id) else {
        return ctx.failed(ServiceError::NotFound);
    };
    let s = &ctx.web.services;
    let keys = match service::scan_keys::list(s, &ctx.principal, id).await {
        Ok(k) => k,
        Err(e) => return ctx.failed(e),
    };
    let Some(key) = id_of(form.get("key_id")).filter(|k| keys.iter().any(|x| x.id == *k)) else {
        return ctx.failed(ServiceError::NotFound);
    };
    match service::scan_keys::revoke(s, &ctx.principal, key).await {
        Ok(()) => see_other(&format!("/app/carriers/{id}"), None),
        Err(e) => ctx.failed(e),
    }
}
