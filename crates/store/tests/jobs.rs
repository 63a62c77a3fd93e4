//! The job queue: claims take a lease, an expired lease is claimed again (a dead worker loses
//! nothing), done jobs are never claimed, and concurrent claimers never share a job. Runs on
//! SQLite, and also on PostgreSQL when `CONSIGN_TEST_DATABASE_URL` names a server.

use std::collections::HashSet;

use consign_store::{jobs, Store};
use domain::Timestamp;

mod common;

async fn stores() -> Vec<Store> {
    common::stores("jobs")
        .await
        .into_iter()
        .map(|(store, _)| store)
        .collect()
}

async fn enqueue(store: &Store, payload: &str, run_at: Timestamp) -> domain::ObjectId {
    let payload = payload.to_string();
    store
        .write(move |conn| {
            Box::pin(async move {
                let mut job = jobs::NewJob::now("test", payload);
                job.run_at = run_at;
                jobs::enqueue(conn, job).await
            })
        })
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_leases_are_claimed_again_and_done_jobs_never() {
    for store in stores().await {
        let id = enqueue(&store, "a", Timestamp::now()).await;
        enqueue(
            &store,
            "later",
            Timestamp::from_millis(Timestamp::now().millis() + 3_600_000),
        )
        .await;

        let first = jobs::claim(&store, 10, 60_000).await.unwrap();
        assert_eq!(first.len(), 1, "only the due job, once");
        assert_eq!(
            (first[0].id, first[0].payload.as_str(), first[0].attempts),
            (id, "a", 1)
        );
        assert!(
            jobs::claim(&store, 10, 60_000).await.unwrap().is_empty(),
            "leased jobs are not claimed twice"
        );

        // A worker that died holding a short lease: once it runs out, the job is claimed again.
        let (job, at) = (id, Timestamp::now());
        store
            .write(move |conn| {
                Box::pin(async move { jobs::retry(conn, job, at, "released").await })
            })
            .await
            .unwrap();
        assert_eq!(jobs::claim(&store, 10, 1).await.unwrap()[0].attempts, 2);
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        let again = jobs::claim(&store, 10, 60_000).await.unwrap();
        assert_eq!((again[0].id, again[0].attempts), (id, 3));

        store
            .write(move |conn| Box::pin(async move { jobs::complete(conn, job).await }))
            .await
            .unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        assert!(jobs::claim(&store, 10, 0).await.unwrap().is_empty());
        let mut conn = store.conn().await.unwrap();
        assert_eq!(
            jobs::pending(&mut conn).await.unwrap(),
            1,
            "the future job waits"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_claimers_never_share_a_job() {
    for store in stores().await {
        for i in 0..60 {
            enqueue(&store, &i.to_string(), Timestamp::now()).await;
        }
        let claimers: Vec<_> = (0..6)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move {
                    let mut got = Vec::new();
                    loop {
                        let batch = jobs::claim(&store, 4, 60_000).await.unwrap();
                        if batch.is_empty() {
                            return got;
                        }
                        got.extend(batch.into_iter().map(|j| j.id));
                    }
                })
            })
            .collect();
        let mut all = Vec::new();
        for c in claimers {
            all.extend(c.await.unwrap());
        }
        let distinct: HashSet<_> = all.iter().collect();
        assert_eq!(
            (all.len(), distinct.len()),
            (60, 60),
            "every job claimed exactly once"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renewed_lease_holds_and_a_released_one_is_claimed_at_once() {
    for store in stores().await {
        let a = enqueue(&store, "a", Timestamp::now()).await;
        let b = enqueue(&store, "b", Timestamp::now()).await;
        let claimed = jobs::claim(&store, 10, 300).await.unwrap();
        assert_eq!(claimed.len(), 2);
        let of = |id| claimed.iter().find(|j| j.id == id).unwrap().attempts;
        // The worker renews a; b's worker "died" and its lease runs out.
        let renewed = jobs::renew(&store, &[(a, of(a))], 60_000).await.unwrap();
        assert_eq!(renewed, 1);
        // A renewal for a claim this worker no longer holds changes nothing.
        assert_eq!(
            jobs::renew(&store, &[(b, of(b) + 7)], 60_000)
                .await
                .unwrap(),
            0
        );
        tokio::time::sleep(std::time::Duration::from_millis(400)).await;
        let again = jobs::claim(&store, 10, 60_000).await.unwrap();
        assert_eq!(
            again.iter().map(|j| j.id).collect::<Vec<_>>(),
            vec![b],
            "a's renewed lease holds, b's expired one is claimed"
        );
        // At start-up, the only worker frees every lease at once: both are due again now.
        assert_eq!(jobs::release_all(&store).await.unwrap(), 2);
        let after_restart: HashSet<_> = jobs::claim(&store, 10, 60_000)
            .await
            .unwrap()
            .into_iter()
            .map(|j| j.id)
            .collect();
        assert_eq!(after_restart, HashSet::from([a, b]));
    }
}
