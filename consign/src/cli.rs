//! The command line: `serve`, `migrate`, `account`, `token`, `ratecard`, `orders`, `batch`,
//! `projects`, `openapi`.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{anyhow, Context};
use clap::{Args, Parser, Subcommand};
use domain::account::Mode;
use domain::user::Role;
use service::accounts::{self, DEMO_ACCOUNT};
use service::users;
use service::ServiceError;

use crate::config::Layer;
use crate::startup::{open_services, open_store, shutdown_signal, Application};
use crate::Config;

/// Consign: a self-hosted, Shippo-compatible shipping and fulfillment server.
#[derive(Debug, Parser)]
#[command(name = "consign", version, about)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Settings every subcommand takes (see docs/CONFIGURATION.md).
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// TOML configuration file (default: ./consign.toml when present).
    #[arg(long, global = true, env = "CONSIGN_CONFIG")]
    pub config: Option<PathBuf>,
    /// Address to listen on, HOST:PORT [env: CONSIGN_LISTEN] [default: 127.0.0.1:8080].
    #[arg(long, global = true)]
    pub listen: Option<String>,
    /// Data directory for the embedded database [env: CONSIGN_DATA_DIR] [default: ./data].
    #[arg(long, global = true)]
    pub data_dir: Option<PathBuf>,
    /// sqlite://… or postgres://… [env: CONSIGN_DATABASE_URL or DATABASE_URL].
    #[arg(long, global = true)]
    pub database_url: Option<String>,
    /// Externally visible base URL for absolute links [env: CONSIGN_PUBLIC_URL].
    #[arg(long, global = true)]
    pub public_url: Option<String>,
    /// Log filter, e.g. debug or consign=debug [env: CONSIGN_LOG] [default: info for serve,
    /// warn for the other commands].
    #[arg(long, global = true)]
    pub log: Option<String>,
}

// Parsed once per run: the size of a variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server (migrates first; on a fresh database creates a demo account and prints a test token).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Manage accounts.
    #[command(subcommand)]
    Account(AccountCommand),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Manage the people who sign in to the web app (owner, admin, staff, developer).
    #[command(subcommand)]
    User(UserCommand),
    /// Upload or download the rate card of a rate-card carrier account.
    #[command(subcommand)]
    Ratecard(RatecardCommand),
    /// Import or export orders as CSV.
    #[command(subcommand)]
    Orders(crate::bulk::OrdersCommand),
    /// Make a batch from orders, take shipments out of one, or purchase one.
    #[command(subcommand)]
    Batch(crate::bulk::BatchCommand),
    /// Crowdfunding projects: create, link a provider, import backers and tracking, project
    /// keys, sync into the provider, the provider's events.
    #[command(subcommand)]
    Projects(crate::projects_cli::ProjectsCommand),
    /// Print the OpenAPI document.
    Openapi,
}

#[derive(Debug, Subcommand)]
pub enum RatecardCommand {
    /// Install a new version of the card from a file (`.csv` is read as CSV, anything else as JSON);
    /// prints the new version number.
    Upload {
        /// The carrier account's object_id.
        #[arg(long)]
        carrier_account: String,
        /// The card file.
        file: PathBuf,
        /// Account name [default: the demo account].
        #[arg(long)]
        account: Option<String>,
    },
    /// Print the current card.
    Download {
        /// The carrier account's object_id.
        #[arg(long)]
        carrier_account: String,
        /// json or csv.
        #[arg(long, default_value = "json")]
        format: String,
        /// Account name [default: the demo account].
        #[arg(long)]
        account: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// Create an account; prints its id.
    Create {
        /// Unique account name (a username or email); shown as `object_owner`.
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Issue a token and print only the token, e.g. `TOKEN=$(consign token create --mode test)`.
    Create {
        /// test or live.
        #[arg(long, default_value = "test")]
        mode: Mode,
        /// Account name [default: the demo account].
        #[arg(long)]
        account: Option<String>,
    },
    /// List an account's tokens (prefixes only; tokens are stored hashed).
    List {
        /// Account name [default: the demo account].
        #[arg(long)]
        account: Option<String>,
    },
    /// Revoke a token, given its id (from `token list`) or the token itself.
    Revoke {
        /// The token's id (from `token list`), or the token itself.
        id_or_token: String,
        /// Account name [default: the demo account].
        #[arg(long)]
        account: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user and print their password (made up unless --password-stdin).
    Create {
        /// Their email: how they sign in (unique across accounts).
        #[arg(long)]
        email: String,
        /// owner, admin, staff (orders, labels, batches, tracking) or developer (tokens, webhooks).
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// How they are shown.
        #[arg(long, default_value = "")]
        name: String,
        /// Account name [default: the demo account].
        #[arg(long)]
        account: Option<String>,
        /// Read the password from the first line of standard input instead of making one up.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Invite a user: print the link that sets their password (it works once, for a week), and
    /// email it when a mail server is configured (CONSIGN_SMTP_HOST; the server's job worker
    /// sends it).
    Invite {
        /// Their email: how they sign in (unique across accounts).
        #[arg(long)]
        email: String,
        /// owner, admin, staff (orders, labels, batches, tracking) or developer (tokens, webhooks).
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// How they are shown.
        #[arg(long, default_value = "")]
        name: String,
        /// Account name [default: the demo account].
        #[arg(long)]
        account: Option<String>,
    },
    /// List an account's users.
    List {
        /// Account name [default: the demo account].
        #[arg(long)]
        account: Option<String>,
    },
    /// Set a user's password (made up and printed unless --password-stdin) and sign them out
    /// everywhere.
    ResetPassword {
        /// The user's email.
        #[arg(long)]
        email: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
}

/// The account a command names, else the demo account.
fn account_name(a: &Option<String>) -> String {
    a.clone().unwrap_or_else(|| DEMO_ACCOUNT.to_string())
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::parse(s)
        .ok_or_else(|| format!("unknown role {s:?}: expected owner, admin, staff or developer"))
}

/// The first line of standard input (a password piped in), without its line end.
fn password_from_stdin() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

async fn user(config: Config, cmd: UserCommand) -> anyhow::Result<()> {
    let services = open_services(&config).await?;
    match cmd {
        UserCommand::Create {
            email,
            role,
            name,
            account,
            password_stdin,
        } => {
            let password = password_stdin.then(password_from_stdin).transpose()?;
            let (user, made_up) = users::create_user(
                &services,
                users::NewUser {
                    account: account_name(&account),
                    email,
                    name,
                    role,
                    password,
                },
            )
            .await
            .map_err(service_error)?;
            eprintln!(
                "created {} {} in account {:?}",
                user.role,
                user.email,
                account_name(&account)
            );
            if let Some(p) = made_up {
                println!("{p}");
            }
        }
        UserCommand::Invite {
            email,
            role,
            name,
            account,
        } => {
            let new = users::NewUser {
                account: account_name(&account),
                email,
                name,
                role,
                password: None,
            };
            let base = crate::bulk::public_base(&config);
            let (user, issued) = users::invite_user(&services, new, &base)
                .await
                .map_err(service_error)?;
            eprintln!(
                "invited {} {} to account {:?}{}",
                user.role,
                user.email,
                account_name(&account),
                if issued.emailed {
                    "; the link is emailed to them by the server"
                } else {
                    "; no mail server is configured: hand them this link"
                }
            );
            println!("{}", issued.url);
        }
        UserCommand::List { account } => {
            let mut out = std::io::stdout().lock();
            for u in users::list_users(&services, &account_name(&account))
                .await
                .map_err(service_error)?
            {
                let state = if u.disabled.is_some() {
                    "disabled"
                } else {
                    "active"
                };
                writeln!(
                    out,
                    "{}\t{}\t{}\t{}\t{}",
                    u.id, u.email, u.role, state, u.name
                )?;
            }
        }
        UserCommand::ResetPassword {
            email,
            password_stdin,
        } => {
            let password = password_stdin.then(password_from_stdin).transpose()?;
            let made_up = users::reset_password(&services, &email, password)
                .await
                .map_err(service_error)?;
            eprintln!("password set; every session of {email} ended");
            if let Some(p) = made_up {
                println!("{p}");
            }
        }
    }
    Ok(())
}

impl GlobalArgs {
    /// Resolves the configuration from defaults, the file, the environment and these flags.
    pub fn config(&self) -> anyhow::Result<Config> {
        let file = match &self.config {
            Some(path) => Layer::from_file(path)?,
            None if std::path::Path::new("consign.toml").exists() => {
                Layer::from_file("consign.toml".as_ref())?
            }
            None => Layer::default(),
        };
        let env = Layer::from_env(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))?;
        let flags = Layer {
            listen: self.listen.clone(),
            data_dir: self.data_dir.clone(),
            database_url: self.database_url.clone(),
            public_url: self.public_url.clone(),
            ..Default::default()
        };
        let flags = Layer {
            log: self.log.clone(),
            ..flags
        };
        file.overlay(env).overlay(flags).resolve()
    }
}

fn service_error(e: ServiceError) -> anyhow::Error {
    match e {
        ServiceError::Validation(v) => anyhow!("{v}"),
        other => anyhow!("{other}"),
    }
}

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let config = cli.global.config()?;
    // The server logs at the configured level; the other commands are quiet (warnings only)
    // unless a level is asked for (--log, CONSIGN_LOG, RUST_LOG): their results are on stdout
    // and their progress bars on stderr.
    let asked = cli.global.log.is_some()
        || ["CONSIGN_LOG", "RUST_LOG"]
            .iter()
            .any(|k| std::env::var_os(k).is_some_and(|v| !v.is_empty()));
    let level = match cli.command {
        Command::Serve => config.log.as_str(),
        _ if asked => config.log.as_str(),
        _ => "warn",
    };
    init_tracing(level);
    match cli.command {
        Command::Serve => serve(config).await,
        Command::Migrate => {
            open_store(&config).await?;
            eprintln!(
                "migrations applied to {}",
                store::redact_url(&config.database_url)
            );
            Ok(())
        }
        Command::Openapi => {
            println!("{}", api::openapi_json());
            Ok(())
        }
        Command::Account(AccountCommand::Create { name }) => {
            let services = open_services(&config).await?;
            let account = accounts::create_account(&services, &name)
                .await
                .map_err(service_error)?;
            println!("{}", account.id);
            eprintln!("created account {:?}", account.name);
            Ok(())
        }
        Command::Token(cmd) => token(config, cmd).await,
        Command::User(cmd) => user(config, cmd).await,
        Command::Ratecard(cmd) => ratecard(config, cmd).await,
        Command::Orders(cmd) => crate::bulk::orders(config, cmd).await,
        Command::Batch(cmd) => crate::bulk::batch(config, cmd).await,
        Command::Projects(cmd) => crate::projects_cli::projects(config, cmd).await,
    }
}

async fn ratecard(config: Config, cmd: RatecardCommand) -> anyhow::Result<()> {
    use carriers::rate_card;
    let services = open_services(&config).await?;
    let id_of = |raw: &str| {
        domain::ObjectId::parse(raw).ok_or_else(|| anyhow!("{raw:?} is not a carrier account id"))
    };
    let who =
        |account: &Option<String>| account.clone().unwrap_or_else(|| DEMO_ACCOUNT.to_string());
    match cmd {
        RatecardCommand::Upload {
            carrier_account,
            file,
            account,
        } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let is_csv = file
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
            let card = if is_csv {
                rate_card::parse_csv(&text)
            } else {
                rate_card::parse_json(&text)
            }
            .map_err(|e| anyhow!("invalid rate card: {e}"))?;
            let principal = accounts::principal_for(&services, &who(&account))
                .await
                .map_err(service_error)?;
            let installed = service::carrier_accounts::upload_rate_card(
                &services,
                &principal,
                id_of(&carrier_account)?,
                card,
            )
            .await
            .map_err(|e| match e {
                ServiceError::NotFound => anyhow!(
                    "no carrier account {carrier_account} for account {:?}",
                    who(&account)
                ),
                other => service_error(other),
            })?;
            println!("{}", installed.version);
            eprintln!(
                "installed rate card {:?} as version {}",
                installed.card.name, installed.version
            );
        }
        RatecardCommand::Download {
            carrier_account,
            format,
            account,
        } => {
            let principal = accounts::principal_for(&services, &who(&account))
                .await
                .map_err(service_error)?;
            let installed = service::carrier_accounts::current_rate_card(
                &services,
                &principal,
                id_of(&carrier_account)?,
            )
            .await
            .map_err(|e| match e {
                ServiceError::NotFound => {
                    anyhow!("no rate card for carrier account {carrier_account}")
                }
                other => service_error(other),
            })?;
            match format.as_str() {
                "csv" => print!("{}", rate_card::to_csv(&installed.card)),
                "json" => println!("{}", rate_card::to_json(&installed.card)),
                other => return Err(anyhow!("unknown format {other:?}: use json or csv")),
            }
        }
    }
    Ok(())
}

async fn token(config: Config, cmd: TokenCommand) -> anyhow::Result<()> {
    let services = open_services(&config).await?;
    match cmd {
        TokenCommand::Create { mode, account } => {
            if account.is_none() {
                accounts::demo_account(&services)
                    .await
                    .map_err(service_error)?;
            }
            let (_, token) = accounts::create_token(&services, &account_name(&account), mode)
                .await
                .map_err(service_error)?;
            println!("{token}");
        }
        TokenCommand::List { account } => {
            let tokens = accounts::list_tokens(&services, &account_name(&account))
                .await
                .map_err(service_error)?;
            let mut out = std::io::stdout().lock();
            writeln!(
                out,
                "{:<32}  {:<4}  {:<23}  {:<24}  revoked",
                "id", "mode", "token", "created"
            )?;
            for t in tokens {
                let revoked = t
                    .revoked
                    .map(|r| r.to_string())
                    .unwrap_or_else(|| "-".into());
                writeln!(
                    out,
                    "{:<32}  {:<4}  {:<23}  {:<24}  {revoked}",
                    t.id.to_string(),
                    t.mode.as_str(),
                    format!("{}…", t.prefix),
                    t.created.to_string()
                )?;
            }
        }
        TokenCommand::Revoke {
            id_or_token,
            account,
        } => {
            accounts::revoke_token(&services, &account_name(&account), &id_or_token)
                .await
                .map_err(|e| match e {
                    ServiceError::NotFound => {
                        anyhow!("no such token for account {:?}", account_name(&account))
                    }
                    other => service_error(other),
                })?;
            eprintln!("token revoked");
        }
    }
    Ok(())
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let app = Application::build(config.clone()).await?;
    let demo = accounts::ensure_demo(app.services())
        .await
        .map_err(service_error)?;
    // The demo account's owner, for the web app (its password printed once, as the token).
    let owner = match &demo {
        Some((account, _)) => users::ensure_demo_owner(app.services(), account)
            .await
            .map_err(service_error)?,
        None => None,
    };
    if let Some((account, _)) = &demo {
        demo_sender(app.services(), &account.name)
            .await
            .map_err(service_error)?;
    }
    let addr = app.local_addr();
    let host = if addr.ip().is_unspecified() {
        "127.0.0.1".to_string()
    } else {
        addr.ip().to_string()
    };
    let base = config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{host}:{}", addr.port()));
    tracing::info!(%addr, database = %store::redact_url(&config.database_url), "consign listening");
    if config.smtp.is_none() {
        tracing::warn!("emails are off: no smtp_host is configured, so buyers and backers get no tracking or dispatch emails (see docs/CONFIGURATION.md)");
    }
    if config.allow_private_network {
        tracing::warn!("allow_private_network is on: webhooks and provider calls may reach loopback and private addresses");
    }
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "Consign {} listening on {base}",
        env!("CARGO_PKG_VERSION")
    )?;
    writeln!(
        out,
        "API reference: {base}/docs   OpenAPI: {base}/openapi.json"
    )?;
    match demo {
        Some((account, token)) => {
            writeln!(out, "\nCreated the demo account {:?} with a test API token (shown once):\n\n  {token}\n", account.name)?;
            if let Some((email, password)) = &owner {
                writeln!(out, "and its owner, who signs in to the web app (password shown once):\n\n  {email}\n  {password}\n")?;
            }
            writeln!(
                out,
                "Try it (a shipment, priced by the demo courier and the shippo test carrier):\n"
            )?;
            writeln!(
                out,
                "  curl -s {base}/shipments -H \"Authorization: ShippoToken {token}\" -H \"Content-Type: application/json\" -d '{DEMO_SHIPMENT}'\n"
            )?;
        }
        None => writeln!(
            out,
            "Get a token with: consign token create --mode test [--account NAME]"
        )?,
    }
    drop(out);
    app.run_until_stopped(shutdown_signal())
        .await
        .context("server error")
}

/// The demo account's sender address in test mode (the seed's "Mrs Hippo"), so the web app's
/// "Buy labels" works at once.
async fn demo_sender(s: &service::Services, account: &str) -> Result<(), service::ServiceError> {
    let mut who = accounts::principal_for(s, account).await?;
    who.mode = domain::account::Mode::Test;
    let fields = domain::address::AddressFields {
        name: "Mrs Hippo".into(),
        company: "Hippo Supplies".into(),
        street1: "1092 Indian Summer Ct".into(),
        city: "San Jose".into(),
        state: "CA".into(),
        zip: "95122".into(),
        country: "US".into(),
        phone: "+1 555 341 9393".into(),
        email: "shipping@hippo.example".into(),
        ..Default::default()
    };
    let input = domain::address::AddressInput {
        fields,
        purpose: None,
        validate: false,
    };
    service::addresses::add_sender(s, &who, input)
        .await
        .map(drop)
}

/// The request the first-start banner suggests: the seed's example shipment.
pub const DEMO_SHIPMENT: &str = r#"{"address_from":{"name":"Mrs Hippo","street1":"1092 Indian Summer Ct","city":"San Jose","state":"CA","zip":"95122","country":"US"},"address_to":{"name":"Mr Hippo","street1":"965 Mission St","city":"San Francisco","state":"CA","zip":"94103","country":"US"},"parcels":[{"length":"10","width":"15","height":"10","distance_unit":"in","weight":"1","mass_unit":"lb"}]}"#;

fn init_tracing(filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(filter))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colour codes only on a terminal: a log file or a pipe gets plain text.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(|| BesideBars)
        .try_init();
}

/// Writes log lines to stderr with the command's progress bars ([`crate::bulk::progress`])
/// cleared meanwhile and redrawn after, so a line never lands inside a bar.
struct BesideBars;

impl Write for BesideBars {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        crate::bulk::progress().suspend(|| std::io::stderr().write(buf))
    }

    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        crate::bulk::progress().suspend(|| std::io::stderr().write_all(buf))
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}
