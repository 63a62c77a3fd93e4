//! The manifest (close-out, scan form): every parcel handed to a carrier on one day, for both
//! sides to sign. Letter-size PDF; a 1,000-parcel manifest runs to about 25 pages.

use crate::fonts::Weight;
use crate::sheet::{Align, Column, Sheet, LETTER, MARGIN};
use crate::{pdf, CodeError, Document};

/// One parcel on the manifest.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ManifestRow {
    /// Tracking number.
    pub tracking_number: String,
    /// Recipient city.
    pub city: String,
    /// Recipient postal code.
    pub postal_code: String,
    /// Recipient country.
    pub country: String,
    /// Service level name.
    pub service: String,
    /// Weight with unit.
    pub weight: String,
}

/// What the manifest shows.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ManifestData {
    /// The manifest's id (printed and as a barcode).
    pub manifest_id: String,
    /// Carrier name.
    pub carrier: String,
    /// The carrier account (its `account_id`).
    pub account: String,
    /// The day closed out (YYYY-MM-DD).
    pub shipment_date: String,
    /// Pickup (sender) address lines.
    pub from: Vec<String>,
    /// The parcels.
    pub rows: Vec<ManifestRow>,
    /// Total weight with unit.
    pub total_weight: String,
    /// A test manifest.
    pub test: bool,
}

const COLUMNS: [Column; 7] = [
    ("#", 30.0, Align::Right),
    ("TRACKING NUMBER", 150.0, Align::Left),
    ("CITY", 110.0, Align::Left),
    ("POSTAL CODE", 70.0, Align::Left),
    ("CC", 25.0, Align::Left),
    ("SERVICE", 82.0, Align::Left),
    ("WEIGHT", 65.0, Align::Right),
];

/// Renders the manifest as PDF.
pub fn render(d: &ManifestData) -> Result<Document, CodeError> {
    let title = format!(
        "MANIFEST {} · {} · {}{}",
        d.manifest_id,
        d.carrier,
        d.shipment_date,
        if d.test { " · TEST" } else { "" }
    );
    let mut s = Sheet::new(&title);
    s.line(MARGIN, 20.0, Weight::Bold, "Shipping Manifest");
    let meta = [
        ("Carrier", d.carrier.as_str()),
        ("Account", d.account.as_str()),
        ("Shipment date", d.shipment_date.as_str()),
        ("Manifest", d.manifest_id.as_str()),
    ];
    s.meta_and_code(&meta, 80.0, &d.manifest_id, 200.0, 44.0)?;
    let h = s.block(MARGIN, 300.0, "PICKUP ADDRESS (SENDER)", &d.from);
    s.advance(h + 12.0, 60.0);
    let rows: Vec<Vec<String>> = d
        .rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            vec![
                (i + 1).to_string(),
                r.tracking_number.clone(),
                r.city.clone(),
                r.postal_code.clone(),
                r.country.clone(),
                r.service.clone(),
                r.weight.clone(),
            ]
        })
        .collect();
    s.table(&COLUMNS, &rows);
    s.advance(0.0, 110.0);
    let y = s.y();
    s.page().text(
        MARGIN + 2.0,
        y + 12.0,
        10.0,
        Weight::Bold,
        &format!("Total parcels: {}", d.rows.len()),
        250.0,
    );
    s.page().text_right(
        LETTER.0 - MARGIN - 4.0,
        y + 12.0,
        10.0,
        Weight::Bold,
        &format!("Total weight: {}", d.total_weight),
    );
    s.advance(30.0, 0.0);
    s.line(
        MARGIN,
        8.0,
        Weight::Regular,
        "The carrier received the parcels listed above, in the number stated, on the date shown.",
    );
    s.signature(MARGIN, 230.0, "Merchant — name, signature and date");
    s.signature(MARGIN + 270.0, 230.0, "Carrier — name, signature and date");
    let pages = s.finish();
    Ok(Document {
        bytes: pdf::render(&pages, &format!("Manifest {}", d.manifest_id)),
        content_type: "application/pdf",
        extension: "pdf",
    })
}
