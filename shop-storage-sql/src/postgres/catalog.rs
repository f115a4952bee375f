//! `CatalogStore` on PostgreSQL.

use async_trait::async_trait;
use shop_core::catalog::{
    check_stock_delta, mean_rating, stock_refusal, CatalogStore, Category, Page, Product,
    ProductQuery, Sku, MAX_STOCK,
};
use shop_core::ids::{CategoryId, ProductId, SkuId};
use shop_core::{Entity, Error, Result};
use sqlx::{Postgres, QueryBuilder};

use super::PgStore;
use crate::common::{
    category_from, db_err, like_pattern, product_from, product_order_by, product_search_text,
    properties_json, retry_rolled_back, sku_from, unique_err, Cols,
};

const PRODUCT_COLS: &str = "id, kind, title, long_title, description, image, on_sale, \
    category_id, properties, rating, sold_count, review_count, price, currency, created_at, \
    updated_at";
const SKU_COLS: &str = "id, product_id, title, description, price, currency, stock";

/// A foreign-key violation means the referenced row is missing.
fn missing_or(
    e: sqlx::Error,
    missing: Error,
    otherwise: impl FnOnce(sqlx::Error) -> Error,
) -> Error {
    match &e {
        sqlx::Error::Database(d) if d.is_foreign_key_violation() => missing,
        _ => otherwise(e),
    }
}

async fn insert_sku<'c, E>(db: E, sku: &Sku) -> Result<()>
where
    E: sqlx::Executor<'c, Database = Postgres>,
{
    sqlx::query(
        "INSERT INTO skus (id, product_id, title, description, price, currency, stock) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(sku.id.0)
    .bind(sku.product_id.0)
    .bind(&sku.title)
    .bind(&sku.description)
    .bind(sku.price.amount())
    .bind(sku.price.currency().code())
    .bind(i64::from(sku.stock))
    .execute(db)
    .await
    .map_err(|e| {
        missing_or(e, Error::not_found(Entity::Product, sku.product_id), |e| {
            unique_err(e, Entity::Sku, sku.id)
        })
    })?;
    Ok(())
}

impl PgStore {
    async fn create_product_tx(&self, p: &Product, skus: &[Sku]) -> Result<()> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO products (id, kind, title, long_title, description, image, on_sale, \
             category_id, properties, rating, sold_count, review_count, price, currency, \
             created_at, updated_at, search_text) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
        )
        .bind(p.id.0)
        .bind(p.kind.as_str())
        .bind(&p.title)
        .bind(&p.long_title)
        .bind(&p.description)
        .bind(&p.image)
        .bind(p.on_sale)
        .bind(p.category_id.map(|c| c.0))
        .bind(properties_json(&p.properties))
        .bind(p.rating)
        .bind(p.sold_count as i64)
        .bind(p.review_count as i64)
        .bind(p.price.amount())
        .bind(p.price.currency().code())
        .bind(p.created_at)
        .bind(p.updated_at)
        .bind(product_search_text(p))
        .execute(&mut *tx)
        .await
        .map_err(|e| {
            missing_or(
                e,
                Error::not_found(Entity::Category, p.category_id.map_or(0, |c| c.0)),
                |e| unique_err(e, Entity::Product, p.id),
            )
        })?;
        for sku in skus {
            insert_sku(&mut *tx, sku).await?;
        }
        tx.commit().await.map_err(db_err)
    }

    async fn refresh_product_stats_tx(&self, product: ProductId) -> Result<()> {
        let mut tx = self.begin().await?;
        // Lock the product first: two refreshes then compute and write one
        // after the other, and the last one written saw every review.
        let locked = sqlx::query("SELECT id FROM products WHERE id = $1 FOR UPDATE")
            .bind(product.0)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?;
        if locked.is_none() {
            return Err(Error::not_found(Entity::Product, product));
        }
        let reviews = sqlx::query(
            "SELECT COALESCE(SUM(rating), 0)::BIGINT AS sum, COUNT(rating) AS count \
             FROM order_items WHERE product_id = $1 AND rating IS NOT NULL",
        )
        .bind(product.0)
        .fetch_one(&mut *tx)
        .await
        .map_err(db_err)?;
        let (sum, count) = (reviews.int("sum")?, reviews.int("count")?);
        let sold = sqlx::query(
            "SELECT COALESCE(SUM(oi.quantity), 0)::BIGINT AS sold FROM order_items oi \
             JOIN orders o ON o.id = oi.order_id WHERE oi.product_id = $1 \
             AND o.status IN ('paid', 'shipped', 'received', 'reviewed')",
        )
        .bind(product.0)
        .fetch_one(&mut *tx)
        .await
        .map_err(db_err)?
        .int("sold")?;
        sqlx::query(
            "UPDATE products SET rating = $1, review_count = $2, sold_count = $3 WHERE id = $4",
        )
        .bind(mean_rating(
            sum.max(0).unsigned_abs(),
            count.max(0).unsigned_abs(),
        ))
        .bind(count)
        .bind(sold)
        .bind(product.0)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        tx.commit().await.map_err(db_err)
    }
}

#[async_trait]
impl CatalogStore for PgStore {
    async fn create_category(&self, c: &Category) -> Result<()> {
        sqlx::query(
            "INSERT INTO categories (id, name, parent_id, is_directory, level, path) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(c.id.0)
        .bind(&c.name)
        .bind(c.parent_id.map(|p| p.0))
        .bind(c.is_directory)
        .bind(i64::from(c.level))
        .bind(&c.path)
        .execute(&self.pool)
        .await
        .map_err(|e| {
            missing_or(
                e,
                Error::not_found(Entity::Category, c.parent_id.map_or(0, |p| p.0)),
                |e| unique_err(e, Entity::Category, c.id),
            )
        })?;
        Ok(())
    }

    async fn get_category(&self, id: CategoryId) -> Result<Option<Category>> {
        let row = sqlx::query("SELECT * FROM categories WHERE id = $1")
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.as_ref().map(category_from).transpose()
    }

    async fn list_categories(&self) -> Result<Vec<Category>> {
        let rows = sqlx::query("SELECT * FROM categories ORDER BY id")
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        rows.iter().map(category_from).collect()
    }

    async fn category_subtree(&self, id: CategoryId) -> Result<Vec<Category>> {
        let root = self
            .get_category(id)
            .await?
            .ok_or_else(|| Error::not_found(Entity::Category, id))?;
        let rows = sqlx::query(
            "SELECT * FROM categories WHERE id = $1 OR starts_with(path, $2) ORDER BY id",
        )
        .bind(id.0)
        .bind(root.subtree_prefix())
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(category_from).collect()
    }

    async fn create_product(&self, p: &Product, skus: &[Sku]) -> Result<()> {
        retry_rolled_back(|| self.create_product_tx(p, skus)).await
    }

    async fn update_product(&self, p: &Product) -> Result<()> {
        let done = sqlx::query(
            "UPDATE products SET kind = $1, title = $2, long_title = $3, description = $4, \
             image = $5, on_sale = $6, category_id = $7, properties = $8, price = $9, \
             currency = $10, updated_at = $11, search_text = $12 WHERE id = $13",
        )
        .bind(p.kind.as_str())
        .bind(&p.title)
        .bind(&p.long_title)
        .bind(&p.description)
        .bind(&p.image)
        .bind(p.on_sale)
        .bind(p.category_id.map(|c| c.0))
        .bind(properties_json(&p.properties))
        .bind(p.price.amount())
        .bind(p.price.currency().code())
        .bind(p.updated_at)
        .bind(product_search_text(p))
        .bind(p.id.0)
        .execute(&self.pool)
        .await
        .map_err(|e| {
            missing_or(
                e,
                Error::not_found(Entity::Category, p.category_id.map_or(0, |c| c.0)),
                db_err,
            )
        })?;
        if done.rows_affected() == 0 {
            return Err(Error::not_found(Entity::Product, p.id));
        }
        Ok(())
    }

    async fn get_product(&self, id: ProductId) -> Result<Option<Product>> {
        let row = sqlx::query(&format!(
            "SELECT {PRODUCT_COLS} FROM products WHERE id = $1"
        ))
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        row.as_ref().map(product_from).transpose()
    }

    async fn get_products(&self, ids: &[ProductId]) -> Result<Vec<Product>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<i64> = ids.iter().map(|i| i.0).collect();
        let rows = sqlx::query(&format!(
            "SELECT {PRODUCT_COLS} FROM products WHERE id = ANY($1) ORDER BY id"
        ))
        .bind(ids)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(product_from).collect()
    }

    async fn list_products(&self, q: &ProductQuery) -> Result<Page<Product>> {
        let prefix = match q.category_id {
            Some(id) => match self.get_category(id).await? {
                Some(c) => Some((id, c.subtree_prefix())),
                None => return Ok(Page::new(Vec::new(), 0)),
            },
            None => None,
        };
        let filters = |b: &mut QueryBuilder<'_, Postgres>| {
            b.push(" WHERE TRUE");
            if let Some(on_sale) = q.on_sale {
                b.push(" AND on_sale = ").push_bind(on_sale);
            }
            if let Some(k) = q.keyword.as_deref().filter(|k| !k.is_empty()) {
                // Backslash is LIKE's default escape; the trigram index serves it.
                b.push(" AND search_text LIKE ").push_bind(like_pattern(k));
            }
            if let Some((id, prefix)) = &prefix {
                b.push(" AND category_id IN (SELECT id FROM categories WHERE id = ")
                    .push_bind(id.0);
                b.push(" OR starts_with(path, ")
                    .push_bind(prefix.clone())
                    .push("))");
            }
        };
        // Counted up to the query's limit: past it, a page does not pay for
        // counting the whole catalog.
        let mut count = QueryBuilder::new("SELECT COUNT(*) FROM (SELECT 1 FROM products");
        filters(&mut count);
        if let Some(limit) = q.count_limit {
            count.push(" LIMIT ").push_bind(i64::from(limit) + 1);
        }
        count.push(") AS counted");
        let total: i64 = count
            .build_query_scalar()
            .fetch_one(&self.pool)
            .await
            .map_err(db_err)?;
        let mut page = QueryBuilder::new(format!("SELECT {PRODUCT_COLS} FROM products"));
        filters(&mut page);
        page.push(" ORDER BY ")
            .push(product_order_by(q.sort, "{}"))
            .push(" LIMIT ")
            .push_bind(i64::from(q.per_page))
            .push(" OFFSET ")
            .push_bind(q.offset() as i64);
        let rows = page.build().fetch_all(&self.pool).await.map_err(db_err)?;
        Ok(Page::counted(
            rows.iter().map(product_from).collect::<Result<_>>()?,
            total as u64,
            q.count_limit,
        ))
    }

    async fn create_sku(&self, sku: &Sku) -> Result<()> {
        insert_sku(&self.pool, sku).await
    }

    async fn update_sku(&self, sku: &Sku) -> Result<()> {
        let done = sqlx::query(
            "UPDATE skus SET title = $1, description = $2, price = $3, currency = $4 \
             WHERE id = $5",
        )
        .bind(&sku.title)
        .bind(&sku.description)
        .bind(sku.price.amount())
        .bind(sku.price.currency().code())
        .bind(sku.id.0)
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        if done.rows_affected() == 0 {
            return Err(Error::not_found(Entity::Sku, sku.id));
        }
        Ok(())
    }

    async fn get_sku(&self, id: SkuId) -> Result<Option<Sku>> {
        let row = sqlx::query(&format!("SELECT {SKU_COLS} FROM skus WHERE id = $1"))
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.as_ref().map(sku_from).transpose()
    }

    async fn get_skus(&self, ids: &[SkuId]) -> Result<Vec<Sku>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<i64> = ids.iter().map(|i| i.0).collect();
        let rows = sqlx::query(&format!(
            "SELECT {SKU_COLS} FROM skus WHERE id = ANY($1) ORDER BY id"
        ))
        .bind(ids)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(sku_from).collect()
    }

    async fn list_skus(&self, product: ProductId) -> Result<Vec<Sku>> {
        let rows = sqlx::query(&format!(
            "SELECT {SKU_COLS} FROM skus WHERE product_id = $1 ORDER BY id"
        ))
        .bind(product.0)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(sku_from).collect()
    }

    async fn adjust_stock(&self, sku: SkuId, delta: i64) -> Result<u32> {
        check_stock_delta(delta)?;
        let row = sqlx::query(
            "UPDATE skus SET stock = stock + $1 WHERE id = $2 AND stock + $1 >= 0 \
             AND ($1 <= 0 OR stock + $1 <= $3) RETURNING stock",
        )
        .bind(delta)
        .bind(sku.0)
        .bind(i64::from(MAX_STOCK))
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        if let Some(row) = row {
            return row.count("stock");
        }
        let current = self
            .get_sku(sku)
            .await?
            .ok_or_else(|| Error::not_found(Entity::Sku, sku))?;
        Err(stock_refusal(sku, current.stock, delta))
    }

    async fn refresh_product_stats(&self, product: ProductId) -> Result<()> {
        retry_rolled_back(|| self.refresh_product_stats_tx(product)).await
    }
}
