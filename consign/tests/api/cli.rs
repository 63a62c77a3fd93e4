//! The `consign` command line, run as a user runs it, against the same database as a server.

use std::process::Command;

use reqwest::StatusCode;

use crate::helpers::{expect, spawn_app};

pub(crate) fn consign(app: &crate::helpers::TestApp, args: &[&str]) -> (bool, String, String) {
    consign_with(app, args, &[])
}

/// `consign` run off the test's runtime, which meanwhile keeps serving what the command calls
/// (fake providers live on it).
async fn consign_beside(
    app: &crate::helpers::TestApp,
    args: &[&str],
    env: &[(&str, &str)],
) -> (bool, String, String) {
    let owned = |v: &[&str]| v.iter().map(|a| a.to_string()).collect::<Vec<_>>();
    let (args, env) = (
        owned(args),
        env.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<Vec<_>>(),
    );
    let (database_url, data_dir) = (app.database_url.clone(), app.data_dir.clone());
    tokio::task::spawn_blocking(move || {
        let out = Command::new(env!("CARGO_BIN_EXE_consign"))
            .args(&args)
            .envs(env)
            .env_remove("DATABASE_URL")
            .env("CONSIGN_DATABASE_URL", &database_url)
            .env("CONSIGN_DATA_DIR", &data_dir)
            .env("CONSIGN_LOG", "warn")
            .output()
            .expect("consign runs");
        (
            out.status.success(),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    })
    .await
    .unwrap()
}

/// `consign` with extra environment variables.
pub(crate) fn consign_with(
    app: &crate::helpers::TestApp,
    args: &[&str],
    env: &[(&str, &str)],
) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_consign"))
        .args(args)
        .envs(env.iter().copied())
        .env_remove("DATABASE_URL")
        .env("CONSIGN_DATABASE_URL", &app.database_url)
        .env("CONSIGN_DATA_DIR", &app.data_dir)
        .env("CONSIGN_LOG", "warn")
        .output()
        .expect("consign runs");
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[tokio::test]
async fn token_create_prints_only_a_working_token() {
    let app = spawn_app().await;
    let (ok, stdout, stderr) = consign(&app, &["token", "create", "--mode", "test"]);
    assert!(ok, "{stderr}");
    let token = stdout.strip_suffix('\n').expect("one line");
    assert!(
        !token.contains('\n'),
        "only the token on stdout: {stdout:?}"
    );
    assert!(
        token.starts_with("shippo_test_") && token.len() == "shippo_test_".len() + 40,
        "{token}"
    );
    let body = expect(app.get_as(token, "/addresses").await, StatusCode::OK).await;
    assert_eq!(body["count"], 0);
}

#[tokio::test]
async fn accounts_tokens_list_and_revoke() {
    let app = spawn_app().await;
    let (ok, stdout, stderr) = consign(&app, &["account", "create", "acme@example.com"]);
    assert!(ok, "{stderr}");
    assert_eq!(stdout.trim().len(), 32, "prints the account id: {stdout}");
    let (ok, _, stderr) = consign(&app, &["account", "create", "acme@example.com"]);
    assert!(!ok);
    assert!(stderr.contains("already exists"), "{stderr}");

    let (ok, live, _) = consign(
        &app,
        &[
            "token",
            "create",
            "--mode",
            "live",
            "--account",
            "acme@example.com",
        ],
    );
    assert!(ok);
    let live = live.trim();
    assert!(live.starts_with("shippo_live_"));
    let created = app
        .post_json_as(
            live,
            "/addresses",
            &serde_json::json!({"country": "US", "zip": "94117"}),
        )
        .await;
    let created = expect(created, StatusCode::CREATED).await;
    assert_eq!(created["object_owner"], "acme@example.com");
    assert_eq!(created["test"], false);

    let (ok, listing, _) = consign(&app, &["token", "list", "--account", "acme@example.com"]);
    assert!(ok);
    assert!(listing.contains(&live[..20]), "{listing}");
    assert!(
        !listing.contains(live),
        "the full token is never shown again"
    );

    let (ok, _, stderr) = consign(
        &app,
        &["token", "revoke", live, "--account", "acme@example.com"],
    );
    assert!(ok, "{stderr}");
    expect(
        app.get_as(live, "/addresses").await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    let (_, listing, _) = consign(&app, &["token", "list", "--account", "acme@example.com"]);
    assert!(
        !listing.lines().nth(1).unwrap().trim_end().ends_with(" -"),
        "revoked tokens show their revocation time: {listing}"
    );

    let (ok, _, stderr) = consign(
        &app,
        &[
            "token",
            "create",
            "--mode",
            "prod",
            "--account",
            "acme@example.com",
        ],
    );
    assert!(!ok);
    assert!(stderr.contains("test or live"), "{stderr}");
    let (ok, _, stderr) = consign(&app, &["token", "create", "--account", "nobody"]);
    assert!(!ok);
    assert!(stderr.contains("no account named"), "{stderr}");
}

#[tokio::test]
async fn rate_cards_upload_and_download_from_the_command_line() {
    let app = spawn_app().await;
    let (ok, _, stderr) = consign(&app, &["account", "create", "courier@example.com"]);
    assert!(ok, "{stderr}");
    let (_, token, _) = consign(
        &app,
        &[
            "token",
            "create",
            "--mode",
            "live",
            "--account",
            "courier@example.com",
        ],
    );
    let created = app
        .post_json_as(
            token.trim(),
            "/carrier_accounts",
            &serde_json::json!({"carrier": "ratecard", "account_id": "cl-1"}),
        )
        .await;
    let id = expect(created, StatusCode::CREATED).await["object_id"]
        .as_str()
        .unwrap()
        .to_string();
    let csv_path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../crates/carriers/tests/fixtures/courier-cl.csv"
    );
    let (ok, stdout, stderr) = consign(
        &app,
        &[
            "ratecard",
            "upload",
            "--carrier-account",
            &id,
            csv_path,
            "--account",
            "courier@example.com",
        ],
    );
    assert!(ok, "{stderr}");
    assert_eq!(stdout.trim(), "1");
    let (ok, csv, stderr) = consign(
        &app,
        &[
            "ratecard",
            "download",
            "--carrier-account",
            &id,
            "--format",
            "csv",
            "--account",
            "courier@example.com",
        ],
    );
    assert!(ok, "{stderr}");
    assert_eq!(
        carriers::rate_card::parse_csv(&csv).unwrap(),
        carriers::rate_card::parse_csv(include_str!(
            "../../../crates/carriers/tests/fixtures/courier-cl.csv"
        ))
        .unwrap()
    );
    // Another account cannot touch it; a broken file is refused with its row.
    consign(&app, &["account", "create", "other@example.com"]);
    let (ok, _, stderr) = consign(
        &app,
        &[
            "ratecard",
            "download",
            "--carrier-account",
            &id,
            "--account",
            "other@example.com",
        ],
    );
    assert!(!ok && stderr.contains("no rate card"), "{stderr}");
    let bad = app.data_dir.join("bad.csv");
    std::fs::write(&bad, "card,X,CLP,kg,cm\nservice,a,A\nprice,a,Z,1,1\n").unwrap();
    let (ok, _, stderr) = consign(
        &app,
        &[
            "ratecard",
            "upload",
            "--carrier-account",
            &id,
            bad.to_str().unwrap(),
            "--account",
            "courier@example.com",
        ],
    );
    assert!(!ok && stderr.contains("row 3 (price)"), "{stderr}");
}

#[tokio::test]
async fn the_first_start_prints_a_request_that_gets_rates() {
    use std::io::{BufRead, BufReader};
    let dir = std::env::temp_dir().join(format!("consign-serve-{}", domain::ObjectId::new()));
    let mut child = Command::new(env!("CARGO_BIN_EXE_consign"))
        .arg("serve")
        .env_remove("DATABASE_URL")
        .env_remove("CONSIGN_DATABASE_URL")
        .env("CONSIGN_DATA_DIR", &dir)
        .env("CONSIGN_LISTEN", "127.0.0.1:0")
        .env("CONSIGN_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("consign serve starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut banner = Vec::new();
    let curl = loop {
        let line = lines.next().expect("the banner has a curl line").unwrap();
        if line.trim_start().starts_with("curl ") {
            break line;
        }
        banner.push(line);
    };
    // The demo owner's sign-in for the web app, beside the token: the email, then a password.
    let at = banner
        .iter()
        .position(|l| l.trim() == "owner@demo.example")
        .unwrap_or_else(|| panic!("the owner's email in the banner: {banner:?}"));
    let owner_password = banner[at + 1].trim().to_string();
    assert_eq!(owner_password.len(), 20, "{banner:?}");
    // Run what was printed: URL, token and body exactly as shown.
    let url = curl.split_whitespace().nth(2).unwrap().to_string();
    let token = curl
        .split("ShippoToken ")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let body = curl
        .split("-d '")
        .nth(1)
        .unwrap()
        .trim_end_matches('\'')
        .to_string();
    let res = reqwest::Client::new()
        .post(&url)
        .header("Authorization", format!("ShippoToken {token}"))
        .header("Content-Type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let shipment = expect(res, StatusCode::CREATED).await;
    let _ = child.kill();
    let _ = child.wait();
    // That owner exists, with that password.
    let store = store::Store::connect(
        &format!("sqlite://{}?mode=rwc", dir.join("consign.db").display()),
        2,
    )
    .await
    .unwrap();
    let services =
        service::Services::new(store, service::Cipher::from_hex(&"0".repeat(64)).unwrap());
    let session = service::users::sign_in(&services, "owner@demo.example", &owner_password)
        .await
        .expect("the printed password signs the owner in");
    assert_eq!(session.signed_in.user.role, domain::user::Role::Owner);
    let providers: std::collections::BTreeSet<&str> = shipment["rates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["provider"].as_str().unwrap())
        .collect();
    assert_eq!(
        providers.into_iter().collect::<Vec<_>>(),
        ["Consign Demo Courier", "USPS"],
        "{shipment}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// A CSV of orders to Porto (one line item of 0.5 kg each), numbered `prefix-0…`.
fn orders_file(app: &crate::helpers::TestApp, name: &str, rows: &[&str]) -> String {
    let mut csv = String::from("order_number,ship_to_name,ship_to_street1,ship_to_city,ship_to_zip,ship_to_country,title,quantity,weight,weight_unit\n");
    for r in rows {
        csv.push_str(r);
        csv.push('\n');
    }
    let path = app.data_dir.join(name);
    std::fs::write(&path, csv).unwrap();
    path.to_str().unwrap().to_string()
}

/// `batch create --from-orders` with the courier's `std` service and a 30×20×10 cm box.
fn batch_create_args<'a>(account: &'a str, from: &'a str, name: &'a str) -> Vec<&'a str> {
    vec![
        "batch",
        "create",
        "--from-orders",
        "--carrier-account",
        account,
        "--servicelevel",
        "std",
        "--address-from",
        from,
        "--length",
        "30",
        "--width",
        "20",
        "--height",
        "10",
        "--distance-unit",
        "cm",
        "--account",
        name,
    ]
}

/// Issue 21: the command line works in test mode unless told otherwise — the mode of the token
/// `consign serve` prints — so what it imports is what that token sees, the import says which
/// mode it wrote, and an id that exists only in the other mode is named as such.
#[tokio::test]
async fn the_command_line_defaults_to_test_mode_and_names_a_mode_mismatch() {
    use crate::labels::{courier, lisboa};
    let app = spawn_app().await;
    let name = app.account_name().await;
    let file = orders_file(
        &app,
        "orders.csv",
        &["M-1,Ana,Rua 1,Porto,4000-447,PT,Mug,1,0.5,kg"],
    );
    let (ok, out, err) = consign(&app, &["orders", "import", &file, "--account", &name]);
    assert!(ok, "{err}");
    assert!(
        out.starts_with("1 rows, 1 orders: 1 created") && out.contains("test mode"),
        "{out}"
    );
    let list = expect(app.get("/orders").await, StatusCode::OK).await;
    assert_eq!(
        list["results"].as_array().unwrap().len(),
        1,
        "the test token sees the orders imported without --mode"
    );

    // The sender address made with a live token is not the test mode's: the error says where
    // it is and how to reach it.
    let live = app.token_in_mode(domain::account::Mode::Live).await;
    let from = expect(
        app.post_json_as(&live, "/addresses", &lisboa()).await,
        StatusCode::CREATED,
    )
    .await;
    let from = from["object_id"].as_str().unwrap();
    let account = courier(&app).await;
    let (ok, out, err) = consign(&app, &batch_create_args(&account, from, &name));
    assert!(!ok && out.is_empty(), "{out}");
    assert!(
        err.contains(&format!(
            "--address-from {from} exists in live mode, not in test mode; pass --mode live"
        )),
        "{err}"
    );

    // A test batch (the default) is named as such to a live purchase.
    let from = app.create_address(&lisboa()).await;
    let from = from["object_id"].as_str().unwrap();
    let (ok, out, err) = consign(&app, &batch_create_args(&account, from, &name));
    assert!(ok, "{err}");
    let id = out.trim().to_string();
    let (ok, _, err) = consign(
        &app,
        &[
            "batch",
            "purchase",
            &id,
            "--mode",
            "live",
            "--account",
            &name,
        ],
    );
    assert!(!ok);
    assert!(
        err.contains(&format!(
            "batch {id} exists in test mode, not in live mode; pass --mode test"
        )),
        "{err}"
    );
    let nothing = domain::ObjectId::new().to_string();
    let (ok, _, err) = consign(&app, &["batch", "purchase", &nothing, "--account", &name]);
    assert!(!ok);
    assert!(
        err.contains(&format!("no batch {nothing} in test mode")),
        "{err}"
    );
}

/// Issue 21: `batch create` names each shipment that is not valid, with its order and why, and
/// fails when none is; `batch purchase` refuses an INVALID batch naming its shipments; `batch
/// remove` takes them out; the purchase prints the merged label files where they can be opened
/// (paths, with local storage), not storage keys.
#[tokio::test]
async fn batches_on_the_command_line_explain_invalid_shipments_and_print_label_files() {
    use crate::labels::{courier, lisboa};
    let app = spawn_app().await;
    let name = app.account_name().await;
    let account = courier(&app).await;
    let from = app.create_address(&lisboa()).await;
    let from = from["object_id"].as_str().unwrap();
    // Madrid only: the courier's card has no zone for Spain.
    let file = orders_file(
        &app,
        "es.csv",
        &["E-1,Eva,Calle Mayor 1,Madrid,28013,ES,Mug,1,0.5,kg"],
    );
    let (ok, _, err) = consign(&app, &["orders", "import", &file, "--account", &name]);
    assert!(ok, "{err}");
    let (ok, _, err) = consign(&app, &batch_create_args(&account, from, &name));
    assert!(!ok, "nothing valid is a failure: {err}");
    // The line names the order, its batch shipment, its state and why.
    assert!(
        err.lines()
            .any(|l| l.starts_with("order E-1 (batch shipment ")
                && (l.contains("): INVALID: ") || l.contains("): INCOMPLETE: "))
                && !l.ends_with("no reason given")),
        "{err}"
    );
    assert!(err.contains("is valid: nothing can be bought"), "{err}");

    // With an order to Porto: one valid, one invalid.
    let file = orders_file(
        &app,
        "pt.csv",
        &["P-1,Ana,Rua 1,Porto,4000-447,PT,Mug,1,0.5,kg"],
    );
    let (ok, _, err) = consign(&app, &["orders", "import", &file, "--account", &name]);
    assert!(ok, "{err}");
    let (ok, out, err) = consign(&app, &batch_create_args(&account, from, &name));
    assert!(ok, "{err}");
    let id = out.trim().to_string();
    assert!(
        err.contains(&format!(
            "batch {id} is INVALID: 1 shipments valid, 1 invalid"
        )),
        "{err}"
    );
    let invalid = err
        .lines()
        .find(|l| l.starts_with("order E-1 (batch shipment "))
        .unwrap_or_else(|| panic!("{err}"));
    let shipment = invalid
        .split("batch shipment ")
        .nth(1)
        .unwrap()
        .split(')')
        .next()
        .unwrap()
        .to_string();
    let (ok, out, err) = consign(&app, &["batch", "purchase", &id, "--account", &name]);
    assert!(!ok && out.is_empty(), "{out}");
    assert!(
        err.contains(&format!("order E-1 (batch shipment {shipment}): IN"))
            && err.contains(&format!("consign batch remove {id} --shipment")),
        "{err}"
    );
    let stranger = domain::ObjectId::new().to_string();
    let (ok, _, err) = consign(
        &app,
        &[
            "batch",
            "remove",
            &id,
            "--shipment",
            &stranger,
            "--account",
            &name,
        ],
    );
    assert!(
        !ok && err.contains(&format!("batch {id} has no shipment {stranger}")),
        "{err}"
    );
    let (ok, out, err) = consign(
        &app,
        &[
            "batch",
            "remove",
            &id,
            "--shipment",
            &shipment,
            "--account",
            &name,
        ],
    );
    assert!(ok, "{err}");
    assert_eq!(
        out.trim(),
        format!("batch {id} is VALID: 1 shipments valid, 0 invalid")
    );

    let (ok, out, err) = consign(&app, &["batch", "purchase", &id, "--account", &name]);
    assert!(ok, "{err}");
    assert!(
        err.contains(&format!(
            "batch {id} is PURCHASED: 1 labels bought, 0 failed"
        )),
        "{err}"
    );
    let files: Vec<&str> = out.lines().collect();
    assert_eq!(files.len(), 1, "{out}");
    let path = std::path::Path::new(files[0]);
    assert!(path.starts_with(&app.data_dir), "{out}");
    let pdf = std::fs::read(path).unwrap_or_else(|e| panic!("{out}: {e}"));
    assert!(pdf.starts_with(b"%PDF"), "{out}");
}

/// Issue 21: a creator's crowdfunding work from the command line, over the same use cases as
/// `/projects`: a project, its backer report (dry run first), a project key the seed's API
/// takes, the provider link and a sync into it, a tracking upload, the provider's events, and
/// a project of the other mode named as such.
#[tokio::test]
async fn crowdfunding_projects_from_the_command_line() {
    use hmac::{Hmac, Mac};
    let app = spawn_app().await;
    let name = app.account_name().await;
    let ep = crate::providers::easypost("EZTK_creator").await;
    // The fake provider listens on loopback.
    let run = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--account", name.as_str()]);
        consign_with(&app, &all, &[("CONSIGN_ALLOW_PRIVATE_NETWORK", "true")])
    };

    let (ok, _, err) = run(&["projects", "create", "Dice", "--reward-weight", "1.5"]);
    assert!(!ok && err.contains("write WEIGHT UNIT"), "{err}");
    let (ok, out, err) = run(&[
        "projects",
        "create",
        "Board Game",
        "--reward-weight",
        "1.5 lb",
    ]);
    assert!(ok, "{err}");
    let id = out.trim().to_string();
    assert!(
        err.contains(&format!("/api/fulfillment/easypost/{id}")),
        "{err}"
    );
    let p = expect(app.get(&format!("/projects/{id}")).await, StatusCode::OK).await;
    assert_eq!(p["name"], "Board Game", "the test token sees it: {p}");

    let header = "Backer Number,Backer UID,Backer Name,Email,Shipping Country,Reward Title,Pledge Amount,Pledged At,Shipping Name,Shipping Address 1,Shipping Address 2,Shipping City,Shipping State,Shipping Postal Code,Shipping Country Code,Shipping Phone Number";
    let report = app.data_dir.join("backers.csv");
    std::fs::write(
        &report,
        format!(
            "{header}\n\
1,xyz789,Alex Smith,backer@example.com,US,Standard Edition,$30.00,\"2026/05/25, 10:00\",Alex Smith,123 Main St,,Portland,OR,97201,US,\n\
2,pl-2,Sam Jones,sam@example.com,US,Deluxe Edition,$60.00,\"2026/05/26, 09:30\",,,,,,,,\n\
3,pl-3,Kim Lee,kim@example.com,US,Standard Edition,$30.00,\"2026/05/27, 08:00\",Kim Lee,9 Elm St,Apt 2,Salem,OR,ABCDE,US,\n"
        ),
    )
    .unwrap();
    let report = report.to_str().unwrap();
    let (ok, out, err) = run(&["projects", "import-backers", &id, report, "--dry-run"]);
    assert!(ok, "{err}");
    assert!(
        out.starts_with("3 rows: 3 would be created, 0 would be updated, 0 unchanged; 1 shippable, 2 not shippable, 0 rejected; test mode"),
        "{out}"
    );
    assert!(
        out.contains("not shippable: row 3 (pledge pl-2): ship_to: ship_line1:")
            && out.contains("(pledge pl-3)"),
        "{out}"
    );
    let (ok, out, err) = run(&["projects", "import-backers", &id, report]);
    assert!(ok, "{err}");
    assert!(out.starts_with("3 rows: 3 created"), "{out}");
    let p = expect(app.get(&format!("/projects/{id}")).await, StatusCode::OK).await;
    assert_eq!(p["counts"]["pledges"], 3, "{p}");

    // A project key for the seed's API: shown once, listed by prefix, revoked.
    let (ok, out, err) = run(&["projects", "keys", "create", &id]);
    assert!(ok, "{err}");
    let key = out.trim().to_string();
    assert!(key.starts_with("cpk_") && !key.contains('\n'), "{out}");
    let seed = |key: String| {
        let url = app.url(&format!("/api/shipping/orders?project={id}&status=pending"));
        let client = app.client.clone();
        async move {
            client
                .get(url)
                .header("Authorization", format!("Bearer {key}"))
                .send()
                .await
                .unwrap()
        }
    };
    let orders = expect(seed(key.clone()).await, StatusCode::OK).await;
    assert!(orders.to_string().contains("xyz789"), "{orders}");
    let (ok, out, _) = run(&["projects", "keys", "list", &id]);
    assert!(
        ok && out.contains(&key[..12]) && !out.contains(&key),
        "{out}"
    );
    let (ok, _, err) = run(&["projects", "keys", "revoke", &id]);
    assert!(!ok && err.contains("--all"), "one key or --all: {err}");
    let (ok, out, err) = run(&["projects", "keys", "revoke", &id, "--all"]);
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "1 keys revoked");
    expect(seed(key).await, StatusCode::UNAUTHORIZED).await;

    // A sync needs the provider link first, then goes into the (fake) EasyPost account.
    let (ok, _, err) = run(&["projects", "sync", &id]);
    assert!(
        !ok && err.contains(&format!("consign projects connect {id} --provider")),
        "{err}"
    );
    let from = app.create_address(&crate::helpers::shawn()).await;
    let (ok, out, err) = run(&[
        "projects",
        "connect",
        &id,
        "--provider",
        "easypost",
        "--api-key",
        "EZTK_creator",
        "--webhook-secret",
        "whsec",
        "--base-url",
        &ep.base,
        "--return-address",
        from["object_id"].as_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    assert!(out.contains("linked to easypost"), "{out}");
    // The fake provider answers on this test's runtime: the command runs beside it.
    let (ok, out, err) = consign_beside(
        &app,
        &["projects", "sync", &id, "--account", &name],
        &[("CONSIGN_ALLOW_PRIVATE_NETWORK", "true")],
    )
    .await;
    assert!(ok, "{err}");
    assert!(
        out.starts_with("sync ")
            && out.contains(" DONE: 1 created, 0 updated, 0 skipped, 0 failed"),
        "{out}"
    );

    let tracking = app.data_dir.join("tracking.csv");
    std::fs::write(
        &tracking,
        "pledgeId,carrier,trackingNumber\nxyz789,UPS,1Z999AA10123456784\nnobody,UPS,1Z999AA10123456785\n",
    )
    .unwrap();
    let (ok, out, err) = run(&[
        "projects",
        "import-tracking",
        &id,
        tracking.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    assert!(
        out.starts_with("2 rows: 1 updated, 0 unchanged, 1 rejected; no dispatch email (no smtp_host is configured)"),
        "{out}"
    );
    assert!(out.contains("rejected: row 3"), "{out}");

    // The provider's events: none yet, then one that matches no backer.
    let (ok, out, err) = run(&["projects", "events", &id]);
    assert!(
        ok && out.is_empty() && err.contains("no events"),
        "{out}{err}"
    );
    let raw = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../testdata/fixtures/easypost/event-body.json"),
    )
    .unwrap();
    let mut event: serde_json::Value = serde_json::from_slice(&raw).unwrap();
    event["id"] = serde_json::json!("evt_cli_1");
    event["result"]["shipment_id"] = serde_json::json!("shp_nobody");
    event["result"]["tracking_code"] = serde_json::json!("9400100000000000000000");
    let body = serde_json::to_vec(&event).unwrap();
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(b"whsec").unwrap();
    mac.update(&body);
    let signature = format!(
        "hmac-sha256-hex={}",
        hex::encode(mac.finalize().into_bytes())
    );
    let res = app
        .client
        .post(app.url(&format!("/api/fulfillment/easypost/{id}")))
        .header("X-Hmac-Signature", signature)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    expect(res, StatusCode::OK).await;
    let (ok, out, err) = run(&["projects", "events", &id, "--unmatched"]);
    assert!(ok, "{err}");
    let line = out.lines().nth(1).unwrap_or_else(|| panic!("{out}"));
    assert!(
        line.contains("easypost")
            && line.contains("tracker.updated")
            && line.contains("9400100000000000000000")
            && line.contains("unmatched"),
        "{out}"
    );

    let (ok, _, err) = run(&["projects", "events", &id, "--mode", "live"]);
    assert!(
        !ok && err.contains(&format!(
            "project {id} exists in test mode, not in live mode; pass --mode test"
        )),
        "{err}"
    );
}

/// Issue 21: `consign <command> --help` explains every option and argument of every command.
#[test]
fn every_option_of_every_command_says_what_it_is() {
    use clap::CommandFactory;
    fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
        for arg in cmd.get_arguments() {
            let id = arg.get_id().as_str();
            if matches!(id, "help" | "version") {
                continue;
            }
            let said = arg
                .get_help()
                .map(|h| h.to_string())
                .filter(|h| !h.trim().is_empty());
            if said.is_none() {
                missing.push(format!("{path} {id}"));
            }
        }
        for sub in cmd.get_subcommands() {
            walk(sub, &format!("{path} {}", sub.get_name()), missing);
        }
    }
    let mut missing = Vec::new();
    walk(&consign::cli::Cli::command(), "consign", &mut missing);
    assert!(
        missing.is_empty(),
        "options without a description: {missing:#?}"
    );
}

/// The binary prints those descriptions: `consign ratecard download --help` says what
/// `--carrier-account` is.
#[test]
fn help_is_printed_for_each_option() {
    let out = Command::new(env!("CARGO_BIN_EXE_consign"))
        .args(["ratecard", "download", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success(), "{help}");
    // The option, then what it is (on its line, or the next one).
    let lines: Vec<&str> = help.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.trim_start().starts_with("--carrier-account"))
        .unwrap_or_else(|| panic!("{help}"));
    assert!(
        lines[at..=at + 1]
            .concat()
            .contains("The carrier account's object_id"),
        "{help}"
    );
}

/// Issue 21: orders imported in live mode are not shipped by a test-mode batch, and the error
/// says where they are instead of only "No order to ship matches".
#[tokio::test]
async fn a_batch_of_the_wrong_mode_names_the_mode_that_has_the_orders() {
    use crate::labels::{courier, lisboa};
    let app = spawn_app().await;
    let name = app.account_name().await;
    let file = orders_file(
        &app,
        "live.csv",
        &["L-1,Ana,Rua 1,Porto,4000-447,PT,Mug,1,0.5,kg"],
    );
    let (ok, out, err) = consign(
        &app,
        &[
            "orders",
            "import",
            &file,
            "--mode",
            "live",
            "--account",
            &name,
        ],
    );
    assert!(ok, "{err}");
    assert!(out.contains("; live mode"), "{out}");
    let account = courier(&app).await;
    let from = app.create_address(&lisboa()).await;
    let (ok, out, err) = consign(
        &app,
        &batch_create_args(&account, from["object_id"].as_str().unwrap(), &name),
    );
    assert!(!ok && out.is_empty(), "{out}");
    assert!(
        err.contains(
            "no order to ship in test mode, but live mode has orders in that state; pass --mode live"
        ),
        "{err}"
    );
}
