//! Pages of a listing: the page bounds every listing checks, and a page of
//! results with its (possibly capped) total.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The largest page a listing serves.
pub const MAX_PER_PAGE: u32 = 100;

/// The pagination rule of every listing: pages from 1, 1 to
/// [`MAX_PER_PAGE`] items each (`Validation { field: "page" | "per_page" }`).
pub fn check_page(page: u32, per_page: u32) -> Result<()> {
    if page == 0 {
        return Err(Error::validation("page", "pages start at 1"));
    }
    if !(1..=MAX_PER_PAGE).contains(&per_page) {
        return Err(Error::validation(
            "per_page",
            format!("must be between 1 and {MAX_PER_PAGE}"),
        ));
    }
    Ok(())
}

/// How many matching products a listing counts at most: beyond it the
/// total says this many and [`Page::total_capped`] is set (counting a whole
/// catalog for every page would cost more than the page).
pub const MAX_COUNTED: u32 = 10_000;

/// One page of results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Page<T> {
    /// The items on this page.
    pub items: Vec<T>,
    /// Items over all pages; when [`Page::total_capped`], at least this
    /// many.
    pub total: u64,
    /// Whether more items match than `total` says (the count stopped at
    /// the query's limit).
    #[serde(default)]
    pub total_capped: bool,
}

impl<T> Page<T> {
    /// A page with an exact total.
    pub fn new(items: Vec<T>, total: u64) -> Self {
        Page {
            items,
            total,
            total_capped: false,
        }
    }

    /// A page whose total was counted up to `limit + 1` matches: `counted`
    /// above `limit` reports `limit`, capped.
    pub fn counted(items: Vec<T>, counted: u64, limit: Option<u32>) -> Self {
        match limit {
            Some(limit) if counted > u64::from(limit) => Page {
                items,
                total: u64::from(limit),
                total_capped: true,
            },
            _ => Page::new(items, counted),
        }
    }
}
