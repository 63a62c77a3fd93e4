//! The web app's front door, through the real server: signing in and out, the session cookie's
//! flags, forgery checks (origin and per-session token), the throttle, hostile names rendered
//! inert, and the app's own files served offline with a hash in their names.

use domain::user::Role;
use reqwest::header::{CACHE_CONTROL, CONTENT_TYPE, COOKIE, LOCATION, ORIGIN, SET_COOKIE};
use reqwest::{Client, Response, StatusCode};
use service::users::{self, NewUser};

use crate::helpers::{spawn_app, TestApp};

fn browser() -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn user(app: &TestApp, email: &str, name: &str, role: Role) -> String {
    let password = "packing station 7".to_string();
    users::create_user(
        &app.services,
        NewUser {
            account: app.account_name().await,
            email: email.into(),
            name: name.into(),
            role,
            password: Some(password.clone()),
        },
    )
    .await
    .unwrap();
    password
}

async fn sign_in(app: &TestApp, email: &str, password: &str, cookie: Option<&str>) -> Response {
    let mut req = browser()
        .post(app.url("/app/sign-in"))
        .header(ORIGIN, app.base.clone())
        .form(&[("email", email), ("password", password)]);
    if let Some(c) = cookie {
        req = req.header(COOKIE, c);
    }
    req.send().await.unwrap()
}

/// The `name=value` of the session cookie a response sets, and the whole header.
fn session_cookie(res: &Response) -> (String, String) {
    let header = res.headers()[SET_COOKIE].to_str().unwrap().to_string();
    let pair = header.split(';').next().unwrap().to_string();
    (pair, header)
}

async fn get(app: &TestApp, path: &str, cookie: &str) -> Response {
    browser()
        .get(app.url(path))
        .header(COOKIE, cookie)
        .send()
        .await
        .unwrap()
}

/// The hidden `_csrf` value on a page.
fn csrf_of(html: &str) -> String {
    let at = html.find("name=\"_csrf\" value=\"").expect("a _csrf field") + 20;
    html[at..at + 64].to_string()
}

async fn post_form(
    app: &TestApp,
    path: &str,
    cookie: &str,
    origin: &str,
    fields: &[(&str, &str)],
) -> Response {
    browser()
        .post(app.url(path))
        .header(COOKIE, cookie)
        .header(ORIGIN, origin)
        .form(fields)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn signed_out_visitors_get_a_locked_down_sign_in_page_and_our_own_files() {
    let app = spawn_app().await;
    let res = browser().get(app.url("/")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()[LOCATION], "/app/sign-in");

    let res = browser().get(app.url("/app/sign-in")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let csp = res.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.contains("script-src 'self'")
            && csp.contains("frame-ancestors 'none'")
            && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert_eq!(res.headers()["x-frame-options"], "DENY");
    assert_eq!(res.headers()[CACHE_CONTROL], "no-store");
    let html = res.text().await.unwrap();
    assert!(
        html.contains(r#"<form method="post" action="/app/sign-in">"#),
        "{html}"
    );
    assert!(html.contains(r#"autocomplete="current-password""#));
    assert!(!html.contains("<script>"), "no inline script: {html}");

    // The stylesheet and htmx, named by their content, cached for a year, from this server.
    for (ext, kind, start) in [
        ("css", "text/css", "/*"),
        ("js", "text/javascript", "var htmx"),
    ] {
        let at = html.find(&format!(".{ext}\"")).unwrap();
        let from = html[..at].rfind("\"/app/static/").unwrap() + 1;
        let path = &html[from..at + ext.len() + 1];
        assert!(
            path.len() > "/app/static/x-.css".len() + 9,
            "hashed name: {path}"
        );
        let file = browser().get(app.url(path)).send().await.unwrap();
        assert_eq!(file.status(), StatusCode::OK, "{path}");
        assert!(file.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with(kind));
        assert_eq!(
            file.headers()[CACHE_CONTROL],
            "public, max-age=31536000, immutable"
        );
        assert!(file.text().await.unwrap().starts_with(start), "{path}");
    }
    let missing = browser()
        .get(app.url("/app/static/app-0000000000.css"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    // The API keeps its paths and its JSON errors.
    let api = browser()
        .get(app.url("/no-such-endpoint"))
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), StatusCode::NOT_FOUND);
    assert!(api.text().await.unwrap().contains("No such endpoint."));
}

#[tokio::test]
async fn signing_in_sets_a_locked_cookie_and_forged_forms_change_nothing() {
    let app = spawn_app().await;
    let hostile = "<script>alert(1)</script>\"><img src=x onerror=alert(2)>";
    let password = user(&app, "pat@shop.example", hostile, Role::Staff).await;

    // A wrong password: the form again, the email kept (escaped), no cookie.
    let res = sign_in(&app, "pat@shop.example", "wrong password!", None).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(res.headers().get(SET_COOKIE).is_none());
    let html = res.text().await.unwrap();
    assert!(html.contains("do not match an active user"), "{html}");
    assert!(html.contains(r#"value="pat@shop.example""#), "{html}");

    // A sign-in posted from another site (or with no origin at all) is refused.
    for origin in [Some("https://evil.example"), None] {
        let mut req = browser().post(app.url("/app/sign-in")).form(&[
            ("email", "pat@shop.example"),
            ("password", password.as_str()),
        ]);
        if let Some(o) = origin {
            req = req.header(ORIGIN, o);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{origin:?}");
        assert!(res.headers().get(SET_COOKIE).is_none());
    }

    let res = sign_in(&app, "PAT@shop.example", &password, None).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()[LOCATION], "/");
    let (cookie, header) = session_cookie(&res);
    let value = cookie.strip_prefix("consign_session=").unwrap();
    assert!(
        value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit()),
        "{header}"
    );
    for flag in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(header.contains(flag), "{flag} in {header}");
    }
    assert!(!header.contains("Secure"), "plain http here: {header}");

    // Home: who, in which account, with which role; the hostile name inert.
    let res = get(&app, "/", &cookie).await;
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    assert!(html.contains(&app.account_name().await), "{html}");
    assert!(
        html.contains(r#"<span class="role">staff</span>"#),
        "{html}"
    );
    assert!(html.contains("What needs doing"), "{html}");
    assert!(
        html.contains("&#60;script&#62;alert(1)&#60;/script&#62;&#34;&#62;&#60;img src=x"),
        "{html}"
    );
    assert!(
        !html.contains("<script>alert(1)") && !html.contains("<img src=x"),
        "{html}"
    );
    let csrf = csrf_of(&html);
    assert!(html.contains(&format!(r#"hx-headers='{{"X-CSRF-Token": "{csrf}"}}'"#)));

    // Signing out without the token, with a wrong one, or from another origin: refused, still signed in.
    let base = app.base.clone();
    for (origin, fields) in [
        (base.as_str(), vec![]),
        (base.as_str(), vec![("_csrf", "0".repeat(64))]),
        ("https://evil.example", vec![("_csrf", csrf.clone())]),
    ] {
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let res = post_form(&app, "/app/sign-out", &cookie, origin, &fields).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{origin} {fields:?}");
        assert!(res.text().await.unwrap().contains("nothing was changed"));
        assert_eq!(get(&app, "/", &cookie).await.status(), StatusCode::OK);
    }

    // Signing in again from this browser ends its old session (a new id at every sign-in).
    let again = sign_in(&app, "pat@shop.example", &password, Some(&cookie)).await;
    let (cookie2, _) = session_cookie(&again);
    assert_ne!(cookie, cookie2);
    assert_eq!(
        get(&app, "/", &cookie).await.status(),
        StatusCode::SEE_OTHER
    );
    let csrf2 = csrf_of(&get(&app, "/", &cookie2).await.text().await.unwrap());

    // The real sign-out: the cookie is cleared and the session is gone at once.
    let res = post_form(&app, "/app/sign-out", &cookie2, &base, &[("_csrf", &csrf2)]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()[LOCATION], "/app/sign-in?signed-out=1");
    assert!(res.headers()[SET_COOKIE]
        .to_str()
        .unwrap()
        .contains("Max-Age=0"));
    let res = get(&app, "/", &cookie2).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let page = get(&app, "/app/sign-in?signed-out=1", &cookie2)
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("You are signed out."));
}

#[tokio::test]
async fn sign_out_everywhere_ends_every_device_and_htmx_sends_the_token_as_a_header() {
    let app = spawn_app().await;
    let password = user(&app, "dev@shop.example", "", Role::Developer).await;
    let (phone, _) = session_cookie(&sign_in(&app, "dev@shop.example", &password, None).await);
    let (laptop, _) = session_cookie(&sign_in(&app, "dev@shop.example", &password, None).await);
    let html = get(&app, "/", &laptop).await.text().await.unwrap();
    assert!(
        html.contains(r#"href="/app/developers""#) && !html.contains(r#"href="/app/orders""#),
        "a developer's navigation: {html}"
    );
    assert!(
        html.contains("· dev@shop.example"),
        "no name: the email: {html}"
    );
    let csrf = csrf_of(&html);
    let res = browser()
        .post(app.url("/app/sign-out-everywhere"))
        .header(COOKIE, &laptop)
        .header(ORIGIN, app.base.clone())
        .header("HX-Request", "true")
        .header("X-CSRF-Token", &csrf)
        // What htmx sends for a button outside a form: an empty urlencoded body.
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body("")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    for device in [&phone, &laptop] {
        assert_eq!(get(&app, "/", device).await.status(), StatusCode::SEE_OTHER);
    }
}

#[tokio::test]
async fn repeated_wrong_passwords_for_one_email_are_slowed_down() {
    let app = spawn_app().await;
    let password = user(&app, "owner@shop.example", "", Role::Owner).await;
    for _ in 0..5 {
        let res = sign_in(&app, "owner@shop.example", "guess guess guess", None).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    // The sixth attempt in the minute is not even checked, right password or not.
    let res = sign_in(&app, "Owner@Shop.example", &password, None).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(res.headers().get(SET_COOKIE).is_none());
    let html = res.text().await.unwrap();
    assert!(html.contains("Too many attempts. Try again in"), "{html}");
}
