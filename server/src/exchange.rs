//! The sync exchange as one unit, on any [`DocStore`]: what `POST /api/sync` does once the
//! request is decoded, and what the simulation (`server/tests/sim.rs`) drives over
//! [`MemoryStore`](crate::store::memory::MemoryStore).
//!
//! In one write transaction: the catalog (locking the offered documents), the [`Plan`],
//! the documents it needs (taken from the [`DocCache`] when it holds them at the
//! catalog's heads, without a copy, otherwise parsed from the store), `serve` (on a
//! blocking thread: merging and checking is CPU work), the writes, the audit lines of what
//! the person read and changed, the documents put back in the cache at the heads the
//! commit will give them (before the commit, so that the next sync of a document, which
//! starts the moment this one commits, finds it), and the commit. Then the documents
//! written that now have too many chunks are compacted from the parsed copies held here,
//! unless another sync of this process is compacting them already
//! ([`DocCache::claim_compaction`]). The response goes out after all of that.
//!
//! Documents `serve` refuses one by one (see `voordeur_shared::sync`) are neither written
//! nor audited as read or changed; the others are committed as usual. [`Synced::refused`]
//! gives their codes to the log line.

use std::collections::{BTreeMap, BTreeSet};

use voordeur_shared::{
    access::Grant,
    automerge::{ActorId, AutoCommit, ChangeHash},
    docs::{DocKind, DocumentId},
    ids::AccountId,
    sync::{
        ReplyStatus, SyncError, SyncRequest, SyncResponse, chunks,
        rules::{Writer, Writers},
        server::{Catalog, Incoming, Plan, Served, serve},
    },
};

use crate::{
    cache::{CompactionClaim, DocCache},
    store::{Audited, DocStore, Snapshot, StoreError},
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
    /// The documents written, at their committed heads, and those the request brought
    /// only changes the store held already, at their stored heads (what `events` pushes:
    /// a sync that is answered has told the others, even if it retried one whose server
    /// stopped between its commit and its notice).
    pub changed: Vec<(DocKind, Vec<ChangeHash>)>,
    /// Documents offered.
    pub offered: usize,
    /// Documents written (changed or created).
    pub written: usize,
    /// Documents answered.
    pub replied: usize,
    /// Documents parsed from storage (the cache did not hold them at their heads).
    pub parsed: usize,
    /// The codes of the documents refused (nothing of them is stored), one per document.
    pub refused: Vec<&'static str>,
    /// Compaction after the commit, if a written document had too many chunks.
    pub compaction: Option<Compaction>,
}

/// Compaction after a sync.
#[derive(Debug)]
pub struct Compaction {
    /// The documents snapshotted.
    pub docs: Vec<DocumentId>,
    /// How many of them the snapshot replaced (fewer if a later sync's snapshot already
    /// did), or why compaction failed: the sync itself is committed, and the document is
    /// compacted after its next write.
    pub result: Result<usize, StoreError>,
}

/// Why a sync was not committed. Nothing of it is stored. (A document `serve` refuses
/// alone is no error: it is answered as refused, and the others are committed.)
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
    // Parsing is CPU work, done before the writer's slot is taken.
    let incoming = if request.docs.iter().all(|offer| offer.changes.is_empty()) {
        Incoming::read(request)?
    } else {
        tokio::task::spawn_blocking(move || Incoming::read(request)).await??
    };
    let request = incoming.request();
    let mut tx = store.begin().await?;
    let catalog = store.catalog(&mut tx, &Catalog::wanted(request)).await?;
    let plan = Plan::new(request, &catalog, &caller.grant);
    let mut loaded = BTreeMap::new();
    let mut missing = BTreeSet::new();
    for id in plan.to_load() {
        let entry = catalog.docs.get(id);
        match entry.and_then(|e| cache.take(id, &e.heads)) {
            Some(doc) => {
                loaded.insert(*id, doc);
            }
            None => {
                missing.insert(*id);
            }
        }
    }
    let parsed = missing.len();
    loaded.extend(store.load(&mut tx, &missing).await?);
    let mut committed_heads: BTreeMap<DocumentId, Vec<ChangeHash>> = catalog
        .docs
        .iter()
        .map(|(id, entry)| (*id, entry.heads.clone()))
        .collect();
    // Whose rights each change is checked against (a request without changes needs none).
    let actors = incoming.actors();
    let writers = if actors.is_empty() {
        Writers::new(Writer {
            account: caller.account,
            grant: caller.grant.clone(),
            actors: BTreeSet::new(),
        })
    } else {
        store
            .writers(&mut tx, caller.account, &caller.grant, &actors)
            .await?
    };
    // Documents the request brings changes for, at the heads they are stored at: if the
    // store held all those changes already (a retry of a sync whose server stopped after
    // its commit, before it told anyone), the others are told again below.
    let brought: Vec<(DocKind, Vec<ChangeHash>)> = request
        .docs
        .iter()
        .filter(|offer| !offer.changes.is_empty())
        .filter_map(|offer| catalog.docs.get(&offer.id))
        .map(|entry| (entry.kind, entry.heads.clone()))
        .collect();
    let serving = actor.clone();
    // Merging and checking documents is CPU work: keep it off the async workers.
    let (served, writers) = tokio::task::spawn_blocking(move || {
        // Automerge applies the client's changes in `serve`; a panic inside it on hostile
        // bytes is the request's fault: refused as damaged (400), nothing stored, and the
        // documents it touched are dropped with the closure, never cached.
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            serve(&incoming, &catalog, &plan, loaded, &serving, &writers)
        }))
        .unwrap_or_else(|panic| Err(SyncError::Damaged(chunks::panic_message(&*panic))))
        .map(|served| (served, writers))
    })
    .await??;
    let chunks = store.write(&mut tx, &served.writes).await?;
    store
        .bind(&mut tx, Some(caller.account), &served.new_actors)
        .await?;
    if served.repaired {
        // The server's own repairs: its actor is no one's.
        store
            .bind(&mut tx, None, &BTreeSet::from([actor.clone()]))
            .await?;
    }
    // Who read and changed which residents' documents, committed with the changes.
    let read: Vec<Audited> = served.read.iter().copied().map(Audited::read).collect();
    store.audit(&mut tx, caller.account, "read", &read).await?;
    store
        .audit(
            &mut tx,
            caller.account,
            "change",
            &changes(&served, &writers),
        )
        .await?;
    committed_heads.extend(served.writes.iter().map(|w| (w.id, w.heads.clone())));
    // A document another sync of this process is compacting is left to that one.
    let mut too_long: BTreeMap<DocumentId, (i64, CompactionClaim<'_>)> = chunks
        .into_iter()
        .filter(|(_, chunks)| chunks.count > store.compact_after())
        .filter_map(|(id, chunks)| Some((id, (chunks.last, cache.claim_compaction(id)?))))
        .collect();
    // Kept before the commit, so that the next sync of a document, which may start the
    // moment this one commits, finds it. Safe: an entry is used only at the heads the
    // database holds, and heads name one content, so an entry whose commit fails is
    // never used (or, if the same changes are committed later, is exactly that).
    let mut to_compact: Vec<(DocumentId, i64, AutoCommit)> = Vec::new();
    for (id, mut doc) in served.docs {
        if committed_heads.get(&id) != Some(&doc.get_heads()) {
            continue;
        }
        if let Some((through, _)) = too_long.get(&id) {
            cache.put(id, doc.clone());
            to_compact.push((id, *through, doc));
        } else {
            cache.put(id, doc);
        }
    }
    store.commit(tx).await?;

    let compaction = if to_compact.is_empty() {
        None
    } else {
        let docs = to_compact.iter().map(|(id, ..)| *id).collect();
        let result = compact(store, to_compact).await;
        Some(Compaction { docs, result })
    };
    // The claims end here, compacted or not.
    too_long.clear();
    let merged: BTreeSet<DocumentId> = served
        .response
        .docs
        .iter()
        .filter(|reply| reply.status == ReplyStatus::Merged)
        .map(|reply| reply.id)
        .collect();
    let written: BTreeSet<DocumentId> = served.writes.iter().map(|w| w.id).collect();
    let retold = brought
        .into_iter()
        .filter(|(kind, _)| merged.contains(&kind.id()) && !written.contains(&kind.id()));
    Ok(Synced {
        changed: served
            .writes
            .iter()
            .map(|w| (w.kind, w.heads.clone()))
            .chain(retold)
            .collect(),
        offered,
        written: served.writes.len(),
        replied: served.response.docs.len(),
        parsed,
        refused: served.refused.iter().map(|(_, code)| *code).collect(),
        response: served.response,
        compaction,
    })
}

/// One audit line per document written and author of its new changes (one line, without
/// an author, for a document the request only created).
fn changes(served: &Served, writers: &Writers) -> Vec<Audited> {
    let mut lines = Vec::new();
    for write in &served.writes {
        if write.authors.is_empty() {
            lines.push(Audited {
                kind: write.kind,
                author: None,
            });
        }
        for actor in &write.authors {
            lines.push(Audited {
                kind: write.kind,
                author: writers
                    .account_of(actor)
                    .map(|account| (actor.clone(), account)),
            });
        }
    }
    lines
}

/// Saves each document whole (they are at their committed heads, so the snapshot covers
/// exactly the chunks up to the one this sync wrote; saving is CPU work, off the async
/// workers), and has the store replace those chunks.
async fn compact<S: DocStore>(
    store: &S,
    docs: Vec<(DocumentId, i64, AutoCommit)>,
) -> Result<usize, StoreError> {
    let snapshots: Vec<Snapshot> = tokio::task::spawn_blocking(move || {
        docs.into_iter()
            .map(|(id, through, mut doc)| Snapshot {
                id,
                through,
                bytes: doc.save(),
            })
            .collect()
    })
    .await
    .map_err(|e| StoreError::Other(e.into()))?;
    store.compact(&snapshots).await
}
