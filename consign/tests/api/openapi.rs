//! Every route the server has is in `/openapi.json`, and the document has nothing the server
//! does not route: what schemathesis (`scripts/schemathesis.sh`) and the cross-tenant sweep
//! (`tenancy.rs`) call is what they read there, so a route left out is never checked by either.
//!
//! How the routes are found: axum's `Router` cannot list its routes, so they are read from the
//! source it is built from. `api::app` (`crates/api/src/lib.rs`) merges one `router()` per
//! module, and each is a chain of `.route("<literal path>", get(…).post(…))`. The reader follows
//! exactly that and refuses anything else it meets — a `.nest`, a `.route_service`, a path that
//! is not a string literal, a method router it does not know, a module it cannot find — so a
//! router written another way fails here instead of going unseen. Then every route it read is
//! called on a running server, which must answer it with something other than the router's own
//! fallbacks ("No such endpoint.", 405): the reader cannot drift from what axum really routes.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use reqwest::{Method, StatusCode};

use crate::helpers::{expect, spawn_app};

const METHODS: &[&str] = &["get", "post", "put", "delete", "patch"];
const LAYERS: &[&str] = &["layer", "route_layer"];

fn api_src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates/api/src")
}

/// The text of `s` from `open` (an opening bracket) to its matching closing bracket, both
/// excluded; string literals and line comments are skipped. `None` when unbalanced.
fn balanced(s: &str, open: usize) -> Option<(&str, usize)> {
    let bytes = s.as_bytes();
    let (o, c) = match bytes[open] {
        b'(' => (b'(', b')'),
        b'{' => (b'{', b'}'),
        b'[' => (b'[', b']'),
        _ => return None,
    };
    let mut depth = 0usize;
    let mut i = open;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    if bytes[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b if b == o => depth += 1,
            b if b == c => {
                depth -= 1;
                if depth == 0 {
                    return Some((&s[open + 1..i], i));
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// The body of `fn <name>(…) … { … }` in `src`.
fn fn_body<'a>(src: &'a str, name: &str, file: &Path) -> &'a str {
    let start = src
        .find(&format!("fn {name}("))
        .unwrap_or_else(|| panic!("no fn {name} in {}", file.display()));
    let open = start + src[start..].find('{').expect("a body");
    balanced(src, open)
        .unwrap_or_else(|| panic!("fn {name} in {} is unbalanced", file.display()))
        .0
}

/// The modules whose `router()` `api::app` merges.
fn merged_modules() -> Vec<String> {
    let file = api_src().join("lib.rs");
    let src = std::fs::read_to_string(&file).unwrap();
    let body = fn_body(&src, "app", &file);
    for odd in [".route(", ".nest(", ".route_service(", ".nest_service("] {
        assert!(
            !body.contains(odd),
            "api::app calls {odd}…): teach consign/tests/api/openapi.rs to read it"
        );
    }
    let mut out = Vec::new();
    let mut rest = body;
    while let Some(at) = rest.find(".merge(") {
        let (arg, end) = balanced(rest, at + ".merge".len()).unwrap();
        // The web app's pages (crates/web, docs/WEB.md) are HTML for people, not API routes.
        if arg.trim() == "pages" {
            rest = &rest[end..];
            continue;
        }
        let module = arg.trim().strip_suffix("::router()").unwrap_or_else(|| {
            panic!("api::app merges {arg:?}: only `<module>::router()` is read")
        });
        out.push(module.to_string());
        rest = &rest[end..];
    }
    assert!(out.len() > 10, "only {out:?} merged?");
    out
}

/// The (method, path) pairs one module's `router()` routes.
fn module_routes(module: &str) -> BTreeSet<(String, String)> {
    let file = [format!("{module}.rs"), format!("{module}/mod.rs")]
        .into_iter()
        .map(|f| api_src().join(f))
        .find(|f| f.exists())
        .unwrap_or_else(|| panic!("no source for module {module}"));
    let src = std::fs::read_to_string(&file).unwrap();
    let body = fn_body(&src, "router", &file);
    for odd in [".nest(", ".route_service(", ".nest_service(", ".merge("] {
        assert!(
            !body.contains(odd),
            "{}: router() calls {odd}…): teach consign/tests/api/openapi.rs to read it",
            file.display()
        );
    }
    let mut out = BTreeSet::new();
    let mut rest = body;
    while let Some(at) = rest.find(".route(") {
        let (args, end) = balanced(rest, at + ".route".len()).unwrap();
        rest = &rest[end..];
        let args = args.trim();
        let path = args
            .strip_prefix('"')
            .and_then(|a| a.split_once('"'))
            .map(|(p, _)| p.to_string())
            .unwrap_or_else(|| {
                panic!(
                    "{}: a route whose path is not a literal: {args}",
                    file.display()
                )
            });
        let chain = args[path.len() + 2..].trim().trim_start_matches(',').trim();
        // `get(a).post(b)`: each link a method name (its last path segment) and its arguments.
        let mut link = chain.trim_end_matches(',').trim();
        loop {
            let open = link
                .find('(')
                .unwrap_or_else(|| panic!("{}: cannot read {chain}", file.display()));
            let name = link[..open].trim().trim_start_matches('.');
            let name = name.rsplit("::").next().unwrap();
            // A layer on the route's handlers (e.g. its own body limit) routes nothing.
            if !LAYERS.contains(&name) {
                assert!(
                    METHODS.contains(&name),
                    "{}: {path} is routed with {name}(…), which consign/tests/api/openapi.rs does not read",
                    file.display()
                );
                out.insert((name.to_string(), path.clone()));
            }
            let (_, close) = balanced(link, open).unwrap();
            link = link[close + 1..].trim();
            if link.is_empty() {
                break;
            }
        }
    }
    out
}

/// Every (method, path) the server routes, as its source builds the router.
pub fn routed() -> BTreeSet<(String, String)> {
    let mut all = BTreeSet::new();
    for module in merged_modules() {
        let routes = module_routes(&module);
        assert!(!routes.is_empty(), "{module}::router() routes nothing?");
        all.extend(routes);
    }
    all
}

/// A value for a path parameter: an id-shaped word (a file's key has one of its own).
fn fill(path: &str) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(open) = rest.find('{') {
        let close = open + rest[open..].find('}').unwrap();
        out.push_str(&rest[..open]);
        out.push_str(match &rest[open + 1..close] {
            "name" => "label.pdf",
            "provider" => "easypost",
            "currency" => "EUR",
            _ => "0123456789abcdef0123456789abcdef",
        });
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}

/// A path's shape: its parameters unnamed (`/tracks/{}/{}`), since a route and its document may
/// name them differently (the names only label the values).
fn shape(path: &str) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(open) = rest.find('{') {
        let close = open + rest[open..].find('}').unwrap();
        out.push_str(&rest[..open]);
        out.push_str("{}");
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}

#[tokio::test]
async fn every_routed_path_and_method_is_in_the_openapi_document_and_nothing_else() {
    let app = spawn_app().await;
    let routed = routed();
    let shapes = |set: &BTreeSet<(String, String)>| -> BTreeSet<(String, String)> {
        set.iter().map(|(m, p)| (m.clone(), shape(p))).collect()
    };
    let doc = expect(app.get("/openapi.json").await, StatusCode::OK).await;
    let documented: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .filter(|m| METHODS.contains(&m.as_str()))
                .map(move |m| (m.clone(), path.clone()))
        })
        .collect();
    let (routed_shapes, documented) = (shapes(&routed), shapes(&documented));
    let missing: Vec<_> = routed_shapes.difference(&documented).collect();
    let extra: Vec<_> = documented.difference(&routed_shapes).collect();
    assert!(
        missing.is_empty(),
        "routed but not in /openapi.json (add #[utoipa::path] and list it in crates/api/src/openapi.rs): {missing:?}"
    );
    assert!(
        extra.is_empty(),
        "in /openapi.json but not routed: {extra:?}"
    );

    // The reader read what axum routes: no route it found falls through to the router's own
    // answers for unknown paths and methods.
    for (method, path) in &routed {
        let url = fill(path);
        let res = app
            .client
            .request(
                method.to_uppercase().parse::<Method>().unwrap(),
                app.url(&url),
            )
            .send()
            .await
            .unwrap();
        let status = res.status();
        let body = res.text().await.unwrap();
        assert_ne!(
            status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {url}: {body}"
        );
        assert!(
            !(status == StatusCode::NOT_FOUND && body.contains("No such endpoint.")),
            "{method} {url} is not routed: {body}"
        );
    }
}

#[test]
fn the_route_reader_reads_chains_paths_and_refuses_what_it_does_not_know() {
    let routes = module_routes("parcel_templates");
    assert!(routes.contains(&("put".into(), "/user-parcel-templates/{id}".into())));
    assert!(routes.contains(&("delete".into(), "/user-parcel-templates/{id}".into())));
    // A route whose handler carries its own layer (the backer import's body limit).
    let projects = module_routes("projects");
    assert!(projects.contains(&("post".into(), "/projects/{id}/backers/import".into())));
    assert!(routed().contains(&("get".into(), "/openapi.json".into())));
    assert_eq!(
        balanced(r#"(a("x)", b(c)), d)"#, 0).map(|(s, _)| s),
        Some(r#"a("x)", b(c)), d"#)
    );
    assert_eq!(
        fill("/files/{account}/{object}/{name}")
            .matches('/')
            .count(),
        4
    );
}
