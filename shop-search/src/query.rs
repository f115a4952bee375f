//! Turning a shop search into tantivy queries: keywords (words, a quoted
//! phrase, a prefix for the last word, one typo in a Latin word, synonyms
//! from configuration) and filters (category subtree, price range,
//! properties, stock).

use std::ops::Bound;

use shop_core::search::SearchQuery;
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, ConstScoreQuery, EmptyQuery, FuzzyTermQuery, Occur,
    PhrasePrefixQuery, PhraseQuery, Query, RangeQuery, TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{Searcher, Term};

use crate::analysis::words;
use crate::schema::{hundredths, property_term, Fields};

/// Groups of words and phrases that mean the same (`内存条` ⇔ `memory
/// module`), analyzed as keywords are: a keyword holding one member also
/// finds the others. Applied at query time, so changing them needs no
/// reindex.
#[derive(Debug, Clone, Default)]
pub(crate) struct Synonyms {
    groups: Vec<Vec<Vec<String>>>,
}

impl Synonyms {
    pub(crate) fn new(groups: &[Vec<String>], analyzer: &mut TextAnalyzer) -> Synonyms {
        let groups = groups
            .iter()
            .map(|g| {
                g.iter()
                    .map(|member| words(analyzer, member))
                    .filter(|w| !w.is_empty())
                    .collect::<Vec<_>>()
            })
            .filter(|g| g.len() > 1)
            .collect();
        Synonyms { groups }
    }

    /// The group of a member that starts `words`, and the member's length.
    fn at<'a>(&'a self, words: &[String]) -> Option<(&'a [Vec<String>], usize)> {
        self.groups.iter().find_map(|g| {
            g.iter()
                .find(|m| words.starts_with(m))
                .map(|m| (g.as_slice(), m.len()))
        })
    }
}

fn boxed(q: impl Query) -> Box<dyn Query> {
    Box::new(q)
}

/// Any of `queries` (itself when there is one).
fn any(mut queries: Vec<Box<dyn Query>>) -> Box<dyn Query> {
    if queries.len() == 1 {
        return queries.remove(0);
    }
    boxed(BooleanQuery::new(
        queries.into_iter().map(|q| (Occur::Should, q)).collect(),
    ))
}

/// `words` in a row in `field`.
fn in_field(field: Field, words: &[String]) -> Box<dyn Query> {
    match words {
        [one] => boxed(TermQuery::new(
            Term::from_field_text(field, one),
            IndexRecordOption::WithFreqs,
        )),
        _ => boxed(PhraseQuery::new(
            words
                .iter()
                .map(|w| Term::from_field_text(field, w))
                .collect(),
        )),
    }
}

/// A product matches `matching` (on the text, which holds the title too);
/// when `scored`, the same words in the title raise its relevance.
fn title_boosted(
    matching: Box<dyn Query>,
    in_title: Box<dyn Query>,
    scored: bool,
) -> Box<dyn Query> {
    if !scored {
        return matching;
    }
    boxed(BooleanQuery::new(vec![
        (Occur::Must, matching),
        (Occur::Should, boxed(BoostQuery::new(in_title, TITLE_BOOST))),
    ]))
}

/// How much more a word in the title weighs than one in the text.
const TITLE_BOOST: f32 = 2.0;

/// Matches `words` in a row.
fn phrase(f: &Fields, words: &[String], scored: bool) -> Box<dyn Query> {
    title_boosted(in_field(f.text, words), in_field(f.title, words), scored)
}

/// One keyword word: exact; when no product has the word itself, one typo
/// for a Latin word of four letters or more, and a prefix for the last word
/// (the expensive expansions run only where they can help).
fn word(f: &Fields, searcher: &Searcher, word: &str, last: bool, scored: bool) -> Box<dyn Query> {
    let term = Term::from_field_text(f.text, word);
    let known = searcher.doc_freq(&term).is_ok_and(|n| n > 0);
    let mut matching = vec![in_field(f.text, &[word.to_owned()])];
    if !known && word.len() >= 4 && word.chars().all(|c| c.is_ascii_alphabetic()) {
        matching.push(boxed(BoostQuery::new(
            boxed(FuzzyTermQuery::new(term.clone(), 1, true)),
            0.3,
        )));
    }
    if last && !known {
        matching.push(boxed(BoostQuery::new(
            boxed(PhrasePrefixQuery::new(vec![term])),
            0.5,
        )));
    }
    title_boosted(any(matching), in_field(f.title, &[word.to_owned()]), scored)
}

/// The keyword's query: every word (or synonym group) must match; a
/// keyword in double quotes is one phrase. Scores only when `scored` (a
/// relevance sort). `None` without a keyword; a keyword with no word in it
/// matches nothing.
pub(crate) fn keyword(
    f: &Fields,
    searcher: &Searcher,
    analyzer: &mut TextAnalyzer,
    synonyms: &Synonyms,
    keyword: Option<&str>,
    scored: bool,
) -> Option<Box<dyn Query>> {
    let keyword = keyword.map(str::trim).filter(|k| !k.is_empty())?;
    let quoted = keyword.len() >= 2 && keyword.starts_with('"') && keyword.ends_with('"');
    let ws = words(analyzer, keyword.trim_matches('"'));
    if ws.is_empty() {
        return Some(boxed(EmptyQuery));
    }
    if quoted {
        return Some(phrase(f, &ws, scored));
    }
    let mut all = Vec::new();
    let mut i = 0;
    while i < ws.len() {
        let clause = match synonyms.at(&ws[i..]) {
            Some((group, len)) => {
                i += len;
                any(group.iter().map(|m| phrase(f, m, scored)).collect())
            }
            None => {
                i += 1;
                word(f, searcher, &ws[i - 1], i == ws.len(), scored)
            }
        };
        all.push(clause);
    }
    if all.len() == 1 {
        return all.pop();
    }
    Some(boxed(BooleanQuery::new(
        all.into_iter().map(|q| (Occur::Must, q)).collect(),
    )))
}

/// The filters no sidebar entry leaves out (category subtree, stock), as
/// queries.
pub(crate) fn fixed_filters(f: &Fields, q: &SearchQuery) -> Vec<Box<dyn Query>> {
    let mut out = Vec::new();
    if let Some(c) = q.category_id {
        out.push(boxed(TermQuery::new(
            Term::from_field_u64(f.categories, c.0 as u64),
            IndexRecordOption::Basic,
        )));
    }
    if q.in_stock {
        out.push(boxed(TermQuery::new(
            Term::from_field_u64(f.in_stock, 1),
            IndexRecordOption::Basic,
        )));
    }
    out
}

/// The price filter in hundredths, both ends included.
pub(crate) fn price_range(q: &SearchQuery) -> Option<(u64, u64)> {
    (q.min_price.is_some() || q.max_price.is_some()).then(|| {
        (
            q.min_price.map_or(0, hundredths),
            q.max_price.map_or(u64::MAX, hundredths),
        )
    })
}

/// Per property name filtered on, the `name=value` terms it accepts (any
/// of them; every name must match), sorted.
pub(crate) fn property_filters(q: &SearchQuery) -> Vec<(String, Vec<String>)> {
    let mut names: Vec<&str> = q.properties.iter().map(|p| p.name.trim()).collect();
    names.sort_unstable();
    names.dedup();
    names
        .into_iter()
        .map(|name| {
            let mut terms: Vec<String> = q
                .properties
                .iter()
                .filter(|p| p.name.trim() == name)
                .map(|p| property_term(&p.name, &p.value))
                .collect();
            terms.sort_unstable();
            terms.dedup();
            (name.to_owned(), terms)
        })
        .collect()
}

/// The filters a sidebar entry leaves out (one per property name, the
/// price range), as queries.
pub(crate) fn faceted_filters(f: &Fields, q: &SearchQuery) -> Vec<Box<dyn Query>> {
    let mut out: Vec<Box<dyn Query>> = property_filters(q)
        .into_iter()
        .map(|(_, terms)| {
            boxed(BooleanQuery::new(
                terms
                    .iter()
                    .map(|t| {
                        (
                            Occur::Should,
                            boxed(TermQuery::new(
                                Term::from_field_text(f.props, t),
                                IndexRecordOption::Basic,
                            )),
                        )
                    })
                    .collect(),
            ))
        })
        .collect();
    if let Some((min, max)) = price_range(q) {
        out.push(boxed(RangeQuery::new(
            Bound::Included(Term::from_field_u64(f.price, min)),
            Bound::Included(Term::from_field_u64(f.price, max)),
        )));
    }
    out
}

/// The products that match the keyword and the fixed filters and fail at
/// most one of the faceted ones (which the sidebar module sorts out);
/// scored by the keyword alone.
pub(crate) fn sidebar_query(
    keyword: Option<Box<dyn Query>>,
    fixed: Vec<Box<dyn Query>>,
    faceted: Vec<Box<dyn Query>>,
) -> BooleanQuery {
    let mut all: Vec<(Occur, Box<dyn Query>)> =
        vec![(Occur::Must, keyword.unwrap_or_else(|| boxed(AllQuery)))];
    let unscored = |q: Box<dyn Query>| boxed(ConstScoreQuery::new(q, 0.0));
    all.extend(fixed.into_iter().map(|q| (Occur::Must, unscored(q))));
    let at_least = faceted.len().saturating_sub(1);
    if at_least > 0 {
        all.extend(faceted.into_iter().map(|q| (Occur::Should, unscored(q))));
    }
    BooleanQuery::with_minimum_required_clauses(all, at_least)
}
