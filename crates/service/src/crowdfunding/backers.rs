//! Backer imports: a platform's backer report (read by `integrations::backers`) becomes the
//! project's pledges, and every pledge whose address is complete and passes the offline checks
//! becomes an order of the project's source through `orders::save` (unique by pledge id).
//! Re-importing updates changed addresses and never duplicates a backer; a locked project
//! refuses address changes row by row. Also the tracking CSV pledge managers upload.

use std::collections::{HashMap, HashSet};

use domain::address::{validate_offline, AddressFields, AddressInput, MessageKind};
use domain::crowdfunding::{Pledge, Progress};
use domain::{ObjectId, Timestamp};
use integrations::columns::{Columns, Header};
use store::projects::{PledgeRow, StoredProject};

use super::tracking::{self, Report};
use crate::orders::{self, AddressOrId, CreateOrder, NewLineItem, Outcome};
use crate::{scope, Principal, ServiceError, Services};

/// Rows saved per transaction (progress is reported after each).
const CHUNK: usize = 1000;

pub use crate::orders::csv::ImportOptions;
/// The largest backer report an import reads (the HTTP route gives its body this limit).
pub use integrations::backers::MAX_BYTES;

/// A row refused, or a backer that will not ship yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowNote {
    pub line: usize,
    pub pledge_id: Option<String>,
    pub field: String,
    pub message: String,
}

/// What an import did (or, dry, would do).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    pub dry_run: bool,
    pub rows: usize,
    /// New pledges.
    pub created: usize,
    /// Known pledges whose details changed.
    pub updated: usize,
    pub unchanged: usize,
    /// Pledges with a complete, valid address (an order each).
    pub shippable: usize,
    /// Backers whose address will not ship: incomplete or failing the offline checks.
    pub not_shippable: Vec<RowNote>,
    /// Rows refused (nothing saved for them).
    pub rejections: Vec<RowNote>,
}

/// Why an address will not ship: a field the backer left empty that every label needs (street,
/// city, country) or that the country's address metadata requires (state, postal code), else
/// the offline checks' errors. Each problem names the report's field.
fn problems_of(a: &AddressFields) -> (AddressFields, Vec<String>) {
    let mut problems = Vec::new();
    let country = domain::address_meta::country(&a.country);
    let requires = |letter: char| country.is_some_and(|c| c.requires(letter));
    for (field, v, what, needed) in [
        ("ship_line1", &a.street1, "street address", true),
        ("ship_city", &a.city, "city", true),
        ("ship_state", &a.state, "state or province", requires('S')),
        ("ship_postal_code", &a.zip, "postal code", requires('Z')),
        ("ship_country", &a.country, "country", true),
    ] {
        if needed && v.trim().is_empty() {
            let why = match (field, country) {
                ("ship_state" | "ship_postal_code", Some(c)) => {
                    format!(", which addresses in {} require", c.name)
                }
                _ => String::new(),
            };
            problems.push(format!("{field}: the backer has not given a {what}{why}."));
        }
    }
    if !problems.is_empty() {
        return (a.clone(), problems);
    }
    let (fields, result) = validate_offline(a);
    for m in result.messages {
        if m.kind == MessageKind::Error {
            problems.push(m.text);
        }
    }
    (fields, problems)
}

/// How an import would read the report's header with `mapping`: each column and its field.
pub fn preview_columns(
    bytes: &[u8],
    mapping: &[(String, String)],
) -> Result<Vec<integrations::columns::Column>, ServiceError> {
    Ok(integrations::columns::preview(
        bytes,
        mapping,
        integrations::backers::COLUMNS,
    )?)
}

/// The fields a backer report gives (for a column map).
pub fn fields() -> Vec<&'static str> {
    integrations::backers::COLUMNS.iter().map(|c| c.0).collect()
}

/// Imports a backer report into project `id`. `progress(done, total)` is called after each
/// chunk.
pub async fn import(
    s: &Services,
    who: &Principal,
    id: ObjectId,
    bytes: &[u8],
    options: ImportOptions,
    progress: &(dyn Fn(usize, usize) + Send + Sync),
) -> Result<ImportReport, ServiceError> {
    let project = {
        let mut conn = s.store.conn().await?;
        store::projects::get(&mut conn, scope(who), id).await?
    };
    let rows = integrations::backers::read(bytes, &options.mapping)?;
    let mut report = ImportReport {
        dry_run: options.dry_run,
        rows: rows.len(),
        ..ImportReport::default()
    };
    let mut seen = HashSet::new();
    let mut records = Vec::with_capacity(rows.len());
    for r in rows {
        match r {
            Err(e) => report.rejections.push(RowNote {
                line: e.line,
                pledge_id: None,
                field: e.field,
                message: e.message,
            }),
            Ok(r) if !seen.insert(r.pledge_id.clone()) => report.rejections.push(RowNote {
                line: r.line,
                pledge_id: Some(r.pledge_id.clone()),
                field: "pledge_id".into(),
                message: format!(
                    "Pledge \"{}\" appears more than once in the file.",
                    r.pledge_id
                ),
            }),
            Ok(r) => records.push(r),
        }
    }
    let total = records.len();
    let mut next = {
        let mut conn = s.store.conn().await?;
        store::projects::next_position(&mut conn, id).await?
    };
    for (done, chunk) in records.chunks(CHUNK).enumerate() {
        next = import_chunk(s, who, &project, chunk, options.dry_run, next, &mut report).await?;
        progress(((done + 1) * CHUNK).min(total), total);
    }
    report.rejections.sort_by_key(|r| r.line);
    report.not_shippable.sort_by_key(|r| r.line);
    Ok(report)
}

async fn import_chunk(
    s: &Services,
    who: &Principal,
    project: &StoredProject,
    chunk: &[integrations::backers::BackerRecord],
    dry_run: bool,
    mut next: i64,
    report: &mut ImportReport,
) -> Result<i64, ServiceError> {
    let p = &project.project;
    let scope = scope(who);
    let ids: Vec<String> = chunk.iter().map(|r| r.pledge_id.clone()).collect();
    let (known, addresses) = {
        let mut conn = s.store.conn().await?;
        let known = store::projects::pledges_by_id(&mut conn, p.id, &ids).await?;
        let orders = store::orders::find_by_source(&mut conn, scope, &p.source(), &ids).await?;
        let address_ids: Vec<ObjectId> = orders.values().map(|o| o.to_address).collect();
        let found = store::addresses::get_many(&mut conn, scope, &address_ids).await?;
        // What each known pledge's order holds: its address and its status (an import never
        // moves an order's status; tracking does).
        let by_pledge: HashMap<String, (AddressFields, domain::order::OrderStatus)> = orders
            .into_iter()
            .filter_map(|(pid, o)| {
                Some((pid, (found.get(&o.to_address)?.fields.clone(), o.status)))
            })
            .collect();
        (known, by_pledge)
    };
    let locked = p.locked(Timestamp::now());
    let now = Timestamp::now();
    // (record, problems, index into the order inputs)
    let mut plans = Vec::with_capacity(chunk.len());
    let mut inputs = Vec::new();
    for r in chunk {
        let (fields, problems) = problems_of(&r.ship_to);
        let before = addresses.get(&r.pledge_id);
        let moved = match before {
            Some((b, _)) => !same_address(b, &fields),
            None => problems.is_empty(),
        };
        if locked && moved {
            let since = p.addresses_locked_at.expect("locked");
            report.rejections.push(RowNote {
                line: r.line,
                pledge_id: Some(r.pledge_id.clone()),
                field: "ship_to".into(),
                message: format!(
                    "Addresses of this project are locked since {since}: the address of pledge \"{}\" cannot change. Unlock the project to change it.",
                    r.pledge_id
                ),
            });
            continue;
        }
        if !problems.is_empty() {
            report.not_shippable.push(RowNote {
                line: r.line,
                pledge_id: Some(r.pledge_id.clone()),
                field: "ship_to".into(),
                message: problems.join(" "),
            });
        }
        let order_input = if problems.is_empty() {
            let mut o = CreateOrder::new(p.source());
            o.source_id = Some(r.pledge_id.clone());
            o.status = before.map(|(_, status)| *status);
            o.order_number = Some(
                r.backer_number
                    .clone()
                    .unwrap_or_else(|| r.pledge_id.clone()),
            );
            o.placed_at = Some(r.pledged_at.unwrap_or(now));
            o.shop_app = Some("Crowdfunding".into());
            o.to_address = Some(AddressOrId::New(Box::new(AddressInput {
                fields: AddressFields {
                    name: if fields.name.is_empty() {
                        r.backer_name.clone()
                    } else {
                        fields.name.clone()
                    },
                    ..fields.clone()
                },
                purpose: None,
                validate: false,
            })));
            o.line_items = vec![NewLineItem {
                title: if r.tier_name.is_empty() {
                    "Reward".into()
                } else {
                    r.tier_name.clone()
                },
                quantity: Some(1),
                total_price: r.pledge_amount.as_deref().and_then(amount),
                weight: p.reward_weight.map(|w| w.weight.normalize().to_string()),
                weight_unit: p.reward_weight.map(|w| w.unit.as_str().to_string()),
                ..NewLineItem::default()
            }];
            if let Some(w) = p.reward_weight {
                o.details.weight = Some(w.weight.normalize().to_string());
                o.details.weight_unit = Some(w.unit.as_str().to_string());
            }
            inputs.push(o);
            Some(inputs.len() - 1)
        } else {
            None
        };
        plans.push((r, problems, order_input));
    }
    let outcomes = if inputs.is_empty() {
        Vec::new()
    } else {
        orders::save(s, who, inputs, dry_run).await?
    };
    let mut rows = Vec::with_capacity(plans.len());
    for (r, problems, at) in plans {
        let order_moved = matches!(at.map(|i| &outcomes[i]), Some(Outcome::Updated(_)));
        let order = match at.map(|i| &outcomes[i]) {
            Some(Outcome::Rejected(e)) => {
                for (field, messages) in e.0.iter() {
                    report.rejections.push(RowNote {
                        line: r.line,
                        pledge_id: Some(r.pledge_id.clone()),
                        field: field.to_string(),
                        message: messages.join(" "),
                    });
                }
                continue;
            }
            Some(Outcome::Created(v) | Outcome::Updated(v) | Outcome::Unchanged(v)) => {
                Some(v.order.id)
            }
            None => known.get(&r.pledge_id).and_then(|k| k.pledge.order),
        };
        // A pledge whose new address will not ship keeps the order it had (and its tracking)
        // but is no longer shippable: the store lists only pledges without problems.
        if order.is_some() && problems.is_empty() {
            report.shippable += 1;
        }
        let pledge = Pledge {
            project: project.project.id,
            pledge_id: r.pledge_id.clone(),
            order,
            backer_email: r.email.clone(),
            backer_name: r.backer_name.clone(),
            tier_name: r.tier_name.clone(),
            // An import without a date keeps the one stored.
            pledged_at: r
                .pledged_at
                .or_else(|| known.get(&r.pledge_id).map(|k| k.pledge.pledged_at))
                .unwrap_or(now),
            problems,
            tracking: None,
        };
        let position = match known.get(&r.pledge_id) {
            Some(k) => {
                let mut same = pledge.clone();
                same.tracking = k.pledge.tracking.clone();
                if same == k.pledge {
                    if order_moved {
                        report.updated += 1;
                    } else {
                        report.unchanged += 1;
                    }
                    continue;
                }
                report.updated += 1;
                k.position
            }
            None => {
                report.created += 1;
                next += 1;
                next - 1
            }
        };
        rows.push(PledgeRow { pledge, position });
    }
    if !dry_run && !rows.is_empty() {
        s.store
            .write(move |conn| {
                Box::pin(async move { store::projects::upsert_pledges(conn, scope, &rows).await })
            })
            .await?;
    }
    Ok(next)
}

fn same_address(a: &AddressFields, b: &AddressFields) -> bool {
    let key = |f: &AddressFields| {
        [
            f.street1.clone(),
            f.street2.clone(),
            f.city.clone(),
            f.state.clone(),
            f.zip.clone(),
            f.country.clone(),
        ]
        .map(|v| v.to_lowercase())
    };
    key(a) == key(b)
}

/// `$30.00`, `30,00 €` → `30.00`.
fn amount(raw: &str) -> Option<String> {
    let digits: String = raw
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == '.' || *c == ',')
        .collect();
    let v = digits.replace(',', ".");
    v.parse::<rust_decimal::Decimal>()
        .ok()
        .map(|d| d.to_string())
}

/// The columns of a tracking upload.
const TRACKING_COLUMNS: Columns = &[
    ("order_id", &["orderid", "order id", "consign order"]),
    (
        "pledge_id",
        &["pledgeid", "pledge id", "backer uid", "backer id"],
    ),
    ("carrier", &["carrier", "shipping carrier", "courier"]),
    (
        "tracking_number",
        &[
            "trackingnumber",
            "tracking number",
            "tracking",
            "tracking code",
        ],
    ),
    ("status", &["status"]),
];

/// A tracking row naming no order of the project.
const NO_ORDER: &str = "No shippable order of this project has that orderId or pledgeId.";

/// What a tracking upload did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrackingReport {
    pub dry_run: bool,
    pub rows: usize,
    /// Rows whose tracking was new or changed.
    pub updated: usize,
    pub unchanged: usize,
    /// Dispatch emails queued (would be, dry); none without a mail server.
    pub emails: usize,
    /// No mail server is configured: no dispatch email is queued (see `tracking`).
    pub email_off: bool,
    pub rejections: Vec<RowNote>,
}

/// Applies a tracking CSV (order id or pledge id, carrier, tracking number, optional status,
/// `shipped` by default), each row in its own transaction; dry, nothing is written.
pub async fn import_tracking(
    s: &Services,
    who: &Principal,
    id: ObjectId,
    bytes: &[u8],
    options: ImportOptions,
) -> Result<TrackingReport, ServiceError> {
    let project = {
        let mut conn = s.store.conn().await?;
        store::projects::get(&mut conn, scope(who), id).await?
    };
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(bytes);
    let headers = reader
        .headers()
        .map_err(|e| domain::ValidationError::field("file", format!("Not a CSV file: {e}")))?
        .clone();
    let header = Header::read(
        &headers,
        &options.mapping,
        TRACKING_COLUMNS,
        &["carrier", "tracking_number"],
    )?;
    if !header.has("order_id") && !header.has("pledge_id") {
        return Err(domain::ValidationError::field(
            "order_id",
            "The file needs an orderId or a pledgeId column (or map one).",
        )
        .into());
    }
    let mut report = TrackingReport {
        dry_run: options.dry_run,
        email_off: s.mailer.is_none(),
        ..TrackingReport::default()
    };
    for (i, row) in reader.records().enumerate() {
        let line = i + 2;
        report.rows += 1;
        let refuse = |field: &str, message: String| RowNote {
            line,
            pledge_id: None,
            field: field.into(),
            message,
        };
        let row = match row {
            Ok(r) => r,
            Err(e) => {
                report
                    .rejections
                    .push(refuse("file", format!("Not readable as CSV: {e}")));
                continue;
            }
        };
        let status = header.get(&row, "status").unwrap_or("shipped");
        let (carrier, number, progress) = match tracking::check(
            header.get(&row, "carrier"),
            header.get(&row, "tracking_number"),
            Some(status),
        ) {
            Ok(v) => v,
            Err(super::Refusal::Invalid { param, message }) => {
                report.rejections.push(refuse(&param, message));
                continue;
            }
            Err(other) => return Err(ServiceError::internal(format!("{other:?}"))),
        };
        let order = match (header.get(&row, "order_id"), header.get(&row, "pledge_id")) {
            (Some(o), _) => ObjectId::parse(o),
            (None, Some(p)) => {
                let mut conn = s.store.conn().await?;
                store::projects::pledges_by_id(&mut conn, id, &[p.to_string()])
                    .await?
                    .remove(p)
                    .and_then(|r| r.pledge.order)
            }
            (None, None) => None,
        };
        let Some(order) = order else {
            report.rejections.push(refuse("order_id", NO_ORDER.into()));
            continue;
        };
        let r = Report {
            order,
            carrier,
            tracking_number: number,
            progress,
            consign_page: None,
        };
        if options.dry_run {
            let mut conn = s.store.conn().await?;
            match store::projects::pledge_of_order(&mut conn, order, false).await? {
                Some(p) if p.pledge.project == id => {
                    let same = p.pledge.tracking.as_ref().is_some_and(|t| {
                        t.tracking_number == r.tracking_number
                            && t.carrier == r.carrier
                            && t.progress >= r.progress
                    });
                    if same {
                        report.unchanged += 1;
                    } else {
                        report.updated += 1;
                        if p.pledge.tracking.is_none()
                            && progress >= Progress::Shipped
                            && !report.email_off
                        {
                            report.emails += 1;
                        }
                    }
                }
                _ => report.rejections.push(refuse("order_id", NO_ORDER.into())),
            }
            continue;
        }
        let (s2, p2) = (s.clone(), project.clone());
        match s
            .store
            .write(move |conn| {
                Box::pin(async move { tracking::apply(conn, &s2, &p2, &r, Timestamp::now()).await })
            })
            .await
        {
            Ok(a) => {
                if a.changed {
                    report.updated += 1;
                } else {
                    report.unchanged += 1;
                }
                if a.dispatched {
                    report.emails += 1;
                }
            }
            Err(store::StoreError::NotFound) => {
                report.rejections.push(refuse("order_id", NO_ORDER.into()))
            }
            Err(e) => return Err(e.into()),
        }
    }
    if report.emails > 0 {
        s.job_signal.notify_one();
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn incomplete_and_invalid_addresses_are_named() {
        let mut a = AddressFields {
            street1: "123 Main St".into(),
            city: "Portland".into(),
            state: "OR".into(),
            zip: "97201".into(),
            country: "US".into(),
            ..AddressFields::default()
        };
        assert!(problems_of(&a).1.is_empty(), "{:?}", problems_of(&a).1);
        a.city.clear();
        assert!(problems_of(&a).1[0].starts_with("ship_city"));
        a.city = "Portland".into();
        a.zip = "ABCDE".into();
        assert!(!problems_of(&a).1.is_empty());
        // The country's required fields: the US needs a state and a ZIP code, Germany a
        // postal code but no state, Hong Kong neither.
        a.zip.clear();
        let p = problems_of(&a).1;
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].starts_with("ship_postal_code:"), "{p:?}");
        a.zip = "97201".into();
        a.state.clear();
        assert!(problems_of(&a).1[0].starts_with("ship_state:"));
        let de = AddressFields {
            street1: "Hauptstr. 1".into(),
            city: "Berlin".into(),
            zip: "10115".into(),
            country: "DE".into(),
            ..AddressFields::default()
        };
        assert!(problems_of(&de).1.is_empty(), "{:?}", problems_of(&de).1);
        let no_zip = AddressFields {
            zip: String::new(),
            ..de.clone()
        };
        assert!(problems_of(&no_zip).1[0].starts_with("ship_postal_code:"));
        let hk = AddressFields {
            street1: "1 Queen's Road Central".into(),
            city: "Central".into(),
            state: "Hong Kong Island".into(),
            country: "HK".into(),
            ..AddressFields::default()
        };
        assert!(problems_of(&hk).1.is_empty(), "{:?}", problems_of(&hk).1);
        assert_eq!(amount("$30.00").as_deref(), Some("30.00"));
        assert_eq!(amount("30,50 €").as_deref(), Some("30.50"));
    }
}
