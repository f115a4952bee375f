//! Cases that run the [`Shop`] facade on the backend under test: rules that
//! live in `shop-core` but must come out the same whatever stores the text,
//! the decimals and the races (text rules, one decimal scale, refund
//! approvals racing, submit tokens as idempotency keys).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use async_trait::async_trait;

use super::fixtures::{base_time, cny};
use super::Backend;
use crate::catalog::{ProductDraft, ProductKind, ProductQuery, Sku, SkuDraft};
use crate::clock::ManualClock;
use crate::events::EventListener;
use crate::ids::{SequentialIds, UserId};
use crate::money::Currency;
use crate::order::Order;
use crate::payment::{
    GatewayEvent, GatewayRefund, GatewayRefundStatus, PaymentAction, PaymentError, PaymentGateway,
    PaymentRequest, RawNotification, VerifiedPayment,
};
use crate::service::{OrderLineRequest, PlaceOrderRequest};
use crate::user::{Address, AddressDraft};
use crate::{Money, Shop, ShopBuilder, Stores};

/// The name the cases' gateway registers under.
pub const TEST_GATEWAY: &str = "conformance";

/// A gateway for the Shop-level cases: a notification body
/// `order_no|amount|transaction_no` is a verified payment (no signature:
/// real verification is the gateways' own tests), and every refund
/// succeeds at once. Counts the refunds it was asked for.
#[derive(Debug, Default)]
pub struct TestGateway {
    /// How many refunds were requested.
    pub refunds: AtomicUsize,
    /// While set, refunds fail as an unreachable gateway would (the
    /// refund stays pending), and are not counted.
    pub unreachable: std::sync::atomic::AtomicBool,
}

#[async_trait]
impl PaymentGateway for TestGateway {
    fn name(&self) -> &str {
        TEST_GATEWAY
    }

    fn merchant_id(&self) -> &str {
        "conformance-merchant"
    }

    async fn create_payment(&self, req: &PaymentRequest) -> Result<PaymentAction, PaymentError> {
        Ok(PaymentAction::Redirect(format!(
            "https://pay.invalid/{}",
            req.order_no
        )))
    }

    async fn verify_notification(
        &self,
        notification: &RawNotification,
    ) -> Result<GatewayEvent, PaymentError> {
        let body = String::from_utf8(notification.body.clone())
            .map_err(|e| PaymentError::Malformed(e.to_string()))?;
        let parts: Vec<&str> = body.split('|').collect();
        let [order_no, amount, txn] = parts.as_slice() else {
            return Err(PaymentError::Malformed(body));
        };
        Ok(GatewayEvent::Paid(VerifiedPayment {
            merchant_id: self.merchant_id().to_owned(),
            order_no: (*order_no).to_owned(),
            amount: Money::parse(amount, Currency::Cny)
                .map_err(|e| PaymentError::Malformed(e.to_string()))?,
            transaction_no: (*txn).to_owned(),
            paid_at: base_time(),
        }))
    }

    async fn refund(&self, _req: &GatewayRefund) -> Result<GatewayRefundStatus, PaymentError> {
        if self.unreachable.load(Ordering::SeqCst) {
            return Err(PaymentError::Gateway {
                source: "the test gateway is unreachable".into(),
            });
        }
        self.refunds.fetch_add(1, Ordering::SeqCst);
        Ok(GatewayRefundStatus::Succeeded)
    }
}

/// A [`Notifier`](crate::notify::Notifier) that keeps what it is handed,
/// for tests of what the shop tells people.
#[derive(Debug, Default)]
pub struct Mailbox(std::sync::Mutex<Vec<crate::notify::Notification>>);

impl Mailbox {
    /// Everything handed over so far, oldest first.
    pub fn all(&self) -> Vec<crate::notify::Notification> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

#[async_trait]
impl crate::notify::Notifier for Mailbox {
    async fn send(&self, n: &crate::notify::Notification) -> crate::Result<()> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(n.clone());
        Ok(())
    }
}

/// Stores a verified customer account `id` (e-mail `buyer{id}@example.com`),
/// so notifications to it go out.
pub async fn verified_account<S: crate::account::AccountStore + ?Sized>(store: &S, id: UserId) {
    store
        .create_account(&crate::account::Account {
            id,
            email: format!("buyer{}@example.com", id.0),
            name: format!("Buyer {}", id.0),
            password_hash: "unused".into(),
            role: crate::account::Role::Customer,
            email_verified_at: Some(base_time()),
            created_at: base_time(),
            deactivated_at: None,
            locale: Default::default(),
        })
        .await
        .expect("create_account");
}

/// A [`Shop`] on the store under test, on a manual clock at
/// [`base_time`], with the [`TestGateway`].
pub struct ShopWorld {
    /// The shop.
    pub shop: Shop,
    /// Its gateway.
    pub gateway: Arc<TestGateway>,
    /// Its clock.
    pub clock: Arc<ManualClock>,
    users: SequentialIds,
}

impl ShopWorld {
    /// A shop whose every port is `store`.
    pub fn new<B: Backend>(store: Arc<B>) -> Self {
        ShopWorld::with_listeners(store, Vec::new())
    }

    /// A shop whose every port is `store`, with `listeners` on its outbox.
    pub fn with_listeners<B: Backend>(
        store: Arc<B>,
        listeners: Vec<Arc<dyn EventListener>>,
    ) -> Self {
        ShopWorld::build(Stores::from_backend(store), |mut builder| {
            for listener in listeners {
                builder = builder.listener(listener);
            }
            builder
        })
    }

    /// A shop whose every port is `store` but the submit tokens, kept in
    /// `tokens` ([`Stores::with_submit_tokens`]).
    pub fn with_submit_tokens<B: Backend>(
        store: Arc<B>,
        tokens: Arc<dyn crate::order::SubmitTokenStore>,
    ) -> Self {
        let stores = Stores::from_backend(store).with_submit_tokens(tokens);
        ShopWorld::build(stores, |builder| builder)
    }

    /// A shop whose every port is `store`, closing unpaid orders through
    /// `queue`.
    pub fn with_delay_queue<B: Backend>(
        store: Arc<B>,
        queue: Arc<dyn crate::delay::DelayQueue>,
    ) -> Self {
        ShopWorld::build(Stores::from_backend(store), |builder| {
            builder.delay_queue(queue)
        })
    }

    /// A shop whose every port is `store`, with `stock` (when given) in
    /// front of its flash sales.
    pub fn with_seckill_stock<B: Backend>(
        store: Arc<B>,
        stock: Option<Arc<dyn crate::seckill::SeckillStock>>,
    ) -> Self {
        ShopWorld::build(Stores::from_backend(store), |builder| match stock {
            Some(stock) => builder.seckill_stock(stock),
            None => builder,
        })
    }

    /// A shop whose every port is `store`, telling people through
    /// `notifier` (e.g. a [`Mailbox`]).
    pub fn with_notifier<B: Backend>(
        store: Arc<B>,
        notifier: Arc<dyn crate::notify::Notifier>,
    ) -> Self {
        ShopWorld::build(Stores::from_backend(store), |builder| {
            builder.notifier(notifier)
        })
    }

    fn build(stores: Stores, extra: impl FnOnce(ShopBuilder) -> ShopBuilder) -> Self {
        let gateway = Arc::new(TestGateway::default());
        let clock = Arc::new(ManualClock::new(base_time()));
        let builder = Shop::builder(stores)
            .clock(clock.clone())
            .ids(Arc::new(SequentialIds::starting_at(1_000_000)))
            .gateway(gateway.clone());
        let shop = extra(builder).build();
        ShopWorld {
            shop,
            gateway,
            clock,
            users: SequentialIds::starting_at(5_000_000),
        }
    }

    /// A fresh buyer id.
    pub fn user(&self) -> UserId {
        use crate::ids::IdGenerator;
        UserId(self.users.next_id())
    }

    /// A product draft with one line of each text field.
    pub fn product_draft(title: &str, description: &str) -> ProductDraft {
        ProductDraft {
            kind: ProductKind::Normal,
            title: title.to_owned(),
            long_title: format!("{title} (long)"),
            description: description.to_owned(),
            image: "https://example.com/p.png".to_owned(),
            on_sale: true,
            category_id: None,
            properties: vec![],
        }
    }

    /// A SKU draft.
    pub fn sku_draft(price: &str, stock: u32) -> SkuDraft {
        SkuDraft {
            title: "Standard".to_owned(),
            description: String::new(),
            price: cny(price),
            stock,
        }
    }

    /// An on-sale product with one SKU, created through the shop.
    pub async fn sku(&self, title: &str, price: &str, stock: u32) -> Sku {
        let (_, skus) = self
            .shop
            .create_product(
                Self::product_draft(title, "A thing."),
                vec![Self::sku_draft(price, stock)],
            )
            .await
            .expect("create_product");
        skus.into_iter().next().expect("one sku")
    }

    /// A valid address draft.
    pub fn address_draft() -> AddressDraft {
        AddressDraft {
            province: "Zhejiang".to_owned(),
            city: "Hangzhou".to_owned(),
            district: "Xihu".to_owned(),
            street: "1 Lake Rd".to_owned(),
            zip: "310000".to_owned(),
            contact_name: "Wang Fang".to_owned(),
            contact_phone: "13900000000".to_owned(),
        }
    }

    /// An address of `buyer`.
    pub async fn address(&self, buyer: UserId) -> Address {
        self.shop
            .create_address(buyer, Self::address_draft())
            .await
            .expect("create_address")
    }

    /// A request for `quantity` of `sku` to `address`, with a fresh token.
    pub async fn request(
        &self,
        buyer: UserId,
        address: &Address,
        sku: &Sku,
        quantity: i64,
    ) -> PlaceOrderRequest {
        PlaceOrderRequest {
            address_id: address.id,
            items: vec![OrderLineRequest {
                sku_id: sku.id,
                quantity,
            }],
            coupon_code: None,
            remark: String::new(),
            submit_token: Some(
                self.shop
                    .issue_submit_token(buyer)
                    .await
                    .expect("issue_submit_token"),
            ),
        }
    }

    /// Pays `order` through the test gateway.
    pub async fn pay(&self, order: &Order) {
        let body = format!("{}|{}|TXN-{}", order.no, order.total.amount(), order.id);
        self.shop
            .handle_payment_notification(
                TEST_GATEWAY,
                &RawNotification {
                    body: body.into_bytes(),
                    ..RawNotification::default()
                },
            )
            .await
            .expect("payment notification");
    }

    /// Sends `order`'s payment notification, which a closed order refuses
    /// (its outcome is read from the order afterwards).
    pub async fn pay_if_pending(&self, order: &Order) {
        let body = format!("{}|{}|TXN-{}", order.no, order.total.amount(), order.id);
        let _ = self
            .shop
            .handle_payment_notification(
                TEST_GATEWAY,
                &RawNotification {
                    body: body.into_bytes(),
                    ..RawNotification::default()
                },
            )
            .await;
    }

    /// `buyer` buys `quantity` of `sku` and pays.
    pub async fn paid_order(&self, buyer: UserId, sku: &Sku, quantity: i64) -> Order {
        let address = self.address(buyer).await;
        let request = self.request(buyer, &address, sku, quantity).await;
        let order = self
            .shop
            .place_order(buyer, request)
            .await
            .expect("place_order");
        self.pay(&order).await;
        self.shop.any_order(order.id).await.expect("the order")
    }

    /// Products listed with `keyword`, on sale or not.
    pub async fn search(&self, keyword: &str) -> crate::Result<Vec<String>> {
        let page = self
            .shop
            .list_products(ProductQuery {
                keyword: Some(keyword.to_owned()),
                page: 1,
                per_page: 100,
                ..ProductQuery::default()
            })
            .await?;
        Ok(page.items.into_iter().map(|p| p.title).collect())
    }
}
