//! Search on 100,000 generated products (`shop_search::testing`), Chinese
//! and English, in a two-level category tree: indexing
//! time and index size, then p50 / p99 of keyword + two property filters +
//! a sort, side by side in the same run with the same searches as a SQL
//! `LIKE` scan on SQLite over the same data, and with the SQL listing the
//! example shop falls back to (`SqliteStore::list_products` with a
//! keyword). Each kind runs in its own phase after 150 uncounted warm-up
//! searches; then ours once more, each search right after a `LIKE` scan
//! (cold caches). Prints the ratios.
//!
//! Run: `cargo bench -p shop-search --bench search`
//! Knobs: `SHOP_BENCH_PRODUCTS` (default 100000), `SHOP_BENCH_QUERIES` (1000).

use std::time::{Duration, Instant};

use shop_core::catalog::{CatalogStore, ProductQuery, ProductSort, Property};
use shop_core::search::{SearchIndex, SearchQuery, SearchSort};
use shop_search::testing::{catalog, categories, Lcg, BRANDS, COLOURS, NOUNS};
use shop_search::{SearchConfig, SearchEngine};
use shop_storage_sql::SqliteStore;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentiles(mut times: Vec<Duration>) -> (f64, f64) {
    times.sort();
    let at = |p: f64| {
        times[((times.len() as f64 * p) as usize).min(times.len() - 1)].as_secs_f64() * 1000.0
    };
    (at(0.5), at(0.99))
}

fn dir_size(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.metadata().map(|m| m.len()).unwrap_or(0))
                .sum()
        })
        .unwrap_or(0)
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let n = env_usize("SHOP_BENCH_PRODUCTS", 100_000);
    let queries = env_usize("SHOP_BENCH_QUERIES", 1000);
    let work = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("search-bench");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).unwrap();

    let docs = catalog(n, 42);

    // The index.
    let index_dir = work.join("index");
    let engine = SearchEngine::open(&index_dir, SearchConfig::default()).unwrap();
    let started = Instant::now();
    for chunk in docs.chunks(10_000) {
        engine.index_products(chunk.to_vec()).await.unwrap();
    }
    let indexing = started.elapsed();
    let size = dir_size(&index_dir);

    // The SQLite store the example shop uses, with the same products.
    let store = SqliteStore::connect(&format!("sqlite://{}", work.join("shop.db").display()))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    for c in categories() {
        store.create_category(&c).await.unwrap();
    }
    let started = Instant::now();
    for d in &docs {
        store
            .create_product(&d.product, &d.skus, &[])
            .await
            .unwrap();
    }
    let loading = started.elapsed();

    // The same searches three ways.
    // The searches: a keyword in Chinese or English, a brand and a colour.
    // The first of each kind warm caches up and are not counted.
    let warm_up = 150;
    let mut rng = Lcg(7);
    let searches: Vec<(&'static str, &'static str, &'static str)> = (0..warm_up + queries)
        .map(|_| {
            let (zh, en) = NOUNS[rng.below(NOUNS.len())];
            let keyword = if rng.below(2) == 0 { zh } else { en };
            let brand = BRANDS[rng.below(BRANDS.len())];
            let colour = COLOURS[rng.below(COLOURS.len())];
            (keyword, brand, colour)
        })
        .collect();
    let ours_search = |(keyword, brand, colour): (&'static str, &'static str, &'static str)| {
        let engine = engine.clone();
        let q = SearchQuery {
            keyword: Some(keyword.into()),
            properties: vec![
                Property {
                    name: "品牌".into(),
                    value: brand.into(),
                },
                Property {
                    name: "颜色".into(),
                    value: colour.into(),
                },
            ],
            sort: SearchSort::PriceAsc,
            page: 1,
            per_page: 20,
            ..SearchQuery::default()
        };
        async move { engine.search(&q).await.unwrap().total }
    };
    let like_search = |(keyword, brand, colour): (&'static str, &'static str, &'static str)| {
        let pool = store.pool().clone();
        async move {
            sqlx::query_as::<_, (i64,)>(
                "SELECT id FROM shop_products WHERE on_sale AND search_text LIKE ?1 \
                 AND properties LIKE ?2 AND properties LIKE ?3 \
                 ORDER BY price + 0.0, id DESC LIMIT 20",
            )
            .bind(format!("%{}%", keyword.to_lowercase()))
            .bind(format!("%\"value\":\"{brand}\"%"))
            .bind(format!("%\"value\":\"{colour}\"%"))
            .fetch_all(&pool)
            .await
            .unwrap()
            .len()
        }
    };

    // Each kind in its own phase.
    let mut ours = Vec::new();
    let mut found = 0u64;
    for (i, s) in searches.iter().enumerate() {
        let t = Instant::now();
        let total = ours_search(*s).await;
        if i >= warm_up {
            ours.push(t.elapsed());
            found += total;
        }
    }
    let mut like = Vec::new();
    for (i, s) in searches.iter().enumerate() {
        let t = Instant::now();
        like_search(*s).await;
        if i >= warm_up {
            like.push(t.elapsed());
        }
    }
    let mut listing = Vec::new();
    for (i, (keyword, _, _)) in searches.iter().enumerate() {
        let t = Instant::now();
        store
            .list_products(&ProductQuery {
                keyword: Some(keyword.to_lowercase()),
                on_sale: Some(true),
                sort: ProductSort::PriceAsc,
                page: 1,
                per_page: 20,
                count_limit: Some(10_000),
                ..ProductQuery::default()
            })
            .await
            .unwrap();
        if i >= warm_up {
            listing.push(t.elapsed());
        }
    }
    // Ours again, each search right after a LIKE scan has churned the
    // caches.
    let mut interleaved = Vec::new();
    for (i, s) in searches.iter().enumerate() {
        like_search(*s).await;
        let t = Instant::now();
        ours_search(*s).await;
        if i >= warm_up {
            interleaved.push(t.elapsed());
        }
    }
    let (o50, o99) = percentiles(ours);
    let (l50, l99) = percentiles(like);
    let (s50, s99) = percentiles(listing);
    let (i50, i99) = percentiles(interleaved);
    println!("{n} products (Chinese and English titles, 2 or 3 properties, 2 category levels), {queries} searches:");
    println!("  keyword + brand + colour filters, sorted by price, first page of 20");
    println!("indexing: {:.1} s ({:.0} products/s), index size {:.1} MB; loading the SQLite store: {:.1} s",
        indexing.as_secs_f64(), n as f64 / indexing.as_secs_f64(), size as f64 / 1e6, loading.as_secs_f64());
    println!("{:<40} {:>9} {:>9}", "", "p50 ms", "p99 ms");
    println!("{:<40} {:>9.2} {:>9.2}", "shop-search (tantivy)", o50, o99);
    println!(
        "{:<40} {:>9.2} {:>9.2}",
        "SQL LIKE scan, same filters (SQLite)", l50, l99
    );
    println!(
        "{:<40} {:>9.2} {:>9.2}",
        "example's SQL listing (keyword only)", s50, s99
    );
    println!(
        "{:<40} {:>9.2} {:>9.2}",
        "shop-search, each right after a LIKE scan", i50, i99
    );
    println!(
        "LIKE / ours: p50 {:.0}x, p99 {:.0}x; listing / ours: p50 {:.0}x, p99 {:.0}x; \
         LIKE / ours right after a LIKE scan: p50 {:.0}x, p99 {:.0}x",
        l50 / o50,
        l99 / o99,
        s50 / o50,
        s99 / o99,
        l50 / i50,
        l99 / i99
    );
    println!("(matches found by the index over all searches: {found})");
}
