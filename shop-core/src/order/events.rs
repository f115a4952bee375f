//! The events an order's placement and closing record.

use super::{Order, OrderPatch};
use crate::events::{CloseReason, DomainEvent, EventLine, StockChangeReason};
use crate::ids::{ProductId, SkuId};
use crate::state::OrderAction;

impl Order {
    /// The products on this order, each once, by id.
    pub fn product_ids(&self) -> Vec<ProductId> {
        let mut ids: Vec<ProductId> = self.items.iter().map(|i| i.product_id).collect();
        ids.sort();
        ids.dedup();
        ids
    }

    /// The events of moving this order by `action` with `patch`: paid
    /// (with the patch's payment), shipped (with its shipment), received,
    /// refund applied or refused (with the reason). The other moves record
    /// their events with the write that makes them (placement, closing,
    /// reviews, refunds).
    pub fn transition_events(&self, action: OrderAction, patch: &OrderPatch) -> Vec<DomainEvent> {
        let event = match action {
            OrderAction::Pay => patch.payment.as_ref().map(|p| DomainEvent::OrderPaid {
                order_id: self.id,
                order_no: self.no.clone(),
                user_id: self.user_id,
                product_ids: self.product_ids(),
                total: self.total,
                method: p.method.clone(),
                transaction_no: p.transaction_no.clone(),
            }),
            OrderAction::Ship => patch.shipment.as_ref().map(|s| DomainEvent::OrderShipped {
                order_id: self.id,
                user_id: self.user_id,
                carrier: s.carrier.clone(),
                tracking_no: s.tracking_no.clone(),
            }),
            OrderAction::ConfirmReceipt => Some(DomainEvent::OrderReceived {
                order_id: self.id,
                user_id: self.user_id,
            }),
            OrderAction::ApplyRefund => Some(DomainEvent::RefundApplied {
                order_id: self.id,
                user_id: self.user_id,
                reason: patch.refund_reason.clone().unwrap_or_default(),
            }),
            OrderAction::RefuseRefund => Some(DomainEvent::RefundRefused {
                order_id: self.id,
                user_id: self.user_id,
                reason: patch.refund_refusal.clone().unwrap_or_default(),
            }),
            _ => None,
        };
        event.into_iter().collect()
    }

    /// The events of placing this order: `OrderPlaced`, a `StockChanged` per
    /// SKU (its lines summed) and `CouponUsed` when it used one.
    pub fn placed_events(&self) -> Vec<DomainEvent> {
        let order = self;
        let mut events = vec![DomainEvent::OrderPlaced {
            order_id: order.id,
            order_no: order.no.clone(),
            user_id: order.user_id,
            lines: order
                .items
                .iter()
                .map(|i| EventLine {
                    product_id: i.product_id,
                    sku_id: i.sku_id,
                    quantity: i.quantity,
                    unit_price: i.unit_price,
                })
                .collect(),
            total: order.total,
            coupon_id: order.coupon_id,
            expires_at: order.expires_at,
        }];
        events.extend(stock_changes(order, -1, StockChangeReason::OrderPlaced));
        if let Some(coupon_id) = order.coupon_id {
            events.push(DomainEvent::CouponUsed {
                coupon_id,
                order_id: order.id,
                user_id: order.user_id,
            });
        }
        events
    }

    /// The events of closing this unpaid order: `OrderClosed`, a
    /// `StockChanged` per SKU given back and `CouponReleased` when it held
    /// one.
    pub fn closed_events(&self, reason: CloseReason) -> Vec<DomainEvent> {
        let order = self;
        let mut events = vec![DomainEvent::OrderClosed {
            order_id: order.id,
            user_id: order.user_id,
            reason,
        }];
        events.extend(stock_changes(order, 1, StockChangeReason::OrderClosed));
        if let Some(coupon_id) = order.coupon_id {
            events.push(DomainEvent::CouponReleased {
                coupon_id,
                order_id: order.id,
                user_id: order.user_id,
            });
        }
        events
    }
}

/// One `StockChanged` per SKU of `order`, in the order the SKUs first
/// appear, with `sign` × the units of its lines.
fn stock_changes(order: &Order, sign: i64, reason: StockChangeReason) -> Vec<DomainEvent> {
    let mut changes: Vec<(SkuId, ProductId, i64)> = Vec::new();
    for item in &order.items {
        let units = sign * i64::from(item.quantity);
        match changes.iter_mut().find(|(sku, _, _)| *sku == item.sku_id) {
            Some((_, _, delta)) => *delta += units,
            None => changes.push((item.sku_id, item.product_id, units)),
        }
    }
    changes
        .into_iter()
        .map(|(sku_id, product_id, delta)| DomainEvent::StockChanged {
            sku_id,
            product_id,
            delta,
            reason,
        })
        .collect()
}
