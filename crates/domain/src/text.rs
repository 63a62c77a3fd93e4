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

#[cfg(test)]
mod tests {
    use super::*;

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
