//! Crowdfunding fulfilment (seed 000): projects, their keys and provider link (here), backer
//! imports (`backers`), tracking reported by the creator, by providers or by Consign's own
//! labels with the one dispatch email per backer (`tracking`), the push into the creator's
//! provider account (`sync`) and the signed events it sends back (`inbound`).
//!
//! Providers are reached through `integrations::providers` by the project's kind: nothing here
//! knows which provider a project uses.

pub mod backers;
pub mod inbound;
pub mod sync;
pub mod tracking;

/// The providers a project can be linked to.
pub use integrations::providers::KINDS as PROVIDER_KINDS;

use domain::address::AddressInput;
use domain::crowdfunding::{Project, ProviderLink, RewardWeight};
use domain::text::check_text;
use domain::{FieldErrors, ObjectId, Timestamp};
use rand::RngCore;
use store::projects::{KeyInfo, PledgeCounts, StoredProject};
use store::StoreError;

use crate::{addresses, scope, Principal, ServiceError, Services};

/// A project with what its page shows.
#[derive(Debug, Clone)]
pub struct ProjectView {
    pub project: Project,
    pub counts: PledgeCounts,
    pub keys: Vec<KeyInfo>,
}

/// What a new project or a change of one gives.
#[derive(Debug, Clone, Default)]
pub struct ProjectInput {
    pub name: Option<String>,
    /// `Some(None)` unlocks.
    pub addresses_locked_at: Option<Option<Timestamp>>,
    pub reward_weight: Option<Option<RewardWeight>>,
    /// What the wire layer found wrong.
    pub errors: FieldErrors,
}

/// The provider link a creator sets.
#[derive(Debug, Clone)]
pub struct ProviderInput {
    pub kind: String,
    pub api_key: String,
    pub webhook_secret: Option<String>,
    pub base_url: Option<String>,
    pub return_address: Option<crate::orders::AddressOrId>,
    pub errors: FieldErrors,
}

fn check_name(name: &str, errors: &mut FieldErrors) {
    if name.trim().is_empty() {
        errors.add("name", "This field is required.");
    }
    check_text(errors, "name", name, 200);
}

/// Creates a project.
pub async fn create(
    s: &Services,
    who: &Principal,
    input: ProjectInput,
) -> Result<Project, ServiceError> {
    let mut errors = input.errors;
    let name = input.name.unwrap_or_default();
    check_name(&name, &mut errors);
    errors.into_result()?;
    let now = Timestamp::now();
    let p = Project {
        id: ObjectId::at(now.millis()),
        test: who.mode.is_test(),
        created: now,
        updated: now,
        name: name.trim().to_string(),
        addresses_locked_at: input.addresses_locked_at.flatten(),
        has_keys: false,
        provider: None,
        reward_weight: input.reward_weight.flatten(),
    };
    let (scope, row) = (scope(who), p.clone());
    s.store
        .write(move |conn| {
            Box::pin(async move { store::projects::insert(conn, scope, &row).await })
        })
        .await?;
    Ok(p)
}

/// One of the principal's projects with its counts and keys.
pub async fn get(s: &Services, who: &Principal, id: ObjectId) -> Result<ProjectView, ServiceError> {
    let mut conn = s.store.conn().await?;
    let p = store::projects::get(&mut conn, scope(who), id).await?;
    Ok(ProjectView {
        counts: store::projects::counts(&mut conn, id).await?,
        keys: store::projects::keys(&mut conn, id).await?,
        project: p.project,
    })
}

/// The principal's projects, newest first.
pub async fn list(s: &Services, who: &Principal) -> Result<Vec<Project>, ServiceError> {
    let mut conn = s.store.conn().await?;
    Ok(store::projects::list(&mut conn, scope(who))
        .await?
        .into_iter()
        .map(|p| p.project)
        .collect())
}

/// Changes a project's name, address lock or reward weight.
pub async fn update(
    s: &Services,
    who: &Principal,
    id: ObjectId,
    input: ProjectInput,
) -> Result<Project, ServiceError> {
    let mut errors = input.errors;
    if let Some(n) = &input.name {
        check_name(n, &mut errors);
    }
    errors.into_result()?;
    let scope = scope(who);
    Ok(s.store
        .write(move |conn| {
            Box::pin(async move {
                let mut p = store::projects::get(conn, scope, id).await?;
                if let Some(n) = input.name {
                    p.project.name = n.trim().to_string();
                }
                if let Some(l) = input.addresses_locked_at {
                    p.project.addresses_locked_at = l;
                }
                if let Some(w) = input.reward_weight {
                    p.project.reward_weight = w;
                }
                p.project.updated = Timestamp::now();
                store::projects::update(conn, &p).await?;
                Ok(p.project)
            })
        })
        .await?)
}

/// The cipher context of a project's secrets (a value moved to another row does not decrypt).
fn secret_context(project: ObjectId, what: &str) -> String {
    format!("project:{project}:{what}")
}

/// Links the project to the creator's provider account: kind, API key (encrypted, never shown
/// again), webhook secret (encrypted) and return address.
pub async fn connect_provider(
    s: &Services,
    who: &Principal,
    id: ObjectId,
    input: ProviderInput,
) -> Result<Project, ServiceError> {
    let mut errors = input.errors;
    let kind = input.kind.trim().to_ascii_lowercase();
    if !integrations::providers::KINDS.contains(&kind.as_str()) {
        errors.add(
            "provider",
            format!(
                "\"{}\" is not a provider Consign syncs with; use one of {}.",
                input.kind,
                integrations::providers::KINDS.join(", ")
            ),
        );
    }
    if input.api_key.trim().is_empty() {
        errors.add("api_key", "This field is required.");
    }
    check_text(&mut errors, "api_key", &input.api_key, 500);
    if let Some(w) = &input.webhook_secret {
        if w.is_empty() {
            errors.add(
                "webhook_secret",
                "Leave it out, or give the secret set at the provider.",
            );
        }
        check_text(&mut errors, "webhook_secret", w, 500);
    }
    if let Some(b) = &input.base_url {
        if let Err(e) = carriers::http::check_base(b, s.http.guard()) {
            errors.add("base_url", e);
        }
    }
    let scope = scope(who);
    let mut conn = s.store.conn().await?;
    let mut stored = store::projects::get(&mut conn, scope, id).await?;
    let (address, fresh) = match input.return_address {
        None => match stored.project.provider.as_ref() {
            Some(l) => (Some(l.return_address), None),
            None => {
                errors.add("return_address", "This field is required.");
                (None, None)
            }
        },
        Some(crate::orders::AddressOrId::Id(raw)) => {
            let found = match ObjectId::parse(raw.trim()) {
                Some(a) => store::addresses::get(&mut conn, scope, a).await.ok(),
                None => None,
            };
            if found.is_none() {
                errors.add("return_address", format!("No address with id \"{raw}\"."));
            }
            (found.map(|a| a.id), None)
        }
        Some(crate::orders::AddressOrId::New(input)) => {
            let input: AddressInput = *input;
            match addresses::build(s, who, input).await {
                Ok(a) => (Some(a.id), Some(a)),
                Err(ServiceError::Validation(e)) => {
                    errors.absorb(e.prefixed("return_address"));
                    (None, None)
                }
                Err(e) => return Err(e),
            }
        }
    };
    drop(conn);
    errors.into_result()?;
    stored.provider_key = Some(s.cipher.encrypt(
        input.api_key.trim().as_bytes(),
        &secret_context(id, "provider_key"),
    ));
    if let Some(w) = &input.webhook_secret {
        stored.webhook_secret = Some(
            s.cipher
                .encrypt(w.as_bytes(), &secret_context(id, "webhook_secret")),
        );
    }
    stored.project.provider = Some(ProviderLink {
        kind,
        base_url: input.base_url.map(|b| b.trim_end_matches('/').to_string()),
        return_address: address.expect("checked"),
        has_webhook_secret: stored.webhook_secret.is_some(),
    });
    stored.project.updated = Timestamp::now();
    let out = stored.project.clone();
    s.store
        .write(move |conn| {
            Box::pin(async move {
                if let Some(a) = fresh {
                    store::addresses::insert_many(conn, scope, std::slice::from_ref(&a)).await?;
                }
                store::projects::update(conn, &stored).await
            })
        })
        .await?;
    Ok(out)
}

/// A decrypted project secret (`provider_key`, `webhook_secret`).
fn secret(s: &Services, p: &StoredProject, what: &str) -> Result<Option<String>, ServiceError> {
    let stored = match what {
        "provider_key" => &p.provider_key,
        _ => &p.webhook_secret,
    };
    stored
        .as_deref()
        .map(|v| {
            s.cipher
                .decrypt(v, &secret_context(p.project.id, what))
                .map_err(|e| ServiceError::internal(format!("project {what}: {e}")))
                .and_then(|b| {
                    String::from_utf8(b)
                        .map_err(|_| ServiceError::internal("project secret is not UTF-8"))
                })
        })
        .transpose()
}

/// Generates a project key (revoking the others when `rotate`); the clear key is returned
/// once and only its SHA-256 is stored.
pub async fn create_key(
    s: &Services,
    who: &Principal,
    id: ObjectId,
    rotate: bool,
) -> Result<(KeyInfo, String), ServiceError> {
    let mut secret = [0u8; 24];
    rand::thread_rng().fill_bytes(&mut secret);
    let key = format!("cpk_{}", hex::encode(secret));
    let info = KeyInfo {
        id: ObjectId::new(),
        prefix: key[..12].to_string(),
        created: Timestamp::now(),
        revoked: None,
    };
    let hash = store::accounts::hash_token(&key);
    let (scope, row) = (scope(who), info.clone());
    s.store
        .write(move |conn| {
            Box::pin(async move {
                store::projects::get(conn, scope, id).await?;
                if rotate {
                    store::projects::revoke_keys(conn, id, None, row.created).await?;
                }
                store::projects::insert_key(conn, id, &row, &hash).await
            })
        })
        .await?;
    Ok((info, key))
}

/// Revokes one key (or all): how many were live.
pub async fn revoke_keys(
    s: &Services,
    who: &Principal,
    id: ObjectId,
    key: Option<ObjectId>,
) -> Result<u64, ServiceError> {
    let scope = scope(who);
    let n = s
        .store
        .write(move |conn| {
            Box::pin(async move {
                store::projects::get(conn, scope, id).await?;
                store::projects::revoke_keys(conn, id, key, Timestamp::now()).await
            })
        })
        .await?;
    if key.is_some() && n == 0 {
        return Err(ServiceError::NotFound);
    }
    Ok(n)
}

/// Why a project-key request is refused: the seed's error table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// 400: a missing or invalid parameter, named.
    Invalid { param: String, message: String },
    /// 401: no key, or one that opens nothing.
    BadKey,
    /// 403: the project has never had a key.
    NoKeyYet,
    /// 404: the project or order.
    NotFound(&'static str),
    /// Anything else (the database is down, …).
    Failed(String),
}

impl From<ServiceError> for Refusal {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::NotFound => Refusal::NotFound("Order"),
            ServiceError::Validation(v) => {
                let (param, message) =
                    v.0.iter()
                        .next()
                        .map(|(f, m)| (f.to_string(), m.join(" ")))
                        .unwrap_or_default();
                Refusal::Invalid { param, message }
            }
            other => Refusal::Failed(other.to_string()),
        }
    }
}

impl From<StoreError> for Refusal {
    fn from(e: StoreError) -> Self {
        ServiceError::from(e).into()
    }
}

/// The project a bearer key opens, checked against the project the request names
/// (`project`, when it names one): the seed's 401 / 403 / 404 in that order of evidence.
pub async fn authorize(
    s: &Services,
    key: Option<&str>,
    project: Option<ObjectId>,
) -> Result<StoredProject, Refusal> {
    let mut conn = s.store.conn().await.map_err(ServiceError::from)?;
    let opened = match key {
        Some(k) if !k.is_empty() => {
            store::projects::project_of_key(&mut conn, &store::accounts::hash_token(k)).await?
        }
        _ => None,
    };
    match opened {
        Some(id) => {
            if project.is_some_and(|p| p != id) {
                // A key opens its own project only; another's is as good as absent.
                return Err(Refusal::NotFound("Project"));
            }
            Ok(store::projects::find(&mut conn, id).await?)
        }
        None => match project {
            Some(p) => match store::projects::find(&mut conn, p).await {
                Ok(found) if !found.project.has_keys => Err(Refusal::NoKeyYet),
                Ok(_) => Err(Refusal::BadKey),
                Err(StoreError::NotFound) if key.is_some() => Err(Refusal::BadKey),
                Err(StoreError::NotFound) => Err(Refusal::BadKey),
                Err(e) => Err(e.into()),
            },
            None => Err(Refusal::BadKey),
        },
    }
}

/// The project an order belongs to, when it is a pledge's (for the seed's 403 on keyless
/// requests).
pub async fn project_of_order(s: &Services, order: ObjectId) -> Option<ObjectId> {
    let mut conn = s.store.conn().await.ok()?;
    store::projects::pledge_of_order(&mut conn, order, false)
        .await
        .ok()
        .flatten()
        .map(|p| p.pledge.project)
}

pub use store::projects::{ProjectEvent, ShippingOrder, Sync};

/// The custom API's order list of a project: shippable pledges in import order (`pending`:
/// those without a shipped or delivered record), `limit` from `offset`, and how many match.
pub async fn shipping_orders(
    s: &Services,
    project: &StoredProject,
    pending: bool,
    limit: Option<i64>,
    offset: i64,
) -> Result<(i64, Vec<ShippingOrder>), ServiceError> {
    let mut conn = s.store.conn().await?;
    Ok(
        store::projects::shipping_orders(&mut conn, project.project.id, pending, limit, offset)
            .await?,
    )
}
