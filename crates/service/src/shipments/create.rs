//! Creating a shipment: checked, resolved, priced (or queued) and stored in one statement.

use domain::address::{parse_purpose, Address, Purpose};
use domain::error::FieldErrors;
use domain::parcel::Parcel;
use domain::shipment::{purpose_of, Shipment, ShipmentStatus};
use domain::shipment_extra::parse_shipment_extra;
use domain::text::{check_text, pick};
use domain::{ObjectId, Timestamp};
use serde_json::{Map, Value};

use super::{ShipmentInput, ShipmentView};
use crate::jobs::Job;
use store::shipments::{self as repo, NewShipment};

use crate::rating::{self, Parts};
use crate::{scope, Principal, ServiceError, Services};

use super::resolve::{
    check_carrier_accounts, resolve_address, resolve_declaration, resolve_parcels,
};

/// Creates a shipment and, unless `asynchronous`, prices it before answering.
#[tracing::instrument(skip_all, fields(account = %who.account_id))]
pub async fn create(
    s: &Services,
    who: &Principal,
    input: ShipmentInput,
) -> Result<ShipmentView, ServiceError> {
    let scope = scope(who);
    let mut errors = FieldErrors::new();
    let mut conn = s.store.lazy_conn();

    let extra_value = extra_with_legacy_fields(&input, &mut errors);
    check_stored_json(&mut errors, "extra", &extra_value);
    let extra = match parse_shipment_extra(Some(&extra_value)) {
        Ok(x) => Some(x),
        Err(e) => {
            errors.absorb(e);
            None
        }
    };
    let from = resolve_address(
        s,
        who,
        &mut conn,
        "address_from",
        input.address_from,
        true,
        &mut errors,
    )
    .await?;
    let to = resolve_address(
        s,
        who,
        &mut conn,
        "address_to",
        input.address_to,
        true,
        &mut errors,
    )
    .await?;
    let ret = resolve_address(
        s,
        who,
        &mut conn,
        "address_return",
        input.address_return,
        false,
        &mut errors,
    )
    .await?;
    let parcels = resolve_parcels(who, &mut conn, input.parcels, &mut errors).await?;
    let carrier_accounts =
        check_carrier_accounts(s, &mut conn, scope, &input.carrier_accounts, &mut errors).await?;

    let shipment_date = match input.shipment_date.as_deref().map(str::trim) {
        None | Some("") => Timestamp::now(),
        Some(raw) => Timestamp::parse(raw).unwrap_or_else(|| {
            errors.add(
                "shipment_date",
                format!("\"{raw}\" is not an ISO 8601 date-time such as 2014-01-18T00:35:03.463Z."),
            );
            Timestamp::now()
        }),
    };
    let metadata = input.metadata.unwrap_or_default().trim().to_string();
    check_text(&mut errors, "metadata", &metadata, 100);
    let (customs_declaration, new_declaration, new_customs_items) =
        resolve_declaration(who, &mut conn, input.customs_declaration, &mut errors).await?;
    drop(conn);
    if let Err(m) = pick(
        input.submission_type.as_deref().unwrap_or(""),
        &["DROPOFF", "PICKUP"],
    ) {
        errors.add("submission_type", m);
    }
    if let Some(id) = input
        .return_of
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        errors.add("return_of", format!("No transaction with id \"{id}\"."));
    }
    let requested = parse_purpose(input.purpose.as_deref()).unwrap_or_else(|m| {
        errors.add("object_purpose", m);
        None
    });
    if requested == Some(Purpose::Purchase) {
        for (field, a) in [("address_from", &from), ("address_to", &to)] {
            if let Some(a) = a.as_ref().filter(|a| a.value.purpose == Purpose::Quote) {
                errors.add(field, format!(
                    "A PURCHASE shipment needs PURCHASE addresses; address {} is a QUOTE address (it lacks values a label needs).",
                    a.value.id
                ));
            }
        }
    }
    errors.into_result()?;
    let (from, to, extra) = (
        from.expect("checked"),
        to.expect("checked"),
        extra.expect("checked"),
    );

    let now = Timestamp::now();
    let mut shipment = Shipment {
        id: ObjectId::at(now.millis()),
        created: now,
        updated: now,
        test: scope.test,
        status: if input.asynchronous {
            ShipmentStatus::Queued
        } else {
            ShipmentStatus::Success
        },
        purpose: match requested {
            Some(Purpose::Quote) => Purpose::Quote,
            _ => purpose_of(from.value.purpose, to.value.purpose),
        },
        address_from: from.value.id,
        address_to: to.value.id,
        address_return: ret.as_ref().map(|r| r.value.id),
        parcels: parcels.iter().map(|p| p.value.id).collect(),
        shipment_date,
        carrier_accounts,
        customs_declaration: customs_declaration.as_ref().map(|d| d.id),
        extra: extra_value,
        metadata,
        messages: Vec::new(),
    };
    let parcel_values: Vec<Parcel> = parcels.iter().map(|p| p.value.clone()).collect();
    let rates = if input.asynchronous {
        Vec::new()
    } else {
        let parts = Parts {
            from: &from.value,
            to: &to.value,
            parcels: &parcel_values,
            extra: &extra,
        };
        let priced = rating::price(s, scope, &shipment, &parts).await?;
        shipment.messages = priced.messages;
        priced.rates
    };

    let new_addresses: Vec<Address> = [Some(&from), Some(&to), ret.as_ref()]
        .into_iter()
        .flatten()
        .filter(|a| a.new)
        .map(|a| a.value.clone())
        .collect();
    let new_parcels: Vec<Parcel> = parcels
        .iter()
        .filter(|p| p.new)
        .map(|p| p.value.clone())
        .collect();
    let job = input.asynchronous.then(|| {
        Job::RateShipment {
            account: scope.account_id,
            test: scope.test,
            shipment: shipment.id,
        }
        .due_now()
    });
    let new = NewShipment {
        addresses: &new_addresses,
        parcels: &new_parcels,
        customs_items: &new_customs_items,
        declaration: new_declaration,
        shipment: &shipment,
        rates: &rates,
        job,
    };
    s.store
        .write_script(repo::creation_script(s.store.backend(), scope, &new))
        .await?;
    if input.asynchronous {
        s.job_signal.notify_one();
    }
    Ok(ShipmentView {
        shipment,
        address_from: from.value,
        address_to: to.value,
        address_return: ret.map(|r| r.value),
        parcels: parcel_values,
        customs_declaration,
        rates,
    })
}

/// Largest `extra` object stored as sent, serialised.
pub const STORED_JSON_MAX: usize = 32 * 1024;

fn check_stored_json(errors: &mut FieldErrors, field: &str, value: &Value) {
    if value.to_string().len() > STORED_JSON_MAX {
        errors.add(
            field,
            format!("Must be at most {STORED_JSON_MAX} bytes of JSON."),
        );
    }
}

/// `extra` with the seed's top-level `insurance_amount`/`insurance_currency` and
/// `reference_1`/`reference_2` folded in where today's API has them (values in `extra` win).
fn extra_with_legacy_fields(input: &ShipmentInput, errors: &mut FieldErrors) -> Value {
    let mut extra = match &input.extra {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(other) => {
            errors.add("extra", format!("Expected an object, found {other}."));
            Map::new()
        }
    };
    let given = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    match (
        given(&input.insurance_amount),
        given(&input.insurance_currency),
    ) {
        (Some(amount), Some(currency)) => {
            extra
                .entry("insurance")
                .or_insert_with(|| serde_json::json!({"amount": amount, "currency": currency}));
        }
        (Some(_), None) => errors.add(
            "insurance_currency",
            "Required when insurance_amount is set.",
        ),
        _ => {}
    }
    for (key, value) in [
        ("reference_1", &input.reference_1),
        ("reference_2", &input.reference_2),
    ] {
        if let Some(v) = given(value) {
            extra.entry(key).or_insert(Value::String(v));
        }
    }
    Value::Object(extra)
}
