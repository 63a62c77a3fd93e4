//! People who sign in to the web app: their roles, what each role may do, and the rules for
//! their emails and passwords. (API tokens act for an account; users act for an account with a
//! role.)

use std::fmt;

use crate::{ObjectId, Timestamp};

/// What a user may do in their account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Everything, including the account's users and its owner's own sign-in.
    Owner,
    /// Everything but the owner's place: users, carriers, developers' tools, settings, shipping.
    Admin,
    /// Shipping only: orders, labels, batches, tracking, crowdfunding shipments — no carrier
    /// credentials, tokens, users or account settings.
    Staff,
    /// Developers' tools only: API tokens, webhooks and their delivery logs.
    Developer,
}

/// A kind of work a page or form needs; roles are sets of these, checked in one place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// Orders, labels, batches, manifests, tracking, crowdfunding shipments.
    Ship,
    /// Carrier accounts and their credentials, rate cards, courier scan keys.
    Carriers,
    /// API tokens, webhooks and their logs.
    Develop,
    /// The account's users and roles.
    Users,
    /// Branding, email templates, label defaults, sender addresses.
    Settings,
}

impl Permission {
    /// Every permission.
    pub const ALL: [Permission; 5] = [
        Permission::Ship,
        Permission::Carriers,
        Permission::Develop,
        Permission::Users,
        Permission::Settings,
    ];

    /// Its name as pages show it.
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::Ship => "shipping",
            Permission::Carriers => "carriers",
            Permission::Develop => "developers",
            Permission::Users => "users",
            Permission::Settings => "settings",
        }
    }
}

impl Role {
    /// Every role, most powerful first.
    pub const ALL: [Role; 4] = [Role::Owner, Role::Admin, Role::Staff, Role::Developer];

    /// The stored and displayed name (`owner`, `admin`, `staff`, `developer`).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Staff => "staff",
            Role::Developer => "developer",
        }
    }

    /// The role named `s` (any case).
    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(s.trim()))
    }

    /// Whether this role may do `p`.
    pub fn can(self, p: Permission) -> bool {
        match self {
            Role::Owner | Role::Admin => true,
            Role::Staff => p == Permission::Ship,
            Role::Developer => p == Permission::Develop,
        }
    }

    /// Whether a user of this role may give `other` to someone (no one makes an owner but an
    /// owner; admins manage every other role).
    pub fn may_grant(self, other: Role) -> bool {
        match self {
            Role::Owner => true,
            Role::Admin => other != Role::Owner,
            Role::Staff | Role::Developer => false,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A person who signs in to an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: ObjectId,
    pub account_id: ObjectId,
    /// Lower-cased; unique across every account (one sign-in names one person).
    pub email: String,
    /// How they are shown; may be empty.
    pub name: String,
    pub role: Role,
    pub created: Timestamp,
    pub updated: Timestamp,
    /// When they were switched off (they can no longer sign in).
    pub disabled: Option<Timestamp>,
}

/// The longest email address (RFC 5321's path limit).
pub const EMAIL_MAX: usize = 254;
/// The shortest password accepted (NIST SP 800-63B asks at least 8; we ask 10).
pub const PASSWORD_MIN: usize = 10;
/// The longest password accepted, in bytes: hashing is bounded by what a request may send.
pub const PASSWORD_MAX_BYTES: usize = 1024;
/// The longest display name.
pub const NAME_MAX: usize = 100;

/// An email address as stored: trimmed, lower-cased, one `@` with something on each side and a
/// dot in the domain, no spaces or control characters, at most [`EMAIL_MAX`] characters.
pub fn parse_email(raw: &str) -> Result<String, String> {
    let email = raw.trim().to_lowercase();
    if email.is_empty() {
        return Err("an email address is required".into());
    }
    if email.chars().count() > EMAIL_MAX {
        return Err(format!("at most {EMAIL_MAX} characters"));
    }
    if email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("must not contain spaces".into());
    }
    match email.split_once('@') {
        Some((local, domain))
            if !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.') =>
        {
            Ok(email)
        }
        _ => Err(format!("{raw:?} is not an email address")),
    }
}

/// Checks a new password: at least [`PASSWORD_MIN`] characters, at most [`PASSWORD_MAX_BYTES`]
/// bytes, not one character repeated.
pub fn check_password(password: &str) -> Result<(), String> {
    if password.len() > PASSWORD_MAX_BYTES {
        return Err(format!("at most {PASSWORD_MAX_BYTES} bytes"));
    }
    if password.chars().count() < PASSWORD_MIN {
        return Err(format!("at least {PASSWORD_MIN} characters"));
    }
    let mut chars = password.chars();
    let first = chars.next();
    if chars.all(|c| Some(c) == first) {
        return Err("must not be one character repeated".into());
    }
    Ok(())
}

/// A display name: trimmed, at most [`NAME_MAX`] characters, no control characters.
pub fn parse_name(raw: &str) -> Result<String, String> {
    let name = raw.trim();
    if name.chars().count() > NAME_MAX {
        return Err(format!("at most {NAME_MAX} characters"));
    }
    if name.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    Ok(name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_restrict_what_they_say() {
        use Permission::*;
        for p in [Ship, Carriers, Develop, Users, Settings] {
            assert!(Role::Owner.can(p) && Role::Admin.can(p));
        }
        assert!(Role::Staff.can(Ship));
        for p in [Carriers, Develop, Users, Settings] {
            assert!(!Role::Staff.can(p), "staff must not {p:?}");
        }
        assert!(Role::Developer.can(Develop));
        for p in [Ship, Carriers, Users, Settings] {
            assert!(!Role::Developer.can(p), "developers must not {p:?}");
        }
        assert!(Role::Owner.may_grant(Role::Owner));
        assert!(!Role::Admin.may_grant(Role::Owner) && Role::Admin.may_grant(Role::Admin));
        assert!(!Role::Staff.may_grant(Role::Staff));
    }

    #[test]
    fn roles_round_trip_by_name() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse(" Staff "), Some(Role::Staff));
        assert_eq!(Role::parse("root"), None);
    }

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(parse_email("  Ana@Loja.PT ").unwrap(), "ana@loja.pt");
        for bad in [
            "",
            "ana",
            "ana@",
            "@loja.pt",
            "ana@loja",
            "a b@loja.pt",
            "a@b@c.pt",
            "ana@.pt",
        ] {
            assert!(parse_email(bad).is_err(), "{bad:?}");
        }
        assert!(parse_email(&format!("{}@x.pt", "a".repeat(260))).is_err());
    }

    #[test]
    fn passwords_are_bounded_both_ways() {
        assert!(check_password("correct horse").is_ok());
        assert!(check_password("short").is_err());
        assert!(check_password("aaaaaaaaaaaaaaaa").is_err());
        assert!(check_password(&"ab".repeat(600)).is_err());
    }
}
