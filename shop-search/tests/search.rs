//! Searching a generated catalog of Chinese and English products: keywords
//! in both languages (stems, prefixes, one typo, phrases, synonyms),
//! filters, sorts with stable pages, the sidebar, similar products,
//! removal, and malformed queries.

use chrono::{Duration, TimeZone, Utc};
use rust_decimal::Decimal;
use shop_core::catalog::{Product, ProductKind, Property, Sku};
use shop_core::ids::{CategoryId, ProductId, SkuId};
use shop_core::search::{ProductDocument, SearchIndex, SearchQuery, SearchSort};
use shop_core::{Currency, Error, Money};
use shop_search::{SearchConfig, SearchEngine};

// Categories: 1 Electronics > 11 Phones, 12 Memory; 2 Books.
const PHONES: [i64; 2] = [1, 11];
const MEMORY: [i64; 2] = [1, 12];
const BOOKS: [i64; 1] = [2];

struct Item {
    id: i64,
    title: &'static str,
    description: &'static str,
    category: &'static [i64],
    props: &'static [(&'static str, &'static str)],
    price: &'static str,
    stock: u32,
    sold: u64,
    rating: &'static str,
}

const CATALOG: &[Item] = &[
    Item {
        id: 101,
        title: "小米手机 13 Pro",
        description: "徕卡影像旗舰手机",
        category: &PHONES,
        props: &[("品牌", "小米"), ("颜色", "黑色"), ("内存", "12GB")],
        price: "3999.00",
        stock: 5,
        sold: 120,
        rating: "4.80",
    },
    Item {
        id: 102,
        title: "Red Phones for kids",
        description: "A cheerful phone with big buttons",
        category: &PHONES,
        props: &[("brand", "Acme"), ("颜色", "红色"), ("内存", "4GB")],
        price: "199.00",
        stock: 0,
        sold: 30,
        rating: "4.10",
    },
    Item {
        id: 103,
        title: "华为手机 Mate",
        description: "麒麟芯片 长续航",
        category: &PHONES,
        props: &[("品牌", "华为"), ("颜色", "黑色"), ("内存", "12GB")],
        price: "4999.00",
        stock: 2,
        sold: 300,
        rating: "4.90",
    },
    Item {
        id: 104,
        title: "DDR5 内存条 16GB",
        description: "台式机内存条 高频",
        category: &MEMORY,
        props: &[("品牌", "金士顿"), ("内存", "16GB")],
        price: "399.00",
        stock: 50,
        sold: 80,
        rating: "4.50",
    },
    Item {
        id: 105,
        title: "Laptop memory module 8GB",
        description: "SODIMM for notebooks",
        category: &MEMORY,
        props: &[("brand", "Crucial"), ("内存", "8GB")],
        price: "159.00",
        stock: 20,
        sold: 10,
        rating: "4.20",
    },
    Item {
        id: 106,
        title: "Running shoes",
        description: "Lightweight runners",
        category: &BOOKS,
        props: &[],
        price: "59.90",
        stock: 9,
        sold: 5,
        rating: "3.00",
    },
    Item {
        id: 107,
        title: "三体 刘慈欣",
        description: "科幻小说 经典",
        category: &BOOKS,
        props: &[("作者", "刘慈欣")],
        price: "39.90",
        stock: 100,
        sold: 1000,
        rating: "4.95",
    },
    Item {
        id: 108,
        title: "小米手环 8",
        description: "运动健康 手环",
        category: &PHONES,
        props: &[("品牌", "小米"), ("颜色", "黑色")],
        price: "249.00",
        stock: 7,
        sold: 500,
        rating: "4.60",
    },
];

fn cny(s: &str) -> Money {
    Money::parse(s, Currency::Cny).unwrap()
}

fn doc(item: &Item) -> ProductDocument {
    let created = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap() + Duration::days(item.id);
    ProductDocument {
        product: Product {
            id: ProductId(item.id),
            kind: ProductKind::Normal,
            title: item.title.into(),
            long_title: String::new(),
            description: item.description.into(),
            image: String::new(),
            on_sale: true,
            category_id: item.category.last().map(|c| CategoryId(*c)),
            properties: item
                .props
                .iter()
                .map(|(n, v)| Property {
                    name: (*n).into(),
                    value: (*v).into(),
                })
                .collect(),
            rating: item.rating.parse().unwrap(),
            sold_count: item.sold,
            review_count: item.sold / 10,
            price: cny(item.price),
            created_at: created,
            updated_at: created,
        },
        skus: vec![Sku {
            id: SkuId(item.id * 10),
            product_id: ProductId(item.id),
            title: "Standard".into(),
            description: String::new(),
            price: cny(item.price),
            stock: item.stock,
        }],
        category_path: item.category.iter().map(|c| CategoryId(*c)).collect(),
        category_names: Vec::new(),
    }
}

async fn engine() -> SearchEngine {
    let engine = SearchEngine::in_memory(SearchConfig {
        synonyms: vec![
            vec!["内存条".into(), "memory module".into()],
            vec!["phone".into(), "手机".into()],
        ],
        ..SearchConfig::default()
    })
    .unwrap();
    engine
        .index_products(CATALOG.iter().map(doc).collect())
        .await
        .unwrap();
    engine
}

fn query(keyword: &str) -> SearchQuery {
    SearchQuery {
        keyword: (!keyword.is_empty()).then(|| keyword.into()),
        page: 1,
        per_page: 20,
        ..SearchQuery::default()
    }
}

async fn ids(e: &SearchEngine, q: &SearchQuery) -> Vec<i64> {
    let mut ids: Vec<i64> = e
        .search(q)
        .await
        .unwrap()
        .product_ids
        .iter()
        .map(|p| p.0)
        .collect();
    if q.sort == SearchSort::Relevance && q.keyword.is_some() {
        ids.sort_unstable();
    }
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keywords_in_chinese_and_english() {
    let e = engine().await;
    // Chinese words inside longer ones; with the synonym, "phone" too.
    assert_eq!(ids(&e, &query("小米")).await, vec![101, 108]);
    // Stemming: "phones" and "phone" match each other; the synonym adds 手机.
    assert_eq!(ids(&e, &query("phones")).await, vec![101, 102, 103]);
    // Every word must match.
    assert_eq!(ids(&e, &query("小米 手机")).await, vec![101]);
    // The last word as a prefix.
    assert_eq!(ids(&e, &query("lapt")).await, vec![105]);
    // One typo in a Latin word.
    assert_eq!(ids(&e, &query("lightweigth runners")).await, vec![106]);
    // A quoted phrase: in a row only.
    assert_eq!(ids(&e, &query("\"memory module\"")).await, vec![105]);
    assert!(ids(&e, &query("\"module memory\"")).await.is_empty());
    // Synonyms both ways.
    assert_eq!(ids(&e, &query("内存条")).await, vec![104, 105]);
    assert_eq!(ids(&e, &query("memory module")).await, vec![104, 105]);
    // Descriptions are searched too; a title match ranks above a
    // description-only one ("cheerful" is only in 102's description,
    // "red" in its title: both words in the title of none).
    assert_eq!(ids(&e, &query("经典")).await, vec![107]);
    let ranked = e.search(&query("buttons")).await.unwrap().product_ids;
    assert_eq!(ranked, vec![ProductId(102)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_sorts_and_stable_pages() {
    let e = engine().await;
    let phones = SearchQuery {
        category_id: Some(CategoryId(11)),
        sort: SearchSort::PriceAsc,
        ..query("")
    };
    assert_eq!(ids(&e, &phones).await, vec![102, 108, 101, 103]);
    let electronics = SearchQuery {
        category_id: Some(CategoryId(1)),
        ..phones.clone()
    };
    assert_eq!(ids(&e, &electronics).await.len(), 6);
    let cheap = SearchQuery {
        min_price: Some(Decimal::new(100, 0)),
        max_price: Some(Decimal::new(399, 0)),
        ..electronics.clone()
    };
    assert_eq!(ids(&e, &cheap).await, vec![105, 102, 108, 104]);
    let in_stock = SearchQuery {
        in_stock: true,
        ..cheap.clone()
    };
    assert_eq!(ids(&e, &in_stock).await, vec![105, 108, 104]);
    // AND across names, OR within one name.
    let prop = |n: &str, v: &str| Property {
        name: n.into(),
        value: v.into(),
    };
    let black_or_red_12 = SearchQuery {
        properties: vec![
            prop("颜色", "黑色"),
            prop("颜色", "红色"),
            prop("内存", "12GB"),
        ],
        ..electronics.clone()
    };
    assert_eq!(ids(&e, &black_or_red_12).await, vec![101, 103]);
    for (sort, first) in [
        (SearchSort::PriceDesc, 103),
        (SearchSort::SoldDesc, 108),
        (SearchSort::RatingDesc, 103),
        (SearchSort::ReviewsDesc, 108),
        (SearchSort::Newest, 108),
    ] {
        let q = SearchQuery {
            sort,
            ..electronics.clone()
        };
        assert_eq!(ids(&e, &q).await[0], first, "{sort:?}");
    }
    // Pages of 3 under every sort cover everything once.
    for sort in [
        SearchSort::Relevance,
        SearchSort::PriceAsc,
        SearchSort::Newest,
    ] {
        let mut seen = Vec::new();
        for page in 1..=4 {
            let q = SearchQuery {
                sort,
                page,
                per_page: 3,
                ..query("")
            };
            seen.extend(ids(&e, &q).await);
        }
        seen.sort_unstable();
        assert_eq!(
            seen,
            vec![101, 102, 103, 104, 105, 106, 107, 108],
            "{sort:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sidebar_leaves_out_each_propertys_own_filter() {
    let e = engine().await;
    let q = SearchQuery {
        category_id: Some(CategoryId(1)),
        properties: vec![Property {
            name: "颜色".into(),
            value: "黑色".into(),
        }],
        ..query("")
    };
    let r = e.search(&q).await.unwrap();
    assert_eq!(r.total, 3);
    let facet = |name: &str| {
        r.facets
            .iter()
            .find(|f| f.name == name)
            .map(|f| {
                f.values
                    .iter()
                    .map(|v| (v.value.as_str(), v.count))
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    };
    // Colours over electronics without the colour filter: 3 black, 1 red.
    assert_eq!(facet("颜色"), vec![("黑色", 3), ("红色", 1)]);
    // Other properties over the filtered result.
    assert_eq!(facet("品牌"), vec![("小米", 2), ("华为", 1)]);
    assert_eq!(facet("内存"), vec![("12GB", 2)]);
    // Children of the searched category, and price buckets.
    let cats: Vec<(i64, u64)> = r
        .categories
        .iter()
        .map(|c| (c.category_id.0, c.count))
        .collect();
    assert_eq!(cats, vec![(11, 3)]);
    let top = e.search(&query("")).await.unwrap();
    let cats: Vec<(i64, u64)> = top
        .categories
        .iter()
        .map(|c| (c.category_id.0, c.count))
        .collect();
    assert_eq!(cats, vec![(1, 6), (2, 2)]);
    let buckets: u64 = top.price_buckets.iter().map(|b| b.count).sum();
    assert_eq!(buckets, 8);
    let cheapest = &top.price_buckets[0];
    assert_eq!(
        (cheapest.from, cheapest.to, cheapest.count),
        (None, Some(Decimal::new(5000, 2)), 1)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn similar_products_share_half_their_properties() {
    let e = engine().await;
    let similar: Vec<i64> = e
        .similar(ProductId(101), 10)
        .await
        .unwrap()
        .iter()
        .map(|p| p.0)
        .collect();
    // 103 shares black and 12GB (2 of 3), 108 shares 小米 and black (2 of 3).
    assert_eq!(similar, vec![108, 103]);
    assert!(e.similar(ProductId(106), 10).await.unwrap().is_empty());
    assert!(e.similar(ProductId(999), 10).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn taken_off_sale_or_removed_disappears() {
    let e = engine().await;
    let mut off = doc(&CATALOG[0]);
    off.product.on_sale = false;
    e.index_product(&off).await.unwrap();
    assert_eq!(ids(&e, &query("小米")).await, vec![108]);
    e.remove_product(ProductId(108)).await.unwrap();
    assert!(ids(&e, &query("小米")).await.is_empty());
    // Re-indexed with a new title, it is found by it.
    let mut renamed = doc(&CATALOG[0]);
    renamed.product.title = "Xiaomi Ultra".into();
    e.index_product(&renamed).await.unwrap();
    assert_eq!(ids(&e, &query("ultra")).await, vec![101]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_queries_get_an_error_or_an_empty_page() {
    let e = engine().await;
    for k in [
        "\"unbalanced",
        "AND OR NOT",
        "((( [ { *?",
        "\"\"",
        "-",
        "title:小米",
        "🙂🙂",
    ] {
        let r = e.search(&query(k)).await;
        assert!(r.is_ok(), "{k}: {r:?}");
    }
    let long = "手".repeat(10_000);
    let err = e.search(&query(&long)).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Validation {
                field: "keyword",
                ..
            }
        ),
        "{err:?}"
    );
    let far = SearchQuery {
        page: 1_000_000_000,
        ..query("")
    };
    let r = e.search(&far).await;
    assert!(
        r.as_ref().map_or(true, |r| r.product_ids.is_empty()),
        "{r:?}"
    );
    let backwards = SearchQuery {
        min_price: Some(Decimal::new(10, 0)),
        max_price: Some(Decimal::new(1, 0)),
        ..query("")
    };
    assert!(matches!(
        e.search(&backwards).await,
        Err(Error::Validation { .. })
    ));
    let negative = SearchQuery {
        min_price: Some(Decimal::new(-1, 0)),
        ..query("")
    };
    assert!(matches!(
        e.search(&negative).await,
        Err(Error::Validation { .. })
    ));
}
