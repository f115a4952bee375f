//! [`SearchListener`]: keeps a [`SearchEngine`] following the outbox.

use std::sync::Arc;

use async_trait::async_trait;
use shop_core::catalog::CatalogStore;
use shop_core::events::{DomainEvent, EventEnvelope, EventListener};
use shop_core::ids::ProductId;
use shop_core::search::{ProductDocument, SearchIndex};
use shop_core::Result;

use crate::SearchEngine;

/// An outbox listener that applies product changes to a search index:
/// created, changed or taken off sale, stock changed, sold (an order paid)
/// and rated (a review). Each event re-reads the product from the catalog,
/// so a repeated or late event is harmless. Give each node's index a
/// listener of its own name (e.g. `search@node-1`): every node converges
/// from the same outbox. It starts at the oldest kept event, re-reading
/// the products those name (run [`SearchEngine::rebuild`] for the rest).
pub struct SearchListener {
    engine: SearchEngine,
    catalog: Arc<dyn CatalogStore>,
    name: String,
}

impl std::fmt::Debug for SearchListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchListener")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl SearchListener {
    /// A listener named `name` keeping `engine` in step with `catalog`.
    pub fn new(
        engine: SearchEngine,
        catalog: Arc<dyn CatalogStore>,
        name: impl Into<String>,
    ) -> SearchListener {
        SearchListener {
            engine,
            catalog,
            name: name.into(),
        }
    }

    async fn reindex(&self, id: ProductId) -> Result<()> {
        match ProductDocument::load(self.catalog.as_ref(), id).await? {
            Some(doc) => self.engine.index_product(&doc).await,
            None => self.engine.remove_product(id).await,
        }
    }
}

#[async_trait]
impl EventListener for SearchListener {
    fn name(&self) -> &str {
        &self.name
    }

    async fn on_event(&self, envelope: &EventEnvelope) -> Result<()> {
        match &envelope.event {
            DomainEvent::ProductCreated { product_id }
            | DomainEvent::ProductChanged { product_id }
            | DomainEvent::ProductTakenOffSale { product_id }
            | DomainEvent::StockChanged { product_id, .. } => self.reindex(*product_id).await,
            DomainEvent::OrderPaid { product_ids, .. }
            | DomainEvent::ReviewCreated { product_ids, .. } => {
                for id in product_ids {
                    // The counters' own listener may not have run yet:
                    // bring them up to date first (idempotent).
                    self.catalog.refresh_product_stats(*id).await?;
                    self.reindex(*id).await?;
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
}
