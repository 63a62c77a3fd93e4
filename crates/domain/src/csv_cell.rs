//! CSV formula injection (OWASP "CSV Injection"): a spreadsheet that opens a CSV file runs a
//! cell beginning with `=`, `+`, `-` or `@` (or with a tab or carriage return it strips first)
//! as a formula. Every CSV Consign writes passes each cell through [`escape_cell`], which puts
//! a `'` in front of such a value (spreadsheets show it as text), and every CSV Consign reads
//! passes each cell through [`unescape_cell`], which takes exactly that `'` off again. A value
//! that really begins with `'` is written with a second one, so an export imports back exactly.

use std::borrow::Cow;

/// What a spreadsheet reads as the start of a formula (`=`, `+`, `-`, `@`) or strips and then
/// reads one (tab, carriage return): a cell Consign writes that begins with one is prefixed
/// with `'` ([`escape_cell`]).
pub const FORMULA_START: &[char] = &['=', '+', '-', '@', '\t', '\r'];

/// A value as Consign writes it into a CSV cell, safe to open in a spreadsheet (CSV formula
/// injection): prefixed with `'` when it begins with one of [`FORMULA_START`] or with `'`
/// itself, so that [`unescape_cell`] takes exactly one `'` off and an export imports back
/// exactly (`-2+3` → `'-2+3`, `'quoted` → `''quoted`; other values are written as they are).
pub fn escape_cell(value: &str) -> Cow<'_, str> {
    match value.chars().next() {
        Some(c) if c == '\'' || FORMULA_START.contains(&c) => Cow::Owned(format!("'{value}")),
        _ => Cow::Borrowed(value),
    }
}

/// A cell as [`escape_cell`] wrote it back to its value: one leading `'` is taken off when a
/// formula character or another `'` follows it. A `'` before anything else is kept (a file
/// from elsewhere that writes `'quoted` means it); one that writes `''x` or `'=x` is read as
/// `'x` or `=x`.
pub fn unescape_cell(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest)
            if rest
                .chars()
                .next()
                .is_some_and(|c| c == '\'' || FORMULA_START.contains(&c)) =>
        {
            rest
        }
        _ => cell,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_that_start_a_formula_are_escaped_and_read_back_exactly() {
        for (value, written) in [
            (
                "=HYPERLINK(\"http://x\",\"y\")",
                "'=HYPERLINK(\"http://x\",\"y\")",
            ),
            ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
            ("@SUM(1+1)", "'@SUM(1+1)"),
            ("-2+3", "'-2+3"),
            ("\t=1", "'\t=1"),
            ("\r=1", "'\r=1"),
            ("'quoted", "''quoted"),
            ("'=not a formula", "''=not a formula"),
            ("''", "'''"),
            ("'", "''"),
            ("plain", "plain"),
            ("a=b", "a=b"),
            ("", ""),
        ] {
            assert_eq!(escape_cell(value), written, "{value:?}");
            assert_eq!(unescape_cell(written), value, "{value:?}");
        }
    }
}
