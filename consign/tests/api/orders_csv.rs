//! CSV import and export of orders, by API (text/csv and multipart, dry run, rejections naming
//! row and field, idempotent) and by the command line (with batches made and bought from it).

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{expect, spawn_app, TestApp};
use crate::labels::{courier, lisboa};

/// A shop export (Shopify's column names) of three orders, one with a bad row.
const SHOP_EXPORT: &str = "\
Name,Email,Financial Status,Created at,Lineitem quantity,Lineitem name,Lineitem price,Lineitem sku,Shipping Name,Shipping Address1,Shipping City,Shipping Zip,Shipping Country,Notes
#1001,ana@example.pt,paid,2026-11-30 10:00:00 +0000,2,Caneca,10.00,MUG,Ana Conceição,Rua de Santa Catarina 1,Porto,4000-447,PT,Fragile
#1001,ana@example.pt,paid,2026-11-30 10:00:00 +0000,1,Postal,2.00,CARD,Ana Conceição,Rua de Santa Catarina 1,Porto,4000-447,PT,Fragile
#1002,bo@example.pt,pending,2026-11-30 11:00:00 +0000,1,Caneca,10.00,MUG,Bo Silva,Rua Augusta 1,Lisboa,1100-053,PT,
#1003,cy@example.pt,paid,2026-11-30 12:00:00 +0000,1,Caneca,10.00,MUG,Cy,Rua 3,Faro,8000-001,XX,
#1003,cy@example.pt,paid,2026-11-30 12:00:00 +0000,two,Postal,2.00,CARD,Cy,Rua 3,Faro,8000-001,XX,
";

async fn import(app: &TestApp, query: &str, body: &str) -> Value {
    let res = app
        .client
        .post(app.url(&format!("/orders/import{query}")))
        .header("Authorization", format!("ShippoToken {}", app.token))
        .header("content-type", "text/csv")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    expect(res, StatusCode::OK).await
}

#[tokio::test]
async fn a_shop_export_imports_once_with_each_bad_row_named_and_round_trips() {
    let app = spawn_app().await;
    // Dry run: what would happen, nothing written.
    let dry = import(&app, "?dry_run=true", SHOP_EXPORT).await;
    assert_eq!(dry["dry_run"], true);
    assert_eq!(
        (dry["rows"].as_u64(), dry["orders"].as_u64()),
        (Some(5), Some(3))
    );
    assert_eq!(
        (dry["created"].as_u64(), dry["rejected"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(dry["created_orders"], json!(["#1001", "#1002"]));
    let r = &dry["rejections"][0];
    assert_eq!(
        (r["row"].as_u64(), r["field"].as_str()),
        (Some(6), Some("quantity")),
        "{dry}"
    );
    assert_eq!(r["order_number"], "#1003");
    let none = expect(app.get("/orders").await, StatusCode::OK).await;
    assert_eq!(
        none["results"].as_array().unwrap().len(),
        0,
        "a dry run writes nothing"
    );

    // For real: the good orders are saved, with their line items and buyer.
    let done = import(&app, "", SHOP_EXPORT).await;
    assert_eq!(
        (done["created"].as_u64(), done["rejected"].as_u64()),
        (Some(2), Some(1))
    );
    let list = expect(app.get("/orders").await, StatusCode::OK).await;
    assert_eq!(list["results"].as_array().unwrap().len(), 2);
    let first = list["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["order_number"] == "#1001")
        .unwrap();
    assert_eq!(first["order_status"], "PAID");
    assert_eq!(first["shop_app"], "CSV_Import");
    assert_eq!(first["source"], "csv");
    assert_eq!(first["placed_at"], "2026-11-30T10:00:00.000Z");
    assert_eq!(first["to_address"]["city"], "Porto");
    assert_eq!(first["to_address"]["email"], "ana@example.pt");
    assert_eq!(first["notes"], "Fragile");
    assert_eq!(first["line_items"].as_array().unwrap().len(), 2);
    assert_eq!(first["line_items"][0]["quantity"], 2);
    assert_eq!(first["line_items"][0]["total_price"], "10.00");
    let second = list["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["order_number"] == "#1002")
        .unwrap();
    assert_eq!(second["order_status"], "AWAITPAY");

    // The same file again changes nothing; a fixed row adds the third; a changed address updates.
    let again = import(&app, "", SHOP_EXPORT).await;
    assert_eq!(
        (again["created"].as_u64(), again["unchanged"].as_u64()),
        (Some(0), Some(2))
    );
    let fixed = SHOP_EXPORT
        .replace(",two,", ",2,")
        .replace(",XX,", ",PT,")
        .replace("Rua Augusta 1", "Rua Augusta 2");
    let more = import(&app, "", &fixed).await;
    assert_eq!(more["created_orders"], json!(["#1003"]), "{more}");
    assert_eq!(more["updated_orders"], json!(["#1002"]));
    assert_eq!(more["unchanged"], 1);
    assert_eq!(
        expect(app.get("/orders").await, StatusCode::OK).await["results"]
            .as_array()
            .unwrap()
            .len(),
        3
    );

    // Export, then import the export: nothing changes (same orders, same line items).
    let res = app
        .client
        .get(app.url("/orders/export"))
        .header("Authorization", format!("ShippoToken {}", app.token))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let exported = res.text().await.unwrap();
    assert!(
        exported.starts_with("order_number,placed_at,order_status,buyer_email,ship_to_name"),
        "{exported}"
    );
    assert_eq!(exported.lines().count(), 1 + 5, "one row per line item");
    let round = import(&app, "", &exported).await;
    assert_eq!(
        (
            round["unchanged"].as_u64(),
            round["created"].as_u64(),
            round["updated"].as_u64()
        ),
        (Some(3), Some(0), Some(0)),
        "{round}"
    );

    // Multipart with a header map for an unusual column name.
    let odd = "Order Ref,Street,Town,Land,Item,Qty\nX-1,Rua 1,Porto,PT,Caneca,1\n";
    let mapping = r#"{"order_number": "Order Ref", "ship_to_street1": "Street", "ship_to_city": "Town", "ship_to_country": "Land"}"#;
    let body = format!(
        "--XyZ\r\nContent-Disposition: form-data; name=\"mapping\"\r\n\r\n{mapping}\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"odd.csv\"\r\nContent-Type: text/csv\r\n\r\n{odd}\r\n--XyZ--\r\n"
    );
    let res = app
        .client
        .post(app.url("/orders/import"))
        .header("Authorization", format!("ShippoToken {}", app.token))
        .header("content-type", "multipart/form-data; boundary=XyZ")
        .body(body)
        .send()
        .await
        .unwrap();
    let mapped = expect(res, StatusCode::OK).await;
    assert_eq!(mapped["created_orders"], json!(["X-1"]), "{mapped}");
    // Without the map the required columns are named.
    let res = app
        .client
        .post(app.url("/orders/import"))
        .header("Authorization", format!("ShippoToken {}", app.token))
        .header("content-type", "text/csv")
        .body(odd)
        .send()
        .await
        .unwrap();
    let bad = expect(res, StatusCode::BAD_REQUEST).await;
    for f in [
        "order_number",
        "ship_to_street1",
        "ship_to_city",
        "ship_to_country",
    ] {
        assert!(bad["fields"][f].is_array(), "{f}: {bad}");
    }
    // Another account's import never touches these orders.
    let other = app.other_account(domain::account::Mode::Test).await;
    let theirs = import(&other, "", SHOP_EXPORT).await;
    assert_eq!(theirs["created"], 2);
    assert_eq!(
        expect(app.get("/orders").await, StatusCode::OK).await["results"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
}

fn consign(app: &TestApp, args: &[&str]) -> (bool, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_consign"))
        .args(args)
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
async fn the_command_line_imports_exports_and_ships_a_batch_of_orders() {
    let app = spawn_app().await;
    let dir = std::env::temp_dir().join(format!("consign-csv-{}", domain::ObjectId::new()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("orders.csv");
    let mut csv = String::from("order_number,placed_at,buyer_email,ship_to_name,ship_to_street1,ship_to_city,ship_to_zip,ship_to_country,sku,title,quantity,weight,weight_unit\n");
    for n in 0..300 {
        csv.push_str(&format!("N-{n},2026-11-30T10:00:00Z,b{n}@example.pt,Buyer {n},Rua {n},Porto,4000-447,PT,MUG,Caneca,1,0.5,kg\n"));
    }
    std::fs::write(&file, &csv).unwrap();
    let path = file.to_str().unwrap();
    let name = app.account_name().await;
    let consign = |app: &TestApp, args: &[&str]| {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--account", name.as_str()]);
        consign(app, &all)
    };
    let (ok, out, err) = consign(
        &app,
        &["orders", "import", path, "--mode", "test", "--dry-run"],
    );
    assert!(ok, "{err}");
    assert!(
        out.starts_with("300 rows, 300 orders: 300 would be created"),
        "{out}"
    );
    let (ok, out, err) = consign(&app, &["orders", "import", path, "--mode", "test"]);
    assert!(ok, "{err}");
    assert!(
        out.starts_with("300 rows, 300 orders: 300 created"),
        "{out}"
    );
    let (ok, out, _) = consign(&app, &["orders", "import", path, "--mode", "test"]);
    assert!(ok && out.contains("300 unchanged"), "{out}");
    let list = expect(app.get("/orders?results=1000").await, StatusCode::OK).await;
    assert_eq!(
        list["results"].as_array().unwrap().len(),
        300,
        "the token (test mode) sees them"
    );
    let (ok, exported, err) = consign(
        &app,
        &["orders", "export", "--mode", "test", "--status", "PAID"],
    );
    assert!(ok, "{err}");
    assert_eq!(exported.lines().count(), 301);

    // Ship them all from the command line: a batch from the orders, then its purchase.
    let account = courier(&app).await;
    let from = app.create_address(&lisboa()).await;
    let (ok, out, err) = consign(
        &app,
        &[
            "batch",
            "create",
            "--from-orders",
            "--mode",
            "test",
            "--carrier-account",
            &account,
            "--servicelevel",
            "std",
            "--address-from",
            from["object_id"].as_str().unwrap(),
            "--length",
            "30",
            "--width",
            "20",
            "--height",
            "10",
            "--distance-unit",
            "cm",
        ],
    );
    assert!(ok, "{err}");
    let id = out.trim().to_string();
    assert!(err.contains("is VALID: 300 shipments valid"), "{err}");
    let (ok, out, err) = consign(&app, &["batch", "purchase", &id, "--mode", "test"]);
    assert!(ok, "{err}");
    assert!(err.contains("is PURCHASED: 300 labels bought"), "{err}");
    assert_eq!(out.lines().count(), 3, "three merged files: {out}");
    let b = expect(app.get(&format!("/batches/{id}")).await, StatusCode::OK).await;
    assert_eq!(b["status"], "PURCHASED");
    assert_eq!(b["label_url"].as_array().unwrap().len(), 3);
    let shipped = expect(
        app.get("/orders?order_status[]=SHIPPED&results=1000").await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(shipped["results"].as_array().unwrap().len(), 300);
    let _ = std::fs::remove_dir_all(dir);
}

/// Issue 21: `ship_to_street1` is required (as documented): a row without it is refused naming
/// its row and column, and its order is not stored. A header naming a column Consign reads twice
/// is refused naming that column (it used to read the first silently).
#[tokio::test]
async fn a_row_without_street1_and_a_duplicated_column_are_refused_by_name() {
    let app = spawn_app().await;
    let file = "order_number,ship_to_name,ship_to_street1,ship_to_city,ship_to_zip,ship_to_country,title,quantity\n\
S-1,Ana,,Porto,4000-447,PT,Mug,1\n\
S-2,Bo,Rua Augusta 1,Lisboa,1100-053,PT,Mug,1\n";
    let r = import(&app, "", file).await;
    assert_eq!(
        (r["created"].as_u64(), r["rejected"].as_u64()),
        (Some(1), Some(1)),
        "{r}"
    );
    assert_eq!(
        r["rejections"],
        json!([{"row": 2, "field": "ship_to_street1", "message": "This field is required.", "order_number": "S-1"}]),
        "{r}"
    );
    let list = expect(app.get("/orders").await, StatusCode::OK).await;
    let numbers: Vec<&str> = list["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["order_number"].as_str().unwrap())
        .collect();
    assert_eq!(numbers, ["S-2"]);

    let dup = "order_number,ship_to_street1,ship_to_city,ship_to_country,ship_to_city\n\
S-3,Rua 1,Porto,PT,Lisboa\n";
    let res = app
        .client
        .post(app.url("/orders/import"))
        .header("Authorization", format!("ShippoToken {}", app.token))
        .header("content-type", "text/csv")
        .body(dup)
        .send()
        .await
        .unwrap();
    let e = expect(res, StatusCode::BAD_REQUEST).await;
    let m = e["fields"]["ship_to_city"][0].as_str().unwrap_or_default();
    assert!(
        m.contains("2 columns named \"ship_to_city\" (columns 3, 5)"),
        "{e}"
    );
    let list = expect(app.get("/orders").await, StatusCode::OK).await;
    assert_eq!(
        list["results"].as_array().unwrap().len(),
        1,
        "nothing imported"
    );
}

async fn export(app: &TestApp) -> String {
    let res = app
        .client
        .get(app.url("/orders/export"))
        .header("Authorization", format!("ShippoToken {}", app.token))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    res.text().await.unwrap()
}

/// Issue 21: CSV formula injection. Values a spreadsheet would run as a formula (`=HYPERLINK`,
/// `+cmd|…`, `@SUM`, `-2+3`) are exported with a `'` in front, and so is a value that really
/// begins with `'`; the import takes exactly one `'` off, so export → import is exact (nothing
/// changes, and another account's import of the export exports the same file).
#[tokio::test]
async fn exported_cells_never_start_a_formula_and_import_back_exactly() {
    let app = spawn_app().await;
    let file = "order_number,ship_to_name,ship_to_street1,ship_to_city,ship_to_zip,ship_to_country,sku,title,variant_title,quantity,notes\n\
F-1,\"=HYPERLINK(\"\"http://evil.example\"\",\"\"click\"\")\",Rua 1,Porto,4000-447,PT,@SUM(1+1),+cmd|' /C calc'!A0,'quoted,1,-2+3\n\
F-2,Bo,Rua 2,Lisboa,1100-053,PT,MUG,Mug,''=not a formula,1,plain\n";
    let r = import(&app, "", file).await;
    assert_eq!(r["created"], 2, "{r}");
    let list = expect(app.get("/orders").await, StatusCode::OK).await;
    let find = |n: &str| {
        list["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["order_number"] == n)
            .unwrap()
            .clone()
    };
    let (f1, f2) = (find("F-1"), find("F-2"));
    assert_eq!(
        f1["to_address"]["name"],
        "=HYPERLINK(\"http://evil.example\",\"click\")"
    );
    assert_eq!(f1["line_items"][0]["sku"], "@SUM(1+1)");
    assert_eq!(f1["line_items"][0]["title"], "+cmd|' /C calc'!A0");
    assert_eq!(f1["line_items"][0]["variant_title"], "'quoted");
    assert_eq!(f1["notes"], "-2+3");
    assert_eq!(f2["line_items"][0]["variant_title"], "'=not a formula");

    let exported = export(&app).await;
    for cell in [
        "\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"click\"\")\"",
        ",'@SUM(1+1),",
        ",'+cmd|' /C calc'!A0,",
        ",''quoted,",
        ",'-2+3\n",
        ",''=not a formula,",
    ] {
        assert!(exported.contains(cell), "{cell} in {exported}");
    }
    for danger in [",=", ",+", ",@", ",-", ",\"=", ",\"+", ",\"@", ",\"-"] {
        assert!(!exported.contains(danger), "{danger} in {exported}");
    }
    // Back in: exactly the same orders.
    let round = import(&app, "", &exported).await;
    assert_eq!(
        (
            round["unchanged"].as_u64(),
            round["created"].as_u64(),
            round["updated"].as_u64()
        ),
        (Some(2), Some(0), Some(0)),
        "{round}"
    );
    let other = app.other_account(domain::account::Mode::Test).await;
    assert_eq!(import(&other, "", &exported).await["created"], 2);
    assert_eq!(export(&other).await, exported);
}

/// `n` orders of two rows each, every tenth order's second row at the end of the file (rows of
/// one order need not be adjacent), each order with a long note; `bad` orders (the first ones)
/// with a quantity that is not a number.
fn big_file(n: usize, bad: usize) -> String {
    let note = "Leave the parcel with the neighbour at number 12 if nobody answers. ".repeat(3);
    let mut head = String::from(
        "order_number,placed_at,ship_to_name,ship_to_street1,ship_to_city,ship_to_zip,ship_to_country,sku,title,quantity,notes\n",
    );
    let mut tail = String::new();
    for i in 0..n {
        let q = if i < bad { "two" } else { "1" };
        head.push_str(&format!(
            "B-{i},2026-11-30T10:00:00Z,Buyer {i},Rua {i},Porto,4000-447,PT,MUG,Caneca,{q},{note}\n"
        ));
        let second = format!(
            "B-{i},2026-11-30T10:00:00Z,Buyer {i},Rua {i},Porto,4000-447,PT,CARD,Postal,2,{note}\n"
        );
        if i % 10 == 0 {
            tail.push_str(&second);
        } else {
            head.push_str(&second);
        }
    }
    head + &tail
}

#[tokio::test]
async fn a_large_import_counts_every_order_and_lists_at_most_1000_rejections() {
    let app = spawn_app().await;
    let (n, bad) = (6_000, 1_200);
    let file = big_file(n, bad);
    assert!(file.len() > 2_000_000, "{}", file.len());
    let done = import(&app, "", &file).await;
    assert_eq!(done["rows"], 2 * n);
    assert_eq!(done["orders"], n);
    assert_eq!(done["created"], n - bad);
    assert_eq!(done["rejected"], bad);
    assert_eq!(done["created_orders"].as_array().unwrap().len(), n - bad);
    assert_eq!(done["created_orders"][0], format!("B-{bad}"));
    // One rejection per bad order, the first 1,000 by row listed.
    let rejections = done["rejections"].as_array().unwrap();
    assert_eq!(rejections.len(), 1_000);
    assert_eq!(done["rejections_omitted"], bad - 1_000);
    assert_eq!(
        (
            rejections[0]["row"].as_u64(),
            rejections[0]["field"].as_str()
        ),
        (Some(2), Some("quantity"))
    );
    let rows: Vec<u64> = rejections
        .iter()
        .map(|r| r["row"].as_u64().unwrap())
        .collect();
    assert!(rows.windows(2).all(|w| w[0] < w[1]), "by row");
    // Every saved order has both line items, those whose rows are apart too.
    let exported = export(&app).await;
    assert_eq!(exported.lines().count(), 1 + 2 * (n - bad));
    // The same file again: every order unchanged.
    let again = import(&app, "", &file).await;
    assert_eq!(
        (again["created"].as_u64(), again["unchanged"].as_u64()),
        (Some(0), Some((n - bad) as u64))
    );
}

/// Starts `POST /orders/import` of `file` as `token` on a raw connection, sending only the first
/// half of the body; [`finish_upload`] sends the rest and reads the answer.
async fn start_upload(app: &TestApp, token: &str, file: &str) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt;
    let host = app.base.trim_start_matches("http://").to_string();
    let mut conn = tokio::net::TcpStream::connect(&host).await.unwrap();
    let head = format!(
        "POST /orders/import HTTP/1.1\r\nHost: {host}\r\nAuthorization: ShippoToken {token}\r\nContent-Type: text/csv\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        file.len()
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    conn.write_all(&file.as_bytes()[..file.len() / 2])
        .await
        .unwrap();
    conn.flush().await.unwrap();
    conn
}

async fn finish_upload(mut conn: tokio::net::TcpStream, file: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    conn.write_all(&file.as_bytes()[file.len() / 2..])
        .await
        .unwrap();
    let mut answer = String::new();
    conn.read_to_string(&mut answer).await.unwrap();
    answer
}

#[tokio::test]
async fn a_second_import_of_one_account_while_one_runs_is_refused_with_409() {
    let app = spawn_app().await;
    let file = big_file(50, 0);
    let mut running = start_upload(&app, &app.token, &file).await;
    let one =
        "order_number,ship_to_street1,ship_to_city,ship_to_country,title\nS-1,Rua 1,Porto,PT,Mug\n";
    let post = |token: String| {
        app.client
            .post(app.url("/orders/import?dry_run=true"))
            .header("Authorization", format!("ShippoToken {token}"))
            .header("content-type", "text/csv")
            .body(one)
            .send()
    };
    // Once the first upload has reached the handler, the account's second is refused.
    let mut refused = None;
    for _ in 0..50 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let res = post(app.token.clone()).await.unwrap();
        if res.status() == StatusCode::CONFLICT {
            refused = Some(expect(res, StatusCode::CONFLICT).await);
            break;
        }
        assert_eq!(res.status(), StatusCode::OK);
        // This probe ran first (the upload was still being authenticated) and may have
        // had the upload refused: then start it again.
        let mut peek = [0u8; 1];
        let answered = tokio::time::timeout(
            std::time::Duration::from_millis(20),
            running.peek(&mut peek),
        )
        .await;
        if matches!(answered, Ok(Ok(n)) if n > 0) {
            running = start_upload(&app, &app.token, &file).await;
        }
    }
    let Some(refused) = refused else {
        let answer = finish_upload(running, &file).await;
        panic!("a second import of the account was not refused; the first: {answer}");
    };
    assert_eq!(refused["code"], "conflict");
    assert!(
        refused["detail"]
            .as_str()
            .unwrap()
            .contains("already running"),
        "{refused}"
    );
    // The account's live token too: the bound is the account's.
    let live = app.token_in_mode(domain::account::Mode::Live).await;
    expect(post(live).await.unwrap(), StatusCode::CONFLICT).await;
    // Another account imports meanwhile.
    let other = app.other_account(domain::account::Mode::Test).await;
    let theirs = expect(post(other.token.clone()).await.unwrap(), StatusCode::OK).await;
    assert_eq!(theirs["created"], 1);

    // The first import ends normally, and the account can import again.
    let answer = finish_upload(running, &file).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("\"created\":50"), "{answer}");
    let again = expect(post(app.token.clone()).await.unwrap(), StatusCode::OK).await;
    assert_eq!(again["created"], 1);
}

/// Issue 21: customs for batches from orders are built from the line items' HS code and country
/// of origin, so the import reads them (by Consign's names or common export names) and the
/// export writes them back.
#[tokio::test]
async fn line_items_carry_their_hs_code_and_origin_from_the_csv_and_back() {
    let app = spawn_app().await;
    let csv = "Order Number,ship_to_name,ship_to_street1,ship_to_city,ship_to_zip,ship_to_country,sku,title,quantity,price,currency,weight,weight_unit,HS Code,Country of origin\n\
               GB-1,Ann Smith,10 Downing St,London,SW1A 2AA,GB,MUG,Mug,2,24.00,EUR,0.8,kg,6912.00,PT\n\
               GB-1,Ann Smith,10 Downing St,London,SW1A 2AA,GB,CARD,Postcard,1,2.00,EUR,0.05,kg,,\n";
    let report = import(&app, "", csv).await;
    assert_eq!(report["created"], 1, "{report}");
    let list = expect(app.get("/orders").await, StatusCode::OK).await;
    let items = &list["results"][0]["line_items"];
    assert_eq!(items[0]["hs_code"], "6912.00", "{items}");
    assert_eq!(items[0]["manufacture_country"], "PT", "{items}");
    assert!(items[1]["hs_code"].is_null(), "{items}");
    let exported = export(&app).await;
    let header = exported.lines().next().unwrap();
    assert!(header.contains("hs_code,origin_country"), "{header}");
    assert!(exported.contains(",6912.00,PT,"), "{exported}");
    // The export imports back unchanged.
    let again = import(&app, "", &exported).await;
    assert_eq!(again["unchanged"], 1, "{again}");
}
