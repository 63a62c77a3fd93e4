//! The address fields of a form (a sender address, an order's ship-to): read from what was
//! posted, shown again with what was entered when refused (`templates/address_fields.html`).

use domain::address::{AddressFields, AddressInput};

use crate::ctx::FormData;

/// Longest value a field of the form keeps (the service checks the real limits).
const FIELD_MAX: usize = 200;

/// An address form's values; `prefix` keeps its inputs' ids unique on the page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct AddressForm {
    pub prefix: &'static str,
    pub name: String,
    pub company: String,
    pub street1: String,
    pub street2: String,
    pub city: String,
    pub state: String,
    pub zip: String,
    pub country: String,
    pub phone: String,
    pub email: String,
}

impl AddressForm {
    /// An empty form.
    pub fn empty(prefix: &'static str) -> Self {
        Self {
            prefix,
            ..Self::default()
        }
    }

    /// A form showing a stored address.
    pub fn of(prefix: &'static str, f: &AddressFields) -> Self {
        Self {
            prefix,
            name: f.name.clone(),
            company: f.company.clone(),
            street1: format!("{} {}", f.street_no, f.street1).trim().to_string(),
            street2: f.street2.clone(),
            city: f.city.clone(),
            state: f.state.clone(),
            zip: f.zip.clone(),
            country: f.country.clone(),
            phone: f.phone.clone(),
            email: f.email.clone(),
        }
    }

    /// What was posted.
    pub fn posted(prefix: &'static str, form: &FormData) -> Self {
        let text = |n: &str| form.get(n).chars().take(FIELD_MAX).collect::<String>();
        Self {
            prefix,
            name: text("name"),
            company: text("company"),
            street1: text("street1"),
            street2: text("street2"),
            city: text("city"),
            state: text("state"),
            zip: text("zip"),
            country: text("country"),
            phone: text("phone"),
            email: text("email"),
        }
    }

    /// The address the service is given.
    pub fn input(&self) -> AddressInput {
        AddressInput {
            fields: AddressFields {
                name: self.name.clone(),
                company: self.company.clone(),
                street1: self.street1.clone(),
                street2: self.street2.clone(),
                city: self.city.clone(),
                state: self.state.clone(),
                zip: self.zip.clone(),
                country: self.country.clone(),
                phone: self.phone.clone(),
                email: self.email.clone(),
                ..AddressFields::default()
            },
            purpose: None,
            validate: false,
        }
    }
}
