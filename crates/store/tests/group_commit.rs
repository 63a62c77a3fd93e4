//! Group commit on SQLite: concurrent use cases share transactions, yet each succeeds or fails
//! alone, and every success that was answered is stored.

use consign_store::{accounts, Store, StoreError};

async fn fresh_sqlite() -> Store {
    let dir = std::env::temp_dir().join(format!(
        "consign-store-test-{}-{}",
        std::process::id(),
        domain::ObjectId::new()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let store = Store::connect(
        &format!("sqlite://{}?mode=rwc", dir.join("t.db").display()),
        4,
    )
    .await
    .unwrap();
    store.migrate().await.unwrap();
    store
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writes_fail_alone_and_successes_are_kept() {
    let store = fresh_sqlite().await;
    // 300 concurrent account creations over 200 distinct names: 100 must fail with a conflict,
    // without taking the other writes of their batch down with them.
    let tasks: Vec<_> = (0..300)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let name = format!("acct-{}", i % 200);
                store
                    .write(move |conn| {
                        Box::pin(async move { accounts::create_account(conn, &name).await })
                    })
                    .await
            })
        })
        .collect();
    let mut ok = 0;
    let mut conflicts = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            Err(StoreError::Conflict(_)) => conflicts += 1,
            Err(e) => panic!("unexpected error: {e}"),
        }
    }
    assert_eq!((ok, conflicts), (200, 100));
    let mut conn = store.conn().await.unwrap();
    assert_eq!(accounts::count_accounts(&mut conn).await.unwrap(), 200);
}

#[tokio::test]
async fn a_failed_use_case_leaves_nothing_behind() {
    let store = fresh_sqlite().await;
    let result: Result<(), StoreError> = store
        .write(|conn| {
            Box::pin(async move {
                accounts::create_account(conn, "kept-only-if-all-succeeds").await?;
                accounts::create_account(conn, "kept-only-if-all-succeeds").await?; // conflict
                Ok(())
            })
        })
        .await;
    assert!(matches!(result, Err(StoreError::Conflict(_))));
    let mut conn = store.conn().await.unwrap();
    assert_eq!(
        accounts::count_accounts(&mut conn).await.unwrap(),
        0,
        "the first insert was rolled back with its savepoint"
    );
}

#[tokio::test]
async fn a_panicking_use_case_fails_alone_and_the_writer_lives_on() {
    let store = fresh_sqlite().await;
    let panicked: Result<(), StoreError> = store
        .write(|conn| {
            Box::pin(async move {
                accounts::create_account(conn, "half-done").await?;
                panic!("a bug in a use case");
            })
        })
        .await;
    assert!(
        matches!(panicked, Err(StoreError::Commit(_))),
        "{panicked:?}"
    );
    store
        .write(|conn| Box::pin(async move { accounts::create_account(conn, "after").await }))
        .await
        .expect("the writer still works");
    let mut conn = store.conn().await.unwrap();
    assert_eq!(
        accounts::count_accounts(&mut conn).await.unwrap(),
        1,
        "the panicking use case left nothing"
    );
}
