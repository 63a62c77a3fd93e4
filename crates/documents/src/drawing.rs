//! A page as a list of drawing operations in points (1/72 in) from the top-left corner, drawn
//! the same way by every output: PDF ([`crate::pdf`]), PNG ([`crate::raster`]) and ZPL II
//! ([`crate::zpl`]). Layouts ([`crate::label`], [`crate::invoice`], [`crate::manifest`]) only
//! ever produce these.

use crate::fonts::{self, Weight};

/// Ink colour. Labels are printed on thermal printers: black or paper white only.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ink {
    /// Black.
    Black,
    /// White (on a black box).
    White,
}

/// One drawing operation. Coordinates are points from the page's top-left corner.
#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    /// A line of text; `y` is the baseline.
    Text {
        x: f32,
        y: f32,
        size: f32,
        weight: Weight,
        ink: Ink,
        text: String,
    },
    /// A filled rectangle.
    Fill {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        ink: Ink,
    },
    /// A rectangle outline of `line` width, drawn inside the box.
    Frame {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        line: f32,
    },
    /// A Code 128 barcode of `data`: `modules` (true = bar) each `module` points wide.
    Barcode {
        x: f32,
        y: f32,
        h: f32,
        module: f32,
        data: String,
        modules: Vec<bool>,
    },
    /// A QR code of `data`, `size` points square including no quiet zone; `modules` is
    /// `width × width`, row by row.
    Qr {
        x: f32,
        y: f32,
        size: f32,
        data: String,
        width: usize,
        modules: Vec<bool>,
    },
}

/// One page.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Page {
    /// Width in points.
    pub width: f32,
    /// Height in points.
    pub height: f32,
    /// What is drawn, in order.
    pub ops: Vec<Op>,
}

impl Page {
    /// An empty page.
    pub fn new(width: f32, height: f32) -> Page {
        Page {
            width,
            height,
            ops: Vec::new(),
        }
    }

    /// Text at a baseline, cut with "…" when it would run past `max_width`.
    pub fn text(&mut self, x: f32, y: f32, size: f32, weight: Weight, text: &str, max_width: f32) {
        let text = fonts::truncate_to(text.trim(), size, weight, max_width);
        if !text.is_empty() {
            self.ops.push(Op::Text {
                x,
                y,
                size,
                weight,
                ink: Ink::Black,
                text,
            });
        }
    }

    /// Text ending at `right` (right-aligned).
    pub fn text_right(&mut self, right: f32, y: f32, size: f32, weight: Weight, text: &str) {
        let w = fonts::text_width(text, size, weight);
        self.ops.push(Op::Text {
            x: right - w,
            y,
            size,
            weight,
            ink: Ink::Black,
            text: text.into(),
        });
    }

    /// White text on a black box, centred in the box.
    pub fn inverse_box(&mut self, x: f32, y: f32, w: f32, h: f32, text: &str, max_size: f32) {
        self.ops.push(Op::Fill {
            x,
            y,
            w,
            h,
            ink: Ink::Black,
        });
        let size = fonts::fit_size(text, Weight::Bold, max_size, 6.0, w - 8.0);
        let text = fonts::truncate_to(text, size, Weight::Bold, w - 8.0);
        let tw = fonts::text_width(&text, size, Weight::Bold);
        let baseline = y + h / 2.0 + size * 0.36;
        self.ops.push(Op::Text {
            x: x + (w - tw) / 2.0,
            y: baseline,
            size,
            weight: Weight::Bold,
            ink: Ink::White,
            text,
        });
    }

    /// A horizontal rule.
    pub fn rule(&mut self, x: f32, y: f32, w: f32, line: f32) {
        self.ops.push(Op::Fill {
            x,
            y,
            w,
            h: line,
            ink: Ink::Black,
        });
    }

    /// Every character of text on the page, for checks such as missing glyphs.
    pub fn all_text(&self) -> String {
        let mut out = String::new();
        for op in &self.ops {
            if let Op::Text { text, .. } = op {
                out.push_str(text);
                out.push('\n');
            }
        }
        out
    }
}
