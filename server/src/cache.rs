//! Documents kept in memory between syncs, so a sync need not parse a document from its
//! stored chunks every time.
//!
//! An entry is only used when its heads equal the heads the database holds for that
//! document (read in the sync's transaction), so the cache can never serve a stale
//! document, also with several servers on one PostgreSQL database, or after the database
//! is restored from a backup under a running server.

use std::{
    collections::HashMap,
    sync::{Mutex, PoisonError},
};

use voordeur_shared::{
    automerge::{AutoCommit, ChangeHash},
    docs::DocumentId,
};

#[derive(Debug)]
pub struct DocCache {
    entries: Mutex<HashMap<DocumentId, AutoCommit>>,
    capacity: usize,
}

impl DocCache {
    pub fn new(capacity: usize) -> Self {
        DocCache {
            entries: Mutex::new(HashMap::new()),
            capacity,
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

    /// Keeps `doc`, which must be what the database holds once the current sync commits.
    pub fn put(&self, id: DocumentId, doc: AutoCommit) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= self.capacity && !entries.contains_key(&id) {
            // Simple and bounded: start over rather than track recency.
            entries.clear();
        }
        entries.insert(id, doc);
    }
}
