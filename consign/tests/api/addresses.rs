//! Seed 002, "Addresses".

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{expect, shawn, spawn_app};

#[tokio::test]
async fn a_complete_address_is_a_valid_purchase_address() {
    let app = spawn_app().await;
    let a = app.create_address(&shawn()).await;
    assert_eq!(a["object_state"], "VALID");
    assert_eq!(a["object_purpose"], "PURCHASE");
    assert_eq!(a["object_source"], "FULLY_ENTERED");
    assert_eq!(a["is_complete"], true);
    assert_eq!(a["messages"], json!([]));
    assert_eq!(a["validation_results"], json!({}));
    for key in [
        "name", "company", "street1", "city", "state", "zip", "country", "phone", "email",
        "metadata",
    ] {
        assert_eq!(a[key], shawn()[key], "{key}");
    }
    assert_eq!(a["is_residential"], true);
    assert!(a["object_owner"].as_str().unwrap().starts_with("merchant_"));

    let id = a["object_id"].as_str().unwrap();
    let fetched = expect(app.get(&format!("/addresses/{id}")).await, StatusCode::OK).await;
    assert_eq!(fetched, a, "retrieve returns what create returned");
}

#[tokio::test]
async fn a_quote_address_is_incomplete_and_partially_entered() {
    let app = spawn_app().await;
    let a = app
        .create_address(&json!({"zip": "94117", "country": "US"}))
        .await;
    assert_eq!(a["object_state"], "INCOMPLETE");
    assert_eq!(a["object_purpose"], "QUOTE");
    assert_eq!(a["object_source"], "PARTIALLY_ENTERED");
    assert_eq!(a["is_complete"], false);
    let texts: Vec<&str> = a["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert!(
        texts.iter().any(|t| t.starts_with("street1 is required")),
        "{texts:?}"
    );
    assert!(
        texts.iter().any(|t| t.starts_with("state is required")),
        "{texts:?}"
    );
}

#[tokio::test]
async fn an_explicit_purchase_address_must_be_complete() {
    let app = spawn_app().await;
    let res = app
        .post_json(
            "/addresses",
            &json!({"object_purpose": "PURCHASE", "zip": "94117", "country": "US"}),
        )
        .await;
    let body = expect(res, StatusCode::BAD_REQUEST).await;
    assert_eq!(body["code"], "validation_error");
    for field in ["name", "street1", "city", "state"] {
        assert_eq!(
            body["fields"][field][0], "This field is required for a PURCHASE address.",
            "{field}"
        );
    }
    let res = app
        .post_json(
            "/addresses",
            &json!({"object_purpose": "SOMETIMES", "country": "US"}),
        )
        .await;
    let body = expect(res, StatusCode::BAD_REQUEST).await;
    assert!(body["fields"]["object_purpose"][0]
        .as_str()
        .unwrap()
        .contains("QUOTE or PURCHASE"));
}

#[tokio::test]
async fn country_is_required_and_must_be_iso_3166() {
    let app = spawn_app().await;
    let body = expect(
        app.post_json("/addresses", &json!({"name": "x"})).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(body["fields"]["country"][0], "This field is required.");
    assert_eq!(body["country"][0], "This field is required.");
    let body = expect(
        app.post_json("/addresses", &json!({"country": "USA"}))
            .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(body["fields"]["country"][0]
        .as_str()
        .unwrap()
        .contains("ISO 3166-1"));
    let a = app
        .create_address(&json!({"country": "de", "zip": "10117"}))
        .await;
    assert_eq!(a["country"], "DE");
}

#[tokio::test]
async fn wrong_values_make_an_invalid_address_with_codes() {
    let app = spawn_app().await;
    let mut body = shawn();
    body["zip"] = json!("1234");
    body["street1"] = json!("1234 Extraordinarily Long Boulevard Name Apt 5");
    body["email"] = json!("shippotle-at-goshippo");
    let a = app.create_address(&body).await;
    assert_eq!(a["object_state"], "INVALID");
    assert_eq!(a["is_complete"], false);
    let codes: Vec<&str> = a["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        [
            "street_line_too_long",
            "invalid_postal_code",
            "invalid_email"
        ]
    );
    assert!(
        a["messages"][1]["text"].as_str().unwrap().contains("95014"),
        "message offers an example: {}",
        a["messages"][1]
    );
    assert_eq!(a["messages"][1]["type"], "address_error");
}

#[tokio::test]
async fn validate_on_create_normalises_and_reports() {
    let app = spawn_app().await;
    let a = app
        .create_address(&json!({
            "name": "Jean Tremblay", "street1": "1 Rue Sainte-Catherine", "city": "Montréal",
            "state": "Quebec", "zip": "h3z2y7", "country": "CA", "validate": true
        }))
        .await;
    assert_eq!(a["object_source"], "VALIDATOR");
    assert_eq!(a["state"], "QC");
    assert_eq!(a["zip"], "H3Z 2Y7");
    assert_eq!(a["object_state"], "VALID");
    assert_eq!(a["validation_results"]["is_valid"], true);
    let codes: Vec<&str> = a["validation_results"]["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["administrative_area_change", "postal_code_change"]);
}

#[tokio::test]
async fn the_validate_endpoint_judges_and_persists() {
    let app = spawn_app().await;
    let mut body = shawn();
    body["state"] = json!("california");
    body["zip"] = json!("10001");
    let a = app.create_address(&body).await;
    let id = a["object_id"].as_str().unwrap();
    assert_eq!(a["validation_results"], json!({}));

    let v = expect(
        app.get(&format!("/addresses/{id}/validate/")).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(v["object_id"], a["object_id"]);
    assert_eq!(v["object_source"], "VALIDATOR");
    assert_eq!(v["state"], "CA");
    assert_eq!(v["validation_results"]["is_valid"], false);
    assert_eq!(v["object_state"], "INVALID");
    let codes: Vec<&str> = v["validation_results"]["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"component_mismatch_error"), "{codes:?}");
    assert!(v["object_updated"].as_str().unwrap() >= a["object_updated"].as_str().unwrap());

    let again = expect(app.get(&format!("/addresses/{id}")).await, StatusCode::OK).await;
    assert_eq!(again["state"], "CA", "the normalised value was stored");
    assert_eq!(again["validation_results"], v["validation_results"]);
}

#[tokio::test]
async fn non_latin_values_round_trip() {
    let app = spawn_app().await;
    let a = app
        .create_address(&json!({"name": "Łukasz Żółć", "street1": "ul. Piotrkowska 1", "city": "Łódź", "zip": "90-001", "country": "PL"}))
        .await;
    assert_eq!(a["city"], "Łódź");
    assert_eq!(a["object_state"], "VALID");
    let id = a["object_id"].as_str().unwrap();
    let jp = app.create_address(&json!({"name": "山田太郎", "street1": "丸の内1-1", "city": "千代田区", "state": "東京都", "zip": "100-0005", "country": "JP"})).await;
    assert_eq!(jp["name"], "山田太郎");
    assert_eq!(jp["object_state"], "VALID", "{}", jp["messages"]);
    let fetched = expect(app.get(&format!("/addresses/{id}")).await, StatusCode::OK).await;
    assert_eq!(fetched["name"], "Łukasz Żółć");
}

#[tokio::test]
async fn limits_are_enforced() {
    let app = spawn_app().await;
    let mut body = shawn();
    body["metadata"] = json!("m".repeat(101));
    body["company"] = json!("c".repeat(256));
    let err = expect(
        app.post_json("/addresses", &body).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(err["fields"]["metadata"][0]
        .as_str()
        .unwrap()
        .contains("100"));
    assert!(err["fields"]["company"][0]
        .as_str()
        .unwrap()
        .contains("255"));
}
