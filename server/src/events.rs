//! `GET /api/events`: pushes, as they happen, that a document a person may read changed
//! (server-sent events). An open coordinator's picture or phone learns it at once and
//! syncs (the push carries only the document's id and heads, never its content); the
//! app's 20-second poll stays as the fallback.
//!
//! Every committed sync that wrote documents is told on one broadcast channel ([`Events`]);
//! each open connection forwards the documents its person's grant reads. A connection that
//! falls behind (a slow reader) skips what it missed and is told to sync everything
//! (`lagged`). One server's pushes reach that server's connections only (several servers
//! on one PostgreSQL are issue 15's).

use std::{convert::Infallible, sync::Arc, time::Duration};

use axum::{
    extract::State,
    response::sse::{Event, KeepAlive, Sse},
};
use serde::Serialize;
use tokio::sync::broadcast;
use voordeur_shared::{
    automerge::ChangeHash,
    docs::{DocKind, DocumentId},
    sync::Hash,
};

use crate::{auth::Principal, state::AppState};

/// How many changes a connection may fall behind before it skips to the newest.
const BACKLOG: usize = 1024;

/// One document a sync changed, as pushed.
#[derive(Debug, Clone, Serialize)]
pub struct Changed {
    pub document: DocumentId,
    #[serde(skip)]
    pub kind: DocKind,
    pub heads: Vec<Hash>,
}

/// The server's channel of changed documents.
#[derive(Debug)]
pub struct Events {
    sender: broadcast::Sender<Arc<Vec<Changed>>>,
    /// Set when the server shuts down: every open stream ends.
    closed: tokio::sync::watch::Sender<bool>,
}

impl Default for Events {
    fn default() -> Self {
        Events {
            sender: broadcast::channel(BACKLOG).0,
            closed: tokio::sync::watch::channel(false).0,
        }
    }
}

impl Events {
    /// Tells every open connection that these documents changed (after the commit).
    pub fn changed(&self, documents: Vec<(DocKind, Vec<ChangeHash>)>) {
        if documents.is_empty() {
            return;
        }
        let changed = documents
            .into_iter()
            .map(|(kind, heads)| Changed {
                document: kind.id(),
                kind,
                heads: heads.into_iter().map(Hash::from).collect(),
            })
            .collect();
        // No one listening is fine.
        let _ = self.sender.send(Arc::new(changed));
    }

    /// Ends every open stream (the server is shutting down).
    pub fn close(&self) {
        self.closed.send_replace(true);
    }

    /// How many connections listen now.
    pub fn listening(&self) -> usize {
        self.sender.receiver_count()
    }
}

/// `GET /api/events`.
pub async fn events(
    State(state): State<Arc<AppState>>,
    principal: Principal,
) -> Sse<impl futures_util::Stream<Item = Result<Event, Infallible>>> {
    let grant = principal.account.grant();
    let receiver = state.events.sender.subscribe();
    let closed = state.events.closed.subscribe();
    let stream =
        futures_util::stream::unfold((receiver, closed), move |(mut receiver, mut closed)| {
            let grant = grant.clone();
            async move {
                loop {
                    if *closed.borrow() {
                        return None;
                    }
                    let received = tokio::select! {
                        received = receiver.recv() => received,
                        _ = closed.changed() => return None,
                    };
                    match received {
                        Ok(changed) => {
                            let readable: Vec<&Changed> = changed
                                .iter()
                                .filter(|c| grant.access(&c.kind).read)
                                .collect();
                            if readable.is_empty() {
                                continue;
                            }
                            let event = Event::default()
                                .event("changed")
                                .json_data(&readable)
                                .unwrap_or_else(|_| Event::default().event("lagged"));
                            return Some((Ok(event), (receiver, closed)));
                        }
                        Err(broadcast::error::RecvError::Lagged(_)) => {
                            let lagged = Event::default().event("lagged").data("");
                            return Some((Ok(lagged), (receiver, closed)));
                        }
                        Err(broadcast::error::RecvError::Closed) => return None,
                    }
                }
            }
        });
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}
