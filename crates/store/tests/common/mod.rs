//! What the store's integration tests share: a migrated store on SQLite, and on PostgreSQL too
//! when `CONSIGN_TEST_DATABASE_URL` names a server (a fresh database each time).

use consign_store::Store;
use domain::ObjectId;
use sqlx::Connection;

/// (store, its URL for independent connections), SQLite first; `name` tells the runs apart.
pub async fn stores(name: &str) -> Vec<(Store, String)> {
    let dir = std::env::temp_dir().join(format!(
        "consign-{name}-{}-{}",
        std::process::id(),
        ObjectId::new()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let mut urls = vec![format!("sqlite://{}?mode=rwc", dir.join("t.db").display())];
    if let Some(server) = std::env::var("CONSIGN_TEST_DATABASE_URL")
        .ok()
        .filter(|u| u.starts_with("postgres"))
    {
        let db = format!("consign_test_{name}_{}", ObjectId::new());
        let mut conn = sqlx::PgConnection::connect(&server).await.unwrap();
        sqlx::query(&format!("CREATE DATABASE {db}"))
            .execute(&mut conn)
            .await
            .unwrap();
        urls.push(format!("{}/{db}", server.rsplit_once('/').unwrap().0));
    }
    let mut out = Vec::new();
    for url in urls {
        let store = Store::connect(&url, 4).await.unwrap();
        store.migrate().await.unwrap();
        out.push((store, url));
    }
    out
}
