//! Accounts and API-token modes.

use std::fmt;
use std::str::FromStr;

use crate::{ObjectId, Timestamp};

/// The owner of every object (`object_owner` on the wire is its name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: ObjectId,
    /// Unique, human-chosen name (a username or an email address).
    pub name: String,
    pub created: Timestamp,
}

/// Who acts when a use case runs: what the audit trail names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    /// An API token (its id).
    Token(ObjectId),
    /// A person signed in to the web app, with the role they had when they acted.
    User {
        id: ObjectId,
        role: crate::user::Role,
    },
    /// The command line on the server's machine.
    Cli,
    /// A background job.
    Job,
}

/// Whether a token (and every object made with it) is for testing or for real shipments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    Test,
    Live,
}

impl Mode {
    /// `"test"` or `"live"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Test => "test",
            Mode::Live => "live",
        }
    }

    /// True for test mode.
    pub fn is_test(self) -> bool {
        self == Mode::Test
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "test" => Ok(Mode::Test),
            "live" => Ok(Mode::Live),
            other => Err(format!("unknown mode {other:?}: expected test or live")),
        }
    }
}

/// Validates an account name: 1–100 characters, no control characters, no surrounding spaces.
pub fn parse_account_name(name: &str) -> Result<String, String> {
    let trimmed = name.trim();
    if trimmed.is_empty() {
        return Err("account name must not be empty".into());
    }
    if trimmed.chars().count() > 100 {
        return Err("account name must be at most 100 characters".into());
    }
    if trimmed.chars().any(char::is_control) {
        return Err("account name must not contain control characters".into());
    }
    Ok(trimmed.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse_case_insensitively() {
        assert_eq!("TEST".parse::<Mode>(), Ok(Mode::Test));
        assert_eq!("live".parse::<Mode>(), Ok(Mode::Live));
        assert!("prod".parse::<Mode>().is_err());
    }

    #[test]
    fn account_names_are_trimmed_and_bounded() {
        assert_eq!(parse_account_name("  acme "), Ok("acme".to_string()));
        assert!(parse_account_name("   ").is_err());
        assert!(parse_account_name(&"x".repeat(101)).is_err());
        assert!(parse_account_name("a\u{7}b").is_err());
    }
}
