//! The web app's work pages through the real server: a CSV of orders previewed, its columns
//! remapped and imported; a refused ship-to corrected on the order page.

use domain::account::Mode;
use domain::user::Role;
use reqwest::header::{CONTENT_TYPE, COOKIE, ORIGIN};
use reqwest::StatusCode;
use scraper::Html;
use serde_json::Value;

use crate::helpers::{spawn_app, TestApp};
use crate::web_pages::{attrs, browser, get, order, order_body, person, post, texts, Person};

/// A multipart form: its fields, then the file of the `file` field (when given).
pub(crate) async fn post_file(
    app: &TestApp,
    path: &str,
    p: &Person,
    fields: &[(&str, &str)],
    file: Option<(&str, &[u8])>,
) -> (StatusCode, Html) {
    let mut body = Vec::new();
    for (k, v) in fields {
        body.extend_from_slice(
            format!("--XyZ\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    if let Some((name, bytes)) = file {
        body.extend_from_slice(
            format!("--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: text/csv\r\n\r\n").as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(b"--XyZ--\r\n");
    let res = browser()
        .post(app.url(path))
        .header(COOKIE, &p.cookie)
        .header(ORIGIN, app.base.clone())
        .header(CONTENT_TYPE, "multipart/form-data; boundary=XyZ")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = res.status();
    (status, Html::parse_document(&res.text().await.unwrap()))
}

/// The seed's sender address added to the app's account (test mode); its id.
async fn add_sender(app: &TestApp) -> String {
    let who = crate::web_pages::principal_of(app, &app.token).await;
    service::addresses::add_sender(&app.services, &who, crate::web_pages::sender())
        .await
        .unwrap()
        .id
        .to_string()
}

fn selected(html: &Html) -> Vec<String> {
    attrs(html, "select[name^='map.'] option[selected]", "value")
}

#[tokio::test]
async fn orders_are_imported_from_a_previewed_csv_with_its_columns_remapped() {
    let app = spawn_app().await;
    let account = app.account_name().await;
    let staff = person(&app, &account, Role::Staff).await;
    let odd = "Order Ref,Street,Town,Land,Item,Qty\nX-1,Rua 1,Porto,PT,Caneca,1\nX-2,,Porto,PT,Caneca,1\n";

    // A preview of a file whose columns are not known: refused, naming what is missing, with
    // the columns to map.
    let (status, html) = post_file(
        &app,
        "/app/orders/import",
        &staff,
        &[("_csrf", &staff.csrf), ("action", "preview")],
        Some(("odd.csv", odd.as_bytes())),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let problem = texts(&html, "p.error").join(" ");
    assert!(problem.contains("order_number"), "{problem}");
    assert_eq!(
        texts(&html, "caption + thead + tbody td:first-child"),
        ["Order Ref", "Street", "Town", "Land", "Item", "Qty"]
    );
    // Only the line item's columns have names Consign knows.
    assert_eq!(selected(&html), ["", "", "", "", "title", "quantity"]);
    let upload = attrs(&html, "input[name=upload]", "value").pop().unwrap();

    // Mapped, the kept file previews (nothing written): one to create, one refused by line.
    let map = [
        ("map.0", "order_number"),
        ("map.1", "ship_to_street1"),
        ("map.2", "ship_to_city"),
        ("map.3", "ship_to_country"),
        ("map.4", "title"),
        ("map.5", "quantity"),
    ];
    let mut fields = vec![
        ("_csrf", staff.csrf.as_str()),
        ("upload", upload.as_str()),
        ("action", "preview"),
    ];
    fields.extend(map);
    let (status, html) = post_file(&app, "/app/orders/import", &staff, &fields, None).await;
    assert_eq!(status, StatusCode::OK, "{:?}", texts(&html, "p.error"));
    let report = texts(&html, "#import-report p").join(" ");
    assert!(
        report.contains("Preview: nothing was imported yet."),
        "{report}"
    );
    assert!(report.contains("1 to create"), "{report}");
    assert!(report.contains("1 refused"), "{report}");
    assert_eq!(
        texts(&html, "tbody tr td.num"),
        ["3"],
        "the refused row's line"
    );
    assert_eq!(
        selected(&html),
        [
            "order_number",
            "ship_to_street1",
            "ship_to_city",
            "ship_to_country",
            "title",
            "quantity"
        ]
    );
    let orders = app.get_as(&app.token, "/orders").await;
    assert_eq!(
        orders.json::<Value>().await.unwrap()["results"],
        serde_json::json!([])
    );

    // A field chosen twice is refused.
    let mut twice = fields.clone();
    twice.push(("map.4", "order_number"));
    twice.retain(|(k, v)| !(*k == "map.4" && *v == "title"));
    let (status, html) = post_file(&app, "/app/orders/import", &staff, &twice, None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(texts(&html, "p.error")[0].contains("mapped to order_number"));

    // Imported: the very file previewed.
    fields[2] = ("action", "import");
    let (status, html) = post_file(&app, "/app/orders/import", &staff, &fields, None).await;
    assert_eq!(status, StatusCode::OK);
    let report = texts(&html, "#import-report p").join(" ");
    assert!(report.starts_with("Imported."), "{report}");
    assert!(report.contains("1 created"), "{report}");
    let orders: Value = app
        .get_as(&app.token, "/orders")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(orders["results"].as_array().unwrap().len(), 1);
    assert_eq!(orders["results"][0]["order_number"], "X-1");
    assert_eq!(orders["results"][0]["line_items"][0]["title"], "Caneca");
    // Done with: the kept file is gone.
    let (status, html) = post_file(&app, "/app/orders/import", &staff, &fields, None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(texts(&html, "p.error")[0].contains("gone"));

    // Another account cannot read a kept file by its id.
    let (_, html) = post_file(
        &app,
        "/app/orders/import",
        &staff,
        &[("_csrf", &staff.csrf), ("action", "preview")],
        Some(("odd.csv", odd.as_bytes())),
    )
    .await;
    let kept = attrs(&html, "input[name=upload]", "value").pop().unwrap();
    let other = app.other_account(Mode::Test).await;
    let theirs = person(&other, &other.account_name().await, Role::Owner).await;
    let (status, html) = post_file(
        &app,
        "/app/orders/import",
        &theirs,
        &[
            ("_csrf", &theirs.csrf),
            ("upload", &kept),
            ("action", "import"),
        ],
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(texts(&html, "p.error")[0].contains("gone"));

    // Not a text file.
    let (status, html) = post_file(
        &app,
        "/app/orders/import",
        &staff,
        &[("_csrf", &staff.csrf), ("action", "preview")],
        Some(("latin1.csv", &b"Order,City\n1,S\xe3o Paulo\n"[..])),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{}", html.html());
    assert!(texts(&html, "p.error")[0].contains("UTF-8"));
}

#[tokio::test]
async fn a_ship_to_that_will_not_ship_is_corrected_on_the_order_page() {
    let app = spawn_app().await;
    let account = app.account_name().await;
    let staff = person(&app, &account, Role::Staff).await;
    let mut body = order_body("#77", "Mary Jackson", "m@x.example", "US");
    body["to_address"]["zip"] = "ABCDE".into();
    let id = order(&app, &app.token, &body).await;
    let path = format!("/app/orders/{id}");

    let (_, html, _) = get(&app, &path, &staff.cookie).await;
    assert_eq!(texts(&html, ".card .status.s-INVALID"), ["INVALID"]);
    assert_eq!(
        attrs(&html, "details#fix-address", "open"),
        [""],
        "open: it will not ship"
    );
    assert_eq!(attrs(&html, "#to-zip", "value"), ["ABCDE"]);

    // Refused: the reasons, and what was entered kept.
    let fix = |zip: &'static str, country: &'static str| {
        vec![
            ("_csrf", staff.csrf.clone()),
            ("name", "Mary Jackson".to_string()),
            ("street1", "965 Mission St".into()),
            ("city", "San Francisco".into()),
            ("state", "CA".into()),
            ("zip", zip.to_string()),
            ("country", country.to_string()),
        ]
    };
    let bad = fix("94103", "QQ");
    let bad: Vec<(&str, &str)> = bad.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, html, _) = post(
        &app,
        &format!("{path}/ship-to"),
        &staff.cookie,
        &app.base,
        &bad,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        texts(&html, "#fix-address p.error")[0].contains("country"),
        "{:?}",
        texts(&html, "p.error")
    );
    assert_eq!(attrs(&html, "#to-zip", "value"), ["94103"]);
    assert_eq!(
        texts(&html, ".card .status.s-INVALID"),
        ["INVALID"],
        "nothing changed"
    );

    let good = fix("94103", "US");
    let good: Vec<(&str, &str)> = good.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, _, location) = post(
        &app,
        &format!("{path}/ship-to"),
        &staff.cookie,
        &app.base,
        &good,
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location, path);
    let (_, html, _) = get(&app, &path, &staff.cookie).await;
    assert_eq!(texts(&html, ".card .status.s-VALID"), ["VALID"]);
    assert_eq!(
        attrs(&html, "details#fix-address", "open"),
        Vec::<String>::new()
    );
    let api: Value = app
        .get_as(&app.token, &format!("/orders/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(api["to_address"]["zip"], "94103");
    assert_eq!(
        api["to_address"]["validation_results"]["is_valid"], true,
        "{api}"
    );
    // Audited, by whom.
    let owner = person(&app, &account, Role::Owner).await;
    let (_, html, _) = get(&app, "/app/audit", &owner.cookie).await;
    let log = texts(&html, "tbody tr").join("\n");
    assert!(log.contains("changed an order's ship-to"), "{log}");
    assert!(log.contains("#77"), "{log}");
}

fn example(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/../examples/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

#[tokio::test]
async fn a_creator_imports_backers_locks_addresses_makes_a_key_and_uploads_tracking() {
    let app = spawn_app().await;
    let account = app.account_name().await;
    let owner = person(&app, &account, Role::Owner).await;
    let staff = person(&app, &account, Role::Staff).await;

    // Create: a name and one reward's weight; a bad weight is refused by name.
    let (status, html, _) = post(
        &app,
        "/app/projects",
        &staff.cookie,
        &app.base,
        &[
            ("_csrf", &staff.csrf),
            ("name", "Board Game"),
            ("weight", "-1"),
            ("unit", "lb"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(texts(&html, "p.error")[0].contains("reward_weight"));
    let (status, _, location) = post(
        &app,
        "/app/projects",
        &staff.cookie,
        &app.base,
        &[
            ("_csrf", &staff.csrf),
            ("name", "Board Game"),
            ("weight", "1.5"),
            ("unit", "lb"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let id = location.strip_prefix("/app/projects/").unwrap().to_string();
    let path = location.clone();
    let (_, html, _) = get(&app, "/app/projects", &staff.cookie).await;
    assert_eq!(texts(&html, "tbody td a"), ["Board Game"]);

    // Staff see neither keys nor the provider form.
    let (_, html, _) = get(&app, &path, &staff.cookie).await;
    assert_eq!(texts(&html, "h1"), ["Board Game"]);
    assert!(texts(&html, "#keys").is_empty());
    assert!(attrs(&html, "#api-key", "name").is_empty());
    assert_eq!(texts(&html, "#pledges"), ["0"]);

    // The backer report: a preview writes nothing, then the very file is imported.
    let report = example("kickstarter-backer-report.csv");
    let (status, html) = post_file(
        &app,
        &format!("{path}/backers"),
        &staff,
        &[("_csrf", &staff.csrf), ("action", "preview")],
        Some(("backers.csv", &report)),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{:?}", texts(&html, "p.error"));
    let said = texts(&html, "#backers-report p").join(" ");
    assert!(
        said.starts_with("Preview: nothing was imported yet."),
        "{said}"
    );
    assert!(said.contains("4 new"), "{said}");
    assert_eq!(texts(&html, "#pledges"), ["0"]);
    // Sam Jones has no postal code: not shippable, with the reason.
    let not = texts(&html, "#not-shippable tbody tr").join("\n");
    assert!(not.contains("2234567890"), "{not}");
    assert!(selected(&html).contains(&"pledge_id".to_string()));
    let upload = attrs(&html, "#backers input[name=upload]", "value")
        .pop()
        .unwrap();
    let mut owned = vec![
        ("_csrf".to_string(), staff.csrf.clone()),
        ("upload".to_string(), upload),
        ("action".to_string(), "import".to_string()),
    ];
    for (i, v) in selected(&html).into_iter().enumerate() {
        owned.push((format!("map.{i}"), v));
    }
    let fields: Vec<(&str, &str)> = owned
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let (status, html) = post_file(&app, &format!("{path}/backers"), &staff, &fields, None).await;
    assert_eq!(status, StatusCode::OK, "{:?}", texts(&html, "p.error"));
    let said = texts(&html, "#backers-report p").join(" ");
    assert!(said.starts_with("Imported."), "{said}");
    assert_eq!(texts(&html, "#pledges"), ["4"]);

    // The lock: now, with the backers' count; unlocked again.
    let (status, _, _) = post(
        &app,
        &format!("{path}/lock"),
        &staff.cookie,
        &app.base,
        &[("_csrf", &staff.csrf), ("lock", "now")],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, html, _) = get(&app, &path, &staff.cookie).await;
    let lock = texts(&html, "#lock-state").join("");
    assert!(lock.starts_with("Locked since"), "{lock}");
    assert!(lock.contains("(4 backers)"), "{lock}");
    let (status, html, _) = post(
        &app,
        &format!("{path}/lock"),
        &staff.cookie,
        &app.base,
        &[
            ("_csrf", &staff.csrf),
            ("lock", "date"),
            ("date", "next week"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(texts(&html, "p.error")[0].contains("date"));

    // A key, shown once: the same form again makes no second; the key opens the seed's API.
    let form_key = domain::ObjectId::new().to_string();
    let make = [("_csrf", owner.csrf.as_str()), ("key", form_key.as_str())];
    let (status, html, _) = post(
        &app,
        &format!("{path}/keys"),
        &owner.cookie,
        &app.base,
        &make,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let key = texts(&html, "#keys code.secret")
        .pop()
        .expect("the key, once");
    assert!(key.starts_with("cpk_"), "{key}");
    let (_, html, _) = post(
        &app,
        &format!("{path}/keys"),
        &owner.cookie,
        &app.base,
        &make,
    )
    .await;
    assert!(texts(&html, "#keys code.secret").is_empty());
    assert_eq!(texts(&html, "#keys tbody tr").len(), 1, "one key");
    let res = browser()
        .get(app.url(&format!("/api/shipping/orders?project={id}")))
        .header("Authorization", format!("Bearer {key}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let seed: Value = res.json().await.unwrap();
    assert_eq!(seed["total"], 3, "{seed}");
    // Staff cannot make one.
    let (status, _, _) = post(
        &app,
        &format!("{path}/keys"),
        &staff.cookie,
        &app.base,
        &[("_csrf", &staff.csrf)],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Tracking: checked first (nothing changes), then applied; no mail server here.
    let tracking = example("tracking.csv");
    let (status, html) = post_file(
        &app,
        &format!("{path}/tracking"),
        &staff,
        &[("_csrf", &staff.csrf), ("dry_run", "1")],
        Some(("tracking.csv", &tracking)),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{:?}", texts(&html, "p.error"));
    let said = texts(&html, "#tracking-report p").join(" ");
    assert!(said.starts_with("Checked: nothing was changed."), "{said}");
    assert!(said.contains("2 to update"), "{said}");
    let (_, html) = post_file(
        &app,
        &format!("{path}/tracking"),
        &staff,
        &[("_csrf", &staff.csrf)],
        Some(("tracking.csv", &tracking)),
    )
    .await;
    let said = texts(&html, "#tracking-report p").join(" ");
    assert!(said.starts_with("Applied."), "{said}");
    assert!(said.contains("2 updated"), "{said}");
    assert!(said.contains("No mail server is configured"), "{said}");
    let (_, html, _) = get(&app, &path, &staff.cookie).await;
    let counts = texts(&html, ".counts dd");
    assert_eq!(counts[2], "2", "shipped: {counts:?}");
    // The dispatch email as a backer reads it.
    assert_eq!(
        texts(&html, "#email-subject"),
        ["Your Board Game reward is on its way"]
    );
    assert!(texts(&html, "#email-text")[0].contains("/track/9400111899223197428490"));

    // The provider link: credentials taken, never shown; the webhook URL to paste.
    let sender = service::addresses::add_sender(
        &app.services,
        &crate::web_pages::principal_of(&app, &app.token).await,
        crate::web_pages::sender(),
    )
    .await
    .unwrap();
    let (status, _, _) = post(
        &app,
        &format!("{path}/provider"),
        &owner.cookie,
        &app.base,
        &[
            ("_csrf", owner.csrf.as_str()),
            ("kind", "easypost"),
            ("api_key", "EZTK-secret-key-1"),
            ("webhook_secret", "whsec-1"),
            ("return_address", &sender.id.to_string()),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let res = browser()
        .get(app.url(&path))
        .header(COOKIE, &owner.cookie)
        .send()
        .await
        .unwrap();
    let body = res.text().await.unwrap();
    assert!(!body.contains("EZTK-secret-key-1") && !body.contains("whsec-1"));
    let html = Html::parse_document(&body);
    assert_eq!(
        texts(&html, "#webhook-url"),
        [format!("{}/api/fulfillment/easypost/{id}", app.base)]
    );
    // Staff may not change it.
    let (status, _, _) = post(
        &app,
        &format!("{path}/provider"),
        &staff.cookie,
        &app.base,
        &[("_csrf", &staff.csrf), ("kind", "shippo")],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_courier_s_rate_card_is_previewed_installed_priced_and_given_scan_keys() {
    let app = spawn_app().await;
    let account = app.account_name().await;
    let admin = person(&app, &account, Role::Admin).await;
    let staff = person(&app, &account, Role::Staff).await;
    let (status, _, _) = get(&app, "/app/carriers", &staff.cookie).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "staff hold no carrier credentials"
    );

    // A courier of one's own: a rate-card account.
    let (status, _, location) = post(
        &app,
        "/app/carriers",
        &admin.cookie,
        &app.base,
        &[
            ("_csrf", &admin.csrf),
            ("carrier", "ratecard"),
            ("account_id", "courier-cl"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let path = location;
    let (_, html, _) = get(&app, &path, &admin.cookie).await;
    assert!(texts(&html, "#rate-card p.empty")[0].starts_with("No card yet"));
    assert!(
        texts(&html, "#simulator").is_empty(),
        "nothing to price with yet"
    );

    // Preview: what the card holds, nothing installed; then the very file installed.
    let card = example("courier-cl.csv");
    let (status, html) = post_file(
        &app,
        &format!("{path}/rate-card"),
        &admin,
        &[("_csrf", &admin.csrf), ("action", "preview")],
        Some(("courier-cl.csv", &card)),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{:?}", texts(&html, "p.error"));
    assert!(texts(&html, "#card-preview p")[0].contains("Courier Demo Chile"));
    assert_eq!(
        texts(&html, "#rate-card tbody tr td:first-child code"),
        ["normal", "express"]
    );
    assert!(texts(&html, "#rate-card p.empty")[0].starts_with("No card yet"));
    let upload = attrs(&html, "#rate-card input[name=upload]", "value")
        .pop()
        .unwrap();
    let (status, html) = post_file(
        &app,
        &format!("{path}/rate-card"),
        &admin,
        &[
            ("_csrf", &admin.csrf),
            ("upload", &upload),
            ("action", "install"),
        ],
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let said = texts(&html, "#rate-card p").join(" ");
    assert!(said.contains("Installed"), "{said}");
    assert!(said.contains("Version 1: Courier Demo Chile"), "{said}");
    // A broken card is refused by line, nothing installed.
    let (status, html) = post_file(
        &app,
        &format!("{path}/rate-card"),
        &admin,
        &[("_csrf", &admin.csrf), ("action", "install")],
        Some(("bad.csv", b"record,fields\ncard,X\n")),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(!texts(&html, "p.error").is_empty());
    assert!(texts(&html, "#rate-card p").join(" ").contains("Version 1"));

    // The simulator: 2 kg within Santiago, with how the price is reached.
    let (status, html, _) = get(
        &app,
        &format!("{path}?from_country=CL&from_state=RM&to_country=CL&to_state=RM&weight=2&unit=kg"),
        &admin.cookie,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let quotes = texts(&html, "#simulator .quote p");
    assert!(
        quotes[0].starts_with("Normal (zone RM): 4289"),
        "{quotes:?}"
    );
    let lines = texts(&html, "#simulator .quote li");
    assert!(lines.contains(&"base: 3990".to_string()), "{lines:?}");
    let (status, html, _) = get(
        &app,
        &format!("{path}?to_country=CL&weight=heavy&unit=kg"),
        &admin.cookie,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(texts(&html, "p.error")[0].contains("positive weight"));

    // A scan key, shown once; a reload of the form makes none; revoked, it is refused.
    let form_key = domain::ObjectId::new().to_string();
    let make = [("_csrf", admin.csrf.as_str()), ("key", form_key.as_str())];
    let (_, html, _) = post(
        &app,
        &format!("{path}/scan-keys"),
        &admin.cookie,
        &app.base,
        &make,
    )
    .await;
    let key = texts(&html, "#scan-keys code.secret")
        .pop()
        .expect("shown once");
    assert!(key.starts_with("consign_scan_"));
    let (_, html, _) = post(
        &app,
        &format!("{path}/scan-keys"),
        &admin.cookie,
        &app.base,
        &make,
    )
    .await;
    assert!(texts(&html, "#scan-keys code.secret").is_empty());
    let key_id = attrs(&html, "#scan-keys input[name=key_id]", "value");
    assert_eq!(key_id.len(), 1);
    let (status, _, _) = post(
        &app,
        &format!("{path}/scan-keys/revoke"),
        &admin.cookie,
        &app.base,
        &[("_csrf", &admin.csrf), ("key_id", &key_id[0])],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, html, _) = get(&app, &path, &admin.cookie).await;
    assert_eq!(
        texts(&html, "#scan-keys tbody td:nth-child(3)"),
        ["revoked"]
    );
    assert!(service::scan_keys::authenticate(&app.services, &key)
        .await
        .is_err());

    // Credentials: masked once stored, kept when left empty, replaced when given.
    let (status, _, location) = post(
        &app,
        "/app/carriers",
        &admin.cookie,
        &app.base,
        &[
            ("_csrf", admin.csrf.as_str()),
            ("carrier", "easypost"),
            ("account_id", "ep-main"),
            ("test", "1"),
            ("param.0", "api_key"),
            ("value.0", "EZTK1234567890abcdefWXYZ"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{location}");
    let res = browser()
        .get(app.url(&location))
        .header(COOKIE, &admin.cookie)
        .send()
        .await
        .unwrap();
    let body = res.text().await.unwrap();
    assert!(
        !body.contains("EZTK1234567890abcdef"),
        "never shown in clear"
    );
    let html = Html::parse_document(&body);
    assert_eq!(texts(&html, "#credentials code.masked"), ["****WXYZ"]);
    let id = domain::ObjectId::parse(location.rsplit('/').next().unwrap()).unwrap();
    let who = crate::web_pages::principal_of(&app, &app.token).await;
    let (status, _, _) = post(
        &app,
        &format!("{location}/credentials"),
        &admin.cookie,
        &app.base,
        &[
            ("_csrf", &admin.csrf),
            ("param.0", "api_key"),
            ("value.0", ""),
            ("active", "1"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let stored = service::carrier_accounts::get(&app.services, &who, id)
        .await
        .unwrap();
    assert_eq!(
        stored.parameters["api_key"], "EZTK1234567890abcdefWXYZ",
        "kept"
    );
    let (status, _, _) = post(
        &app,
        &format!("{location}/credentials"),
        &admin.cookie,
        &app.base,
        &[
            ("_csrf", &admin.csrf),
            ("param.0", "api_key"),
            ("value.0", "EZTKnew0000000000000NEW1"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let stored = service::carrier_accounts::get(&app.services, &who, id)
        .await
        .unwrap();
    assert_eq!(stored.parameters["api_key"], "EZTKnew0000000000000NEW1");
    assert!(!stored.active, "switched off (the box was not ticked)");
}

/// The link a mail holds (`…/app/welcome?token=<64 hex>`).
fn link_in(mail: &crate::fakes::Mail) -> String {
    let at = mail
        .data
        .find("/app/welcome?token=")
        .expect("a link in the mail");
    // Quoted-printable writes the `=` as `=3D`.
    let rest = &mail.data[at + "/app/welcome?token=".len()..];
    let token: String = rest
        .strip_prefix("3D")
        .unwrap_or(rest)
        .chars()
        .take_while(|c| c.is_ascii_hexdigit())
        .collect();
    assert_eq!(token.len(), 64, "{}", mail.data);
    format!("/app/welcome?token={token}")
}

/// The session cookie a response sets.
fn cookie_of(res: &reqwest::Response) -> String {
    res.headers()[reqwest::header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string()
}

async fn form_post(app: &TestApp, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
    browser()
        .post(app.url(path))
        .header(ORIGIN, app.base.clone())
        .form(fields)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn people_are_invited_and_reset_their_password_by_email_links_that_work_once() {
    let smtp = crate::fakes::SmtpServer::start().await;
    let app = crate::helpers::spawn_app_with(consign::config::Layer {
        smtp_host: Some("127.0.0.1".into()),
        smtp_port: Some(smtp.port),
        smtp_tls: Some("none".into()),
        smtp_from: Some("Shop <ship@shop.example>".into()),
        ..Default::default()
    })
    .await;
    let account = app.account_name().await;
    let owner = person(&app, &account, Role::Owner).await;

    // Invited: an email with a link, nothing secret on the page.
    let (status, html, _) = post(
        &app,
        "/app/team",
        &owner.cookie,
        &app.base,
        &[
            ("_csrf", &owner.csrf),
            ("email", "Pat@Shop.example"),
            ("name", "Pat Packer"),
            ("role", "staff"),
            ("how", "invite"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert!(texts(&html, "#added").join(" ").contains("on its way"));
    assert!(texts(&html, "#added code.secret").is_empty());
    let mail = smtp.wait_for(1, 10).await.remove(0);
    assert_eq!(mail.to, ["pat@shop.example"]);
    assert!(mail
        .header("subject")
        .unwrap()
        .starts_with("You are invited to"));
    let link = link_in(&mail);

    // The link: a page naming whom it is for; a short password refused; then signed in.
    let (status, html, _) = get(&app, &link, "").await;
    assert_eq!(status, StatusCode::OK);
    assert!(texts(&html, "main p strong").contains(&"pat@shop.example".to_string()));
    let token = link.split("token=").nth(1).unwrap();
    let res = browser()
        .post(app.url("/app/welcome"))
        .header(ORIGIN, "https://evil.example")
        .form(&[("token", token), ("password", "a long enough one")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = form_post(
        &app,
        "/app/welcome",
        &[("token", token), ("password", "short")],
    )
    .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let res = form_post(
        &app,
        "/app/welcome",
        &[("token", token), ("password", "packing station 9")],
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let pat = cookie_of(&res);
    let (_, home, _) = get(&app, "/", &pat).await;
    assert_eq!(texts(&home, "header .role"), ["staff"]);
    // Once only.
    let (status, html, _) = get(&app, &link, "").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(texts(&html, "h1"), ["This link no longer works"]);
    let res = form_post(
        &app,
        "/app/welcome",
        &[("token", token), ("password", "another password 1")],
    )
    .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);

    // Forgot: the same answer for an unknown email (and no mail); a link for a known one.
    let unknown = form_post(&app, "/app/forgot", &[("email", "nobody@shop.example")]).await;
    let known = form_post(&app, "/app/forgot", &[("email", "pat@shop.example")]).await;
    assert_eq!(unknown.status(), known.status());
    let (a, b) = (
        Html::parse_document(&unknown.text().await.unwrap()),
        Html::parse_document(&known.text().await.unwrap()),
    );
    assert_eq!(texts(&a, "p.notice"), texts(&b, "p.notice"));
    let mails = smtp.wait_for(2, 10).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(smtp.mails().len(), 2, "none for the unknown email");
    assert_eq!(mails[1].to, ["pat@shop.example"]);
    assert_eq!(
        mails[1].header("subject").as_deref(),
        Some("Reset your Consign password")
    );
    let reset = link_in(&mails[1]);
    let token = reset.split("token=").nth(1).unwrap();
    let res = form_post(
        &app,
        "/app/welcome",
        &[("token", token), ("password", "a brand new password")],
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    // Every other session ended; the new password signs in, the old one does not.
    let (status, _, location) = get(&app, "/app/orders", &pat).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(location.starts_with("/app/sign-in"));
    let old = form_post(
        &app,
        "/app/sign-in",
        &[
            ("email", "pat@shop.example"),
            ("password", "packing station 9"),
        ],
    )
    .await;
    assert_eq!(old.status(), StatusCode::UNAUTHORIZED);
    let new = form_post(
        &app,
        "/app/sign-in",
        &[
            ("email", "pat@shop.example"),
            ("password", "a brand new password"),
        ],
    )
    .await;
    assert_eq!(new.status(), StatusCode::SEE_OTHER);
    // Audited.
    let (_, html, _) = get(&app, "/app/audit", &owner.cookie).await;
    let log = texts(&html, "tbody tr").join("\n");
    for action in [
        "invited a user",
        "accepted an invitation",
        "asked for a password reset link",
        "reset their password by email",
    ] {
        assert!(log.contains(action), "{action}: {log}");
    }
    // The database keeps no usable token: only hashes, and no sealed copy once sent.
    let sealed: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM user_links WHERE token_sealed IS NOT NULL AND sent_ms IS NOT NULL",
    )
    .fetch_one(&mut *app.services.store.conn().await.unwrap())
    .await
    .unwrap();
    assert_eq!(sealed, 0);
}

#[tokio::test]
async fn without_a_mail_server_an_invitation_link_is_handed_over_and_resets_are_not_offered() {
    let app = spawn_app().await;
    let account = app.account_name().await;
    let admin = person(&app, &account, Role::Admin).await;
    let (status, html, _) = post(
        &app,
        "/app/team",
        &admin.cookie,
        &app.base,
        &[
            ("_csrf", &admin.csrf),
            ("email", "dev@shop.example"),
            ("role", "developer"),
            ("how", "invite"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let url = texts(&html, "#added code.secret")
        .pop()
        .expect("the link, once");
    assert!(
        url.starts_with(&format!("{}/app/welcome?token=", app.base)),
        "{url}"
    );
    let path = url.strip_prefix(&app.base).unwrap();
    let (status, _, _) = get(&app, path, "").await;
    assert_eq!(status, StatusCode::OK);
    // An admin cannot invite an owner.
    let (status, html, _) = post(
        &app,
        "/app/team",
        &admin.cookie,
        &app.base,
        &[
            ("_csrf", &admin.csrf),
            ("email", "boss@shop.example"),
            ("role", "owner"),
            ("how", "invite"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(texts(&html, "p.error")[0].contains("cannot give the owner role"));
    let res = form_post(&app, "/app/forgot", &[("email", "dev@shop.example")]).await;
    let html = Html::parse_document(&res.text().await.unwrap());
    assert!(texts(&html, "p.notice")[0].contains("sends no email"));
}

#[tokio::test]
async fn the_command_line_invites_with_a_link_the_web_app_opens() {
    let app = spawn_app().await;
    let account = app.account_name().await;
    let (ok, stdout, stderr) = crate::cli::consign_with(
        &app,
        &[
            "user",
            "invite",
            "--account",
            &account,
            "--email",
            "cli@shop.example",
            "--role",
            "staff",
        ],
        &[("CONSIGN_PUBLIC_URL", &app.base)],
    );
    assert!(ok, "{stderr}");
    assert!(stderr.contains("hand them this link"), "{stderr}");
    let url = stdout.trim();
    let path = url
        .strip_prefix(&app.base)
        .expect("the link under the public URL");
    let (status, html, _) = get(&app, path, "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(texts(&html, "h1"), [format!("Welcome to {account}")]);
    // An unknown role is refused before anything is made.
    let (ok, _, stderr) = crate::cli::consign_with(
        &app,
        &[
            "user",
            "invite",
            "--email",
            "x@shop.example",
            "--role",
            "boss",
        ],
        &[],
    );
    assert!(!ok && stderr.contains("unknown role"), "{stderr}");
}

#[tokio::test]
async fn home_charts_the_labels_of_the_last_30_days_by_carrier_counting_each_once() {
    use crate::labels::{parcel, rate_for, us_from, us_to};
    let app = spawn_app().await;
    let account = app.account_name().await;
    let staff = person(&app, &account, Role::Staff).await;
    let (_, html, _) = get(&app, "/", &staff.cookie).await;
    assert!(
        texts(&html, "#chart").is_empty(),
        "nothing bought: no chart"
    );

    let quote = serde_json::json!({"address_from": us_from(), "address_to": us_to(), "parcels": [parcel()], "async": false});
    let mut spent = 0.0f64;
    for _ in 0..3 {
        let rate = rate_for(&app, quote.clone(), "usps_priority").await;
        let t = crate::helpers::expect(
            app.post_json(
                "/transactions",
                &serde_json::json!({"rate": rate, "async": false}),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        assert_eq!(t["status"], "SUCCESS");
        let r: Value = app
            .get(&format!("/rates/{rate}"))
            .await
            .json()
            .await
            .unwrap();
        spent += r["amount"].as_str().unwrap().parse::<f64>().unwrap();
    }
    // Two pages read at once roll each label up once.
    let (a, b) = tokio::join!(get(&app, "/", &staff.cookie), get(&app, "/", &staff.cookie));
    for (_, html, _) in [a, b] {
        assert_eq!(texts(&html, "#chart h2"), ["Labels in the last 30 days"]);
    }
    let (_, html, _) = get(&app, "/", &staff.cookie).await;
    let row = texts(&html, "#chart tbody tr td");
    assert_eq!(row[0], "USPS", "{row:?}");
    assert_eq!(row[1], "3", "{row:?}");
    assert_eq!(row[2], format!("{spent:.2} USD"), "{row:?}");
    let bars = attrs(&html, "#chart svg rect", "height");
    assert_eq!(bars.len(), 1, "today's one column");
    assert_eq!(bars[0], "150", "the tallest day fills the chart");
    assert!(texts(&html, "#chart svg rect title")[0].ends_with(": 3 USPS labels"));
    // Another mode has its own.
    let mode = [("_csrf", staff.csrf.as_str()), ("mode", "live")];
    let res = browser()
        .post(app.url("/app/mode"))
        .header(COOKIE, &staff.cookie)
        .header(ORIGIN, app.base.clone())
        .form(&mode)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let live = format!("{}; consign_mode=live", staff.cookie);
    let (_, html, _) = get(&app, "/", &live).await;
    assert!(texts(&html, "#chart").is_empty());
}

#[tokio::test]
async fn an_order_is_shipped_from_its_page_one_parcel_per_part_and_one_label_per_form() {
    let app = spawn_app().await;
    let account = app.account_name().await;
    let staff = person(&app, &account, Role::Staff).await;
    let sender = add_sender(&app).await;
    let id = order(
        &app,
        &app.token,
        &order_body("#500", "Ann Lee", "a@x.example", "US"),
    )
    .await;
    let path = format!("/app/orders/{id}");
    let (_, html, _) = get(&app, &path, &staff.cookie).await;
    assert_eq!(
        attrs(&html, "#ship-from option[selected]", "value").join(""),
        sender
    );
    assert_eq!(
        attrs(&html, "#ship-weight", "value"),
        ["1.2"],
        "the order's weight"
    );
    // Its packing slip, from its page: a PDF naming it.
    assert_eq!(
        attrs(&html, "form#slip input[name=order]", "value"),
        std::slice::from_ref(&id)
    );
    let (status, _, file) = post(
        &app,
        "/app/orders/slips",
        &staff.cookie,
        &app.base,
        &[("_csrf", staff.csrf.as_str()), ("order", id.as_str())],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (kind, pdf) = crate::labels::download(&app, &app.url(&file)).await;
    assert_eq!(kind, "application/pdf");
    let slip = crate::labels::scratch("slip.pdf", &pdf);
    let text = crate::labels::tool("pdftotext", &["-layout", slip.to_str().unwrap(), "-"]);
    assert!(text.contains("#500") && text.contains("Ann Lee"), "{text}");

    let ask = |weight: &'static str| {
        vec![
            ("_csrf", staff.csrf.clone()),
            ("address_from", sender.clone()),
            ("length", "10".to_string()),
            ("width", "8".to_string()),
            ("height", "4".to_string()),
            ("weight", weight.to_string()),
        ]
    };
    let bad = ask("heavy");
    let bad: Vec<(&str, &str)> = bad.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, html, _) = post(
        &app,
        &format!("{path}/rates"),
        &staff.cookie,
        &app.base,
        &bad,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(texts(&html, "#ship p.error")[0].contains("weight"));

    let good = ask("1.2");
    let good: Vec<(&str, &str)> = good.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, html, _) = post(
        &app,
        &format!("{path}/rates"),
        &staff.cookie,
        &app.base,
        &good,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let rates = attrs(&html, "#ship input[name=rate]", "value");
    assert!(!rates.is_empty(), "rates offered");
    let key = attrs(&html, "#ship input[name=key]", "value")
        .pop()
        .unwrap();
    let line = attrs(&html, "#ship input[name^='qty.']", "name")
        .pop()
        .unwrap();
    assert_eq!(attrs(&html, "#ship input[name^='qty.']", "max"), ["2"]);

    // One of the two mugs; the same form twice buys one label.
    let buy = [
        ("_csrf", staff.csrf.as_str()),
        ("key", key.as_str()),
        ("rate", rates[0].as_str()),
        (line.as_str(), "1"),
    ];
    for _ in 0..2 {
        let (status, _, location) = post(
            &app,
            &format!("{path}/label"),
            &staff.cookie,
            &app.base,
            &buy,
        )
        .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert_eq!(location, path);
    }
    let api: Value = app
        .get_as(&app.token, &format!("/orders/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(api["order_status"], "PARTIALLY_FULFILLED", "{api}");
    let (_, html, _) = get(&app, &path, &staff.cookie).await;
    assert_eq!(
        texts(&html, "h2 + table.list tbody tr td.num"),
        ["2", "1"],
        "ordered, on labels"
    );
    assert_eq!(
        attrs(&html, "#ship input[name^='qty.']", "max"),
        Vec::<String>::new(),
        "no rates asked yet"
    );
    let labels = texts(&html, "#labels tbody tr");
    assert_eq!(labels.len(), 1, "one label: {labels:?}");

    // More than is left is refused; the rest ships and the card goes.
    let (_, html, _) = post(
        &app,
        &format!("{path}/rates"),
        &staff.cookie,
        &app.base,
        &good,
    )
    .await;
    let rates = attrs(&html, "#ship input[name=rate]", "value");
    let key = attrs(&html, "#ship input[name=key]", "value")
        .pop()
        .unwrap();
    let too_many = [
        ("_csrf", staff.csrf.as_str()),
        ("key", key.as_str()),
        ("rate", rates[0].as_str()),
        (line.as_str(), "2"),
    ];
    let (status, html, _) = post(
        &app,
        &format!("{path}/label"),
        &staff.cookie,
        &app.base,
        &too_many,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(!texts(&html, "#ship p.error").is_empty());
    let rest = [
        ("_csrf", staff.csrf.as_str()),
        ("key", key.as_str()),
        ("rate", rates[0].as_str()),
        (line.as_str(), "1"),
    ];
    let (status, _, _) = post(
        &app,
        &format!("{path}/label"),
        &staff.cookie,
        &app.base,
        &rest,
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let api: Value = app
        .get_as(&app.token, &format!("/orders/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(api["order_status"], "SHIPPED");
    let (_, html, _) = get(&app, &path, &staff.cookie).await;
    assert!(texts(&html, "#ship").is_empty(), "nothing left to ship");
}

#[tokio::test]
async fn settings_set_the_label_default_and_the_buyer_emails_previewed_before_saving() {
    let app = spawn_app().await;
    let account = app.account_name().await;
    let admin = person(&app, &account, Role::Admin).await;

    let (status, _, _) = post(
        &app,
        "/app/settings/labels",
        &admin.cookie,
        &app.base,
        &[("_csrf", &admin.csrf), ("label_file_type", "ZPLII")],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let labels: Value = app.get("/settings/labels").await.json().await.unwrap();
    assert_eq!(labels["default_label_file_type"], "ZPLII");
    let (status, html, _) = post(
        &app,
        "/app/settings/labels",
        &admin.cookie,
        &app.base,
        &[("_csrf", &admin.csrf), ("label_file_type", "DOCX")],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(texts(&html, "p.error")[0].contains("not a label file type"));
    let (_, html, _) = get(&app, "/app/settings", &admin.cookie).await;
    assert_eq!(texts(&html, "#label-format option[selected]"), ["ZPLII"]);
    assert_eq!(texts(&html, "title"), ["Settings · Consign"]);
    assert_eq!(
        texts(&html, "#emails").len(),
        1,
        "the form once, in the page"
    );

    // The preview, as htmx asks for it while typing: nothing saved.
    let fields = [
        ("_csrf", admin.csrf.as_str()),
        ("enabled", "1"),
        (
            "shipped_subject",
            "Good news: {{tracking_number}} left with {{carrier}}",
        ),
        (
            "shipped_text",
            "It is on its way: {{tracking_url}}\n{{eta_line}}",
        ),
        ("delivered_subject", ""),
        ("delivered_text", ""),
    ];
    let res = browser()
        .post(app.url("/app/settings/emails/preview"))
        .header(COOKIE, &admin.cookie)
        .header(ORIGIN, app.base.clone())
        .header("HX-Request", "true")
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let fragment = Html::parse_fragment(&res.text().await.unwrap());
    assert!(texts(&fragment, "h1").is_empty(), "a fragment, not a page");
    let subjects = texts(&fragment, ".preview-subject");
    assert_eq!(
        subjects[0],
        "Good news: 9400111899223197428490 left with USPS Priority Mail"
    );
    assert!(
        subjects[1].starts_with("Your parcel was delivered"),
        "the default"
    );
    assert!(texts(&fragment, "pre.email")[0]
        .contains(&format!("{}/track/9400111899223197428490", app.base)));
    let stored: Value = app
        .get("/settings/notifications")
        .await
        .json()
        .await
        .unwrap();
    assert_ne!(
        stored["shipped_subject"], fields[2].1,
        "a preview saves nothing"
    );

    // Saved; a control character is refused by field.
    let (status, _, _) = post(
        &app,
        "/app/settings/emails",
        &admin.cookie,
        &app.base,
        &fields,
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let stored: Value = app
        .get("/settings/notifications")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(stored["shipped_subject"], fields[2].1);
    assert_eq!(stored["enabled"], true);
    let mut bad = fields.to_vec();
    bad[3] = ("shipped_text", "bell \u{7}");
    let (status, html, _) =
        post(&app, "/app/settings/emails", &admin.cookie, &app.base, &bad).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(texts(&html, "#email-preview p.error")[0].contains("shipped_text"));
    // Switched off.
    let off = [("_csrf", admin.csrf.as_str())];
    post(&app, "/app/settings/emails", &admin.cookie, &app.base, &off).await;
    let stored: Value = app
        .get("/settings/notifications")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(stored["enabled"], false);
    // Audited.
    let (_, html, _) = get(&app, "/app/audit", &admin.cookie).await;
    let log = texts(&html, "tbody tr").join("\n");
    assert!(log.contains("changed the default label file type"), "{log}");
    assert!(log.contains("changed the buyer emails"), "{log}");
}

#[tokio::test]
async fn the_day_s_labels_are_closed_out_on_a_manifest_from_its_page() {
    use crate::labels::{parcel, rate_for, us_from, us_to};
    let app = spawn_app().await;
    let account = app.account_name().await;
    let staff = person(&app, &account, Role::Staff).await;
    let sender = add_sender(&app).await;
    let quote = serde_json::json!({"address_from": us_from(), "address_to": us_to(), "parcels": [parcel()], "async": false});
    let rate = rate_for(&app, quote, "usps_priority").await;
    let t = crate::helpers::expect(
        app.post_json(
            "/transactions",
            &serde_json::json!({"rate": rate, "async": false}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let r: Value = app
        .get(&format!("/rates/{rate}"))
        .await
        .json()
        .await
        .unwrap();
    let carrier_account = r["carrier_account"].as_str().unwrap().to_string();
    let (_, html, _) = get(&app, "/app/manifests", &staff.cookie).await;
    assert!(attrs(&html, "#m-account option", "value").contains(&carrier_account));
    assert_eq!(texts(&html, "#manifests td.empty"), ["No manifest yet."]);

    let today: String = domain::Timestamp::now()
        .to_string()
        .chars()
        .take(10)
        .collect();
    let (status, html, _) = post(
        &app,
        "/app/manifests",
        &staff.cookie,
        &app.base,
        &[
            ("_csrf", &staff.csrf),
            ("carrier_account", &carrier_account),
            ("day", "soon"),
            ("address_from", &sender),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(texts(&html, "p.error")[0].contains("day"));
    let (status, _, _) = post(
        &app,
        "/app/manifests",
        &staff.cookie,
        &app.base,
        &[
            ("_csrf", &staff.csrf),
            ("carrier_account", &carrier_account),
            ("day", &today),
            ("address_from", &sender),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    // The job makes it.
    let mut made = Vec::new();
    for _ in 0..100 {
        let (_, html, _) = get(&app, "/app/manifests", &staff.cookie).await;
        made = texts(&html, "#manifests tbody tr td");
        if made.get(2).is_some_and(|s| s.starts_with("SUCCESS")) {
            assert!(!attrs(&html, "#manifests a", "href").is_empty(), "its PDF");
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(made[0], today);
    assert!(made[2].starts_with("SUCCESS"), "{made:?}");
    assert_eq!(made[3], "1");
    // Manifested: no longer refundable.
    let res = app
        .post_json(
            "/refunds",
            &serde_json::json!({"transaction": t["object_id"]}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
}

/// Polls a batch's progress (as htmx does) until it stops working.
async fn settled(app: &TestApp, p: &Person, batch_page: &str) {
    for _ in 0..150 {
        let res = browser()
            .get(app.url(batch_page))
            .header(COOKIE, &p.cookie)
            .header("HX-Request", "true")
            .send()
            .await
            .unwrap();
        if res.headers().get("hx-refresh").is_some() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("{batch_page} still works");
}

#[tokio::test]
async fn a_batch_s_error_queue_is_fixed_in_place_and_the_batch_buys_once_it_is_valid() {
    let app = spawn_app().await;
    let account = app.account_name().await;
    let staff = person(&app, &account, Role::Staff).await;
    let sender = add_sender(&app).await;
    let good = order(
        &app,
        &app.token,
        &order_body("#601", "Ann Lee", "a@x.example", "US"),
    )
    .await;
    let mut body = order_body("#602", "Bo Diaz", "b@x.example", "US");
    body["to_address"]["zip"] = "ABCDE".into();
    let bad_zip = order(&app, &app.token, &body).await;
    let mut body = order_body("#603", "Cy Ng", "c@x.example", "US");
    // Shippo requires an order's weight; an unweighed one says 0.
    body["weight"] = "0".into();
    for field in ["weight", "weight_unit"] {
        body["line_items"][0].as_object_mut().unwrap().remove(field);
    }
    let weightless = order(&app, &app.token, &body).await;

    // Bought from the inbox without a default weight: two cannot be bought.
    let (_, html, _) = get(&app, "/app/orders", &staff.cookie).await;
    let key = attrs(&html, "form#buy input[name=key]", "value")
        .pop()
        .unwrap();
    let service = attrs(&html, "select#service option", "value")
        .into_iter()
        .find(|v| v.ends_with("|usps_ground_advantage"))
        .unwrap();
    let mut fields = vec![
        ("_csrf", staff.csrf.as_str()),
        ("key", key.as_str()),
        ("service", service.as_str()),
        ("address_from", sender.as_str()),
        ("length", "10"),
        ("width", "8"),
        ("height", "4"),
        ("weight", ""),
    ];
    for id in [&good, &bad_zip, &weightless] {
        fields.push(("order", id.as_str()));
    }
    let (status, _, batch_page) =
        post(&app, "/app/orders/buy", &staff.cookie, &app.base, &fields).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    settled(&app, &staff, &batch_page).await;
    let (_, html, _) = get(&app, &batch_page, &staff.cookie).await;
    assert_eq!(texts(&html, "#progress .status"), ["INVALID"]);
    let fixes = attrs(&html, "#to-fix a[href*='/shipments/']", "href");
    assert_eq!(fixes.len(), 2, "{:?}", texts(&html, "td"));
    let queue = texts(&html, "#to-fix td").join(" | ");
    assert!(
        queue.contains("Fix #602") && queue.contains("Fix #603"),
        "{queue}"
    );
    assert!(queue.contains("has no weight"), "{queue}");
    let (zip_fix, weight_fix) = (&fixes[0], &fixes[1]);

    // Another account's eyes, or a made-up shipment: not found.
    let other = app.other_account(Mode::Test).await;
    let stranger = person(&app, &other.account_name().await, Role::Owner).await;
    let (status, _, _) = get(&app, zip_fix, &stranger.cookie).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = get(
        &app,
        &format!("{batch_page}/shipments/{}", domain::ObjectId::new()),
        &staff.cookie,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The address: shown as entered, corrected in place (and on the order).
    let (_, html, _) = get(&app, zip_fix, &staff.cookie).await;
    assert_eq!(texts(&html, "h1"), ["Fix #602"]);
    assert_eq!(attrs(&html, "#to-zip", "value"), ["ABCDE"]);
    assert!(
        attrs(&html, "#fix-signer", "name").is_empty(),
        "domestic: no customs"
    );
    let mut fix: Vec<(&str, &str)> = vec![
        ("_csrf", staff.csrf.as_str()),
        ("name", "Bo Diaz"),
        ("street1", "965 Mission St"),
        ("city", "San Francisco"),
        ("state", "CA"),
        ("zip", "94103"),
        ("country", "US"),
        ("email", "b@x.example"),
        ("weight", ""),
        ("mass_unit", "lb"),
    ];
    let (status, _, location) = post(&app, zip_fix, &staff.cookie, &app.base, &fix).await;
    assert_eq!(
        (status, location.as_str()),
        (StatusCode::SEE_OTHER, batch_page.as_str())
    );

    // The weight: a bad one is named and kept; then a good one.
    let (_, html, _) = get(&app, weight_fix, &staff.cookie).await;
    let address: Vec<(String, String)> = [
        "name", "street1", "city", "state", "zip", "country", "email",
    ]
    .iter()
    .map(|f| {
        (
            f.to_string(),
            attrs(&html, &format!("#to-{f}"), "value").join(""),
        )
    })
    .collect();
    fix.truncate(1);
    for (k, v) in &address {
        fix.push((k.as_str(), v.as_str()));
    }
    fix.extend([("weight", "heavy"), ("mass_unit", "kg")]);
    let (status, html, _) = post(&app, weight_fix, &staff.cookie, &app.base, &fix).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        texts(&html, "p.error")[0].contains("weight"),
        "{:?}",
        texts(&html, "p.error")
    );
    assert_eq!(attrs(&html, "#fix-weight", "value"), ["heavy"]);
    assert_eq!(attrs(&html, "#fix-unit option[selected]", "value"), ["kg"]);
    *fix.iter_mut().find(|(k, _)| *k == "weight").unwrap() = ("weight", "0.9");
    let (status, _, _) = post(&app, weight_fix, &staff.cookie, &app.base, &fix).await;
    assert_eq!(status, StatusCode::SEE_OTHER);

    // Valid now: the batch buys by itself, one label per order.
    settled(&app, &staff, &batch_page).await;
    let (_, html, _) = get(&app, &batch_page, &staff.cookie).await;
    assert_eq!(texts(&html, "#progress .status"), ["PURCHASED"]);
    assert_eq!(texts(&html, "tbody .status"), ["VALID", "VALID", "VALID"]);
    assert!(attrs(&html, "a[href*='/shipments/']", "href").is_empty());
    // A fixed shipment is not fixed twice; the bought batch takes no fix.
    let (status, html, _) = post(&app, weight_fix, &staff.cookie, &app.base, &fix).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        texts(&html, "main").join(" ").contains("PURCHASED"),
        "{:?}",
        texts(&html, "main")
    );
    for id in [&good, &bad_zip, &weightless] {
        let api: Value = app
            .get_as(&app.token, &format!("/orders/{id}"))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(api["order_status"], "SHIPPED", "{api}");
    }
    let api: Value = app
        .get_as(&app.token, &format!("/orders/{bad_zip}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(api["to_address"]["zip"], "94103");
    // The weighed parcel's label says what was entered.
    let bought: Value = app
        .get_as(&app.token, "/transactions?results=10")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(bought["results"].as_array().unwrap().len(), 3, "{bought}");
    let owner = person(&app, &account, Role::Owner).await;
    let (_, html, _) = get(&app, "/app/audit", &owner.cookie).await;
    let log = texts(&html, "tbody tr").join("\n");
    assert_eq!(log.matches("fixed a batch shipment").count(), 2, "{log}");
}

#[tokio::test]
async fn a_label_s_page_prints_it_again_in_another_file_type_and_shows_its_parcel_s_scans() {
    let app = spawn_app().await;
    let account = app.account_name().await;
    let staff = person(&app, &account, Role::Staff).await;
    let (carrier, id, number) = crate::tracking::label(&app).await;
    let path = format!("/app/labels/{id}");

    // Found from the list by its number.
    let (_, html, _) = get(
        &app,
        &format!("/app/labels?tracking={number}"),
        &staff.cookie,
    )
    .await;
    assert_eq!(
        attrs(&html, "tbody a[href^='/app/labels/']", "href"),
        std::slice::from_ref(&path)
    );

    let (status, html, _) = get(&app, &path, &staff.cookie).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(texts(&html, "h1 .status"), ["SUCCESS"]);
    assert!(texts(&html, "h1")[0].contains(&number));
    assert_eq!(texts(&html, ".card p.empty"), ["No scans yet."]);
    let formats = attrs(&html, "#reprint-type option", "value");
    assert_eq!(
        formats.len(),
        9,
        "every type but the one bought: {formats:?}"
    );
    assert!(!formats.contains(&"PDF_4x6".to_string()) && formats.contains(&"PNG".to_string()));

    // Printed again as a PNG: the same tracking number in its barcode; the label as bought
    // stays as it was.
    let (status, _, file) = post(
        &app,
        &format!("{path}/reprint"),
        &staff.cookie,
        &app.base,
        &[("_csrf", staff.csrf.as_str()), ("label_file_type", "PNG")],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(file.starts_with("/files/"), "{file}");
    let (kind, bytes) = crate::labels::download(&app, &app.url(&file)).await;
    assert_eq!(kind, "image/png");
    let png = crate::labels::scratch("again.png", &bytes);
    assert_eq!(crate::labels::code128(&png), vec![number.clone()]);
    let api: Value = app
        .get_as(&app.token, &format!("/transactions/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(api["label_file_type"], "PDF_4x6", "{api}");
    // An unknown type is named; nothing is drawn.
    let (status, html, _) = post(
        &app,
        &format!("{path}/reprint"),
        &staff.cookie,
        &app.base,
        &[("_csrf", staff.csrf.as_str()), ("label_file_type", "GIF")],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(texts(&html, "p.error")[0].contains("\"GIF\" is not a label file type"));

    // The courier scans it: the timeline shows it, newest first.
    let key = crate::tracking::scan_key(&app, &carrier).await;
    for (status, at, details) in [
        ("PRE_TRANSIT", "2026-11-20T08:00:00Z", "Recebido"),
        (
            "TRANSIT",
            "2026-11-20T18:00:00Z",
            "Saiu do centro <b>de</b> Lisboa",
        ),
    ] {
        let res = crate::tracking::scan(
            &app,
            &key,
            &serde_json::json!({"tracking_number": number, "status": status, "details": details,
                "occurred_at": at, "location": {"city": "Lisboa", "country": "PT"}}),
        )
        .await;
        assert_eq!(res.status(), StatusCode::CREATED);
    }
    let (_, html, _) = get(&app, &path, &staff.cookie).await;
    let scans = texts(&html, "ol.timeline li");
    assert_eq!(scans.len(), 2, "{scans:?}");
    assert!(
        scans[0].contains("TRANSIT") && scans[0].contains("Saiu do centro <b>de</b> Lisboa"),
        "{scans:?}"
    );
    assert!(scans[0].contains("Lisboa, PT"), "{scans:?}");
    assert!(
        scans[1].contains("PRE_TRANSIT") && scans[1].contains("2026-11-20 08:00"),
        "{scans:?}"
    );
    assert!(
        html.select(&scraper::Selector::parse("ol.timeline b").unwrap())
            .next()
            .is_none(),
        "escaped"
    );
    assert_eq!(texts(&html, "h2 .status"), ["TRANSIT"]);

    // Another account's label is not found.
    let other = app.other_account(Mode::Test).await;
    let stranger = person(&app, &other.account_name().await, Role::Owner).await;
    let (status, _, _) = get(&app, &path, &stranger.cookie).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = post(
        &app,
        &format!("{path}/reprint"),
        &stranger.cookie,
        &app.base,
        &[
            ("_csrf", stranger.csrf.as_str()),
            ("label_file_type", "PNG"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_inbox_s_filters_are_saved_as_named_views_the_account_shares() {
    let app = spawn_app().await;
    let account = app.account_name().await;
    let staff = person(&app, &account, Role::Staff).await;
    let admin = person(&app, &account, Role::Admin).await;
    order(
        &app,
        &app.token,
        &order_body("#701", "Ann", "a@x.example", "DE"),
    )
    .await;
    order(
        &app,
        &app.token,
        &order_body("#702", "Bo", "b@x.example", "US"),
    )
    .await;

    let (_, html, _) = get(&app, "/app/orders?status=PAID&country=DE", &staff.cookie).await;
    assert_eq!(
        attrs(&html, "form.save-view input[name=query]", "value"),
        ["status=PAID&country=DE"]
    );
    let save = |name: &'static str, query: &'static str| {
        let csrf = staff.csrf.clone();
        let app = &app;
        let cookie = staff.cookie.clone();
        async move {
            post(
                app,
                "/app/orders/views",
                &cookie,
                &app.base,
                &[("_csrf", csrf.as_str()), ("name", name), ("query", query)],
            )
            .await
        }
    };
    // Unknown keys are dropped; an empty name or nothing filtered is refused.
    let (status, _, location) = save(
        "<script>alert(1)</script> DE",
        "status=PAID&country=DE&evil=1&before=x",
    )
    .await;
    assert_eq!(
        (status, location.as_str()),
        (StatusCode::SEE_OTHER, "/app/orders?status=PAID&country=DE")
    );
    let (status, html, _) = save("  ", "country=DE").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(texts(&html, "main").join(" ").contains("Name the view"));
    let (status, _, _) = save("Everything", "").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // Another of the account's people sees it; it opens its filters and is the current view.
    let (_, html, _) = get(&app, "/app/orders", &admin.cookie).await;
    let names = texts(&html, "nav.views a");
    assert_eq!(
        names.last().unwrap(),
        "<script>alert(1)</script> DE",
        "{names:?}"
    );
    assert!(html
        .select(&scraper::Selector::parse("nav.views script").unwrap())
        .next()
        .is_none());
    let href = attrs(&html, "nav.views a", "href").pop().unwrap();
    assert_eq!(href, "/app/orders?status=PAID&country=DE");
    let (_, html, _) = get(&app, &href, &admin.cookie).await;
    assert_eq!(
        texts(&html, "nav.views a[aria-current=page]"),
        ["<script>alert(1)</script> DE"]
    );
    assert!(
        attrs(&html, "form.save-view", "action").is_empty(),
        "already a view"
    );
    assert_eq!(texts(&html, "tbody#rows a[href^='/app/orders/']"), ["#701"]);
    // Saved again under the same name: one view with the new filters.
    let (status, _, _) = save("<script>alert(1)</script> DE", "country=DE").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, html, _) = get(&app, "/app/orders", &admin.cookie).await;
    assert_eq!(
        attrs(&html, "nav.views a", "href").last().unwrap(),
        "/app/orders?country=DE"
    );
    let delete = attrs(&html, "nav.views form", "action");
    assert_eq!(delete.len(), 1);

    // Another account neither sees nor deletes it.
    let other = app.other_account(Mode::Test).await;
    let stranger = person(&app, &other.account_name().await, Role::Owner).await;
    let (_, html, _) = get(&app, "/app/orders", &stranger.cookie).await;
    assert!(attrs(&html, "nav.views form", "action").is_empty());
    let (status, _, _) = post(
        &app,
        &delete[0],
        &stranger.cookie,
        &app.base,
        &[("_csrf", stranger.csrf.as_str())],
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = post(
        &app,
        &delete[0],
        &staff.cookie,
        &app.base,
        &[("_csrf", staff.csrf.as_str())],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, html, _) = get(&app, "/app/orders", &staff.cookie).await;
    assert!(attrs(&html, "nav.views form", "action").is_empty());
    assert_eq!(texts(&html, "nav.views a").len(), 7, "the ready-made views");
}

#[tokio::test]
async fn the_developers_page_lists_the_api_s_recent_refusals_of_the_account_s_tokens_only() {
    let app = spawn_app().await;
    let account = app.account_name().await;
    let developer = person(&app, &account, Role::Developer).await;
    let (_, html, _) = get(&app, "/app/developers", &developer.cookie).await;
    assert_eq!(
        texts(&html, "#api-errors td.empty"),
        ["No errors. Calls that fail show here."]
    );
    assert_eq!(
        texts(&html, "title"),
        ["Developers · Consign"],
        "the title holds no markup"
    );

    // Two refusals of this account's token, one carrying a secret in its body.
    let res = app
        .post_json(
            "/addresses",
            &serde_json::json!({"name": "x", "country": "QQ", "password": "hunter2-secret"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let missing = domain::ObjectId::new();
    let res = app
        .get(&format!("/orders/{missing}?token=query-secret"))
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    // Nobody's (a bad token) and another account's are not this account's.
    let res = app.get_as("shippo_test_not_a_token", "/orders").await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let other = app.other_account(Mode::Test).await;
    let res = other.get(&format!("/shipments/{missing}")).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    // A success is not a refusal.
    assert_eq!(app.get("/orders").await.status(), StatusCode::OK);

    let mut rows = Vec::new();
    for _ in 0..100 {
        let (_, html, _) = get(&app, "/app/developers", &developer.cookie).await;
        rows = html
            .select(&scraper::Selector::parse("#api-errors tbody tr").unwrap())
            .map(|tr| tr.text().collect::<Vec<_>>().join("|"))
            .collect();
        if rows.len() >= 2 && !rows[0].contains("No errors") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(
        rows[0].contains(&format!("GET /orders/{missing}")) && rows[0].contains("|404|"),
        "{rows:?}"
    );
    assert!(rows[0].contains("not_found"), "{rows:?}");
    assert!(
        rows[1].contains("POST /addresses") && rows[1].contains("|400|"),
        "{rows:?}"
    );
    assert!(
        rows[1].contains("validation_error") && rows[1].contains("country"),
        "{rows:?}"
    );
    let all = rows.join("\n");
    assert!(
        !all.contains("hunter2") && !all.contains("query-secret"),
        "{all}"
    );
    assert!(!all.contains("/shipments/"), "another account's: {all}");

    // A staff member has no Developers page.
    let staff = person(&app, &account, Role::Staff).await;
    let (status, _, _) = get(&app, "/app/developers", &staff.cookie).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn an_account_keeps_only_its_newest_refusals_per_mode() {
    let app = spawn_app().await;
    let who = crate::web_pages::principal_of(&app, &app.token).await;
    let scope = service::scope(&who);
    let live = store::Scope {
        test: !scope.test,
        ..scope
    };
    let mut conn = app.services.store.conn().await.unwrap();
    let refusal = |n: i64| store::views::ApiError {
        id: domain::ObjectId::new(),
        method: "GET".into(),
        path: format!("/orders/{n}"),
        status: 404,
        message: "not_found".into(),
    };
    store::views::record_errors(&mut conn, live, &[refusal(99)], 3)
        .await
        .unwrap();
    for n in 0..5 {
        store::views::record_errors(&mut conn, scope, &[refusal(n)], 3)
            .await
            .unwrap();
    }
    let kept = store::views::recent_errors(&mut conn, scope, 10)
        .await
        .unwrap();
    let paths: Vec<&str> = kept.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(paths, ["/orders/4", "/orders/3", "/orders/2"]);
    let other_mode = store::views::recent_errors(&mut conn, live, 10)
        .await
        .unwrap();
    assert_eq!(other_mode.len(), 1, "the other mode keeps its own");
}

#[tokio::test]
async fn branding_heads_the_tracking_page_names_the_emails_and_the_packing_slips() {
    let smtp = crate::fakes::SmtpServer::start().await;
    let app = crate::helpers::spawn_app_with(consign::config::Layer {
        smtp_host: Some("127.0.0.1".into()),
        smtp_port: Some(smtp.port),
        smtp_tls: Some("none".into()),
        smtp_from: Some("Consign <ship@shop.example>".into()),
        ..Default::default()
    })
    .await;
    let account = app.account_name().await;
    let owner = person(&app, &account, Role::Owner).await;
    let who = crate::web_pages::principal_of(&app, &app.token).await;
    // An image is full of 0 bytes: the edge's NUL guard lets this one form's file through.
    let png: Vec<u8> = [&b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR"[..], &[0u8; 64][..]].concat();
    let brand = |name: &'static str, color: &'static str| {
        vec![
            ("_csrf", owner.csrf.clone()),
            ("name", name.to_string()),
            ("color", color.to_string()),
        ]
    };
    let fields = |v: &[(&'static str, String)]| -> Vec<(&'static str, String)> { v.to_vec() };
    let send = |v: Vec<(&'static str, String)>, file: Option<Vec<u8>>| {
        let app = &app;
        let owner = &owner;
        async move {
            let refs: Vec<(&str, &str)> = v.iter().map(|(k, v)| (*k, v.as_str())).collect();
            post_file(
                app,
                "/app/settings/branding",
                owner,
                &refs,
                file.as_deref().map(|f| ("logo.png", f)),
            )
            .await
        }
    };
    // Refused: a colour white text cannot be read on; a logo that is not an image.
    let (status, html) = send(fields(&brand("Loja", "#ffcc00")), None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        texts(&html, "#branding p.error")[0].contains("contrast"),
        "{:?}",
        texts(&html, "p.error")
    );
    assert_eq!(attrs(&html, "#brand-name", "value"), ["Loja"]);
    let (status, html) = send(
        fields(&brand("Loja", "#0b5cad")),
        Some(b"<svg onload=alert(1)>".to_vec()),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(texts(&html, "#branding p.error")[0].contains("PNG, JPEG, GIF or WebP"));
    // A NUL in a text field of that form is still refused, by the service (not a 500).
    let (status, html) = send(fields(&brand("Lo\0ja", "#0b5cad")), Some(png.clone())).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(texts(&html, "#branding p.error")[0].contains("Control characters"));
    // Saved.
    let (status, _) = send(
        fields(&brand("Loja <Ana> & Filhos", "#1D4E89")),
        Some(png.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, html, _) = get(&app, "/app/settings", &owner.cookie).await;
    assert_eq!(attrs(&html, "#brand-color", "value"), ["#1d4e89"]);
    let logo_path = format!("/brand/{}/logo", who.account_id);
    assert_eq!(
        attrs(&html, "#branding img", "src"),
        std::slice::from_ref(&logo_path)
    );
    let res = browser().get(app.url(&logo_path)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "image/png");
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    assert_eq!(res.bytes().await.unwrap().to_vec(), png);
    let res = browser()
        .get(app.url(&format!("/brand/{}/logo", domain::ObjectId::new())))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);

    // The buyer emails use the name; the preview shows it.
    let (status, _, _) = post(
        &app,
        "/app/settings/emails",
        &owner.cookie,
        &app.base,
        &[
            ("_csrf", owner.csrf.as_str()),
            ("enabled", "1"),
            (
                "shipped_subject",
                "{{shop_name}}: parcel {{tracking_number}} is on its way",
            ),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (carrier, _, number) = crate::tracking::label(&app).await;
    let key = crate::tracking::scan_key(&app, &carrier).await;
    let res = crate::tracking::scan(
        &app,
        &key,
        &serde_json::json!({"tracking_number": number, "status": "TRANSIT", "occurred_at": "2026-11-20T18:00:00Z",
            "location": {"city": "Lisboa", "country": "PT"}}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let mails = smtp.wait_for(1, 20).await;
    assert_eq!(
        mails[0].header("Subject").unwrap(),
        format!("Loja <Ana> & Filhos: parcel {number} is on its way")
    );
    // The display name, RFC 2047-encoded (it holds < > &), before the server's address.
    let from = mails[0].header("From").unwrap();
    let (name, address) = from.split_once(' ').unwrap();
    let encoded = name
        .strip_prefix("=?utf-8?b?")
        .and_then(|n| n.strip_suffix("?="))
        .unwrap_or_else(|| panic!("{from}"));
    use base64::Engine;
    let name = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .unwrap();
    assert_eq!(String::from_utf8(name).unwrap(), "Loja <Ana> & Filhos");
    assert_eq!(address, "<ship@shop.example>");
    assert_eq!(mails[0].from, "ship@shop.example");

    // The public page: the logo and the name (escaped) on the colour.
    let page = browser()
        .get(app.url(&format!("/track/{carrier}/{number}")))
        .send()
        .await
        .unwrap();
    assert!(page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("img-src 'self'"));
    let body = page.text().await.unwrap();
    let html = Html::parse_document(&body);
    assert_eq!(texts(&html, "header.brand span"), ["Loja <Ana> & Filhos"]);
    assert_eq!(
        attrs(&html, "header.brand img", "src"),
        std::slice::from_ref(&logo_path)
    );
    assert!(body.contains("background:#1d4e89"), "{body}");

    // The packing slip names it.
    let o = crate::web_pages::order(
        &app,
        &app.token,
        &crate::web_pages::order_body("#801", "Ann", "a@x.example", "US"),
    )
    .await;
    let slip: Value = app
        .get(&format!("/orders/{o}/packingslip"))
        .await
        .json()
        .await
        .unwrap();
    let (_, pdf) = crate::labels::download(&app, slip["slip_url"].as_str().unwrap()).await;
    let path = crate::labels::scratch("slip.pdf", &pdf);
    let text = crate::labels::tool("pdftotext", &["-layout", path.to_str().unwrap(), "-"]);
    assert!(text.contains("Loja <Ana> & Filhos"), "{text}");

    // Removing the logo keeps the rest; audited.
    let mut keep = fields(&brand("Loja <Ana> & Filhos", "#1d4e89"));
    keep.push(("remove_logo", "1".into()));
    let (status, _) = send(keep, None).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let res = browser().get(app.url(&logo_path)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let (_, html, _) = get(&app, "/app/audit", &owner.cookie).await;
    let log = texts(&html, "tbody tr").join("\n");
    assert_eq!(log.matches("changed the branding").count(), 2, "{log}");
}

#[tokio::test]
async fn home_lists_parcels_that_failed_or_came_back_and_webhooks_that_gave_up() {
    let app = spawn_app().await;
    let account = app.account_name().await;
    let owner = person(&app, &account, Role::Owner).await;
    let staff = person(&app, &account, Role::Staff).await;
    let who = crate::web_pages::principal_of(&app, &app.token).await;
    let (hook, _) =
        crate::tracking::webhook(&app, "http://127.0.0.1:9/hooks", "track_updated").await;
    let (carrier, failed_label, failed) = crate::tracking::label(&app).await;
    let key = crate::tracking::scan_key(&app, &carrier).await;
    let rate = crate::labels::rate_for(
        &app,
        serde_json::json!({"address_from": crate::labels::lisboa(), "address_to": crate::labels::porto(),
            "parcels": [crate::labels::parcel()], "carrier_accounts": [carrier]}),
        "std",
    )
    .await;
    let t = crate::labels::buy(&app, serde_json::json!({"rate": rate, "async": false})).await;
    let delivered = t["tracking_number"].as_str().unwrap().to_string();
    let delivered_key = key.clone();
    for (number, key, status) in [
        (&failed, &key, "FAILURE"),
        (&delivered, &delivered_key, "DELIVERED"),
    ] {
        let res = crate::tracking::scan(
            &app,
            key,
            &serde_json::json!({"tracking_number": number, "status": status, "occurred_at": "2026-12-06T10:00:00Z"}),
        )
        .await;
        assert!(res.status().is_success(), "{}", res.text().await.unwrap());
    }
    let (_, html, _) = get(&app, "/", &staff.cookie).await;
    let todo: Vec<(String, String)> = html
        .select(&scraper::Selector::parse("ul.todo li.urgent a").unwrap())
        .map(|a| {
            (
                a.text().collect::<String>(),
                a.value().attr("href").unwrap().to_string(),
            )
        })
        .collect();
    assert!(
        todo.contains(&(
            format!("1 parcel {failed} failed"),
            format!("/app/labels/{failed_label}")
        )),
        "{todo:?}"
    );
    assert!(
        !todo.iter().any(|(t, _)| t.contains(&delivered)),
        "delivered is fine: {todo:?}"
    );

    // A delivery that gave up: the developers' roles see it, staff do not.
    let hook = domain::ObjectId::parse(&hook).unwrap();
    let mut found = Vec::new();
    for _ in 0..100 {
        found = service::webhooks::deliveries(
            &app.services,
            &who,
            hook,
            store::PageRequest {
                page: 1,
                results: 10,
            },
        )
        .await
        .unwrap()
        .items;
        if !found.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let mut conn = app.services.store.conn().await.unwrap();
    store::webhooks::record_attempt(
        &mut conn,
        found[0].id,
        domain::webhook::DeliveryStatus::Failed,
        &found[0].attempts,
        domain::Timestamp::now(),
    )
    .await
    .unwrap();
    drop(conn);
    let (_, html, _) = get(&app, "/", &owner.cookie).await;
    let todo = texts(&html, "ul.todo li.urgent a");
    assert!(
        todo.iter()
            .any(|t| t == "1 webhook deliveries that gave up"),
        "{todo:?}"
    );
    let (_, html, _) = get(&app, "/", &staff.cookie).await;
    assert!(!texts(&html, "ul.todo a")
        .iter()
        .any(|t| t.contains("webhook")));
}
