//! `Shop` with a search index: keyword listings, searches with their
//! sidebar and similar products come from the index; without one, the
//! stores answer what they can and refuse filters they cannot apply.

use std::sync::Arc;

use shop_core::catalog::{ProductDraft, ProductKind, ProductQuery, Property, SkuDraft};
use shop_core::memory::MemoryStore;
use shop_core::search::SearchQuery;
use shop_core::{Currency, Error, Money, Shop, Stores};
use shop_search::{SearchConfig, SearchEngine, SearchListener};

fn draft(title: &str, props: &[(&str, &str)]) -> (ProductDraft, Vec<SkuDraft>) {
    (
        ProductDraft {
            kind: ProductKind::Normal,
            title: title.into(),
            long_title: String::new(),
            description: String::new(),
            image: String::new(),
            on_sale: true,
            category_id: None,
            properties: props
                .iter()
                .map(|(n, v)| Property {
                    name: (*n).into(),
                    value: (*v).into(),
                })
                .collect(),
        },
        vec![SkuDraft {
            title: "one".into(),
            description: String::new(),
            price: Money::parse("10.00", Currency::Cny).unwrap(),
            stock: 3,
        }],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shop_searches_with_its_index() {
    let store = Arc::new(MemoryStore::new());
    let engine = SearchEngine::in_memory(SearchConfig::default()).unwrap();
    let shop = Shop::builder(Stores::from_backend(store.clone()))
        .search_index(Arc::new(engine.clone()))
        .listener(Arc::new(SearchListener::new(
            engine,
            store.clone(),
            "search@test",
        )))
        .build();
    let (d, s) = draft("Red Phone", &[("颜色", "红色"), ("品牌", "Acme")]);
    let (red, _) = shop.create_product(d, s).await.unwrap();
    let (d, s) = draft("Blue Phone", &[("颜色", "蓝色"), ("品牌", "Acme")]);
    let (blue, _) = shop.create_product(d, s).await.unwrap();
    shop.dispatch_events().await.unwrap();

    // "phones" finds "Phone" by its stem, which SQL LIKE would not.
    let listed = shop
        .browse(ProductQuery {
            keyword: Some("phones".into()),
            page: 1,
            per_page: 10,
            ..ProductQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(listed.total, 2);
    let found = shop
        .search(SearchQuery {
            keyword: Some("phone".into()),
            properties: vec![Property {
                name: "颜色".into(),
                value: "红色".into(),
            }],
            page: 1,
            per_page: 10,
            ..SearchQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(
        found.items.iter().map(|p| p.id).collect::<Vec<_>>(),
        vec![red.id]
    );
    let colours = found.facets.iter().find(|f| f.name == "颜色").unwrap();
    assert_eq!(
        colours.values.len(),
        2,
        "the colour filter is left out of its own facet"
    );
    let similar = shop.similar_products(red.id, 5).await.unwrap();
    assert_eq!(
        similar.iter().map(|p| p.id).collect::<Vec<_>>(),
        vec![blue.id]
    );
    assert!(matches!(
        shop.similar_products(red.id, 0).await,
        Err(Error::Validation { field: "limit", .. })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_index_the_stores_answer_and_filters_are_refused() {
    let store = Arc::new(MemoryStore::new());
    let shop = Shop::builder(Stores::from_backend(store)).build();
    let (d, s) = draft("Red Phone", &[("颜色", "红色")]);
    let (red, _) = shop.create_product(d, s).await.unwrap();
    let by_keyword = shop
        .search(SearchQuery {
            keyword: Some("red".into()),
            page: 1,
            per_page: 10,
            ..SearchQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(by_keyword.items.len(), 1);
    assert!(by_keyword.facets.is_empty());
    let filtered = shop
        .search(SearchQuery {
            in_stock: true,
            page: 1,
            per_page: 10,
            ..SearchQuery::default()
        })
        .await;
    assert!(matches!(
        filtered,
        Err(Error::Validation {
            field: "filters",
            ..
        })
    ));
    assert!(shop.similar_products(red.id, 5).await.unwrap().is_empty());
}
