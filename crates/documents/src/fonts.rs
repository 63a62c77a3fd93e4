//! The fonts documents are drawn with: DejaVu Sans and DejaVu Sans Bold, compiled into the binary
//! (Latin with every European diacritic, Greek, Cyrillic and more; licence in `fonts/`), so a
//! label never depends on what the host has installed.
//!
//! Characters neither font has (CJK, for one) are drawn as `?` and reported by
//! [`missing_glyphs`], so the caller can say so rather than print boxes silently.

use ab_glyph::{Font, FontRef, GlyphId};
use std::sync::OnceLock;

/// A text weight.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Weight {
    /// DejaVu Sans.
    Regular,
    /// DejaVu Sans Bold.
    Bold,
}

impl Weight {
    pub(crate) fn index(self) -> usize {
        match self {
            Weight::Regular => 0,
            Weight::Bold => 1,
        }
    }
}

static REGULAR: &[u8] = include_bytes!("../fonts/DejaVuSans.ttf");
static BOLD: &[u8] = include_bytes!("../fonts/DejaVuSans-Bold.ttf");

/// The font of a weight, parsed once.
pub(crate) fn font(weight: Weight) -> &'static FontRef<'static> {
    static FONTS: OnceLock<[FontRef<'static>; 2]> = OnceLock::new();
    let fonts = FONTS.get_or_init(|| {
        [
            FontRef::try_from_slice(REGULAR).expect("bundled DejaVuSans.ttf parses"),
            FontRef::try_from_slice(BOLD).expect("bundled DejaVuSans-Bold.ttf parses"),
        ]
    });
    &fonts[weight.index()]
}

/// Font units per em of the bundled fonts (both are 2048).
pub(crate) fn units_per_em(weight: Weight) -> f32 {
    font(weight).units_per_em().unwrap_or(2048.0)
}

/// The character actually drawn for `c`: itself, or `?` when the font has no glyph for it.
/// Control characters (tabs, newlines) become spaces.
pub(crate) fn drawn(c: char, weight: Weight) -> char {
    if c.is_control() {
        return ' ';
    }
    if font(weight).glyph_id(c) == GlyphId(0) {
        '?'
    } else {
        c
    }
}

/// The glyph drawn for `c` (see [`drawn`]).
pub(crate) fn glyph(c: char, weight: Weight) -> GlyphId {
    font(weight).glyph_id(drawn(c, weight))
}

/// Width of `text` at `size` points, in points.
pub fn text_width(text: &str, size: f32, weight: Weight) -> f32 {
    let f = font(weight);
    let units: f32 = text
        .chars()
        .map(|c| f.h_advance_unscaled(glyph(c, weight)))
        .sum();
    units * size / units_per_em(weight)
}

/// Characters of `text` that the label fonts cannot draw (each once, in order of appearance).
pub fn missing_glyphs(text: &str) -> Vec<char> {
    let mut missing = Vec::new();
    for c in text.chars() {
        if !c.is_control() && drawn(c, Weight::Regular) == '?' && c != '?' && !missing.contains(&c)
        {
            missing.push(c);
        }
    }
    missing
}

/// `text` shortened with "…" so it fits `max_width` at `size`, or unchanged when it fits.
///
/// Linear in the text: each character is measured once (a 1,000-character line item once took
/// ~22 ms re-measuring every shorter prefix), and measuring stops at the first character past
/// the width.
pub fn truncate_to(text: &str, size: f32, weight: Weight, max_width: f32) -> String {
    let f = font(weight);
    let scale = size / units_per_em(weight);
    let ellipsis = text_width("…", size, weight);
    // The longest prefix that still fits with the ellipsis after it, in bytes.
    let mut fits_with_ellipsis = 0;
    let mut width = 0.0;
    for (i, c) in text.char_indices() {
        width += f.h_advance_unscaled(glyph(c, weight)) * scale;
        if width > max_width {
            let kept = text[..fits_with_ellipsis].trim_end();
            return if kept.is_empty() && ellipsis > max_width {
                String::new()
            } else {
                format!("{kept}…")
            };
        }
        if width + ellipsis <= max_width {
            fits_with_ellipsis = i + c.len_utf8();
        }
    }
    text.to_string()
}

/// The largest size in `min..=max` (in half points) at which `text` fits `max_width`; `min`
/// when even that is too wide (the caller truncates then).
pub fn fit_size(text: &str, weight: Weight, max: f32, min: f32, max_width: f32) -> f32 {
    let at_one = text_width(text, 1.0, weight);
    if at_one <= 0.0 {
        return max;
    }
    let size = (max_width / at_one).min(max);
    if size <= min {
        min
    } else {
        (size * 2.0).floor() / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn european_cyrillic_and_greek_names_have_glyphs() {
        for name in [
            "Łódź",
            "São Paulo",
            "Straße",
            "Москва",
            "Αθήνα",
            "Čeština Ærø",
        ] {
            assert!(missing_glyphs(name).is_empty(), "{name}");
        }
    }

    #[test]
    fn cjk_is_reported_missing_not_dropped() {
        assert_eq!(missing_glyphs("東京 Tokyo 東"), vec!['東', '京']);
        assert_eq!(drawn('東', Weight::Bold), '?');
    }

    #[test]
    fn truncation_fits_and_marks_the_cut() {
        let long = "Rua Comendador Manuel Ferreira da Silva Monteiro, 1234";
        let cut = truncate_to(long, 10.0, Weight::Regular, 100.0);
        assert!(cut.ends_with('…'), "{cut}");
        assert!(text_width(&cut, 10.0, Weight::Regular) <= 100.0);
        assert_eq!(
            truncate_to("Lisboa", 10.0, Weight::Regular, 100.0),
            "Lisboa"
        );
    }

    #[test]
    fn fit_size_shrinks_long_text_only() {
        assert_eq!(fit_size("PT", Weight::Bold, 40.0, 10.0, 200.0), 40.0);
        let s = fit_size(
            "A very long city name indeed",
            Weight::Bold,
            40.0,
            10.0,
            200.0,
        );
        assert!((10.0..40.0).contains(&s));
        assert!(text_width("A very long city name indeed", s, Weight::Bold) <= 200.0);
    }
}
