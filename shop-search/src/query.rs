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
use tantivy::schema::IndexRecordOption;
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

/// Matches `words` in a row in the title (boosted) or the text.
fn phrase(f: &Fields, words: &[String]) -> Box<dyn Query> {
    let in_field = |field| -> Box<dyn Query> {
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
    };
    boxed(BooleanQuery::new(vec![
        (
            Occur::Should,
            boxed(BoostQuery::new(in_field(f.title), 3.0)),
        ),
        (Occur::Should, in_field(f.text)),
    ]))
}

/// One keyword word: exact (the title boosted); when no product has the
/// word itself, one typo for a Latin word of four letters or more, and a
/// prefix for the last word (the expensive expansions run only where they
/// can help).
fn word(f: &Fields, searcher: &Searcher, word: &str, last: bool) -> Box<dyn Query> {
    let known = [f.title, f.text].into_iter().any(|field| {
        searcher
            .doc_freq(&Term::from_field_text(field, word))
            .is_ok_and(|n| n > 0)
    });
    let mut any = Vec::new();
    for (field, boost) in [(f.title, 3.0), (f.text, 1.0)] {
        let term = Term::from_field_text(field, word);
        any.push((
            Occur::Should,
            boxed(BoostQuery::new(
                boxed(TermQuery::new(term.clone(), IndexRecordOption::WithFreqs)),
                boost,
            )),
        ));
        if !known && word.len() >= 4 && word.chars().all(|c| c.is_ascii_alphabetic()) {
            any.push((
                Occur::Should,
                boxed(BoostQuery::new(
                    boxed(FuzzyTermQuery::new(term.clone(), 1, true)),
                    0.3 * boost,
                )),
            ));
        }
        if last && !known {
            any.push((
                Occur::Should,
                boxed(BoostQuery::new(
                    boxed(PhrasePrefixQuery::new(vec![term])),
                    0.5 * boost,
                )),
            ));
        }
    }
    boxed(BooleanQuery::new(any))
}

/// The keyword's query: every word (or synonym group) must match; a
/// keyword in double quotes is one phrase. `None` without a keyword; a
/// keyword with no word in it matches nothing.
pub(crate) fn keyword(
    f: &Fields,
    searcher: &Searcher,
    analyzer: &mut TextAnalyzer,
    synonyms: &Synonyms,
    keyword: Option<&str>,
) -> Option<Box<dyn Query>> {
    let keyword = keyword.map(str::trim).filter(|k| !k.is_empty())?;
    let quoted = keyword.len() >= 2 && keyword.starts_with('"') && keyword.ends_with('"');
    let ws = words(analyzer, keyword.trim_matches('"'));
    if ws.is_empty() {
        return Some(boxed(EmptyQuery));
    }
    if quoted {
        return Some(phrase(f, &ws));
    }
    let mut all = Vec::new();
    let mut i = 0;
    while i < ws.len() {
        let clause = match synonyms.at(&ws[i..]) {
            Some((group, len)) => {
                i += len;
                boxed(BooleanQuery::new(
                    group
                        .iter()
                        .map(|m| (Occur::Should, phrase(f, m)))
                        .collect(),
                ))
            }
            None => {
                i += 1;
                word(f, searcher, &ws[i - 1], i == ws.len())
            }
        };
        all.push((Occur::Must, clause));
    }
    Some(boxed(BooleanQuery::new(all)))
}

/// Which filter a clause is, so the sidebar can leave one out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Filter {
    Category,
    Price,
    Property(String),
    Stock,
}

/// Every filter of `q` with what it is.
pub(crate) fn filters(f: &Fields, q: &SearchQuery) -> Vec<(Filter, Box<dyn Query>)> {
    let mut out = Vec::new();
    if let Some(c) = q.category_id {
        out.push((
            Filter::Category,
            boxed(TermQuery::new(
                Term::from_field_u64(f.categories, c.0 as u64),
                IndexRecordOption::Basic,
            )),
        ));
    }
    if q.min_price.is_some() || q.max_price.is_some() {
        let bound = |p: Option<rust_decimal::Decimal>| {
            p.map_or(Bound::Unbounded, |p| {
                Bound::Included(Term::from_field_u64(f.price, hundredths(p)))
            })
        };
        out.push((
            Filter::Price,
            boxed(RangeQuery::new(bound(q.min_price), bound(q.max_price))),
        ));
    }
    let mut names: Vec<&str> = q.properties.iter().map(|p| p.name.trim()).collect();
    names.sort_unstable();
    names.dedup();
    for name in names {
        let any = q
            .properties
            .iter()
            .filter(|p| p.name.trim() == name)
            .map(|p| {
                (
                    Occur::Should,
                    boxed(TermQuery::new(
                        Term::from_field_text(f.props, &property_term(&p.name, &p.value)),
                        IndexRecordOption::Basic,
                    )),
                )
            })
            .collect();
        out.push((
            Filter::Property(name.to_owned()),
            boxed(BooleanQuery::new(any)),
        ));
    }
    if q.in_stock {
        out.push((
            Filter::Stock,
            boxed(TermQuery::new(
                Term::from_field_u64(f.in_stock, 1),
                IndexRecordOption::Basic,
            )),
        ));
    }
    out
}

/// The keyword's query and the filters but `except` (not scored).
pub(crate) fn combine(
    keyword: Option<&dyn Query>,
    filters: &[(Filter, Box<dyn Query>)],
    except: Option<&Filter>,
) -> Box<dyn Query> {
    let mut all: Vec<(Occur, Box<dyn Query>)> = vec![(
        Occur::Must,
        keyword.map_or_else(|| boxed(AllQuery), |k| k.box_clone()),
    )];
    for (what, q) in filters {
        if Some(what) != except {
            all.push((Occur::Must, boxed(ConstScoreQuery::new(q.box_clone(), 0.0))));
        }
    }
    boxed(BooleanQuery::new(all))
}
