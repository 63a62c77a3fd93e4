//! `/customs/items` and `/customs/declarations`: create, retrieve, list.
//! Shippo reference: seed 002 "Customs Items", "Customs Declarations";
//! <https://docs.goshippo.com/shippoapi/public-api/#tag/Customs-Declarations>.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use domain::customs::{CustomsDeclaration, CustomsItem, CustomsItemInput, DeclarationInput};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use service::customs::{self, DeclarationRef, ItemRef};
use utoipa::ToSchema;

use crate::auth::Auth;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{nested, Body, Id};
use crate::lenient;
use crate::pagination::{ListQuery, Paginated};
use crate::AppState;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/customs/items", get(list_items).post(create_item))
        .route("/customs/items/{id}", get(retrieve_item))
        .route(
            "/customs/declarations",
            get(list_declarations).post(create_declaration),
        )
        .route("/customs/declarations/{id}", get(retrieve_declaration))
}

/// Request body of `POST /customs/items` (and an item inside a declaration).
#[derive(Deserialize, ToSchema, Default)]
pub struct CustomsItemCreateRequest {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[schema(value_type = String, example = "T-Shirt")]
    pub description: Option<String>,
    /// Greater than 0.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[schema(value_type = i64, example = 2)]
    pub quantity: Option<String>,
    /// Of all pieces together.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[schema(value_type = String, example = "400")]
    pub net_weight: Option<String>,
    /// `g`, `oz`, `lb` or `kg`.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[schema(value_type = String, example = "g")]
    pub mass_unit: Option<String>,
    /// Of all pieces together.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[schema(value_type = String, example = "20")]
    pub value_amount: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[schema(value_type = String, example = "USD")]
    pub value_currency: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[schema(value_type = String, example = "US")]
    pub origin_country: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[schema(value_type = Option<String>)]
    pub tariff_number: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[schema(value_type = Option<String>)]
    pub hs_code: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[schema(value_type = Option<String>)]
    pub sku_code: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[schema(value_type = Option<String>)]
    pub eccn_ear99: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[schema(value_type = Option<String>)]
    pub metadata: Option<String>,
}

impl From<CustomsItemCreateRequest> for CustomsItemInput {
    fn from(r: CustomsItemCreateRequest) -> Self {
        CustomsItemInput {
            description: r.description,
            quantity: r.quantity,
            net_weight: r.net_weight,
            mass_unit: r.mass_unit,
            value_amount: r.value_amount,
            value_currency: r.value_currency,
            origin_country: r.origin_country,
            tariff_number: r.tariff_number,
            hs_code: r.hs_code,
            sku_code: r.sku_code,
            eccn_ear99: r.eccn_ear99,
            metadata: r.metadata,
        }
    }
}

/// A Customs Item.
#[derive(Serialize, ToSchema)]
pub struct CustomsItemResponse {
    pub object_id: String,
    pub object_owner: String,
    pub object_created: String,
    pub object_updated: String,
    /// Always `VALID`: invalid items are refused, never stored.
    pub object_state: &'static str,
    pub description: String,
    pub quantity: u32,
    pub net_weight: String,
    pub mass_unit: &'static str,
    pub value_amount: String,
    pub value_currency: String,
    pub origin_country: String,
    pub tariff_number: String,
    pub hs_code: String,
    pub sku_code: String,
    pub eccn_ear99: String,
    pub metadata: String,
    pub test: bool,
}

impl CustomsItemResponse {
    /// The wire form of `i`, owned by `owner`.
    pub fn new(i: CustomsItem, owner: &str) -> Self {
        Self {
            object_id: i.id.to_string(),
            object_owner: owner.into(),
            object_created: i.created.to_string(),
            object_updated: i.updated.to_string(),
            object_state: "VALID",
            description: i.description,
            quantity: i.quantity,
            net_weight: i.net_weight.to_string(),
            mass_unit: i.mass_unit.as_str(),
            value_amount: i.value_amount.to_string(),
            value_currency: i.value_currency,
            origin_country: i.origin_country,
            tariff_number: i.tariff_number,
            hs_code: i.hs_code,
            sku_code: i.sku_code,
            eccn_ear99: i.eccn_ear99,
            metadata: i.metadata,
            test: i.test,
        }
    }
}

/// Request body of `POST /customs/declarations` (and a declaration inside a shipment).
#[derive(Deserialize, ToSchema, Default)]
pub struct CustomsDeclarationCreateRequest {
    /// Must be `true`.
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    #[schema(value_type = bool)]
    pub certify: Option<bool>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[schema(value_type = String, example = "Shawn Ippotle")]
    pub certify_signer: Option<String>,
    /// Customs item `object_id`s or new customs items.
    #[schema(value_type = Vec<Object>)]
    pub items: Option<Value>,
    /// `ABANDON` or `RETURN`.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[schema(value_type = String, example = "RETURN")]
    pub non_delivery_option: Option<String>,
    /// `DOCUMENTS`, `GIFT`, `SAMPLE`, `MERCHANDISE`, `HUMANITARIAN_DONATION`,
    /// `RETURN_MERCHANDISE` or `OTHER`.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[schema(value_type = String, example = "MERCHANDISE")]
    pub contents_type: Option<String>,
    /// Required when `contents_type` is `OTHER`.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[schema(value_type = Option<String>)]
    pub contents_explanation: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[schema(value_type = Option<String>)]
    pub exporter_reference: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[schema(value_type = Option<String>)]
    pub importer_reference: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[schema(value_type = Option<String>)]
    pub invoice: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[schema(value_type = Option<String>)]
    pub license: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[schema(value_type = Option<String>)]
    pub certificate: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[schema(value_type = Option<String>)]
    pub notes: Option<String>,
    /// `NOEEI_30_37_a`, `NOEEI_30_37_h`, `NOEEI_30_37_f`, `NOEEI_30_36` or `AES_ITN`.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[schema(value_type = Option<String>)]
    pub eel_pfc: Option<String>,
    /// Required when `eel_pfc` is `AES_ITN`.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[schema(value_type = Option<String>)]
    pub aes_itn: Option<String>,
    /// `DDP`, `DDU`, `FCA`, `DAP` or `eDAP`.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[schema(value_type = Option<String>)]
    pub incoterm: Option<String>,
    /// `FILED_ELECTRONICALLY`, `SUMMARY_REPORTING` or `NOT_REQUIRED`.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[schema(value_type = Option<String>)]
    pub b13a_filing_option: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[schema(value_type = Option<String>)]
    pub b13a_number: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[schema(value_type = Option<String>)]
    pub disclaimer: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[schema(value_type = Option<String>)]
    pub metadata: Option<String>,
}

impl CustomsDeclarationCreateRequest {
    /// The declaration input and its item references; `prefix` names where it was nested.
    pub fn into_parts(self, prefix: &str) -> Result<(DeclarationInput, Vec<ItemRef>), ApiError> {
        let field = |name: &str| {
            if prefix.is_empty() {
                name.to_string()
            } else {
                format!("{prefix}.{name}")
            }
        };
        let items = match self.items {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(values)) => values
                .into_iter()
                .enumerate()
                .map(|(i, v)| match v {
                    Value::String(id) => Ok(ItemRef::Id(id)),
                    v => Ok(ItemRef::New(Box::new(
                        nested::<CustomsItemCreateRequest>(&field(&format!("items.{i}")), v)?
                            .into(),
                    ))),
                })
                .collect::<Result<_, ApiError>>()?,
            Some(Value::String(id)) => vec![ItemRef::Id(id)],
            Some(other) => {
                return Err(ApiError::field(
                    &field("items"),
                    format!("Expected a list of customs items or their ids, found {other}."),
                ))
            }
        };
        let input = DeclarationInput {
            certify: self.certify,
            certify_signer: self.certify_signer,
            non_delivery_option: self.non_delivery_option,
            contents_type: self.contents_type,
            contents_explanation: self.contents_explanation,
            exporter_reference: self.exporter_reference,
            importer_reference: self.importer_reference,
            invoice: self.invoice,
            license: self.license,
            certificate: self.certificate,
            notes: self.notes,
            eel_pfc: self.eel_pfc,
            aes_itn: self.aes_itn,
            incoterm: self.incoterm,
            b13a_filing_option: self.b13a_filing_option,
            b13a_number: self.b13a_number,
            disclaimer: self.disclaimer,
            metadata: self.metadata,
        };
        Ok((input, items))
    }
}

/// A customs declaration given in a shipment request: an id or an object.
pub fn declaration_ref(field: &str, v: Option<Value>) -> Result<Option<DeclarationRef>, ApiError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(id)) if id.trim().is_empty() => Ok(None),
        Some(Value::String(id)) => Ok(Some(DeclarationRef::Id(id))),
        Some(v) => {
            let (input, items) =
                nested::<CustomsDeclarationCreateRequest>(field, v)?.into_parts(field)?;
            Ok(Some(DeclarationRef::New(Box::new(input), items)))
        }
    }
}

/// A Customs Declaration; `items` are the items' ids.
#[derive(Serialize, ToSchema)]
pub struct CustomsDeclarationResponse {
    pub object_id: String,
    pub object_owner: String,
    pub object_created: String,
    pub object_updated: String,
    pub object_state: &'static str,
    pub certify: bool,
    pub certify_signer: String,
    pub items: Vec<String>,
    pub non_delivery_option: &'static str,
    pub contents_type: &'static str,
    pub contents_explanation: String,
    pub exporter_reference: String,
    pub importer_reference: String,
    pub invoice: String,
    pub license: String,
    pub certificate: String,
    pub notes: String,
    pub eel_pfc: Option<&'static str>,
    pub aes_itn: String,
    pub incoterm: Option<&'static str>,
    pub b13a_filing_option: Option<&'static str>,
    pub b13a_number: String,
    pub disclaimer: String,
    pub metadata: String,
    pub test: bool,
}

impl CustomsDeclarationResponse {
    /// The wire form of `d`, owned by `owner`.
    pub fn new(d: CustomsDeclaration, owner: &str) -> Self {
        Self {
            object_id: d.id.to_string(),
            object_owner: owner.into(),
            object_created: d.created.to_string(),
            object_updated: d.updated.to_string(),
            object_state: "VALID",
            certify: d.certify,
            certify_signer: d.certify_signer,
            items: d.items.iter().map(ToString::to_string).collect(),
            non_delivery_option: d.non_delivery_option,
            contents_type: d.contents_type,
            contents_explanation: d.contents_explanation,
            exporter_reference: d.exporter_reference,
            importer_reference: d.importer_reference,
            invoice: d.invoice,
            license: d.license,
            certificate: d.certificate,
            notes: d.notes,
            eel_pfc: d.eel_pfc,
            aes_itn: d.aes_itn,
            incoterm: d.incoterm,
            b13a_filing_option: d.b13a_filing_option,
            b13a_number: d.b13a_number,
            disclaimer: d.disclaimer,
            metadata: d.metadata,
            test: d.test,
        }
    }
}

/// A page of customs items.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct CustomsItemList {
    count: i64,
    next: Option<String>,
    previous: Option<String>,
    results: Vec<CustomsItemResponse>,
}

/// A page of customs declarations.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct CustomsDeclarationList {
    count: i64,
    next: Option<String>,
    previous: Option<String>,
    results: Vec<CustomsDeclarationResponse>,
}

/// Create a customs item.
#[utoipa::path(post, path = "/customs/items", tag = "Customs",
    request_body(content((CustomsItemCreateRequest = "application/json"))),
    responses((status = 201, body = CustomsItemResponse), (status = 400, body = ErrorBody)),
    security(("ShippoToken" = [])))]
pub async fn create_item(
    State(state): State<AppState>,
    Auth(who): Auth,
    Body(req): Body<CustomsItemCreateRequest>,
) -> Result<(StatusCode, Json<CustomsItemResponse>), ApiError> {
    let item = customs::create_item(&state.services, &who, req.into()).await?;
    Ok((
        StatusCode::CREATED,
        Json(CustomsItemResponse::new(item, &who.account_name)),
    ))
}

/// Retrieve a customs item.
#[utoipa::path(get, path = "/customs/items/{id}", tag = "Customs", params(("id" = String, Path)),
    responses((status = 200, body = CustomsItemResponse), (status = 404, body = ErrorBody)),
    security(("ShippoToken" = [])))]
pub async fn retrieve_item(
    State(state): State<AppState>,
    Auth(who): Auth,
    Id(id): Id,
) -> Result<Json<CustomsItemResponse>, ApiError> {
    let item = customs::get_item(&state.services, &who, id).await?;
    Ok(Json(CustomsItemResponse::new(item, &who.account_name)))
}

/// List customs items, newest first.
#[utoipa::path(get, path = "/customs/items", tag = "Customs",
    params(("page" = Option<u32>, Query), ("results" = Option<u32>, Query)),
    responses((status = 200, body = CustomsItemList)), security(("ShippoToken" = [])))]
pub async fn list_items(
    State(state): State<AppState>,
    Auth(who): Auth,
    q: ListQuery,
) -> Result<Json<Paginated<CustomsItemResponse>>, ApiError> {
    let page = customs::list_items(&state.services, &who, q.page).await?;
    Ok(Json(Paginated::new(&q, page, |i| {
        CustomsItemResponse::new(i, &who.account_name)
    })))
}

/// Create a customs declaration (with items given by id or as objects).
#[utoipa::path(post, path = "/customs/declarations", tag = "Customs",
    request_body(content((CustomsDeclarationCreateRequest = "application/json"))),
    responses((status = 201, body = CustomsDeclarationResponse), (status = 400, body = ErrorBody)),
    security(("ShippoToken" = [])))]
pub async fn create_declaration(
    State(state): State<AppState>,
    Auth(who): Auth,
    Body(req): Body<CustomsDeclarationCreateRequest>,
) -> Result<(StatusCode, Json<CustomsDeclarationResponse>), ApiError> {
    let (input, items) = req.into_parts("")?;
    let declaration = customs::create_declaration(&state.services, &who, input, items).await?;
    Ok((
        StatusCode::CREATED,
        Json(CustomsDeclarationResponse::new(
            declaration,
            &who.account_name,
        )),
    ))
}

/// Retrieve a customs declaration.
#[utoipa::path(get, path = "/customs/declarations/{id}", tag = "Customs", params(("id" = String, Path)),
    responses((status = 200, body = CustomsDeclarationResponse), (status = 404, body = ErrorBody)),
    security(("ShippoToken" = [])))]
pub async fn retrieve_declaration(
    State(state): State<AppState>,
    Auth(who): Auth,
    Id(id): Id,
) -> Result<Json<CustomsDeclarationResponse>, ApiError> {
    let declaration = customs::get_declaration(&state.services, &who, id).await?;
    Ok(Json(CustomsDeclarationResponse::new(
        declaration,
        &who.account_name,
    )))
}

/// List customs declarations, newest first.
#[utoipa::path(get, path = "/customs/declarations", tag = "Customs",
    params(("page" = Option<u32>, Query), ("results" = Option<u32>, Query)),
    responses((status = 200, body = CustomsDeclarationList)), security(("ShippoToken" = [])))]
pub async fn list_declarations(
    State(state): State<AppState>,
    Auth(who): Auth,
    q: ListQuery,
) -> Result<Json<Paginated<CustomsDeclarationResponse>>, ApiError> {
    let page = customs::list_declarations(&state.services, &who, q.page).await?;
    Ok(Json(Paginated::new(&q, page, |d| {
        CustomsDeclarationResponse::new(d, &who.account_name)
    })))
}
