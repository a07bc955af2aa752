//! `GET /api/events`: pushes, as they happen, that a document a person may read changed
//! (server-sent events). An open coordinator's picture or phone learns it at once and
//! syncs (the push carries only the document's id and heads, never its content); the
//! app's 20-second poll stays as the fallback.
//!
//! Every committed write is told to [`Events::changed`]; each open connection forwards the
//! documents its person's grant reads. A connection that falls behind (a slow reader), or
//! a server that may have missed what another said, tells its phones to sync everything
//! (`lagged`).
//!
//! **Several servers.** On SQLite one process serves the database, and the channel is
//! this process's broadcast. On PostgreSQL every server of one database may have written
//! what another server's phones hold: a server tells the others through PostgreSQL's
//! `NOTIFY` on [`CHANNEL`] (document kinds and heads, and the ids of erased documents,
//! never content; at most [`MAX_PAYLOAD`] bytes each), and every server, itself
//! included, hears them through one `LISTEN` connection ([`relay`]) and forwards them to
//! its own connections, and drops erased documents from its [`DocCache`]. The notice
//! follows the commit and precedes the answer: a server killed between the commit and the
//! notice leaves the phones to the poll until the phone that wrote retries, and a sync
//! that brings changes the store held already tells them again (`exchange::run`), so a
//! phone that was answered knows it was told.
//! When the listening connection is lost, what was said meanwhile is lost with it: the
//! server's phones are told to sync everything.

use std::{convert::Infallible, sync::Arc, time::Duration};

use axum::{
    extract::State,
    response::sse::{Event, KeepAlive, Sse},
};
use serde::{Deserialize, Serialize};
use sqlx::{AnyPool, postgres::PgListener};
use tokio::sync::{broadcast, watch};
use voordeur_shared::{
    automerge::ChangeHash,
    docs::{DocKind, DocumentId},
    sync::Hash,
};

use crate::{auth::Principal, cache::DocCache, state::AppState};

/// How many pushes a connection may fall behind before it skips to the newest.
const BACKLOG: usize = 1024;
/// The PostgreSQL channel the servers of one database talk on.
pub const CHANNEL: &str = "voordeur_changed";
/// PostgreSQL refuses a `NOTIFY` payload of 8,000 bytes or more: larger news goes in
/// several notices.
const MAX_PAYLOAD: usize = 7_000;
/// An erased document's id in a notice takes at most this many bytes (36 characters of a
/// UUID, its quotes and a comma).
const ERASED_ID_BYTES: usize = 40;
/// Before listening again after the listening connection failed.
const RELISTEN_PAUSE: Duration = Duration::from_secs(1);

/// One document a write changed, as pushed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Changed {
    pub document: DocumentId,
    #[serde(skip_serializing)]
    pub kind: DocKind,
    pub heads: Vec<Hash>,
}

/// What a server's connections are told.
#[derive(Debug, Clone)]
enum Push {
    Changed(Arc<Vec<Changed>>),
    /// What was said may not all have arrived: sync everything.
    Missed,
}

/// What one server tells the others of its database (PostgreSQL), as JSON.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Notice {
    Changed(Vec<(DocKind, Vec<Hash>)>),
    Erased(Vec<DocumentId>),
}

/// The server's channel of changed documents.
#[derive(Debug)]
pub struct Events {
    sender: broadcast::Sender<Push>,
    /// Set when the server shuts down: every open stream ends, and the relay stops.
    closed: watch::Sender<bool>,
    /// On PostgreSQL: where the servers of the database tell each other.
    notify: Option<AnyPool>,
}

impl Events {
    /// The channel of a server alone on its database (SQLite, or tests).
    pub fn alone() -> Events {
        Events {
            sender: broadcast::channel(BACKLOG).0,
            closed: watch::channel(false).0,
            notify: None,
        }
    }

    /// The channel of a server that shares its PostgreSQL database with others: what it
    /// says goes through the database, and [`relay`] brings it back.
    pub fn shared(pool: AnyPool) -> Events {
        Events {
            notify: Some(pool),
            ..Events::alone()
        }
    }

    /// Tells every open connection, of every server of the database, that these
    /// documents changed (call it after the commit, before answering: a phone that was
    /// answered knows the others are told).
    pub async fn changed(&self, documents: Vec<(DocKind, Vec<ChangeHash>)>) {
        if documents.is_empty() {
            return;
        }
        let documents: Vec<(DocKind, Vec<Hash>)> = documents
            .into_iter()
            .map(|(kind, heads)| (kind, heads.into_iter().map(Hash::from).collect()))
            .collect();
        match &self.notify {
            Some(pool) => {
                for part in parts(documents) {
                    self.tell(pool, Notice::Changed(part)).await;
                }
            }
            None => self.forward(documents),
        }
    }

    /// Tells the other servers of the database to drop these erased documents from their
    /// caches (this server's [`DocCache::erase`] is the caller's).
    pub async fn erased(&self, ids: &[DocumentId]) {
        if let Some(pool) = &self.notify {
            for part in ids.chunks(MAX_PAYLOAD / ERASED_ID_BYTES) {
                self.tell(pool, Notice::Erased(part.to_vec())).await;
            }
        }
    }

    /// Ends every open stream and the relay (the server is shutting down).
    pub fn close(&self) {
        self.closed.send_replace(true);
    }

    fn forward(&self, documents: Vec<(DocKind, Vec<Hash>)>) {
        let changed = documents
            .into_iter()
            .map(|(kind, heads)| Changed {
                document: kind.id(),
                kind,
                heads,
            })
            .collect();
        // No one listening is fine.
        let _ = self.sender.send(Push::Changed(Arc::new(changed)));
    }

    /// `NOTIFY` (one round trip to the database). If it fails, this server's own
    /// connections are told to sync everything.
    async fn tell(&self, pool: &AnyPool, notice: Notice) {
        let Ok(payload) = serde_json::to_string(&notice) else {
            return;
        };
        let told = sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(&payload)
            .execute(pool)
            .await;
        if let Err(error) = told {
            tracing::warn!(%error, "failed to tell the other servers what changed");
            let _ = self.sender.send(Push::Missed);
        }
    }

    /// A notice heard on [`CHANNEL`].
    fn heard(&self, payload: &str, cache: &DocCache) {
        match serde_json::from_str(payload) {
            Ok(Notice::Changed(documents)) => self.forward(documents),
            Ok(Notice::Erased(ids)) => cache.erase(&ids),
            Err(error) => {
                tracing::warn!(%error, "a notice on {CHANNEL} that does not read");
                let _ = self.sender.send(Push::Missed);
            }
        }
    }
}

/// The documents in notices of at most [`MAX_PAYLOAD`] bytes each (a document whose
/// heads alone are longer goes alone: PostgreSQL refuses it, and the phones sync at the
/// next poll).
fn parts(documents: Vec<(DocKind, Vec<Hash>)>) -> Vec<Vec<(DocKind, Vec<Hash>)>> {
    let mut parts: Vec<Vec<(DocKind, Vec<Hash>)>> = Vec::new();
    let mut size = 0;
    for document in documents {
        let len = serde_json::to_string(&document).map_or(0, |s| s.len()) + 1;
        match parts.last_mut() {
            Some(part) if size + len <= MAX_PAYLOAD => part.push(document),
            _ => {
                parts.push(vec![document]);
                size = 0;
            }
        }
        size += len;
    }
    parts
}

/// Listens on [`CHANNEL`] for what every server of the PostgreSQL database at `url`
/// (this one included) tells, until the server shuts down.
pub async fn relay(state: Arc<AppState>, url: String) {
    let events = &state.events;
    let mut closed = events.closed.subscribe();
    let mut listener: Option<PgListener> = None;
    loop {
        if *closed.borrow() {
            return;
        }
        let Some(listening) = listener.as_mut() else {
            let connected = async {
                let mut listener = PgListener::connect(&url).await?;
                listener.listen(CHANNEL).await?;
                Ok::<_, sqlx::Error>(listener)
            };
            match connected.await {
                Ok(connected) => {
                    listener = Some(connected);
                    // Whatever was said before listened from now on is not heard.
                    let _ = events.sender.send(Push::Missed);
                }
                Err(error) => {
                    tracing::warn!(%error, "failed to listen for other servers' changes");
                    tokio::select! {
                        _ = tokio::time::sleep(RELISTEN_PAUSE) => {}
                        _ = closed.changed() => return,
                    }
                }
            }
            continue;
        };
        tokio::select! {
            heard = listening.try_recv() => match heard {
                Ok(Some(notice)) => events.heard(notice.payload(), &state.cache),
                // The connection was lost; the next call connects and listens again.
                Ok(None) => {
                    let _ = events.sender.send(Push::Missed);
                }
                Err(error) => {
                    tracing::warn!(%error, "listening for other servers' changes failed");
                    listener = None;
                    let _ = events.sender.send(Push::Missed);
                }
            },
            _ = closed.changed() => return,
        }
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
                    let lagged = Event::default().event("lagged").data("");
                    match received {
                        Ok(Push::Changed(changed)) => {
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
                                .unwrap_or(lagged);
                            return Some((Ok(event), (receiver, closed)));
                        }
                        Ok(Push::Missed) | Err(broadcast::error::RecvError::Lagged(_)) => {
                            return Some((Ok(lagged), (receiver, closed)));
                        }
                        Err(broadcast::error::RecvError::Closed) => return None,
                    }
                }
            }
        });
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_large_change_goes_in_notices_postgresql_takes() {
        let documents: Vec<(DocKind, Vec<Hash>)> = (0..500u128)
            .map(|n| {
                (
                    DocKind::Household {
                        street: uuid::Uuid::from_u128(1),
                        address: uuid::Uuid::from_u128(n),
                        epoch: 0,
                    },
                    vec![Hash([7; 32]), Hash([9; 32])],
                )
            })
            .collect();
        let parts = parts(documents.clone());
        assert!(parts.len() > 1);
        for part in &parts {
            let payload = serde_json::to_string(&Notice::Changed(part.clone())).unwrap();
            assert!(payload.len() < 8000, "{}", payload.len());
        }
        let back: Vec<_> = parts.into_iter().flatten().collect();
        assert_eq!(back, documents);
    }
}
