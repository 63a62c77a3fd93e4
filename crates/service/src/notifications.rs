//! Buyer emails (seed 000's dispatch email, seed 001's customer updates): "shipped" when a
//! parcel first moves (TRANSIT) and "delivered" when it arrives, over SMTP.
//!
//! A notification row is claimed in the transaction that changed the track (unique per parcel
//! and kind, so a repeated event never sends twice) with a `send_email` job; the job renders the
//! account's templates and hands the message to the mail server, retried with backoff, never in
//! the way of the request that caused it. Each account can turn emails off and edit subjects and
//! bodies (plain text and HTML) through `/settings/notifications`.

use std::time::Duration;

use domain::tracking::{NotificationKind, Track};
use domain::{ObjectId, ValidationError};
use lettre::message::{header::ContentType, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::{Deserialize, Serialize};
use store::jobs::{Claim, NewJob};

use crate::jobs::Job;
use store::{Conn, StoreError};

use crate::{Principal, ServiceError, Services};

/// How the connection to the mail server is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain SMTP (a local relay; tests).
    None,
    /// Plain, then STARTTLS (required), usually port 587.
    StartTls,
    /// TLS from the first byte ("SMTPS"), usually port 465.
    Implicit,
}

impl SmtpTls {
    /// `none`, `starttls` or `tls`.
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "none" | "plain" => Some(SmtpTls::None),
            "starttls" => Some(SmtpTls::StartTls),
            "tls" | "implicit" | "smtps" => Some(SmtpTls::Implicit),
            _ => None,
        }
    }
}

/// Where and as whom emails are sent.
#[derive(Clone)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    pub username: Option<String>,
    pub password: Option<String>,
    /// The sender, e.g. `Shop <shipping@example.com>`.
    pub from: String,
}

impl std::fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("from", &self.from)
            .finish()
    }
}

/// How long one SMTP step (connecting, one command) may take.
const SMTP_STEP_TIMEOUT: Duration = Duration::from_secs(20);

/// How long sending one email may take in all, connection to the last reply: a server that
/// accepts the connection and then never answers fails the attempt (the job retries with
/// backoff) instead of keeping the job — and its renewed lease — forever.
pub const SEND_DEADLINE: Duration = Duration::from_secs(60);

/// A connected-on-demand SMTP client.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    pub(crate) from: Mailbox,
    /// The whole send's deadline ([`SEND_DEADLINE`]; tests shorten it).
    pub deadline: Duration,
}

impl Mailer {
    /// Sends one message within [`SEND_DEADLINE`] (the deadline is `deadline` in tests); the
    /// error says what went wrong.
    pub(crate) async fn send(&self, message: Message) -> Result<(), String> {
        match tokio::time::timeout(self.deadline, self.transport.send(message)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err(format!(
                "the mail server did not finish within {} s",
                self.deadline.as_secs()
            )),
        }
    }

    /// A mailer for `c`; fails on a bad host or sender address.
    pub fn new(c: &SmtpConfig) -> Result<Self, String> {
        let builder = match c.tls {
            SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&c.host),
            SmtpTls::StartTls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&c.host)
                .map_err(|e| format!("smtp_host: {e}"))?,
            SmtpTls::Implicit => AsyncSmtpTransport::<Tokio1Executor>::relay(&c.host)
                .map_err(|e| format!("smtp_host: {e}"))?,
        };
        let mut builder = builder.port(c.port).timeout(Some(SMTP_STEP_TIMEOUT));
        if let Some(user) = &c.username {
            builder = builder.credentials(Credentials::new(
                user.clone(),
                c.password.clone().unwrap_or_default(),
            ));
        }
        let from: Mailbox = c
            .from
            .parse()
            .map_err(|e| format!("smtp_from {:?}: {e}", c.from))?;
        Ok(Self {
            transport: builder.build(),
            from,
            deadline: SEND_DEADLINE,
        })
    }
}

/// An account's email settings; unset fields take the defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipped_subject: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipped_text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipped_html: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivered_subject: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivered_text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivered_html: Option<String>,
}

/// The templates in force: (subject, text, html) per kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Effective {
    pub enabled: bool,
    pub shipped: [String; 3],
    pub delivered: [String; 3],
}

const SHIPPED: [&str; 3] = [
    "Your parcel is on its way ({{tracking_number}})",
    "Hello,\n\nYour parcel has shipped with {{carrier}}.\n\nTracking number: {{tracking_number}}\nFollow it here: {{tracking_url}}\n{{eta_line}}\nThank you.\n",
    "<p>Hello,</p><p>Your parcel has shipped with <strong>{{carrier}}</strong>.</p><p>Tracking number: <strong>{{tracking_number}}</strong><br><a href=\"{{tracking_url}}\">Follow your parcel</a></p><p>{{eta_line}}</p><p>Thank you.</p>",
];
const DELIVERED: [&str; 3] = [
    "Your parcel was delivered ({{tracking_number}})",
    "Hello,\n\nYour parcel {{tracking_number}} ({{carrier}}) was delivered{{where}}.\n\nDetails: {{tracking_url}}\n\nThank you.\n",
    "<p>Hello,</p><p>Your parcel <strong>{{tracking_number}}</strong> ({{carrier}}) was delivered{{where}}.</p><p><a href=\"{{tracking_url}}\">See the details</a></p><p>Thank you.</p>",
];

/// The placeholders templates may use.
pub const PLACEHOLDERS: &[&str] = &[
    "{{tracking_number}}",
    "{{carrier}}",
    "{{tracking_url}}",
    "{{status}}",
    "{{status_details}}",
    "{{eta_line}}",
    "{{where}}",
    // The account's brand name (Settings → Branding; empty when none is set).
    "{{shop_name}}",
];

impl Settings {
    /// The settings with defaults filled in.
    pub fn effective(&self) -> Effective {
        let pick = |v: &Option<String>, d: &str| v.clone().unwrap_or_else(|| d.to_string());
        Effective {
            enabled: self.enabled.unwrap_or(true),
            shipped: [
                pick(&self.shipped_subject, SHIPPED[0]),
                pick(&self.shipped_text, SHIPPED[1]),
                pick(&self.shipped_html, SHIPPED[2]),
            ],
            delivered: [
                pick(&self.delivered_subject, DELIVERED[0]),
                pick(&self.delivered_text, DELIVERED[1]),
                pick(&self.delivered_html, DELIVERED[2]),
            ],
        }
    }

    fn check(&self) -> Result<(), ValidationError> {
        let mut e = domain::FieldErrors::new();
        for (field, v, max) in [
            ("shipped_subject", &self.shipped_subject, 200),
            ("delivered_subject", &self.delivered_subject, 200),
            ("shipped_text", &self.shipped_text, 20_000),
            ("shipped_html", &self.shipped_html, 50_000),
            ("delivered_text", &self.delivered_text, 20_000),
            ("delivered_html", &self.delivered_html, 50_000),
        ] {
            if let Some(v) = v {
                if v.trim().is_empty() {
                    e.add(
                        field,
                        "Leave it out (null) for the default, or give a template.",
                    );
                } else if v.chars().count() > max {
                    e.add(
                        field,
                        format!("Ensure this field has no more than {max} characters."),
                    );
                } else if field.ends_with("subject") && v.contains(['\r', '\n']) {
                    e.add(field, "A subject is one line.");
                } else if v
                    .chars()
                    .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
                {
                    e.add(
                        field,
                        "Control characters (NUL and the like) are not allowed in a template.",
                    );
                }
            }
        }
        e.into_result()
    }
}

async fn load(conn: &mut Conn, account: ObjectId) -> Result<Settings, StoreError> {
    Ok(store::notifications::settings(conn, account)
        .await?
        .and_then(|json| serde_json::from_str(&json).ok())
        .unwrap_or_default())
}

/// Whether the account sends buyer emails (inside the caller's transaction).
pub(crate) async fn enabled(conn: &mut Conn, account: ObjectId) -> Result<bool, StoreError> {
    Ok(load(conn, account).await?.effective().enabled)
}

/// The principal's settings as stored and in force.
pub async fn get_settings(
    s: &Services,
    who: &Principal,
) -> Result<(Settings, Effective), ServiceError> {
    let stored = load(&mut *s.store.conn().await?, who.account_id).await?;
    let eff = stored.effective();
    Ok((stored, eff))
}

/// Replaces the principal's settings (a field left out keeps the default).
pub async fn put_settings(
    s: &Services,
    who: &Principal,
    settings: Settings,
) -> Result<(Settings, Effective), ServiceError> {
    settings.check()?;
    let json = serde_json::to_string(&settings).expect("settings serialise");
    let (account, actor) = (who.account_id, who.clone());
    s.store
        .write(move |conn| {
            Box::pin(async move {
                store::notifications::save_settings(conn, account, &json).await?;
                crate::audit::record(conn, &actor, "changed the buyer emails", None, "").await
            })
        })
        .await?;
    let eff = settings.effective();
    Ok((settings, eff))
}

pub(crate) fn send_job(id: ObjectId) -> NewJob {
    Job::SendEmail { notification: id }.due_now()
}

/// Fills a template's placeholders (values HTML-escaped when `html`); `shop` is the account's
/// brand name.
pub fn render(template: &str, track: &Track, tracking_url: &str, shop: &str, html: bool) -> String {
    let current = track.current();
    let where_ = current
        .and_then(|e| e.location.as_ref())
        .map(|l| l.human())
        .filter(|w| !w.is_empty())
        .map(|w| format!(" in {w}"))
        .unwrap_or_default();
    let eta_line = track
        .eta
        .map(|e| {
            format!(
                "Expected delivery: {}",
                e.to_datetime().format("%A %-d %B %Y")
            )
        })
        .unwrap_or_default();
    let values = [
        track.tracking_number.clone(),
        carrier_name(track),
        tracking_url.to_string(),
        track.status().as_str().to_string(),
        current.map(|e| e.details.clone()).unwrap_or_default(),
        eta_line,
        where_,
        shop.to_string(),
    ];
    fill(template, &values, html)
}

/// Replaces each of [`PLACEHOLDERS`] with its value (in that order).
fn fill(template: &str, values: &[String; 8], html: bool) -> String {
    let mut out = template.to_string();
    for (k, v) in PLACEHOLDERS.iter().zip(values) {
        out = out.replace(
            k,
            &if html {
                domain::text::html_escape(v)
            } else {
                v.clone()
            },
        );
    }
    out
}

/// The buyer emails `settings` would send for a sample parcel from `shop` (the brand name):
/// (subject, text) when it ships and when it is delivered. Refused like a save when a template
/// is not acceptable.
pub fn preview(
    settings: &Settings,
    tracking_url: &str,
    shop: &str,
) -> Result<[(String, String); 2], ServiceError> {
    settings.check()?;
    let e = settings.effective();
    let sample = |status: &str, details: &str, eta: &str, where_: &str| {
        [
            "9400111899223197428490".to_string(),
            "USPS Priority Mail".to_string(),
            tracking_url.to_string(),
            status.to_string(),
            details.to_string(),
            eta.to_string(),
            where_.to_string(),
            shop.to_string(),
        ]
    };
    let shipped = sample(
        "TRANSIT",
        "Accepted at the origin facility",
        "Expected delivery: Thursday 10 December 2026",
        "",
    );
    let delivered = sample("DELIVERED", "Delivered, front door", "", " in San Jose, CA");
    Ok([
        (
            fill(&e.shipped[0], &shipped, false),
            fill(&e.shipped[1], &shipped, false),
        ),
        (
            fill(&e.delivered[0], &delivered, false),
            fill(&e.delivered[1], &delivered, false),
        ),
    ])
}

fn carrier_name(t: &Track) -> String {
    t.servicelevel
        .as_ref()
        .map(|(_, name)| name.clone())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| t.carrier.clone())
}

/// Runs one `send_email` job.
pub async fn run_send_job(s: &Services, job: &Claim, id: ObjectId) -> Result<(), ServiceError> {
    let (n, track, settings, brand) = {
        let mut conn = s.store.conn().await?;
        let n = store::notifications::get(&mut conn, id).await?;
        let track = store::tracks::by_id(&mut conn, n.track)
            .await?
            .ok_or(ServiceError::NotFound)?
            .track;
        let settings = load(&mut conn, n.scope.account_id).await?.effective();
        let brand = store::branding::get(&mut conn, n.scope.account_id)
            .await?
            .map(|b| b.name)
            .unwrap_or_default();
        (n, track, settings, brand)
    };
    let job_id = job.id;
    let settle = |status: &'static str, error: Option<String>| async move {
        s.store
            .write(move |conn| {
                Box::pin(async move {
                    store::notifications::set_status(conn, id, status, error.as_deref()).await?;
                    store::jobs::complete(conn, job_id).await
                })
            })
            .await
    };
    if n.status != store::notifications::QUEUED {
        settle_done(s, job_id).await?;
        return Ok(());
    }
    let Some(mailer) = &s.mailer else {
        settle(
            store::notifications::FAILED,
            Some("no SMTP server is configured".into()),
        )
        .await?;
        return Ok(());
    };
    let [subject, text, html] = match n.kind {
        NotificationKind::Shipped => &settings.shipped,
        NotificationKind::Delivered => &settings.delivered,
    };
    let url = format!(
        "{}{}",
        s.public_url.trim_end_matches('/'),
        crate::tracking::public_path(track.carrier_account, &track.tracking_number)
    );
    let to: Mailbox = match n.recipient.parse() {
        Ok(m) => m,
        Err(e) => {
            settle(
                store::notifications::FAILED,
                Some(format!("recipient {:?}: {e}", n.recipient)),
            )
            .await?;
            return Ok(());
        }
    };
    // The account's brand name is the sender's display name (the address stays the server's).
    let from = if brand.is_empty() {
        mailer.from.clone()
    } else {
        Mailbox::new(Some(brand.clone()), mailer.from.email.clone())
    };
    let message = Message::builder()
        .from(from)
        .to(to)
        .subject(render(subject, &track, &url, &brand, false))
        .multipart(
            MultiPart::alternative()
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_PLAIN)
                        .body(render(text, &track, &url, &brand, false)),
                )
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_HTML)
                        .body(render(html, &track, &url, &brand, true)),
                ),
        )
        .map_err(|e| ServiceError::internal(format!("email: {e}")))?;
    match mailer.send(message).await {
        Ok(()) => {
            settle(store::notifications::SENT, None).await?;
            Ok(())
        }
        Err(e) if job.attempts >= crate::jobs::MAX_ATTEMPTS => {
            settle(store::notifications::FAILED, Some(e)).await?;
            Ok(())
        }
        Err(error) => {
            let reason = format!("SMTP: {error}");
            s.store
                .write(move |conn| {
                    Box::pin(async move {
                        store::notifications::set_status(
                            conn,
                            id,
                            store::notifications::QUEUED,
                            Some(&error),
                        )
                        .await
                    })
                })
                .await?;
            Err(ServiceError::Unavailable(reason))
        }
    }
}

async fn settle_done(s: &Services, job: ObjectId) -> Result<(), ServiceError> {
    s.store
        .write(move |conn| Box::pin(async move { store::jobs::complete(conn, job).await }))
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::tracking::{Place, TrackEvent, TrackStatus};
    use domain::Timestamp;

    fn track() -> Track {
        Track {
            id: ObjectId::new(),
            created: Timestamp::now(),
            updated: Timestamp::now(),
            test: true,
            carrier: "ratecard".into(),
            tracking_number: "CT000000014PT".into(),
            transaction: None,
            carrier_account: None,
            metadata: String::new(),
            servicelevel: Some(("cl_express".into(), "Express <24h>".into())),
            address_from: None,
            address_to: None,
            eta: None,
            original_eta: None,
            notify_email: None,
            history: vec![TrackEvent {
                id: ObjectId::new(),
                created: Timestamp::now(),
                occurred: Timestamp::now(),
                status: TrackStatus::Delivered,
                substatus: None,
                details: "Left at the door".into(),
                location: Some(Place {
                    city: Some("Łódź".into()),
                    country: Some("PL".into()),
                    ..Place::default()
                }),
            }],
            poll_at: None,
            poll_failures: 0,
        }
    }

    #[test]
    fn templates_fill_placeholders_and_escape_html() {
        let t = track();
        let eff = Settings::default().effective();
        let text = render(
            &eff.delivered[1],
            &t,
            "https://ship.example/track/CT000000014PT",
            "",
            false,
        );
        assert!(
            text.contains("CT000000014PT (Express <24h>) was delivered in Łódź, PL."),
            "{text}"
        );
        let html = render(
            &eff.delivered[2],
            &t,
            "https://ship.example/track/CT000000014PT",
            "",
            true,
        );
        assert!(
            html.contains("Express &lt;24h&gt;") && !html.contains("<24h>"),
            "{html}"
        );
        assert!(!html.contains("{{"));
    }

    #[test]
    fn settings_override_defaults_and_are_checked() {
        let s = Settings {
            enabled: Some(false),
            shipped_subject: Some("Shipped: {{tracking_number}}".into()),
            ..Settings::default()
        };
        let eff = s.effective();
        assert!(!eff.enabled);
        assert_eq!(eff.shipped[0], "Shipped: {{tracking_number}}");
        assert_eq!(eff.delivered[0], DELIVERED[0]);
        let bad = Settings {
            shipped_subject: Some("two\nlines".into()),
            delivered_text: Some("  ".into()),
            ..Settings::default()
        };
        let e = bad.check().unwrap_err();
        assert_eq!(e.0.iter().count(), 2);
    }

    #[test]
    fn tls_modes_parse() {
        assert_eq!(SmtpTls::parse("STARTTLS"), Some(SmtpTls::StartTls));
        assert_eq!(SmtpTls::parse("tls"), Some(SmtpTls::Implicit));
        assert_eq!(SmtpTls::parse("none"), Some(SmtpTls::None));
        assert_eq!(SmtpTls::parse("ssl3"), None);
    }

    #[tokio::test]
    async fn a_mail_server_that_never_answers_fails_the_send_by_its_deadline() {
        // Accepts the connection, then says nothing (no greeting), for good.
        let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = silent.local_addr().unwrap().port();
        std::thread::spawn(move || {
            let conns: Vec<_> = silent.incoming().take(1).collect();
            std::thread::sleep(Duration::from_secs(5));
            drop(conns);
        });
        let mut mailer = Mailer::new(&SmtpConfig {
            host: "127.0.0.1".into(),
            port,
            tls: SmtpTls::None,
            username: None,
            password: None,
            from: "shop@example.com".into(),
        })
        .unwrap();
        mailer.deadline = Duration::from_millis(500);
        let message = Message::builder()
            .from(mailer.from.clone())
            .to("buyer@example.com".parse().unwrap())
            .subject("x")
            .body(String::from("x"))
            .unwrap();
        let started = std::time::Instant::now();
        let err = mailer.send(message).await.unwrap_err();
        assert!(err.contains("did not finish within"), "{err}");
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
    }
}
