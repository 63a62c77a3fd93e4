//! Load benchmark of tracking and webhooks against a running Consign (driven by
//! `bench/tracking.sh`, which starts the release server with private webhooks allowed):
//!
//! 1. bulk scan ingest: requests of 1,000 events from 4 connections for DURATION → events/s;
//! 2. single scans from 32 connections for DURATION → req/s, p50, p99;
//! 3. webhook deliveries/s: 2 × 1,000 parcels moved at once, each a signed delivery to a local
//!    receiver; from the first scan to the last delivery received;
//! 4. scan → webhook latency: 200 single scans, 20 a second, each timed from the request to
//!    its delivery's arrival → p50, p99.
//!
//! Any error, rejected scan or missing delivery aborts the run.
//!
//!   cargo run --release -p consign --example tracking_load -- BASE_URL TOKEN [SECONDS]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use reqwest::Client;
use serde_json::{json, Value};

type Arrivals = Arc<Mutex<HashMap<String, Instant>>>;

const LABELS: usize = 2000;

fn fail(what: impl std::fmt::Display) -> ! {
    eprintln!("tracking_load: {what}");
    std::process::exit(1)
}

async fn call(client: &Client, req: reqwest::RequestBuilder, want: u16) -> Value {
    let _ = client;
    let res = req.send().await.unwrap_or_else(|e| fail(e));
    let status = res.status().as_u16();
    let body = res.text().await.unwrap_or_default();
    if status != want {
        fail(format!("expected {want}, got {status}: {body}"));
    }
    serde_json::from_str(&body).unwrap_or(Value::Null)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// The receiver: notes when each delivery (keyed by tracking number and status date) arrived.
async fn receive(State(arrivals): State<Arrivals>, _: HeaderMap, body: Bytes) -> &'static str {
    let now = Instant::now();
    if let Ok(v) = serde_json::from_slice::<Value>(&body) {
        let data = &v["data"];
        let key = format!(
            "{}|{}",
            data["tracking_number"].as_str().unwrap_or_default(),
            data["tracking_status"]["status_date"]
                .as_str()
                .unwrap_or_default()
        );
        arrivals.lock().unwrap().insert(key, now);
    }
    "ok"
}

/// A time `n` seconds after a fixed start 20 days ago (so every event is in the past and
/// distinct per label).
fn at(base: i64, n: i64) -> String {
    domain::Timestamp::from_millis(base + n * 1000).to_string()
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (base, token) = match (args.get(1), args.get(2)) {
        (Some(b), Some(t)) => (b.trim_end_matches('/').to_string(), t.clone()),
        _ => fail("usage: tracking_load BASE_URL TOKEN [SECONDS]"),
    };
    let seconds: u64 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(5);
    let client = Client::builder()
        .pool_max_idle_per_host(64)
        .build()
        .unwrap();
    let auth = format!("ShippoToken {token}");

    // The demo courier, a scan key, and LABELS labels to scan.
    let accounts = call(
        &client,
        client
            .get(format!("{base}/carrier_accounts?results=100"))
            .header("Authorization", &auth),
        200,
    )
    .await;
    let courier = accounts["results"]
        .as_array()
        .and_then(|a| a.iter().find(|c| c["carrier"] == "ratecard"))
        .unwrap_or_else(|| {
            fail("the token's account has no rate-card carrier account (use the demo account)")
        })["object_id"]
        .as_str()
        .unwrap()
        .to_string();
    let key = call(
        &client,
        client
            .post(format!("{base}/carrier_accounts/{courier}/scan_keys"))
            .header("Authorization", &auth),
        201,
    )
    .await["key"]
        .as_str()
        .unwrap()
        .to_string();
    let scan_auth = format!("Bearer {key}");
    let shipment: Value = serde_json::from_str(consign::cli::DEMO_SHIPMENT).unwrap();
    let numbers: Vec<String> = futures_util::future::join_all((0..32).map(|w| {
        let (client, base, auth, courier, shipment) = (
            client.clone(),
            base.clone(),
            auth.clone(),
            courier.clone(),
            shipment.clone(),
        );
        async move {
            let mut mine = Vec::new();
            for _ in (w..LABELS).step_by(32) {
                let mut body = shipment.clone();
                body["carrier_accounts"] = json!([courier]);
                let s = call(
                    &client,
                    client
                        .post(format!("{base}/shipments"))
                        .header("Authorization", &auth)
                        .json(&body),
                    201,
                )
                .await;
                let rate = s["rates"][0]["object_id"]
                    .as_str()
                    .unwrap_or_else(|| fail(format!("no rate: {s}")))
                    .to_string();
                let t = call(
                    &client,
                    client
                        .post(format!("{base}/transactions"))
                        .header("Authorization", &auth)
                        .json(&json!({"rate": rate, "async": false})),
                    201,
                )
                .await;
                mine.push(t["tracking_number"].as_str().unwrap().to_string());
            }
            mine
        }
    }))
    .await
    .into_iter()
    .flatten()
    .collect();
    let numbers = Arc::new(numbers);
    let base_ms = domain::Timestamp::now().millis() - 20 * 86_400_000;
    let counter = Arc::new(std::sync::atomic::AtomicI64::new(0));
    let next = {
        let counter = counter.clone();
        move || counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    };

    // 1. Bulk ingest.
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let events: usize = futures_util::future::join_all((0..4).map(|_| {
        let (client, base, scan_auth, numbers, next) = (client.clone(), base.clone(), scan_auth.clone(), numbers.clone(), next.clone());
        async move {
            let mut sent = 0;
            while Instant::now() < deadline {
                let batch: Vec<Value> = (0..1000)
                    .map(|_| {
                        let n = next();
                        json!({"tracking_number": numbers[n as usize % LABELS], "status": "TRANSIT", "substatus": "package_processed",
                               "occurred_at": at(base_ms, n), "location": {"city": "Santiago", "country": "CL"}})
                    })
                    .collect();
                let out = call(&client, client.post(format!("{base}/scans")).header("Authorization", &scan_auth).json(&json!({"events": batch})), 200).await;
                if out["accepted"] != 1000 {
                    fail(format!("a bulk request was not fully accepted: {}", out["rejected"]));
                }
                sent += 1000;
            }
            sent
        }
    }))
    .await
    .into_iter()
    .sum();
    let bulk_rate = events as f64 / started.elapsed().as_secs_f64();

    // 2. Single scans.
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut lat: Vec<f64> = futures_util::future::join_all((0..32).map(|_| {
        let (client, base, scan_auth, numbers, next) = (client.clone(), base.clone(), scan_auth.clone(), numbers.clone(), next.clone());
        async move {
            let mut lat = Vec::new();
            while Instant::now() < deadline {
                let n = next();
                let t0 = Instant::now();
                call(&client, client.post(format!("{base}/scans")).header("Authorization", &scan_auth)
                    .json(&json!({"tracking_number": numbers[n as usize % LABELS], "status": "TRANSIT", "occurred_at": at(base_ms, n)})), 201).await;
                lat.push(t0.elapsed().as_secs_f64() * 1000.0);
            }
            lat
        }
    }))
    .await
    .into_iter()
    .flatten()
    .collect();
    let single_rate = lat.len() as f64 / started.elapsed().as_secs_f64();
    lat.sort_by(f64::total_cmp);

    // A local receiver and a webhook to it.
    let arrivals: Arrivals = Arc::default();
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(receive))
        .with_state(arrivals.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook_url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    call(
        &client,
        client
            .post(format!("{base}/webhooks"))
            .header("Authorization", &auth)
            .json(&json!({"url": hook_url, "event": "track_updated"})),
        201,
    )
    .await;

    // 3. Deliveries per second: 2 × 1,000 parcels move at once.
    let started = Instant::now();
    let mut expected = 0;
    for _ in 0..2 {
        let batch: Vec<Value> = (0..1000)
            .map(|i| {
                let n = next();
                json!({"tracking_number": numbers[i], "status": "TRANSIT", "occurred_at": at(base_ms, n)})
            })
            .collect();
        let out = call(
            &client,
            client
                .post(format!("{base}/scans"))
                .header("Authorization", &scan_auth)
                .json(&json!({"events": batch})),
            200,
        )
        .await;
        if out["accepted"] != 1000 {
            fail("the delivery batch was not fully accepted");
        }
        expected += 1000;
    }
    let wait_until = Instant::now() + Duration::from_secs(120);
    while arrivals.lock().unwrap().len() < expected {
        if Instant::now() > wait_until {
            fail(format!(
                "only {} of {expected} deliveries arrived in 120 s",
                arrivals.lock().unwrap().len()
            ));
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let last = arrivals.lock().unwrap().values().max().copied().unwrap();
    let delivery_rate = expected as f64 / (last - started).as_secs_f64();

    // 4. Scan → webhook latency.
    arrivals.lock().unwrap().clear();
    let mut sent_at = Vec::new();
    for k in 0..200usize {
        let n = next();
        let occurred = at(base_ms, n);
        let number = numbers[k % LABELS].clone();
        let t0 = Instant::now();
        call(&client, client.post(format!("{base}/scans")).header("Authorization", &scan_auth)
            .json(&json!({"tracking_number": number, "status": "TRANSIT", "occurred_at": occurred})), 201).await;
        sent_at.push((
            format!("{number}|{}", domain::Timestamp::parse(&occurred).unwrap()),
            t0,
        ));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let arrived = arrivals.lock().unwrap().clone();
    let mut e2e: Vec<f64> = sent_at
        .iter()
        .map(|(key, t0)| {
            let t1 = arrived
                .get(key)
                .unwrap_or_else(|| fail(format!("no delivery for {key}")));
            (*t1 - *t0).as_secs_f64() * 1000.0
        })
        .collect();
    e2e.sort_by(f64::total_cmp);

    println!("| measure | value |");
    println!("|---|---|");
    println!(
        "| bulk scan ingest (1,000 events a request, 4 connections) | {bulk_rate:.0} events/s |"
    );
    println!(
        "| single scans (32 connections) | {single_rate:.0} req/s, p50 {:.2} ms, p99 {:.2} ms |",
        percentile(&lat, 0.5),
        percentile(&lat, 0.99)
    );
    println!("| webhook deliveries to a local receiver (2,000 queued at once) | {delivery_rate:.0} deliveries/s |");
    println!(
        "| scan → webhook arrival (200 scans, 20/s) | p50 {:.2} ms, p99 {:.2} ms |",
        percentile(&e2e, 0.5),
        percentile(&e2e, 0.99)
    );
}
