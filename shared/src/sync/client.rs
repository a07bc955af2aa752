//! The client half of the sync protocol, without IO: a [`Replica`] holds a device's
//! documents and what it knows of the server's, builds requests and takes in responses.
//!
//! Whatever happens to a request on the way (lost, answered twice, answered late, answered
//! after a newer one) the replica stays correct: it only ever moves its knowledge of the
//! server to heads it holds itself, and offering a change twice is harmless.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use automerge::{ActorId, AutoCommit, ChangeHash};
use uuid::Uuid;

use super::{
    DocOffer, Hash, ReplyStatus, SyncRequest, SyncResponse, changes_since, from_wire, to_wire,
};
use crate::{
    docs::{self, DocKind, DocumentId},
    erase::{self, Gone, Replayed},
};

/// One document on a device.
#[derive(Debug, Clone)]
pub struct ReplicaDoc {
    pub kind: DocKind,
    pub doc: AutoCommit,
    /// Heads the server acknowledged holding; everything after them is unsynced.
    server_heads: Vec<ChangeHash>,
    /// Whether the server has acknowledged this document at all.
    acknowledged: bool,
    /// The server asked for the whole document.
    send_everything: bool,
}

impl ReplicaDoc {
    /// A document as it was stored on the device.
    pub fn restore(kind: DocKind, doc: AutoCommit, server_heads: Vec<ChangeHash>) -> Self {
        ReplicaDoc {
            kind,
            doc,
            acknowledged: !server_heads.is_empty(),
            server_heads,
            send_everything: false,
        }
    }

    pub fn server_heads(&self) -> &[ChangeHash] {
        &self.server_heads
    }

    /// Changes on this device that the server has not acknowledged.
    pub fn unsynced(&mut self) -> usize {
        if !self.send_everything && self.doc.get_heads() == self.server_heads {
            return 0;
        }
        if self.send_everything {
            return self.doc.get_changes(&[]).len();
        }
        self.doc.get_changes(&self.server_heads).len()
    }

    fn offer(&mut self, id: DocumentId) -> DocOffer {
        let since = if self.send_everything {
            Vec::new()
        } else {
            self.server_heads.clone()
        };
        let heads = self.doc.get_heads();
        let changes = changes_since(&mut self.doc, &since);
        DocOffer {
            id,
            kind: (!self.acknowledged || self.send_everything).then_some(self.kind),
            since: (since != heads).then(|| to_wire(&since)),
            heads: to_wire(&heads),
            changes,
        }
    }
}

/// A document the device keeps in storage but not in memory. Only fully synced documents
/// are parked, so an offer needs nothing but their heads: a device with a hundred
/// households' notes loads only the ones the builder opens (see the field app's store).
#[derive(Debug, Clone)]
struct Parked {
    kind: DocKind,
    heads: Vec<ChangeHash>,
}

/// What taking in a response did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Received {
    /// Documents whose content changed.
    pub changed: Vec<DocumentId>,
    /// The server asked for whole documents: sync again now.
    pub again: bool,
    /// Documents whose reply could not be applied, with the reason.
    pub rejected: Vec<(DocumentId, String)>,
    /// Parked documents the server has news for: load them, then sync again.
    pub load: Vec<DocumentId>,
    /// Documents the server refused ([`ReplyStatus::Refused`]), each with the changes set
    /// aside; the documents themselves are back at what the server acknowledged.
    pub refused: Vec<SetAside>,
    /// Documents erased at a resident's request ([`ReplyStatus::Gone`]): dropped from
    /// the replica, unsent changes included, what of those did not touch what was erased
    /// carried over to the successor.
    pub gone: Vec<Departed>,
}

/// A document the replica dropped because it was erased.
#[derive(Debug, Clone, PartialEq)]
pub struct Departed {
    pub id: DocumentId,
    pub kind: DocKind,
    /// The server's word: which request, which door, when, and the successor.
    pub gone: Gone,
    /// What became of the changes the server had not acknowledged.
    pub replayed: Replayed,
}

impl Departed {
    /// Whether unsent work of this device was left behind.
    pub fn lost_unsent(&self) -> bool {
        self.replayed.dropped > 0
    }
}

/// One document's changes that the server refused, taken out of the document by
/// [`Replica::receive`]: nothing is lost, and they are never offered again unless the
/// person tries again ([`Replica::restore_aside`]).
#[derive(Debug, Clone, PartialEq)]
pub struct SetAside {
    pub id: DocumentId,
    pub kind: DocKind,
    /// The changes the server had not acknowledged, as Automerge change chunks one after
    /// the other; empty when there were none (a document refused only for being offered).
    pub changes: Vec<u8>,
    /// The refusal's code (see [`super::refusal`]) and the server's reason.
    pub code: String,
    pub reason: String,
    /// The doors the changes are about: a household's or confidential document's address;
    /// for a street, the addresses of the visits (and of the visits of the wishes) the
    /// changes added.
    pub doors: Vec<Uuid>,
}

/// A device's documents and its knowledge of the server.
#[derive(Debug, Clone)]
pub struct Replica {
    actor: ActorId,
    streets: BTreeSet<Uuid>,
    docs: BTreeMap<DocumentId, ReplicaDoc>,
    parked: BTreeMap<DocumentId, Parked>,
    /// The heads offered in the latest requests, by request id, newest last: a reply that
    /// omits the server's heads means "the heads you offered".
    offered: VecDeque<(u64, BTreeMap<DocumentId, Vec<Hash>>)>,
    next_request: u64,
    /// Who the next edits are by, and when: their changes are signed with it.
    signer: Option<(String, i64)>,
}

/// How many requests' offered heads a replica remembers; a response to an older request
/// still merges, but does not move the replica's knowledge of the server.
const REMEMBERED_REQUESTS: usize = 16;

impl Replica {
    /// An empty replica that writes as `actor`.
    pub fn new(actor: ActorId) -> Self {
        Replica {
            actor,
            streets: BTreeSet::new(),
            docs: BTreeMap::new(),
            parked: BTreeMap::new(),
            offered: VecDeque::new(),
            // Random, so that an answer to a request of an earlier run is never mistaken
            // for one of this run.
            next_request: Uuid::new_v4().as_u64_pair().0,
            signer: None,
        }
    }

    /// Signs the edits made from now on as `by`'s, at `at_ms` (see
    /// [`crate::docs::Signature`]): the app calls it before each edit.
    pub fn sign_as(&mut self, by: &str, at_ms: i64) {
        self.signer = Some((by.to_string(), at_ms));
    }

    /// Who the next edits are signed by, and when.
    pub fn signer(&self) -> Option<(String, i64)> {
        self.signer.clone()
    }

    pub fn actor(&self) -> &ActorId {
        &self.actor
    }

    /// Asks for every document of `street` at the next sync.
    pub fn follow(&mut self, street: Uuid) {
        self.streets.insert(street);
    }

    pub fn streets(&self) -> impl Iterator<Item = Uuid> + '_ {
        self.streets.iter().copied()
    }

    /// Adds a document as it was stored on the device.
    pub fn insert(&mut self, mut doc: ReplicaDoc) {
        doc.doc.set_actor(self.actor.clone());
        self.docs.insert(doc.kind.id(), doc);
    }

    /// Notes that the device holds document `kind` in storage, synced up to `heads`,
    /// without loading it.
    pub fn park(&mut self, kind: DocKind, heads: Vec<ChangeHash>) {
        let id = kind.id();
        self.docs.remove(&id);
        self.parked.insert(id, Parked { kind, heads });
    }

    pub fn is_parked(&self, id: &DocumentId) -> bool {
        self.parked.contains_key(id)
    }

    /// Puts a parked document's content in memory: it was synced up to its parked heads.
    pub fn unpark(&mut self, id: &DocumentId, doc: AutoCommit) {
        if let Some(parked) = self.parked.remove(id) {
            self.insert(ReplicaDoc::restore(parked.kind, doc, parked.heads));
        }
    }

    /// The parked documents that `response` brings news for; load them before
    /// [`Replica::receive`], or it asks for them in [`Received::load`].
    pub fn to_load(&self, response: &SyncResponse) -> Vec<DocumentId> {
        response
            .docs
            .iter()
            .filter(|r| {
                self.parked.contains_key(&r.id)
                    && (!r.changes.is_empty() || r.status == ReplyStatus::SendEverything)
            })
            .map(|r| r.id)
            .collect()
    }

    /// Whether the device holds document `id` with every change up to `heads` (loaded, or
    /// parked at those heads): what a push from the server is checked against.
    pub fn holds(&self, id: &DocumentId, heads: &[ChangeHash]) -> bool {
        if let Some(held) = self.docs.get(id) {
            return heads
                .iter()
                .all(|h| automerge::ReadDoc::get_change_by_hash(&held.doc, h).is_some());
        }
        self.parked
            .get(id)
            .is_some_and(|p| heads.iter().all(|h| p.heads.contains(h)))
    }

    pub fn get(&self, id: &DocumentId) -> Option<&ReplicaDoc> {
        self.docs.get(id)
    }

    /// The street document of `street` that this device holds (loaded or parked): the
    /// latest epoch it has; the first epoch's if it has none yet.
    pub fn street_kind(&self, street: Uuid) -> DocKind {
        let held = self.docs.values().map(|d| d.kind);
        let epoch = held
            .chain(self.parked.values().map(|p| p.kind))
            .filter_map(|kind| match kind {
                DocKind::Street { street: s, epoch } if s == street => Some(epoch),
                _ => None,
            })
            .max()
            .unwrap_or(0);
        DocKind::Street { street, epoch }
    }

    /// The street document of `street`, if this device holds it loaded.
    pub fn street(&self, street: Uuid) -> Option<&ReplicaDoc> {
        self.docs.get(&self.street_kind(street).id())
    }

    /// The street document of `street`, if this device holds it loaded, to change.
    pub fn street_mut(&mut self, street: Uuid) -> Option<&mut ReplicaDoc> {
        let id = self.street_kind(street).id();
        self.docs.get_mut(&id)
    }

    pub fn get_mut(&mut self, id: &DocumentId) -> Option<&mut ReplicaDoc> {
        self.docs.get_mut(id)
    }

    pub fn docs(&self) -> impl Iterator<Item = (&DocumentId, &ReplicaDoc)> {
        self.docs.iter()
    }

    /// The document of `kind`, created from its genesis if the device lacks it.
    pub fn open(&mut self, kind: DocKind) -> &mut AutoCommit {
        let actor = self.actor.clone();
        &mut self
            .docs
            .entry(kind.id())
            .or_insert_with(|| ReplicaDoc {
                kind,
                doc: kind.genesis(actor),
                server_heads: Vec::new(),
                acknowledged: false,
                send_everything: false,
            })
            .doc
    }

    /// Changes on this device that the server has not acknowledged, over all documents.
    pub fn unsynced(&mut self) -> usize {
        self.docs.values_mut().map(ReplicaDoc::unsynced).sum()
    }

    /// The next request: an offer for every document, and the followed streets.
    pub fn request(&mut self) -> SyncRequest {
        let id = self.next_request;
        self.next_request = self.next_request.wrapping_add(1);
        let parked = self.parked.iter().map(|(id, parked)| DocOffer {
            id: *id,
            kind: None,
            since: None,
            heads: to_wire(&parked.heads),
            changes: Vec::new(),
        });
        let docs: Vec<DocOffer> = self
            .docs
            .iter_mut()
            .map(|(id, doc)| doc.offer(*id))
            .chain(parked)
            .collect();
        if self.offered.len() == REMEMBERED_REQUESTS {
            self.offered.pop_front();
        }
        self.offered
            .push_back((id, docs.iter().map(|o| (o.id, o.heads.clone())).collect()));
        SyncRequest {
            id,
            streets: self.streets.iter().copied().collect(),
            docs,
        }
    }

    /// Takes in the server's response to a request built by [`Replica::request`] (not
    /// necessarily the latest one).
    pub fn receive(&mut self, response: SyncResponse) -> Received {
        let mut received = Received::default();
        let offered = self
            .offered
            .iter()
            .find(|(id, _)| *id == response.request)
            .map(|(_, heads)| heads.clone())
            .unwrap_or_default();
        let mut departed = Vec::new();
        for reply in response.docs {
            let id = reply.id;
            if let ReplyStatus::Gone(gone) = reply.status {
                // After the rest: the successor may come whole in this response.
                departed.push((id, gone));
                continue;
            }
            if let ReplyStatus::Refused { code, reason } = reply.status {
                self.set_aside(id, reply.kind, code, reason, &mut received);
                continue;
            }
            if self.parked.contains_key(&id) {
                if !reply.changes.is_empty() || reply.status == ReplyStatus::SendEverything {
                    received.load.push(id);
                    received.again = true;
                }
                continue;
            }
            let Some(entry) = self.docs.get_mut(&id) else {
                match (reply.kind, reply.status) {
                    (Some(kind), ReplyStatus::Merged) if kind.id() == id => {
                        match AutoCommit::load(&reply.changes) {
                            Ok(doc) => {
                                let mut doc = doc.with_actor(self.actor.clone());
                                let heads = doc.get_heads();
                                self.docs.insert(id, ReplicaDoc::restore(kind, doc, heads));
                                received.changed.push(id);
                            }
                            Err(e) => received.rejected.push((id, e.to_string())),
                        }
                    }
                    _ => received
                        .rejected
                        .push((id, "reply for a document this device lacks".into())),
                }
                continue;
            };
            match reply.status {
                // Taken care of above.
                ReplyStatus::Refused { .. } | ReplyStatus::Gone(_) => {}
                ReplyStatus::SendEverything => {
                    entry.send_everything = true;
                    received.again = true;
                }
                ReplyStatus::Merged => {
                    let before = entry.doc.get_heads();
                    if !reply.changes.is_empty() {
                        let loaded = entry.doc.load_incremental(&reply.changes);
                        docs::forget_patches(&mut entry.doc);
                        if let Err(e) = loaded {
                            received.rejected.push((id, e.to_string()));
                            continue;
                        }
                    }
                    if entry.doc.get_heads() != before {
                        received.changed.push(id);
                    }
                    let Some(server_heads) = reply
                        .heads
                        .as_deref()
                        .or_else(|| offered.get(&id).map(Vec::as_slice))
                        .map(from_wire)
                    else {
                        // An answer to a request too old to remember: merged, but it says
                        // nothing more about the server.
                        continue;
                    };
                    let holds_all = server_heads
                        .iter()
                        .all(|h| entry.doc.get_change_by_hash(h).is_some());
                    if holds_all {
                        entry.server_heads = server_heads;
                        entry.acknowledged = true;
                        entry.send_everything = false;
                    }
                }
            }
        }
        for (id, gone) in departed {
            self.depart(id, gone, &mut received);
        }
        received
    }

    /// Drops document `id`, erased: its unacknowledged changes are carried over to the
    /// successor (opened from its genesis if the device lacks it), except what touches
    /// what was erased ([`Gone::drops`]).
    fn depart(&mut self, id: DocumentId, gone: Gone, received: &mut Received) {
        let parked = self.parked.remove(&id).map(|p| p.kind);
        let Some(mut entry) = self.docs.remove(&id) else {
            if let Some(kind) = parked {
                received.changed.push(id);
                received.gone.push(Departed {
                    id,
                    kind,
                    gone,
                    replayed: Replayed::default(),
                });
            }
            return;
        };
        received.changed.push(id);
        let since = if entry.acknowledged {
            entry.server_heads.clone()
        } else {
            Vec::new()
        };
        let mut replayed = Replayed::default();
        let unsent = entry
            .doc
            .get_changes(&since)
            .iter()
            .any(|c| c.actor_id() != &docs::genesis_actor());
        if unsent {
            match gone.successor {
                Some(successor) if !self.parked.contains_key(&successor.id()) => {
                    let drops = gone.drops(&entry.kind, &entry.doc);
                    let signer = self.signer.clone();
                    let target = self.open(successor);
                    match erase::replay(&mut entry.doc, &since, target, &drops) {
                        Ok(done) => {
                            replayed = done;
                            match signer {
                                Some((by, at_ms)) => {
                                    docs::Signature { by: &by, at_ms }.commit(target)
                                }
                                None => {
                                    target.commit();
                                }
                            }
                            received.changed.push(successor.id());
                        }
                        Err(e) => {
                            target.rollback();
                            received.rejected.push((id, e.to_string()));
                            replayed.dropped += 1;
                        }
                    }
                }
                _ => replayed.dropped += 1,
            }
        }
        received.gone.push(Departed {
            id,
            kind: entry.kind,
            gone,
            replayed,
        });
    }

    /// Takes the server's refusal of document `id`: its unacknowledged changes are set
    /// aside and the document goes back to the heads the server acknowledged (a document
    /// the server never acknowledged leaves the replica: all of it is in the set-aside
    /// changes). A parked document has nothing unacknowledged.
    fn set_aside(
        &mut self,
        id: DocumentId,
        kind: Option<DocKind>,
        code: String,
        reason: String,
        received: &mut Received,
    ) {
        let parked = self.parked.get(&id).map(|p| p.kind);
        let Some(entry) = self.docs.get_mut(&id) else {
            let kind = kind.filter(|k| k.id() == id).or(parked);
            if let Some(kind) = kind {
                received.refused.push(SetAside {
                    id,
                    kind,
                    changes: Vec::new(),
                    code,
                    reason,
                    doors: Vec::new(),
                });
            }
            return;
        };
        let since = if entry.acknowledged {
            entry.server_heads.clone()
        } else {
            Vec::new()
        };
        let changes: Vec<u8> = entry
            .doc
            .get_changes(&since)
            .iter()
            .flat_map(|change| change.raw_bytes().iter().copied())
            .collect();
        let kind = entry.kind;
        let mut aside = SetAside {
            id,
            kind,
            changes,
            code,
            reason,
            doors: Vec::new(),
        };
        if aside.changes.is_empty() {
            received.refused.push(aside);
            return;
        }
        if entry.acknowledged {
            let reset = match entry.doc.fork_at(&since) {
                Ok(doc) => doc.with_actor(self.actor.clone()),
                Err(e) => {
                    received.rejected.push((id, e.to_string()));
                    return;
                }
            };
            let refused = std::mem::replace(&mut entry.doc, reset);
            entry.send_everything = false;
            aside.doors = doors_of(&kind, &refused, Some(&entry.doc));
        } else if let Some(removed) = self.docs.remove(&id) {
            aside.doors = doors_of(&kind, &removed.doc, None);
        }
        received.changed.push(id);
        received.refused.push(aside);
    }

    /// Puts changes set aside back into their document (loaded, or made from its genesis
    /// if the replica no longer holds it), so that the next request offers them again.
    pub fn restore_aside(&mut self, kind: DocKind, changes: &[u8]) -> Result<(), String> {
        if self.is_parked(&kind.id()) {
            return Err("the document is parked: load it first".into());
        }
        let doc = self.open(kind);
        let loaded = doc.load_incremental(changes);
        docs::forget_patches(doc);
        loaded.map(|_| ()).map_err(|e| e.to_string())
    }
}

/// The doors that changes to a document of `kind` are about: `refused` holds them,
/// `kept` (if any) is the document without them.
fn doors_of(kind: &DocKind, refused: &AutoCommit, kept: Option<&AutoCommit>) -> Vec<Uuid> {
    use automerge::ReadDoc;

    use crate::docs::{self, VISITS, WISHES};
    match *kind {
        DocKind::Household { address, .. } | DocKind::Confidential { address, .. } => {
            vec![address]
        }
        DocKind::Street { .. } => {
            let keys = |doc: &AutoCommit, name: &str| -> BTreeSet<String> {
                match doc.get(automerge::ROOT, name) {
                    Ok(Some((_, obj))) => doc.keys(&obj).collect(),
                    _ => BTreeSet::new(),
                }
            };
            let new = |name: &str| -> Vec<String> {
                let before = kept.map(|doc| keys(doc, name)).unwrap_or_default();
                keys(refused, name)
                    .into_iter()
                    .filter(|key| !before.contains(key))
                    .collect()
            };
            let address_of_visit = |visit: &str| {
                docs::get_entry(refused, VISITS, visit)
                    .ok()
                    .flatten()
                    .and_then(|v| v.address.parse::<Uuid>().ok())
            };
            let mut doors: Vec<Uuid> = Vec::new();
            let visits = new(VISITS.name)
                .into_iter()
                .filter_map(|v| address_of_visit(&v));
            let wishes = new(WISHES.name).into_iter().filter_map(|w| {
                docs::get_entry(refused, WISHES, &w)
                    .ok()
                    .flatten()
                    .and_then(|wish| address_of_visit(&wish.visit))
            });
            for door in visits.chain(wishes) {
                if !doors.contains(&door) {
                    doors.push(door);
                }
            }
            doors
        }
    }
}
