//! Buying labels (seed 002 "Transactions").
//!
//! A rate is bought at most once. The transaction row has a unique index on its rate and on the
//! account's `Idempotency-Key`, so two concurrent purchases of one rate (or two retries of one
//! request) end with one label: the loser finds the winner's transaction and answers it.
//!
//! `async: false` makes the label before answering and stores the transaction as SUCCESS in one
//! write (files first: a row never points at a missing file). `async: true` stores it as QUEUED
//! together with a `buy_label` job in one write; the job worker makes the label.

use documents::LabelFormat;
use domain::address::Purpose;
use domain::customs::CustomsItem;
use domain::shipment::Rate;
use domain::transaction::{Transaction, TransactionStatus};
use domain::webhook::WebhookEvent;
use domain::{ObjectId, Timestamp, ValidationError};
use store::jobs::{Claim, NewJob};

use crate::jobs::Job;
use store::transactions::{self as repo, TransactionFilter};
use store::{Conn, Page, PageRequest, Scope, StoreError};

use crate::labels::{self, Sources};
use crate::orders::{fulfil, OrderLink};
use crate::rating::{note, CONSIGN};
use crate::shipments::{self, CreateShipment, ShipmentView};
use crate::{scope, webhooks, Principal, ServiceError, Services};

/// A rate can be bought for this long after it was priced (seed 002: 7 days).
pub const RATE_VALID_MS: i64 = 7 * 24 * 3600 * 1000;
/// Longest `metadata` (seed 002: 100 characters).
pub const METADATA_MAX: usize = 100;
/// Longest `Idempotency-Key`.
pub const IDEMPOTENCY_KEY_MAX: usize = 255;

/// What every purchase may say about its label, read and checked by the wire layer.
#[derive(Debug, Clone, Default)]
pub struct LabelOptions {
    /// The file type; `None` = the account's default.
    pub format: Option<LabelFormat>,
    /// At most [`METADATA_MAX`] characters.
    pub metadata: String,
    /// The request's `Idempotency-Key` (at most [`IDEMPOTENCY_KEY_MAX`] printable characters).
    pub key: Option<String>,
}

/// A purchase of a rate.
#[derive(Debug, Clone)]
pub struct PurchaseInput {
    /// The rate to buy (looked up in the buyer's scope).
    pub rate: ObjectId,
    pub options: LabelOptions,
    /// Answer QUEUED and make the label in the background (the SDK's default).
    pub asynchronous: bool,
    /// The orders the parcel carries (Shippo's `order`; Consign: several, or part of one).
    pub orders: Vec<OrderLink>,
}

/// The one-call purchase ("instalabel"): a shipment, a carrier account and a service level.
#[derive(Debug, Clone)]
pub struct InstalabelInput {
    pub shipment: CreateShipment,
    pub carrier_account: ObjectId,
    pub servicelevel_token: String,
    pub options: LabelOptions,
    pub asynchronous: bool,
    /// The orders the parcel carries.
    pub orders: Vec<OrderLink>,
}

/// Buys a rate's label (or answers the transaction that already bought it).
#[tracing::instrument(skip_all, fields(account = %who.account_id))]
pub async fn purchase(
    s: &Services,
    who: &Principal,
    input: PurchaseInput,
) -> Result<Transaction, ServiceError> {
    let (rate_id, checked) = (input.rate, input.options);
    let scope = scope(who);
    let mut conn = s.store.conn().await?;
    let rate = {
        // A retry with the same key answers at once; one without a key is answered by `buy`,
        // which looks the rate's purchase up before asking the carrier.
        if checked.key.is_some() {
            if let Some(found) = earlier(&mut conn, scope, rate_id, checked.key.as_deref()).await? {
                return Ok(found);
            }
        }
        match shipments_repo_rate(&mut conn, scope, rate_id).await? {
            Some(r) => r,
            None => {
                return Err(ValidationError::field(
                    "rate",
                    format!("No rate with id \"{rate_id}\"."),
                )
                .into())
            }
        }
    };
    buy(
        s,
        scope,
        &who.account_name,
        conn,
        &who.label_file_type,
        rate,
        checked,
        input.asynchronous,
        false,
        &input.orders,
    )
    .await
}

async fn shipments_repo_rate(
    conn: &mut Conn,
    scope: Scope,
    id: ObjectId,
) -> Result<Option<Rate>, ServiceError> {
    match store::shipments::get_rate(conn, scope, id).await {
        Ok(r) => Ok(Some(r)),
        Err(StoreError::NotFound) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The transaction an earlier request made for this rate or with this idempotency key.
async fn earlier(
    conn: &mut Conn,
    scope: Scope,
    rate: ObjectId,
    key: Option<&str>,
) -> Result<Option<Transaction>, ServiceError> {
    if let Some(key) = key {
        if let Some(t) = repo::find_by_key(conn, scope, key).await? {
            if t.rate != rate {
                return Err(ServiceError::Conflict(format!(
                    "Idempotency-Key \"{key}\" was already used to buy rate {}; a retry must send the same request.",
                    t.rate
                )));
            }
            return Ok(Some(t));
        }
    }
    Ok(repo::find_by_rate(conn, scope, rate).await?)
}

/// The checks every purchase passes, then the purchase itself. No connection is held while the
/// label is made (making it reserves tracking serials, which writes).
#[allow(clippy::too_many_arguments)]
async fn buy(
    s: &Services,
    scope: Scope,
    owner: &str,
    mut pooled: store::PooledConn,
    default_format: &str,
    rate: Rate,
    checked: LabelOptions,
    asynchronous: bool,
    instalabel: bool,
    orders: &[OrderLink],
) -> Result<Transaction, ServiceError> {
    let conn = &mut *pooled;
    let shipment = store::shipments::get(conn, scope, rate.shipment).await?;
    let view = shipments::parts(conn, scope, shipment).await?;
    let now = Timestamp::now();
    // A retry answers the first purchase before any carrier is asked again (an upstream
    // provider would be asked to sell a second label). Two purchases racing past this check
    // both reach the carrier with the same idempotency key (the rate's), and the unique index
    // keeps one transaction.
    if let Some(t) = earlier(conn, scope, rate.id, checked.key.as_deref()).await? {
        return Ok(t);
    }
    if let Some(reason) = refusal(&rate, &view, now) {
        return Err(ValidationError::field("rate", reason).into());
    }
    // What the parcel carries of its orders, checked before any carrier is asked.
    let mut parcels = fulfil::plan(conn, scope, orders).await?;
    let format = checked
        .format
        .or_else(|| LabelFormat::parse(default_format))
        .unwrap_or(LabelFormat::Pdf4x6);
    let mut t = Transaction {
        id: ObjectId::at(now.millis()),
        created: now,
        updated: now,
        test: scope.test,
        status: TransactionStatus::Queued,
        rate: rate.id,
        shipment: view.shipment.id,
        carrier_account: rate.carrier_account,
        address_from: view.address_from.id,
        shipment_date: view.shipment.shipment_date,
        label_file_type: format.as_str().to_string(),
        metadata: checked.metadata,
        tracking_number: None,
        tracking_url: None,
        eta: None,
        label_key: None,
        invoice_key: None,
        messages: Vec::new(),
        instalabel,
        idempotency_key: checked.key.clone(),
        manifest: None,
        remote: None,
    };
    let (items, subscribers) = if asynchronous {
        (Vec::new(), Vec::new())
    } else {
        (
            items_of(conn, scope, &view).await?,
            // Read just before the commit (an index lookup); see `webhooks::outbox`.
            store::webhooks::subscribers(conn, scope, WebhookEvent::TransactionCreated).await?,
        )
    };
    drop(pooled);
    // A label Consign prints itself (rate cards, the test carrier) never carries an INVALID
    // recipient. Refused like the shipment-level refusals above (QUOTE, stale rate, no customs
    // declaration): a 400 naming `address_to.<field>`, before any serial is drawn or row
    // written, rather than an ERROR transaction — an ERROR transaction is a carrier's answer,
    // and this is Consign's own rule, known before anything is bought. Upstream providers are
    // asked as before: they validate the addresses they are sent.
    let problems =
        labels::recipient_unprintable(s, scope.account_id, rate.carrier_account, &view).await;
    if !problems.is_empty() {
        let mut errors = domain::FieldErrors::new();
        for (field, why) in problems {
            errors.add(field, why);
        }
        errors.into_result()?;
    }
    let mut followed = None;
    let job = if asynchronous {
        Some(
            Job::BuyLabel {
                account: scope.account_id,
                test: scope.test,
                transaction: t.id,
            }
            .due_now(),
        )
    } else {
        let follow = labels::produce(
            s,
            scope,
            &Sources {
                view: &view,
                items: &items,
                rate: &rate,
            },
            &mut t,
        )
        .await?;
        if follow {
            followed = crate::tracking::followed(s, scope, &t, &view, &rate);
        }
        None
    };
    let queued = job.is_some();
    let deliveries = if subscribers.is_empty() {
        Vec::new()
    } else {
        let data = s.wire.transaction(&s.cipher, &s.public_url, owner, &t);
        webhooks::deliveries_for(
            &subscribers,
            scope,
            WebhookEvent::TransactionCreated,
            &data,
            Timestamp::now(),
        )
    };
    let mut jobs: Vec<NewJob> = job.into_iter().collect();
    jobs.extend(deliveries.iter().map(webhooks::deliver_job));
    let rows: Vec<store::webhooks::NewDelivery> = deliveries
        .iter()
        .map(|d| store::webhooks::NewDelivery { scope, delivery: d })
        .collect();
    let tracks: Vec<_> = followed.into_iter().collect();
    let script = repo::purchase_script(s.store.backend(), scope, &t, &jobs, &rows, &tracks);
    let queued = queued || !deliveries.is_empty();
    // A label that failed carries nothing.
    if t.status == TransactionStatus::Error {
        parcels.clear();
    }
    let written = if parcels.is_empty() {
        s.store.write_script(script).await
    } else {
        let (wire, owner, id) = (s.wire.clone(), owner.to_string(), t.id);
        // A label with its number ships the pledges among its orders (their dispatch emails).
        let shipped = t.tracking_number.clone().map(|n| {
            let page = format!(
                "{}{}",
                s.public_url.trim_end_matches('/'),
                crate::tracking::public_path(Some(t.carrier_account), &n)
            );
            (rate.details.provider.clone(), n, page)
        });
        let s2 = s.clone();
        s.store
            .write(move |conn| {
                Box::pin(async move {
                    script.execute(conn).await?;
                    fulfil::apply(conn, scope, id, &parcels, &*wire, &owner).await?;
                    if let Some((carrier, number, page)) = shipped {
                        let orders: Vec<ObjectId> = parcels.iter().map(|p| p.order).collect();
                        crate::crowdfunding::tracking::labelled(
                            conn, &s2, &orders, &carrier, &number, &page,
                        )
                        .await?;
                    }
                    Ok(())
                })
            })
            .await
    };
    match written {
        Ok(()) => {
            if queued {
                s.job_signal.notify_one();
            }
            Ok(t)
        }
        Err(StoreError::Conflict(_)) => {
            // Another request bought this rate (or used this key) first: answer its purchase.
            labels::discard(s, &t).await;
            let mut conn = s.store.conn().await?;
            earlier(&mut conn, scope, rate.id, checked.key.as_deref())
                .await?
                .ok_or_else(|| {
                    ServiceError::Conflict("This rate is being bought by another request.".into())
                })
        }
        Err(e) => {
            labels::discard(s, &t).await;
            Err(e.into())
        }
    }
}

/// Why a rate cannot be bought, if it cannot.
fn refusal(rate: &Rate, view: &ShipmentView, now: Timestamp) -> Option<String> {
    if rate.details.quote_only || view.shipment.purpose == Purpose::Quote {
        return Some("This rate is a quote (its shipment has a QUOTE address); create the shipment with complete addresses to buy a label.".into());
    }
    if now.millis() - rate.created.millis() > RATE_VALID_MS {
        return Some(
            "This rate is more than 7 days old; create the shipment again for a current price."
                .into(),
        );
    }
    if labels::is_international(view) && view.customs_declaration.is_none() {
        return Some(format!(
            "This shipment goes from {} to {} and has no customs declaration; add one (customs_declaration) to buy a label.",
            view.address_from.fields.country, view.address_to.fields.country
        ));
    }
    None
}

async fn items_of(
    conn: &mut Conn,
    scope: Scope,
    view: &ShipmentView,
) -> Result<Vec<CustomsItem>, ServiceError> {
    let mut items = Vec::new();
    if let Some(d) = &view.customs_declaration {
        for id in &d.items {
            items.push(store::customs::get_item(conn, scope, *id).await?);
        }
    }
    Ok(items)
}

/// Creates the shipment and buys the rate of `carrier_account` for `servicelevel_token` in one
/// call. Answers the transaction and the rate it bought.
#[tracing::instrument(skip_all, fields(account = %who.account_id))]
pub async fn instalabel(
    s: &Services,
    who: &Principal,
    input: InstalabelInput,
) -> Result<(Transaction, Rate), ServiceError> {
    let (account_id, checked) = (input.carrier_account, input.options);
    let token = input.servicelevel_token.trim().to_string();
    let scope = scope(who);
    // Requests with one Idempotency-Key queue behind each other in this process: the second
    // waits for the first and answers its label (each used to rate a shipment of its own, so
    // the loser's rate differed and it was answered 409).
    let _same_key = match &checked.key {
        Some(key) => Some(
            s.key_locks
                .lock(format!("{}:{}:{key}", who.account_id, scope.test))
                .await,
        ),
        None => None,
    };
    if let Some(key) = &checked.key {
        let mut conn = s.store.conn().await?;
        if let Some(t) = repo::find_by_key(&mut conn, scope, key).await? {
            let rate = store::shipments::get_rate(&mut conn, scope, t.rate).await?;
            return Ok((t, rate));
        }
    }
    let mut shipment = input.shipment;
    shipment.asynchronous = false;
    shipment.carrier_accounts = vec![account_id.to_string()];
    let view = shipments::create(s, who, shipment)
        .await
        .map_err(|e| match e {
            ServiceError::Validation(v) => ServiceError::Validation(v.prefixed("shipment")),
            other => other,
        })?;
    let Some(rate) = view
        .rates
        .iter()
        .find(|r| {
            r.carrier_account == account_id && r.details.service_token.eq_ignore_ascii_case(&token)
        })
        .cloned()
    else {
        let offered: Vec<&str> = view
            .rates
            .iter()
            .map(|r| r.details.service_token.as_str())
            .collect();
        let why: Vec<&str> = view
            .shipment
            .messages
            .iter()
            .map(|m| m.text.as_str())
            .collect();
        return Err(ValidationError::field(
            "servicelevel_token",
            format!(
                "Carrier account {account_id} has no rate for \"{token}\" for this shipment (offered: {}){}",
                if offered.is_empty() { "none".to_string() } else { offered.join(", ") },
                if why.is_empty() { ".".to_string() } else { format!("; {}", why.join(" ")) }
            ),
        )
        .into());
    };
    let conn = s.store.conn().await?;
    let t = buy(
        s,
        scope,
        &who.account_name,
        conn,
        &who.label_file_type,
        rate.clone(),
        checked.clone(),
        input.asynchronous,
        true,
        &input.orders,
    )
    .await;
    match (t, &checked.key) {
        (Ok(t), _) => Ok((t, rate)),
        // Another process bought with this key first (PostgreSQL, several servers): the key
        // names the request, so its label is the answer.
        (Err(ServiceError::Conflict(_)), Some(key)) => {
            let mut conn = s.store.conn().await?;
            let t = repo::find_by_key(&mut conn, scope, key)
                .await?
                .ok_or_else(|| {
                    ServiceError::Conflict(
                        "This label is being bought by another request with the same Idempotency-Key."
                            .into(),
                    )
                })?;
            let rate = store::shipments::get_rate(&mut conn, scope, t.rate).await?;
            Ok((t, rate))
        }
        (Err(e), _) => Err(e),
    }
}

/// One of the principal's transactions.
pub async fn get(s: &Services, who: &Principal, id: ObjectId) -> Result<Transaction, ServiceError> {
    Ok(repo::get(&mut *s.store.conn().await?, scope(who), id).await?)
}

/// A page of the principal's transactions, newest first.
pub async fn list(
    s: &Services,
    who: &Principal,
    filter: &TransactionFilter,
    page: PageRequest,
) -> Result<Page<Transaction>, ServiceError> {
    Ok(repo::list(&mut *s.store.conn().await?, scope(who), filter, page).await?)
}

/// The rate a transaction bought (for the instalabel answer's `rate` object).
pub async fn rate_of(s: &Services, who: &Principal, t: &Transaction) -> Result<Rate, ServiceError> {
    Ok(store::shipments::get_rate(&mut *s.store.conn().await?, scope(who), t.rate).await?)
}

/// What the labels page shows of one label: the label, the rate it bought, its parcel's track
/// (its scans, oldest first), the orders it carries and whether Consign can draw it again in
/// another file type.
#[derive(Debug, Clone)]
pub struct LabelView {
    pub transaction: Transaction,
    pub rate: Rate,
    pub track: Option<domain::tracking::Track>,
    pub orders: Vec<ObjectId>,
    /// Consign drew the label itself (a rate card, the test carrier), so any file type can be
    /// drawn again from what it was made of; an upstream provider's label comes only as bought.
    pub reprints: bool,
}

/// One of the principal's labels, with what its page shows.
pub async fn label(s: &Services, who: &Principal, id: ObjectId) -> Result<LabelView, ServiceError> {
    let scope = scope(who);
    let mut conn = s.store.conn().await?;
    let t = repo::get(&mut conn, scope, id).await?;
    let rate = store::shipments::get_rate(&mut conn, scope, t.rate).await?;
    let orders = store::orders::parcels_of_transaction(&mut conn, t.id)
        .await?
        .into_iter()
        .map(|p| p.order)
        .collect();
    let track = store::tracks::of_transactions(&mut conn, scope, &[t.id])
        .await?
        .remove(&t.id);
    drop(conn);
    let reprints = t.status == TransactionStatus::Success
        && match crate::adapters::of_account(s, scope.account_id, t.carrier_account).await {
            Ok(a) => a.meta().can(carriers::Capability::PrintsLabels),
            Err(_) => false,
        };
    Ok(LabelView {
        transaction: t,
        rate,
        track,
        orders,
        reprints,
    })
}

/// A label Consign drew itself, drawn again in `file_type` (a wire name: `PNG`, `ZPLII`, …)
/// from what it was made of — the same tracking number, addresses and barcode; nothing is
/// bought. Answers the file's blob key (the same key for the same file type, so a second
/// reprint overwrites the first with the same bytes). The label's own file is left as bought.
pub async fn reprint(
    s: &Services,
    who: &Principal,
    id: ObjectId,
    file_type: &str,
) -> Result<String, ServiceError> {
    let Some(format) = LabelFormat::parse(file_type.trim()) else {
        return Err(ValidationError::field(
            "label_file_type",
            format!("\"{}\" is not a label file type.", file_type.trim()),
        )
        .into());
    };
    let v = label(s, who, id).await?;
    let t = v.transaction;
    let number = match (&t.tracking_number, t.status) {
        (Some(n), TransactionStatus::Success) => n.clone(),
        _ => {
            return Err(ValidationError::field(
                "transaction",
                format!(
                    "This label is {}: only a bought label is printed again.",
                    t.status.as_str()
                ),
            )
            .into())
        }
    };
    if !v.reprints {
        return Err(ValidationError::field(
            "label_file_type",
            format!(
                "{} made this label; it comes only as it was bought ({}).",
                v.rate.details.provider, t.label_file_type
            ),
        )
        .into());
    }
    let scope = scope(who);
    let mut conn = s.store.conn().await?;
    let shipment = store::shipments::get(&mut conn, scope, t.shipment).await?;
    let view = shipments::parts(&mut conn, scope, shipment).await?;
    let items = items_of(&mut conn, scope, &view).await?;
    drop(conn);
    let src = Sources {
        view: &view,
        items: &items,
        rate: &v.rate,
    };
    let sheet = labels::label_data(&src, &t, &number);
    let doc = documents::label::render(&sheet, format).map_err(|e| {
        ValidationError::field(
            "label_file_type",
            format!("The label could not be drawn: {e}."),
        )
    })?;
    let key = crate::files::key(
        scope.account_id,
        t.id,
        &format!(
            "label-{}.{}",
            format.as_str().to_ascii_lowercase(),
            doc.extension
        ),
    );
    labels::put(s, &key, doc.bytes).await?;
    Ok(key)
}

/// Makes a QUEUED transaction's label (idempotent: a transaction no longer QUEUED is left alone).
pub(crate) async fn run_buy_job(
    s: &Services,
    job: &Claim,
    scope: Scope,
    id: ObjectId,
) -> Result<(), ServiceError> {
    let mut conn = s.store.conn().await?;
    let mut t = repo::get(&mut conn, scope, id).await?;
    let job_id = job.id;
    if t.status != TransactionStatus::Queued {
        s.store
            .write(move |conn| Box::pin(async move { store::jobs::complete(conn, job_id).await }))
            .await?;
        return Ok(());
    }
    let rate = store::shipments::get_rate(&mut conn, scope, t.rate).await?;
    let shipment = store::shipments::get(&mut conn, scope, t.shipment).await?;
    let view = shipments::parts(&mut conn, scope, shipment).await?;
    let items = items_of(&mut conn, scope, &view).await?;
    let owner = store::accounts::name_of(&mut conn, scope.account_id).await?;
    drop(conn);
    let follow = labels::produce(
        s,
        scope,
        &Sources {
            view: &view,
            items: &items,
            rate: &rate,
        },
        &mut t,
    )
    .await?;
    let followed = follow
        .then(|| crate::tracking::followed(s, scope, &t, &view, &rate))
        .flatten();
    let done = t.clone();
    let data = s.wire.transaction(&s.cipher, &s.public_url, &owner, &t);
    let wire = s.wire.clone();
    let changed = s
        .store
        .write(move |conn| {
            Box::pin(async move {
                let changed = repo::finish_purchase(conn, &done).await?;
                if let Some(track) = followed.filter(|_| changed) {
                    store::tracks::insert(conn, scope, &track).await?;
                }
                if changed {
                    webhooks::outbox(conn, WebhookEvent::TransactionCreated, &[scope], |_| {
                        data.clone()
                    })
                    .await?;
                    if done.status == TransactionStatus::Error {
                        fulfil::release(conn, scope, done.id, &*wire, &owner).await?;
                    }
                }
                store::jobs::complete(conn, job_id).await?;
                Ok(changed)
            })
        })
        .await?;
    s.job_signal.notify_one();
    if !changed {
        labels::discard(s, &t).await;
    }
    Ok(())
}

/// Gives up on a QUEUED transaction after its retries: ERROR with a message, job abandoned.
pub(crate) async fn fail_buy_job(
    s: &Services,
    job: &Claim,
    scope: Scope,
    id: ObjectId,
    error: &str,
) -> Result<(), ServiceError> {
    let (job_id, error, wire) = (job.id, error.to_string(), s.wire.clone());
    s.store
        .write(move |conn| {
            Box::pin(async move {
                let messages = vec![note(
                    CONSIGN,
                    "label_failed",
                    format!("The label could not be bought: {error}"),
                )];
                let failed = repo::move_status(
                    conn,
                    id,
                    TransactionStatus::Queued,
                    TransactionStatus::Error,
                    Some(&messages),
                    Timestamp::now(),
                )
                .await?;
                if failed {
                    let t = repo::get(conn, scope, id).await?;
                    let owner = store::accounts::name_of(conn, scope.account_id).await?;
                    fulfil::release(conn, scope, t.id, &*wire, &owner).await?;
                }
                store::jobs::abandon(conn, job_id, &error).await
            })
        })
        .await?;
    Ok(())
}

/// The principal's labels newest first (older than `before`; with `tracking_number`, only
/// its labels, upper-cased as carriers print them), and whether more follow.
pub async fn recent(
    s: &Services,
    who: &Principal,
    before: Option<ObjectId>,
    tracking_number: Option<&str>,
    limit: u32,
) -> Result<(Vec<Transaction>, bool), ServiceError> {
    let number = tracking_number
        .map(|t| t.trim().to_uppercase())
        .filter(|t| !t.is_empty());
    Ok(repo::recent(
        &mut *s.store.conn().await?,
        scope(who),
        before,
        number.as_deref(),
        limit,
    )
    .await?)
}
