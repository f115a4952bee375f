//! [`SearchEngine`]: one tantivy index, its writer and reader, and the
//! [`SearchIndex`] port on it.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use jieba_rs::Jieba;
use rust_decimal::Decimal;
use shop_core::catalog::{CatalogStore, ProductQuery, ProductSort};
use shop_core::ids::{CategoryId, ProductId};
use shop_core::search::{
    CategoryCount, Facet as PropertyFacet, FacetValue, PriceBucket, ProductDocument, SearchIndex,
    SearchQuery, SearchResults, SearchSort,
};
use shop_core::{Error, Result, StoreError};
use tantivy::aggregation::agg_req::Aggregations;
use tantivy::aggregation::agg_result::{AggregationResult, AggregationResults, BucketResult};
use tantivy::aggregation::{AggContextParams, AggregationCollector, AggregationLimitsGuard, Key};
use tantivy::collector::sort_key::{SortBySimilarityScore, SortByStaticFastValue, SortKeyComputer};
use tantivy::collector::{Count, TopDocs};
use tantivy::indexer::IndexWriterOptions;
use tantivy::query::{BooleanQuery, ConstScoreQuery, Occur, Query, TermQuery};
use tantivy::schema::{IndexRecordOption, Value};
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{
    Index, IndexReader, IndexWriter, Order, ReloadPolicy, Searcher, TantivyDocument, Term,
};

use crate::analysis::{analyzers, QUERY_ANALYZER};
use crate::query::{self, Filter, Synonyms};
use crate::schema::{document, schema, Fields, ROOT};

/// Settings of a [`SearchEngine`].
#[derive(Debug, Clone)]
pub struct SearchConfig {
    /// Groups of words or phrases that mean the same, e.g.
    /// `["内存条", "memory module"]`, `["phone", "手机"]`: a keyword holding
    /// one finds the others. Applied when searching: changing them needs no
    /// reindex.
    pub synonyms: Vec<Vec<String>>,
    /// Memory the index writer may use before it flushes a segment (at
    /// least 15 MB).
    pub writer_memory: usize,
    /// Upper bounds (exclusive) of the price buckets, in the shop's
    /// currency; the last bucket has none.
    pub price_bounds: Vec<Decimal>,
}

impl Default for SearchConfig {
    fn default() -> Self {
        SearchConfig {
            synonyms: Vec::new(),
            writer_memory: 32_000_000,
            price_bounds: [50, 100, 200, 500, 1000, 2000]
                .into_iter()
                .map(Decimal::from)
                .collect(),
        }
    }
}

/// A product search index on tantivy (on disk, or in memory for tests).
/// Cheap to clone; every clone is the same index.
#[derive(Clone)]
pub struct SearchEngine {
    inner: Arc<Engine>,
}

impl std::fmt::Debug for SearchEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchEngine").finish_non_exhaustive()
    }
}

struct Engine {
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    fields: Fields,
    query_analyzer: TextAnalyzer,
    synonyms: Synonyms,
    price_bounds: Vec<Decimal>,
    tokenizers: tantivy::tokenizer::TokenizerManager,
    created_empty: bool,
}

/// The file holding the version of the schema an index folder was written
/// with.
const VERSION_FILE: &str = "shop-search.version";
/// This version's schema and analysis; another one in a folder means a
/// rebuild.
const SCHEMA_VERSION: &str = "1";
/// Products read from the catalog per chunk of a rebuild.
const REBUILD_CHUNK: u32 = 500;

/// An index error as the shop's.
fn err(e: impl std::error::Error + Send + Sync + 'static) -> Error {
    Error::Store(StoreError::Backend { source: e.into() })
}

impl SearchEngine {
    /// An index in memory.
    pub fn in_memory(config: SearchConfig) -> Result<SearchEngine> {
        let (schema, _) = schema();
        SearchEngine::on(Index::create_in_ram(schema), config, true)
    }

    /// The index in folder `dir`, created when the folder holds none. An
    /// index written by another version of this crate's schema or analysis
    /// (the folder's `shop-search.version`) is deleted and created afresh:
    /// [`SearchEngine::needs_rebuild`] then says so.
    pub fn open(dir: &Path, config: SearchConfig) -> Result<SearchEngine> {
        let version_file = dir.join(VERSION_FILE);
        let written = std::fs::read_to_string(&version_file).ok();
        let current = written.as_deref().map(str::trim) == Some(SCHEMA_VERSION);
        if !current && dir.exists() {
            std::fs::remove_dir_all(dir).map_err(err)?;
        }
        std::fs::create_dir_all(dir).map_err(err)?;
        let (schema, _) = schema();
        let directory = tantivy::directory::MmapDirectory::open(dir).map_err(err)?;
        let index = Index::open_or_create(directory, schema).map_err(err)?;
        if !current {
            std::fs::write(&version_file, SCHEMA_VERSION).map_err(err)?;
        }
        SearchEngine::on(index, config, !current)
    }

    /// Whether the index was created empty (new, or its schema changed) and
    /// should be filled with [`SearchEngine::rebuild`].
    pub fn needs_rebuild(&self) -> bool {
        self.inner.created_empty
    }

    fn on(index: Index, config: SearchConfig, created_empty: bool) -> Result<SearchEngine> {
        let jieba = Arc::new(Jieba::new());
        for (name, analyzer) in analyzers(&jieba) {
            index.tokenizers().register(name, analyzer);
        }
        let (_, fields) = schema();
        let mut query_analyzer = index
            .tokenizers()
            .get(QUERY_ANALYZER)
            .ok_or_else(|| err(std::io::Error::other("the query analyzer is missing")))?;
        let synonyms = Synonyms::new(&config.synonyms, &mut query_analyzer);
        let writer = index
            .writer_with_options(
                IndexWriterOptions::builder()
                    .num_worker_threads(1)
                    .num_merge_threads(1)
                    .memory_budget_per_thread(config.writer_memory.max(15_000_000))
                    .build(),
            )
            .map_err(err)?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(err)?;
        Ok(SearchEngine {
            inner: Arc::new(Engine {
                reader,
                writer: Mutex::new(writer),
                fields,
                query_analyzer,
                synonyms,
                price_bounds: config.price_bounds,
                tokenizers: index.tokenizers().clone(),
                created_empty,
            }),
        })
    }

    /// Runs `f` on the engine on a blocking thread (tantivy is synchronous).
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Engine) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || f(&inner))
            .await
            .map_err(err)?
    }

    /// Rebuilds the index from `catalog`: every product on sale, read in
    /// chunks (memory stays constant at any catalog size), written beside
    /// the live documents and made visible in one commit, so searches go on
    /// answering from the old index until the new one replaces it at once.
    /// `progress` hears (products done, products in the catalog) after each
    /// chunk. Returns how many products were indexed. Updates made
    /// meanwhile wait for the rebuild; the outbox listener applies what
    /// changed during it.
    pub async fn rebuild(
        &self,
        catalog: Arc<dyn CatalogStore>,
        mut progress: impl FnMut(u64, u64) + Send + 'static,
    ) -> Result<u64> {
        let handle = tokio::runtime::Handle::current();
        self.blocking(move |e| {
            let f = &e.fields;
            let mut writer = e.writer.lock().unwrap_or_else(|p| p.into_inner());
            writer.delete_all_documents().map_err(err)?;
            let mut seen = HashSet::new();
            let mut page = 1;
            loop {
                let chunk = handle.block_on(catalog.list_products(&ProductQuery {
                    on_sale: Some(true),
                    sort: ProductSort::Newest,
                    page,
                    per_page: REBUILD_CHUNK,
                    ..ProductQuery::default()
                }))?;
                for product in &chunk.items {
                    // A product created meanwhile shifts the pages: skip
                    // what a page before already had.
                    if !seen.insert(product.id) {
                        continue;
                    }
                    let doc =
                        handle.block_on(ProductDocument::load(catalog.as_ref(), product.id))?;
                    if let Some(doc) = doc.filter(|d| d.product.on_sale) {
                        writer.add_document(document(f, &doc)).map_err(err)?;
                    }
                }
                progress(seen.len() as u64, chunk.total);
                if chunk.items.len() < REBUILD_CHUNK as usize {
                    break;
                }
                page += 1;
            }
            writer.commit().map_err(err)?;
            drop(writer);
            e.reader.reload().map_err(err)?;
            Ok(seen.len() as u64)
        })
        .await
    }

    /// Adds or replaces many products in one commit (those not on sale are
    /// removed).
    pub async fn index_products(&self, docs: Vec<ProductDocument>) -> Result<()> {
        self.blocking(move |e| e.write(&docs, &[])).await
    }
}

impl Engine {
    /// Replaces `docs` and removes `removed`, in one commit, then makes
    /// it visible.
    fn write(&self, docs: &[ProductDocument], removed: &[ProductId]) -> Result<()> {
        let f = &self.fields;
        let mut writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        for id in removed.iter().chain(docs.iter().map(|d| &d.product.id)) {
            writer.delete_term(Term::from_field_u64(f.id, id.0 as u64));
        }
        for d in docs.iter().filter(|d| d.product.on_sale) {
            writer.add_document(document(f, d)).map_err(err)?;
        }
        writer.commit().map_err(err)?;
        drop(writer);
        self.reader.reload().map_err(err)
    }

    fn search(&self, q: &SearchQuery) -> Result<SearchResults> {
        q.validate()?;
        let f = &self.fields;
        let searcher = self.reader.searcher();
        let mut analyzer = self.query_analyzer.clone();
        let keyword = query::keyword(
            f,
            &searcher,
            &mut analyzer,
            &self.synonyms,
            q.keyword.as_deref(),
        );
        let filters = query::filters(f, q);
        let all = query::combine(keyword.as_deref(), &filters, None);

        let total = searcher.search(&all, &Count).map_err(err)?;
        let offset = u64::from(q.page.max(1) - 1) * u64::from(q.per_page);
        let product_ids = if offset >= total as u64 || q.per_page == 0 {
            Vec::new()
        } else {
            let top = TopDocs::with_limit(q.per_page as usize).and_offset(offset as usize);
            let sort = match (q.sort, keyword.is_some()) {
                (SearchSort::Relevance, false) | (SearchSort::Newest, _) => {
                    by_field(&searcher, &all, top, "created", Order::Desc)
                }
                (SearchSort::Relevance, true) => {
                    ids_by(&searcher, &all, top, (SortBySimilarityScore, Order::Desc))
                }
                (SearchSort::PriceAsc, _) => by_field(&searcher, &all, top, "price", Order::Asc),
                (SearchSort::PriceDesc, _) => by_field(&searcher, &all, top, "price", Order::Desc),
                (SearchSort::SoldDesc, _) => by_field(&searcher, &all, top, "sold", Order::Desc),
                (SearchSort::RatingDesc, _) => {
                    by_field(&searcher, &all, top, "rating", Order::Desc)
                }
                (SearchSort::ReviewsDesc, _) => {
                    by_field(&searcher, &all, top, "reviews", Order::Desc)
                }
                _ => by_field(&searcher, &all, top, "created", Order::Desc),
            };
            sort?.into_iter().map(|id| ProductId(id as i64)).collect()
        };

        // The sidebar: property values over the matches, each property's
        // own filter left out; categories; price buckets without the price
        // filter.
        let mut by_name: BTreeMap<String, Vec<FacetValue>> = BTreeMap::new();
        let active: Vec<&Filter> = filters
            .iter()
            .map(|(w, _)| w)
            .filter(|w| matches!(w, Filter::Property(_)))
            .collect();
        for (name, value, count) in self.property_counts(&searcher, &all)? {
            let filtered = active.contains(&&Filter::Property(name.clone()));
            if !filtered {
                by_name
                    .entry(name)
                    .or_default()
                    .push(FacetValue { value, count });
            }
        }
        for w in active {
            let Filter::Property(own) = w else { continue };
            let without = query::combine(keyword.as_deref(), &filters, Some(w));
            for (name, value, count) in self.property_counts(&searcher, &without)? {
                if name == *own {
                    by_name
                        .entry(name)
                        .or_default()
                        .push(FacetValue { value, count });
                }
            }
        }
        let facets = by_name
            .into_iter()
            .map(|(name, mut values)| {
                values.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
                PropertyFacet { name, values }
            })
            .collect();
        let categories = self.category_counts(&searcher, &all, q.category_id)?;
        let without_price = query::combine(keyword.as_deref(), &filters, Some(&Filter::Price));
        let price_buckets = self.price_buckets(&searcher, &without_price)?;
        Ok(SearchResults {
            product_ids,
            total: total as u64,
            facets,
            categories,
            price_buckets,
        })
    }

    fn aggregate(
        &self,
        searcher: &Searcher,
        q: &dyn Query,
        req: Aggregations,
    ) -> Result<AggregationResults> {
        let collector = AggregationCollector::from_aggs(
            req,
            AggContextParams::new(
                AggregationLimitsGuard::new(Some(100_000_000), Some(65_000)),
                self.tokenizers.clone(),
            ),
        );
        searcher.search(q, &collector).map_err(err)
    }

    /// (name, value, count) of every property value over the matches of `q`.
    fn property_counts(
        &self,
        searcher: &Searcher,
        q: &dyn Query,
    ) -> Result<Vec<(String, String, u64)>> {
        let req = aggregations(r#"{"props": {"terms": {"field": "props", "size": 5000}}}"#)?;
        let res = self.aggregate(searcher, q, req)?;
        let mut out = Vec::new();
        if let Some(AggregationResult::BucketResult(BucketResult::Terms { buckets, .. })) =
            res.0.get("props")
        {
            for b in buckets {
                if let Key::Str(k) = &b.key {
                    if let Some((name, value)) = k.split_once('=') {
                        out.push((name.to_owned(), value.to_owned(), b.doc_count));
                    }
                }
            }
        }
        Ok(out)
    }

    fn price_buckets(&self, searcher: &Searcher, q: &dyn Query) -> Result<Vec<PriceBucket>> {
        let cents: Vec<u64> = self
            .price_bounds
            .iter()
            .map(|b| crate::schema::hundredths(*b))
            .collect();
        let mut ranges = Vec::new();
        let mut from: Option<u64> = None;
        for to in cents.iter().copied().map(Some).chain([None]) {
            let mut r = Vec::new();
            if let Some(from) = from {
                r.push(format!(r#""from": {from}.0"#));
            }
            if let Some(to) = to {
                r.push(format!(r#""to": {to}.0"#));
            }
            ranges.push(format!("{{{}}}", r.join(", ")));
            from = to;
        }
        let req = aggregations(&format!(
            r#"{{"price": {{"range": {{"field": "price", "ranges": [{}]}}}}}}"#,
            ranges.join(", ")
        ))?;
        let res = self.aggregate(searcher, q, req)?;
        let mut out = Vec::new();
        if let Some(AggregationResult::BucketResult(BucketResult::Range { buckets })) =
            res.0.get("price")
        {
            // The bounds are whole hundredths.
            let as_money = |v: Option<f64>| v.map(|c| Decimal::new(c.round() as i64, 2));
            for b in buckets.iter() {
                if b.doc_count > 0 {
                    out.push(PriceBucket {
                        from: as_money(b.from),
                        to: as_money(b.to),
                        count: b.doc_count,
                    });
                }
            }
        }
        Ok(out)
    }

    /// The children of `category` (the top categories without one) with
    /// their match counts, most first.
    fn category_counts(
        &self,
        searcher: &Searcher,
        q: &dyn Query,
        category: Option<CategoryId>,
    ) -> Result<Vec<CategoryCount>> {
        let parent = category.map_or_else(|| ROOT.to_owned(), |c| c.0.to_string());
        let req =
            aggregations(r#"{"edges": {"terms": {"field": "category_edges", "size": 65000}}}"#)?;
        let res = self.aggregate(searcher, q, req)?;
        let mut out = Vec::new();
        if let Some(AggregationResult::BucketResult(BucketResult::Terms { buckets, .. })) =
            res.0.get("edges")
        {
            for b in buckets {
                if let Key::Str(k) = &b.key {
                    let child = k
                        .split_once('/')
                        .filter(|(p, _)| *p == parent)
                        .and_then(|(_, c)| c.parse::<i64>().ok());
                    if let Some(child) = child {
                        out.push(CategoryCount {
                            category_id: CategoryId(child),
                            count: b.doc_count,
                        });
                    }
                }
            }
        }
        out.sort_by(|a, b| {
            b.count
                .cmp(&a.count)
                .then(a.category_id.cmp(&b.category_id))
        });
        Ok(out)
    }

    fn similar(&self, id: ProductId, limit: u32) -> Result<Vec<ProductId>> {
        let f = &self.fields;
        let searcher = self.reader.searcher();
        let me = Term::from_field_u64(f.id, id.0 as u64);
        let hits = searcher
            .search(
                &TermQuery::new(me.clone(), IndexRecordOption::Basic),
                &TopDocs::with_limit(1).order_by_score(),
            )
            .map_err(err)?;
        let Some((_, address)) = hits.first() else {
            return Ok(Vec::new());
        };
        let doc: TantivyDocument = searcher.doc(*address).map_err(err)?;
        let props: Vec<String> = doc
            .get_all(f.props)
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect();
        if props.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = props
            .iter()
            .map(|p| {
                let term =
                    TermQuery::new(Term::from_field_text(f.props, p), IndexRecordOption::Basic);
                (
                    Occur::Should,
                    Box::new(ConstScoreQuery::new(Box::new(term), 1.0)) as Box<dyn Query>,
                )
            })
            .collect();
        clauses.push((
            Occur::MustNot,
            Box::new(TermQuery::new(me, IndexRecordOption::Basic)),
        ));
        let q = BooleanQuery::with_minimum_required_clauses(clauses, props.len().div_ceil(2));
        let top = TopDocs::with_limit(limit as usize);
        Ok(
            ids_by(&searcher, &q, top, (SortBySimilarityScore, Order::Desc))?
                .into_iter()
                .map(|id| ProductId(id as i64))
                .collect(),
        )
    }
}

fn aggregations(json: &str) -> Result<Aggregations> {
    serde_json::from_str(json).map_err(err)
}

/// The product ids of the page `top` of `q`'s matches by `head`, ties by
/// id, highest first.
fn ids_by<H>(searcher: &Searcher, q: &dyn Query, top: TopDocs, head: H) -> Result<Vec<u64>>
where
    H: SortKeyComputer + Send + 'static,
    H::SortKey: 'static + Clone + Send + Sync + std::fmt::Debug,
{
    let collector = top.order_by((
        head,
        (SortByStaticFastValue::<u64>::for_field("id"), Order::Desc),
    ));
    Ok(searcher
        .search(q, &collector)
        .map_err(err)?
        .into_iter()
        .filter_map(|((_, id), _)| id)
        .collect())
}

fn by_field(
    searcher: &Searcher,
    q: &dyn Query,
    top: TopDocs,
    field: &str,
    order: Order,
) -> Result<Vec<u64>> {
    ids_by(
        searcher,
        q,
        top,
        (SortByStaticFastValue::<u64>::for_field(field), order),
    )
}

#[async_trait]
impl SearchIndex for SearchEngine {
    async fn index_product(&self, doc: &ProductDocument) -> Result<()> {
        let doc = doc.clone();
        self.blocking(move |e| e.write(std::slice::from_ref(&doc), &[]))
            .await
    }

    async fn remove_product(&self, id: ProductId) -> Result<()> {
        self.blocking(move |e| e.write(&[], &[id])).await
    }

    async fn search(&self, query: &SearchQuery) -> Result<SearchResults> {
        let query = query.clone();
        self.blocking(move |e| e.search(&query)).await
    }

    async fn similar(&self, id: ProductId, limit: u32) -> Result<Vec<ProductId>> {
        self.blocking(move |e| e.similar(id, limit)).await
    }
}
