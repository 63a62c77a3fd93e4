//! The buildable application: binds its listener on build (so tests can use port 0) and serves
//! until a shutdown signal.

use std::future::Future;
use std::net::SocketAddr;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use domain::fx::ExchangeRates;
use service::{Cipher, Services};
use store::Store;
use tokio::net::TcpListener;

use crate::Config;

/// Opens the store for `config`, creating the data directory for SQLite, and migrates it.
pub async fn open_store(config: &Config) -> anyhow::Result<Store> {
    if config.database_url.starts_with("sqlite:") {
        std::fs::create_dir_all(&config.data_dir).with_context(|| {
            format!("cannot create data directory {}", config.data_dir.display())
        })?;
    }
    let store = Store::connect(&config.database_url, config.db_max_connections).await?;
    store.migrate().await?;
    Ok(store)
}

/// The credential cipher for `config`: the configured key, else `<data_dir>/secret.key`.
pub fn open_cipher(config: &Config) -> anyhow::Result<Cipher> {
    match &config.secret_key {
        Some(key) => Ok(Cipher::from_hex(key)?),
        None => {
            std::fs::create_dir_all(&config.data_dir).with_context(|| {
                format!("cannot create data directory {}", config.data_dir.display())
            })?;
            Ok(Cipher::from_key_file(&config.data_dir.join("secret.key"))?)
        }
    }
}

/// The store and every collaborator the use cases need.
pub async fn open_services(config: &Config) -> anyhow::Result<Services> {
    let mut services = Services::new(open_store(config).await?, open_cipher(config)?);
    if let Some(path) = &config.exchange_rates {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read exchange_rates {}", path.display()))?;
        let table = ExchangeRates::from_ecb_csv(&text)
            .map_err(|e| anyhow::anyhow!("exchange_rates {}: {e}", path.display()))?;
        services.exchange_rates = Arc::new(table);
    }
    services.rate_timeout = Duration::from_millis(config.rate_timeout_ms);
    // Label, invoice and manifest files: the configured bucket, else beside the database in
    // <data_dir>/files.
    services.blobs = match &config.s3 {
        Some(s3) => Arc::new(service::files::S3Blobs::new(s3)?),
        None => Arc::new(service::files::LocalBlobs::new(
            config.data_dir.join("files"),
        )),
    };
    services.wire = Arc::new(api::tracks::ShippoWire);
    // One switch for every call Consign makes for a user: providers, downloads, syncs, webhooks.
    let guard = carriers::http::Guard {
        allow_private: config.allow_private_network,
    };
    services.http = carriers::http::Client::new(carriers::http::Policy::default(), guard);
    services.webhooks = service::webhooks::WebhookSender::new(guard);
    services.webhooks.retry_scale_percent = config.webhook_retry_scale_percent;
    services.job_lease = Duration::from_secs(config.job_lease_s);
    services.mailer = config
        .smtp
        .as_ref()
        .map(service::notifications::Mailer::new)
        .transpose()
        .map_err(|e| anyhow::anyhow!(e))?;
    services.tracking.poll_interval = Duration::from_secs(config.tracking_poll_interval_s);
    services.refund_recheck = Duration::from_secs(config.refund_recheck_s);
    if let Some(url) = &config.public_url {
        services.public_url = url.clone();
    }
    Ok(services)
}

/// A running-to-be server.
pub struct Application {
    listener: TcpListener,
    services: Services,
    config: Config,
}

impl Application {
    /// Opens and migrates the database and binds the listener.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let services = open_services(&config).await?;
        Self::with_services(config, services).await
    }

    /// Binds the listener for already opened services.
    pub async fn with_services(config: Config, mut services: Services) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.listen))?;
        if config.public_url.is_none() {
            // Links in emails and webhooks need an absolute base; without public_url it is
            // the address this server listens on.
            let addr = listener.local_addr()?;
            services.public_url = format!("http://{addr}");
        }
        Ok(Self {
            listener,
            services,
            config,
        })
    }

    /// The bound address (with the real port when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("bound listener has an address")
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.local_addr().port()
    }

    /// The services the server runs on.
    pub fn services(&self) -> &Services {
        &self.services
    }

    /// Serves until `shutdown` completes, then finishes in-flight requests and closes the pool.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let app = api::app(
            self.services.clone(),
            api::HttpConfig {
                public_url: self.config.public_url.clone(),
                body_limit: self.config.body_limit,
                rate_limits: self.config.rate_limits.clone(),
            },
        );
        // Accounts from before the test carrier existed get theirs; then the job worker starts.
        service::carrier_accounts::ensure_test_carriers(&self.services).await?;
        let worker = self
            .config
            .run_jobs
            .then(|| tokio::spawn(service::jobs::run_worker(self.services.clone())));
        let poller = self
            .config
            .run_jobs
            .then(|| tokio::spawn(service::tracking::run_poller(self.services.clone())));
        // The peer's address reaches the rate limiter.
        let make_service =
            axum::ServiceExt::<axum::extract::Request>::into_make_service_with_connect_info::<
                std::net::SocketAddr,
            >(app);
        axum::serve(self.listener, make_service)
            .with_graceful_shutdown(shutdown)
            .await?;
        // Jobs the worker had claimed keep their lease and run again after the next start.
        for task in [worker, poller].into_iter().flatten() {
            task.abort();
        }
        self.services.store.close().await;
        Ok(())
    }
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down");
}
