//! `POST /api/handed-on`: where the signals a person handed to another partner stand.
//!
//! A community builder of the municipality who hears of a moving wish hands it to the
//! corporation: she adds a signal to the corporation's confidential document of that
//! household, which she may write but never read (`voordeur_shared::access`, write-only),
//! so the sync never sends it back to her. She still wants to know whether someone picked
//! it up. This endpoint answers, for the write-only documents she names, the status of
//! each signal *her account made* and when it last moved: never what a signal says, its
//! note or who picked it up, and nothing at all of signals others made.
//!
//! What counts as hers is what counts in the sync's rules: a signal's entry was created
//! by an Automerge actor, and an actor is the account's that first brought it to the
//! server (the `actors` table). Documents she may read are skipped (the sync brings
//! them whole), as are documents she may not write, documents the server does not hold
//! and documents of streets that are no longer hers: all answered alike, with nothing.
//!
//! **Audit:** nothing is recorded. The person learns only where her own entries stand;
//! the changes that moved them are in the audit log as their authors' changes; and the
//! app asks after every sync, so a line per document would repeat the same statuses all
//! day and bury the reads the log is for. The request is logged (tracing) with counts.

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::Arc,
};

use axum::{Json, extract::State, extract::rejection::JsonRejection};
use voordeur_shared::{
    api::{HandedOn, HandedOnQuery, HandedOnSignal},
    automerge::{ActorId, AutoCommit, ObjId, ObjType, ROOT, ReadDoc, Value},
    docs::{self, DocumentId},
    model::{FollowUpStatus, Signal},
};

use crate::{AppError, auth::Principal, reads, state::AppState};

/// The most documents one request may name.
pub const MAX_DOCUMENTS: usize = 1000;

/// One signal of a document: the actor that made its entry, and where it stands.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Made {
    signal: String,
    actor: ActorId,
    status: FollowUpStatus,
    moved_ms: Option<i64>,
}

pub async fn handed_on(
    State(state): State<Arc<AppState>>,
    principal: Principal,
    body: Result<Json<HandedOnQuery>, JsonRejection>,
) -> Result<Json<HandedOn>, AppError> {
    let Json(query) = body?;
    if query.documents.len() > MAX_DOCUMENTS {
        return Err(AppError::Invalid(format!(
            "at most {MAX_DOCUMENTS} documents per request"
        )));
    }
    let account = &principal.account;
    let grant = account.grant();
    let asked: BTreeSet<DocumentId> = query.documents.into_iter().collect();

    let mut tx = state.store.begin_read().await?;
    let catalog = tx.catalog(&asked).await?;
    let write_only: BTreeMap<_, _> = catalog
        .into_iter()
        .filter(|(_, entry)| {
            let access = grant.access(&entry.kind);
            !access.read && access.write.is_some()
        })
        .collect();
    let loaded = reads::documents(&state, &mut tx, &write_only).await?;
    drop(tx);

    // Reading documents is CPU work: keep it off the async workers.
    let made = tokio::task::spawn_blocking(move || {
        loaded
            .iter()
            .map(|(id, doc)| (*id, signals_made(*id, doc)))
            .collect::<BTreeMap<_, _>>()
    })
    .await
    .map_err(|e| AppError::Internal(e.into()))?;

    let actors: BTreeSet<ActorId> = made.values().flatten().map(|m| m.actor.clone()).collect();
    let own = state.store.bound_to(account.id, &actors).await?;
    let signals: Vec<HandedOnSignal> = made
        .into_iter()
        .flat_map(|(document, made)| {
            made.into_iter()
                .filter(|m| own.contains(&m.actor))
                .map(move |m| HandedOnSignal {
                    document,
                    signal: m.signal,
                    status: m.status,
                    moved_ms: m.moved_ms,
                })
        })
        .collect();
    tracing::info!(
        account = %account.id,
        asked = asked.len(),
        write_only = write_only.len(),
        answered = signals.len(),
        "handed on"
    );
    Ok(Json(HandedOn { signals }))
}

/// Every signal of `doc`: who made its entry (the winning value's, should two accounts
/// have made one key at once) and where it stands. A signal that does not read as one is
/// left out (and logged): the document was validated when stored, so it is never expected.
fn signals_made(id: DocumentId, doc: &AutoCommit) -> Vec<Made> {
    let Ok(Some((Value::Object(ObjType::Map), signals))) = doc.get(ROOT, docs::SIGNALS.name) else {
        return Vec::new();
    };
    doc.keys(&signals)
        .filter_map(|key| {
            let Ok(Some((_, ObjId::Id(_, actor, _)))) = doc.get(&signals, key.as_str()) else {
                return None;
            };
            match voordeur_shared::autosurgeon::hydrate_prop::<_, Signal, _, _>(
                doc,
                &signals,
                key.as_str(),
            ) {
                Ok(signal) => Some(Made {
                    signal: key,
                    actor,
                    status: signal.status,
                    moved_ms: signal.moved_ms,
                }),
                Err(e) => {
                    tracing::warn!(document = %id, signal = key, error = %e, "a signal does not read");
                    None
                }
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use voordeur_shared::{
        docs::{DocKind, new_actor},
        model::{Partner, SignalKind},
    };

    fn signal(status: FollowUpStatus) -> Signal {
        Signal {
            visit: "v".into(),
            kind: SignalKind::MovingWish,
            text: "Wil kleiner wonen".into(),
            status,
            note: None,
            picked_by: None,
            picked_at_ms: None,
            moved_ms: Some(7),
        }
    }

    #[test]
    fn each_signal_is_told_with_the_actor_that_made_it() {
        let kind = DocKind::Confidential {
            street: uuid::Uuid::from_u128(1),
            address: uuid::Uuid::from_u128(2),
            epoch: 0,
            partner: Partner::Corporation,
        };
        let (hers, theirs) = (new_actor(), new_actor());
        let mut doc = kind.genesis(hers.clone());
        docs::put_entry(&mut doc, docs::SIGNALS, "s1", &signal(FollowUpStatus::New)).unwrap();
        doc.commit();
        let mut doc = doc.with_actor(theirs.clone());
        docs::put_entry(&mut doc, docs::SIGNALS, "s2", &signal(FollowUpStatus::New)).unwrap();
        // Another actor moving her signal's status does not make it theirs.
        docs::put_entry(
            &mut doc,
            docs::SIGNALS,
            "s1",
            &signal(FollowUpStatus::Closed),
        )
        .unwrap();
        doc.commit();
        let made = signals_made(kind.id(), &doc);
        assert_eq!(
            made,
            [
                Made {
                    signal: "s1".into(),
                    actor: hers,
                    status: FollowUpStatus::Closed,
                    moved_ms: Some(7),
                },
                Made {
                    signal: "s2".into(),
                    actor: theirs,
                    status: FollowUpStatus::New,
                    moved_ms: Some(7),
                },
            ]
        );
    }
}
