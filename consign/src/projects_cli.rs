//! Crowdfunding from the command line (docs/CROWDFUNDING.md): `consign projects
//! create|list|connect|import-backers|import-tracking|keys|sync|events`, over the same use cases
//! as `/projects` (`service::crowdfunding`). Results go to stdout, progress bars to stderr
//! ([`crate::bulk::progress`]).
//!
//! `sync` runs a job worker while it watches the sync's report, so it finishes with or without
//! a server running (when one is, either picks the job up; leases keep it from running twice).

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::anyhow;
use clap::Subcommand;
use domain::crowdfunding::RewardWeight;
use domain::{ObjectId, Timestamp};
use indicatif::{ProgressBar, ProgressStyle};
use service::crowdfunding::{self, backers, inbound, sync, ProjectInput, ProviderInput};
use service::orders::csv::ImportOptions;
use service::{Principal, ServiceError, Services};

use crate::bulk::{
    bar, done, error, flipped, mapping, missing, progress, public_base, read, ticks, Who,
};
use crate::startup::open_services;
use crate::Config;

// Parsed once per run: the size of a variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum ProjectsCommand {
    /// Create a project; prints its id on stdout and the webhook URLs to give the provider on
    /// stderr.
    Create {
        /// The project's name (e.g. the campaign's).
        name: String,
        /// The reward parcel's weight, WEIGHT UNIT (e.g. "1.5 lb"; g, oz, lb or kg): what a
        /// sync pushes to the provider [default: 16 oz].
        #[arg(long, value_name = "WEIGHT UNIT")]
        reward_weight: Option<String>,
        /// Lock backers' addresses now: later imports refuse address changes.
        #[arg(long)]
        lock_addresses: bool,
        #[command(flatten)]
        who: Who,
    },
    /// List the projects (id, name, pledges, shippable, shipped).
    List {
        #[command(flatten)]
        who: Who,
    },
    /// Link the project to the creator's EasyPost or Shippo account (needed by `sync`).
    Connect {
        /// The project's object_id.
        project: String,
        /// easypost or shippo.
        #[arg(long)]
        provider: String,
        /// The provider account's API key (stored encrypted, never shown again).
        #[arg(long, env = "CONSIGN_PROVIDER_API_KEY", hide_env_values = true)]
        api_key: Secret,
        /// The webhook secret set at the provider, to check the events it sends back.
        #[arg(long, env = "CONSIGN_PROVIDER_WEBHOOK_SECRET", hide_env_values = true)]
        webhook_secret: Option<Secret>,
        /// The return address's object_id (printed on what the provider ships) [default: the
        /// one already linked].
        #[arg(long)]
        return_address: Option<String>,
        /// The provider's API base URL [default: its public one].
        #[arg(long)]
        base_url: Option<String>,
        #[command(flatten)]
        who: Who,
    },
    /// Import a backer report (Kickstarter's CSV, or any with --map) with a progress bar;
    /// prints the counts, every backer that will not ship and why, and every rejected row.
    ImportBackers {
        /// The project's object_id.
        project: String,
        /// The backer report (CSV, up to 64 MB).
        file: PathBuf,
        /// Report what would be created, updated and rejected; write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Name a column for one of Consign's, FIELD=COLUMN (repeatable), e.g.
        /// `--map ship_postal_code="Zip"`.
        #[arg(long = "map", value_name = "FIELD=COLUMN")]
        map: Vec<String>,
        #[command(flatten)]
        who: Who,
    },
    /// Apply a tracking CSV (orderId or pledgeId, carrier, trackingNumber, optional status):
    /// each backer is emailed once; prints the counts and every rejected row.
    ImportTracking {
        /// The project's object_id.
        project: String,
        /// The tracking CSV.
        file: PathBuf,
        /// Report what would change and how many emails would go; write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Name a column for one of Consign's, FIELD=COLUMN (repeatable), e.g.
        /// `--map tracking_number="Tracking"`.
        #[arg(long = "map", value_name = "FIELD=COLUMN")]
        map: Vec<String>,
        #[command(flatten)]
        who: Who,
    },
    /// The project keys of the seed's shipping API (create, list, revoke).
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Push the shippable backers into the linked provider account and wait for the report
    /// (with a progress bar); prints it. Fails when the sync ends FAILED.
    Sync {
        /// The project's object_id.
        project: String,
        #[command(flatten)]
        who: Who,
    },
    /// List the events the provider sent back, newest first (up to 500).
    Events {
        /// The project's object_id.
        project: String,
        /// Only the events matched to no order.
        #[arg(long)]
        unmatched: bool,
        #[command(flatten)]
        who: Who,
    },
}

/// A credential given on the command line: the commands derive `Debug`, and this one never
/// shows it there.
#[derive(Clone)]
pub struct Secret(String);

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Secret(s.to_string()))
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Generate a key and print only the key (shown once: only its hash is stored), e.g.
    /// `KEY=$(consign projects keys create ID)`.
    Create {
        /// The project's object_id.
        project: String,
        /// Revoke the project's other keys.
        #[arg(long)]
        rotate: bool,
        #[command(flatten)]
        who: Who,
    },
    /// List the project's keys (id, prefix, created, revoked).
    List {
        /// The project's object_id.
        project: String,
        #[command(flatten)]
        who: Who,
    },
    /// Revoke one key (--key) or every key (--all).
    #[command(group(clap::ArgGroup::new("which").required(true).args(["key", "all"])))]
    Revoke {
        /// The project's object_id.
        project: String,
        /// The key's object_id (from `keys list`).
        #[arg(long)]
        key: Option<String>,
        /// Revoke every key of the project.
        #[arg(long)]
        all: bool,
        #[command(flatten)]
        who: Who,
    },
}

/// The id of one of `who`'s projects; when it is not one, why (another mode's, or none).
async fn project_id(s: &Services, who: &Principal, raw: &str) -> anyhow::Result<ObjectId> {
    let id = ObjectId::parse(raw.trim()).ok_or_else(|| anyhow!("{raw:?} is not a project id"))?;
    match crowdfunding::get(s, who, id).await {
        Ok(_) => Ok(id),
        Err(ServiceError::NotFound) => {
            let elsewhere = crowdfunding::get(s, &flipped(who), id).await.is_ok();
            Err(missing(who, "project", raw.trim(), elsewhere))
        }
        Err(e) => Err(error(e)),
    }
}

/// A spinner for work whose size is unknown.
fn spinner(what: &str) -> ProgressBar {
    let bar = progress().add(ProgressBar::new_spinner());
    bar.set_style(
        ProgressStyle::with_template(&format!("{{spinner}} {what} {{elapsed}} {{msg}}"))
            .expect("the template is valid"),
    );
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

fn note_line(n: &backers::RowNote) -> String {
    format!(
        "row {}{}: {}: {}",
        n.line,
        n.pledge_id
            .as_deref()
            .map(|p| format!(" (pledge {p})"))
            .unwrap_or_default(),
        n.field,
        n.message
    )
}

/// Runs `consign projects …`.
pub async fn projects(config: Config, cmd: ProjectsCommand) -> anyhow::Result<()> {
    let s = open_services(&config).await?;
    let mut out = std::io::stdout().lock();
    match cmd {
        ProjectsCommand::Create {
            name,
            reward_weight,
            lock_addresses,
            who,
        } => {
            let who = who.principal(&s).await?;
            let weight = reward_weight
                .map(|w| {
                    RewardWeight::parse(&w)
                        .filter(|r| r.weight > Default::default())
                        .ok_or_else(|| {
                            anyhow!("--reward-weight {w:?}: write WEIGHT UNIT, e.g. \"1.5 lb\" (g, oz, lb or kg)")
                        })
                })
                .transpose()?;
            let p = crowdfunding::create(
                &s,
                &who,
                ProjectInput {
                    name: Some(name),
                    addresses_locked_at: lock_addresses.then(|| Some(Timestamp::now())),
                    reward_weight: Some(weight),
                    errors: Default::default(),
                },
            )
            .await
            .map_err(error)?;
            writeln!(out, "{}", p.id)?;
            let base = public_base(&config);
            eprintln!(
                "created project {:?} in {} mode; provider webhook URLs:\n  EasyPost: {base}/api/fulfillment/easypost/{}\n  Shippo:   {base}/api/fulfillment/shippo/{}",
                p.name, who.mode, p.id, p.id
            );
        }
        ProjectsCommand::List { who } => {
            let who = who.principal(&s).await?;
            writeln!(
                out,
                "{:<32}  {:>7}  {:>9}  {:>7}  name",
                "id", "pledges", "shippable", "shipped"
            )?;
            for p in crowdfunding::list(&s, &who).await.map_err(error)? {
                let v = crowdfunding::get(&s, &who, p.id).await.map_err(error)?;
                writeln!(
                    out,
                    "{:<32}  {:>7}  {:>9}  {:>7}  {}",
                    p.id.to_string(),
                    v.counts.pledges,
                    v.counts.shippable,
                    v.counts.shipped,
                    p.name
                )?;
            }
        }
        ProjectsCommand::Connect {
            project,
            provider,
            api_key,
            webhook_secret,
            return_address,
            base_url,
            who,
        } => {
            let who = who.principal(&s).await?;
            let id = project_id(&s, &who, &project).await?;
            let p = crowdfunding::connect_provider(
                &s,
                &who,
                id,
                ProviderInput {
                    kind: provider,
                    api_key: api_key.0,
                    webhook_secret: webhook_secret.map(|w| w.0),
                    base_url,
                    return_address: return_address.map(service::orders::AddressOrId::Id),
                    errors: Default::default(),
                },
            )
            .await
            .map_err(error)?;
            let link = p
                .provider
                .ok_or_else(|| anyhow!("project {id} has no provider linked after connect"))?;
            writeln!(
                out,
                "project {id} is linked to {} ({})",
                link.kind,
                if link.has_webhook_secret {
                    "events checked with the webhook secret"
                } else {
                    "no webhook secret: the provider's events will be refused"
                }
            )?;
        }
        ProjectsCommand::ImportBackers {
            project,
            file,
            dry_run,
            map,
            who,
        } => {
            let who = who.principal(&s).await?;
            let id = project_id(&s, &who, &project).await?;
            let bytes = read(&file)?;
            let options = ImportOptions {
                dry_run,
                mapping: mapping(&map)?,
            };
            let progress = bar(0, "backers");
            let r = backers::import(&s, &who, id, &bytes, options, &ticks(&progress)).await;
            done(&progress);
            let r = r.map_err(error)?;
            let verb = if dry_run { "would be " } else { "" };
            writeln!(
                out,
                "{} rows: {} {verb}created, {} {verb}updated, {} unchanged; {} shippable, {} not shippable, {} rejected; {} mode",
                r.rows,
                r.created,
                r.updated,
                r.unchanged,
                r.shippable,
                r.not_shippable.len(),
                r.rejections.len(),
                who.mode
            )?;
            for n in &r.not_shippable {
                writeln!(out, "not shippable: {}", note_line(n))?;
            }
            for n in &r.rejections {
                writeln!(out, "rejected: {}", note_line(n))?;
            }
        }
        ProjectsCommand::ImportTracking {
            project,
            file,
            dry_run,
            map,
            who,
        } => {
            let who = who.principal(&s).await?;
            let id = project_id(&s, &who, &project).await?;
            let bytes = read(&file)?;
            let options = ImportOptions {
                dry_run,
                mapping: mapping(&map)?,
            };
            let progress = spinner("tracking");
            let r = backers::import_tracking(&s, &who, id, &bytes, options).await;
            done(&progress);
            let r = r.map_err(error)?;
            let verb = if dry_run { "would be " } else { "" };
            let emails = if r.email_off {
                "no dispatch email (no smtp_host is configured)".to_string()
            } else {
                format!("{} dispatch emails {verb}queued", r.emails)
            };
            writeln!(
                out,
                "{} rows: {} {verb}updated, {} unchanged, {} rejected; {emails}",
                r.rows,
                r.updated,
                r.unchanged,
                r.rejections.len()
            )?;
            for n in &r.rejections {
                writeln!(out, "rejected: {}", note_line(n))?;
            }
        }
        ProjectsCommand::Keys(cmd) => keys(&s, &mut out, cmd).await?,
        ProjectsCommand::Sync { project, who } => {
            let who = who.principal(&s).await?;
            let id = project_id(&s, &who, &project).await?;
            let started = sync::start(&s, &who, id).await.map_err(|e| match e {
                ServiceError::Conflict(why) => {
                    anyhow!("{why} From here: consign projects connect {id} --provider … --api-key … --return-address …")
                }
                e => error(e),
            })?;
            let shippable = crowdfunding::get(&s, &who, id)
                .await
                .map_err(error)?
                .counts
                .shippable;
            let worker = tokio::spawn(service::jobs::run_worker(s.clone()));
            let progress = bar(shippable as u64, "syncing");
            let report = loop {
                let r = sync::get(&s, &who, id, started.id).await;
                let r = match r {
                    Ok(r) => r,
                    Err(e) => {
                        done(&progress);
                        worker.abort();
                        return Err(error(e));
                    }
                };
                progress.set_position(
                    (r.created_records + r.updated_records + r.skipped + r.failed) as u64,
                );
                if let Some(a) = r.attempts.last() {
                    progress.set_message(format!("attempt {} failed: {}", a.attempt, a.error));
                }
                if r.status != "RUNNING" {
                    break r;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            };
            done(&progress);
            worker.abort();
            writeln!(
                out,
                "sync {} {}: {} created, {} updated, {} skipped, {} failed",
                report.id,
                report.status,
                report.created_records,
                report.updated_records,
                report.skipped,
                report.failed
            )?;
            for f in report.failures.as_array().into_iter().flatten() {
                let field = |k: &str| f[k].as_str().unwrap_or("-").to_string();
                writeln!(
                    out,
                    "failed: pledge {} (order {}): {}",
                    field("pledge_id"),
                    field("order"),
                    field("error")
                )?;
            }
            for a in &report.attempts {
                writeln!(out, "attempt {} at {}: {}", a.attempt, a.at, a.error)?;
            }
            if report.status == "FAILED" {
                let why = report
                    .attempts
                    .last()
                    .map(|a| a.error.clone())
                    .unwrap_or_default();
                return Err(anyhow!("sync {} FAILED: {why}", report.id));
            }
        }
        ProjectsCommand::Events {
            project,
            unmatched,
            who,
        } => {
            let who = who.principal(&s).await?;
            let id = project_id(&s, &who, &project).await?;
            let list = inbound::list(&s, &who, id, unmatched)
                .await
                .map_err(error)?;
            if list.is_empty() {
                eprintln!("no events");
            } else {
                writeln!(
                    out,
                    "{:<24}  {:<8}  {:<18}  {:<24}  order",
                    "received", "provider", "event", "tracking"
                )?;
            }
            for e in list {
                let order = match e.order {
                    Some(o) => o.to_string(),
                    None if e.note.is_empty() => "unmatched".to_string(),
                    None => format!("unmatched: {}", e.note),
                };
                writeln!(
                    out,
                    "{:<24}  {:<8}  {:<18}  {:<24}  {order}",
                    e.received.to_string(),
                    e.provider,
                    e.kind,
                    e.tracking_number.as_deref().unwrap_or("-")
                )?;
            }
        }
    }
    Ok(())
}

async fn keys(
    s: &Services,
    out: &mut std::io::StdoutLock<'_>,
    cmd: KeysCommand,
) -> anyhow::Result<()> {
    match cmd {
        KeysCommand::Create {
            project,
            rotate,
            who,
        } => {
            let who = who.principal(s).await?;
            let id = project_id(s, &who, &project).await?;
            let (info, key) = crowdfunding::create_key(s, &who, id, rotate)
                .await
                .map_err(error)?;
            writeln!(out, "{key}")?;
            eprintln!(
                "key {} ({}…) shown once: only its hash is stored{}",
                info.id,
                info.prefix,
                if rotate {
                    "; the others are revoked"
                } else {
                    ""
                }
            );
        }
        KeysCommand::List { project, who } => {
            let who = who.principal(s).await?;
            let id = project_id(s, &who, &project).await?;
            let v = crowdfunding::get(s, &who, id).await.map_err(error)?;
            writeln!(
                out,
                "{:<32}  {:<13}  {:<24}  revoked",
                "id", "key", "created"
            )?;
            for k in v.keys {
                writeln!(
                    out,
                    "{:<32}  {:<13}  {:<24}  {}",
                    k.id.to_string(),
                    format!("{}…", k.prefix),
                    k.created.to_string(),
                    k.revoked
                        .map(|r| r.to_string())
                        .unwrap_or_else(|| "-".into())
                )?;
            }
        }
        KeysCommand::Revoke {
            project,
            key,
            all: _,
            who,
        } => {
            let who = who.principal(s).await?;
            let id = project_id(s, &who, &project).await?;
            let one = key
                .as_deref()
                .map(|k| ObjectId::parse(k.trim()).ok_or_else(|| anyhow!("{k:?} is not a key id")))
                .transpose()?;
            let n = crowdfunding::revoke_keys(s, &who, id, one)
                .await
                .map_err(|e| match e {
                    ServiceError::NotFound => anyhow!(
                        "project {id} has no live key {}",
                        key.as_deref().unwrap_or_default()
                    ),
                    e => error(e),
                })?;
            writeln!(out, "{n} keys revoked")?;
        }
    }
    Ok(())
}
