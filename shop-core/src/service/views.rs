//! Read models: orders with the SKUs and products of their lines, loaded in
//! a constant number of store calls whatever the number of orders.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::Shop;
use crate::catalog::{Product, Sku};
use crate::error::Result;
use crate::ids::UserId;
use crate::order::{Order, OrderItem, OrderQuery};
use crate::page::Page;

/// One order line with its SKU and product as they are now (`None` when
/// they have been deleted since).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrderLineView {
    /// The line, with its price snapshot.
    pub item: OrderItem,
    /// The SKU.
    pub sku: Option<Sku>,
    /// The product.
    pub product: Option<Product>,
}

/// An order with its lines' SKUs and products, for an order list page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrderView {
    /// The order.
    pub order: Order,
    /// Its lines.
    pub lines: Vec<OrderLineView>,
}

impl Shop {
    /// `user`'s orders, newest first, each line with its SKU and product:
    /// three store calls (orders with lines, SKUs, products) for any page.
    pub async fn order_views(
        &self,
        user: UserId,
        page: u32,
        per_page: u32,
    ) -> Result<Page<OrderView>> {
        let orders = self
            .list_orders(OrderQuery {
                user_id: Some(user),
                status: None,
                page,
                per_page,
            })
            .await?;
        let mut sku_ids: Vec<_> = orders
            .items
            .iter()
            .flat_map(|o| o.items.iter().map(|i| i.sku_id))
            .collect();
        sku_ids.sort();
        sku_ids.dedup();
        let mut product_ids: Vec<_> = orders
            .items
            .iter()
            .flat_map(|o| o.items.iter().map(|i| i.product_id))
            .collect();
        product_ids.sort();
        product_ids.dedup();
        let catalog = &self.inner.stores.catalog;
        let skus: HashMap<_, _> = catalog
            .get_skus(&sku_ids)
            .await?
            .into_iter()
            .map(|s| (s.id, s))
            .collect();
        let products: HashMap<_, _> = catalog
            .get_products(&product_ids)
            .await?
            .into_iter()
            .map(|p| (p.id, p))
            .collect();
        let items = orders
            .items
            .into_iter()
            .map(|order| OrderView {
                lines: order
                    .items
                    .iter()
                    .map(|item| OrderLineView {
                        item: item.clone(),
                        sku: skus.get(&item.sku_id).cloned(),
                        product: products.get(&item.product_id).cloned(),
                    })
                    .collect(),
                order,
            })
            .collect();
        Ok(Page::new(items, orders.total))
    }
}
