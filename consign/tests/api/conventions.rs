//! Wire conventions shared by every resource.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{expect, is_object_id, is_shippo_time, shawn, spawn_app};

#[tokio::test]
async fn paths_answer_with_and_without_trailing_slash_without_redirecting() {
    let app = spawn_app().await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let res = client
        .post(app.url("/addresses/"))
        .header("Authorization", format!("ShippoToken {}", app.token))
        .json(&shawn())
        .send()
        .await
        .unwrap();
    let created = expect(res, StatusCode::CREATED).await;
    let id = created["object_id"].as_str().unwrap();
    for path in [
        format!("/addresses/{id}"),
        format!("/addresses/{id}/"),
        "/addresses".into(),
        "/addresses/".into(),
    ] {
        let res = client
            .get(app.url(&path))
            .header("Authorization", &app.token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{path}");
    }
    let res = client
        .post(app.url("/parcels/"))
        .header("Authorization", &app.token)
        .json(&crate::helpers::seed_parcel())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn ids_and_timestamps_follow_shippo() {
    let app = spawn_app().await;
    let a = app.create_address(&shawn()).await;
    assert!(is_object_id(&a["object_id"]), "{}", a["object_id"]);
    assert!(
        is_shippo_time(&a["object_created"]),
        "{}",
        a["object_created"]
    );
    assert!(is_shippo_time(&a["object_updated"]));
    let b = app.create_address(&shawn()).await;
    assert!(
        b["object_id"].as_str().unwrap() > a["object_id"].as_str().unwrap(),
        "ids are time-ordered"
    );
}

#[tokio::test]
async fn form_encoded_bodies_work_like_the_seeds_curl_examples() {
    let app = spawn_app().await;
    let res = app
        .post_form(
            "/addresses/",
            &[
                ("name", "Shawn Ippotle"),
                ("object_purpose", "PURCHASE"),
                ("company", "Shippo"),
                ("street1", "215 Clayton St."),
                ("street2", ""),
                ("city", "San Francisco"),
                ("state", "CA"),
                ("zip", "94117"),
                ("country", "US"),
                ("phone", "+1 555 341 9393"),
                ("email", "shippotle@goshippo.com"),
                ("is_residential", "True"),
                ("metadata", "Customer ID 123456"),
            ],
        )
        .await;
    let body = expect(res, StatusCode::CREATED).await;
    assert_eq!(body["object_purpose"], "PURCHASE");
    assert_eq!(body["is_residential"], true);
    assert_eq!(body["metadata"], "Customer ID 123456");

    let res = app
        .post_form(
            "/parcels",
            &[
                ("length", "5"),
                ("width", "5"),
                ("height", "5"),
                ("distance_unit", "cm"),
                ("weight", "2"),
                ("mass_unit", "lb"),
                ("template", ""),
                ("extra[insurance][amount]", "200"),
                ("extra[insurance][currency]", "USD"),
            ],
        )
        .await;
    let body = expect(res, StatusCode::CREATED).await;
    assert_eq!(body["template"], serde_json::Value::Null);
    assert_eq!(body["extra"]["insurance"]["amount"], "200");
}

#[tokio::test]
async fn bad_bodies_get_4xx_with_the_error_shape() {
    let app = spawn_app().await;
    let auth = format!("ShippoToken {}", app.token);
    let send = |ct: &'static str, body: Vec<u8>| {
        app.client
            .post(app.url("/addresses"))
            .header("Authorization", &auth)
            .header("content-type", ct)
            .body(body)
            .send()
    };

    let body = expect(
        send("application/json", b"{\"country\": \"US\",".to_vec())
            .await
            .unwrap(),
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(body["code"], "invalid_json");
    assert!(body["detail"].as_str().unwrap().contains("not valid JSON"));

    let body = expect(
        send("application/json", b"[1,2]".to_vec()).await.unwrap(),
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(body["code"], "invalid_json");

    let body = expect(
        send(
            "application/json",
            br#"{"country": "US", "name": {"first": "x"}}"#.to_vec(),
        )
        .await
        .unwrap(),
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(body["code"], "validation_error");
    assert!(
        body["fields"]["name"][0]
            .as_str()
            .unwrap()
            .contains("expected a string or a number"),
        "{body}"
    );
    assert_eq!(
        body["name"], body["fields"]["name"],
        "field errors also appear at the top level"
    );

    let body = expect(
        send(
            "application/json",
            br#"{"country": "US", "validate": "maybe"}"#.to_vec(),
        )
        .await
        .unwrap(),
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(body["fields"]["validate"].is_array());

    let body = expect(
        send("text/plain", b"country=US".to_vec()).await.unwrap(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
    )
    .await;
    assert_eq!(body["code"], "unsupported_media_type");

    let huge = format!(
        "{{\"country\": \"US\", \"name\": \"{}\"}}",
        "x".repeat(3 * 1024 * 1024)
    );
    let body = expect(
        send("application/json", huge.into_bytes()).await.unwrap(),
        StatusCode::PAYLOAD_TOO_LARGE,
    )
    .await;
    assert_eq!(body["code"], "payload_too_large");

    // Nothing was stored by any of these.
    let list = expect(app.get("/addresses").await, StatusCode::OK).await;
    assert_eq!(list["count"], 0);
}

#[tokio::test]
async fn unknown_fields_are_ignored_and_numbers_accepted_for_strings() {
    let app = spawn_app().await;
    let mut body = shawn();
    body["some_future_field"] = json!({"nested": [1, 2]});
    body["zip"] = json!(94117);
    let a = app.create_address(&body).await;
    assert_eq!(a["zip"], "94117");
    assert!(a.get("some_future_field").is_none());
}

#[tokio::test]
async fn unknown_paths_and_methods_get_json_errors() {
    let app = spawn_app().await;
    let body = expect(app.get("/no-such-thing").await, StatusCode::NOT_FOUND).await;
    assert_eq!(body["code"], "not_found");
    let res = app
        .client
        .delete(app.url("/addresses"))
        .header("Authorization", &app.token)
        .send()
        .await
        .unwrap();
    let body = expect(res, StatusCode::METHOD_NOT_ALLOWED).await;
    assert_eq!(body["code"], "method_not_allowed");
    let body = expect(app.get("/addresses/not-an-id").await, StatusCode::NOT_FOUND).await;
    assert_eq!(body["code"], "not_found");
}

#[tokio::test]
async fn lists_paginate_with_working_absolute_links() {
    let app = spawn_app().await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let mut body = shawn();
        body["metadata"] = json!(format!("#{i}"));
        ids.push(
            app.create_address(&body).await["object_id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let first = expect(app.get("/addresses?results=2").await, StatusCode::OK).await;
    assert_eq!(first["count"], 5);
    assert_eq!(first["previous"], serde_json::Value::Null);
    let got: Vec<&str> = first["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["object_id"].as_str().unwrap())
        .collect();
    assert_eq!(got, [ids[4].as_str(), ids[3].as_str()], "newest first");
    let next = first["next"].as_str().unwrap();
    assert!(next.starts_with(&app.base), "{next}");

    let second = expect(
        app.client
            .get(next)
            .header("Authorization", &app.token)
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    let got: Vec<&str> = second["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["object_id"].as_str().unwrap())
        .collect();
    assert_eq!(got, [ids[2].as_str(), ids[1].as_str()]);
    let third = expect(
        app.client
            .get(second["next"].as_str().unwrap())
            .header("Authorization", &app.token)
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(third["results"].as_array().unwrap().len(), 1);
    assert_eq!(third["next"], serde_json::Value::Null);
    let back = expect(
        app.client
            .get(third["previous"].as_str().unwrap())
            .header("Authorization", &app.token)
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(back["results"], second["results"]);

    for bad in [
        "/addresses?page=0",
        "/addresses?results=abc",
        "/addresses?results=100000",
    ] {
        let body = expect(app.get(bad).await, StatusCode::BAD_REQUEST).await;
        assert_eq!(body["code"], "validation_error", "{bad}");
    }
}
