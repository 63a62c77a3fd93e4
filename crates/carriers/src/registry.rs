//! The carriers Consign knows, in one compile-time list.

use crate::{rate_card, test_carrier, CarrierMeta};

/// Every carrier an account can be created for.
pub fn all() -> [&'static CarrierMeta; 2] {
    [rate_card::meta(), test_carrier::meta()]
}

/// A carrier by its token.
pub fn find(id: &str) -> Option<&'static CarrierMeta> {
    all().into_iter().find(|m| m.id == id)
}
