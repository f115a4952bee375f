//! Search on 100,000 generated products, Chinese and English: indexing
//! time and index size, then p50 / p99 of keyword + two property filters +
//! a sort, side by side in the same run with the same searches as a SQL
//! `LIKE` scan on SQLite over the same data, and with the SQL listing the
//! example shop falls back to (`SqliteStore::list_products` with a
//! keyword). Prints the ratios.
//!
//! Run: `cargo bench -p shop-search --bench search`
//! Knobs: `SHOP_BENCH_PRODUCTS` (default 100000), `SHOP_BENCH_QUERIES` (300).

use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use rust_decimal::Decimal;
use shop_core::catalog::{
    CatalogStore, Product, ProductKind, ProductQuery, ProductSort, Property, Sku,
};
use shop_core::ids::{ProductId, SkuId};
use shop_core::search::{ProductDocument, SearchIndex, SearchQuery, SearchSort};
use shop_core::{Currency, Money};
use shop_search::{SearchConfig, SearchEngine};
use shop_storage_sql::SqliteStore;

const NOUNS: [(&str, &str); 12] = [
    ("手机", "phone"),
    ("笔记本电脑", "laptop"),
    ("耳机", "headphones"),
    ("键盘", "keyboard"),
    ("内存条", "memory module"),
    ("显示器", "monitor"),
    ("鼠标", "mouse"),
    ("平板", "tablet"),
    ("音箱", "speaker"),
    ("相机", "camera"),
    ("手表", "watch"),
    ("路由器", "router"),
];
const BRANDS: [&str; 10] = [
    "小米", "华为", "Apple", "Sony", "联想", "Dell", "OPPO", "vivo", "Logitech", "Anker",
];
const COLOURS: [&str; 8] = [
    "黑色", "白色", "红色", "蓝色", "银色", "金色", "绿色", "灰色",
];
const ADJECTIVES: [&str; 8] = [
    "轻薄", "Pro", "高速", "wireless", "旗舰", "Mini", "静音", "Ultra",
];

/// A small deterministic generator.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) % n as u64) as usize
    }
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn product(i: usize, rng: &mut Lcg) -> ProductDocument {
    let (zh, en) = NOUNS[rng.next(NOUNS.len())];
    let brand = BRANDS[rng.next(BRANDS.len())];
    let colour = COLOURS[rng.next(COLOURS.len())];
    let adjective = ADJECTIVES[rng.next(ADJECTIVES.len())];
    let price = Money::new(
        Decimal::new(100 + rng.next(500_000) as i64, 2),
        Currency::Cny,
    );
    let id = ProductId(1_000_000 + i as i64);
    let at =
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap() + chrono::Duration::seconds(i as i64);
    ProductDocument {
        product: Product {
            id,
            kind: ProductKind::Normal,
            title: format!("{brand} {adjective} {zh} {en} {}", i % 997),
            long_title: String::new(),
            description: format!("{brand}{zh}，{colour}，{adjective} {en} for everyday use"),
            image: String::new(),
            on_sale: true,
            category_id: None,
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
            rating: Decimal::new(rng.next(500) as i64, 2),
            sold_count: rng.next(10_000) as u64,
            review_count: rng.next(1_000) as u64,
            price,
            created_at: at,
            updated_at: at,
        },
        skus: vec![Sku {
            id: SkuId(id.0 * 10),
            product_id: id,
            title: colour.into(),
            description: String::new(),
            price,
            stock: rng.next(100) as u32,
        }],
        category_path: Vec::new(),
        category_names: Vec::new(),
    }
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
    let queries = env_usize("SHOP_BENCH_QUERIES", 300);
    let work = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("search-bench");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).unwrap();

    let mut rng = Lcg(42);
    let docs: Vec<ProductDocument> = (0..n).map(|i| product(i, &mut rng)).collect();

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
    let started = Instant::now();
    for d in &docs {
        store
            .create_product(&d.product, &d.skus, &[])
            .await
            .unwrap();
    }
    let loading = started.elapsed();

    // The same searches three ways.
    let mut rng = Lcg(7);
    let mut ours = Vec::new();
    let mut like = Vec::new();
    let mut listing = Vec::new();
    let mut found = 0u64;
    for _ in 0..queries {
        let (zh, en) = NOUNS[rng.next(NOUNS.len())];
        let keyword = if rng.next(2) == 0 { zh } else { en };
        let brand = BRANDS[rng.next(BRANDS.len())];
        let colour = COLOURS[rng.next(COLOURS.len())];
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
        let t = Instant::now();
        let r = engine.search(&q).await.unwrap();
        ours.push(t.elapsed());
        found += r.total;

        let t = Instant::now();
        let rows: Vec<(i64,)> = sqlx::query_as(
            "SELECT id FROM shop_products WHERE on_sale AND search_text LIKE ?1 \
             AND properties LIKE ?2 AND properties LIKE ?3 ORDER BY price + 0.0, id DESC LIMIT 20",
        )
        .bind(format!("%{}%", keyword.to_lowercase()))
        .bind(format!("%\"value\":\"{brand}\"%"))
        .bind(format!("%\"value\":\"{colour}\"%"))
        .fetch_all(store.pool())
        .await
        .unwrap();
        like.push(t.elapsed());
        let _ = rows;

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
        listing.push(t.elapsed());
    }
    let (o50, o99) = percentiles(ours);
    let (l50, l99) = percentiles(like);
    let (s50, s99) = percentiles(listing);
    println!("{n} products (Chinese and English titles, 2 properties each), {queries} searches:");
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
        "LIKE / ours: p50 {:.0}x, p99 {:.0}x; listing / ours: p50 {:.0}x, p99 {:.0}x",
        l50 / o50,
        l99 / o99,
        s50 / o50,
        s99 / o99
    );
    println!("(matches found by the index over all searches: {found})");
}
