//! [`MemoryReadCache`]: the in-process [`ReadCache`].

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use async_trait::async_trait;
use chrono::Duration;

use crate::cache::ReadCache;
use crate::error::Result;

/// A [`ReadCache`] in this process's memory (values never expire here:
/// invalidation alone drops them), with the Redis one's versioned puts.
#[derive(Debug, Default)]
pub struct MemoryReadCache {
    /// key → (value, version).
    entries: Mutex<HashMap<String, (Option<String>, u64)>>,
}

impl MemoryReadCache {
    /// An empty cache.
    pub fn new() -> Self {
        MemoryReadCache::default()
    }
}

#[async_trait]
impl ReadCache for MemoryReadCache {
    async fn get(&self, key: &str) -> Result<(Option<String>, u64)> {
        Ok(self
            .entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(key)
            .cloned()
            .unwrap_or((None, 0)))
    }

    async fn put(&self, key: &str, value: &str, version: u64, _ttl: Duration) -> Result<bool> {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = entries.entry(key.to_owned()).or_insert((None, 0));
        if entry.1 != version {
            return Ok(false);
        }
        entry.0 = Some(value.to_owned());
        Ok(true)
    }

    async fn invalidate(&self, key: &str) -> Result<()> {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = entries.entry(key.to_owned()).or_insert((None, 0));
        entry.0 = None;
        entry.1 += 1;
        Ok(())
    }
}
