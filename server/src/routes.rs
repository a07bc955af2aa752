//! The field endpoints: `/healthz`, `GET /api/streets` and `POST /api/sync`. Sessions
//! are in `session`, the administrator's endpoints in `admin`.

use std::{collections::BTreeSet, sync::Arc};

use axum::{
    Json,
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use uuid::Uuid;
use voordeur_shared::{
    access::Role, api::StreetSummary, docs, ids::StreetId, model::Street, sync::wire,
};

use crate::{
    AppError,
    auth::Principal,
    exchange::{self, Caller, Compaction},
    state::AppState,
};

pub async fn healthz(
    State(state): State<Arc<AppState>>,
) -> Result<Json<serde_json::Value>, AppError> {
    // A cheap query proves the database answers.
    state.store.street(Uuid::nil()).await?;
    Ok(Json(serde_json::json!({ "status": "ok" })))
}

/// The streets the person works in (an administrator: every street).
pub async fn streets(
    State(state): State<Arc<AppState>>,
    principal: Principal,
) -> Result<Json<Vec<StreetSummary>>, AppError> {
    let account = &principal.account;
    // Only the person's streets are loaded (an administrator's: all).
    let only: Option<BTreeSet<Uuid>> = (account.role != Role::Administrator)
        .then(|| account.streets.iter().map(|street| street.0).collect());
    let mut out = Vec::new();
    for (id, doc) in state.store.streets(only.as_ref()).await? {
        let street: Street = docs::read(&doc).map_err(|e| AppError::Internal(e.into()))?;
        out.push(StreetSummary {
            id: StreetId(id),
            name: street.name,
            addresses: street.addresses.len(),
            visits: street.visits.len(),
        });
    }
    Ok(Json(out))
}

/// `POST /api/sync`: the HTTP around one sync exchange (`crate::exchange`): the content
/// type, the body limit, decoding, and the answer in the request's compression, sent only
/// once the exchange has committed.
pub async fn sync(
    State(state): State<Arc<AppState>>,
    principal: Principal,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Response, AppError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    if !content_type.is_some_and(is_sync_media_type) {
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
    // Its turn (`--max-syncs`): a waiting sync holds no more than its request's bytes.
    // (The semaphore is never closed.)
    let _turn = state
        .syncs
        .acquire()
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    let request = wire::decode_request(&body, state.config.max_inflated())?;
    // Answer in the request's compression: the field app speaks only DEFLATE.
    let compression = wire::compression_of(&body).unwrap_or(wire::Compression::BEST);
    let caller = Caller {
        account: principal.account.id,
        grant: principal.account.grant(),
    };
    let synced = exchange::run(&state.store, &state.cache, &state.actor, &caller, request).await?;
    // Committed: tell the open pictures and phones.
    state.events.changed(synced.changed.clone()).await;
    tracing::info!(
        account = %caller.account,
        offered = synced.offered,
        written = synced.written,
        replied = synced.replied,
        parsed = synced.parsed,
        refused = synced.refused.len(),
        refused_codes = ?synced.refused,
        "synced"
    );
    if let Some(Compaction {
        docs,
        result: Err(e),
    }) = &synced.compaction
    {
        // The sync itself is committed; compaction is retried after the next write.
        tracing::warn!(docs = ?docs, error = format!("{e:#}"), "compaction failed");
    }
    let bytes = wire::encode_response_as(&synced.response, compression);
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

/// Whether a `Content-Type` names the sync's media type: type and subtype compared
/// without regard to case, parameters (`; charset=…`) allowed, as RFC 9110 (8.3.1) has
/// it; a value that does not parse as a media type is not it.
fn is_sync_media_type(value: &str) -> bool {
    media_type(value).is_some_and(|essence| essence.eq_ignore_ascii_case(wire::CONTENT_TYPE))
}

/// The `type/subtype` of a media type, if `value` is one:
/// `type "/" subtype *( OWS ";" OWS [ token "=" ( token / quoted-string ) ] )`.
fn media_type(value: &str) -> Option<&str> {
    let is_token = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
    };
    let (essence, mut rest) = value
        .split_once(';')
        .map_or((value, None), |(e, r)| (e, Some(r)));
    let essence = essence.trim_matches([' ', '\t']);
    let (kind, subtype) = essence.split_once('/')?;
    if !is_token(kind) || !is_token(subtype) {
        return None;
    }
    while let Some(params) = rest {
        let params = params.trim_start_matches([' ', '\t']);
        if params.is_empty() {
            break;
        }
        if let Some(next) = params.strip_prefix(';') {
            rest = Some(next);
            continue;
        }
        let (name, after) = params.split_once('=')?;
        if !is_token(name) {
            return None;
        }
        let remainder = if let Some(quoted) = after.strip_prefix('"') {
            // A quoted string: any text, `\` escapes the next character.
            let mut chars = quoted.char_indices();
            let end = loop {
                match chars.next()? {
                    (_, '\\') => {
                        chars.next()?;
                    }
                    (i, '"') => break i,
                    _ => {}
                }
            };
            &quoted[end + 1..]
        } else {
            let end = after.find([';', ' ', '\t']).unwrap_or(after.len());
            if !is_token(&after[..end]) {
                return None;
            }
            &after[end..]
        };
        let remainder = remainder.trim_start_matches([' ', '\t']);
        if remainder.is_empty() {
            break;
        }
        rest = Some(remainder.strip_prefix(';')?);
    }
    Some(essence)
}

#[cfg(test)]
mod tests {
    use super::is_sync_media_type;

    #[test]
    fn the_sync_media_type_may_carry_parameters_and_any_case() {
        for yes in [
            "application/vnd.voordeur.sync",
            "application/vnd.voordeur.sync; charset=utf-8",
            "Application/VND.Voordeur.Sync;charset=\"binary\"",
            "application/vnd.voordeur.sync ; version=1",
            "application/vnd.voordeur.sync;;a=\"x;\\\"y\";",
        ] {
            assert!(is_sync_media_type(yes), "{yes}");
        }
        for no in [
            "application/json",
            "application/vnd.voordeur.sync-extra",
            "application/vnd.voordeur.syncx; charset=utf-8",
            "text/vnd.voordeur.sync",
            "application/vnd.voordeur.sync; charset",
            "application/vnd.voordeur.sync; charset=\"utf-8",
            "application/vnd.voordeur.sync; charset=utf 8",
            "application/vnd.voordeur.sync/x",
            "application /vnd.voordeur.sync",
            "",
        ] {
            assert!(!is_sync_media_type(no), "{no}");
        }
    }
}
