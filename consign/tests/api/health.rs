use reqwest::StatusCode;

use crate::helpers::{expect, spawn_app};

#[tokio::test]
async fn health_reports_liveness_and_database() {
    let app = spawn_app().await;
    let body = expect(
        app.client.get(app.url("/health")).send().await.unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(body["status"], "ok");
    assert_eq!(body["database"], "ok");
}

#[tokio::test]
async fn health_turns_503_when_the_database_is_gone() {
    let app = spawn_app().await;
    app.services.store.close().await;
    let body = expect(
        app.client.get(app.url("/health")).send().await.unwrap(),
        StatusCode::SERVICE_UNAVAILABLE,
    )
    .await;
    assert_eq!(body["status"], "degraded");
}

#[tokio::test]
async fn openapi_document_describes_the_endpoints() {
    let app = spawn_app().await;
    let doc = expect(
        app.client
            .get(app.url("/openapi.json"))
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/addresses",
        "/addresses/{id}",
        "/addresses/{id}/validate",
        "/parcels",
        "/parcels/{id}",
        "/health",
    ] {
        assert!(
            doc["paths"][path].is_object(),
            "{path} missing from the OpenAPI document"
        );
    }
    assert_eq!(
        doc["paths"]["/addresses"]["post"]["responses"]["201"]["content"]["application/json"]
            ["schema"]["$ref"],
        "#/components/schemas/AddressResponse"
    );
    assert!(doc["components"]["securitySchemes"]["ShippoToken"].is_object());
    // Every operation behind a token documents 401, every one with an id 404, every list 400.
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let responses = &op["responses"];
            let secured = op["security"].as_array().is_some_and(|s| !s.is_empty());
            assert_eq!(
                secured,
                responses["401"].is_object(),
                "{method} {path}: 401 documented iff secured"
            );
            if path.contains('{') {
                assert!(responses["404"].is_object(), "{method} {path}: 404");
            }
            assert!(responses["503"].is_object(), "{method} {path}: 503");
        }
    }
    assert!(doc["paths"]["/addresses"]["get"]["responses"]["400"].is_object());
    assert!(
        doc["paths"]["/carrier_accounts/{id}/scan_keys"]["get"]["responses"]["404"].is_object()
    );
    // A transaction's rate is its id, or the rate object in an instalabel answer.
    let rate = &doc["components"]["schemas"]["TransactionResponse"]["properties"]["rate"];
    assert_eq!(rate["oneOf"][0]["type"], "string", "{rate}");
    assert_eq!(rate["oneOf"][1]["type"], "object", "{rate}");

    let page = app.client.get(app.url("/docs")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(page
        .text()
        .await
        .unwrap()
        .contains("fetch(\"openapi.json\")"));
}
