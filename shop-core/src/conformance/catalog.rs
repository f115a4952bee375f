//! Catalog cases: categories, products, listings, SKUs and stock.

use std::collections::BTreeSet;
use std::sync::Arc;

use rust_decimal::Decimal;

use super::fixtures::{cny, Fixture};
use super::{concurrently, is_already_exists, is_not_found, is_refused, is_validation, Backend};
use crate::catalog::{Category, Product, MAX_STOCK};
use crate::error::{Entity, Error};
use crate::ids::{CategoryId, ProductId, SkuId};

fn ids_of(categories: &[Category]) -> Vec<CategoryId> {
    categories.iter().map(|c| c.id).collect()
}

/// Categories: insert, load, list by id, subtrees (with a sibling whose id
/// shares a prefix), breadcrumbs from the path, duplicates, unknown ids.
pub async fn catalog_category_tree<B: Backend>(store: Arc<B>) {
    let fx = Fixture::new(Arc::clone(&store));
    // Explicit small ids so that "-1-" and "-11-" are both in play.
    let one = Category::new(CategoryId(1), "One", true, None).unwrap();
    let eleven = Category::new(CategoryId(11), "Eleven", true, None).unwrap();
    let two = Category::new(CategoryId(2), "Two", false, Some(&one)).unwrap();
    let twelve = Category::new(CategoryId(12), "Twelve", false, Some(&eleven)).unwrap();
    for c in [&one, &eleven, &two, &twelve] {
        store.create_category(c).await.unwrap();
    }
    let tree = fx.category_tree().await;

    assert_eq!(
        store.get_category(CategoryId(2)).await.unwrap(),
        Some(two.clone())
    );
    assert_eq!(
        store.get_category(tree.android.id).await.unwrap(),
        Some(tree.android.clone())
    );
    assert_eq!(store.get_category(CategoryId(999_999)).await.unwrap(), None);

    let all = store.list_categories().await.unwrap();
    assert_eq!(
        all,
        vec![
            one.clone(),
            two.clone(),
            eleven.clone(),
            twelve.clone(),
            tree.electronics.clone(),
            tree.phones.clone(),
            tree.android.clone(),
            tree.books.clone(),
        ],
        "list_categories lists every category by id"
    );

    let sub = store.category_subtree(CategoryId(1)).await.unwrap();
    assert_eq!(
        ids_of(&sub),
        [CategoryId(1), CategoryId(2)],
        "-11- is not under -1-"
    );
    let sub = store.category_subtree(tree.electronics.id).await.unwrap();
    assert_eq!(
        sub,
        vec![
            tree.electronics.clone(),
            tree.phones.clone(),
            tree.android.clone()
        ]
    );
    let sub = store.category_subtree(tree.phones.id).await.unwrap();
    assert_eq!(ids_of(&sub), [tree.phones.id, tree.android.id]);
    let sub = store.category_subtree(tree.android.id).await.unwrap();
    assert_eq!(sub, vec![tree.android.clone()]);
    let err = store
        .category_subtree(CategoryId(999_999))
        .await
        .unwrap_err();
    assert!(is_not_found(&err, Entity::Category), "{err:?}");

    // Breadcrumbs: the ancestors named by the path, root first.
    let android = store.get_category(tree.android.id).await.unwrap().unwrap();
    let mut crumbs = Vec::new();
    for id in android.ancestor_ids() {
        crumbs.push(store.get_category(id).await.unwrap().unwrap().name);
    }
    assert_eq!(crumbs, ["Electronics", "Phones"]);
    assert_eq!(android.level, 2);

    let err = store.create_category(&tree.books).await.unwrap_err();
    assert!(is_already_exists(&err, Entity::Category), "{err:?}");
    assert_eq!(store.list_categories().await.unwrap().len(), 8);
}

/// Products: create with SKUs (all or nothing), load, update without
/// touching the counters, duplicates and unknown ids.
pub async fn catalog_product_crud<B: Backend>(store: Arc<B>) {
    let fx = Fixture::new(Arc::clone(&store));
    let tree = fx.category_tree().await;
    let (mut pixel, skus) = fx.build_product(
        "Pixel 8",
        Some(&tree.android),
        &[("599.00", 3), ("499.00", 5)],
    );
    pixel.rating = Decimal::new(450, 2);
    pixel.sold_count = 10;
    pixel.review_count = 3;
    pixel.properties = vec![crate::catalog::Property {
        name: "colour".to_owned(),
        value: "black".to_owned(),
    }];
    assert_eq!(pixel.price, cny("499.00"));
    store.create_product(&pixel, &skus, &[]).await.unwrap();

    assert_eq!(
        store.get_product(pixel.id).await.unwrap(),
        Some(pixel.clone())
    );
    assert_eq!(store.list_skus(pixel.id).await.unwrap(), skus);
    assert_eq!(
        store
            .get_products(&[ProductId(999_999), pixel.id])
            .await
            .unwrap(),
        vec![pixel.clone()]
    );
    assert_eq!(store.get_product(ProductId(999_999)).await.unwrap(), None);

    // A duplicate product id: refused, and its SKUs are not stored.
    let (mut copy, copy_skus) = fx.build_product("Copy", None, &[("1.00", 1)]);
    copy.id = pixel.id;
    let copy_skus: Vec<_> = copy_skus
        .into_iter()
        .map(|mut s| {
            s.product_id = pixel.id;
            s
        })
        .collect();
    let err = store
        .create_product(&copy, &copy_skus, &[])
        .await
        .unwrap_err();
    assert!(is_already_exists(&err, Entity::Product), "{err:?}");
    assert_eq!(store.get_sku(copy_skus[0].id).await.unwrap(), None);
    assert_eq!(
        store.get_product(pixel.id).await.unwrap(),
        Some(pixel.clone())
    );

    // A taken SKU id: the product and its other SKUs are not stored.
    let (other, mut other_skus) = fx.build_product("Other", None, &[("2.00", 1), ("3.00", 1)]);
    other_skus[1].id = skus[0].id;
    let err = store
        .create_product(&other, &other_skus, &[])
        .await
        .unwrap_err();
    assert!(is_already_exists(&err, Entity::Sku), "{err:?}");
    assert_eq!(store.get_product(other.id).await.unwrap(), None);
    assert_eq!(store.get_sku(other_skus[0].id).await.unwrap(), None);
    assert_eq!(
        store.get_sku(skus[0].id).await.unwrap(),
        Some(skus[0].clone())
    );

    // Update: editable fields and price change, counters do not.
    let mut edited = pixel.clone();
    edited.title = "Pixel 8 Pro".to_owned();
    edited.long_title = "Pixel 8 Pro 256 GB".to_owned();
    edited.description = "Now with more pixels".to_owned();
    edited.on_sale = false;
    edited.category_id = Some(tree.phones.id);
    edited.properties.clear();
    edited.price = cny("599.00");
    edited.updated_at = fx.now + chrono::Duration::hours(1);
    edited.rating = Decimal::ONE;
    edited.sold_count = 0;
    edited.review_count = 99;
    store.update_product(&edited, &[]).await.unwrap();
    let stored = store.get_product(pixel.id).await.unwrap().unwrap();
    assert_eq!(
        stored,
        Product {
            rating: pixel.rating,
            sold_count: 10,
            review_count: 3,
            ..edited.clone()
        }
    );

    let mut ghost = edited.clone();
    ghost.id = ProductId(999_999);
    let err = store.update_product(&ghost, &[]).await.unwrap_err();
    assert!(is_not_found(&err, Entity::Product), "{err:?}");
    assert_eq!(store.get_product(ghost.id).await.unwrap(), None);
}

/// SKUs: create for an existing product, update without touching stock,
/// load several, and `adjust_stock` that never goes below zero nor above
/// [`MAX_STOCK`].
pub async fn catalog_sku_crud_and_stock<B: Backend>(store: Arc<B>) {
    let fx = Fixture::new(Arc::clone(&store));
    let (product, skus) = fx.build_product("Phone", None, &[("10.00", 5)]);
    store.create_product(&product, &skus, &[]).await.unwrap();
    let first = skus[0].clone();
    let (_, extra) = fx.build_product("ignored", None, &[("20.00", 7)]);
    let mut second = extra[0].clone();
    second.product_id = product.id;
    store.create_sku(&second, &[]).await.unwrap();
    assert_eq!(
        store.list_skus(product.id).await.unwrap(),
        vec![first.clone(), second.clone()]
    );

    let mut found = store
        .get_skus(&[second.id, SkuId(999_999), first.id])
        .await
        .unwrap();
    found.sort_by_key(|s| s.id);
    assert_eq!(found, vec![first.clone(), second.clone()]);
    assert_eq!(store.get_sku(SkuId(999_999)).await.unwrap(), None);

    let err = store.create_sku(&second, &[]).await.unwrap_err();
    assert!(is_already_exists(&err, Entity::Sku), "{err:?}");
    let mut orphan = extra[0].clone();
    orphan.id = SkuId(fx.id());
    orphan.product_id = ProductId(999_999);
    let err = store.create_sku(&orphan, &[]).await.unwrap_err();
    assert!(is_not_found(&err, Entity::Product), "{err:?}");
    assert_eq!(store.get_sku(orphan.id).await.unwrap(), None);

    let mut edited = second.clone();
    edited.title = "Blue".to_owned();
    edited.description = "A blue one".to_owned();
    edited.price = cny("25.00");
    edited.stock = 999;
    store.update_sku(&edited, &[]).await.unwrap();
    let stored = store.get_sku(second.id).await.unwrap().unwrap();
    assert_eq!(stored.title, "Blue");
    assert_eq!(stored.description, "A blue one");
    assert_eq!(stored.price, cny("25.00"));
    assert_eq!(stored.stock, 7, "update_sku never touches the stock");
    let mut ghost = edited.clone();
    ghost.id = SkuId(999_999);
    let err = store.update_sku(&ghost, &[]).await.unwrap_err();
    assert!(is_not_found(&err, Entity::Sku), "{err:?}");

    assert_eq!(store.adjust_stock(first.id, 3, &[]).await.unwrap(), 8);
    assert_eq!(store.adjust_stock(first.id, -8, &[]).await.unwrap(), 0);
    let err = store.adjust_stock(first.id, -1, &[]).await.unwrap_err();
    assert!(
        matches!(err, Error::OutOfStock { sku, requested: 1, available: 0 } if sku == first.id),
        "{err:?}"
    );
    assert_eq!(store.adjust_stock(first.id, 2, &[]).await.unwrap(), 2);
    let err = store.adjust_stock(first.id, -3, &[]).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::OutOfStock {
                requested: 3,
                available: 2,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(fx.stock(first.id).await, 2);
    assert_eq!(store.adjust_stock(first.id, 0, &[]).await.unwrap(), 2);
    // Above the most a stock holds (`Refused`), or a delta that could
    // overflow (`Validation`): nothing changes.
    let err = store
        .adjust_stock(first.id, i64::from(MAX_STOCK) - 1, &[])
        .await
        .unwrap_err();
    assert!(is_refused(&err, "delta"), "{err:?}");
    for delta in [i64::MAX, i64::MIN] {
        let err = store.adjust_stock(first.id, delta, &[]).await.unwrap_err();
        assert!(is_validation(&err, "delta"), "{delta}: {err:?}");
    }
    assert_eq!(fx.stock(first.id).await, 2);
    assert_eq!(
        store
            .adjust_stock(first.id, i64::from(MAX_STOCK) - 2, &[])
            .await
            .unwrap(),
        MAX_STOCK
    );
    let err = store.adjust_stock(first.id, 1, &[]).await.unwrap_err();
    assert!(is_refused(&err, "delta"), "{err:?}");
    assert_eq!(
        store
            .adjust_stock(first.id, -(i64::from(MAX_STOCK) - 2), &[])
            .await
            .unwrap(),
        2
    );
    // A stock above the maximum (units given back by closed orders) can
    // still be reduced, but not raised.
    let (over, over_skus) = fx.build_product("Over", None, &[("1.00", MAX_STOCK + 5)]);
    store.create_product(&over, &over_skus, &[]).await.unwrap();
    let over_sku = over_skus[0].id;
    assert_eq!(
        store.adjust_stock(over_sku, -1, &[]).await.unwrap(),
        MAX_STOCK + 4
    );
    let err = store.adjust_stock(over_sku, 1, &[]).await.unwrap_err();
    assert!(is_refused(&err, "delta"), "{err:?}");
    assert_eq!(fx.stock(over_sku).await, MAX_STOCK + 4);
    let err = store
        .adjust_stock(SkuId(999_999), 1, &[])
        .await
        .unwrap_err();
    assert!(is_not_found(&err, Entity::Sku), "{err:?}");
    assert_eq!(fx.stock(second.id).await, 7);
}

/// 50 concurrent `adjust_stock(-1)` on a stock of 20: exactly 20 succeed,
/// each seeing a distinct new stock, and the stock ends at 0.
pub async fn catalog_stock_never_negative_under_concurrency<B: Backend>(store: Arc<B>) {
    let fx = Fixture::new(Arc::clone(&store));
    let sku = fx.sku(20).await;
    let results = concurrently(
        (0..50)
            .map(|_| {
                let store = Arc::clone(&store);
                async move { store.adjust_stock(sku.id, -1, &[]).await }
            })
            .collect(),
    )
    .await;
    let mut seen = BTreeSet::new();
    let mut refused = 0;
    for result in results {
        match result {
            Ok(left) => assert!(seen.insert(left), "stock {left} seen twice"),
            Err(Error::OutOfStock {
                requested: 1,
                available: 0,
                ..
            }) => refused += 1,
            Err(e) => panic!("unexpected error {e:?}"),
        }
    }
    assert_eq!(seen, (0..20).collect::<BTreeSet<u32>>());
    assert_eq!(refused, 30);
    assert_eq!(fx.stock(sku.id).await, 0);
}
