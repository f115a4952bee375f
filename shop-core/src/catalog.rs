//! Catalog: products, SKUs, properties, the category tree and its store port.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::ids::{CategoryId, ProductId, SkuId};
use crate::money::{Currency, Money};
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

/// Longest product, long or SKU title, and category name, in characters.
pub const MAX_TITLE_CHARS: usize = 255;
/// Longest product or SKU description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 20_000;
/// Longest search keyword, in characters.
pub const MAX_KEYWORD_CHARS: usize = 100;
/// Longest image URL, in characters.
pub const MAX_URL_CHARS: usize = 2_048;
/// Most properties of a product.
pub const MAX_PROPERTIES: usize = 50;
/// Longest property name or value, in characters.
pub const MAX_PROPERTY_CHARS: usize = 255;
/// Deepest category level (roots are level 0), so a category's path fits
/// every backend's column.
pub const MAX_CATEGORY_LEVEL: u32 = 9;

/// What a keyword search looks in: the title, long title and description,
/// lower-cased (Unicode), one per line. A keyword is a line, so it matches
/// within one field, never across two. Stores keep this text beside each
/// product (and index it) so every backend matches alike.
pub fn search_text(title: &str, long_title: &str, description: &str) -> String {
    format!("{title}\n{long_title}\n{description}").to_lowercase()
}

/// The keyword rule: `product` matches when its [`search_text`] holds the
/// lower-cased keyword.
pub fn matches_keyword(product: &Product, keyword: &str) -> bool {
    search_text(&product.title, &product.long_title, &product.description)
        .contains(&keyword.to_lowercase())
}

/// Decimals of a product's rating.
pub const RATING_DECIMALS: u32 = 2;

/// The rating rule: the mean of the reviewed lines' stars (`sum` over
/// `count` reviews), half-up to [`RATING_DECIMALS`] decimals; `0.00` when
/// there is no review.
pub fn mean_rating(sum: u64, count: u64) -> Decimal {
    if count == 0 {
        return canonical_rating(Decimal::ZERO);
    }
    canonical_rating(Decimal::from(sum) / Decimal::from(count))
}

/// A rating as every backend returns it: half-up to [`RATING_DECIMALS`]
/// decimals, with exactly that many (`4.00`, whatever the column gave).
pub fn canonical_rating(rating: Decimal) -> Decimal {
    let rounded = rating.round_dp_with_strategy(
        RATING_DECIMALS,
        rust_decimal::RoundingStrategy::MidpointAwayFromZero,
    );
    crate::money::with_scale(rounded, RATING_DECIMALS)
}

/// Most units a SKU's stock may hold (every backend's column fits it).
pub const MAX_STOCK: u32 = 1_000_000_000;

/// The stock rule for [`CatalogStore::adjust_stock`]: `delta` is at most
/// [`MAX_STOCK`] either way (`Validation { field: "delta" }`), which also
/// keeps `stock + delta` from overflowing in any backend.
pub fn check_stock_delta(delta: i64) -> Result<()> {
    if delta.unsigned_abs() > u64::from(MAX_STOCK) {
        return Err(Error::validation(
            "delta",
            format!("must be between -{MAX_STOCK} and {MAX_STOCK}"),
        ));
    }
    Ok(())
}

/// The stock after adding `delta` to `current`: never below zero
/// (`OutOfStock`), and an addition never past [`MAX_STOCK`]
/// (`Validation { field: "delta" }`). Removals are always allowed down to
/// zero, even from a stock above the maximum (orders that close give their
/// units back without a cap).
pub fn adjusted_stock(sku: SkuId, current: u32, delta: i64) -> Result<u32> {
    check_stock_delta(delta)?;
    let result = i64::from(current) + delta;
    let fits = result >= 0 && (delta <= 0 || result <= i64::from(MAX_STOCK));
    if fits {
        return u32::try_from(result).map_err(|_| stock_refusal(sku, current, delta));
    }
    Err(stock_refusal(sku, current, delta))
}

/// Why adding `delta` to a stock of `current` was refused: a removal ran
/// out of stock, an addition passed [`MAX_STOCK`]. For stores whose
/// conditional write changed nothing.
pub fn stock_refusal(sku: SkuId, current: u32, delta: i64) -> Error {
    if delta > 0 {
        Error::refused("delta", format!("the stock would exceed {MAX_STOCK}"))
    } else {
        Error::OutOfStock {
            sku,
            requested: u32::try_from(delta.unsigned_abs()).unwrap_or(u32::MAX),
            available: current,
        }
    }
}

/// Checks one SKU draft: non-empty title, positive price in whole minor
/// units up to [`MAX_AMOUNT`](crate::money::MAX_AMOUNT), stock at most
/// [`MAX_STOCK`].
pub fn validate_sku(draft: &SkuDraft) -> Result<()> {
    required_line("sku.title", &draft.title, MAX_TITLE_CHARS)?;
    check_multiline("sku.description", &draft.description, MAX_DESCRIPTION_CHARS)?;
    if draft.stock > MAX_STOCK {
        return Err(Error::validation(
            "sku.stock",
            format!("must be at most {MAX_STOCK}"),
        ));
    }
    if !draft.price.is_positive()
        || !draft.price.is_whole_minor_units()
        || draft.price.amount() > crate::money::MAX_AMOUNT
    {
        return Err(Error::validation(
            "sku.price",
            format!(
                "must be positive, in whole minor units and at most {}",
                crate::money::MAX_AMOUNT
            ),
        ));
    }
    Ok(())
}

/// The product price rule: the cheapest SKU's price. All SKUs must share one
/// currency; a product needs at least one SKU.
pub fn cheapest_price<'a>(prices: impl IntoIterator<Item = &'a Money>) -> Result<Money> {
    let mut cheapest: Option<Money> = None;
    for price in prices {
        cheapest = Some(match cheapest {
            None => *price,
            Some(c) if price.checked_cmp(&c)?.is_lt() => *price,
            Some(c) => c,
        });
    }
    cheapest.ok_or_else(|| Error::validation("skus", "a product needs at least one sku"))
}

/// A node of the category tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Category {
    /// Id.
    pub id: CategoryId,
    /// Name.
    pub name: String,
    /// Parent (None for a root).
    pub parent_id: Option<CategoryId>,
    /// Whether it holds categories rather than products.
    pub is_directory: bool,
    /// Depth: 0 for a root.
    pub level: u32,
    /// Ancestor ids, e.g. `-1-4-` for a category under 4 under 1; `-` for a root.
    pub path: String,
}

impl Category {
    /// A new category under `parent` (which must be a directory).
    pub fn new(
        id: CategoryId,
        name: &str,
        is_directory: bool,
        parent: Option<&Category>,
    ) -> Result<Category> {
        let name = required_line("name", name, MAX_TITLE_CHARS)?;
        let (level, path) = match parent {
            None => (0, "-".to_owned()),
            Some(p) if !p.is_directory => {
                return Err(Error::refused("parent_id", "the parent is not a directory"))
            }
            Some(p) if p.level >= MAX_CATEGORY_LEVEL => {
                return Err(Error::refused(
                    "parent_id",
                    format!(
                        "categories nest at most {} levels deep",
                        MAX_CATEGORY_LEVEL + 1
                    ),
                ))
            }
            Some(p) => (p.level + 1, p.subtree_prefix()),
        };
        Ok(Category {
            id,
            name: name.to_owned(),
            parent_id: parent.map(|p| p.id),
            is_directory,
            level,
            path,
        })
    }

    /// The path prefix every descendant's path starts with: `path + id + "-"`.
    pub fn subtree_prefix(&self) -> String {
        format!("{}{}-", self.path, self.id)
    }

    /// Ancestor ids from the root down, read from the path.
    pub fn ancestor_ids(&self) -> Vec<CategoryId> {
        self.path
            .split('-')
            .filter_map(|s| s.parse::<i64>().ok())
            .map(CategoryId)
            .collect()
    }
}

/// A category with its children, for rendering the tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CategoryNode {
    /// The category.
    pub category: Category,
    /// Its children, by id.
    #[cfg_attr(feature = "openapi", schema(no_recursion))]
    pub children: Vec<CategoryNode>,
}

/// Builds the tree from a flat list (any order). Children are sorted by id.
pub fn category_tree(mut all: Vec<Category>) -> Vec<CategoryNode> {
    all.sort_by_key(|c| c.id);
    fn children_of(parent: Option<CategoryId>, all: &[Category]) -> Vec<CategoryNode> {
        all.iter()
            .filter(|c| c.parent_id == parent)
            .map(|c| CategoryNode {
                category: c.clone(),
                children: children_of(Some(c.id), all),
            })
            .collect()
    }
    children_of(None, &all)
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
    /// Page size, 1..=[`MAX_PER_PAGE`].
    pub per_page: u32,
    /// Count matches only up to this many (plus one, to tell that there are
    /// more); `None` counts them all. The shop's listings use
    /// [`MAX_COUNTED`].
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

    /// Inserts a product with its SKUs, all or nothing.
    async fn create_product(&self, product: &Product, skus: &[Sku]) -> Result<()>;
    /// Overwrites a product's editable fields and price (not its counters).
    async fn update_product(&self, product: &Product) -> Result<()>;
    /// Loads one product.
    async fn get_product(&self, id: ProductId) -> Result<Option<Product>>;
    /// Loads several products (missing ids are skipped), in no set order.
    async fn get_products(&self, ids: &[ProductId]) -> Result<Vec<Product>>;
    /// Lists products matching `query`.
    async fn list_products(&self, query: &ProductQuery) -> Result<Page<Product>>;

    /// Inserts a SKU for an existing product.
    async fn create_sku(&self, sku: &Sku) -> Result<()>;
    /// Overwrites a SKU's title, description and price (never its stock).
    async fn update_sku(&self, sku: &Sku) -> Result<()>;
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
    async fn adjust_stock(&self, sku: SkuId, delta: i64) -> Result<u32>;

    /// Recomputes a product's rating, review count and sold count from the
    /// stored reviews and paid orders (idempotent: safe to run twice).
    async fn refresh_product_stats(&self, product: ProductId) -> Result<()>;
}

/// The currency all amounts of a list of SKUs share.
pub fn common_currency<'a>(skus: impl IntoIterator<Item = &'a Sku>) -> Result<Option<Currency>> {
    let mut currency = None;
    for sku in skus {
        match currency {
            None => currency = Some(sku.price.currency()),
            Some(c) if c != sku.price.currency() => {
                return Err(crate::money::MoneyError::CurrencyMismatch {
                    left: c,
                    right: sku.price.currency(),
                }
                .into())
            }
            Some(_) => {}
        }
    }
    Ok(currency)
}
