//! The merchant's parcel templates (Shippo "User Parcel Templates"), and which carrier
//! templates a merchant's account enables.

use domain::parcel_templates::{self, UserParcelTemplate};
use domain::units::{parse_decimal_10_4, DistanceUnit, MassUnit};
use domain::{FieldErrors, ObjectId, Timestamp};
use rust_decimal::Decimal;
use store::{Page, PageRequest};

use crate::{scope, Principal, ServiceError, Services};

/// A template as sent: a carrier template's token (with an optional weight), or its own size.
#[derive(Debug, Clone, Default)]
pub struct TemplateInput {
    pub name: Option<String>,
    pub length: Option<String>,
    pub width: Option<String>,
    pub height: Option<String>,
    pub distance_unit: Option<String>,
    pub weight: Option<String>,
    pub weight_unit: Option<String>,
    pub template: Option<String>,
}

fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

fn positive(errors: &mut FieldErrors, field: &str, raw: Option<&str>) -> Option<String> {
    let Some(raw) = raw else {
        errors.add(field, "This field is required.");
        return None;
    };
    match parse_decimal_10_4(raw) {
        Ok(d) if d > Decimal::ZERO => Some(raw.to_string()),
        Ok(_) => {
            errors.add(field, "Must be greater than zero.");
            None
        }
        Err(e) => {
            errors.add(field, e);
            None
        }
    }
}

/// Checks a template and makes its values (`existing` keeps id and creation time).
fn build(
    who: &Principal,
    input: TemplateInput,
    existing: Option<&UserParcelTemplate>,
) -> Result<UserParcelTemplate, ServiceError> {
    let mut errors = FieldErrors::new();
    let now = Timestamp::now();
    let carrier = match given(&input.template) {
        None => None,
        Some(token) => match parcel_templates::find(token) {
            Some(t) => Some(t),
            None => {
                errors.add(
                    "template",
                    format!("No carrier parcel template \"{token}\"."),
                );
                None
            }
        },
    };
    let (name, length, width, height, unit) = match carrier {
        Some(t) => {
            // A carrier template brings its size; one given beside it is refused (Shippo:
            // "if using a preset carrier template then this field must be empty").
            for (f, v) in [
                ("length", &input.length),
                ("width", &input.width),
                ("height", &input.height),
                ("distance_unit", &input.distance_unit),
            ] {
                if given(v).is_some() && t.has_dimensions() {
                    errors.add(f, "Must be empty with a carrier template.");
                }
            }
            (
                given(&input.name).unwrap_or(t.name).to_string(),
                Some(t.length.to_string()),
                Some(t.width.to_string()),
                Some(t.height.to_string()),
                Some(t.unit),
            )
        }
        None => {
            let name = given(&input.name).unwrap_or_default().to_string();
            if name.is_empty() && input.template.is_none() {
                errors.add("name", "This field is required.");
            }
            let unit = match given(&input.distance_unit) {
                None => {
                    errors.add("distance_unit", "This field is required.");
                    None
                }
                Some(u) => u
                    .parse::<DistanceUnit>()
                    .map_err(|e| errors.add("distance_unit", e))
                    .ok(),
            };
            (
                name,
                positive(&mut errors, "length", given(&input.length)),
                positive(&mut errors, "width", given(&input.width)),
                positive(&mut errors, "height", given(&input.height)),
                unit,
            )
        }
    };
    domain::text::check_text(&mut errors, "name", &name, 100);
    let weight = given(&input.weight).and_then(|w| positive(&mut errors, "weight", Some(w)));
    let weight_unit = match given(&input.weight_unit) {
        None => {
            if weight.is_some() {
                errors.add("weight_unit", "Required with a weight.");
            }
            None
        }
        Some(u) => u
            .parse::<MassUnit>()
            .map_err(|e| errors.add("weight_unit", e))
            .ok(),
    };
    errors.into_result()?;
    Ok(UserParcelTemplate {
        id: existing.map_or_else(|| ObjectId::at(now.millis()), |e| e.id),
        created: existing.map_or(now, |e| e.created),
        updated: now,
        test: who.mode.is_test(),
        name,
        length: length.expect("checked"),
        width: width.expect("checked"),
        height: height.expect("checked"),
        distance_unit: unit.expect("checked"),
        weight,
        weight_unit,
        template: carrier.map(|t| t.token.to_string()),
    })
}

/// Saves a new template.
pub async fn create(
    s: &Services,
    who: &Principal,
    input: TemplateInput,
) -> Result<UserParcelTemplate, ServiceError> {
    let t = build(who, input, None)?;
    let scope = scope(who);
    let stored = t.clone();
    s.store
        .write(move |conn| {
            Box::pin(async move { store::user_templates::insert(conn, scope, &stored).await })
        })
        .await?;
    Ok(t)
}

/// One of the principal's templates.
pub async fn get(
    s: &Services,
    who: &Principal,
    id: ObjectId,
) -> Result<UserParcelTemplate, ServiceError> {
    Ok(store::user_templates::get(&mut *s.store.conn().await?, scope(who), id).await?)
}

/// The principal's templates, newest first.
pub async fn list(
    s: &Services,
    who: &Principal,
    page: PageRequest,
) -> Result<Page<UserParcelTemplate>, ServiceError> {
    Ok(store::user_templates::list(&mut *s.store.conn().await?, scope(who), page).await?)
}

/// Replaces a template's values.
pub async fn update(
    s: &Services,
    who: &Principal,
    id: ObjectId,
    input: TemplateInput,
) -> Result<UserParcelTemplate, ServiceError> {
    let old = get(s, who, id).await?;
    let t = build(who, input, Some(&old))?;
    let scope = scope(who);
    let stored = t.clone();
    s.store
        .write(move |conn| {
            Box::pin(async move { store::user_templates::update(conn, scope, &stored).await })
        })
        .await?;
    Ok(t)
}

/// Deletes a template.
pub async fn delete(s: &Services, who: &Principal, id: ObjectId) -> Result<(), ServiceError> {
    let scope = scope(who);
    s.store
        .write(move |conn| {
            Box::pin(async move { store::user_templates::delete(conn, scope, id).await })
        })
        .await?;
    Ok(())
}

/// Which carrier templates `GET /parcel-templates` lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Include {
    /// Every carrier's.
    All,
    /// Those the account's own templates are based on.
    User,
    /// Those of carriers the account has an active account with (an upstream provider or the
    /// test carrier, which sell many carriers' labels, enable them all).
    Enabled,
}

/// The carrier templates `include` selects, optionally for one carrier.
pub async fn carrier_templates(
    s: &Services,
    who: &Principal,
    include: Include,
    carrier: Option<&str>,
) -> Result<Vec<&'static parcel_templates::ParcelTemplate>, ServiceError> {
    let of_carrier = |t: &&parcel_templates::ParcelTemplate| carrier.is_none_or(|c| t.carrier == c);
    let all = parcel_templates::TEMPLATES.iter().filter(of_carrier);
    Ok(match include {
        Include::All => all.collect(),
        Include::User => {
            let mine = list(
                s,
                who,
                PageRequest {
                    page: 1,
                    results: domain::page::MAX_RESULTS,
                },
            )
            .await?;
            let tokens: Vec<String> = mine.items.into_iter().filter_map(|t| t.template).collect();
            all.filter(|t| tokens.iter().any(|k| k == t.token))
                .collect()
        }
        Include::Enabled => {
            let mut conn = s.store.lazy_conn();
            let accounts = crate::adapters::of_owner(s, &mut conn, who.account_id).await?;
            let test = who.mode.is_test();
            let carriers: Vec<String> = accounts
                .iter()
                .filter(|a| a.account.active && a.account.test == test)
                .map(|a| a.account.carrier.clone())
                .collect();
            let resellers = carriers.iter().any(|c| carriers::registry::sells_many(c));
            all.filter(|t| resellers || carriers.iter().any(|c| c == t.carrier))
                .collect()
        }
    })
}
