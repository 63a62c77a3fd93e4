//! Subscriptions: create (the signing secret shown once, kept encrypted), read, update, delete.

use domain::webhook::{Webhook, WebhookEvent};
use domain::{ObjectId, Timestamp, ValidationError};
use rand::RngCore;

use store::webhooks::Stored;
use store::{Page, PageRequest, StoreError};

use crate::{scope, Principal, ServiceError, Services};

/// A subscription as created: the secret is shown this once.
#[derive(Debug, Clone)]
pub struct Created {
    pub webhook: Webhook,
    pub secret: String,
}

/// What a create or update asks for.
#[derive(Debug, Clone, Default)]
pub struct WebhookInput {
    pub url: Option<String>,
    pub event: Option<String>,
    pub active: Option<bool>,
    pub is_test: Option<bool>,
}

fn checked(
    s: &Services,
    input: &WebhookInput,
    current: Option<&Webhook>,
) -> Result<(String, WebhookEvent, bool), ValidationError> {
    let mut errors = domain::FieldErrors::new();
    let url = match input
        .url
        .as_deref()
        .map(str::trim)
        .filter(|u| !u.is_empty())
    {
        Some(u) => match s.webhooks.guard.check(u) {
            Ok(_) => Some(u.to_string()),
            Err(m) => {
                errors.add("url", m);
                None
            }
        },
        None => match current {
            Some(w) => Some(w.url.clone()),
            None => {
                errors.add("url", "This field is required.");
                None
            }
        },
    };
    let event = match input
        .event
        .as_deref()
        .map(str::trim)
        .filter(|e| !e.is_empty())
    {
        Some(e) => match WebhookEvent::parse(e) {
            Some(ev) => Some(ev),
            None => {
                errors.add(
                    "event",
                    format!("Unknown event {e:?}; use transaction_created, transaction_updated, track_updated, batch_created, batch_purchased, order_created, order_updated, order_fulfilled or all."),
                );
                None
            }
        },
        None => match current {
            Some(w) => Some(w.event),
            None => {
                errors.add("event", "This field is required.");
                None
            }
        },
    };
    errors.into_result()?;
    let active = input.active.or(current.map(|w| w.active)).unwrap_or(true);
    Ok((url.expect("checked"), event.expect("checked"), active))
}

/// Creates a subscription in the principal's mode (`is_test`, when given, must match it).
pub async fn create(
    s: &Services,
    who: &Principal,
    input: WebhookInput,
) -> Result<Created, ServiceError> {
    let scope = scope(who);
    let (url, event, active) = checked(s, &input, None)?;
    if input.is_test.is_some_and(|t| t != scope.test) {
        return Err(ValidationError::field(
            "is_test",
            "A test token makes test webhooks and a live token live ones.",
        )
        .into());
    }
    let now = Timestamp::now();
    let mut raw = [0u8; 24];
    rand::thread_rng().fill_bytes(&mut raw);
    let secret = format!("whsec_{}", hex::encode(raw));
    let w = Webhook {
        id: ObjectId::at(now.millis()),
        created: now,
        updated: now,
        is_test: scope.test,
        url,
        event,
        active,
    };
    let stored = Stored {
        webhook: w.clone(),
        secret: s.cipher.encrypt(secret.as_bytes(), &secret_context(w.id)),
    };
    s.store
        .write(move |conn| {
            Box::pin(async move { store::webhooks::insert(conn, scope, &stored).await })
        })
        .await?;
    Ok(Created { webhook: w, secret })
}

pub(super) fn secret_context(id: ObjectId) -> String {
    format!("webhook:{id}")
}

/// One subscription of the principal.
pub async fn get(s: &Services, who: &Principal, id: ObjectId) -> Result<Webhook, ServiceError> {
    Ok(
        store::webhooks::get(&mut *s.store.conn().await?, scope(who), id)
            .await?
            .webhook,
    )
}

/// The principal's subscriptions.
pub async fn list(
    s: &Services,
    who: &Principal,
    req: PageRequest,
) -> Result<Page<Webhook>, ServiceError> {
    Ok(
        store::webhooks::list(&mut *s.store.conn().await?, scope(who), req)
            .await?
            .try_map(|w| Ok::<_, StoreError>(w.webhook))?,
    )
}

/// Changes a subscription's url, event or active flag.
pub async fn update(
    s: &Services,
    who: &Principal,
    id: ObjectId,
    input: WebhookInput,
) -> Result<Webhook, ServiceError> {
    let scope = scope(who);
    let mut w = get(s, who, id).await?;
    let (url, event, active) = checked(s, &input, Some(&w))?;
    w.url = url;
    w.event = event;
    w.active = active;
    w.updated = Timestamp::now();
    let saved = w.clone();
    s.store
        .write(move |conn| {
            Box::pin(async move { store::webhooks::update(conn, scope, &saved).await })
        })
        .await?;
    Ok(w)
}

/// Deletes a subscription; its pending deliveries stop.
pub async fn delete(s: &Services, who: &Principal, id: ObjectId) -> Result<(), ServiceError> {
    let scope = scope(who);
    Ok(s.store
        .write(move |conn| Box::pin(async move { store::webhooks::delete(conn, scope, id).await }))
        .await?)
}
