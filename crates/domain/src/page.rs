//! Page requests and pages for list endpoints: what a list asks for and what it gets.

/// Default page size, as Shippo's.
pub const DEFAULT_RESULTS: u32 = 25;
/// Largest page a caller may ask for.
pub const MAX_RESULTS: u32 = 1000;

/// Which page of a list to return (1-based), and how many rows per page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub page: u32,
    pub results: u32,
}

impl Default for PageRequest {
    fn default() -> Self {
        Self {
            page: 1,
            results: DEFAULT_RESULTS,
        }
    }
}

impl PageRequest {
    /// Rows to skip.
    pub fn offset(&self) -> i64 {
        i64::from(self.page.saturating_sub(1)) * i64::from(self.results)
    }
}

/// One page of rows plus the total across all pages.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: i64,
    pub request: PageRequest,
}

impl<T> Page<T> {
    /// True when rows exist after this page.
    pub fn has_next(&self) -> bool {
        self.request.offset() + (self.items.len() as i64) < self.total
    }

    /// True when this is not the first page.
    pub fn has_previous(&self) -> bool {
        self.request.page > 1
    }

    /// Maps every row, stopping at the first error.
    pub fn try_map<U, E>(self, f: impl FnMut(T) -> Result<U, E>) -> Result<Page<U>, E> {
        Ok(Page {
            items: self.items.into_iter().map(f).collect::<Result<_, _>>()?,
            total: self.total,
            request: self.request,
        })
    }
}
