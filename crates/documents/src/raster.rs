//! Pages to 1-bit PNG at a printer's resolution (203 dpi for thermal labels). Bars and QR
//! modules are snapped to whole pixels so scanners read them; text is the fonts' outlines,
//! thresholded.

use crate::drawing::{Ink, Op, Page};
use crate::fonts::{self, Weight};
use ab_glyph::{point, Font, PxScale};
use std::cell::RefCell;
use std::collections::HashMap;

/// A black-and-white bitmap, one byte per pixel (1 = black).
struct Bitmap {
    width: usize,
    height: usize,
    pixels: Vec<u8>,
}

impl Bitmap {
    fn fill(&mut self, x0: i64, y0: i64, x1: i64, y1: i64, ink: Ink) {
        let v = u8::from(ink == Ink::Black);
        let (x0, x1) = (
            x0.clamp(0, self.width as i64) as usize,
            x1.clamp(0, self.width as i64) as usize,
        );
        let (y0, y1) = (
            y0.clamp(0, self.height as i64) as usize,
            y1.clamp(0, self.height as i64) as usize,
        );
        for y in y0..y1 {
            self.pixels[y * self.width + x0..y * self.width + x1].fill(v);
        }
    }
}

/// A glyph's pixels at one size: offset from the pen position and a mask.
struct GlyphMask {
    left: i64,
    top: i64,
    width: usize,
    mask: Vec<bool>,
}

thread_local! {
    static GLYPHS: RefCell<HashMap<(Weight, char, u32), GlyphMask>> = RefCell::new(HashMap::new());
}

fn with_glyph<R>(weight: Weight, c: char, em_px: f32, f: impl FnOnce(&GlyphMask) -> R) -> R {
    let key = (weight, c, (em_px * 16.0).round() as u32);
    GLYPHS.with(|cache| {
        let mut cache = cache.borrow_mut();
        if cache.len() > 20_000 {
            cache.clear();
        }
        let mask = cache.entry(key).or_insert_with(|| {
            let font = fonts::font(weight);
            let scale = PxScale::from(em_px * font.height_unscaled() / fonts::units_per_em(weight));
            let glyph = font
                .glyph_id(c)
                .with_scale_and_position(scale, point(0.0, 0.0));
            match font.outline_glyph(glyph) {
                Some(outlined) => {
                    let b = outlined.px_bounds();
                    let width = b.width() as usize;
                    let height = b.height() as usize;
                    let mut mask = vec![false; width * height];
                    outlined.draw(|x, y, cov| {
                        if cov >= 0.5 {
                            mask[y as usize * width + x as usize] = true;
                        }
                    });
                    GlyphMask {
                        left: b.min.x as i64,
                        top: b.min.y as i64,
                        width,
                        mask,
                    }
                }
                None => GlyphMask {
                    left: 0,
                    top: 0,
                    width: 0,
                    mask: Vec::new(),
                },
            }
        });
        f(mask)
    })
}

/// Renders one page as a PNG at `dpi` dots per inch; the image is the page size rounded to
/// whole dots.
pub fn render(page: &Page, dpi: f32) -> Vec<u8> {
    let s = dpi / 72.0;
    let width = (page.width * s).round() as usize;
    let height = (page.height * s).round() as usize;
    let mut bmp = Bitmap {
        width,
        height,
        pixels: vec![0; width * height],
    };
    let px = |v: f32| (v * s).round() as i64;
    for op in &page.ops {
        match op {
            Op::Fill { x, y, w, h, ink } => bmp.fill(px(*x), px(*y), px(x + w), px(y + h), *ink),
            Op::Frame { x, y, w, h, line } => {
                let t = px(*line).max(1);
                let (x0, y0, x1, y1) = (px(*x), px(*y), px(x + w), px(y + h));
                bmp.fill(x0, y0, x1, y0 + t, Ink::Black);
                bmp.fill(x0, y1 - t, x1, y1, Ink::Black);
                bmp.fill(x0, y0, x0 + t, y1, Ink::Black);
                bmp.fill(x1 - t, y0, x1, y1, Ink::Black);
            }
            Op::Text {
                x,
                y,
                size,
                weight,
                ink,
                text,
            } => draw_text(&mut bmp, *x * s, *y * s, *size * s, *weight, *ink, text),
            Op::Barcode {
                x,
                y,
                h,
                module,
                modules,
                ..
            } => {
                let m = px(*module).max(1);
                let (x0, y0, y1) = (px(*x), px(*y), px(y + h));
                for (start, len) in crate::pdf::runs(modules) {
                    bmp.fill(
                        x0 + start as i64 * m,
                        y0,
                        x0 + (start + len) as i64 * m,
                        y1,
                        Ink::Black,
                    );
                }
            }
            Op::Qr {
                x,
                y,
                size,
                width: n,
                modules,
                ..
            } => {
                let m = ((size * s) / *n as f32).floor().max(1.0) as i64;
                let (x0, y0) = (px(*x), px(*y));
                for (row, line) in modules.chunks(*n).enumerate() {
                    let top = y0 + row as i64 * m;
                    for (start, len) in crate::pdf::runs(line) {
                        bmp.fill(
                            x0 + start as i64 * m,
                            top,
                            x0 + (start + len) as i64 * m,
                            top + m,
                            Ink::Black,
                        );
                    }
                }
            }
        }
    }
    encode(&bmp, dpi)
}

fn draw_text(
    bmp: &mut Bitmap,
    x: f32,
    baseline: f32,
    em_px: f32,
    weight: Weight,
    ink: Ink,
    text: &str,
) {
    let font = fonts::font(weight);
    let per_unit = em_px / fonts::units_per_em(weight);
    let v = u8::from(ink == Ink::Black);
    let mut pen = x;
    for c in text.chars() {
        let c = fonts::drawn(c, weight);
        let (ox, oy) = (pen.round() as i64, baseline.round() as i64);
        with_glyph(weight, c, em_px, |g| {
            if g.width == 0 {
                return;
            }
            for (row, line) in g.mask.chunks(g.width).enumerate() {
                let py = oy + g.top + row as i64;
                if py < 0 || py >= bmp.height as i64 {
                    continue;
                }
                for (col, on) in line.iter().enumerate() {
                    let px = ox + g.left + col as i64;
                    if *on && px >= 0 && px < bmp.width as i64 {
                        bmp.pixels[py as usize * bmp.width + px as usize] = v;
                    }
                }
            }
        });
        pen += font.h_advance_unscaled(font.glyph_id(c)) * per_unit;
    }
}

fn encode(bmp: &Bitmap, dpi: f32) -> Vec<u8> {
    let row_bytes = bmp.width.div_ceil(8);
    let mut packed = vec![0xFFu8; row_bytes * bmp.height];
    for (row, out) in bmp
        .pixels
        .chunks(bmp.width)
        .zip(packed.chunks_mut(row_bytes))
    {
        for (eight, byte) in row.chunks(8).zip(out.iter_mut()) {
            let black = eight
                .iter()
                .enumerate()
                .fold(0u8, |acc, (i, p)| acc | (p << (7 - i)));
            *byte = !black;
        }
    }
    let mut bytes = Vec::with_capacity(packed.len() / 4);
    {
        let mut enc = png::Encoder::new(&mut bytes, bmp.width as u32, bmp.height as u32);
        enc.set_color(png::ColorType::Grayscale);
        enc.set_depth(png::BitDepth::One);
        enc.set_compression(png::Compression::Fast);
        let ppm = (dpi / 0.0254).round() as u32;
        enc.set_pixel_dims(Some(png::PixelDimensions {
            xppu: ppm,
            yppu: ppm,
            unit: png::Unit::Meter,
        }));
        let mut writer = enc.write_header().expect("writing to a Vec cannot fail");
        writer
            .write_image_data(&packed)
            .expect("the image data matches the header");
    }
    bytes
}
