//! Catalog: products, SKUs, properties, listings and the store port. The
//! category tree is in `category.rs`, the catalog's rules in `rules.rs`
//! (both re-exported here).

mod category;
mod rules;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

pub use self::category::{category_tree, Category, CategoryNode};
pub use self::rules::*;
use crate::error::{Error, Result};
use crate::events::EventRecord;
use crate::ids::{CategoryId, ProductId, SkuId};
use crate::money::Money;
use crate::page::{check_page, Page};
use crate::text::{check_line, check_multiline, required_line};

/// How a product is sold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ProductKind {
    /// Bought through the cart.
    Normal,
    /// Bought one SKU at a time while a campaign is funding.
    Crowdfunding,
    /// A flash sale: quantity 1, one order per user.
    Seckill,
}

impl ProductKind {
    /// The stable lowercase name used in storage.
    pub fn as_str(self) -> &'static str {
        match self {
            ProductKind::Normal => "normal",
            ProductKind::Crowdfunding => "crowdfunding",
            ProductKind::Seckill => "seckill",
        }
    }

    /// Parses [`ProductKind::as_str`]'s output.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "normal" => Some(ProductKind::Normal),
            "crowdfunding" => Some(ProductKind::Crowdfunding),
            "seckill" => Some(ProductKind::Seckill),
            _ => None,
        }
    }
}

/// A name/value pair describing a product (used for facets).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Property {
    /// E.g. "colour".
    pub name: String,
    /// E.g. "red".
    pub value: String,
}

/// A product as listed in the catalog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Product {
    /// Id.
    pub id: ProductId,
    /// How it is sold.
    pub kind: ProductKind,
    /// Title.
    pub title: String,
    /// Longer title for the detail page.
    pub long_title: String,
    /// Description (HTML or text, as the shop chooses).
    pub description: String,
    /// Image URL.
    pub image: String,
    /// Whether it can be bought.
    pub on_sale: bool,
    /// Its category, if any.
    pub category_id: Option<CategoryId>,
    /// Properties for facets.
    pub properties: Vec<Property>,
    /// Mean rating of reviewed lines, 2 decimals (`0.00` when none): see
    /// [`mean_rating`].
    pub rating: Decimal,
    /// Units sold over paid orders.
    pub sold_count: u64,
    /// Number of reviewed lines.
    pub review_count: u64,
    /// The cheapest SKU's price.
    pub price: Money,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// A stock keeping unit: one buyable variant of a product.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Sku {
    /// Id.
    pub id: SkuId,
    /// The product it belongs to.
    pub product_id: ProductId,
    /// Title, e.g. "256 GB, black".
    pub title: String,
    /// Description.
    pub description: String,
    /// Unit price.
    pub price: Money,
    /// Units in stock (never negative).
    pub stock: u32,
}

/// Input for a new SKU.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SkuDraft {
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// Unit price (positive, whole minor units).
    pub price: Money,
    /// Initial stock.
    pub stock: u32,
}

/// Input for a new product with its SKUs, or the editable fields of one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProductDraft {
    /// How it is sold.
    pub kind: ProductKind,
    /// Title (required).
    pub title: String,
    /// Long title.
    pub long_title: String,
    /// Description.
    pub description: String,
    /// Image URL.
    pub image: String,
    /// Whether it can be bought.
    pub on_sale: bool,
    /// Category (must exist).
    pub category_id: Option<CategoryId>,
    /// Properties.
    pub properties: Vec<Property>,
}

impl ProductDraft {
    /// Checks the fields every product needs.
    pub fn validate(&self) -> Result<()> {
        required_line("title", &self.title, MAX_TITLE_CHARS)?;
        check_line("long_title", &self.long_title, MAX_TITLE_CHARS)?;
        check_multiline("description", &self.description, MAX_DESCRIPTION_CHARS)?;
        check_line("image", &self.image, MAX_URL_CHARS)?;
        if self.properties.len() > MAX_PROPERTIES {
            return Err(Error::validation(
                "properties",
                format!("at most {MAX_PROPERTIES} properties"),
            ));
        }
        if self
            .properties
            .iter()
            .any(|p| p.name.trim().is_empty() || p.value.trim().is_empty())
        {
            return Err(Error::validation(
                "properties",
                "names and values must not be empty",
            ));
        }
        for p in &self.properties {
            check_line("properties", &p.name, MAX_PROPERTY_CHARS)?;
            check_line("properties", &p.value, MAX_PROPERTY_CHARS)?;
        }
        Ok(())
    }
}

/// Sort orders for product listings. Ties are broken by id, newest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ProductSort {
    /// Newest first (by id).
    #[default]
    Newest,
    /// Cheapest first.
    PriceAsc,
    /// Dearest first.
    PriceDesc,
    /// Best-selling first.
    SoldCountDesc,
    /// Best-rated first.
    RatingDesc,
    /// Most-reviewed first.
    ReviewCountDesc,
}

/// A product listing query.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ProductQuery {
    /// Only products in this category's subtree (itself and descendants).
    pub category_id: Option<CategoryId>,
    /// Case-insensitive substring of the title, long title or description
    /// ([`matches_keyword`]).
    pub keyword: Option<String>,
    /// Only products with this on-sale flag.
    pub on_sale: Option<bool>,
    /// Sort order.
    pub sort: ProductSort,
    /// Page number, from 1.
    pub page: u32,
    /// Page size, 1..=[`MAX_PER_PAGE`](crate::page::MAX_PER_PAGE).
    pub per_page: u32,
    /// Count matches only up to this many (plus one, to tell that there are
    /// more); `None` counts them all. The shop's listings use
    /// [`MAX_COUNTED`](crate::page::MAX_COUNTED).
    pub count_limit: Option<u32>,
}

impl ProductQuery {
    /// Rows to skip for the requested page.
    pub fn offset(&self) -> u64 {
        u64::from(self.page.max(1) - 1) * u64::from(self.per_page)
    }

    /// Checks page bounds.
    pub fn validate(&self) -> Result<()> {
        check_page(self.page, self.per_page)?;
        if let Some(keyword) = &self.keyword {
            check_line("keyword", keyword, MAX_KEYWORD_CHARS)?;
        }
        Ok(())
    }
}

/// Port: catalog storage.
#[async_trait]
pub trait CatalogStore: Send + Sync + 'static {
    /// Inserts a category (`AlreadyExists` on a duplicate id).
    async fn create_category(&self, category: &Category) -> Result<()>;
    /// Loads one category.
    async fn get_category(&self, id: CategoryId) -> Result<Option<Category>>;
    /// All categories, by id.
    async fn list_categories(&self) -> Result<Vec<Category>>;
    /// The category and all its descendants, by id.
    async fn category_subtree(&self, id: CategoryId) -> Result<Vec<Category>>;

    /// Inserts a product with its SKUs, all or nothing, and records
    /// `events` in the outbox in the same step (as every writing method
    /// that takes them does).
    async fn create_product(
        &self,
        product: &Product,
        skus: &[Sku],
        events: &[EventRecord],
    ) -> Result<()>;
    /// Overwrites a product's editable fields and price (not its counters).
    async fn update_product(&self, product: &Product, events: &[EventRecord]) -> Result<()>;
    /// Loads one product.
    async fn get_product(&self, id: ProductId) -> Result<Option<Product>>;
    /// Loads several products (missing ids are skipped), in no set order.
    async fn get_products(&self, ids: &[ProductId]) -> Result<Vec<Product>>;
    /// Lists products matching `query`.
    async fn list_products(&self, query: &ProductQuery) -> Result<Page<Product>>;

    /// Inserts a SKU for an existing product.
    async fn create_sku(&self, sku: &Sku, events: &[EventRecord]) -> Result<()>;
    /// Overwrites a SKU's title, description and price (never its stock).
    async fn update_sku(&self, sku: &Sku, events: &[EventRecord]) -> Result<()>;
    /// Loads one SKU.
    async fn get_sku(&self, id: SkuId) -> Result<Option<Sku>>;
    /// Loads several SKUs (missing ids are skipped), in no set order.
    async fn get_skus(&self, ids: &[SkuId]) -> Result<Vec<Sku>>;
    /// A product's SKUs, by id.
    async fn list_skus(&self, product: ProductId) -> Result<Vec<Sku>>;
    /// Adds `delta` to a SKU's stock atomically under [`adjusted_stock`]'s
    /// rule (`OutOfStock` below zero, `Validation { delta }` for an addition
    /// past [`MAX_STOCK`] or a delta past [`check_stock_delta`]); a refusal
    /// changes nothing. Returns the new stock.
    async fn adjust_stock(&self, sku: SkuId, delta: i64, events: &[EventRecord]) -> Result<u32>;

    /// Recomputes a product's rating, review count and sold count from the
    /// stored reviews and paid orders (idempotent: safe to run twice).
    async fn refresh_product_stats(&self, product: ProductId) -> Result<()>;
}
