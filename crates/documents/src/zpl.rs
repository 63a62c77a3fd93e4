//! Pages to ZPL II for Zebra-compatible thermal printers (203 dpi). Text uses the printer's
//! scalable font 0 with UTF-8 field data (`^CI28`); the barcode and the QR code are the
//! printer's own `^BC` and `^BQ` commands, so they print at the printer's full sharpness.

use crate::drawing::{Ink, Op, Page};
use std::fmt::Write;

/// Dots per inch of the printers this targets.
pub const DPI: f32 = 203.0;

/// Renders one page as a ZPL II label.
pub fn render(page: &Page) -> Vec<u8> {
    let s = DPI / 72.0;
    let d = |v: f32| (v * s).round().max(0.0) as i64;
    let mut z = String::with_capacity(4096);
    let _ = write!(
        z,
        "^XA\n^CI28\n^PW{}\n^LL{}\n^LH0,0\n",
        d(page.width),
        d(page.height)
    );
    for op in &page.ops {
        match op {
            Op::Fill { x, y, w, h, ink } => {
                let (w, h) = (d(*w).max(1), d(*h).max(1));
                let colour = if *ink == Ink::Black { 'B' } else { 'W' };
                let _ = writeln!(
                    z,
                    "^FO{},{}^GB{w},{h},{},{colour},0^FS",
                    d(*x),
                    d(*y),
                    w.min(h)
                );
            }
            Op::Frame { x, y, w, h, line } => {
                let _ = writeln!(
                    z,
                    "^FO{},{}^GB{},{},{},B,0^FS",
                    d(*x),
                    d(*y),
                    d(*w),
                    d(*h),
                    d(*line).max(1)
                );
            }
            Op::Text {
                x,
                y,
                size,
                ink,
                text,
                ..
            } => {
                let height = d(*size).max(10);
                let top = d(y - size * 0.76);
                let reverse = if *ink == Ink::White { "^FR" } else { "" };
                let _ = writeln!(
                    z,
                    "^FO{},{top}{reverse}^A0N,{height},{height}^FH_^FD{}^FS",
                    d(*x),
                    field_data(text)
                );
            }
            Op::Barcode {
                x,
                y,
                h,
                module,
                data,
                ..
            } => {
                let start =
                    if data.bytes().all(|b| b.is_ascii_digit()) && data.len().is_multiple_of(2) {
                        ">;"
                    } else {
                        ">:"
                    };
                let m = d(*module).clamp(1, 10);
                let _ = writeln!(
                    z,
                    "^BY{m},3,{}^FO{},{}^BCN,{},N,N,N,N^FH_^FD{start}{}^FS",
                    d(*h),
                    d(*x),
                    d(*y),
                    d(*h),
                    field_data(data)
                );
            }
            Op::Qr {
                x,
                y,
                size,
                width,
                data,
                ..
            } => {
                let mag = ((size * s) / *width as f32).floor().clamp(1.0, 10.0) as i64;
                // ^BQ draws its own 10-dot margin above the symbol; ^FO is moved up to match.
                let _ = writeln!(
                    z,
                    "^FO{},{}^BQN,2,{mag}^FH_^FDMA,{}^FS",
                    d(*x),
                    (d(*y) - 10).max(0),
                    field_data(data)
                );
            }
        }
    }
    z.push_str("^PQ1\n^XZ\n");
    z.into_bytes()
}

/// Field data with the characters ZPL reads as commands (`^`, `~`) and the `^FH` escape (`_`)
/// written as hexadecimal escapes.
fn field_data(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '^' => out.push_str("_5E"),
            '~' => out.push_str("_7E"),
            '_' => out.push_str("_5F"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_characters_in_data_are_escaped() {
        assert_eq!(field_data("A^B~C_D"), "A_5EB_7EC_5FD");
        assert_eq!(field_data("Łódź"), "Łódź");
    }
}
