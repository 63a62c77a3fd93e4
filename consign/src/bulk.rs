//! Bulk work from the command line: `consign orders import|export` and `consign batch
//! create|purchase`, with progress bars (on stderr; the results go to stdout).
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
use domain::order::{OrderFilter, OrderStatus};
use domain::page::PageRequest;
use domain::ObjectId;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use service::accounts::{self, DEMO_ACCOUNT};
use service::batches::{self, CreateBatch, ParcelPlan};
use service::orders::csv::{self as orders_csv, ImportOptions};
use service::{Principal, ServiceError, Services};

use crate::startup::open_services;
use crate::Config;

#[derive(Debug, Subcommand)]
pub enum OrdersCommand {
    /// Import orders from a CSV file (one row per line item); idempotent on the order number.
    Import {
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
    /// prints the batch id.
    Create {
        /// Ship orders (the only source from the command line).
        #[arg(long)]
        from_orders: bool,
        #[arg(long)]
        status: Vec<String>,
        #[arg(long)]
        carrier_account: String,
        #[arg(long)]
        servicelevel: String,
        /// The sender address's object_id.
        #[arg(long)]
        address_from: String,
        /// A carrier parcel template token, or --length/--width/--height/--distance-unit.
        #[arg(long)]
        parcel_template: Option<String>,
        #[arg(long)]
        length: Option<String>,
        #[arg(long)]
        width: Option<String>,
        #[arg(long)]
        height: Option<String>,
        #[arg(long, default_value = "in")]
        distance_unit: String,
        #[arg(long)]
        label_filetype: Option<String>,
        #[command(flatten)]
        who: Who,
    },
    /// Purchase a VALID batch and wait until every label is bought; prints the merged label
    /// files' keys.
    Purchase {
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

/// Clears a bar made by [`bar`] and takes it off the screen.
pub(crate) fn done(bar: &ProgressBar) {
    bar.finish_and_clear();
    progress().remove(bar);
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
            let bytes =
                std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let mapping = map
                .iter()
                .map(|m| {
                    m.split_once('=')
                        .map(|(f, c)| (f.to_string(), c.to_string()))
                        .ok_or_else(|| anyhow!("--map {m:?}: write FIELD=COLUMN"))
                })
                .collect::<anyhow::Result<_>>()?;
            let progress = bar(0, "orders");
            let p = progress.clone();
            let report = orders_csv::import(
                &s,
                &who,
                &bytes,
                &ImportOptions { dry_run, mapping },
                &move |done, total| {
                    p.set_length(total as u64);
                    p.set_position(done as u64);
                },
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
            let p = progress.clone();
            let bytes = orders_csv::export(&s, &who, &filter, &move |done, total| {
                p.set_length(total as u64);
                p.set_position(done as u64);
            })
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
                weight: "1".into(),
                mass_unit: None,
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
            let v = batches::from_orders(&s, &who, filter, &address_from, parcel, input)
                .await
                .map_err(error)?;
            let done = watch(&s, &who, v.batch.id, "validating").await?;
            println!("{}", done.batch.id);
            eprintln!(
                "batch {} is {}: {} shipments valid, {} invalid",
                done.batch.id,
                done.batch.status.as_str(),
                done.counts.creation_succeeded,
                done.counts.creation_failed
            );
            Ok(())
        }
        BatchCommand::Purchase { id, who } => {
            let who = who.principal(&s).await?;
            let id = batch_id(&s, &who, &id).await?;
            batches::purchase(&s, &who, id).await.map_err(error)?;
            let done = watch(&s, &who, id, "purchasing").await?;
            for k in &done.batch.label_keys {
                println!("{k}");
            }
            eprintln!(
                "batch {id} is {}: {} labels bought, {} failed",
                done.batch.status.as_str(),
                done.counts.purchase_succeeded,
                done.counts.purchase_failed
            );
            Ok(())
        }
    }
}
