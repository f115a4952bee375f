//! Product listings: filters, sorts and pages.

use std::sync::Arc;

use rust_decimal::Decimal;

use super::fixtures::Fixture;
use super::Backend;
use crate::catalog::{Category, ProductQuery, ProductSort};
use crate::ids::CategoryId;

/// Listings: category subtree, keyword (case-insensitive, in title, long
/// title or description), on-sale filter, every sort with ties by id
/// descending, and pages with the total over all pages, counted up to the
/// query's limit.
pub async fn catalog_list_products<B: Backend>(store: Arc<B>) {
    let fx = Fixture::new(Arc::clone(&store));
    let tree = fx.category_tree().await;
    let make = |title: &str,
                category: Option<&Category>,
                price: &str,
                on_sale: bool,
                counters: (u64, i64, u64)| {
        let (mut p, skus) = fx.build_product(title, category, &[(price, 10)]);
        p.on_sale = on_sale;
        p.sold_count = counters.0;
        p.rating = Decimal::new(counters.1, 2);
        p.review_count = counters.2;
        (p, skus)
    };
    let (mut p1, s1) = make("Pixel 8", Some(&tree.android), "499.00", true, (10, 450, 3));
    p1.long_title = "Pixel 8 smartphone".to_owned();
    let (p2, s2) = make(
        "Galaxy S",
        Some(&tree.android),
        "399.00",
        true,
        (30, 400, 8),
    );
    let (p3, s3) = make(
        "Phone case",
        Some(&tree.phones),
        "19.90",
        false,
        (5, 300, 1),
    );
    let (mut p4, s4) = make("Rust book", Some(&tree.books), "39.90", true, (30, 500, 2));
    p4.description = "Not a PHONE.".to_owned();
    let (mut p5, s5) = make("Gift card", None, "399.00", true, (0, 0, 0));
    p5.long_title = "For Phone lovers".to_owned();
    for (p, s) in [(&p1, &s1), (&p2, &s2), (&p3, &s3), (&p4, &s4), (&p5, &s5)] {
        store.create_product(p, s, &[]).await.unwrap();
    }

    let list = |query: ProductQuery| {
        let store = Arc::clone(&store);
        async move {
            let page = store.list_products(&query).await.unwrap();
            (
                page.items.iter().map(|p| p.id).collect::<Vec<_>>(),
                page.total,
            )
        }
    };
    let query = |f: &dyn Fn(&mut ProductQuery)| {
        let mut q = ProductQuery {
            page: 1,
            per_page: 10,
            ..ProductQuery::default()
        };
        f(&mut q);
        q
    };
    let (i1, i2, i3, i4, i5) = (p1.id, p2.id, p3.id, p4.id, p5.id);

    let all = store.list_products(&query(&|_| {})).await.unwrap();
    assert_eq!(all.total, 5);
    assert!(!all.total_capped);
    // A count limit: past it the total is the limit and says so; at or
    // under it the count is exact; the items are the same either way.
    for (limit, total, capped) in [(2, 2, true), (4, 4, true), (5, 5, false), (50, 5, false)] {
        let counted = store
            .list_products(&query(&|q| q.count_limit = Some(limit)))
            .await
            .unwrap();
        assert_eq!(
            (counted.total, counted.total_capped),
            (total, capped),
            "{limit}"
        );
        assert_eq!(counted.items, all.items, "{limit}");
    }
    assert_eq!(
        all.items,
        vec![p5.clone(), p4.clone(), p3.clone(), p2.clone(), p1.clone()]
    );

    let in_cat = |c: CategoryId| query(&move |q| q.category_id = Some(c));
    assert_eq!(
        list(in_cat(tree.electronics.id)).await,
        (vec![i3, i2, i1], 3)
    );
    assert_eq!(list(in_cat(tree.phones.id)).await, (vec![i3, i2, i1], 3));
    assert_eq!(list(in_cat(tree.android.id)).await, (vec![i2, i1], 2));
    assert_eq!(list(in_cat(tree.books.id)).await, (vec![i4], 1));
    assert_eq!(list(in_cat(CategoryId(999_999))).await, (vec![], 0));

    assert_eq!(
        list(query(&|q| q.on_sale = Some(true))).await,
        (vec![i5, i4, i2, i1], 4)
    );
    assert_eq!(
        list(query(&|q| q.on_sale = Some(false))).await,
        (vec![i3], 1)
    );
    let keyword = |k: &'static str| query(&move |q| q.keyword = Some(k.to_owned()));
    assert_eq!(list(keyword("PHONE")).await, (vec![i5, i4, i3, i1], 4));
    assert_eq!(list(keyword("galaxy")).await, (vec![i2], 1));
    assert_eq!(list(keyword("no such thing")).await, (vec![], 0));
    let combined = query(&|q| {
        q.category_id = Some(tree.electronics.id);
        q.on_sale = Some(true);
        q.keyword = Some("phone".to_owned());
    });
    assert_eq!(list(combined).await, (vec![i1], 1));

    let sorted = |s: ProductSort| query(&move |q| q.sort = s);
    assert_eq!(
        list(sorted(ProductSort::Newest)).await.0,
        [i5, i4, i3, i2, i1]
    );
    assert_eq!(
        list(sorted(ProductSort::PriceAsc)).await.0,
        [i3, i4, i5, i2, i1]
    );
    assert_eq!(
        list(sorted(ProductSort::PriceDesc)).await.0,
        [i1, i5, i2, i4, i3]
    );
    assert_eq!(
        list(sorted(ProductSort::SoldCountDesc)).await.0,
        [i4, i2, i1, i3, i5]
    );
    assert_eq!(
        list(sorted(ProductSort::RatingDesc)).await.0,
        [i4, i1, i2, i3, i5]
    );
    assert_eq!(
        list(sorted(ProductSort::ReviewCountDesc)).await.0,
        [i2, i1, i4, i3, i5]
    );

    let paged = |page: u32| {
        query(&move |q| {
            q.sort = ProductSort::PriceAsc;
            q.page = page;
            q.per_page = 2;
        })
    };
    assert_eq!(list(paged(1)).await, (vec![i3, i4], 5));
    assert_eq!(list(paged(2)).await, (vec![i5, i2], 5));
    assert_eq!(list(paged(3)).await, (vec![i1], 5));
    assert_eq!(list(paged(4)).await, (vec![], 5));
}

/// Keyword search matches alike everywhere ([`crate::catalog::matches_keyword`]):
/// Unicode case-insensitively, `%` and `_` literally, one- and two-character
/// keywords too, within a field and never across two, counted as listed,
/// and following an edit of the product at once.
pub async fn catalog_keyword_search_is_the_same_everywhere<B: Backend>(store: Arc<B>) {
    let fx = Fixture::new(Arc::clone(&store));
    let mut made = Vec::new();
    for (title, long_title, description) in [
        ("ÄPFEL Tasse", "", ""),
        ("Shirt", "100% cotton_blend", ""),
        ("茶杯", "", "景德镇 porcelain"),
        ("Red", "Cup", "plain"),
        ("Straße map", "", "Σ ΣΊΣΥΦΟΣ"),
    ] {
        let (mut p, skus) = fx.build_product(title, None, &[("10.00", 1)]);
        p.long_title = long_title.to_owned();
        p.description = description.to_owned();
        store.create_product(&p, &skus, &[]).await.unwrap();
        made.push(p);
    }
    let find = |keyword: &str| {
        let store = Arc::clone(&store);
        let query = ProductQuery {
            keyword: Some(keyword.to_owned()),
            page: 1,
            per_page: 10,
            ..ProductQuery::default()
        };
        async move {
            let page = store.list_products(&query).await.unwrap();
            let mut titles: Vec<String> = page.items.into_iter().map(|p| p.title).collect();
            titles.sort();
            assert_eq!(page.total, titles.len() as u64, "{query:?}");
            titles
        }
    };
    let cases: [(&str, &[&str]); 14] = [
        ("äpfel", &["ÄPFEL Tasse"]),
        ("ÄpFeL", &["ÄPFEL Tasse"]),
        ("100%", &["Shirt"]),
        ("%", &["Shirt"]),
        ("n_b", &["Shirt"]),
        ("_", &["Shirt"]),
        ("茶", &["茶杯"]),
        ("茶杯", &["茶杯"]),
        ("景德镇", &["茶杯"]),
        ("PORCELAIN", &["茶杯"]),
        ("redcup", &[]),
        ("cup", &["Red"]),
        ("σίσυφος", &["Straße map"]),
        ("zebra", &[]),
    ];
    for (keyword, expected) in cases {
        let expected: Vec<String> = expected.iter().map(|t| (*t).to_owned()).collect();
        assert_eq!(find(keyword).await, expected, "keyword {keyword:?}");
    }
    assert_eq!(find("STRASSE").await, Vec::<String>::new());

    // An edit is searchable at once; the old text is not.
    let mut mug = made[3].clone();
    mug.title = "Blue".to_owned();
    mug.long_title = "Mug".to_owned();
    store.update_product(&mug, &[]).await.unwrap();
    assert_eq!(find("cup").await, Vec::<String>::new());
    assert_eq!(find("blue").await, vec!["Blue".to_owned()]);
    assert_eq!(find("mug").await, vec!["Blue".to_owned()]);
}
