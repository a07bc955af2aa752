//! Documents read outside a sync (`/api/handed-on`, `/api/picture`, the report): from the
//! cache where it holds them at their stored heads, else parsed from storage, off the
//! async workers.

use std::collections::{BTreeMap, BTreeSet};

use voordeur_shared::{automerge::AutoCommit, docs::DocumentId, sync::server::CatalogEntry};

use crate::{AppError, state::AppState, store::ReadTx};

/// The documents of `entries` (what `ReadTx::catalog` found), as stored.
pub async fn documents(
    state: &AppState,
    tx: &mut ReadTx,
    entries: &BTreeMap<DocumentId, CatalogEntry>,
) -> Result<BTreeMap<DocumentId, AutoCommit>, AppError> {
    let mut loaded = BTreeMap::new();
    let mut to_load = BTreeSet::new();
    for (id, entry) in entries {
        match state.cache.get(id, &entry.heads) {
            Some(doc) => {
                loaded.insert(*id, doc);
            }
            None => {
                to_load.insert(*id);
            }
        }
    }
    let bytes = tx.chunks(&to_load).await?;
    // Parsing is CPU work: keep it off the async workers.
    let parsed = tokio::task::spawn_blocking(move || {
        bytes
            .into_iter()
            .map(|(id, bytes)| {
                AutoCommit::load(&bytes)
                    .map(|doc| (id, doc))
                    .map_err(|e| anyhow::anyhow!("stored document {id} does not load: {e}"))
            })
            .collect::<anyhow::Result<Vec<_>>>()
    })
    .await
    .map_err(|e| AppError::Internal(e.into()))??;
    loaded.extend(parsed);
    Ok(loaded)
}
