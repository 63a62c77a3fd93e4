//! Configuration: one typed struct, layered as defaults < TOML file < environment (`CONSIGN_*`,
//! plus the conventional `DATABASE_URL`) < command-line flags. Every key is documented in
//! `docs/CONFIGURATION.md`.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use serde::Deserialize;

/// Default listen address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// Default data directory (relative to the working directory).
pub const DEFAULT_DATA_DIR: &str = "data";

/// Resolved configuration.
#[derive(Clone)]
pub struct Config {
    /// Address the HTTP server binds.
    pub listen: SocketAddr,
    /// Where the embedded database (and later label files) live.
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…`; defaults to `sqlite://<data_dir>/consign.db`.
    pub database_url: String,
    /// Externally visible base URL used in absolute links.
    pub public_url: Option<String>,
    /// Largest accepted request body, in bytes.
    pub body_limit: usize,
    /// Database pool size.
    pub db_max_connections: u32,
    /// Log filter (`info`, `consign=debug,tower_http=debug`, …); `RUST_LOG` wins when set.
    pub log: String,
    /// 64 hex characters keying the encryption of provider credentials; when unset, the key
    /// lives in `<data_dir>/secret.key` (created on first start).
    pub secret_key: Option<String>,
    /// An exchange-rate table in the ECB `eurofxref.csv` format; when unset, the bundled ECB
    /// table of 26 September 2024.
    pub exchange_rates: Option<PathBuf>,
    /// How long each carrier may take to answer for rates, in milliseconds.
    pub rate_timeout_ms: u64,
    /// Whether this process runs the job worker (async rates, …). Turn it off on API-only
    /// nodes of a PostgreSQL deployment; some process must run it.
    pub run_jobs: bool,
    /// Whether the calls Consign makes for users (webhooks, providers' APIs and files, project
    /// syncs) may reach loopback, private and other internal addresses. Off: request-forgery
    /// protection; tests and closed networks turn it on.
    pub allow_private_network: bool,
    /// How often polled tracking numbers are refreshed, in seconds.
    pub tracking_poll_interval_s: u64,
    pub refund_recheck_s: u64,
    /// The mail server for buyer emails; `None` sends none.
    pub smtp: Option<service::notifications::SmtpConfig>,
    /// Percent of the standard webhook retry delays waited (100).
    pub webhook_retry_scale_percent: u32,
    /// Seconds a claimed job stays its worker's unless its heartbeat renews it (15).
    pub job_lease_s: u64,
    /// Label and document files in an S3-compatible bucket; `None` keeps them in
    /// `<data_dir>/files`.
    pub s3: Option<service::files::S3Config>,
    /// Request budgets per token and per client IP (429 past them).
    pub rate_limits: api::rate_limit::RateLimits,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("data_dir", &self.data_dir)
            .field("database_url", &store::redact_url(&self.database_url))
            .field("public_url", &self.public_url)
            .field("body_limit", &self.body_limit)
            .field("db_max_connections", &self.db_max_connections)
            .field("log", &self.log)
            .field("secret_key", &self.secret_key.as_ref().map(|_| "***"))
            .field("exchange_rates", &self.exchange_rates)
            .field("rate_timeout_ms", &self.rate_timeout_ms)
            .field("run_jobs", &self.run_jobs)
            .field("allow_private_network", &self.allow_private_network)
            .field("tracking_poll_interval_s", &self.tracking_poll_interval_s)
            .field("refund_recheck_s", &self.refund_recheck_s)
            .field("smtp", &self.smtp)
            .field(
                "webhook_retry_scale_percent",
                &self.webhook_retry_scale_percent,
            )
            .field("job_lease_s", &self.job_lease_s)
            .field("s3", &self.s3)
            .field("rate_limits", &self.rate_limits)
            .finish()
    }
}

/// Values that may be set at any layer; `None` means "not set here".
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Layer {
    pub listen: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    pub public_url: Option<String>,
    pub body_limit: Option<usize>,
    pub db_max_connections: Option<u32>,
    pub log: Option<String>,
    pub secret_key: Option<String>,
    pub exchange_rates: Option<PathBuf>,
    pub rate_timeout_ms: Option<u64>,
    pub run_jobs: Option<bool>,
    /// `allow_private_webhooks` is its former name, still read.
    #[serde(alias = "allow_private_webhooks")]
    pub allow_private_network: Option<bool>,
    pub tracking_poll_interval_s: Option<u64>,
    pub refund_recheck_s: Option<u64>,
    pub smtp_host: Option<String>,
    pub smtp_port: Option<u16>,
    pub smtp_tls: Option<String>,
    pub smtp_username: Option<String>,
    pub smtp_password: Option<String>,
    pub smtp_from: Option<String>,
    pub webhook_retry_scale_percent: Option<u32>,
    pub job_lease_s: Option<u64>,
    pub s3_bucket: Option<String>,
    pub s3_region: Option<String>,
    pub s3_endpoint: Option<String>,
    pub s3_access_key_id: Option<String>,
    pub s3_secret_access_key: Option<String>,
    pub s3_path_style: Option<bool>,
    pub s3_prefix: Option<String>,
    pub rate_limit_per_token: Option<u32>,
    pub rate_limit_token_burst: Option<u32>,
    pub rate_limit_per_ip: Option<u32>,
    pub rate_limit_ip_burst: Option<u32>,
    pub rate_limit_loopback: Option<bool>,
}

impl Layer {
    /// Values from `higher` win over `self`.
    pub fn overlay(self, higher: Layer) -> Layer {
        Layer {
            listen: higher.listen.or(self.listen),
            data_dir: higher.data_dir.or(self.data_dir),
            database_url: higher.database_url.or(self.database_url),
            public_url: higher.public_url.or(self.public_url),
            body_limit: higher.body_limit.or(self.body_limit),
            db_max_connections: higher.db_max_connections.or(self.db_max_connections),
            log: higher.log.or(self.log),
            secret_key: higher.secret_key.or(self.secret_key),
            exchange_rates: higher.exchange_rates.or(self.exchange_rates),
            rate_timeout_ms: higher.rate_timeout_ms.or(self.rate_timeout_ms),
            run_jobs: higher.run_jobs.or(self.run_jobs),
            allow_private_network: higher.allow_private_network.or(self.allow_private_network),
            tracking_poll_interval_s: higher
                .tracking_poll_interval_s
                .or(self.tracking_poll_interval_s),
            refund_recheck_s: higher.refund_recheck_s.or(self.refund_recheck_s),
            smtp_host: higher.smtp_host.or(self.smtp_host),
            smtp_port: higher.smtp_port.or(self.smtp_port),
            smtp_tls: higher.smtp_tls.or(self.smtp_tls),
            smtp_username: higher.smtp_username.or(self.smtp_username),
            smtp_password: higher.smtp_password.or(self.smtp_password),
            smtp_from: higher.smtp_from.or(self.smtp_from),
            webhook_retry_scale_percent: higher
                .webhook_retry_scale_percent
                .or(self.webhook_retry_scale_percent),
            job_lease_s: higher.job_lease_s.or(self.job_lease_s),
            s3_bucket: higher.s3_bucket.or(self.s3_bucket),
            s3_region: higher.s3_region.or(self.s3_region),
            s3_endpoint: higher.s3_endpoint.or(self.s3_endpoint),
            s3_access_key_id: higher.s3_access_key_id.or(self.s3_access_key_id),
            s3_secret_access_key: higher.s3_secret_access_key.or(self.s3_secret_access_key),
            s3_path_style: higher.s3_path_style.or(self.s3_path_style),
            s3_prefix: higher.s3_prefix.or(self.s3_prefix),
            rate_limit_per_token: higher.rate_limit_per_token.or(self.rate_limit_per_token),
            rate_limit_token_burst: higher
                .rate_limit_token_burst
                .or(self.rate_limit_token_burst),
            rate_limit_per_ip: higher.rate_limit_per_ip.or(self.rate_limit_per_ip),
            rate_limit_ip_burst: higher.rate_limit_ip_burst.or(self.rate_limit_ip_burst),
            rate_limit_loopback: higher.rate_limit_loopback.or(self.rate_limit_loopback),
        }
    }

    /// Reads a TOML file.
    pub fn from_file(path: &Path) -> anyhow::Result<Layer> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config file {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("invalid config file {}", path.display()))
    }

    /// Reads `CONSIGN_*` variables through `get` (and `DATABASE_URL` when
    /// `CONSIGN_DATABASE_URL` is not set).
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> anyhow::Result<Layer> {
        let parse_num = |key: &str| -> anyhow::Result<Option<u64>> {
            get(key)
                .map(|v| {
                    v.trim()
                        .parse::<u64>()
                        .with_context(|| format!("{key} must be a whole number, not {v:?}"))
                })
                .transpose()
        };
        let flag = |key: &str| -> anyhow::Result<Option<bool>> {
            match get(key) {
                None => Ok(None),
                Some(v) => domain::text::parse_flag(&v)
                    .map_err(|()| anyhow::anyhow!("{key} must be true or false, not {v:?}")),
            }
        };
        Ok(Layer {
            listen: get("CONSIGN_LISTEN"),
            data_dir: get("CONSIGN_DATA_DIR").map(PathBuf::from),
            database_url: get("CONSIGN_DATABASE_URL").or_else(|| get("DATABASE_URL")),
            public_url: get("CONSIGN_PUBLIC_URL"),
            body_limit: parse_num("CONSIGN_BODY_LIMIT")?.map(|v| v as usize),
            db_max_connections: parse_num("CONSIGN_DB_MAX_CONNECTIONS")?.map(|v| v as u32),
            log: get("CONSIGN_LOG"),
            secret_key: get("CONSIGN_SECRET_KEY"),
            exchange_rates: get("CONSIGN_EXCHANGE_RATES").map(PathBuf::from),
            rate_timeout_ms: parse_num("CONSIGN_RATE_TIMEOUT_MS")?,
            run_jobs: flag("CONSIGN_RUN_JOBS")?,
            // CONSIGN_ALLOW_PRIVATE_WEBHOOKS is the switch's former name, still read.
            allow_private_network: match flag("CONSIGN_ALLOW_PRIVATE_NETWORK")? {
                Some(v) => Some(v),
                None => flag("CONSIGN_ALLOW_PRIVATE_WEBHOOKS")?,
            },
            tracking_poll_interval_s: parse_num("CONSIGN_TRACKING_POLL_INTERVAL_S")?,
            refund_recheck_s: parse_num("CONSIGN_REFUND_RECHECK_S")?,
            smtp_host: get("CONSIGN_SMTP_HOST"),
            smtp_port: parse_num("CONSIGN_SMTP_PORT")?
                .map(|p| u16::try_from(p).context("CONSIGN_SMTP_PORT must be a port number"))
                .transpose()?,
            smtp_tls: get("CONSIGN_SMTP_TLS"),
            smtp_username: get("CONSIGN_SMTP_USERNAME"),
            smtp_password: get("CONSIGN_SMTP_PASSWORD"),
            smtp_from: get("CONSIGN_SMTP_FROM"),
            webhook_retry_scale_percent: parse_num("CONSIGN_WEBHOOK_RETRY_SCALE_PERCENT")?
                .map(|v| v as u32),
            job_lease_s: parse_num("CONSIGN_JOB_LEASE_S")?,
            s3_bucket: get("CONSIGN_S3_BUCKET"),
            s3_region: get("CONSIGN_S3_REGION"),
            s3_endpoint: get("CONSIGN_S3_ENDPOINT"),
            s3_access_key_id: get("CONSIGN_S3_ACCESS_KEY_ID"),
            s3_secret_access_key: get("CONSIGN_S3_SECRET_ACCESS_KEY"),
            s3_path_style: flag("CONSIGN_S3_PATH_STYLE")?,
            s3_prefix: get("CONSIGN_S3_PREFIX"),
            rate_limit_per_token: parse_num("CONSIGN_RATE_LIMIT_PER_TOKEN")?.map(|v| v as u32),
            rate_limit_token_burst: parse_num("CONSIGN_RATE_LIMIT_TOKEN_BURST")?.map(|v| v as u32),
            rate_limit_per_ip: parse_num("CONSIGN_RATE_LIMIT_PER_IP")?.map(|v| v as u32),
            rate_limit_ip_burst: parse_num("CONSIGN_RATE_LIMIT_IP_BURST")?.map(|v| v as u32),
            rate_limit_loopback: flag("CONSIGN_RATE_LIMIT_LOOPBACK")?,
        })
    }

    /// Applies defaults and checks values.
    pub fn resolve(self) -> anyhow::Result<Config> {
        let listen_raw = self.listen.unwrap_or_else(|| DEFAULT_LISTEN.into());
        let listen: SocketAddr = listen_raw.parse().with_context(|| {
            format!("listen address {listen_raw:?} is not HOST:PORT (e.g. 127.0.0.1:8080)")
        })?;
        let data_dir = self
            .data_dir
            .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
        let database_url = self
            .database_url
            .filter(|u| !u.trim().is_empty())
            .unwrap_or_else(|| {
                format!(
                    "sqlite://{}?mode=rwc",
                    data_dir.join("consign.db").display()
                )
            });
        store::Backend::from_url(&database_url).map_err(|e| anyhow::anyhow!("{e}"))?;
        let body_limit = self.body_limit.unwrap_or(api::DEFAULT_BODY_LIMIT);
        if body_limit < 1024 {
            bail!("body_limit must be at least 1024 bytes");
        }
        if let Some(url) = &self.public_url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                bail!("public_url must start with http:// or https://, not {url:?}");
            }
        }
        if let Some(key) = &self.secret_key {
            service::Cipher::from_hex(key).map_err(|e| anyhow::anyhow!("secret_key: {e}"))?;
        }
        let rate_timeout_ms = self
            .rate_timeout_ms
            .unwrap_or(service::DEFAULT_RATE_TIMEOUT.as_millis() as u64);
        if !(1..=120_000).contains(&rate_timeout_ms) {
            bail!("rate_timeout_ms must be from 1 to 120000, not {rate_timeout_ms}");
        }
        let is_sqlite = database_url.starts_with("sqlite:");
        let refund_recheck_s = self.refund_recheck_s.unwrap_or(900);
        if !(1..=86_400).contains(&refund_recheck_s) {
            bail!("refund_recheck_s must be from 1 to 86400 (a day), not {refund_recheck_s}");
        }
        let tracking_poll_interval_s = self.tracking_poll_interval_s.unwrap_or(3 * 3600);
        if !(60..=30 * 86_400).contains(&tracking_poll_interval_s) {
            bail!("tracking_poll_interval_s must be from 60 (a minute) to 2592000 (30 days), not {tracking_poll_interval_s}");
        }
        let smtp = match self.smtp_host.filter(|h| !h.trim().is_empty()) {
            None => None,
            Some(host) => {
                let tls = match self.smtp_tls.as_deref() {
                    None => service::notifications::SmtpTls::StartTls,
                    Some(t) => service::notifications::SmtpTls::parse(t).with_context(|| {
                        format!("smtp_tls must be none, starttls or tls, not {t:?}")
                    })?,
                };
                let port = self.smtp_port.unwrap_or(match tls {
                    service::notifications::SmtpTls::Implicit => 465,
                    service::notifications::SmtpTls::StartTls => 587,
                    service::notifications::SmtpTls::None => 25,
                });
                let smtp = service::notifications::SmtpConfig {
                    host: host.trim().to_string(),
                    port,
                    tls,
                    username: self.smtp_username.filter(|u| !u.is_empty()),
                    password: self.smtp_password,
                    from: self
                        .smtp_from
                        .unwrap_or_else(|| "Consign <noreply@localhost>".into()),
                };
                service::notifications::Mailer::new(&smtp).map_err(|e| anyhow::anyhow!(e))?;
                Some(smtp)
            }
        };
        let webhook_retry_scale_percent = self.webhook_retry_scale_percent.unwrap_or(100);
        if !(1..=1000).contains(&webhook_retry_scale_percent) {
            bail!("webhook_retry_scale_percent must be from 1 to 1000, not {webhook_retry_scale_percent}");
        }
        let job_lease_s = self.job_lease_s.unwrap_or(service::jobs::LEASE.as_secs());
        if !(1..=3600).contains(&job_lease_s) {
            bail!("job_lease_s must be from 1 to 3600, not {job_lease_s}");
        }
        let s3 = match self.s3_bucket.filter(|b| !b.trim().is_empty()) {
            None => None,
            Some(bucket) => {
                let endpoint = self.s3_endpoint.filter(|e| !e.trim().is_empty());
                if let Some(e) = &endpoint {
                    if !(e.starts_with("http://") || e.starts_with("https://")) {
                        bail!("s3_endpoint must start with http:// or https://, not {e:?}");
                    }
                }
                let s3 = service::files::S3Config {
                    bucket: bucket.trim().to_string(),
                    region: self.s3_region.unwrap_or_default(),
                    // Self-hosted stores (an endpoint is set) want path-style requests.
                    path_style: self.s3_path_style.unwrap_or(endpoint.is_some()),
                    endpoint,
                    access_key_id: self.s3_access_key_id.filter(|k| !k.is_empty()),
                    secret_access_key: self.s3_secret_access_key.filter(|k| !k.is_empty()),
                    prefix: self.s3_prefix.unwrap_or_default(),
                };
                service::files::S3Blobs::new(&s3).map_err(|e| anyhow::anyhow!("s3: {e}"))?;
                Some(s3)
            }
        };
        // 0 turns a budget off. Defaults: 100 requests/s per token (bursts of 500: a batch
        // import), 200/s per address (bursts of 1,000).
        let budget = |rate: Option<u32>, burst: Option<u32>, default: (u32, u32)| {
            let per_second = rate.unwrap_or(default.0);
            (per_second > 0).then(|| api::rate_limit::Budget {
                per_second,
                burst: burst.unwrap_or(default.1.max(per_second)),
            })
        };
        let rate_limits = api::rate_limit::RateLimits {
            per_token: budget(
                self.rate_limit_per_token,
                self.rate_limit_token_burst,
                (100, 500),
            ),
            per_ip: budget(
                self.rate_limit_per_ip,
                self.rate_limit_ip_burst,
                (200, 1000),
            ),
            limit_loopback: self.rate_limit_loopback.unwrap_or(false),
        };
        Ok(Config {
            rate_limits,
            s3,
            listen,
            data_dir,
            database_url,
            public_url: self.public_url.map(|u| u.trim_end_matches('/').to_string()),
            body_limit,
            db_max_connections: self.db_max_connections.unwrap_or(if is_sqlite {
                8
            } else {
                default_pg_connections()
            }),
            log: self.log.unwrap_or_else(|| "info".into()),
            secret_key: self.secret_key.filter(|k| !k.trim().is_empty()),
            exchange_rates: self.exchange_rates,
            rate_timeout_ms,
            run_jobs: self.run_jobs.unwrap_or(true),
            allow_private_network: self.allow_private_network.unwrap_or(false),
            tracking_poll_interval_s,
            refund_recheck_s,
            smtp,
            webhook_retry_scale_percent,
            job_lease_s,
        })
    }
}

/// PostgreSQL pool size when unset: 4 per CPU core, from 8 to 64. A pool much larger than the
/// cores that serve it only queues inside PostgreSQL (on 2 cores, 16 connections had a worse
/// p99 than 8 for the same throughput).
fn default_pg_connections() -> u32 {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get()) as u32;
    (4 * cores).clamp(8, 64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_work_with_nothing_set() {
        let c = Layer::default().resolve().unwrap();
        assert_eq!(c.listen.to_string(), DEFAULT_LISTEN);
        assert_eq!(c.database_url, "sqlite://data/consign.db?mode=rwc");
        assert_eq!(c.db_max_connections, 8);
    }

    #[test]
    fn layers_override_in_order() {
        let file: Layer = toml::from_str(
            "listen = \"127.0.0.1:9000\"\nlog = \"debug\"\ndata_dir = \"/srv/consign\"",
        )
        .unwrap();
        let env = Layer::from_env(|k| match k {
            "CONSIGN_LISTEN" => Some("127.0.0.1:9100".into()),
            "DATABASE_URL" => Some("postgres://u:pw@127.0.0.1/db".into()),
            _ => None,
        })
        .unwrap();
        let flags = Layer {
            log: Some("warn".into()),
            ..Default::default()
        };
        let c = file.overlay(env).overlay(flags).resolve().unwrap();
        assert_eq!(c.listen.port(), 9100);
        assert_eq!(c.log, "warn");
        assert_eq!(c.data_dir, PathBuf::from("/srv/consign"));
        assert_eq!(c.db_max_connections, default_pg_connections());
        assert!(
            !format!("{c:?}").contains("pw"),
            "Debug must redact the password"
        );
    }

    #[test]
    fn bad_values_are_explained() {
        let err = Layer {
            listen: Some("localhost".into()),
            ..Default::default()
        }
        .resolve()
        .unwrap_err();
        assert!(err.to_string().contains("HOST:PORT"));
        let err = Layer {
            database_url: Some("mysql://x".into()),
            ..Default::default()
        }
        .resolve()
        .unwrap_err();
        assert!(err.to_string().contains("sqlite:// or postgres://"));
        assert!(
            toml::from_str::<Layer>("listne = \"x\"").is_err(),
            "typos in the file are refused"
        );
        assert!(Layer::from_env(|k| (k == "CONSIGN_BODY_LIMIT").then(|| "big".into())).is_err());
        let err = Layer {
            rate_timeout_ms: Some(0),
            ..Default::default()
        }
        .resolve()
        .unwrap_err();
        assert!(err.to_string().contains("rate_timeout_ms"));
        let err =
            Layer::from_env(|k| (k == "CONSIGN_RUN_JOBS").then(|| "sometimes".into())).unwrap_err();
        assert!(err.to_string().contains("CONSIGN_RUN_JOBS"));
        let off = Layer::from_env(|k| (k == "CONSIGN_RUN_JOBS").then(|| "off".into())).unwrap();
        assert!(!off.resolve().unwrap().run_jobs);
    }
}
