//! Nearest-knowledge results per query text, reused while the tenant's knowledge is unchanged.
//!
//! Names repeat across connectors (`email`, `annualrevenue`, …), and their neighbours only
//! change when knowledge vectors are added. Knowledge vectors are insert-only, so their count
//! (tenant plus baseline, read in the same snapshot as the search) is a generation: a new
//! approval changes the key and old entries simply age out of the LRU. Per process; no
//! invalidation messages between servers are needed.
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex, MutexGuard};

use lru::LruCache;
use uuid::Uuid;

use crate::infra::vector::VectorHit;

#[derive(Hash, PartialEq, Eq)]
struct Key {
    tenant: Uuid,
    generation: u64,
    text: String,
}

pub struct NeighbourCache {
    entries: Option<Mutex<LruCache<Key, Arc<Vec<VectorHit>>>>>,
}

impl NeighbourCache {
    /// `capacity` 0 turns caching off.
    pub fn new(capacity: usize) -> Self {
        Self {
            entries: NonZeroUsize::new(capacity).map(|c| Mutex::new(LruCache::new(c))),
        }
    }

    fn lock(&self) -> Option<MutexGuard<'_, LruCache<Key, Arc<Vec<VectorHit>>>>> {
        let entries = self.entries.as_ref()?;
        // A poisoned lock only means another request panicked mid-update: start afresh.
        Some(entries.lock().unwrap_or_else(|p| {
            let mut guard = p.into_inner();
            guard.clear();
            guard
        }))
    }

    /// Cached hits for each text (None where the search must run).
    pub fn get_many(
        &self,
        tenant: Uuid,
        generation: u64,
        texts: &[&str],
    ) -> Vec<Option<Arc<Vec<VectorHit>>>> {
        let Some(mut entries) = self.lock() else {
            return vec![None; texts.len()];
        };
        texts
            .iter()
            .map(|t| {
                entries
                    .get(&Key {
                        tenant,
                        generation,
                        text: (*t).to_owned(),
                    })
                    .cloned()
            })
            .collect()
    }

    pub fn put_many(&self, tenant: Uuid, generation: u64, found: Vec<(String, Vec<VectorHit>)>) {
        let Some(mut entries) = self.lock() else {
            return;
        };
        for (text, hits) in found {
            entries.put(
                Key {
                    tenant,
                    generation,
                    text,
                },
                Arc::new(hits),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::infra::vector::VectorKind;

    fn hit(content: &str) -> VectorHit {
        VectorHit {
            kind: VectorKind::CanonicalField,
            baseline: true,
            mapping_id: None,
            canonical: Some(("account".into(), "name".into())),
            source: None,
            content: content.into(),
            score: 0.9,
        }
    }

    #[test]
    fn entries_are_per_tenant_and_generation() {
        let cache = NeighbourCache::new(10);
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        cache.put_many(a, 3, vec![("email".into(), vec![hit("email")])]);
        let got = cache.get_many(a, 3, &["email", "phone"]);
        assert_eq!(
            got[0].as_ref().map(|h| h[0].content.as_str()),
            Some("email")
        );
        assert!(got[1].is_none());
        assert!(
            cache.get_many(a, 4, &["email"])[0].is_none(),
            "new knowledge"
        );
        assert!(
            cache.get_many(b, 3, &["email"])[0].is_none(),
            "other tenant"
        );
    }

    #[test]
    fn zero_capacity_caches_nothing() {
        let cache = NeighbourCache::new(0);
        let t = Uuid::now_v7();
        cache.put_many(t, 1, vec![("email".into(), vec![hit("email")])]);
        assert!(cache.get_many(t, 1, &["email"])[0].is_none());
    }
}
