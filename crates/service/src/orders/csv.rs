//! CSV import and export of orders.
