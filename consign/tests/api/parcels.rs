//! Seed 002, "Parcels", "Parcel Extras", "Parcel Templates".

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{expect, is_object_id, seed_parcel, spawn_app};

#[tokio::test]
async fn create_retrieve_and_list_a_parcel() {
    let app = spawn_app().await;
    let p = app.create_parcel(&seed_parcel()).await;
    assert!(is_object_id(&p["object_id"]));
    assert_eq!(p["object_state"], "VALID");
    assert_eq!(p["template"], serde_json::Value::Null);
    for (k, v) in [
        ("length", "5"),
        ("width", "5"),
        ("height", "5"),
        ("distance_unit", "cm"),
        ("weight", "2"),
        ("mass_unit", "lb"),
    ] {
        assert_eq!(p[k], v, "{k}");
    }
    assert_eq!(p["extra"], json!({}));
    assert_eq!(p["metadata"], "Customer ID 123456");
    let id = p["object_id"].as_str().unwrap();
    assert_eq!(
        expect(app.get(&format!("/parcels/{id}")).await, StatusCode::OK).await,
        p
    );
    let list = expect(app.get("/parcels").await, StatusCode::OK).await;
    assert_eq!(list["count"], 1);
    assert_eq!(list["results"][0], p);
}

#[tokio::test]
async fn decimals_keep_their_scale_and_numbers_are_accepted() {
    let app = spawn_app().await;
    let p = app
        .create_parcel(&json!({"length": 20.5, "width": "15.25", "height": 12, "distance_unit": "IN", "weight": "5.0000", "mass_unit": "LB"}))
        .await;
    assert_eq!(p["length"], "20.5");
    assert_eq!(p["width"], "15.25");
    assert_eq!(p["weight"], "5.0000");
    assert_eq!(p["distance_unit"], "in");
    assert_eq!(p["mass_unit"], "lb");
}

#[tokio::test]
async fn templates_bring_their_published_dimensions() {
    let app = spawn_app().await;
    let p = app
        .create_parcel(
            &json!({"template": "USPS_SmallFlatRateBox", "weight": "1", "mass_unit": "lb"}),
        )
        .await;
    assert_eq!(
        (
            p["length"].as_str(),
            p["width"].as_str(),
            p["height"].as_str()
        ),
        (Some("8.69"), Some("5.44"), Some("1.75"))
    );
    assert_eq!(p["distance_unit"], "in");
    assert_eq!(p["template"], "USPS_SmallFlatRateBox");
    let p = app.create_parcel(&json!({"template": "UPS_Box_10kg", "length": "1", "width": "1", "height": "1", "distance_unit": "cm", "weight": "9", "mass_unit": "kg"})).await;
    assert_eq!(
        (p["length"].as_str(), p["distance_unit"].as_str()),
        (Some("410.00"), Some("mm"))
    );
    let err = expect(
        app.post_json(
            "/parcels",
            &json!({"template": "Mystery_Box", "weight": "1", "mass_unit": "lb"}),
        )
        .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(err["fields"]["template"][0]
        .as_str()
        .unwrap()
        .contains("Mystery_Box"));
}

#[tokio::test]
async fn bad_parcels_name_every_field_and_store_nothing() {
    let app = spawn_app().await;
    let err = expect(
        app.post_json("/parcels", &json!({"length": "0", "width": "-2", "height": "1234567", "distance_unit": "furlong", "weight": "1.23456", "mass_unit": "stone"})).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(
        err["fields"]["length"][0],
        "Ensure this value is greater than 0."
    );
    assert_eq!(
        err["fields"]["width"][0],
        "Ensure this value is greater than 0."
    );
    assert!(err["fields"]["height"][0]
        .as_str()
        .unwrap()
        .contains("6 digits"));
    assert!(err["fields"]["distance_unit"][0]
        .as_str()
        .unwrap()
        .contains("cm, in, ft, mm, m, yd"));
    assert!(err["fields"]["weight"][0]
        .as_str()
        .unwrap()
        .contains("4 decimal places"));
    assert!(err["fields"]["mass_unit"][0]
        .as_str()
        .unwrap()
        .contains("g, oz, lb, kg"));
    let err = expect(
        app.post_json("/parcels", &json!({})).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    for f in [
        "weight",
        "mass_unit",
        "length",
        "width",
        "height",
        "distance_unit",
    ] {
        assert_eq!(err["fields"][f][0], "This field is required.", "{f}");
    }
    assert_eq!(
        expect(app.get("/parcels").await, StatusCode::OK).await["count"],
        0
    );
}

#[tokio::test]
async fn extras_are_validated_and_echoed() {
    let app = spawn_app().await;
    let mut body = seed_parcel();
    body["extra"] = json!({
        "COD": {"amount": "5.50", "currency": "usd", "payment_method": "CASH"},
        "insurance": {"amount": "200", "currency": "USD", "provider": "UPS", "content": "T-Shirts"},
        "reference_1": "Order #42"
    });
    let p = app.create_parcel(&body).await;
    assert_eq!(
        p["extra"],
        json!({
            "COD": {"amount": "5.50", "currency": "USD", "payment_method": "CASH"},
            "insurance": {"amount": "200", "currency": "USD", "provider": "UPS", "content": "T-Shirts"},
            "reference_1": "Order #42"
        })
    );
    body["extra"] = json!({"COD": {"amount": "lots", "currency": "DOLLARS", "payment_method": "IOU"}, "insurance": {"provider": "ACME"}});
    let err = expect(
        app.post_json("/parcels", &body).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    for f in [
        "extra.COD.amount",
        "extra.COD.currency",
        "extra.COD.payment_method",
        "extra.insurance.provider",
        "extra.insurance.amount",
        "extra.insurance.currency",
    ] {
        assert!(err["fields"][f].is_array(), "{f}: {err}");
    }
}

#[tokio::test]
async fn parcel_templates_are_listed_with_dimensions() {
    let app = spawn_app().await;
    let all = expect(app.get("/parcel-templates").await, StatusCode::OK).await;
    assert_eq!(all["results"].as_array().unwrap().len(), 72);
    let fedex = expect(
        app.get("/parcel-templates?carrier=fedex").await,
        StatusCode::OK,
    )
    .await;
    let fedex = fedex["results"].as_array().unwrap();
    assert_eq!(fedex.len(), 16);
    assert!(fedex.iter().all(|t| t["carrier"] == "fedex"));
    let one = expect(
        app.get("/parcel-templates/USPS_SoftPack").await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(one["is_variable_dimensions"], true);
    let one = expect(
        app.get("/parcel-templates/FedEx_Tube/").await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (
            one["length"].as_str(),
            one["distance_unit"].as_str(),
            one["is_variable_dimensions"].as_bool()
        ),
        (Some("38.00"), Some("in"), Some(false))
    );
    expect(
        app.get("/parcel-templates/Nope").await,
        StatusCode::NOT_FOUND,
    )
    .await;
    expect(
        app.get("/parcel-templates?include=everything").await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    expect(
        app.get_as("bogus", "/parcel-templates").await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
}

#[tokio::test]
async fn user_parcel_templates_are_saved_listed_replaced_and_deleted() {
    let app = spawn_app().await;
    // Its own size: 200 (Shippo's spec), not 201.
    let own = expect(
        app.post_json(
            "/user-parcel-templates",
            &json!({"name": "Caixa M", "length": "30", "width": "20", "height": "10", "distance_unit": "cm", "weight": "0.3", "weight_unit": "kg"}),
        )
        .await,
        reqwest::StatusCode::OK,
    )
    .await;
    assert_eq!(
        (
            own["name"].as_str(),
            own["length"].as_str(),
            own["distance_unit"].as_str()
        ),
        (Some("Caixa M"), Some("30"), Some("cm"))
    );
    assert_eq!(own["template"], Value::Null);
    // A carrier template brings its size; a size beside it is refused.
    let boxed = expect(
        app.post_json(
            "/user-parcel-templates",
            &json!({"template": "USPS_SmallFlatRateBox", "weight": "1", "weight_unit": "lb"}),
        )
        .await,
        reqwest::StatusCode::OK,
    )
    .await;
    assert_eq!(
        (
            boxed["length"].as_str(),
            boxed["width"].as_str(),
            boxed["height"].as_str()
        ),
        (Some("8.69"), Some("5.44"), Some("1.75"))
    );
    assert_eq!(boxed["template"]["token"], "USPS_SmallFlatRateBox");
    let bad = expect(
        app.post_json(
            "/user-parcel-templates",
            &json!({"template": "USPS_SmallFlatRateBox", "length": "3"}),
        )
        .await,
        reqwest::StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(bad["fields"]["length"].is_array());
    let bad = expect(
        app.post_json(
            "/user-parcel-templates",
            &json!({"length": "0", "weight": "1"}),
        )
        .await,
        reqwest::StatusCode::BAD_REQUEST,
    )
    .await;
    for f in [
        "name",
        "length",
        "width",
        "height",
        "distance_unit",
        "weight_unit",
    ] {
        assert!(bad["fields"][f].is_array(), "{f}: {bad}");
    }
    let list = expect(
        app.get("/user-parcel-templates").await,
        reqwest::StatusCode::OK,
    )
    .await;
    assert_eq!(list["results"].as_array().unwrap().len(), 2);
    // include=user: the carrier templates the account's own are based on.
    let user = expect(
        app.get("/parcel-templates?include=user").await,
        reqwest::StatusCode::OK,
    )
    .await;
    let tokens: Vec<&str> = user["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["token"].as_str().unwrap())
        .collect();
    assert_eq!(tokens, ["USPS_SmallFlatRateBox"]);
    // include=enabled: the test carrier sells every carrier's labels.
    let all = expect(app.get("/parcel-templates").await, reqwest::StatusCode::OK).await;
    let enabled = expect(
        app.get("/parcel-templates?include=enabled").await,
        reqwest::StatusCode::OK,
    )
    .await;
    assert_eq!(enabled["results"], all["results"]);
    let id = own["object_id"].as_str().unwrap();
    let replaced = app
        .client
        .put(app.url(&format!("/user-parcel-templates/{id}")))
        .header("Authorization", format!("ShippoToken {}", app.token))
        .json(&json!({"name": "Caixa G", "length": "40", "width": "30", "height": "20", "distance_unit": "cm"}))
        .send()
        .await
        .unwrap();
    let replaced = expect(replaced, reqwest::StatusCode::OK).await;
    assert_eq!(
        (replaced["name"].as_str(), replaced["weight"].clone()),
        (Some("Caixa G"), Value::Null)
    );
    assert_eq!(replaced["object_created"], own["object_created"]);
    let other = app.other_account(domain::account::Mode::Test).await;
    expect(
        other.get(&format!("/user-parcel-templates/{id}")).await,
        reqwest::StatusCode::NOT_FOUND,
    )
    .await;
    let res = app
        .client
        .delete(app.url(&format!("/user-parcel-templates/{id}")))
        .header("Authorization", format!("ShippoToken {}", app.token))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), reqwest::StatusCode::NO_CONTENT);
    expect(
        app.get(&format!("/user-parcel-templates/{id}")).await,
        reqwest::StatusCode::NOT_FOUND,
    )
    .await;
}
