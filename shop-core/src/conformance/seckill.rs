//! Flash sales on every backend: the store's sales and ledger, one unit per
//! buyer, the crowd that never oversells, and the close that returns the
//! unit exactly once even against a payment. The crowd and the close race
//! also take an optional [`SeckillStock`] so a fast stock (Redis) runs the
//! same checks in front of a database.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::Duration;

use super::fixtures::{base_time, cny};
use super::shop::ShopWorld;
use super::{concurrently, is_already_exists, is_not_found, Backend};
use crate::catalog::{ProductKind, Sku};
use crate::error::{Entity, Error};
use crate::ids::{FlashSaleId, ProductId, SkuId, UserId};
use crate::order::{Order, OrderStatus};
use crate::seckill::{FlashSale, FlashSaleDraft, FlashSaleRefusal, SeckillStock};

/// A flash-sale product's SKU with `stock`, created through the shop.
async fn seckill_sku(w: &ShopWorld, stock: u32) -> Sku {
    let mut draft = ShopWorld::product_draft("Flash phone", "One per buyer.");
    draft.kind = ProductKind::Seckill;
    let (_, skus) = w
        .shop
        .create_product(draft, vec![ShopWorld::sku_draft("999.00", stock)])
        .await
        .expect("create_product");
    skus.into_iter().next().expect("one sku")
}

/// A sale of `units` of `sku` at 1.00, open from a minute before
/// [`base_time`] for an hour.
async fn open_sale(w: &ShopWorld, sku: &Sku, units: u32) -> FlashSale {
    let now = base_time();
    w.shop
        .create_flash_sale(FlashSaleDraft {
            sku_id: sku.id,
            price: cny("1.00"),
            quantity: units,
            starts_at: now - Duration::minutes(1),
            ends_at: now + Duration::hours(1),
        })
        .await
        .expect("create_flash_sale")
}

fn refused(result: &crate::Result<Order>) -> Option<FlashSaleRefusal> {
    match result {
        Err(Error::FlashSale(r)) => Some(r.clone()),
        _ => None,
    }
}

/// The store keeps sales, sets the SKU's stock with a new one, finds a
/// SKU's latest sale, lists those not ended and reads stock and buyers in
/// one ledger; a taken id or an unknown SKU writes nothing.
pub async fn flash_sale_store_keeps_sales_and_ledgers<B: Backend>(store: Arc<B>) {
    let w = ShopWorld::new(store.clone());
    let sku = seckill_sku(&w, 3).await;
    let now = base_time();
    let sale = |id: i64, starts: i64, hours: i64, units: u32| FlashSale {
        id: FlashSaleId(id),
        product_id: sku.product_id,
        sku_id: sku.id,
        price: cny("9.90"),
        quantity: units,
        starts_at: now + Duration::hours(starts),
        ends_at: now + Duration::hours(starts + hours),
        created_at: now,
    };
    let early = sale(1, -5, 1, 7);
    let late = sale(2, 1, 2, 40);
    store.create_flash_sale(&early, &[]).await.unwrap();
    assert_eq!(
        store.flash_sale_ledger(early.id).await.unwrap().stock,
        7,
        "a sale sets the stock"
    );
    store.create_flash_sale(&late, &[]).await.unwrap();
    assert_eq!(
        store.get_flash_sale(late.id).await.unwrap(),
        Some(late.clone())
    );
    assert_eq!(
        store.flash_sale_of_sku(sku.id).await.unwrap(),
        Some(late.clone())
    );
    assert_eq!(store.flash_sale_of_sku(SkuId(424_242)).await.unwrap(), None);
    assert_eq!(
        store.list_flash_sales(now, 10).await.unwrap(),
        vec![late.clone()],
        "only sales ending after the time"
    );
    assert_eq!(
        store
            .list_flash_sales(now - Duration::hours(10), 10)
            .await
            .unwrap(),
        vec![early.clone(), late.clone()]
    );
    let ledger = store.flash_sale_ledger(late.id).await.unwrap();
    assert_eq!((ledger.stock, ledger.buyers.len()), (40, 0));

    let taken = store.create_flash_sale(&sale(2, 3, 1, 5), &[]).await;
    assert!(
        matches!(&taken, Err(e) if is_already_exists(e, Entity::FlashSale)),
        "{taken:?}"
    );
    let unknown = FlashSale {
        sku_id: SkuId(424_242),
        product_id: ProductId(424_242),
        ..sale(3, 3, 1, 5)
    };
    let missing = store.create_flash_sale(&unknown, &[]).await;
    assert!(
        matches!(&missing, Err(e) if is_not_found(e, Entity::Sku)),
        "{missing:?}"
    );
    assert_eq!(store.get_flash_sale(FlashSaleId(3)).await.unwrap(), None);
    assert_eq!(store.flash_sale_ledger(late.id).await.unwrap().stock, 40);
    let none = store.flash_sale_ledger(FlashSaleId(99)).await;
    assert!(matches!(&none, Err(e) if is_not_found(e, Entity::FlashSale)));
}

/// A buyer gets one unit at the sale price, to be paid within ten minutes;
/// a second attempt, an attempt outside the window and a product of
/// another kind are refused with nothing written; the order's close gives
/// the unit back and frees the buyer to try again.
pub async fn flash_sale_one_unit_per_buyer_until_the_close<B: Backend>(store: Arc<B>) {
    let w = ShopWorld::new(store.clone());
    let sku = seckill_sku(&w, 50).await;
    let sale = open_sale(&w, &sku, 2).await;
    let buyer = w.user();
    let address = w.address(buyer).await;

    let order = w
        .shop
        .seckill_order(buyer, sku.id, address.id)
        .await
        .expect("a unit");
    assert_eq!(order.kind, ProductKind::Seckill);
    assert_eq!(order.total, cny("1.00"));
    assert_eq!(order.items.len(), 1);
    assert_eq!(order.items[0].quantity, 1);
    assert_eq!(order.expires_at, order.created_at + Duration::minutes(10));
    let ledger = store.flash_sale_ledger(sale.id).await.unwrap();
    assert_eq!((ledger.stock, ledger.buyers.clone()), (1, vec![buyer]));

    let again = w.shop.seckill_order(buyer, sku.id, address.id).await;
    assert_eq!(refused(&again), Some(FlashSaleRefusal::AlreadyBought));
    let normal = w.sku("Plain cup", "5.00", 5).await;
    let wrong = w.shop.seckill_order(buyer, normal.id, address.id).await;
    assert!(
        matches!(&wrong, Err(e) if is_not_found(e, Entity::FlashSale)),
        "{wrong:?}"
    );
    let other = w.user();
    let their_address = w.address(other).await;
    w.clock.set(sale.ends_at);
    let late = w.shop.seckill_order(other, sku.id, their_address.id).await;
    assert_eq!(refused(&late), Some(FlashSaleRefusal::Ended));
    w.clock.set(sale.starts_at - Duration::seconds(1));
    let early = w.shop.seckill_order(other, sku.id, their_address.id).await;
    assert_eq!(
        refused(&early),
        Some(FlashSaleRefusal::NotStarted {
            starts_at: sale.starts_at
        })
    );
    assert_eq!(store.flash_sale_ledger(sale.id).await.unwrap(), ledger);

    // Unpaid after ten minutes: closed, the unit back, the buyer free.
    w.clock.set(order.expires_at);
    assert_eq!(w.shop.close_expired_orders().await.unwrap(), 1);
    let ledger = store.flash_sale_ledger(sale.id).await.unwrap();
    assert_eq!((ledger.stock, ledger.buyers.len()), (2, 0));
    let second = w
        .shop
        .seckill_order(buyer, sku.id, address.id)
        .await
        .expect("free again after the close");
    w.pay(&second).await;
    w.clock.advance(Duration::minutes(11));
    assert_eq!(w.shop.close_expired_orders().await.unwrap(), 0);
    let ledger = store.flash_sale_ledger(sale.id).await.unwrap();
    assert_eq!((ledger.stock, ledger.buyers), (1, vec![buyer]));
}

/// `attempts` purchases from `users` buyers (round robin), all released
/// at once, on a sale of `units`: exactly `units` orders, no buyer twice,
/// every other attempt refused as sold out or already bought, and the
/// stock 0 in the database (and in `stock`, when given).
pub async fn flash_sale_crowd<B: Backend>(
    store: Arc<B>,
    stock: Option<Arc<dyn SeckillStock>>,
    attempts: usize,
    users: usize,
    units: u32,
) {
    let w = Arc::new(ShopWorld::with_seckill_stock(store.clone(), stock.clone()));
    let sku = seckill_sku(&w, 0).await;
    let sale = open_sale(&w, &sku, units).await;
    let mut buyers = Vec::with_capacity(users);
    for _ in 0..users {
        let buyer = w.user();
        buyers.push((buyer, w.address(buyer).await.id));
    }
    let tasks: Vec<_> = (0..attempts)
        .map(|i| {
            let (w, (buyer, address)) = (w.clone(), buyers[i % users]);
            async move { (buyer, w.shop.seckill_order(buyer, sku.id, address).await) }
        })
        .collect();
    let results = concurrently(tasks).await;
    let mut winners = HashSet::new();
    for (buyer, result) in &results {
        match result {
            Ok(order) => {
                assert_eq!(order.user_id, *buyer);
                assert!(winners.insert(*buyer), "buyer {buyer} got two units");
            }
            Err(Error::FlashSale(FlashSaleRefusal::SoldOut | FlashSaleRefusal::AlreadyBought)) => {}
            Err(e) => panic!("an attempt failed with {e:?}"),
        }
    }
    assert_eq!(winners.len(), units as usize, "exactly the units sold");
    let ledger = store.flash_sale_ledger(sale.id).await.unwrap();
    assert_eq!(ledger.stock, 0);
    let mut held: Vec<UserId> = winners.into_iter().collect();
    held.sort();
    assert_eq!(ledger.buyers, held);
    if let Some(stock) = stock {
        assert_eq!(stock.remaining(sale.id).await.unwrap(), Some(0));
    }
}

/// 10,000 attempts from 2,000 buyers on 100 units, on the database alone.
pub async fn flash_sale_crowd_never_oversells<B: Backend>(store: Arc<B>) {
    flash_sale_crowd(store, None, 10_000, 2_000, 100).await;
}

/// Every unpaid flash-sale order past its ten minutes, its payment racing
/// the close: one of the two wins each; a closed order's unit comes back
/// once to the database (and to `stock`, when given), a paid one's stays.
pub async fn flash_sale_close_races_payment_with<B: Backend>(
    store: Arc<B>,
    stock: Option<Arc<dyn SeckillStock>>,
) {
    let w = Arc::new(ShopWorld::with_seckill_stock(store.clone(), stock.clone()));
    let sku = seckill_sku(&w, 0).await;
    let sale = open_sale(&w, &sku, 20).await;
    let mut orders = Vec::new();
    for _ in 0..20 {
        let buyer = w.user();
        let address = w.address(buyer).await;
        orders.push(
            w.shop
                .seckill_order(buyer, sku.id, address.id)
                .await
                .expect("a unit"),
        );
    }
    w.clock.advance(Duration::minutes(10));
    let mut tasks = Vec::new();
    for order in &orders {
        let (w1, w2, order) = (w.clone(), w.clone(), order.clone());
        tasks.push(tokio::spawn(async move {
            let closing = tokio::spawn(async move { w1.shop.close_expired_orders().await });
            w2.pay_if_pending(&order).await;
            closing.await.expect("close task").expect("close");
        }));
    }
    for t in tasks {
        t.await.expect("race task");
    }
    let mut closed = 0u32;
    let mut paid = Vec::new();
    for order in &orders {
        let stored = w.shop.any_order(order.id).await.unwrap();
        match stored.state.status {
            OrderStatus::Closed => closed += 1,
            OrderStatus::Paid => paid.push(order.user_id),
            other => panic!("order {} ended {other:?}", order.id),
        }
    }
    paid.sort();
    let ledger = store.flash_sale_ledger(sale.id).await.unwrap();
    assert_eq!(ledger.stock, closed, "each closed order's unit back once");
    assert_eq!(ledger.buyers, paid);
    if let Some(stock) = stock {
        assert_eq!(stock.remaining(sale.id).await.unwrap(), Some(closed));
    }
}

/// [`flash_sale_close_races_payment_with`] on the database alone.
pub async fn flash_sale_close_races_payment<B: Backend>(store: Arc<B>) {
    flash_sale_close_races_payment_with(store, None).await;
}

/// A process dies between a take and its order: within
/// [`ShopConfig::seckill_grace`](crate::ShopConfig::seckill_grace)
/// reconciliation leaves the unit taken (its order may be on the way),
/// after it the unit comes back once; a `stock` that lost the sale (`lose`
/// makes it forget, as a restarted Redis would) is loaded again from the
/// database, buyers included — by the next purchase, or by reconciliation.
pub async fn flash_sale_reconciliation_with<B, F, Fut>(
    store: Arc<B>,
    stock: Arc<dyn SeckillStock>,
    lose: F,
) where
    B: Backend,
    F: Fn(FlashSaleId) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let w = ShopWorld::with_seckill_stock(store.clone(), Some(stock.clone()));
    let sku = seckill_sku(&w, 0).await;
    let sale = open_sale(&w, &sku, 5).await;
    assert_eq!(stock.remaining(sale.id).await.unwrap(), Some(5));

    // A buyer's unit is taken, then the process dies before the order.
    let ghost = w.user();
    assert_eq!(
        stock.take(sale.id, ghost, w.shop.now()).await.unwrap(),
        crate::seckill::Take::Taken
    );
    let buyer = w.user();
    let address = w.address(buyer).await;
    w.shop
        .seckill_order(buyer, sku.id, address.id)
        .await
        .unwrap();
    assert_eq!(stock.remaining(sale.id).await.unwrap(), Some(3));
    assert_eq!(store.flash_sale_ledger(sale.id).await.unwrap().stock, 4);

    // Within the grace period the take may still be placing its order.
    let r = w.shop.reconcile_flash_sales().await.unwrap();
    assert_eq!((r.sales, r.returned), (1, 0));
    assert_eq!(stock.remaining(sale.id).await.unwrap(), Some(3));

    // After it, the unit comes back, once.
    w.clock.advance(Duration::minutes(2));
    let r = w.shop.reconcile_flash_sales().await.unwrap();
    assert_eq!((r.returned, r.added, r.loaded), (1, 0, 0));
    assert_eq!(stock.remaining(sale.id).await.unwrap(), Some(4));
    let r = w.shop.reconcile_flash_sales().await.unwrap();
    assert_eq!(r.returned, 0);

    // The stock lost the sale: the next purchase loads it from the
    // database, its buyers included; so does reconciliation.
    lose(sale.id).await;
    let again = w.shop.seckill_order(buyer, sku.id, address.id).await;
    assert!(again.is_err(), "the buyer holds a unit: {again:?}");
    assert_eq!(stock.remaining(sale.id).await.unwrap(), Some(4));
    lose(sale.id).await;
    let r = w.shop.reconcile_flash_sales().await.unwrap();
    assert_eq!(r.loaded, 1);
    assert_eq!(stock.remaining(sale.id).await.unwrap(), Some(4));
    let other = w.user();
    let theirs = w.address(other).await;
    w.shop
        .seckill_order(other, sku.id, theirs.id)
        .await
        .unwrap();
    assert_eq!(stock.remaining(sale.id).await.unwrap(), Some(3));
    assert_eq!(store.flash_sale_ledger(sale.id).await.unwrap().stock, 3);
}
