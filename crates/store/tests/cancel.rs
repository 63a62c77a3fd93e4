//! A use case abandoned half way (its client hung up, a timeout fired) keeps the pool sound:
//! no connection goes back to the pool inside a transaction nobody will end. On PostgreSQL
//! sqlx's `begin` is not cancel-safe (a future dropped during `BEGIN`'s round trip leaves the
//! session in a transaction its rollback guard does not know of, transact-rs/sqlx#4393); the
//! next borrower's writes then run inside it and are never seen by anyone else — which is how a
//! rate `POST /shipments` had just answered could be missing when it was bought. Runs on SQLite,
//! and also on PostgreSQL when `CONSIGN_TEST_DATABASE_URL` names a server.

use std::time::Duration;

use consign_store::{jobs, Backend, Store};
use domain::{ObjectId, Timestamp};
use sqlx::Connection;

mod common;

async fn stores() -> Vec<(Store, String)> {
    common::stores("cancel").await
}

async fn enqueue(store: &Store, payload: String) -> Result<ObjectId, consign_store::StoreError> {
    store
        .write(move |conn| {
            Box::pin(async move { jobs::enqueue(conn, jobs::NewJob::now("probe", payload)).await })
        })
        .await
}

/// How many `probe` jobs with `payload` another connection sees.
async fn seen(other: &mut sqlx::AnyConnection, payload: &str) -> i64 {
    let n: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE kind = 'probe' AND payload = $1")
            .bind(payload)
            .fetch_one(other)
            .await
            .unwrap();
    n
}

/// Completes after `micros` microseconds, checked at every turn of the scheduler (the timer's
/// millisecond is far longer than a local round trip).
async fn after(micros: u64) {
    let start = std::time::Instant::now();
    while start.elapsed() < Duration::from_micros(micros) {
        tokio::task::yield_now().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abandoned_writes_leave_no_connection_inside_a_transaction() {
    sqlx::any::install_default_drivers();
    for (store, url) in stores().await {
        let mut other = sqlx::AnyConnection::connect(&url).await.unwrap();
        let mut abandoned = 0;
        for i in 0..300u64 {
            // A write abandoned at some point of its round trips (before BEGIN is sent, while
            // it is in flight, during the insert, during COMMIT) ...
            let write = enqueue(&store, format!("abandoned {i}"));
            tokio::select! {
                biased;
                _ = write => {}
                _ = after((i * 53) % 15_000) => abandoned += 1,
            }
            // ... then, once it is back in the pool, a statement of its own on every pooled
            // connection (as `write_script` runs on PostgreSQL: no BEGIN), which anyone else
            // must see as soon as it returns.
            tokio::time::sleep(Duration::from_millis(2)).await;
            let mut held = Vec::new();
            for _ in 0..4 {
                held.push(store.conn().await.unwrap());
            }
            for (k, conn) in held.iter_mut().enumerate() {
                let payload = format!("next {i} on {k}");
                sqlx::query("INSERT INTO jobs (id, kind, payload, created_ms, run_at_ms, attempts) VALUES ($1, 'probe', $2, 0, $3, 0)")
                    .bind(ObjectId::new().to_string())
                    .bind(&payload)
                    .bind(Timestamp::now().millis())
                    .execute(&mut **conn)
                    .await
                    .unwrap();
                assert_eq!(
                    seen(&mut other, &payload).await,
                    1,
                    "{:?}: after {abandoned} abandoned writes, pooled connection {k} wrote inside a transaction nobody will end",
                    store.backend()
                );
            }
        }
        assert!(
            abandoned >= 30,
            "the writes were abandoned ({abandoned} of 300)"
        );
        if store.backend() == Backend::Postgres {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let stale: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND state LIKE 'idle in transaction%'",
            )
            .fetch_one(&mut other)
            .await
            .unwrap();
            assert_eq!(stale, 0, "connections left idle in a transaction");
        }
    }
}
