//! [`UserStore`] for [`MemoryStore`]: addresses and favorites.

use std::cmp::Reverse;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{already_exists, MemoryStore};
use crate::error::{Entity, Error, Result};
use crate::ids::{AddressId, ProductId, UserId};
use crate::user::{Address, HistoryStore, UserStore};

#[async_trait]
impl UserStore for MemoryStore {
    async fn create_address(&self, address: &Address) -> Result<()> {
        let mut state = self.state();
        if state.addresses.contains_key(&address.id) {
            return Err(already_exists(Entity::Address, address.id));
        }
        state.addresses.insert(address.id, address.clone());
        Ok(())
    }

    async fn update_address(&self, address: &Address) -> Result<()> {
        let mut state = self.state();
        let stored = state
            .addresses
            .get_mut(&address.id)
            .ok_or_else(|| Error::not_found(Entity::Address, address.id))?;
        *stored = address.clone();
        Ok(())
    }

    async fn delete_address(&self, id: AddressId) -> Result<()> {
        self.state()
            .addresses
            .remove(&id)
            .map(|_| ())
            .ok_or_else(|| Error::not_found(Entity::Address, id))
    }

    async fn get_address(&self, id: AddressId) -> Result<Option<Address>> {
        Ok(self.state().addresses.get(&id).cloned())
    }

    async fn list_addresses(&self, user: UserId) -> Result<Vec<Address>> {
        let mut found: Vec<Address> = self
            .state()
            .addresses
            .values()
            .filter(|a| a.user_id == user)
            .cloned()
            .collect();
        // `Some(_) > None`, so reversing puts the most recent use first and
        // never-used addresses last.
        found.sort_by_key(|a| (Reverse(a.last_used_at), Reverse(a.id)));
        Ok(found)
    }

    async fn add_favorite(
        &self,
        user: UserId,
        product: ProductId,
        at: DateTime<Utc>,
    ) -> Result<()> {
        self.state()
            .favorites
            .entry(user)
            .or_default()
            .entry(product)
            .or_insert(at);
        Ok(())
    }

    async fn remove_favorite(&self, user: UserId, product: ProductId) -> Result<()> {
        if let Some(favorites) = self.state().favorites.get_mut(&user) {
            favorites.remove(&product);
        }
        Ok(())
    }

    async fn list_favorites(&self, user: UserId) -> Result<Vec<ProductId>> {
        let state = self.state();
        let mut found: Vec<(DateTime<Utc>, ProductId)> = state
            .favorites
            .get(&user)
            .map(|f| f.iter().map(|(product, at)| (*at, *product)).collect())
            .unwrap_or_default();
        found.sort_by_key(|entry| Reverse(*entry));
        Ok(found.into_iter().map(|(_, product)| product).collect())
    }
}

#[async_trait]
impl HistoryStore for MemoryStore {
    async fn record_view(
        &self,
        user: UserId,
        product: ProductId,
        at: DateTime<Utc>,
        keep: u32,
    ) -> Result<()> {
        let mut state = self.state();
        let viewed = state.history.entry(user).or_default();
        viewed.insert(product, at);
        if viewed.len() > keep as usize {
            let mut order: Vec<(DateTime<Utc>, ProductId)> =
                viewed.iter().map(|(p, at)| (*at, *p)).collect();
            order.sort_by_key(|entry| Reverse(*entry));
            for (_, old) in order.into_iter().skip(keep as usize) {
                viewed.remove(&old);
            }
        }
        Ok(())
    }

    async fn recently_viewed(&self, user: UserId, limit: u32) -> Result<Vec<ProductId>> {
        let state = self.state();
        let mut found: Vec<(DateTime<Utc>, ProductId)> = state
            .history
            .get(&user)
            .map(|h| h.iter().map(|(product, at)| (*at, *product)).collect())
            .unwrap_or_default();
        found.sort_by_key(|entry| Reverse(*entry));
        Ok(found
            .into_iter()
            .take(limit as usize)
            .map(|(_, product)| product)
            .collect())
    }
}
