//! The HTTP endpoints: `/healthz`, `GET /api/streets` and `POST /api/sync`.

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::Arc,
};

use axum::{
    Json,
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use uuid::Uuid;
use voordeur_shared::{
    automerge::{ActorId, ChangeHash},
    docs::{self, DocumentId},
    model::Street,
    sync::{
        server::{Catalog, documents_to_load, serve},
        wire,
    },
};

use crate::{AppError, app::AppState};

pub async fn healthz(
    State(state): State<Arc<AppState>>,
) -> Result<Json<serde_json::Value>, AppError> {
    // A cheap query proves the database answers.
    state
        .store
        .exists(
            docs::DocKind::Street {
                street: Uuid::nil(),
            }
            .id(),
        )
        .await?;
    Ok(Json(serde_json::json!({ "status": "ok" })))
}

#[derive(Debug, serde::Serialize)]
pub struct StreetSummary {
    pub id: Uuid,
    pub name: String,
    pub addresses: usize,
    pub visits: usize,
}

pub async fn streets(
    State(state): State<Arc<AppState>>,
) -> Result<Json<Vec<StreetSummary>>, AppError> {
    let mut out = Vec::new();
    for (id, doc) in state.store.streets().await? {
        let street: Street = docs::read(&doc).map_err(|e| AppError::Internal(e.into()))?;
        out.push(StreetSummary {
            id,
            name: street.name,
            addresses: street.addresses.len(),
            visits: street.visits.len(),
        });
    }
    Ok(Json(out))
}

/// One sync exchange (see `voordeur_shared::sync`): decode, read, merge and check, commit,
/// and only then answer.
pub async fn sync(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Response, AppError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    if content_type != Some(wire::CONTENT_TYPE) {
        return Err(AppError::UnsupportedMediaType {
            expected: wire::CONTENT_TYPE,
        });
    }
    let body = body.map_err(|rejection| match AppError::from(rejection) {
        AppError::TooLarge { .. } => AppError::TooLarge {
            limit: state.config.body_limit,
        },
        other => other,
    })?;
    let request = wire::decode_request(&body, state.config.max_inflated())?;
    // Answer in the request's compression: the field app speaks only DEFLATE.
    let compression = wire::compression_of(&body).unwrap_or(wire::Compression::BEST);
    let store = &state.store;
    let mut tx = store.begin().await?;
    let catalog = store.catalog(&mut tx, &Catalog::wanted(&request)).await?;
    let mut loaded = BTreeMap::new();
    let mut missing = BTreeSet::new();
    for id in documents_to_load(&request, &catalog) {
        let entry = catalog.docs.get(&id);
        match entry.and_then(|e| state.cache.get(&id, &e.heads)) {
            Some(doc) => {
                loaded.insert(id, doc);
            }
            None => {
                missing.insert(id);
            }
        }
    }
    loaded.extend(store.load(&mut tx, &missing).await?);
    let mut committed_heads: BTreeMap<DocumentId, Vec<ChangeHash>> = catalog
        .docs
        .iter()
        .map(|(id, entry)| (*id, entry.heads.clone()))
        .collect();
    let actor: ActorId = state.actor.clone();
    // Merging and checking documents is CPU work: keep it off the async workers.
    let (served, request) =
        tokio::task::spawn_blocking(move || (serve(&request, &catalog, loaded, &actor), request))
            .await
            .map_err(|e| AppError::Internal(e.into()))?;
    let mut served = served?;
    store.write(&mut tx, &served.writes).await?;
    store.commit(tx).await?;
    committed_heads.extend(served.writes.iter().map(|w| (w.id, w.heads.clone())));
    for (id, mut doc) in std::mem::take(&mut served.docs) {
        if committed_heads.get(&id) == Some(&doc.get_heads()) {
            state.cache.put(id, doc);
        }
    }
    tracing::info!(
        offered = request.docs.len(),
        written = served.writes.len(),
        replied = served.response.docs.len(),
        "synced"
    );
    for write in &served.writes {
        if let Err(e) = store.compact_if_needed(write.id).await {
            // The sync itself is committed; compaction is retried after the next write.
            tracing::warn!(doc = %write.id, error = format!("{e:#}"), "compaction failed");
        }
    }
    let bytes = wire::encode_response_as(&served.response, compression);
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, wire::CONTENT_TYPE)],
        bytes,
    )
        .into_response())
}

pub async fn api_not_found() -> AppError {
    AppError::NotFound
}
