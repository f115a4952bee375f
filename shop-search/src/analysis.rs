//! Text analysis: Chinese words cut by jieba, English words lower-cased and
//! stemmed, in one analyzer, so a title mixing both ("小米手机 Red Phones")
//! is found by either language.

use std::sync::Arc;

use jieba_rs::Jieba;
use tantivy::tokenizer::{
    Language, LowerCaser, RemoveLongFilter, Stemmer, TextAnalyzer, Token, TokenStream, Tokenizer,
};

/// The analyzer of indexed text: jieba's search mode (a long word and its
/// shorter words too, so 手机壳 is found by 手机).
pub(crate) const INDEX_ANALYZER: &str = "shop_zh_en";
/// The analyzer of keywords: jieba's default mode (the longest words).
pub(crate) const QUERY_ANALYZER: &str = "shop_zh_en_query";

/// Cuts text into words with jieba, dropping whitespace and punctuation;
/// positions count the kept words, so spacing does not break phrases.
#[derive(Clone)]
pub(crate) struct JiebaTokenizer {
    jieba: Arc<Jieba>,
    search_mode: bool,
}

/// The words of one text.
pub(crate) struct JiebaStream<'a> {
    words: std::vec::IntoIter<jieba_rs::Token<'a>>,
    token: Token,
    position: usize,
}

impl Tokenizer for JiebaTokenizer {
    type TokenStream<'a> = JiebaStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> JiebaStream<'a> {
        let words = if self.search_mode {
            self.jieba.cut_for_search(text, true)
        } else {
            self.jieba.cut(text, true)
        };
        JiebaStream {
            words: words.into_iter(),
            token: Token::default(),
            position: 0,
        }
    }
}

impl TokenStream for JiebaStream<'_> {
    fn advance(&mut self) -> bool {
        for word in self.words.by_ref() {
            if !word.word.chars().any(char::is_alphanumeric) {
                continue;
            }
            self.token.text.clear();
            self.token.text.push_str(word.word);
            self.token.offset_from = word.byte_start;
            self.token.offset_to = word.byte_end;
            self.token.position = self.position;
            self.token.position_length = 1;
            self.position += 1;
            return true;
        }
        false
    }

    fn token(&self) -> &Token {
        &self.token
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.token
    }
}

/// The two analyzers on one shared dictionary.
pub(crate) fn analyzers(jieba: &Arc<Jieba>) -> [(&'static str, TextAnalyzer); 2] {
    let build = |search_mode| {
        TextAnalyzer::builder(JiebaTokenizer {
            jieba: jieba.clone(),
            search_mode,
        })
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(Stemmer::new(Language::English))
        .build()
    };
    [
        (INDEX_ANALYZER, build(true)),
        (QUERY_ANALYZER, build(false)),
    ]
}

/// The words of `text` as `analyzer` makes them.
pub(crate) fn words(analyzer: &mut TextAnalyzer, text: &str) -> Vec<String> {
    let mut stream = analyzer.token_stream(text);
    let mut out = Vec::new();
    while let Some(token) = stream.next() {
        out.push(token.text.clone());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_and_english_in_one_analyzer() {
        let jieba = Arc::new(Jieba::new());
        let [(_, mut index), (_, mut query)] = analyzers(&jieba);
        let indexed = words(&mut index, "小米手机壳 Red Phones, 8GB!");
        for w in ["小米", "手机", "red", "phone", "8gb"] {
            assert!(indexed.iter().any(|x| x == w), "{w} in {indexed:?}");
        }
        assert_eq!(words(&mut query, "  Phones  "), vec!["phone"]);
        assert!(words(&mut query, "!!! ，。").is_empty());
    }
}
