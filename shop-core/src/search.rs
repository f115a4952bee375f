//! The search index port: what a product search answers (items, a facet
//! sidebar, category counts, price buckets, similar products) and the rules
//! a search query must follow.

use async_trait::async_trait;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::catalog::{CatalogStore, Product, Property, Sku};
use crate::error::{Error, Result};
use crate::ids::{CategoryId, ProductId};
use crate::page::check_page;

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

impl ProductDocument {
    /// The document of product `id` as the catalog holds it now (`None`
    /// when there is no such product): its SKUs and its category path with
    /// the names, root first.
    pub async fn load(
        catalog: &dyn CatalogStore,
        id: ProductId,
    ) -> Result<Option<ProductDocument>> {
        let Some(product) = catalog.get_product(id).await? else {
            return Ok(None);
        };
        let skus = catalog.list_skus(id).await?;
        let mut path = Vec::new();
        if let Some(category) = product.category_id {
            if let Some(leaf) = catalog.get_category(category).await? {
                for ancestor in leaf.ancestor_ids() {
                    if let Some(c) = catalog.get_category(ancestor).await? {
                        path.push(c);
                    }
                }
                path.push(leaf);
            }
        }
        Ok(Some(ProductDocument {
            product,
            skus,
            category_path: path.iter().map(|c| c.id).collect(),
            category_names: path.into_iter().map(|c| c.name).collect(),
        }))
    }
}

/// How search results are ordered. Ties are broken by product id, highest
/// first, so pages never overlap.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum SearchSort {
    /// Best match first (newest first without a keyword).
    #[default]
    Relevance,
    /// Cheapest first.
    PriceAsc,
    /// Dearest first.
    PriceDesc,
    /// Best-selling first.
    SoldDesc,
    /// Best-rated first.
    RatingDesc,
    /// Most reviewed first.
    ReviewsDesc,
    /// Newest first.
    Newest,
}

/// Longest keyword a search takes, in characters.
pub const MAX_SEARCH_KEYWORD_CHARS: usize = 200;
/// Most property filters one search takes.
pub const MAX_SEARCH_PROPERTIES: usize = 30;

/// A search.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SearchQuery {
    /// Words to match (a phrase in double quotes; the last word may be a
    /// prefix).
    pub keyword: Option<String>,
    /// Only this category's subtree.
    pub category_id: Option<CategoryId>,
    /// Lowest price (inclusive).
    pub min_price: Option<Decimal>,
    /// Highest price (inclusive).
    pub max_price: Option<Decimal>,
    /// Property filters: a product matches when, for every property name
    /// given, it has one of the values given for that name (AND across
    /// names, OR within one name).
    pub properties: Vec<Property>,
    /// Only products with a SKU in stock.
    pub in_stock: bool,
    /// Order.
    pub sort: SearchSort,
    /// Page, from 1.
    pub page: u32,
    /// Page size.
    pub per_page: u32,
}

impl SearchQuery {
    /// Checks the query: the page ([`check_page`]), a keyword of at most
    /// [`MAX_SEARCH_KEYWORD_CHARS`] characters, prices not negative and in
    /// order, at most [`MAX_SEARCH_PROPERTIES`] property filters with a
    /// name and a value each.
    pub fn validate(&self) -> Result<()> {
        check_page(self.page, self.per_page)?;
        if let Some(k) = &self.keyword {
            if k.chars().count() > MAX_SEARCH_KEYWORD_CHARS {
                return Err(Error::validation(
                    "keyword",
                    format!("at most {MAX_SEARCH_KEYWORD_CHARS} characters"),
                ));
            }
        }
        for (field, price) in [("min_price", self.min_price), ("max_price", self.max_price)] {
            if price.is_some_and(|p| p.is_sign_negative()) {
                return Err(Error::validation(field, "must not be negative"));
            }
        }
        if let (Some(min), Some(max)) = (self.min_price, self.max_price) {
            if min > max {
                return Err(Error::validation("min_price", "must not exceed max_price"));
            }
        }
        if self.properties.len() > MAX_SEARCH_PROPERTIES {
            return Err(Error::validation(
                "properties",
                format!("at most {MAX_SEARCH_PROPERTIES} property filters"),
            ));
        }
        if self
            .properties
            .iter()
            .any(|p| p.name.trim().is_empty() || p.value.trim().is_empty())
        {
            return Err(Error::validation(
                "properties",
                "each filter needs a name and a value",
            ));
        }
        Ok(())
    }
}

/// One value of a property and how many results have it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FacetValue {
    /// The value.
    pub value: String,
    /// Results with it.
    pub count: u64,
}

/// A property name with its values' counts over the current result,
/// leaving out the result's own filter on that name (so a sidebar can
/// offer the other values).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Facet {
    /// Property name.
    pub name: String,
    /// Its values, most frequent first, then by value.
    pub values: Vec<FacetValue>,
}

/// How many results lie in a category (its subtree).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CategoryCount {
    /// The category.
    pub category_id: CategoryId,
    /// Results in its subtree.
    pub count: u64,
}

/// How many results' prices lie in `[from, to)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PriceBucket {
    /// Lowest price (inclusive); `None`: no lower bound.
    pub from: Option<Decimal>,
    /// Highest price (exclusive); `None`: no upper bound.
    pub to: Option<Decimal>,
    /// Results in it.
    pub count: u64,
}

/// One page of search results and the sidebar.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SearchResults {
    /// Matching products on this page, in order.
    pub product_ids: Vec<ProductId>,
    /// Matches over all pages.
    pub total: u64,
    /// Every property of the matches with its value counts.
    pub facets: Vec<Facet>,
    /// The children of the searched category (the top categories without
    /// one), with their match counts.
    pub categories: Vec<CategoryCount>,
    /// Price buckets over the matches (leaving out the price filter).
    pub price_buckets: Vec<PriceBucket>,
}

/// Port: a product search index. Only products on sale are found.
#[async_trait]
pub trait SearchIndex: Send + Sync + 'static {
    /// Adds or replaces a product (a product not on sale is removed).
    async fn index_product(&self, doc: &ProductDocument) -> Result<()>;
    /// Removes a product (no-op when absent).
    async fn remove_product(&self, id: ProductId) -> Result<()>;
    /// Runs a search ([`SearchQuery::validate`]d first: `Validation` when
    /// it breaks a rule).
    async fn search(&self, query: &SearchQuery) -> Result<SearchResults>;
    /// Products sharing at least half of `id`'s properties, itself
    /// excluded, most shared first (ties: highest id first), at most
    /// `limit`. Empty for an unknown product or one without properties.
    async fn similar(&self, id: ProductId, limit: u32) -> Result<Vec<ProductId>>;
}
