//! Rules of the [`Shop`](crate::Shop) that must come out the same on every
//! backend: text rules, one decimal scale, refund approvals racing, submit
//! tokens as idempotency keys.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::fixtures::cny;
use super::shop::ShopWorld;
use super::{concurrently, is_not_found, is_validation, Backend};
use crate::catalog::{ProductQuery, Property, Sku};
use crate::coupon::{CouponDraft, CouponKind};
use crate::error::{Entity, Error, ErrorKind};
use crate::ids::UserId;
use crate::order::{Order, OrderStatus, RefundStatus};
use crate::service::ReviewRequest;

fn assert_validation<T: std::fmt::Debug>(result: crate::Result<T>, field: &str) {
    match result {
        Err(e) if is_validation(&e, field) => {}
        other => panic!("expected a validation error of {field}, got {other:?}"),
    }
}

/// A paid order of `buyer`, shipped and received.
async fn received(w: &ShopWorld, buyer: UserId, sku: &Sku) -> Order {
    let order = w.paid_order(buyer, sku, 1).await;
    w.shop
        .ship_order(order.id, "SF Express", "SF100")
        .await
        .expect("ship");
    w.shop
        .confirm_receipt(buyer, order.id)
        .await
        .expect("receive")
}

/// Text with every legal kind of character (CJK, emoji, combining marks,
/// right-to-left script; newlines and tabs where multi-line) is stored and
/// read back exactly and found by a substring; NUL and other control
/// characters are refused with `Validation` naming the field by every use
/// case that takes text, and nothing is written.
pub async fn text_rules_hold_on_every_backend<B: Backend>(store: Arc<B>) {
    let w = ShopWorld::new(store);
    let title = "Tea cup 茶杯 ☕ e\u{301} עברית 🍵";
    let description = "Line one\n\tindented\r\nline three";
    let (product, _) = w
        .shop
        .create_product(
            ShopWorld::product_draft(title, description),
            vec![ShopWorld::sku_draft("10.00", 5)],
        )
        .await
        .unwrap();
    let read = w.shop.product(product.id).await.unwrap();
    assert_eq!(read.title, title);
    assert_eq!(read.description, description);
    assert_eq!(w.search("茶杯").await.unwrap(), vec![title.to_owned()]);
    assert_eq!(w.search("🍵").await.unwrap(), vec![title.to_owned()]);
    for keyword in ["cup\0x", "cup\u{1}", "cup\nx", "\u{7f}"] {
        assert_validation(w.search(keyword).await, "keyword");
    }

    // The catalog.
    let bad = "bad\0text";
    let draft = |f: &dyn Fn(&mut crate::catalog::ProductDraft)| {
        let mut d = ShopWorld::product_draft("Cup", "");
        f(&mut d);
        d
    };
    let sku = || vec![ShopWorld::sku_draft("10.00", 5)];
    let cases: [(&str, crate::catalog::ProductDraft); 5] = [
        ("title", draft(&|d| d.title = bad.to_owned())),
        ("title", draft(&|d| d.title = "two\nlines".to_owned())),
        (
            "long_title",
            draft(&|d| d.long_title = "\u{1b}[31m".to_owned()),
        ),
        (
            "description",
            draft(&|d| d.description = "bell\u{7}".to_owned()),
        ),
        (
            "properties",
            draft(&|d| {
                d.properties = vec![Property {
                    name: "colour".to_owned(),
                    value: bad.to_owned(),
                }]
            }),
        ),
    ];
    for (field, draft) in cases {
        assert_validation(w.shop.create_product(draft, sku()).await, field);
    }
    let mut bad_sku = ShopWorld::sku_draft("10.00", 5);
    bad_sku.title = bad.to_owned();
    assert_validation(
        w.shop
            .create_product(ShopWorld::product_draft("Cup", ""), vec![bad_sku])
            .await,
        "sku.title",
    );
    assert_validation(
        w.shop
            .update_product(product.id, draft(&|d| d.title = bad.to_owned()))
            .await,
        "title",
    );
    assert_validation(w.shop.create_category(bad, false, None).await, "name");
    let all = ProductQuery {
        page: 1,
        per_page: 100,
        ..ProductQuery::default()
    };
    let listed = w.shop.list_products(all.clone()).await.unwrap();
    assert_eq!(listed.total, 1);
    assert_eq!(listed.items[0].title, title);
    // The longest description, in four-byte characters, fits every backend.
    let longest = "🍵".repeat(crate::catalog::MAX_DESCRIPTION_CHARS);
    let mut sku = ShopWorld::sku_draft("10.00", 1);
    sku.description = longest.clone();
    let (big, big_skus) = w
        .shop
        .create_product(ShopWorld::product_draft("Big", &longest), vec![sku])
        .await
        .unwrap();
    assert_eq!(w.shop.product(big.id).await.unwrap().description, longest);
    assert_eq!(
        w.shop.sku(big_skus[0].id).await.unwrap().description,
        longest
    );
    assert!(w.shop.category_tree().await.unwrap().is_empty());

    // Addresses.
    let buyer = w.user();
    for field in ["street", "zip", "contact_name"] {
        let mut address = ShopWorld::address_draft();
        match field {
            "street" => address.street = bad.to_owned(),
            "zip" => address.zip = "3100\u{1}".to_owned(),
            _ => address.contact_name = "Ann\n".to_owned(),
        }
        assert_validation(w.shop.create_address(buyer, address).await, field);
    }
    assert!(w.shop.addresses(buyer).await.unwrap().is_empty());

    // Coupons.
    let mut coupon = percent_coupon("10");
    coupon.name = bad.to_owned();
    assert_validation(w.shop.create_coupon(coupon, None).await, "name");
    assert!(w.shop.coupons().await.unwrap().is_empty());
    assert_validation(w.shop.coupon_by_code("WELCOME\0").await, "coupon_code");

    // Placing an order.
    let sku = w.sku("Mug", "10.00", 5).await;
    let address = w.address(buyer).await;
    let request = w.request(buyer, &address, &sku, 1).await;
    let mut remark = request.clone();
    remark.remark = "please\0".to_owned();
    assert_validation(w.shop.place_order(buyer, remark).await, "remark");
    let mut token = request.clone();
    token.submit_token = Some("tok\0".to_owned());
    assert_validation(w.shop.place_order(buyer, token).await, "submit_token");
    let mut code = request.clone();
    code.coupon_code = Some("WELCOME\0".to_owned());
    assert_validation(w.shop.place_order(buyer, code).await, "coupon_code");
    assert_eq!(w.shop.orders(buyer, 1, 10).await.unwrap().total, 0);
    assert_eq!(w.shop.sku(sku.id).await.unwrap().stock, 5);
    assert_validation(w.shop.order_by_no(buyer, "2024\0").await, "order_no");
    // The request itself is fine: it places the order.
    let mut multiline = request;
    multiline.remark = "ring twice\n\tthanks".to_owned();
    let order = w.shop.place_order(buyer, multiline).await.unwrap();
    assert_eq!(
        w.shop.order(buyer, order.id).await.unwrap().remark,
        "ring twice\n\tthanks"
    );

    // After payment: shipping, refund reasons, reviews.
    let paid = w.paid_order(buyer, &sku, 1).await;
    assert_validation(
        w.shop.ship_order(paid.id, "SF", "SF\0").await,
        "tracking_no",
    );
    assert_validation(
        w.shop.ship_order(paid.id, "S\u{85}F", "SF1").await,
        "carrier",
    );
    assert_validation(w.shop.apply_refund(buyer, paid.id, bad).await, "reason");
    let unchanged = w.shop.order(buyer, paid.id).await.unwrap();
    assert_eq!(unchanged.state.status, OrderStatus::Paid);
    assert_eq!(unchanged.state.refund, RefundStatus::None);
    let received = received(&w, buyer, &sku).await;
    let review = |text: &str| {
        vec![ReviewRequest {
            item_id: received.items[0].id,
            rating: 5,
            text: text.to_owned(),
        }]
    };
    assert_validation(
        w.shop
            .review_order(buyer, received.id, review("good\0"))
            .await,
        "text",
    );
    assert_eq!(
        w.shop.order(buyer, received.id).await.unwrap().state.status,
        OrderStatus::Received
    );
    let reviewed = w
        .shop
        .review_order(buyer, received.id, review("Good.\nWould buy again."))
        .await
        .unwrap();
    assert_eq!(
        reviewed.items[0].review.as_ref().map(|r| r.text.as_str()),
        Some("Good.\nWould buy again.")
    );
}

fn percent_coupon(value: &str) -> CouponDraft {
    CouponDraft {
        name: "Ten off".to_owned(),
        kind: CouponKind::Percent,
        value: value.parse().expect("a decimal"),
        min_amount: cny("0.01"),
        total: 10,
        not_before: None,
        not_after: None,
        enabled: true,
    }
}

/// Every decimal leaves the library with one scale whatever the backend:
/// amounts with their currency's minor digits (`20.00`, `19.90`), ratings
/// and percentages with two (`4.00`, `0.00`, `10.00`); the largest price,
/// coupon minimum and coupon total, and an order of 999 units at the
/// largest price, are stored exactly.
pub async fn decimals_read_the_same_on_every_backend<B: Backend>(store: Arc<B>) {
    let w = ShopWorld::new(store);
    let round = w.sku("Round price", "20", 10).await;
    let product = w.shop.product(round.product_id).await.unwrap();
    assert_eq!(product.price.amount().to_string(), "20.00");
    assert_eq!(product.rating.to_string(), "0.00");
    let sku = w.shop.sku(round.id).await.unwrap();
    assert_eq!(sku.price.amount().to_string(), "20.00");

    let percent = w
        .shop
        .create_coupon(percent_coupon("10"), None)
        .await
        .unwrap();
    let read = w.shop.coupon(percent.id).await.unwrap();
    assert_eq!(read.draft.value.to_string(), "10.00");
    assert_eq!(read.draft.min_amount.amount().to_string(), "0.01");
    let mut fixed = percent_coupon("5");
    fixed.kind = CouponKind::Fixed;
    fixed.min_amount = cny("50");
    let fixed = w.shop.create_coupon(fixed, None).await.unwrap();
    let read = w.shop.coupon(fixed.id).await.unwrap();
    assert_eq!(read.draft.value.to_string(), "5.00");
    assert_eq!(read.draft.min_amount.amount().to_string(), "50.00");
    assert_validation(
        w.shop.create_coupon(percent_coupon("12.345"), None).await,
        "value",
    );
    // The largest amounts and counts fit every backend's columns.
    let mut most = percent_coupon("100");
    most.total = crate::coupon::MAX_COUPON_TOTAL;
    most.min_amount = crate::Money::new(crate::money::MAX_AMOUNT, crate::Currency::Cny);
    let most = w.shop.create_coupon(most, None).await.unwrap();
    let read = w.shop.coupon(most.id).await.unwrap();
    assert_eq!(read.draft.total, crate::coupon::MAX_COUPON_TOTAL);
    assert_eq!(read.draft.min_amount.amount().to_string(), "999999999.99");
    let mut too_many = percent_coupon("10");
    too_many.total = crate::coupon::MAX_COUPON_TOTAL + 1;
    assert_validation(w.shop.create_coupon(too_many, None).await, "total");
    let dearest = w.sku("Dearest", "999999999.99", 1000).await;
    assert_validation(
        w.shop
            .create_product(
                ShopWorld::product_draft("Too dear", ""),
                vec![ShopWorld::sku_draft("1000000000.00", 1)],
            )
            .await,
        "sku.price",
    );
    let whale = w.user();
    let big = w.paid_order(whale, &dearest, 999).await;
    assert_eq!(big.total.amount().to_string(), "998999999990.01");

    let buyer = w.user();
    let odd = w.sku("Odd price", "19.9", 10).await;
    let order = w.paid_order(buyer, &odd, 2).await;
    assert_eq!(order.total.amount().to_string(), "39.80");
    assert_eq!(order.items[0].unit_price.amount().to_string(), "19.90");
    let listed = w.shop.orders(buyer, 1, 10).await.unwrap();
    assert_eq!(listed.items[0].total.amount().to_string(), "39.80");

    // Ratings: one review of 4 is 4.00; 1, 2 and 2 are 1.67.
    for (stars, expected) in [(vec![4], "4.00"), (vec![1, 2, 2], "1.67")] {
        let sku = w.sku("Rated", "5.00", 10).await;
        for rating in stars {
            let buyer = w.user();
            let order = received(&w, buyer, &sku).await;
            w.shop
                .review_order(
                    buyer,
                    order.id,
                    vec![ReviewRequest {
                        item_id: order.items[0].id,
                        rating,
                        text: String::new(),
                    }],
                )
                .await
                .unwrap();
        }
        // The counters follow the outbox.
        w.shop.dispatch_events().await.unwrap();
        let product = w.shop.product(sku.product_id).await.unwrap();
        assert_eq!(product.rating.to_string(), expected);
        assert_eq!(product.rating.scale(), 2);
        let listed = w
            .shop
            .list_products(ProductQuery {
                keyword: Some("Rated".to_owned()),
                page: 1,
                per_page: 10,
                ..ProductQuery::default()
            })
            .await
            .unwrap();
        let listed = listed.items.iter().find(|p| p.id == product.id).unwrap();
        assert_eq!(listed.rating.to_string(), expected);
    }
}

/// Twenty administrators approve one refund application at once: exactly
/// one approval succeeds, every other gets a conflict (never "nothing left
/// to refund"), and the gateway is asked once.
pub async fn refund_approvals_race_to_one<B: Backend>(store: Arc<B>) {
    let w = ShopWorld::new(store);
    let sku = w.sku("Cup", "10.00", 10).await;
    let buyer = w.user();
    let order = w.paid_order(buyer, &sku, 2).await;
    w.shop
        .apply_refund(buyer, order.id, "broken")
        .await
        .unwrap();
    let results = concurrently(
        (0..20)
            .map(|_| {
                let shop = w.shop.clone();
                async move { shop.approve_refund(order.id, None).await }
            })
            .collect(),
    )
    .await;
    let mut approved = 0;
    for result in results {
        match result {
            Ok(refund) => {
                approved += 1;
                assert_eq!(refund.amount, cny("20.00"));
            }
            Err(e) => assert_eq!(e.kind(), ErrorKind::Conflict, "{e:?}"),
        }
    }
    assert_eq!(approved, 1);
    assert_eq!(w.gateway.refunds.load(Ordering::SeqCst), 1);
    assert_eq!(w.shop.refunds(buyer, order.id).await.unwrap().len(), 1);
    let order = w.shop.order(buyer, order.id).await.unwrap();
    assert_eq!(order.state.refund, RefundStatus::Refunded);
}

/// A submit token is an idempotency key: the same request sent again (or
/// ten times at once) gets the one order it placed; another request with
/// the token gets `SubmitTokenReused`; somebody else's token is unknown.
pub async fn submit_token_retries_get_their_order<B: Backend>(store: Arc<B>) {
    let w = ShopWorld::new(store);
    let sku = w.sku("Cup", "10.00", 5).await;
    let buyer = w.user();
    let address = w.address(buyer).await;
    let request = w.request(buyer, &address, &sku, 1).await;
    let first = w.shop.place_order(buyer, request.clone()).await.unwrap();
    let again = w.shop.place_order(buyer, request.clone()).await.unwrap();
    assert_eq!(again, first);
    assert_eq!(w.shop.sku(sku.id).await.unwrap().stock, 4);

    let mut other = request.clone();
    other.items[0].quantity = 2;
    match w.shop.place_order(buyer, other).await {
        Err(Error::SubmitTokenReused { order }) => assert_eq!(order, first.id),
        other => panic!("expected SubmitTokenReused, got {other:?}"),
    }
    let stranger = w.user();
    let mut theirs = request.clone();
    theirs.address_id = w.address(stranger).await.id;
    let err = w.shop.place_order(stranger, theirs).await.unwrap_err();
    assert!(is_not_found(&err, Entity::SubmitToken), "{err:?}");
    assert_eq!(w.shop.sku(sku.id).await.unwrap().stock, 4);
    assert_eq!(w.shop.orders(buyer, 1, 10).await.unwrap().total, 1);

    // Ten copies of one submission at once, for the last unit: one order,
    // and every copy answers it.
    let last = w.sku("Last one", "10.00", 1).await;
    let request = w.request(buyer, &address, &last, 1).await;
    let results = concurrently(
        (0..10)
            .map(|_| {
                let shop = w.shop.clone();
                let request = request.clone();
                async move { shop.place_order(buyer, request).await }
            })
            .collect(),
    )
    .await;
    let ids: std::collections::BTreeSet<_> = results
        .into_iter()
        .map(|r| r.expect("every copy gets the order").id)
        .collect();
    assert_eq!(ids.len(), 1);
    assert_eq!(w.shop.sku(last.id).await.unwrap().stock, 0);
    assert_eq!(w.shop.orders(buyer, 1, 10).await.unwrap().total, 2);
}
