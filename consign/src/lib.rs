//! The `consign` binary as a library: configuration, the buildable application, and the CLI,
//! so integration tests start exactly what `consign serve` starts.

pub mod bulk;
pub mod cli;
pub mod config;
pub mod projects_cli;
pub mod startup;

pub use config::Config;
pub use startup::Application;
