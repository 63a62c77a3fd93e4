//! From a purchase to its documents: the label's and the commercial invoice's contents, the
//! tracking number, and the files in the blob store.

use carriers::{BoughtRate, Capability, CarrierError, PurchaseRequest};
use documents::invoice::{InvoiceData, InvoiceItem};
use documents::{LabelData, LabelFormat};
use domain::address::{Address, AddressState, MessageKind};
use domain::customs::{CustomsDeclaration, CustomsItem};
use domain::shipment::Rate;
use domain::transaction::Transaction;
use domain::Timestamp;
use rust_decimal::Decimal;
use store::Scope;

use crate::rating::{self, note, Parts};
use crate::shipments::ShipmentView;
use crate::{adapters, files};
use crate::{ServiceError, Services};

/// Serials a process reserves at a time per carrier account (gaps after a restart are fine:
/// tracking numbers must be unique, not dense).
const SERIAL_BLOCK: i64 = 100;

/// Everything a label is made from.
pub(crate) struct Sources<'a> {
    pub view: &'a ShipmentView,
    pub items: &'a [CustomsItem],
    pub rate: &'a Rate,
}

/// Whether sender and recipient are in different countries.
pub(crate) fn is_international(view: &ShipmentView) -> bool {
    !view
        .address_from
        .fields
        .country
        .eq_ignore_ascii_case(&view.address_to.fields.country)
}

fn date(t: Timestamp) -> String {
    t.to_datetime().format("%Y-%m-%d").to_string()
}

/// Total weight of the shipment's parcels, in the first parcel's unit.
fn weight(view: &ShipmentView) -> String {
    let Some(first) = view.parcels.first() else {
        return String::new();
    };
    let unit = first.mass_unit;
    let total: Decimal = view
        .parcels
        .iter()
        .map(|p| domain::units::convert_mass(p.weight, p.mass_unit, unit))
        .sum();
    format!("{} {}", total.normalize(), unit.as_str())
}

/// The big marker: the rate's zone, else the service's initials.
fn marker(rate: &Rate) -> String {
    if !rate.details.zone.trim().is_empty() {
        return rate.details.zone.trim().to_uppercase();
    }
    rate.details
        .service_name
        .split_whitespace()
        .filter_map(|w| w.chars().next())
        .take(4)
        .collect::<String>()
        .to_uppercase()
}

/// The label's contents.
pub(crate) fn label_data(src: &Sources, t: &Transaction, tracking_number: &str) -> LabelData {
    let view = src.view;
    let to = &view.address_to.fields;
    let mut references = Vec::new();
    let extras = &view.shipment.extras;
    for (label, v) in [
        ("REF 1", &extras.reference_1),
        ("REF 2", &extras.reference_2),
    ] {
        let v = v.trim();
        if !v.is_empty() {
            references.push(format!("{label}: {v}"));
        }
    }
    // Shops put their order number in the shipment's metadata ("Order #1001").
    if !view.shipment.metadata.trim().is_empty() {
        references.push(format!("ORDER: {}", view.shipment.metadata.trim()));
    }
    let pieces = view.parcels.len();
    LabelData {
        carrier: src.rate.details.provider.clone(),
        service: src.rate.details.service_name.clone(),
        marker: marker(src.rate),
        tracking_number: tracking_number.to_string(),
        from: domain::address_layout::lines(&view.address_from.fields),
        to: domain::address_layout::lines(to),
        to_postal_code: to.zip.clone(),
        to_country: to.country.to_uppercase(),
        weight: weight(view),
        ship_date: date(view.shipment.shipment_date),
        references,
        piece: if pieces > 1 {
            format!("{pieces} PCS")
        } else {
            "1/1".into()
        },
        test: t.test,
        footer: format!("Consign {}", t.id),
    }
}

/// The commercial invoice's contents (international shipments with a declaration).
pub(crate) fn invoice_data(
    src: &Sources,
    declaration: &CustomsDeclaration,
    t: &Transaction,
    tracking_number: &str,
) -> InvoiceData {
    let mut total = Decimal::ZERO;
    let mut currency = String::new();
    let mut grams = Decimal::ZERO;
    let items = src
        .items
        .iter()
        .map(|i| {
            total += i.value_amount;
            currency.clone_from(&i.value_currency);
            grams +=
                domain::units::convert_mass(i.net_weight, i.mass_unit, domain::units::MassUnit::G);
            InvoiceItem {
                description: i.description.clone(),
                quantity: i.quantity.to_string(),
                tariff_number: if i.tariff_number.is_empty() {
                    i.hs_code.clone()
                } else {
                    i.tariff_number.clone()
                },
                origin_country: i.origin_country.clone(),
                net_weight: format!("{} {}", i.net_weight.normalize(), i.mass_unit.as_str()),
                value: format!("{:.2} {}", i.value_amount, i.value_currency),
            }
        })
        .collect();
    let mut terms = vec![(
        "Contents type".to_string(),
        declaration.contents_type.to_string(),
    )];
    let mut term = |k: &str, v: &str| {
        if !v.trim().is_empty() {
            terms.push((k.to_string(), v.trim().to_string()));
        }
    };
    term("Contents explanation", &declaration.contents_explanation);
    term("Incoterm", declaration.incoterm.unwrap_or(""));
    term("Non-delivery", declaration.non_delivery_option);
    term("EEL / PFC", declaration.eel_pfc.unwrap_or(""));
    term("AES ITN", &declaration.aes_itn);
    term("License", &declaration.license);
    term("Certificate", &declaration.certificate);
    term("Exporter reference", &declaration.exporter_reference);
    term("Importer reference", &declaration.importer_reference);
    term("Notes", &declaration.notes);
    InvoiceData {
        invoice_number: if declaration.invoice.is_empty() {
            t.id.to_string()
        } else {
            declaration.invoice.clone()
        },
        date: date(src.view.shipment.shipment_date),
        carrier: format!(
            "{} · {}",
            src.rate.details.provider, src.rate.details.service_name
        ),
        tracking_number: tracking_number.to_string(),
        from: domain::address_layout::lines(&src.view.address_from.fields),
        to: domain::address_layout::lines(&src.view.address_to.fields),
        items,
        total_value: format!("{total:.2} {currency}"),
        total_weight: format!("{} g", grams.round_dp(1).normalize()),
        terms,
        signer: declaration.certify_signer.clone(),
        test: t.test,
    }
}

/// Why a label Consign prints itself cannot carry `address` (its state is INVALID), as
/// `(field, message)` pairs naming the address and its field (`address_to.zip`); empty when it
/// can. The address checks' codes say which field is wrong; one without a known code names the
/// address alone.
pub(crate) fn unprintable(role: &str, address: &Address) -> Vec<(String, String)> {
    if address.state != AddressState::Invalid {
        return Vec::new();
    }
    let refusal = format!(
        "The address ({role}) is INVALID and this carrier account's labels are printed by Consign, which will not print it; correct the address and create the shipment again."
    );
    let mut out: Vec<(String, String)> = address
        .messages
        .iter()
        .filter(|m| m.kind == MessageKind::Error)
        .map(|m| {
            let field = match m.code.as_str() {
                "invalid_postal_code" | "component_mismatch_error" => "zip",
                "Invalid State" => "state",
                "invalid_email" => "email",
                "invalid_phone" => "phone",
                "invalid_country" => "country",
                // "street2 has 40 characters; …"
                "street_line_too_long" => m.text.split_whitespace().next().unwrap_or(""),
                _ => "",
            };
            let field = if field.is_empty() {
                role.to_string()
            } else {
                format!("{role}.{field}")
            };
            (field, format!("{} {refusal}", m.text))
        })
        .collect();
    if out.is_empty() {
        out.push((role.to_string(), refusal));
    }
    out
}

/// [`unprintable`] for the recipient of a shipment whose label `carrier_account` would make:
/// only adapters that print their own labels ([`Capability::PrintsLabels`]: rate cards, the
/// test carrier) are concerned; upstream providers validate the addresses they are sent. An
/// account whose adapter cannot be had answers nothing here (the purchase itself says why).
pub(crate) async fn recipient_unprintable(
    s: &Services,
    owner: domain::ObjectId,
    carrier_account: domain::ObjectId,
    view: &ShipmentView,
) -> Vec<(String, String)> {
    match adapters::of_account(s, owner, carrier_account).await {
        Ok(a) if a.meta().can(Capability::PrintsLabels) => {
            unprintable("address_to", &view.address_to)
        }
        _ => Vec::new(),
    }
}

/// The next serial of a series, from this process's reserved block.
async fn next_serial(s: &Services, series: String) -> Result<i64, ServiceError> {
    {
        let mut blocks = s.serials.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((next, end)) = blocks.get_mut(&series) {
            if *next < *end {
                *next += 1;
                return Ok(*next - 1);
            }
        }
    }
    let key = series.clone();
    let first = s
        .store
        .write(move |conn| {
            Box::pin(
                async move { store::transactions::reserve_serials(conn, &key, SERIAL_BLOCK).await },
            )
        })
        .await?;
    s.serials
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(series, (first + 1, first + SERIAL_BLOCK));
    Ok(first)
}

/// Tracking serials from the database, for adapters that number their own labels.
struct StoreSerials<'a>(&'a Services);

impl carriers::Serials for StoreSerials<'_> {
    fn next<'a>(&'a self, series: &'a str) -> carriers::CarrierFuture<'a, u64> {
        Box::pin(async move {
            next_serial(self.0, series.to_string())
                .await
                .map(|n| n as u64)
                .map_err(|e| CarrierError::Unavailable(e.to_string()))
        })
    }
}

/// Buys the label from the rate's carrier account through the port: the tracking number, the
/// label file and (international) the commercial invoice, stored in the blob store. Fills `t` in
/// (SUCCESS, or ERROR with the carrier's reason when it refused). A carrier that could not be
/// reached is an error (the purchase answers 503 and a retry, or the job, tries again: the
/// provider sees the same idempotency key, so it never sells the label twice). Answers whether
/// the adapter asks for the label to be followed by polling.
pub(crate) async fn produce(
    s: &Services,
    scope: Scope,
    src: &Sources<'_>,
    t: &mut Transaction,
) -> Result<bool, ServiceError> {
    let adapter = adapters::of_account(s, scope.account_id, src.rate.carrier_account).await?;
    // A label Consign prints itself never carries an INVALID recipient (a purchase refuses it
    // before this; a queued one whose address went bad meanwhile ends ERROR, saying why).
    if adapter.meta().can(Capability::PrintsLabels) {
        let problems = unprintable("address_to", &src.view.address_to);
        if !problems.is_empty() {
            t.status = domain::transaction::TransactionStatus::Error;
            t.messages = problems
                .into_iter()
                .map(|(field, why)| {
                    note(
                        rating::CONSIGN,
                        "address_invalid",
                        format!("{field}: {why}"),
                    )
                })
                .collect();
            t.updated = Timestamp::now();
            return Ok(false);
        }
    }
    let format = LabelFormat::parse(&t.label_file_type).unwrap_or(LabelFormat::Pdf4x6);
    let view = src.view;
    let customs = view
        .customs_declaration
        .as_ref()
        .map(|d| carriers::Customs {
            declaration: d.clone(),
            items: src.items.to_vec(),
        });
    let invoice = match (&view.customs_declaration, is_international(view)) {
        (Some(declaration), true) => Some(invoice_data(src, declaration, t, "")),
        _ => None,
    };
    let spec = rating::spec(
        &Parts {
            from: &view.address_from,
            to: &view.address_to,
            parcels: &view.parcels,
            extra: &view.shipment.extras,
            customs,
        },
        &view.shipment.metadata,
    );
    let sheet = label_data(src, t, "");
    // One purchase per rate, ever: the rate's id is the provider's idempotency key.
    let key = format!("consign-{}", src.rate.id);
    let bought = adapter
        .purchase(PurchaseRequest {
            shipment: &spec,
            rate: BoughtRate {
                service_token: &src.rate.details.service_token,
                service_name: &src.rate.details.service_name,
                remote: src.rate.details.remote.as_ref(),
            },
            format,
            idempotency_key: &key,
            sheet: &sheet,
            invoice: invoice.as_ref(),
            serials: &StoreSerials(s),
        })
        .await;
    let p = match bought {
        Ok(p) => p,
        Err(CarrierError::Unavailable(why)) => return Err(ServiceError::Unavailable(why)),
        Err(refused) => {
            t.status = domain::transaction::TransactionStatus::Error;
            t.messages = vec![note(
                &src.rate.details.provider,
                "label_failed",
                refused.to_string(),
            )];
            t.updated = Timestamp::now();
            return Ok(false);
        }
    };
    let label_key = files::key(
        scope.account_id,
        t.id,
        &format!("label.{}", p.label.extension),
    );
    put(s, &label_key, p.label.bytes).await?;
    t.invoice_key = None;
    if let Some(invoice) = p.invoice {
        let key = files::key(
            scope.account_id,
            t.id,
            &format!("invoice.{}", invoice.extension),
        );
        put(s, &key, invoice.bytes).await?;
        t.invoice_key = Some(key);
    }
    t.status = domain::transaction::TransactionStatus::Success;
    t.tracking_url = Some(crate::tracking::public_path(
        Some(t.carrier_account),
        &p.tracking_number,
    ));
    t.eta = p.eta.or_else(|| {
        src.rate.details.days.map(|d| {
            Timestamp::from_millis(view.shipment.shipment_date.millis() + i64::from(d) * 86_400_000)
        })
    });
    t.remote = match (p.remote, p.tracking_url_provider) {
        (Some(mut r), Some(url)) => {
            r["tracking_url_provider"] = url.into();
            Some(r)
        }
        (r, _) => r,
    };
    t.tracking_number = Some(p.tracking_number);
    t.label_key = Some(label_key);
    t.messages = p
        .messages
        .into_iter()
        .map(|m| note(&src.rate.details.provider, &m.code, m.text))
        .collect();
    t.updated = Timestamp::now();
    Ok(p.follow)
}

/// Stores a file (durable when this returns).
pub(crate) async fn put(s: &Services, key: &str, bytes: Vec<u8>) -> Result<(), ServiceError> {
    s.blobs
        .put(key, bytes)
        .await
        .map_err(|e| ServiceError::Unavailable(format!("file store: {e}")))
}

/// Removes files written for a purchase that lost a race (best effort; an orphan is harmless).
pub(crate) async fn discard(s: &Services, t: &Transaction) {
    for key in [&t.label_key, &t.invoice_key].into_iter().flatten() {
        let _ = s.blobs.delete(key).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::address::{AddressFields, Message, Purpose, Source};

    fn address(state: AddressState, messages: Vec<(&str, MessageKind, &str)>) -> Address {
        Address {
            id: domain::ObjectId::new(),
            created: Timestamp::from_millis(0),
            updated: Timestamp::from_millis(0),
            test: true,
            fields: AddressFields::default(),
            purpose: Purpose::Purchase,
            state,
            source: Source::FullyEntered,
            messages: messages
                .into_iter()
                .map(|(code, kind, text)| Message {
                    source: "Consign".into(),
                    code: code.into(),
                    kind,
                    text: text.into(),
                })
                .collect(),
            validation: None,
        }
    }

    #[test]
    fn an_invalid_address_is_named_by_its_fields_and_a_valid_one_prints() {
        let bad = address(
            AddressState::Invalid,
            vec![
                (
                    "invalid_postal_code",
                    MessageKind::Error,
                    "\"7870\" is not a valid postal code for United States.",
                ),
                (
                    "street_line_too_long",
                    MessageKind::Error,
                    "street2 has 40 characters; carriers accept at most 35.",
                ),
                ("missing_field", MessageKind::Warning, "phone is required."),
            ],
        );
        let found = unprintable("address_to", &bad);
        let fields: Vec<&str> = found.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(fields, ["address_to.zip", "address_to.street2"]);
        assert!(found[0].1.contains("7870") && found[0].1.contains("INVALID"));
        let unexplained = address(AddressState::Invalid, Vec::new());
        assert_eq!(unprintable("address_to", &unexplained)[0].0, "address_to");
        assert!(unprintable("address_to", &address(AddressState::Valid, Vec::new())).is_empty());
        assert!(
            unprintable("address_to", &address(AddressState::Incomplete, Vec::new())).is_empty()
        );
    }

    #[test]
    fn only_carriers_that_print_their_own_labels_refuse_invalid_addresses() {
        assert!(carriers::rate_card::meta().can(Capability::PrintsLabels));
        assert!(carriers::test_carrier::meta().can(Capability::PrintsLabels));
        assert!(!carriers::easypost::meta().can(Capability::PrintsLabels));
        assert!(!carriers::shippo_upstream::meta().can(Capability::PrintsLabels));
    }
}
