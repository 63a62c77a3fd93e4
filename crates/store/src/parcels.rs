//! Parcel rows.

use std::str::FromStr;

use domain::parcel::{Cod, CodPaymentMethod, Insurance, InsuranceProvider, Parcel, ParcelExtra};
use domain::parcel_templates;
use domain::{ObjectId, Timestamp};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::insert::Args;
use crate::page::scoped;
use crate::rows::corrupt;
use crate::{Conn, Page, PageRequest, Scope, StoreError};

/// Stored form of the parcel extras (JSON in the `extra` column).
#[derive(Serialize, Deserialize, Default)]
struct ExtraRecord {
    #[serde(skip_serializing_if = "Option::is_none")]
    cod: Option<(String, String, String)>,
    #[serde(skip_serializing_if = "Option::is_none")]
    insurance: Option<(String, String, Option<String>, String)>,
    #[serde(default)]
    reference_1: String,
    #[serde(default)]
    reference_2: String,
}

fn extra_to_json(e: &ParcelExtra) -> String {
    let record = ExtraRecord {
        cod: e.cod.as_ref().map(|c| {
            (
                c.amount.to_string(),
                c.currency.clone(),
                c.payment_method.as_str().into(),
            )
        }),
        insurance: e.insurance.as_ref().map(|i| {
            (
                i.amount.to_string(),
                i.currency.clone(),
                i.provider.map(|p| p.as_str().to_string()),
                i.content.clone(),
            )
        }),
        reference_1: e.reference_1.clone(),
        reference_2: e.reference_2.clone(),
    };
    serde_json::to_string(&record).expect("extras serialise")
}

fn decimal(s: &str) -> Result<Decimal, StoreError> {
    Decimal::from_str(s).map_err(|_| corrupt("parcel decimal", s))
}

fn extra_from_json(json: &str) -> Result<ParcelExtra, StoreError> {
    let r: ExtraRecord =
        serde_json::from_str(json).map_err(|e| corrupt("parcel extra", e.to_string()))?;
    let cod = match r.cod {
        None => None,
        Some((amount, currency, method)) => Some(Cod {
            amount: decimal(&amount)?,
            currency,
            payment_method: match method.as_str() {
                "CASH" => CodPaymentMethod::Cash,
                "SECURED_FUNDS" => CodPaymentMethod::SecuredFunds,
                _ => CodPaymentMethod::Any,
            },
        }),
    };
    let insurance = match r.insurance {
        None => None,
        Some((amount, currency, provider, content)) => Some(Insurance {
            amount: decimal(&amount)?,
            currency,
            provider: match provider.as_deref() {
                None => None,
                Some("FEDEX") => Some(InsuranceProvider::Fedex),
                Some("UPS") => Some(InsuranceProvider::Ups),
                Some("ONTRAC") => Some(InsuranceProvider::Ontrac),
                Some(other) => return Err(corrupt("parcel insurance provider", other)),
            },
            content,
        }),
    };
    Ok(ParcelExtra {
        cod,
        insurance,
        reference_1: r.reference_1,
        reference_2: r.reference_2,
    })
}

const COLUMNS: &str =
    "id, test, created_ms, updated_ms, length, width, height, distance_unit, weight, mass_unit, template, metadata, extra";

fn from_row(row: &AnyRow) -> Result<Parcel, StoreError> {
    let id: String = row.try_get("id")?;
    let distance_unit: String = row.try_get("distance_unit")?;
    let mass_unit: String = row.try_get("mass_unit")?;
    let template: Option<String> = row.try_get("template")?;
    Ok(Parcel {
        id: ObjectId::parse(&id).ok_or_else(|| corrupt("parcel id", &id))?,
        created: Timestamp::from_millis(row.try_get("created_ms")?),
        updated: Timestamp::from_millis(row.try_get("updated_ms")?),
        test: row.try_get::<i64, _>("test")? != 0,
        length: decimal(row.try_get("length")?)?,
        width: decimal(row.try_get("width")?)?,
        height: decimal(row.try_get("height")?)?,
        distance_unit: distance_unit
            .parse()
            .map_err(|_| corrupt("parcel distance_unit", &distance_unit))?,
        weight: decimal(row.try_get("weight")?)?,
        mass_unit: mass_unit
            .parse()
            .map_err(|_| corrupt("parcel mass_unit", &mass_unit))?,
        template: match template {
            None => None,
            Some(t) => {
                Some(parcel_templates::find(&t).ok_or_else(|| corrupt("parcel template", &t))?)
            }
        },
        metadata: row.try_get("metadata")?,
        extra: extra_from_json(row.try_get("extra")?)?,
    })
}

/// Stores a new parcel for `scope`.
pub async fn insert(conn: &mut Conn, scope: Scope, p: &Parcel) -> Result<(), StoreError> {
    crate::insert::insert_rows(conn, scope, std::slice::from_ref(p)).await
}

impl crate::insert::Rows for Parcel {
    const TABLE: &'static str = "parcels";
    const COLUMNS: &'static str = COLUMNS;
    const WIDTH: usize = 14;

    fn bind(&self, a: &mut Args, scope: Scope) {
        a.add(scope.account_id.to_string())
            .add(self.id.to_string())
            .add(i64::from(self.test))
            .add(self.created.millis())
            .add(self.updated.millis())
            .add(self.length.to_string())
            .add(self.width.to_string())
            .add(self.height.to_string())
            .add(self.distance_unit.as_str())
            .add(self.weight.to_string())
            .add(self.mass_unit.as_str())
            .add(self.template.map(|t| t.token))
            .add(self.metadata.clone())
            .add(extra_to_json(&self.extra));
    }
}

/// One parcel of `scope`, or [`StoreError::NotFound`].
pub async fn get(conn: &mut Conn, scope: Scope, id: ObjectId) -> Result<Parcel, StoreError> {
    scoped::get(conn, "parcels", COLUMNS, scope, id, from_row).await
}

/// The parcels of `scope` among `ids` (missing ones are left out).
pub async fn get_many(
    conn: &mut Conn,
    scope: Scope,
    ids: &[ObjectId],
) -> Result<std::collections::HashMap<ObjectId, Parcel>, StoreError> {
    scoped::get_many(conn, "parcels", COLUMNS, scope, ids, from_row).await
}

/// A page of `scope`'s parcels, newest first.
pub async fn list(
    conn: &mut Conn,
    scope: Scope,
    req: PageRequest,
) -> Result<Page<Parcel>, StoreError> {
    scoped::list(conn, "parcels", COLUMNS, scope, req, from_row).await
}
