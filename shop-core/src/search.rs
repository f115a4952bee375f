//! The search index port.

use async_trait::async_trait;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::catalog::{Product, ProductSort, Property, Sku};
use crate::error::Result;
use crate::ids::{CategoryId, ProductId};

/// What the index holds for one product.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProductDocument {
    /// The product.
    pub product: Product,
    /// Its SKUs.
    pub skus: Vec<Sku>,
    /// Category ids from the root to the product's category.
    pub category_path: Vec<CategoryId>,
    /// Category names, same order.
    pub category_names: Vec<String>,
}

/// A search.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SearchQuery {
    /// Words to match.
    pub keyword: Option<String>,
    /// Only this category's subtree.
    pub category_id: Option<CategoryId>,
    /// Lowest price (inclusive).
    pub min_price: Option<Decimal>,
    /// Highest price (inclusive).
    pub max_price: Option<Decimal>,
    /// Every one of these properties must match.
    pub properties: Vec<Property>,
    /// Sort order (relevance when a keyword is given and sort is `Newest`).
    pub sort: ProductSort,
    /// Page, from 1.
    pub page: u32,
    /// Page size.
    pub per_page: u32,
}

/// A property name with its values' counts over the current result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Facet {
    /// Property name.
    pub name: String,
    /// Values and how many results have each.
    pub values: Vec<(String, u64)>,
}

/// One page of search results.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchResults {
    /// Matching products on this page.
    pub product_ids: Vec<ProductId>,
    /// Matches over all pages.
    pub total: u64,
    /// Facets over all matches.
    pub facets: Vec<Facet>,
}

/// Port: a product search index.
#[async_trait]
pub trait SearchIndex: Send + Sync + 'static {
    /// Adds or replaces a product.
    async fn index_product(&self, doc: &ProductDocument) -> Result<()>;
    /// Removes a product (no-op when absent).
    async fn remove_product(&self, id: ProductId) -> Result<()>;
    /// Runs a search.
    async fn search(&self, query: &SearchQuery) -> Result<SearchResults>;
}
