use domain::account::Mode;
use reqwest::StatusCode;
use service::accounts;

use crate::helpers::{expect, shawn, spawn_app};

#[tokio::test]
async fn missing_and_unknown_tokens_get_401_json() {
    let app = spawn_app().await;
    let body = expect(
        app.client.get(app.url("/addresses")).send().await.unwrap(),
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert_eq!(body["code"], "unauthorized");
    assert!(body["detail"].as_str().unwrap().contains("ShippoToken"));

    let res = app
        .get_as(
            "shippo_test_0000000000000000000000000000000000000000",
            "/addresses",
        )
        .await;
    let body = expect(res, StatusCode::UNAUTHORIZED).await;
    assert_eq!(body["code"], "unauthorized");

    let res = app
        .client
        .get(app.url("/addresses"))
        .header("Authorization", "Basic dXNlcjpwYXNz")
        .send()
        .await
        .unwrap();
    expect(res, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn tokens_look_like_shippos_and_every_header_form_works() {
    let app = spawn_app().await;
    assert!(app.token.starts_with("shippo_test_"), "{}", app.token);
    let live = app.token_in_mode(Mode::Live).await;
    assert!(live.starts_with("shippo_live_"));
    for header in [
        format!("ShippoToken {}", app.token),
        app.token.clone(),
        format!("Bearer {}", app.token),
    ] {
        let res = app
            .client
            .get(app.url("/addresses"))
            .header("Authorization", &header)
            .send()
            .await
            .unwrap();
        let body = expect(res, StatusCode::OK).await;
        assert!(body["results"].is_array(), "{header}");
    }
}

#[tokio::test]
async fn revoked_tokens_stop_working() {
    let app = spawn_app().await;
    let p = accounts::authenticate(&app.services, &app.token)
        .await
        .unwrap();
    expect(app.get("/addresses").await, StatusCode::OK).await;
    accounts::revoke_token(&app.services, &p.account_name, &app.token)
        .await
        .unwrap();
    expect(app.get("/addresses").await, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn tokens_are_stored_only_as_hashes() {
    let app = spawn_app().await;
    let mut conn = app.services.store.conn().await.unwrap();
    let rows: Vec<(String,)> = sqlx::query_as("SELECT token_hash FROM api_tokens")
        .fetch_all(&mut *conn)
        .await
        .unwrap();
    assert!(!rows.is_empty());
    for (hash,) in rows {
        assert_ne!(hash, app.token);
        assert!(!hash.contains("shippo_"));
        assert_eq!(hash.len(), 64);
    }
}

#[tokio::test]
async fn another_accounts_objects_answer_404_and_never_list() {
    let app = spawn_app().await;
    let mine = app.create_address(&shawn()).await;
    let id = mine["object_id"].as_str().unwrap();
    let other = app.other_account_token(Mode::Test).await;

    let body = expect(
        app.get_as(&other, &format!("/addresses/{id}")).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_eq!(body["code"], "not_found");
    assert!(
        !body.to_string().contains("Clayton"),
        "a 404 must not leak the object"
    );
    expect(
        app.get_as(&other, &format!("/addresses/{id}/validate"))
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    let list = expect(app.get_as(&other, "/addresses").await, StatusCode::OK).await;
    assert_eq!(list["count"], 0);
    assert_eq!(list["results"].as_array().unwrap().len(), 0);

    let parcel = app.create_parcel(&crate::helpers::seed_parcel()).await;
    let pid = parcel["object_id"].as_str().unwrap();
    expect(
        app.get_as(&other, &format!("/parcels/{pid}")).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    // The owner still sees both.
    expect(app.get(&format!("/addresses/{id}")).await, StatusCode::OK).await;
    expect(app.get(&format!("/parcels/{pid}")).await, StatusCode::OK).await;
}

#[tokio::test]
async fn test_and_live_objects_are_kept_apart() {
    let app = spawn_app().await;
    let live = app.token_in_mode(Mode::Live).await;
    let test_obj = app.create_address(&shawn()).await;
    assert_eq!(test_obj["test"], true);
    let res = app.post_json_as(&live, "/addresses", &shawn()).await;
    let live_obj = expect(res, StatusCode::CREATED).await;
    assert_eq!(live_obj["test"], false);
    let id = test_obj["object_id"].as_str().unwrap();
    expect(
        app.get_as(&live, &format!("/addresses/{id}")).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    let live_list = expect(app.get_as(&live, "/addresses").await, StatusCode::OK).await;
    assert_eq!(live_list["count"], 1);
    assert_eq!(live_list["results"][0]["object_id"], live_obj["object_id"]);
}
