//! The shop's side of the outbox: dispatching, pruning, its own listeners
//! (product counters, notifications) and its jobs.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::Duration;

use super::{Shop, Stores};
use crate::cache::{product_key, ReadCache};
use crate::delay::{close_order_job, DelayQueue};
use crate::error::Result;
use crate::events::{DomainEvent, EventEnvelope, EventListener};
use crate::ids::{CrowdfundingId, OrderId, ProductId, UserId};
use crate::jobs::{Job, JobContext, JobRun, JobRunner, JobScope, Schedule};
use crate::money::Money;
use crate::notify::{Message, MessageLine, Notification, Notifier};
use crate::order::Order;
use crate::outbox::{DispatchReport, OutboxStatus};

/// The name of the listener that keeps products' sold count, rating and
/// review count.
pub const PRODUCT_STATS_LISTENER: &str = "shop.product_stats";
/// The name of the listener that sends notifications.
pub const NOTIFICATIONS_LISTENER: &str = "shop.notifications";
/// The name of the listener that schedules each placed order's close in
/// the delay queue.
pub const DELAYED_CLOSES_LISTENER: &str = "shop.delayed_closes";

/// The name of the listener that invalidates cached product pages.
pub const CACHE_INVALIDATION_LISTENER: &str = "shop.cache_invalidation";

/// Drops a product's cached page after each event about it (idempotent).
pub(super) struct CacheInvalidation {
    pub(super) cache: Arc<dyn ReadCache>,
}

#[async_trait]
impl EventListener for CacheInvalidation {
    fn name(&self) -> &str {
        CACHE_INVALIDATION_LISTENER
    }

    // It starts at the oldest event kept (the default): an edit made
    // before the first dispatch is invalidated too (invalidating twice is
    // harmless).
    async fn on_event(&self, envelope: &EventEnvelope) -> Result<()> {
        let products: Vec<ProductId> = match &envelope.event {
            DomainEvent::ProductCreated { product_id }
            | DomainEvent::ProductChanged { product_id }
            | DomainEvent::ProductTakenOffSale { product_id }
            | DomainEvent::StockChanged { product_id, .. }
            | DomainEvent::CrowdfundingFinished { product_id, .. } => vec![*product_id],
            DomainEvent::OrderPaid { product_ids, .. }
            | DomainEvent::ReviewCreated { product_ids, .. } => product_ids.clone(),
            _ => Vec::new(),
        };
        for product in products {
            self.cache.invalidate(&product_key(product)).await?;
        }
        Ok(())
    }
}

/// Schedules each placed order's close at its deadline in the delay queue
/// (scheduling twice replaces the job, so a redelivery is harmless).
pub(super) struct DelayedCloses {
    pub(super) queue: Arc<dyn DelayQueue>,
}

#[async_trait]
impl EventListener for DelayedCloses {
    fn name(&self) -> &str {
        DELAYED_CLOSES_LISTENER
    }

    // It starts at the oldest event kept: orders placed before the queue
    // was configured get their close scheduled too (an order no longer
    // pending is left alone when its job runs).
    async fn on_event(&self, envelope: &EventEnvelope) -> Result<()> {
        if let DomainEvent::OrderPlaced {
            order_id,
            expires_at,
            ..
        } = &envelope.event
        {
            let (id, payload) = close_order_job(*order_id);
            self.queue.schedule(&id, &payload, *expires_at).await?;
        }
        Ok(())
    }
}

/// Keeps each product's counters, and a crowdfunding product's campaign
/// total and buyers: recomputes them from the stores when an order is
/// paid or reviewed (idempotent, so a redelivery is harmless).
pub(super) struct ProductStats {
    pub(super) stores: Stores,
}

#[async_trait]
impl EventListener for ProductStats {
    fn name(&self) -> &str {
        PRODUCT_STATS_LISTENER
    }

    async fn on_event(&self, envelope: &EventEnvelope) -> Result<()> {
        let (products, paid) = match &envelope.event {
            DomainEvent::OrderPaid { product_ids, .. } => (product_ids.as_slice(), true),
            DomainEvent::ReviewCreated { product_ids, .. } => (product_ids.as_slice(), false),
            _ => (&[][..], false),
        };
        for product in products {
            self.stores.catalog.refresh_product_stats(*product).await?;
            if paid {
                let campaign = self
                    .stores
                    .crowdfundings
                    .crowdfunding_of_product(*product)
                    .await?;
                if let Some(campaign) = campaign {
                    self.stores
                        .crowdfundings
                        .refresh_crowdfunding(campaign.id)
                        .await?;
                }
            }
        }
        Ok(())
    }
}

/// Turns events into [`Notification`]s for the buyer or account holder,
/// in their locale, and hands them to the [`Notifier`]: the verification
/// and password reset e-mails, order paid, order shipped, the refund
/// results, a decided crowdfunding campaign (to each paid order's buyer)
/// and an installment period gone overdue. An event whose account does not exist (an application that
/// keeps its users elsewhere) sends nothing.
pub(super) struct Notifications {
    pub(super) stores: Stores,
    pub(super) notifier: Arc<dyn Notifier>,
}

impl Notifications {
    async fn order(&self, id: OrderId) -> Result<Option<Order>> {
        self.stores.orders.get_order(id).await
    }

    async fn send(&self, seq: i64, user: UserId, message: Message) -> Result<()> {
        let key = format!("shop-event-{seq}-{}", message.kind());
        self.send_keyed(key, user, message).await
    }

    /// Tells every buyer of a decided campaign's paid orders, one message
    /// per order (keyed by event and order, so a redelivery resends under
    /// the same keys).
    async fn crowdfunding_finished(
        &self,
        seq: i64,
        campaign: CrowdfundingId,
        product: ProductId,
        succeeded: bool,
        (total, target): (Money, Money),
    ) -> Result<()> {
        let product_title = self
            .stores
            .catalog
            .get_product(product)
            .await?
            .map(|p| p.title)
            .unwrap_or_default();
        let mut after = None;
        loop {
            let orders = self
                .stores
                .crowdfundings
                .list_crowdfunding_orders(campaign, after, 100)
                .await?;
            let Some(last) = orders.last() else {
                return Ok(());
            };
            after = Some(last.id);
            for order in orders.into_iter().filter(|o| o.payment.is_some()) {
                let message = if succeeded {
                    Message::CrowdfundingSucceeded {
                        order_no: order.no,
                        product_title: product_title.clone(),
                    }
                } else {
                    Message::CrowdfundingFailed {
                        order_no: order.no,
                        product_title: product_title.clone(),
                        total,
                        target,
                    }
                };
                let key = format!("shop-event-{seq}-{}-{}", message.kind(), order.id);
                self.send_keyed(key, order.user_id, message).await?;
            }
        }
    }

    pub(super) async fn send_keyed(
        &self,
        key: String,
        user: UserId,
        message: Message,
    ) -> Result<()> {
        let Some(account) = self.stores.accounts.get_account(user).await? else {
            return Ok(());
        };
        self.notifier
            .send(&Notification {
                key,
                to: account.email,
                name: account.name,
                locale: account.locale,
                message,
            })
            .await
    }

    async fn lines(&self, order: &Order) -> Result<Vec<MessageLine>> {
        let sku_ids: Vec<_> = order.items.iter().map(|i| i.sku_id).collect();
        let skus = self.stores.catalog.get_skus(&sku_ids).await?;
        let products = self
            .stores
            .catalog
            .get_products(&order.product_ids())
            .await?;
        Ok(order
            .items
            .iter()
            .map(|i| MessageLine {
                title: products
                    .iter()
                    .find(|p| p.id == i.product_id)
                    .map(|p| p.title.clone())
                    .unwrap_or_default(),
                sku_title: skus
                    .iter()
                    .find(|s| s.id == i.sku_id)
                    .map(|s| s.title.clone())
                    .unwrap_or_default(),
                quantity: i.quantity,
                price: i.unit_price,
            })
            .collect())
    }
}

#[async_trait]
impl EventListener for Notifications {
    fn name(&self) -> &str {
        NOTIFICATIONS_LISTENER
    }

    async fn on_event(&self, envelope: &EventEnvelope) -> Result<()> {
        let seq = envelope.seq;
        match &envelope.event {
            DomainEvent::EmailVerificationRequested {
                user_id,
                token,
                valid_minutes,
            } => {
                let message = Message::VerifyEmail {
                    token: token.clone(),
                    valid_minutes: *valid_minutes,
                };
                self.send(seq, *user_id, message).await
            }
            DomainEvent::PasswordResetRequested {
                user_id,
                token,
                valid_minutes,
            } => {
                let message = Message::ResetPassword {
                    token: token.clone(),
                    valid_minutes: *valid_minutes,
                };
                self.send(seq, *user_id, message).await
            }
            DomainEvent::OrderPaid {
                order_id,
                user_id,
                total,
                ..
            } => {
                let Some(order) = self.order(*order_id).await? else {
                    return Ok(());
                };
                let message = Message::OrderPaid {
                    order_no: order.no.clone(),
                    total: *total,
                    paid_at: order
                        .payment
                        .as_ref()
                        .map_or(envelope.occurred_at, |p| p.paid_at),
                    lines: self.lines(&order).await?,
                };
                self.send(seq, *user_id, message).await
            }
            DomainEvent::OrderShipped {
                order_id,
                user_id,
                carrier,
                tracking_no,
            } => {
                let Some(order) = self.order(*order_id).await? else {
                    return Ok(());
                };
                let message = Message::OrderShipped {
                    order_no: order.no,
                    carrier: carrier.clone(),
                    tracking_no: tracking_no.clone(),
                };
                self.send(seq, *user_id, message).await
            }
            DomainEvent::RefundSucceeded {
                order_id,
                refund_no,
                amount,
            }
            | DomainEvent::RefundFailed {
                order_id,
                refund_no,
                amount,
            } => {
                let Some(order) = self.order(*order_id).await? else {
                    return Ok(());
                };
                let (order_no, refund_no, amount) = (order.no, refund_no.clone(), *amount);
                let message = if matches!(envelope.event, DomainEvent::RefundSucceeded { .. }) {
                    Message::RefundSucceeded {
                        order_no,
                        refund_no,
                        amount,
                    }
                } else {
                    Message::RefundFailed {
                        order_no,
                        refund_no,
                        amount,
                    }
                };
                self.send(seq, order.user_id, message).await
            }
            DomainEvent::InstallmentOverdue {
                order_no,
                user_id,
                index,
                count,
                fine,
                amount,
                due_at,
                ..
            } => {
                let message = Message::InstallmentOverdue {
                    order_no: order_no.clone(),
                    index: *index,
                    count: *count,
                    amount: *amount,
                    fine: *fine,
                    due_at: *due_at,
                };
                self.send(seq, *user_id, message).await
            }
            DomainEvent::CrowdfundingFinished {
                crowdfunding_id,
                product_id,
                succeeded,
                total,
                target,
            } => {
                self.crowdfunding_finished(
                    seq,
                    *crowdfunding_id,
                    *product_id,
                    *succeeded,
                    (*total, *target),
                )
                .await
            }
            DomainEvent::RefundRefused {
                order_id,
                user_id,
                reason,
            } => {
                let Some(order) = self.order(*order_id).await? else {
                    return Ok(());
                };
                let message = Message::RefundRefused {
                    order_no: order.no,
                    reason: reason.clone(),
                };
                self.send(seq, *user_id, message).await
            }
            _ => Ok(()),
        }
    }
}

/// Events pruned per statement.
const PRUNE_CHUNK: u32 = 1000;

impl Shop {
    /// Delivers the outbox's events to the shop's listeners (its own
    /// product counters and notifications, then those given to
    /// [`ShopBuilder::listener`](super::ShopBuilder::listener)): every
    /// listener that is due gets what it has not handled yet. Safe to call
    /// from several tasks and nodes at once; the job runner calls it every
    /// [`ShopConfig::dispatch_every`](super::ShopConfig::dispatch_every).
    pub async fn dispatch_events(&self) -> Result<DispatchReport> {
        self.inner.dispatcher.dispatch().await
    }

    /// The outbox's newest event and every listener's progress.
    pub async fn outbox_status(&self) -> Result<OutboxStatus> {
        self.inner.stores.outbox.outbox_status().await
    }

    /// Deletes, in chunks, the events every listener has handled that are
    /// older than [`ShopConfig::event_retention`](super::ShopConfig::event_retention);
    /// how many. `keep_alive` runs between chunks (a job renews its lease
    /// there; a failure stops the pruning).
    pub async fn prune_events(&self) -> Result<u64> {
        self.prune_events_with(|| async { Ok(()) }).await
    }

    async fn prune_events_with<F, Fut>(&self, keep_alive: F) -> Result<u64>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<()>>,
    {
        let before = self.now() - self.inner.config.event_retention;
        let mut pruned = 0;
        loop {
            let n = self
                .inner
                .stores
                .outbox
                .prune_events(before, PRUNE_CHUNK)
                .await?;
            pruned += n;
            if n < u64::from(PRUNE_CHUNK) {
                return Ok(pruned);
            }
            keep_alive().await?;
        }
    }

    /// Every job's latest run (start, end, outcome, what it did), by name.
    pub async fn job_runs(&self) -> Result<Vec<JobRun>> {
        self.inner.stores.jobs.job_runs().await
    }

    /// The shop's jobs, on the schedules of its [`ShopConfig`](super::ShopConfig):
    /// dispatch the outbox (on every node), close expired orders, re-send
    /// refunds a gateway missed, purge expired sessions, prune delivered
    /// events (daily), decide ended crowdfunding campaigns and refund
    /// failed ones (every minute), recompute overdue installment fines and
    /// remind buyers of installments falling due (daily), with a flash-sale stock reconcile it with the
    /// database (every minute), and with a delay queue run its due jobs
    /// (every second, on each node; the polling close then runs every ten
    /// minutes).
    pub fn jobs(&self) -> Vec<Arc<dyn Job>> {
        let mut kinds = vec![
            ShopJobKind::DispatchEvents,
            ShopJobKind::CloseExpiredOrders,
            ShopJobKind::RetryPendingRefunds,
            ShopJobKind::PurgeExpiredSessions,
            ShopJobKind::PruneEvents,
            ShopJobKind::FinishCrowdfundings,
            ShopJobKind::InstallmentFines,
            ShopJobKind::InstallmentReminders,
        ];
        if self.inner.seckill.is_some() {
            kinds.push(ShopJobKind::ReconcileFlashSales);
        }
        if self.inner.delay.is_some() {
            kinds.push(ShopJobKind::RunDelayedJobs);
        }
        kinds
            .into_iter()
            .map(|kind| {
                Arc::new(ShopJob {
                    shop: self.clone(),
                    kind,
                }) as Arc<dyn Job>
            })
            .collect()
    }

    /// A job runner for node `node` with the shop's [jobs](Shop::jobs), on
    /// the shop's clock and job store. Add the application's own jobs with
    /// [`JobRunner::job`].
    pub fn job_runner(&self, node: impl Into<String>) -> JobRunner {
        JobRunner::new(
            self.inner.stores.jobs.clone(),
            self.inner.clock.clone(),
            node,
        )
        .jobs(self.jobs())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ShopJobKind {
    DispatchEvents,
    CloseExpiredOrders,
    RetryPendingRefunds,
    PurgeExpiredSessions,
    PruneEvents,
    ReconcileFlashSales,
    RunDelayedJobs,
    FinishCrowdfundings,
    InstallmentFines,
    InstallmentReminders,
}

/// One of the shop's own jobs.
struct ShopJob {
    shop: Shop,
    kind: ShopJobKind,
}

#[async_trait]
impl Job for ShopJob {
    fn name(&self) -> &str {
        match self.kind {
            ShopJobKind::DispatchEvents => "dispatch_events",
            ShopJobKind::CloseExpiredOrders => "close_expired_orders",
            ShopJobKind::RetryPendingRefunds => "retry_pending_refunds",
            ShopJobKind::PurgeExpiredSessions => "purge_expired_sessions",
            ShopJobKind::PruneEvents => "prune_events",
            ShopJobKind::ReconcileFlashSales => "reconcile_flash_sales",
            ShopJobKind::RunDelayedJobs => "run_delayed_jobs",
            ShopJobKind::FinishCrowdfundings => "finish_crowdfundings",
            ShopJobKind::InstallmentFines => "installment_fines",
            ShopJobKind::InstallmentReminders => "installment_reminders",
        }
    }

    fn schedule(&self) -> Schedule {
        let c = &self.shop.inner.config;
        match self.kind {
            ShopJobKind::DispatchEvents => Schedule::Every(c.dispatch_every),
            // With a delay queue, orders close at their deadline through it;
            // polling only catches what it missed.
            ShopJobKind::CloseExpiredOrders if self.shop.inner.delay.is_some() => {
                Schedule::every_minutes(10)
            }
            ShopJobKind::CloseExpiredOrders => Schedule::every_minutes(1),
            ShopJobKind::RetryPendingRefunds => Schedule::every_minutes(5),
            ShopJobKind::PurgeExpiredSessions => Schedule::every_minutes(60),
            ShopJobKind::PruneEvents => Schedule::DailyAt(c.daily_jobs_at, c.time_zone),
            ShopJobKind::ReconcileFlashSales => Schedule::every_minutes(1),
            ShopJobKind::RunDelayedJobs => Schedule::Every(c.dispatch_every),
            ShopJobKind::FinishCrowdfundings => Schedule::every_minutes(1),
            ShopJobKind::InstallmentFines | ShopJobKind::InstallmentReminders => {
                Schedule::DailyAt(c.daily_jobs_at, c.time_zone)
            }
        }
    }

    fn scope(&self) -> JobScope {
        match self.kind {
            // Listeners are leased one by one, and a listener local to a
            // node (a search index) must be served on that node.
            ShopJobKind::DispatchEvents => JobScope::Node,
            // The queue leases each job itself: every node claims from it.
            ShopJobKind::RunDelayedJobs => JobScope::Node,
            _ => JobScope::Cluster,
        }
    }

    async fn run(&self, ctx: &JobContext) -> Result<String> {
        let shop = &self.shop;
        match self.kind {
            ShopJobKind::DispatchEvents => {
                let report = shop.dispatch_events().await?;
                let mut detail = format!("delivered {}", report.delivered);
                for (listener, error) in &report.failed {
                    detail.push_str(&format!("; {listener} failed: {error}"));
                }
                for (listener, seq, error) in &report.skipped {
                    detail.push_str(&format!(
                        "; {listener} skipped event {seq} for good: {error}"
                    ));
                }
                Ok(detail)
            }
            ShopJobKind::CloseExpiredOrders => {
                let closed = shop.close_expired_orders_until(ctx.stop()).await?;
                Ok(format!("closed {closed}"))
            }
            ShopJobKind::RetryPendingRefunds => {
                let r = shop
                    .retry_pending_refunds_until(
                        Duration::minutes(5),
                        Duration::hours(23),
                        ctx.stop(),
                    )
                    .await?;
                let mut detail = format!(
                    "settled {}, still pending {}, failed {}",
                    r.settled.len(),
                    r.still_pending.len(),
                    r.failed.len()
                );
                if !r.too_old.is_empty() {
                    detail.push_str(&format!(
                        "; pending too long to re-send, check at the provider: {}",
                        r.too_old.join(", ")
                    ));
                }
                Ok(detail)
            }
            ShopJobKind::PurgeExpiredSessions => {
                let purged = shop.purge_expired_sessions().await?;
                Ok(format!("purged {purged}"))
            }
            ShopJobKind::PruneEvents => {
                let pruned = shop.prune_events_with(|| ctx.keep_alive()).await?;
                Ok(format!("pruned {pruned}"))
            }
            ShopJobKind::RunDelayedJobs => {
                let done = shop.run_delayed_jobs().await?;
                Ok(format!("ran {done}"))
            }
            ShopJobKind::InstallmentFines => {
                let changed = shop.apply_installment_fines_until(ctx.stop()).await?;
                Ok(format!("{changed} fines changed"))
            }
            ShopJobKind::InstallmentReminders => {
                let sent = shop.remind_installments().await?;
                Ok(format!("{sent} reminders"))
            }
            ShopJobKind::FinishCrowdfundings => {
                let r = shop.finish_crowdfundings_until(ctx.stop()).await?;
                let mut detail = format!(
                    "decided {}, closed {} unpaid orders, sent {} refunds",
                    r.decided.len(),
                    r.closed,
                    r.refunds
                );
                for (order, error) in &r.failed {
                    detail.push_str(&format!("; refund of order {order} failed: {error}"));
                }
                Ok(detail)
            }
            ShopJobKind::ReconcileFlashSales => {
                let r = shop.reconcile_flash_sales().await?;
                Ok(format!(
                    "{} sales: {} loaded, {} units given back, {} buyers added",
                    r.sales, r.loaded, r.returned, r.added
                ))
            }
        }
    }
}
