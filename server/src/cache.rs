//! Documents kept in memory between syncs, so a sync need not parse a document from its
//! stored chunks every time.
//!
//! An entry is only used when its heads equal the heads the database holds for that
//! document (read in the sync's transaction), so the cache can never serve a stale
//! document, also with several servers on one PostgreSQL database, or after the database
//! is restored from a backup under a running server.
//!
//! The cache also knows which documents a sync of this process is compacting
//! ([`DocCache::claim_compaction`]): while one is, the syncs that find the document still
//! long leave it to that one, instead of each saving the whole document and stacking
//! snapshots.

use std::{
    collections::{HashMap, HashSet},
    sync::{Mutex, PoisonError},
};

use voordeur_shared::{
    automerge::{AutoCommit, ChangeHash},
    docs::DocumentId,
};

#[derive(Debug)]
pub struct DocCache {
    entries: Mutex<HashMap<DocumentId, AutoCommit>>,
    /// Documents erased: never kept again (a sync that read one before its erasure may
    /// finish after it).
    erased: Mutex<HashSet<DocumentId>>,
    capacity: usize,
    compacting: Mutex<HashSet<DocumentId>>,
}

/// A sync's claim to compact one document; released when dropped.
#[derive(Debug)]
pub struct CompactionClaim<'a> {
    cache: &'a DocCache,
    id: DocumentId,
}

impl Drop for CompactionClaim<'_> {
    fn drop(&mut self) {
        let mut compacting = self
            .cache
            .compacting
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        compacting.remove(&self.id);
    }
}

impl DocCache {
    pub fn new(capacity: usize) -> Self {
        DocCache {
            entries: Mutex::new(HashMap::new()),
            erased: Mutex::new(HashSet::new()),
            capacity,
            compacting: Mutex::new(HashSet::new()),
        }
    }

    /// The claim to compact `id`, unless another sync of this process holds it.
    pub fn claim_compaction(&self, id: DocumentId) -> Option<CompactionClaim<'_>> {
        let mut compacting = self
            .compacting
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // Built only when granted: dropping a claim releases it.
        if compacting.insert(id) {
            Some(CompactionClaim { cache: self, id })
        } else {
            None
        }
    }

    /// A copy of the cached document, if it is at exactly `heads`.
    pub fn get(&self, id: &DocumentId, heads: &[ChangeHash]) -> Option<AutoCommit> {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let doc = entries.get_mut(id)?;
        (doc.get_heads() == heads).then(|| doc.clone())
    }

    /// The heads of the cached copy of a document, if there is one (whether or not the
    /// store still holds the document at them).
    pub fn heads(&self, id: &DocumentId) -> Option<Vec<ChangeHash>> {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.get_mut(id).map(|doc| doc.get_heads())
    }

    /// Forgets `ids`, erased, for good.
    pub fn erase(&self, ids: &[DocumentId]) {
        self.erased
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend(ids.iter().copied());
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        for id in ids {
            entries.remove(id);
        }
    }

    /// Keeps `doc`, which must be what the database holds once the current sync commits.
    pub fn put(&self, id: DocumentId, doc: AutoCommit) {
        if self
            .erased
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(&id)
        {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= self.capacity && !entries.contains_key(&id) {
            // Simple and bounded: start over rather than track recency.
            entries.clear();
        }
        entries.insert(id, doc);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_sync_at_a_time_compacts_a_document() {
        let cache = DocCache::new(4);
        let (a, b) = (
            DocumentId(uuid::Uuid::from_u128(1)),
            DocumentId(uuid::Uuid::from_u128(2)),
        );
        let claim = cache.claim_compaction(a);
        assert!(claim.is_some());
        assert!(cache.claim_compaction(a).is_none(), "a is being compacted");
        assert!(cache.claim_compaction(b).is_some(), "b is not");
        drop(claim);
        assert!(cache.claim_compaction(a).is_some(), "a is free again");
    }
}
