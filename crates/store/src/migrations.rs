//! Embedded migrations, one history per backend, applied with sqlx's migrator.

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;

use sqlx::error::BoxDynError;
use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};
use sqlx::AnyPool;

use crate::{Backend, StoreError};

/// `(version, description, sqlite sql, postgres sql)`; append new migrations at the end.
const MIGRATIONS: &[(i64, &str, &str, &str)] = &[
    (
        1,
        "foundation",
        include_str!("../migrations/sqlite/0001_foundation.sql"),
        include_str!("../migrations/postgres/0001_foundation.sql"),
    ),
    (
        2,
        "carrier accounts",
        include_str!("../migrations/sqlite/0002_carrier_accounts.sql"),
        include_str!("../migrations/postgres/0002_carrier_accounts.sql"),
    ),
    (
        3,
        "shipments, rates and jobs",
        include_str!("../migrations/sqlite/0003_shipments.sql"),
        include_str!("../migrations/postgres/0003_shipments.sql"),
    ),
    (
        4,
        "customs",
        include_str!("../migrations/sqlite/0004_customs.sql"),
        include_str!("../migrations/postgres/0004_customs.sql"),
    ),
    (
        5,
        "labels: transactions, refunds, manifests",
        include_str!("../migrations/sqlite/0005_labels.sql"),
        include_str!("../migrations/postgres/0005_labels.sql"),
    ),
    (
        6,
        "tracking, scan keys, webhooks, notifications",
        include_str!("../migrations/sqlite/0006_tracking.sql"),
        include_str!("../migrations/postgres/0006_tracking.sql"),
    ),
    (
        7,
        "tracking serials by series",
        include_str!("../migrations/sqlite/0007_serial_series.sql"),
        include_str!("../migrations/postgres/0007_serial_series.sql"),
    ),
    (
        8,
        "shipments' checked extras",
        include_str!("../migrations/sqlite/0008_shipment_extras.sql"),
        include_str!("../migrations/postgres/0008_shipment_extras.sql"),
    ),
    (
        9,
        "what carrier adapters keep about labels",
        include_str!("../migrations/sqlite/0009_transaction_remote.sql"),
        include_str!("../migrations/postgres/0009_transaction_remote.sql"),
    ),
    (
        10,
        "orders, batches, user parcel templates",
        include_str!("../migrations/sqlite/0010_orders_batches.sql"),
        include_str!("../migrations/postgres/0010_orders_batches.sql"),
    ),
    (
        11,
        "crowdfunding projects, pledges, dispatches, provider sync",
        include_str!("../migrations/sqlite/0011_crowdfunding.sql"),
        include_str!("../migrations/postgres/0011_crowdfunding.sql"),
    ),
    (
        12,
        "users of the web app and their sessions",
        include_str!("../migrations/sqlite/0012_users_sessions.sql"),
        include_str!("../migrations/postgres/0012_users_sessions.sql"),
    ),
    (
        13,
        "web inbox: search indexes, batch idempotency",
        include_str!("../migrations/sqlite/0013_web_inbox.sql"),
        include_str!("../migrations/postgres/0013_web_inbox.sql"),
    ),
    (
        14,
        "links that set a user's password: invitations and resets",
        include_str!("../migrations/sqlite/0014_user_links.sql"),
        include_str!("../migrations/postgres/0014_user_links.sql"),
    ),
    (
        15,
        "labels and spend per day for the home page's chart",
        include_str!("../migrations/sqlite/0015_label_days.sql"),
        include_str!("../migrations/postgres/0015_label_days.sql"),
    ),
    (
        16,
        "the inbox's saved views and the API's recent errors",
        include_str!("../migrations/sqlite/0016_views_api_errors.sql"),
        include_str!("../migrations/postgres/0016_views_api_errors.sql"),
    ),
    (
        17,
        "an account's branding",
        include_str!("../migrations/sqlite/0017_branding.sql"),
        include_str!("../migrations/postgres/0017_branding.sql"),
    ),
    (
        18,
        "indexes for the home page's exceptions",
        include_str!("../migrations/sqlite/0018_home_exceptions.sql"),
        include_str!("../migrations/postgres/0018_home_exceptions.sql"),
    ),
];

#[derive(Debug)]
struct Embedded(Backend);

impl MigrationSource<'static> for Embedded {
    fn resolve(self) -> Pin<Box<dyn Future<Output = Result<Vec<Migration>, BoxDynError>> + Send>> {
        Box::pin(async move {
            Ok(MIGRATIONS
                .iter()
                .map(|(version, description, sqlite, postgres)| {
                    let sql = match self.0 {
                        Backend::Sqlite => sqlite,
                        Backend::Postgres => postgres,
                    };
                    Migration::new(
                        *version,
                        Cow::Borrowed(description),
                        MigrationType::Simple,
                        Cow::Borrowed(sql),
                        false,
                    )
                })
                .collect())
        })
    }
}

pub(crate) async fn run(pool: &AnyPool, backend: Backend) -> Result<(), StoreError> {
    let migrator = Migrator::new(Embedded(backend)).await?;
    migrator.run(pool).await?;
    Ok(())
}
