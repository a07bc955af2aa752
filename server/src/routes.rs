//! The field endpoints: `/healthz`, `GET /api/streets` and `POST /api/sync`. Sessions
//! are in `session`, the administrator's endpoints in `admin`.

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
    access::Role,
    automerge::{ActorId, ChangeHash},
    docs::{self, DocKind, DocumentId},
    model::Street,
    sync::{
        server::{Catalog, documents_to_load, serve},
        wire,
    },
};

use crate::{AppError, app::AppState, auth::Principal};

pub async fn healthz(
    State(state): State<Arc<AppState>>,
) -> Result<Json<serde_json::Value>, AppError> {
    // A cheap query proves the database answers.
    state
        .store
        .exists(
            DocKind::Street {
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

/// The streets the person works in (an administrator: every street).
pub async fn streets(
    State(state): State<Arc<AppState>>,
    principal: Principal,
) -> Result<Json<Vec<StreetSummary>>, AppError> {
    let account = &principal.account;
    let mut out = Vec::new();
    for (id, doc) in state.store.streets().await? {
        if account.role != Role::Administrator && !account.streets.contains(&id) {
            continue;
        }
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

/// One sync exchange (see `voordeur_shared::sync`): decode, read, check the person may do
/// what the request asks (`voordeur_shared::access`), merge and check, audit, commit, and
/// only then answer.
pub async fn sync(
    State(state): State<Arc<AppState>>,
    principal: Principal,
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
    let grant = principal.account.grant();
    let mut kinds: BTreeMap<DocumentId, DocKind> = catalog
        .docs
        .iter()
        .map(|(id, entry)| (*id, entry.kind))
        .collect();
    kinds.extend(request.docs.iter().filter_map(|o| Some((o.id, o.kind?))));
    let mut loaded = BTreeMap::new();
    let mut missing = BTreeSet::new();
    for id in documents_to_load(&request, &catalog, &grant) {
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
    let (served, request) = tokio::task::spawn_blocking(move || {
        (serve(&request, &catalog, loaded, &actor, &grant), request)
    })
    .await
    .map_err(|e| AppError::Internal(e.into()))?;
    let mut served = served?;
    store.write(&mut tx, &served.writes).await?;
    // Who read and changed which residents' documents, committed with the changes.
    let read: Vec<DocKind> = served
        .response
        .docs
        .iter()
        .filter(|reply| !reply.changes.is_empty())
        .filter_map(|reply| kinds.get(&reply.id).copied())
        .collect();
    let changed: Vec<DocKind> = served.writes.iter().map(|w| w.kind).collect();
    let account = principal.account.id;
    store.audit(&mut tx, account, "read", &read).await?;
    store.audit(&mut tx, account, "change", &changed).await?;
    store.commit(tx).await?;
    committed_heads.extend(served.writes.iter().map(|w| (w.id, w.heads.clone())));
    for (id, mut doc) in std::mem::take(&mut served.docs) {
        if committed_heads.get(&id) == Some(&doc.get_heads()) {
            state.cache.put(id, doc);
        }
    }
    tracing::info!(
        account = %account,
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
