//! Where documents live: SQLite (a file in the data directory, the default) or PostgreSQL,
//! through one set of queries on sqlx's `Any` driver.
//!
//! A document is a row in `documents` (what it is about, its current heads) and a list of
//! rows in `chunks`: a compacted snapshot and the change chunks appended since. A sync
//! runs in one transaction: documents it will change are locked first (`FOR UPDATE` on
//! PostgreSQL; SQLite has one writer at a time), read, changed and committed together, so
//! a request is applied whole or not at all, and the heads in `documents` are exact.
//! After the commit, a document with many chunks is compacted into one snapshot.
//!
//! [`DocStore`] is what the sync exchange (`crate::exchange`) needs of a store. [`Store`]
//! implements it on the database; [`memory::MemoryStore`] in memory, for the simulation.

use std::{
    collections::{BTreeMap, BTreeSet},
    time::{SystemTime, UNIX_EPOCH},
};

use anyhow::Context;
use sqlx::{
    Any, AnyPool, Row, Transaction,
    any::{AnyPoolOptions, AnyRow},
};
use tokio::sync::{Mutex, MutexGuard};
use uuid::Uuid;
use voordeur_shared::{
    access::Grant,
    automerge::{ActorId, AutoCommit, ChangeHash},
    docs::{DocKind, DocumentId},
    ids::AccountId,
    model::Partner,
    sync::{
        rules::Writers,
        server::{Catalog, CatalogEntry, DocWrite, Wanted},
    },
};

mod actors;
mod erasures;
pub mod memory;
mod people;
mod sign_in;

pub use erasures::{CarriedOut, Erasure};
pub use people::{Account, AuditEntry, NewAccount, Organisation};
pub use sign_in::{Ladder, ThrottleKey};

/// A document is compacted once it has more chunks than this.
pub const COMPACT_AFTER_CHUNKS: i64 = 32;

/// What the sync exchange (`crate::exchange`) needs of a store: one write transaction per
/// sync (catalog, load, write, audit, commit), and compaction after it.
///
/// A transaction serializes with every other writer of the same documents (PostgreSQL:
/// the catalog locks the offered documents, in id order; SQLite and [`memory`]: one
/// writer at a time), and what it writes becomes visible at [`DocStore::commit`], whole,
/// or, if it is dropped, not at all.
pub trait DocStore: Send + Sync {
    /// A write transaction; dropping it rolls it back.
    type Tx<'a>: Send
    where
        Self: 'a;

    /// Starts a write transaction, waiting for the writer's slot where the backend has one.
    fn begin(&self) -> impl Future<Output = Result<Self::Tx<'_>, StoreError>> + Send;

    /// What the store holds that `wanted` names, locking the offered documents that exist.
    fn catalog<'s>(
        &'s self,
        tx: &mut Self::Tx<'s>,
        wanted: &Wanted,
    ) -> impl Future<Output = Result<Catalog, StoreError>> + Send;

    /// The documents `ids`, parsed from their stored chunks.
    fn load<'s>(
        &'s self,
        tx: &mut Self::Tx<'s>,
        ids: &BTreeSet<DocumentId>,
    ) -> impl Future<Output = Result<BTreeMap<DocumentId, AutoCommit>, StoreError>> + Send;

    /// Appends one chunk per write (creating the documents that are new) and sets their
    /// heads; returns, per written document, its chunks as the transaction sees them.
    /// A document another transaction created meanwhile is [`StoreError::Contended`].
    fn write<'s>(
        &'s self,
        tx: &mut Self::Tx<'s>,
        writes: &[DocWrite],
    ) -> impl Future<Output = Result<BTreeMap<DocumentId, Chunks>, StoreError>> + Send;

    /// The authors of `actors`' changes as far as the store has bound them, with their
    /// accounts' rights; `sender` (with `grant`) is one of them. Actors never seen are left
    /// out: they are the sender's once [`DocStore::bind`] binds them.
    fn writers<'s>(
        &'s self,
        tx: &mut Self::Tx<'s>,
        sender: AccountId,
        grant: &Grant,
        actors: &BTreeSet<ActorId>,
    ) -> impl Future<Output = Result<Writers, StoreError>> + Send;

    /// Binds `actors`, new to the store, to `account` (`None`: the server's own). One that
    /// another transaction bound meanwhile keeps that binding.
    fn bind<'s>(
        &'s self,
        tx: &mut Self::Tx<'s>,
        account: Option<AccountId>,
        actors: &BTreeSet<ActorId>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Records that `account` did `action` (`"read"` or `"change"`) to each document (and,
    /// for a change, who wrote it).
    fn audit<'s>(
        &'s self,
        tx: &mut Self::Tx<'s>,
        account: AccountId,
        action: &'static str,
        lines: &[Audited],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn commit<'s>(
        &'s self,
        tx: Self::Tx<'s>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// A document with more chunks than this is compacted after the sync that wrote it.
    fn compact_after(&self) -> i64;

    /// Replaces, per snapshot, the chunks it covers (up to and including
    /// [`Snapshot::through`]) by the snapshot, in one transaction of its own; chunks
    /// appended since are kept. A snapshot is dropped if a later one exists (the document
    /// was compacted after this snapshot's sync wrote) or its chunks are gone. Returns how
    /// many documents were compacted.
    fn compact(
        &self,
        snapshots: &[Snapshot],
    ) -> impl Future<Output = Result<usize, StoreError>> + Send;
}

/// A document read or changed, for the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Audited {
    pub kind: DocKind,
    /// For a change: the actor that wrote it and the account that first brought that actor
    /// (not always the account that sent it).
    pub author: Option<(ActorId, AccountId)>,
}

impl Audited {
    pub fn read(kind: DocKind) -> Audited {
        Audited { kind, author: None }
    }
}

/// A document's stored chunks after a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chunks {
    pub count: i64,
    /// The id of the last chunk, the one just written.
    pub last: i64,
}

/// A document saved whole, to replace its chunks up to and including `through`.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub id: DocumentId,
    pub through: i64,
    pub bytes: Vec<u8>,
}

/// Why a store could not do what the exchange asked.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another sync created the same document at the same moment; the client retries.
    #[error("another sync created the same document at the same moment")]
    Contended,
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &e
            && db.is_unique_violation()
        {
            return StoreError::Contended;
        }
        StoreError::Other(anyhow::Error::new(e).context("database error"))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn of_url(url: &str) -> anyhow::Result<Backend> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Ok(Backend::Postgres)
        } else {
            anyhow::bail!("database URL must start with sqlite: or postgres:")
        }
    }
}

#[derive(Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// SQLite allows one writer at a time; writers queue rather than fail as busy: first
    /// in `sqlite_queue`, one at a time, then for `sqlite_writer`, the slot itself.
    sqlite_queue: Mutex<()>,
    sqlite_writer: Mutex<()>,
}

/// A write transaction; holds SQLite's writer slot until it ends.
pub struct WriteTx<'a> {
    tx: Transaction<'static, Any>,
    _writer: Option<MutexGuard<'a, ()>>,
}

impl std::fmt::Debug for WriteTx<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WriteTx")
    }
}

/// A read transaction, for reads outside a sync: it takes no writer's slot and locks
/// nothing, and sees the documents as some commit left them.
pub struct ReadTx {
    tx: Transaction<'static, Any>,
}

impl std::fmt::Debug for ReadTx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ReadTx")
    }
}

impl ReadTx {
    /// What the store holds of `ids` (the others are left out): kinds and heads.
    pub async fn catalog(
        &mut self,
        ids: &BTreeSet<DocumentId>,
    ) -> anyhow::Result<BTreeMap<DocumentId, CatalogEntry>> {
        if ids.is_empty() {
            return Ok(BTreeMap::new());
        }
        let ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
        let sql = format!(
            "SELECT {DOC_COLUMNS} FROM documents WHERE id IN ({})",
            placeholders(1, ids.len())
        );
        Ok(catalog_entries(&mut self.tx, &sql, &ids)
            .await?
            .into_iter()
            .collect())
    }

    /// The kind of `street`'s document, at the epoch the store holds, if it holds it.
    pub async fn street(&mut self, street: Uuid) -> anyhow::Result<Option<DocKind>> {
        street_kind(&mut *self.tx, street).await
    }

    /// The stored bytes of `ids`, snapshot first, one string of chunks per document
    /// (what `AutoCommit::load` takes), left to the caller to parse.
    pub async fn chunks(
        &mut self,
        ids: &BTreeSet<DocumentId>,
    ) -> anyhow::Result<BTreeMap<DocumentId, Vec<u8>>> {
        load_chunks(&mut *self.tx, ids).await
    }
}

fn placeholders(start: usize, count: usize) -> String {
    (start..start + count)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn heads_to_bytes(heads: &[ChangeHash]) -> Vec<u8> {
    heads.iter().flat_map(|h| h.0).collect()
}

fn heads_from_bytes(bytes: &[u8]) -> Vec<ChangeHash> {
    bytes
        .chunks_exact(32)
        .map(|c| ChangeHash(c.try_into().expect("chunks_exact yields 32 bytes")))
        .collect()
}

/// Milliseconds since the Unix epoch, as stored in every `_ms` column.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn kind_from_row(row: &AnyRow) -> anyhow::Result<DocKind> {
    let street: Uuid = row.try_get::<String, _>("street_id")?.parse()?;
    let kind: String = row.try_get("kind")?;
    let address =
        || -> anyhow::Result<Uuid> { Ok(row.try_get::<String, _>("address_id")?.parse()?) };
    let epoch = || -> anyhow::Result<u32> { Ok(u32::try_from(row.try_get::<i64, _>("epoch")?)?) };
    Ok(match kind.as_str() {
        "street" => DocKind::Street {
            street,
            epoch: epoch()?,
        },
        "household" => DocKind::Household {
            street,
            address: address()?,
            epoch: epoch()?,
        },
        "confidential" => {
            let label: String = row.try_get("partner")?;
            let partner = Partner::from_label(&label)
                .with_context(|| format!("unknown partner {label:?}"))?;
            DocKind::Confidential {
                street,
                address: address()?,
                epoch: epoch()?,
                partner,
            }
        }
        other => anyhow::bail!("unknown document kind {other:?}"),
    })
}

/// Runs a `SELECT {DOC_COLUMNS}` query with `binds` and reads its rows as catalog entries.
async fn catalog_entries(
    conn: &mut sqlx::AnyConnection,
    sql: &str,
    binds: &[String],
) -> anyhow::Result<Vec<(DocumentId, CatalogEntry)>> {
    let mut query = sqlx::query(sql);
    for value in binds {
        query = query.bind(value.as_str());
    }
    let rows = query.fetch_all(conn).await?;
    rows.iter()
        .map(|row| {
            let id: DocumentId = row.try_get::<String, _>("id")?.parse()?;
            let kind = kind_from_row(row)?;
            let heads = heads_from_bytes(&row.try_get::<Vec<u8>, _>("heads")?);
            Ok((id, CatalogEntry { kind, heads }))
        })
        .collect()
}

/// The kind of `street`'s document (at its current epoch: the store holds one).
async fn street_kind<'c>(
    conn: impl sqlx::Executor<'c, Database = Any>,
    street: Uuid,
) -> anyhow::Result<Option<DocKind>> {
    let sql =
        format!("SELECT {DOC_COLUMNS} FROM documents WHERE kind = 'street' AND street_id = $1");
    let row = sqlx::query(&sql)
        .bind(street.to_string())
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(kind_from_row).transpose()
}

const DOC_COLUMNS: &str = "id, street_id, kind, address_id, epoch, partner, heads";

impl Store {
    /// Opens the database at `url`, creating a SQLite file if needed, and migrates it.
    pub async fn connect(url: &str) -> anyhow::Result<Store> {
        sqlx::any::install_default_drivers();
        let backend = Backend::of_url(url)?;
        let mut options = AnyPoolOptions::new().max_connections(8);
        if backend == Backend::Sqlite {
            options = options.after_connect(|conn, _| {
                Box::pin(async move {
                    // WAL lets readers work while the writer writes; FULL makes every
                    // commit durable before the server answers.
                    sqlx::query("PRAGMA journal_mode = WAL")
                        .execute(&mut *conn)
                        .await?;
                    sqlx::query("PRAGMA synchronous = FULL")
                        .execute(&mut *conn)
                        .await?;
                    sqlx::query("PRAGMA busy_timeout = 10000")
                        .execute(&mut *conn)
                        .await?;
                    // Deleted content is overwritten with zeros, not left in free pages:
                    // an erased resident leaves no bytes behind (see `erasures`).
                    sqlx::query("PRAGMA secure_delete = ON")
                        .execute(&mut *conn)
                        .await?;
                    Ok(())
                })
            });
        }
        let pool = options.connect(url).await.with_context(|| {
            format!("failed to open database at {}", crate::config::redact(url))
        })?;
        let migrator = match backend {
            Backend::Sqlite => &voordeur_migrations::SQLITE,
            Backend::Postgres => &voordeur_migrations::POSTGRES,
        };
        migrator
            .run(&pool)
            .await
            .context("failed to migrate the database")?;
        Ok(Store {
            pool,
            backend,
            sqlite_queue: Mutex::new(()),
            sqlite_writer: Mutex::new(()),
        })
    }

    /// The pool, for the few queries outside the store's own (`crate::retention`).
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// SQLite's one writer slot (nothing on PostgreSQL), held by every write, in turn.
    async fn writer(&self) -> Option<MutexGuard<'_, ()>> {
        match self.backend {
            Backend::Sqlite => {
                let _in_turn = self.sqlite_queue.lock().await;
                Some(self.sqlite_writer.lock().await)
            }
            Backend::Postgres => None,
        }
    }

    /// SQLite's writer slot ahead of the queue: waits only for the writer that holds it
    /// and the one next in turn. For compaction, a short write of a sync that already
    /// waited its turn.
    async fn writer_ahead(&self) -> Option<MutexGuard<'_, ()>> {
        match self.backend {
            Backend::Sqlite => Some(self.sqlite_writer.lock().await),
            Backend::Postgres => None,
        }
    }

    pub async fn begin(&self) -> Result<WriteTx<'_>, sqlx::Error> {
        let writer = self.writer().await;
        Ok(WriteTx {
            tx: self.pool.begin().await?,
            _writer: writer,
        })
    }

    /// A read transaction (see [`ReadTx`]).
    pub async fn begin_read(&self) -> Result<ReadTx, sqlx::Error> {
        Ok(ReadTx {
            tx: self.pool.begin().await?,
        })
    }

    /// Reads the catalog for a request, locking the offered documents that exist.
    pub async fn catalog(
        &self,
        tx: &mut WriteTx<'_>,
        wanted: &Wanted,
    ) -> Result<Catalog, anyhow::Error> {
        let mut catalog = Catalog::default();
        // The offered documents, locked on PostgreSQL in id order so two syncs never wait
        // on each other in a cycle. What this statement sees of them is what the sync
        // works with: a document another sync creates meanwhile stays "new" here, and the
        // insert then fails as contended (503) instead of writing an unlocked row.
        let ids: Vec<String> = wanted.ids.iter().map(|id| id.to_string()).collect();
        if !ids.is_empty() {
            let lock = match self.backend {
                Backend::Postgres => " FOR UPDATE",
                Backend::Sqlite => "",
            };
            let sql = format!(
                "SELECT {DOC_COLUMNS} FROM documents WHERE id IN ({}) ORDER BY id{lock}",
                placeholders(1, ids.len())
            );
            catalog
                .docs
                .extend(catalog_entries(&mut tx.tx, &sql, &ids).await?);
        }
        // The other documents of the streets, read but not locked: they are only sent.
        let streets: Vec<String> = wanted.streets.iter().map(|s| s.to_string()).collect();
        if !streets.is_empty() {
            let sql = format!(
                "SELECT {DOC_COLUMNS} FROM documents WHERE street_id IN ({})",
                placeholders(1, streets.len())
            );
            for (id, entry) in catalog_entries(&mut tx.tx, &sql, &streets).await? {
                if !wanted.ids.contains(&id) {
                    catalog.docs.insert(id, entry);
                }
            }
        }
        let offered_missing: BTreeSet<DocumentId> = wanted
            .ids
            .iter()
            .filter(|id| !catalog.docs.contains_key(id))
            .copied()
            .collect();
        catalog.gone = self.gone(tx, &offered_missing).await?;
        Ok(catalog)
    }

    /// Loads documents by id.
    pub async fn load(
        &self,
        tx: &mut WriteTx<'_>,
        ids: &BTreeSet<DocumentId>,
    ) -> Result<BTreeMap<DocumentId, AutoCommit>, anyhow::Error> {
        let chunks = load_chunks(&mut *tx.tx, ids).await?;
        chunks
            .into_iter()
            .map(|(id, bytes)| {
                let doc = AutoCommit::load(&bytes)
                    .with_context(|| format!("stored document {id} does not load"))?;
                Ok((id, doc))
            })
            .collect()
    }

    /// Stores the writes of one request; they become visible together at commit.
    pub async fn write(
        &self,
        tx: &mut WriteTx<'_>,
        writes: &[DocWrite],
    ) -> Result<(), sqlx::Error> {
        for write in writes {
            let id = write.id.to_string();
            let heads = heads_to_bytes(&write.heads);
            if write.created {
                let (address, epoch, partner) = match write.kind {
                    DocKind::Street { epoch, .. } => (String::new(), epoch, ""),
                    DocKind::Household { address, epoch, .. } => (address.to_string(), epoch, ""),
                    DocKind::Confidential {
                        address,
                        epoch,
                        partner,
                        ..
                    } => (address.to_string(), epoch, partner.label()),
                };
                sqlx::query(
                    "INSERT INTO documents (id, street_id, kind, address_id, epoch, partner, heads, created_ms) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(id.as_str())
                .bind(write.kind.street().to_string())
                .bind(write.kind.label())
                .bind(address)
                .bind(i64::from(epoch))
                .bind(partner)
                .bind(heads)
                .bind(now_ms())
                .execute(&mut *tx.tx)
                .await?;
            } else {
                sqlx::query("UPDATE documents SET heads = $1 WHERE id = $2")
                    .bind(heads)
                    .bind(id.as_str())
                    .execute(&mut *tx.tx)
                    .await?;
            }
            sqlx::query("INSERT INTO chunks (doc_id, snapshot, bytes) VALUES ($1, $2, $3)")
                .bind(id.as_str())
                .bind(i64::from(write.created))
                .bind(write.changes.as_slice())
                .execute(&mut *tx.tx)
                .await?;
        }
        Ok(())
    }

    pub async fn commit(&self, tx: WriteTx<'_>) -> Result<(), sqlx::Error> {
        tx.tx.commit().await
    }

    /// Creates a document (for the administrator's streets and the demo street). Its
    /// actors are the server's: no client may write with them.
    pub async fn create(&self, kind: DocKind, doc: &mut AutoCommit) -> Result<(), sqlx::Error> {
        let mut tx = self.begin().await?;
        let actors = doc
            .get_changes(&[])
            .iter()
            .map(|c| c.actor_id().clone())
            .collect();
        self.bind(&mut tx, None, &actors).await?;
        let write = DocWrite {
            id: kind.id(),
            kind,
            created: true,
            heads: doc.get_heads(),
            changes: doc.save(),
            authors: BTreeSet::new(),
            repaired: false,
        };
        self.write(&mut tx, &[write]).await?;
        self.commit(tx).await
    }

    /// The kind of `street`'s document, at the epoch the store holds, if it holds it.
    pub async fn street(&self, street: Uuid) -> Result<Option<DocKind>, anyhow::Error> {
        street_kind(&self.pool, street).await
    }

    pub async fn exists(&self, id: DocumentId) -> Result<bool, sqlx::Error> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM documents WHERE id = $1")
            .bind(id.to_string())
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get::<i64, _>("n")? > 0)
    }

    /// The streets the server holds, with their documents: all of them, or `only` those
    /// (the others are not loaded).
    pub async fn streets(
        &self,
        only: Option<&BTreeSet<Uuid>>,
    ) -> Result<Vec<(Uuid, AutoCommit)>, anyhow::Error> {
        let only: Option<Vec<String>> = only.map(|s| s.iter().map(Uuid::to_string).collect());
        let filter = match &only {
            Some(streets) if streets.is_empty() => return Ok(Vec::new()),
            Some(streets) => format!(" AND street_id IN ({})", placeholders(1, streets.len())),
            None => String::new(),
        };
        let sql = format!(
            "SELECT id, street_id FROM documents WHERE kind = 'street'{filter} ORDER BY street_id"
        );
        let mut query = sqlx::query(&sql);
        for street in only.iter().flatten() {
            query = query.bind(street.as_str());
        }
        let rows = query.fetch_all(&self.pool).await?;
        let mut ids = BTreeSet::new();
        let mut streets = Vec::new();
        for row in &rows {
            let id = row.try_get::<String, _>("id")?.parse::<DocumentId>()?;
            ids.insert(id);
            streets.push((row.try_get::<String, _>("street_id")?.parse::<Uuid>()?, id));
        }
        let mut chunks = load_chunks(&self.pool, &ids).await?;
        streets
            .into_iter()
            .map(|(street, id)| {
                let bytes = chunks.remove(&id).context("street without content")?;
                Ok((street, AutoCommit::load(&bytes)?))
            })
            .collect()
    }

    /// Number of chunks a document is stored in.
    pub async fn chunk_count(&self, id: DocumentId) -> Result<i64, sqlx::Error> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM chunks WHERE doc_id = $1")
            .bind(id.to_string())
            .fetch_one(&self.pool)
            .await?;
        row.try_get("n")
    }

    /// The chunks of `ids` as `tx` sees them, in one query.
    async fn chunks_of(
        &self,
        tx: &mut WriteTx<'_>,
        ids: impl ExactSizeIterator<Item = DocumentId>,
    ) -> Result<BTreeMap<DocumentId, Chunks>, anyhow::Error> {
        if ids.len() == 0 {
            return Ok(BTreeMap::new());
        }
        let sql = format!(
            "SELECT doc_id, COUNT(*) AS n, MAX(id) AS last FROM chunks WHERE doc_id IN ({}) GROUP BY doc_id",
            placeholders(1, ids.len())
        );
        let mut query = sqlx::query(&sql);
        for id in ids {
            query = query.bind(id.to_string());
        }
        query
            .fetch_all(&mut *tx.tx)
            .await?
            .iter()
            .map(|row| {
                let id: DocumentId = row.try_get::<String, _>("doc_id")?.parse()?;
                let chunks = Chunks {
                    count: row.try_get("n")?,
                    last: row.try_get("last")?,
                };
                Ok((id, chunks))
            })
            .collect()
    }

    /// See [`DocStore::compact`].
    pub async fn compact(&self, snapshots: &[Snapshot]) -> Result<usize, StoreError> {
        if snapshots.is_empty() {
            return Ok(0);
        }
        // No lock on the documents: every chunk up to `through` is committed and covered
        // by the snapshot, and a sync that writes one of them meanwhile only appends
        // chunks after it. (Taking the documents' locks would queue this behind every
        // sync waiting for them; on SQLite it waits only for the writer in turn.)
        let mut tx = WriteTx {
            _writer: self.writer_ahead().await,
            tx: self.pool.begin().await?,
        };
        let mut compacted = 0;
        for snapshot in snapshots {
            let id = snapshot.id.to_string();
            let replaced = sqlx::query(
                "DELETE FROM chunks WHERE doc_id = $1 AND id <= $2 AND NOT EXISTS \
                 (SELECT 1 FROM chunks WHERE doc_id = $1 AND snapshot = 1 AND id > $2)",
            )
            .bind(id.as_str())
            .bind(snapshot.through)
            .execute(&mut *tx.tx)
            .await?
            .rows_affected();
            if replaced == 0 {
                continue;
            }
            sqlx::query("INSERT INTO chunks (doc_id, snapshot, bytes) VALUES ($1, 1, $2)")
                .bind(id.as_str())
                .bind(snapshot.bytes.as_slice())
                .execute(&mut *tx.tx)
                .await?;
            compacted += 1;
        }
        self.commit(tx).await?;
        Ok(compacted)
    }

    /// Closes the pool.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

impl DocStore for Store {
    type Tx<'a> = WriteTx<'a>;

    async fn begin(&self) -> Result<WriteTx<'_>, StoreError> {
        Ok(Store::begin(self).await?)
    }

    async fn catalog<'s>(
        &'s self,
        tx: &mut WriteTx<'s>,
        wanted: &Wanted,
    ) -> Result<Catalog, StoreError> {
        Ok(Store::catalog(self, tx, wanted).await?)
    }

    async fn load<'s>(
        &'s self,
        tx: &mut WriteTx<'s>,
        ids: &BTreeSet<DocumentId>,
    ) -> Result<BTreeMap<DocumentId, AutoCommit>, StoreError> {
        Ok(Store::load(self, tx, ids).await?)
    }

    async fn write<'s>(
        &'s self,
        tx: &mut WriteTx<'s>,
        writes: &[DocWrite],
    ) -> Result<BTreeMap<DocumentId, Chunks>, StoreError> {
        Store::write(self, tx, writes).await?;
        Ok(self.chunks_of(tx, writes.iter().map(|w| w.id)).await?)
    }

    async fn writers<'s>(
        &'s self,
        tx: &mut WriteTx<'s>,
        sender: AccountId,
        grant: &Grant,
        actors: &BTreeSet<ActorId>,
    ) -> Result<Writers, StoreError> {
        Ok(Store::writers(self, tx, sender, grant, actors).await?)
    }

    async fn bind<'s>(
        &'s self,
        tx: &mut WriteTx<'s>,
        account: Option<AccountId>,
        actors: &BTreeSet<ActorId>,
    ) -> Result<(), StoreError> {
        Ok(Store::bind(self, tx, account, actors).await?)
    }

    async fn audit<'s>(
        &'s self,
        tx: &mut WriteTx<'s>,
        account: AccountId,
        action: &'static str,
        lines: &[Audited],
    ) -> Result<(), StoreError> {
        Ok(Store::audit(self, tx, account.0, action, lines).await?)
    }

    async fn commit<'s>(&'s self, tx: WriteTx<'s>) -> Result<(), StoreError> {
        Ok(Store::commit(self, tx).await?)
    }

    fn compact_after(&self) -> i64 {
        COMPACT_AFTER_CHUNKS
    }

    async fn compact(&self, snapshots: &[Snapshot]) -> Result<usize, StoreError> {
        Store::compact(self, snapshots).await
    }
}

/// Every stored chunk of `ids`, snapshots first, concatenated per document.
async fn load_chunks<'c, E>(
    executor: E,
    ids: &BTreeSet<DocumentId>,
) -> Result<BTreeMap<DocumentId, Vec<u8>>, anyhow::Error>
where
    E: sqlx::Executor<'c, Database = Any>,
{
    let mut out: BTreeMap<DocumentId, Vec<u8>> = BTreeMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    let sql = format!(
        "SELECT doc_id, bytes FROM chunks WHERE doc_id IN ({}) ORDER BY doc_id, snapshot DESC, id",
        placeholders(1, ids.len())
    );
    let mut query = sqlx::query(&sql);
    for id in ids {
        query = query.bind(id.to_string());
    }
    for row in query.fetch_all(executor).await? {
        let id: DocumentId = row.try_get::<String, _>("doc_id")?.parse()?;
        let bytes: Vec<u8> = row.try_get("bytes")?;
        out.entry(id).or_default().extend_from_slice(&bytes);
    }
    Ok(out)
}
