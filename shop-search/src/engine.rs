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
use tantivy::collector::sort_key::{SortBySimilarityScore, SortByStaticFastValue, SortKeyComputer};
use tantivy::collector::TopDocs;
use tantivy::indexer::IndexWriterOptions;
use tantivy::query::{BooleanQuery, ConstScoreQuery, Occur, Query, TermQuery};
use tantivy::schema::{IndexRecordOption, Value};
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{
    Index, IndexReader, IndexWriter, Order, ReloadPolicy, Searcher, TantivyDocument, Term,
};

use crate::analysis::{analyzers, QUERY_ANALYZER};
use crate::query::{self, Synonyms};
use crate::schema::{document, schema, Fields, ROOT};
use crate::sidebar::{FilterCache, PageOrder, Plan, Sidebar};

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
    /// Memory for the property filters kept between searches (one bit per
    /// product per filter and index segment; the least recently used go
    /// first). 0 keeps none.
    pub filter_cache_bytes: usize,
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
            filter_cache_bytes: 16_000_000,
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
    filter_cache: Arc<Mutex<FilterCache>>,
    created_empty: bool,
}

/// The file holding the version of the schema an index folder was written
/// with.
const VERSION_FILE: &str = "shop-search.version";
/// This version's schema and analysis; another one in a folder means a
/// rebuild.
const SCHEMA_VERSION: &str = "2";
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
                filter_cache: Arc::new(Mutex::new(FilterCache::new(config.filter_cache_bytes))),
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

    /// Runs a search `f` on the engine: a search takes well under a
    /// millisecond, so on a multi-threaded runtime it runs right here,
    /// telling the runtime to move its other tasks to another thread
    /// meanwhile (`block_in_place`); elsewhere on a blocking thread.
    async fn reading<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Engine) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        use tokio::runtime::{Handle, RuntimeFlavor};
        match Handle::try_current().map(|h| h.runtime_flavor()) {
            Ok(RuntimeFlavor::MultiThread) => tokio::task::block_in_place(|| f(&self.inner)),
            _ => self.blocking(f).await,
        }
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
            q.sort == SearchSort::Relevance,
        );
        let order = match (q.sort, keyword.is_some()) {
            (SearchSort::Relevance, true) => PageOrder::Score,
            (SearchSort::PriceAsc, _) => PageOrder::Asc("price"),
            (SearchSort::PriceDesc, _) => PageOrder::Desc("price"),
            (SearchSort::SoldDesc, _) => PageOrder::Desc("sold"),
            (SearchSort::RatingDesc, _) => PageOrder::Desc("rating"),
            (SearchSort::ReviewsDesc, _) => PageOrder::Desc("reviews"),
            _ => PageOrder::Desc("created"),
        };
        let offset = u64::from(q.page.max(1) - 1) * u64::from(q.per_page);
        // More than the index holds is never needed.
        let top = (offset + u64::from(q.per_page)).min(searcher.num_docs()) as usize;
        let plan = Arc::new(Plan {
            props_field: f.props,
            filter_cache: self.filter_cache.clone(),
            properties: query::property_filters(q),
            price: query::price_range(q),
            bounds: self
                .price_bounds
                .iter()
                .map(|b| crate::schema::hundredths(*b))
                .collect(),
            edge_prefix: format!(
                "{}/",
                q.category_id
                    .map_or_else(|| ROOT.to_owned(), |c| c.0.to_string())
            ),
            order,
            top,
        });
        // A keyword's matches are few enough for the collector to test the
        // faceted filters on each; without one, the index narrows them
        // first.
        let faceted = if keyword.is_some() {
            Vec::new()
        } else {
            query::faceted_filters(f, q)
        };
        let all = query::sidebar_query(keyword, query::fixed_filters(f, q), faceted);
        let found = searcher.search(&all, &Sidebar(plan.clone())).map_err(err)?;

        let product_ids = found
            .top
            .iter()
            .skip(offset.min(top as u64) as usize)
            .map(|(_, id)| ProductId(*id as i64))
            .collect();
        let mut by_name: BTreeMap<String, Vec<FacetValue>> = BTreeMap::new();
        for (term, count) in found.properties {
            if let Some((name, value)) = term.split_once('=') {
                by_name
                    .entry(name.to_owned())
                    .or_default()
                    .push(FacetValue {
                        value: value.to_owned(),
                        count,
                    });
            }
        }
        let facets = by_name
            .into_iter()
            .map(|(name, mut values)| {
                values.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
                PropertyFacet { name, values }
            })
            .collect();
        let mut categories: Vec<CategoryCount> = found
            .children
            .into_iter()
            .filter_map(|(edge, count)| {
                let child = edge.strip_prefix(&plan.edge_prefix)?.parse::<i64>().ok()?;
                Some(CategoryCount {
                    category_id: CategoryId(child),
                    count,
                })
            })
            .collect();
        categories.sort_by(|a, b| {
            b.count
                .cmp(&a.count)
                .then(a.category_id.cmp(&b.category_id))
        });
        // The bounds are whole hundredths.
        let as_money = |c: Option<&u64>| c.map(|c| Decimal::new(*c as i64, 2));
        let price_buckets = found
            .buckets
            .iter()
            .enumerate()
            .filter(|(_, count)| **count > 0)
            .map(|(i, count)| PriceBucket {
                from: as_money(i.checked_sub(1).and_then(|i| plan.bounds.get(i))),
                to: as_money(plan.bounds.get(i)),
                count: *count,
            })
            .collect();
        Ok(SearchResults {
            product_ids,
            total: found.total,
            facets,
            categories,
            price_buckets,
        })
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
        self.reading(move |e| e.search(&query)).await
    }

    async fn similar(&self, id: ProductId, limit: u32) -> Result<Vec<ProductId>> {
        self.reading(move |e| e.similar(id, limit)).await
    }
}
