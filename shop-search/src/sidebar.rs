//! One pass over the index for a whole results page: the total, the page,
//! and the sidebar (each property's values with that property's own filter
//! left out, the child categories, price buckets without the price
//! filter).
//!
//! The query it runs is the keyword with the filters no sidebar entry
//! leaves out (category, stock). Without a keyword, the faceted filters
//! (one per property name, the price range) join it as optional clauses of
//! which all but one must match, so the index narrows the products to
//! those failing at most one of them. The collector then tests each
//! product against the faceted filters (property filters as per-segment
//! bitsets, kept in a [`FilterCache`]; the price from its fast field) and
//! counts it where it belongs: failing none, it is a match (total, page,
//! every count); failing only property P's filter, it counts for P's
//! values; failing only the price filter, for the price buckets; failing
//! two or more, nowhere.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::ops::Bound;
use std::sync::{Arc, Mutex};

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::{Column, Dictionary};
use tantivy::index::SegmentId;
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{BitSet, DocId, DocSet, Score, SegmentOrdinal, SegmentReader, Term, TERMINATED};

/// How the page is ordered; ties go to the higher product id.
#[derive(Debug, Clone, Copy)]
pub(crate) enum PageOrder {
    /// Relevance, highest first.
    Score,
    /// A u64 fast field, lowest first.
    Asc(&'static str),
    /// A u64 fast field, highest first.
    Desc(&'static str),
}

/// What to collect.
#[derive(Debug)]
pub(crate) struct Plan {
    /// The `props` field (`name=value` terms).
    pub(crate) props_field: Field,
    /// The engine's filter cache.
    pub(crate) filter_cache: Arc<Mutex<FilterCache>>,
    /// Per filtered property name, the `name=value` terms it accepts,
    /// sorted.
    pub(crate) properties: Vec<(String, Vec<String>)>,
    /// The price filter in hundredths, both ends included.
    pub(crate) price: Option<(u64, u64)>,
    /// Upper bounds (exclusive) of the price buckets in hundredths,
    /// ascending; the last bucket has none.
    pub(crate) bounds: Vec<u64>,
    /// The `category_edges` prefix of the categories counted (`root/`,
    /// `12/`).
    pub(crate) edge_prefix: String,
    /// The page's order.
    pub(crate) order: PageOrder,
    /// How many of the best matches to keep (page offset + page size).
    pub(crate) top: usize,
}

/// What one pass found.
#[derive(Debug, Default)]
pub(crate) struct Collected {
    /// Matches.
    pub(crate) total: u64,
    /// The best [`Plan::top`] matches as (sort key, product id), best
    /// first.
    pub(crate) top: Vec<(u64, u64)>,
    /// `name=value` terms with their counts (see the module's doc).
    pub(crate) properties: HashMap<String, u64>,
    /// `parent/child` edges under [`Plan::edge_prefix`] with their counts.
    pub(crate) children: HashMap<String, u64>,
    /// Per price bucket, the products in it.
    pub(crate) buckets: Vec<u64>,
}

/// The collector of a [`Plan`].
pub(crate) struct Sidebar(pub(crate) Arc<Plan>);

/// The price filter's bit in a failure mask (property filters take the
/// low bits; a search has at most 30 of them).
const PRICE: u64 = 1 << 63;

/// `prefix`'s terms as a half-open range of ordinals of `dict`.
fn prefix_ords(dict: &Dictionary, prefix: &str) -> tantivy::Result<(u64, u64)> {
    let mut end = prefix.as_bytes().to_vec();
    match end.last_mut() {
        Some(last) if *last < u8::MAX => *last += 1,
        _ => return Ok((0, dict.num_terms() as u64)),
    }
    let (lo, hi) = dict.term_bounds_to_ord(
        Bound::Included(prefix.as_bytes()),
        Bound::Excluded(end.as_slice()),
    )?;
    let lo = match lo {
        Bound::Included(o) => o,
        Bound::Excluded(o) => o + 1,
        Bound::Unbounded => 0,
    };
    let hi = match hi {
        Bound::Included(o) => o + 1,
        Bound::Excluded(o) => o,
        Bound::Unbounded => dict.num_terms() as u64,
    };
    Ok((lo, hi.max(lo)))
}

/// A score as a key that orders like the score.
fn score_key(score: Score) -> u64 {
    let bits = score.to_bits();
    u64::from(if bits >> 31 == 0 {
        bits | 1 << 31
    } else {
        !bits
    })
}

/// One property filter in a segment.
struct PropertyFilter {
    /// The ordinals of the property's values: `[lo, hi)`.
    lo: u64,
    hi: u64,
    /// The documents it accepts.
    docs: Arc<BitSet>,
}

/// The documents of `segment` holding any of `terms` in `field`.
fn docs_with(segment: &SegmentReader, field: Field, terms: &[String]) -> tantivy::Result<BitSet> {
    let mut docs = BitSet::with_max_value(segment.max_doc());
    let inverted = segment.inverted_index(field)?;
    for term in terms {
        let term = Term::from_field_text(field, term);
        if let Some(mut postings) = inverted.read_postings(&term, IndexRecordOption::Basic)? {
            let mut doc = postings.doc();
            while doc != TERMINATED {
                docs.insert(doc);
                doc = postings.advance();
            }
        }
    }
    Ok(docs)
}

/// Property filters' documents per segment, kept for the next searches
/// with the same filter (as a search server's filter cache): a segment
/// never changes, so an entry never goes stale, and deleted documents are
/// left out by the search itself. The least recently used entries go when
/// the bitsets pass a byte budget.
#[derive(Debug)]
pub(crate) struct FilterCache {
    /// Per segment, per sorted list of terms: the documents, and when they
    /// were last used.
    segments: HashMap<SegmentId, SegmentFilters>,
    bytes: usize,
    budget: usize,
    clock: u64,
}

/// A segment's cached filters: per sorted list of terms, the documents and
/// when they were last used.
type SegmentFilters = HashMap<Vec<String>, (Arc<BitSet>, u64)>;

/// What a bitset costs in a [`FilterCache`].
fn cost(docs: &BitSet) -> usize {
    docs.max_value() as usize / 8 + 64
}

impl FilterCache {
    /// A cache of at most `budget` bytes of bitsets.
    pub(crate) fn new(budget: usize) -> FilterCache {
        FilterCache {
            segments: HashMap::new(),
            bytes: 0,
            budget,
            clock: 0,
        }
    }

    /// The documents of `segment` holding any of `terms` (sorted) in
    /// `field`, from the cache or read and kept.
    fn get(
        cache: &Mutex<FilterCache>,
        segment: &SegmentReader,
        field: Field,
        terms: &[String],
    ) -> tantivy::Result<Arc<BitSet>> {
        let id = segment.segment_id();
        {
            let mut c = cache.lock().unwrap_or_else(|e| e.into_inner());
            c.clock += 1;
            let now = c.clock;
            if let Some((docs, used)) = c.segments.get_mut(&id).and_then(|s| s.get_mut(terms)) {
                *used = now;
                return Ok(docs.clone());
            }
        }
        let docs = Arc::new(docs_with(segment, field, terms)?);
        let size = cost(&docs);
        let mut c = cache.lock().unwrap_or_else(|e| e.into_inner());
        while c.bytes + size > c.budget && c.bytes > 0 {
            c.evict_oldest();
        }
        if c.bytes + size <= c.budget {
            let now = c.clock;
            let old = c
                .segments
                .entry(id)
                .or_default()
                .insert(terms.to_vec(), (docs.clone(), now));
            c.bytes += size;
            if let Some((old, _)) = old {
                c.bytes -= cost(&old);
            }
        }
        Ok(docs)
    }

    fn evict_oldest(&mut self) {
        let oldest = self
            .segments
            .iter()
            .flat_map(|(id, s)| s.iter().map(move |(terms, (_, used))| (*used, *id, terms)))
            .min_by_key(|(used, _, _)| *used)
            .map(|(_, id, terms)| (id, terms.clone()));
        let Some((id, terms)) = oldest else {
            self.bytes = 0;
            return;
        };
        if let Some(segment) = self.segments.get_mut(&id) {
            if let Some((gone, _)) = segment.remove(&terms) {
                self.bytes -= cost(&gone);
            }
            if segment.is_empty() {
                self.segments.remove(&id);
            }
        }
    }
}

/// A string fast field of a segment: its dictionary and each document's
/// ordinals.
struct Strings {
    dict: Arc<Dictionary>,
    ords: Column<u64>,
}

impl Strings {
    fn open(segment: &SegmentReader, field: &str) -> tantivy::Result<Option<Strings>> {
        Ok(segment.fast_fields().str(field)?.map(|c| {
            let (dict, ords) = c.into_parts();
            Strings { dict, ords }
        }))
    }

    /// The terms of the non-zero `counts` (indexed by ordinal minus
    /// `base`).
    fn terms(&self, base: u64, counts: &[u32]) -> tantivy::Result<Vec<(String, u64)>> {
        let hit: Vec<(u64, u64)> = counts
            .iter()
            .enumerate()
            .filter(|(_, c)| **c > 0)
            .map(|(i, c)| (base + i as u64, u64::from(*c)))
            .collect();
        let ords: Vec<u64> = hit.iter().map(|(o, _)| *o).collect();
        let mut out = Vec::with_capacity(hit.len());
        let mut counts = hit.iter().map(|(_, c)| *c);
        self.dict.sorted_ords_to_term_cb(&ords, |bytes| {
            if let Some(count) = counts.next() {
                out.push((String::from_utf8_lossy(bytes).into_owned(), count));
            }
        })?;
        Ok(out)
    }
}

/// A segment's part of a [`Sidebar`].
pub(crate) struct SegmentSidebar {
    plan: Arc<Plan>,
    props: Option<Strings>,
    filters: Vec<PropertyFilter>,
    edges: Option<Strings>,
    edge_lo: u64,
    price: Column<u64>,
    key: Option<Column<u64>>,
    id: Column<u64>,
    ords: Vec<u64>,
    prop_counts: Vec<u32>,
    edge_counts: Vec<u32>,
    buckets: Vec<u64>,
    total: u64,
    heap: BinaryHeap<Reverse<(u64, u64)>>,
}

/// A segment's [`Collected`], its terms still ordinals.
pub(crate) struct SegmentFruit {
    total: u64,
    top: Vec<(u64, u64)>,
    properties: Vec<(String, u64)>,
    children: Vec<(String, u64)>,
    buckets: Vec<u64>,
}

impl Collector for Sidebar {
    type Fruit = Collected;
    type Child = SegmentSidebar;

    fn for_segment(
        &self,
        _segment_local_id: SegmentOrdinal,
        segment: &SegmentReader,
    ) -> tantivy::Result<SegmentSidebar> {
        let plan = self.0.clone();
        let fast = segment.fast_fields();
        let props = Strings::open(segment, "props")?;
        let mut filters = Vec::new();
        for (name, terms) in &plan.properties {
            let (lo, hi) = match &props {
                Some(props) => prefix_ords(&props.dict, &format!("{name}="))?,
                None => (0, 0),
            };
            let docs = FilterCache::get(&plan.filter_cache, segment, plan.props_field, terms)?;
            filters.push(PropertyFilter { lo, hi, docs });
        }
        let prop_counts = props
            .as_ref()
            .map_or_else(Vec::new, |p| vec![0; p.dict.num_terms()]);
        let edges = Strings::open(segment, "category_edges")?;
        let (edge_lo, edge_hi) = match &edges {
            Some(e) => prefix_ords(&e.dict, &plan.edge_prefix)?,
            None => (0, 0),
        };
        let key = match plan.order {
            PageOrder::Score => None,
            PageOrder::Asc(field) | PageOrder::Desc(field) => Some(fast.u64(field)?),
        };
        Ok(SegmentSidebar {
            props,
            filters,
            edges,
            edge_lo,
            price: fast.u64("price")?,
            key,
            id: fast.u64("id")?,
            ords: Vec::new(),
            prop_counts,
            edge_counts: vec![0; (edge_hi - edge_lo) as usize],
            buckets: vec![0; plan.bounds.len() + 1],
            total: 0,
            heap: BinaryHeap::new(),
            plan,
        })
    }

    fn requires_scoring(&self) -> bool {
        matches!(self.0.order, PageOrder::Score)
    }

    fn merge_fruits(
        &self,
        fruits: Vec<tantivy::Result<SegmentFruit>>,
    ) -> tantivy::Result<Collected> {
        let mut out = Collected {
            buckets: vec![0; self.0.bounds.len() + 1],
            ..Collected::default()
        };
        for fruit in fruits {
            let fruit = fruit?;
            out.total += fruit.total;
            out.top.extend(fruit.top);
            for (term, count) in fruit.properties {
                *out.properties.entry(term).or_default() += count;
            }
            for (term, count) in fruit.children {
                *out.children.entry(term).or_default() += count;
            }
            for (sum, count) in out.buckets.iter_mut().zip(fruit.buckets) {
                *sum += count;
            }
        }
        out.top.sort_unstable_by(|a, b| b.cmp(a));
        out.top.truncate(self.0.top);
        Ok(out)
    }
}

impl SegmentSidebar {
    fn bucket(&self, price: u64) -> usize {
        self.plan.bounds.partition_point(|b| *b <= price)
    }
}

impl SegmentCollector for SegmentSidebar {
    type Fruit = tantivy::Result<SegmentFruit>;

    fn collect(&mut self, doc: DocId, score: Score) {
        let mut fails = 0u64;
        for (i, filter) in self.filters.iter().enumerate() {
            if !filter.docs.contains(doc) {
                fails |= 1 << i;
            }
        }
        if fails.count_ones() > 1 {
            return;
        }
        let price = if fails == 0 || self.plan.price.is_some() {
            self.price.first(doc).unwrap_or(0)
        } else {
            0
        };
        if let Some((min, max)) = self.plan.price {
            if price < min || price > max {
                fails |= PRICE;
            }
        }
        if fails == PRICE {
            let bucket = self.bucket(price);
            self.buckets[bucket] += 1;
            return;
        }
        if fails.count_ones() > 1 {
            return;
        }
        self.ords.clear();
        if let Some(props) = &self.props {
            self.ords.extend(props.ords.values_for_doc(doc));
        }
        if fails != 0 {
            // Failing one property's filter only: counts for that
            // property's values.
            let filter = &self.filters[fails.trailing_zeros() as usize];
            for o in &self.ords {
                if (filter.lo..filter.hi).contains(o) {
                    self.prop_counts[*o as usize] += 1;
                }
            }
            return;
        }
        self.total += 1;
        for o in &self.ords {
            self.prop_counts[*o as usize] += 1;
        }
        if let Some(edges) = &self.edges {
            for o in edges.ords.values_for_doc(doc) {
                if let Some(c) = o
                    .checked_sub(self.edge_lo)
                    .and_then(|i| self.edge_counts.get_mut(i as usize))
                {
                    *c += 1;
                }
            }
        }
        let bucket = self.bucket(price);
        self.buckets[bucket] += 1;
        if self.plan.top > 0 {
            let key = match (&self.key, self.plan.order) {
                (Some(column), PageOrder::Asc(_)) => column.first(doc).map_or(0, |v| !v),
                (Some(column), _) => column.first(doc).unwrap_or(0),
                (None, _) => score_key(score),
            };
            let entry = (key, self.id.first(doc).unwrap_or(0));
            if self.heap.len() < self.plan.top {
                self.heap.push(Reverse(entry));
            } else if self
                .heap
                .peek()
                .is_some_and(|Reverse(least)| entry > *least)
            {
                self.heap.pop();
                self.heap.push(Reverse(entry));
            }
        }
    }

    fn harvest(self) -> tantivy::Result<SegmentFruit> {
        let properties = match &self.props {
            Some(props) => props.terms(0, &self.prop_counts)?,
            None => Vec::new(),
        };
        let children = match &self.edges {
            Some(edges) => edges.terms(self.edge_lo, &self.edge_counts)?,
            None => Vec::new(),
        };
        Ok(SegmentFruit {
            total: self.total,
            top: self.heap.into_iter().map(|Reverse(e)| e).collect(),
            properties,
            children,
            buckets: self.buckets,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::score_key;

    #[test]
    fn score_keys_order_like_scores() {
        let scores = [-3.5f32, -0.0, 0.0, 0.25, 1.0, 7.5, 1e9];
        for pair in scores.windows(2) {
            assert!(score_key(pair[0]) <= score_key(pair[1]), "{pair:?}");
        }
        assert!(score_key(0.5) < score_key(0.75));
    }
}
