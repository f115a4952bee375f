//! The index following the shop: a rebuild from the catalog swapped in
//! while searches run (none fails or sees a half-built index), the outbox
//! listener applying edits, stock and sales, and a schema change that
//! triggers a rebuild.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use shop_core::catalog::{CatalogStore, ProductDraft, ProductKind, Property, SkuDraft};
use shop_core::memory::MemoryStore;
use shop_core::search::{SearchIndex, SearchQuery, SearchSort};
use shop_core::{Currency, Money, Shop, Stores};
use shop_search::testing::{catalog, categories};
use shop_search::{SearchConfig, SearchEngine, SearchListener};

fn draft(title: &str, colour: &str) -> (ProductDraft, Vec<SkuDraft>) {
    (
        ProductDraft {
            kind: ProductKind::Normal,
            title: title.into(),
            long_title: String::new(),
            description: "耐用 durable".into(),
            image: String::new(),
            on_sale: true,
            category_id: None,
            properties: vec![Property {
                name: "颜色".into(),
                value: colour.into(),
            }],
        },
        vec![SkuDraft {
            title: "one".into(),
            description: String::new(),
            price: Money::parse("10.00", Currency::Cny).unwrap(),
            stock: 3,
        }],
    )
}

fn all(keyword: Option<&str>) -> SearchQuery {
    SearchQuery {
        keyword: keyword.map(str::to_owned),
        page: 1,
        per_page: 10,
        ..SearchQuery::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn searches_never_fail_or_come_back_empty_while_a_rebuild_swaps_in() {
    // A generated catalog of Chinese and English products in a store.
    let store = Arc::new(MemoryStore::new());
    for c in categories() {
        store.create_category(&c).await.unwrap();
    }
    let docs = catalog(1200, 21);
    for d in &docs {
        store
            .create_product(&d.product, &d.skus, &[])
            .await
            .unwrap();
    }
    let engine = SearchEngine::in_memory(SearchConfig::default()).unwrap();
    assert!(engine.needs_rebuild());
    let mut progress = Vec::new();
    let (tx, rx) = std::sync::mpsc::channel();
    let indexed = engine
        .rebuild(store.clone(), move |done, total| {
            tx.send((done, total)).unwrap()
        })
        .await
        .unwrap();
    progress.extend(rx.try_iter());
    assert_eq!(indexed, 1200);
    assert_eq!(progress.last(), Some(&(1200, 1200)));
    assert!(progress.len() >= 3, "chunked: {progress:?}");

    // Keywords in both languages, with a filter and a sort: what each
    // finds on the built index.
    let searches: Vec<SearchQuery> = [None, Some("手机"), Some("laptop"), Some("内存条")]
        .into_iter()
        .map(|keyword| SearchQuery {
            keyword: keyword.map(str::to_owned),
            properties: vec![Property {
                name: "颜色".into(),
                value: "黑色".into(),
            }],
            sort: SearchSort::PriceAsc,
            page: 1,
            per_page: 5,
            ..SearchQuery::default()
        })
        .collect();
    let mut before = Vec::new();
    for q in &searches {
        let r = engine.search(q).await.unwrap();
        assert_eq!(r.product_ids.len(), 5, "{q:?}");
        before.push(r);
    }

    // The same searches in a loop against two more rebuilds.
    let stop = Arc::new(AtomicBool::new(false));
    let searching = tokio::spawn({
        let (engine, stop) = (engine.clone(), stop.clone());
        async move {
            let mut n = 0;
            while !stop.load(Ordering::SeqCst) || n < 50 {
                for (q, want) in searches.iter().zip(&before) {
                    let r = engine.search(q).await.expect("a search never fails");
                    assert_eq!(r.total, want.total, "never a half-built index");
                    assert_eq!(r.product_ids, want.product_ids, "never an empty page");
                    assert_eq!(r.facets, want.facets, "nor a half-built sidebar");
                }
                n += 1;
            }
            n
        }
    });
    for _ in 0..2 {
        assert_eq!(
            engine.rebuild(store.clone(), |_, _| {}).await.unwrap(),
            1200
        );
    }
    stop.store(true, Ordering::SeqCst);
    assert!(searching.await.unwrap() >= 50);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_listener_applies_edits_stock_and_taking_off_sale_after_a_dispatch() {
    let store = Arc::new(MemoryStore::new());
    let engine = SearchEngine::in_memory(SearchConfig::default()).unwrap();
    let shop = Shop::builder(Stores::from_backend(store.clone()))
        .listener(Arc::new(SearchListener::new(
            engine.clone(),
            store.clone(),
            "search@test",
        )))
        .build();
    let (d, s) = draft("Espresso machine", "黑色");
    let (product, skus) = shop.create_product(d, s).await.unwrap();
    assert_eq!(
        engine.search(&all(Some("espresso"))).await.unwrap().total,
        0
    );
    shop.dispatch_events().await.unwrap();
    let found = engine.search(&all(Some("espresso"))).await.unwrap();
    assert_eq!(found.product_ids, vec![product.id]);

    // An edit: found by the new title, no longer by the old one.
    let (mut d, _) = draft("Coffee grinder 磨豆机", "黑色");
    d.on_sale = true;
    shop.update_product(product.id, d).await.unwrap();
    shop.dispatch_events().await.unwrap();
    assert_eq!(
        engine.search(&all(Some("espresso"))).await.unwrap().total,
        0
    );
    assert_eq!(engine.search(&all(Some("磨豆机"))).await.unwrap().total, 1);

    // Stock gone: out of an in-stock search.
    shop.adjust_stock(skus[0].id, -3).await.unwrap();
    shop.dispatch_events().await.unwrap();
    let in_stock = SearchQuery {
        in_stock: true,
        ..all(Some("grinder"))
    };
    assert_eq!(engine.search(&in_stock).await.unwrap().total, 0);
    assert_eq!(engine.search(&all(Some("grinder"))).await.unwrap().total, 1);

    // Taken off sale: gone within one dispatch.
    shop.set_on_sale(product.id, false).await.unwrap();
    shop.dispatch_events().await.unwrap();
    assert_eq!(engine.search(&all(Some("grinder"))).await.unwrap().total, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_index_of_another_schema_version_is_rebuilt() {
    let dir = std::env::temp_dir().join(format!("shop-search-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let store = Arc::new(MemoryStore::new());
    let shop = Shop::builder(Stores::from_backend(store.clone())).build();
    let (d, s) = draft("Kettle", "白色");
    shop.create_product(d, s).await.unwrap();
    {
        let engine = SearchEngine::open(&dir, SearchConfig::default()).unwrap();
        assert!(engine.needs_rebuild());
        engine.rebuild(store.clone(), |_, _| {}).await.unwrap();
    }
    {
        // Reopened with the same version: kept as it is.
        let engine = SearchEngine::open(&dir, SearchConfig::default()).unwrap();
        assert!(!engine.needs_rebuild());
        assert_eq!(engine.search(&all(Some("kettle"))).await.unwrap().total, 1);
    }
    std::fs::write(dir.join("shop-search.version"), "0").unwrap();
    let engine = SearchEngine::open(&dir, SearchConfig::default()).unwrap();
    assert!(engine.needs_rebuild());
    assert_eq!(engine.search(&all(Some("kettle"))).await.unwrap().total, 0);
    engine.rebuild(store, |_, _| {}).await.unwrap();
    assert_eq!(engine.search(&all(Some("kettle"))).await.unwrap().total, 1);
    drop(engine);
    let _ = std::fs::remove_dir_all(&dir);
}
