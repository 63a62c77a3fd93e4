//! Refunds of unused labels (seed 002 "Refunds").
//!
//! Asking for a refund stores the refund as QUEUED, moves the transaction to REFUNDPENDING and
//! enqueues a `refund_label` job, in one transaction; the job asks the label's carrier adapter and
//! settles it (SUCCESS and REFUNDED, ERROR and REFUNDREJECTED, or PENDING while the carrier
//! decides). Consign's own carriers (rate cards, the test carrier) refund every unused label at
//! once; upstream providers answer in their own time. A label is refunded once, and never after
//! it went onto a manifest. The request's `async` is accepted
//! and ignored: refunds are always settled by the job, as the issue asks.

use domain::tracking::TrackStatus;
use domain::transaction::{Refund, RefundStatus, TransactionStatus};
use domain::webhook::WebhookEvent;
use domain::{ObjectId, Timestamp, ValidationError};
use store::jobs::Claim;

use crate::jobs::Job;
use store::{Page, PageRequest, Scope, StoreError};

use carriers::{Capability, CarrierError, RefundRequest, RefundState};

use crate::rating::{note, CONSIGN};
use crate::{adapters, scope, webhooks, Principal, ServiceError, Services};

/// Asks for a refund of one of the principal's labels.
pub async fn create(
    s: &Services,
    who: &Principal,
    transaction: Option<String>,
) -> Result<Refund, ServiceError> {
    let raw = transaction.unwrap_or_default();
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(ValidationError::field("transaction", "This field is required.").into());
    }
    let missing = || {
        ServiceError::Validation(ValidationError::field(
            "transaction",
            format!("No transaction with id \"{raw}\"."),
        ))
    };
    let id = ObjectId::parse(raw).ok_or_else(missing)?;
    let scope = scope(who);
    let t = match store::transactions::get(&mut *s.store.conn().await?, scope, id).await {
        Ok(t) => t,
        Err(StoreError::NotFound) => return Err(missing()),
        Err(e) => return Err(e.into()),
    };
    t.refundable()
        .map_err(|m| ValidationError::field("transaction", m))?;
    let adapter = adapters::of_account(s, scope.account_id, t.carrier_account).await?;
    if !adapter.meta().can(Capability::Refunds) {
        return Err(ValidationError::field(
            "transaction",
            CarrierError::unsupported(adapter.meta(), Capability::Refunds).to_string(),
        )
        .into());
    }
    // "Unused": the carrier has not moved the parcel.
    let moved = store::tracks::of_transactions(&mut *s.store.conn().await?, scope, &[id])
        .await?
        .remove(&id)
        .map(|track| track.status())
        .filter(|st| !matches!(st, TrackStatus::Unknown | TrackStatus::PreTransit));
    if let Some(st) = moved {
        return Err(ValidationError::field(
            "transaction",
            format!("This label has been used: the carrier reports the parcel {}; only unused labels can be refunded.", st.as_str()),
        )
        .into());
    }
    let now = Timestamp::now();
    let refund = Refund {
        id: ObjectId::at(now.millis()),
        created: now,
        updated: now,
        test: scope.test,
        status: RefundStatus::Queued,
        transaction: id,
    };
    let job = Job::RefundLabel {
        account: scope.account_id,
        test: scope.test,
        refund: refund.id,
    }
    .due_now();
    let stored = refund.clone();
    let (actor, number) = (who.clone(), t.tracking_number.clone().unwrap_or_default());
    let outcome = s
        .store
        .write(move |conn| {
            Box::pin(async move {
                // Only a successful label not on a manifest moves; anything else lost a race.
                if !store::transactions::begin_refund(conn, id, now).await? {
                    return Err(StoreError::Conflict(
                        "This label can no longer be refunded.".into(),
                    ));
                }
                store::refunds::insert(conn, scope, &stored).await?;
                store::jobs::enqueue(conn, job).await?;
                let detail = format!("label {number}");
                crate::audit::record(conn, &actor, "asked for a refund", Some(id), &detail).await
            })
        })
        .await;
    match outcome {
        Ok(()) => {
            s.job_signal.notify_one();
            Ok(refund)
        }
        Err(StoreError::Conflict(m)) => Err(ValidationError::field(
            "transaction",
            if m.contains("refund") {
                m
            } else {
                "A refund was already requested for this label.".into()
            },
        )
        .into()),
        Err(e) => Err(e.into()),
    }
}

/// One of the principal's refunds.
pub async fn get(s: &Services, who: &Principal, id: ObjectId) -> Result<Refund, ServiceError> {
    Ok(store::refunds::get(&mut *s.store.conn().await?, scope(who), id).await?)
}

/// A page of the principal's refunds, newest first.
pub async fn list(
    s: &Services,
    who: &Principal,
    page: PageRequest,
) -> Result<Page<Refund>, ServiceError> {
    Ok(store::refunds::list(&mut *s.store.conn().await?, scope(who), page).await?)
}

/// Settles a refund through the label's carrier adapter: SUCCESS and REFUNDED when the carrier
/// refunded it, ERROR and REFUNDREJECTED when it refused (the reason kept on the label), PENDING
/// and asked again later while the carrier is still deciding. A carrier that cannot be reached
/// fails the job, which retries. Running it twice changes nothing the second time.
pub(crate) async fn run_refund_job(
    s: &Services,
    job: &Claim,
    scope: Scope,
    id: ObjectId,
) -> Result<(), ServiceError> {
    let job_id = job.id;
    let mut conn = s.store.conn().await?;
    let refund = store::refunds::get(&mut conn, scope, id).await?;
    let owner = store::accounts::name_of(&mut conn, scope.account_id).await?;
    let state = if matches!(refund.status, RefundStatus::Queued | RefundStatus::Pending) {
        let t = store::transactions::get(&mut conn, scope, refund.transaction).await?;
        drop(conn);
        let adapter = adapters::of_account(s, scope.account_id, t.carrier_account).await?;
        let asked = adapter
            .refund(RefundRequest {
                tracking_number: t.tracking_number.as_deref().unwrap_or_default(),
                remote: t.remote.as_ref(),
            })
            .await;
        Some(match asked {
            Ok(state) => state,
            Err(CarrierError::Unavailable(why)) => return Err(ServiceError::Unavailable(why)),
            Err(refused) => RefundState::Rejected(refused.to_string()),
        })
    } else {
        drop(conn);
        None
    };
    let (wire, cipher, base) = (s.wire.clone(), s.cipher.clone(), s.public_url.clone());
    let recheck_ms = s.refund_recheck.as_millis() as i64;
    s.store
        .write(move |conn| {
            Box::pin(async move {
                let now = Timestamp::now();
                let (status, moved) = match state {
                    None => return store::jobs::complete(conn, job_id).await,
                    Some(RefundState::Pending) => {
                        store::refunds::set_status(conn, id, RefundStatus::Pending, now).await?;
                        let at = Timestamp::from_millis(now.millis() + recheck_ms);
                        return store::jobs::defer(conn, job_id, at, "pending at the carrier")
                            .await;
                    }
                    Some(RefundState::Refunded) => {
                        let settled = store::transactions::move_status(
                            conn,
                            refund.transaction,
                            TransactionStatus::RefundPending,
                            TransactionStatus::Refunded,
                            None,
                            now,
                        )
                        .await?;
                        (
                            if settled {
                                RefundStatus::Success
                            } else {
                                RefundStatus::Error
                            },
                            settled,
                        )
                    }
                    Some(RefundState::Rejected(why)) => {
                        let messages = [note(CONSIGN, "refund_rejected", why)];
                        let moved = store::transactions::move_status(
                            conn,
                            refund.transaction,
                            TransactionStatus::RefundPending,
                            TransactionStatus::RefundRejected,
                            Some(&messages),
                            now,
                        )
                        .await?;
                        (RefundStatus::Error, moved)
                    }
                };
                if !moved {
                    // The label left REFUNDPENDING some other way: the refund cannot apply.
                    store::transactions::move_status(
                        conn,
                        refund.transaction,
                        TransactionStatus::Success,
                        TransactionStatus::RefundRejected,
                        None,
                        now,
                    )
                    .await?;
                }
                store::refunds::set_status(conn, id, status, now).await?;
                if status == RefundStatus::Success {
                    // The refunded label's orders get their quantities back.
                    crate::orders::fulfil::release(conn, scope, refund.transaction, &*wire, &owner)
                        .await?;
                }
                // The label's new status (REFUNDED or REFUNDREJECTED) is news to subscribers.
                let t = store::transactions::get(conn, scope, refund.transaction).await?;
                let data = wire.transaction(&cipher, &base, &owner, &t);
                webhooks::outbox(conn, WebhookEvent::TransactionUpdated, &[scope], |_| {
                    data.clone()
                })
                .await?;
                store::jobs::complete(conn, job_id).await
            })
        })
        .await?;
    s.job_signal.notify_one();
    Ok(())
}
