//! A resident's requests carried out in the store: the door's documents made anew or
//! deleted in one transaction, the erasure register written (`erasures`,
//! `erased_documents`: ids, the door, when, who asked; never content), and then the bytes
//! scrubbed from the database files (SQLite: secure delete, `VACUUM`, the write-ahead log
//! truncated; PostgreSQL: `VACUUM FULL`, which writes the tables anew without the dead
//! rows).

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Context;
use sqlx::Row;
use uuid::Uuid;
use voordeur_shared::{
    automerge::{ActorId, AutoCommit, ChangeHash},
    docs::{DocKind, DocumentId},
    erase::{self, Gone, Request},
    sync::server::{DocWrite, Wanted},
};

use super::{Audited, Backend, Store, StoreError, WriteTx, load_chunks, now_ms, placeholders};

/// How long an erasure waits for older snapshots to end before PostgreSQL's tables are
/// written anew: well inside the minute an erasure may take.
const SCRUB_WAIT: std::time::Duration = std::time::Duration::from_secs(40);

/// A request as the register holds it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Erasure {
    pub id: Uuid,
    pub street: Uuid,
    pub address: Uuid,
    pub request: Request,
    pub asked_by: Uuid,
    pub asked_ms: i64,
    pub done_ms: Option<i64>,
}

/// What carrying out a request changed, for the caches and the pushes.
#[derive(Debug, Clone)]
pub struct CarriedOut {
    pub erasure: Erasure,
    /// Documents deleted: no cache may keep them, ever.
    pub dropped: Vec<DocumentId>,
    /// Documents written, at their new heads: pushed to open apps.
    pub written: Vec<(DocKind, Vec<ChangeHash>)>,
}

impl Store {
    /// Carries out `request` for `address` of `street`, asked by account `asked_by`: in one
    /// transaction, the door's documents are made anew or deleted (`erase::carry_out`),
    /// every document that went is registered, and the request is audited as asked and
    /// carried out. Then the deleted bytes are scrubbed from the database ([`Store::scrub`]).
    /// Content is written by the server's `actor`.
    pub async fn carry_out(
        &self,
        request: Request,
        street: Uuid,
        address: Uuid,
        asked_by: Uuid,
        actor: &ActorId,
    ) -> Result<CarriedOut, StoreError> {
        let mut tx = self.begin().await?;
        let street_kind = super::street_kind(&mut *tx.tx, street)
            .await?
            .ok_or_else(|| StoreError::Other(anyhow::anyhow!("there is no street {street}")))?;
        // The street first, locked (PostgreSQL), then the door's documents of its epoch.
        let wanted = Wanted {
            streets: BTreeSet::new(),
            ids: BTreeSet::from([street_kind.id()]),
        };
        self.catalog(&mut tx, &wanted).await?;
        let mut street_doc = self
            .load(&mut tx, &wanted.ids)
            .await?
            .remove(&street_kind.id())
            .context("the street's document does not load")?;
        let entry = voordeur_shared::docs::get_entry(
            &street_doc,
            voordeur_shared::docs::ADDRESSES,
            &address.to_string(),
        )
        .map_err(|e| StoreError::Other(e.into()))?
        .ok_or_else(|| StoreError::Other(anyhow::anyhow!("the street has no address {address}")))?;
        let kinds = erase::household_kinds(street, address, entry.household_epoch);
        let wanted = Wanted {
            streets: BTreeSet::new(),
            ids: kinds.iter().map(DocKind::id).collect(),
        };
        let held_entries = self.catalog(&mut tx, &wanted).await?;
        let held_ids: BTreeSet<DocumentId> = held_entries.docs.keys().copied().collect();
        let loaded = self.load(&mut tx, &held_ids).await?;
        let held: Vec<(DocKind, &AutoCommit)> = kinds
            .iter()
            .filter_map(|kind| Some((*kind, loaded.get(&kind.id())?)))
            .collect();
        let at_ms = now_ms();
        let carried = erase::carry_out(
            request,
            address,
            street_kind,
            &street_doc,
            &held,
            actor,
            at_ms,
        )
        .map_err(|e| StoreError::Other(e.into()))?;

        let erasure = Erasure {
            id: Uuid::now_v7(),
            street,
            address,
            request,
            asked_by,
            asked_ms: at_ms,
            done_ms: Some(at_ms),
        };
        sqlx::query(
            "INSERT INTO erasures (id, street_id, address_id, request, asked_by, asked_ms, done_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(erasure.id.to_string())
        .bind(street.to_string())
        .bind(address.to_string())
        .bind(request.label())
        .bind(asked_by.to_string())
        .bind(at_ms)
        .bind(at_ms)
        .execute(&mut *tx.tx)
        .await?;
        let mut dropped = Vec::new();
        for (id, gone) in &carried.gone {
            let gone = serde_json::to_string(gone).map_err(|e| StoreError::Other(e.into()))?;
            sqlx::query(
                "INSERT INTO erased_documents (doc_id, erasure_id, gone) VALUES ($1, $2, $3)",
            )
            .bind(id.to_string())
            .bind(erasure.id.to_string())
            .bind(gone)
            .execute(&mut *tx.tx)
            .await?;
            delete_document(&mut tx, *id).await?;
            dropped.push(*id);
        }
        let mut written = Vec::new();
        let mut writes = Vec::new();
        for renewed in carried.created {
            let mut doc = renewed.doc;
            writes.push(DocWrite {
                id: renewed.kind.id(),
                kind: renewed.kind,
                created: true,
                heads: doc.get_heads(),
                changes: doc.save(),
                authors: BTreeSet::new(),
                repaired: false,
            });
            written.push((renewed.kind, doc.get_heads()));
        }
        if let Some(mut changed) = carried.street_changed {
            let before = street_doc.get_heads();
            writes.push(DocWrite {
                id: street_kind.id(),
                kind: street_kind,
                created: false,
                heads: changed.get_heads(),
                changes: changed.save_after(&before),
                authors: BTreeSet::new(),
                repaired: false,
            });
            written.push((street_kind, changed.get_heads()));
        }
        self.write(&mut tx, &writes).await?;
        self.bind(&mut tx, None, &BTreeSet::from([actor.clone()]))
            .await?;
        let line = Audited::read(kinds[0]);
        let asked = match request {
            Request::Erasure => "asked_erasure",
            Request::ConsentWithdrawn => "asked_consent_withdrawn",
        };
        self.audit(&mut tx, asked_by, asked, std::slice::from_ref(&line))
            .await?;
        self.audit(&mut tx, asked_by, "carried_out", &[line])
            .await?;
        // The transaction's id: PostgreSQL takes its deleted rows out of the files only once
        // no snapshot older than it is left (see `scrub`).
        let deleted_by = match self.backend {
            Backend::Postgres => Some(
                sqlx::query("SELECT pg_current_xact_id()::text AS xid")
                    .fetch_one(&mut *tx.tx)
                    .await?
                    .try_get::<String, _>("xid")?
                    .parse::<i64>()
                    .map_err(|e| StoreError::Other(e.into()))?,
            ),
            Backend::Sqlite => None,
        };
        self.commit(tx).await?;
        self.scrub(deleted_by).await?;
        Ok(CarriedOut {
            erasure,
            dropped,
            written,
        })
    }

    /// Takes deleted rows' bytes out of the database files: SQLite (which zeroes deleted
    /// content as it goes, `secure_delete`) is vacuumed and its write-ahead log truncated;
    /// PostgreSQL's document tables are written anew (`VACUUM FULL`, which also takes them
    /// briefly out of use for syncs). PostgreSQL keeps a deleted row while any snapshot
    /// older than the transaction that deleted it (`deleted_by`) is open, in any database
    /// of the cluster that can hold one back: `VACUUM FULL` waits for those to end first
    /// (at most [`SCRUB_WAIT`]).
    pub async fn scrub(&self, deleted_by: Option<i64>) -> Result<(), StoreError> {
        match self.backend {
            Backend::Sqlite => {
                let _writer = self.writer().await;
                sqlx::query("VACUUM").execute(&self.pool).await?;
                // A reader in the middle of a read keeps the log: try again shortly.
                for _ in 0..50 {
                    let row = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                        .fetch_one(&self.pool)
                        .await?;
                    let busy: i64 = row.try_get(0)?;
                    if busy == 0 {
                        return Ok(());
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                }
                Err(StoreError::Other(anyhow::anyhow!(
                    "the write-ahead log stayed in use: erased bytes may remain in it until the next checkpoint"
                )))
            }
            Backend::Postgres => {
                if let Some(xid) = deleted_by {
                    self.outlive_snapshots(xid).await?;
                }
                sqlx::query("VACUUM FULL chunks, documents")
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }
        }
    }

    /// Waits until no transaction or snapshot that began before transaction `xid` is
    /// open anywhere in the cluster, or [`SCRUB_WAIT`] has passed.
    async fn outlive_snapshots(&self, xid: i64) -> Result<(), StoreError> {
        let started = std::time::Instant::now();
        loop {
            let row = sqlx::query(
                "SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS oldest, \
                 (SELECT COUNT(*) FROM pg_stat_activity WHERE pid <> pg_backend_pid() \
                  AND backend_xmin IS NOT NULL \
                  AND backend_xmin::text::bigint <= ($1::bigint % 4294967296)) AS older",
            )
            .bind(xid)
            .fetch_one(&self.pool)
            .await?;
            let oldest: i64 = row
                .try_get::<String, _>("oldest")?
                .parse()
                .map_err(|e: std::num::ParseIntError| StoreError::Other(e.into()))?;
            let older: i64 = row.try_get("older")?;
            if oldest > xid && older == 0 {
                return Ok(());
            }
            if started.elapsed() > SCRUB_WAIT {
                tracing::warn!(
                    xid,
                    "a transaction older than an erasure is still open: its rows stay in the files until the next scrub"
                );
                return Ok(());
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// The register's word on each of `ids` that was erased.
    pub(super) async fn gone(
        &self,
        tx: &mut WriteTx<'_>,
        ids: &BTreeSet<DocumentId>,
    ) -> Result<BTreeMap<DocumentId, Gone>, anyhow::Error> {
        if ids.is_empty() {
            return Ok(BTreeMap::new());
        }
        let sql = format!(
            "SELECT doc_id, gone FROM erased_documents WHERE doc_id IN ({})",
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
                let gone: Gone = serde_json::from_str(&row.try_get::<String, _>("gone")?)?;
                Ok((id, gone))
            })
            .collect()
    }

    /// The requests made for the doors of `streets`, newest first.
    pub async fn erasures(&self, streets: &BTreeSet<Uuid>) -> Result<Vec<Erasure>, anyhow::Error> {
        if streets.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT id, street_id, address_id, request, asked_by, asked_ms, done_ms FROM erasures \
             WHERE street_id IN ({}) ORDER BY asked_ms DESC, id DESC",
            placeholders(1, streets.len())
        );
        let mut query = sqlx::query(&sql);
        for street in streets {
            query = query.bind(street.to_string());
        }
        query
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|row| {
                let uuid = |column: &str| -> anyhow::Result<Uuid> {
                    Ok(row.try_get::<String, _>(column)?.parse()?)
                };
                let request: String = row.try_get("request")?;
                Ok(Erasure {
                    id: uuid("id")?,
                    street: uuid("street_id")?,
                    address: uuid("address_id")?,
                    request: Request::from_label(&request)
                        .with_context(|| format!("unknown request {request:?}"))?,
                    asked_by: uuid("asked_by")?,
                    asked_ms: row.try_get("asked_ms")?,
                    done_ms: row.try_get("done_ms")?,
                })
            })
            .collect()
    }

    /// The documents of `ids` the store holds, as stored bytes, for an access request.
    pub async fn stored(
        &self,
        ids: &BTreeSet<DocumentId>,
    ) -> Result<BTreeMap<DocumentId, AutoCommit>, anyhow::Error> {
        load_chunks(&self.pool, ids)
            .await?
            .into_iter()
            .map(|(id, bytes)| Ok((id, AutoCommit::load(&bytes)?)))
            .collect()
    }
}

/// Deletes a document and its chunks, if the store holds it.
async fn delete_document(tx: &mut WriteTx<'_>, id: DocumentId) -> Result<(), sqlx::Error> {
    let id = id.to_string();
    sqlx::query("DELETE FROM chunks WHERE doc_id = $1")
        .bind(id.as_str())
        .execute(&mut *tx.tx)
        .await?;
    sqlx::query("DELETE FROM documents WHERE id = $1")
        .bind(id.as_str())
        .execute(&mut *tx.tx)
        .await?;
    Ok(())
}
