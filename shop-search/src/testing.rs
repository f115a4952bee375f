//! A generated catalog of Chinese and English products, for tests and
//! benchmarks (feature `testing`).
//!
//! Product `i` is a noun of [`NOUNS`] in both languages with a brand, a
//! colour and an adjective; every third one also has an English `size`
//! property. Products fall in a two-level category tree (top categories 1,
//! 2, 3; their children `10 × top + 1..=3`), one in ten is out of stock,
//! and some prices sit exactly on the default price bucket bounds. The same
//! seed gives the same catalog.

use chrono::{TimeZone, Utc};
use rust_decimal::Decimal;
use shop_core::catalog::{Category, Product, ProductKind, Property, Sku};
use shop_core::ids::{CategoryId, ProductId, SkuId};
use shop_core::search::ProductDocument;
use shop_core::{Currency, Money};

/// The nouns products are made of: (Chinese, English).
pub const NOUNS: [(&str, &str); 12] = [
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
/// Values of the `品牌` (brand) property.
pub const BRANDS: [&str; 10] = [
    "小米", "华为", "Apple", "Sony", "联想", "Dell", "OPPO", "vivo", "Logitech", "Anker",
];
/// Values of the `颜色` (colour) property.
pub const COLOURS: [&str; 8] = [
    "黑色", "白色", "红色", "蓝色", "银色", "金色", "绿色", "灰色",
];
/// Values of the `size` property (every third product).
pub const SIZES: [&str; 3] = ["S", "M", "L"];
const ADJECTIVES: [&str; 8] = [
    "轻薄", "Pro", "高速", "wireless", "旗舰", "Mini", "静音", "Ultra",
];
/// Prices (in yuan) that sit on the default bucket bounds.
const ON_BOUNDS: [i64; 4] = [50, 100, 200, 500];

/// A small deterministic random number generator.
#[derive(Debug, Clone)]
pub struct Lcg(pub u64);

impl Lcg {
    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) % n as u64) as usize
    }
}

/// `n` products from `seed`, ids from 1,000,000 up.
pub fn catalog(n: usize, seed: u64) -> Vec<ProductDocument> {
    let mut rng = Lcg(seed);
    (0..n).map(|i| product(i, &mut rng)).collect()
}

/// The category tree the products fall in, parents first (for a store
/// that checks a product's category).
pub fn categories() -> Vec<Category> {
    let mut out = Vec::new();
    for top in 1..=3 {
        let parent = Category::new(CategoryId(top), &format!("分类{top}"), true, None)
            .expect("a valid category");
        for child in 1..=3 {
            let id = top * 10 + child;
            out.push(
                Category::new(CategoryId(id), &format!("分类{id}"), false, Some(&parent))
                    .expect("a valid category"),
            );
        }
        out.insert(out.len() - 3, parent);
    }
    out
}

/// Which of [`NOUNS`] a generated product is.
pub fn noun_of(doc: &ProductDocument) -> usize {
    NOUNS
        .iter()
        .position(|(zh, en)| doc.product.title.contains(&format!(" {zh} {en} ")))
        .unwrap_or(usize::MAX)
}

fn product(i: usize, rng: &mut Lcg) -> ProductDocument {
    let (zh, en) = NOUNS[rng.below(NOUNS.len())];
    let brand = BRANDS[rng.below(BRANDS.len())];
    let colour = COLOURS[rng.below(COLOURS.len())];
    let adjective = ADJECTIVES[rng.below(ADJECTIVES.len())];
    let amount = if rng.below(20) == 0 {
        Decimal::from(ON_BOUNDS[rng.below(ON_BOUNDS.len())])
    } else {
        Decimal::new(100 + rng.below(500_000) as i64, 2)
    };
    let price = Money::new(amount, Currency::Cny);
    let id = ProductId(1_000_000 + i as i64);
    let at =
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap() + chrono::Duration::seconds(i as i64);
    let top = 1 + rng.below(3) as i64;
    let child = top * 10 + 1 + rng.below(3) as i64;
    let mut properties = vec![
        Property {
            name: "品牌".into(),
            value: brand.into(),
        },
        Property {
            name: "颜色".into(),
            value: colour.into(),
        },
    ];
    if i.is_multiple_of(3) {
        properties.push(Property {
            name: "size".into(),
            value: SIZES[rng.below(SIZES.len())].into(),
        });
    }
    let stock = if rng.below(10) == 0 {
        0
    } else {
        1 + rng.below(100) as u32
    };
    ProductDocument {
        product: Product {
            id,
            kind: ProductKind::Normal,
            title: format!("{brand} {adjective} {zh} {en} {}", i % 997),
            long_title: String::new(),
            description: format!("{brand}{zh}，{colour}，{adjective} {en} for everyday use"),
            image: String::new(),
            on_sale: true,
            category_id: Some(CategoryId(child)),
            properties,
            rating: Decimal::new(rng.below(500) as i64, 2),
            sold_count: rng.below(10_000) as u64,
            review_count: rng.below(1_000) as u64,
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
            stock,
        }],
        category_path: vec![CategoryId(top), CategoryId(child)],
        category_names: vec![format!("分类{top}"), format!("分类{child}")],
    }
}
