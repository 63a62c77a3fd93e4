//! Rate shopping: the shipment's carrier accounts are asked concurrently, each within
//! [`Services::rate_timeout`]; a carrier that fails or is slow becomes a message, never a failed
//! shipment. Quotes become rates in the sender's and the recipient's currencies, marked
//! CHEAPEST/FASTEST/BESTVALUE across the shipment.

use std::sync::Arc;
use std::time::Duration;

use carriers::{
    Capability, Carrier, CarrierError, Customs, Location, Options, ParcelSpec, RateResult,
    ShipmentSpec,
};
use domain::address::{Address, Purpose};
use domain::money::country_currency;
use domain::parcel::Parcel;
use domain::rate_attributes::attributes;
use domain::shipment::{Money, Note, Rate, RateDetails, Shipment};
use domain::shipment_extra::ShipmentExtra;
use domain::{ObjectId, Timestamp};
use futures_util::future::join_all;
use store::Scope;

use crate::adapters::{self, Ready};
use crate::{ServiceError, Services};

/// Who signs messages that come from Consign rather than a carrier.
pub(crate) const CONSIGN: &str = "Consign";

/// What rating a shipment produced.
#[derive(Debug, Default)]
pub(crate) struct Priced {
    pub rates: Vec<Rate>,
    pub messages: Vec<Note>,
}

/// The stored things a shipment is made of.
pub(crate) struct Parts<'a> {
    pub from: &'a Address,
    pub to: &'a Address,
    pub parcels: &'a [Parcel],
    pub extra: &'a ShipmentExtra,
    /// The customs declaration with its items, when the shipment has one.
    pub customs: Option<Customs>,
}

pub(crate) fn note(source: &str, code: &str, text: impl Into<String>) -> Note {
    Note {
        source: source.into(),
        code: code.into(),
        text: text.into(),
    }
}

/// One carrier account ready to be asked.
struct Asked {
    account: ObjectId,
    carrier: Arc<dyn Carrier>,
    card_version: Option<i64>,
}

/// Prices `shipment` with its carrier accounts (or every usable one).
pub(crate) async fn price(
    s: &Services,
    scope: Scope,
    shipment: &Shipment,
    parts: &Parts<'_>,
) -> Result<Priced, ServiceError> {
    let mut messages = Vec::new();
    let asked = carriers_for(s, scope, shipment, &mut messages).await?;
    let base = spec(parts, &shipment.metadata);
    let specs: Vec<ShipmentSpec> = asked
        .iter()
        .map(|a| with_insurance(s, &base, parts.extra, a.carrier.currency(), &mut messages))
        .collect();
    let carriers: Vec<&dyn Carrier> = asked.iter().map(|a| a.carrier.as_ref()).collect();
    let answers = ask_all(&carriers, &specs, s.rate_timeout).await;
    let now = Timestamp::now();
    let mut rates = Vec::new();
    for (a, answer) in asked.iter().zip(answers) {
        let adapter_name = a.carrier.provider().to_string();
        let result = match answer {
            Ok(result) => result,
            Err(failure) => {
                messages.push(failure);
                continue;
            }
        };
        messages.extend(
            result
                .messages
                .into_iter()
                .map(|m| note(&adapter_name, &m.code, m.text)),
        );
        for q in result.quotes {
            let provider = q.provider.clone().unwrap_or_else(|| adapter_name.clone());
            let quoted = Money {
                amount: q.amount,
                currency: q.currency,
            };
            let mut rate_messages = Vec::new();
            let amount =
                in_country_currency(s, &quoted, &parts.from.fields.country, &mut rate_messages);
            let amount_local =
                in_country_currency(s, &quoted, &parts.to.fields.country, &mut rate_messages);
            let insurance_price = q.insurance.and_then(|p| {
                s.exchange_rates
                    .convert(p, &quoted.currency, &amount.currency)
            });
            rates.push(Rate {
                id: ObjectId::at(now.millis()),
                created: now,
                test: scope.test,
                shipment: shipment.id,
                carrier_account: a.account,
                details: RateDetails {
                    quote_only: shipment.purpose == Purpose::Quote,
                    carrier: a.carrier.meta().id.to_string(),
                    provider: provider.clone(),
                    service_token: q.service_token,
                    service_name: q.service_name,
                    service_terms: q.terms,
                    days: q.days,
                    zone: q.zone,
                    insured: q.insurance.and_then(|_| insured_value(parts.extra)),
                    insurance_price,
                    amount,
                    amount_local,
                    quoted,
                    lines: q.lines.into_iter().map(|l| (l.code, l.amount)).collect(),
                    trackable: q.trackable,
                    card_version: a.card_version,
                    attributes: Vec::new(),
                    messages: rate_messages,
                    remote: q.remote,
                },
            });
        }
    }
    mark_attributes(&mut rates);
    if rates.is_empty() && messages.is_empty() {
        messages.push(note(
            CONSIGN,
            "no_carrier_accounts",
            "No active carrier account can rate this shipment; create one at /carrier_accounts.",
        ));
    }
    Ok(Priced { rates, messages })
}

/// Asks every carrier at once, each with its own spec and at most `timeout`: a carrier that
/// fails or is late becomes a message, and the others' answers are kept.
async fn ask_all(
    carriers: &[&dyn Carrier],
    specs: &[ShipmentSpec],
    timeout: Duration,
) -> Vec<Result<RateResult, Note>> {
    join_all(
        carriers
            .iter()
            .zip(specs)
            .map(|(carrier, spec)| async move {
                let provider = carrier.provider();
                match tokio::time::timeout(timeout, carrier.rates(spec)).await {
                    Ok(Ok(result)) => Ok(result),
                    Ok(Err(e)) => Err(note(provider, "carrier_error", e.to_string())),
                    Err(_) => Err(note(
                        provider,
                        "carrier_timeout",
                        format!(
                            "{provider} did not answer within {} ms; its rates are missing.",
                            timeout.as_millis()
                        ),
                    )),
                }
            }),
    )
    .await
}

/// The carrier accounts to ask: those the shipment names, or every active one usable in this
/// mode that can rate. Live tokens never use test accounts; test tokens use all but the live
/// accounts of carriers whose labels cost money (a provider's live key).
async fn carriers_for(
    s: &Services,
    scope: Scope,
    shipment: &Shipment,
    messages: &mut Vec<Note>,
) -> Result<Vec<Asked>, ServiceError> {
    let accounts = adapters::of_owner(s, &mut s.store.lazy_conn(), scope.account_id).await?;
    let paid = |r: &Ready| {
        r.adapter
            .as_ref()
            .is_ok_and(|a| a.meta().can(Capability::PaidPostage))
    };
    let usable = |r: &Ready| {
        r.account.active
            && if scope.test {
                r.account.test || !paid(r)
            } else {
                !r.account.test
            }
    };
    let chosen: Vec<&Ready> = if shipment.carrier_accounts.is_empty() {
        accounts.iter().filter(|r| usable(r)).collect()
    } else {
        let mut chosen = Vec::new();
        for id in &shipment.carrier_accounts {
            match accounts.iter().find(|r| r.account.id == *id) {
                Some(r) if usable(r) => chosen.push(r),
                Some(r) => messages.push(note(
                    CONSIGN,
                    "carrier_account_unusable",
                    if r.account.active && scope.test {
                        format!(
                            "Carrier account {id} buys real postage; test shipments cannot use it (use a test account with the provider's test key)."
                        )
                    } else if r.account.active {
                        format!(
                            "Carrier account {id} is a test account; live shipments cannot use it."
                        )
                    } else {
                        format!("Carrier account {id} is inactive.")
                    },
                )),
                None => messages.push(note(
                    CONSIGN,
                    "carrier_account_not_found",
                    format!("Carrier account {id} does not exist."),
                )),
            }
        }
        chosen
    };
    let mut asked = Vec::with_capacity(chosen.len());
    for r in chosen {
        match &r.adapter {
            Ok(carrier) if carrier.meta().can(Capability::Rates) => asked.push(Asked {
                account: r.account.id,
                carrier: carrier.clone(),
                card_version: r
                    .account
                    .card_version
                    .filter(|_| carrier.meta().can(Capability::RateCard)),
            }),
            Ok(carrier) => messages.push(note(
                CONSIGN,
                "carrier_unsupported",
                CarrierError::unsupported(carrier.meta(), Capability::Rates).to_string(),
            )),
            Err(why) => messages.push(note(CONSIGN, "carrier_not_ready", why.clone())),
        }
    }
    Ok(asked)
}

/// A declaration with its items: those in `fresh` (made by this request, not stored yet), the
/// others read from the store.
pub(crate) async fn customs_of(
    s: &Services,
    scope: Scope,
    declaration: Option<&domain::customs::CustomsDeclaration>,
    fresh: &[domain::customs::CustomsItem],
) -> Result<Option<Customs>, ServiceError> {
    let Some(d) = declaration else {
        return Ok(None);
    };
    let mut conn = s.store.lazy_conn();
    let mut items = Vec::with_capacity(d.items.len());
    for id in &d.items {
        match fresh.iter().find(|i| i.id == *id) {
            Some(i) => items.push(i.clone()),
            None => items.push(store::customs::get_item(conn.get().await?, scope, *id).await?),
        }
    }
    Ok(Some(Customs {
        declaration: d.clone(),
        items,
    }))
}

/// The carrier-neutral shipment: locations, parcels, priced options, customs.
pub(crate) fn spec(parts: &Parts<'_>, reference: &str) -> ShipmentSpec {
    let location = |a: &Address| Location {
        country: a.fields.country.clone(),
        state: a.fields.state.to_ascii_uppercase(),
        zip: a.fields.zip.clone(),
        residential: a.fields.is_residential.unwrap_or(false),
        address: a.fields.clone(),
    };
    ShipmentSpec {
        from: location(parts.from),
        to: location(parts.to),
        parcels: parts
            .parcels
            .iter()
            .map(|p| ParcelSpec {
                length: p.length,
                width: p.width,
                height: p.height,
                distance_unit: p.distance_unit,
                weight: p.weight,
                mass_unit: p.mass_unit,
            })
            .collect(),
        options: Options {
            signature: parts.extra.signature_confirmation.is_some(),
            saturday_delivery: parts.extra.saturday_delivery,
            insured_value: None,
        },
        customs: parts.customs.clone(),
        reference: reference.to_string(),
    }
}

/// The declared value to insure, if the shipment asks for insurance.
fn insured_value(extra: &ShipmentExtra) -> Option<Money> {
    extra.insurance.as_ref().map(|i| Money {
        amount: i.amount,
        currency: i.currency.clone(),
    })
}

/// `base` with the insured value in the carrier's currency (a message when it cannot be
/// converted: the carrier then prices without insurance).
fn with_insurance(
    s: &Services,
    base: &ShipmentSpec,
    extra: &ShipmentExtra,
    currency: &str,
    messages: &mut Vec<Note>,
) -> ShipmentSpec {
    let mut spec = base.clone();
    if let Some(value) = insured_value(extra) {
        match s.exchange_rates.convert(value.amount, &value.currency, currency) {
            Some(v) => spec.options.insured_value = Some(v),
            None => messages.push(note(
                CONSIGN,
                "insurance_currency",
                format!(
                    "No exchange rate between {} and {currency}; rates in {currency} are without insurance.",
                    value.currency
                ),
            )),
        }
    }
    spec
}

/// `quoted` in the currency of `country`, or as quoted when the exchange-rate table does not
/// know that currency (with a message on the rate saying so).
fn in_country_currency(
    s: &Services,
    quoted: &Money,
    country: &str,
    messages: &mut Vec<Note>,
) -> Money {
    let Some(target) = country_currency(country) else {
        return quoted.clone();
    };
    match s
        .exchange_rates
        .convert(quoted.amount, &quoted.currency, target)
    {
        Some(amount) => Money {
            amount,
            currency: target.to_string(),
        },
        None => {
            messages.push(note(
                CONSIGN,
                "no_exchange_rate",
                format!(
                    "The exchange-rate table has no rate for {target}; the amount is in {}.",
                    quoted.currency
                ),
            ));
            quoted.clone()
        }
    }
}

/// Marks CHEAPEST/FASTEST/BESTVALUE over the rates whose `amount` is in the most common currency
/// (all of them, unless an exchange rate was missing).
fn mark_attributes(rates: &mut [Rate]) {
    let Some(currency) = rates.first().map(|r| r.details.amount.currency.clone()) else {
        return;
    };
    let comparable: Vec<usize> = (0..rates.len())
        .filter(|i| rates[*i].details.amount.currency == currency)
        .collect();
    let marks = attributes(
        &comparable
            .iter()
            .map(|i| (rates[*i].details.amount.amount, rates[*i].details.days))
            .collect::<Vec<_>>(),
    );
    for (i, m) in comparable.into_iter().zip(marks) {
        rates[i].details.attributes = m;
    }
}

#[cfg(test)]
mod tests {
    use carriers::test_carrier::{self, TestCarrier};
    use carriers::{CarrierMeta, RateFuture};

    use super::*;

    /// A remote carrier that answers after `delay`, or fails.
    struct Remote {
        delay: Duration,
        fails: bool,
    }

    impl Carrier for Remote {
        fn meta(&self) -> &CarrierMeta {
            test_carrier::meta()
        }
        fn provider(&self) -> &str {
            if self.fails {
                "Broken"
            } else {
                "Slow"
            }
        }
        fn rates<'a>(&'a self, shipment: &'a ShipmentSpec) -> RateFuture<'a> {
            Box::pin(async move {
                tokio::time::sleep(self.delay).await;
                if self.fails {
                    Err(CarrierError::Unavailable(
                        "503 from the carrier's API".into(),
                    ))
                } else {
                    TestCarrier.rates(shipment).await
                }
            })
        }
    }

    fn spec() -> ShipmentSpec {
        let us = |zip: &str, state: &str| Location {
            country: "US".into(),
            state: state.into(),
            zip: zip.into(),
            residential: false,
            address: Default::default(),
        };
        ShipmentSpec {
            from: us("94117", "CA"),
            to: us("10001", "NY"),
            parcels: vec![ParcelSpec {
                length: 10.into(),
                width: 8.into(),
                height: 4.into(),
                distance_unit: domain::units::DistanceUnit::In,
                weight: 2.into(),
                mass_unit: domain::units::MassUnit::Lb,
            }],
            options: Options::default(),
            ..Default::default()
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_or_failing_carrier_is_a_message_and_the_others_still_answer() {
        let fast = TestCarrier;
        let slow = Remote {
            delay: Duration::from_secs(30),
            fails: false,
        };
        let broken = Remote {
            delay: Duration::from_millis(5),
            fails: true,
        };
        let carriers: Vec<&dyn Carrier> = vec![&fast, &slow, &broken];
        let specs = vec![spec(); 3];
        let started = tokio::time::Instant::now();
        let answers = ask_all(&carriers, &specs, Duration::from_secs(10)).await;
        assert!(
            started.elapsed() < Duration::from_secs(11),
            "the slow carrier is not waited for"
        );
        assert_eq!(answers[0].as_ref().unwrap().quotes.len(), 3);
        let late = answers[1].as_ref().unwrap_err();
        assert_eq!(
            (late.source.as_str(), late.code.as_str()),
            ("Slow", "carrier_timeout")
        );
        assert!(late.text.contains("10000 ms"), "{}", late.text);
        let failed = answers[2].as_ref().unwrap_err();
        assert_eq!(
            (
                failed.source.as_str(),
                failed.code.as_str(),
                failed.text.as_str()
            ),
            ("Broken", "carrier_error", "503 from the carrier's API")
        );
    }
}
