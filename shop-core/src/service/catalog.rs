//! Use cases: categories, products, SKUs, browsing and favorites.

use serde::{Deserialize, Serialize};

use super::Shop;
use crate::cache::{product_key, CATEGORY_TREE_KEY};
use crate::catalog::{
    category_tree, cheapest_price, validate_sku, Category, CategoryNode, Product, ProductDraft,
    ProductQuery, ProductSort, Sku, SkuDraft,
};
use crate::error::{Entity, Error, Result};
use crate::events::{DomainEvent, StockChangeReason};
use crate::ids::{CategoryId, ProductId, SkuId, UserId};
use crate::money::Money;
use crate::page::{Page, MAX_COUNTED};
use crate::search::{CategoryCount, Facet, PriceBucket, SearchQuery, SearchSort};

/// A product page: the product, its SKUs and its category breadcrumbs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProductDetail {
    /// The product.
    pub product: Product,
    /// Its SKUs, by id.
    pub skus: Vec<Sku>,
    /// Categories from the root down to the product's category.
    pub breadcrumbs: Vec<Category>,
}

/// A page of search results with its sidebar ([`Shop::search`]).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SearchPage {
    /// The products of the page, in order.
    pub items: Vec<Product>,
    /// Matches over all pages.
    pub total: u64,
    /// Every property of the matches with its values' counts (each
    /// leaving out its own filter).
    pub facets: Vec<Facet>,
    /// The children of the searched category with their match counts.
    pub categories: Vec<CategoryCount>,
    /// Price buckets over the matches.
    pub price_buckets: Vec<PriceBucket>,
}

impl Shop {
    /// Creates a category under `parent` (which must be a directory).
    pub async fn create_category(
        &self,
        name: &str,
        is_directory: bool,
        parent: Option<CategoryId>,
    ) -> Result<Category> {
        let parent = match parent {
            Some(id) => Some(self.category(id).await?),
            None => None,
        };
        let category = Category::new(
            CategoryId(self.next_id()),
            name,
            is_directory,
            parent.as_ref(),
        )?;
        self.inner.stores.catalog.create_category(&category).await?;
        if let Some(cache) = &self.inner.cache {
            // Best effort: the tree expires with its time to live anyway.
            let _ = cache.invalidate(CATEGORY_TREE_KEY).await;
        }
        Ok(category)
    }

    /// Loads a category (`NotFound` when unknown).
    pub async fn category(&self, id: CategoryId) -> Result<Category> {
        self.inner
            .stores
            .catalog
            .get_category(id)
            .await?
            .ok_or_else(|| Error::not_found(Entity::Category, id))
    }

    /// The whole category tree (from the read cache when there is one).
    pub async fn category_tree(&self) -> Result<Vec<CategoryNode>> {
        self.read_through(CATEGORY_TREE_KEY, || async {
            Ok(category_tree(
                self.inner.stores.catalog.list_categories().await?,
            ))
        })
        .await
    }

    /// `load`'s answer, from the read cache when it holds `key` (stored
    /// there after a miss unless invalidated meanwhile). A cache that fails
    /// or holds something unreadable is read around, never an error.
    async fn read_through<T, F, Fut>(&self, key: &str, load: F) -> Result<T>
    where
        T: serde::Serialize + serde::de::DeserializeOwned,
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        let Some(cache) = &self.inner.cache else {
            return load().await;
        };
        let version = match cache.get(key).await {
            Ok((Some(cached), _)) => {
                if let Ok(value) = serde_json::from_str(&cached) {
                    return Ok(value);
                }
                None
            }
            Ok((None, version)) => Some(version),
            Err(_) => None,
        };
        let value = load().await?;
        if let (Some(version), Ok(json)) = (version, serde_json::to_string(&value)) {
            let _ = cache
                .put(key, &json, version, self.inner.config.read_cache_ttl)
                .await;
        }
        Ok(value)
    }

    /// The categories from the root down to `id`, inclusive.
    pub async fn breadcrumbs(&self, id: CategoryId) -> Result<Vec<Category>> {
        let category = self.category(id).await?;
        let mut crumbs = Vec::with_capacity(category.level as usize + 1);
        for ancestor in category.ancestor_ids() {
            crumbs.push(self.category(ancestor).await?);
        }
        crumbs.push(category);
        Ok(crumbs)
    }

    async fn check_category(&self, id: Option<CategoryId>) -> Result<()> {
        if let Some(id) = id {
            if self.inner.stores.catalog.get_category(id).await?.is_none() {
                return Err(Error::not_found(Entity::Category, id));
            }
        }
        Ok(())
    }

    /// Creates a product with at least one SKU; its price is the cheapest
    /// SKU's. Records `ProductCreated`.
    pub async fn create_product(
        &self,
        draft: ProductDraft,
        skus: Vec<SkuDraft>,
    ) -> Result<(Product, Vec<Sku>)> {
        draft.validate()?;
        for sku in &skus {
            validate_sku(sku)?;
            self.check_currency(&sku.price)?;
        }
        self.check_category(draft.category_id).await?;
        let price = cheapest_price(skus.iter().map(|s| &s.price))?;
        let now = self.now();
        let product = Product {
            id: ProductId(self.next_id()),
            kind: draft.kind,
            title: draft.title.trim().to_owned(),
            long_title: draft.long_title,
            description: draft.description,
            image: draft.image,
            on_sale: draft.on_sale,
            category_id: draft.category_id,
            properties: draft.properties,
            rating: crate::catalog::mean_rating(0, 0),
            sold_count: 0,
            review_count: 0,
            price,
            created_at: now,
            updated_at: now,
        };
        let skus: Vec<Sku> = skus
            .into_iter()
            .map(|d| Sku {
                id: SkuId(self.next_id()),
                product_id: product.id,
                title: d.title.trim().to_owned(),
                description: d.description,
                price: d.price,
                stock: d.stock,
            })
            .collect();
        self.inner
            .stores
            .catalog
            .create_product(
                &product,
                &skus,
                &self.records(vec![DomainEvent::ProductCreated {
                    product_id: product.id,
                }]),
            )
            .await?;
        Ok((product, skus))
    }

    /// Overwrites a product's editable fields. Records `ProductChanged`, or
    /// `ProductTakenOffSale` when it was on sale and no longer is.
    pub async fn update_product(&self, id: ProductId, draft: ProductDraft) -> Result<Product> {
        draft.validate()?;
        self.check_category(draft.category_id).await?;
        let mut product = self.product(id).await?;
        let was_on_sale = product.on_sale;
        product.kind = draft.kind;
        product.title = draft.title.trim().to_owned();
        product.long_title = draft.long_title;
        product.description = draft.description;
        product.image = draft.image;
        product.on_sale = draft.on_sale;
        product.category_id = draft.category_id;
        product.properties = draft.properties;
        product.updated_at = self.now();
        self.write_product(&product, was_on_sale).await?;
        Ok(product)
    }

    /// Takes a product off sale (`ProductTakenOffSale`) or puts it back
    /// (`ProductChanged`).
    pub async fn set_on_sale(&self, id: ProductId, on_sale: bool) -> Result<Product> {
        let mut product = self.product(id).await?;
        let was_on_sale = product.on_sale;
        product.on_sale = on_sale;
        product.updated_at = self.now();
        self.write_product(&product, was_on_sale).await?;
        Ok(product)
    }

    /// Writes `product` with its event: taken off sale when it was on sale
    /// and no longer is, else changed.
    async fn write_product(&self, product: &Product, was_on_sale: bool) -> Result<()> {
        let product_id = product.id;
        let event = if was_on_sale && !product.on_sale {
            DomainEvent::ProductTakenOffSale { product_id }
        } else {
            DomainEvent::ProductChanged { product_id }
        };
        self.inner
            .stores
            .catalog
            .update_product(product, &self.records(vec![event]))
            .await
    }

    /// Adds a SKU to a product and refreshes the product's price.
    pub async fn add_sku(&self, product: ProductId, draft: SkuDraft) -> Result<Sku> {
        validate_sku(&draft)?;
        self.check_currency(&draft.price)?;
        self.product(product).await?;
        let sku = Sku {
            id: SkuId(self.next_id()),
            product_id: product,
            title: draft.title.trim().to_owned(),
            description: draft.description,
            price: draft.price,
            stock: draft.stock,
        };
        let changed = self.records(vec![DomainEvent::ProductChanged {
            product_id: product,
        }]);
        self.inner.stores.catalog.create_sku(&sku, &changed).await?;
        self.refresh_price(product).await?;
        Ok(sku)
    }

    /// Changes a SKU's title, description and price (stock is changed only
    /// by [`Shop::adjust_stock`]) and refreshes the product's price.
    pub async fn update_sku(&self, id: SkuId, draft: SkuDraft) -> Result<Sku> {
        // The draft's stock is not used here, so it is not checked either.
        validate_sku(&SkuDraft {
            stock: 0,
            ..draft.clone()
        })?;
        self.check_currency(&draft.price)?;
        let mut sku = self.sku(id).await?;
        sku.title = draft.title.trim().to_owned();
        sku.description = draft.description;
        sku.price = draft.price;
        let changed = self.records(vec![DomainEvent::ProductChanged {
            product_id: sku.product_id,
        }]);
        self.inner.stores.catalog.update_sku(&sku, &changed).await?;
        self.refresh_price(sku.product_id).await?;
        Ok(sku)
    }

    /// Adds `delta` units to a SKU's stock (negative to remove); the stock
    /// never goes below zero. Returns the new stock. Records
    /// `StockChanged`.
    pub async fn adjust_stock(&self, id: SkuId, delta: i64) -> Result<u32> {
        let sku = self.sku(id).await?;
        let changed = self.records(vec![DomainEvent::StockChanged {
            sku_id: id,
            product_id: sku.product_id,
            delta,
            reason: StockChangeReason::Adjusted,
        }]);
        self.inner
            .stores
            .catalog
            .adjust_stock(id, delta, &changed)
            .await
    }

    /// Sets the product's price to its cheapest SKU's, recording
    /// `ProductChanged` when it moved (the SKU write recorded its own).
    async fn refresh_price(&self, id: ProductId) -> Result<()> {
        let mut product = self.product(id).await?;
        let skus = self.inner.stores.catalog.list_skus(id).await?;
        let price = cheapest_price(skus.iter().map(|s| &s.price))?;
        if price == product.price {
            return Ok(());
        }
        product.price = price;
        product.updated_at = self.now();
        let changed = self.records(vec![DomainEvent::ProductChanged { product_id: id }]);
        self.inner
            .stores
            .catalog
            .update_product(&product, &changed)
            .await
    }

    fn check_currency(&self, price: &Money) -> Result<()> {
        if price.currency() == self.inner.config.currency {
            Ok(())
        } else {
            Err(Error::validation(
                "price",
                format!("prices must be in {}", self.inner.config.currency),
            ))
        }
    }

    /// Loads a product (`NotFound` when unknown).
    pub async fn product(&self, id: ProductId) -> Result<Product> {
        self.inner
            .stores
            .catalog
            .get_product(id)
            .await?
            .ok_or_else(|| Error::not_found(Entity::Product, id))
    }

    /// Loads a SKU (`NotFound` when unknown).
    pub async fn sku(&self, id: SkuId) -> Result<Sku> {
        self.inner
            .stores
            .catalog
            .get_sku(id)
            .await?
            .ok_or_else(|| Error::not_found(Entity::Sku, id))
    }

    /// A SKU and its product, which must be of `kind` (`Refused { field:
    /// "sku_id" }` with `why` otherwise; `NotFound` when either is
    /// unknown).
    pub(super) async fn sku_of_kind(
        &self,
        id: SkuId,
        kind: crate::catalog::ProductKind,
        why: &str,
    ) -> Result<(Sku, Product)> {
        let sku = self.sku(id).await?;
        let product = self.product(sku.product_id).await?;
        if product.kind != kind {
            return Err(Error::refused("sku_id", why));
        }
        Ok((sku, product))
    }

    /// The product page of an on-sale product (`NotFound` when it is off
    /// sale, so shoppers cannot see withdrawn products).
    pub async fn product_detail(&self, id: ProductId) -> Result<ProductDetail> {
        self.read_through(&product_key(id), || async {
            let product = self.product(id).await?;
            if !product.on_sale {
                return Err(Error::not_found(Entity::Product, id));
            }
            self.product_detail_of(product).await
        })
        .await
    }

    /// The product page of any product, on sale or not (for administrators).
    pub async fn admin_product_detail(&self, id: ProductId) -> Result<ProductDetail> {
        let product = self.product(id).await?;
        self.product_detail_of(product).await
    }

    async fn product_detail_of(&self, product: Product) -> Result<ProductDetail> {
        let skus = self.inner.stores.catalog.list_skus(product.id).await?;
        let breadcrumbs = match product.category_id {
            Some(c) => self.breadcrumbs(c).await?,
            None => Vec::new(),
        };
        Ok(ProductDetail {
            product,
            skus,
            breadcrumbs,
        })
    }

    /// The storefront listing: on-sale products only. With a search index
    /// ([`ShopBuilder::search_index`](super::ShopBuilder::search_index)) a
    /// keyword is answered from it (relevance first unless a sort is
    /// asked); otherwise, and without a keyword, from the stores.
    pub async fn browse(&self, mut query: ProductQuery) -> Result<Page<Product>> {
        query.on_sale = Some(true);
        let keyword = query
            .keyword
            .as_deref()
            .map(str::trim)
            .filter(|k| !k.is_empty());
        if let (Some(_), Some(keyword)) = (&self.inner.search, keyword) {
            query.validate()?;
            let sort = match query.sort {
                ProductSort::Newest => SearchSort::Relevance,
                ProductSort::PriceAsc => SearchSort::PriceAsc,
                ProductSort::PriceDesc => SearchSort::PriceDesc,
                ProductSort::SoldCountDesc => SearchSort::SoldDesc,
                ProductSort::RatingDesc => SearchSort::RatingDesc,
                ProductSort::ReviewCountDesc => SearchSort::ReviewsDesc,
            };
            let found = self
                .search(SearchQuery {
                    keyword: Some(keyword.to_owned()),
                    category_id: query.category_id,
                    sort,
                    page: query.page,
                    per_page: query.per_page,
                    ..SearchQuery::default()
                })
                .await?;
            return Ok(Page::new(found.items, found.total));
        }
        self.list_products(query).await
    }

    /// A search with its sidebar. With a search index it answers
    /// everything; without one, the stores answer a keyword, a category
    /// and a sort (filters by price, property or stock need an index:
    /// `Validation { field: "filters" }`), with an empty sidebar.
    pub async fn search(&self, query: SearchQuery) -> Result<SearchPage> {
        query.validate()?;
        let Some(index) = &self.inner.search else {
            if query.min_price.is_some()
                || query.max_price.is_some()
                || !query.properties.is_empty()
                || query.in_stock
            {
                return Err(Error::validation(
                    "filters",
                    "filters by price, property or stock need a search index",
                ));
            }
            let sort = match query.sort {
                SearchSort::PriceAsc => ProductSort::PriceAsc,
                SearchSort::PriceDesc => ProductSort::PriceDesc,
                SearchSort::SoldDesc => ProductSort::SoldCountDesc,
                SearchSort::RatingDesc => ProductSort::RatingDesc,
                SearchSort::ReviewsDesc => ProductSort::ReviewCountDesc,
                _ => ProductSort::Newest,
            };
            let page = self
                .list_products(ProductQuery {
                    category_id: query.category_id,
                    keyword: query.keyword,
                    on_sale: Some(true),
                    sort,
                    page: query.page,
                    per_page: query.per_page,
                    count_limit: None,
                })
                .await?;
            return Ok(SearchPage {
                items: page.items,
                total: page.total,
                ..SearchPage::default()
            });
        };
        let found = index.search(&query).await?;
        Ok(SearchPage {
            items: self.products_in_order(&found.product_ids).await?,
            total: found.total,
            facets: found.facets,
            categories: found.categories,
            price_buckets: found.price_buckets,
        })
    }

    /// Products sharing at least half of product `id`'s properties, most
    /// shared first, at most `limit` (1–100); empty without a search index.
    pub async fn similar_products(&self, id: ProductId, limit: u32) -> Result<Vec<Product>> {
        if !(1..=100).contains(&limit) {
            return Err(Error::validation("limit", "must be between 1 and 100"));
        }
        self.product_detail(id).await?;
        let Some(index) = &self.inner.search else {
            return Ok(Vec::new());
        };
        let ids = index.similar(id, limit).await?;
        self.products_in_order(&ids).await
    }

    /// The on-sale products of `ids`, in that order (an id the index still
    /// holds but the stores no longer sell is left out).
    async fn products_in_order(&self, ids: &[ProductId]) -> Result<Vec<Product>> {
        let found = self.inner.stores.catalog.get_products(ids).await?;
        Ok(ids
            .iter()
            .filter_map(|id| found.iter().find(|p| p.id == *id && p.on_sale).cloned())
            .collect())
    }

    /// Any listing (administrators may see products off sale), counting at
    /// most [`MAX_COUNTED`] matches.
    pub async fn list_products(&self, mut query: ProductQuery) -> Result<Page<Product>> {
        query.validate()?;
        // Never count past MAX_COUNTED (see `Page::total_capped`).
        query.count_limit = Some(
            query
                .count_limit
                .map_or(MAX_COUNTED, |limit| limit.min(MAX_COUNTED)),
        );
        if let Some(c) = query.category_id {
            self.category(c).await?;
        }
        self.inner.stores.catalog.list_products(&query).await
    }

    /// Marks a product a favorite of `user`.
    pub async fn add_favorite(&self, user: UserId, product: ProductId) -> Result<()> {
        self.product(product).await?;
        self.inner
            .stores
            .users
            .add_favorite(user, product, self.now())
            .await
    }

    /// Removes a favorite.
    pub async fn remove_favorite(&self, user: UserId, product: ProductId) -> Result<()> {
        self.inner.stores.users.remove_favorite(user, product).await
    }

    /// A user's favorite products, most recently added first.
    pub async fn favorites(&self, user: UserId) -> Result<Vec<Product>> {
        let ids = self.inner.stores.users.list_favorites(user).await?;
        let products = self.inner.stores.catalog.get_products(&ids).await?;
        Ok(ids
            .iter()
            .filter_map(|id| products.iter().find(|p| p.id == *id).cloned())
            .collect())
    }

    /// Records that `user` viewed `product` (kept in their recently viewed
    /// list, the newest [`ShopConfig::history_keep`](super::ShopConfig::history_keep)).
    /// `NotFound` for an unknown product.
    pub async fn record_view(&self, user: UserId, product: ProductId) -> Result<()> {
        self.product(product).await?;
        let keep = self
            .inner
            .config
            .history_keep
            .clamp(1, crate::user::MAX_HISTORY);
        self.inner
            .stores
            .history
            .record_view(user, product, self.now(), keep)
            .await
    }

    /// `user`'s recently viewed products, the latest first, at most
    /// `limit` (1..=100); products deleted since are left out.
    pub async fn recently_viewed(&self, user: UserId, limit: u32) -> Result<Vec<Product>> {
        if limit == 0 || limit > crate::user::MAX_HISTORY {
            return Err(Error::validation(
                "limit",
                format!("must be 1 to {}", crate::user::MAX_HISTORY),
            ));
        }
        let ids = self
            .inner
            .stores
            .history
            .recently_viewed(user, limit)
            .await?;
        let products = self.inner.stores.catalog.get_products(&ids).await?;
        Ok(ids
            .iter()
            .filter_map(|id| products.iter().find(|p| p.id == *id).cloned())
            .collect())
    }
}
