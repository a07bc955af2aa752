//! The sync exchange as one unit, on any [`DocStore`]: what `POST /api/sync` does once the
//! request is decoded, and what the simulation (`server/tests/sim.rs`) drives over
//! [`MemoryStore`](crate::store::memory::MemoryStore).
//!
//! In one write transaction: the catalog (locking the offered documents), the [`Plan`],
//! the documents it needs (from the [`DocCache`] when it holds them at the catalog's heads,
//! otherwise from the store), `serve` (on a blocking thread: merging and checking is CPU
//! work), the writes, the audit lines of what the person read and changed, the compaction
//! of the documents written that now have too many chunks (from the parsed copies held
//! here), and the commit. Then the cache keeps the documents at their committed heads, and
//! the response goes out.

use std::collections::{BTreeMap, BTreeSet};

use voordeur_shared::{
    access::Grant,
    automerge::{ActorId, AutoCommit, ChangeHash},
    docs::DocumentId,
    ids::AccountId,
    sync::{
        SyncError, SyncRequest, SyncResponse,
        server::{Catalog, Plan, serve},
    },
};

use crate::{
    cache::DocCache,
    store::{Chunks, DocStore, Snapshot, StoreError},
};

/// Who is syncing: the account (for the audit log) and what it may see and change.
#[derive(Debug, Clone)]
pub struct Caller {
    pub account: AccountId,
    pub grant: Grant,
}

/// A committed sync: the response, and what the log line tells.
#[derive(Debug)]
pub struct Synced {
    pub response: SyncResponse,
    /// Documents offered.
    pub offered: usize,
    /// Documents written (changed or created).
    pub written: usize,
    /// Documents answered.
    pub replied: usize,
    /// Compaction, if a written document had too many chunks.
    pub compaction: Option<Compaction>,
}

/// Compaction in a sync.
#[derive(Debug)]
pub struct Compaction {
    /// The documents snapshotted.
    pub docs: Vec<DocumentId>,
    /// How many of them the snapshot replaced, or why compaction failed: the sync is
    /// committed without it, and the document is compacted after its next write.
    pub result: Result<usize, StoreError>,
}

/// Why a sync was not committed. Nothing of it is stored.
#[derive(Debug, thiserror::Error)]
pub enum ExchangeError {
    /// The request is refused (see `voordeur_shared::sync::server::serve`).
    #[error(transparent)]
    Refused(#[from] SyncError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the sync's worker thread failed: {0}")]
    Worker(#[from] tokio::task::JoinError),
}

/// Runs one sync exchange of `caller` against `store` (see the module's documentation);
/// documents the server creates get `actor`.
pub async fn run<S: DocStore>(
    store: &S,
    cache: &DocCache,
    actor: &ActorId,
    caller: &Caller,
    request: SyncRequest,
) -> Result<Synced, ExchangeError> {
    let offered = request.docs.len();
    let mut tx = store.begin().await?;
    let catalog = store.catalog(&mut tx, &Catalog::wanted(&request)).await?;
    let plan = Plan::new(&request, &catalog, &caller.grant);
    let mut loaded = BTreeMap::new();
    let mut missing = BTreeSet::new();
    for id in plan.to_load() {
        let entry = catalog.docs.get(id);
        match entry.and_then(|e| cache.get(id, &e.heads)) {
            Some(doc) => {
                loaded.insert(*id, doc);
            }
            None => {
                missing.insert(*id);
            }
        }
    }
    loaded.extend(store.load(&mut tx, &missing).await?);
    let mut committed_heads: BTreeMap<DocumentId, Vec<ChangeHash>> = catalog
        .docs
        .iter()
        .map(|(id, entry)| (*id, entry.heads.clone()))
        .collect();
    let (actor, grant) = (actor.clone(), caller.grant.clone());
    // Merging and checking documents is CPU work: keep it off the async workers.
    let served = tokio::task::spawn_blocking(move || {
        serve(&request, &catalog, &plan, loaded, &actor, &grant)
    })
    .await??;
    let chunks = store.write(&mut tx, &served.writes).await?;
    // Who read and changed which residents' documents, committed with the changes.
    store
        .audit(&mut tx, caller.account, "read", &served.read)
        .await?;
    store
        .audit(&mut tx, caller.account, "change", &served.changed())
        .await?;
    let mut docs = served.docs;
    let compaction = compact(store, &mut tx, &chunks, &mut docs).await?;
    store.commit(tx).await?;

    committed_heads.extend(served.writes.iter().map(|w| (w.id, w.heads.clone())));
    for (id, mut doc) in docs {
        if committed_heads.get(&id) == Some(&doc.get_heads()) {
            cache.put(id, doc);
        }
    }
    Ok(Synced {
        offered,
        written: served.writes.len(),
        replied: served.response.docs.len(),
        response: served.response,
        compaction,
    })
}

/// Compacts, in the sync's transaction, the documents it wrote that now have more chunks
/// than the store keeps: each is saved whole from the copy held here (at the heads this
/// sync writes; saving is CPU work, off the async workers) and replaces the chunks up to
/// the one this sync wrote. The transaction holds the documents' locks, so no other sync
/// appends to them meanwhile, and no two syncs compact one document at once.
async fn compact<'s, S: DocStore>(
    store: &'s S,
    tx: &mut S::Tx<'s>,
    chunks: &BTreeMap<DocumentId, Chunks>,
    docs: &mut BTreeMap<DocumentId, AutoCommit>,
) -> Result<Option<Compaction>, ExchangeError> {
    let long: Vec<(DocumentId, i64, AutoCommit)> = chunks
        .iter()
        .filter(|(_, chunks)| chunks.count > store.compact_after())
        .filter_map(|(id, chunks)| Some((*id, chunks.last, docs.remove(id)?)))
        .collect();
    if long.is_empty() {
        return Ok(None);
    }
    let (saved, snapshots): (Vec<(DocumentId, AutoCommit)>, Vec<Snapshot>) =
        tokio::task::spawn_blocking(move || {
            long.into_iter()
                .map(|(id, through, mut doc)| {
                    let bytes = doc.save();
                    ((id, doc), Snapshot { id, through, bytes })
                })
                .unzip()
        })
        .await?;
    docs.extend(saved);
    let result = store.compact(tx, &snapshots).await;
    Ok(Some(Compaction {
        docs: snapshots.iter().map(|s| s.id).collect(),
        result,
    }))
}
