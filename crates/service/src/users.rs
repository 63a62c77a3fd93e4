//! People who sign in to the web app: users of an account with a role, their passwords
//! (Argon2id, hashed on the blocking pool), sign-in and sessions.
//!
//! A session is an opaque random id in a cookie, kept in the database as SHA-256 only, so
//! several processes share sessions and a sign-out is immediate everywhere. It ends after
//! [`SESSION_IDLE`] without use or [`SESSION_ABSOLUTE`] after sign-in, whichever comes first.

use std::sync::OnceLock;
use std::time::Duration;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use domain::account::Account;
use domain::user::{check_password, parse_email, parse_name, Role, User};
use domain::{ObjectId, Timestamp, ValidationError};
use rand::Rng;
use store::users as repo;
use store::StoreError;

use crate::{Principal, ServiceError, Services};

/// A session unused for this long ends.
pub const SESSION_IDLE: Duration = Duration::from_secs(12 * 3600);
/// A session ends this long after sign-in, however busy.
pub const SESSION_ABSOLUTE: Duration = Duration::from_secs(7 * 24 * 3600);
/// Activity is written at most this often per session (a page view is a read).
const TOUCH_EVERY: Duration = Duration::from_secs(60);
/// The longest cookie value looked up (ours are 64 hex characters).
const SECRET_MAX: usize = 128;
/// The email of the demo account's owner made on an empty database.
pub const DEMO_OWNER_EMAIL: &str = "owner@demo.example";

/// Someone signed in: the session's user and its anti-forgery token.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub user: User,
    /// Their account's name and default label file type.
    pub account_name: String,
    pub label_file_type: String,
    /// Every form and htmx request of this session carries it.
    pub csrf: String,
}

/// A new session: the cookie's value (shown once, kept hashed) and who it is.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub secret: String,
    pub signed_in: SignedIn,
}

/// What creating a user needs; the account is named.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub account: String,
    pub email: String,
    pub name: String,
    pub role: Role,
    /// `None`: a password is made up and answered once.
    pub password: Option<String>,
}

pub(crate) fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::thread_rng().fill(&mut buf[..]);
    hex::encode(buf)
}

/// A password made up for a new user or a reset: 20 characters from an alphabet without
/// look-alikes (about 115 bits).
fn made_up_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::thread_rng();
    (0..20)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

pub(crate) async fn hash(password: String) -> Result<String, ServiceError> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| ServiceError::internal(format!("password hashing: {e}")))
    })
    .await
    .map_err(|e| ServiceError::internal(format!("password hashing: {e}")))?
}

/// Whether `password` matches `stored` (a PHC string), on the blocking pool.
async fn verify(password: String, stored: String) -> Result<bool, ServiceError> {
    tokio::task::spawn_blocking(move || {
        let Ok(parsed) = PasswordHash::new(&stored) else {
            return false;
        };
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
    .await
    .map_err(|e| ServiceError::internal(format!("password check: {e}")))
}

/// A hash nobody's password matches, checked when the email is unknown so an unknown email
/// takes as long to refuse as a wrong password.
async fn decoy() -> Result<String, ServiceError> {
    static DECOY: OnceLock<String> = OnceLock::new();
    if let Some(h) = DECOY.get() {
        return Ok(h.clone());
    }
    let h = hash(made_up_password()).await?;
    Ok(DECOY.get_or_init(|| h).clone())
}

async fn account_named(s: &Services, name: &str) -> Result<Account, ServiceError> {
    let mut conn = s.store.conn().await?;
    store::accounts::find_account(&mut conn, name)
        .await
        .map_err(|e| match e {
            StoreError::NotFound => ServiceError::Validation(ValidationError::field(
                "account",
                format!("no account named {name:?}"),
            )),
            other => other.into(),
        })
}

/// Creates a user (from the command line); answers the made-up password when none was given
/// (shown once).
pub async fn create_user(
    s: &Services,
    new: NewUser,
) -> Result<(User, Option<String>), ServiceError> {
    let (user, made_up, _) = create_user_as(s, new, domain::account::Actor::Cli, None).await?;
    Ok((user, made_up))
}

/// Invites a user to the named account (from the command line): they get a link to set their
/// password (emailed when a mail server is configured; the URL is answered either way).
pub async fn invite_user(
    s: &Services,
    mut new: NewUser,
    base_url: &str,
) -> Result<(User, crate::user_links::Issued), ServiceError> {
    new.password = None;
    let (user, _, issued) =
        create_user_as(s, new, domain::account::Actor::Cli, Some(base_url)).await?;
    Ok((user, issued.expect("an invitation was asked for")))
}

/// [`create_user`], recorded in the audit log as done by `actor`; with `invite_base` the user
/// gets an invitation link (pointing there) instead of a password, in the same transaction.
async fn create_user_as(
    s: &Services,
    new: NewUser,
    actor: domain::account::Actor,
    invite_base: Option<&str>,
) -> Result<(User, Option<String>, Option<crate::user_links::Issued>), ServiceError> {
    // Every field's problem named at once.
    let email = parse_email(&new.email);
    let name = parse_name(&new.name);
    let password = new.password.as_deref().map(check_password).transpose();
    let mut errors = domain::FieldErrors::new();
    for (field, problem) in [
        ("email", email.as_ref().err()),
        ("name", name.as_ref().err()),
        ("password", password.as_ref().err()),
    ] {
        if let Some(m) = problem {
            errors.add(field, m.clone());
        }
    }
    errors.into_result()?;
    let (Ok(email), Ok(name)) = (email, name) else {
        return Err(ServiceError::internal(
            "checked fields failed after passing",
        ));
    };
    let account = account_named(s, &new.account).await?;
    // Invited: a password nobody knows until the link sets one.
    let made_up = (new.password.is_none() || invite_base.is_some()).then(made_up_password);
    let password = new.password.or_else(|| made_up.clone()).unwrap_or_default();
    let password_hash = hash(password).await?;
    let now = Timestamp::now();
    let user = User {
        id: ObjectId::at(now.millis()),
        account_id: account.id,
        email,
        name,
        role: new.role,
        created: now,
        updated: now,
        disabled: None,
    };
    let stored = user.clone();
    let link = invite_base.map(|base| {
        crate::user_links::prepare(s, user.id, crate::user_links::Purpose::Invite, base)
    });
    let issued = link.as_ref().map(|l| l.issued.clone());
    s.store
        .write(move |conn| {
            Box::pin(async move {
                repo::insert(conn, &stored, &password_hash).await?;
                let (action, how) = match &link {
                    Some(link) => {
                        crate::user_links::store_link(conn, link).await?;
                        (
                            "invited a user",
                            if link.issued.emailed {
                                ", by email"
                            } else {
                                ", link handed over"
                            },
                        )
                    }
                    None => ("added a user", ""),
                };
                let detail = format!("{} as {}{how}", stored.email, stored.role);
                crate::audit::record_user(conn, stored.account_id, actor, action, &detail).await
            })
        })
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => ServiceError::Validation(ValidationError::field(
                "email",
                "already belongs to a user",
            )),
            other => other.into(),
        })?;
    if issued.as_ref().is_some_and(|i| i.emailed) {
        s.job_signal.notify_one();
    }
    let made_up = if invite_base.is_some() { None } else { made_up };
    Ok((user, made_up, issued))
}

/// Whether `who` may give `role` ([`Role::may_grant`]: no one but an owner makes an owner;
/// staff and developers make no one).
fn may_give(who: &Principal, role: Role) -> Result<(), ServiceError> {
    let allowed = match who.actor {
        domain::account::Actor::User { role: mine, .. } => mine.may_grant(role),
        domain::account::Actor::Cli => true,
        domain::account::Actor::Token(_) | domain::account::Actor::Job => false,
    };
    if allowed {
        Ok(())
    } else {
        Err(
            ValidationError::field("role", format!("Your role cannot give the {role} role."))
                .into(),
        )
    }
}

/// A signed-in person adds a user to their own account with a password (given, or made up and
/// answered once), only with a role theirs may give.
pub async fn add_user(
    s: &Services,
    who: &Principal,
    email: &str,
    name: &str,
    role: Role,
    password: Option<String>,
) -> Result<(User, Option<String>), ServiceError> {
    may_give(who, role)?;
    let new = NewUser {
        account: who.account_name.clone(),
        email: email.into(),
        name: name.into(),
        role,
        password,
    };
    let (user, made_up, _) = create_user_as(s, new, who.actor, None).await?;
    Ok((user, made_up))
}

/// A signed-in person invites someone to their own account (only with a role theirs may give):
/// a link to set their password, emailed when a mail server is configured, its URL answered
/// either way (to hand over when no email goes out).
pub async fn invite(
    s: &Services,
    who: &Principal,
    email: &str,
    name: &str,
    role: Role,
    base_url: &str,
) -> Result<(User, crate::user_links::Issued), ServiceError> {
    may_give(who, role)?;
    let new = NewUser {
        account: who.account_name.clone(),
        email: email.into(),
        name: name.into(),
        role,
        password: None,
    };
    let (user, _, issued) = create_user_as(s, new, who.actor, Some(base_url)).await?;
    Ok((user, issued.expect("an invitation was asked for")))
}

/// The users of the named account, oldest first.
pub async fn list_users(s: &Services, account: &str) -> Result<Vec<User>, ServiceError> {
    let account = account_named(s, account).await?;
    let mut conn = s.store.conn().await?;
    Ok(repo::list(&mut conn, account.id).await?)
}

/// On a fresh demo account, its owner: answers the email and the made-up password (printed
/// once by `consign serve` beside the demo token). `None` when the account has users.
pub async fn ensure_demo_owner(
    s: &Services,
    account: &Account,
) -> Result<Option<(String, String)>, ServiceError> {
    {
        let mut conn = s.store.conn().await?;
        if !repo::list(&mut conn, account.id).await?.is_empty() {
            return Ok(None);
        }
    }
    let (user, password) = create_user(
        s,
        NewUser {
            account: account.name.clone(),
            email: DEMO_OWNER_EMAIL.into(),
            name: "Demo owner".into(),
            role: Role::Owner,
            password: None,
        },
    )
    .await?;
    Ok(password.map(|p| (user.email, p)))
}

/// Signs in with an email and a password: a new session. A wrong password, an unknown email
/// and a disabled user are all `Unauthorized`, after the same work.
pub async fn sign_in(
    s: &Services,
    email: &str,
    password: &str,
) -> Result<NewSession, ServiceError> {
    if password.len() > domain::user::PASSWORD_MAX_BYTES {
        return Err(ServiceError::Unauthorized);
    }
    let found = match parse_email(email) {
        Ok(email) => {
            let mut conn = s.store.conn().await?;
            match repo::by_email(&mut conn, &email).await {
                Ok(found) => Some(found),
                Err(StoreError::NotFound) => None,
                Err(e) => return Err(e.into()),
            }
        }
        Err(_) => None,
    };
    let stored = match &found {
        Some((_, h)) => h.clone(),
        None => decoy().await?,
    };
    let matches = verify(password.to_string(), stored).await?;
    let user = match found {
        Some((user, _)) if matches && user.disabled.is_none() => user,
        _ => return Err(ServiceError::Unauthorized),
    };
    let (secret, csrf, now, expires) = session_parts();
    let (key, token, id) = (secret.clone(), csrf.clone(), user.id);
    let (account, role, email) = (user.account_id, user.role, user.email.clone());
    s.store
        .write(move |conn| {
            Box::pin(async move {
                repo::insert_session(conn, &key, id, &token, now, expires).await?;
                let actor = domain::account::Actor::User { id, role };
                crate::audit::record_user(conn, account, actor, "signed in", &email).await
            })
        })
        .await?;
    signed_in(s, user, secret, csrf).await
}

/// A new session's cookie value, anti-forgery token, start and absolute end.
pub(crate) fn session_parts() -> (String, String, Timestamp, Timestamp) {
    let now = Timestamp::now();
    let expires = Timestamp::from_millis(now.millis() + SESSION_ABSOLUTE.as_millis() as i64);
    (random_hex(32), random_hex(32), now, expires)
}

/// A session just stored, as the web app keeps it: with the account's name and label default.
pub(crate) async fn signed_in(
    s: &Services,
    user: User,
    secret: String,
    csrf: String,
) -> Result<NewSession, ServiceError> {
    let mut conn = s.store.conn().await?;
    let account_name = store::accounts::name_of(&mut conn, user.account_id).await?;
    let label_file_type = store::accounts::label_file_type(&mut conn, user.account_id).await?;
    Ok(NewSession {
        secret,
        signed_in: SignedIn {
            user,
            account_name,
            label_file_type,
            csrf,
        },
    })
}

/// Who a session cookie's value names; `Unauthorized` for unknown, ended or expired sessions
/// and disabled users. Expired sessions are removed.
pub async fn session(s: &Services, secret: &str) -> Result<SignedIn, ServiceError> {
    if secret.is_empty() || secret.len() > SECRET_MAX {
        return Err(ServiceError::Unauthorized);
    }
    let row = {
        let mut conn = s.store.conn().await?;
        match repo::session(&mut conn, secret).await {
            Ok(row) => row,
            Err(StoreError::NotFound) => return Err(ServiceError::Unauthorized),
            Err(e) => return Err(e.into()),
        }
    };
    let now = Timestamp::now();
    let idle_end = row.last_seen.millis() + SESSION_IDLE.as_millis() as i64;
    if now >= row.expires || now.millis() >= idle_end || row.user.disabled.is_some() {
        sign_out(s, secret).await?;
        return Err(ServiceError::Unauthorized);
    }
    if now.millis() - row.last_seen.millis() >= TOUCH_EVERY.as_millis() as i64 {
        let key = secret.to_string();
        s.store
            .write(move |conn| Box::pin(async move { repo::touch_session(conn, &key, now).await }))
            .await?;
    }
    Ok(SignedIn {
        user: row.user,
        account_name: row.account_name,
        label_file_type: row.label_file_type,
        csrf: row.csrf,
    })
}

/// Ends one session (nothing happens when it already ended).
pub async fn sign_out(s: &Services, secret: &str) -> Result<(), ServiceError> {
    if secret.is_empty() || secret.len() > SECRET_MAX {
        return Ok(());
    }
    let key = secret.to_string();
    s.store
        .write(move |conn| Box::pin(async move { repo::delete_session(conn, &key).await }))
        .await?;
    Ok(())
}

/// Ends every session of a user of `account` ("sign out everywhere"); answers how many.
pub async fn sign_out_everywhere(
    s: &Services,
    account: ObjectId,
    user: ObjectId,
) -> Result<u64, ServiceError> {
    Ok(s.store
        .write(move |conn| {
            Box::pin(async move {
                let who = repo::get(conn, account, user).await?;
                let ended = repo::delete_sessions_of(conn, user).await?;
                let actor = domain::account::Actor::User {
                    id: user,
                    role: who.role,
                };
                let detail = format!("{ended} sessions ended");
                crate::audit::record_user(conn, account, actor, "signed out everywhere", &detail)
                    .await?;
                Ok(ended)
            })
        })
        .await?)
}

/// Sets a user's password (given, or made up and answered once) and ends all their sessions.
pub async fn reset_password(
    s: &Services,
    email: &str,
    password: Option<String>,
) -> Result<Option<String>, ServiceError> {
    let email = parse_email(email).map_err(|m| ValidationError::field("email", m))?;
    if let Some(p) = &password {
        check_password(p).map_err(|m| ValidationError::field("password", m))?;
    }
    let made_up = password.is_none().then(made_up_password);
    let password_hash = hash(password.or_else(|| made_up.clone()).unwrap_or_default()).await?;
    s.store
        .write(move |conn| {
            Box::pin(async move {
                let (user, _) = repo::by_email(conn, &email).await?;
                repo::set_password(conn, user.id, &password_hash).await?;
                repo::delete_sessions_of(conn, user.id).await
            })
        })
        .await
        .map_err(|e| match e {
            StoreError::NotFound => {
                ServiceError::Validation(ValidationError::field("email", "no user has this email"))
            }
            other => other.into(),
        })?;
    Ok(made_up)
}

/// The principal a signed-in user acts as, in `mode`: their account, with the user as actor.
pub async fn principal(
    _s: &Services,
    who: &SignedIn,
    mode: domain::account::Mode,
) -> Result<store::accounts::Principal, ServiceError> {
    // Everything is read with the session: no query here.
    Ok(store::accounts::Principal {
        account_id: who.user.account_id,
        account_name: who.account_name.clone(),
        mode,
        actor: domain::account::Actor::User {
            id: who.user.id,
            role: who.user.role,
        },
        label_file_type: who.label_file_type.clone(),
    })
}
