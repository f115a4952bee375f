//! A user's order list with lines, SKUs and products costs a constant number
//! of SQL statements, whatever the number of orders (no N+1). Statements are
//! counted from sqlx's own per-statement trace events.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use shop_core::catalog::{ProductDraft, ProductKind, SkuDraft};
use shop_core::conformance::Backend;
use shop_core::ids::UserId;
use shop_core::service::{OrderLineRequest, PlaceOrderRequest};
use shop_core::user::AddressDraft;
use shop_core::{Currency, Money, Shop, Stores};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

/// Counts sqlx's statement events.
struct StatementCounter(AtomicUsize);

static STATEMENTS: StatementCounter = StatementCounter(AtomicUsize::new(0));

impl Subscriber for &'static StatementCounter {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.target() == "sqlx::query"
    }
    fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
        Some(tracing::level_filters::LevelFilter::TRACE)
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        if event.metadata().target() != "sqlx::query" {
            return;
        }
        // A connection the pool opens meanwhile runs its setup (SQLite's
        // PRAGMAs); that is not a statement of the order list.
        let mut summary = Summary(String::new());
        event.record(&mut summary);
        if !summary.0.starts_with("\"PRAGMA") {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

/// The `summary` field of a sqlx statement event (its first words).
struct Summary(String);

impl tracing::field::Visit for Summary {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if field.name() == "summary" {
            self.0 = format!("{value:?}");
        }
    }
}

fn statements() -> usize {
    STATEMENTS.0.load(Ordering::SeqCst)
}

async fn shop_with_orders<B: Backend>(store: B, buyer: UserId, orders: usize) -> Shop {
    let shop = Shop::builder(Stores::from_backend(Arc::new(store))).build();
    let address = shop
        .create_address(
            buyer,
            AddressDraft {
                province: "Zhejiang".into(),
                city: "Hangzhou".into(),
                district: String::new(),
                street: "1 Lake Rd".into(),
                zip: String::new(),
                contact_name: "Wang".into(),
                contact_phone: "139".into(),
            },
        )
        .await
        .unwrap();
    for n in 0..orders {
        // Two products, two SKUs each, so every order has distinct lines.
        let (_, skus) = shop
            .create_product(
                ProductDraft {
                    kind: ProductKind::Normal,
                    title: format!("Product {n}"),
                    long_title: String::new(),
                    description: String::new(),
                    image: String::new(),
                    on_sale: true,
                    category_id: None,
                    properties: vec![],
                },
                vec![
                    SkuDraft {
                        title: "a".into(),
                        description: String::new(),
                        price: Money::parse("3.00", Currency::Cny).unwrap(),
                        stock: 10,
                    },
                    SkuDraft {
                        title: "b".into(),
                        description: String::new(),
                        price: Money::parse("4.00", Currency::Cny).unwrap(),
                        stock: 10,
                    },
                ],
            )
            .await
            .unwrap();
        shop.place_order(
            buyer,
            PlaceOrderRequest {
                address_id: address.id,
                items: skus
                    .iter()
                    .map(|s| OrderLineRequest {
                        sku_id: s.id,
                        quantity: 1,
                    })
                    .collect(),
                coupon_code: None,
                remark: String::new(),
                submit_token: None,
            },
        )
        .await
        .unwrap();
    }
    shop
}

/// Statements for `order_views` of a buyer with 1 order and of one with 40.
async fn statements_for_one_and_forty<B: Backend>(few: B, many: B) -> (usize, usize) {
    let buyer = UserId(7);
    let few = shop_with_orders(few, buyer, 1).await;
    let many = shop_with_orders(many, buyer, 40).await;

    let before = statements();
    let one = few.order_views(buyer, 1, 50).await.unwrap();
    let for_one = statements() - before;

    let before = statements();
    let forty = many.order_views(buyer, 1, 50).await.unwrap();
    let for_forty = statements() - before;

    assert_eq!(one.items.len(), 1);
    assert_eq!(forty.items.len(), 40);
    assert!(forty.items.iter().all(|o| o.lines.len() == 2
        && o.lines
            .iter()
            .all(|l| l.sku.is_some() && l.product.is_some())));
    (for_one, for_forty)
}

/// One test for every backend, run one after the other: the statement
/// counter is global to this test binary.
#[tokio::test]
async fn order_list_costs_the_same_statements_for_one_or_forty_orders() {
    tracing::subscriber::set_global_default(&STATEMENTS).expect("only subscriber");

    let (one, forty) =
        statements_for_one_and_forty(common::sqlite_store().await, common::sqlite_store().await)
            .await;
    assert!(one > 0, "the counter sees sqlx's statements");
    assert_eq!(one, forty, "SQLite: statements for 1 order vs 40 orders");

    #[cfg(feature = "postgres")]
    if let (Some(few), Some(many)) = (common::pg::fresh().await, common::pg::fresh().await) {
        let (one, forty) = statements_for_one_and_forty(few, many).await;
        assert!(one > 0, "the counter sees sqlx's statements");
        assert_eq!(
            one, forty,
            "PostgreSQL: statements for 1 order vs 40 orders"
        );
    }
}
