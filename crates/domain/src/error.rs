//! Validation errors that name the offending field, in the order they were found.

use std::fmt;

/// Messages per field, e.g. `zip → ["Enter a valid postal code."]`. Field paths use dots for
/// nesting (`extra.COD.amount`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldErrors(Vec<(String, Vec<String>)>);

impl FieldErrors {
    /// No errors yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records `message` against `field`.
    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        let field = field.into();
        let message = message.into();
        match self.0.iter_mut().find(|(f, _)| *f == field) {
            Some((_, msgs)) => msgs.push(message),
            None => self.0.push((field, vec![message])),
        }
    }

    /// How many fields have messages.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The recorded `(field, messages)` pairs.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[String])> {
        self.0.iter().map(|(f, m)| (f.as_str(), m.as_slice()))
    }

    /// Records every error of `e` (e.g. from a nested object's own checks).
    pub fn absorb(&mut self, e: ValidationError) {
        for (field, msgs) in e.0 .0 {
            for m in msgs {
                self.add(field.clone(), m);
            }
        }
    }

    /// `Ok(())` when empty, otherwise a [`ValidationError`] carrying these errors.
    pub fn into_result(self) -> Result<(), ValidationError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(ValidationError(self))
        }
    }
}

/// Input that cannot become a domain object; answered with 400 and per-field messages.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ValidationError(pub FieldErrors);

impl ValidationError {
    /// A single-field error.
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        let mut e = FieldErrors::new();
        e.add(field, message);
        Self(e)
    }

    /// The same errors with every field path under `prefix` (`country` → `address_to.country`),
    /// for objects nested in another request.
    pub fn prefixed(self, prefix: &str) -> Self {
        Self(FieldErrors(
            (self.0)
                .0
                .into_iter()
                .map(|(f, m)| (format!("{prefix}.{f}"), m))
                .collect(),
        ))
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (field, msgs) in self.0.iter() {
            for m in msgs {
                if !first {
                    f.write_str("; ")?;
                }
                first = false;
                write!(f, "{field}: {m}")?;
            }
        }
        Ok(())
    }
}
