//! Shared helpers for decoding rows: every repository reports undecodable data the same way.

use domain::ObjectId;

use crate::StoreError;

/// A stored value that does not decode: a bug or a manual edit. `what` names the column
/// (`"transaction status"`).
pub(crate) fn corrupt(what: &str, v: impl std::fmt::Debug) -> StoreError {
    StoreError::Corrupt(format!("{what} {v:?}"))
}

/// A stored object id.
pub(crate) fn id_of(raw: &str) -> Result<ObjectId, StoreError> {
    ObjectId::parse(raw).ok_or_else(|| corrupt("id", raw))
}
