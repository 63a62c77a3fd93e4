//! A real `consign serve` killed with SIGKILL in the middle of async purchases, then restarted:
//! every purchase ends SUCCESS, no rate is bought twice (retries answer the first purchase), no
//! tracking number repeats, and every label file downloads; and the same for a batch killed while
//! validating and again while purchasing. SQLite and PostgreSQL.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{fresh_database, serve};
use crate::labels::{us_from, us_to};

const N: usize = 200;
/// PostgreSQL has no "only worker" to free leases at start-up: a short lease is the wait.
const ENV: &[(&str, &str)] = &[("CONSIGN_JOB_LEASE_S", "3")];

async fn send(client: &Client, token: &str, url: String, body: &Value) -> (StatusCode, Value) {
    let res = client
        .post(url)
        .header("Authorization", format!("ShippoToken {token}"))
        .json(body)
        .send()
        .await
        .expect("the server answers");
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_in_the_middle_of_async_purchases_loses_and_doubles_nothing() {
    let data_dir = std::env::temp_dir().join(format!("consign-crash-{}", domain::ObjectId::new()));
    std::fs::create_dir_all(&data_dir).unwrap();
    std::fs::write(data_dir.join("fresh"), b"").unwrap();
    let database_url = fresh_database(&data_dir).await;
    let (mut first, base, token) = serve(&database_url, &data_dir, ENV);
    let token = token.expect("the first start prints the demo token");
    let client = Client::new();

    // N shipments priced by the test carrier, a rate of each to buy.
    let shipment = json!({"address_from": us_from(), "address_to": us_to(), "async": false,
        "parcels": [{"length": "10", "width": "8", "height": "4", "distance_unit": "in", "weight": "2", "mass_unit": "lb"}]});
    let mut rates = Vec::with_capacity(N);
    for _ in 0..N {
        let (status, s) = send(&client, &token, format!("{base}/shipments"), &shipment).await;
        assert_eq!(status, StatusCode::CREATED, "{s}");
        let rate = s["rates"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["servicelevel"]["token"] == "usps_priority")
            .unwrap_or_else(|| panic!("{s}"));
        rates.push(rate["object_id"].as_str().unwrap().to_string());
    }

    // Buy them all at once (async: QUEUED, a job each) and kill -9 once half are answered.
    let answered: Arc<Mutex<HashMap<String, String>>> = Arc::default();
    let mut buyers = Vec::new();
    for rate in rates.clone() {
        let (client, token, base, answered) = (
            client.clone(),
            token.clone(),
            base.clone(),
            answered.clone(),
        );
        buyers.push(tokio::spawn(async move {
            let body = json!({"rate": rate, "async": true, "label_file_type": "PDF_4x6"});
            let Ok(res) = client
                .post(format!("{base}/transactions"))
                .header("Authorization", format!("ShippoToken {token}"))
                .json(&body)
                .send()
                .await
            else {
                return; // the server died before answering
            };
            if res.status() == StatusCode::CREATED {
                if let Ok(t) = res.json::<Value>().await {
                    let id = t["object_id"].as_str().unwrap_or_default().to_string();
                    answered.lock().unwrap().insert(rate, id);
                }
            }
        }));
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while answered.lock().unwrap().len() < N / 2 {
        assert!(Instant::now() < deadline, "purchases were not answered");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    first.0.kill().unwrap(); // SIGKILL
    first.0.wait().unwrap();
    for b in buyers {
        let _ = b.await;
    }
    let before = answered.lock().unwrap().clone();
    use sqlx::{Connection, Row};
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&database_url).await.unwrap();
    let done_at_kill: i64 =
        sqlx::query("SELECT COUNT(*) AS n FROM transactions WHERE status = 'SUCCESS'")
            .fetch_one(&mut conn)
            .await
            .unwrap()
            .try_get("n")
            .unwrap();
    assert!(
        (done_at_kill as usize) < N,
        "the kill came mid-way ({done_at_kill} of {N} labels made)"
    );

    // Restart on the same database and data directory; clients retry every purchase.
    std::fs::remove_file(data_dir.join("fresh")).unwrap();
    let (_second, base, _) = serve(&database_url, &data_dir, ENV);
    let mut transactions = HashMap::new();
    for rate in &rates {
        let body = json!({"rate": rate, "async": true, "label_file_type": "PDF_4x6"});
        let (status, t) = send(&client, &token, format!("{base}/transactions"), &body).await;
        assert!(status.is_success(), "{status} {t}");
        let id = t["object_id"].as_str().unwrap().to_string();
        if let Some(first_answer) = before.get(rate) {
            assert_eq!(
                &id, first_answer,
                "a retry answers the first purchase of {rate}"
            );
        }
        transactions.insert(rate.clone(), id);
    }

    // Every purchase ends, once.
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut numbers = HashSet::new();
    for id in transactions.values() {
        let t = loop {
            let t: Value = client
                .get(format!("{base}/transactions/{id}"))
                .header("Authorization", format!("ShippoToken {token}"))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if t["status"] == "SUCCESS" || t["status"] == "ERROR" {
                break t;
            }
            assert!(Instant::now() < deadline, "{id} never finished: {t}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert_eq!(t["status"], "SUCCESS", "{t}");
        let number = t["tracking_number"].as_str().unwrap().to_string();
        assert!(numbers.insert(number.clone()), "{number} twice");
        let label = client
            .get(t["label_url"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(label.status(), StatusCode::OK, "{t}");
        let bytes = label.bytes().await.unwrap();
        assert!(bytes.starts_with(b"%PDF-"), "the label of {id} is a PDF");
    }
    assert_eq!(numbers.len(), N);

    // In the database: one transaction per rate, nothing left queued.
    let row = sqlx::query(
        "SELECT COUNT(*) AS n, COUNT(DISTINCT rate_id) AS rates, \
         SUM(CASE WHEN status = 'SUCCESS' THEN 1 ELSE 0 END) AS ok FROM transactions",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    let (n, distinct, ok): (i64, i64, i64) = (
        row.try_get("n").unwrap(),
        row.try_get("rates").unwrap(),
        row.try_get("ok").unwrap(),
    );
    assert_eq!((n, distinct, ok), (N as i64, N as i64, N as i64));
    let _ = std::fs::remove_dir_all(&data_dir);
}

async fn get(client: &Client, token: &str, url: String) -> Value {
    client
        .get(url)
        .header("Authorization", format!("ShippoToken {token}"))
        .send()
        .await
        .expect("the server answers")
        .json()
        .await
        .unwrap()
}

/// Waits until `done(batch)` holds, asking every 10 ms.
async fn watch(client: &Client, token: &str, url: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let b = get(client, token, url.to_string()).await;
        if done(&b) {
            return b;
        }
        assert!(Instant::now() < deadline, "the batch never got there: {b}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_batch_validation_and_purchase_resumes_with_every_label_bought_once() {
    const SHIPMENTS: usize = 1000;
    let data_dir =
        std::env::temp_dir().join(format!("consign-crash-batch-{}", domain::ObjectId::new()));
    std::fs::create_dir_all(&data_dir).unwrap();
    std::fs::write(data_dir.join("fresh"), b"").unwrap();
    let database_url = fresh_database(&data_dir).await;
    let (mut first, base, token) = serve(&database_url, &data_dir, ENV);
    let token = token.expect("the first start prints the demo token");
    let client = Client::new();
    let accounts = get(
        &client,
        &token,
        format!("{base}/carrier_accounts?carrier=shippo"),
    )
    .await;
    let account = accounts["results"][0]["object_id"]
        .as_str()
        .unwrap()
        .to_string();
    let shipment = json!({"address_from": us_from(), "address_to": us_to(),
        "parcels": [{"length": "10", "width": "8", "height": "4", "distance_unit": "in", "weight": "2", "mass_unit": "lb"}]});
    let body = json!({"default_carrier_account": account, "default_servicelevel_token": "usps_priority", "label_filetype": "PDF_4x6",
        "batch_shipments": (0..SHIPMENTS).map(|_| json!({"shipment": shipment})).collect::<Vec<_>>()});
    let (status, b) = send(&client, &token, format!("{base}/batches"), &body).await;
    assert_eq!(status, StatusCode::CREATED, "{b}");
    let url = format!("{base}/batches/{}", b["object_id"].as_str().unwrap());

    // Killed while validating: some shipments made, some not.
    watch(&client, &token, &url, |b| {
        b["pending"].as_i64().unwrap() < SHIPMENTS as i64 - 50
    })
    .await;
    first.0.kill().unwrap();
    first.0.wait().unwrap();
    std::fs::remove_file(data_dir.join("fresh")).unwrap();
    let (mut second, base2, _) = serve(&database_url, &data_dir, ENV);
    let url = url.replace(&base, &base2);
    let valid = watch(&client, &token, &url, |b| b["status"] != "VALIDATING").await;
    assert_eq!(valid["status"], "VALID", "{}", valid["object_results"]);
    assert_eq!(
        valid["object_results"]["creation_succeeded"],
        SHIPMENTS as i64
    );

    // Killed while purchasing: some labels bought, some not.
    let (status, p) = send(&client, &token, format!("{url}/purchase"), &json!({})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{p}");
    watch(&client, &token, &url, |b| {
        let n = b["object_results"]["purchase_succeeded"].as_i64().unwrap();
        n > 50 || b["status"] == "PURCHASED"
    })
    .await;
    second.0.kill().unwrap();
    second.0.wait().unwrap();
    use sqlx::{Connection, Row};
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&database_url).await.unwrap();
    let at_kill: i64 = sqlx::query("SELECT COUNT(*) AS n FROM transactions")
        .fetch_one(&mut conn)
        .await
        .unwrap()
        .try_get("n")
        .unwrap();
    assert!(
        (at_kill as usize) < SHIPMENTS,
        "the kill came mid-way ({at_kill} of {SHIPMENTS} labels)"
    );
    let (_third, base3, _) = serve(&database_url, &data_dir, ENV);
    let url = url.replace(&base2, &base3);
    let done = watch(&client, &token, &url, |b| b["status"] == "PURCHASED").await;
    assert_eq!(
        done["object_results"]["purchase_succeeded"],
        SHIPMENTS as i64
    );
    assert_eq!(done["object_results"]["purchase_failed"], 0);
    let files = done["label_url"].as_array().unwrap();
    assert_eq!(files.len(), SHIPMENTS / 100);
    for f in files {
        let pdf = client.get(f.as_str().unwrap()).send().await.unwrap();
        assert_eq!(pdf.status(), StatusCode::OK);
        assert!(pdf.bytes().await.unwrap().starts_with(b"%PDF-"));
    }

    // One label per batch shipment: no rate bought twice, none lost.
    let row = sqlx::query(
        "SELECT COUNT(*) AS n, COUNT(DISTINCT rate_id) AS rates, COUNT(DISTINCT tracking_number) AS numbers FROM transactions WHERE status = 'SUCCESS'",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    let (n, rates, numbers): (i64, i64, i64) = (
        row.try_get("n").unwrap(),
        row.try_get("rates").unwrap(),
        row.try_get("numbers").unwrap(),
    );
    assert_eq!(
        (n, rates, numbers),
        (SHIPMENTS as i64, SHIPMENTS as i64, SHIPMENTS as i64)
    );
    let linked: i64 = sqlx::query(
        "SELECT COUNT(DISTINCT transaction_id) AS n FROM batch_shipments WHERE removed = 0",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap()
    .try_get("n")
    .unwrap();
    assert_eq!(linked, SHIPMENTS as i64);
    let _ = std::fs::remove_dir_all(&data_dir);
}
