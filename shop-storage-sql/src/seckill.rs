//! `FlashSaleStore`: flash sales and the buyers holding their units. The
//! buyer rows themselves are written by the placement and deleted by the
//! close (`placement.rs`, `orders.rs`), inside their transactions.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use shop_core::events::EventRecord;
use shop_core::ids::{FlashSaleId, ProductId, SkuId, UserId};
use shop_core::seckill::{FlashSale, FlashSaleLedger, FlashSaleRefusal, FlashSaleStore};
use shop_core::{Entity, Error, Result};

use crate::dialect::Conn;
use crate::error::{retry_rolled_back, Violation};
use crate::rows::Cols;
use crate::sql::Sql;
use crate::{commit_with, Dialect, SqlStore};

const SALE_COLS: &str =
    "id, product_id, sku_id, price, currency, quantity, starts_at, ends_at, created_at";

fn sale_from(r: &impl Cols) -> Result<FlashSale> {
    Ok(FlashSale {
        id: FlashSaleId(r.int("id")?),
        product_id: ProductId(r.int("product_id")?),
        sku_id: SkuId(r.int("sku_id")?),
        price: r.money("price")?,
        quantity: r.count("quantity")?,
        starts_at: r.time("starts_at")?,
        ends_at: r.time("ends_at")?,
        created_at: r.time("created_at")?,
    })
}

/// Records `user` as a buyer of `sale` holding `order`'s unit; a second
/// unit for the same buyer is `FlashSale(AlreadyBought)`.
pub(crate) async fn record_buyer<D: Dialect>(
    c: &mut Conn<D>,
    sale: FlashSaleId,
    user: UserId,
    order: shop_core::ids::OrderId,
) -> Result<()> {
    let insert = Sql::new(
        "INSERT INTO shop_flash_sale_buyers (sale_id, user_id, order_id) VALUES (?, ?, ?)",
    )
    .bind(sale.0)
    .bind(user.0)
    .bind(order.0);
    match D::execute(c, &insert).await {
        Err(e) if e.is_unique_violation() => Err(Error::FlashSale(FlashSaleRefusal::AlreadyBought)),
        other => other.map(|_| ()),
    }
}

/// Frees the buyer whose unit `order` held (none for other orders).
pub(crate) async fn free_buyer<D: Dialect>(
    c: &mut Conn<D>,
    order: shop_core::ids::OrderId,
) -> Result<()> {
    let delete = Sql::new("DELETE FROM shop_flash_sale_buyers WHERE order_id = ?").bind(order.0);
    D::execute(c, &delete).await.map(|_| ())
}

impl<D: Dialect> SqlStore<D> {
    async fn create_flash_sale_tx(&self, sale: &FlashSale, events: &[EventRecord]) -> Result<()> {
        let mut tx = self.write().await?;
        let stock = Sql::new("UPDATE shop_skus SET stock = ? WHERE id = ?")
            .bind(sale.quantity)
            .bind(sale.sku_id.0);
        if D::execute(&mut tx, &stock).await? == 0 {
            return Err(Error::not_found(Entity::Sku, sale.sku_id));
        }
        let insert = Sql::new(format!(
            "INSERT INTO shop_flash_sales ({SALE_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
        ))
        .bind(sale.id.0)
        .bind(sale.product_id.0)
        .bind(sale.sku_id.0)
        .bind(sale.price)
        .bind(sale.price.currency().code())
        .bind(sale.quantity)
        .bind(sale.starts_at)
        .bind(sale.ends_at)
        .bind(sale.created_at);
        D::execute(&mut tx, &insert).await.map_err(|e| {
            e.or_exists(Entity::FlashSale, sale.id)
                .or_missing(Error::not_found(Entity::Product, sale.product_id))
        })?;
        commit_with::<D>(tx, events).await
    }
}

#[async_trait]
impl<D: Dialect> FlashSaleStore for SqlStore<D> {
    async fn create_flash_sale(&self, sale: &FlashSale, events: &[EventRecord]) -> Result<()> {
        retry_rolled_back(|| self.create_flash_sale_tx(sale, events)).await
    }

    async fn get_flash_sale(&self, id: FlashSaleId) -> Result<Option<FlashSale>> {
        let sql = Sql::new(format!(
            "SELECT {SALE_COLS} FROM shop_flash_sales WHERE id = ?"
        ))
        .bind(id.0);
        self.one(sql, sale_from).await
    }

    async fn flash_sale_of_sku(&self, sku: SkuId) -> Result<Option<FlashSale>> {
        let sql = Sql::new(format!(
            "SELECT {SALE_COLS} FROM shop_flash_sales WHERE sku_id = ? \
             ORDER BY starts_at DESC, id DESC LIMIT 1"
        ))
        .bind(sku.0);
        self.one(sql, sale_from).await
    }

    async fn list_flash_sales(&self, after: DateTime<Utc>, limit: u32) -> Result<Vec<FlashSale>> {
        let sql = Sql::new(format!(
            "SELECT {SALE_COLS} FROM shop_flash_sales WHERE ends_at > ? \
             ORDER BY starts_at, id LIMIT ?"
        ))
        .bind(after)
        .bind(i64::from(limit));
        self.all(sql, sale_from).await
    }

    async fn flash_sale_ledger(&self, id: FlashSaleId) -> Result<FlashSaleLedger> {
        // One statement: the stock and the buyers of one snapshot.
        let sql = Sql::new(
            "SELECT k.stock AS stock, b.user_id AS user_id \
             FROM shop_flash_sales s JOIN shop_skus k ON k.id = s.sku_id \
             LEFT JOIN shop_flash_sale_buyers b ON b.sale_id = s.id \
             WHERE s.id = ? ORDER BY b.user_id",
        )
        .bind(id.0);
        let rows = self
            .all(sql, |r| Ok((r.count("stock")?, r.opt_int("user_id")?)))
            .await?;
        let Some((stock, _)) = rows.first() else {
            return Err(Error::not_found(Entity::FlashSale, id));
        };
        Ok(FlashSaleLedger {
            stock: *stock,
            buyers: rows
                .iter()
                .filter_map(|(_, user)| user.map(UserId))
                .collect(),
        })
    }
}
