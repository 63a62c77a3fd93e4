//! Label and document files in an S3-compatible bucket, against a real S3-protocol server on
//! loopback (moto's server, installed from PyPI by scripts/test.sh into target/s3-venv): labels
//! and manifests are written to the bucket (not the data directory), served through signed links
//! and the owner's token, and never to another account.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use consign::config::Layer;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{expect, spawn_app_with};
use crate::labels::{buy, rate_for, us_from, us_to};

/// The S3 server, stopped with the test.
struct S3Server {
    child: Child,
    endpoint: String,
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts moto's S3 server on a free loopback port; `None` when it is not installed.
async fn s3_server() -> Option<S3Server> {
    let bin = std::env::var("CONSIGN_TEST_MOTO").unwrap_or_else(|_| {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../target/s3-venv/bin/moto_server"
        )
        .to_string()
    });
    if !std::path::Path::new(&bin).exists() {
        return None;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(&bin)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("moto_server starts");
    let server = S3Server {
        child,
        endpoint: format!("http://127.0.0.1:{port}"),
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while reqwest::get(&server.endpoint).await.is_err() {
        assert!(Instant::now() < deadline, "the S3 server never answered");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Some(server)
}

// Ignored in plain runs (the summary names it); scripts/test.sh installs the S3 server and runs
// it with --ignored on both databases, where a missing server fails it.
#[ignore = "needs an S3 server: scripts/test.sh installs moto and runs it (or set CONSIGN_TEST_MOTO)"]
#[tokio::test]
async fn label_files_live_in_the_bucket_and_are_served_to_their_owner_only() {
    let Some(s3) = s3_server().await else {
        panic!("no S3 server: run scripts/test.sh (it installs moto), or set CONSIGN_TEST_MOTO");
    };
    let bucket = "consign-labels";
    let created = reqwest::Client::new()
        .put(format!("{}/{bucket}", s3.endpoint))
        .send()
        .await
        .unwrap();
    assert!(created.status().is_success(), "{}", created.status());
    let app = spawn_app_with(Layer {
        s3_bucket: Some(bucket.into()),
        s3_endpoint: Some(s3.endpoint.clone()),
        s3_region: Some("eu-west-1".into()),
        s3_access_key_id: Some("consign".into()),
        s3_secret_access_key: Some("consign-secret".into()),
        s3_prefix: Some("shop-a".into()),
        ..Default::default()
    })
    .await;
    let rate = rate_for(
        &app,
        json!({"address_from": us_from(), "address_to": us_to(), "parcels": [crate::labels::parcel()]}),
        "usps_priority",
    )
    .await;
    let t = buy(&app, json!({"rate": rate, "async": false})).await;
    assert_eq!(t["status"], "SUCCESS", "{t}");
    let url = t["label_url"].as_str().unwrap();
    let signed = reqwest::get(url).await.unwrap();
    assert_eq!(signed.status(), StatusCode::OK);
    let pdf = signed.bytes().await.unwrap();
    assert!(pdf.starts_with(b"%PDF-"));

    // The object is in the bucket under the prefix, byte for byte; nothing in the data directory.
    let key = url
        .split("/files/")
        .nth(1)
        .unwrap()
        .split('?')
        .next()
        .unwrap();
    let config = service::files::S3Config {
        bucket: bucket.into(),
        region: "eu-west-1".into(),
        endpoint: Some(s3.endpoint.clone()),
        access_key_id: Some("consign".into()),
        secret_access_key: Some("consign-secret".into()),
        path_style: true,
        prefix: "shop-a".into(),
    };
    let direct = service::files::S3Blobs::new(&config).unwrap();
    use service::files::BlobStore;
    assert_eq!(direct.get(key).await.unwrap().as_deref(), Some(&pdf[..]));
    let unprefixed = service::files::S3Blobs::new(&service::files::S3Config {
        prefix: String::new(),
        ..config
    })
    .unwrap();
    assert_eq!(
        unprefixed.get(key).await.unwrap(),
        None,
        "kept under the prefix"
    );
    let local = app.data_dir.join("files");
    assert!(!service::files::local::path_of(&local, key)
        .unwrap()
        .exists());

    // The owner's token reads it; another account's token and a live token do not.
    let path_only = url.split('?').next().unwrap();
    let get = |token: String| {
        app.client
            .get(path_only)
            .header("Authorization", format!("ShippoToken {token}"))
            .send()
    };
    let own = get(app.token.clone()).await.unwrap();
    assert_eq!(own.status(), StatusCode::OK);
    assert_eq!(own.bytes().await.unwrap(), pdf);
    let other = app.other_account_token(domain::account::Mode::Test).await;
    assert_eq!(get(other).await.unwrap().status(), StatusCode::NOT_FOUND);
    let live = app.token_in_mode(domain::account::Mode::Live).await;
    assert_eq!(get(live).await.unwrap().status(), StatusCode::NOT_FOUND);

    // A manifest's PDF goes to the bucket too.
    let accounts = expect(
        app.get("/carrier_accounts?carrier=shippo").await,
        StatusCode::OK,
    )
    .await;
    let test_carrier = accounts["results"][0]["object_id"].as_str().unwrap();
    let m = expect(
        app.post_json("/manifests", &json!({"carrier_account": test_carrier, "shipment_date": t["object_created"], "address_from": us_from()})).await,
        StatusCode::CREATED,
    )
    .await;
    let id = m["object_id"].as_str().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let m = loop {
        let m = expect(app.get(&format!("/manifests/{id}")).await, StatusCode::OK).await;
        if m["status"] != "QUEUED" {
            break m;
        }
        assert!(Instant::now() < deadline, "{m}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(m["status"], "SUCCESS", "{m}");
    let doc = reqwest::get(m["documents"][0].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(doc.status(), StatusCode::OK);
    assert!(doc.bytes().await.unwrap().starts_with(b"%PDF-"));
}
