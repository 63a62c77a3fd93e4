//! Seed 002 "Carrier Accounts", and rate-card upload/download.

use domain::account::Mode;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{expect, is_object_id, spawn_app, spawn_app_as, FirstStart, TestApp};

const CARD_JSON: &str = include_str!("../../../crates/carriers/tests/fixtures/courier-pt.json");
const CARD_CSV: &str = include_str!("../../../crates/carriers/tests/fixtures/courier-cl.csv");

async fn put_raw(app: &TestApp, path: &str, content_type: &str, body: &str) -> reqwest::Response {
    app.client
        .put(app.url(path))
        .header("Authorization", format!("ShippoToken {}", app.token))
        .header("content-type", content_type)
        .body(body.to_string())
        .send()
        .await
        .unwrap()
}

async fn create_ratecard_account(app: &TestApp, account_id: &str) -> String {
    let a = expect(
        app.post_json(
            "/carrier_accounts",
            &json!({"carrier": "ratecard", "account_id": account_id, "parameters": {}}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    a["object_id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn credentials_are_encrypted_at_rest_and_never_answered_in_clear() {
    let app = spawn_app().await;
    let body = json!({"carrier": "shippo", "account_id": "321123", "parameters": {"password": "hunter2", "api_key": "sk_live_0123456789abcdef", "meter": 118599345, "sandbox": true}, "metadata": "Main account"});
    let created = expect(
        app.post_json("/carrier_accounts", &body).await,
        StatusCode::CREATED,
    )
    .await;
    assert!(is_object_id(&created["object_id"]));
    assert_eq!(
        (created["carrier"].as_str(), created["account_id"].as_str()),
        (Some("shippo"), Some("321123"))
    );
    assert_eq!(
        created["parameters"],
        json!({"password": "****", "api_key": "****cdef", "meter": "****", "sandbox": true})
    );
    assert_eq!(
        (created["test"].as_bool(), created["active"].as_bool()),
        (Some(false), Some(true)),
        "seed defaults: production, active"
    );
    let text = created.to_string();
    assert!(
        !text.contains("hunter2") && !text.contains("0123456789") && !text.contains("118599345"),
        "{text}"
    );

    let mut conn = app.services.store.conn().await.unwrap();
    let (stored,): (String,) = sqlx::query_as("SELECT parameters FROM carrier_accounts")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert!(
        stored.starts_with("v1:") && !stored.contains("hunter2") && !stored.contains("password"),
        "{stored}"
    );

    let id = created["object_id"].as_str().unwrap();
    let fetched = expect(
        app.get(&format!("/carrier_accounts/{id}")).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(fetched, created);
}

#[tokio::test]
async fn update_keeps_masked_credentials_and_refuses_a_carrier_change() {
    let app = spawn_app().await;
    let created = app.post_json("/carrier_accounts", &json!({"carrier": "shippo", "account_id": "a1", "parameters": {"password": "hunter2", "user": "ann"}})).await;
    let created = expect(created, StatusCode::CREATED).await;
    let id = created["object_id"].as_str().unwrap();
    // A client that read the account sends its masked parameters back with one change.
    let mut params = created["parameters"].clone();
    params["user"] = json!("bob");
    let res = app.client.put(app.url(&format!("/carrier_accounts/{id}"))).header("Authorization", &app.token).json(&json!({"account_id": "a1", "carrier": "shippo", "parameters": params, "active": false})).send().await.unwrap();
    let updated = expect(res, StatusCode::OK).await;
    assert_eq!(updated["active"], false);
    let who = service::accounts::authenticate(&app.services, &app.token)
        .await
        .unwrap();
    let stored =
        service::carrier_accounts::get(&app.services, &who, domain::ObjectId::parse(id).unwrap())
            .await
            .unwrap();
    assert_eq!(
        stored.parameters["password"], "hunter2",
        "the masked value did not overwrite the credential"
    );
    assert_eq!(stored.parameters["user"], "bob");

    let res = app
        .client
        .put(app.url(&format!("/carrier_accounts/{id}")))
        .header("Authorization", &app.token)
        .json(&json!({"carrier": "ratecard"}))
        .send()
        .await
        .unwrap();
    let err = expect(res, StatusCode::BAD_REQUEST).await;
    assert!(err["fields"]["carrier"][0]
        .as_str()
        .unwrap()
        .contains("cannot change"));
}

#[tokio::test]
async fn carrier_accounts_validate_and_are_unique_per_carrier() {
    let app = spawn_app().await;
    let err = expect(
        app.post_json(
            "/carrier_accounts",
            &json!({"carrier": "pigeon", "parameters": []}),
        )
        .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(err["fields"]["carrier"][0]
        .as_str()
        .unwrap()
        .contains("ratecard"));
    assert_eq!(err["fields"]["account_id"][0], "This field is required.");
    assert_eq!(err["fields"]["parameters"][0], "Must be a JSON object.");
    create_ratecard_account(&app, "courier-1").await;
    let dup = expect(
        app.post_json(
            "/carrier_accounts",
            &json!({"carrier": "ratecard", "account_id": "courier-1"}),
        )
        .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(dup["code"], "conflict");
    // The seed's curl example: a form body whose parameters are JSON text.
    let res = app
        .post_form(
            "/carrier_accounts",
            &[
                ("carrier", "shippo"),
                ("account_id", "321123"),
                ("parameters", "{ \"meter\": \"789987\"}"),
            ],
        )
        .await;
    let form = expect(res, StatusCode::CREATED).await;
    assert_eq!(form["parameters"], json!({"meter": "****"}));

    let list = expect(
        app.get("/carrier_accounts?carrier=ratecard").await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(list["count"], 1);
    assert_eq!(list["results"][0]["account_id"], "courier-1");
    let list = expect(
        app.get("/carrier_accounts?account_id=321123").await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(list["count"], 1);
    // The two above plus the `shippo` test carrier every account starts with.
    let all = expect(app.get("/carrier_accounts").await, StatusCode::OK).await;
    assert_eq!(all["count"], 3);
    assert_eq!(all["results"][2]["carrier"], "shippo");
    assert_eq!(all["results"][2]["test"], true);

    let other = app.other_account_token(Mode::Test).await;
    let id = list["results"][0]["object_id"].as_str().unwrap();
    expect(
        app.get_as(&other, &format!("/carrier_accounts/{id}")).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    // The other account sees only its own test carrier, none of ours.
    let theirs = expect(
        app.get_as(&other, "/carrier_accounts").await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(theirs["count"], 1);
    assert_eq!(theirs["results"][0]["account_id"], "shippo_test");
}

#[tokio::test]
async fn rate_cards_upload_as_json_or_csv_and_download_as_either() {
    let app = spawn_app().await;
    let id = create_ratecard_account(&app, "courier-pt").await;
    let path = format!("/carrier_accounts/{id}/rate_card");
    let v1 = expect(
        put_raw(&app, &path, "application/json", CARD_JSON).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (v1["version"].as_i64(), v1["currency"].as_str()),
        (Some(1), Some("EUR"))
    );
    assert_eq!(
        v1["services"],
        json!([{"token": "std", "name": "Standard"}, {"token": "exp", "name": "Express"}])
    );
    assert_eq!(v1["zones"], json!(["L", "N", "E", "W"]));
    // Serial 1 in S10: 1·7 = 7; 7 mod 11 = 7; 11 − 7 = 4.
    assert_eq!(
        (
            v1["tracking_number_format"].as_str(),
            v1["tracking_number_example"].as_str()
        ),
        (Some("CTNNNNNNNNCPT (s10)"), Some("CT000000014PT"))
    );

    let res = app.get(&path).await;
    assert_eq!(res.headers()["rate-card-version"], "1");
    let downloaded = res.text().await.unwrap();
    assert_eq!(
        carriers::rate_card::parse_json(&downloaded).unwrap(),
        carriers::rate_card::parse_json(CARD_JSON).unwrap()
    );

    let v2 = expect(
        put_raw(&app, &path, "text/csv", CARD_CSV).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (v2["version"].as_i64(), v2["currency"].as_str()),
        (Some(2), Some("CLP"))
    );
    // What `curl --data-binary @card.csv` sends (a form content type) is recognised by its content.
    let v3 = expect(
        put_raw(&app, &path, "application/x-www-form-urlencoded", CARD_CSV).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (v3["version"].as_i64(), v3["currency"].as_str()),
        (Some(3), Some("CLP"))
    );
    let v4 = expect(
        put_raw(&app, &path, "application/octet-stream", CARD_JSON).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (v4["version"].as_i64(), v4["currency"].as_str()),
        (Some(4), Some("EUR"))
    );
    let v5 = expect(
        put_raw(&app, &path, "text/csv", CARD_CSV).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(v5["version"], 5);
    let res = app.get(&format!("{path}?format=csv")).await;
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    assert_eq!(res.headers()["rate-card-version"], "5");
    let csv = res.text().await.unwrap();
    assert_eq!(
        carriers::rate_card::parse_csv(&csv).unwrap(),
        carriers::rate_card::parse_csv(CARD_CSV).unwrap()
    );
}

#[tokio::test]
async fn bad_cards_are_refused_with_their_rows_and_nothing_changes() {
    let app = spawn_app().await;
    let id = create_ratecard_account(&app, "courier").await;
    let path = format!("/carrier_accounts/{id}/rate_card");
    expect(app.get(&path).await, StatusCode::NOT_FOUND).await;
    let bad = "card,Bad,CLP,kg,cm\nservice,normal,Normal\nzone,RM,RM,CL/RM,CL/RM\nprice,normal,RM,5,2990\nprice,normal,RM,3,abc\n";
    let err = expect(
        put_raw(&app, &path, "text/csv", bad).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(
        err["fields"]["row 5 (price): max_weight"].is_array(),
        "{err}"
    );
    assert!(err["fields"]["row 5 (price): price"].is_array(), "{err}");
    let err = expect(
        put_raw(&app, &path, "application/json", "{\"name\": \"x\"}").await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(err["fields"]["card"].is_array(), "{err}");
    expect(
        put_raw(&app, &path, "image/png", "x").await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
    )
    .await;
    expect(app.get(&path).await, StatusCode::NOT_FOUND).await;

    let test_carrier = expect(
        app.post_json(
            "/carrier_accounts",
            &json!({"carrier": "shippo", "account_id": "t"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let tid = test_carrier["object_id"].as_str().unwrap();
    let err = expect(
        put_raw(
            &app,
            &format!("/carrier_accounts/{tid}/rate_card"),
            "application/json",
            CARD_JSON,
        )
        .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(err["fields"]["carrier"][0]
        .as_str()
        .unwrap()
        .contains("ratecard"));
    let other = app.other_account_token(Mode::Test).await;
    let res = app
        .client
        .put(app.url(&path))
        .header("Authorization", &other)
        .header("content-type", "application/json")
        .body(CARD_JSON)
        .send()
        .await
        .unwrap();
    expect(res, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn the_first_start_seeds_a_demo_rate_card_carrier() {
    let app = spawn_app_as(FirstStart::Demo).await;
    let list = expect(app.get("/carrier_accounts").await, StatusCode::OK).await;
    assert_eq!(
        list["count"], 2,
        "the demo courier and the shippo test carrier"
    );
    assert_eq!(list["results"][1]["carrier"], "shippo");
    let demo = &list["results"][0];
    assert_eq!(
        (
            demo["carrier"].as_str(),
            demo["account_id"].as_str(),
            demo["object_owner"].as_str()
        ),
        (Some("ratecard"), Some("demo-courier"), Some("demo"))
    );
    let id = demo["object_id"].as_str().unwrap();
    let card = app
        .get(&format!("/carrier_accounts/{id}/rate_card"))
        .await
        .text()
        .await
        .unwrap();
    let card = carriers::rate_card::parse_json(&card).unwrap();
    assert_eq!(card, carriers::test_carrier::demo_card());
}

#[tokio::test]
async fn carriers_and_their_service_levels_are_listed() {
    let app = spawn_app().await;
    let list = expect(app.get("/carriers").await, StatusCode::OK).await;
    let results = list["results"].as_array().unwrap();
    assert_eq!(results[0]["token"], "ratecard");
    assert_eq!(results[0]["supported"], true);
    assert!(results[0]["capabilities"]
        .as_array()
        .unwrap()
        .contains(&json!("rates")));
    let usps = results.iter().find(|c| c["token"] == "usps").unwrap();
    assert_eq!(
        (usps["name"].as_str(), usps["supported"].as_bool()),
        (Some("USPS"), Some(false))
    );
    assert!(usps["service_levels"]
        .as_array()
        .unwrap()
        .contains(&json!({"token": "usps_priority", "name": "Priority Mail"})));
    let test = expect(app.get("/carriers/shippo").await, StatusCode::OK).await;
    assert!(test["service_levels"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["token"] == "usps_priority_express"));
    expect(
        app.get("/carriers/pigeon_post").await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

#[tokio::test]
async fn service_levels_are_listed_on_request() {
    let app = spawn_app_as(FirstStart::Demo).await;
    let plain = expect(app.get("/carrier_accounts").await, StatusCode::OK).await;
    assert!(plain["results"][0].get("service_levels").is_none());
    let list = expect(
        app.get("/carrier_accounts?service_levels=true").await,
        StatusCode::OK,
    )
    .await;
    let tokens = |i: usize| -> Vec<String> {
        list["results"][i]["service_levels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["token"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(list["results"][0]["account_id"], "demo-courier");
    assert_eq!(
        tokens(0),
        ["demo_ground", "demo_express", "demo_international"]
    );
    assert_eq!(
        tokens(1),
        [
            "usps_ground_advantage",
            "usps_priority",
            "usps_priority_express"
        ]
    );
    let empty = create_ratecard_account(&app, "no-card-yet").await;
    let list = expect(
        app.get("/carrier_accounts?service_levels=true&account_id=no-card-yet")
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(list["results"][0]["object_id"], empty.as_str());
    assert_eq!(list["results"][0]["service_levels"], json!([]));
}
