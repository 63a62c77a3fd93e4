//! Creating a shipment: checked, resolved, priced (or queued) and stored in one statement.

use domain::address::{Address, Purpose};
use domain::parcel::Parcel;
use domain::shipment::{purpose_of, Shipment, ShipmentStatus};
use domain::text::check_text;
use domain::{ObjectId, Timestamp};

use super::{CreateShipment, ShipmentView};
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
    mut input: CreateShipment,
) -> Result<ShipmentView, ServiceError> {
    let scope = scope(who);
    let mut errors = std::mem::take(&mut input.errors);
    let mut conn = s.store.lazy_conn();
    if input.extra_json.to_string().len() > STORED_JSON_MAX {
        errors.add(
            "extra",
            format!("Must be at most {STORED_JSON_MAX} bytes of JSON."),
        );
    }
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

    let shipment_date = input.shipment_date.unwrap_or_else(Timestamp::now);
    let metadata = input.metadata.trim().to_string();
    check_text(&mut errors, "metadata", &metadata, 100);
    let (customs_declaration, new_declaration, new_customs_items) =
        resolve_declaration(who, &mut conn, input.customs_declaration, &mut errors).await?;
    drop(conn);
    let requested = input.purpose;
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
    let (from, to, extra) = (from.expect("checked"), to.expect("checked"), input.extra);

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
        extra: input.extra_json,
        extras: extra.clone(),
        metadata,
        messages: Vec::new(),
    };
    let parcel_values: Vec<Parcel> = parcels.iter().map(|p| p.value.clone()).collect();
    let rates = if input.asynchronous {
        Vec::new()
    } else {
        let customs =
            rating::customs_of(s, scope, customs_declaration.as_ref(), &new_customs_items).await?;
        let parts = Parts {
            from: &from.value,
            to: &to.value,
            parcels: &parcel_values,
            extra: &extra,
            customs,
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
