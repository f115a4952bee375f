//! The index's fields and how a product becomes a document.

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use shop_core::search::ProductDocument;
use tantivy::schema::{
    Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, FAST, INDEXED, STORED, STRING,
};
use tantivy::TantivyDocument;

use crate::analysis::INDEX_ANALYZER;

/// The fields.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fields {
    /// Product id.
    pub(crate) id: Field,
    /// Title (boosted in relevance).
    pub(crate) title: Field,
    /// Every word of the product: title, long title, description, SKU
    /// titles and descriptions, category names, property values (keywords
    /// match here; the title field only adds relevance).
    pub(crate) text: Field,
    /// `parent/child` per step of the category path (`root/1`, `1/12`):
    /// counts per child of any category.
    pub(crate) category_edges: Field,
    /// Every category id on the path: a term matches a subtree.
    pub(crate) categories: Field,
    /// `name=value` per property.
    pub(crate) props: Field,
    /// Lowest SKU price in hundredths.
    pub(crate) price: Field,
    /// Units sold.
    pub(crate) sold: Field,
    /// Mean rating in hundredths.
    pub(crate) rating: Field,
    /// Reviews.
    pub(crate) reviews: Field,
    /// Creation time, microseconds since the Unix epoch.
    pub(crate) created: Field,
    /// 1 when a SKU has stock.
    pub(crate) in_stock: Field,
}

/// The schema and its fields.
pub(crate) fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(INDEX_ANALYZER)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    let fields = Fields {
        id: b.add_u64_field("id", INDEXED | FAST | STORED),
        title: b.add_text_field("title", text.clone()),
        text: b.add_text_field("text", text),
        category_edges: b.add_text_field("category_edges", STRING | FAST),
        categories: b.add_u64_field("categories", INDEXED),
        props: b.add_text_field("props", STRING | FAST | STORED),
        price: b.add_u64_field("price", INDEXED | FAST),
        sold: b.add_u64_field("sold", FAST),
        rating: b.add_u64_field("rating", FAST),
        reviews: b.add_u64_field("reviews", FAST),
        created: b.add_u64_field("created", FAST),
        in_stock: b.add_u64_field("in_stock", INDEXED | FAST),
    };
    (b.build(), fields)
}

/// A price in hundredths (negative prices do not exist; huge ones clamp).
pub(crate) fn hundredths(amount: Decimal) -> u64 {
    (amount * Decimal::ONE_HUNDRED)
        .round()
        .to_u64()
        .unwrap_or(u64::MAX)
}

/// The property term of `name` and `value`.
pub(crate) fn property_term(name: &str, value: &str) -> String {
    format!("{}={}", name.trim(), value.trim())
}

/// The parent of the top categories in `category_edges`.
pub(crate) const ROOT: &str = "root";

/// The document of an on-sale product.
pub(crate) fn document(f: &Fields, d: &ProductDocument) -> TantivyDocument {
    let p = &d.product;
    let mut doc = TantivyDocument::new();
    doc.add_u64(f.id, p.id.0 as u64);
    doc.add_text(f.title, &p.title);
    doc.add_text(f.text, &p.title);
    doc.add_text(f.text, &p.long_title);
    doc.add_text(f.text, &p.description);
    for sku in &d.skus {
        doc.add_text(f.text, &sku.title);
        doc.add_text(f.text, &sku.description);
    }
    for name in &d.category_names {
        doc.add_text(f.text, name);
    }
    for prop in &p.properties {
        doc.add_text(f.text, &prop.value);
        doc.add_text(f.props, property_term(&prop.name, &prop.value));
    }
    let mut parent = ROOT.to_owned();
    for c in &d.category_path {
        doc.add_text(f.category_edges, format!("{parent}/{}", c.0));
        parent = c.0.to_string();
    }
    for c in &d.category_path {
        doc.add_u64(f.categories, c.0 as u64);
    }
    doc.add_u64(f.price, hundredths(p.price.amount()));
    doc.add_u64(f.sold, p.sold_count);
    doc.add_u64(f.rating, hundredths(p.rating));
    doc.add_u64(f.reviews, p.review_count);
    doc.add_u64(
        f.created,
        u64::try_from(p.created_at.timestamp_micros()).unwrap_or(0),
    );
    doc.add_u64(f.in_stock, u64::from(d.skus.iter().any(|s| s.stock > 0)));
    doc
}
