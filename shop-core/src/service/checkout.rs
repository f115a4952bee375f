//! Use cases: submit tokens, placing orders, reading orders, closing
//! expired orders.

use rand::RngExt;
use serde::{Deserialize, Serialize};

use super::{Shop, StopSignal};
use crate::cart::validate_quantity;
use crate::catalog::{common_currency, ProductKind};
use crate::error::{Entity, Error, Result, StoreError};
use crate::events::CloseReason;
use crate::ids::{AddressId, CrowdfundingId, FlashSaleId, OrderId, OrderItemId, SkuId, UserId};
use crate::order::{
    order_totals, payment_window, Order, OrderItem, OrderQuery, OrderState, PlaceOrder,
    SubmitTokenUse, SubmittedOrder, TokenClaim,
};
use crate::page::Page;
use crate::text::{check_key, check_multiline};

/// Most lines one order may have.
pub const MAX_ORDER_LINES: usize = 100;
/// Longest buyer's remark, in characters.
pub const MAX_REMARK_CHARS: usize = 500;
/// How many times placing an order retries after an order-number collision.
const ORDER_NO_ATTEMPTS: usize = 3;

/// One line of an order request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLineRequest {
    /// The SKU.
    pub sku_id: SkuId,
    /// Units, as typed (validated to 1..=999).
    pub quantity: i64,
}

/// What a buyer submits at checkout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlaceOrderRequest {
    /// One of the buyer's addresses.
    pub address_id: AddressId,
    /// The lines; a SKU listed twice is one line with the units added up
    /// ([`merge_lines`]).
    pub items: Vec<OrderLineRequest>,
    /// A coupon code, if any.
    pub coupon_code: Option<String>,
    /// A note for the shop.
    pub remark: String,
    /// The token issued with the checkout page (see
    /// [`Shop::issue_submit_token`]); a replayed token places nothing.
    pub submit_token: Option<String>,
}

/// The lines rule of an order request: 1 to [`MAX_ORDER_LINES`] lines of 1
/// to [`MAX_LINE_QUANTITY`](crate::cart::MAX_LINE_QUANTITY) units each
/// (`Validation`); a SKU listed more than once becomes one line with the
/// units added up, in the order of first mention, and a line of more than
/// the maximum units is `Refused { field: "items" }`.
pub fn merge_lines(items: &[OrderLineRequest]) -> Result<Vec<OrderLineRequest>> {
    if items.is_empty() {
        return Err(Error::validation(
            "items",
            "an order needs at least one line",
        ));
    }
    if items.len() > MAX_ORDER_LINES {
        return Err(Error::validation(
            "items",
            format!("at most {MAX_ORDER_LINES} lines"),
        ));
    }
    let mut merged: Vec<OrderLineRequest> = Vec::with_capacity(items.len());
    for line in items {
        let quantity = validate_quantity(line.quantity)?;
        match merged.iter_mut().find(|m| m.sku_id == line.sku_id) {
            Some(m) => m.quantity += i64::from(quantity),
            None => merged.push(OrderLineRequest {
                sku_id: line.sku_id,
                quantity: i64::from(quantity),
            }),
        }
    }
    let max = i64::from(crate::cart::MAX_LINE_QUANTITY);
    if let Some(line) = merged.iter().find(|l| l.quantity > max) {
        return Err(Error::refused(
            "items",
            format!(
                "sku {} is asked {} times; a line holds at most {max} units",
                line.sku_id, line.quantity
            ),
        ));
    }
    Ok(merged)
}

impl PlaceOrderRequest {
    /// What identifies the request for its submit token: the address, the
    /// lines (in any order), the coupon code (trimmed) and the remark,
    /// hashed (64-bit FNV-1a, hex). Two submissions with one token and the
    /// same fingerprint are one request sent twice. Not a security measure:
    /// tokens are per buyer, so only the buyer could craft a collision.
    pub fn fingerprint(&self) -> String {
        let mut lines: Vec<(SkuId, i64)> =
            self.items.iter().map(|l| (l.sku_id, l.quantity)).collect();
        lines.sort_unstable();
        let mut canonical = format!("v1|{}|", self.address_id);
        for (sku, quantity) in lines {
            canonical.push_str(&format!("{sku}x{quantity},"));
        }
        let coupon = self.coupon_code.as_deref().map(str::trim).unwrap_or("");
        canonical.push_str(&format!("|{}:{coupon}|{}", coupon.len(), self.remark));
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in canonical.bytes() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        format!("{hash:016x}")
    }
}

impl Shop {
    /// Issues a one-time token for `user`'s checkout form. Submitting an
    /// order with it consumes it atomically, so a resubmitted or replayed
    /// form creates no second order. A submission that fails (e.g. out of
    /// stock) leaves the token usable.
    pub async fn issue_submit_token(&self, user: UserId) -> Result<String> {
        let mut bytes = [0u8; 16];
        rand::rng().fill(&mut bytes[..]);
        let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let expires_at = self.now() + self.inner.config.submit_token_ttl;
        self.inner
            .stores
            .submit_tokens()
            .issue_submit_token(user, &token, expires_at)
            .await?;
        Ok(token)
    }

    /// Places an order from the cart page: validates the request, snapshots
    /// the address and the prices, applies the coupon, then writes
    /// everything in one atomic step that decrements stock only where it
    /// suffices, re-checks the coupon, consumes the submit token and removes
    /// the bought SKUs from the cart.
    ///
    /// The submit token is an idempotency key, as in Stripe's API: a
    /// submission that comes back with a token that already placed an order
    /// (the client lost the answer and retried, or sent twice at once) gets
    /// that order back when it is the same request
    /// ([`PlaceOrderRequest::fingerprint`]), and
    /// [`Error::SubmitTokenReused`] when it is another. Concurrent
    /// submissions with one token place one order and all get it — or,
    /// with the tokens kept apart from the orders
    /// ([`Stores::with_submit_tokens`](super::Stores::with_submit_tokens)),
    /// those arriving while it is being written get
    /// [`Error::SubmitTokenInUse`] and the order when they send again.
    pub async fn place_order(&self, user: UserId, mut req: PlaceOrderRequest) -> Result<Order> {
        req.items = merge_lines(&req.items)?;
        let Some(token) = req.submit_token.clone() else {
            return self.place_new_order(user, req, None, None).await;
        };
        check_key("submit_token", &token)?;
        let fingerprint = req.fingerprint();
        if !self.inner.stores.submit_tokens_consumed_by_placement() {
            return self
                .place_with_claimed_token(user, req, token, fingerprint)
                .await;
        }
        if let Some(order) = self
            .order_submitted_with(user, &token, &fingerprint)
            .await?
        {
            return Ok(order);
        }
        let token_use = SubmitTokenUse::new(token.clone(), fingerprint.clone());
        match self.place_new_order(user, req, Some(token_use), None).await {
            Ok(order) => Ok(order),
            // Whatever refused this submission (the token is used, the stock
            // went), a concurrent submission with the same token may have
            // placed the order meanwhile: that is the answer.
            Err(e) => match self
                .order_submitted_with(user, &token, &fingerprint)
                .await?
            {
                Some(order) => Ok(order),
                None => Err(e),
            },
        }
    }

    /// `place_order` with the submit token in another store than the orders
    /// ([`Stores::with_submit_tokens`](super::Stores::with_submit_tokens)):
    /// claim, place, finish (or release on a refusal).
    async fn place_with_claimed_token(
        &self,
        user: UserId,
        req: PlaceOrderRequest,
        token: String,
        fingerprint: String,
    ) -> Result<Order> {
        let tokens = self.inner.stores.submit_tokens().clone();
        let now = self.now();
        let wanted = SubmittedOrder {
            order_id: OrderId(self.next_id()),
            request_fingerprint: fingerprint.clone(),
        };
        let lease = self.inner.config.submit_claim_lease;
        let claim = match tokens
            .claim_submit_token(user, &token, &wanted, now, now - lease)
            .await?
        {
            TokenClaim::Unusable => return Err(Error::not_found(Entity::SubmitToken, &token)),
            TokenClaim::Placed(placed) => return self.submitted(placed, &fingerprint).await,
            TokenClaim::Pending(pending) => {
                return Err(Error::SubmitTokenInUse {
                    order: pending.order_id,
                })
            }
            TokenClaim::Claimed { order_id, resumed } => (order_id, resumed),
        };
        let (order_id, resumed) = claim;
        let existing = if resumed {
            self.inner.stores.orders.get_order(order_id).await?
        } else {
            None
        };
        let order = match existing {
            Some(order) => order,
            None => match self.place_new_order(user, req, None, Some(order_id)).await {
                Ok(order) => order,
                Err(e) => {
                    // The dead holder's placement may have landed meanwhile
                    // (the id is then taken): that order is the answer.
                    match self.inner.stores.orders.get_order(order_id).await {
                        Ok(Some(order)) => order,
                        _ => {
                            let _ = tokens.release_submit_token(user, &token, order_id).await;
                            return Err(e);
                        }
                    }
                }
            },
        };
        // Placed: a failure to mark the token leaves its claim, which a
        // retry takes over after the lease and finds this order.
        let _ = tokens.finish_submit_token(user, &token, order.id).await;
        Ok(order)
    }

    /// The order a consumed token placed, when it placed it for a request
    /// with `fingerprint`; `SubmitTokenReused` if for another.
    async fn submitted(&self, placed: SubmittedOrder, fingerprint: &str) -> Result<Order> {
        if placed.request_fingerprint == fingerprint {
            self.any_order(placed.order_id).await
        } else {
            Err(Error::SubmitTokenReused {
                order: placed.order_id,
            })
        }
    }

    /// The order `token` placed for `user`, if it placed one for a request
    /// with this fingerprint; `SubmitTokenReused` if for another.
    async fn order_submitted_with(
        &self,
        user: UserId,
        token: &str,
        fingerprint: &str,
    ) -> Result<Option<Order>> {
        let submitted = self
            .inner
            .stores
            .submit_tokens()
            .submitted_order(user, token)
            .await?;
        match submitted {
            None => Ok(None),
            Some(s) => self.submitted(s, fingerprint).await.map(Some),
        }
    }

    async fn place_new_order(
        &self,
        user: UserId,
        req: PlaceOrderRequest,
        submit_token: Option<SubmitTokenUse>,
        order_id: Option<OrderId>,
    ) -> Result<Order> {
        check_multiline("remark", &req.remark, MAX_REMARK_CHARS)?;
        // `place_order` merged the lines: each SKU once, 1..=999 units.
        let lines: Vec<(SkuId, u32)> = req
            .items
            .iter()
            .map(|l| Ok((l.sku_id, validate_quantity(l.quantity)?)))
            .collect::<Result<_>>()?;
        let address = self.address(user, req.address_id).await?;

        let sku_ids: Vec<SkuId> = lines.iter().map(|(s, _)| *s).collect();
        let skus = self.inner.stores.catalog.get_skus(&sku_ids).await?;
        let mut product_ids: Vec<_> = skus.iter().map(|s| s.product_id).collect();
        product_ids.sort();
        product_ids.dedup();
        let products = self.inner.stores.catalog.get_products(&product_ids).await?;
        let currency = common_currency(&skus)?.unwrap_or(self.inner.config.currency);

        let now = self.now();
        let mut items = Vec::with_capacity(lines.len());
        for (sku_id, quantity) in &lines {
            let sku = skus
                .iter()
                .find(|s| s.id == *sku_id)
                .ok_or_else(|| Error::not_found(Entity::Sku, sku_id))?;
            let product = products
                .iter()
                .find(|p| p.id == sku.product_id)
                .ok_or_else(|| Error::not_found(Entity::Product, sku.product_id))?;
            product.check_sellable("items")?;
            sku.check_stock(*quantity)?;
            items.push(OrderItem {
                id: OrderItemId(self.next_id()),
                product_id: product.id,
                sku_id: sku.id,
                quantity: *quantity,
                unit_price: sku.price,
                review: None,
            });
        }

        let priced: Vec<_> = items.iter().map(|i| (i.unit_price, i.quantity)).collect();
        let (items_total, _) = order_totals(currency, &priced, None)?;
        let coupon = match req.coupon_code.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(code) => Some(self.check_coupon(user, code, items_total).await?.0),
        };
        let (items_total, total) = order_totals(currency, &priced, coupon.as_ref())?;

        let order = Order {
            id: order_id.unwrap_or_else(|| OrderId(self.next_id())),
            no: String::new(),
            user_id: user,
            kind: ProductKind::Normal,
            address: address.snapshot(),
            items,
            items_total,
            total,
            coupon_id: coupon.map(|c| c.id),
            remark: req.remark,
            state: OrderState::PENDING,
            payment: None,
            shipment: None,
            refund_reason: None,
            refund_refusal: None,
            created_at: now,
            expires_at: now + payment_window(ProductKind::Normal),
            closed_at: None,
        };
        let carts_inside = self.inner.stores.carts_cleared_by_placement();
        let placed = self
            .place_with_fresh_no(order, submit_token, carts_inside, None, None)
            .await?;
        if !carts_inside {
            // Carts live in another backend: the order is placed, so a
            // failure to tidy the cart must not report it as failed (the
            // buyer sees the lines and can remove them).
            let bought: Vec<_> = placed.items.iter().map(|l| l.sku_id).collect();
            let _ = self
                .inner
                .stores
                .carts()
                .remove_from_cart(user, &bought)
                .await;
        }
        // Cosmetic ordering of the address list: a failure here must not
        // report the placed order as failed.
        let mut used = address;
        used.last_used_at = Some(now);
        let _ = self.inner.stores.users.update_address(&used).await;
        Ok(placed)
    }

    /// Places `order` (numbered here, with another number when the one
    /// drawn is taken) with its `OrderPlaced` events.
    pub(super) async fn place_with_fresh_no(
        &self,
        mut order: Order,
        submit_token: Option<SubmitTokenUse>,
        clear_cart: bool,
        flash_sale: Option<FlashSaleId>,
        crowdfunding: Option<CrowdfundingId>,
    ) -> Result<Order> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            order.no = self.inner.order_nos.next(order.created_at);
            let cmd = PlaceOrder {
                order: order.clone(),
                submit_token: submit_token.clone(),
                clear_cart,
                flash_sale,
                crowdfunding,
            };
            let events = self.records(order.placed_events());
            match self.inner.stores.orders.place_order(&cmd, &events).await {
                Err(Error::Store(StoreError::AlreadyExists {
                    entity: Entity::Order,
                    ..
                })) if attempt < ORDER_NO_ATTEMPTS => continue,
                placed => return placed,
            }
        }
    }

    /// Loads one of `user`'s orders (`Forbidden` for somebody else's).
    pub async fn order(&self, user: UserId, id: OrderId) -> Result<Order> {
        let order = self.any_order(id).await?;
        order.ensure_owner(user)?;
        Ok(order)
    }

    /// Loads one of `user`'s orders by its number (`Forbidden` for somebody
    /// else's; `Validation` when `no` is not a key).
    pub async fn order_by_no(&self, user: UserId, no: &str) -> Result<Order> {
        crate::text::check_key("order_no", no)?;
        let order = self
            .inner
            .stores
            .orders
            .get_order_by_no(no)
            .await?
            .ok_or_else(|| Error::not_found(Entity::Order, no))?;
        order.ensure_owner(user)?;
        Ok(order)
    }

    /// Loads any order (for administrators).
    pub async fn any_order(&self, id: OrderId) -> Result<Order> {
        self.inner
            .stores
            .orders
            .get_order(id)
            .await?
            .ok_or_else(|| Error::not_found(Entity::Order, id))
    }

    /// `user`'s orders, newest first.
    pub async fn orders(&self, user: UserId, page: u32, per_page: u32) -> Result<Page<Order>> {
        self.list_orders(OrderQuery {
            user_id: Some(user),
            status: None,
            page,
            per_page,
        })
        .await
    }

    /// Any orders (for administrators), newest first.
    pub async fn list_orders(&self, query: OrderQuery) -> Result<Page<Order>> {
        crate::page::check_page(query.page, query.per_page)?;
        self.inner.stores.orders.list_orders(&query).await
    }

    /// Closes every unpaid order whose payment window has passed, in chunks
    /// of `ShopConfig::close_batch_size` by id (constant memory at any table
    /// size). Each close is a compare-and-set that gives back stock and the
    /// coupon exactly once, so several workers may run this at once and a
    /// payment racing the close either wins (the order stays paid) or loses
    /// (its notification is refused). Records `OrderClosed` (with the stock
    /// and coupon given back) for each order this call closed and returns
    /// how many that was.
    pub async fn close_expired_orders(&self) -> Result<u64> {
        self.close_expired_orders_until(&StopSignal::new()).await
    }

    /// [`Shop::close_expired_orders`], stopping at the first chunk boundary
    /// after `stop` is raised (what is not closed yet waits for the next
    /// run).
    pub async fn close_expired_orders_until(&self, stop: &StopSignal) -> Result<u64> {
        let now = self.now();
        let mut after = None;
        let mut closed = 0;
        while !stop.is_raised() {
            let ids = self
                .inner
                .stores
                .orders
                .list_expired_orders(now, after, self.inner.config.close_batch_size)
                .await?;
            let Some(last) = ids.last() else {
                break;
            };
            after = Some(*last);
            for id in ids {
                let Some(order) = self.inner.stores.orders.get_order(id).await? else {
                    continue;
                };
                if self.close_now(&order, CloseReason::Timeout, now).await? {
                    closed += 1;
                }
            }
        }
        Ok(closed)
    }

    /// Closes the pending `order` at `now` for `reason` (stock, coupon and
    /// a flash-sale unit given back exactly once); `false` when another
    /// worker or a payment got there first. A flash-sale unit also goes
    /// back to the [`SeckillStock`](crate::seckill::SeckillStock) (if that
    /// fails, the reconciliation job gives it back).
    pub(super) async fn close_now(
        &self,
        order: &Order,
        reason: CloseReason,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool> {
        let events = self.records(order.closed_events(reason));
        match self
            .inner
            .stores
            .orders
            .close_order(order.id, now, &events)
            .await
        {
            Ok(()) => {}
            Err(Error::Store(StoreError::Conflict { .. })) => return Ok(false),
            Err(e) => return Err(e),
        }
        if order.kind == ProductKind::Seckill {
            self.give_back_flash_sale_unit(order).await;
        }
        Ok(true)
    }

    /// Runs the delay queue's due jobs (closing unpaid orders at their
    /// deadline), each claimed with a one-minute lease: a job whose worker
    /// dies is run again after it. Returns how many jobs ran; a job that
    /// failed stays for the next run. Nothing without a queue.
    pub async fn run_delayed_jobs(&self) -> Result<u64> {
        let Some(queue) = &self.inner.delay else {
            return Ok(0);
        };
        let mut done = 0;
        loop {
            let now = self.now();
            let jobs = queue
                .claim_due(now, chrono::Duration::minutes(1), 100)
                .await?;
            if jobs.is_empty() {
                return Ok(done);
            }
            for job in jobs {
                if let Some(id) = crate::delay::closed_by(&job) {
                    match self.inner.stores.orders.get_order(id).await? {
                        Some(order)
                            if order.state.status == crate::order::OrderStatus::Pending
                                && order.expires_at <= now =>
                        {
                            self.close_now(&order, CloseReason::Timeout, now).await?;
                        }
                        // Paid, closed, gone, or its deadline moved.
                        _ => {}
                    }
                }
                queue.complete(&job.id).await?;
                done += 1;
            }
        }
    }
}
