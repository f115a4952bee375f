//! `CatalogStore`: categories, products, SKUs, stock and product statistics.

use async_trait::async_trait;
use shop_core::catalog::{
    check_stock_delta, mean_rating, search_text, stock_refusal, CatalogStore, Category, Product,
    ProductQuery, ProductSort, Sku, MAX_STOCK,
};
use shop_core::events::EventRecord;
use shop_core::ids::{CategoryId, ProductId, SkuId};
use shop_core::order::OrderStatus;
use shop_core::page::Page;
use shop_core::{Entity, Error, Result};

use crate::error::{retry_rolled_back, Violation};
use crate::rows::{category_from, product_from, properties_json, sku_from, Cols};
use crate::sql::Sql;
use crate::{commit, commit_with, Dialect, SqlStore};

const PRODUCT_COLS: &str = "id, kind, title, long_title, description, image, on_sale, \
    category_id, properties, rating, sold_count, review_count, price, currency, created_at, \
    updated_at";
const SKU_COLS: &str = "id, product_id, title, description, price, currency, stock";

fn insert_sku(sku: &Sku) -> Sql {
    Sql::new(
        "INSERT INTO shop_skus (id, product_id, title, description, price, currency, stock) \
         VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(sku.id.0)
    .bind(sku.product_id.0)
    .bind(&sku.title)
    .bind(&sku.description)
    .bind(sku.price)
    .bind(sku.price.currency().code())
    .bind(sku.stock)
}

fn sku_insert_err(e: shop_core::Error, sku: &Sku) -> Error {
    e.or_missing(Error::not_found(Entity::Product, sku.product_id))
}

/// `ORDER BY` of a product listing; decimals sort by the dialect's key.
fn order_by<D: Dialect>(sort: ProductSort) -> String {
    use ProductSort as S;
    match sort {
        S::Newest => "id DESC".to_owned(),
        S::PriceAsc => format!("{} ASC, id DESC", D::numeric_key("price")),
        S::PriceDesc => format!("{} DESC, id DESC", D::numeric_key("price")),
        S::SoldCountDesc => "sold_count DESC, id DESC".to_owned(),
        S::RatingDesc => format!("{} DESC, id DESC", D::numeric_key("rating")),
        S::ReviewCountDesc => "review_count DESC, id DESC".to_owned(),
    }
}

impl<D: Dialect> SqlStore<D> {
    async fn create_product_tx(
        &self,
        p: &Product,
        skus: &[Sku],
        events: &[EventRecord],
    ) -> Result<()> {
        let mut tx = self.write().await?;
        let insert = Sql::new(
            "INSERT INTO shop_products (kind, title, long_title, description, image, on_sale, \
             category_id, properties, price, currency, updated_at, search_text, id, rating, \
             sold_count, review_count, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        );
        let insert = bind_product(insert, p)
            .bind(p.rating)
            .bind(p.sold_count as i64)
            .bind(p.review_count as i64)
            .bind(p.created_at);
        D::execute(&mut tx, &insert).await.map_err(|e| {
            e.or_exists(Entity::Product, p.id)
                .or_missing(missing_category(p.category_id))
        })?;
        for sku in skus {
            D::execute(&mut tx, &insert_sku(sku))
                .await
                .map_err(|e| sku_insert_err(e.or_exists(Entity::Sku, sku.id), sku))?;
        }
        commit_with::<D>(tx, events).await
    }

    async fn adjust_stock_tx(&self, sku: SkuId, delta: i64, events: &[EventRecord]) -> Result<u32> {
        let mut tx = self.write().await?;
        let update = Sql::new(
            "UPDATE shop_skus SET stock = stock + ? WHERE id = ? AND stock + ? >= 0 \
             AND (? <= 0 OR stock + ? <= ?)",
        )
        .bind(delta)
        .bind(sku.0)
        .bind(delta)
        .bind(delta)
        .bind(delta)
        .bind(MAX_STOCK);
        let done = D::execute(&mut tx, &update).await?;
        let read = Sql::new("SELECT stock FROM shop_skus WHERE id = ?").bind(sku.0);
        let stock = D::fetch_optional(&mut tx, &read)
            .await?
            .ok_or_else(|| Error::not_found(Entity::Sku, sku))?
            .count("stock")?;
        if done == 0 {
            return Err(stock_refusal(sku, stock, delta));
        }
        commit_with::<D>(tx, events).await?;
        Ok(stock)
    }

    async fn refresh_product_stats_tx(&self, product: ProductId) -> Result<()> {
        let mut tx = self.write().await?;
        // Lock the product first: two refreshes compute and write one after
        // the other, and the last one written saw every review.
        let lock = Sql::new(format!(
            "SELECT id FROM shop_products WHERE id = ?{}",
            D::FOR_UPDATE
        ))
        .bind(product.0);
        if D::fetch_optional(&mut tx, &lock).await?.is_none() {
            return Err(Error::not_found(Entity::Product, product));
        }
        let reviews = Sql::new(
            "SELECT COALESCE(SUM(rating), 0) AS total, COUNT(rating) AS n FROM shop_order_items \
             WHERE product_id = ? AND rating IS NOT NULL",
        )
        .bind(product.0);
        let reviews = D::fetch_optional(&mut tx, &reviews)
            .await?
            .ok_or_else(|| Error::not_found(Entity::Product, product))?;
        let (total, count) = (reviews.int("total")?, reviews.int("n")?);
        let mut sold = Sql::new(
            "SELECT COALESCE(SUM(oi.quantity), 0) AS sold FROM shop_order_items oi \
             JOIN shop_orders o ON o.id = oi.order_id WHERE oi.product_id = ? AND o.status IN (",
        )
        .bind(product.0);
        for (i, status) in OrderStatus::PAID.iter().enumerate() {
            sold.push(if i == 0 { "" } else { ", " })
                .push_bind(status.as_str());
        }
        sold.push(")");
        let sold = D::fetch_optional(&mut tx, &sold)
            .await?
            .map_or(Ok(0), |r| r.int("sold"))?;
        let update = Sql::new(
            "UPDATE shop_products SET rating = ?, review_count = ?, sold_count = ? WHERE id = ?",
        )
        .bind(mean_rating(
            total.max(0).unsigned_abs(),
            count.max(0).unsigned_abs(),
        ))
        .bind(count)
        .bind(sold)
        .bind(product.0);
        D::execute(&mut tx, &update).await?;
        commit::<D>(tx).await
    }
}

/// The columns an administrator edits (with the search text and the
/// update time), in the order the statements list them, the id last.
fn bind_product(sql: Sql, p: &Product) -> Sql {
    sql.bind(p.kind.as_str())
        .bind(&p.title)
        .bind(&p.long_title)
        .bind(&p.description)
        .bind(&p.image)
        .bind(p.on_sale)
        .bind(p.category_id.map(|c| c.0))
        .bind(properties_json(&p.properties))
        .bind(p.price)
        .bind(p.price.currency().code())
        .bind(p.updated_at)
        .bind(search_text(&p.title, &p.long_title, &p.description))
        .bind(p.id.0)
}

fn missing_category(id: Option<CategoryId>) -> Error {
    Error::not_found(Entity::Category, id.map_or(0, |c| c.0))
}

#[async_trait]
impl<D: Dialect> CatalogStore for SqlStore<D> {
    async fn create_category(&self, c: &Category) -> Result<()> {
        let insert = Sql::new(
            "INSERT INTO shop_categories (id, name, parent_id, is_directory, level, path) \
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(c.id.0)
        .bind(&c.name)
        .bind(c.parent_id.map(|p| p.0))
        .bind(c.is_directory)
        .bind(c.level)
        .bind(&c.path);
        self.execute(insert).await.map_err(|e| {
            e.or_exists(Entity::Category, c.id)
                .or_missing(missing_category(c.parent_id))
        })?;
        Ok(())
    }

    async fn get_category(&self, id: CategoryId) -> Result<Option<Category>> {
        self.one(
            Sql::new("SELECT * FROM shop_categories WHERE id = ?").bind(id.0),
            category_from,
        )
        .await
    }

    async fn list_categories(&self) -> Result<Vec<Category>> {
        self.all(
            Sql::new("SELECT * FROM shop_categories ORDER BY id"),
            category_from,
        )
        .await
    }

    async fn category_subtree(&self, id: CategoryId) -> Result<Vec<Category>> {
        let root = self
            .get_category(id)
            .await?
            .ok_or_else(|| Error::not_found(Entity::Category, id))?;
        // Paths hold digits and `-` only: no LIKE wildcard to escape.
        self.all(
            Sql::new("SELECT * FROM shop_categories WHERE id = ? OR path LIKE ? ORDER BY id")
                .bind(id.0)
                .bind(format!("{}%", root.subtree_prefix())),
            category_from,
        )
        .await
    }

    async fn create_product(
        &self,
        p: &Product,
        skus: &[Sku],
        events: &[EventRecord],
    ) -> Result<()> {
        retry_rolled_back(|| self.create_product_tx(p, skus, events)).await
    }

    async fn update_product(&self, p: &Product, events: &[EventRecord]) -> Result<()> {
        let update = Sql::new(
            "UPDATE shop_products SET kind = ?, title = ?, long_title = ?, description = ?, \
             image = ?, on_sale = ?, category_id = ?, properties = ?, price = ?, currency = ?, \
             updated_at = ?, search_text = ? WHERE id = ?",
        );
        let done = self
            .execute_with(bind_product(update, p), events)
            .await
            .map_err(|e| e.or_missing(missing_category(p.category_id)))?;
        if done == 0 {
            return Err(Error::not_found(Entity::Product, p.id));
        }
        Ok(())
    }

    async fn get_product(&self, id: ProductId) -> Result<Option<Product>> {
        let sql = Sql::new(format!(
            "SELECT {PRODUCT_COLS} FROM shop_products WHERE id = ?"
        ))
        .bind(id.0);
        self.one(sql, product_from).await
    }

    async fn get_products(&self, ids: &[ProductId]) -> Result<Vec<Product>> {
        let ids: Vec<i64> = ids.iter().map(|i| i.0).collect();
        self.by_ids(PRODUCT_COLS, "shop_products", &ids, product_from)
            .await
    }

    async fn list_products(&self, q: &ProductQuery) -> Result<Page<Product>> {
        let prefix = match q.category_id {
            Some(id) => match self.get_category(id).await? {
                Some(c) => Some((id, c.subtree_prefix())),
                None => return Ok(Page::new(Vec::new(), 0)),
            },
            None => None,
        };
        let filters = |sql: &mut Sql| {
            sql.push(" WHERE 1 = 1");
            if let Some(on_sale) = q.on_sale {
                // A literal, not a bound value: with STAT4 statistics (after
                // ANALYZE), SQLite re-plans a statement on every run whose
                // bound value constrains an indexed column.
                sql.push(if on_sale {
                    " AND on_sale = TRUE"
                } else {
                    " AND on_sale = FALSE"
                });
            }
            if let Some(k) = q.keyword.as_deref().filter(|k| !k.is_empty()) {
                D::push_keyword(sql, &k.to_lowercase());
            }
            if let Some((id, prefix)) = &prefix {
                sql.push(" AND category_id IN (SELECT id FROM shop_categories WHERE id = ")
                    .push_bind(id.0)
                    .push(" OR path LIKE ")
                    .push_bind(format!("{prefix}%"))
                    .push(")");
            }
        };
        // Counted up to the query's limit: past it, a page does not pay for
        // counting the whole catalog.
        let mut count = Sql::new("SELECT COUNT(*) AS n FROM (SELECT 1 AS one FROM shop_products");
        filters(&mut count);
        if let Some(limit) = q.count_limit {
            count.push(" LIMIT ").push_bind(i64::from(limit) + 1);
        }
        count.push(") counted");
        let mut page = Sql::new(format!("SELECT {PRODUCT_COLS} FROM shop_products"));
        filters(&mut page);
        page.push(" ORDER BY ")
            .push(&order_by::<D>(q.sort))
            .push(" LIMIT ")
            .push_bind(q.per_page)
            .push(" OFFSET ")
            .push_bind(q.offset() as i64);
        let mut conn = self.conn().await?;
        let total = match D::fetch_optional(&mut conn, &count).await? {
            Some(row) => row.int("n")?,
            None => 0,
        };
        let rows = D::fetch_all(&mut conn, &page).await?;
        Ok(Page::counted(
            rows.iter().map(product_from).collect::<Result<_>>()?,
            total.max(0) as u64,
            q.count_limit,
        ))
    }

    async fn create_sku(&self, sku: &Sku, events: &[EventRecord]) -> Result<()> {
        self.execute_with(insert_sku(sku), events)
            .await
            .map_err(|e| sku_insert_err(e.or_exists(Entity::Sku, sku.id), sku))?;
        Ok(())
    }

    async fn update_sku(&self, sku: &Sku, events: &[EventRecord]) -> Result<()> {
        let update = Sql::new(
            "UPDATE shop_skus SET title = ?, description = ?, price = ?, currency = ? \
             WHERE id = ?",
        )
        .bind(&sku.title)
        .bind(&sku.description)
        .bind(sku.price)
        .bind(sku.price.currency().code())
        .bind(sku.id.0);
        if self.execute_with(update, events).await? == 0 {
            return Err(Error::not_found(Entity::Sku, sku.id));
        }
        Ok(())
    }

    async fn get_sku(&self, id: SkuId) -> Result<Option<Sku>> {
        let sql = Sql::new(format!("SELECT {SKU_COLS} FROM shop_skus WHERE id = ?")).bind(id.0);
        self.one(sql, sku_from).await
    }

    async fn get_skus(&self, ids: &[SkuId]) -> Result<Vec<Sku>> {
        let ids: Vec<i64> = ids.iter().map(|i| i.0).collect();
        self.by_ids(SKU_COLS, "shop_skus", &ids, sku_from).await
    }

    async fn list_skus(&self, product: ProductId) -> Result<Vec<Sku>> {
        let sql = Sql::new(format!(
            "SELECT {SKU_COLS} FROM shop_skus WHERE product_id = ? ORDER BY id"
        ))
        .bind(product.0);
        self.all(sql, sku_from).await
    }

    async fn adjust_stock(&self, sku: SkuId, delta: i64, events: &[EventRecord]) -> Result<u32> {
        check_stock_delta(delta)?;
        retry_rolled_back(|| self.adjust_stock_tx(sku, delta, events)).await
    }

    async fn refresh_product_stats(&self, product: ProductId) -> Result<()> {
        retry_rolled_back(|| self.refresh_product_stats_tx(product)).await
    }
}
