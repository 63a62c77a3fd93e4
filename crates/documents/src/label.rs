//! The shipping label: what a depot expects on a parcel, laid out once for a 4×6 in label and
//! scaled to every `label_file_type`.

use crate::codes::{self, CodeError};
use crate::drawing::{Op, Page};
use crate::fonts::Weight;
use crate::{pdf, raster, zpl, Document};

/// Points per inch.
const PT: f32 = 72.0;
/// Points per millimetre.
const MM: f32 = 72.0 / 25.4;
/// The design size: 4 × 6 in.
const W: f32 = 4.0 * PT;
const H: f32 = 6.0 * PT;

/// A label file type of the seed (`label_file_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LabelFormat {
    /// 4×6 in PNG at 203 dpi.
    Png,
    /// 2.3×7.5 in PNG at 203 dpi.
    Png2x7,
    /// A 4×6 in label on a US Letter sheet.
    Pdf,
    /// 2.3×7.5 in PDF.
    Pdf2x7,
    /// 4×6 in PDF.
    Pdf4x6,
    /// 4×8 in PDF.
    Pdf4x8,
    /// A 4×6 in label on an A4 sheet.
    PdfA4,
    /// A5 PDF.
    PdfA5,
    /// A6 PDF.
    PdfA6,
    /// 4×6 in ZPL II at 203 dpi.
    Zpl,
}

impl LabelFormat {
    /// Every format, in the seed's order.
    pub const ALL: [LabelFormat; 10] = [
        LabelFormat::Png,
        LabelFormat::Png2x7,
        LabelFormat::Pdf,
        LabelFormat::Pdf2x7,
        LabelFormat::Pdf4x6,
        LabelFormat::Pdf4x8,
        LabelFormat::PdfA4,
        LabelFormat::PdfA5,
        LabelFormat::PdfA6,
        LabelFormat::Zpl,
    ];

    /// The wire name (`PDF_4x6`, `ZPLII`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            LabelFormat::Png => "PNG",
            LabelFormat::Png2x7 => "PNG_2.3x7.5",
            LabelFormat::Pdf => "PDF",
            LabelFormat::Pdf2x7 => "PDF_2.3x7.5",
            LabelFormat::Pdf4x6 => "PDF_4x6",
            LabelFormat::Pdf4x8 => "PDF_4x8",
            LabelFormat::PdfA4 => "PDF_A4",
            LabelFormat::PdfA5 => "PDF_A5",
            LabelFormat::PdfA6 => "PDF_A6",
            LabelFormat::Zpl => "ZPLII",
        }
    }

    /// The format named `s` (exact wire spelling, case-insensitive).
    pub fn parse(s: &str) -> Option<LabelFormat> {
        LabelFormat::ALL
            .into_iter()
            .find(|f| f.as_str().eq_ignore_ascii_case(s.trim()))
    }

    /// Page size in points.
    pub fn page_size(self) -> (f32, f32) {
        match self {
            LabelFormat::Png | LabelFormat::Pdf4x6 | LabelFormat::Zpl => (W, H),
            LabelFormat::Png2x7 | LabelFormat::Pdf2x7 => (2.3 * PT, 7.5 * PT),
            LabelFormat::Pdf => (8.5 * PT, 11.0 * PT),
            LabelFormat::Pdf4x8 => (W, 8.0 * PT),
            LabelFormat::PdfA4 => (210.0 * MM, 297.0 * MM),
            LabelFormat::PdfA5 => (148.0 * MM, 210.0 * MM),
            LabelFormat::PdfA6 => (105.0 * MM, 148.0 * MM),
        }
    }

    /// Where the 4×6 design goes on the page: offset and scale. Sheets (Letter, A4, A5) carry
    /// the label at full size in the top-left corner, inside a cut line; label stock is filled.
    fn placement(self) -> (f32, f32, f32) {
        let (w, h) = self.page_size();
        match self {
            LabelFormat::Pdf | LabelFormat::PdfA4 | LabelFormat::PdfA5 => (0.5 * PT, 0.5 * PT, 1.0),
            _ => (0.0, 0.0, (w / W).min(h / H)),
        }
    }

    fn is_sheet(self) -> bool {
        matches!(
            self,
            LabelFormat::Pdf | LabelFormat::PdfA4 | LabelFormat::PdfA5
        )
    }
}

/// What a label shows. Address blocks are lines, already formatted by the caller.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LabelData {
    /// The carrier's name, printed as its logo text.
    pub carrier: String,
    /// The service level's name.
    pub service: String,
    /// The large sorting marker: zone or service code.
    pub marker: String,
    /// The tracking number (printed and encoded).
    pub tracking_number: String,
    /// Sender lines.
    pub from: Vec<String>,
    /// Recipient lines (the first is the name, printed larger).
    pub to: Vec<String>,
    /// Recipient postal code, printed large and put in the QR code.
    pub to_postal_code: String,
    /// Recipient country (ISO 3166 alpha-2).
    pub to_country: String,
    /// Weight as printed ("2.5 kg").
    pub weight: String,
    /// Ship date as printed (YYYY-MM-DD).
    pub ship_date: String,
    /// Reference lines ("REF 1: …", "ORDER: …").
    pub references: Vec<String>,
    /// "1/2" for multi-piece shipments.
    pub piece: String,
    /// A test label: marked as a sample that must not be shipped.
    pub test: bool,
    /// Small print at the bottom (the label's id).
    pub footer: String,
}

impl LabelData {
    /// What the QR code carries: `CONSIGN1|tracking number|postal code|country`.
    pub fn qr_payload(&self) -> String {
        format!(
            "CONSIGN1|{}|{}|{}",
            self.tracking_number, self.to_postal_code, self.to_country
        )
    }
}

/// Lays the label out on its page.
pub fn layout(data: &LabelData, format: LabelFormat) -> Result<Page, CodeError> {
    let (pw, ph) = format.page_size();
    let (ox, oy, k) = format.placement();
    let design = design(data)?;
    let mut page = Page::new(pw, ph);
    if format.is_sheet() {
        page.ops.push(Op::Frame {
            x: ox - 2.0,
            y: oy - 2.0,
            w: W + 4.0,
            h: H + 4.0,
            line: 0.5,
        });
        page.text(
            ox,
            oy + H + 16.0,
            8.0,
            Weight::Regular,
            "Cut along the line and attach to the parcel.",
            W,
        );
    }
    page.ops
        .extend(design.ops.into_iter().map(|op| place(op, ox, oy, k)));
    Ok(page)
}

/// Renders a label in `format`.
pub fn render(data: &LabelData, format: LabelFormat) -> Result<Document, CodeError> {
    let page = layout(data, format)?;
    let (bytes, content_type, extension) = match format {
        LabelFormat::Png | LabelFormat::Png2x7 => {
            (raster::render(&page, 203.0), "image/png", "png")
        }
        LabelFormat::Zpl => (zpl::render(&page), "application/zpl", "zpl"),
        _ => (
            pdf::render(&[page], &format!("Label {}", data.tracking_number)),
            "application/pdf",
            "pdf",
        ),
    };
    Ok(Document {
        bytes,
        content_type,
        extension,
    })
}

fn place(op: Op, ox: f32, oy: f32, k: f32) -> Op {
    let px = |x: f32| ox + x * k;
    let py = |y: f32| oy + y * k;
    match op {
        Op::Text {
            x,
            y,
            size,
            weight,
            ink,
            text,
        } => Op::Text {
            x: px(x),
            y: py(y),
            size: size * k,
            weight,
            ink,
            text,
        },
        Op::Fill { x, y, w, h, ink } => Op::Fill {
            x: px(x),
            y: py(y),
            w: w * k,
            h: h * k,
            ink,
        },
        Op::Frame { x, y, w, h, line } => Op::Frame {
            x: px(x),
            y: py(y),
            w: w * k,
            h: h * k,
            line: line * k,
        },
        Op::Barcode {
            x,
            y,
            h,
            module,
            data,
            modules,
        } => Op::Barcode {
            x: px(x),
            y: py(y),
            h: h * k,
            module: module * k,
            data,
            modules,
        },
        Op::Qr {
            x,
            y,
            size,
            data,
            width,
            modules,
        } => Op::Qr {
            x: px(x),
            y: py(y),
            size: size * k,
            data,
            width,
            modules,
        },
    }
}

/// The 4×6 in design.
fn design(d: &LabelData) -> Result<Page, CodeError> {
    let mut p = Page::new(W, H);
    let (l, r) = (10.0, W - 10.0);
    let inner = r - l;
    p.ops.push(Op::Frame {
        x: 4.0,
        y: 4.0,
        w: W - 8.0,
        h: H - 8.0,
        line: 1.5,
    });
    let mut t = 8.0;
    if d.test {
        p.inverse_box(
            4.0,
            4.0,
            W - 8.0,
            16.0,
            "SAMPLE · TEST LABEL · DO NOT SHIP",
            9.0,
        );
        t = 20.0;
    }

    // Header: carrier, service, marker.
    p.text(
        l,
        t + 18.0,
        15.0,
        Weight::Bold,
        &d.carrier.to_uppercase(),
        180.0,
    );
    p.text(l, t + 31.0, 9.0, Weight::Regular, &d.service, 180.0);
    p.text(
        l,
        t + 43.0,
        7.0,
        Weight::Regular,
        &format!("SHIP DATE {}", d.ship_date),
        180.0,
    );
    let marker = if d.marker.trim().is_empty() {
        "—"
    } else {
        d.marker.trim()
    };
    p.inverse_box(r - 82.0, t + 4.0, 82.0, 42.0, marker, 30.0);
    p.rule(4.0, t + 50.0, W - 8.0, 1.5);

    // Sender, weight, piece.
    let y = t + 53.0;
    p.text(l, y + 8.0, 6.0, Weight::Bold, "FROM", 60.0);
    for (i, line) in d.from.iter().take(4).enumerate() {
        p.text(
            l,
            y + 17.0 + i as f32 * 9.0,
            7.5,
            Weight::Regular,
            line,
            180.0,
        );
    }
    p.text(200.0, y + 8.0, 6.0, Weight::Bold, "WEIGHT", 70.0);
    p.text(200.0, y + 20.0, 11.0, Weight::Bold, &d.weight, 80.0);
    if !d.piece.is_empty() {
        p.text(200.0, y + 32.0, 6.0, Weight::Bold, "PARCEL", 70.0);
        p.text(200.0, y + 43.0, 10.0, Weight::Bold, &d.piece, 80.0);
    }
    p.rule(4.0, y + 52.0, W - 8.0, 1.0);

    // Recipient.
    let y = y + 54.0;
    p.text(l, y + 9.0, 7.0, Weight::Bold, "SHIP TO", 60.0);
    let mut lines = d.to.iter();
    if let Some(name) = lines.next() {
        p.text(l, y + 24.0, 13.0, Weight::Bold, name, inner);
    }
    for (i, line) in lines.take(5).enumerate() {
        p.text(
            l,
            y + 38.0 + i as f32 * 12.5,
            10.5,
            Weight::Regular,
            line,
            inner,
        );
    }
    p.rule(4.0, y + 102.0, W - 8.0, 1.5);

    // QR, postal code, references.
    let y = y + 106.0;
    let payload = d.qr_payload();
    let (width, modules) = codes::qr(&payload)?;
    p.ops.push(Op::Qr {
        x: l,
        y: y + 4.0,
        size: 74.0,
        data: payload,
        width,
        modules,
    });
    p.text(96.0, y + 12.0, 6.0, Weight::Bold, "POSTAL CODE", 80.0);
    let postal = if d.to_postal_code.is_empty() {
        "—"
    } else {
        d.to_postal_code.as_str()
    };
    let size = crate::fonts::fit_size(postal, Weight::Bold, 24.0, 10.0, r - 96.0 - 40.0);
    p.text(96.0, y + 36.0, size, Weight::Bold, postal, r - 96.0 - 40.0);
    p.text_right(r, y + 36.0, 18.0, Weight::Bold, &d.to_country);
    for (i, reference) in d.references.iter().take(3).enumerate() {
        p.text(
            96.0,
            y + 52.0 + i as f32 * 9.5,
            7.5,
            Weight::Regular,
            reference,
            r - 96.0,
        );
    }
    p.rule(4.0, y + 84.0, W - 8.0, 1.5);

    // Tracking barcode and number.
    let y = y + 88.0;
    let modules = codes::code128(&d.tracking_number)?;
    // Whole printer dots per module at 203 dpi, as wide as fits.
    let dots = ((inner - 20.0) * 203.0 / PT / modules.len() as f32)
        .floor()
        .clamp(1.0, 4.0);
    let module = dots * PT / 203.0;
    let bw = module * modules.len() as f32;
    let bottom = H - 8.0;
    let bh = (bottom - y - 30.0).max(30.0);
    p.text(l, y + 7.0, 6.0, Weight::Bold, "TRACKING #", 80.0);
    p.ops.push(Op::Barcode {
        x: (W - bw) / 2.0,
        y: y + 9.0,
        h: bh - 6.0,
        module,
        data: d.tracking_number.clone(),
        modules,
    });
    let spaced = d.tracking_number.as_str();
    let tw = crate::fonts::text_width(spaced, 12.0, Weight::Bold);
    p.text(
        (W - tw) / 2.0,
        y + bh + 15.0,
        12.0,
        Weight::Bold,
        spaced,
        inner,
    );
    p.text(l, bottom - 1.0, 5.0, Weight::Regular, &d.footer, inner);
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_wire_name_parses_back() {
        for f in LabelFormat::ALL {
            assert_eq!(LabelFormat::parse(f.as_str()), Some(f));
        }
        assert_eq!(LabelFormat::parse("pdf_4x6"), Some(LabelFormat::Pdf4x6));
        assert_eq!(LabelFormat::parse("GIF"), None);
    }

    #[test]
    fn label_stock_is_filled_and_sheets_carry_a_full_size_label() {
        assert_eq!(LabelFormat::Pdf4x6.placement(), (0.0, 0.0, 1.0));
        let (_, _, k) = LabelFormat::PdfA6.placement();
        assert!(k < 1.0 && k > 0.9);
        assert_eq!(LabelFormat::PdfA4.placement().2, 1.0);
    }
}
