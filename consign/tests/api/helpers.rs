use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};

use consign::config::Layer;
use consign::Application;
use domain::account::Mode;
use reqwest::{Client, Response, StatusCode};
use serde_json::Value;
use service::{accounts, Services};
use sqlx::Connection;

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A running server on a random port with its own database, plus an account and a test token.
pub struct TestApp {
    pub base: String,
    pub client: Client,
    pub token: String,
    pub services: Services,
    pub database_url: String,
    pub data_dir: PathBuf,
}

fn unique(prefix: &str) -> String {
    format!(
        "{prefix}_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        domain::ObjectId::new().to_string().get(20..).unwrap()
    )
}

/// A fresh database URL: SQLite in a temp dir by default, or a new PostgreSQL database when
/// `CONSIGN_TEST_DATABASE_URL` names a PostgreSQL server.
pub async fn fresh_database(data_dir: &std::path::Path) -> String {
    match std::env::var("CONSIGN_TEST_DATABASE_URL")
        .ok()
        .filter(|u| u.starts_with("postgres"))
    {
        Some(server) => {
            let name = unique("consign_test");
            let mut conn = sqlx::PgConnection::connect(&server)
                .await
                .expect("connect to test PostgreSQL");
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&mut conn)
                .await
                .expect("create test database");
            let (base, _) = server
                .rsplit_once('/')
                .expect("postgres URL has a database path");
            format!("{base}/{name}")
        }
        None => format!(
            "sqlite://{}?mode=rwc",
            data_dir.join("consign.db").display()
        ),
    }
}

/// Who the first token belongs to.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum FirstStart {
    /// A fresh merchant account (most tests).
    Merchant,
    /// The demo account `consign serve` seeds on an empty database.
    Demo,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_as(FirstStart::Merchant).await
}

pub async fn spawn_app_as(first_start: FirstStart) -> TestApp {
    spawn(first_start, true).await
}

/// A server that takes requests but runs no jobs (an API-only node, or a server about to crash).
pub async fn spawn_app_without_jobs() -> TestApp {
    spawn(FirstStart::Merchant, false).await
}

async fn spawn(first_start: FirstStart, run_jobs: bool) -> TestApp {
    spawn_with(
        first_start,
        Layer {
            run_jobs: Some(run_jobs),
            ..Default::default()
        },
    )
    .await
}

/// A server with extra settings (SMTP, retry scale, …) and a fresh merchant account.
pub async fn spawn_app_with(settings: Layer) -> TestApp {
    spawn_with(FirstStart::Merchant, settings).await
}

async fn spawn_with(first_start: FirstStart, settings: Layer) -> TestApp {
    let data_dir = std::env::temp_dir().join(unique("consign-test"));
    std::fs::create_dir_all(&data_dir).unwrap();
    let database_url = fresh_database(&data_dir).await;
    let (base, services) = start_configured(
        Layer {
            database_url: Some(database_url.clone()),
            data_dir: Some(data_dir.clone()),
            ..Default::default()
        }
        .overlay(settings),
    )
    .await;
    let token = match first_start {
        FirstStart::Demo => {
            accounts::ensure_demo(&services)
                .await
                .unwrap()
                .expect("a fresh database gets the demo")
                .1
        }
        FirstStart::Merchant => {
            let account = accounts::create_account(&services, &unique("merchant"))
                .await
                .unwrap();
            accounts::create_token(&services, &account.name, Mode::Test)
                .await
                .unwrap()
                .1
        }
    };
    TestApp {
        base,
        client: Client::new(),
        token,
        services,
        database_url,
        data_dir,
    }
}

/// Starts a server on an existing database (`run_jobs` = whether it runs the job worker);
/// returns its base URL and services.
pub async fn start_server(
    database_url: &str,
    data_dir: &std::path::Path,
    run_jobs: bool,
) -> (String, Services) {
    start_configured(Layer {
        database_url: Some(database_url.to_string()),
        data_dir: Some(data_dir.to_path_buf()),
        run_jobs: Some(run_jobs),
        ..Default::default()
    })
    .await
}

/// Starts a server with `settings` (plus a random port and a small pool).
pub async fn start_configured(settings: Layer) -> (String, Services) {
    let config = Layer {
        listen: Some("127.0.0.1:0".into()),
        db_max_connections: Some(4),
        // Test receivers listen on loopback.
        allow_private_network: Some(true),
        ..Default::default()
    }
    .overlay(settings)
    .resolve()
    .unwrap();
    let app = Application::build(config)
        .await
        .expect("application builds");
    let base = format!("http://127.0.0.1:{}", app.port());
    let services = app.services().clone();
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    // The listener is bound before the server task starts, so this answers as soon as the task runs.
    let health = Client::new()
        .get(format!("{base}/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    (base, services)
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The name of the token's account (what `--account` takes on the command line).
    pub async fn account_name(&self) -> String {
        let mut conn = self.services.store.conn().await.unwrap();
        store::accounts::authenticate(&mut conn, &self.token)
            .await
            .unwrap()
            .account_name
    }

    /// A second account with its own token.
    pub async fn other_account_token(&self, mode: Mode) -> String {
        let account = accounts::create_account(&self.services, &unique("other"))
            .await
            .unwrap();
        accounts::create_token(&self.services, &account.name, mode)
            .await
            .unwrap()
            .1
    }

    /// The same server seen by a second account with a token of `mode` (its own objects, its
    /// own test carrier), for tests that put two merchants side by side.
    pub async fn other_account(&self, mode: Mode) -> TestApp {
        TestApp {
            base: self.base.clone(),
            client: self.client.clone(),
            token: self.other_account_token(mode).await,
            services: self.services.clone(),
            database_url: self.database_url.clone(),
            data_dir: self.data_dir.clone(),
        }
    }

    /// A token of this app's account in another mode.
    pub async fn token_in_mode(&self, mode: Mode) -> String {
        let p = accounts::authenticate(&self.services, &self.token)
            .await
            .unwrap();
        accounts::create_token(&self.services, &p.account_name, mode)
            .await
            .unwrap()
            .1
    }

    pub async fn post_json_as(&self, token: &str, path: &str, body: &Value) -> Response {
        self.client
            .post(self.url(path))
            .header("Authorization", format!("ShippoToken {token}"))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Response {
        self.post_json_as(&self.token, path, body).await
    }

    pub async fn post_form(&self, path: &str, pairs: &[(&str, &str)]) -> Response {
        self.client
            .post(self.url(path))
            .header("Authorization", format!("ShippoToken {}", self.token))
            .form(pairs)
            .send()
            .await
            .unwrap()
    }

    pub async fn get_as(&self, token: &str, path: &str) -> Response {
        self.client
            .get(self.url(path))
            .header("Authorization", format!("ShippoToken {token}"))
            .send()
            .await
            .unwrap()
    }

    pub async fn get(&self, path: &str) -> Response {
        self.get_as(&self.token, path).await
    }

    /// Creates an address and returns its JSON, asserting 201.
    pub async fn create_address(&self, body: &Value) -> Value {
        let res = self.post_json("/addresses", body).await;
        expect(res, StatusCode::CREATED).await
    }

    /// Creates a parcel and returns its JSON, asserting 201.
    pub async fn create_parcel(&self, body: &Value) -> Value {
        let res = self.post_json("/parcels", body).await;
        expect(res, StatusCode::CREATED).await
    }
}

/// Asserts the status and an `application/json` body, and returns the body.
pub async fn expect(res: Response, status: StatusCode) -> Value {
    let got = res.status();
    let content_type = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let text = res.text().await.unwrap();
    assert_eq!(got, status, "unexpected status; body: {text}");
    assert!(
        content_type.starts_with("application/json"),
        "content-type {content_type:?}; body: {text}"
    );
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("body is not JSON ({e}): {text}"))
}

/// The seed's example purchase address.
pub fn shawn() -> Value {
    serde_json::json!({
        "name": "Shawn Ippotle",
        "company": "Shippo",
        "street1": "215 Clayton St.",
        "street2": "",
        "city": "San Francisco",
        "state": "CA",
        "zip": "94117",
        "country": "US",
        "phone": "+1 555 341 9393",
        "email": "shippotle@goshippo.com",
        "is_residential": true,
        "metadata": "Customer ID 123456"
    })
}

/// The seed's example parcel.
pub fn seed_parcel() -> Value {
    serde_json::json!({
        "length": "5", "width": "5", "height": "5", "distance_unit": "cm",
        "weight": "2", "mass_unit": "lb", "metadata": "Customer ID 123456"
    })
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ`
pub fn is_shippo_time(v: &Value) -> bool {
    let s = v.as_str().unwrap_or("");
    s.len() == 24
        && s.ends_with('Z')
        && s.as_bytes()[10] == b'T'
        && s.as_bytes()[19] == b'.'
        && domain::Timestamp::parse(s).is_some()
}

/// 32 lowercase hex characters.
pub fn is_object_id(v: &Value) -> bool {
    let s = v.as_str().unwrap_or("");
    s.len() == 32
        && s.bytes()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
}

/// A child server, killed if the test fails before it does.
pub struct Server(pub Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A `consign serve` child process on `database_url` with `env` set; returns it, its base URL and
/// (on the first start, marked by a file `fresh` in `data_dir`) the demo token it printed.
pub fn serve(
    database_url: &str,
    data_dir: &std::path::Path,
    env: &[(&str, &str)],
) -> (Server, String, Option<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_consign"))
        .arg("serve")
        .env_remove("CONSIGN_DATABASE_URL")
        .env("DATABASE_URL", database_url)
        .env("CONSIGN_DATA_DIR", data_dir)
        .env("CONSIGN_LISTEN", "127.0.0.1:0")
        .env("CONSIGN_LOG", "warn")
        .env("CONSIGN_ALLOW_PRIVATE_NETWORK", "true")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .spawn()
        .expect("consign serve starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut base = None;
    let mut token = None;
    while let Some(Ok(line)) = lines.next() {
        if let Some(rest) = line.split("listening on ").nth(1) {
            base = Some(rest.trim().to_string());
            if token.is_some() || !data_dir.join("fresh").exists() {
                break;
            }
        }
        if let Some(t) = line.trim().strip_prefix("shippo_test_") {
            token = Some(format!("shippo_test_{t}"));
            break;
        }
    }
    // Keep draining stdout so the child never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (
        Server(child),
        base.expect("the server prints its address"),
        token,
    )
}

/// Waits until no job is due or running on `database_url` — the outbox drained: emails sent,
/// webhooks attempted, labels bought — then a short grace for answers already on the wire. A
/// "nothing more arrived" check looks after the work is done, not after a guessed sleep.
pub async fn settled(database_url: &str) {
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(database_url)
        .await
        .expect("connect to the test database");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let now = domain::Timestamp::now().millis();
        let due: i64 = sqlx::Row::get(
            &sqlx::query(
                "SELECT COUNT(*) AS n FROM jobs WHERE done_ms IS NULL AND run_at_ms <= $1",
            )
            .bind(now)
            .fetch_one(&mut conn)
            .await
            .expect("count due jobs"),
            "n",
        );
        if due == 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{due} jobs still due after 30 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
}
