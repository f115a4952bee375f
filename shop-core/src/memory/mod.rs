//! The in-memory reference backend: [`MemoryStore`] implements every storage
//! port ([`CatalogStore`](crate::catalog::CatalogStore),
//! [`UserStore`](crate::user::UserStore), [`CartStore`](crate::cart::CartStore),
//! [`CouponStore`](crate::coupon::CouponStore),
//! [`OrderStore`](crate::order::OrderStore), the refund, submit token,
//! account and session stores, [`OutboxStore`](crate::outbox::OutboxStore)
//! and [`JobStore`](crate::jobs::JobStore)) on one struct. A write and its
//! events are recorded under the same lock.
//!
//! All data lives behind one [`std::sync::Mutex`]. Every method takes the
//! lock, does its checks and writes synchronously and releases it before
//! returning, so each method is atomic and the lock is never held across an
//! `.await`. A failing write validates everything before touching the state,
//! so it writes nothing. The store passes `shop_core::conformance` (feature
//! `testing`) and is the reference other backends are compared with.
//!
//! ```
//! use shop_core::catalog::{Category, CatalogStore};
//! use shop_core::ids::CategoryId;
//! use shop_core::memory::MemoryStore;
//!
//! # #[tokio::main] async fn main() -> shop_core::Result<()> {
//! let store = MemoryStore::new();
//! let phones = Category::new(CategoryId(1), "Phones", true, None)?;
//! store.create_category(&phones).await?;
//! assert_eq!(store.get_category(CategoryId(1)).await?, Some(phones));
//! # Ok(()) }
//! ```
//!
//! # How ambiguous parts of the port contracts are read
//!
//! These are the readings every backend must share (the conformance suite
//! checks them):
//!
//! - **Duplicate keys.** Inserting an entity whose id is taken fails with
//!   `StoreError::AlreadyExists` for that entity; so does a taken coupon code,
//!   order number, order line id, refund number or submit token.
//! - **Missing parents.** `create_sku` for an unknown product and
//!   `create_product` with an unknown category fail with `NotFound`; a SKU of
//!   `create_product` whose `product_id` is not the product's fails with
//!   `Validation { field: "skus" }`. Updating or deleting something absent
//!   (product, SKU, address, coupon) is `NotFound`, and so are
//!   `category_subtree`, `adjust_stock` and `refresh_product_stats` of an
//!   unknown id. `get_products` and `get_skus` return each found entity
//!   once, whatever the repetitions in the ids asked for.
//! - **Listing an unknown category** gives an empty page.
//! - **Listings do not validate pages.** `list_products` and `list_orders`
//!   skip `(page.max(1) - 1) × per_page` rows and return at most `per_page`
//!   (so `per_page == 0` gives an empty page with the right `total`); the
//!   services validate queries. Ties in every sort are broken by id,
//!   highest first.
//! - **`update_product`** keeps `rating`, `sold_count`, `review_count` and
//!   `created_at`; **`update_sku`** keeps `stock` and `product_id`;
//!   **`update_coupon`** keeps `code`, `used` and `created_at`.
//! - **`adjust_stock`** of a negative result is
//!   `OutOfStock { requested: -delta, available: stock }`; a result above
//!   `u32::MAX` is `Validation { field: "delta" }`.
//! - **Carts.** A merge above `u32::MAX` is `Validation { field: "quantity" }`;
//!   a merged line keeps its first `added_at`.
//! - **Favorites.** Adding an existing favorite keeps its first time; ties in
//!   time list the higher product id first.
//! - **`place_order`** checks, in order: the submit token (exists for the
//!   buyer, unused, `expires_at > order.created_at`), the order number and id
//!   and line ids (`AlreadyExists`), the stock line by line (a SKU that
//!   appears on two lines must cover both; an unknown SKU is `NotFound`), then
//!   the coupon (unknown: `NotFound`; enabled, `used < total`, validity window
//!   at `created_at`, once per user: `CouponRejected`). The minimum amount
//!   (check 4) is the service's: the order's amounts were computed from it.
//!   It does not touch the address (orders hold a snapshot, not an id).
//! - **Once per user** (`coupon_held_by` and inside `place_order`): the user
//!   holds the coupon on an order whose state
//!   [holds it](crate::order::OrderState::holds_coupon): pending, or paid (or
//!   later) with a refund sub-state other than `Refunded`. Closed and fully
//!   refunded orders release it.
//! - **`transition`** writes the patch's `Some` fields and leaves the others
//!   as they are. It does not judge the state machine (the services do).
//! - **`close_order`** needs exactly pending with refund `None`; it gives the
//!   coupon's use back with a saturating decrement.
//! - **`review_order`** checks the state first (`cmd.expected`, else
//!   `Conflict`; `InvalidTransition` when a review does not apply to it),
//!   then the reviews: one per line of the
//!   order, no unknown or repeated line (`Validation { field: "reviews" }`),
//!   ratings 1..=5 (`Validation { field: "rating" }`). The order keeps its
//!   refund sub-state. `list_product_reviews` lists newest `reviewed_at`
//!   first, ties by order id then line id, highest first.
//! - **`create_refund`** checks, in order: the order exists (`NotFound`), its
//!   state is `cmd.expected` (`Conflict`), the refund number and id are free
//!   (`AlreadyExists { Refund }`), every line is one of the order's with a
//!   quantity ≥ 1 and the counted refunded units (refunds not `Failed`) plus
//!   the new ones stay within what was bought (`Validation { field: "lines" }`),
//!   the amount is ≥ 0, in the order's currency, and with the counted refunds
//!   stays within `order.total` (`Validation { field: "amount" }`). The
//!   refund is stored as given (the service passes it pending).
//! - **`finish_refund`** checks the refund exists (`NotFound`) and is pending
//!   (`Conflict { Refund }`), that the outcome is not `Pending`
//!   (`Validation { field: "outcome" }`), then the order's state
//!   (`Conflict { Order }`).
//! - **The outbox.** Sequence numbers start at 1 and are never reused, even
//!   after pruning; `prune_events` keeps the newest event; a listener
//!   registered at [`ListenerStart::Oldest`](crate::events::ListenerStart)
//!   starts right before the oldest event kept (0 when there is none);
//!   `claim_listener` prefers the listener due longest, then by name, and
//!   only claims one behind the newest event.
//! - **Jobs.** A tick is claimable when the job's last finished tick is
//!   earlier and no lease runs after `now`; a lease that ends exactly at
//!   `now` has ended.
//! - **`refresh_product_stats`**: `review_count` counts reviewed lines of the
//!   product; `rating` is their mean rounded half-up to 2 decimals (0 when
//!   none); `sold_count` sums the units of the product's lines over paid
//!   orders, refunded or not.
//! - **Flash sales.** `create_flash_sale` stores the sale and sets its SKU's
//!   stock to its quantity (`NotFound { Sku }` for an unknown SKU,
//!   `AlreadyExists { FlashSale }` for a taken id); `flash_sale_of_sku` is
//!   the SKU's sale with the latest start (ties: highest id);
//!   `list_flash_sales` lists sales with `ends_at > after` by start, then
//!   id. A placement with `flash_sale` refuses a buyer who holds one of its
//!   units already with `FlashSale(AlreadyBought)` (checked after the
//!   coupon); closing the order frees the buyer. The ledger's buyers are in
//!   ascending id order.

mod accounts;
mod cache;
mod carts;
mod catalog;
mod coupons;
mod crowdfunding;
mod delay;
mod installment;
mod orders;
mod outbox;
mod refunds;
mod reviews;
mod seckill;
mod users;

pub use cache::MemoryReadCache;
pub use delay::MemoryDelayQueue;
pub use seckill::MemorySeckillStock;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Mutex, MutexGuard, PoisonError};

use chrono::{DateTime, Utc};

use crate::cart::CartItem;
use crate::catalog::{Category, Product, Sku};
use crate::coupon::Coupon;
use crate::error::{Entity, Error, Result, StoreError};
use crate::events::EventRecord;
use crate::ids::{
    AddressId, CategoryId, CouponId, FlashSaleId, OrderId, OrderItemId, ProductId, RefundId, SkuId,
    UserId,
};
use crate::order::Order;
use crate::refund::Refund;
use crate::seckill::FlashSale;
use crate::user::Address;

/// The in-memory backend: every store port on one thread-safe struct.
///
/// Cloning is not offered: share it with an `Arc<MemoryStore>` (or
/// `Arc<dyn OrderStore>` and friends).
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        MemoryStore::default()
    }

    /// Locks the state. A panic inside a method cannot leave a half-done
    /// write (methods check everything before writing), so a poisoned lock
    /// is taken over.
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `write` under the lock and, when it succeeds, records `events`
    /// in the outbox under the same lock: one atomic step.
    fn write<T>(
        &self,
        events: &[EventRecord],
        write: impl FnOnce(&mut State) -> Result<T>,
    ) -> Result<T> {
        let mut state = self.state();
        let done = write(&mut state)?;
        state.outbox.append(events);
        Ok(done)
    }
}

/// A submit token as issued.
#[derive(Debug, Clone)]
struct SubmitToken {
    user: UserId,
    expires_at: DateTime<Utc>,
    /// Set when a placement consumed it.
    used: Option<crate::order::SubmittedOrder>,
    /// A claim for a placement elsewhere, and when it was made.
    claim: Option<(crate::order::SubmittedOrder, DateTime<Utc>)>,
}

impl SubmitToken {
    /// Whether it is `user`'s, unused and claimed to place `order`.
    fn claimed_for(&self, user: UserId, order: OrderId) -> bool {
        self.user == user
            && self.used.is_none()
            && self.claim.as_ref().is_some_and(|c| c.0.order_id == order)
    }
}

/// Everything the store holds. Maps keyed by id iterate in id order.
#[derive(Debug, Default)]
struct State {
    categories: BTreeMap<CategoryId, Category>,
    products: BTreeMap<ProductId, Product>,
    skus: BTreeMap<SkuId, Sku>,
    addresses: BTreeMap<AddressId, Address>,
    /// Per user: product → when it was added.
    favorites: HashMap<UserId, HashMap<ProductId, DateTime<Utc>>>,
    /// Per user: product → when it was last viewed.
    history: HashMap<UserId, HashMap<ProductId, DateTime<Utc>>>,
    carts: BTreeMap<(UserId, SkuId), CartItem>,
    coupons: BTreeMap<CouponId, Coupon>,
    orders: BTreeMap<OrderId, Order>,
    order_nos: HashMap<String, OrderId>,
    order_item_ids: HashSet<OrderItemId>,
    submit_tokens: HashMap<String, SubmitToken>,
    refunds: BTreeMap<RefundId, Refund>,
    refund_nos: HashMap<String, RefundId>,
    accounts: BTreeMap<UserId, crate::account::Account>,
    account_tokens: HashMap<String, accounts::StoredToken>,
    sessions: HashMap<String, crate::account::Session>,
    outbox: outbox::Outbox,
    jobs: BTreeMap<String, outbox::Job>,
    flash_sales: BTreeMap<FlashSaleId, FlashSale>,
    /// (sale, buyer) → the buyer's order holding the unit.
    flash_sale_buyers: HashMap<(FlashSaleId, UserId), OrderId>,
    crowdfundings: BTreeMap<crate::ids::CrowdfundingId, crate::crowdfunding::Crowdfunding>,
    /// (campaign, order) for every order placed into a campaign.
    crowdfunding_orders: std::collections::BTreeSet<(crate::ids::CrowdfundingId, OrderId)>,
    installment_plans: BTreeMap<crate::ids::InstallmentPlanId, crate::installment::InstallmentPlan>,
}

/// `StoreError::AlreadyExists` as an [`Error`].
fn already_exists(entity: Entity, key: impl ToString) -> Error {
    Error::Store(StoreError::AlreadyExists {
        entity,
        key: key.to_string(),
    })
}

/// `StoreError::Conflict` as an [`Error`].
fn conflict(entity: Entity, id: impl ToString) -> Error {
    Error::Store(StoreError::Conflict {
        entity,
        id: id.to_string(),
    })
}

/// The items of one page: skips `(page.max(1) - 1) × per_page`, takes
/// `per_page`.
fn page_of<T>(items: Vec<T>, page: u32, per_page: u32) -> Vec<T> {
    let skip = u64::from(page.max(1) - 1) * u64::from(per_page);
    let skip = usize::try_from(skip).unwrap_or(usize::MAX);
    items
        .into_iter()
        .skip(skip)
        .take(per_page as usize)
        .collect()
}
