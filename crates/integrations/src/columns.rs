//! A CSV header read against a table of known fields: each field is found by the caller's map
//! (`field → column`), by its own name, or by one of the names exports give it (compared
//! without case, surrounding spaces or a byte-order mark). A column Consign would read that the
//! header names twice is refused (which of the two holds the field cannot be told); duplicates
//! among the columns it does not read are left alone.

use std::collections::HashMap;

use domain::{FieldErrors, ValidationError};

/// CSV formula injection: the one rule every CSV Consign writes and reads follows (see
/// [`domain::csv_cell`]). [`Header::get`] takes the prefix off.
pub use domain::csv_cell::{escape_cell, unescape_cell, FORMULA_START};

/// Known fields, each with the column names exports give it (lower-case).
pub type Columns = &'static [(&'static str, &'static [&'static str])];

/// Where each known field sits in a file.
#[derive(Debug, Clone)]
pub struct Header {
    at: HashMap<&'static str, usize>,
}

fn norm(s: &str) -> String {
    s.trim().trim_start_matches('\u{feff}').to_ascii_lowercase()
}

impl Header {
    /// Locates `columns` in `headers`; errors name a bad map entry (`mapping.<field>`), a
    /// `required` field no column gives, or a field whose column appears more than once.
    pub fn read(
        headers: &csv::StringRecord,
        mapping: &[(String, String)],
        columns: Columns,
        required: &[&str],
    ) -> Result<Self, ValidationError> {
        let names: Vec<String> = headers.iter().map(norm).collect();
        let mut errors = FieldErrors::new();
        let at = locate(&names, mapping, columns, &mut errors);
        let mut fields: Vec<(&&'static str, &usize)> = at.iter().collect();
        fields.sort_by_key(|(_, i)| **i);
        for (field, i) in fields {
            let same: Vec<usize> = names
                .iter()
                .enumerate()
                .filter(|(_, n)| **n == names[*i])
                .map(|(j, _)| j + 1)
                .collect();
            if same.len() > 1 {
                errors.add(
                    *field,
                    format!(
                        "The header has {} columns named \"{}\" (columns {}); Consign reads {field} from it and cannot tell which one holds it. Rename or remove the others.",
                        same.len(),
                        headers.get(*i).unwrap_or_default().trim().trim_start_matches('\u{feff}'),
                        same.iter().map(|j| j.to_string()).collect::<Vec<_>>().join(", ")
                    ),
                );
            }
        }
        for r in required {
            if !at.contains_key(r) {
                errors.add(
                    *r,
                    format!("The file has no {r} column (nor one of the names exports give it; map one)."),
                );
            }
        }
        errors.into_result()?;
        Ok(Header { at })
    }

    /// The trimmed, non-empty value of `field` in `row`, the `'` [`escape_cell`] adds taken
    /// off.
    pub fn get<'r>(&self, row: &'r csv::StringRecord, field: &str) -> Option<&'r str> {
        let v = unescape_cell(row.get(*self.at.get(field)?)?.trim()).trim_start();
        (!v.is_empty()).then_some(v)
    }

    /// Whether the file has a column for `field`.
    pub fn has(&self, field: &str) -> bool {
        self.at.contains_key(field)
    }
}

/// Where each field of `columns` sits among the normalised `names`: the map's entries first
/// (a bad one noted in `errors`), then the field's own name, then its aliases.
fn locate(
    names: &[String],
    mapping: &[(String, String)],
    columns: Columns,
    errors: &mut FieldErrors,
) -> HashMap<&'static str, usize> {
    let mut at = HashMap::new();
    for (field, column) in mapping {
        let Some((f, _)) = columns
            .iter()
            .find(|(f, _)| f.eq_ignore_ascii_case(field.trim()))
        else {
            errors.add(
                format!("mapping.{field}"),
                format!(
                    "Not a column Consign reads; use one of {}.",
                    columns.iter().map(|c| c.0).collect::<Vec<_>>().join(", ")
                ),
            );
            continue;
        };
        match names.iter().position(|n| *n == norm(column)) {
            Some(i) => {
                at.insert(*f, i);
            }
            None => errors.add(
                format!("mapping.{field}"),
                format!("The file has no column \"{column}\"."),
            ),
        }
    }
    for (field, aliases) in columns {
        if at.contains_key(field) {
            continue;
        }
        let found = names.iter().position(|n| n == field).or_else(|| {
            aliases
                .iter()
                .find_map(|a| names.iter().position(|n| n == a))
        });
        if let Some(i) = found {
            at.insert(*field, i);
        }
    }
    at
}

/// One column of a file's header and the field Consign reads from it (if any).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// The column's name as the file writes it.
    pub name: String,
    pub field: Option<&'static str>,
}

/// A file's header as Consign would read it with `mapping`: each column and its field (a bad
/// map entry is left out here; reading the file names it).
pub fn preview(
    bytes: &[u8],
    mapping: &[(String, String)],
    columns: Columns,
) -> Result<Vec<Column>, ValidationError> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(bytes);
    let headers = reader
        .headers()
        .map_err(|e| ValidationError::field("file", format!("Not a CSV file: {e}")))?;
    let names: Vec<String> = headers.iter().map(norm).collect();
    let at = locate(&names, mapping, columns, &mut FieldErrors::new());
    Ok(headers
        .iter()
        .enumerate()
        .map(|(i, name)| Column {
            name: name.trim().trim_start_matches('\u{feff}').to_string(),
            field: at.iter().find(|(_, j)| **j == i).map(|(f, _)| *f),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const COLS: Columns = &[("pledge_id", &["backer uid"]), ("email", &["e-mail"])];

    #[test]
    fn fields_are_found_by_alias_name_or_map() {
        let h = csv::StringRecord::from(vec!["\u{feff}Backer UID", " E-Mail ", "Other"]);
        let header = Header::read(&h, &[], COLS, &["pledge_id"]).unwrap();
        let row = csv::StringRecord::from(vec!["42", " a@b.c ", "x"]);
        assert_eq!(header.get(&row, "pledge_id"), Some("42"));
        assert_eq!(header.get(&row, "email"), Some("a@b.c"));
        let mapped = Header::read(&h, &[("email".into(), "other".into())], COLS, &[]).unwrap();
        assert_eq!(mapped.get(&row, "email"), Some("x"));
        let e = Header::read(&h, &[("nope".into(), "x".into())], COLS, &[]).unwrap_err();
        assert!(format!("{e:?}").contains("mapping.nope"));
        let h2 = csv::StringRecord::from(vec!["Email"]);
        let e = Header::read(&h2, &[], COLS, &["pledge_id"]).unwrap_err();
        assert!(format!("{e:?}").contains("pledge_id"));
    }

    #[test]
    fn a_preview_names_each_column_s_field() {
        let file = b"\xef\xbb\xbfBacker UID,Notes,Mail\n1,x,a@b.c\n";
        let cols = preview(file, &[], COLS).unwrap();
        let got: Vec<(&str, Option<&str>)> =
            cols.iter().map(|c| (c.name.as_str(), c.field)).collect();
        assert_eq!(
            got,
            [
                ("Backer UID", Some("pledge_id")),
                ("Notes", None),
                ("Mail", None)
            ]
        );
        let mapped = preview(file, &[("email".into(), "Mail".into())], COLS).unwrap();
        assert_eq!(mapped[2].field, Some("email"));
    }

    #[test]
    fn a_value_escaped_against_formulas_is_read_back_exactly() {
        // Through a header: one prefix off, then trimmed as any value.
        let h = csv::StringRecord::from(vec!["Backer UID", "Email"]);
        let header = Header::read(&h, &[], COLS, &[]).unwrap();
        let row = csv::StringRecord::from(vec!["'-42", "'hello"]);
        assert_eq!(header.get(&row, "pledge_id"), Some("-42"));
        assert_eq!(header.get(&row, "email"), Some("'hello"));
    }

    #[test]
    fn a_column_read_twice_is_refused_by_name_and_unread_duplicates_pass() {
        let h = csv::StringRecord::from(vec!["Backer UID", "Email", "Notes", "email ", "Notes"]);
        let e = Header::read(&h, &[], COLS, &["pledge_id"]).unwrap_err();
        let fields = e.0;
        let message = fields
            .iter()
            .find(|(f, _)| *f == "email")
            .unwrap()
            .1
            .join(" ");
        assert!(
            message.contains("2 columns named \"Email\" (columns 2, 4)"),
            "{message}"
        );
        assert_eq!(fields.iter().count(), 1, "Notes is not read: {fields:?}");
        // The same through a map.
        let h = csv::StringRecord::from(vec!["Ref", "Ref", "Mail"]);
        let e = Header::read(
            &h,
            &[
                ("pledge_id".into(), "Ref".into()),
                ("email".into(), "Mail".into()),
            ],
            COLS,
            &[],
        )
        .unwrap_err();
        assert!(format!("{e:?}").contains("columns 1, 2"), "{e:?}");
        let ok = csv::StringRecord::from(vec!["Backer UID", "Email", "Notes", "Notes"]);
        assert!(Header::read(&ok, &[], COLS, &["pledge_id"]).is_ok());
    }
}
