//! [`MemoryStore`]: a [`DocStore`] in memory, for the simulation (`server/tests/sim.rs`) and
//! anything else that wants the sync exchange without a database.
//!
//! It keeps what the database keeps, the same way: per document its kind, its heads and a
//! list of chunks (snapshots and the change chunks appended since), and an audit log. One
//! transaction writes at a time (as on SQLite), and its writes become visible at commit,
//! whole. A document with more chunks than the store's threshold is compacted as the real
//! store compacts. Cloning the store copies what it holds: keep a clone as a backup, and
//! put it back to simulate a server restored from that backup.

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::{Mutex, PoisonError},
};

use anyhow::Context;
use voordeur_shared::{
    access::Grant,
    automerge::{ActorId, AutoCommit, ChangeHash},
    docs::{DocKind, DocumentId},
    ids::AccountId,
    sync::{
        rules::{Writer, Writers},
        server::{Catalog, CatalogEntry, DocWrite, Wanted},
    },
};

use super::{Audited, Chunks, DocStore, Snapshot, StoreError};

/// One line of the in-memory audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditLine {
    pub account: AccountId,
    /// `read` (the server sent the document's content) or `change`.
    pub action: &'static str,
    pub kind: DocKind,
    /// For a change: its actor and the account that first brought that actor.
    pub author: Option<(ActorId, AccountId)>,
}

#[derive(Debug, Clone)]
struct Chunk {
    id: i64,
    snapshot: bool,
    bytes: Vec<u8>,
}

#[derive(Debug, Clone)]
struct StoredDoc {
    kind: DocKind,
    heads: Vec<ChangeHash>,
    chunks: Vec<Chunk>,
}

impl StoredDoc {
    /// The chunks concatenated as the database reads them: snapshots first, then by id.
    fn bytes(&self) -> Vec<u8> {
        let mut chunks: Vec<&Chunk> = self.chunks.iter().collect();
        chunks.sort_by_key(|c| (!c.snapshot, c.id));
        chunks
            .iter()
            .flat_map(|c| c.bytes.iter().copied())
            .collect()
    }

    fn parse(&self, id: DocumentId) -> Result<AutoCommit, StoreError> {
        Ok(AutoCommit::load(&self.bytes())
            .with_context(|| format!("stored document {id} does not load"))?)
    }

    fn chunks(&self) -> Chunks {
        Chunks {
            count: self.chunks.len() as i64,
            last: self.chunks.iter().map(|c| c.id).max().unwrap_or(0),
        }
    }
}

#[derive(Debug, Clone, Default)]
struct Held {
    docs: BTreeMap<DocumentId, StoredDoc>,
    /// Actors and the account each is bound to (`None`: the server's).
    actors: BTreeMap<ActorId, Option<AccountId>>,
    /// The rights of every account that has synced, as it last synced.
    grants: BTreeMap<AccountId, Grant>,
    audit: Vec<AuditLine>,
    /// The id of the last chunk written, as a database sequence.
    last_chunk: i64,
}

/// Documents and an audit log in memory; see the module's documentation.
#[derive(Debug)]
pub struct MemoryStore {
    held: Mutex<Held>,
    /// The one writer's slot, held by a transaction from begin to commit.
    writer: tokio::sync::Mutex<()>,
    compact_after: i64,
}

/// A transaction of [`MemoryStore`]: the writer's slot, and what it wrote, applied at
/// commit.
#[derive(Debug)]
pub struct MemoryTx<'a> {
    _writer: tokio::sync::MutexGuard<'a, ()>,
    /// The documents written, as they will be once committed.
    written: BTreeMap<DocumentId, StoredDoc>,
    bound: BTreeMap<ActorId, Option<AccountId>>,
    audit: Vec<AuditLine>,
    last_chunk: i64,
}

impl Clone for MemoryStore {
    /// A copy of everything the store holds now (committed), as a backup would have it.
    fn clone(&self) -> Self {
        MemoryStore {
            held: Mutex::new(self.held().clone()),
            writer: tokio::sync::Mutex::new(()),
            compact_after: self.compact_after,
        }
    }
}

impl MemoryStore {
    /// An empty store that compacts a document once it has more than `compact_after`
    /// chunks.
    pub fn new(compact_after: i64) -> MemoryStore {
        MemoryStore {
            held: Mutex::new(Held::default()),
            writer: tokio::sync::Mutex::new(()),
            compact_after,
        }
    }

    /// An empty store that never compacts: every write stays a chunk of its own.
    pub fn never_compacting() -> MemoryStore {
        MemoryStore::new(i64::MAX)
    }

    fn held(&self) -> std::sync::MutexGuard<'_, Held> {
        self.held.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Creates a document holding all of `doc`, as an administrator creates a street.
    /// Its actors are the server's: no client may write with them.
    pub fn create(&self, kind: DocKind, doc: &mut AutoCommit) {
        let mut held = self.held();
        for change in doc.get_changes(&[]) {
            held.actors.insert(change.actor_id().clone(), None);
        }
        held.last_chunk += 1;
        let chunk = Chunk {
            id: held.last_chunk,
            snapshot: true,
            bytes: doc.save(),
        };
        held.docs.insert(
            kind.id(),
            StoredDoc {
                kind,
                heads: doc.get_heads(),
                chunks: vec![chunk],
            },
        );
    }

    /// Every document's kind.
    pub fn kinds(&self) -> BTreeMap<DocumentId, DocKind> {
        self.held()
            .docs
            .iter()
            .map(|(id, doc)| (*id, doc.kind))
            .collect()
    }

    /// Every document's heads, as the `heads` column holds them.
    pub fn heads(&self) -> BTreeMap<DocumentId, Vec<ChangeHash>> {
        self.held()
            .docs
            .iter()
            .map(|(id, doc)| (*id, doc.heads.clone()))
            .collect()
    }

    /// A document parsed from its stored chunks.
    pub fn document(&self, id: &DocumentId) -> Option<Result<AutoCommit, StoreError>> {
        self.held().docs.get(id).map(|doc| doc.parse(*id))
    }

    /// How many chunks a document is stored in (0 if the store lacks it).
    pub fn chunk_count(&self, id: &DocumentId) -> usize {
        self.held().docs.get(id).map_or(0, |doc| doc.chunks.len())
    }

    /// The audit log, oldest line first.
    pub fn audit_log(&self) -> Vec<AuditLine> {
        self.held().audit.clone()
    }
}

impl DocStore for MemoryStore {
    type Tx<'a> = MemoryTx<'a>;

    async fn begin(&self) -> Result<MemoryTx<'_>, StoreError> {
        let writer = self.writer.lock().await;
        Ok(MemoryTx {
            _writer: writer,
            written: BTreeMap::new(),
            bound: BTreeMap::new(),
            audit: Vec::new(),
            last_chunk: self.held().last_chunk,
        })
    }

    async fn catalog<'s>(
        &'s self,
        _: &mut MemoryTx<'s>,
        wanted: &Wanted,
    ) -> Result<Catalog, StoreError> {
        let docs = self
            .held()
            .docs
            .iter()
            .filter(|(id, doc)| {
                wanted.ids.contains(id) || wanted.streets.contains(&doc.kind.street())
            })
            .map(|(id, doc)| {
                let entry = CatalogEntry {
                    kind: doc.kind,
                    heads: doc.heads.clone(),
                };
                (*id, entry)
            })
            .collect();
        // Nothing is erased here: the simulation makes no requests of residents.
        Ok(Catalog {
            docs,
            gone: BTreeMap::new(),
        })
    }

    async fn load<'s>(
        &'s self,
        _: &mut MemoryTx<'s>,
        ids: &BTreeSet<DocumentId>,
    ) -> Result<BTreeMap<DocumentId, AutoCommit>, StoreError> {
        let held = self.held();
        ids.iter()
            .filter_map(|id| held.docs.get(id).map(|doc| Ok((*id, doc.parse(*id)?))))
            .collect()
    }

    async fn write<'s>(
        &'s self,
        tx: &mut MemoryTx<'s>,
        writes: &[DocWrite],
    ) -> Result<BTreeMap<DocumentId, Chunks>, StoreError> {
        let held = self.held();
        for write in writes {
            let stored = match (write.created, held.docs.get(&write.id)) {
                (true, Some(_)) => return Err(StoreError::Contended),
                (true, None) => tx.written.entry(write.id).or_insert_with(|| StoredDoc {
                    kind: write.kind,
                    heads: Vec::new(),
                    chunks: Vec::new(),
                }),
                (false, Some(doc)) => tx.written.entry(write.id).or_insert_with(|| doc.clone()),
                (false, None) => {
                    return Err(StoreError::Other(anyhow::anyhow!(
                        "document {} is not stored",
                        write.id
                    )));
                }
            };
            tx.last_chunk += 1;
            stored.heads.clone_from(&write.heads);
            stored.chunks.push(Chunk {
                id: tx.last_chunk,
                snapshot: write.created,
                bytes: write.changes.clone(),
            });
        }
        Ok(writes
            .iter()
            .filter_map(|w| tx.written.get(&w.id).map(|doc| (w.id, doc.chunks())))
            .collect())
    }

    async fn writers<'s>(
        &'s self,
        _: &mut MemoryTx<'s>,
        sender: AccountId,
        grant: &Grant,
        actors: &BTreeSet<ActorId>,
    ) -> Result<Writers, StoreError> {
        let mut held = self.held();
        held.grants.insert(sender, grant.clone());
        let actors_of = |account: AccountId| -> BTreeSet<ActorId> {
            held.actors
                .iter()
                .filter(|(_, a)| **a == Some(account))
                .map(|(actor, _)| actor.clone())
                .collect()
        };
        let mut writers = Writers::new(Writer {
            account: sender,
            grant: grant.clone(),
            actors: actors_of(sender),
        });
        for actor in actors {
            match held.actors.get(actor) {
                Some(None) => writers.add_unbindable(actor.clone()),
                Some(Some(account)) if *account != sender => writers.add(Writer {
                    account: *account,
                    grant: held.grants[account].clone(),
                    actors: actors_of(*account),
                }),
                _ => {}
            }
        }
        Ok(writers)
    }

    async fn bind<'s>(
        &'s self,
        tx: &mut MemoryTx<'s>,
        account: Option<AccountId>,
        actors: &BTreeSet<ActorId>,
    ) -> Result<(), StoreError> {
        tx.bound
            .extend(actors.iter().map(|actor| (actor.clone(), account)));
        Ok(())
    }

    async fn audit<'s>(
        &'s self,
        tx: &mut MemoryTx<'s>,
        account: AccountId,
        action: &'static str,
        lines: &[Audited],
    ) -> Result<(), StoreError> {
        tx.audit.extend(lines.iter().map(|line| AuditLine {
            account,
            action,
            kind: line.kind,
            author: line.author.clone(),
        }));
        Ok(())
    }

    async fn commit<'s>(&'s self, tx: MemoryTx<'s>) -> Result<(), StoreError> {
        let mut held = self.held();
        for (actor, account) in tx.bound {
            held.actors.entry(actor).or_insert(account);
        }
        held.docs.extend(tx.written);
        held.audit.extend(tx.audit);
        held.last_chunk = tx.last_chunk;
        Ok(())
    }

    fn compact_after(&self) -> i64 {
        self.compact_after
    }

    async fn compact(&self, snapshots: &[Snapshot]) -> Result<usize, StoreError> {
        let _writer = self.writer.lock().await;
        let mut held = self.held();
        let Held {
            docs, last_chunk, ..
        } = &mut *held;
        let mut compacted = 0;
        for snapshot in snapshots {
            let Some(doc) = docs.get_mut(&snapshot.id) else {
                continue;
            };
            if doc
                .chunks
                .iter()
                .any(|c| c.snapshot && c.id > snapshot.through)
            {
                // Compacted since this snapshot's sync wrote.
                continue;
            }
            let before = doc.chunks.len();
            doc.chunks.retain(|c| c.id > snapshot.through);
            if doc.chunks.len() == before {
                continue;
            }
            *last_chunk += 1;
            doc.chunks.push(Chunk {
                id: *last_chunk,
                snapshot: true,
                bytes: snapshot.bytes.clone(),
            });
            compacted += 1;
        }
        Ok(compacted)
    }
}
