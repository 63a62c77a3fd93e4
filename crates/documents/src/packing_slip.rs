//! The packing slip: what goes in one parcel of an order, for the packer and the buyer. Letter
//! PDF: the order number as text and as Code 128, ship-to (and sender), the line items with the
//! quantities this parcel carries, and the order's notes. Several slips render as one PDF (a
//! day's picking list), each order starting on its own page.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::drawing::Page;
use crate::fonts::Weight;
use crate::sheet::{Align, Column, Sheet, LETTER, MARGIN};
use crate::{pdf, CodeError, Document};

/// One line of the slip.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SlipLine {
    pub title: String,
    pub variant: String,
    pub sku: String,
    /// In this parcel.
    pub quantity: u32,
    /// Ordered in all.
    pub ordered: u32,
}

/// What one slip shows.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SlipData {
    /// The order number (printed and as a barcode); the order id when it has none.
    pub order_number: String,
    /// The day it was placed (YYYY-MM-DD).
    pub placed: String,
    /// Ship-to address lines, the name first.
    pub ship_to: Vec<String>,
    /// Sender address lines (empty: none printed).
    pub from: Vec<String>,
    pub lines: Vec<SlipLine>,
    pub notes: String,
    /// A test-mode order.
    pub test: bool,
    /// The sender's brand name, printed above the title (empty: none).
    pub shop: String,
}

const COLUMNS: [Column; 4] = [
    ("ITEM", 260.0, Align::Left),
    ("SKU", 120.0, Align::Left),
    ("QTY", 60.0, Align::Right),
    ("ORDERED", 92.0, Align::Right),
];

fn slip_pages(d: &SlipData) -> Result<Vec<Page>, CodeError> {
    let title = format!(
        "PACKING SLIP · ORDER {}{}",
        d.order_number,
        if d.test { " · TEST" } else { "" }
    );
    let mut s = Sheet::new(&title);
    if !d.shop.trim().is_empty() {
        s.line(MARGIN, 14.0, Weight::Bold, d.shop.trim());
    }
    s.line(MARGIN, 20.0, Weight::Bold, "Packing Slip");
    let meta = [
        ("Order", d.order_number.as_str()),
        ("Placed", d.placed.as_str()),
    ];
    s.meta_and_code(&meta, 60.0, &d.order_number, 220.0, 44.0)?;
    let h_to = s.block(MARGIN, 250.0, "SHIP TO", &d.ship_to);
    let h_from = if d.from.is_empty() {
        0.0
    } else {
        s.block(MARGIN + 280.0, 250.0, "FROM", &d.from)
    };
    s.advance(h_to.max(h_from) + 14.0, 60.0);
    let rows: Vec<Vec<String>> = d
        .lines
        .iter()
        .map(|l| {
            let item = if l.variant.is_empty() {
                l.title.clone()
            } else {
                format!("{} — {}", l.title, l.variant)
            };
            vec![
                item,
                l.sku.clone(),
                l.quantity.to_string(),
                l.ordered.to_string(),
            ]
        })
        .collect();
    s.table(&COLUMNS, &rows);
    s.advance(0.0, 60.0);
    let total: u32 = d.lines.iter().map(|l| l.quantity).sum();
    let y = s.y();
    s.page().text_right(
        LETTER.0 - MARGIN - 4.0,
        y + 12.0,
        10.0,
        Weight::Bold,
        &format!("Items in this parcel: {total}"),
    );
    s.advance(28.0, 0.0);
    if !d.notes.is_empty() {
        s.line(MARGIN, 9.0, Weight::Bold, "Notes");
        for line in d.notes.lines() {
            s.line(MARGIN, 9.0, Weight::Regular, line);
        }
    }
    Ok(s.finish())
}

/// Renders one slip, or several (each order on its own pages), as one PDF.
pub fn render(slips: &[SlipData]) -> Result<Document, CodeError> {
    render_unless(slips, &AtomicBool::new(false)).map(|d| d.expect("never stopped"))
}

/// [`render`], given up (`Ok(None)`) as soon as `stop` is set — checked between slips and
/// before the PDF is written, so a request whose client went away, or a server stopping,
/// frees its thread.
pub fn render_unless(slips: &[SlipData], stop: &AtomicBool) -> Result<Option<Document>, CodeError> {
    let mut pages = Vec::new();
    for d in slips {
        if stop.load(Ordering::Relaxed) {
            return Ok(None);
        }
        pages.extend(slip_pages(d)?);
    }
    if stop.load(Ordering::Relaxed) {
        return Ok(None);
    }
    let title = match slips {
        [one] => format!("Packing slip {}", one.order_number),
        _ => format!("Packing slips ({})", slips.len()),
    };
    Ok(Some(Document {
        bytes: pdf::render(&pages, &title),
        content_type: "application/pdf",
        extension: "pdf",
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slip_shows_its_order_items_and_notes() {
        let d = SlipData {
            order_number: "#1068".into(),
            placed: "2022-01-10".into(),
            ship_to: vec!["Mr Hippo".into(), "215 Clayton St.".into()],
            from: vec![],
            lines: vec![SlipLine {
                title: "Hippo Magazines".into(),
                variant: "June".into(),
                sku: "HM-123".into(),
                quantity: 1,
                ordered: 2,
            }],
            notes: "Gift wrap".into(),
            test: true,
            shop: String::new(),
        };
        let pages = slip_pages(&d).unwrap();
        let text = pages[0].all_text();
        for want in [
            "#1068",
            "Mr Hippo",
            "Hippo Magazines — June",
            "HM-123",
            "Gift wrap",
            "Items in this parcel: 1",
        ] {
            assert!(text.contains(want), "{want} missing from {text}");
        }
        let two = render(&[d.clone(), d]).unwrap();
        assert!(two.bytes.starts_with(b"%PDF-"));
    }

    #[test]
    fn long_items_are_cut_in_linear_time_and_a_stopped_render_gives_up() {
        let line = SlipLine {
            title: "Ünïcode hippo ".repeat(80),
            variant: "x".repeat(200),
            sku: "S".repeat(300),
            quantity: 1,
            ordered: 1,
        };
        let d = SlipData {
            order_number: "#500".into(),
            lines: vec![line; 500],
            ..Default::default()
        };
        let started = std::time::Instant::now();
        let doc = render(std::slice::from_ref(&d)).unwrap();
        let took = started.elapsed();
        assert!(doc.bytes.starts_with(b"%PDF-"));
        let pages = slip_pages(&d).unwrap();
        assert!(pages.len() >= 10, "{} pages", pages.len());
        let text = pages[0].all_text();
        assert!(text.contains("Ünïcode hippo Ünïcode"), "{text}");
        assert!(text.contains('…'), "long cells end in an ellipsis: {text}");
        // Generous for a debug build on a busy machine; the benchmark holds the real target.
        assert!(took < std::time::Duration::from_secs(5), "{took:?}");
        let stop = AtomicBool::new(true);
        assert!(render_unless(&[d], &stop).unwrap().is_none());
    }
}
