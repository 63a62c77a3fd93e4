//! `/track/{carrier_account}/{tracking_number}`: the public tracking page a buyer opens from an
//! email or from a label's `tracking_url_provider`. No login; it shows the status, the history and
//! the ETA, and of addresses only cities and countries. The carrier account in the path makes the
//! link name exactly one parcel (two accounts' couriers can issue the same number); the old
//! `/track/{tracking_number}` links answer only while a number names one parcel.

use axum::extract::{Path, State};
use axum::http::header::{
    HeaderName, CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, X_CONTENT_TYPE_OPTIONS,
    X_FRAME_OPTIONS,
};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use domain::text::html_escape as esc;
use domain::tracking::{Place, Track, TrackStatus};
use domain::ObjectId;
use service::{tracking, ServiceError};

use crate::error::ApiError;
use crate::AppState;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/track/{number}", get(unscoped))
        .route("/track/{carrier_account}/{number}", get(scoped))
        .route("/brand/{account}/logo", get(logo))
}

/// City and country only (no street, no postal code).
fn city_country(p: &Place) -> String {
    [&p.city, &p.country]
        .into_iter()
        .flatten()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

fn label(s: TrackStatus) -> &'static str {
    match s {
        TrackStatus::Unknown => "Awaiting the first scan",
        TrackStatus::PreTransit => "Label created",
        TrackStatus::Transit => "On its way",
        TrackStatus::Delivered => "Delivered",
        TrackStatus::Returned => "Returned to sender",
        TrackStatus::Failure => "Delivery problem",
    }
}

/// The zone kept where a scan happened (or where the parcel goes), if Consign knows it.
fn zone(p: Option<&Place>) -> Option<chrono_tz::Tz> {
    let p = p?;
    domain::time_zone::zone_of(p.country.as_deref()?, p.state.as_deref())
}

/// A time as read at the place, the zone named (`09:42 EST`); UTC, labelled, where the place's
/// zone is unknown. The machine-readable instant rides along in `<time datetime>`.
fn when(t: domain::Timestamp, place: Option<&Place>) -> String {
    format!(
        "<time datetime=\"{}\">{}</time>",
        t,
        esc(&domain::time_zone::local_text(t, zone(place)))
    )
}

/// The sender's header on the page: its logo (served by [`logo`]) and name on its colour.
fn brand_header(brand: Option<&(ObjectId, service::branding::Branding)>) -> (String, String) {
    let Some((account, b)) = brand else {
        return (String::new(), "#222".into());
    };
    let logo = if b.logo.is_some() {
        format!(
            "<img src=\"{}\" alt=\"{}\" height=\"40\">",
            service::branding::logo_path(*account),
            esc(if b.name.is_empty() { "Logo" } else { &b.name })
        )
    } else {
        String::new()
    };
    let name = if b.name.is_empty() {
        String::new()
    } else {
        format!("<span>{}</span>", esc(&b.name))
    };
    // The colour was checked as #rrggbb when it was saved: safe in CSS.
    (
        format!("<header class=\"brand\">{logo}{name}</header>"),
        b.color.clone(),
    )
}

/// The page's HTML; the carrier is named `carrier_name` (its account's display name); the
/// sender's branding, when it set one, heads the page in its colour.
pub fn render(
    t: &Track,
    carrier_name: &str,
    brand: Option<&(ObjectId, service::branding::Branding)>,
) -> String {
    let (header, accent) = brand_header(brand);
    let status = t.status();
    let mut rows = String::new();
    for e in t.history.iter().rev() {
        rows.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            when(e.occurred, e.location.as_ref()),
            esc(label(e.status)),
            esc(&e.details),
            esc(&e.location.as_ref().map(city_country).unwrap_or_default()),
        ));
    }
    if rows.is_empty() {
        rows.push_str("<tr><td colspan=\"4\">No scans yet.</td></tr>");
    }
    let route = match (&t.address_from, &t.address_to) {
        (Some(f), Some(to)) => format!(
            "<p class=\"route\">{} → {}</p>",
            esc(&city_country(f)),
            esc(&city_country(to))
        ),
        _ => String::new(),
    };
    let eta = match (status.is_terminal(), t.eta) {
        (false, Some(eta)) => format!(
            "<p>Expected delivery: <strong>{}</strong></p>",
            esc(&eta.to_datetime().format("%A %-d %B %Y").to_string())
        ),
        _ => String::new(),
    };
    let service = t
        .servicelevel
        .as_ref()
        .map(|(_, name)| format!(" · {}", esc(name)))
        .unwrap_or_default();
    let details = t
        .current()
        .map(|e| esc(&e.details))
        .unwrap_or_else(|| esc(domain::tracking::status_text(TrackStatus::Unknown)));
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>Parcel {number}: {status_label}</title><style>body{{font-family:system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;color:#222}}\
.brand{{display:flex;align-items:center;gap:.8rem;background:{accent};color:#fff;padding:.6rem 1rem;border-radius:.4rem;font-size:1.2rem;font-weight:600;margin-bottom:1rem}}\
.brand img{{background:#fff;border-radius:.2rem;padding:.15rem;max-width:12rem;object-fit:contain}}\
.status{{font-size:1.6rem;font-weight:700;margin:.2rem 0;color:{accent}}}table{{width:100%;border-collapse:collapse}}td,th{{text-align:left;padding:.4rem;border-bottom:1px solid #ddd;vertical-align:top}}\
.muted{{color:#666}}</style></head><body>{header}<p class=\"muted\">Tracking number <strong>{number}</strong> · {carrier}{service}</p>\
<p class=\"status\" data-status=\"{status}\">{status_label}</p><p>{details}</p>{route}{eta}\
<h2>History</h2><table><thead><tr><th>When</th><th>Status</th><th>Details</th><th>Where</th></tr></thead><tbody>{rows}</tbody></table>\
<p class=\"muted\">Updated {updated}</p></body></html>",
        number = esc(&t.tracking_number),
        carrier = esc(carrier_name),
        status = status.as_str(),
        status_label = label(status),
        // The buyer reads the page where the parcel goes.
        updated = when(t.updated, t.address_to.as_ref()),
    )
}

/// A page served to anyone: inline styles only, no scripts, never framed, never sniffed.
const PAGE_HEADERS: [(HeaderName, &str); 5] = [
    (CONTENT_TYPE, "text/html; charset=utf-8"),
    (CACHE_CONTROL, "no-cache"),
    (
        CONTENT_SECURITY_POLICY,
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    ),
    (X_FRAME_OPTIONS, "DENY"),
    (X_CONTENT_TYPE_OPTIONS, "nosniff"),
];

/// `/track/{carrier_account}/{number}`: the page of one parcel.
#[utoipa::path(get, path = "/track/{carrier_account}/{number}", tag = "Tracking Page",
    params(("carrier_account" = String, Path, description = "The object_id of the carrier account that issued the number"), ("number" = String, Path, description = "The tracking number")),
    responses((status = 200, description = "The parcel's page: status, history, ETA; of addresses only cities and countries", body = String, content_type = "text/html"),
        (status = 404, description = "No such parcel (an HTML page)", body = String, content_type = "text/html")))]
pub async fn scoped(
    State(state): State<AppState>,
    Path((carrier_account, number)): Path<(String, String)>,
) -> Response {
    match ObjectId::parse(&carrier_account) {
        Some(id) => page(&state, Some(id), &number).await,
        None => unknown(&number),
    }
}

/// `/track/{number}`: links from before carrier-account-scoped ones.
#[utoipa::path(get, path = "/track/{number}", tag = "Tracking Page",
    params(("number" = String, Path, description = "The tracking number")),
    responses((status = 200, description = "The parcel's page, while the number names one parcel", body = String, content_type = "text/html"),
        (status = 404, description = "No such parcel, or the number names several (an HTML page)", body = String, content_type = "text/html")))]
pub async fn unscoped(State(state): State<AppState>, Path(number): Path<String>) -> Response {
    page(&state, None, &number).await
}

async fn page(state: &AppState, carrier_account: Option<ObjectId>, number: &str) -> Response {
    match tracking::public(&state.services, carrier_account, number).await {
        Ok(t) => (
            PAGE_HEADERS,
            render(&t.track, &t.carrier_name, t.branding.as_ref()),
        )
            .into_response(),
        Err(ServiceError::NotFound) => unknown(number),
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// `/brand/{account}/logo`: an account's logo, for its tracking pages and emails (public, as
/// the logo is meant to be seen; only an image type checked on upload is ever served).
#[utoipa::path(get, path = "/brand/{account}/logo", tag = "Tracking Page",
    params(("account" = String, Path, description = "The account whose logo it is")),
    responses((status = 200, description = "The logo (PNG, JPEG, GIF or WebP)", body = Vec<u8>, content_type = "image/png"),
        (status = 404, description = "No such logo", body = crate::error::ErrorBody)))]
pub async fn logo(State(state): State<AppState>, Path(account): Path<String>) -> Response {
    let Some(account) = ObjectId::parse(&account) else {
        return ApiError::not_found("Logo").into_response();
    };
    match service::branding::logo(&state.services, account).await {
        Ok((bytes, kind)) => (
            [
                (CONTENT_TYPE, kind),
                (CACHE_CONTROL, "public, max-age=300".to_string()),
                (CONTENT_SECURITY_POLICY, "default-src 'none'".to_string()),
                (X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
            ],
            bytes,
        )
            .into_response(),
        Err(ServiceError::NotFound) => ApiError::not_found("Logo").into_response(),
        Err(e) => ApiError::from(e).into_response(),
    }
}

fn unknown(number: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        PAGE_HEADERS,
        format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Unknown parcel</title></head><body><p>No parcel with tracking number <strong>{}</strong> is known here yet. Labels appear once the courier has scanned them.</p></body></html>",
            esc(number.trim())
        ),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::tracking::TrackEvent;
    use domain::Timestamp;

    fn place(city: &str, state: Option<&str>, country: &str) -> Place {
        Place {
            city: Some(city.into()),
            state: state.map(Into::into),
            zip: None,
            country: Some(country.into()),
        }
    }

    fn event(at: &str, location: Option<Place>) -> TrackEvent {
        let t = Timestamp::parse(at).unwrap();
        TrackEvent {
            id: ObjectId::new(),
            created: t,
            occurred: t,
            status: TrackStatus::Transit,
            substatus: None,
            details: "Scanned".into(),
            location,
        }
    }

    #[test]
    fn each_scan_shows_the_local_time_of_its_place_with_the_zone() {
        let now = Timestamp::parse("2026-12-07T20:00:00Z").unwrap();
        let track = Track {
            id: ObjectId::new(),
            created: now,
            updated: now,
            test: true,
            carrier: "ratecard".into(),
            tracking_number: "CN123".into(),
            transaction: None,
            carrier_account: None,
            metadata: String::new(),
            servicelevel: None,
            address_from: Some(place("Austin", Some("TX"), "US")),
            address_to: Some(place("Sydney", Some("NSW"), "AU")),
            eta: None,
            original_eta: None,
            notify_email: None,
            history: vec![
                event(
                    "2026-12-07T14:42:00Z",
                    Some(place("Austin", Some("Texas"), "US")),
                ),
                event(
                    "2026-12-07T18:05:00Z",
                    Some(place("Los Angeles", Some("CA"), "US")),
                ),
                event("2026-12-07T19:00:00Z", None),
            ],
            poll_at: None,
            poll_failures: 0,
        };
        let html = render(&track, "Correio", None);
        assert!(
            html.contains(
                "<time datetime=\"2026-12-07T14:42:00.000Z\">Mon 7 Dec 2026, 08:42 CST</time>"
            ),
            "{html}"
        );
        assert!(html.contains(">Mon 7 Dec 2026, 10:05 PST</time>"), "{html}");
        // No place, no guess: UTC, named.
        assert!(html.contains(">Mon 7 Dec 2026, 19:00 UTC</time>"), "{html}");
        // "Updated" as read where the parcel goes (Sydney keeps daylight time in December).
        assert!(html.contains("Updated <time datetime=\"2026-12-07T20:00:00.000Z\">Tue 8 Dec 2026, 07:00 AEDT</time>"), "{html}");
    }
}
