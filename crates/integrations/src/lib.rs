//! Adapters for the outside systems whose orders Consign holds, each behind a port the service
//! layer calls without knowing which system it is:
//!
//! - [`columns`]: finding a file's columns by the names exports give them (or a caller's map);
//!   shared by every CSV import.
//! - [`backers`]: crowdfunding platforms' backer reports (Kickstarter's columns, or a generic
//!   map for other pledge managers) read into pledges.
//! - [`providers`]: the creator's own provider account (EasyPost, Shippo): pushing one record per
//!   backer ([`providers::OrderProvider`]) and reading the signed events it sends back
//!   ([`providers::EventSource`]).

pub mod backers;
pub mod columns;
pub mod providers;
