//! The commercial invoice that travels with an international parcel: 8.5 × 11 in PDF with
//! sender, recipient, the customs items, totals, incoterm and a signature line.

use crate::fonts::Weight;
use crate::sheet::{Align, Column, Sheet, LETTER, MARGIN};
use crate::{pdf, CodeError, Document};

/// One line of goods.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct InvoiceItem {
    /// What it is.
    pub description: String,
    /// How many.
    pub quantity: String,
    /// HS tariff number.
    pub tariff_number: String,
    /// Country of origin (ISO alpha-2).
    pub origin_country: String,
    /// Net weight of the line with its unit.
    pub net_weight: String,
    /// Value of the line with its currency.
    pub value: String,
}

/// What the invoice shows; amounts and weights are already formatted.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct InvoiceData {
    /// Invoice number (the declaration's, or the transaction's id).
    pub invoice_number: String,
    /// Date (YYYY-MM-DD).
    pub date: String,
    /// Carrier and service.
    pub carrier: String,
    /// Tracking number of the parcel it travels with.
    pub tracking_number: String,
    /// Exporter lines.
    pub from: Vec<String>,
    /// Consignee lines.
    pub to: Vec<String>,
    /// The goods.
    pub items: Vec<InvoiceItem>,
    /// Total value with currency.
    pub total_value: String,
    /// Total net weight with unit.
    pub total_weight: String,
    /// Terms and declarations as (label, value) pairs: contents type, incoterm, EEL/PFC, …
    pub terms: Vec<(String, String)>,
    /// Who certifies the invoice.
    pub signer: String,
    /// A test invoice: marked as a sample.
    pub test: bool,
}

const COLUMNS: [Column; 6] = [
    ("DESCRIPTION", 190.0, Align::Left),
    ("QTY", 40.0, Align::Right),
    ("HS CODE", 80.0, Align::Left),
    ("ORIGIN", 50.0, Align::Left),
    ("NET WEIGHT", 70.0, Align::Right),
    ("VALUE", 102.0, Align::Right),
];

/// Renders the invoice as PDF.
pub fn render(d: &InvoiceData) -> Result<Document, CodeError> {
    let title = if d.test {
        "COMMERCIAL INVOICE — SAMPLE, NOT VALID FOR CUSTOMS"
    } else {
        "COMMERCIAL INVOICE"
    };
    let mut s = Sheet::new(title);
    s.line(MARGIN, 20.0, Weight::Bold, "Commercial Invoice");
    let meta = [
        ("Invoice no.", d.invoice_number.as_str()),
        ("Date", d.date.as_str()),
        ("Carrier", d.carrier.as_str()),
        ("Tracking no.", d.tracking_number.as_str()),
    ];
    s.meta_and_code(&meta, 80.0, &d.tracking_number, 180.0, 40.0)?;
    let half = (LETTER.0 - 2.0 * MARGIN) / 2.0;
    let a = s.block(MARGIN, half - 10.0, "EXPORTER / SHIPPER", &d.from);
    let b = s.block(MARGIN + half, half, "CONSIGNEE", &d.to);
    s.advance(a.max(b) + 12.0, 60.0);
    let rows: Vec<Vec<String>> = d
        .items
        .iter()
        .map(|i| {
            vec![
                i.description.clone(),
                i.quantity.clone(),
                i.tariff_number.clone(),
                i.origin_country.clone(),
                i.net_weight.clone(),
                i.value.clone(),
            ]
        })
        .collect();
    s.table(&COLUMNS, &rows);
    s.advance(0.0, 40.0);
    let y = s.y();
    s.page().text_right(
        LETTER.0 - MARGIN - 4.0,
        y + 12.0,
        10.0,
        Weight::Bold,
        &format!("TOTAL {}", d.total_value),
    );
    s.page().text(
        MARGIN + 2.0,
        y + 12.0,
        9.0,
        Weight::Regular,
        &format!("Total net weight: {}", d.total_weight),
        300.0,
    );
    s.advance(26.0, 14.0 * d.terms.len() as f32);
    for (k, v) in &d.terms {
        let y = s.y();
        let page = s.page();
        page.text(MARGIN, y + 9.0, 8.5, Weight::Bold, k, 150.0);
        page.text(MARGIN + 150.0, y + 9.0, 8.5, Weight::Regular, v, 350.0);
        s.advance(12.0, 0.0);
    }
    s.advance(10.0, 80.0);
    s.line(MARGIN, 8.0, Weight::Regular, "I declare that the information on this invoice is true and correct and that the contents of this shipment are as stated.");
    s.signature(MARGIN, 220.0, &format!("Signature — {}", d.signer));
    s.signature(MARGIN + 260.0, 120.0, "Date");
    let pages = s.finish();
    Ok(Document {
        bytes: pdf::render(&pages, &format!("Commercial invoice {}", d.invoice_number)),
        content_type: "application/pdf",
        extension: "pdf",
    })
}
