//! Placing an order: one transaction that spends the submit token, inserts
//! the order, clears the cart, takes the stock, counts the coupon's use and
//! records its hold — all or nothing.

use std::collections::HashMap;

use shop_core::coupon::CouponRejection;
use shop_core::events::EventRecord;
use shop_core::ids::SkuId;
use shop_core::order::{stock_shortage, Order, OrderItem, PlaceOrder};
use shop_core::{Entity, Error, Result};

use crate::dialect::Conn;
use crate::error::Violation;
use crate::rows::{coupon_from, Cols};
use crate::sql::Sql;
use crate::{commit_with, Dialect, SqlStore};

async fn insert_order<D: Dialect>(c: &mut Conn<D>, o: &Order) -> Result<()> {
    let order = Sql::new(
        "INSERT INTO shop_orders (id, no, user_id, kind, address, zip, contact_name, \
         contact_phone, items_total, total, currency, coupon_id, remark, status, refund_status, \
         created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(o.id.0)
    .bind(&o.no)
    .bind(o.user_id.0)
    .bind(o.kind.as_str())
    .bind(&o.address.address)
    .bind(&o.address.zip)
    .bind(&o.address.contact_name)
    .bind(&o.address.contact_phone)
    .bind(o.items_total)
    .bind(o.total)
    .bind(o.total.currency().code())
    .bind(o.coupon_id.map(|c| c.0))
    .bind(&o.remark)
    .bind(o.state.status.as_str())
    .bind(o.state.refund.as_str())
    .bind(o.created_at)
    .bind(o.expires_at);
    D::execute(c, &order)
        .await
        .map_err(|e| e.or_exists(Entity::Order, &o.no))?;
    if o.items.is_empty() {
        return Ok(());
    }
    let mut items = Sql::new(
        "INSERT INTO shop_order_items (id, order_id, line_no, product_id, sku_id, quantity, \
         unit_price) VALUES ",
    );
    for (line_no, item) in o.items.iter().enumerate() {
        items
            .push(if line_no == 0 { "(" } else { ", (" })
            .push_bind(item.id.0)
            .push(", ")
            .push_bind(o.id.0)
            .push(", ")
            .push_bind(line_no as i64)
            .push(", ")
            .push_bind(item.product_id.0)
            .push(", ")
            .push_bind(item.sku_id.0)
            .push(", ")
            .push_bind(item.quantity)
            .push(", ")
            .push_bind(item.unit_price)
            .push(")");
    }
    D::execute(c, &items).await.map_err(|e| {
        let ids: Vec<String> = o.items.iter().map(|i| i.id.to_string()).collect();
        e.or_exists(Entity::OrderItem, ids.join(","))
    })?;
    Ok(())
}

/// Takes every line's stock with `stock >= quantity` in the `WHERE` clause,
/// visiting the lines in SKU-id order (so two orders lock shared SKUs in the
/// same order and cannot deadlock). A decrement that matches no row is
/// reported by shop-core's [`stock_shortage`], from the stock read back plus
/// what this order already took.
async fn take_stock<D: Dialect>(c: &mut Conn<D>, o: &Order) -> Result<()> {
    let mut lines: Vec<&OrderItem> = o.items.iter().collect();
    lines.sort_by_key(|item| item.sku_id);
    let mut taken: HashMap<SkuId, u32> = HashMap::new();
    for item in lines {
        let take = Sql::new("UPDATE shop_skus SET stock = stock - ? WHERE id = ? AND stock >= ?")
            .bind(item.quantity)
            .bind(item.sku_id.0)
            .bind(item.quantity);
        if D::execute(c, &take).await? == 0 {
            let mut read = Sql::new("SELECT id, stock FROM shop_skus WHERE id IN ");
            read.push_list(o.items.iter().map(|i| i.sku_id.0));
            let mut before = HashMap::new();
            for row in D::fetch_all(c, &read).await? {
                let sku = SkuId(row.int("id")?);
                let took = taken.get(&sku).copied().unwrap_or(0);
                before.insert(sku, row.count("stock")?.saturating_add(took));
            }
            return Err(stock_shortage(&o.items, &before, item.sku_id));
        }
        let sum = taken.entry(item.sku_id).or_default();
        *sum = sum.saturating_add(item.quantity);
    }
    Ok(())
}

/// Takes one use of the coupon for the order's buyer: checks 1–3 are the
/// `WHERE` clause of the write, and when it matches no row shop-core's
/// `Coupon::take_refusal` says why, from the coupon read back. Check 5 is
/// the key of `shop_coupon_holds`.
async fn take_coupon<D: Dialect>(c: &mut Conn<D>, o: &Order, coupon: i64) -> Result<()> {
    let at = o.created_at;
    let take = Sql::new(
        "UPDATE shop_coupons SET used = used + 1 WHERE id = ? AND enabled AND used < total \
         AND (not_before IS NULL OR not_before <= ?) AND (not_after IS NULL OR not_after >= ?)",
    )
    .bind(coupon)
    .bind(at)
    .bind(at);
    if D::execute(c, &take).await? == 0 {
        let read = Sql::new("SELECT * FROM shop_coupons WHERE id = ?").bind(coupon);
        return Err(match D::fetch_optional(c, &read).await? {
            Some(row) => coupon_from(&row)?.take_refusal(at),
            None => Error::not_found(Entity::Coupon, coupon),
        });
    }
    let hold =
        Sql::new("INSERT INTO shop_coupon_holds (coupon_id, user_id, order_id) VALUES (?, ?, ?)")
            .bind(coupon)
            .bind(o.user_id.0)
            .bind(o.id.0);
    match D::execute(c, &hold).await {
        Err(e) if e.is_unique_violation() => {
            Err(Error::CouponRejected(CouponRejection::AlreadyUsed))
        }
        other => other.map(|_| ()),
    }
}

impl<D: Dialect> SqlStore<D> {
    pub(crate) async fn place_order_tx(
        &self,
        cmd: &PlaceOrder,
        events: &[EventRecord],
    ) -> Result<()> {
        let o = &cmd.order;
        let mut tx = self.write().await?;
        if let Some(token) = &cmd.submit_token {
            let spend = Sql::new(
                "UPDATE shop_submit_tokens SET used_at = ?, order_id = ?, \
                 request_fingerprint = ? \
                 WHERE token = ? AND user_id = ? AND used_at IS NULL AND expires_at > ?",
            )
            .bind(o.created_at)
            .bind(o.id.0)
            .bind(&token.request_fingerprint)
            .bind(&token.token)
            .bind(o.user_id.0)
            .bind(o.created_at);
            if D::execute(&mut tx, &spend).await? == 0 {
                return Err(Error::not_found(Entity::SubmitToken, &token.token));
            }
        }
        insert_order::<D>(&mut tx, o).await?;
        // The cart before the stock: the SKU rows' locks, the hot ones, are
        // taken last and held only until the commit.
        if cmd.clear_cart && !o.items.is_empty() {
            let mut clear =
                Sql::new("DELETE FROM shop_cart_items WHERE user_id = ? AND sku_id IN ")
                    .bind(o.user_id.0);
            clear.push_list(o.items.iter().map(|i| i.sku_id.0));
            D::execute(&mut tx, &clear).await?;
        }
        take_stock::<D>(&mut tx, o).await?;
        if let Some(coupon) = o.coupon_id {
            take_coupon::<D>(&mut tx, o, coupon.0).await?;
        }
        if let Some(sale) = cmd.flash_sale {
            crate::seckill::record_buyer::<D>(&mut tx, sale, o.user_id, o.id).await?;
        }
        if let Some(campaign) = cmd.crowdfunding {
            crate::crowdfunding::record_order::<D>(&mut tx, campaign, o).await?;
        }
        commit_with::<D>(tx, events).await
    }
}
