//! What the home page shows beyond its counts: the parcels and webhooks that went wrong lately
//! ([`exceptions`]), and its chart of labels bought and their spend per day and carrier. The figures
//! are rolled up from settled transactions when the chart is read ([`label_days`]), after a
//! cursor per account and mode, so the purchase path writes nothing more and a page reads 30
//! days of rows however many labels they hold.

use std::collections::BTreeMap;

use domain::shipment::RateDetails;
use domain::Timestamp;
use rust_decimal::Decimal;
use store::label_days;
pub use store::label_days::Day;
use store::StoreError;

use crate::{scope, Principal, ServiceError, Services};

/// Transactions rolled up per write.
const CHUNK: i64 = 5_000;
/// Most chunks rolled up by one read (a page never waits on more than this).
const CHUNKS_PER_READ: usize = 20;
/// A label still QUEUED this long is passed over (its purchase is stuck, not pending).
const QUEUED_WAIT_MS: i64 = 10 * 60 * 1000;
const DAY_MS: i64 = 86_400_000;

/// Labels bought per day, carrier and currency over the last `days` days (today included),
/// oldest first.
pub async fn label_days(
    s: &Services,
    who: &Principal,
    days: i64,
) -> Result<Vec<Day>, ServiceError> {
    for _ in 0..CHUNKS_PER_READ {
        if !roll_up(s, who).await? {
            break;
        }
    }
    let today = Timestamp::now().millis().div_euclid(DAY_MS);
    let mut conn = s.store.conn().await?;
    Ok(label_days::since(&mut conn, scope(who), today - days + 1).await?)
}

/// Rolls up one chunk after the cursor; whether a full chunk was read (more may follow).
async fn roll_up(s: &Services, who: &Principal) -> Result<bool, ServiceError> {
    let scope = scope(who);
    let (from, rows) = {
        let mut conn = s.store.conn().await?;
        let from = label_days::cursor(&mut conn, scope).await?;
        (
            from,
            label_days::after(&mut conn, scope, from, CHUNK).await?,
        )
    };
    let full = rows.len() as i64 == CHUNK;
    let now = Timestamp::now().millis();
    let mut sums: BTreeMap<(i64, String, String), (i64, Decimal)> = BTreeMap::new();
    let mut last = None;
    for t in &rows {
        match t.status.as_str() {
            // Not settled yet: stop here, count it once it is.
            "QUEUED" if now - t.created_ms < QUEUED_WAIT_MS => break,
            "QUEUED" | "ERROR" => {}
            _ => {
                let Ok(rate) = serde_json::from_str::<RateDetails>(&t.quote) else {
                    tracing::warn!(transaction = %t.id, "rate quote unreadable: not charted");
                    last = Some(t.id);
                    continue;
                };
                let e = sums
                    .entry((
                        t.created_ms.div_euclid(DAY_MS),
                        rate.provider,
                        rate.amount.currency,
                    ))
                    .or_insert((0, Decimal::ZERO));
                e.0 += 1;
                e.1 += rate.amount.amount;
            }
        }
        last = Some(t.id);
    }
    let Some(to) = last else {
        return Ok(false);
    };
    let days: Vec<Day> = sums
        .into_iter()
        .map(|((day, carrier, currency), (labels, amount))| Day {
            day,
            carrier,
            currency,
            labels,
            amount_e4: (amount * Decimal::from(10_000))
                .round()
                .try_into()
                .unwrap_or(i64::MAX),
        })
        .collect();
    let moved = s
        .store
        .write(move |conn| {
            Box::pin(async move {
                if !label_days::advance(conn, scope, from, to).await? {
                    // Another roll-up took this chunk: write nothing.
                    return Err(StoreError::Conflict("label_day_cursors".into()));
                }
                for d in &days {
                    label_days::add(conn, scope, d).await?;
                }
                Ok(())
            })
        })
        .await;
    match moved {
        Ok(()) => Ok(full && to == rows.last().map(|r| r.id).unwrap_or(to)),
        Err(StoreError::Conflict(_)) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// What went wrong lately, for the home page's to-do list.
#[derive(Debug, Clone, Default)]
pub struct Exceptions {
    /// Parcels whose latest event is FAILURE or RETURNED, newest first (at most 10).
    pub parcels: Vec<store::tracks::Exception>,
    /// Webhook deliveries that gave up (counted to 101 at most).
    pub failed_deliveries: i64,
}

/// Parcels that failed or came back in the last `days` days, and webhook deliveries that gave
/// up in that time — each read on an index, nothing counted past 101.
pub async fn exceptions(
    s: &crate::Services,
    who: &crate::Principal,
    days: i64,
) -> Result<Exceptions, crate::ServiceError> {
    let scope = crate::scope(who);
    let since = domain::Timestamp::now().millis() - days * 86_400_000;
    let mut conn = s.store.conn().await?;
    Ok(Exceptions {
        parcels: store::tracks::exceptions(&mut conn, scope, since, 10).await?,
        failed_deliveries: store::webhooks::failed_since(&mut conn, scope, since, 100).await?,
    })
}
