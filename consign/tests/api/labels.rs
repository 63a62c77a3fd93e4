//! Seed 002 "Transactions", "Refunds", "Manifests": labels bought, downloaded and read back the
//! way machines read them (poppler and zbar), bought once however often a purchase is retried,
//! refunded, and closed out on a manifest.

use std::process::Command;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{expect, is_object_id, spawn_app, TestApp};

/// A courier's card with S10 tracking numbers (CT········PT, UPU mod-11 check digit).
pub(crate) const CARD: &str = "\
record,fields
card,Correio Teste,EUR,kg,cm
service,std,Normal,2-3 dias úteis,2,yes,yes,5000,30,150,
zone,PT,Portugal,PT,PT
zone,EU,Europa,PT,PL
price,std,PT,5,6.90
price,std,EU,5,19.90
tracking,CT,8,PT,s10
";

pub(crate) async fn courier(app: &TestApp) -> String {
    let a = expect(
        app.post_json(
            "/carrier_accounts",
            &json!({"carrier": "ratecard", "account_id": "correio-teste", "parameters": {}}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let id = a["object_id"].as_str().unwrap().to_string();
    let res = app
        .client
        .put(app.url(&format!("/carrier_accounts/{id}/rate_card")))
        .header("Authorization", format!("ShippoToken {}", app.token))
        .header("content-type", "text/csv")
        .body(CARD)
        .send()
        .await
        .unwrap();
    expect(res, StatusCode::OK).await;
    id
}

pub(crate) fn lisboa() -> Value {
    json!({"name": "Loja Lisboa", "street1": "Rua Augusta 100", "city": "Lisboa", "zip": "1100-053", "country": "PT", "email": "loja@example.pt"})
}

pub(crate) fn porto() -> Value {
    json!({"name": "Ana Conceição", "street1": "Rua de Santa Catarina 1", "city": "Porto", "zip": "4000-447", "country": "PT"})
}

fn lodz() -> Value {
    json!({"name": "Łukasz Żółw", "street1": "ul. Piotrkowska 12", "city": "Łódź", "zip": "90-001", "country": "PL"})
}

pub(crate) fn us_from() -> Value {
    json!({"name": "Shawn Ippotle", "street1": "215 Clayton St.", "city": "San Francisco", "state": "CA", "zip": "94117", "country": "US"})
}

pub(crate) fn us_to() -> Value {
    json!({"name": "Mr Hippo", "street1": "965 Mission St", "city": "New York", "state": "NY", "zip": "10001", "country": "US"})
}

pub(crate) fn parcel() -> Value {
    json!({"length": "20", "width": "15", "height": "10", "distance_unit": "cm", "weight": "1.5", "mass_unit": "kg"})
}

fn declaration() -> Value {
    json!({
        "contents_type": "MERCHANDISE", "non_delivery_option": "RETURN", "certify": true, "certify_signer": "Ana Conceição",
        "incoterm": "DDU", "invoice": "INV-77",
        "items": [{"description": "T-shirt, cotton", "quantity": 2, "net_weight": "0.4", "mass_unit": "kg",
                   "value_amount": "40.00", "value_currency": "EUR", "origin_country": "PT", "tariff_number": "6109.10"}]
    })
}

/// A shipment's rate for `token`.
pub(crate) async fn rate_for(app: &TestApp, body: Value, token: &str) -> String {
    let s = expect(
        app.post_json("/shipments", &body).await,
        StatusCode::CREATED,
    )
    .await;
    let rate = s["rates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["servicelevel"]["token"] == token);
    rate.unwrap_or_else(|| panic!("no {token} rate: {s}"))["object_id"]
        .as_str()
        .unwrap()
        .to_string()
}

pub(crate) async fn buy(app: &TestApp, body: Value) -> Value {
    expect(
        app.post_json("/transactions", &body).await,
        StatusCode::CREATED,
    )
    .await
}

/// Downloads a URL with no credentials (a signed link).
pub(crate) async fn download(app: &TestApp, url: &str) -> (String, Vec<u8>) {
    let res = app.client.get(url).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK, "{url}");
    let kind = res.headers()["content-type"].to_str().unwrap().to_string();
    (kind, res.bytes().await.unwrap().to_vec())
}

pub(crate) fn scratch(name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("consign-labels-{}", domain::ObjectId::new()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

pub(crate) fn tool(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{cmd} (poppler-utils / zbar-tools): {e}"));
    assert!(
        out.status.success(),
        "{cmd}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The Code 128 payloads zbar finds in a PNG, or in a PDF's first page rasterised at 300 dpi.
pub(crate) fn code128(path: &std::path::Path) -> Vec<String> {
    let image = if path.extension().unwrap() == "pdf" {
        let prefix = path.with_extension("");
        tool(
            "pdftoppm",
            &[
                "-r",
                "300",
                "-f",
                "1",
                "-l",
                "1",
                "-singlefile",
                "-png",
                path.to_str().unwrap(),
                prefix.to_str().unwrap(),
            ],
        );
        prefix.with_extension("png")
    } else {
        path.to_path_buf()
    };
    tool("zbarimg", &["-q", image.to_str().unwrap()])
        .lines()
        .filter_map(|l| l.strip_prefix("CODE-128:"))
        .map(str::to_string)
        .collect()
}

/// The UPU S10 check digit of an 8-digit serial.
fn s10_check(serial: &str) -> char {
    let weights = [8, 6, 4, 2, 3, 5, 9, 7];
    let sum: u32 = serial
        .chars()
        .zip(weights)
        .map(|(c, w)| c.to_digit(10).unwrap() * w)
        .sum();
    match 11 - sum % 11 {
        10 => '0',
        11 => '5',
        d => char::from_digit(d, 10).unwrap(),
    }
}

#[tokio::test]
async fn a_bought_label_is_a_scannable_pdf_behind_a_signed_link_and_the_owners_token_only() {
    let app = spawn_app().await;
    let rate = rate_for(
        &app,
        json!({"address_from": us_from(), "address_to": us_to(), "parcels": [parcel()]}),
        "usps_priority",
    )
    .await;
    let t = buy(&app, json!({"rate": rate, "label_file_type": "PDF_4x6", "async": false, "metadata": "Order 1001"})).await;
    assert_eq!(t["status"], "SUCCESS", "{t}");
    assert!(is_object_id(&t["object_id"]));
    assert_eq!(t["rate"], rate.as_str());
    assert_eq!(t["created_by"], Value::Null, "the SDK needs the key");
    assert_eq!(t["test"], true);
    assert_eq!(t["metadata"], "Order 1001");
    assert_eq!(t["label_file_type"], "PDF_4x6");
    assert_eq!(t["tracking_status"], "UNKNOWN");
    let number = t["tracking_number"].as_str().unwrap();
    assert!(
        number.starts_with("92055901755477") && number.len() == 26,
        "a Shippo-style test number: {number}"
    );
    // The page of this parcel: /track/{carrier account}/{number}.
    let page = t["tracking_url_provider"].as_str().unwrap();
    let scoped: Vec<&str> = page.rsplit('/').take(3).collect();
    assert_eq!(scoped[0], number, "{page}");
    assert_eq!(scoped[1].len(), 32, "a carrier account id: {page}");
    assert_eq!(scoped[2], "track", "{page}");
    assert_eq!(t["commercial_invoice_url"], "", "domestic: no invoice");

    let url = t["label_url"].as_str().unwrap();
    assert!(
        url.starts_with(&app.base) && url.contains("signature="),
        "{url}"
    );
    let (kind, pdf) = download(&app, url).await;
    assert_eq!(kind, "application/pdf");
    let path = scratch("label.pdf", &pdf);
    assert_eq!(
        code128(&path),
        vec![number.to_string()],
        "the barcode is the tracking number"
    );
    let text = tool("pdftotext", &[path.to_str().unwrap(), "-"]);
    assert!(
        text.contains("Mr Hippo") && text.contains("SAMPLE") && text.contains("Priority"),
        "{text}"
    );
    // US addresses in USPS order, city and state upper-cased, for sender and recipient.
    assert!(
        text.contains("NEW YORK NY 10001") && text.contains("SAN FRANCISCO CA 94117"),
        "{text}"
    );

    // The owner's token works without a signature; another account never sees the file.
    let path_only = url.split('?').next().unwrap();
    let own = app
        .client
        .get(path_only)
        .header("Authorization", format!("ShippoToken {}", app.token))
        .send()
        .await
        .unwrap();
    assert_eq!(own.status(), StatusCode::OK);
    assert_eq!(own.bytes().await.unwrap().to_vec(), pdf);
    let other = app.other_account_token(domain::account::Mode::Test).await;
    let res = app
        .client
        .get(path_only)
        .header("Authorization", format!("ShippoToken {other}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    // A live token of the same account does not read a test label either.
    let live = app.token_in_mode(domain::account::Mode::Live).await;
    let res = app
        .client
        .get(path_only)
        .header("Authorization", format!("ShippoToken {live}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "not_found", "{body}");
    let anonymous = app.client.get(path_only).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let forged = url.replace("signature=", "signature=00");
    let res = app.client.get(&forged).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let body: Value = res.json().await.unwrap();
    assert!(
        body["detail"].as_str().unwrap().contains("expired"),
        "{body}"
    );
    // An expiry that is no number is an invalid link too, answered as JSON like the others.
    let res = app
        .client
        .get(format!(
            "{path_only}?expires=9223372036854775808&signature=00"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "link_invalid", "{body}");
    // The other account cannot read the transaction either.
    let res = app
        .get_as(
            &other,
            &format!("/transactions/{}", t["object_id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn every_label_file_type_downloads_with_its_media_type_and_size_and_scans() {
    let app = spawn_app().await;
    let formats = [
        "PNG",
        "PNG_2.3x7.5",
        "PDF",
        "PDF_2.3x7.5",
        "PDF_4x6",
        "PDF_4x8",
        "PDF_A4",
        "PDF_A5",
        "PDF_A6",
        "ZPLII",
    ];
    for format in formats {
        let rate = rate_for(
            &app,
            json!({"address_from": us_from(), "address_to": us_to(), "parcels": [parcel()]}),
            "usps_ground_advantage",
        )
        .await;
        let t = buy(
            &app,
            json!({"rate": rate, "label_file_type": format, "async": false}),
        )
        .await;
        assert_eq!(t["status"], "SUCCESS", "{format}: {t}");
        assert_eq!(t["label_file_type"], format);
        let number = t["tracking_number"].as_str().unwrap().to_string();
        let (kind, bytes) = download(&app, t["label_url"].as_str().unwrap()).await;
        match format {
            "ZPLII" => {
                assert_eq!(kind, "application/zpl");
                let zpl = String::from_utf8(bytes).unwrap();
                assert!(
                    zpl.starts_with("^XA") && zpl.contains(&format!("^FD>;{number}^FS")),
                    "{zpl}"
                );
            }
            f if f.starts_with("PNG") => {
                assert_eq!(kind, "image/png");
                let path = scratch("label.png", &bytes);
                let (w, h) = if f == "PNG" { (812, 1218) } else { (467, 1523) };
                let info = tool("file", &[path.to_str().unwrap()]);
                assert!(
                    info.contains(&format!("{w} x {h}")),
                    "{f} is {w}×{h} at 203 dpi: {info}"
                );
                assert_eq!(code128(&path), vec![number.clone()], "{f}");
            }
            f => {
                assert_eq!(kind, "application/pdf", "{f}");
                assert_eq!(
                    code128(&scratch("label.pdf", &bytes)),
                    vec![number.clone()],
                    "{f}"
                );
            }
        }
    }
}

#[tokio::test]
async fn international_labels_need_a_declaration_and_come_with_a_commercial_invoice() {
    let app = spawn_app().await;
    let account = courier(&app).await;
    let rate = rate_for(&app, json!({"address_from": porto(), "address_to": lodz(), "parcels": [parcel()], "carrier_accounts": [account]}), "std").await;
    let res = app
        .post_json("/transactions", &json!({"rate": rate, "async": false}))
        .await;
    let body = expect(res, StatusCode::BAD_REQUEST).await;
    assert!(body.to_string().contains("customs declaration"), "{body}");

    let rate = rate_for(
        &app,
        json!({"address_from": porto(), "address_to": lodz(), "parcels": [parcel()], "carrier_accounts": [account], "customs_declaration": declaration()}),
        "std",
    )
    .await;
    let t = buy(
        &app,
        json!({"rate": rate, "async": false, "label_file_type": "PDF_A6"}),
    )
    .await;
    assert_eq!(t["status"], "SUCCESS", "{t}");
    let number = t["tracking_number"].as_str().unwrap();
    // S10: CT + 8 digits + check digit + PT.
    assert!(
        number.starts_with("CT") && number.ends_with("PT") && number.len() == 13,
        "{number}"
    );
    assert_eq!(
        number.chars().nth(10).unwrap(),
        s10_check(&number[2..10]),
        "{number}"
    );
    let (_, label) = download(&app, t["label_url"].as_str().unwrap()).await;
    let label = scratch("label.pdf", &label);
    assert_eq!(code128(&label), vec![number.to_string()]);
    let text = tool("pdftotext", &[label.to_str().unwrap(), "-"]);
    assert!(
        text.contains("90-001 Łódź") && text.contains("Łukasz Żółw"),
        "Poland: postcode, then the city: {text}"
    );

    let (kind, invoice) = download(&app, t["commercial_invoice_url"].as_str().unwrap()).await;
    assert_eq!(kind, "application/pdf");
    let invoice = scratch("invoice.pdf", &invoice);
    let info = tool("pdfinfo", &[invoice.to_str().unwrap()]);
    assert!(info.contains("612 x 792 pts"), "8.5 × 11 in: {info}");
    let text = tool("pdftotext", &["-layout", invoice.to_str().unwrap(), "-"]);
    for needle in [
        "Commercial Invoice",
        "INV-77",
        "T-shirt, cotton",
        "6109.10",
        "40.00 EUR",
        "TOTAL 40.00 EUR",
        "DDU",
        "Ana Conceição",
        "4000-447 Porto",
        "90-001 Łódź",
        number,
    ] {
        assert!(text.contains(needle), "invoice lacks {needle}: {text}");
    }
}

#[tokio::test]
async fn a_rate_is_bought_once_however_often_or_concurrently_the_purchase_is_retried() {
    let app = spawn_app().await;
    let rate = rate_for(
        &app,
        json!({"address_from": us_from(), "address_to": us_to(), "parcels": [parcel()]}),
        "usps_priority",
    )
    .await;
    let attempts = (0..12).map(|_| {
        let app = &app;
        let rate = rate.clone();
        async move { buy(app, json!({"rate": rate, "async": false})).await }
    });
    let answers = futures_util::future::join_all(attempts).await;
    let first = &answers[0];
    for a in &answers {
        assert_eq!(
            a["object_id"], first["object_id"],
            "one transaction for one rate"
        );
        assert_eq!(a["tracking_number"], first["tracking_number"]);
    }
    let list = expect(
        app.get(&format!("/transactions?rate={rate}")).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(list["count"], 1, "{list}");

    // The same Idempotency-Key answers the first purchase; reused for another rate it is refused.
    let other = rate_for(
        &app,
        json!({"address_from": us_from(), "address_to": us_to(), "parcels": [parcel()]}),
        "usps_priority",
    )
    .await;
    let send = |rate: String| {
        app.client
            .post(app.url("/transactions"))
            .header("Authorization", format!("ShippoToken {}", app.token))
            .header("Idempotency-Key", "order-1001-label")
            .json(&json!({"rate": rate, "async": false}))
            .send()
    };
    let a = expect(send(other.clone()).await.unwrap(), StatusCode::CREATED).await;
    let b = expect(send(other.clone()).await.unwrap(), StatusCode::CREATED).await;
    assert_eq!(a["object_id"], b["object_id"]);
    let third = rate_for(
        &app,
        json!({"address_from": us_from(), "address_to": us_to(), "parcels": [parcel()]}),
        "usps_priority",
    )
    .await;
    let conflict = expect(send(third).await.unwrap(), StatusCode::CONFLICT).await;
    assert!(
        conflict.to_string().contains("Idempotency-Key"),
        "{conflict}"
    );
}

#[tokio::test]
async fn async_purchases_answer_queued_and_the_worker_makes_the_label() {
    let app = spawn_app().await;
    let rate = rate_for(
        &app,
        json!({"address_from": us_from(), "address_to": us_to(), "parcels": [parcel()]}),
        "usps_priority",
    )
    .await;
    // The SDK's default: async true.
    let t = buy(&app, json!({"rate": rate})).await;
    assert_eq!(t["status"], "QUEUED", "{t}");
    assert_eq!(t["label_url"], "");
    assert_eq!(t["tracking_status"], Value::Null);
    let id = t["object_id"].as_str().unwrap();
    let done = poll(&app, &format!("/transactions/{id}"), "status", "SUCCESS").await;
    assert_eq!(done["label_file_type"], "PDF_4x6", "the account's default");
    let (kind, _) = download(&app, done["label_url"].as_str().unwrap()).await;
    assert_eq!(kind, "application/pdf");
}

/// GETs `path` until `field` is `want` (or fails after 10 s).
pub(crate) async fn poll(app: &TestApp, path: &str, field: &str, want: &str) -> Value {
    for _ in 0..100 {
        let v = expect(app.get(path).await, StatusCode::OK).await;
        if v[field] == want {
            return v;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("{path} never reached {field} = {want}");
}

#[tokio::test]
async fn instalabel_buys_a_whole_shipment_in_one_call() {
    let app = spawn_app().await;
    let accounts = expect(
        app.get("/carrier_accounts?carrier=shippo").await,
        StatusCode::OK,
    )
    .await;
    let account = accounts["results"][0]["object_id"].as_str().unwrap();
    let t = buy(
        &app,
        json!({"shipment": {"address_from": us_from(), "address_to": us_to(), "parcels": [parcel()]},
               "carrier_account": account, "servicelevel_token": "usps_priority", "label_file_type": "ZPLII"}),
    )
    .await;
    assert_eq!(
        t["status"], "SUCCESS",
        "instalabel defaults to async false: {t}"
    );
    assert_eq!(t["rate"]["servicelevel_token"], "usps_priority");
    assert_eq!(t["rate"]["carrier_account"], account);
    assert!(
        t["rate"]["amount"]
            .as_str()
            .unwrap()
            .parse::<f64>()
            .unwrap()
            > 0.0
    );
    let res = app
        .post_json(
            "/transactions",
            &json!({"shipment": {"address_from": us_from(), "address_to": us_to(), "parcels": [parcel()]},
                    "carrier_account": account, "servicelevel_token": "fedex_ground"}),
        )
        .await;
    let body = expect(res, StatusCode::BAD_REQUEST).await;
    assert!(
        body.to_string().contains("usps_priority"),
        "names what is offered: {body}"
    );
}

#[tokio::test]
async fn bad_purchases_are_refused_with_the_field_and_the_reason() {
    let app = spawn_app().await;
    let body = expect(
        app.post_json("/transactions", &json!({})).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(body.to_string().contains("rate"), "{body}");
    let body = expect(
        app.post_json(
            "/transactions",
            &json!({"rate": "0123456789abcdef0123456789abcdef"}),
        )
        .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(body.to_string().contains("No rate"), "{body}");
    let rate = rate_for(
        &app,
        json!({"address_from": us_from(), "address_to": us_to(), "parcels": [parcel()]}),
        "usps_priority",
    )
    .await;
    let body = expect(
        app.post_json(
            "/transactions",
            &json!({"rate": rate, "label_file_type": "GIF"}),
        )
        .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(
        body.to_string().contains("PDF_4x6"),
        "lists the types: {body}"
    );
    let body = expect(
        app.post_json(
            "/transactions",
            &json!({"rate": rate, "metadata": "x".repeat(101)}),
        )
        .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(body.to_string().contains("100"), "{body}");

    // A quote shipment's rate cannot be bought.
    let quote = json!({"address_from": {"country": "US", "zip": "94117"}, "address_to": {"country": "US", "zip": "10001"}, "parcels": [parcel()]});
    let rate = rate_for(&app, quote, "usps_priority").await;
    let body = expect(
        app.post_json("/transactions", &json!({"rate": rate, "async": false}))
            .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(body.to_string().contains("quote"), "{body}");

    // Nor a rate older than 7 days.
    let rate = rate_for(
        &app,
        json!({"address_from": us_from(), "address_to": us_to(), "parcels": [parcel()]}),
        "usps_priority",
    )
    .await;
    age_rate(&app, &rate, 8).await;
    let body = expect(
        app.post_json("/transactions", &json!({"rate": rate, "async": false}))
            .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(body.to_string().contains("7 days"), "{body}");
}

/// Moves a rate's creation time `days` into the past, in the database.
async fn age_rate(app: &TestApp, rate: &str, days: i64) {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&app.database_url)
        .await
        .unwrap();
    sqlx::query(&format!(
        "UPDATE rates SET created_ms = created_ms - {} WHERE id = '{rate}'",
        days * 86_400_000
    ))
    .execute(&mut conn)
    .await
    .unwrap();
}

#[tokio::test]
async fn a_refund_settles_in_the_background_once_and_moves_the_label_along() {
    let app = spawn_app().await;
    let rate = rate_for(
        &app,
        json!({"address_from": us_from(), "address_to": us_to(), "parcels": [parcel()]}),
        "usps_priority",
    )
    .await;
    let t = buy(&app, json!({"rate": rate, "async": false})).await;
    let id = t["object_id"].as_str().unwrap();
    let r = expect(
        app.post_json("/refunds", &json!({"transaction": id})).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(r["status"], "QUEUED", "{r}");
    assert_eq!(r["transaction"], id);
    let refund = r["object_id"].as_str().unwrap();
    let settled = poll(&app, &format!("/refunds/{refund}"), "status", "SUCCESS").await;
    assert_eq!(settled["object_status"], "SUCCESS");
    let t = expect(
        app.get(&format!("/transactions/{id}")).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(t["status"], "REFUNDED");
    let again = expect(
        app.post_json("/refunds", &json!({"transaction": id})).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(again.to_string().contains("already"), "{again}");
    let list = expect(app.get("/refunds/").await, StatusCode::OK).await;
    assert_eq!(list["count"], 1);
    assert_eq!(list["results"][0]["object_id"], refund);
}

#[tokio::test]
async fn a_manifest_closes_out_the_days_labels_into_a_signed_pdf_and_they_can_no_longer_be_refunded(
) {
    let app = spawn_app().await;
    let account = courier(&app).await;
    // The pickup address printed on the form; the labels send their sender inline, as the SDKs
    // do, so each shipment has an address object of its own.
    let from = app.create_address(&lisboa()).await;
    let from_id = from["object_id"].as_str().unwrap();
    let mut numbers = Vec::new();
    let mut ids = Vec::new();
    for _ in 0..3 {
        let rate = rate_for(
            &app,
            json!({"address_from": lisboa(), "address_to": porto(), "parcels": [parcel()], "carrier_accounts": [account], "shipment_date": "2026-11-23T10:00:00Z"}),
            "std",
        )
        .await;
        let t = buy(&app, json!({"rate": rate, "async": false})).await;
        numbers.push(t["tracking_number"].as_str().unwrap().to_string());
        ids.push(t["object_id"].as_str().unwrap().to_string());
    }
    // Another day's label is not on this manifest.
    let rate = rate_for(
        &app,
        json!({"address_from": from_id, "address_to": porto(), "parcels": [parcel()], "carrier_accounts": [account], "shipment_date": "2026-11-24T10:00:00Z"}),
        "std",
    )
    .await;
    let tomorrow = buy(&app, json!({"rate": rate, "async": false})).await;

    let m = expect(
        app.post_json("/manifests", &json!({"carrier_account": account, "shipment_date": "2026-11-23T00:00:00Z", "address_from": from_id})).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(m["status"], "QUEUED", "{m}");
    let m = poll(
        &app,
        &format!("/manifests/{}", m["object_id"].as_str().unwrap()),
        "status",
        "SUCCESS",
    )
    .await;
    let mut on: Vec<String> = m["transactions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    on.sort();
    ids.sort();
    assert_eq!(on, ids, "exactly the day's labels");
    let (kind, pdf) = download(&app, m["documents"][0].as_str().unwrap()).await;
    assert_eq!(kind, "application/pdf");
    let path = scratch("manifest.pdf", &pdf);
    let text = tool("pdftotext", &["-layout", path.to_str().unwrap(), "-"]);
    for n in &numbers {
        assert!(text.contains(n.as_str()), "{n} on the manifest: {text}");
    }
    assert!(!text.contains(tomorrow["tracking_number"].as_str().unwrap()));
    for needle in [
        "Total parcels: 3",
        "Total weight: 4.5 kg",
        "correio-teste",
        "Merchant",
        "Carrier",
        "Porto",
        "4000-447",
    ] {
        assert!(text.contains(needle), "manifest lacks {needle}: {text}");
    }
    assert_eq!(
        code128(&path),
        vec![m["object_id"].as_str().unwrap().to_string()],
        "the manifest id as a barcode"
    );

    // Manifested labels cannot be refunded; nothing is left to manifest that day.
    let body = expect(
        app.post_json("/refunds", &json!({"transaction": ids[0]}))
            .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(body.to_string().contains("manifest"), "{body}");
    let t = expect(
        app.get(&format!("/transactions/{}", ids[0])).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(t["manifest"], m["object_id"]);
    let empty = expect(
        app.post_json("/manifests", &json!({"carrier_account": account, "shipment_date": "2026-11-23T00:00:00Z", "address_from": from_id})).await,
        StatusCode::CREATED,
    )
    .await;
    let empty = poll(
        &app,
        &format!("/manifests/{}", empty["object_id"].as_str().unwrap()),
        "status",
        "ERROR",
    )
    .await;
    assert_eq!(
        empty["messages"][0]["code"], "manifest_no_transactions",
        "{empty}"
    );
    assert_eq!(empty["documents"], json!([]));

    let bad = expect(
        app.post_json("/manifests", &json!({"shipment_date": "yesterday"}))
            .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    let text = bad.to_string();
    assert!(
        text.contains("carrier_account")
            && text.contains("shipment_date")
            && text.contains("address_from"),
        "{bad}"
    );
}

#[tokio::test]
async fn the_accounts_default_label_file_type_applies_when_a_purchase_names_none() {
    let app = spawn_app().await;
    let settings = expect(app.get("/settings/labels").await, StatusCode::OK).await;
    assert_eq!(settings["default_label_file_type"], "PDF_4x6");
    let put = |body: Value| {
        app.client
            .put(app.url("/settings/labels"))
            .header("Authorization", format!("ShippoToken {}", app.token))
            .json(&body)
            .send()
    };
    let bad = expect(
        put(json!({"default_label_file_type": "TIFF"}))
            .await
            .unwrap(),
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(bad.to_string().contains("ZPLII"), "{bad}");
    let set = expect(
        put(json!({"default_label_file_type": "zplii"}))
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(set["default_label_file_type"], "ZPLII");
    let rate = rate_for(
        &app,
        json!({"address_from": us_from(), "address_to": us_to(), "parcels": [parcel()]}),
        "usps_priority",
    )
    .await;
    let t = buy(&app, json!({"rate": rate, "async": false})).await;
    assert_eq!(t["label_file_type"], "ZPLII");
    let (kind, _) = download(&app, t["label_url"].as_str().unwrap()).await;
    assert_eq!(kind, "application/zpl");
    // Another account keeps its own default.
    let other = app.other_account_token(domain::account::Mode::Test).await;
    let theirs = expect(app.get_as(&other, "/settings/labels").await, StatusCode::OK).await;
    assert_eq!(theirs["default_label_file_type"], "PDF_4x6");
}

#[tokio::test]
async fn tracking_numbers_stay_unique_across_concurrent_purchases_in_two_processes() {
    let app = spawn_app().await;
    let account = courier(&app).await;
    // A second server on the same database and file store, as a second node would be.
    let (second, _) = crate::helpers::start_server(&app.database_url, &app.data_dir, false).await;
    let mut rates = Vec::new();
    for _ in 0..24 {
        rates.push(rate_for(&app, json!({"address_from": lisboa(), "address_to": porto(), "parcels": [parcel()], "carrier_accounts": [account]}), "std").await);
    }
    let buys = rates.iter().enumerate().map(|(i, rate)| {
        let base = if i % 2 == 0 {
            app.base.clone()
        } else {
            second.clone()
        };
        let req = app
            .client
            .post(format!("{base}/transactions"))
            .header("Authorization", format!("ShippoToken {}", app.token))
            .json(&json!({"rate": rate, "async": false}));
        async move { expect(req.send().await.unwrap(), StatusCode::CREATED).await }
    });
    let answers = futures_util::future::join_all(buys).await;
    let mut numbers: Vec<String> = answers
        .iter()
        .map(|t| t["tracking_number"].as_str().unwrap().to_string())
        .collect();
    for n in &numbers {
        assert_eq!(n.chars().nth(10).unwrap(), s10_check(&n[2..10]), "{n}");
    }
    numbers.sort();
    numbers.dedup();
    assert_eq!(numbers.len(), 24, "every label its own number: {numbers:?}");
    // A label bought through one node downloads through the other.
    let t = &answers[1];
    let url = t["label_url"].as_str().unwrap().replace(&second, &app.base);
    let (kind, _) = download(&app, &url).await;
    assert_eq!(kind, "application/pdf");
}

#[tokio::test]
async fn references_print_from_the_checked_extras_also_for_shipments_stored_before_them() {
    use sqlx::Connection;
    let app = spawn_app().await;
    let mut labels = Vec::new();
    for (reference, forget_checked) in [("PO-1", false), ("PO-2", true)] {
        let s = expect(
            app.post_json(
                "/shipments",
                &json!({"address_from": us_from(), "address_to": us_to(), "parcels": [parcel()],
                "extra": {"reference_1": reference}, "reference_2": "seed-era field"}),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        assert_eq!(s["extra"]["reference_1"], reference, "answered as sent");
        if forget_checked {
            // A shipment stored before the checked extras had a column of their own.
            sqlx::any::install_default_drivers();
            let mut conn = sqlx::AnyConnection::connect(&app.database_url)
                .await
                .unwrap();
            sqlx::query(&format!(
                "UPDATE shipments SET extras = NULL WHERE id = '{}'",
                s["object_id"].as_str().unwrap()
            ))
            .execute(&mut conn)
            .await
            .unwrap();
        }
        let rate = s["rates"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["servicelevel"]["token"] == "usps_priority")
            .unwrap()["object_id"]
            .as_str()
            .unwrap()
            .to_string();
        let t = buy(&app, json!({"rate": rate, "async": false})).await;
        labels.push((reference, t));
    }
    for (reference, t) in labels {
        let (_, pdf) = download(&app, t["label_url"].as_str().unwrap()).await;
        let text = tool(
            "pdftotext",
            &[scratch("label.pdf", &pdf).to_str().unwrap(), "-"],
        );
        assert!(
            text.contains(&format!("REF 1: {reference}")) && text.contains("REF 2: seed-era field"),
            "{text}"
        );
    }
}
