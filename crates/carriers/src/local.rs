//! Labels Consign makes itself (rate-card couriers, the test carrier): a tracking number from the
//! account's series, the label and the commercial invoice rendered in-process.

use documents::{invoice, label};

use crate::{CarrierError, Message, PurchaseRequest, Purchased};

/// Renders the label (and the invoice, when the request carries one) for `tracking_number`.
/// A label that cannot be drawn (a reference too long for its barcode, say) is refused with
/// the reason.
pub(crate) fn make(
    request: &PurchaseRequest<'_>,
    tracking_number: String,
) -> Result<Purchased, CarrierError> {
    let mut sheet = request.sheet.clone();
    sheet.tracking_number.clone_from(&tracking_number);
    let mut messages = Vec::new();
    let missing =
        documents::fonts::missing_glyphs(&format!("{}{}", sheet.from.join(""), sheet.to.join("")));
    if !missing.is_empty() {
        messages.push(Message {
            service: None,
            code: "label_missing_glyphs".into(),
            text: format!(
                "The label font has no glyph for {}; printed as '?'.",
                missing.iter().collect::<String>()
            ),
        });
    }
    let label = label::render(&sheet, request.format)
        .map_err(|e| CarrierError::Rejected(format!("The label could not be made: {e}.")))?;
    let invoice = match request.invoice {
        Some(data) => {
            let mut data = data.clone();
            data.tracking_number.clone_from(&tracking_number);
            Some(invoice::render(&data).map_err(|e| {
                CarrierError::Rejected(format!("The commercial invoice could not be made: {e}."))
            })?)
        }
        None => None,
    };
    Ok(Purchased {
        tracking_number,
        label,
        invoice,
        tracking_url_provider: None,
        eta: None,
        remote: None,
        messages,
        follow: false,
    })
}
