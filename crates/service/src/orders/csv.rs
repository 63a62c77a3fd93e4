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
    // What customs declarations of batches from orders are built from (docs/ORDERS.md).
    (
        "hs_code",
        &[
            "lineitem hs code",
            "hs code",
            "harmonized code",
            "tariff code",
        ],
    ),
    (
        "origin_country",
        &[
            "manufacture_country",
            "country of origin",
            "lineitem country of origin",
        ],
    ),
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
    /// The first [`MAX_LISTED_REJECTIONS`] rejections by row.
    pub rejections: Vec<Rejection>,
    /// Rejections not listed.
    pub rejections_omitted: usize,
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

fn csv_reader(bytes: &[u8]) -> csv::Reader<std::io::Cursor<&[u8]>> {
    csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::None)
        .from_reader(std::io::Cursor::new(bytes))
}

/// Where a row sits in the file: its byte offset (to read it again) and its line.
#[derive(Debug, Clone, Copy)]
struct RowAt {
    byte: u64,
    line: usize,
}

/// What the first pass keeps of an order, or of a row that makes none: where its rows are,
/// never their values (an import holds at most [`CHUNK`] orders' values at once).
enum Entry {
    Order(Vec<RowAt>),
    /// A row that cannot be read or names no order.
    Refused(Box<Rejection>),
}

/// The first pass over a file: the header, the rows counted, and one entry per order in the
/// order its first row appears (rows of one order need not be adjacent).
struct Index {
    header: Header,
    rows: usize,
    entries: Vec<Entry>,
}

fn index(bytes: &[u8], options: &ImportOptions) -> Result<Index, ServiceError> {
    let mut reader = csv_reader(bytes);
    let headers = reader
        .headers()
        .map_err(|e| {
            domain::ValidationError::field("file", format!("The CSV header cannot be read: {e}"))
        })?
        .clone();
    let header = Header::read(&headers, &options.mapping, COLUMNS, REQUIRED)?;
    let mut entries: Vec<Entry> = Vec::new();
    // Order number → its entry; dropped once the file is indexed.
    let mut at: HashMap<Box<str>, usize> = HashMap::new();
    let mut record = csv::StringRecord::new();
    let (mut rows, mut read) = (0, 0);
    loop {
        let byte = reader.position().byte();
        let line = read + 2;
        let next = reader.read_record(&mut record);
        read += 1;
        match next {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                rows += 1;
                entries.push(Entry::Refused(Box::new(Rejection {
                    row: line,
                    field: "row".into(),
                    message: format!("The row cannot be read: {e}"),
                    order_number: None,
                })));
                continue;
            }
        }
        if record.iter().all(|v| v.trim().is_empty()) {
            continue;
        }
        rows += 1;
        let Some(number) = header.get(&record, "order_number") else {
            entries.push(Entry::Refused(Box::new(Rejection {
                row: line,
                field: "order_number".into(),
                message: "This field is required.".into(),
                order_number: None,
            })));
            continue;
        };
        let row = RowAt { byte, line };
        match at.get(number) {
            Some(&e) => {
                if let Entry::Order(rows) = &mut entries[e] {
                    rows.push(row);
                }
            }
            None => {
                at.insert(number.into(), entries.len());
                entries.push(Entry::Order(vec![row]));
            }
        }
    }
    Ok(Index {
        header,
        rows,
        entries,
    })
}

/// Reads rows again by their offsets (without seeking when they follow each other).
struct Rows<'b> {
    reader: csv::Reader<std::io::Cursor<&'b [u8]>>,
    record: csv::StringRecord,
}

impl<'b> Rows<'b> {
    fn new(bytes: &'b [u8]) -> Self {
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .trim(csv::Trim::None)
            .has_headers(false)
            .from_reader(std::io::Cursor::new(bytes));
        // Past the header, so that a file's first row needs no seek either.
        let mut header = csv::ByteRecord::new();
        let _ = reader.read_byte_record(&mut header);
        Rows {
            reader,
            record: csv::StringRecord::new(),
        }
    }

    fn read(&mut self, at: RowAt) -> Result<&csv::StringRecord, ServiceError> {
        let fail = |e: csv::Error| ServiceError::internal(format!("CSV row {}: {e}", at.line));
        if self.reader.position().byte() != at.byte {
            let mut p = csv::Position::new();
            p.set_byte(at.byte);
            self.reader.seek(p).map_err(fail)?;
        }
        // Read once already in the first pass.
        if !self.reader.read_record(&mut self.record).map_err(fail)? {
            return Err(ServiceError::internal(format!(
                "CSV row {} is gone on the second read",
                at.line
            )));
        }
        Ok(&self.record)
    }
}

/// An order's command from its first row.
fn start(header: &Header, record: &csv::StringRecord, line: usize, now: Timestamp) -> Group {
    let get = |f: &str| header.get(record, f).map(String::from);
    let number = get("order_number").unwrap_or_default();
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
    // The ship-to's required values, on the order's first row (an order whose address cannot
    // ship is refused, not stored incomplete).
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
    Group {
        lines: Vec::new(),
        command: c,
        problems,
    }
}

/// A row's line item (if it has one) added to its order.
fn add_row(g: &mut Group, header: &Header, record: &csv::StringRecord, line: usize) {
    let get = |f: &str| header.get(record, f).map(String::from);
    g.lines.push(line);
    if get("sku").is_none() && get("title").is_none() {
        return;
    }
    let quantity = match get("quantity") {
        None => None,
        Some(q) => match q.parse::<i64>() {
            Ok(n) => Some(n),
            Err(_) => {
                g.problems.push(Rejection {
                    row: line,
                    field: "quantity".into(),
                    message: format!("\"{q}\" is not a whole number."),
                    order_number: g.command.order_number.clone(),
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
        hs_code: get("hs_code"),
        manufacture_country: get("origin_country"),
        ..Default::default()
    });
}

/// One order's command, its rows read again from the file.
fn group(
    header: &Header,
    rows: &mut Rows<'_>,
    at: &[RowAt],
    now: Timestamp,
) -> Result<Group, ServiceError> {
    let mut g: Option<Group> = None;
    for r in at {
        let record = rows.read(*r)?;
        let g = g.get_or_insert_with(|| start(header, record, r.line, now));
        add_row(g, header, record, r.line);
    }
    g.ok_or_else(|| ServiceError::internal("an order without rows"))
}

/// Every group of a file at once (the tests' view of the two passes).
#[cfg(test)]
fn read_groups(
    bytes: &[u8],
    options: &ImportOptions,
    now: Timestamp,
) -> Result<(usize, Vec<Group>), ServiceError> {
    let index = index(bytes, options)?;
    let mut rows = Rows::new(bytes);
    let mut groups = Vec::new();
    for e in index.entries {
        groups.push(match e {
            Entry::Order(at) => group(&index.header, &mut rows, &at, now)?,
            Entry::Refused(r) => Group {
                lines: vec![r.row],
                command: CreateOrder::new(Source::Csv),
                problems: vec![*r],
            },
        });
    }
    Ok((index.rows, groups))
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

/// Imports one account may run at once; another while they run is refused (409, `conflict`).
pub const IMPORTS_PER_ACCOUNT: usize = 1;
/// Rejections an import's report lists (the first by row); `rejected` still counts every
/// order, and [`ImportReport::rejections_omitted`] says how many were left off.
pub const MAX_LISTED_REJECTIONS: usize = 1_000;

/// Imports running now, by account.
static RUNNING: std::sync::LazyLock<std::sync::Mutex<HashMap<domain::ObjectId, usize>>> =
    std::sync::LazyLock::new(Default::default);

/// An account's turn to import: taken before the file is read (so that refused uploads cost
/// nothing), given back when dropped — the import ended, failed, or its client went away.
#[derive(Debug)]
pub struct ImportSlot(domain::ObjectId);

impl ImportSlot {
    /// The account's turn, or a conflict while [`IMPORTS_PER_ACCOUNT`] imports of it run.
    pub fn take(who: &Principal) -> Result<Self, ServiceError> {
        let mut running = RUNNING.lock().unwrap_or_else(|e| e.into_inner());
        let n = running.entry(who.account_id).or_insert(0);
        if *n >= IMPORTS_PER_ACCOUNT {
            return Err(ServiceError::Conflict(
                "An order import of this account is already running; send the file again when it has finished.".into(),
            ));
        }
        *n += 1;
        Ok(ImportSlot(who.account_id))
    }
}

impl Drop for ImportSlot {
    fn drop(&mut self) {
        let mut running = RUNNING.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = running.get_mut(&self.0) {
            *n -= 1;
            if *n == 0 {
                running.remove(&self.0);
            }
        }
    }
}

impl ImportReport {
    fn reject(&mut self, r: Rejection) {
        self.rejections.push(r);
        // Bounded as it goes: the earliest rows are kept.
        if self.rejections.len() >= 2 * MAX_LISTED_REJECTIONS {
            self.bound_rejections();
        }
    }

    fn bound_rejections(&mut self) {
        self.rejections.sort_by_key(|r| r.row);
        if self.rejections.len() > MAX_LISTED_REJECTIONS {
            self.rejections_omitted += self.rejections.len() - MAX_LISTED_REJECTIONS;
            self.rejections.truncate(MAX_LISTED_REJECTIONS);
        }
    }

    /// Counts a saved chunk's outcomes; `meta` is each order's number and lines.
    fn count(&mut self, meta: Vec<(String, Vec<usize>)>, outcomes: Vec<Outcome>) {
        for ((number, lines), o) in meta.into_iter().zip(outcomes) {
            match o {
                Outcome::Created(_) => {
                    self.created += 1;
                    self.created_numbers.push(number);
                }
                Outcome::Updated(_) => {
                    self.updated += 1;
                    self.updated_numbers.push(number);
                }
                Outcome::Unchanged(_) => self.unchanged += 1,
                Outcome::Rejected(e) => {
                    self.rejected += 1;
                    for (field, messages) in e.0.iter() {
                        let (row, column) = locate(field, &lines);
                        for m in messages {
                            self.reject(Rejection {
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
    }
}

/// How an import would read the file's header with `mapping`: each column and its field.
pub fn preview_columns(
    bytes: &[u8],
    mapping: &[(String, String)],
) -> Result<Vec<integrations::columns::Column>, ServiceError> {
    Ok(integrations::columns::preview(bytes, mapping, COLUMNS)?)
}

/// Imports a CSV file of orders; `progress(done, total)` is called as orders are saved. Takes
/// the account's [`ImportSlot`] (a conflict while another import of it runs).
pub async fn import(
    s: &Services,
    who: &Principal,
    bytes: &[u8],
    options: &ImportOptions,
    progress: &(dyn Fn(usize, usize) + Send + Sync),
) -> Result<ImportReport, ServiceError> {
    let slot = ImportSlot::take(who)?;
    import_in(s, who, &slot, bytes, options, progress).await
}

/// [`import`] in a slot the caller took (before reading the file).
///
/// Two passes over the bytes: the first keeps only where each order's rows are (rows of one
/// order need not be adjacent); the second reads [`CHUNK`] orders' rows at a time into their
/// commands and saves them, so the parsed form of the file is never held whole.
/// Orders created by one import above which PostgreSQL's statistics are refreshed.
const ANALYZE_AFTER: usize = 1_000;

pub async fn import_in(
    s: &Services,
    who: &Principal,
    _slot: &ImportSlot,
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
    let now = Timestamp::now();
    let Index {
        header,
        rows: read,
        entries,
    } = index(bytes, options)?;
    let mut report = ImportReport {
        dry_run: options.dry_run,
        rows: read,
        orders: entries.len(),
        ..Default::default()
    };
    let total = entries.len();
    let mut rows = Rows::new(bytes);
    let mut done = 0;
    let mut commands: Vec<CreateOrder> = Vec::with_capacity(CHUNK);
    let mut meta: Vec<(String, Vec<usize>)> = Vec::with_capacity(CHUNK);
    let mut entries = entries.into_iter();
    loop {
        let entry = entries.next();
        let last = entry.is_none();
        match entry {
            Some(Entry::Refused(r)) => {
                report.rejected += 1;
                report.reject(*r);
                done += 1;
            }
            Some(Entry::Order(at)) => {
                let g = group(&header, &mut rows, &at, now)?;
                if g.problems.is_empty() {
                    meta.push((g.command.order_number.clone().unwrap_or_default(), g.lines));
                    commands.push(g.command);
                } else {
                    report.rejected += 1;
                    for p in g.problems {
                        report.reject(p);
                    }
                    done += 1;
                }
            }
            None => {}
        }
        if commands.len() == CHUNK || (last && !commands.is_empty()) {
            let batch = std::mem::replace(&mut commands, Vec::with_capacity(CHUNK));
            let outcomes = super::save(s, who, batch, options.dry_run).await?;
            done += outcomes.len();
            report.count(std::mem::take(&mut meta), outcomes);
            if !last {
                progress(done, total);
            }
        }
        if last {
            break;
        }
    }
    progress(done, total);
    report.bound_rejections();
    release_later();
    // A big import changes what the planner should do (the inbox's search, its lists).
    if !options.dry_run && report.created > ANALYZE_AFTER {
        s.store.analyze(&["orders", "addresses"]).await?;
    }
    Ok(report)
}

/// What an import freed goes back to the system on the allocator's next calls (mimalloc, the
/// server's allocator, purges freed memory lazily: on later allocations and frees, once its
/// purge delay has passed). A server that stays idle after an import would keep it, so the
/// import ends with one large allocation freed a moment later, once the caller has dropped
/// the file and the answer; that free purges what is due.
fn release_later() {
    if let Ok(rt) = tokio::runtime::Handle::try_current() {
        rt.spawn(async {
            for wait in [1, 4] {
                tokio::time::sleep(std::time::Duration::from_secs(wait)).await;
                let block: Vec<u8> = Vec::with_capacity(64 << 20);
                drop(std::hint::black_box(block));
            }
        });
    }
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
    "hs_code",
    "origin_country",
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
                l.map(|l| opt(&l.hs_code)).unwrap_or_default(),
                l.map(|l| opt(&l.manufacture_country)).unwrap_or_default(),
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
