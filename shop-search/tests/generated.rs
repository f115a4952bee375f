//! Hundreds of random searches over a generated catalog of Chinese and
//! English products (several index segments, some products removed), each
//! checked against a brute-force answer computed here: the total, the page
//! (for every sort but relevance), every property facet with each
//! property's own filter left out, the category counts and the price
//! buckets without the price filter.

use std::collections::{BTreeMap, HashMap};

use rust_decimal::Decimal;
use shop_core::catalog::Property;
use shop_core::ids::{CategoryId, ProductId};
use shop_core::search::{
    CategoryCount, Facet, FacetValue, PriceBucket, ProductDocument, SearchIndex, SearchQuery,
    SearchSort,
};
use shop_search::testing::{catalog, noun_of, Lcg, BRANDS, COLOURS, NOUNS, SIZES};
use shop_search::{SearchConfig, SearchEngine};

const SORTS: [SearchSort; 7] = [
    SearchSort::Relevance,
    SearchSort::Newest,
    SearchSort::PriceAsc,
    SearchSort::PriceDesc,
    SearchSort::SoldDesc,
    SearchSort::RatingDesc,
    SearchSort::ReviewsDesc,
];

fn random_query(rng: &mut Lcg) -> (SearchQuery, Option<usize>) {
    let noun = (rng.below(5) < 3).then(|| rng.below(NOUNS.len()));
    let keyword = noun.map(|n| {
        let (zh, en) = NOUNS[n];
        if rng.below(2) == 0 { zh } else { en }.to_owned()
    });
    let category_id = match rng.below(4) {
        0 => Some(CategoryId(1 + rng.below(3) as i64)),
        1 => Some(CategoryId(
            (1 + rng.below(3) as i64) * 10 + 1 + rng.below(3) as i64,
        )),
        _ => None,
    };
    let mut properties = Vec::new();
    for _ in 0..rng.below(4) {
        let (name, value) = match rng.below(7) {
            0..=2 => ("品牌", BRANDS[rng.below(BRANDS.len())]),
            3..=4 => ("颜色", COLOURS[rng.below(COLOURS.len())]),
            5 => ("size", SIZES[rng.below(SIZES.len())]),
            // A property no product has.
            _ => ("weight", "1kg"),
        };
        properties.push(Property {
            name: name.into(),
            value: value.into(),
        });
    }
    let price = |rng: &mut Lcg| match rng.below(3) {
        0 => Decimal::from([50, 100, 200, 500][rng.below(4)]),
        _ => Decimal::new(rng.below(400_000) as i64, 2),
    };
    let (mut min_price, mut max_price) = match rng.below(4) {
        0 => (Some(price(rng)), None),
        1 => (None, Some(price(rng))),
        2 => (Some(price(rng)), Some(price(rng))),
        _ => (None, None),
    };
    if let (Some(lo), Some(hi)) = (min_price, max_price) {
        if lo > hi {
            (min_price, max_price) = (Some(hi), Some(lo));
        }
    }
    let q = SearchQuery {
        keyword,
        category_id,
        min_price,
        max_price,
        properties,
        in_stock: rng.below(3) == 0,
        sort: SORTS[rng.below(SORTS.len())],
        page: 1 + rng.below(3) as u32,
        per_page: 1 + rng.below(30) as u32,
    };
    (q, noun)
}

/// Which faceted filters `d` fails: property names, and `None` for the
/// price.
fn fails(d: &ProductDocument, q: &SearchQuery) -> Vec<Option<String>> {
    let mut out = Vec::new();
    let mut names: Vec<&str> = q.properties.iter().map(|p| p.name.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    for name in names {
        let accepted = q.properties.iter().filter(|p| p.name == name).any(|p| {
            d.product
                .properties
                .iter()
                .any(|own| own.name == name && own.value == p.value)
        });
        if !accepted {
            out.push(Some(name.to_owned()));
        }
    }
    let price = d.product.price.amount();
    if q.min_price.is_some_and(|m| price < m) || q.max_price.is_some_and(|m| price > m) {
        out.push(None);
    }
    out
}

/// The sort key of a product under `sort` (higher first).
fn key(d: &ProductDocument, sort: SearchSort) -> (i128, i64) {
    let p = &d.product;
    let head = match sort {
        SearchSort::PriceAsc => -(p.price.amount() * Decimal::ONE_HUNDRED).trunc().mantissa(),
        SearchSort::PriceDesc => (p.price.amount() * Decimal::ONE_HUNDRED).trunc().mantissa(),
        SearchSort::SoldDesc => i128::from(p.sold_count),
        SearchSort::RatingDesc => (p.rating * Decimal::ONE_HUNDRED).trunc().mantissa(),
        SearchSort::ReviewsDesc => i128::from(p.review_count),
        _ => i128::from(p.created_at.timestamp_micros()),
    };
    (head, p.id.0)
}

struct Expected {
    total: u64,
    matches: Vec<(i128, i64)>,
    facets: Vec<Facet>,
    categories: Vec<CategoryCount>,
    buckets: Vec<PriceBucket>,
}

fn expected(docs: &[&ProductDocument], q: &SearchQuery, noun: Option<usize>) -> Expected {
    let bounds: Vec<Decimal> = SearchConfig::default().price_bounds;
    let mut matches = Vec::new();
    let mut values: BTreeMap<String, HashMap<String, u64>> = BTreeMap::new();
    let mut children: HashMap<i64, u64> = HashMap::new();
    let mut buckets = vec![0u64; bounds.len() + 1];
    for d in docs {
        let base = noun.is_none_or(|n| noun_of(d) == n)
            && q.category_id.is_none_or(|c| d.category_path.contains(&c))
            && (!q.in_stock || d.skus.iter().any(|s| s.stock > 0));
        if !base {
            continue;
        }
        let failed = fails(d, q);
        let bucket = bounds.partition_point(|b| *b <= d.product.price.amount());
        match failed.as_slice() {
            [] => {
                matches.push(key(d, q.sort));
                buckets[bucket] += 1;
                for p in &d.product.properties {
                    *values
                        .entry(p.name.clone())
                        .or_default()
                        .entry(p.value.clone())
                        .or_default() += 1;
                }
                let at = match q.category_id {
                    None => Some(0),
                    Some(c) => d.category_path.iter().position(|x| *x == c).map(|i| i + 1),
                };
                if let Some(child) = at.and_then(|i| d.category_path.get(i)) {
                    *children.entry(child.0).or_default() += 1;
                }
            }
            [None] => buckets[bucket] += 1,
            [Some(name)] => {
                for p in d.product.properties.iter().filter(|p| p.name == *name) {
                    *values
                        .entry(p.name.clone())
                        .or_default()
                        .entry(p.value.clone())
                        .or_default() += 1;
                }
            }
            _ => {}
        }
    }
    matches.sort_unstable_by(|a, b| b.cmp(a));
    let facets = values
        .into_iter()
        .map(|(name, counts)| {
            let mut values: Vec<FacetValue> = counts
                .into_iter()
                .map(|(value, count)| FacetValue { value, count })
                .collect();
            values.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
            Facet { name, values }
        })
        .collect();
    let mut categories: Vec<CategoryCount> = children
        .into_iter()
        .map(|(id, count)| CategoryCount {
            category_id: CategoryId(id),
            count,
        })
        .collect();
    categories.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then(a.category_id.cmp(&b.category_id))
    });
    let buckets = buckets
        .iter()
        .enumerate()
        .filter(|(_, c)| **c > 0)
        .map(|(i, c)| PriceBucket {
            from: i.checked_sub(1).map(|i| bounds[i]),
            to: bounds.get(i).copied(),
            count: *c,
        })
        .collect();
    Expected {
        total: matches.len() as u64,
        matches,
        facets,
        categories,
        buckets,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_searches_agree_with_a_brute_force_answer() {
    random_searches(SearchConfig::default()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_with_a_filter_cache_that_keeps_almost_nothing() {
    random_searches(SearchConfig {
        filter_cache_bytes: 1_000,
        ..SearchConfig::default()
    })
    .await;
}

async fn random_searches(config: SearchConfig) {
    let docs = catalog(3000, 11);
    let engine = SearchEngine::in_memory(config).unwrap();
    // Several commits: several segments.
    for chunk in docs.chunks(700) {
        engine.index_products(chunk.to_vec()).await.unwrap();
    }
    // Some removed: deleted documents in the segments.
    let mut rng = Lcg(5);
    let mut removed = Vec::new();
    for _ in 0..150 {
        let id = docs[rng.below(docs.len())].product.id;
        engine.remove_product(id).await.unwrap();
        removed.push(id);
    }
    let live: Vec<&ProductDocument> = docs
        .iter()
        .filter(|d| !removed.contains(&d.product.id))
        .collect();

    let mut rng = Lcg(99);
    let mut nonempty = 0;
    let mut filtered_facets = 0;
    for round in 0..400 {
        let (q, noun) = random_query(&mut rng);
        let want = expected(&live, &q, noun);
        let got = engine.search(&q).await.unwrap();
        let ctx = format!("round {round}: {q:?}");
        assert_eq!(got.total, want.total, "{ctx}");
        let offset = ((q.page - 1) * q.per_page) as usize;
        let page_len = want
            .matches
            .len()
            .saturating_sub(offset)
            .min(q.per_page as usize);
        assert_eq!(got.product_ids.len(), page_len, "{ctx}");
        if q.sort == SearchSort::Relevance && q.keyword.is_some() {
            let all: Vec<i64> = want.matches.iter().map(|(_, id)| *id).collect();
            assert!(
                got.product_ids.iter().all(|id| all.contains(&id.0)),
                "{ctx}"
            );
        } else {
            let page: Vec<ProductId> = want
                .matches
                .iter()
                .skip(offset)
                .take(q.per_page as usize)
                .map(|(_, id)| ProductId(*id))
                .collect();
            assert_eq!(got.product_ids, page, "{ctx}");
        }
        assert_eq!(got.facets, want.facets, "{ctx}");
        assert_eq!(got.categories, want.categories, "{ctx}");
        assert_eq!(got.price_buckets, want.buckets, "{ctx}");
        nonempty += usize::from(got.total > 0);
        filtered_facets += usize::from(q.properties.len() >= 2 && got.total > 0);
    }
    // The rounds exercised what they are meant to.
    assert!(nonempty > 150, "{nonempty} searches found something");
    assert!(filtered_facets > 20, "{filtered_facets} with two filters");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relevance_pages_cover_every_match_once() {
    let docs = catalog(800, 3);
    let engine = SearchEngine::in_memory(SearchConfig::default()).unwrap();
    engine.index_products(docs.clone()).await.unwrap();
    for (zh, en) in NOUNS {
        for keyword in [zh, en] {
            let mut seen = Vec::new();
            let mut page = 1;
            loop {
                let q = SearchQuery {
                    keyword: Some(keyword.into()),
                    page,
                    per_page: 7,
                    ..SearchQuery::default()
                };
                let got = engine.search(&q).await.unwrap();
                if got.product_ids.is_empty() {
                    assert_eq!(seen.len() as u64, got.total, "{keyword}");
                    break;
                }
                seen.extend(got.product_ids);
                page += 1;
            }
            let mut unique = seen.clone();
            unique.sort_unstable();
            unique.dedup();
            assert_eq!(unique.len(), seen.len(), "{keyword}: pages overlap");
            let want = docs
                .iter()
                .filter(|d| NOUNS[noun_of(d)] == (zh, en))
                .count();
            assert_eq!(seen.len(), want, "{keyword}");
        }
    }
}
