//! Placing an order: the atomic command, submit tokens (the idempotency
//! key of a submission) and their port, and how a store reports a line
//! short of stock.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{Order, OrderItem};
use crate::error::{Entity, Error, Result};
use crate::ids::{OrderId, SkuId, UserId};

/// The atomic placement command, built and validated by the order service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaceOrder {
    /// The complete order, in state pending, with price and address snapshots.
    pub order: Order,
    /// When given, consumed atomically: it must exist for the buyer, be
    /// unexpired at `order.created_at` and unused, else nothing is written.
    /// The store records the order and the request's fingerprint with it
    /// ([`SubmitTokenStore::submitted_order`]).
    pub submit_token: Option<SubmitTokenUse>,
    /// Whether to remove the bought SKUs from the buyer's cart.
    pub clear_cart: bool,
    /// For a flash-sale order (one line of one unit), its sale: the store
    /// records the buyer under a unique key on (sale, user), refusing a
    /// second with [`FlashSaleRefusal::AlreadyBought`](crate::seckill::FlashSaleRefusal::AlreadyBought),
    /// and deletes the record when the order closes.
    pub flash_sale: Option<crate::ids::FlashSaleId>,
    /// For a crowdfunding order, its campaign: inside the atomic write the
    /// campaign must be funding with its end after `order.created_at`
    /// (else [`CrowdfundingRefusal::Closed`](crate::crowdfunding::CrowdfundingRefusal::Closed)),
    /// and the order is recorded as the campaign's.
    pub crowdfunding: Option<crate::ids::CrowdfundingId>,
}

/// A submit token consumed by a placement, with the fingerprint of the
/// request that consumed it (see
/// [`PlaceOrderRequest::fingerprint`](crate::service::PlaceOrderRequest::fingerprint)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmitTokenUse {
    /// The token.
    pub token: String,
    /// The request's fingerprint, stored with the consumed token.
    pub request_fingerprint: String,
}

impl SubmitTokenUse {
    /// A token and a request fingerprint.
    pub fn new(token: impl Into<String>, request_fingerprint: impl Into<String>) -> Self {
        SubmitTokenUse {
            token: token.into(),
            request_fingerprint: request_fingerprint.into(),
        }
    }
}

/// What a consumed submit token placed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmittedOrder {
    /// The order the token placed.
    pub order_id: OrderId,
    /// The fingerprint of the request that placed it.
    pub request_fingerprint: String,
}

/// Port: submit tokens, the idempotency keys of checkout submissions. A
/// token is issued to a buyer, consumed by the placement it authorises
/// (inside [`OrderStore::place_order`](super::OrderStore::place_order)'s
/// atomic write, which records the order it placed), and answers a retried
/// submission with that order.
#[async_trait]
pub trait SubmitTokenStore: Send + Sync + 'static {
    /// Stores a submit token for `user`, valid until `expires_at`.
    async fn issue_submit_token(
        &self,
        user: UserId,
        token: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<()>;

    /// The order a consumed submit token of `user` placed, with its
    /// request's fingerprint; `None` when the token is unknown, somebody
    /// else's, or unused. Answers a retried submission.
    async fn submitted_order(&self, user: UserId, token: &str) -> Result<Option<SubmittedOrder>>;

    /// Claims `user`'s token for a placement written by another backend
    /// (tokens kept apart from the orders, e.g. in Redis: see
    /// [`Stores::with_submit_tokens`](crate::service::Stores::with_submit_tokens)),
    /// in one atomic compare-and-set:
    ///
    /// - unused, unexpired at `now` and not claimed, or claimed at or before
    ///   `stale_before` (the claimer died): the caller holds it now
    ///   ([`TokenClaim::Claimed`]) to place `wanted.order_id` — or, taking
    ///   over a stale claim, the order id of that claim, so a placement of
    ///   the dead claimer that did land is found rather than doubled;
    /// - consumed: [`TokenClaim::Placed`] with what it placed;
    /// - claimed after `stale_before`: [`TokenClaim::Pending`] with the
    ///   claim;
    /// - unknown, somebody else's, or expired and unused:
    ///   [`TokenClaim::Unusable`].
    ///
    /// The holder ends its claim with [`finish_submit_token`](Self::finish_submit_token)
    /// once the order is written, or [`release_submit_token`](Self::release_submit_token)
    /// when the placement was refused.
    async fn claim_submit_token(
        &self,
        user: UserId,
        token: &str,
        wanted: &SubmittedOrder,
        now: DateTime<Utc>,
        stale_before: DateTime<Utc>,
    ) -> Result<TokenClaim>;

    /// Marks `user`'s token consumed by `order`, the order of its claim
    /// (from then on [`submitted_order`](Self::submitted_order) answers
    /// with it). Does nothing when the token is not claimed for `order`.
    async fn finish_submit_token(&self, user: UserId, token: &str, order: OrderId) -> Result<()>;

    /// Gives up a claim for `order` whose placement was refused: the token
    /// is usable again. Does nothing when it is not claimed for `order`.
    async fn release_submit_token(&self, user: UserId, token: &str, order: OrderId) -> Result<()>;
}

/// The answer of [`SubmitTokenStore::claim_submit_token`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenClaim {
    /// The caller holds the token: place `order_id` with it.
    Claimed {
        /// The id the order must be placed with.
        order_id: OrderId,
        /// Whether this took over a stale claim, whose order may already
        /// be written.
        resumed: bool,
    },
    /// The token placed this order.
    Placed(SubmittedOrder),
    /// Another submission holds a live claim to place this order.
    Pending(SubmittedOrder),
    /// Unknown, somebody else's, or expired before it was used.
    Unusable,
}

/// What `place_order` reports when a line does not fit the stock: the first
/// line, in the order's own line order, that the stock each SKU had before
/// the order (`before`; a SKU missing from it does not exist) cannot cover,
/// earlier lines of the same SKU taken first. `None` when every line fits.
/// Every store reports its shortage with this, whatever order it took the
/// stock in.
pub fn first_shortage(items: &[OrderItem], before: &HashMap<SkuId, u32>) -> Option<Error> {
    let mut left: HashMap<SkuId, u32> = HashMap::new();
    for item in items {
        let Some(available) = left.get(&item.sku_id).or(before.get(&item.sku_id)).copied() else {
            return Some(Error::not_found(Entity::Sku, item.sku_id));
        };
        if available < item.quantity {
            return Some(Error::OutOfStock {
                sku: item.sku_id,
                requested: item.quantity,
                available,
            });
        }
        left.insert(item.sku_id, available - item.quantity);
    }
    None
}

/// The refusal of a store whose conditional stock decrement for the line of
/// `failed` matched no row, given the stock read back afterwards (`before`:
/// what each SKU had before this order, i.e. what is left plus what this
/// order already took). [`first_shortage`] decides; when every line fits
/// the stock read back (it moved in between), the failed SKU is reported
/// with what the order's lines of it wanted and what it had.
pub fn stock_shortage(items: &[OrderItem], before: &HashMap<SkuId, u32>, failed: SkuId) -> Error {
    first_shortage(items, before).unwrap_or_else(|| match before.get(&failed) {
        Some(&available) => Error::OutOfStock {
            sku: failed,
            requested: items
                .iter()
                .filter(|i| i.sku_id == failed)
                .fold(0u32, |sum, i| sum.saturating_add(i.quantity)),
            available,
        },
        None => Error::not_found(Entity::Sku, failed),
    })
}
