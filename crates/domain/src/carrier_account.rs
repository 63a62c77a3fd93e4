//! Carrier accounts: what the list of them can be filtered by.

/// Filters of `GET /carrier_accounts`.
#[derive(Debug, Clone, Default)]
pub struct CarrierAccountFilter {
    pub carrier: Option<String>,
    pub carrier_account_id: Option<String>,
}
