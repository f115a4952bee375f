//! The product search index: opened in its folder and, when it is new or
//! its schema changed, rebuilt from the catalog before the shop serves
//! (with progress on stderr).

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::Arc;

use shop_core::catalog::CatalogStore;
use shop_search::{SearchConfig, SearchEngine};

use crate::BoxError;

/// Opens the index in `dir`, rebuilding it from `catalog` when needed. A
/// failure names `SHOP_SEARCH_DIR`.
pub async fn open(dir: &Path, catalog: Arc<dyn CatalogStore>) -> Result<SearchEngine, BoxError> {
    let named = |e: shop_core::Error| -> BoxError {
        format!(
            "cannot use the search index in {}: {e}; fix SHOP_SEARCH_DIR (--search-dir), or set it to `off`",
            dir.display()
        )
        .into()
    };
    let index = SearchEngine::open(dir, SearchConfig::default()).map_err(named)?;
    if index.needs_rebuild() {
        let terminal = std::io::stderr().is_terminal();
        let indexed = index
            .rebuild(catalog, move |done, total| {
                if terminal {
                    eprint!("\rindexing products for search: {done}/{total}");
                    let _ = std::io::stderr().flush();
                }
            })
            .await
            .map_err(named)?;
        if terminal {
            eprintln!();
        }
        tracing::info!(indexed, dir = %dir.display(), "search index built");
    }
    Ok(index)
}
