//! The web app's pages through the real server, HTML parsed and asserted by selectors: the
//! role sweep (every page and form of `web::routes::table()` × every role × another account's
//! objects × signed out), forgery on every form, the inbox's search and keyset pages, bulk "Buy
//! labels" double-submitted, and hostile order data rendered inert everywhere.

use std::collections::HashSet;

use domain::account::Mode;
use domain::user::Role;
use domain::ObjectId;
use reqwest::header::{COOKIE, LOCATION, ORIGIN, SET_COOKIE};
use reqwest::{Client, StatusCode};
use scraper::{Html, Selector};
use serde_json::{json, Value};
use service::users::{self, NewUser};

use crate::helpers::{spawn_app, TestApp};

pub(crate) fn browser() -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A signed-in browser: its session cookie and the session's anti-forgery token.
pub(crate) struct Person {
    pub cookie: String,
    pub csrf: String,
}

pub(crate) fn sel(s: &str) -> Selector {
    Selector::parse(s).unwrap()
}

/// The texts of the elements `selector` picks.
pub(crate) fn texts(html: &Html, selector: &str) -> Vec<String> {
    html.select(&sel(selector))
        .map(|e| e.text().collect::<String>().trim().to_string())
        .collect()
}

/// The `attr` values of the elements `selector` picks.
pub(crate) fn attrs(html: &Html, selector: &str, attr: &str) -> Vec<String> {
    html.select(&sel(selector))
        .filter_map(|e| e.value().attr(attr).map(String::from))
        .collect()
}

pub(crate) async fn person(app: &TestApp, account: &str, role: Role) -> Person {
    let email = format!("{}-{}@shop.example", role, ObjectId::new());
    let password = "packing station 7";
    users::create_user(
        &app.services,
        NewUser {
            account: account.into(),
            email: email.clone(),
            name: format!("{role} person"),
            role,
            password: Some(password.into()),
        },
    )
    .await
    .unwrap();
    let res = browser()
        .post(app.url("/app/sign-in"))
        .header(ORIGIN, app.base.clone())
        .form(&[("email", email.as_str()), ("password", password)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let cookie = res.headers()[SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let home = get(app, "/", &cookie).await.1;
    let csrf = attrs(&home, "input[name=_csrf]", "value")
        .pop()
        .expect("a form with the session's token");
    Person { cookie, csrf }
}

pub(crate) async fn get(app: &TestApp, path: &str, cookie: &str) -> (StatusCode, Html, String) {
    let res = browser()
        .get(app.url(path))
        .header(COOKIE, cookie)
        .send()
        .await
        .unwrap();
    let status = res.status();
    let location = res
        .headers()
        .get(LOCATION)
        .map(|l| l.to_str().unwrap().to_string())
        .unwrap_or_default();
    let body = res.text().await.unwrap();
    (status, Html::parse_document(&body), location)
}

pub(crate) async fn post(
    app: &TestApp,
    path: &str,
    cookie: &str,
    origin: &str,
    fields: &[(&str, &str)],
) -> (StatusCode, Html, String) {
    let res = browser()
        .post(app.url(path))
        .header(COOKIE, cookie)
        .header(ORIGIN, origin)
        .form(fields)
        .send()
        .await
        .unwrap();
    let status = res.status();
    let location = res
        .headers()
        .get(LOCATION)
        .map(|l| l.to_str().unwrap().to_string())
        .unwrap_or_default();
    (
        status,
        Html::parse_document(&res.text().await.unwrap()),
        location,
    )
}

pub(crate) fn order_body(number: &str, name: &str, email: &str, country: &str) -> Value {
    json!({
        "order_number": number,
        "order_status": "PAID",
        "placed_at": "2026-12-01T10:00:00Z",
        "to_address": {"name": name, "street1": "965 Mission St", "city": "San Francisco",
            "state": "CA", "zip": "94103", "country": country, "email": email},
        "line_items": [{"title": "Mug", "quantity": 2, "total_price": "12.00", "currency": "USD",
            "weight": "1.2", "weight_unit": "lb"}],
        "total_price": "24.00", "currency": "USD", "weight": "1.2", "weight_unit": "lb"
    })
}

pub(crate) async fn order(app: &TestApp, token: &str, body: &Value) -> String {
    let res = app.post_json_as(token, "/orders", body).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    res.json::<Value>().await.unwrap()["object_id"]
        .as_str()
        .unwrap()
        .to_string()
}

pub(crate) async fn principal_of(app: &TestApp, token: &str) -> service::Principal {
    service::accounts::authenticate(&app.services, token)
        .await
        .unwrap()
}

pub(crate) fn sender() -> domain::address::AddressInput {
    domain::address::AddressInput {
        fields: domain::address::AddressFields {
            name: "Mrs Hippo".into(),
            street1: "1092 Indian Summer Ct".into(),
            city: "San Jose".into(),
            state: "CA".into(),
            zip: "95122".into(),
            country: "US".into(),
            ..Default::default()
        },
        purpose: None,
        validate: false,
    }
}

#[tokio::test]
async fn every_page_and_form_is_refused_to_roles_without_its_permission_and_to_other_accounts() {
    let app = spawn_app().await;
    let account = app.account_name().await;
    // Another merchant's objects: an order, a token, a sender address.
    let other = app.other_account(Mode::Test).await;
    let theirs = order(
        &app,
        &other.token,
        &order_body("#9001", "Theirs", "t@x.example", "US"),
    )
    .await;
    let their_principal = principal_of(&app, &other.token).await;
    let their_token = service::accounts::list_tokens(&app.services, &their_principal.account_name)
        .await
        .unwrap()[0]
        .id
        .to_string();
    let their_sender = service::addresses::add_sender(&app.services, &their_principal, sender())
        .await
        .unwrap()
        .id
        .to_string();
    let their_project = service::crowdfunding::create(
        &app.services,
        &their_principal,
        service::crowdfunding::ProjectInput {
            name: Some("Theirs".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap()
    .id
    .to_string();
    let their_carrier = service::carrier_accounts::create(
        &app.services,
        &their_principal,
        service::carrier_accounts::CarrierAccountInput {
            carrier: Some("ratecard".into()),
            account_id: Some("their-courier".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap()
    .id
    .to_string();
    let object_for = |path: &str| -> String {
        if path.starts_with("/app/carriers/") {
            their_carrier.clone()
        } else if path.starts_with("/app/projects/") {
            their_project.clone()
        } else if path.starts_with("/app/orders/") {
            theirs.clone()
        } else if path.starts_with("/app/developers/tokens/") {
            their_token.clone()
        } else if path.starts_with("/app/settings/senders/") {
            their_sender.clone()
        } else {
            ObjectId::new().to_string()
        }
    };

    let table = web::routes::table();
    assert!(table.len() >= 15, "the table lists every page: {table:?}");
    let mut people = Vec::new();
    for role in Role::ALL {
        people.push((role, person(&app, &account, role).await));
    }
    for route in &table {
        let with_id = route.path.contains("{id}");
        let path = route
            .path
            .replace("{id}", &object_for(route.path))
            .replace("{shipment}", &ObjectId::new().to_string());
        // Signed out: to the sign-in page, nothing done.
        let (status, _, location) = if route.method == "GET" {
            get(&app, &path, "").await
        } else {
            post(&app, &path, "", &app.base, &[]).await
        };
        assert_eq!(
            status,
            StatusCode::SEE_OTHER,
            "{} {path} signed out",
            route.method
        );
        assert!(location.starts_with("/app/sign-in"), "{location}");

        for (role, p) in &people {
            let allowed = route.permission.is_none_or(|needed| role.can(needed));
            let (status, html, _) = if route.method == "GET" {
                get(&app, &path, &p.cookie).await
            } else {
                post(
                    &app,
                    &path,
                    &p.cookie,
                    &app.base,
                    &[("_csrf", p.csrf.as_str()), ("status", "CANCELLED")],
                )
                .await
            };
            let what = format!("{} {path} as {role}", route.method);
            if !allowed {
                assert_eq!(status, StatusCode::FORBIDDEN, "{what}");
                assert!(
                    texts(&html, "h1").contains(&"Not for your role".to_string()),
                    "{what}: {:?}",
                    texts(&html, "h1")
                );
            } else if with_id {
                // Another account's object (or none): not found, whatever the role.
                assert_eq!(status, StatusCode::NOT_FOUND, "{what}");
                assert_eq!(texts(&html, "h1"), ["Not found"], "{what}");
            } else {
                assert!(
                    status != StatusCode::FORBIDDEN && !status.is_server_error(),
                    "{what}: {status}"
                );
            }
        }
    }
    // Nothing of the other account changed.
    let res = app.get_as(&other.token, &format!("/orders/{theirs}")).await;
    assert_eq!(res.json::<Value>().await.unwrap()["order_status"], "PAID");
    let tokens = service::accounts::list_tokens(&app.services, &their_principal.account_name)
        .await
        .unwrap();
    assert!(tokens.iter().all(|t| t.revoked.is_none()), "{tokens:?}");
    let senders = service::addresses::senders(&app.services, &their_principal)
        .await
        .unwrap();
    assert_eq!(senders.len(), 1);
}

#[tokio::test]
async fn a_form_without_the_token_or_from_another_origin_changes_nothing() {
    let app = spawn_app().await;
    let account = app.account_name().await;
    let owner = person(&app, &account, Role::Owner).await;
    let mine = order(
        &app,
        &app.token,
        &order_body("#1", "Ann", "a@x.example", "US"),
    )
    .await;
    let tokens_before = service::accounts::list_tokens(&app.services, &account)
        .await
        .unwrap()
        .len();
    for route in web::routes::table().iter().filter(|r| r.method == "POST") {
        let path = route.path.replace("{id}", &mine);
        let fields_without = [("status", "CANCELLED"), ("mode", "live")];
        let with_token = [
            ("_csrf", owner.csrf.as_str()),
            ("status", "CANCELLED"),
            ("mode", "live"),
        ];
        for (origin, fields) in [
            (app.base.as_str(), &fields_without[..]),
            ("https://evil.example", &with_token[..]),
            ("null", &with_token[..]),
        ] {
            let (status, html, _) = post(&app, &path, &owner.cookie, origin, fields).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "POST {path} from {origin}");
            assert!(
                texts(&html, "p.error")
                    .iter()
                    .any(|t| t.contains("nothing was changed")),
                "POST {path}"
            );
        }
        // A wrong token of the right length is refused too.
        let forged = "0".repeat(owner.csrf.len());
        let (status, _, _) = post(
            &app,
            &path,
            &owner.cookie,
            &app.base,
            &[("_csrf", forged.as_str()), ("status", "CANCELLED")],
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "POST {path} forged token");
    }
    let res = app.get_as(&app.token, &format!("/orders/{mine}")).await;
    assert_eq!(res.json::<Value>().await.unwrap()["order_status"], "PAID");
    assert_eq!(
        service::accounts::list_tokens(&app.services, &account)
            .await
            .unwrap()
            .len(),
        tokens_before
    );
    // With the token, from our origin, the same form works.
    let (status, _, location) = post(
        &app,
        &format!("/app/orders/{mine}/status"),
        &owner.cookie,
        &app.base,
        &[("_csrf", owner.csrf.as_str()), ("status", "ON_HOLD")],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location, format!("/app/orders/{mine}"));
    let (_, html, _) = get(&app, &location, &owner.cookie).await;
    assert_eq!(texts(&html, "h1 .status"), ["ON_HOLD"]);
    assert!(texts(&html, "form button").contains(&"Release".to_string()));
}

#[tokio::test]
async fn the_inbox_pages_by_keyset_and_its_search_box_finds_by_number_buyer_email_and_tracking() {
    let app = spawn_app().await;
    let account = app.account_name().await;
    let staff = person(&app, &account, Role::Staff).await;
    let mut ids = Vec::new();
    for i in 0..55 {
        let country = if i % 5 == 0 { "DE" } else { "US" };
        let body = order_body(
            &format!("#{}", 1000 + i),
            &format!("Buyer {i}"),
            &format!("buyer{i}@example.com"),
            country,
        );
        ids.push(order(&app, &app.token, &body).await);
    }
    // The same number and email in another account are never found from this one.
    let other = app.other_account(Mode::Test).await;
    order(
        &app,
        &other.token,
        &order_body("#1007", "Buyer 7", "buyer7@example.com", "US"),
    )
    .await;

    let links = "tbody#rows a[href^='/app/orders/']";
    let (status, page1, _) = get(&app, "/app/orders", &staff.cookie).await;
    assert_eq!(status, StatusCode::OK);
    let first = attrs(&page1, links, "href");
    assert_eq!(first.len(), 50);
    assert_eq!(first[0], format!("/app/orders/{}", ids[54]), "newest first");
    let next = attrs(&page1, "#more a", "href").pop().expect("a next page");
    assert!(next.contains("before="), "{next}");
    let (_, page2, _) = get(&app, &next, &staff.cookie).await;
    let second = attrs(&page2, links, "href");
    assert_eq!(second.len(), 5);
    assert!(attrs(&page2, "#more a", "href").is_empty(), "the last page");
    let all: HashSet<_> = first.iter().chain(&second).collect();
    assert_eq!(all.len(), 55, "no order twice, none missed");

    let search = |q: &str| format!("/app/orders?q={}", urlencode(q));
    for (q, expected) in [
        ("1007", Some(7)),
        ("#1007", Some(7)),
        ("BUYER7@Example.com", Some(7)),
        ("buyer 12", Some(12)),
        ("nobody@example.com", None),
    ] {
        let (_, html, _) = get(&app, &search(q), &staff.cookie).await;
        let found = attrs(&html, links, "href");
        match expected {
            Some(i) => assert_eq!(found, [format!("/app/orders/{}", ids[i])], "{q}"),
            None => {
                assert!(found.is_empty(), "{q}");
                assert!(texts(&html, "td.empty")[0].contains("No order matches"));
            }
        }
    }
    // Filters: a country, a status; a bad value is named, not a 500.
    let (_, html, _) = get(&app, "/app/orders?country=de", &staff.cookie).await;
    assert_eq!(attrs(&html, links, "href").len(), 11);
    assert!(texts(&html, "tbody#rows td")
        .iter()
        .any(|t| t == "San Francisco, DE"));
    let (_, html, _) = get(&app, "/app/orders?status=SHIPPED", &staff.cookie).await;
    assert!(attrs(&html, links, "href").is_empty());
    let (status, html, _) = get(
        &app,
        "/app/orders?status=LOST&from=yesterday",
        &staff.cookie,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let problems = texts(&html, "p.error");
    assert!(
        problems
            .iter()
            .any(|p| p.contains("\"LOST\" is not an order status")),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.contains("\"yesterday\" is not a date")),
        "{problems:?}"
    );

    // htmx (search as you type): the rows alone.
    let res = browser()
        .get(app.url(&search("1003")))
        .header(COOKIE, &staff.cookie)
        .header("HX-Request", "true")
        .send()
        .await
        .unwrap();
    let body = res.text().await.unwrap();
    assert!(
        !body.contains("<html") && !body.contains("<header"),
        "{body}"
    );
    let fragment = Html::parse_fragment(&format!("<table><tbody id=rows>{body}</tbody></table>"));
    assert_eq!(
        attrs(&fragment, links, "href"),
        [format!("/app/orders/{}", ids[3])]
    );
}

/// Percent-encodes a query value (letters, digits and `-._~` kept).
fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn buying_labels_for_selected_orders_twice_with_one_form_makes_one_batch_and_one_label_each()
{
    let app = spawn_app().await;
    let account = app.account_name().await;
    let owner = person(&app, &account, Role::Owner).await;
    let staff = person(&app, &account, Role::Staff).await;

    // Without a sender address the form says who can add one; an incomplete one is refused.
    let (_, html, _) = get(&app, "/app/orders", &staff.cookie).await;
    assert!(texts(&html, "p.notice")
        .iter()
        .any(|t| t.contains("No sender address yet")));
    let (status, html, _) = post(
        &app,
        "/app/settings/senders",
        &owner.cookie,
        &app.base,
        &[
            ("_csrf", owner.csrf.as_str()),
            ("name", "Mrs Hippo"),
            ("country", "US"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(!texts(&html, "p.error").is_empty());
    let sender_fields = [
        ("_csrf", owner.csrf.as_str()),
        ("name", "Mrs Hippo"),
        ("street1", "1092 Indian Summer Ct"),
        ("city", "San Jose"),
        ("state", "CA"),
        ("zip", "95122"),
        ("country", "us"),
    ];
    let (status, _, location) = post(
        &app,
        "/app/settings/senders",
        &owner.cookie,
        &app.base,
        &sender_fields,
    )
    .await;
    assert_eq!(
        (status, location.as_str()),
        (StatusCode::SEE_OTHER, "/app/settings")
    );

    let mut ids = Vec::new();
    for i in 0..4 {
        let body = order_body(
            &format!("#50{i}"),
            &format!("Buyer {i}"),
            "b@x.example",
            "US",
        );
        ids.push(order(&app, &app.token, &body).await);
    }
    // The staff member's inbox: the form's choices and its one-time key.
    let (_, html, _) = get(&app, "/app/orders", &staff.cookie).await;
    let key = attrs(&html, "form#buy input[name=key]", "value")
        .pop()
        .unwrap();
    let service = attrs(&html, "select#service option", "value")
        .into_iter()
        .find(|v| v.ends_with("|usps_ground_advantage"))
        .expect("the shippo test carrier's ground service");
    let from = attrs(&html, "select#address_from option", "value");
    assert_eq!(from.len(), 1);
    let chosen = &ids[..3];
    let mut fields = vec![
        ("_csrf", staff.csrf.as_str()),
        ("key", key.as_str()),
        ("service", service.as_str()),
        ("address_from", from[0].as_str()),
        ("length", "10"),
        ("width", "8"),
        ("height", "4"),
        ("weight", "1"),
    ];
    for id in chosen {
        fields.push(("order", id.as_str()));
    }
    // A double click: the same form twice at once.
    let (a, b) = tokio::join!(
        post(&app, "/app/orders/buy", &staff.cookie, &app.base, &fields),
        post(&app, "/app/orders/buy", &staff.cookie, &app.base, &fields)
    );
    assert_eq!(a.0, StatusCode::SEE_OTHER);
    assert_eq!(b.0, StatusCode::SEE_OTHER);
    assert_eq!(a.2, b.2, "one batch");
    let batch_page = a.2.clone();
    assert!(batch_page.starts_with("/app/batches/"), "{batch_page}");

    // The batch validates and buys by itself; htmx polls its progress.
    let mut purchased = false;
    for _ in 0..100 {
        let res = browser()
            .get(app.url(&batch_page))
            .header(COOKIE, &staff.cookie)
            .header("HX-Request", "true")
            .send()
            .await
            .unwrap();
        let done = res.headers().get("hx-refresh").is_some();
        let body = res.text().await.unwrap();
        assert!(body.contains("id=\"progress\""), "{body}");
        if done {
            assert!(body.contains("PURCHASED"), "{body}");
            purchased = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(purchased, "the batch was bought");
    let (_, html, _) = get(&app, &batch_page, &staff.cookie).await;
    assert_eq!(texts(&html, "tbody .status"), ["VALID", "VALID", "VALID"]);
    let labels = attrs(&html, "a[href^='/files/']", "href");
    assert_eq!(labels.len(), 1, "one merged file");
    let pdf = browser().get(app.url(&labels[0])).send().await.unwrap();
    assert_eq!(pdf.status(), StatusCode::OK);
    assert!(pdf.bytes().await.unwrap().starts_with(b"%PDF"));
    let (_, list, _) = get(&app, "/app/batches", &staff.cookie).await;
    assert_eq!(
        attrs(&list, "tbody a", "href"),
        std::slice::from_ref(&batch_page)
    );

    // One label each: the three orders shipped, the fourth still to ship.
    let mut tracking = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let (_, html, _) = get(&app, &format!("/app/orders/{id}"), &staff.cookie).await;
        let numbers = texts(&html, "a[href^='/track/']");
        if i < 3 {
            assert_eq!(texts(&html, "h1 .status"), ["SHIPPED"], "order {i}");
            assert_eq!(numbers.len(), 1, "one label for order {i}");
            tracking.push(numbers[0].clone());
        } else {
            assert_eq!(texts(&html, "h1 .status"), ["PAID"]);
            assert!(numbers.is_empty());
        }
    }
    let (_, html, _) = get(
        &app,
        &format!("/app/orders?q={}", tracking[1].to_lowercase()),
        &staff.cookie,
    )
    .await;
    assert_eq!(
        attrs(&html, "tbody#rows a[href^='/app/orders/']", "href"),
        [format!("/app/orders/{}", ids[1])]
    );
    // The same form once more (a reload): still that one batch, no new label.
    let again = post(&app, "/app/orders/buy", &staff.cookie, &app.base, &fields).await;
    assert_eq!(again.2, batch_page);

    // The audit log says who did it: the owner added the sender, the staff member bought once.
    let (status, html, _) = get(&app, "/app/audit", &owner.cookie).await;
    assert_eq!(status, StatusCode::OK);
    let rows: Vec<Vec<String>> = html
        .select(&sel("tbody tr"))
        .map(|tr| {
            tr.select(&sel("td"))
                .map(|td| td.text().collect::<String>().trim().to_string())
                .collect()
        })
        .collect();
    let by = |what: &str| -> Vec<String> {
        rows.iter()
            .filter(|r| r[2] == what)
            .map(|r| r[1].clone())
            .collect()
    };
    assert_eq!(by("bought labels").len(), 1, "{rows:?}");
    assert!(by("bought labels")[0].starts_with("staff-"), "{rows:?}");
    assert!(
        by("added a sender address")[0].starts_with("owner-"),
        "{rows:?}"
    );
    assert_eq!(by("signed in").len(), 2, "{rows:?}");
}

#[tokio::test]
async fn hostile_order_data_renders_inert_on_every_page() {
    let app = spawn_app().await;
    let account = app.account_name().await;
    let owner = person(&app, &account, Role::Owner).await;
    let hostile = "<script>alert(1)</script>\"><img src=x onerror=alert(2)>";
    let mut body = order_body(hostile, hostile, "h@x.example", "US");
    body["line_items"][0]["title"] = json!(hostile);
    body["notes"] = json!(hostile);
    let id = order(&app, &app.token, &body).await;
    for path in [
        "/app/orders".to_string(),
        format!("/app/orders/{id}"),
        "/".into(),
    ] {
        let (status, html, _) = get(&app, &path, &owner.cookie).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(html.select(&sel("img")).next().is_none(), "{path}");
        assert!(
            html.select(&sel("[onerror]")).next().is_none(),
            "{path}: no injected attribute"
        );
        let scripts = attrs(&html, "script", "src");
        assert_eq!(
            html.select(&sel("script")).count(),
            scripts.len(),
            "{path}: only our own files"
        );
        assert!(scripts.iter().all(|s| s.starts_with("/app/static/")));
    }
    let (_, html, _) = get(&app, &format!("/app/orders/{id}"), &owner.cookie).await;
    let text = html.root_element().text().collect::<String>();
    assert!(text.contains(hostile), "shown as text");
}
