//! Letter-size business documents (commercial invoice, manifest): a title block, address
//! blocks and a table that runs over as many pages as it needs, with page numbers.

use crate::drawing::{Op, Page};
use crate::fonts::Weight;

/// US Letter, 8.5 × 11 in, in points.
pub const LETTER: (f32, f32) = (612.0, 792.0);
/// Page margin in points.
pub const MARGIN: f32 = 40.0;
const ROW: f32 = 13.0;

/// Column alignment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Align {
    /// Text starts at the column's left edge.
    Left,
    /// Text ends at the column's right edge.
    Right,
}

/// A table column: title, width in points, alignment.
pub type Column = (&'static str, f32, Align);

/// Builds a multi-page Letter document top to bottom.
pub struct Sheet {
    title: String,
    pages: Vec<Page>,
    y: f32,
}

impl Sheet {
    /// A document whose every page is headed by `title`.
    pub fn new(title: &str) -> Sheet {
        let mut sheet = Sheet {
            title: title.to_string(),
            pages: Vec::new(),
            y: 0.0,
        };
        sheet.new_page();
        sheet
    }

    fn new_page(&mut self) {
        let mut page = Page::new(LETTER.0, LETTER.1);
        page.text(MARGIN, MARGIN + 4.0, 8.0, Weight::Bold, &self.title, 400.0);
        page.rule(MARGIN, MARGIN + 8.0, LETTER.0 - 2.0 * MARGIN, 0.5);
        self.pages.push(page);
        self.y = MARGIN + 22.0;
    }

    /// The page being written.
    pub fn page(&mut self) -> &mut Page {
        self.pages.last_mut().expect("a sheet always has a page")
    }

    /// Where the next line goes (points from the top).
    pub fn y(&self) -> f32 {
        self.y
    }

    /// Moves down by `dy`, starting a new page when less than `keep` points would remain.
    pub fn advance(&mut self, dy: f32, keep: f32) {
        self.y += dy;
        if self.y + keep > LETTER.1 - MARGIN - 14.0 {
            self.new_page();
        }
    }

    /// A line of text at the current position, then moves down.
    pub fn line(&mut self, x: f32, size: f32, weight: Weight, text: &str) {
        let y = self.y + size;
        self.page()
            .text(x, y, size, weight, text, LETTER.0 - MARGIN - x);
        self.advance(size * 1.35, 0.0);
    }

    /// A document's head: `meta` as label–value lines at the left (labels `label_width` wide)
    /// and `code` as a Code 128 at the right, at most `code_width` wide and `code_height` high;
    /// then moves below both. Fails when `code` cannot be encoded.
    pub fn meta_and_code(
        &mut self,
        meta: &[(&str, &str)],
        label_width: f32,
        code: &str,
        code_width: f32,
        code_height: f32,
    ) -> Result<(), crate::CodeError> {
        let y = self.y;
        let page = self.page();
        for (i, (k, v)) in meta.iter().enumerate() {
            let line = y + 10.0 + i as f32 * 12.0;
            page.text(MARGIN, line, 8.5, Weight::Bold, k, label_width);
            page.text(
                MARGIN + label_width,
                line,
                8.5,
                Weight::Regular,
                v,
                300.0 - label_width,
            );
        }
        let modules = crate::codes::code128(code)?;
        let module = (code_width / modules.len() as f32).min(1.2);
        page.ops.push(Op::Barcode {
            x: LETTER.0 - MARGIN - module * modules.len() as f32,
            y,
            h: code_height,
            module,
            data: code.to_string(),
            modules,
        });
        self.advance(60.0, 0.0);
        Ok(())
    }

    /// A labelled block of lines at `x` starting at the current position; returns its height.
    pub fn block(&mut self, x: f32, width: f32, label: &str, lines: &[String]) -> f32 {
        let y0 = self.y;
        let page = self.page();
        page.text(x, y0 + 7.0, 7.0, Weight::Bold, label, width);
        for (i, line) in lines.iter().enumerate() {
            page.text(
                x,
                y0 + 20.0 + i as f32 * 12.0,
                9.5,
                Weight::Regular,
                line,
                width,
            );
        }
        20.0 + lines.len() as f32 * 12.0
    }

    fn header_row(&mut self, columns: &[Column]) {
        let y = self.y;
        let mut x = MARGIN;
        let page = self.page();
        page.rule(MARGIN, y, LETTER.0 - 2.0 * MARGIN, 0.8);
        for (title, width, align) in columns {
            cell(page, x, y + 10.0, *width, *align, Weight::Bold, title);
            x += width;
        }
        page.rule(MARGIN, y + 13.5, LETTER.0 - 2.0 * MARGIN, 0.5);
        self.y += 16.0;
    }

    /// A table; the header row repeats on every page it runs onto.
    pub fn table(&mut self, columns: &[Column], rows: &[Vec<String>]) {
        self.header_row(columns);
        for row in rows {
            if self.y + ROW > LETTER.1 - MARGIN - 14.0 {
                self.new_page();
                self.header_row(columns);
            }
            let y = self.y;
            let mut x = MARGIN;
            let page = self.page();
            for ((_, width, align), value) in columns.iter().zip(row) {
                cell(page, x, y + 9.5, *width, *align, Weight::Regular, value);
                x += width;
            }
            self.y += ROW;
        }
        let y = self.y;
        self.page()
            .rule(MARGIN, y + 1.0, LETTER.0 - 2.0 * MARGIN, 0.8);
        self.y += 6.0;
    }

    /// A signature line with a caption under it, `width` wide at `x` on the current line.
    pub fn signature(&mut self, x: f32, width: f32, caption: &str) {
        let y = self.y + 28.0;
        let page = self.page();
        page.rule(x, y, width, 0.7);
        page.text(x, y + 10.0, 7.5, Weight::Regular, caption, width);
    }

    /// The finished pages, each numbered "Page i of n".
    pub fn finish(mut self) -> Vec<Page> {
        let n = self.pages.len();
        for (i, page) in self.pages.iter_mut().enumerate() {
            page.text_right(
                LETTER.0 - MARGIN,
                LETTER.1 - MARGIN + 10.0,
                7.5,
                Weight::Regular,
                &format!("Page {} of {n}", i + 1),
            );
        }
        self.pages
    }
}

fn cell(page: &mut Page, x: f32, y: f32, width: f32, align: Align, weight: Weight, text: &str) {
    let size = 8.0;
    match align {
        Align::Left => page.text(x + 2.0, y, size, weight, text, width - 6.0),
        Align::Right => {
            let text = crate::fonts::truncate_to(text, size, weight, width - 6.0);
            page.text_right(x + width - 4.0, y, size, weight, &text)
        }
    }
}
