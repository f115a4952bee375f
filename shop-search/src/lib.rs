//! # shop-search
//!
//! tantivy product search: full text, facets, synonyms, CJK.
//!
//! **Not built yet.** This crate is reserved in the workspace and holds no
//! code today; see the feature table in the repository README.
