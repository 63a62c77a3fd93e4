//! Links that set a user's password, sent by email: an invitation to an account (a week) and a
//! password reset (an hour). A link works once; a newer one of the same purpose replaces it; it
//! ends every session of the user and signs them in. The token is a random 256-bit value kept
//! as SHA-256; until its email is sent it is also sealed with the server's key (so the job that
//! sends it can), then the sealed copy is dropped. Without a mail server an invitation's link
//! is answered once to whoever invited (to pass on), and a reset cannot be asked for.

use std::time::Duration;

use domain::user::{check_password, parse_email, User};
use domain::{ObjectId, Timestamp, ValidationError};
use lettre::message::{header::ContentType, Mailbox};
use lettre::Message;
use store::jobs::Claim;
use store::users::{self as repo, UserLink};
use store::{Conn, StoreError};

use crate::jobs::Job;
use crate::users::{self, NewSession};
use crate::{ServiceError, Services};

/// An invitation works this long.
pub const INVITE_TTL: Duration = Duration::from_secs(7 * 24 * 3600);
/// A reset link works this long.
pub const RESET_TTL: Duration = Duration::from_secs(3600);
/// The longest token looked up (ours are 64 hex characters).
const TOKEN_MAX: usize = 128;

/// What a link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Invite,
    Reset,
}

impl Purpose {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Invite => "invite",
            Purpose::Reset => "reset",
        }
    }
}

/// A link made: its URL (to pass on when no email is sent) and whether an email is on its way.
#[derive(Debug, Clone)]
pub struct Issued {
    pub url: String,
    pub emailed: bool,
}

/// A link ready to store with the use case's other writes ([`store_link`]).
pub(crate) struct Prepared {
    link: UserLink,
    token: String,
    pub issued: Issued,
}

fn context(id: ObjectId) -> String {
    format!("user_link:{id}")
}

/// The path a link opens (under the server's base URL).
pub const PATH: &str = "/app/welcome";

/// A new link for `user`.
pub(crate) fn prepare(s: &Services, user: ObjectId, purpose: Purpose, base_url: &str) -> Prepared {
    let token = users::random_hex(32);
    let now = Timestamp::now();
    let ttl = match purpose {
        Purpose::Invite => INVITE_TTL,
        Purpose::Reset => RESET_TTL,
    };
    let id = ObjectId::at(now.millis());
    let base_url = base_url.trim_end_matches('/').to_string();
    let emailed = s.mailer.is_some();
    Prepared {
        issued: Issued {
            url: format!("{base_url}{PATH}?token={token}"),
            emailed,
        },
        link: UserLink {
            id,
            user_id: user,
            purpose: purpose.as_str().into(),
            token_sealed: emailed.then(|| s.cipher.encrypt(token.as_bytes(), &context(id))),
            base_url,
            created: now,
            expires: Timestamp::from_millis(now.millis() + ttl.as_millis() as i64),
            used: None,
            sent: None,
            error: None,
        },
        token,
    }
}

/// Stores a prepared link and, with a mail server, the job that emails it.
pub(crate) async fn store_link(conn: &mut Conn, p: &Prepared) -> Result<(), StoreError> {
    repo::insert_link(conn, &p.link, &p.token).await?;
    if p.link.token_sealed.is_some() {
        store::jobs::enqueue(conn, Job::SendUserLink { link: p.link.id }.due_now()).await?;
    }
    Ok(())
}

/// What "forgot your password" answers: the same whether or not the email has an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResetAnswer {
    /// If the email belongs to a user, a link is on its way.
    OnItsWay,
    /// This server sends no email: an owner (or `consign user reset-password`) must help.
    NoMailServer,
}

/// Asks for a reset link for `email` (sent only if it names an enabled user; the answer never
/// says whether it does).
pub async fn request_reset(
    s: &Services,
    email: &str,
    base_url: &str,
) -> Result<ResetAnswer, ServiceError> {
    if s.mailer.is_none() {
        return Ok(ResetAnswer::NoMailServer);
    }
    let Ok(email) = parse_email(email) else {
        return Ok(ResetAnswer::OnItsWay);
    };
    let user = {
        let mut conn = s.store.conn().await?;
        match repo::by_email(&mut conn, &email).await {
            Ok((user, _)) if user.disabled.is_none() => user,
            Ok(_) | Err(StoreError::NotFound) => return Ok(ResetAnswer::OnItsWay),
            Err(e) => return Err(e.into()),
        }
    };
    let p = prepare(s, user.id, Purpose::Reset, base_url);
    s.store
        .write(move |conn| {
            Box::pin(async move {
                store_link(conn, &p).await?;
                let actor = domain::account::Actor::User {
                    id: user.id,
                    role: user.role,
                };
                crate::audit::record_user(
                    conn,
                    user.account_id,
                    actor,
                    "asked for a password reset link",
                    &user.email,
                )
                .await
            })
        })
        .await?;
    s.job_signal.notify_one();
    Ok(ResetAnswer::OnItsWay)
}

/// A usable link: what it is for and whose.
#[derive(Debug, Clone)]
pub struct Opened {
    pub purpose: Purpose,
    pub user: User,
    pub account_name: String,
}

/// The link `token` opens, if it still works (`NotFound` otherwise: unknown, used or expired).
pub async fn open(s: &Services, token: &str) -> Result<Opened, ServiceError> {
    if token.is_empty() || token.len() > TOKEN_MAX {
        return Err(ServiceError::NotFound);
    }
    let mut conn = s.store.conn().await?;
    let (link, user) = repo::link_by_token(&mut conn, token).await?;
    if link.used.is_some() || link.expires <= Timestamp::now() || user.disabled.is_some() {
        return Err(ServiceError::NotFound);
    }
    let account_name = store::accounts::name_of(&mut conn, user.account_id).await?;
    Ok(Opened {
        purpose: if link.purpose == "invite" {
            Purpose::Invite
        } else {
            Purpose::Reset
        },
        user,
        account_name,
    })
}

/// Sets the password of the link's user, once: the link is spent, every other session of
/// theirs ends and a new one starts (they are signed in), in one transaction.
pub async fn set_password(
    s: &Services,
    token: &str,
    password: &str,
) -> Result<NewSession, ServiceError> {
    check_password(password).map_err(|m| ValidationError::field("password", m))?;
    let opened = open(s, token).await?;
    let password_hash = users::hash(password.to_string()).await?;
    let (token, user) = (token.to_string(), opened.user.clone());
    let (secret, csrf, now, expires) = users::session_parts();
    let (key, anti) = (secret.clone(), csrf.clone());
    let spent = s
        .store
        .write(move |conn| {
            Box::pin(async move {
                let (link, _) = repo::link_by_token(conn, &token).await?;
                if !repo::use_link(conn, link.id, now).await? {
                    return Ok(false);
                }
                repo::set_password(conn, user.id, &password_hash).await?;
                repo::delete_sessions_of(conn, user.id).await?;
                repo::insert_session(conn, &key, user.id, &anti, now, expires).await?;
                let actor = domain::account::Actor::User {
                    id: user.id,
                    role: user.role,
                };
                let action = if link.purpose == "invite" {
                    "accepted an invitation"
                } else {
                    "reset their password by email"
                };
                crate::audit::record_user(conn, user.account_id, actor, action, &user.email)
                    .await?;
                Ok(true)
            })
        })
        .await?;
    if !spent {
        // Used by a second submission that raced this one.
        return Err(ServiceError::NotFound);
    }
    users::signed_in(s, opened.user, secret, csrf).await
}

/// Sends a link's email (the `SendUserLink` job): once; without a mail server or with an
/// address the server refuses after every attempt, the reason is kept on the link.
pub async fn run_send_job(s: &Services, job: &Claim, id: ObjectId) -> Result<(), ServiceError> {
    let (link, user, account) = {
        let mut conn = s.store.conn().await?;
        let (link, user) = repo::link(&mut conn, id).await?;
        let account = store::accounts::name_of(&mut conn, user.account_id).await?;
        (link, user, account)
    };
    let job_id = job.id;
    let settle = |sent: Option<Timestamp>, error: Option<String>| async move {
        s.store
            .write(move |conn| {
                Box::pin(async move {
                    repo::settle_link(conn, id, sent, error.as_deref()).await?;
                    store::jobs::complete(conn, job_id).await
                })
            })
            .await
    };
    let Some(sealed) = link.token_sealed.clone() else {
        // Sent already, or used: nothing to do.
        settle(link.sent, link.error.clone()).await?;
        return Ok(());
    };
    let Some(mailer) = &s.mailer else {
        settle(None, Some("no SMTP server is configured".into())).await?;
        return Ok(());
    };
    let token = s
        .cipher
        .decrypt(&sealed, &context(id))
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| {
            ServiceError::internal(format!("user link {id}: sealed token unreadable"))
        })?;
    let to: Mailbox = match user.email.parse() {
        Ok(m) => m,
        Err(e) => {
            settle(None, Some(format!("recipient {:?}: {e}", user.email))).await?;
            return Ok(());
        }
    };
    let url = format!("{}{PATH}?token={token}", link.base_url);
    let until = link
        .expires
        .to_string()
        .chars()
        .take(16)
        .collect::<String>()
        .replace('T', " ");
    let (subject, text) = if link.purpose == "invite" {
        (
            format!("You are invited to {account} on Consign"),
            format!(
                "Hello{},\n\nYou are invited to ship for {account} on Consign, as {}.\n\nSet your password here (the link works once, until {until} UTC):\n{url}\n",
                if user.name.is_empty() { String::new() } else { format!(" {}", user.name) },
                user.role
            ),
        )
    } else {
        (
            "Reset your Consign password".to_string(),
            format!(
                "Hello,\n\nSomeone (we hope you) asked to reset the password of {} on Consign.\n\nSet a new one here (the link works once, until {until} UTC):\n{url}\n\nIf it was not you, ignore this email: nothing changes.\n",
                user.email
            ),
        )
    };
    let message = Message::builder()
        .from(mailer.from.clone())
        .to(to)
        .subject(subject)
        .header(ContentType::TEXT_PLAIN)
        .body(text)
        .map_err(|e| ServiceError::internal(format!("email: {e}")))?;
    match mailer.send(message).await {
        Ok(()) => {
            settle(Some(Timestamp::now()), None).await?;
            Ok(())
        }
        Err(e) if job.attempts >= crate::jobs::MAX_ATTEMPTS => {
            settle(None, Some(e)).await?;
            Ok(())
        }
        Err(e) => Err(ServiceError::Unavailable(format!("SMTP: {e}"))),
    }
}
