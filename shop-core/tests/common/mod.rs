//! Shared set-up for the service tests: a shop on the memory backend with a
//! manual clock, a fake gateway and an event recorder.
#![allow(dead_code, unreachable_pub)]

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use rust_decimal::Decimal;
use shop_core::catalog::{ProductDraft, ProductKind, Sku, SkuDraft};
use shop_core::clock::ManualClock;
use shop_core::coupon::{Coupon, CouponDraft, CouponKind};
use shop_core::events::{DomainEvent, EventEnvelope, EventListener};
use shop_core::ids::{SequentialIds, UserId};
use shop_core::memory::MemoryStore;
use shop_core::order::Order;
use shop_core::payment::{
    GatewayEvent, GatewayRefund, GatewayRefundStatus, PaymentAction, PaymentError, PaymentGateway,
    PaymentRequest, RawNotification, VerifiedPayment,
};
use shop_core::service::{OrderLineRequest, PlaceOrderRequest};
use shop_core::user::AddressDraft;
use shop_core::{Currency, Money, Shop, Stores};

pub const MERCHANT: &str = "M-100";
pub const SECRET: &str = "s3cret";

/// A gateway whose "signature" is a shared secret in the body, enough to
/// test the core's orchestration (real signatures live in shop-payments).
/// Body: `merchant|order_no|amount|txn|secret` or `refund|refund_no|ok|secret`.
pub struct FakeGateway {
    pub refund_answer: Mutex<GatewayRefundStatus>,
    /// While set, refunds fail as if the gateway were unreachable (the
    /// request is still recorded).
    pub refund_unreachable: Mutex<bool>,
    /// When set, every refund call waits here first, so racing callers are
    /// all in flight at once.
    pub refund_barrier: Mutex<Option<Arc<tokio::sync::Barrier>>>,
    pub refunds: Mutex<Vec<GatewayRefund>>,
}

impl FakeGateway {
    pub fn new() -> Self {
        FakeGateway {
            refund_answer: Mutex::new(GatewayRefundStatus::Succeeded),
            refund_unreachable: Mutex::new(false),
            refund_barrier: Mutex::new(None),
            refunds: Mutex::new(Vec::new()),
        }
    }
}

pub fn paid_notification(
    merchant: &str,
    order: &Order,
    amount: &str,
    txn: &str,
    secret: &str,
) -> RawNotification {
    RawNotification {
        body: format!("{merchant}|{}|{amount}|{txn}|{secret}", order.no).into_bytes(),
        ..RawNotification::default()
    }
}

#[async_trait]
impl PaymentGateway for FakeGateway {
    fn name(&self) -> &str {
        "fake"
    }
    fn merchant_id(&self) -> &str {
        MERCHANT
    }
    async fn create_payment(&self, req: &PaymentRequest) -> Result<PaymentAction, PaymentError> {
        Ok(PaymentAction::Redirect(format!(
            "https://pay.invalid/{}",
            req.order_no
        )))
    }
    async fn verify_notification(&self, n: &RawNotification) -> Result<GatewayEvent, PaymentError> {
        let body =
            std::str::from_utf8(&n.body).map_err(|e| PaymentError::Malformed(e.to_string()))?;
        let parts: Vec<&str> = body.split('|').collect();
        if parts.last() != Some(&SECRET) {
            return Err(PaymentError::InvalidSignature);
        }
        match parts.as_slice() {
            ["refund", no, ok, _] => Ok(GatewayEvent::RefundFinished {
                refund_no: (*no).to_owned(),
                succeeded: *ok == "ok",
            }),
            ["waiting", _] => Ok(GatewayEvent::Ignored),
            [merchant, order_no, amount, txn, _] => Ok(GatewayEvent::Paid(VerifiedPayment {
                merchant_id: (*merchant).to_owned(),
                order_no: (*order_no).to_owned(),
                amount: Money::parse(amount, Currency::Cny)
                    .map_err(|e| PaymentError::Malformed(e.to_string()))?,
                transaction_no: (*txn).to_owned(),
                paid_at: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
            })),
            _ => Err(PaymentError::Malformed("unknown shape".into())),
        }
    }
    async fn refund(&self, req: &GatewayRefund) -> Result<GatewayRefundStatus, PaymentError> {
        let barrier = self.refund_barrier.lock().unwrap().clone();
        if let Some(barrier) = barrier {
            barrier.wait().await;
        }
        self.refunds.lock().unwrap().push(req.clone());
        if *self.refund_unreachable.lock().unwrap() {
            return Err(PaymentError::Gateway {
                source: "connection refused".into(),
            });
        }
        Ok(*self.refund_answer.lock().unwrap())
    }
}

/// Records every event.
#[derive(Default)]
pub struct Recorder(pub Mutex<Vec<DomainEvent>>);

#[async_trait]
impl EventListener for Recorder {
    fn name(&self) -> &str {
        "test.recorder"
    }

    async fn on_event(&self, envelope: &EventEnvelope) -> shop_core::Result<()> {
        self.0.lock().unwrap().push(envelope.event.clone());
        Ok(())
    }
}

impl Recorder {
    pub fn count(&self, f: impl Fn(&DomainEvent) -> bool) -> usize {
        self.0.lock().unwrap().iter().filter(|e| f(e)).count()
    }
}

pub struct World {
    pub shop: Shop,
    pub store: Arc<MemoryStore>,
    pub clock: Arc<ManualClock>,
    pub gateway: Arc<FakeGateway>,
    pub events: Arc<Recorder>,
}

pub fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap()
}

pub fn cny(s: &str) -> Money {
    Money::parse(s, Currency::Cny).unwrap()
}

pub fn world() -> World {
    let store = Arc::new(MemoryStore::new());
    let clock = Arc::new(ManualClock::new(start()));
    let gateway = Arc::new(FakeGateway::new());
    let events = Arc::new(Recorder::default());
    let shop = Shop::builder(Stores::from_backend(store.clone()))
        .clock(clock.clone())
        .ids(Arc::new(SequentialIds::default()))
        .gateway(gateway.clone())
        .listener(events.clone())
        .build();
    World {
        shop,
        store,
        clock,
        gateway,
        events,
    }
}

pub fn product_draft(title: &str) -> ProductDraft {
    ProductDraft {
        kind: ProductKind::Normal,
        title: title.into(),
        long_title: format!("{title}, long"),
        description: "a thing".into(),
        image: "https://img.invalid/1.png".into(),
        on_sale: true,
        category_id: None,
        properties: vec![],
    }
}

pub fn sku_draft(title: &str, price: &str, stock: u32) -> SkuDraft {
    SkuDraft {
        title: title.into(),
        description: String::new(),
        price: cny(price),
        stock,
    }
}

pub fn address_draft() -> AddressDraft {
    AddressDraft {
        province: "Guangdong".into(),
        city: "Shenzhen".into(),
        district: "Nanshan".into(),
        street: "1 Keji Rd".into(),
        zip: "518000".into(),
        contact_name: "Li Lei".into(),
        contact_phone: "13800000000".into(),
    }
}

pub fn coupon_draft(kind: CouponKind, value: Decimal, min: &str, total: u32) -> CouponDraft {
    CouponDraft {
        name: "promo".into(),
        kind,
        value,
        min_amount: cny(min),
        total,
        not_before: None,
        not_after: None,
        enabled: true,
    }
}

impl World {
    /// Dispatches the outbox, then counts the recorded events that match.
    pub async fn count_events(&self, f: impl Fn(&DomainEvent) -> bool) -> usize {
        self.shop.dispatch_events().await.unwrap();
        self.events.count(f)
    }
}

impl World {
    /// A product with one SKU at `price` with `stock`.
    pub async fn sku(&self, price: &str, stock: u32) -> Sku {
        let (_, skus) = self
            .shop
            .create_product(
                product_draft("Phone"),
                vec![sku_draft("64GB", price, stock)],
            )
            .await
            .unwrap();
        skus.into_iter().next().unwrap()
    }

    pub async fn coupon(&self, draft: CouponDraft) -> Coupon {
        self.shop.create_coupon(draft, None).await.unwrap()
    }

    /// Places an order of `qty` × `sku` for `user` with a fresh address.
    pub async fn order(
        &self,
        user: UserId,
        sku: &Sku,
        qty: i64,
        coupon: Option<&str>,
    ) -> shop_core::Result<Order> {
        let address = self.shop.create_address(user, address_draft()).await?;
        self.shop
            .place_order(
                user,
                PlaceOrderRequest {
                    address_id: address.id,
                    items: vec![OrderLineRequest {
                        sku_id: sku.id,
                        quantity: qty,
                    }],
                    coupon_code: coupon.map(str::to_owned),
                    remark: String::new(),
                    submit_token: None,
                },
            )
            .await
    }

    /// Pays `order` through the fake gateway.
    pub async fn pay(
        &self,
        order: &Order,
    ) -> shop_core::Result<shop_core::service::NotificationOutcome> {
        let n = paid_notification(
            MERCHANT,
            order,
            &order.total.amount().to_string(),
            &format!("T{}", order.no),
            SECRET,
        );
        self.shop.handle_payment_notification("fake", &n).await
    }

    pub async fn stock(&self, sku: &Sku) -> u32 {
        self.shop.sku(sku.id).await.unwrap().stock
    }
}
