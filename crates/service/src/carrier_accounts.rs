//! Carrier accounts (seed 002 "Carrier Accounts"): credentials encrypted at rest, never shown in
//! clear; rate cards uploaded per rate-card account, versioned.

use carriers::rate_card::{self, RateCard};
use carriers::registry;
use domain::error::FieldErrors;
use domain::text::check_text;
use domain::{ObjectId, Timestamp, ValidationError};
use serde_json::{Map, Value};
use store::carrier_accounts::{self as repo, CarrierAccountRow, Filter};
use store::{Page, PageRequest, StoreError};

use crate::{Cipher, Principal, ServiceError, Services};

/// Largest `parameters` object accepted, serialised.
pub const PARAMETERS_MAX_BYTES: usize = 16 * 1024;

/// A carrier account with its parameters decrypted (for adapters; mask them before showing).
#[derive(Debug, Clone, PartialEq)]
pub struct CarrierAccount {
    pub id: ObjectId,
    pub created: Timestamp,
    pub updated: Timestamp,
    pub carrier: String,
    pub account_id: String,
    pub parameters: Map<String, Value>,
    pub test: bool,
    pub active: bool,
    pub metadata: String,
}

/// What a create or update sends; `None` = keep (update) or default (create).
#[derive(Debug, Clone, Default)]
pub struct CarrierAccountInput {
    pub carrier: Option<String>,
    pub account_id: Option<String>,
    pub parameters: Option<Value>,
    pub test: Option<bool>,
    pub active: Option<bool>,
    pub metadata: Option<String>,
}

/// The form parameters are shown in: every string or number is replaced by `****` plus, for
/// values of 12 characters or more, their last 4 characters. Booleans and nulls stay.
pub fn mask(parameters: &Map<String, Value>) -> Map<String, Value> {
    parameters
        .iter()
        .map(|(k, v)| (k.clone(), mask_value(v)))
        .collect()
}

fn mask_value(v: &Value) -> Value {
    match v {
        Value::Bool(_) | Value::Null => v.clone(),
        Value::Object(m) => Value::Object(mask(m)),
        Value::Array(a) => Value::Array(a.iter().map(mask_value).collect()),
        Value::String(_) | Value::Number(_) => {
            let s = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let n = s.chars().count();
            if n >= 12 {
                Value::String(format!("****{}", s.chars().skip(n - 4).collect::<String>()))
            } else {
                Value::String("****".into())
            }
        }
    }
}

fn context(owner: ObjectId, id: ObjectId) -> String {
    format!("carrier_account:{owner}:{id}")
}

fn parameters_of(input: Option<Value>, errors: &mut FieldErrors) -> Option<Map<String, Value>> {
    match input {
        None | Some(Value::Null) => Some(Map::new()),
        // Form bodies (the seed's curl example) send the object as a JSON string.
        Some(Value::String(s)) => match serde_json::from_str::<Value>(&s) {
            Ok(Value::Object(m)) => Some(m),
            _ => {
                errors.add("parameters", "Must be a JSON object.");
                None
            }
        },
        Some(Value::Object(m)) => Some(m),
        Some(_) => {
            errors.add("parameters", "Must be a JSON object.");
            None
        }
    }
    .filter(|m| {
        let ok = serde_json::to_string(m)
            .map(|s| s.len() <= PARAMETERS_MAX_BYTES)
            .unwrap_or(false);
        if !ok {
            errors.add(
                "parameters",
                format!("Must be at most {PARAMETERS_MAX_BYTES} bytes of JSON."),
            );
        }
        ok
    })
}

/// The clear parameters of carrier account `id` of `owner`.
pub(crate) fn unseal(
    cipher: &Cipher,
    owner: ObjectId,
    id: ObjectId,
    sealed: &str,
) -> Result<Map<String, Value>, ServiceError> {
    let plain = cipher
        .decrypt(sealed, &context(owner, id))
        .map_err(|e| ServiceError::internal(format!("carrier account {id}: {e}")))?;
    serde_json::from_slice(&plain)
        .map_err(|e| ServiceError::internal(format!("carrier account {id}: {e}")))
}

fn open(
    cipher: &Cipher,
    owner: ObjectId,
    row: CarrierAccountRow,
) -> Result<CarrierAccount, ServiceError> {
    let parameters = unseal(cipher, owner, row.id, &row.parameters_sealed)?;
    Ok(CarrierAccount {
        id: row.id,
        created: row.created,
        updated: row.updated,
        carrier: row.carrier,
        account_id: row.carrier_account_id,
        parameters,
        test: row.test,
        active: row.active,
        metadata: row.metadata,
    })
}

fn seal(cipher: &Cipher, owner: ObjectId, a: &CarrierAccount) -> CarrierAccountRow {
    let json = serde_json::to_vec(&a.parameters).expect("a JSON map serialises");
    CarrierAccountRow {
        id: a.id,
        created: a.created,
        updated: a.updated,
        carrier: a.carrier.clone(),
        carrier_account_id: a.account_id.clone(),
        test: a.test,
        active: a.active,
        metadata: a.metadata.clone(),
        parameters_sealed: cipher.encrypt(&json, &context(owner, a.id)),
    }
}

fn check_account_id(errors: &mut FieldErrors, account_id: &str) {
    if account_id.is_empty() {
        errors.add("account_id", "This field is required.");
    }
    check_text(errors, "account_id", account_id, 100);
}

/// Creates a carrier account; `carrier` must be one Consign knows and `account_id` unique for it.
#[tracing::instrument(skip_all, fields(account = %who.account_id))]
pub async fn create(
    s: &Services,
    who: &Principal,
    input: CarrierAccountInput,
) -> Result<CarrierAccount, ServiceError> {
    let mut errors = FieldErrors::new();
    let carrier = input
        .carrier
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if carrier.is_empty() {
        errors.add("carrier", "This field is required.");
    } else if registry::find(&carrier).is_none() {
        let known: Vec<&str> = registry::all().iter().map(|m| m.id).collect();
        errors.add(
            "carrier",
            format!(
                "\"{carrier}\" is not a carrier Consign supports; use one of {}.",
                known.join(", ")
            ),
        );
    }
    let account_id = input.account_id.unwrap_or_default().trim().to_string();
    check_account_id(&mut errors, &account_id);
    let metadata = input.metadata.unwrap_or_default().trim().to_string();
    check_text(&mut errors, "metadata", &metadata, 100);
    let parameters = parameters_of(input.parameters, &mut errors);
    let test = input.test.unwrap_or(false);
    if let Some(p) = &parameters {
        for (field, message) in registry::check_parameters(&carrier, p, test, s.http.guard()) {
            errors.add(field, message);
        }
    }
    errors.into_result()?;
    let now = Timestamp::now();
    let account = CarrierAccount {
        id: ObjectId::at(now.millis()),
        created: now,
        updated: now,
        carrier,
        account_id,
        parameters: parameters.expect("checked"),
        test,
        active: input.active.unwrap_or(true),
        metadata,
    };
    let row = seal(&s.cipher, who.account_id, &account);
    let owner = who.account_id;
    s.store
        .write(move |conn| Box::pin(async move { repo::insert(conn, owner, &row).await }))
        .await?;
    crate::adapters::forget(s, owner);
    Ok(account)
}

/// One of the principal's carrier accounts.
pub async fn get(
    s: &Services,
    who: &Principal,
    id: ObjectId,
) -> Result<CarrierAccount, ServiceError> {
    let mut conn = s.store.conn().await?;
    let row = repo::get(&mut conn, who.account_id, id).await?;
    open(&s.cipher, who.account_id, row)
}

/// A page of the principal's carrier accounts.
pub async fn list(
    s: &Services,
    who: &Principal,
    filter: Filter,
    page: PageRequest,
) -> Result<Page<CarrierAccount>, ServiceError> {
    let mut conn = s.store.conn().await?;
    let page = repo::list(&mut conn, who.account_id, &filter, page).await?;
    page.try_map(|row| open(&s.cipher, who.account_id, row))
}

/// Updates a carrier account (PUT): given fields replace stored ones. The carrier cannot change.
/// A parameter sent back in its masked form (as a client read it) keeps its stored value, so a
/// read-modify-write never overwrites a credential with `****`.
#[tracing::instrument(skip_all, fields(account = %who.account_id, carrier_account = %id))]
pub async fn update(
    s: &Services,
    who: &Principal,
    id: ObjectId,
    input: CarrierAccountInput,
) -> Result<CarrierAccount, ServiceError> {
    let (cipher, owner, guard) = (s.cipher.clone(), who.account_id, s.http.guard());
    let updated = s
        .store
        .write(move |conn| {
            Box::pin(async move {
                let row = repo::get(conn, owner, id).await?;
                let mut account = match open(&cipher, owner, row) {
                    Ok(a) => a,
                    Err(e) => return Ok(Err(e)),
                };
                if let Err(e) = apply_update(&mut account, input, guard) {
                    return Ok(Err(e.into()));
                }
                repo::update(conn, owner, &seal(&cipher, owner, &account)).await?;
                Ok(Ok(account))
            })
        })
        .await?;
    crate::adapters::forget(s, owner);
    updated
}

fn apply_update(
    account: &mut CarrierAccount,
    input: CarrierAccountInput,
    guard: carriers::http::Guard,
) -> Result<(), ValidationError> {
    let mut errors = FieldErrors::new();
    if let Some(carrier) = input.carrier.map(|c| c.trim().to_ascii_lowercase()) {
        if carrier != account.carrier {
            errors.add(
                "carrier",
                "The carrier of an account cannot change; create a new carrier account instead.",
            );
        }
    }
    if let Some(account_id) = input.account_id {
        account.account_id = account_id.trim().to_string();
        check_account_id(&mut errors, &account.account_id);
    }
    if let Some(metadata) = input.metadata {
        account.metadata = metadata.trim().to_string();
        check_text(&mut errors, "metadata", &account.metadata, 100);
    }
    if input.parameters.is_some() {
        if let Some(mut new) = parameters_of(input.parameters, &mut errors) {
            for (k, v) in new.iter_mut() {
                if let Some(old) = account.parameters.get(k) {
                    if *v == mask_value(old) && v != old {
                        *v = old.clone();
                    }
                }
            }
            account.parameters = new;
        }
    }
    account.test = input.test.unwrap_or(account.test);
    for (field, message) in
        registry::check_parameters(&account.carrier, &account.parameters, account.test, guard)
    {
        errors.add(field, message);
    }
    errors.into_result()?;
    account.active = input.active.unwrap_or(account.active);
    account.updated = Timestamp::now();
    Ok(())
}

/// Inside an open transaction: gives `owner` the demo rate-card carrier account with the demo
/// card as version 1 (first start only).
pub(crate) async fn seed_demo(
    cipher: &Cipher,
    conn: &mut store::Conn,
    owner: ObjectId,
) -> Result<CarrierAccount, StoreError> {
    let now = Timestamp::now();
    let account = CarrierAccount {
        id: ObjectId::at(now.millis()),
        created: now,
        updated: now,
        carrier: registry::demo_carrier().id.to_string(),
        account_id: "demo-courier".into(),
        parameters: Map::new(),
        test: true,
        active: true,
        metadata: "Consign demo courier (seeded on first start)".into(),
    };
    repo::insert(conn, owner, &seal(cipher, owner, &account)).await?;
    repo::add_rate_card(
        conn,
        account.id,
        &rate_card::to_json(&carriers::test_carrier::demo_card()),
    )
    .await?;
    Ok(account)
}

/// Inside an open transaction: gives `owner` the `shippo` test carrier account, so test tokens
/// get rates with no configuration (Shippo's test mode). It is an ordinary carrier account:
/// deactivating it stops its rates; live tokens never use it (it is a test account).
pub(crate) async fn seed_test_carrier(
    cipher: &Cipher,
    conn: &mut store::Conn,
    owner: ObjectId,
) -> Result<(), StoreError> {
    let now = Timestamp::now();
    let account = CarrierAccount {
        id: ObjectId::at(now.millis()),
        created: now,
        updated: now,
        carrier: registry::test_mode_carrier().id.to_string(),
        account_id: "shippo_test".into(),
        parameters: Map::new(),
        test: true,
        active: true,
        metadata: "Shippo test carrier: fixed test-mode rates".into(),
    };
    repo::insert(conn, owner, &seal(cipher, owner, &account)).await
}

/// Gives every account that lacks one the `shippo` test carrier account (accounts created
/// before it existed); run at startup.
pub async fn ensure_test_carriers(s: &Services) -> Result<usize, ServiceError> {
    let cipher = s.cipher.clone();
    Ok(s.store
        .write(move |conn| {
            Box::pin(async move {
                let owners = repo::owners_without(conn, registry::test_mode_carrier().id).await?;
                for owner in &owners {
                    seed_test_carrier(&cipher, conn, *owner).await?;
                }
                Ok(owners.len())
            })
        })
        .await?)
}

/// The rate card a new upload installs, with the version it got.
#[derive(Debug, Clone)]
pub struct InstalledCard {
    pub version: i64,
    pub card: RateCard,
}

/// Installs a new version of a rate-card account's card (parsed and validated by the caller's
/// choice of format). Earlier versions stay for the rates they priced.
pub async fn upload_rate_card(
    s: &Services,
    who: &Principal,
    id: ObjectId,
    card: RateCard,
) -> Result<InstalledCard, ServiceError> {
    let (owner, card_json) = (who.account_id, rate_card::to_json(&card));
    let version = s
        .store
        .write(move |conn| {
            Box::pin(async move {
                let row = repo::get(conn, owner, id).await?;
                let takes_card = registry::find(&row.carrier)
                    .is_some_and(|m| m.can(carriers::Capability::RateCard));
                if !takes_card {
                    let message = format!(
                        "Only {} carrier accounts take a rate card; this one is {}.",
                        registry::demo_carrier().id,
                        row.carrier
                    );
                    return Ok(Err(ServiceError::from(ValidationError::field(
                        "carrier", message,
                    ))));
                }
                repo::add_rate_card(conn, id, &card_json).await.map(Ok)
            })
        })
        .await??;
    crate::adapters::forget(s, owner);
    Ok(InstalledCard { version, card })
}

/// The current rate card of a rate-card account.
pub async fn current_rate_card(
    s: &Services,
    who: &Principal,
    id: ObjectId,
) -> Result<InstalledCard, ServiceError> {
    let mut conn = s.store.conn().await?;
    repo::get(&mut conn, who.account_id, id).await?;
    let (version, json) = repo::current_rate_card(&mut conn, id).await?;
    let card = rate_card::parse_json(&json).map_err(|e| {
        ServiceError::internal(format!(
            "stored rate card {id} v{version} no longer validates: {e}"
        ))
    })?;
    Ok(InstalledCard { version, card })
}

/// The service levels a carrier account offers, `(token, name)`, as its adapter tells them (a
/// rate-card account's are its current card's: none before one is uploaded).
pub async fn service_levels(
    s: &Services,
    who: &Principal,
    account: &CarrierAccount,
) -> Result<Vec<(String, String)>, ServiceError> {
    match crate::adapters::of_account(s, who.account_id, account.id).await {
        Ok(adapter) => Ok(adapter
            .service_levels()
            .into_iter()
            .map(|l| (l.token, l.name))
            .collect()),
        Err(ServiceError::Validation(_)) => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

/// The carriers an account can be made for: `(id, name)`.
pub fn carriers() -> Vec<(&'static str, &'static str)> {
    registry::all().iter().map(|m| (m.id, m.name)).collect()
}

/// Whether accounts of `carrier` take a rate card (and so scan keys: the merchant's courier).
pub fn takes_rate_card(carrier: &str) -> bool {
    registry::find(carrier).is_some_and(|m| m.can(carriers::Capability::RateCard))
}

/// Whether Consign closes out `carrier`'s labels on a manifest.
pub fn makes_manifests(carrier: &str) -> bool {
    registry::find(carrier).is_some_and(|m| m.can(carriers::Capability::Manifests))
}

/// Reads an uploaded rate card: JSON when the file starts with `{`, else Consign's CSV format;
/// errors name what is wrong where.
pub fn read_rate_card(bytes: &[u8]) -> Result<RateCard, ServiceError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| ValidationError::field("file", "The file is not UTF-8 text."))?;
    Ok(if text.trim_start().starts_with('{') {
        rate_card::parse_json(text)?
    } else {
        rate_card::parse_csv(text)?
    })
}

/// What the price simulator asks: from and to (country, state, postal code), one parcel's
/// weight; its size is taken as 1 × 1 × 1 in the card's unit (dimensional weight never counts).
#[derive(Debug, Clone)]
pub struct Simulation {
    pub from: (String, String, String),
    pub to: (String, String, String),
    pub weight: rust_decimal::Decimal,
    pub mass_unit: domain::units::MassUnit,
}

/// Prices one parcel with an account's current rate card: every service's quote with its
/// charge lines (the zone says how it was reached), or why a service cannot carry it.
pub async fn simulate(
    s: &Services,
    who: &Principal,
    id: ObjectId,
    q: Simulation,
) -> Result<carriers::RateResult, ServiceError> {
    let installed = current_rate_card(s, who, id).await?;
    let place = |(country, state, zip): (String, String, String)| carriers::Location {
        country: country.trim().to_ascii_uppercase(),
        state: state.trim().to_ascii_uppercase(),
        zip: zip.trim().to_string(),
        ..carriers::Location::default()
    };
    let one = rust_decimal::Decimal::ONE;
    let spec = carriers::ShipmentSpec {
        from: place(q.from),
        to: place(q.to),
        parcels: vec![carriers::ParcelSpec {
            length: one,
            width: one,
            height: one,
            distance_unit: installed.card.distance_unit,
            weight: q.weight,
            mass_unit: q.mass_unit,
        }],
        ..carriers::ShipmentSpec::default()
    };
    Ok(rate_card::rate_shipment(&installed.card, &spec))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masking_hides_every_credential() {
        let params: Map<String, Value> = serde_json::from_str(r#"{"password": "hunter2", "meter": 118599345, "api_key": "sk_live_1234567890abcd", "sandbox": true, "nested": {"token": "abcdefghijklmnop"}}"#).unwrap();
        let masked = Value::Object(mask(&params));
        assert_eq!(
            masked,
            serde_json::json!({"password": "****", "meter": "****", "api_key": "****abcd", "sandbox": true, "nested": {"token": "****mnop"}})
        );
    }
}
