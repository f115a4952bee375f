//! Crowdfunding on the backend under test: ordering while a campaign
//! funds, its decision at the end (at the target it succeeds), and a
//! failed campaign refunding every paid order exactly once while two
//! runners race after a third was killed half-way.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use chrono::Duration;

use super::fixtures::cny;
use super::shop::ShopWorld;
use super::Backend;
use crate::catalog::{ProductKind, Sku};
use crate::crowdfunding::{CrowdfundingDraft, CrowdfundingRefusal, CrowdfundingStatus};
use crate::error::{Entity, Error, StoreError};
use crate::ids::{OrderId, SequentialIds, UserId};
use crate::order::{Order, OrderStatus, RefundStatus};
use crate::payment::{
    GatewayEvent, GatewayRefund, GatewayRefundStatus, PaymentAction, PaymentError, PaymentGateway,
    PaymentRequest, RawNotification,
};
use crate::refund::RefundRecordStatus;
use crate::{Shop, Stores};

/// A crowdfunding product with one SKU at `price`, `stock` units.
async fn crowdfunding_sku(w: &ShopWorld, title: &str, price: &str, stock: u32) -> Sku {
    let mut draft = ShopWorld::product_draft(title, "Back it.");
    draft.kind = ProductKind::Crowdfunding;
    let (_, skus) = w
        .shop
        .create_product(draft, vec![ShopWorld::sku_draft(price, stock)])
        .await
        .expect("create_product");
    skus.into_iter().next().expect("one sku")
}

/// `buyer` orders `quantity` of `sku` through the campaign.
async fn order(w: &ShopWorld, buyer: UserId, sku: &Sku, quantity: i64) -> crate::Result<Order> {
    let address = w.address(buyer).await;
    w.shop
        .crowdfunding_order(buyer, sku.id, quantity, address.id, "")
        .await
}

/// Ordering while funding (the payment window capped at the end), the
/// campaign's total and distinct buyers over paid orders, no refund
/// application and no shipping while funding, no order after the end
/// (nothing written), the decision at exactly the target is success and
/// closes the unpaid orders, and its orders then ship.
pub async fn crowdfunding_orders_follow_the_campaign<B: Backend>(store: Arc<B>) {
    let w = ShopWorld::new(store);
    let sku = crowdfunding_sku(&w, "Solar lamp", "100.00", 50).await;
    let now = w.shop.now();
    let draft = CrowdfundingDraft {
        product_id: sku.product_id,
        target: cny("300.00"),
        ends_at: now + Duration::hours(2),
    };
    let campaign = w.shop.create_crowdfunding(draft.clone()).await.unwrap();
    assert_eq!(campaign.status, CrowdfundingStatus::Funding);
    match w.shop.create_crowdfunding(draft.clone()).await {
        Err(Error::Store(StoreError::AlreadyExists {
            entity: Entity::Crowdfunding,
            ..
        })) => {}
        other => panic!("expected AlreadyExists, got {other:?}"),
    }
    let normal = w.sku("Cup", "10.00", 5).await;
    let refused = w
        .shop
        .create_crowdfunding(CrowdfundingDraft {
            product_id: normal.product_id,
            ..draft.clone()
        })
        .await;
    assert!(matches!(refused, Err(Error::Refused { .. })), "{refused:?}");
    let buyer_a = w.user();
    assert!(
        matches!(
            w.shop
                .crowdfunding_order(buyer_a, normal.id, 1, w.address(buyer_a).await.id, "")
                .await,
            Err(Error::Refused { .. })
        ),
        "a normal product is bought through the cart"
    );

    // Three paid orders of two buyers: exactly the target.
    let (a, b, c) = (buyer_a, w.user(), w.user());
    let first = order(&w, a, &sku, 1).await.unwrap();
    assert_eq!(first.kind, ProductKind::Crowdfunding);
    assert_eq!(first.expires_at, now + Duration::minutes(30));
    w.pay(&first).await;
    let second = order(&w, b, &sku, 1).await.unwrap();
    w.pay(&second).await;
    let third = order(&w, a, &sku, 1).await.unwrap();
    w.pay(&third).await;
    let unpaid = order(&w, c, &sku, 2).await.unwrap();
    w.shop.dispatch_events().await.unwrap();
    let view = w
        .shop
        .crowdfunding_of_product(sku.product_id)
        .await
        .unwrap();
    assert_eq!(view.campaign.total, cny("300.00"));
    assert_eq!(view.campaign.buyers, 2);
    assert_eq!(view.progress.to_string(), "100.00");
    assert!(view.open);

    // While funding: no refund application, no shipping.
    let err = w.shop.apply_refund(a, first.id, "changed my mind").await;
    assert!(
        matches!(err, Err(Error::InvalidTransition { .. })),
        "{err:?}"
    );
    let err = w.shop.ship_order(first.id, "SF", "SF1").await;
    assert!(
        matches!(
            err,
            Err(Error::Crowdfunding(CrowdfundingRefusal::NotSucceeded))
        ),
        "{err:?}"
    );
    assert_eq!(
        w.shop.any_order(first.id).await.unwrap().state.status,
        OrderStatus::Paid
    );
    assert!(w
        .shop
        .finish_crowdfundings()
        .await
        .unwrap()
        .decided
        .is_empty());

    // Ten minutes before the end, the window is what is left.
    w.clock.advance(Duration::minutes(110));
    let late = order(&w, c, &sku, 1).await.unwrap();
    assert_eq!(late.expires_at, campaign.ends_at);

    // After the end: no order, nothing written.
    w.clock.advance(Duration::minutes(10));
    let stock = w.shop.sku(sku.id).await.unwrap().stock;
    let err = order(&w, c, &sku, 1).await;
    assert!(
        matches!(err, Err(Error::Crowdfunding(CrowdfundingRefusal::Closed))),
        "{err:?}"
    );
    assert_eq!(w.shop.sku(sku.id).await.unwrap().stock, stock);
    assert_eq!(w.shop.orders(c, 1, 10).await.unwrap().total, 2);

    // Decided at exactly the target: success; the unpaid orders close.
    let report = w.shop.finish_crowdfundings().await.unwrap();
    assert_eq!(
        report.decided,
        vec![(campaign.id, CrowdfundingStatus::Success)]
    );
    assert_eq!(report.closed, 2);
    for id in [unpaid.id, late.id] {
        let closed = w.shop.any_order(id).await.unwrap();
        assert_eq!(closed.state.status, OrderStatus::Closed);
    }
    assert_eq!(w.shop.sku(sku.id).await.unwrap().stock, 50 - 3);
    let view = w.shop.crowdfunding(campaign.id).await.unwrap();
    assert_eq!(view.campaign.status, CrowdfundingStatus::Success);
    assert_eq!(view.campaign.total, cny("300.00"));
    assert_eq!(view.campaign.buyers, 2);
    assert!(view.campaign.finished_at.is_some());
    assert!(!view.open);
    assert_eq!(w.gateway.refunds.load(Ordering::SeqCst), 0);
    w.shop.ship_order(first.id, "SF", "SF1").await.unwrap();
    assert!(w
        .shop
        .finish_crowdfundings()
        .await
        .unwrap()
        .decided
        .is_empty());
}

/// A campaign ending below its target fails and every paid order is
/// refunded exactly once through its gateway: a first runner is killed
/// half-way (its task aborted while it refunds), two more race over what
/// is left, and the refund retry settles what the killed one recorded but
/// never finished. Every paid order ends refunded with one refund of its
/// whole total; the unpaid ones are closed.
pub async fn crowdfunding_failure_refunds_every_paid_order_once<B: Backend>(store: Arc<B>) {
    let w = ShopWorld::new(store.clone());
    let sku = crowdfunding_sku(&w, "Wind turbine", "10.00", 500).await;
    let campaign = w
        .shop
        .create_crowdfunding(CrowdfundingDraft {
            product_id: sku.product_id,
            target: cny("10000.00"),
            ends_at: w.shop.now() + Duration::hours(1),
        })
        .await
        .unwrap();
    let mut paid: Vec<Order> = Vec::new();
    for i in 0..24 {
        let buyer = w.user();
        let o = order(&w, buyer, &sku, 1 + i % 3).await.unwrap();
        w.pay(&o).await;
        paid.push(o);
    }
    let unpaid = order(&w, w.user(), &sku, 1).await.unwrap();
    w.clock.advance(Duration::hours(1));

    // Runners on the same stores and clock, ids of their own.
    let runner = |first_id: i64, gateway: Arc<dyn PaymentGateway>| {
        Shop::builder(Stores::from_backend(store.clone()))
            .clock(w.clock.clone())
            .ids(Arc::new(SequentialIds::starting_at(first_id)))
            .gateway(gateway)
            .build()
    };
    let (second, third) = (
        runner(60_000_000, w.gateway.clone()),
        runner(70_000_000, w.gateway.clone()),
    );

    // The first runner dies while refunding: its sixth refund request never
    // comes back, and its task is aborted there.
    let hanging = Arc::new(HangingGateway {
        inner: w.gateway.clone(),
        answer: 5,
        calls: AtomicUsize::new(0),
    });
    let killed = tokio::spawn({
        let shop = runner(50_000_000, hanging.clone());
        async move { shop.finish_crowdfundings().await }
    });
    while hanging.calls.load(Ordering::SeqCst) <= hanging.answer {
        assert!(!killed.is_finished(), "the first runner ended on its own");
        tokio::task::yield_now().await;
    }
    killed.abort();
    assert!(killed.await.is_err(), "the first runner was killed");
    assert_eq!(w.gateway.refunds.load(Ordering::SeqCst), hanging.answer);

    let (r2, r3) = tokio::join!(second.finish_crowdfundings(), third.finish_crowdfundings());
    let (r2, r3) = (r2.unwrap(), r3.unwrap());
    assert!(
        r2.failed.is_empty() && r3.failed.is_empty(),
        "{r2:?} {r3:?}"
    );
    let view = w.shop.crowdfunding(campaign.id).await.unwrap();
    assert_eq!(view.campaign.status, CrowdfundingStatus::Fail);
    assert_eq!(
        w.shop.any_order(unpaid.id).await.unwrap().state.status,
        OrderStatus::Closed
    );

    // A refund the killed runner recorded but did not finish is re-sent.
    w.clock.advance(Duration::minutes(6));
    w.shop
        .retry_pending_refunds(Duration::minutes(5), Duration::hours(23))
        .await
        .unwrap();
    // Nothing left for later runs.
    let again = w.shop.finish_crowdfundings().await.unwrap();
    assert_eq!(again.refunds, 0, "{again:?}");

    let mut refunds_per_order: BTreeMap<OrderId, usize> = BTreeMap::new();
    for o in &paid {
        let now = w.shop.any_order(o.id).await.unwrap();
        assert_eq!(now.state.refund, RefundStatus::Refunded, "order {}", o.id);
        let refunds = store_refunds(&w, o.id).await;
        assert_eq!(refunds.len(), 1, "order {}: {refunds:?}", o.id);
        assert_eq!(refunds[0].status, RefundRecordStatus::Succeeded);
        assert_eq!(refunds[0].amount, o.total);
        *refunds_per_order.entry(o.id).or_default() += 1;
    }
    assert_eq!(refunds_per_order.len(), paid.len());
    assert!(w.gateway.refunds.load(Ordering::SeqCst) >= paid.len());
}

/// A gateway that answers `answer` refund requests through `inner`, then
/// never answers again (a process stuck, then killed, mid-refund).
struct HangingGateway {
    inner: Arc<super::shop::TestGateway>,
    answer: usize,
    calls: AtomicUsize,
}

#[async_trait::async_trait]
impl PaymentGateway for HangingGateway {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn merchant_id(&self) -> &str {
        self.inner.merchant_id()
    }

    async fn create_payment(&self, req: &PaymentRequest) -> Result<PaymentAction, PaymentError> {
        self.inner.create_payment(req).await
    }

    async fn verify_notification(
        &self,
        notification: &RawNotification,
    ) -> Result<GatewayEvent, PaymentError> {
        self.inner.verify_notification(notification).await
    }

    async fn refund(&self, req: &GatewayRefund) -> Result<GatewayRefundStatus, PaymentError> {
        if self.calls.fetch_add(1, Ordering::SeqCst) >= self.answer {
            std::future::pending::<()>().await;
        }
        self.inner.refund(req).await
    }
}

async fn store_refunds(w: &ShopWorld, order: OrderId) -> Vec<crate::refund::Refund> {
    let buyer = w.shop.any_order(order).await.unwrap().user_id;
    w.shop.refunds(buyer, order).await.unwrap()
}
