//! Barcode symbols: Code 128 (the tracking number, the manifest id) and QR.

use barcoders::sym::code128::Code128;

/// Why data cannot become a barcode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    /// Code 128 carries printable ASCII only.
    #[error("a Code 128 barcode carries 2 to 80 printable ASCII characters")]
    Code128,
    /// Too long for a QR code.
    #[error("too much data for a QR code")]
    Qr,
}

/// The modules (true = bar) of a Code 128 symbol for `data`, quiet zones excluded. All-digit
/// data of even length uses code set C (two digits a symbol, so long numeric tracking numbers
/// stay short); anything else uses code set B.
pub fn code128(data: &str) -> Result<Vec<bool>, CodeError> {
    if data.len() < 2 || data.len() > 80 || !data.bytes().all(|b| (32..127).contains(&b)) {
        return Err(CodeError::Code128);
    }
    let all_digits = data.bytes().all(|b| b.is_ascii_digit());
    let prefixed = if all_digits && data.len().is_multiple_of(2) {
        format!("Ć{data}")
    } else {
        format!("Ɓ{data}")
    };
    let symbol = Code128::new(prefixed).map_err(|_| CodeError::Code128)?;
    Ok(symbol.encode().into_iter().map(|m| m == 1).collect())
}

/// A QR code for `data` (error correction M): its width in modules and the modules row by row.
///
/// The mask is fixed (pattern 000, a checkerboard) instead of scoring all eight: every mask is a
/// valid symbol, and the scoring was 85 % of a label's layout time.
pub fn qr(data: &str) -> Result<(usize, Vec<bool>), CodeError> {
    use qrcode::{canvas, ec, EcLevel};
    let level = EcLevel::M;
    let bits = qrcode::bits::encode_auto(data.as_bytes(), level).map_err(|_| CodeError::Qr)?;
    let version = bits.version();
    let (codewords, ec_data) =
        ec::construct_codewords(&bits.into_bytes(), version, level).map_err(|_| CodeError::Qr)?;
    let mut canvas = canvas::Canvas::new(version, level);
    canvas.draw_all_functional_patterns();
    canvas.draw_data(&codewords, &ec_data);
    canvas.apply_mask(canvas::MaskPattern::Checkerboard);
    let modules = canvas
        .into_colors()
        .into_iter()
        .map(|c| c == qrcode::Color::Dark)
        .collect();
    Ok((version.width() as usize, modules))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code128_picks_set_c_for_even_digit_strings() {
        // Set C: start + 13 pairs + check + stop: 15 × 11 + 13 modules.
        let numeric = code128("92055901755477000000000015").unwrap();
        assert_eq!(numeric.len(), 15 * 11 + 13);
        // Set B: start + 13 characters + check + stop.
        let alpha = code128("CT000000017PT").unwrap();
        assert_eq!(alpha.len(), 15 * 11 + 13);
        assert!(
            alpha[0] && alpha[1],
            "every start code opens with a double-width bar"
        );
    }

    #[test]
    fn code128_refuses_what_it_cannot_carry() {
        assert_eq!(code128("Ł1"), Err(CodeError::Code128));
        assert_eq!(code128("1"), Err(CodeError::Code128));
    }

    #[test]
    fn qr_is_square() {
        let (w, m) = qr("CONSIGN1|CT000000017PT|1000-001|PT").unwrap();
        assert_eq!(m.len(), w * w);
        assert!(w >= 21);
    }
}
