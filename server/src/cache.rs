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
    automerge::{AutoCommit, ChangeHash, ReadDoc},
    docs::DocumentId,
};

#[derive(Debug)]
pub struct DocCache {
    entries: Mutex<Entries>,
    /// Documents erased: never kept again (a sync that read one before its erasure may
    /// finish after it).
    erased: Mutex<HashSet<DocumentId>>,
    /// The most the kept documents may take, in bytes, as [`footprint`] estimates them.
    budget: usize,
    compacting: Mutex<HashSet<DocumentId>>,
}

#[derive(Debug, Default)]
struct Entries {
    docs: HashMap<DocumentId, Entry>,
    /// The sum of the entries' footprints.
    bytes: usize,
    /// Counts uses, for the least recently used to go first.
    clock: u64,
}

#[derive(Debug)]
struct Entry {
    doc: AutoCommit,
    bytes: usize,
    used: u64,
}

/// Memory a parsed document takes, estimated from its operations and changes (measured
/// on streets of 10 to 10,000 visits: docs/benchmarks.md, "the document cache").
pub fn footprint(doc: &AutoCommit) -> usize {
    let stats = doc.stats();
    (stats.num_ops as usize)
        .saturating_mul(BYTES_PER_OP)
        .saturating_add((stats.num_changes as usize).saturating_mul(BYTES_PER_CHANGE))
}

const BYTES_PER_OP: usize = 100;
const BYTES_PER_CHANGE: usize = 300;

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
    /// A cache that keeps documents of at most `budget` bytes in all.
    pub fn new(budget: usize) -> Self {
        DocCache {
            entries: Mutex::new(Entries::default()),
            erased: Mutex::new(HashSet::new()),
            budget,
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
        entries.clock += 1;
        let clock = entries.clock;
        let entry = entries.docs.get_mut(id)?;
        if entry.doc.get_heads() != heads {
            return None;
        }
        entry.used = clock;
        Some(entry.doc.clone())
    }

    /// The cached document itself, if it is at exactly `heads`, taken out of the cache
    /// without a copy: a sync takes the documents it works on and puts back what it
    /// committed ([`DocCache::put`]); if it fails, the next one parses the document from
    /// the store. (Syncs that write one document take turns on its lock, so a taken
    /// document is rarely missed.)
    pub fn take(&self, id: &DocumentId, heads: &[ChangeHash]) -> Option<AutoCommit> {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = entries.docs.get_mut(id)?;
        if entry.doc.get_heads() != heads {
            return None;
        }
        let bytes = entry.bytes;
        let doc = entries.docs.remove(id).map(|entry| entry.doc);
        entries.bytes -= bytes;
        doc
    }

    /// The heads of the cached copy of a document, if there is one (whether or not the
    /// store still holds the document at them).
    pub fn heads(&self, id: &DocumentId) -> Option<Vec<ChangeHash>> {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.docs.get_mut(id).map(|entry| entry.doc.get_heads())
    }

    /// What the kept documents take now, as estimated, and how many there are.
    pub fn size(&self) -> (usize, usize) {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        (entries.bytes, entries.docs.len())
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
    /// The least recently used documents make room for it; a document larger than the
    /// whole budget is not kept.
    pub fn put(&self, id: DocumentId, doc: AutoCommit) {
        if self
            .erased
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(&id)
        {
            return;
        }
        let bytes = footprint(&doc);
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.remove(&id);
        if bytes > self.budget {
            return;
        }
        if entries.bytes + bytes > self.budget {
            // Down to nine tenths of the budget at once, so that eviction's sort is rare.
            entries.evict((self.budget - bytes) / 10 * 9);
        }
        entries.clock += 1;
        let used = entries.clock;
        entries.bytes += bytes;
        entries.docs.insert(id, Entry { doc, bytes, used });
    }
}

impl Entries {
    fn remove(&mut self, id: &DocumentId) {
        if let Some(entry) = self.docs.remove(id) {
            self.bytes -= entry.bytes;
        }
    }

    /// Drops the least recently used documents until the rest take at most `bytes`.
    fn evict(&mut self, bytes: usize) {
        let mut by_use: Vec<(u64, DocumentId)> =
            self.docs.iter().map(|(id, e)| (e.used, *id)).collect();
        by_use.sort_unstable();
        for (_, id) in by_use {
            if self.bytes <= bytes {
                break;
            }
            self.remove(&id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_sync_at_a_time_compacts_a_document() {
        let cache = DocCache::new(1 << 20);
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

    #[test]
    fn the_cache_keeps_to_its_budget_and_lets_the_least_recently_used_go() {
        let doc = |n: usize| {
            let mut doc = AutoCommit::new();
            for i in 0..n {
                voordeur_shared::automerge::transaction::Transactable::put(
                    &mut doc,
                    voordeur_shared::automerge::ROOT,
                    format!("k{i}"),
                    i as u64,
                )
                .unwrap();
            }
            doc
        };
        let one = footprint(&doc(100));
        assert!(one >= 100 * BYTES_PER_OP, "{one}");
        let cache = DocCache::new(one * 3 + one / 2);
        let id = |n: u128| DocumentId(uuid::Uuid::from_u128(n));
        let mut first = doc(100);
        cache.put(id(1), first.clone());
        for n in 2..=3 {
            cache.put(id(n), doc(100));
        }
        assert_eq!(cache.size(), (one * 3, 3));
        // Document 1 is used; 2 is now the least recently used, and goes for 4.
        assert!(cache.get(&id(1), &first.get_heads()).is_some());
        cache.put(id(4), doc(100));
        let (bytes, count) = cache.size();
        assert!(bytes <= one * 3 + one / 2, "{bytes}");
        assert!(
            cache.heads(&id(2)).is_none(),
            "the least recently used went"
        );
        assert!(cache.heads(&id(1)).is_some(), "the one just used stayed");
        assert!(cache.heads(&id(4)).is_some());
        assert!(count <= 3);
        // Taken: out of the cache, until put back.
        assert!(cache.take(&id(1), &first.get_heads()).is_some());
        assert!(cache.heads(&id(1)).is_none());
        assert_eq!(cache.size().0, bytes - one);
        // A document larger than the whole budget is not kept, and keeps nothing out.
        cache.put(id(5), doc(1000));
        assert!(cache.heads(&id(5)).is_none());
        assert!(cache.heads(&id(4)).is_some());
        // Erased: gone, and never kept again.
        cache.erase(&[id(4)]);
        cache.put(id(4), doc(100));
        assert!(cache.heads(&id(4)).is_none());
    }
}
