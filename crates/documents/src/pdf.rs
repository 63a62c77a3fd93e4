//! Pages to PDF. Text is real text in Type 3 fonts built from the bundled fonts' outlines (only
//! the glyphs a document uses, each drawn once), with a `/ToUnicode` map, so every viewer and
//! printer draws the same shapes and text can still be searched and copied.

use crate::drawing::{Ink, Op, Page};
use crate::fonts::{self, Weight};
use ab_glyph::{Font, OutlineCurve};
use pdf_writer::{Content, Filter, Finish, Name, Pdf, Rect, Ref, Str, TextStr};
use std::collections::HashMap;
use std::sync::{Arc, OnceLock, RwLock};

/// Glyphs per Type 3 font: codes 1..=255 of one byte.
const PER_FONT: usize = 255;

/// The characters a document draws in one weight, in first-use order.
#[derive(Default)]
struct Charset {
    chars: Vec<char>,
    index: HashMap<char, usize>,
}

impl Charset {
    fn code(&mut self, c: char) -> (usize, u8) {
        let next = self.chars.len();
        let i = *self.index.entry(c).or_insert_with(|| next);
        if i == next {
            self.chars.push(c);
        }
        (i / PER_FONT, (i % PER_FONT + 1) as u8)
    }
}

fn font_name(weight: Weight, chunk: usize) -> String {
    format!("F{}x{chunk}", weight.index())
}

/// Renders `pages` as one PDF document titled `title`.
pub fn render(pages: &[Page], title: &str) -> Vec<u8> {
    let mut charsets = [Charset::default(), Charset::default()];
    let mut next = 1;
    let mut alloc = || {
        next += 1;
        Ref::new(next - 1)
    };
    let catalog = alloc();
    let tree = alloc();
    let info = alloc();
    let mut pdf = Pdf::new();

    let mut page_refs = Vec::with_capacity(pages.len());
    let mut contents = Vec::with_capacity(pages.len());
    for page in pages {
        page_refs.push(alloc());
        contents.push(page_content(page, &mut charsets));
    }

    // One Type 3 font per weight and block of 255 characters.
    let mut fonts: Vec<(String, Ref)> = Vec::new();
    for weight in [Weight::Regular, Weight::Bold] {
        let set = &charsets[weight.index()];
        for (chunk, chars) in set.chars.chunks(PER_FONT).enumerate() {
            let font_ref = alloc();
            let cmap_ref = alloc();
            let procs: Vec<Ref> = chars.iter().map(|_| alloc()).collect();
            write_type3(&mut pdf, weight, chars, font_ref, cmap_ref, &procs);
            fonts.push((font_name(weight, chunk), font_ref));
        }
    }

    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree)
        .kids(page_refs.iter().copied())
        .count(pages.len() as i32);
    for ((page, page_ref), content) in pages.iter().zip(&page_refs).zip(contents) {
        let content_ref = alloc();
        let mut p = pdf.page(*page_ref);
        p.media_box(Rect::new(0.0, 0.0, page.width, page.height))
            .parent(tree)
            .contents(content_ref);
        {
            let mut resources = p.resources();
            let mut dict = resources.fonts();
            for (name, r) in &fonts {
                dict.pair(Name(name.as_bytes()), *r);
            }
        }
        p.finish();
        write_stream(&mut pdf, content_ref, &content);
    }
    pdf.document_info(info)
        .title(TextStr(title))
        .producer(TextStr("Consign"));
    pdf.finish()
}

/// Writes a stream, deflated (fastest level: labels are small and rendered on the request path).
fn write_stream(pdf: &mut Pdf, id: Ref, data: &[u8]) {
    let packed = miniz_oxide::deflate::compress_to_vec_zlib(data, 1);
    pdf.stream(id, &packed).filter(Filter::FlateDecode);
}

fn gray(ink: Ink) -> f32 {
    match ink {
        Ink::Black => 0.0,
        Ink::White => 1.0,
    }
}

fn page_content(page: &Page, charsets: &mut [Charset; 2]) -> Vec<u8> {
    let h = page.height;
    let mut c = Content::new();
    for op in &page.ops {
        match op {
            Op::Fill {
                x,
                y,
                w,
                h: bh,
                ink,
            } => {
                c.set_fill_gray(gray(*ink));
                c.rect(*x, h - y - bh, *w, *bh);
                c.fill_nonzero();
            }
            Op::Frame {
                x,
                y,
                w,
                h: bh,
                line,
            } => {
                c.set_stroke_gray(0.0);
                c.set_line_width(*line);
                c.rect(x + line / 2.0, h - y - bh + line / 2.0, w - line, bh - line);
                c.stroke();
            }
            Op::Text {
                x,
                y,
                size,
                weight,
                ink,
                text,
            } => {
                c.set_fill_gray(gray(*ink));
                c.begin_text();
                c.set_text_matrix([1.0, 0.0, 0.0, 1.0, *x, h - y]);
                let set = &mut charsets[weight.index()];
                let mut run: Vec<u8> = Vec::new();
                let mut run_chunk = usize::MAX;
                for ch in text.chars() {
                    let (chunk, code) = set.code(fonts::drawn(ch, *weight));
                    if chunk != run_chunk {
                        if !run.is_empty() {
                            c.show(Str(&run));
                            run.clear();
                        }
                        c.set_font(Name(font_name(*weight, chunk).as_bytes()), *size);
                        run_chunk = chunk;
                    }
                    run.push(code);
                }
                if !run.is_empty() {
                    c.show(Str(&run));
                }
                c.end_text();
            }
            Op::Barcode {
                x,
                y,
                h: bh,
                module,
                modules,
                ..
            } => {
                c.set_fill_gray(0.0);
                for (start, len) in runs(modules) {
                    c.rect(
                        x + start as f32 * module,
                        h - y - bh,
                        len as f32 * module,
                        *bh,
                    );
                }
                c.fill_nonzero();
            }
            Op::Qr {
                x,
                y,
                size,
                width,
                modules,
                ..
            } => {
                c.set_fill_gray(0.0);
                let m = size / *width as f32;
                for (row, line) in modules.chunks(*width).enumerate() {
                    for (start, len) in runs(line) {
                        let top = y + row as f32 * m;
                        c.rect(x + start as f32 * m, h - top - m, len as f32 * m, m);
                    }
                }
                c.fill_nonzero();
            }
        }
    }
    c.finish()
}

/// Runs of `true` as (start, length).
pub(crate) fn runs(modules: &[bool]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < modules.len() {
        if modules[i] {
            let start = i;
            while i < modules.len() && modules[i] {
                i += 1;
            }
            out.push((start, i - start));
        } else {
            i += 1;
        }
    }
    out
}

/// A glyph's Type 3 procedure, deflated, and its advance in font units.
struct GlyphProc {
    advance: f32,
    deflated: Vec<u8>,
}

/// The procedure of a glyph, built once per process: documents reuse the same few hundred.
fn glyph_proc(weight: Weight, c: char) -> Arc<GlyphProc> {
    type Cache = RwLock<HashMap<(Weight, char), Arc<GlyphProc>>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(found) = cache
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .get(&(weight, c))
    {
        return found.clone();
    }
    let f = fonts::font(weight);
    let id = f.glyph_id(c);
    let advance = f.h_advance_unscaled(id);
    let mut g = Content::new();
    match f.outline(id) {
        Some(outline) => {
            // ab_glyph reports bounds with min.y as the top (y up).
            let b = outline.bounds;
            g.start_shape_glyph(advance, b.min.x, b.max.y, b.max.x, b.min.y);
            let mut at: Option<(f32, f32)> = None;
            for curve in &outline.curves {
                let (start, end) = match curve {
                    OutlineCurve::Line(p0, p1) => ((p0.x, p0.y), (p1.x, p1.y)),
                    OutlineCurve::Quad(p0, _, p2) => ((p0.x, p0.y), (p2.x, p2.y)),
                    OutlineCurve::Cubic(p0, _, _, p3) => ((p0.x, p0.y), (p3.x, p3.y)),
                };
                if at != Some(start) {
                    if at.is_some() {
                        g.close_path();
                    }
                    g.move_to(start.0, start.1);
                }
                match curve {
                    OutlineCurve::Line(_, p1) => {
                        g.line_to(p1.x, p1.y);
                    }
                    OutlineCurve::Quad(p0, p1, p2) => {
                        let c1 = (
                            p0.x + 2.0 / 3.0 * (p1.x - p0.x),
                            p0.y + 2.0 / 3.0 * (p1.y - p0.y),
                        );
                        let c2 = (
                            p2.x + 2.0 / 3.0 * (p1.x - p2.x),
                            p2.y + 2.0 / 3.0 * (p1.y - p2.y),
                        );
                        g.cubic_to(c1.0, c1.1, c2.0, c2.1, p2.x, p2.y);
                    }
                    OutlineCurve::Cubic(_, p1, p2, p3) => {
                        g.cubic_to(p1.x, p1.y, p2.x, p2.y, p3.x, p3.y);
                    }
                }
                at = Some(end);
            }
            if at.is_some() {
                g.close_path();
            }
            g.fill_nonzero();
        }
        None => {
            g.start_shape_glyph(advance, 0.0, 0.0, 0.0, 0.0);
        }
    }
    let built = Arc::new(GlyphProc {
        advance,
        deflated: miniz_oxide::deflate::compress_to_vec_zlib(&g.finish(), 6),
    });
    cache
        .write()
        .unwrap_or_else(|e| e.into_inner())
        .insert((weight, c), built.clone());
    built
}

fn write_type3(pdf: &mut Pdf, weight: Weight, chars: &[char], font: Ref, cmap: Ref, procs: &[Ref]) {
    let f = fonts::font(weight);
    let upem = fonts::units_per_em(weight);
    let names: Vec<String> = (1..=chars.len()).map(|i| format!("g{i}")).collect();
    let mut widths = Vec::with_capacity(chars.len());
    for (c, proc_ref) in chars.iter().zip(procs) {
        let glyph = glyph_proc(weight, *c);
        widths.push(glyph.advance);
        pdf.stream(*proc_ref, &glyph.deflated)
            .filter(Filter::FlateDecode);
    }

    let mut t3 = pdf.type3_font(font);
    t3.bbox(Rect::new(
        -0.3 * upem,
        f.descent_unscaled(),
        1.5 * upem,
        f.ascent_unscaled(),
    ));
    t3.matrix([1.0 / upem, 0.0, 0.0, 1.0 / upem, 0.0, 0.0]);
    {
        let mut dict = t3.char_procs();
        for (name, r) in names.iter().zip(procs) {
            dict.pair(Name(name.as_bytes()), *r);
        }
    }
    t3.encoding_custom()
        .differences()
        .consecutive(1, names.iter().map(|n| Name(n.as_bytes())));
    t3.first_char(1).last_char(chars.len() as u8).widths(widths);
    t3.to_unicode(cmap);
    t3.finish();

    let mut map = pdf_writer::types::UnicodeCmap::<u8>::new(
        Name(b"Consign-UCS"),
        pdf_writer::types::SystemInfo {
            registry: Str(b"Adobe"),
            ordering: Str(b"UCS"),
            supplement: 0,
        },
    );
    for (i, c) in chars.iter().enumerate() {
        map.pair((i + 1) as u8, *c);
    }
    pdf.cmap(cmap, &map.finish());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_group_consecutive_bars() {
        assert_eq!(
            runs(&[true, true, false, true, false, false, true]),
            vec![(0, 2), (3, 1), (6, 1)]
        );
        assert!(runs(&[false, false]).is_empty());
    }

    #[test]
    fn more_than_255_characters_spill_into_a_second_font() {
        let mut page = Page::new(600.0, 800.0);
        let text: String = ('\u{0400}'..'\u{04FF}')
            .chain('A'..='Z')
            .filter(|c| fonts::missing_glyphs(&c.to_string()).is_empty())
            .collect();
        assert!(text.chars().count() > 255);
        page.ops.push(Op::Text {
            x: 10.0,
            y: 20.0,
            size: 6.0,
            weight: Weight::Regular,
            ink: Ink::Black,
            text,
        });
        let bytes = render(&[page], "spill");
        let body = String::from_utf8_lossy(&bytes);
        assert!(body.contains("/F0x0") && body.contains("/F0x1"));
        assert!(body.starts_with("%PDF-"));
    }
}
