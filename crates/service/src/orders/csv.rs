//! CSV import and export of orders: one row per line item, the order's fields repeated on each
//! of its rows (as shops export them). Columns are found by Consign's names, by the names common
//! shop exports use (Shopify's `Name`, `Lineitem quantity`, `Shipping City`, …), or by a header
//! map the caller gives (`field → column`); see `docs/ORDERS.md`.
//!
//! An import is idempotent on the order number (the CSV source's id): a second import of the
//! same file changes nothing; a changed row updates its order. A bad row rejects its order only,
//! each rejection naming its row (the file's line) and field; the good orders are saved.

use std::collections::HashMap;

use domain::address::{AddressFields, AddressInput};
use domain::order::{OrderDetails, OrderFilter, OrderStatus, Source};
use domain::page::{PageRequest, MAX_RESULTS};
use domain::Timestamp;
use integrations::columns::{escape_cell, Header};

use super::{AddressOrId, CreateOrder, NewLineItem, Outcome};
use crate::{Principal, ServiceError, Services};

/// Orders saved per transaction (progress is reported after each).
const CHUNK: usize = 500;
/// Largest file an import reads.
pub const MAX_BYTES: usize = 64 * 1024 * 1024;

/// Consign's column names, each with the names shop exports give it.
pub const COLUMNS: &[(&str, &[&str])] = &[
    (
        "order_number",
        &[
            "name",
            "order",
            "order id",
            "order number",
            "order_id",
            "order #",
        ],
    ),
    (
        "placed_at",
        &["created at", "order date", "date", "paid at"],
    ),
    ("order_status", &["financial status", "status"]),
    ("buyer_email", &["email", "customer email"]),
    ("buyer_phone", &["phone", "customer phone"]),
    ("ship_to_name", &["shipping name", "recipient", "ship name"]),
    ("ship_to_company", &["shipping company"]),
    (
        "ship_to_street1",
        &[
            "shipping address1",
            "shipping street",
            "shipping address 1",
            "address1",
        ],
    ),
    (
        "ship_to_street2",
        &["shipping address2", "shipping address 2", "address2"],
    ),
    ("ship_to_city", &["shipping city", "city"]),
    (
        "ship_to_state",
        &["shipping province", "shipping state", "state", "province"],
    ),
    (
        "ship_to_zip",
        &[
            "shipping zip",
            "shipping postal code",
            "zip",
            "postal code",
            "postcode",
        ],
    ),
    (
        "ship_to_country",
        &["shipping country", "country", "shipping country code"],
    ),
    ("ship_to_phone", &["shipping phone"]),
    ("sku", &["lineitem sku", "item sku"]),
    ("title", &["lineitem name", "item name", "product", "item"]),
    ("variant_title", &["lineitem variant", "variant"]),
    ("quantity", &["lineitem quantity", "qty", "item quantity"]),
    ("price", &["lineitem price", "item price"]),
    ("currency", &[]),
    ("weight", &["lineitem weight", "item weight"]),
    ("weight_unit", &["lineitem weight unit"]),
    ("total_price", &["total"]),
    ("shipping_method", &["shipping method"]),
    ("notes", &["note", "notes"]),
];

/// The columns a file must have, and every order's first row must fill.
const REQUIRED: &[&str] = &[
    "order_number",
    "ship_to_street1",
    "ship_to_city",
    "ship_to_country",
];

/// How to read a file.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// Report what would happen; write nothing.
    pub dry_run: bool,
    /// `field → column` overrides of the column names.
    pub mapping: Vec<(String, String)>,
}

/// A row (or its order) that was not imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The file's line (the header is line 1).
    pub row: usize,
    /// Consign's column name, or `order` for the order as a whole.
    pub field: String,
    pub message: String,
    pub order_number: Option<String>,
}

/// What an import did (or, dry, would do).
#[derive(Debug, Clone, Default)]
pub struct ImportReport {
    pub dry_run: bool,
    pub rows: usize,
    pub orders: usize,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub rejected: usize,
    /// Order numbers created and updated (in file order).
    pub created_numbers: Vec<String>,
    pub updated_numbers: Vec<String>,
    pub rejections: Vec<Rejection>,
}

/// One order's rows: the line numbers and the command.
struct Group {
    lines: Vec<usize>,
    command: CreateOrder,
    problems: Vec<Rejection>,
}

fn status(raw: &str) -> Option<OrderStatus> {
    OrderStatus::parse(raw).or(match raw.to_ascii_lowercase().as_str() {
        // Shop spellings of financial status.
        "paid" | "authorized" | "partially_paid" => Some(OrderStatus::Paid),
        "pending" | "unpaid" => Some(OrderStatus::AwaitingPayment),
        "refunded" | "partially_refunded" => Some(OrderStatus::Refunded),
        "voided" | "cancelled" | "canceled" => Some(OrderStatus::Cancelled),
        _ => None,
    })
}

fn read_groups(
    bytes: &[u8],
    options: &ImportOptions,
    now: Timestamp,
) -> Result<(usize, Vec<Group>), ServiceError> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::None)
        .from_reader(bytes);
    let headers = reader
        .headers()
        .map_err(|e| {
            domain::ValidationError::field("file", format!("The CSV header cannot be read: {e}"))
        })?
        .clone();
    let header = Header::read(&headers, &options.mapping, COLUMNS, REQUIRED)?;
    let mut groups: Vec<Group> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut rows = 0;
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        rows += 1;
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                groups.push(Group {
                    lines: vec![line],
                    command: CreateOrder::new(Source::Csv),
                    problems: vec![Rejection {
                        row: line,
                        field: "row".into(),
                        message: format!("The row cannot be read: {e}"),
                        order_number: None,
                    }],
                });
                continue;
            }
        };
        if record.iter().all(|v| v.trim().is_empty()) {
            rows -= 1;
            continue;
        }
        let get = |f: &str| header.get(&record, f).map(String::from);
        let Some(number) = get("order_number") else {
            groups.push(Group {
                lines: vec![line],
                command: CreateOrder::new(Source::Csv),
                problems: vec![Rejection {
                    row: line,
                    field: "order_number".into(),
                    message: "This field is required.".into(),
                    order_number: None,
                }],
            });
            continue;
        };
        let g = match index.get(&number) {
            Some(&gi) => &mut groups[gi],
            None => {
                let mut c = CreateOrder::new(Source::Csv);
                c.source_id = Some(number.clone());
                c.order_number = Some(number.clone());
                c.placed_at = Some(now);
                let mut problems = Vec::new();
                if let Some(raw) = get("placed_at") {
                    match Timestamp::parse(&raw).or_else(|| {
                        // "2026-11-30 10:00:00 +0000" (Shopify) and friends.
                        chrono::DateTime::parse_from_str(&raw, "%Y-%m-%d %H:%M:%S %z")
                            .ok()
                            .map(|d| Timestamp::from_millis(d.timestamp_millis()))
                    }) {
                        Some(t) => c.placed_at = Some(t),
                        None => problems.push(Rejection {
                            row: line,
                            field: "placed_at".into(),
                            message: format!("\"{raw}\" is not a date and time."),
                            order_number: Some(number.clone()),
                        }),
                    }
                }
                if let Some(raw) = get("order_status") {
                    match status(&raw) {
                        Some(s) => c.status = Some(s),
                        None => problems.push(Rejection {
                            row: line,
                            field: "order_status".into(),
                            message: format!("\"{raw}\" is not an order status."),
                            order_number: Some(number.clone()),
                        }),
                    }
                }
                // The ship-to's required values, on the order's first row (an order whose
                // address cannot ship is refused, not stored incomplete).
                for field in REQUIRED.iter().filter(|f| f.starts_with("ship_to_")) {
                    if get(field).is_none() {
                        problems.push(Rejection {
                            row: line,
                            field: (*field).into(),
                            message: "This field is required.".into(),
                            order_number: Some(number.clone()),
                        });
                    }
                }
                let email = get("buyer_email").unwrap_or_default();
                let fields = AddressFields {
                    name: get("ship_to_name").unwrap_or_default(),
                    company: get("ship_to_company").unwrap_or_default(),
                    street1: get("ship_to_street1").unwrap_or_default(),
                    street2: get("ship_to_street2").unwrap_or_default(),
                    city: get("ship_to_city").unwrap_or_default(),
                    state: get("ship_to_state").unwrap_or_default(),
                    zip: get("ship_to_zip").unwrap_or_default(),
                    country: get("ship_to_country").unwrap_or_default(),
                    phone: get("ship_to_phone")
                        .or_else(|| get("buyer_phone"))
                        .unwrap_or_default(),
                    email: email.clone(),
                    ..Default::default()
                };
                c.to_address = Some(AddressOrId::New(Box::new(AddressInput {
                    fields,
                    purpose: None,
                    validate: false,
                })));
                c.details = OrderDetails {
                    currency: get("currency"),
                    total_price: get("total_price"),
                    shipping_method: get("shipping_method"),
                    notes: get("notes"),
                    buyer_email: (!email.is_empty()).then_some(email),
                    buyer_phone: get("buyer_phone"),
                    ..Default::default()
                };
                index.insert(number.clone(), groups.len());
                groups.push(Group {
                    lines: Vec::new(),
                    command: c,
                    problems,
                });
                groups.last_mut().expect("just pushed")
            }
        };
        g.lines.push(line);
        if get("sku").is_some() || get("title").is_some() {
            let quantity = match get("quantity") {
                None => None,
                Some(q) => match q.parse::<i64>() {
                    Ok(n) => Some(n),
                    Err(_) => {
                        g.problems.push(Rejection {
                            row: line,
                            field: "quantity".into(),
                            message: format!("\"{q}\" is not a whole number."),
                            order_number: Some(number.clone()),
                        });
                        None
                    }
                },
            };
            g.command.line_items.push(NewLineItem {
                title: get("title").unwrap_or_default(),
                variant_title: get("variant_title"),
                sku: get("sku"),
                quantity,
                total_price: get("price"),
                currency: get("currency"),
                weight: get("weight"),
                weight_unit: get("weight_unit"),
                ..Default::default()
            });
        }
    }
    Ok((rows, groups))
}

/// The CSV column a field error of a saved order belongs to, and the line it came from.
fn locate(field: &str, lines: &[usize]) -> (usize, String) {
    let first = lines.first().copied().unwrap_or(0);
    if let Some(rest) = field.strip_prefix("line_items.") {
        let mut parts = rest.splitn(2, '.');
        let n: usize = parts.next().and_then(|n| n.parse().ok()).unwrap_or(0);
        let column = match parts.next().unwrap_or("") {
            "total_price" => "price",
            "" => "line_items",
            other => other,
        };
        return (lines.get(n).copied().unwrap_or(first), column.to_string());
    }
    let column = match field {
        f if f.starts_with("to_address.") => {
            let part = &f["to_address.".len()..];
            match part {
                "street1" | "street2" | "city" | "state" | "zip" | "country" | "name"
                | "company" | "phone" => format!("ship_to_{part}"),
                "email" => "buyer_email".to_string(),
                other => format!("ship_to_{other}"),
            }
        }
        other => other.to_string(),
    };
    (first, column)
}

/// Imports a CSV file of orders; `progress(done, total)` is called as orders are saved.
pub async fn import(
    s: &Services,
    who: &Principal,
    bytes: &[u8],
    options: &ImportOptions,
    progress: &(dyn Fn(usize, usize) + Send + Sync),
) -> Result<ImportReport, ServiceError> {
    if bytes.len() > MAX_BYTES {
        return Err(domain::ValidationError::field(
            "file",
            format!("A file holds at most {MAX_BYTES} bytes."),
        )
        .into());
    }
    let (rows, groups) = read_groups(bytes, options, Timestamp::now())?;
    let mut report = ImportReport {
        dry_run: options.dry_run,
        rows,
        orders: groups.len(),
        ..Default::default()
    };
    let total = groups.len();
    let mut done = 0;
    let mut pending: Vec<Group> = Vec::new();
    let flush = |report: &mut ImportReport, batch: Vec<Group>, outcomes: Vec<Outcome>| {
        for (g, o) in batch.into_iter().zip(outcomes) {
            let number = g.command.order_number.clone().unwrap_or_default();
            match o {
                Outcome::Created(_) => {
                    report.created += 1;
                    report.created_numbers.push(number);
                }
                Outcome::Updated(_) => {
                    report.updated += 1;
                    report.updated_numbers.push(number);
                }
                Outcome::Unchanged(_) => report.unchanged += 1,
                Outcome::Rejected(e) => {
                    report.rejected += 1;
                    for (field, messages) in e.0.iter() {
                        let (row, column) = locate(field, &g.lines);
                        for m in messages {
                            report.rejections.push(Rejection {
                                row,
                                field: column.clone(),
                                message: m.clone(),
                                order_number: Some(number.clone()),
                            });
                        }
                    }
                }
            }
        }
    };
    for g in groups {
        if !g.problems.is_empty() {
            report.rejected += 1;
            report.rejections.extend(g.problems);
            done += 1;
            continue;
        }
        pending.push(g);
        if pending.len() == CHUNK {
            let batch = std::mem::take(&mut pending);
            let commands = batch.iter().map(|g| g.command.clone()).collect();
            let outcomes = super::save(s, who, commands, options.dry_run).await?;
            done += batch.len();
            flush(&mut report, batch, outcomes);
            progress(done, total);
        }
    }
    if !pending.is_empty() {
        let commands = pending.iter().map(|g| g.command.clone()).collect();
        let outcomes = super::save(s, who, commands, options.dry_run).await?;
        done += pending.len();
        flush(&mut report, pending, outcomes);
    }
    progress(done, total);
    report.rejections.sort_by_key(|r| r.row);
    Ok(report)
}

/// The header of an export (Consign's column names).
pub const EXPORT_COLUMNS: &[&str] = &[
    "order_number",
    "placed_at",
    "order_status",
    "buyer_email",
    "ship_to_name",
    "ship_to_company",
    "ship_to_street1",
    "ship_to_street2",
    "ship_to_city",
    "ship_to_state",
    "ship_to_zip",
    "ship_to_country",
    "ship_to_phone",
    "sku",
    "title",
    "variant_title",
    "quantity",
    "price",
    "currency",
    "weight",
    "weight_unit",
    "quantity_shipped",
    "total_price",
    "shipping_method",
    "notes",
];

/// Every order matching `filter` as CSV (oldest first), one row per line item (an order with
/// none has one row); `progress(done, total)` as pages are read. Cells a spreadsheet would read
/// as a formula are prefixed with `'` (`integrations::columns::escape_cell`); the import takes
/// it off again.
pub async fn export(
    s: &Services,
    who: &Principal,
    filter: &OrderFilter,
    progress: &(dyn Fn(usize, usize) + Send + Sync),
) -> Result<Vec<u8>, ServiceError> {
    let mut out = csv::Writer::from_writer(Vec::new());
    let fail = |e: csv::Error| ServiceError::internal(format!("CSV: {e}"));
    out.write_record(EXPORT_COLUMNS).map_err(fail)?;
    let mut views = Vec::new();
    let mut page = 1;
    loop {
        let found = super::list(
            s,
            who,
            filter,
            PageRequest {
                page,
                results: MAX_RESULTS,
            },
        )
        .await?;
        let more = found.more;
        views.extend(found.items);
        // The total is known once the last page is read.
        progress(
            views.len(),
            views.len() + usize::from(more) * MAX_RESULTS as usize,
        );
        if !more {
            break;
        }
        page += 1;
    }
    views.reverse();
    for v in views {
        let o = &v.order;
        let a = &v.to_address.fields;
        let d = &o.details;
        let opt = |v: &Option<String>| v.clone().unwrap_or_default();
        let common = |l: Option<&domain::order::LineItem>| -> Vec<String> {
            vec![
                o.order_number.clone().unwrap_or_default(),
                o.placed_at.to_string(),
                o.status.as_str().to_string(),
                d.buyer_email.clone().unwrap_or_else(|| a.email.clone()),
                a.name.clone(),
                a.company.clone(),
                a.street1.clone(),
                a.street2.clone(),
                a.city.clone(),
                a.state.clone(),
                a.zip.clone(),
                a.country.clone(),
                a.phone.clone(),
                l.map(|l| opt(&l.sku)).unwrap_or_default(),
                l.map(|l| l.title.clone()).unwrap_or_default(),
                l.map(|l| opt(&l.variant_title)).unwrap_or_default(),
                l.map(|l| l.quantity.to_string()).unwrap_or_default(),
                l.map(|l| opt(&l.total_price)).unwrap_or_default(),
                l.map(|l| opt(&l.currency))
                    .unwrap_or_else(|| opt(&d.currency)),
                l.map(|l| opt(&l.weight)).unwrap_or_default(),
                l.map(|l| opt(&l.weight_unit)).unwrap_or_default(),
                l.map(|l| l.shipped.to_string()).unwrap_or_default(),
                opt(&d.total_price),
                opt(&d.shipping_method),
                opt(&d.notes),
            ]
        };
        // Every cell escaped against formula injection (the import takes the `'` off).
        let escaped = |row: Vec<String>| -> Vec<String> {
            row.iter().map(|v| escape_cell(v).into_owned()).collect()
        };
        if o.line_items.is_empty() {
            out.write_record(escaped(common(None))).map_err(fail)?;
        }
        for l in &o.line_items {
            out.write_record(escaped(common(Some(l)))).map_err(fail)?;
        }
    }
    out.into_inner()
        .map_err(|e| ServiceError::internal(format!("CSV: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shop_column_names_and_a_header_map_are_read() {
        let file = "Name,Email,Created at,Lineitem quantity,Lineitem name,Lineitem sku,Shipping Name,Shipping Address1,Shipping City,Shipping Zip,Shipping Country,Where\n\
#1001,ana@example.pt,2026-11-30 10:00:00 +0000,2,Caneca,MUG,Ana,Rua 1,Porto,4000-447,PT,x\n\
#1001,ana@example.pt,2026-11-30 10:00:00 +0000,1,Postal,CARD,Ana,Rua 1,Porto,4000-447,PT,x\n\
#1002,bo@example.pt,2026-11-30 11:00:00 +0000,many,Caneca,MUG,Bo,Rua 2,Lisboa,1100-053,PT,x\n";
        let (rows, groups) = read_groups(
            file.as_bytes(),
            &ImportOptions::default(),
            Timestamp::from_millis(0),
        )
        .unwrap();
        assert_eq!(rows, 3);
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[0].lines, vec![2, 3]);
        assert_eq!(groups[0].command.line_items.len(), 2);
        assert_eq!(groups[0].command.line_items[0].quantity, Some(2));
        assert_eq!(
            groups[0].command.details.buyer_email.as_deref(),
            Some("ana@example.pt")
        );
        assert_eq!(
            groups[0].command.placed_at,
            Timestamp::parse("2026-11-30T10:00:00Z")
        );
        assert_eq!(groups[1].problems[0].row, 4);
        assert_eq!(groups[1].problems[0].field, "quantity");
        // A header map overrides the names.
        let options = ImportOptions {
            dry_run: true,
            mapping: vec![("ship_to_city".into(), "Where".into())],
        };
        let (_, groups) =
            read_groups(file.as_bytes(), &options, Timestamp::from_millis(0)).unwrap();
        let Some(AddressOrId::New(a)) = &groups[0].command.to_address else {
            panic!()
        };
        assert_eq!(a.fields.city, "x");
        let bad = ImportOptions {
            dry_run: true,
            mapping: vec![("city_of_birth".into(), "Where".into())],
        };
        assert!(read_groups(file.as_bytes(), &bad, Timestamp::from_millis(0)).is_err());
    }

    #[test]
    fn a_row_without_a_required_ship_to_value_is_refused_by_row_and_column() {
        let file = "order_number,ship_to_street1,ship_to_city,ship_to_country,title\n\
A-1,,Porto,PT,Mug\n\
A-2,Rua 2,,PT,Mug\n\
A-3,Rua 3,Lisboa,PT,Mug\n";
        let (_, groups) = read_groups(
            file.as_bytes(),
            &ImportOptions::default(),
            Timestamp::from_millis(0),
        )
        .unwrap();
        let named: Vec<(usize, &str)> = groups
            .iter()
            .flat_map(|g| g.problems.iter().map(|p| (p.row, p.field.as_str())))
            .collect();
        assert_eq!(named, [(2, "ship_to_street1"), (3, "ship_to_city")]);
        assert!(groups[2].problems.is_empty());
        // A column read twice: refused, naming it.
        let dup = "order_number,ship_to_street1,ship_to_city,ship_to_country,Shipping City\nA-1,Rua 1,Porto,PT,Lisboa\n";
        assert!(read_groups(
            dup.as_bytes(),
            &ImportOptions::default(),
            Timestamp::from_millis(0)
        )
        .is_ok());
        let dup = "order_number,ship_to_street1,ship_to_city,ship_to_country,ship_to_city\nA-1,Rua 1,Porto,PT,Lisboa\n";
        let e = read_groups(
            dup.as_bytes(),
            &ImportOptions::default(),
            Timestamp::from_millis(0),
        )
        .err()
        .unwrap();
        assert!(
            format!("{e:?}").contains("\\\"ship_to_city\\\" (columns 3, 5)"),
            "{e:?}"
        );
    }

    #[test]
    fn saved_errors_point_at_their_row_and_column() {
        assert_eq!(
            locate("line_items.1.quantity", &[5, 6]),
            (6, "quantity".into())
        );
        assert_eq!(
            locate("to_address.country", &[5, 6]),
            (5, "ship_to_country".into())
        );
        assert_eq!(
            locate("line_items.0.total_price", &[5]),
            (5, "price".into())
        );
    }
}
