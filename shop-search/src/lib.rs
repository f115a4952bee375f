//! # shop-search
//!
//! Faceted product search for `shop-core` on tantivy, embedded (no
//! server): [`SearchEngine`] implements [`shop_core::search::SearchIndex`].
//!
//! - **Analysis**: Chinese words cut by jieba and English words lower-cased
//!   and stemmed, in one analyzer; synonyms from [`SearchConfig`] applied
//!   when searching.
//! - **Queries**: every keyword word must match (the title counts three
//!   times the rest), a quoted keyword is a phrase, the last word may be a
//!   prefix, a Latin word of four letters or more may have one typo;
//!   filters by category subtree, price range, property values (AND across
//!   names, OR within one) and stock; sorts by relevance, price, sales,
//!   rating, reviews, newest, ties by id.
//! - **Sidebar**: every property's value counts (leaving out its own
//!   filter), the searched category's children with counts, price buckets.
//! - **Similar products**: sharing at least half of a product's properties.
//!
//! ```
//! use shop_core::search::{SearchIndex, SearchQuery};
//! use shop_search::{SearchConfig, SearchEngine};
//!
//! # #[tokio::main(flavor = "multi_thread", worker_threads = 1)]
//! # async fn main() -> shop_core::Result<()> {
//! let index = SearchEngine::in_memory(SearchConfig::default())?;
//! let found = index
//!     .search(&SearchQuery { keyword: Some("手机".into()), page: 1, per_page: 10, ..Default::default() })
//!     .await?;
//! assert_eq!(found.total, 0);
//! # Ok(()) }
//! ```
//!
//! - **Rebuilds** from the catalog without downtime
//!   ([`SearchEngine::rebuild`]); **freshness** from the outbox
//!   ([`SearchListener`]); `Shop` uses it through
//!   `ShopBuilder::search_index`.
//!
//! Speed: see the crate README's benchmark (`cargo bench -p shop-search`).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod analysis;
mod engine;
mod listener;
mod query;
mod schema;
mod sidebar;
#[cfg(feature = "testing")]
pub mod testing;

pub use engine::{SearchConfig, SearchEngine};
pub use listener::SearchListener;
