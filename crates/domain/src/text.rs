//! Checks shared by every free-text field.

use crate::error::FieldErrors;

/// Records an error when `value` is longer than `max` characters or holds control characters
/// (which no carrier prints and PostgreSQL refuses in the case of NUL).
pub fn check_text(errors: &mut FieldErrors, field: &str, value: &str, max: usize) {
    if value.chars().count() > max {
        errors.add(
            field,
            format!("Ensure this field has no more than {max} characters."),
        );
    }
    if value.chars().any(char::is_control) {
        errors.add(field, "Control characters are not allowed.");
    }
}

/// Finds `raw` (trimmed, any case) among `choices`; `Ok(None)` when it is empty, else an error
/// that lists the choices. The one check for every enumerated field.
pub fn pick<'c>(raw: &str, choices: &[&'c str]) -> Result<Option<&'c str>, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    choices
        .iter()
        .find(|c| c.eq_ignore_ascii_case(raw))
        .map(|c| Some(*c))
        .ok_or_else(|| match choices {
            [a, b] => format!("\"{raw}\" is not a valid choice; use {a} or {b}."),
            _ => format!(
                "\"{raw}\" is not a valid choice; use one of {}.",
                choices.join(", ")
            ),
        })
}

/// Reads a yes/no word the way forms, CSV price lists and older clients write it: `true`/`false`,
/// `1`/`0`, `yes`/`no`, `y`/`n`, `on`/`off`, in any case. `Ok(None)` for an empty value (not
/// given); `Err(())` for any other word. The one reading of such words everywhere.
#[allow(clippy::result_unit_err)]
pub fn parse_flag(raw: &str) -> Result<Option<bool>, ()> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "" => Ok(None),
        "true" | "1" | "yes" | "y" | "on" => Ok(Some(true)),
        "false" | "0" | "no" | "n" | "off" => Ok(Some(false)),
        _ => Err(()),
    }
}

/// `s` with `& < > " '` escaped, safe inside HTML text and attribute values.
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {

    #[test]
    fn html_escape_neutralises_markup() {
        assert_eq!(
            html_escape(r#"<a href="x">Tom & 'Jerry'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;"
        );
        assert_eq!(html_escape("Łódź"), "Łódź");
    }

    use super::*;

    #[test]
    fn choices_are_found_in_any_case_and_errors_list_them() {
        assert_eq!(pick(" quote ", &["QUOTE", "PURCHASE"]), Ok(Some("QUOTE")));
        assert_eq!(pick("", &["QUOTE"]), Ok(None));
        assert_eq!(
            pick("maybe", &["QUOTE", "PURCHASE"]),
            Err("\"maybe\" is not a valid choice; use QUOTE or PURCHASE.".into())
        );
        assert_eq!(
            pick("x", &["A", "B", "C"]),
            Err("\"x\" is not a valid choice; use one of A, B, C.".into())
        );
    }

    #[test]
    fn flags_read_the_usual_words_and_nothing_else() {
        for yes in ["true", "True", "1", "yes", "Y", "on"] {
            assert_eq!(parse_flag(yes), Ok(Some(true)), "{yes}");
        }
        for no in ["false", "FALSE", "0", "no", "n", "off"] {
            assert_eq!(parse_flag(no), Ok(Some(false)), "{no}");
        }
        assert_eq!(parse_flag("  "), Ok(None));
        assert_eq!(parse_flag("maybe"), Err(()));
        assert_eq!(parse_flag("2"), Err(()));
    }

    #[test]
    fn flags_length_and_control_characters() {
        let mut e = FieldErrors::new();
        check_text(&mut e, "a", "fine", 10);
        assert!(e.is_empty());
        check_text(&mut e, "b", "x\0y", 10);
        check_text(&mut e, "c", "ééééé", 4);
        let fields: Vec<&str> = e.iter().map(|(f, _)| f).collect();
        assert_eq!(fields, ["b", "c"]);
    }
}
