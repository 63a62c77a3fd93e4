//! The OpenAPI document, generated from the handlers and wire types, and a browsable reference.

use axum::http::header::CONTENT_TYPE;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::Router;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::{
    addresses, batches, carrier_accounts, carriers, customs, error, files, health, inbound,
    manifests, orders, parcel_templates, parcels, projects, rates, refunds, scans, settings,
    shipments, tracking_page, tracks, transactions, webhooks, AppState,
};

pub(crate) mod crowdfunding;

#[derive(OpenApi)]
#[openapi(
    info(title = "Consign API", description = "Self-hosted, Shippo-compatible shipping API. Authenticate with `Authorization: ShippoToken <API_TOKEN>`."),
    paths(
        health::health,
        addresses::create, addresses::retrieve, addresses::list, addresses::validate,
        parcels::create, parcels::retrieve, parcels::list,
        parcel_templates::list, parcel_templates::retrieve,
        parcel_templates::list_user, parcel_templates::create_user, parcel_templates::retrieve_user,
        parcel_templates::update_user, parcel_templates::delete_user,
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
        orders::create, orders::retrieve, orders::list, orders::set_status,
        orders::packing_slip, orders::packing_slips, orders::import, orders::export,
        batches::create, batches::retrieve, batches::add_shipments, batches::remove_shipments,
        batches::purchase, batches::from_orders,
        settings::retrieve, settings::update,
        settings::retrieve_notifications, settings::update_notifications,
        tracks::retrieve, tracks::register,
        webhooks::create, webhooks::retrieve, webhooks::update, webhooks::remove, webhooks::list,
        webhooks::deliveries, webhooks::delivery, webhooks::redeliver,
        scans::create_key, scans::list_keys, scans::revoke_key, scans::ingest, inbound::receive,
        projects::list, projects::create, projects::retrieve, projects::update, projects::connect,
        projects::create_key, projects::revoke, projects::import_backers, projects::import_tracking,
        projects::start_sync, projects::get_sync, projects::events,
        projects::shipping_orders, projects::shipping_tracking, projects::fulfillment,
        tracking_page::unscoped, tracking_page::scoped, tracking_page::logo, files::download,
        document, docs,
    ),
    components(schemas(error::ErrorBody)),
    modifiers(&TokenAuth, &StandardErrors),
    tags((name = "Addresses"), (name = "Parcels"), (name = "Parcel Templates"), (name = "Carrier Accounts"), (name = "Carriers"), (name = "Customs"), (name = "Shipments"), (name = "Rates"), (name = "Transactions"), (name = "Refunds"), (name = "Manifests"), (name = "Orders"), (name = "Batches"), (name = "Tracking"), (name = "Webhooks"), (name = "Scans"), (name = "Settings"),
        (name = "Projects", description = "Crowdfunding projects (a Consign extension, with an account token): backer reports, per-project keys, the creator's EasyPost/Shippo account, syncs and the events it sends back."),
        (name = "Crowdfunding API", description = "The seed's custom fulfilment API, as it prints it: each project has its own API key, sent as `Authorization: Bearer <your-project-api-key>`; a key can only access the project it was generated for. Errors: 400 missing or invalid parameter, 401 invalid or missing API key, 403 no API key generated for this project yet, 404 project or order not found. The provider webhooks (`/api/fulfillment/...`) take no header of yours: the provider signs the raw body with the project's webhook secret."),
        (name = "Tracking Page", description = "The public tracking page a buyer opens (HTML, no login)."),
        (name = "Files", description = "Label, invoice and manifest files: to the owning account's token, or through a signed link."),
        (name = "Health"), (name = "Documentation"))
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
            components.add_security_scheme(
                "ProjectKey",
                SecurityScheme::Http(
                    HttpBuilder::new()
                        .scheme(HttpAuthScheme::Bearer)
                        .description(Some(
                            "`Bearer <your-project-api-key>`: a crowdfunding project's key (POST /projects/{id}/keys); it reaches that project only",
                        ))
                        .build(),
                ),
            );
            components.add_security_scheme(
                "ProjectSignature",
                SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                    "X-Hmac-Signature-256",
                    "The provider's signature of the raw body with the webhook secret set on the project (PUT /projects/{id}/provider): EasyPost's `X-Hmac-Signature-256` (or `X-Hmac-Signature`) `hmac-sha256-hex=<hex>`, Shippo's `X-Shippo-Signature` (hex HMAC-SHA256 of the raw body)",
                ))),
            );
            components.add_security_scheme(
                "ProviderSignature",
                SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                    "X-Hmac-Signature",
                    "The provider's signature of the raw body with the carrier account's webhook_secret: EasyPost's `X-Hmac-Signature` (or `X-Hmac-Signature-256`) `hmac-sha256-hex=…`, Shippo's `X-Shippo-Signature` (hex), or another Consign's `Consign-Signature`",
                ))),
            );
        }
    }
}

/// The error answers every operation can give, added where a handler's annotation leaves them
/// out, so the document lists every status the server really sends: 401 for operations behind a
/// token or key, 404 for those with an id in the path, 400 for those with query parameters or a
/// body, 413/415 for those with a body, and 429 (rate limited) and 503 (try again later) everywhere.
struct StandardErrors;

impl Modify for StandardErrors {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::path::ParameterIn;
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        let error = |description: &str| {
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("ErrorBody")))
                        .build(),
                )
                .build()
        };
        for (path, item) in openapi.paths.paths.iter_mut() {
            let ops = [
                ("get", &mut item.get),
                ("put", &mut item.put),
                ("post", &mut item.post),
                ("delete", &mut item.delete),
                ("patch", &mut item.patch),
            ];
            for (method, op) in ops {
                let Some(op) = op else { continue };
                // Unique by construction (handler names repeat across resources: `create`, `list`).
                op.operation_id = Some(operation_id(method, path));
                for p in op.parameters.iter_mut().flatten() {
                    bound_paging(p);
                }
                let params = op.parameters.as_deref().unwrap_or_default();
                let has_in = |place: ParameterIn| params.iter().any(|p| p.parameter_in == place);
                let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
                let body = op.request_body.is_some();
                let mut wanted = vec![
                    (
                        "503",
                        "Temporarily unavailable (the database is busy); try again.",
                    ),
                    (
                        "429",
                        "Past the token's or the address's request budget; see Retry-After.",
                    ),
                ];
                if secured {
                    wanted.push(("401", "Missing, invalid or revoked credentials."));
                }
                if has_in(ParameterIn::Path) {
                    wanted.push(("404", "No such object for this token."));
                }
                if has_in(ParameterIn::Query) || body {
                    wanted.push(("400", "Invalid parameters or body."));
                }
                if body {
                    wanted.push(("413", "The body is larger than the limit."));
                    wanted.push(("415", "The body's content type is not accepted."));
                }
                for (code, description) in wanted {
                    op.responses
                        .responses
                        .entry(code.to_string())
                        .or_insert_with(|| error(description).into());
                }
            }
        }
    }
}

/// `post_addresses`, `get_addresses_id_validate`: the method and the path's words.
fn operation_id(method: &str, path: &str) -> String {
    let words: Vec<String> = path
        .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect();
    format!("{method}_{}", words.join("_"))
}

/// `page` and `results` as the list extractor checks them: whole numbers from 1, and at most
/// `MAX_RESULTS` results a page.
fn bound_paging(p: &mut utoipa::openapi::path::Parameter) {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    let schema = match p.name.as_str() {
        "page" => ObjectBuilder::new()
            .schema_type(Type::Integer)
            .minimum(Some(1)),
        "results" => ObjectBuilder::new()
            .schema_type(Type::Integer)
            .minimum(Some(1))
            .maximum(Some(domain::page::MAX_RESULTS)),
        _ => return,
    };
    p.schema = Some(schema.build().into());
}

/// The OpenAPI document as pretty JSON.
pub fn openapi_json() -> String {
    ApiDoc::openapi()
        .to_pretty_json()
        .expect("the OpenAPI document serialises")
}

/// This document (OpenAPI 3.1).
#[utoipa::path(get, path = "/openapi.json", tag = "Documentation",
    responses((status = 200, description = "The OpenAPI document", body = Object, content_type = "application/json")))]
async fn document() -> impl IntoResponse {
    ([(CONTENT_TYPE, "application/json")], openapi_json())
}

/// A browsable reference of this document.
#[utoipa::path(get, path = "/docs", tag = "Documentation",
    responses((status = 200, description = "An HTML page that renders /openapi.json", body = String, content_type = "text/html")))]
async fn docs() -> Html<&'static str> {
    Html(include_str!("docs.html"))
}

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/openapi.json", get(document))
        .route("/docs", get(docs))
}
