//! Address validators: the offline one (published per-country rules) ships with Consign; a
//! carrier's address-validation API implements the same trait in its adapter.

use std::future::Future;
use std::pin::Pin;

use domain::address::{validate_offline, AddressFields, ValidationResults};

use crate::ServiceError;

/// The future a validator returns.
pub type ValidationFuture<'a> = Pin<
    Box<dyn Future<Output = Result<(AddressFields, ValidationResults), ServiceError>> + Send + 'a>,
>;

/// Judges an address and proposes normalised values for it.
pub trait AddressValidator: Send + Sync {
    /// Shown as the `source` of its messages.
    fn name(&self) -> &str;
    /// Returns the normalised fields and the verdict. Runs outside any database transaction,
    /// since a remote validator may be slow.
    fn validate<'a>(&'a self, fields: &'a AddressFields) -> ValidationFuture<'a>;
}

/// Validation from published address metadata; no network needed.
#[derive(Debug, Clone, Copy, Default)]
pub struct OfflineValidator;

impl AddressValidator for OfflineValidator {
    fn name(&self) -> &str {
        domain::address::VALIDATOR_SOURCE
    }

    fn validate<'a>(&'a self, fields: &'a AddressFields) -> ValidationFuture<'a> {
        Box::pin(async move { Ok(validate_offline(fields)) })
    }
}
