//! Seed 002 "Batches": created VALIDATING, validated in the background to VALID or INVALID,
//! shipments removed and added, purchased (202) to PURCHASED with each shipment's label and
//! the labels merged into PDFs of 100 read back with poppler; batches made from orders; the
//! webhooks; the recorded errors.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::fakes::Receiver;
use crate::helpers::{expect, is_object_id, spawn_app, TestApp};
use crate::labels::{courier, download, lisboa, porto, scratch, tool};

/// The seed's example shipment (`object_purpose` included), to New York.
fn seed_shipment(weight: &str) -> Value {
    json!({"object_purpose": "PURCHASE",
        "address_from": {"object_purpose": "PURCHASE", "name": "Mr Hippo", "street1": "965 Mission St", "street2": "Ste 201", "city": "San Francisco", "state": "CA", "zip": "94103", "country": "US", "phone": "4151234567", "email": "mrhippo@goshippo.com"},
        "address_to": {"object_purpose": "PURCHASE", "name": "Mrs Hippo", "company": "", "street1": "Broadway 1", "street2": "", "city": "New York", "state": "NY", "zip": "10007", "country": "US", "phone": "4151234567", "email": "mrshippo@goshippo.com"},
        "parcel": {"length": "5", "width": "5", "height": "5", "distance_unit": "in", "weight": weight, "mass_unit": "oz"}})
}

pub(crate) async fn test_carrier(app: &TestApp) -> String {
    let accounts = expect(
        app.get("/carrier_accounts?carrier=shippo").await,
        StatusCode::OK,
    )
    .await;
    accounts["results"][0]["object_id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Polls a batch until its status is `want`.
pub(crate) async fn batch_until(app: &TestApp, id: &str, want: &str) -> Value {
    for _ in 0..600 {
        let b = expect(app.get(&format!("/batches/{id}")).await, StatusCode::OK).await;
        if b["status"] == want {
            return b;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("batch {id} never became {want}");
}

fn pages_of(pdf: &[u8]) -> (usize, String) {
    let path = scratch("merged.pdf", pdf);
    let info = tool("pdfinfo", &[path.to_str().unwrap()]);
    let pages = info
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let text = tool("pdftotext", &["-layout", path.to_str().unwrap(), "-"]);
    (pages, text)
}

#[tokio::test]
async fn a_batch_is_validated_fixed_purchased_and_its_labels_merged() {
    let app = spawn_app().await;
    let receiver = Receiver::start().await;
    for event in ["batch_created", "batch_purchased"] {
        expect(
            app.post_json("/webhooks", &json!({"url": receiver.url, "event": event}))
                .await,
            StatusCode::CREATED,
        )
        .await;
    }
    let account = test_carrier(&app).await;
    // The seed's request: the second shipment names a carrier account this account lacks.
    let created = expect(
        app.post_json(
            "/batches",
            &json!({"default_carrier_account": account, "default_servicelevel_token": "usps_priority",
                "label_filetype": "PDF_4x6", "metadata": "BATCH #170",
                "batch_shipments": [
                    {"shipment": seed_shipment("2")},
                    {"shipment": seed_shipment("20"), "carrier_account": "a4391cd4ab974f478f55dc08b5c8e3b3", "servicelevel_token": "fedex_2_day"}
                ]}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    // As recorded: VALIDATING, no shipments yet, zero counts, no labels.
    assert_eq!(created["status"], "VALIDATING");
    assert_eq!(created["metadata"], "BATCH #170");
    assert_eq!(created["label_filetype"], "PDF_4x6");
    assert_eq!(
        created["batch_shipments"],
        json!({"count": 0, "next": null, "previous": null, "results": []})
    );
    assert_eq!(
        created["object_results"],
        json!({"creation_succeeded": 0, "creation_failed": 0, "purchase_succeeded": 0, "purchase_failed": 0})
    );
    assert_eq!(created["label_url"], json!([]));
    let id = created["object_id"].as_str().unwrap().to_string();

    let invalid = batch_until(&app, &id, "INVALID").await;
    assert_eq!(invalid["object_results"]["creation_succeeded"], 1);
    assert_eq!(invalid["object_results"]["creation_failed"], 1);
    let results = invalid["batch_shipments"]["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    assert_eq!(results[0]["status"], "VALID");
    assert!(is_object_id(&results[0]["shipment"]));
    assert_eq!(results[0]["transaction"], Value::Null);
    assert_eq!(results[1]["status"], "INVALID");
    assert!(
        results[1]["messages"][0]["text"]
            .as_str()
            .unwrap()
            .contains("Invalid account object_id provided 'a4391cd4ab974f478f55dc08b5c8e3b3'"),
        "{invalid}"
    );
    // Filtered by outcome.
    let failed = expect(
        app.get(&format!("/batches/{id}?object_results=creation_failed"))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(failed["batch_shipments"]["count"], 1);
    assert_eq!(
        failed["batch_shipments"]["results"][0]["object_id"],
        results[1]["object_id"]
    );

    // An INVALID batch cannot be bought.
    let bad = expect(
        app.post_json(&format!("/batches/{id}/purchase"), &json!({}))
            .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(bad["detail"].as_str().unwrap().contains("INVALID"), "{bad}");

    // Remove the invalid one: VALID. Add two (one by shipment id): VALIDATING, then VALID.
    let removed = expect(
        app.post_json(
            &format!("/batches/{id}/remove_shipments"),
            &json!([results[1]["object_id"]]),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(removed["status"], "VALID");
    assert_eq!(removed["batch_shipments"]["count"], 1);
    let existing = expect(
        app.post_json("/shipments", &{
            let mut s = seed_shipment("8");
            s["parcels"] = json!([s["parcel"].take()]);
            s["async"] = json!(false);
            s
        })
        .await,
        StatusCode::CREATED,
    )
    .await;
    let added = expect(
        app.post_json(
            &format!("/batches/{id}/add_shipments"),
            &json!([{"shipment": seed_shipment("4"), "metadata": "add batchshipment1"},
                    {"shipment": existing["object_id"], "metadata": "add batchshipment2"}]),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(added["status"], "VALIDATING");
    let valid = batch_until(&app, &id, "VALID").await;
    assert_eq!(valid["batch_shipments"]["count"], 3);
    assert_eq!(valid["object_results"]["creation_succeeded"], 3);
    assert_eq!(valid["object_results"]["creation_failed"], 0);
    assert_eq!(
        valid["batch_shipments"]["results"][1]["metadata"],
        "add batchshipment1"
    );
    assert_eq!(
        valid["batch_shipments"]["results"][2]["shipment"],
        existing["object_id"]
    );

    // Purchase: 202 PURCHASING, then PURCHASED with a transaction each and one merged file.
    let res = app
        .client
        .post(app.url(&format!("/batches/{id}/purchase")))
        .header("Authorization", format!("ShippoToken {}", app.token))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let purchasing: Value = res.json().await.unwrap();
    assert!(
        purchasing["status"] == "PURCHASING" || purchasing["status"] == "PURCHASED",
        "{purchasing}"
    );
    let done = batch_until(&app, &id, "PURCHASED").await;
    assert_eq!(done["object_results"]["purchase_succeeded"], 3, "{done}");
    assert_eq!(done["object_results"]["purchase_failed"], 0);
    let mut numbers = Vec::new();
    for b in done["batch_shipments"]["results"].as_array().unwrap() {
        assert!(is_object_id(&b["transaction"]), "{b}");
        let t = expect(
            app.get(&format!(
                "/transactions/{}",
                b["transaction"].as_str().unwrap()
            ))
            .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(t["status"], "SUCCESS");
        numbers.push(t["tracking_number"].as_str().unwrap().to_string());
    }
    let urls = done["label_url"].as_array().unwrap();
    assert_eq!(urls.len(), 1);
    let (kind, pdf) = download(&app, urls[0].as_str().unwrap()).await;
    assert_eq!(kind, "application/pdf");
    let (pages, text) = pages_of(&pdf);
    assert_eq!(pages, 3);
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let mut at = 0;
    for n in &numbers {
        let found = compact[at..]
            .find(n.as_str())
            .unwrap_or_else(|| panic!("{n} not in order in {text}"));
        at += found;
    }
    // Shipments can no longer change; a second purchase answers the batch as it is.
    let bad = expect(
        app.post_json(
            &format!("/batches/{id}/add_shipments"),
            &json!([{"shipment": seed_shipment("1")}]),
        )
        .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(bad["detail"].as_str().unwrap().contains("PURCHASED"));
    let again = expect(
        app.post_json(&format!("/batches/{id}/purchase"), &json!({}))
            .await,
        StatusCode::ACCEPTED,
    )
    .await;
    assert_eq!(again["status"], "PURCHASED");
    let labels = expect(app.get("/transactions").await, StatusCode::OK).await;
    assert_eq!(labels["count"], 3, "nothing bought twice");

    // One batch_created and one batch_purchased, each naming the batch.
    let got = receiver.wait_until(10, |r| r.len() >= 2).await;
    crate::helpers::settled(&app.database_url).await;
    let events: Vec<Value> = receiver.got().iter().map(|d| d.json()).collect();
    assert_eq!(events.len(), 2, "{events:?} {}", got.len());
    for e in ["batch_created", "batch_purchased"] {
        let one: Vec<&Value> = events.iter().filter(|j| j["event"] == e).collect();
        assert_eq!(one.len(), 1, "{e}");
        assert_eq!(one[0]["data"], id.as_str());
    }

    // Another account sees no such batch.
    let other = app.other_account(domain::account::Mode::Test).await;
    expect(
        other.get(&format!("/batches/{id}")).await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

#[tokio::test]
async fn bad_batches_are_refused_as_shippo_refuses_them() {
    let app = spawn_app().await;
    let bad = expect(
        app.post_json("/batches", &json!({})).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    for f in [
        "default_carrier_account",
        "default_servicelevel_token",
        "batch_shipments",
    ] {
        assert!(bad["fields"][f].is_array(), "{f}: {bad}");
    }
    let bad = expect(
        app.post_json(
            "/batches",
            &json!({"label_filetype": "PDF_4x6", "metadata": "teehee", "default_servicelevel_token": "usps_priority", "default_carrier_account": "NOT_VALID", "batch_shipments": []}),
        )
        .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(bad["fields"]["default_carrier_account"][0]
        .as_str()
        .unwrap()
        .starts_with("Invalid account object_id provided 'NOT_VALID'."));
    let account = test_carrier(&app).await;
    let b = expect(
        app.post_json(
            "/batches",
            &json!({"default_carrier_account": account, "default_servicelevel_token": "usps_priority", "batch_shipments": []}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let id = b["object_id"].as_str().unwrap();
    // add_shipments takes an array; remove_shipments names each id that is none.
    let bad = expect(
        app.post_json(
            &format!("/batches/{id}/add_shipments"),
            &json!({"shipment": {}}),
        )
        .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(bad["code"], "invalid_body", "{bad}");
    let bad = expect(
        app.post_json(
            &format!("/batches/{id}/remove_shipments"),
            &json!(["not-an-id"]),
        )
        .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(
        bad["fields"]["0"][0]
            .as_str()
            .unwrap()
            .contains("not-an-id"),
        "{bad}"
    );
    let bad = expect(
        app.post_json(
            &format!("/batches/{id}/add_shipments"),
            &json!([{"metadata": "no shipment"}]),
        )
        .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(
        bad["fields"]["batch_shipments.0.shipment"].is_array(),
        "{bad}"
    );
    expect(
        app.get("/batches/EXAMPLE_OF_INVALID_ID").await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

#[tokio::test]
async fn shipping_every_paid_order_is_two_calls_and_a_hundred_and_twenty_labels_merge_into_two_files(
) {
    let app = spawn_app().await;
    let account = courier(&app).await;
    let from = app.create_address(&lisboa()).await;
    let mut to = porto();
    to["email"] = json!("ana@example.pt");
    for n in 0..120 {
        let status = if n == 0 { "AWAITPAY" } else { "PAID" };
        expect(
            app.post_json(
                "/orders",
                &json!({"order_number": format!("PT-{n}"), "order_status": status, "placed_at": "2026-11-30T10:00:00Z",
                    "to_address": to, "weight": "1", "weight_unit": "kg",
                    "line_items": [{"title": "Caneca", "quantity": 2, "weight": "0.8", "weight_unit": "kg"}]}),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
    }
    let b = expect(
        app.post_json(
            "/batches/from_orders",
            &json!({"default_carrier_account": account, "default_servicelevel_token": "std", "address_from": from["object_id"],
                "length": "30", "width": "20", "height": "10", "distance_unit": "cm", "label_filetype": "PDF_4x6"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let id = b["object_id"].as_str().unwrap().to_string();
    let valid = batch_until(&app, &id, "VALID").await;
    assert_eq!(
        valid["object_results"]["creation_succeeded"], 119,
        "the unpaid order stays"
    );
    assert_eq!(
        valid["batch_shipments"]["results"]
            .as_array()
            .unwrap()
            .len(),
        100
    );
    assert!(valid["batch_shipments"]["next"]
        .as_str()
        .unwrap()
        .contains("page=2"));
    assert_eq!(
        valid["batch_shipments"]["results"][0]["metadata"], "PT-1",
        "oldest first"
    );
    // The parcel weighs what the order's line items weigh.
    let shipment = expect(
        app.get(&format!(
            "/shipments/{}",
            valid["batch_shipments"]["results"][0]["shipment"]
                .as_str()
                .unwrap()
        ))
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(shipment["parcels"][0]["weight"], "0.8");
    assert_eq!(shipment["parcels"][0]["mass_unit"], "kg");
    expect(
        app.post_json(&format!("/batches/{id}/purchase"), &json!({}))
            .await,
        StatusCode::ACCEPTED,
    )
    .await;
    let done = batch_until(&app, &id, "PURCHASED").await;
    assert_eq!(done["object_results"]["purchase_succeeded"], 119);
    let urls = done["label_url"].as_array().unwrap();
    assert_eq!(urls.len(), 2, "100 labels a file");
    let (first, _) = pages_of(&download(&app, urls[0].as_str().unwrap()).await.1);
    let (second, _) = pages_of(&download(&app, urls[1].as_str().unwrap()).await.1);
    assert_eq!((first, second), (100, 19));
    let page2 = expect(
        app.get(&format!("/batches/{id}?page=2")).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        page2["batch_shipments"]["results"]
            .as_array()
            .unwrap()
            .len(),
        19
    );
    // Every paid order is shipped; the unpaid one waits.
    let shipped = expect(
        app.get("/orders?order_status[]=SHIPPED&results=1000").await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(shipped["results"].as_array().unwrap().len(), 119);
    let waiting = expect(
        app.get("/orders?order_status[]=AWAITPAY").await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(waiting["results"].as_array().unwrap().len(), 1);
    assert_eq!(waiting["results"][0]["transactions"], json!([]));
    let order = &shipped["results"][0];
    assert_eq!(order["transactions"].as_array().unwrap().len(), 1);
    // Nothing left to ship: a second "ship everything" finds nothing.
    let bad = expect(
        app.post_json(
            "/batches/from_orders",
            &json!({"default_carrier_account": account, "default_servicelevel_token": "std", "address_from": from["object_id"],
                "length": "30", "width": "20", "height": "10", "distance_unit": "cm"}),
        )
        .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(bad["fields"]["order_status"].is_array(), "{bad}");
}

/// The seed's shipment to a Texas recipient whose ZIP code is `zip`.
fn texas_shipment(zip: &str) -> Value {
    let mut s = seed_shipment("2");
    s["address_to"]["city"] = json!("Austin");
    s["address_to"]["state"] = json!("TX");
    s["address_to"]["zip"] = json!(zip);
    s
}

#[tokio::test]
async fn a_label_consign_prints_is_never_bought_for_a_recipient_address_it_calls_invalid() {
    let app = spawn_app().await;
    let account = test_carrier(&app).await;
    // A shipment to ZIP 7870 (four digits): rated, but its recipient is INVALID.
    let mut body = texas_shipment("7870");
    body["parcels"] = json!([body["parcel"].take()]);
    body["async"] = json!(false);
    let shipment = expect(
        app.post_json("/shipments", &body).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(
        shipment["address_to"]["object_state"], "INVALID",
        "{shipment}"
    );
    let rate = shipment["rates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["servicelevel"]["token"] == "usps_priority")
        .unwrap_or_else(|| panic!("no usps_priority rate: {shipment}"))["object_id"]
        .as_str()
        .unwrap()
        .to_string();
    // Bought now or in the background: refused, naming the address and its field.
    for asynchronous in [false, true] {
        let bad = expect(
            app.post_json(
                "/transactions",
                &json!({"rate": rate, "async": asynchronous}),
            )
            .await,
            StatusCode::BAD_REQUEST,
        )
        .await;
        let why = bad["fields"]["address_to.zip"][0]
            .as_str()
            .unwrap_or_default();
        assert!(why.contains("7870") && why.contains("INVALID"), "{bad}");
    }
    let none = expect(
        app.get(&format!("/transactions?rate={rate}")).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(none["count"], 0, "no label was bought: {none}");

    // In a batch: the shipment to ZIP ABCDE is INVALID, its message naming the field.
    let created = expect(
        app.post_json(
            "/batches",
            &json!({"default_carrier_account": account, "default_servicelevel_token": "usps_priority",
                "batch_shipments": [{"shipment": seed_shipment("2")}, {"shipment": texas_shipment("ABCDE")}]}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let id = created["object_id"].as_str().unwrap().to_string();
    let invalid = batch_until(&app, &id, "INVALID").await;
    let results = invalid["batch_shipments"]["results"].as_array().unwrap();
    assert_eq!(results[0]["status"], "VALID", "{invalid}");
    assert_eq!(results[1]["status"], "INVALID", "{invalid}");
    let text = results[1]["messages"][0]["text"].as_str().unwrap();
    assert!(
        text.starts_with("address_to.zip:") && text.contains("ABCDE"),
        "{invalid}"
    );
    assert_eq!(invalid["object_results"]["creation_failed"], 1);
    // Without it the batch is bought: one label.
    expect(
        app.post_json(
            &format!("/batches/{id}/remove_shipments"),
            &json!([results[1]["object_id"]]),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    expect(
        app.post_json(&format!("/batches/{id}/purchase"), &json!({}))
            .await,
        StatusCode::ACCEPTED,
    )
    .await;
    let done = batch_until(&app, &id, "PURCHASED").await;
    assert_eq!(done["object_results"]["purchase_succeeded"], 1, "{done}");
    let labels = expect(app.get("/transactions").await, StatusCode::OK).await;
    assert_eq!(labels["count"], 1);
}

#[tokio::test]
async fn an_imported_order_with_an_invalid_zip_is_invalid_in_its_batch() {
    let app = spawn_app().await;
    let account = test_carrier(&app).await;
    let from = app
        .create_address(&seed_shipment("1")["address_from"])
        .await;
    let csv = "\
order_number,placed_at,quantity,title,weight,weight_unit,ship_to_name,ship_to_street1,ship_to_city,ship_to_state,ship_to_zip,ship_to_country
TX-1,2026-11-30 10:00:00 +0000,1,Mug,12,oz,Tex Ranger,1 Congress Ave,Austin,TX,7870,US
TX-2,2026-11-30 11:00:00 +0000,1,Mug,12,oz,Tex Ranger,1 Congress Ave,Austin,TX,78701,US
";
    let res = app
        .client
        .post(app.url("/orders/import"))
        .header("Authorization", format!("ShippoToken {}", app.token))
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap();
    let imported = expect(res, StatusCode::OK).await;
    assert_eq!(imported["created"], 2, "{imported}");
    let b = expect(
        app.post_json(
            "/batches/from_orders",
            &json!({"default_carrier_account": account, "default_servicelevel_token": "usps_priority",
                "address_from": from["object_id"], "length": "5", "width": "5", "height": "5", "distance_unit": "in"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let invalid = batch_until(&app, b["object_id"].as_str().unwrap(), "INVALID").await;
    let results = invalid["batch_shipments"]["results"].as_array().unwrap();
    assert_eq!(results.len(), 2, "{invalid}");
    assert_eq!(results[0]["metadata"], "TX-1");
    assert_eq!(results[0]["status"], "INVALID", "{invalid}");
    let text = results[0]["messages"][0]["text"].as_str().unwrap();
    assert!(
        text.starts_with("address_to.zip:") && text.contains("7870"),
        "{invalid}"
    );
    assert_eq!(results[1]["status"], "VALID", "{invalid}");
}

/// Imports a CSV file of orders (Consign's columns).
async fn import_orders(app: &TestApp, csv: &str) -> Value {
    let res = app
        .client
        .post(app.url("/orders/import"))
        .header("Authorization", format!("ShippoToken {}", app.token))
        .header("content-type", "text/csv")
        .body(csv.to_string())
        .send()
        .await
        .unwrap();
    expect(res, StatusCode::OK).await
}

#[tokio::test]
async fn an_order_without_a_weight_is_incomplete_unless_the_batch_gives_a_default_weight() {
    let app = spawn_app().await;
    let account = courier(&app).await;
    let from = app.create_address(&lisboa()).await;
    // No weight anywhere: not on the line item, not on the order.
    let imported = import_orders(
        &app,
        "order_number,placed_at,quantity,title,ship_to_name,ship_to_street1,ship_to_city,ship_to_zip,ship_to_country
PT-W,2026-11-30 10:00:00 +0000,1,Caneca,Ana,Rua de Santa Catarina 1,Porto,4000-447,PT
",
    )
    .await;
    assert_eq!(imported["created"], 1, "{imported}");
    let request = json!({"default_carrier_account": account, "default_servicelevel_token": "std", "address_from": from["object_id"],
        "length": "30", "width": "20", "height": "10", "distance_unit": "cm"});
    let b = expect(
        app.post_json("/batches/from_orders", &request).await,
        StatusCode::CREATED,
    )
    .await;
    let invalid = batch_until(&app, b["object_id"].as_str().unwrap(), "INVALID").await;
    let one = &invalid["batch_shipments"]["results"][0];
    assert_eq!(one["status"], "INCOMPLETE", "{invalid}");
    let text = one["messages"][0]["text"].as_str().unwrap();
    assert!(
        text.starts_with("weight:") && text.contains("PT-W") && text.contains("default_weight"),
        "{invalid}"
    );
    assert_eq!(
        one["shipment"],
        Value::Null,
        "no shipment at an invented weight"
    );

    // A default weight without its unit is refused; with it, the parcel weighs it.
    let mut with = request.clone();
    with["default_weight"] = json!("250");
    let bad = expect(
        app.post_json("/batches/from_orders", &with).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(bad["fields"]["default_weight_unit"].is_array(), "{bad}");
    with["default_weight_unit"] = json!("g");
    let b = expect(
        app.post_json("/batches/from_orders", &with).await,
        StatusCode::CREATED,
    )
    .await;
    let valid = batch_until(&app, b["object_id"].as_str().unwrap(), "VALID").await;
    let shipment = expect(
        app.get(&format!(
            "/shipments/{}",
            valid["batch_shipments"]["results"][0]["shipment"]
                .as_str()
                .unwrap()
        ))
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(shipment["parcels"][0]["weight"], "250");
    assert_eq!(shipment["parcels"][0]["mass_unit"], "g");

    // A user parcel template gives its size and its weight.
    let template = expect(
        app.post_json(
            "/user-parcel-templates",
            &json!({"name": "Caixa M", "length": "30", "width": "20", "height": "10", "distance_unit": "cm", "weight": "0.3", "weight_unit": "kg"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let b = expect(
        app.post_json(
            "/batches/from_orders",
            &json!({"default_carrier_account": account, "default_servicelevel_token": "std", "address_from": from["object_id"],
                "parcel_template": template["object_id"]}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let valid = batch_until(&app, b["object_id"].as_str().unwrap(), "VALID").await;
    let shipment = expect(
        app.get(&format!(
            "/shipments/{}",
            valid["batch_shipments"]["results"][0]["shipment"]
                .as_str()
                .unwrap()
        ))
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(shipment["parcels"][0]["weight"], "0.3", "{shipment}");
    assert_eq!(shipment["parcels"][0]["mass_unit"], "kg");
    assert_eq!(shipment["parcels"][0]["length"], "30");
}

/// A batch shipment refused when it is added (metadata over 100 characters): INVALID at once,
/// so a batch of thousands validates without making any shipment.
fn refused_entry() -> Value {
    json!({"shipment": "0123456789abcdef0123456789abcdef", "metadata": "m".repeat(101)})
}

/// Every shipment a batch holds, validated or not.
fn held(b: &Value) -> i64 {
    let r = &b["object_results"];
    r["creation_succeeded"].as_i64().unwrap()
        + r["creation_failed"].as_i64().unwrap()
        + b["pending"].as_i64().unwrap()
}

#[tokio::test]
async fn twenty_concurrent_additions_never_pass_the_ten_thousand_shipment_limit() {
    let app = spawn_app().await;
    let account = test_carrier(&app).await;
    let entries: Vec<Value> = (0..9_990).map(|_| refused_entry()).collect();
    let b = expect(
        app.post_json(
            "/batches",
            &json!({"default_carrier_account": account, "default_servicelevel_token": "usps_priority",
                "batch_shipments": entries}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let id = b["object_id"].as_str().unwrap().to_string();
    let path = format!("/batches/{id}/add_shipments");
    let body = json!([refused_entry()]);
    let answers =
        futures_util::future::join_all((0..20).map(|_| app.post_json(&path, &body))).await;
    let (mut added, mut refused) = (0, 0);
    for res in answers {
        match res.status() {
            StatusCode::OK => added += 1,
            StatusCode::BAD_REQUEST => {
                let e: Value = res.json().await.unwrap();
                let why = e["fields"]["batch_shipments"][0]
                    .as_str()
                    .unwrap_or_default();
                assert!(why.contains("at most 10000 shipments"), "{e}");
                refused += 1;
            }
            other => panic!("{other}: {}", res.text().await.unwrap()),
        }
    }
    assert_eq!((added, refused), (10, 10), "exactly the room left is used");
    let done = batch_until(&app, &id, "INVALID").await;
    assert_eq!(held(&done), 10_000, "{}", done["object_results"]);
    assert_eq!(done["batch_shipments"]["count"], 10_000);
}

#[tokio::test]
async fn a_removal_racing_the_purchase_never_leaves_a_label_for_a_removed_shipment() {
    let app = spawn_app().await;
    let account = test_carrier(&app).await;
    for round in 0..4 {
        let entries: Vec<Value> = (0..8)
            .map(|i| json!({"shipment": seed_shipment("2"), "metadata": format!("R{round}-S{i}")}))
            .collect();
        let b = expect(
            app.post_json(
                "/batches",
                &json!({"default_carrier_account": account, "default_servicelevel_token": "usps_priority",
                    "batch_shipments": entries}),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        let id = b["object_id"].as_str().unwrap().to_string();
        let valid = batch_until(&app, &id, "VALID").await;
        let results = valid["batch_shipments"]["results"].as_array().unwrap();
        // Four removals, one shipment each, around the purchase.
        let remove_path = format!("/batches/{id}/remove_shipments");
        let purchase_path = format!("/batches/{id}/purchase");
        let gone: Vec<Value> = results[..4]
            .iter()
            .map(|r| json!([r["object_id"]]))
            .collect();
        let nothing = json!({});
        let (r0, r1, purchased, r2, r3) = tokio::join!(
            app.post_json(&remove_path, &gone[0]),
            app.post_json(&remove_path, &gone[1]),
            app.post_json(&purchase_path, &nothing),
            app.post_json(&remove_path, &gone[2]),
            app.post_json(&remove_path, &gone[3]),
        );
        assert_eq!(purchased.status(), StatusCode::ACCEPTED);
        let mut kept: Vec<String> = (4..8).map(|i| format!("R{round}-S{i}")).collect();
        for (i, removed) in [r0, r1, r2, r3].into_iter().enumerate() {
            match removed.status() {
                StatusCode::OK => {}
                StatusCode::BAD_REQUEST => {
                    let e: Value = removed.json().await.unwrap();
                    let why = e["fields"]["batch"][0].as_str().unwrap_or_default();
                    assert!(why.contains("only before purchase"), "{e}");
                    kept.push(format!("R{round}-S{i}"));
                }
                other => panic!("{other}: {}", removed.text().await.unwrap()),
            }
        }
        let done = batch_until(&app, &id, "PURCHASED").await;
        // The labels bought in this round, by the metadata each batch shipment passed on.
        let all = expect(app.get("/transactions?results=100").await, StatusCode::OK).await;
        let mut bought: Vec<String> = all["results"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|t| t["metadata"].as_str())
            .filter(|m| m.starts_with(&format!("R{round}-")))
            .map(String::from)
            .collect();
        bought.sort();
        kept.sort();
        let want = kept;
        assert_eq!(
            bought, want,
            "round {round}: a removed shipment has a label"
        );
        assert_eq!(
            done["object_results"]["purchase_succeeded"],
            want.len(),
            "{done}"
        );
    }
}

/// An order from the US test account's buyers abroad (or at home).
fn order_to(number: &str, to: Value, item: Value) -> Value {
    json!({"order_number": number, "placed_at": "2026-11-30T10:00:00Z", "to_address": to,
        "weight": "1", "weight_unit": "kg", "line_items": [item]})
}

#[tokio::test]
async fn international_orders_ship_in_the_batch_with_customs_built_from_their_line_items() {
    let app = spawn_app().await;
    let account = test_carrier(&app).await;
    let from = app
        .create_address(&seed_shipment("1")["address_from"])
        .await;
    let london = json!({"name": "Ada Lovelace", "street1": "10 Downing Street", "city": "London", "zip": "SW1A 2AA", "country": "GB"});
    let berlin = json!({"name": "Max Muster", "street1": "Unter den Linden 1", "city": "Berlin", "zip": "10117", "country": "DE"});
    for (n, to, item) in [
        (
            "GB-1",
            london,
            json!({"title": "Mug", "variant_title": "Blue", "quantity": 2, "total_price": "30.00", "currency": "USD",
            "weight": "0.5", "weight_unit": "kg", "manufacture_country": "PT", "hs_code": "6912.00", "sku": "MUG-B"}),
        ),
        (
            "DE-1",
            berlin,
            json!({"title": "Poster", "quantity": 1, "total_price": "12.50", "currency": "EUR", "weight": "0.2", "weight_unit": "kg"}),
        ),
        (
            "US-1",
            seed_shipment("1")["address_to"].clone(),
            json!({"title": "Mug", "quantity": 1, "weight": "0.5", "weight_unit": "kg"}),
        ),
    ] {
        let o = expect(
            app.post_json("/orders", &order_to(n, to, item)).await,
            StatusCode::CREATED,
        )
        .await;
        if n == "GB-1" {
            assert_eq!(o["line_items"][0]["hs_code"], "6912.00", "{o}");
        }
    }
    let mut request = json!({"default_carrier_account": account, "default_servicelevel_token": "usps_priority",
        "address_from": from["object_id"], "length": "10", "width": "8", "height": "4", "distance_unit": "in"});
    // Without customs defaults: the orders abroad are INCOMPLETE naming customs, at validation.
    let b = expect(
        app.post_json("/batches/from_orders", &request).await,
        StatusCode::CREATED,
    )
    .await;
    let invalid = batch_until(&app, b["object_id"].as_str().unwrap(), "INVALID").await;
    let results = invalid["batch_shipments"]["results"].as_array().unwrap();
    let by_number = |n: &str| {
        results
            .iter()
            .find(|r| r["metadata"] == n)
            .unwrap_or_else(|| panic!("{n}: {invalid}"))
            .clone()
    };
    for n in ["GB-1", "DE-1"] {
        let r = by_number(n);
        assert_eq!(r["status"], "INCOMPLETE", "{r}");
        let text = r["messages"][0]["text"].as_str().unwrap();
        assert!(
            text.starts_with("customs:")
                && text.contains(n)
                && text.contains("customs.certify_signer"),
            "{r}"
        );
    }
    // DE-1's poster names no origin country: that is named too.
    let de = by_number("DE-1");
    assert!(
        de["messages"][0]["text"]
            .as_str()
            .unwrap()
            .contains("line_items.0.manufacture_country"),
        "{de}"
    );
    assert_eq!(by_number("US-1")["status"], "VALID");

    // A bad default is refused up front, naming it.
    request["customs"] = json!({"certify_signer": "Mr Hippo", "incoterm": "XYZ"});
    let bad = expect(
        app.post_json("/batches/from_orders", &request).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(bad["fields"]["customs.incoterm"].is_array(), "{bad}");

    // With the batch's defaults the three ship in one batch.
    request["customs"] = json!({"certify_signer": "Mr Hippo", "contents_type": "MERCHANDISE", "incoterm": "DDU", "origin_country": "US"});
    let b = expect(
        app.post_json("/batches/from_orders", &request).await,
        StatusCode::CREATED,
    )
    .await;
    let id = b["object_id"].as_str().unwrap().to_string();
    let valid = batch_until(&app, &id, "VALID").await;
    let results = valid["batch_shipments"]["results"].as_array().unwrap();
    assert_eq!(results.len(), 3, "{valid}");
    let gb = results.iter().find(|r| r["metadata"] == "GB-1").unwrap();
    let shipment = expect(
        app.get(&format!("/shipments/{}", gb["shipment"].as_str().unwrap()))
            .await,
        StatusCode::OK,
    )
    .await;
    let declaration = &shipment["customs_declaration"];
    assert_eq!(declaration["certify_signer"], "Mr Hippo", "{shipment}");
    assert_eq!(declaration["contents_type"], "MERCHANDISE");
    assert_eq!(declaration["incoterm"], "DDU");
    assert_eq!(declaration["invoice"], "GB-1");
    let item = expect(
        app.get(&format!(
            "/customs/items/{}",
            declaration["items"][0].as_str().unwrap()
        ))
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(item["description"], "Mug – Blue", "{item}");
    assert_eq!(item["quantity"], 2);
    assert_eq!(item["value_amount"], "30.00");
    assert_eq!(item["value_currency"], "USD");
    assert_eq!(item["origin_country"], "PT");
    assert_eq!(item["hs_code"], "6912.00");
    assert_eq!(item["net_weight"], "0.5");
    assert_eq!(item["mass_unit"], "kg");
    expect(
        app.post_json(&format!("/batches/{id}/purchase"), &json!({}))
            .await,
        StatusCode::ACCEPTED,
    )
    .await;
    let done = batch_until(&app, &id, "PURCHASED").await;
    assert_eq!(done["object_results"]["purchase_succeeded"], 3, "{done}");
    assert_eq!(done["object_results"]["purchase_failed"], 0);
}

#[tokio::test]
async fn an_upstream_provider_is_still_asked_for_a_recipient_consign_calls_invalid() {
    let app = spawn_app().await;
    let fake = crate::providers::easypost("EZTK_consign_test_key").await;
    let account = expect(
        app.post_json(
            "/carrier_accounts",
            &json!({"carrier": "easypost", "account_id": "my-easypost", "test": true,
                "parameters": {"api_key": "EZTK_consign_test_key", "api_base": fake.base, "webhook_secret": "s"}}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let id = account["object_id"].as_str().unwrap().to_string();
    let mut to = crate::labels::us_to();
    to["zip"] = json!("1000");
    let shipment = expect(
        app.post_json(
            "/shipments",
            &json!({"address_from": crate::labels::us_from(), "address_to": to,
                "parcels": [crate::labels::parcel()], "carrier_accounts": [id], "async": false}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(
        shipment["address_to"]["object_state"], "INVALID",
        "{shipment}"
    );
    let rate = shipment["rates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| {
            r["carrier_account"] == id.as_str()
                && r["servicelevel"]["token"] == "usps_ground_advantage"
        })
        .unwrap_or_else(|| panic!("no EasyPost rate: {shipment}"))["object_id"]
        .clone();
    // EasyPost validates what it is sent: Consign asks it, and it sells the label.
    let t = expect(
        app.post_json("/transactions", &json!({"rate": rate, "async": false}))
            .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(t["status"], "SUCCESS", "{t}");
    assert_eq!(
        fake.calls("POST", "/buy").len(),
        1,
        "EasyPost was asked to buy"
    );
}
