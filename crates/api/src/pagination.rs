//! Shippo's paginated list shape: `{"count", "next", "previous", "results"}`, where `next` and
//! `previous` are absolute URLs that keep every other query parameter.

use axum::extract::FromRequestParts;
use axum::http::header::HOST;
use axum::http::request::Parts;
use axum::http::HeaderMap;
use domain::page::{Page, PageRequest, DEFAULT_RESULTS, MAX_RESULTS};
use serde::Serialize;

use crate::error::ApiError;
use crate::AppState;

/// The page asked for, and what is needed to build links to its neighbours.
pub struct ListQuery {
    pub page: PageRequest,
    /// Absolute URL of the list without its query string.
    url: String,
    /// Query parameters other than `page`/`results`, kept in links.
    others: Vec<(String, String)>,
    /// Whether the client sent `results` (lists with their own default page size).
    pub results_given: bool,
}

impl FromRequestParts<AppState> for ListQuery {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(parts.uri.query().unwrap_or(""))
                .map_err(|e| ApiError::field("query", format!("Malformed query string: {e}.")))?;
        let mut page = PageRequest {
            page: 1,
            results: DEFAULT_RESULTS,
        };
        let mut others = Vec::new();
        let mut results_given = false;
        for (key, value) in pairs {
            match key.as_str() {
                "page" => {
                    page.page = value
                        .trim()
                        .parse()
                        .ok()
                        .filter(|p| *p >= 1)
                        .ok_or_else(|| {
                            ApiError::field("page", "Enter a whole number of at least 1.")
                        })?;
                }
                "results" => {
                    results_given = true;
                    page.results = value
                        .trim()
                        .parse()
                        .ok()
                        .filter(|r| (1..=MAX_RESULTS).contains(r))
                        .ok_or_else(|| {
                            ApiError::field(
                                "results",
                                format!("Enter a whole number from 1 to {MAX_RESULTS}."),
                            )
                        })?;
                }
                _ => others.push((key, value)),
            }
        }
        Ok(ListQuery {
            page,
            url: format!("{}{}", base_url(&parts.headers, state), parts.uri.path()),
            others,
            results_given,
        })
    }
}

/// The externally visible base URL: the configured `public_url`, else built from `Host`.
pub fn base_url(headers: &HeaderMap, state: &AppState) -> String {
    match &state.public_url {
        Some(url) => url.trim_end_matches('/').to_string(),
        None => {
            let host = headers
                .get(HOST)
                .and_then(|h| h.to_str().ok())
                .unwrap_or("localhost");
            format!("http://{host}")
        }
    }
}

impl ListQuery {
    /// A filter parameter of the list (any query parameter other than `page`/`results`).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.others
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a repeated filter parameter (`order_status[]=PAID&order_status[]=SHIPPED`).
    pub fn params(&self, name: &str) -> Vec<&str> {
        self.others
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    fn link(&self, page: u32) -> String {
        let mut pairs = self.others.clone();
        pairs.push(("page".into(), page.to_string()));
        pairs.push(("results".into(), self.page.results.to_string()));
        format!(
            "{}?{}",
            self.url,
            serde_urlencoded::to_string(&pairs).unwrap_or_default()
        )
    }
}

/// A list response without a count (Shippo's order list: `{next, previous, results}`).
#[derive(Serialize)]
pub struct Linked<T> {
    pub next: Option<String>,
    pub previous: Option<String>,
    pub results: Vec<T>,
}

impl<T> Linked<T> {
    /// Wraps a page's items, `more` saying whether a next page exists.
    pub fn new<U>(q: &ListQuery, items: Vec<U>, more: bool, f: impl FnMut(U) -> T) -> Self {
        Linked {
            next: more.then(|| q.link(q.page.page + 1)),
            previous: (q.page.page > 1).then(|| q.link(q.page.page - 1)),
            results: items.into_iter().map(f).collect(),
        }
    }
}

/// A list response.
#[derive(Serialize)]
pub struct Paginated<T> {
    pub count: i64,
    pub next: Option<String>,
    pub previous: Option<String>,
    pub results: Vec<T>,
}

impl<T> Paginated<T> {
    /// Wraps a page with links to its neighbours.
    pub fn new<U>(q: &ListQuery, page: Page<U>, f: impl FnMut(U) -> T) -> Self {
        let next = page.has_next().then(|| q.link(q.page.page + 1));
        let previous = page.has_previous().then(|| q.link(q.page.page - 1));
        Paginated {
            count: page.total,
            next,
            previous,
            results: page.items.into_iter().map(f).collect(),
        }
    }
}
