//! [`CatalogStore`] for [`MemoryStore`].

use std::cmp::Ordering;
use std::collections::BTreeSet;

use async_trait::async_trait;

use super::{already_exists, page_of, MemoryStore, State};
use crate::catalog::{
    adjusted_stock, matches_keyword, mean_rating, CatalogStore, Category, Product, ProductQuery,
    ProductSort, Sku,
};
use crate::error::{Entity, Error, Result};
use crate::events::EventRecord;
use crate::ids::{CategoryId, ProductId, SkuId};
use crate::page::Page;

impl State {
    fn category_subtree(&self, id: CategoryId) -> Result<Vec<Category>> {
        let root = self
            .categories
            .get(&id)
            .ok_or_else(|| Error::not_found(Entity::Category, id))?;
        let prefix = root.subtree_prefix();
        Ok(self
            .categories
            .values()
            .filter(|c| c.id == id || c.path.starts_with(&prefix))
            .cloned()
            .collect())
    }

    fn create_product(&mut self, product: &Product, skus: &[Sku]) -> Result<()> {
        if self.products.contains_key(&product.id) {
            return Err(already_exists(Entity::Product, product.id));
        }
        if let Some(category) = product.category_id {
            if !self.categories.contains_key(&category) {
                return Err(Error::not_found(Entity::Category, category));
            }
        }
        for (i, sku) in skus.iter().enumerate() {
            if sku.product_id != product.id {
                return Err(Error::validation(
                    "skus",
                    format!("sku {} belongs to another product", sku.id),
                ));
            }
            if self.skus.contains_key(&sku.id) || skus[..i].iter().any(|s| s.id == sku.id) {
                return Err(already_exists(Entity::Sku, sku.id));
            }
        }
        self.products.insert(product.id, product.clone());
        for sku in skus {
            self.skus.insert(sku.id, sku.clone());
        }
        Ok(())
    }

    fn update_product(&mut self, product: &Product) -> Result<()> {
        if let Some(category) = product.category_id {
            if !self.categories.contains_key(&category) {
                return Err(Error::not_found(Entity::Category, category));
            }
        }
        let stored = self
            .products
            .get_mut(&product.id)
            .ok_or_else(|| Error::not_found(Entity::Product, product.id))?;
        *stored = Product {
            rating: stored.rating,
            sold_count: stored.sold_count,
            review_count: stored.review_count,
            created_at: stored.created_at,
            ..product.clone()
        };
        Ok(())
    }

    fn list_products(&self, query: &ProductQuery) -> Page<Product> {
        // An unknown category has an empty subtree.
        let categories = query.category_id.map(|id| {
            self.category_subtree(id)
                .map(|tree| tree.into_iter().map(|c| c.id).collect::<Vec<_>>())
                .unwrap_or_default()
        });
        let keyword = query.keyword.as_deref().filter(|k| !k.is_empty());
        let mut found: Vec<Product> = self
            .products
            .values()
            .filter(|p| match &categories {
                Some(ids) => p.category_id.is_some_and(|c| ids.contains(&c)),
                None => true,
            })
            .filter(|p| query.on_sale.is_none_or(|on_sale| p.on_sale == on_sale))
            .filter(|p| keyword.is_none_or(|k| matches_keyword(p, k)))
            .cloned()
            .collect();
        found.sort_by(|a, b| product_order(query.sort, a, b));
        let total = found.len() as u64;
        Page::counted(
            page_of(found, query.page, query.per_page),
            total,
            query.count_limit,
        )
    }

    fn create_sku(&mut self, sku: &Sku) -> Result<()> {
        if !self.products.contains_key(&sku.product_id) {
            return Err(Error::not_found(Entity::Product, sku.product_id));
        }
        if self.skus.contains_key(&sku.id) {
            return Err(already_exists(Entity::Sku, sku.id));
        }
        self.skus.insert(sku.id, sku.clone());
        Ok(())
    }

    fn update_sku(&mut self, sku: &Sku) -> Result<()> {
        let stored = self
            .skus
            .get_mut(&sku.id)
            .ok_or_else(|| Error::not_found(Entity::Sku, sku.id))?;
        stored.title = sku.title.clone();
        stored.description = sku.description.clone();
        stored.price = sku.price;
        Ok(())
    }

    fn adjust_stock(&mut self, id: SkuId, delta: i64) -> Result<u32> {
        let sku = self
            .skus
            .get_mut(&id)
            .ok_or_else(|| Error::not_found(Entity::Sku, id))?;
        sku.stock = adjusted_stock(id, sku.stock, delta)?;
        Ok(sku.stock)
    }

    fn refresh_product_stats(&mut self, id: ProductId) -> Result<()> {
        if !self.products.contains_key(&id) {
            return Err(Error::not_found(Entity::Product, id));
        }
        let (mut stars, mut reviews): (u64, u64) = (0, 0);
        let mut sold: u64 = 0;
        for order in self.orders.values() {
            for item in order.items.iter().filter(|i| i.product_id == id) {
                if let Some(review) = &item.review {
                    stars += u64::from(review.rating);
                    reviews += 1;
                }
                if order.state.is_paid() {
                    sold += u64::from(item.quantity);
                }
            }
        }
        let rating = mean_rating(stars, reviews);
        if let Some(product) = self.products.get_mut(&id) {
            product.rating = rating;
            product.review_count = reviews;
            product.sold_count = sold;
        }
        Ok(())
    }
}

/// The listing order for `sort`; ties go to the higher id.
fn product_order(sort: ProductSort, a: &Product, b: &Product) -> Ordering {
    let primary = match sort {
        ProductSort::Newest => Ordering::Equal,
        ProductSort::PriceAsc => a.price.amount().cmp(&b.price.amount()),
        ProductSort::PriceDesc => b.price.amount().cmp(&a.price.amount()),
        ProductSort::SoldCountDesc => b.sold_count.cmp(&a.sold_count),
        ProductSort::RatingDesc => b.rating.cmp(&a.rating),
        ProductSort::ReviewCountDesc => b.review_count.cmp(&a.review_count),
    };
    primary.then_with(|| b.id.cmp(&a.id))
}

#[async_trait]
impl CatalogStore for MemoryStore {
    async fn create_category(&self, category: &Category) -> Result<()> {
        let mut state = self.state();
        if state.categories.contains_key(&category.id) {
            return Err(already_exists(Entity::Category, category.id));
        }
        state.categories.insert(category.id, category.clone());
        Ok(())
    }

    async fn get_category(&self, id: CategoryId) -> Result<Option<Category>> {
        Ok(self.state().categories.get(&id).cloned())
    }

    async fn list_categories(&self) -> Result<Vec<Category>> {
        Ok(self.state().categories.values().cloned().collect())
    }

    async fn category_subtree(&self, id: CategoryId) -> Result<Vec<Category>> {
        self.state().category_subtree(id)
    }

    async fn create_product(
        &self,
        product: &Product,
        skus: &[Sku],
        events: &[EventRecord],
    ) -> Result<()> {
        self.write(events, |s| s.create_product(product, skus))
    }

    async fn update_product(&self, product: &Product, events: &[EventRecord]) -> Result<()> {
        self.write(events, |s| s.update_product(product))
    }

    async fn get_product(&self, id: ProductId) -> Result<Option<Product>> {
        Ok(self.state().products.get(&id).cloned())
    }

    async fn get_products(&self, ids: &[ProductId]) -> Result<Vec<Product>> {
        let ids: BTreeSet<&ProductId> = ids.iter().collect();
        let state = self.state();
        Ok(ids
            .into_iter()
            .filter_map(|id| state.products.get(id).cloned())
            .collect())
    }

    async fn list_products(&self, query: &ProductQuery) -> Result<Page<Product>> {
        Ok(self.state().list_products(query))
    }

    async fn create_sku(&self, sku: &Sku, events: &[EventRecord]) -> Result<()> {
        self.write(events, |s| s.create_sku(sku))
    }

    async fn update_sku(&self, sku: &Sku, events: &[EventRecord]) -> Result<()> {
        self.write(events, |s| s.update_sku(sku))
    }

    async fn get_sku(&self, id: SkuId) -> Result<Option<Sku>> {
        Ok(self.state().skus.get(&id).cloned())
    }

    async fn get_skus(&self, ids: &[SkuId]) -> Result<Vec<Sku>> {
        let ids: BTreeSet<&SkuId> = ids.iter().collect();
        let state = self.state();
        Ok(ids
            .into_iter()
            .filter_map(|id| state.skus.get(id).cloned())
            .collect())
    }

    async fn list_skus(&self, product: ProductId) -> Result<Vec<Sku>> {
        Ok(self
            .state()
            .skus
            .values()
            .filter(|s| s.product_id == product)
            .cloned()
            .collect())
    }

    async fn adjust_stock(&self, sku: SkuId, delta: i64, events: &[EventRecord]) -> Result<u32> {
        self.write(events, |s| s.adjust_stock(sku, delta))
    }

    async fn refresh_product_stats(&self, product: ProductId) -> Result<()> {
        self.state().refresh_product_stats(product)
    }
}
