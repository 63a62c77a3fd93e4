//! A pledge's tracking, from wherever it comes (the custom API, a tracking CSV, a provider's
//! event, a Consign label): one way in, [`apply`], inside the caller's transaction. The first
//! report that the parcel shipped queues the backer's one dispatch email; repeats, concurrent
//! reports and a later `delivered` never queue another (the pledge's `dispatched_ms` is claimed
//! by a conditional update, and `dispatch_emails` is unique per order).
//!
//! Without a mail server (`Services::mailer` is `None`) nothing is claimed, queued or counted:
//! the answer says email is not configured, and the first report after a server is configured
//! queues the backer's email.

use domain::crowdfunding::{
    carrier_name, clean_tracking_number, public_tracking_url, Progress, Tracking,
};
use domain::order::OrderStatus;
use domain::{ObjectId, Timestamp};
use lettre::message::{header::ContentType, Mailbox, MultiPart, SinglePart};
use lettre::Message;
use store::jobs::{Claim, NewJob};
use store::projects::{DispatchEmail, StoredProject};
use store::{Conn, Scope, StoreError};

use super::Refusal;
use crate::jobs::Job;
use crate::{ServiceError, Services};

/// A tracking report.
#[derive(Debug, Clone)]
pub struct Report {
    pub order: ObjectId,
    pub carrier: String,
    pub tracking_number: String,
    pub progress: Progress,
    /// Consign's own tracking page for the parcel, when Consign tracks it (its labels).
    pub consign_page: Option<String>,
}

/// What a report changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub tracking: Tracking,
    /// The pledge's tracking changed.
    pub changed: bool,
    /// This report queued the dispatch email (never without a mail server).
    pub dispatched: bool,
    /// No mail server is configured: no dispatch email was or will be queued by this report.
    pub email_off: bool,
}

/// Checks a report's values: the field named on the first problem.
pub fn check(
    carrier: Option<&str>,
    number: Option<&str>,
    status: Option<&str>,
) -> Result<(String, String, Progress), Refusal> {
    let invalid = |param: &str, message: String| Refusal::Invalid {
        param: param.into(),
        message,
    };
    let number = number.map(clean_tracking_number).unwrap_or_default();
    if number.is_empty() {
        return Err(invalid(
            "trackingNumber",
            "Missing required parameter: trackingNumber.".into(),
        ));
    }
    if number.len() > 64
        || !number
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        return Err(invalid(
            "trackingNumber",
            "trackingNumber must be at most 64 letters, digits and dashes.".into(),
        ));
    }
    let carrier = carrier.map(str::trim).unwrap_or_default();
    if carrier.is_empty() {
        return Err(invalid(
            "carrier",
            "Missing required parameter: carrier.".into(),
        ));
    }
    if carrier.chars().count() > 64 || carrier.chars().any(char::is_control) {
        return Err(invalid(
            "carrier",
            "carrier must be a name of at most 64 characters.".into(),
        ));
    }
    let status = status.map(str::trim).unwrap_or_default();
    if status.is_empty() {
        return Err(invalid(
            "status",
            "Missing required parameter: status.".into(),
        ));
    }
    let progress = Progress::parse(status).ok_or_else(|| {
        invalid(
            "status",
            format!("status must be \"shipped\" or \"delivered\", not \"{status}\"."),
        )
    })?;
    Ok((carrier_name(carrier), number, progress))
}

/// Applies one report to a project's order inside the caller's transaction.
pub(crate) async fn apply(
    conn: &mut Conn,
    s: &Services,
    project: &StoredProject,
    r: &Report,
    now: Timestamp,
) -> Result<Applied, StoreError> {
    let pledge = store::projects::pledge_of_order(conn, r.order, true)
        .await?
        .filter(|p| p.pledge.project == project.project.id)
        .ok_or(StoreError::NotFound)?;
    let old = pledge.pledge.tracking.clone();
    // Delivered stays delivered (a late "shipped" for the same parcel changes nothing).
    let progress = match &old {
        Some(o) if o.tracking_number == r.tracking_number => o.progress.max(r.progress),
        _ => r.progress,
    };
    let tracking = Tracking {
        carrier: r.carrier.clone(),
        tracking_number: r.tracking_number.clone(),
        progress,
        updated: now,
    };
    let changed = old.as_ref().is_none_or(|o| {
        (&o.carrier, &o.tracking_number, o.progress)
            != (
                &tracking.carrier,
                &tracking.tracking_number,
                tracking.progress,
            )
    });
    if changed {
        store::projects::set_tracking(conn, r.order, &tracking).await?;
        move_order(conn, project.scope, r.order, progress, now).await?;
    }
    // Without a mail server nothing is claimed: the backer's one email is still due, and goes
    // with the first report once a server is configured.
    let email_off = s.mailer.is_none();
    let dispatched = !email_off && store::projects::claim_dispatch(conn, r.order, now).await?;
    if dispatched {
        let url = public_tracking_url(&r.carrier, &r.tracking_number)
            .or_else(|| r.consign_page.clone())
            .unwrap_or_default();
        let email = DispatchEmail {
            id: ObjectId::new(),
            account: project.scope.account_id,
            project: project.project.id,
            order: r.order,
            recipient: pledge.pledge.backer_email.clone(),
            carrier: r.carrier.clone(),
            tracking_number: r.tracking_number.clone(),
            tracking_url: url,
            status: store::notifications::QUEUED.into(),
            error: None,
        };
        store::projects::insert_dispatch(conn, &email, now).await?;
        store::jobs::enqueue(conn, send_job(email.id)).await?;
    }
    Ok(Applied {
        tracking,
        changed,
        dispatched,
        email_off,
    })
}

/// The order follows its pledge: shipped (every item) or delivered, as far as its state allows.
async fn move_order(
    conn: &mut Conn,
    scope: Scope,
    id: ObjectId,
    progress: Progress,
    now: Timestamp,
) -> Result<(), StoreError> {
    let mut order = store::orders::get_for_update(conn, scope, id).await?;
    let to = match progress {
        Progress::Shipped => OrderStatus::Shipped,
        Progress::Delivered => OrderStatus::Delivered,
    };
    // Reported tracking is fulfilment done outside Consign: an open order ships (or arrives)
    // whole; a closed one (cancelled, refunded, returned) stays as it is.
    use OrderStatus::*;
    let open = matches!(order.status, Unknown | Paid | OnHold | PartiallyFulfilled);
    if order.status == to || !(open || (order.status == Shipped && to == Delivered)) {
        return Ok(());
    }
    for item in &mut order.line_items {
        item.shipped = item.quantity;
    }
    order.status = to;
    order.updated = now;
    store::orders::update(conn, scope, &order).await
}

/// The custom API's `POST /api/shipping/tracking` for the key's project: one transaction.
pub async fn report(
    s: &Services,
    project: &StoredProject,
    order_id: Option<&str>,
    carrier: Option<&str>,
    number: Option<&str>,
    status: Option<&str>,
) -> Result<Applied, Refusal> {
    let raw = order_id.map(str::trim).unwrap_or_default();
    if raw.is_empty() {
        return Err(Refusal::Invalid {
            param: "orderId".into(),
            message: "Missing required parameter: orderId.".into(),
        });
    }
    let (carrier, number, progress) = check(carrier, number, status)?;
    let order = ObjectId::parse(raw).ok_or(Refusal::NotFound("Order"))?;
    let report = Report {
        order,
        carrier,
        tracking_number: number,
        progress,
        consign_page: None,
    };
    let (s2, p) = (s.clone(), project.clone());
    let applied = s
        .store
        .write(move |conn| {
            Box::pin(async move { apply(conn, &s2, &p, &report, Timestamp::now()).await })
        })
        .await
        .map_err(|e| match e {
            StoreError::NotFound => Refusal::NotFound("Order"),
            e => e.into(),
        })?;
    if applied.dispatched {
        s.job_signal.notify_one();
    }
    Ok(applied)
}

/// Labels Consign bought for orders (inside the purchase's transaction): the pledges among
/// them are shipped with the label's carrier and number, and their backers get the dispatch
/// email with Consign's own tracking page when the carrier has no public one.
pub(crate) async fn labelled(
    conn: &mut Conn,
    s: &Services,
    orders: &[ObjectId],
    carrier: &str,
    number: &str,
    page: &str,
) -> Result<(), StoreError> {
    let pledges = store::projects::pledges_of_orders(conn, orders).await?;
    let now = Timestamp::now();
    for p in pledges {
        let Some(order) = p.pledge.order else {
            continue;
        };
        let project = store::projects::find(conn, p.pledge.project).await?;
        let report = Report {
            order,
            carrier: carrier_name(carrier),
            tracking_number: number.to_string(),
            progress: Progress::Shipped,
            consign_page: Some(page.to_string()),
        };
        apply(conn, s, &project, &report, now).await?;
    }
    Ok(())
}

/// The job that sends dispatch email `id`.
pub(crate) fn send_job(id: ObjectId) -> NewJob {
    Job::SendDispatch { email: id }.due_now()
}

/// Runs one `send_dispatch` job.
pub async fn run_send_job(s: &Services, job: &Claim, id: ObjectId) -> Result<(), ServiceError> {
    let (email, project) = {
        let mut conn = s.store.conn().await?;
        let e = store::projects::dispatch(&mut conn, id).await?;
        let p = store::projects::find(&mut conn, e.project).await?;
        (e, p.project)
    };
    let job_id = job.id;
    let settle = |status: &'static str, error: Option<String>| async move {
        s.store
            .write(move |conn| {
                Box::pin(async move {
                    store::projects::set_dispatch_status(conn, id, status, error.as_deref())
                        .await?;
                    store::jobs::complete(conn, job_id).await
                })
            })
            .await
    };
    if email.status != store::notifications::QUEUED {
        s.store
            .write(move |conn| Box::pin(async move { store::jobs::complete(conn, job_id).await }))
            .await?;
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
    let to: Mailbox = match email.recipient.parse() {
        Ok(m) => m,
        Err(e) => {
            settle(
                store::notifications::FAILED,
                Some(format!("recipient {:?}: {e}", email.recipient)),
            )
            .await?;
            return Ok(());
        }
    };
    let (text, html) = bodies(&project.name, &email);
    let message = Message::builder()
        .from(mailer.from.clone())
        .to(to)
        .subject(subject(&project.name))
        .multipart(
            MultiPart::alternative()
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_PLAIN)
                        .body(text),
                )
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_HTML)
                        .body(html),
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
        Err(e) => Err(ServiceError::Unavailable(format!("SMTP: {e}"))),
    }
}

fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// The dispatch email's subject.
fn subject(project: &str) -> String {
    format!("Your {} reward is on its way", one_line(project))
}

/// The dispatch email a backer of `project` gets, with a sample parcel: its subject and text.
pub fn dispatch_preview(project: &str, tracking_url: &str) -> (String, String) {
    let sample = DispatchEmail {
        id: ObjectId::new(),
        account: ObjectId::new(),
        project: ObjectId::new(),
        order: ObjectId::new(),
        recipient: String::new(),
        carrier: "USPS".into(),
        tracking_number: "9400111899223197428490".into(),
        tracking_url: tracking_url.into(),
        status: String::new(),
        error: None,
    };
    (subject(project), bodies(project, &sample).0)
}

/// The email's text and HTML bodies.
fn bodies(project: &str, e: &DispatchEmail) -> (String, String) {
    let link_text = if e.tracking_url.is_empty() {
        format!("Track it on {}'s website with the number above.", e.carrier)
    } else {
        format!("Follow it here: {}", e.tracking_url)
    };
    let text = format!(
        "Hello,\n\nYour reward from {project} has shipped with {}.\n\nTracking number: {}\n{link_text}\n\nThank you for backing {project}.\n",
        e.carrier, e.tracking_number
    );
    let esc = domain::text::html_escape;
    let link_html = if e.tracking_url.is_empty() {
        esc(&link_text)
    } else {
        format!(
            "<a href=\"{}\">Follow your parcel</a>",
            esc(&e.tracking_url)
        )
    };
    let html = format!(
        "<p>Hello,</p><p>Your reward from <strong>{}</strong> has shipped with <strong>{}</strong>.</p><p>Tracking number: <strong>{}</strong><br>{link_html}</p><p>Thank you for backing {}.</p>",
        esc(project),
        esc(&e.carrier),
        esc(&e.tracking_number),
        esc(project)
    );
    (text, html)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_are_checked_naming_the_parameter() {
        let param = |r: Result<(String, String, Progress), Refusal>| match r {
            Err(Refusal::Invalid { param, .. }) => param,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            param(check(Some("UPS"), None, Some("shipped"))),
            "trackingNumber"
        );
        assert_eq!(param(check(None, Some("1Z"), Some("shipped"))), "carrier");
        assert_eq!(param(check(Some("UPS"), Some("1Z"), None)), "status");
        assert_eq!(
            param(check(Some("UPS"), Some("1Z"), Some("lost"))),
            "status"
        );
        assert_eq!(
            param(check(Some("UPS"), Some("<script>"), Some("shipped"))),
            "trackingNumber"
        );
        let ok = check(
            Some("united parcel service"),
            Some(" 1z999 aa1 "),
            Some("Shipped"),
        )
        .unwrap();
        assert_eq!(
            ok,
            ("UPS".to_string(), "1Z999AA1".to_string(), Progress::Shipped)
        );
    }

    #[test]
    fn the_email_names_carrier_number_and_link_escaped() {
        let e = DispatchEmail {
            id: ObjectId::new(),
            account: ObjectId::new(),
            project: ObjectId::new(),
            order: ObjectId::new(),
            recipient: "a@b.c".into(),
            carrier: "UPS".into(),
            tracking_number: "1Z999AA10123456784".into(),
            tracking_url: "https://www.ups.com/track?tracknum=1Z999AA10123456784".into(),
            status: "QUEUED".into(),
            error: None,
        };
        let (text, html) = bodies("Board <Game>", &e);
        assert!(text.contains("Tracking number: 1Z999AA10123456784"));
        assert!(text.contains("https://www.ups.com/track?tracknum=1Z999AA10123456784"));
        assert!(html.contains("Board &lt;Game&gt;"));
    }
}
