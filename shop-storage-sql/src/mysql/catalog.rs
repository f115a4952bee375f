//! `CatalogStore` on MySQL / MariaDB.

use async_trait::async_trait;
use shop_core::catalog::{
    check_stock_delta, mean_rating, stock_refusal, CatalogStore, Category, Page, Product,
    ProductQuery, Sku, MAX_STOCK,
};
use shop_core::ids::{CategoryId, ProductId, SkuId};
use shop_core::{Entity, Error, Result};
use sqlx::{MySql, QueryBuilder, Row};

use super::MySqlStore;
use crate::common::{
    category_from, db_err, like_pattern, product_from, product_order_by, product_search_text,
    properties_json, retry_rolled_back, sku_from, unique_err,
};

const PRODUCT_COLS: &str = "id, kind, title, long_title, description, image, on_sale, \
    category_id, properties, rating, sold_count, review_count, price, currency, created_at, \
    updated_at";
const SKU_COLS: &str = "id, product_id, title, description, price, currency, stock";

fn id_list(ids: impl Iterator<Item = i64>) -> String {
    ids.map(|i| i.to_string()).collect::<Vec<_>>().join(",")
}

async fn insert_sku<'c, E>(db: E, sku: &Sku) -> Result<()>
where
    E: sqlx::Executor<'c, Database = MySql>,
{
    sqlx::query(
        "INSERT INTO skus (id, product_id, title, description, price, currency, stock) \
         VALUES (?, ?, ?, ?, ?, ?, ?)",
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
    .map_err(|e| unique_err(e, Entity::Sku, sku.id))?;
    Ok(())
}

impl MySqlStore {
    async fn create_product_tx(&self, p: &Product, skus: &[Sku]) -> Result<()> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO products (id, kind, title, long_title, description, image, on_sale, \
             category_id, properties, rating, sold_count, review_count, price, currency, \
             created_at, updated_at, search_text) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
        .map_err(|e| match &e {
            sqlx::Error::Database(d) if d.is_foreign_key_violation() => {
                Error::not_found(Entity::Category, p.category_id.map_or(0, |c| c.0))
            }
            _ => unique_err(e, Entity::Product, p.id),
        })?;
        for sku in skus {
            insert_sku(&mut *tx, sku).await?;
        }
        tx.commit().await.map_err(db_err)
    }

    async fn adjust_stock_tx(&self, sku: SkuId, delta: i64) -> Result<u32> {
        check_stock_delta(delta)?;
        let mut tx = self.begin().await?;
        let done = sqlx::query(
            "UPDATE skus SET stock = stock + ? WHERE id = ? AND stock + ? >= 0 \
             AND (? <= 0 OR stock + ? <= ?)",
        )
        .bind(delta)
        .bind(sku.0)
        .bind(delta)
        .bind(delta)
        .bind(delta)
        .bind(i64::from(MAX_STOCK))
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        // A locking read: the latest committed stock (or ours), not the
        // snapshot.
        let stock: Option<i64> =
            sqlx::query_scalar("SELECT stock FROM skus WHERE id = ? FOR UPDATE")
                .bind(sku.0)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db_err)?;
        let stock = stock.ok_or_else(|| Error::not_found(Entity::Sku, sku))?;
        if done.rows_affected() == 0 {
            return Err(stock_refusal(sku, stock as u32, delta));
        }
        tx.commit().await.map_err(db_err)?;
        Ok(stock as u32)
    }

    async fn refresh_product_stats_tx(&self, product: ProductId) -> Result<()> {
        let mut tx = self.begin().await?;
        // Lock the product first: concurrent refreshes of it run one after
        // the other, and every read below is a locking read of the latest
        // committed rows.
        let found = sqlx::query("SELECT id FROM products WHERE id = ? FOR UPDATE")
            .bind(product.0)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?;
        if found.is_none() {
            return Err(Error::not_found(Entity::Product, product));
        }
        let reviews = sqlx::query(
            "SELECT CAST(COALESCE(SUM(rating), 0) AS SIGNED), COUNT(rating) FROM order_items \
             WHERE product_id = ? AND rating IS NOT NULL LOCK IN SHARE MODE",
        )
        .bind(product.0)
        .fetch_one(&mut *tx)
        .await
        .map_err(db_err)?;
        let (sum, count): (i64, i64) = (
            reviews.try_get(0).map_err(db_err)?,
            reviews.try_get(1).map_err(db_err)?,
        );
        let sold: i64 = sqlx::query_scalar(
            "SELECT CAST(COALESCE(SUM(oi.quantity), 0) AS SIGNED) FROM order_items oi \
             JOIN orders o ON o.id = oi.order_id WHERE oi.product_id = ? \
             AND o.status IN ('paid', 'shipped', 'received', 'reviewed') LOCK IN SHARE MODE",
        )
        .bind(product.0)
        .fetch_one(&mut *tx)
        .await
        .map_err(db_err)?;
        sqlx::query(
            "UPDATE products SET rating = ?, review_count = ?, sold_count = ? WHERE id = ?",
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
impl CatalogStore for MySqlStore {
    async fn create_category(&self, c: &Category) -> Result<()> {
        sqlx::query(
            "INSERT INTO categories (id, name, parent_id, is_directory, level, path) \
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(c.id.0)
        .bind(&c.name)
        .bind(c.parent_id.map(|p| p.0))
        .bind(c.is_directory)
        .bind(i64::from(c.level))
        .bind(&c.path)
        .execute(&self.pool)
        .await
        .map_err(|e| unique_err(e, Entity::Category, c.id))?;
        Ok(())
    }

    async fn get_category(&self, id: CategoryId) -> Result<Option<Category>> {
        let row = sqlx::query("SELECT * FROM categories WHERE id = ?")
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
            "SELECT * FROM categories WHERE id = ? OR SUBSTR(path, 1, ?) = ? ORDER BY id",
        )
        .bind(id.0)
        .bind(root.subtree_prefix().chars().count() as i64)
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
            "UPDATE products SET kind = ?, title = ?, long_title = ?, description = ?, \
             image = ?, on_sale = ?, category_id = ?, properties = ?, price = ?, currency = ?, \
             updated_at = ?, search_text = ? WHERE id = ?",
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
        .map_err(db_err)?;
        if done.rows_affected() == 0 {
            return Err(Error::not_found(Entity::Product, p.id));
        }
        Ok(())
    }

    async fn get_product(&self, id: ProductId) -> Result<Option<Product>> {
        let row = sqlx::query(&format!("SELECT {PRODUCT_COLS} FROM products WHERE id = ?"))
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
        let sql = format!(
            "SELECT {PRODUCT_COLS} FROM products WHERE id IN ({}) ORDER BY id",
            id_list(ids.iter().map(|i| i.0))
        );
        let rows = sqlx::query(&sql)
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
        let filters = |b: &mut QueryBuilder<'_, MySql>| {
            b.push(" WHERE 1 = 1");
            if let Some(on_sale) = q.on_sale {
                b.push(" AND on_sale = ").push_bind(on_sale);
            }
            if let Some(k) = q.keyword.as_deref().filter(|k| !k.is_empty()) {
                // `\` is LIKE's default escape character, as `like_pattern`
                // expects (spelling it out would need `'\\'`, which depends on
                // the NO_BACKSLASH_ESCAPES mode). search_text compares
                // byte for byte (utf8mb4_bin).
                b.push(" AND search_text LIKE ").push_bind(like_pattern(k));
            }
            if let Some((id, prefix)) = &prefix {
                b.push(" AND category_id IN (SELECT id FROM categories WHERE id = ")
                    .push_bind(id.0);
                b.push(" OR SUBSTR(path, 1, ")
                    .push_bind(prefix.chars().count() as i64)
                    .push(") = ")
                    .push_bind(prefix.clone())
                    .push(")");
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
        if self.get_product(sku.product_id).await?.is_none() {
            return Err(Error::not_found(Entity::Product, sku.product_id));
        }
        insert_sku(&self.pool, sku).await
    }

    async fn update_sku(&self, sku: &Sku) -> Result<()> {
        let done = sqlx::query(
            "UPDATE skus SET title = ?, description = ?, price = ?, currency = ? WHERE id = ?",
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
        let row = sqlx::query(&format!("SELECT {SKU_COLS} FROM skus WHERE id = ?"))
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
        let sql = format!(
            "SELECT {SKU_COLS} FROM skus WHERE id IN ({}) ORDER BY id",
            id_list(ids.iter().map(|i| i.0))
        );
        let rows = sqlx::query(&sql)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        rows.iter().map(sku_from).collect()
    }

    async fn list_skus(&self, product: ProductId) -> Result<Vec<Sku>> {
        let rows = sqlx::query(&format!(
            "SELECT {SKU_COLS} FROM skus WHERE product_id = ? ORDER BY id"
        ))
        .bind(product.0)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(sku_from).collect()
    }

    async fn adjust_stock(&self, sku: SkuId, delta: i64) -> Result<u32> {
        retry_rolled_back(|| self.adjust_stock_tx(sku, delta)).await
    }

    async fn refresh_product_stats(&self, product: ProductId) -> Result<()> {
        retry_rolled_back(|| self.refresh_product_stats_tx(product)).await
    }
}
