//! Shippo "Orders" and fulfilment: orders in Shippo's shape (the recorded request and answer),
//! the required fields named, filters, and labels that fulfil orders partly and wholly, with
//! their webhooks and the buyer's email, and refunds that give quantities back.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::fakes::{Receiver, SmtpServer};
use crate::helpers::{expect, is_object_id, spawn_app, spawn_app_with, TestApp};
use crate::labels::{courier, lisboa, parcel, poll, porto, rate_for};
use consign::config::Layer;
use domain::account::Mode;

/// The body Shippo's own client sent in `order/test_create.yaml`.
pub(crate) fn recorded_order() -> Value {
    json!({"to_address": {"city": "San Francisco", "company": "Shippo", "country": "US", "email": "shippotle@goshippo.com", "name": "Mr Hippo", "phone": "15553419393", "state": "CA", "street1": "215 Clayton St.", "zip": "94117"},
        "line_items": [{"quantity": 1, "sku": "HM-123", "title": "Hippo Magazines", "total_price": "12.10", "currency": "USD", "weight": "0.40", "weight_unit": "lb"}],
        "placed_at": "2022-01-10T09:12:10.727100Z", "order_number": "#1068", "order_status": "PAID", "shipping_cost": "12.83", "shipping_cost_currency": "USD",
        "shipping_method": "USPS First Class Package", "subtotal_price": "12.10", "total_price": "24.93", "total_tax": "0.00", "currency": "USD", "weight": "0.40", "weight_unit": "lb"})
}

#[tokio::test]
async fn orders_are_created_retrieved_and_listed_in_shippos_shape() {
    let app = spawn_app().await;
    let o = expect(
        app.post_json("/orders", &recorded_order()).await,
        StatusCode::CREATED,
    )
    .await;
    assert!(is_object_id(&o["object_id"]), "{o}");
    // The recorded answer's fields and values.
    assert_eq!(o["order_number"], "#1068");
    assert_eq!(o["order_status"], "PAID");
    assert_eq!(o["placed_at"], "2022-01-10T09:12:10.727Z");
    assert_eq!(o["shop_app"], "Shippo");
    assert_eq!(o["weight"], "0.40");
    assert_eq!(o["weight_unit"], "lb");
    assert_eq!(o["transactions"], json!([]));
    assert_eq!(o["total_price"], "24.93");
    assert_eq!(o["shipping_cost_currency"], "USD");
    assert_eq!(o["from_address"], Value::Null);
    assert_eq!(o["to_address"]["name"], "Mr Hippo");
    assert_eq!(o["to_address"]["is_complete"], true);
    assert!(is_object_id(&o["to_address"]["object_id"]));
    let item = &o["line_items"][0];
    assert!(is_object_id(&item["object_id"]));
    assert_eq!(item["title"], "Hippo Magazines");
    assert_eq!(item["sku"], "HM-123");
    assert_eq!(item["quantity"], 1);
    assert_eq!(item["total_price"], "12.10");
    assert_eq!(item["variant_title"], Value::Null);
    let id = o["object_id"].as_str().unwrap();
    let got = expect(app.get(&format!("/orders/{id}")).await, StatusCode::OK).await;
    assert_eq!(got, o);

    // Shippo's recorded 400 for an empty body names four fields; so does Consign's.
    let bad = expect(
        app.post_json("/orders", &json!({})).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    for f in ["placed_at", "to_address", "weight", "weight_unit"] {
        assert_eq!(bad["fields"][f][0], "This field is required.", "{bad}");
    }
    // Bad values are named with their path, all at once.
    let mut wrong = recorded_order();
    wrong["line_items"][0]["quantity"] = json!(0);
    wrong["line_items"][0]["currency"] = json!("XYZ");
    wrong["to_address"]["country"] = json!("");
    wrong["order_status"] = json!("LOST");
    wrong["total_price"] = json!("-1");
    let bad = expect(
        app.post_json("/orders", &wrong).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    for f in [
        "line_items.0.quantity",
        "line_items.0.currency",
        "to_address.country",
        "order_status",
        "total_price",
    ] {
        assert!(bad["fields"][f].is_array(), "{f} not named: {bad}");
    }

    // A second order, awaiting payment and placed later; the status filter and dates.
    let mut second = recorded_order();
    second["order_number"] = json!("#1069");
    second["order_status"] = json!("AWAITPAY");
    second["placed_at"] = json!("2022-02-01T00:00:00Z");
    expect(app.post_json("/orders", &second).await, StatusCode::CREATED).await;
    let all = expect(app.get("/orders").await, StatusCode::OK).await;
    assert_eq!(all["results"].as_array().unwrap().len(), 2);
    assert_eq!(all["results"][0]["order_number"], "#1069", "newest first");
    let paid = expect(
        app.get("/orders?order_status%5B%5D=PAID").await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(paid["results"].as_array().unwrap().len(), 1, "{paid}");
    assert_eq!(paid["results"][0]["order_number"], "#1068");
    let both = expect(
        app.get("/orders?order_status[]=PAID&order_status[]=AWAITPAY&results=1")
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(both["results"].as_array().unwrap().len(), 1);
    assert!(both["next"].as_str().unwrap().contains("page=2"));
    assert!(
        both.get("count").is_none(),
        "Shippo's order list has no count"
    );
    let page2 = expect(
        app.get(both["next"].as_str().unwrap().trim_start_matches(&app.base))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(page2["results"].as_array().unwrap().len(), 1);
    assert_eq!(page2["next"], Value::Null);
    assert_ne!(
        page2["results"][0]["object_id"],
        both["results"][0]["object_id"]
    );
    let feb = expect(
        app.get("/orders?start_date=2022-01-15T00:00:00Z").await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(feb["results"].as_array().unwrap().len(), 1);
    assert_eq!(feb["results"][0]["order_number"], "#1069");
    let bad = expect(
        app.get("/orders?order_status[]=LOST").await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(bad["fields"]["order_status"].is_array());

    // Another account sees none of them.
    let other = app.other_account(Mode::Test).await;
    expect(
        other.get(&format!("/orders/{id}")).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    let none = expect(other.get("/orders").await, StatusCode::OK).await;
    assert_eq!(none["results"].as_array().unwrap().len(), 0);

    // A known source id updates its order instead of making a second one.
    let mut sourced = recorded_order();
    sourced["source_id"] = json!("shop-77");
    let a = expect(
        app.post_json("/orders", &sourced).await,
        StatusCode::CREATED,
    )
    .await;
    sourced["to_address"]["street1"] = json!("1 Market St");
    sourced["order_status"] = json!("ON_HOLD");
    let b = expect(
        app.post_json("/orders", &sourced).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(a["object_id"], b["object_id"]);
    assert_eq!(b["to_address"]["street1"], "1 Market St");
    assert_eq!(b["order_status"], "PAID", "ON_HOLD shows as Shippo's PAID");
    assert_eq!(b["consign_status"], "ON_HOLD");
    // Filtered as they show: PAID includes the held order; ON_HOLD finds it alone.
    let held = expect(
        app.get("/orders?order_status[]=ON_HOLD").await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(held["results"].as_array().unwrap().len(), 1);
    assert_eq!(held["results"][0]["object_id"], b["object_id"]);
    let paid = expect(app.get("/orders?order_status[]=PAID").await, StatusCode::OK).await;
    assert!(paid["results"]
        .as_array()
        .unwrap()
        .iter()
        .any(|o| o["object_id"] == b["object_id"]));
    let all = expect(app.get("/orders").await, StatusCode::OK).await;
    assert_eq!(all["results"].as_array().unwrap().len(), 3);
}

/// An order of two line items (2 + 1) shipping from Lisbon to a buyer in Porto with an email.
fn porto_order() -> Value {
    let mut to = porto();
    to["email"] = json!("ana@example.pt");
    json!({"order_number": "PT-1", "placed_at": "2026-11-30T10:00:00Z", "to_address": to, "weight": "1.5", "weight_unit": "kg",
    "line_items": [
        {"title": "Caneca", "sku": "MUG", "quantity": 2, "total_price": "20.00", "currency": "EUR", "weight": "1.0", "weight_unit": "kg"},
        {"title": "Postal", "sku": "CARD", "quantity": 1, "total_price": "2.00", "currency": "EUR", "weight": "0.05", "weight_unit": "kg"}
    ]})
}

async fn new_order(app: &TestApp, body: &Value) -> Value {
    expect(app.post_json("/orders", body).await, StatusCode::CREATED).await
}

/// A rate of the courier for a Lisbon → Porto parcel; the shipment's recipient has no email
/// (the order's buyer has).
async fn porto_rate(app: &TestApp) -> String {
    rate_for(
        app,
        json!({"address_from": lisboa(), "address_to": porto(), "parcels": [parcel()], "async": false}),
        "std",
    )
    .await
}

#[tokio::test]
async fn labels_fulfil_orders_partly_then_wholly_and_refunds_give_quantities_back() {
    let smtp = SmtpServer::start().await;
    let app = spawn_app_with(Layer {
        smtp_host: Some("127.0.0.1".into()),
        smtp_port: Some(smtp.port),
        smtp_tls: Some("none".into()),
        smtp_from: Some("Loja Lisboa <envios@loja.example>".into()),
        ..Default::default()
    })
    .await;
    let receiver = Receiver::start().await;
    for event in ["order_updated", "order_fulfilled"] {
        expect(
            app.post_json("/webhooks", &json!({"url": receiver.url, "event": event}))
                .await,
            StatusCode::CREATED,
        )
        .await;
    }
    let account = courier(&app).await;
    let o = new_order(&app, &porto_order()).await;
    let id = o["object_id"].as_str().unwrap().to_string();
    let mug = o["line_items"][0]["object_id"]
        .as_str()
        .unwrap()
        .to_string();
    let card = o["line_items"][1]["object_id"]
        .as_str()
        .unwrap()
        .to_string();

    // First parcel: one mug.
    let rate = porto_rate(&app).await;
    let first = expect(
        app.post_json(
            "/transactions",
            &json!({"rate": rate, "async": false, "order": id, "line_items": [{"line_item": mug, "quantity": 1}]}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(first["status"], "SUCCESS", "{first}");
    let now = expect(app.get(&format!("/orders/{id}")).await, StatusCode::OK).await;
    assert_eq!(now["order_status"], "PARTIALLY_FULFILLED");
    assert_eq!(now["line_items"][0]["quantity_shipped"], 1);
    assert_eq!(now["line_items"][1]["quantity_shipped"], 0);
    assert_eq!(
        now["transactions"],
        json!([{"object_id": first["object_id"], "status": "SUCCESS", "tracking_number": first["tracking_number"]}])
    );

    // More than is left is refused before any label is bought, naming the order.
    let rate2 = porto_rate(&app).await;
    let bad = expect(
        app.post_json(
            "/transactions",
            &json!({"rate": rate2, "async": false, "order": id, "line_items": [{"line_item": mug, "quantity": 2}]}),
        )
        .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(
        bad["fields"]["order"][0]
            .as_str()
            .unwrap()
            .contains("1 left to ship"),
        "{bad}"
    );
    let unbought = expect(
        app.get(&format!("/transactions?rate={rate2}")).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(unbought["count"], 0, "no label was bought");

    // Second parcel: the rest (no line items named = everything still to ship), bought in the
    // background.
    let second = expect(
        app.post_json("/transactions", &json!({"rate": rate2, "order": id}))
            .await,
        StatusCode::CREATED,
    )
    .await;
    let second_id = second["object_id"].as_str().unwrap().to_string();
    poll(
        &app,
        &format!("/transactions/{second_id}"),
        "status",
        "SUCCESS",
    )
    .await;
    let done = expect(app.get(&format!("/orders/{id}")).await, StatusCode::OK).await;
    assert_eq!(done["order_status"], "SHIPPED", "{done}");
    assert_eq!(done["line_items"][0]["quantity_shipped"], 2);
    assert_eq!(done["line_items"][1]["quantity_shipped"], 1);
    assert_eq!(done["transactions"].as_array().unwrap().len(), 2);

    // A fully shipped order takes no further label.
    let rate3 = porto_rate(&app).await;
    let bad = expect(
        app.post_json(
            "/transactions",
            &json!({"rate": rate3, "async": false, "order": id}),
        )
        .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(bad["fields"]["order"][0]
        .as_str()
        .unwrap()
        .contains("already on a label"));

    // Webhooks: two order_updated (partly, wholly) and one order_fulfilled.
    let got = receiver
        .wait_until(10, |r| {
            r.iter()
                .filter(|d| d.json()["event"] == "order_fulfilled")
                .count()
                == 1
                && r.iter()
                    .filter(|d| d.json()["event"] == "order_updated")
                    .count()
                    >= 2
        })
        .await;
    let fulfilled: Vec<Value> = got
        .iter()
        .map(|d| d.json())
        .filter(|j| j["event"] == "order_fulfilled")
        .collect();
    assert_eq!(fulfilled.len(), 1);
    assert_eq!(fulfilled[0]["data"]["object_id"], id.as_str());
    assert_eq!(fulfilled[0]["data"]["order_status"], "SHIPPED");

    // The buyer's email: the shipment's recipient had none, the order's buyer has one. A scan
    // of the first parcel tells her once.
    let key = crate::tracking::scan_key(&app, &account).await;
    let number = first["tracking_number"].as_str().unwrap();
    for _ in 0..2 {
        expect(
            crate::tracking::scan(&app, &key, &json!({"tracking_number": number, "status": "TRANSIT", "occurred_at": "2026-11-30T12:00:00Z",
                "location": {"city": "Lisboa", "country": "PT"}})).await,
            StatusCode::CREATED,
        )
        .await;
    }
    let mails = smtp.wait_for(1, 10).await;
    crate::helpers::settled(&app.database_url).await;
    let mails_now = smtp.mails();
    assert_eq!(mails_now.len(), 1, "one email per parcel and status");
    assert!(
        mails[0].to.iter().any(|t| t.contains("ana@example.pt")),
        "{:?}",
        mails[0].to
    );

    // Refunding the second (unused) parcel gives its mug and card back; the scanned first
    // parcel cannot be refunded.
    let r = expect(
        app.post_json("/refunds", &json!({"transaction": second_id}))
            .await,
        StatusCode::CREATED,
    )
    .await;
    poll(
        &app,
        &format!("/refunds/{}", r["object_id"].as_str().unwrap()),
        "status",
        "SUCCESS",
    )
    .await;
    let back = expect(app.get(&format!("/orders/{id}")).await, StatusCode::OK).await;
    assert_eq!(back["order_status"], "PARTIALLY_FULFILLED", "{back}");
    assert_eq!(back["line_items"][0]["quantity_shipped"], 1);
    assert_eq!(back["line_items"][1]["quantity_shipped"], 0);
    assert_eq!(
        back["transactions"].as_array().unwrap().len(),
        2,
        "a refunded label stays in the order's history"
    );
    assert_eq!(back["transactions"][1]["status"], "REFUNDED");
    // The card can ship again.
    let rate4 = porto_rate(&app).await;
    let again = expect(
        app.post_json(
            "/transactions",
            &json!({"rate": rate4, "async": false, "order": id, "line_items": [{"line_item": card, "quantity": 1}]}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(again["status"], "SUCCESS");
}

#[tokio::test]
async fn one_parcel_carries_two_orders_of_one_buyer_and_closed_orders_take_no_label() {
    let app = spawn_app().await;
    courier(&app).await;
    let a = new_order(&app, &porto_order()).await;
    let mut b_body = porto_order();
    b_body["order_number"] = json!("PT-2");
    let b = new_order(&app, &b_body).await;
    let rate = porto_rate(&app).await;
    let t = expect(
        app.post_json(
            "/transactions",
            &json!({"rate": rate, "async": false, "order": [a["object_id"], b["object_id"]]}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    for o in [&a, &b] {
        let now = expect(
            app.get(&format!("/orders/{}", o["object_id"].as_str().unwrap()))
                .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(now["order_status"], "SHIPPED");
        assert_eq!(now["transactions"][0]["object_id"], t["object_id"]);
        assert_eq!(now["transactions"].as_array().unwrap().len(), 1);
    }

    // A cancelled order cannot be shipped; a shipped one cannot be cancelled.
    let mut c_body = porto_order();
    c_body["order_number"] = json!("PT-3");
    let c = new_order(&app, &c_body).await;
    let cid = c["object_id"].as_str().unwrap();
    let cancelled = expect(
        app.post_json(
            &format!("/orders/{cid}/status"),
            &json!({"order_status": "CANCELLED"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(cancelled["order_status"], "CANCELLED");
    let rate = porto_rate(&app).await;
    let bad = expect(
        app.post_json(
            "/transactions",
            &json!({"rate": rate, "async": false, "order": cid}),
        )
        .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(bad["fields"]["order"][0]
        .as_str()
        .unwrap()
        .contains("CANCELLED"));
    let aid = a["object_id"].as_str().unwrap();
    let bad = expect(
        app.post_json(
            &format!("/orders/{aid}/status"),
            &json!({"order_status": "CANCELLED"}),
        )
        .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(bad["fields"]["order_status"][0]
        .as_str()
        .unwrap()
        .contains("SHIPPED"));
    // Another account's order id is unknown to this purchase.
    let other = app.other_account(Mode::Test).await;
    let theirs = new_order(&other, &porto_order()).await;
    let bad = expect(
        app.post_json(
            "/transactions",
            &json!({"rate": rate, "async": false, "order": theirs["object_id"]}),
        )
        .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(bad["fields"]["order"][0]
        .as_str()
        .unwrap()
        .contains("No order"));
}

#[tokio::test]
async fn packing_slips_are_pdfs_with_the_order_number_as_code_128_and_the_parcels_items() {
    use crate::labels::{code128, download, scratch, tool};
    let app = spawn_app().await;
    courier(&app).await;
    let mut body = porto_order();
    body["notes"] = json!("Embrulhar para oferta");
    body["line_items"][0]["variant_title"] = json!("Azul");
    let o = new_order(&app, &body).await;
    let id = o["object_id"].as_str().unwrap();
    let slip = expect(
        app.get(&format!("/orders/{id}/packingslip")).await,
        StatusCode::OK,
    )
    .await;
    assert!(slip["expires"].as_str().unwrap() > slip["created"].as_str().unwrap());
    let (kind, pdf) = download(&app, slip["slip_url"].as_str().unwrap()).await;
    assert_eq!(kind, "application/pdf");
    let path = scratch("slip.pdf", &pdf);
    let text = tool("pdftotext", &["-layout", path.to_str().unwrap(), "-"]);
    for want in [
        "PT-1",
        "Ana Conceição",
        "4000-447 Porto",
        "Caneca — Azul",
        "MUG",
        "Postal",
        "Embrulhar para oferta",
        "Items in this parcel: 3",
    ] {
        assert!(text.contains(want), "{want} not in {text}");
    }
    assert_eq!(code128(&path), vec!["PT-1".to_string()]);
    let fonts = tool("pdffonts", &[path.to_str().unwrap()]);
    assert!(fonts.contains("Type 3"), "embedded fonts: {fonts}");

    // The slip of one parcel lists what that label carries.
    let mug = o["line_items"][0]["object_id"].as_str().unwrap();
    let rate = porto_rate(&app).await;
    let t = expect(
        app.post_json(
            "/transactions",
            &json!({"rate": rate, "async": false, "order": id, "line_items": [{"line_item": mug, "quantity": 1}]}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let tid = t["object_id"].as_str().unwrap();
    let slip = expect(
        app.get(&format!("/orders/{id}/packingslip?transaction={tid}"))
            .await,
        StatusCode::OK,
    )
    .await;
    let path = scratch(
        "parcel.pdf",
        &download(&app, slip["slip_url"].as_str().unwrap()).await.1,
    );
    let text = tool("pdftotext", &["-layout", path.to_str().unwrap(), "-"]);
    assert!(text.contains("Items in this parcel: 1"), "{text}");
    assert!(
        !text.contains("Postal"),
        "the card is not in this parcel: {text}"
    );

    // Many orders in one PDF, each on its own page.
    let mut second = porto_order();
    second["order_number"] = json!("PT-2");
    let b = new_order(&app, &second).await;
    let merged = expect(
        app.post_json(
            "/orders/packingslips",
            &json!({"orders": [id, b["object_id"]]}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let path = scratch(
        "slips.pdf",
        &download(&app, merged["slip_url"].as_str().unwrap()).await.1,
    );
    let info = tool("pdfinfo", &[path.to_str().unwrap()]);
    assert!(
        info.lines()
            .any(|l| l.starts_with("Pages:") && l.ends_with(" 2")),
        "{info}"
    );
    let text = tool("pdftotext", &["-layout", path.to_str().unwrap(), "-"]);
    assert!(text.find("PT-1").unwrap() < text.find("PT-2").unwrap());
    let other = app.other_account(Mode::Test).await;
    expect(
        other.get(&format!("/orders/{id}/packingslip")).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    let bad = expect(
        other
            .post_json("/orders/packingslips", &json!({"orders": [id]}))
            .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(bad["fields"]["orders.0"].is_array());
}

/// Moves an order by hand.
async fn set_status(app: &TestApp, id: &str, status: &str) -> reqwest::Response {
    app.post_json(
        &format!("/orders/{id}/status"),
        &json!({"order_status": status}),
    )
    .await
}

#[tokio::test]
async fn a_held_order_gets_no_label_joins_no_batch_and_is_cancelled_only_after_its_label_is_refunded(
) {
    let app = spawn_app().await;
    let account = courier(&app).await;
    let from = app.create_address(&lisboa()).await;
    let held = new_order(&app, &porto_order()).await;
    let hid = held["object_id"].as_str().unwrap().to_string();
    let mug = held["line_items"][0]["object_id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut paid_body = porto_order();
    paid_body["order_number"] = json!("PT-2");
    new_order(&app, &paid_body).await;
    let h = expect(set_status(&app, &hid, "ON_HOLD").await, StatusCode::OK).await;
    assert_eq!(h["consign_status"], "ON_HOLD");

    // No label for a held order: 400 naming the order, and nothing bought.
    let rate = porto_rate(&app).await;
    let bad = expect(
        app.post_json(
            "/transactions",
            &json!({"rate": rate, "async": false, "order": hid}),
        )
        .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    let why = bad["fields"]["order"][0].as_str().unwrap();
    assert!(why.contains(&hid) && why.contains("ON_HOLD"), "{bad}");
    let none = expect(
        app.get(&format!("/transactions?rate={rate}")).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(none["count"], 0, "no label was bought");

    // "Ship every PAID order" leaves the held one out (PAID shows held orders in lists).
    let b = expect(
        app.post_json(
            "/batches/from_orders",
            &json!({"default_carrier_account": account, "default_servicelevel_token": "std", "address_from": from["object_id"],
                "length": "30", "width": "20", "height": "10", "distance_unit": "cm"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let valid = crate::batches::batch_until(&app, b["object_id"].as_str().unwrap(), "VALID").await;
    let results = valid["batch_shipments"]["results"].as_array().unwrap();
    assert_eq!(results.len(), 1, "{valid}");
    assert_eq!(results[0]["metadata"], "PT-2");
    // Asking for held orders by name finds none to ship.
    let bad = expect(
        app.post_json(
            "/batches/from_orders",
            &json!({"default_carrier_account": account, "default_servicelevel_token": "std", "address_from": from["object_id"],
                "order_status": ["ON_HOLD"], "length": "30", "width": "20", "height": "10", "distance_unit": "cm"}),
        )
        .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(bad["fields"]["order_status"].is_array(), "{bad}");

    // Released, it ships: one mug makes it PARTIALLY_FULFILLED.
    let released = expect(set_status(&app, &hid, "PAID").await, StatusCode::OK).await;
    assert_eq!(released["consign_status"], "PAID");
    let t = expect(
        app.post_json(
            "/transactions",
            &json!({"rate": rate, "async": false, "order": hid, "line_items": [{"line_item": mug, "quantity": 1}]}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(t["status"], "SUCCESS", "{t}");
    // A partly shipped order can be held and released again (back to PARTIALLY_FULFILLED).
    let h = expect(set_status(&app, &hid, "ON_HOLD").await, StatusCode::OK).await;
    assert_eq!(h["consign_status"], "ON_HOLD");
    let back = expect(set_status(&app, &hid, "PAID").await, StatusCode::OK).await;
    assert_eq!(back["consign_status"], "PARTIALLY_FULFILLED", "{back}");
    assert_eq!(back["order_status"], "PARTIALLY_FULFILLED");
    assert_eq!(back["line_items"][0]["quantity_shipped"], 1);

    // Cancelling while the label is live is refused, naming it; after its refund it works.
    let bad = expect(
        set_status(&app, &hid, "CANCELLED").await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    let why = bad["fields"]["order_status"][0].as_str().unwrap();
    assert!(
        why.contains(t["object_id"].as_str().unwrap()) && why.contains("refund it first"),
        "{bad}"
    );
    let still = expect(app.get(&format!("/orders/{hid}")).await, StatusCode::OK).await;
    assert_eq!(still["consign_status"], "PARTIALLY_FULFILLED");
    let r = expect(
        app.post_json("/refunds", &json!({"transaction": t["object_id"]}))
            .await,
        StatusCode::CREATED,
    )
    .await;
    poll(
        &app,
        &format!("/refunds/{}", r["object_id"].as_str().unwrap()),
        "status",
        "SUCCESS",
    )
    .await;
    let cancelled = expect(set_status(&app, &hid, "CANCELLED").await, StatusCode::OK).await;
    assert_eq!(cancelled["consign_status"], "CANCELLED");
    assert_eq!(cancelled["line_items"][0]["quantity_shipped"], 0);
}

#[tokio::test]
async fn the_state_table_is_what_the_api_does() {
    let app = spawn_app().await;
    courier(&app).await;
    // UNKNOWN can be set (the table says so), and left again.
    let o = new_order(&app, &porto_order()).await;
    let id = o["object_id"].as_str().unwrap().to_string();
    let u = expect(set_status(&app, &id, "UNKNOWN").await, StatusCode::OK).await;
    assert_eq!(u["consign_status"], "UNKNOWN");
    assert_eq!(u["order_status"], "UNKNOWN");
    let p = expect(set_status(&app, &id, "PAID").await, StatusCode::OK).await;
    assert_eq!(p["consign_status"], "PAID");
    // Fulfilment states are the labels': refused, naming what is allowed.
    let bad = expect(
        set_status(&app, &id, "SHIPPED").await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    let why = bad["fields"]["order_status"][0].as_str().unwrap();
    assert!(why.contains("labels decide"), "{bad}");
    assert!(
        why.contains("it may become UNKNOWN, AWAITPAY, ON_HOLD, CANCELLED, REFUNDED"),
        "{bad}"
    );
    // A shipped order does not go back to PAID (it used to answer 200 changing nothing).
    let rate = porto_rate(&app).await;
    let t = expect(
        app.post_json(
            "/transactions",
            &json!({"rate": rate, "async": false, "order": id}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(t["status"], "SUCCESS");
    let bad = expect(set_status(&app, &id, "PAID").await, StatusCode::BAD_REQUEST).await;
    let why = bad["fields"]["order_status"][0].as_str().unwrap();
    assert!(
        why.contains("SHIPPED and cannot become PAID")
            && why.contains("it may become DELIVERED, RETURNED, REFUNDED"),
        "{bad}"
    );
    let same = expect(app.get(&format!("/orders/{id}")).await, StatusCode::OK).await;
    assert_eq!(same["consign_status"], "SHIPPED");
    // Staying put is answered as it is.
    let again = expect(set_status(&app, &id, "SHIPPED").await, StatusCode::OK).await;
    assert_eq!(again["consign_status"], "SHIPPED");
    let d = expect(set_status(&app, &id, "DELIVERED").await, StatusCode::OK).await;
    assert_eq!(d["consign_status"], "DELIVERED");
}

#[tokio::test]
async fn a_source_sending_an_order_again_leaves_it_held() {
    let app = spawn_app().await;
    let mut body = recorded_order();
    body["source_id"] = json!("shop-1");
    let o = expect(app.post_json("/orders", &body).await, StatusCode::CREATED).await;
    let id = o["object_id"].as_str().unwrap().to_string();
    expect(set_status(&app, &id, "ON_HOLD").await, StatusCode::OK).await;
    // The shop (or a re-import of the same file) still says PAID: the hold stays.
    let again = expect(app.post_json("/orders", &body).await, StatusCode::CREATED).await;
    assert_eq!(again["object_id"], id.as_str());
    assert_eq!(again["consign_status"], "ON_HOLD", "{again}");
    // The merchant releases it.
    let released = expect(set_status(&app, &id, "PAID").await, StatusCode::OK).await;
    assert_eq!(released["consign_status"], "PAID");
}
