//! Bulk work from the command line: `consign orders import|export` and `consign batch
//! create|remove|purchase`, with progress bars (on stderr; the results go to stdout).
//!
//! These commands work on the database directly, as the server does. A batch's validation and
//! purchase are jobs: the command runs a job worker while it watches the batch, so it finishes
//! with or without a server running (when one is, either picks the jobs up; leases keep a job
//! from running twice).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{anyhow, Context};
use clap::Subcommand;
use domain::account::Mode;
use domain::batch::{BatchResultFilter, BatchShipment, BatchStatus};
use domain::order::{OrderFilter, OrderStatus};
use domain::page::PageRequest;
use domain::{ObjectId, Timestamp};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use service::accounts::{self, DEMO_ACCOUNT};
use service::batches::{self, CreateBatch, ParcelPlan};
use service::orders::csv::{self as orders_csv, ImportOptions};
use service::{files, Principal, ServiceError, Services};

use crate::startup::open_services;
use crate::Config;

#[derive(Debug, Subcommand)]
pub enum OrdersCommand {
    /// Import orders from a CSV file (one row per line item); idempotent on the order number.
    Import {
        /// The CSV file (one row per line item; a shop export's column names are understood).
        file: PathBuf,
        /// Report what would be created, updated and rejected; write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Name a column for one of Consign's, FIELD=COLUMN (repeatable), e.g.
        /// `--map ship_to_zip="Post Code"`.
        #[arg(long = "map", value_name = "FIELD=COLUMN")]
        map: Vec<String>,
        #[command(flatten)]
        who: Who,
    },
    /// Export orders as CSV (to stdout, or --output).
    Export {
        /// Only orders in these states (repeatable): PAID, SHIPPED, …
        #[arg(long)]
        status: Vec<String>,
        /// Write the CSV to this file instead of stdout.
        #[arg(long)]
        output: Option<PathBuf>,
        #[command(flatten)]
        who: Who,
    },
}

// Parsed once per run: the size of a variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum BatchCommand {
    /// Make a batch of one shipment per PAID order (or --status), wait until it is validated;
    /// prints the batch id on stdout, and on stderr each shipment that is not valid and why.
    /// Fails when no shipment is valid.
    Create {
        /// Ship orders (the only source from the command line).
        #[arg(long)]
        from_orders: bool,
        /// Ship the orders in this state (repeatable: PAID, PARTIALLY_FULFILLED, …)
        /// [default: PAID].
        #[arg(long)]
        status: Vec<String>,
        /// The carrier account (object_id) that buys every label.
        #[arg(long)]
        carrier_account: String,
        /// The service level token of that carrier account (e.g. usps_priority).
        #[arg(long)]
        servicelevel: String,
        /// The sender address's object_id.
        #[arg(long)]
        address_from: String,
        /// A carrier parcel template token, or --length/--width/--height/--distance-unit.
        #[arg(long)]
        parcel_template: Option<String>,
        /// The parcel's length (decimal, in --distance-unit).
        #[arg(long)]
        length: Option<String>,
        /// The parcel's width (decimal, in --distance-unit).
        #[arg(long)]
        width: Option<String>,
        /// The parcel's height (decimal, in --distance-unit).
        #[arg(long)]
        height: Option<String>,
        /// The unit of the dimensions: cm, in, ft, mm, m or yd.
        #[arg(long, default_value = "in")]
        distance_unit: String,
        /// The weight of a parcel whose order says nothing of its weight (decimal); without
        /// it such orders are INCOMPLETE.
        #[arg(long)]
        default_weight: Option<String>,
        /// The unit of --default-weight: lb, oz, kg or g [default: lb].
        #[arg(long)]
        default_weight_unit: Option<String>,
        /// The labels' file type (PDF, PDF_4x6, PNG, ZPLII, …) [default: the account's].
        #[arg(long)]
        label_filetype: Option<String>,
        #[command(flatten)]
        who: Who,
    },
    /// Take shipments out of a batch before it is purchased (e.g. the INVALID ones `batch
    /// create` lists); prints the batch's status and counts.
    Remove {
        /// The batch's object_id.
        id: String,
        /// A batch shipment's object_id (repeatable), as `batch create` prints them.
        #[arg(long = "shipment", value_name = "ID", required = true)]
        shipments: Vec<String>,
        #[command(flatten)]
        who: Who,
    },
    /// Purchase a VALID batch and wait until every label is bought; prints the merged label
    /// files (their paths in local storage, else signed URLs) on stdout, and on stderr each
    /// purchase that failed and why. Fails when no label was bought.
    Purchase {
        /// The batch's object_id (what `batch create` printed).
        id: String,
        #[command(flatten)]
        who: Who,
    },
}

/// Whose objects a command works on.
#[derive(Debug, clap::Args)]
pub struct Who {
    /// Account name [default: the demo account].
    #[arg(long)]
    pub account: Option<String>,
    /// test or live: the mode of the objects, as a token's (a test token sees test objects
    /// only). Test by default, like the token `consign serve` prints on its first start.
    #[arg(long, default_value = "test")]
    pub mode: Mode,
}

impl Who {
    /// The principal the command acts as: `--account` (the demo account when not given) in
    /// `--mode`.
    pub(crate) async fn principal(&self, s: &Services) -> anyhow::Result<Principal> {
        let name = self
            .account
            .clone()
            .unwrap_or_else(|| DEMO_ACCOUNT.to_string());
        let mut p = accounts::principal_for(s, &name).await.map_err(error)?;
        p.mode = self.mode;
        Ok(p)
    }
}

/// A service error as the CLI reports it: its message, without the API's error envelope.
pub(crate) fn error(e: ServiceError) -> anyhow::Error {
    match e {
        ServiceError::Validation(v) => anyhow!("{v}"),
        other => anyhow!("{other}"),
    }
}

/// `who` in the other mode.
pub(crate) fn flipped(who: &Principal) -> Principal {
    let mut other = who.clone();
    other.mode = match who.mode {
        Mode::Test => Mode::Live,
        Mode::Live => Mode::Test,
    };
    other
}

/// The error for `what` (e.g. "batch") `id` missing in `who`'s mode: when it exists in the
/// other mode (`elsewhere`), says so and which `--mode` finds it.
pub(crate) fn missing(who: &Principal, what: &str, id: &str, elsewhere: bool) -> anyhow::Error {
    let other = flipped(who).mode;
    if elsewhere {
        anyhow!(
            "{what} {id} exists in {other} mode, not in {} mode; pass --mode {other}",
            who.mode
        )
    } else {
        anyhow!(
            "no {what} {id} in {} mode for account {:?}",
            who.mode,
            who.account_name
        )
    }
}

/// The progress bars of this run: every bar is drawn through it (on stderr, hidden when stderr
/// is not a terminal) and log lines are written while it is suspended (`cli::init_tracing`), so
/// the two never interleave.
pub fn progress() -> &'static MultiProgress {
    static BARS: std::sync::OnceLock<MultiProgress> = std::sync::OnceLock::new();
    BARS.get_or_init(MultiProgress::new)
}

/// A progress bar of `total` steps labelled `what`, drawn through [`progress`]; `done` ends it.
pub(crate) fn bar(total: u64, what: &str) -> ProgressBar {
    let bar = progress().add(ProgressBar::new(total));
    bar.set_style(
        ProgressStyle::with_template(&format!(
            "{what} [{{bar:40}}] {{pos}}/{{len}} ({{per_sec}}, {{eta}} left)"
        ))
        .expect("the template is valid")
        .progress_chars("=> "),
    );
    bar
}

/// A service's progress callback (`done` of `total`) that moves `bar`.
pub(crate) fn ticks(bar: &ProgressBar) -> impl Fn(usize, usize) + Send + Sync {
    let bar = bar.clone();
    move |done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    }
}

/// The whole of `file`, or an error naming it.
pub(crate) fn read(file: &std::path::Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))
}

/// Clears a bar made by [`bar`] and takes it off the screen.
pub(crate) fn done(bar: &ProgressBar) {
    bar.finish_and_clear();
    progress().remove(bar);
}

/// `--map FIELD=COLUMN` values as an import's column mapping.
pub(crate) fn mapping<M: FromIterator<(String, String)>>(map: &[String]) -> anyhow::Result<M> {
    map.iter()
        .map(|m| {
            m.split_once('=')
                .map(|(f, c)| (f.to_string(), c.to_string()))
                .ok_or_else(|| anyhow!("--map {m:?}: write FIELD=COLUMN"))
        })
        .collect()
}

fn statuses(raw: &[String]) -> anyhow::Result<Vec<OrderStatus>> {
    raw.iter()
        .map(|s| {
            OrderStatus::parse(s.trim()).ok_or_else(|| anyhow!("{s:?} is not an order status"))
        })
        .collect()
}

/// Runs `consign orders …`.
pub async fn orders(config: Config, cmd: OrdersCommand) -> anyhow::Result<()> {
    let s = open_services(&config).await?;
    match cmd {
        OrdersCommand::Import {
            file,
            dry_run,
            map,
            who,
        } => {
            let who = who.principal(&s).await?;
            let bytes = read(&file)?;
            let mapping = mapping(&map)?;
            let progress = bar(0, "orders");
            let report = orders_csv::import(
                &s,
                &who,
                &bytes,
                &ImportOptions { dry_run, mapping },
                &ticks(&progress),
            )
            .await
            .map_err(error)?;
            done(&progress);
            let verb = if dry_run { "would be " } else { "" };
            println!(
                "{} rows, {} orders: {} {verb}created, {} {verb}updated, {} unchanged, {} rejected; {} mode (what a {} token sees)",
                report.rows,
                report.orders,
                report.created,
                report.updated,
                report.unchanged,
                report.rejected,
                who.mode,
                who.mode
            );
            for r in &report.rejections {
                println!(
                    "row {}: {}: {}{}",
                    r.row,
                    r.field,
                    r.message,
                    r.order_number
                        .as_deref()
                        .map(|n| format!(" (order {n})"))
                        .unwrap_or_default()
                );
            }
            Ok(())
        }
        OrdersCommand::Export {
            status,
            output,
            who,
        } => {
            let who = who.principal(&s).await?;
            let filter = OrderFilter {
                statuses: statuses(&status)?,
                ..Default::default()
            };
            let progress = bar(0, "orders");
            let bytes = orders_csv::export(&s, &who, &filter, &ticks(&progress))
                .await
                .map_err(error)?;
            done(&progress);
            match output {
                Some(path) => std::fs::write(&path, bytes)
                    .with_context(|| format!("cannot write {}", path.display()))?,
                None => {
                    use std::io::Write;
                    std::io::stdout().write_all(&bytes)?;
                }
            }
            Ok(())
        }
    }
}

/// Watches a batch until it leaves `busy`, running the job worker meanwhile.
async fn watch(
    s: &Services,
    who: &Principal,
    id: ObjectId,
    what: &str,
) -> anyhow::Result<batches::BatchView> {
    let worker = tokio::spawn(service::jobs::run_worker(s.clone()));
    let progress = bar(0, what);
    let view = loop {
        let v = batches::get(
            s,
            who,
            id,
            None,
            PageRequest {
                page: 1,
                results: 1,
            },
        )
        .await
        .map_err(error)?;
        let c = v.counts;
        let total = c.creation_succeeded + c.creation_failed + c.pending;
        progress.set_length(total as u64);
        progress.set_position(match v.batch.status {
            domain::batch::BatchStatus::Purchasing | domain::batch::BatchStatus::Purchased => {
                (c.purchase_succeeded + c.purchase_failed) as u64
            }
            _ => (total - c.pending) as u64,
        });
        if !batches::busy(v.batch.status) {
            break v;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    done(&progress);
    worker.abort();
    Ok(view)
}

/// The id of one of `who`'s batches; when it is not one, why (another mode's, or none).
async fn batch_id(s: &Services, who: &Principal, raw: &str) -> anyhow::Result<ObjectId> {
    let id = ObjectId::parse(raw.trim()).ok_or_else(|| anyhow!("{raw:?} is not a batch id"))?;
    let first = PageRequest {
        page: 1,
        results: 1,
    };
    match batches::get(s, who, id, None, first).await {
        Ok(_) => Ok(id),
        Err(ServiceError::NotFound) => {
            let elsewhere = batches::get(s, &flipped(who), id, None, first)
                .await
                .is_ok();
            Err(missing(who, "batch", raw.trim(), elsewhere))
        }
        Err(e) => Err(error(e)),
    }
}

/// Every shipment of batch `id` matching `filter`, in order.
async fn all_shipments(
    s: &Services,
    who: &Principal,
    id: ObjectId,
    filter: Option<BatchResultFilter>,
) -> anyhow::Result<Vec<BatchShipment>> {
    let mut out = Vec::new();
    let mut page = 1;
    loop {
        let v = batches::get(
            s,
            who,
            id,
            filter,
            PageRequest {
                page,
                results: batches::PAGE,
            },
        )
        .await
        .map_err(error)?;
        let more = v.shipments.has_next();
        out.extend(v.shipments.items);
        if !more {
            return Ok(out);
        }
        page += 1;
    }
}

/// One line per shipment: which order (or position), its batch shipment id, its status and
/// why (its messages).
fn explain(list: &[BatchShipment]) -> Vec<String> {
    list.iter()
        .map(|b| {
            let which = if b.metadata.is_empty() {
                format!("shipment #{}", b.position + 1)
            } else if b.order.is_some() {
                format!("order {}", b.metadata)
            } else {
                format!("shipment #{} ({})", b.position + 1, b.metadata)
            };
            let why = if b.messages.is_empty() {
                "no reason given".to_string()
            } else {
                b.messages
                    .iter()
                    .map(|m| m.text.as_str())
                    .collect::<Vec<_>>()
                    .join("; ")
            };
            format!(
                "{which} (batch shipment {}): {}: {why}",
                b.id,
                b.status.as_str()
            )
        })
        .collect()
}

fn summary(v: &batches::BatchView) -> String {
    let c = v.counts;
    match v.batch.status {
        BatchStatus::Purchasing | BatchStatus::Purchased => format!(
            "batch {} is {}: {} labels bought, {} failed",
            v.batch.id,
            v.batch.status.as_str(),
            c.purchase_succeeded,
            c.purchase_failed
        ),
        _ => format!(
            "batch {} is {}: {} shipments valid, {} invalid",
            v.batch.id,
            v.batch.status.as_str(),
            c.creation_succeeded,
            c.creation_failed
        ),
    }
}

/// Where a stored file can be opened: its path in local storage, else a signed link (the
/// server's own, as `GET /batches/{id}` gives in `label_url`).
fn file_location(config: &Config, cipher: &service::Cipher, key: &str) -> String {
    if config.s3.is_none() {
        // Where `startup::open_services` keeps local files.
        let root = config.data_dir.join("files");
        let Ok(path) = service::files::local::path_of(&root, key) else {
            return key.to_string();
        };
        return std::path::absolute(&path)
            .unwrap_or(path)
            .display()
            .to_string();
    }
    format!(
        "{}{}",
        public_base(config),
        files::signed_path(cipher, key, Timestamp::now())
    )
}

/// The server's externally visible base URL: `public_url`, else the address it listens on
/// (as `consign serve` prints it).
pub(crate) fn public_base(config: &Config) -> String {
    match &config.public_url {
        Some(url) => url.trim_end_matches('/').to_string(),
        None => {
            // SocketAddr writes an IPv6 host in brackets (`http://[::1]:8080`), as a URL needs.
            let mut at = config.listen;
            if at.ip().is_unspecified() {
                at.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
            }
            format!("http://{at}")
        }
    }
}

/// Runs `consign batch …`.
pub async fn batch(config: Config, cmd: BatchCommand) -> anyhow::Result<()> {
    let s = open_services(&config).await?;
    match cmd {
        BatchCommand::Create {
            from_orders,
            status,
            carrier_account,
            servicelevel,
            address_from,
            parcel_template,
            length,
            width,
            height,
            distance_unit,
            default_weight,
            default_weight_unit,
            label_filetype,
            who,
        } => {
            if !from_orders {
                return Err(anyhow!(
                    "the command line makes batches from orders: pass --from-orders"
                ));
            }
            let who = who.principal(&s).await?;
            let known = parcel_template
                .as_deref()
                .and_then(domain::parcel_templates::find);
            if parcel_template.is_some() && known.is_none() {
                return Err(anyhow!(
                    "{parcel_template:?} is not a carrier parcel template"
                ));
            }
            if let Some(w) = &default_weight {
                if !w.trim().parse::<f64>().is_ok_and(|d| d > 0.0) {
                    return Err(anyhow!("--default-weight {w:?} is not a positive number"));
                }
            }
            let pick = |v: Option<String>, t: Option<&str>, name: &str| {
                v.or(t.map(String::from))
                    .ok_or_else(|| anyhow!("--{name} (or --parcel-template) is required"))
            };
            let parcel = ParcelPlan {
                length: pick(length, known.map(|k| k.length), "length")?,
                width: pick(width, known.map(|k| k.width), "width")?,
                height: pick(height, known.map(|k| k.height), "height")?,
                distance_unit: known.map_or(distance_unit, |k| k.unit.as_str().to_string()),
                template: known.map(|k| k.token.to_string()),
                weight: default_weight.map(|w| w.trim().to_string()),
                weight_unit: default_weight_unit,
                mass_unit: None,
                entered_weight: None,
            };
            let filter = OrderFilter {
                statuses: statuses(&status)?,
                ..Default::default()
            };
            let input = CreateBatch {
                default_carrier_account: Some(carrier_account),
                default_servicelevel_token: Some(servicelevel),
                label_filetype,
                metadata: String::new(),
                shipments: Vec::new(),
                errors: Default::default(),
                idempotency_key: None,
                purchase_when_valid: false,
            };
            let from = ObjectId::parse(address_from.trim())
                .ok_or_else(|| anyhow!("--address-from {address_from:?} is not an address id"))?;
            match service::addresses::get(&s, &who, from).await {
                Ok(_) => {}
                Err(ServiceError::NotFound) => {
                    let elsewhere = service::addresses::get(&s, &flipped(&who), from)
                        .await
                        .is_ok();
                    return Err(missing(&who, "--address-from", &address_from, elsewhere));
                }
                Err(e) => return Err(error(e)),
            }
            let v = match batches::from_orders(
                &s,
                &who,
                filter.clone(),
                &address_from,
                parcel,
                input,
            )
            .await
            {
                Ok(v) => v,
                // No order of this mode to ship: say so when the other mode has some.
                Err(ServiceError::Validation(e))
                    if e.0.iter().any(|(field, _)| field == "order_status") =>
                {
                    let mut wanted = filter;
                    if wanted.statuses.is_empty() {
                        wanted.statuses = vec![OrderStatus::Paid];
                    }
                    let one = PageRequest {
                        page: 1,
                        results: 1,
                    };
                    let other = flipped(&who);
                    let elsewhere = service::orders::list(&s, &other, &wanted, one)
                        .await
                        .is_ok_and(|p| !p.items.is_empty());
                    if elsewhere {
                        return Err(anyhow!(
                            "no order to ship in {} mode, but {} mode has orders in that state; pass --mode {}",
                            who.mode,
                            other.mode,
                            other.mode
                        ));
                    }
                    return Err(error(ServiceError::Validation(e)));
                }
                Err(e) => return Err(error(e)),
            };
            let done = watch(&s, &who, v.batch.id, "validating").await?;
            let invalid = all_shipments(
                &s,
                &who,
                done.batch.id,
                Some(BatchResultFilter::CreationFailed),
            )
            .await?;
            println!("{}", done.batch.id);
            for line in explain(&invalid) {
                eprintln!("{line}");
            }
            eprintln!("{}", summary(&done));
            if done.counts.creation_succeeded == 0 {
                return Err(anyhow!(
                    "no shipment of batch {} is valid: nothing can be bought",
                    done.batch.id
                ));
            }
            if !invalid.is_empty() {
                eprintln!(
                    "take the invalid ones out before purchase: consign batch remove {} --shipment ID…",
                    done.batch.id
                );
            }
            Ok(())
        }
        BatchCommand::Remove { id, shipments, who } => {
            let who = who.principal(&s).await?;
            let id = batch_id(&s, &who, &id).await?;
            let held = all_shipments(&s, &who, id, None).await?;
            let mut ids = Vec::new();
            for raw in &shipments {
                match ObjectId::parse(raw.trim()).filter(|x| held.iter().any(|b| b.id == *x)) {
                    Some(x) => ids.push(x),
                    None => return Err(anyhow!("batch {id} has no shipment {raw}")),
                }
            }
            let v = batches::remove_shipments(&s, &who, id, ids)
                .await
                .map_err(error)?;
            println!("{}", summary(&v));
            Ok(())
        }
        BatchCommand::Purchase { id, who } => {
            let who = who.principal(&s).await?;
            let id = batch_id(&s, &who, &id).await?;
            if let Err(e) = batches::purchase(&s, &who, id).await {
                let invalid =
                    all_shipments(&s, &who, id, Some(BatchResultFilter::CreationFailed)).await?;
                for line in explain(&invalid) {
                    eprintln!("{line}");
                }
                if !invalid.is_empty() {
                    eprintln!("take them out with: consign batch remove {id} --shipment ID…");
                }
                return Err(error(e));
            }
            let done = watch(&s, &who, id, "purchasing").await?;
            let failed =
                all_shipments(&s, &who, id, Some(BatchResultFilter::PurchaseFailed)).await?;
            for k in &done.batch.label_keys {
                println!("{}", file_location(&config, &s.cipher, k));
            }
            for line in explain(&failed) {
                eprintln!("{line}");
            }
            eprintln!("{}", summary(&done));
            if done.counts.purchase_succeeded == 0 {
                return Err(anyhow!("no label of batch {id} was bought"));
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Layer;

    /// A merged label file is printed where it can be opened: its path with local storage, a
    /// signed link on the public URL (the one `GET /files/{key}` checks) with a bucket.
    #[test]
    fn label_files_are_printed_as_paths_or_signed_links() {
        let cipher = service::Cipher::from_hex(&"ab".repeat(32)).unwrap();
        let (account, batch) = (ObjectId::new(), ObjectId::new());
        let key = files::key(account, batch, "labels-1.pdf");
        let local = Layer {
            data_dir: Some("/srv/consign".into()),
            ..Default::default()
        }
        .resolve()
        .unwrap();
        assert_eq!(
            file_location(&local, &cipher, &key),
            format!(
                "/srv/consign/files/{account}/{}/{batch}.labels-1.pdf",
                &batch.to_string()[..8]
            )
        );
        let bucket = Layer {
            s3_bucket: Some("labels".into()),
            s3_region: Some("eu-west-1".into()),
            public_url: Some("https://ship.example.com/".into()),
            ..Default::default()
        }
        .resolve()
        .unwrap();
        let link = file_location(&bucket, &cipher, &key);
        let query = link
            .strip_prefix(&format!("https://ship.example.com/files/{key}?"))
            .unwrap_or_else(|| panic!("{link}"));
        let params: std::collections::HashMap<&str, &str> =
            query.split('&').filter_map(|p| p.split_once('=')).collect();
        assert!(
            files::check_link(
                &cipher,
                &key,
                params["expires"].parse().unwrap(),
                params["signature"],
                Timestamp::now()
            ),
            "{link}"
        );
    }
}
