//! The `validate_batch` job: makes and rates each pending batch shipment with its carrier
//! account, picks the rate of its service level, and ends the batch VALID or INVALID.

use domain::address::Purpose;
use domain::batch::{Batch, BatchShipment, BatchShipmentStatus, BatchStatus};
use domain::parcel::{ExtraInput, ParcelInput};
use domain::webhook::WebhookEvent;
use domain::{ObjectId, ValidationError};
use futures_util::{stream, StreamExt, TryStreamExt};
use store::jobs::Claim;
use store::Scope;

use super::{notes_of, ShipmentSource};
use crate::customs::{DeclarationRef, ItemRef};
use crate::rating::{note, CONSIGN};
use crate::shipments::{self, AddressRef, CreateShipment, ParcelRef, ShipmentView};
use crate::{webhooks, Principal, ServiceError, Services};
use domain::customs::{CustomsItemInput, DeclarationInput};

/// Batch shipments validated per recorded chunk.
const CHUNK: i64 = 200;
/// Shipments made at once.
const AT_ONCE: usize = 32;

/// Runs (or resumes) a batch's validation.
pub(crate) async fn run_validate_job(
    s: &Services,
    job: &Claim,
    scope: Scope,
    id: ObjectId,
) -> Result<(), ServiceError> {
    let who = crate::accounts::principal_of(s, scope).await?;
    loop {
        let mut conn = s.store.conn().await?;
        let batch = store::batches::get(&mut conn, scope, id).await?;
        let pending = if batch.status == BatchStatus::Validating {
            store::batches::in_status(&mut conn, id, BatchShipmentStatus::Pending, false, CHUNK)
                .await?
        } else {
            Vec::new()
        };
        drop(conn);
        if pending.is_empty() {
            if finish(s, job, scope, &batch).await? {
                return Ok(());
            }
            continue;
        }
        let done: Vec<BatchShipment> = stream::iter(pending)
            .map(|bs| validate_one(s, &who, &batch, bs))
            .buffer_unordered(AT_ONCE)
            .map_ok(|mut bs| {
                // A made shipment no longer needs its plan; one that failed keeps it, so the
                // error queue's fix can correct it and validate it again (`fix.rs`).
                if bs.status == BatchShipmentStatus::Valid {
                    bs.request = None;
                }
                bs
            })
            .try_collect()
            .await?;
        super::record(s, done).await?;
    }
}

/// Ends validation when nothing is pending: VALID or INVALID, `batch_created` the first time,
/// the job complete. False when shipments were added meanwhile (validation goes on).
async fn finish(
    s: &Services,
    job: &Claim,
    scope: Scope,
    batch: &Batch,
) -> Result<bool, ServiceError> {
    let (job_id, id) = (job.id, batch.id);
    let done = s
        .store
        .write(move |conn| {
            Box::pin(async move {
                // Locked first: shipments added meanwhile are counted (or wait for this).
                let b = store::batches::get_for_update(conn, scope, id).await?;
                let counts = store::batches::counts(conn, id).await?;
                if counts.pending > 0 && b.status == BatchStatus::Validating {
                    return Ok(false);
                }
                let moved = store::batches::move_status(
                    conn,
                    scope,
                    id,
                    &[BatchStatus::Validating],
                    counts.validated(),
                )
                .await?;
                if moved && store::batches::mark_announced(conn, id).await? {
                    webhooks::outbox(conn, WebhookEvent::BatchCreated, &[scope], |_| {
                        serde_json::Value::String(id.to_string())
                    })
                    .await?;
                }
                // "Buy labels": a VALID batch goes on to its purchase in the same transaction,
                // so a crash between the two cannot leave it waiting for a click.
                if moved
                    && b.purchase_when_valid
                    && counts.validated() == BatchStatus::Valid
                    && store::batches::move_status(
                        conn,
                        scope,
                        id,
                        &[BatchStatus::Valid],
                        BatchStatus::Purchasing,
                    )
                    .await?
                {
                    let purchase = crate::jobs::Job::PurchaseBatch {
                        account: scope.account_id,
                        test: scope.test,
                        batch: id,
                    }
                    .due_now();
                    store::jobs::enqueue(conn, purchase).await?;
                }
                store::jobs::complete(conn, job_id).await?;
                Ok(true)
            })
        })
        .await?;
    s.job_signal.notify_one();
    Ok(done)
}

fn failed(mut bs: BatchShipment, e: &ValidationError) -> BatchShipment {
    let address_only = e.0.iter().all(|(f, _)| f.starts_with("address_"));
    bs.status = if address_only {
        BatchShipmentStatus::Incomplete
    } else {
        BatchShipmentStatus::Invalid
    };
    bs.messages = notes_of(e);
    bs
}

/// `bs` as INCOMPLETE for the one reason `message` (about `field`).
fn incomplete(mut bs: BatchShipment, field: &str, message: String) -> BatchShipment {
    bs.status = BatchShipmentStatus::Incomplete;
    bs.messages = vec![note(CONSIGN, field, message)];
    bs
}

/// Makes (or finds) one batch shipment's shipment and picks its rate.
async fn validate_one(
    s: &Services,
    who: &Principal,
    batch: &Batch,
    mut bs: BatchShipment,
) -> Result<BatchShipment, ServiceError> {
    if !bs.messages.is_empty() {
        // Refused when it was added (an unknown carrier account, too long metadata).
        bs.status = BatchShipmentStatus::Invalid;
        return Ok(bs);
    }
    let account = bs.carrier_account.unwrap_or(batch.default_carrier_account);
    let token = bs
        .servicelevel_token
        .clone()
        .unwrap_or_else(|| batch.default_servicelevel_token.clone());
    let source: Option<ShipmentSource> = bs
        .request
        .clone()
        .and_then(|r| serde_json::from_value(r).ok());
    let command = match source {
        None => {
            return Ok(failed(
                bs,
                &ValidationError::field("shipment", "The batch shipment names no shipment."),
            ))
        }
        Some(ShipmentSource::Wire { request }) => s.wire.shipment_request(&request),
        Some(ShipmentSource::Existing { shipment }) => {
            let found = match ObjectId::parse(shipment.trim()) {
                Some(sid) => match shipments::get(s, who, sid).await {
                    Ok(v) => Some(v),
                    Err(ServiceError::NotFound) => None,
                    Err(e) => return Err(e),
                },
                None => None,
            };
            return Ok(match found {
                Some(view) => printable(s, who, pick(bs, &view, account, &token), &view).await,
                None => failed(
                    bs,
                    &ValidationError::field(
                        "shipment",
                        format!("No shipment with id \"{shipment}\"."),
                    ),
                ),
            });
        }
        Some(ShipmentSource::Order {
            order,
            address_from,
            parcel,
            customs,
        }) => {
            let o = match store::orders::get(&mut *s.store.conn().await?, crate::scope(who), order)
                .await
            {
                Ok(o) => o,
                Err(store::StoreError::NotFound) => {
                    return Ok(failed(
                        bs,
                        &ValidationError::field("order", format!("No order with id \"{order}\".")),
                    ))
                }
                Err(e) => return Err(e.into()),
            };
            // Held (or closed, or unpaid) since the batch was made: it joins no batch.
            if !o.status.shippable() {
                return Ok(failed(
                    bs,
                    &ValidationError::field(
                        "order",
                        format!(
                            "Order {} is {} and cannot be shipped; release it (order_status PAID) and add it again.",
                            o.id,
                            o.status.as_str()
                        ),
                    ),
                ));
            }
            let Some((weight, unit)) = order_weight(&o, &parcel) else {
                return Ok(incomplete(
                    bs,
                    "weight",
                    format!(
                        "weight: Order {} has no weight: give its line items (or the order) a weight, or set default_weight and default_weight_unit on the batch request.",
                        o.order_number.as_deref().unwrap_or(&o.id.to_string())
                    ),
                ));
            };
            // International: a customs declaration from the line items and the request's
            // customs defaults, or INCOMPLETE naming what it lacks (never a failed purchase).
            let declaration = {
                let mut conn = s.store.conn().await?;
                let scope = crate::scope(who);
                let from = store::addresses::get(&mut conn, scope, address_from).await;
                let to = store::addresses::get(&mut conn, scope, o.to_address).await;
                match (from, to) {
                    (Ok(f), Ok(t)) if !f.fields.country.eq_ignore_ascii_case(&t.fields.country) => {
                        match declaration_for(&o, &weight, unit, customs.as_deref()) {
                            Ok(d) => Some(d),
                            Err(missing) => {
                                return Ok(incomplete(
                                    bs,
                                    "customs",
                                    format!(
                                        "customs: Order {} goes from {} to {} and needs a customs declaration, which cannot be made without {}.",
                                        o.order_number.as_deref().unwrap_or(&o.id.to_string()),
                                        f.fields.country,
                                        t.fields.country,
                                        missing.join(", ")
                                    ),
                                ));
                            }
                        }
                    }
                    // Unknown addresses are named when the shipment is made.
                    _ => None,
                }
            };
            Ok(CreateShipment {
                address_from: Some(AddressRef::Id(address_from.to_string())),
                address_to: Some(AddressRef::Id(o.to_address.to_string())),
                address_return: None,
                parcels: vec![ParcelRef::New(Box::new(ParcelInput {
                    length: Some(parcel.length.clone()),
                    width: Some(parcel.width.clone()),
                    height: Some(parcel.height.clone()),
                    distance_unit: Some(parcel.distance_unit.clone()),
                    weight: Some(weight),
                    mass_unit: Some(unit.as_str().to_string()),
                    template: parcel.template.clone(),
                    metadata: o.order_number.clone(),
                    extra: ExtraInput::default(),
                }))],
                customs_declaration: declaration,
                extra: Default::default(),
                extra_json: serde_json::json!({}),
                carrier_accounts: Vec::new(),
                shipment_date: None,
                metadata: String::new(),
                purpose: None,
                asynchronous: false,
                errors: Default::default(),
            })
        }
    };
    let mut command = match command {
        Ok(c) => c,
        Err(e) => return Ok(failed(bs, &e)),
    };
    command.carrier_accounts = vec![account.to_string()];
    command.asynchronous = false;
    match shipments::create(s, who, command).await {
        Ok(view) => {
            bs.shipment = Some(view.shipment.id);
            Ok(printable(s, who, pick(bs, &view, account, &token), &view).await)
        }
        Err(ServiceError::Validation(e)) => Ok(failed(bs, &e)),
        Err(e) => Err(e),
    }
}

/// The weight of the parcel that ships what is left of `o`, and its unit: the line items still
/// to ship (when each has a weight), else the order's own weight, else the plan's default
/// weight; `None` when none says anything (the order is INCOMPLETE: no weight is invented).
fn order_weight(
    o: &domain::order::Order,
    parcel: &super::ParcelPlan,
) -> Option<(String, domain::units::MassUnit)> {
    use domain::units::{convert_mass, MassUnit};
    use rust_decimal::Decimal;
    // A person weighed this parcel (the error queue's fix): that is its weight.
    if let Some((w, u)) = &parcel.entered_weight {
        let unit: MassUnit = u.parse().ok()?;
        let w: Decimal = w.parse().ok().filter(|w: &Decimal| *w > Decimal::ZERO)?;
        return Some((w.normalize().to_string(), unit));
    }
    let unit: MassUnit = parcel
        .mass_unit
        .as_deref()
        .or_else(|| o.line_items.iter().find_map(|l| l.weight_unit.as_deref()))
        .or(o.details.weight_unit.as_deref())
        .or(parcel.weight_unit.as_deref())
        .and_then(|u| u.parse().ok())
        .unwrap_or(MassUnit::Lb);
    let given = |w: Option<&str>, from: Option<&str>| -> Option<Decimal> {
        let w: Decimal = w?.trim().parse().ok()?;
        let from: MassUnit = from?.parse().ok()?;
        Some(convert_mass(w, from, unit)).filter(|w| *w > Decimal::ZERO)
    };
    let weight = o
        .remaining_weight(unit)
        .filter(|w| *w > Decimal::ZERO)
        .or_else(|| {
            given(
                o.details.weight.as_deref(),
                o.details.weight_unit.as_deref(),
            )
        })
        .or_else(|| {
            given(
                parcel.weight.as_deref(),
                Some(
                    parcel
                        .weight_unit
                        .as_deref()
                        .or(parcel.mass_unit.as_deref())
                        .unwrap_or("lb"),
                ),
            )
        })?;
    Some((weight.round_dp(4).normalize().to_string(), unit))
}

/// The customs declaration of a parcel that carries what is left of `o` (weighing `weight`
/// `unit`): one item per line item still to ship (its description or title, the quantity left,
/// its share of the line's value and weight, its currency, origin country, HS code and SKU) and
/// the request's defaults (signer, contents type, incoterm). Errs with what it lacks, each named
/// as the client would fix it (`customs.certify_signer`, `line_items.0.total_price`).
fn declaration_for(
    o: &domain::order::Order,
    weight: &str,
    unit: domain::units::MassUnit,
    plan: Option<&super::CustomsPlan>,
) -> Result<DeclarationRef, Vec<String>> {
    use rust_decimal::Decimal;
    let plan = plan.cloned().unwrap_or_default();
    let given = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(String::from)
    };
    let mut missing = Vec::new();
    let signer = given(&plan.certify_signer);
    if signer.is_none() {
        missing.push("customs.certify_signer".to_string());
    }
    let left: Vec<(usize, &domain::order::LineItem)> = o
        .line_items
        .iter()
        .enumerate()
        .filter(|(_, l)| l.remaining() > 0)
        .collect();
    if left.is_empty() {
        missing.push("line_items (what the parcel carries, for its customs items)".to_string());
    }
    let mut items = Vec::with_capacity(left.len());
    for (i, l) in &left {
        let share = |total: &str| -> Option<Decimal> {
            let t: Decimal = total.trim().parse().ok()?;
            Some(t * Decimal::from(l.remaining()) / Decimal::from(l.quantity.max(1)))
        };
        let value = l.total_price.as_deref().and_then(share);
        if value.is_none() {
            missing.push(format!("line_items.{i}.total_price"));
        }
        let currency = given(&l.currency).or_else(|| given(&o.details.currency));
        if currency.is_none() {
            missing.push(format!("line_items.{i}.currency"));
        }
        let origin = given(&l.manufacture_country).or_else(|| given(&plan.origin_country));
        if origin.is_none() {
            missing.push(format!(
                "line_items.{i}.manufacture_country (or customs.origin_country)"
            ));
        }
        let net = match (l.weight.as_deref().and_then(share), given(&l.weight_unit)) {
            (Some(w), Some(u)) if w > Decimal::ZERO => Some((w, u)),
            // One line left: the parcel's weight is its weight.
            _ if left.len() == 1 => Some((
                weight.parse().unwrap_or(Decimal::ZERO),
                unit.as_str().to_string(),
            )),
            _ => None,
        };
        if net.is_none() {
            missing.push(format!("line_items.{i}.weight"));
        }
        let description = given(&l.description).unwrap_or_else(|| match &l.variant_title {
            Some(v) if !v.trim().is_empty() => format!("{} – {}", l.title, v.trim()),
            _ => l.title.clone(),
        });
        items.push(ItemRef::New(Box::new(CustomsItemInput {
            description: Some(description.chars().take(200).collect()),
            quantity: Some(l.remaining().to_string()),
            net_weight: net
                .as_ref()
                .map(|(w, _)| w.round_dp(4).normalize().to_string()),
            mass_unit: net.map(|(_, u)| u),
            value_amount: value.map(|v| v.round_dp(2).to_string()),
            value_currency: currency,
            origin_country: origin,
            hs_code: given(&l.hs_code),
            sku_code: given(&l.sku),
            ..Default::default()
        })));
    }
    if !missing.is_empty() {
        return Err(missing);
    }
    Ok(DeclarationRef::New(
        Box::new(DeclarationInput {
            certify: Some(true),
            certify_signer: signer,
            contents_type: given(&plan.contents_type).or(Some("MERCHANDISE".into())),
            incoterm: given(&plan.incoterm),
            non_delivery_option: given(&plan.non_delivery_option).or(Some("RETURN".into())),
            invoice: o.order_number.clone(),
            ..Default::default()
        }),
        items,
    ))
}

/// A VALID batch shipment whose label its carrier account would print itself
/// ([`carriers::Capability::PrintsLabels`]) is INVALID when its recipient address is: the
/// messages name the address and its field (`address_to.zip: …`), and no rate is kept.
async fn printable(
    s: &Services,
    who: &Principal,
    mut bs: BatchShipment,
    view: &ShipmentView,
) -> BatchShipment {
    let Some(account) = bs
        .rate
        .filter(|_| bs.status == BatchShipmentStatus::Valid)
        .and_then(|r| view.rates.iter().find(|x| x.id == r))
        .map(|r| r.carrier_account)
    else {
        return bs;
    };
    let problems = crate::labels::recipient_unprintable(s, who.account_id, account, view).await;
    if !problems.is_empty() {
        bs.status = BatchShipmentStatus::Invalid;
        bs.rate = None;
        bs.messages = problems
            .into_iter()
            .map(|(field, why)| note(CONSIGN, &field, format!("{field}: {why}")))
            .collect();
    }
    bs
}

/// The shipment's rate of `account` for `token`, or why there is none.
fn pick(
    mut bs: BatchShipment,
    view: &ShipmentView,
    account: ObjectId,
    token: &str,
) -> BatchShipment {
    bs.shipment = Some(view.shipment.id);
    if view.shipment.purpose == Purpose::Quote {
        bs.status = BatchShipmentStatus::Incomplete;
        bs.messages = vec![note(
            CONSIGN,
            "address_incomplete",
            "An address of this shipment lacks values a label needs (it is a QUOTE address).",
        )];
        return bs;
    }
    match view.rates.iter().find(|r| {
        r.carrier_account == account && r.details.service_token.eq_ignore_ascii_case(token)
    }) {
        Some(rate) => {
            bs.status = BatchShipmentStatus::Valid;
            bs.rate = Some(rate.id);
            bs.messages = Vec::new();
        }
        None => {
            bs.status = BatchShipmentStatus::Invalid;
            let mut messages = view.shipment.messages.clone();
            messages.push(note(
                CONSIGN,
                "no_rate",
                format!("Carrier account {account} has no rate for \"{token}\" for this shipment."),
            ));
            bs.messages = messages;
        }
    }
    bs
}
