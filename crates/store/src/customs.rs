//! Customs item and declaration rows.

use std::str::FromStr;

use domain::customs::{
    known, CustomsDeclaration, CustomsItem, B13A_FILING_OPTIONS, CONTENTS_TYPES, EEL_PFC,
    INCOTERMS, NON_DELIVERY_OPTIONS,
};
use domain::{ObjectId, Timestamp};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::insert::{insert_rows, Args, Rows};
use crate::page::scoped;
use crate::rows::{corrupt, id_of};
use crate::{Conn, Page, PageRequest, Scope, StoreError};

const ITEM_COLUMNS: &str = "id, test, created_ms, updated_ms, description, quantity, net_weight, mass_unit, value_amount, value_currency, origin_country, tariff_number, hs_code, sku_code, eccn_ear99, metadata";

fn item_from_row(row: &AnyRow) -> Result<CustomsItem, StoreError> {
    let decimal = |col: &str| -> Result<Decimal, StoreError> {
        let raw: String = row.try_get(col)?;
        Decimal::from_str(&raw).map_err(|_| corrupt(col, &raw))
    };
    let unit: String = row.try_get("mass_unit")?;
    let quantity: i64 = row.try_get("quantity")?;
    Ok(CustomsItem {
        id: id_of(row.try_get("id")?)?,
        created: Timestamp::from_millis(row.try_get("created_ms")?),
        updated: Timestamp::from_millis(row.try_get("updated_ms")?),
        test: row.try_get::<i64, _>("test")? != 0,
        description: row.try_get("description")?,
        quantity: u32::try_from(quantity).map_err(|_| corrupt("customs quantity", quantity))?,
        net_weight: decimal("net_weight")?,
        mass_unit: unit
            .parse()
            .map_err(|_| corrupt("customs mass_unit", &unit))?,
        value_amount: decimal("value_amount")?,
        value_currency: row.try_get("value_currency")?,
        origin_country: row.try_get("origin_country")?,
        tariff_number: row.try_get("tariff_number")?,
        hs_code: row.try_get("hs_code")?,
        sku_code: row.try_get("sku_code")?,
        eccn_ear99: row.try_get("eccn_ear99")?,
        metadata: row.try_get("metadata")?,
    })
}

impl Rows for CustomsItem {
    const TABLE: &'static str = "customs_items";
    const COLUMNS: &'static str = ITEM_COLUMNS;
    const WIDTH: usize = 17;

    fn bind(&self, a: &mut Args, scope: Scope) {
        a.add(scope.account_id.to_string())
            .add(self.id.to_string())
            .add(i64::from(self.test))
            .add(self.created.millis())
            .add(self.updated.millis())
            .add(self.description.clone())
            .add(i64::from(self.quantity))
            .add(self.net_weight.to_string())
            .add(self.mass_unit.as_str())
            .add(self.value_amount.to_string())
            .add(self.value_currency.clone())
            .add(self.origin_country.clone())
            .add(self.tariff_number.clone())
            .add(self.hs_code.clone())
            .add(self.sku_code.clone())
            .add(self.eccn_ear99.clone())
            .add(self.metadata.clone());
    }
}

/// Stores new customs items.
pub async fn insert_items(
    conn: &mut Conn,
    scope: Scope,
    items: &[CustomsItem],
) -> Result<(), StoreError> {
    insert_rows(conn, scope, items).await
}

/// One customs item of `scope`.
pub async fn get_item(
    conn: &mut Conn,
    scope: Scope,
    id: ObjectId,
) -> Result<CustomsItem, StoreError> {
    scoped::get(
        conn,
        "customs_items",
        ITEM_COLUMNS,
        scope,
        id,
        item_from_row,
    )
    .await
}

/// A page of `scope`'s customs items, newest first.
pub async fn list_items(
    conn: &mut Conn,
    scope: Scope,
    req: PageRequest,
) -> Result<Page<CustomsItem>, StoreError> {
    scoped::list(
        conn,
        "customs_items",
        ITEM_COLUMNS,
        scope,
        req,
        item_from_row,
    )
    .await
}

/// The declaration fields kept as one JSON object.
#[derive(Serialize, Deserialize)]
struct Body {
    certify_signer: String,
    non_delivery_option: String,
    contents_type: String,
    contents_explanation: String,
    exporter_reference: String,
    importer_reference: String,
    invoice: String,
    license: String,
    certificate: String,
    notes: String,
    eel_pfc: Option<String>,
    aes_itn: String,
    incoterm: Option<String>,
    b13a_filing_option: Option<String>,
    b13a_number: String,
    disclaimer: String,
    metadata: String,
}

const DECLARATION_COLUMNS: &str = "id, test, created_ms, updated_ms, items, body";

fn declaration_from_row(row: &AnyRow) -> Result<CustomsDeclaration, StoreError> {
    let raw: String = row.try_get("body")?;
    let b: Body =
        serde_json::from_str(&raw).map_err(|e| corrupt("customs declaration", e.to_string()))?;
    let items: Vec<String> = serde_json::from_str(row.try_get("items")?)
        .map_err(|e| corrupt("customs declaration items", e.to_string()))?;
    let choice = |choices: &[&'static str], v: &str| {
        known(choices, v).ok_or_else(|| corrupt("customs choice", v))
    };
    let optional = |choices: &[&'static str], v: &Option<String>| {
        v.as_deref().map(|v| choice(choices, v)).transpose()
    };
    Ok(CustomsDeclaration {
        id: id_of(row.try_get("id")?)?,
        created: Timestamp::from_millis(row.try_get("created_ms")?),
        updated: Timestamp::from_millis(row.try_get("updated_ms")?),
        test: row.try_get::<i64, _>("test")? != 0,
        certify: true,
        items: items.iter().map(|i| id_of(i)).collect::<Result<_, _>>()?,
        non_delivery_option: choice(&NON_DELIVERY_OPTIONS, &b.non_delivery_option)?,
        contents_type: choice(&CONTENTS_TYPES, &b.contents_type)?,
        eel_pfc: optional(&EEL_PFC, &b.eel_pfc)?,
        incoterm: optional(&INCOTERMS, &b.incoterm)?,
        b13a_filing_option: optional(&B13A_FILING_OPTIONS, &b.b13a_filing_option)?,
        certify_signer: b.certify_signer,
        contents_explanation: b.contents_explanation,
        exporter_reference: b.exporter_reference,
        importer_reference: b.importer_reference,
        invoice: b.invoice,
        license: b.license,
        certificate: b.certificate,
        notes: b.notes,
        aes_itn: b.aes_itn,
        b13a_number: b.b13a_number,
        disclaimer: b.disclaimer,
        metadata: b.metadata,
    })
}

impl Rows for CustomsDeclaration {
    const TABLE: &'static str = "customs_declarations";
    const COLUMNS: &'static str = DECLARATION_COLUMNS;
    const WIDTH: usize = 7;

    fn bind(&self, a: &mut Args, scope: Scope) {
        let body = Body {
            certify_signer: self.certify_signer.clone(),
            non_delivery_option: self.non_delivery_option.into(),
            contents_type: self.contents_type.into(),
            contents_explanation: self.contents_explanation.clone(),
            exporter_reference: self.exporter_reference.clone(),
            importer_reference: self.importer_reference.clone(),
            invoice: self.invoice.clone(),
            license: self.license.clone(),
            certificate: self.certificate.clone(),
            notes: self.notes.clone(),
            eel_pfc: self.eel_pfc.map(Into::into),
            aes_itn: self.aes_itn.clone(),
            incoterm: self.incoterm.map(Into::into),
            b13a_filing_option: self.b13a_filing_option.map(Into::into),
            b13a_number: self.b13a_number.clone(),
            disclaimer: self.disclaimer.clone(),
            metadata: self.metadata.clone(),
        };
        let items: Vec<String> = self.items.iter().map(ToString::to_string).collect();
        a.add(scope.account_id.to_string())
            .add(self.id.to_string())
            .add(i64::from(self.test))
            .add(self.created.millis())
            .add(self.updated.millis())
            .add(serde_json::to_string(&items).expect("ids serialise"))
            .add(serde_json::to_string(&body).expect("declarations serialise"));
    }
}

/// One customs declaration of `scope`.
pub async fn get_declaration(
    conn: &mut Conn,
    scope: Scope,
    id: ObjectId,
) -> Result<CustomsDeclaration, StoreError> {
    scoped::get(
        conn,
        "customs_declarations",
        DECLARATION_COLUMNS,
        scope,
        id,
        declaration_from_row,
    )
    .await
}

/// A page of `scope`'s customs declarations, newest first.
pub async fn list_declarations(
    conn: &mut Conn,
    scope: Scope,
    req: PageRequest,
) -> Result<Page<CustomsDeclaration>, StoreError> {
    scoped::list(
        conn,
        "customs_declarations",
        DECLARATION_COLUMNS,
        scope,
        req,
        declaration_from_row,
    )
    .await
}

/// The writes that create a declaration with the items given as objects.
pub fn creation_script(
    backend: crate::Backend,
    scope: Scope,
    new_items: &[CustomsItem],
    declaration: &CustomsDeclaration,
) -> crate::Script {
    let mut script = crate::Script::new(backend);
    script.insert(scope, new_items);
    script.insert(scope, std::slice::from_ref(declaration));
    script
}
