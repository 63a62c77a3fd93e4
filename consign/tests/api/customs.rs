//! Seed 002 "Customs Items" and "Customs Declarations", alone and inside shipments.

use domain::account::Mode;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{expect, is_object_id, spawn_app, TestApp};

/// The seed's example item.
fn t_shirt() -> Value {
    json!({"description": "T-Shirt", "quantity": 2, "net_weight": "400", "mass_unit": "g",
           "value_amount": "20", "value_currency": "USD", "origin_country": "US",
           "tariff_number": "6109.10", "metadata": "Order ID #123123"})
}

fn declaration(items: Value) -> Value {
    json!({"certify": true, "certify_signer": "Shawn Ippotle", "contents_type": "MERCHANDISE",
           "contents_explanation": "T-Shirt purchase", "invoice": "#123123", "eel_pfc": "NOEEI_30_37_a",
           "non_delivery_option": "ABANDON", "incoterm": "DDU", "items": items})
}

async fn create(app: &TestApp, path: &str, body: Value) -> Value {
    expect(app.post_json(path, &body).await, StatusCode::CREATED).await
}

#[tokio::test]
async fn items_are_created_checked_and_listed() {
    let app = spawn_app().await;
    let item = create(&app, "/customs/items", t_shirt()).await;
    assert!(is_object_id(&item["object_id"]));
    assert_eq!(
        (
            item["quantity"].as_u64(),
            item["net_weight"].as_str(),
            item["mass_unit"].as_str(),
            item["value_currency"].as_str()
        ),
        (Some(2), Some("400"), Some("g"), Some("USD"))
    );
    assert_eq!(item["object_state"], "VALID");
    let id = item["object_id"].as_str().unwrap();
    let got = expect(
        app.get(&format!("/customs/items/{id}")).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(got, item);
    let list = expect(app.get("/customs/items").await, StatusCode::OK).await;
    assert_eq!(list["count"], 1);

    let mut bad = t_shirt();
    bad["quantity"] = json!(0);
    bad["value_currency"] = json!("DOLLARS");
    bad["origin_country"] = json!("Narnia");
    bad.as_object_mut().unwrap().remove("description");
    let err = expect(
        app.post_json("/customs/items", &bad).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    for field in [
        "description",
        "quantity",
        "value_currency",
        "origin_country",
    ] {
        assert!(
            err["fields"].get(field).is_some(),
            "{field} not named in {err}"
        );
    }
    let other = app.other_account_token(Mode::Test).await;
    expect(
        app.get_as(&other, &format!("/customs/items/{id}")).await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

#[tokio::test]
async fn declarations_take_item_ids_or_objects_and_answer_ids() {
    let app = spawn_app().await;
    let stored = create(&app, "/customs/items", t_shirt()).await;
    let mut mug = t_shirt();
    mug["description"] = json!("Mug");
    let d = create(
        &app,
        "/customs/declarations",
        declaration(json!([stored["object_id"], mug])),
    )
    .await;
    let items = d["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0], stored["object_id"]);
    assert!(
        is_object_id(&items[1]),
        "new items are answered as ids: {d}"
    );
    assert_eq!(
        (
            d["contents_type"].as_str(),
            d["non_delivery_option"].as_str(),
            d["incoterm"].as_str(),
            d["eel_pfc"].as_str()
        ),
        (
            Some("MERCHANDISE"),
            Some("ABANDON"),
            Some("DDU"),
            Some("NOEEI_30_37_a")
        )
    );
    assert_eq!(
        (d["certify"].as_bool(), d["certify_signer"].as_str()),
        (Some(true), Some("Shawn Ippotle"))
    );
    // The new item was stored with the declaration.
    let new_item = items[1].as_str().unwrap();
    let got = expect(
        app.get(&format!("/customs/items/{new_item}")).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(got["description"], "Mug");
    let id = d["object_id"].as_str().unwrap();
    assert_eq!(
        expect(
            app.get(&format!("/customs/declarations/{id}")).await,
            StatusCode::OK
        )
        .await,
        d
    );
    assert_eq!(
        expect(app.get("/customs/declarations").await, StatusCode::OK).await["count"],
        1
    );
}

#[tokio::test]
async fn bad_declarations_are_refused_and_store_nothing() {
    let app = spawn_app().await;
    let other = app.other_account_token(Mode::Test).await;
    let theirs = expect(
        app.post_json_as(&other, "/customs/items", &t_shirt()).await,
        StatusCode::CREATED,
    )
    .await;
    let mut broken = t_shirt();
    broken["quantity"] = json!("two");
    let mut body = declaration(json!([theirs["object_id"], broken]));
    body["certify"] = json!(false);
    body["contents_type"] = json!("OTHER");
    body["contents_explanation"] = json!("");
    body["eel_pfc"] = json!("AES_ITN");
    let err = expect(
        app.post_json("/customs/declarations", &body).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    for field in [
        "items.0",
        "items.1.quantity",
        "certify",
        "contents_explanation",
        "aes_itn",
    ] {
        assert!(
            err["fields"].get(field).is_some(),
            "{field} not named in {err}"
        );
    }
    let err = expect(
        app.post_json("/customs/declarations", &declaration(json!([])))
            .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(err["items"][0], "At least one customs item is required.");
    assert_eq!(
        expect(app.get("/customs/items").await, StatusCode::OK).await["count"],
        0
    );
    assert_eq!(
        expect(app.get("/customs/declarations").await, StatusCode::OK).await["count"],
        0
    );
}

#[tokio::test]
async fn shipments_carry_their_declaration() {
    let app = spawn_app().await;
    let from = json!({"name": "Shawn Ippotle", "street1": "215 Clayton St.", "city": "San Francisco", "state": "CA", "zip": "94117", "country": "US"});
    let to = json!({"name": "Max Mustermann", "street1": "Unter den Linden 1", "city": "Berlin", "zip": "10117", "country": "DE"});
    let parcel = json!({"length": "10", "width": "8", "height": "4", "distance_unit": "in", "weight": "2", "mass_unit": "lb"});
    let s = create(
        &app,
        "/shipments",
        json!({"address_from": from, "address_to": to, "parcels": [parcel], "customs_declaration": declaration(json!([t_shirt()]))}),
    )
    .await;
    let d = &s["customs_declaration"];
    assert!(
        is_object_id(&d["object_id"]),
        "an object in today's shape: {s}"
    );
    assert!(is_object_id(&d["items"][0]));
    assert!(
        !s["rates"].as_array().unwrap().is_empty(),
        "international rates: {s}"
    );
    let sid = s["object_id"].as_str().unwrap();
    let again = expect(app.get(&format!("/shipments/{sid}")).await, StatusCode::OK).await;
    assert_eq!(&again["customs_declaration"], d);
    // The seed's shape names it by id.
    let res = app
        .client
        .get(app.url(&format!("/shipments/{sid}")))
        .header("Authorization", format!("ShippoToken {}", app.token))
        .header("Shippo-API-Version", "2014-02-11")
        .send()
        .await
        .unwrap();
    assert_eq!(
        expect(res, StatusCode::OK).await["customs_declaration"],
        d["object_id"]
    );
    // By id: the stored declaration; an unknown id is refused.
    let by_id = create(
        &app,
        "/shipments",
        json!({"address_from": from, "address_to": to, "parcels": [parcel], "customs_declaration": d["object_id"]}),
    )
    .await;
    assert_eq!(by_id["customs_declaration"], *d);
    let err = expect(
        app.post_json("/shipments", &json!({"address_from": from, "address_to": to, "parcels": [parcel], "customs_declaration": "0123456789abcdef0123456789abcdef"})).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(
        err["customs_declaration"][0]
            .as_str()
            .unwrap()
            .starts_with("No customs declaration"),
        "{err}"
    );
    let mut bad = declaration(json!([t_shirt()]));
    bad["non_delivery_option"] = json!("BURN");
    let err = expect(
        app.post_json("/shipments", &json!({"address_from": from, "address_to": to, "parcels": [parcel], "customs_declaration": bad})).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(
        err["fields"]
            .get("customs_declaration.non_delivery_option")
            .is_some(),
        "{err}"
    );
}
