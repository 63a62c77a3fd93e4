//! Refunds of unused labels (seed 002 "Refunds").
//!
//! Asking for a refund stores the refund as QUEUED, moves the transaction to REFUNDPENDING and
//! enqueues a `refund_label` job, in one transaction; the job settles it (SUCCESS and REFUNDED).
//! Consign's own carriers (rate cards, the test carrier) refund every unused label; a label is
//! refunded once, and never after it went onto a manifest. The request's `async` is accepted
//! and ignored: refunds are always settled by the job, as the issue asks.

use domain::tracking::TrackStatus;
use domain::transaction::{Refund, RefundStatus, TransactionStatus};
use domain::webhook::WebhookEvent;
use domain::{ObjectId, Timestamp, ValidationError};
use store::jobs::Claim;

use crate::jobs::Job;
use store::{Page, PageRequest, Scope, StoreError};

use crate::{scope, webhooks, Principal, ServiceError, Services};

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
                Ok(())
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

/// Settles a refund: SUCCESS and REFUNDED when the label is still pending its refund, ERROR and
/// REFUNDREJECTED otherwise. Running it twice changes nothing the second time.
pub(crate) async fn run_refund_job(
    s: &Services,
    job: &Claim,
    scope: Scope,
    id: ObjectId,
) -> Result<(), ServiceError> {
    let job_id = job.id;
    let owner = store::accounts::name_of(&mut *s.store.conn().await?, scope.account_id).await?;
    let (wire, cipher, base) = (s.wire.clone(), s.cipher.clone(), s.public_url.clone());
    s.store
        .write(move |conn| {
            Box::pin(async move {
                let refund = store::refunds::get(conn, scope, id).await?;
                if refund.status == RefundStatus::Queued {
                    let now = Timestamp::now();
                    let settled = store::transactions::move_status(
                        conn,
                        refund.transaction,
                        TransactionStatus::RefundPending,
                        TransactionStatus::Refunded,
                        None,
                        now,
                    )
                    .await?;
                    let status = if settled {
                        RefundStatus::Success
                    } else {
                        RefundStatus::Error
                    };
                    if !settled {
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
                    // The label's new status (REFUNDED or REFUNDREJECTED) is news to subscribers.
                    let t = store::transactions::get(conn, scope, refund.transaction).await?;
                    let data = wire.transaction(&cipher, &base, &owner, &t);
                    webhooks::outbox(conn, WebhookEvent::TransactionUpdated, &[scope], |_| {
                        data.clone()
                    })
                    .await?;
                }
                store::jobs::complete(conn, job_id).await
            })
        })
        .await?;
    s.job_signal.notify_one();
    Ok(())
}
