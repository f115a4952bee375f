//! [`OrderStore`] for [`MemoryStore`]: placing, listing, transitions and
//! closing. Reviews and refunds live in `reviews.rs` and `refunds.rs`.

use std::cmp::Reverse;
use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{already_exists, conflict, page_of, MemoryStore, State, SubmitToken};
use crate::error::{Entity, Error, Result};
use crate::events::EventRecord;
use crate::ids::{OrderId, ProductId, RefundId, SkuId, UserId};
use crate::order::{
    first_shortage, Order, OrderPatch, OrderQuery, OrderState, OrderStatus, OrderStore, PlaceOrder,
    ProductReview, ReviewOrder, SubmitTokenStore, SubmittedOrder, TokenClaim,
};
use crate::page::Page;
use crate::refund::{FinishRefund, NewRefund, Refund, RefundRecordStatus, RefundStore};
use crate::seckill::FlashSaleRefusal;

impl State {
    fn place_order(&mut self, cmd: &PlaceOrder) -> Result<Order> {
        let order = &cmd.order;

        // 1. The submit token: the buyer's, unused, unexpired.
        if let Some(token) = &cmd.submit_token {
            let usable = self.submit_tokens.get(&token.token).is_some_and(|t| {
                t.user == order.user_id && t.used.is_none() && t.expires_at > order.created_at
            });
            if !usable {
                return Err(Error::not_found(Entity::SubmitToken, &token.token));
            }
        }

        // 2. Unique keys.
        if self.order_nos.contains_key(&order.no) {
            return Err(already_exists(Entity::Order, &order.no));
        }
        if self.orders.contains_key(&order.id) {
            return Err(already_exists(Entity::Order, order.id));
        }
        for (i, item) in order.items.iter().enumerate() {
            if self.order_item_ids.contains(&item.id)
                || order.items[..i].iter().any(|other| other.id == item.id)
            {
                return Err(already_exists(Entity::OrderItem, item.id));
            }
        }

        // 3. Stock, line by line: `stock >= quantity`.
        let before: HashMap<SkuId, u32> = order
            .items
            .iter()
            .filter_map(|i| self.skus.get(&i.sku_id).map(|s| (i.sku_id, s.stock)))
            .collect();
        if let Some(shortage) = first_shortage(&order.items, &before) {
            return Err(shortage);
        }

        // 4. The coupon, checked again inside the step.
        if let Some(coupon) = order.coupon_id {
            self.recheck_coupon(coupon, order.user_id, order.created_at)?;
        }

        // 5. A flash sale's buyer, once.
        if let Some(sale) = cmd.flash_sale {
            if self.flash_sale_buyers.contains_key(&(sale, order.user_id)) {
                return Err(Error::FlashSale(FlashSaleRefusal::AlreadyBought));
            }
        }

        // 6. A crowdfunding campaign still funding, not over.
        if let Some(campaign) = cmd.crowdfunding {
            let open = self
                .crowdfundings
                .get(&campaign)
                .is_some_and(|c| c.is_open(order.created_at));
            if !open {
                return Err(Error::Crowdfunding(
                    crate::crowdfunding::CrowdfundingRefusal::Closed,
                ));
            }
        }

        // Every check passed: write everything.
        for item in &order.items {
            if let Some(stored) = self.skus.get_mut(&item.sku_id) {
                stored.stock -= item.quantity;
            }
        }
        if let Some(coupon) = order.coupon_id.and_then(|id| self.coupons.get_mut(&id)) {
            coupon.used += 1;
        }
        if let Some(token) = cmd.submit_token.as_ref() {
            if let Some(t) = self.submit_tokens.get_mut(&token.token) {
                t.used = Some(SubmittedOrder {
                    order_id: order.id,
                    request_fingerprint: token.request_fingerprint.clone(),
                });
            }
        }
        if cmd.clear_cart {
            for item in &order.items {
                self.carts.remove(&(order.user_id, item.sku_id));
            }
        }
        if let Some(sale) = cmd.flash_sale {
            self.flash_sale_buyers
                .insert((sale, order.user_id), order.id);
        }
        if let Some(campaign) = cmd.crowdfunding {
            self.crowdfunding_orders.insert((campaign, order.id));
        }
        self.order_item_ids.extend(order.items.iter().map(|i| i.id));
        self.order_nos.insert(order.no.clone(), order.id);
        self.orders.insert(order.id, order.clone());
        Ok(order.clone())
    }

    fn list_orders(&self, query: &OrderQuery) -> Page<Order> {
        let mut found: Vec<&Order> = self
            .orders
            .values()
            .filter(|o| query.user_id.is_none_or(|u| o.user_id == u))
            .filter(|o| query.status.is_none_or(|s| o.state.status == s))
            .collect();
        found.sort_by_key(|o| Reverse((o.created_at, o.id)));
        let total = found.len() as u64;
        Page::new(
            page_of(found, query.page, query.per_page)
                .into_iter()
                .cloned()
                .collect(),
            total,
        )
    }

    pub(super) fn transition(
        &mut self,
        id: OrderId,
        expected: OrderState,
        next: OrderState,
        patch: &OrderPatch,
    ) -> Result<()> {
        let order = self
            .orders
            .get_mut(&id)
            .ok_or_else(|| Error::not_found(Entity::Order, id))?;
        if order.state != expected {
            return Err(conflict(Entity::Order, id));
        }
        order.state = next;
        if let Some(payment) = &patch.payment {
            order.payment = Some(payment.clone());
        }
        if let Some(shipment) = &patch.shipment {
            order.shipment = Some(shipment.clone());
        }
        if let Some(reason) = &patch.refund_reason {
            order.refund_reason = Some(reason.clone());
        }
        if let Some(refusal) = &patch.refund_refusal {
            order.refund_refusal = Some(refusal.clone());
        }
        Ok(())
    }

    fn close_order(&mut self, id: OrderId, at: DateTime<Utc>) -> Result<()> {
        let order = self
            .orders
            .get_mut(&id)
            .ok_or_else(|| Error::not_found(Entity::Order, id))?;
        if order.state != OrderState::PENDING {
            return Err(conflict(Entity::Order, id));
        }
        order.state = OrderState {
            status: OrderStatus::Closed,
            ..OrderState::PENDING
        };
        order.closed_at = Some(at);
        let order = order.clone();
        for item in &order.items {
            if let Some(sku) = self.skus.get_mut(&item.sku_id) {
                sku.stock = sku.stock.saturating_add(item.quantity);
            }
        }
        if let Some(coupon) = order.coupon_id.and_then(|c| self.coupons.get_mut(&c)) {
            coupon.used = coupon.used.saturating_sub(1);
        }
        self.flash_sale_buyers.retain(|_, held_by| *held_by != id);
        Ok(())
    }

    fn list_expired_orders(
        &self,
        now: DateTime<Utc>,
        after: Option<OrderId>,
        limit: u32,
    ) -> Vec<OrderId> {
        let from = after.map_or(i64::MIN, |a| a.0.saturating_add(1));
        self.orders
            .range(OrderId(from)..)
            .map(|(_, o)| o)
            .filter(|o| o.state.status == OrderStatus::Pending && o.expires_at <= now)
            .take(limit as usize)
            .map(|o| o.id)
            .collect()
    }
}

#[async_trait]
impl OrderStore for MemoryStore {
    async fn place_order(&self, cmd: &PlaceOrder, events: &[EventRecord]) -> Result<Order> {
        self.write(events, |s| s.place_order(cmd))
    }

    async fn get_order(&self, id: OrderId) -> Result<Option<Order>> {
        Ok(self.state().orders.get(&id).cloned())
    }

    async fn get_order_by_no(&self, no: &str) -> Result<Option<Order>> {
        let state = self.state();
        Ok(state
            .order_nos
            .get(no)
            .and_then(|id| state.orders.get(id))
            .cloned())
    }

    async fn list_orders(&self, query: &OrderQuery) -> Result<Page<Order>> {
        Ok(self.state().list_orders(query))
    }

    async fn transition(
        &self,
        id: OrderId,
        expected: OrderState,
        next: OrderState,
        patch: &OrderPatch,
        events: &[EventRecord],
    ) -> Result<()> {
        self.write(events, |s| s.transition(id, expected, next, patch))
    }

    async fn close_order(
        &self,
        id: OrderId,
        at: DateTime<Utc>,
        events: &[EventRecord],
    ) -> Result<()> {
        self.write(events, |s| s.close_order(id, at))
    }

    async fn list_expired_orders(
        &self,
        now: DateTime<Utc>,
        after: Option<OrderId>,
        limit: u32,
    ) -> Result<Vec<OrderId>> {
        Ok(self.state().list_expired_orders(now, after, limit))
    }

    async fn review_order(&self, cmd: &ReviewOrder, events: &[EventRecord]) -> Result<()> {
        self.write(events, |s| s.review_order(cmd))
    }

    async fn list_product_reviews(
        &self,
        product: ProductId,
        limit: u32,
    ) -> Result<Vec<ProductReview>> {
        Ok(self.state().list_product_reviews(product, limit))
    }
}

#[async_trait]
impl SubmitTokenStore for MemoryStore {
    async fn issue_submit_token(
        &self,
        user: UserId,
        token: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        let mut state = self.state();
        if state.submit_tokens.contains_key(token) {
            return Err(already_exists(Entity::SubmitToken, token));
        }
        state.submit_tokens.insert(
            token.to_owned(),
            SubmitToken {
                user,
                expires_at,
                used: None,
                claim: None,
            },
        );
        Ok(())
    }

    async fn submitted_order(&self, user: UserId, token: &str) -> Result<Option<SubmittedOrder>> {
        Ok(self
            .state()
            .submit_tokens
            .get(token)
            .filter(|t| t.user == user)
            .and_then(|t| t.used.clone()))
    }

    async fn claim_submit_token(
        &self,
        user: UserId,
        token: &str,
        wanted: &SubmittedOrder,
        now: DateTime<Utc>,
        stale_before: DateTime<Utc>,
    ) -> Result<TokenClaim> {
        let mut state = self.state();
        let Some(t) = state
            .submit_tokens
            .get_mut(token)
            .filter(|t| t.user == user)
        else {
            return Ok(TokenClaim::Unusable);
        };
        if let Some(used) = &t.used {
            return Ok(TokenClaim::Placed(used.clone()));
        }
        if t.expires_at <= now {
            return Ok(TokenClaim::Unusable);
        }
        let (order_id, resumed) = match &t.claim {
            Some((claim, at)) if *at > stale_before => {
                return Ok(TokenClaim::Pending(claim.clone()))
            }
            Some((claim, _)) => (claim.order_id, true),
            None => (wanted.order_id, false),
        };
        t.claim = Some((
            SubmittedOrder {
                order_id,
                request_fingerprint: wanted.request_fingerprint.clone(),
            },
            now,
        ));
        Ok(TokenClaim::Claimed { order_id, resumed })
    }

    async fn finish_submit_token(&self, user: UserId, token: &str, order: OrderId) -> Result<()> {
        if let Some(t) = self.state().submit_tokens.get_mut(token) {
            if t.claimed_for(user, order) {
                t.used = t.claim.take().map(|(claim, _)| claim);
            }
        }
        Ok(())
    }

    async fn release_submit_token(&self, user: UserId, token: &str, order: OrderId) -> Result<()> {
        if let Some(t) = self.state().submit_tokens.get_mut(token) {
            if t.claimed_for(user, order) {
                t.claim = None;
            }
        }
        Ok(())
    }
}

#[async_trait]
impl RefundStore for MemoryStore {
    async fn create_refund(&self, cmd: &NewRefund, events: &[EventRecord]) -> Result<()> {
        self.write(events, |s| s.create_refund(cmd))
    }

    async fn finish_refund(&self, cmd: &FinishRefund, events: &[EventRecord]) -> Result<()> {
        self.write(events, |s| s.finish_refund(cmd))
    }

    async fn get_refund(&self, refund_no: &str) -> Result<Option<Refund>> {
        let state = self.state();
        Ok(state
            .refund_nos
            .get(refund_no)
            .and_then(|id| state.refunds.get(id))
            .cloned())
    }

    async fn list_refunds(&self, order: OrderId) -> Result<Vec<Refund>> {
        Ok(self.state().refunds_of(order))
    }

    async fn list_pending_refunds(
        &self,
        created_before: DateTime<Utc>,
        after: Option<RefundId>,
        limit: u32,
    ) -> Result<Vec<Refund>> {
        // `refunds` is keyed by id, so this walks them in id order.
        Ok(self
            .state()
            .refunds
            .values()
            .filter(|r| after.is_none_or(|after| r.id > after))
            .filter(|r| r.status == RefundRecordStatus::Pending && r.created_at < created_before)
            .take(limit as usize)
            .cloned()
            .collect())
    }
}
