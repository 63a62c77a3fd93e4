//! The OpenAPI document, generated from the handlers and wire types, and a browsable reference.

use axum::http::header::CONTENT_TYPE;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::Router;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::{
    addresses, carrier_accounts, carriers, customs, error, health, manifests, parcel_templates,
    parcels, rates, refunds, scans, settings, shipments, tracks, transactions, webhooks, AppState,
};

#[derive(OpenApi)]
#[openapi(
    info(title = "Consign API", description = "Self-hosted, Shippo-compatible shipping API. Authenticate with `Authorization: ShippoToken <API_TOKEN>`."),
    paths(
        health::health,
        addresses::create, addresses::retrieve, addresses::list, addresses::validate,
        parcels::create, parcels::retrieve, parcels::list,
        parcel_templates::list, parcel_templates::retrieve,
        carrier_accounts::create, carrier_accounts::retrieve, carrier_accounts::update, carrier_accounts::list,
        carrier_accounts::upload_card, carrier_accounts::download_card,
        carriers::list, carriers::retrieve,
        customs::create_item, customs::retrieve_item, customs::list_items,
        customs::create_declaration, customs::retrieve_declaration, customs::list_declarations,
        shipments::create, shipments::retrieve, shipments::list,
        rates::retrieve, rates::list, rates::list_in_currency,
        transactions::create, transactions::retrieve, transactions::list,
        refunds::create, refunds::retrieve, refunds::list,
        manifests::create, manifests::retrieve, manifests::list,
        settings::retrieve, settings::update,
        settings::retrieve_notifications, settings::update_notifications,
        tracks::retrieve, tracks::register,
        webhooks::create, webhooks::retrieve, webhooks::update, webhooks::remove, webhooks::list,
        webhooks::deliveries, webhooks::delivery, webhooks::redeliver,
        scans::create_key, scans::list_keys, scans::revoke_key, scans::ingest,
    ),
    components(schemas(error::ErrorBody)),
    modifiers(&TokenAuth),
    tags((name = "Addresses"), (name = "Parcels"), (name = "Parcel Templates"), (name = "Carrier Accounts"), (name = "Carriers"), (name = "Customs"), (name = "Shipments"), (name = "Rates"), (name = "Transactions"), (name = "Refunds"), (name = "Manifests"), (name = "Tracking"), (name = "Webhooks"), (name = "Scans"), (name = "Settings"), (name = "Health"))
)]
struct ApiDoc;

struct TokenAuth;

impl Modify for TokenAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(components) = openapi.components.as_mut() {
            components.add_security_scheme(
                "ShippoToken",
                SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                    "Authorization",
                    "`ShippoToken <API_TOKEN>` (also accepted: `Bearer <API_TOKEN>` or the bare token)",
                ))),
            );
            components.add_security_scheme(
                "ScanKey",
                SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                    "Authorization",
                    "`Bearer consign_scan_…`: a courier's scan key (POST /carrier_accounts/{id}/scan_keys)",
                ))),
            );
        }
    }
}

/// The OpenAPI document as pretty JSON.
pub fn openapi_json() -> String {
    ApiDoc::openapi()
        .to_pretty_json()
        .expect("the OpenAPI document serialises")
}

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/openapi.json",
            get(|| async {
                ([(CONTENT_TYPE, "application/json")], openapi_json()).into_response()
            }),
        )
        .route("/docs", get(|| async { Html(include_str!("docs.html")) }))
}
