//! Submit tokens kept apart from the orders
//! ([`Stores::with_submit_tokens`](crate::Stores::with_submit_tokens)): the
//! claim protocol of [`SubmitTokenStore`] as one compare-and-set, and a
//! shop placing one order per token through it, however many submissions
//! race.

use std::sync::Arc;

use chrono::Duration;

use super::fixtures::base_time;
use super::shop::ShopWorld;
use super::{concurrently, is_not_found, Backend};
use crate::error::{Entity, Error};
use crate::ids::{OrderId, UserId};
use crate::order::{SubmitTokenStore, SubmittedOrder, TokenClaim};

fn wanted(order: i64, fingerprint: &str) -> SubmittedOrder {
    SubmittedOrder {
        order_id: OrderId(order),
        request_fingerprint: fingerprint.to_owned(),
    }
}

/// The claim protocol on `store` (see
/// [`submit_token_claims_with`]).
pub async fn submit_token_claims_are_compare_and_set<B: Backend>(store: Arc<B>) {
    submit_token_claims_with(store).await;
}

/// The claim protocol of a [`SubmitTokenStore`], for a store of tokens
/// alone (e.g. Redis): only the buyer's unexpired token can be claimed; a
/// live claim answers `Pending` with its order id; a release makes the
/// token usable again and a finish consumes it (each only for the claim's
/// own order); a claim older than the lease is taken over under its order
/// id; 50 concurrent claims give one holder.
pub async fn submit_token_claims_with<S: SubmitTokenStore + ?Sized>(tokens: Arc<S>) {
    let now = base_time();
    let lease = Duration::seconds(30);
    let (buyer, stranger) = (UserId(7_100_001), UserId(7_100_002));
    tokens
        .issue_submit_token(buyer, "claim-1", now + Duration::minutes(10))
        .await
        .unwrap();
    let claim = |token: &'static str, user: UserId, want: SubmittedOrder, at| {
        let tokens = tokens.clone();
        async move {
            tokens
                .claim_submit_token(user, token, &want, at, at - lease)
                .await
                .unwrap()
        }
    };

    assert_eq!(
        claim("claim-1", stranger, wanted(1, "a"), now).await,
        TokenClaim::Unusable
    );
    assert_eq!(
        claim("nobody", buyer, wanted(1, "a"), now).await,
        TokenClaim::Unusable
    );
    assert_eq!(
        claim("claim-1", buyer, wanted(1, "a"), now).await,
        TokenClaim::Claimed {
            order_id: OrderId(1),
            resumed: false
        }
    );
    let later = now + Duration::seconds(5);
    assert_eq!(
        claim("claim-1", buyer, wanted(2, "b"), later).await,
        TokenClaim::Pending(wanted(1, "a")),
        "a live claim holds"
    );
    assert_eq!(
        tokens.submitted_order(buyer, "claim-1").await.unwrap(),
        None
    );

    // A release or a finish for another order changes nothing.
    tokens
        .release_submit_token(buyer, "claim-1", OrderId(2))
        .await
        .unwrap();
    tokens
        .finish_submit_token(buyer, "claim-1", OrderId(2))
        .await
        .unwrap();
    tokens
        .release_submit_token(stranger, "claim-1", OrderId(1))
        .await
        .unwrap();
    assert_eq!(
        claim("claim-1", buyer, wanted(2, "b"), later).await,
        TokenClaim::Pending(wanted(1, "a"))
    );

    // Released: usable again, under the new claim's order id.
    tokens
        .release_submit_token(buyer, "claim-1", OrderId(1))
        .await
        .unwrap();
    assert_eq!(
        claim("claim-1", buyer, wanted(3, "c"), later).await,
        TokenClaim::Claimed {
            order_id: OrderId(3),
            resumed: false
        }
    );

    // The holder died: after the lease, a retry takes over its order id.
    let stale = later + lease + Duration::seconds(1);
    assert_eq!(
        claim("claim-1", buyer, wanted(4, "c"), stale).await,
        TokenClaim::Claimed {
            order_id: OrderId(3),
            resumed: true
        }
    );
    tokens
        .finish_submit_token(buyer, "claim-1", OrderId(4))
        .await
        .unwrap();
    assert_eq!(
        tokens.submitted_order(buyer, "claim-1").await.unwrap(),
        None
    );
    tokens
        .finish_submit_token(buyer, "claim-1", OrderId(3))
        .await
        .unwrap();
    assert_eq!(
        tokens.submitted_order(buyer, "claim-1").await.unwrap(),
        Some(wanted(3, "c"))
    );
    assert_eq!(
        tokens.submitted_order(stranger, "claim-1").await.unwrap(),
        None
    );
    // Consumed for good: a late release changes nothing; every claim,
    // however late, is answered with the order.
    tokens
        .release_submit_token(buyer, "claim-1", OrderId(3))
        .await
        .unwrap();
    assert_eq!(
        claim("claim-1", buyer, wanted(5, "d"), now + Duration::hours(1)).await,
        TokenClaim::Placed(wanted(3, "c"))
    );

    // Expired before it was used.
    tokens
        .issue_submit_token(buyer, "claim-2", now + Duration::minutes(1))
        .await
        .unwrap();
    let expired = now + Duration::minutes(2);
    assert_eq!(
        claim("claim-2", buyer, wanted(6, "e"), expired).await,
        TokenClaim::Unusable
    );

    // Fifty claims at once: one holder, every other sees its claim.
    tokens
        .issue_submit_token(buyer, "claim-3", now + Duration::minutes(10))
        .await
        .unwrap();
    let answers = concurrently(
        (0..50)
            .map(|i| claim("claim-3", buyer, wanted(100 + i, "f"), now))
            .collect(),
    )
    .await;
    let holders: Vec<_> = answers
        .iter()
        .filter_map(|a| match a {
            TokenClaim::Claimed {
                order_id,
                resumed: false,
            } => Some(*order_id),
            _ => None,
        })
        .collect();
    assert_eq!(holders.len(), 1, "{answers:?}");
    for answer in &answers {
        match answer {
            TokenClaim::Claimed { .. } => {}
            TokenClaim::Pending(p) => assert_eq!(p.order_id, holders[0]),
            other => panic!("expected a claim or its pending answer, got {other:?}"),
        }
    }
}

/// A shop whose orders are in `store` and whose submit tokens are in the
/// same store's claim protocol (see [`submit_tokens_apart_place_once_with`]).
pub async fn submit_tokens_apart_place_one_order<B: Backend>(store: Arc<B>) {
    submit_tokens_apart_place_once_with(store.clone(), store).await;
}

/// With the orders in `store` and the submit tokens in `tokens`: fifty
/// copies of one submission at once place one order (each copy answers
/// it or [`Error::SubmitTokenInUse`] naming it, and the same request sent
/// again gets it); another request with the token is `SubmitTokenReused`;
/// a refused placement leaves the token usable; a claim whose holder died
/// holds the token for the lease, then a retry places the order under the
/// dead claim's order id.
pub async fn submit_tokens_apart_place_once_with<B: Backend>(
    store: Arc<B>,
    tokens: Arc<dyn SubmitTokenStore>,
) {
    let w = ShopWorld::with_submit_tokens(store, tokens.clone());
    let sku = w.sku("Cup", "10.00", 5).await;
    let buyer = w.user();
    let address = w.address(buyer).await;
    let request = w.request(buyer, &address, &sku, 1).await;
    let results = concurrently(
        (0..50)
            .map(|_| {
                let shop = w.shop.clone();
                let request = request.clone();
                async move { shop.place_order(buyer, request).await }
            })
            .collect(),
    )
    .await;
    let orders = w.shop.orders(buyer, 1, 10).await.unwrap();
    assert_eq!(orders.total, 1, "one order for fifty copies");
    let placed = orders.items[0].id;
    for result in &results {
        match result {
            Ok(order) => assert_eq!(order.id, placed),
            Err(Error::SubmitTokenInUse { order }) => assert_eq!(*order, placed),
            Err(other) => panic!("expected the order or SubmitTokenInUse, got {other:?}"),
        }
    }
    assert!(results.iter().any(Result::is_ok));
    assert_eq!(w.shop.sku(sku.id).await.unwrap().stock, 4);
    let again = w.shop.place_order(buyer, request.clone()).await.unwrap();
    assert_eq!(again.id, placed);
    let mut other = request.clone();
    other.items[0].quantity = 2;
    match w.shop.place_order(buyer, other).await {
        Err(Error::SubmitTokenReused { order }) => assert_eq!(order, placed),
        other => panic!("expected SubmitTokenReused, got {other:?}"),
    }
    let stranger = w.user();
    let mut theirs = request.clone();
    theirs.address_id = w.address(stranger).await.id;
    let err = w.shop.place_order(stranger, theirs).await.unwrap_err();
    assert!(is_not_found(&err, Entity::SubmitToken), "{err:?}");
    assert_eq!(w.shop.sku(sku.id).await.unwrap().stock, 4);

    // Refused (out of stock): the token stays usable.
    let mut too_many = w.request(buyer, &address, &sku, 1).await;
    too_many.items[0].quantity = 5;
    let err = w
        .shop
        .place_order(buyer, too_many.clone())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::OutOfStock { .. }), "{err:?}");
    too_many.items[0].quantity = 4;
    let second = w.shop.place_order(buyer, too_many).await.unwrap();
    assert_eq!(w.shop.sku(sku.id).await.unwrap().stock, 0);
    assert_eq!(w.shop.orders(buyer, 1, 10).await.unwrap().total, 2);

    // A holder that died after its claim.
    let restocked = w.sku("Plate", "10.00", 3).await;
    let request = w.request(buyer, &address, &restocked, 1).await;
    let token = request.submit_token.clone().unwrap();
    let now = w.shop.now();
    let dead = tokens
        .claim_submit_token(
            buyer,
            &token,
            &wanted(9_900_001, &request.fingerprint()),
            now,
            now - Duration::seconds(30),
        )
        .await
        .unwrap();
    assert!(matches!(dead, TokenClaim::Claimed { .. }), "{dead:?}");
    match w.shop.place_order(buyer, request.clone()).await {
        Err(Error::SubmitTokenInUse { order }) => assert_eq!(order, OrderId(9_900_001)),
        other => panic!("expected SubmitTokenInUse, got {other:?}"),
    }
    w.clock
        .advance(w.shop.config().submit_claim_lease + Duration::seconds(1));
    let taken_over = w.shop.place_order(buyer, request.clone()).await.unwrap();
    assert_eq!(taken_over.id, OrderId(9_900_001));
    assert_ne!(taken_over.id, second.id);
    assert_eq!(
        w.shop.place_order(buyer, request).await.unwrap().id,
        taken_over.id
    );
    assert_eq!(w.shop.sku(restocked.id).await.unwrap().stock, 2);
    assert_eq!(w.shop.orders(buyer, 1, 10).await.unwrap().total, 3);
}
