//! The server half of the sync protocol, without IO.
//!
//! The server (`voordeur_server::exchange`) calls it in three steps, its store in between:
//! [`Catalog::wanted`] says which rows to read; [`Plan::new`] decides, once, what the
//! request needs (which offers are idle, which documents go out whole, so which must be
//! loaded); [`serve`] decides everything else against the documents loaded. The server then
//! commits the returned [`DocWrite`]s in one transaction before it sends the response.
//! `serve` applies each document whole or not at all: a document it refuses is answered
//! [`ReplyStatus::Refused`] and nothing of it is written, while the others are served; an
//! error it returns refuses the whole request, and changes nothing.

use std::collections::{BTreeMap, BTreeSet};

use automerge::{ActorId, AutoCommit, Change, ChangeHash};
use uuid::Uuid;

use super::{
    DocOffer, DocReply, ReplyStatus, SyncError, SyncRequest, SyncResponse, changes_since,
    chunks::{check_against, parse_changes},
    from_wire, refusal,
    rules::{self, Writers},
    to_wire,
};
use crate::{
    access::Grant,
    docs::{self, DocKind, DocumentId},
    erase::Gone,
};

/// What the server holds that a request touches: every document of the streets the request
/// follows or offers documents for, and every document it offers.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    pub docs: BTreeMap<DocumentId, CatalogEntry>,
    /// The offered documents that were erased: the erasure register's word on each.
    pub gone: BTreeMap<DocumentId, Gone>,
}

/// What the server knows of one document without loading it.
#[derive(Debug, Clone, PartialEq)]
pub struct CatalogEntry {
    pub kind: DocKind,
    /// The document's current heads, sorted.
    pub heads: Vec<ChangeHash>,
}

/// The rows a store must read to build the [`Catalog`] for a request.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Wanted {
    pub streets: BTreeSet<Uuid>,
    pub ids: BTreeSet<DocumentId>,
}

impl Catalog {
    /// Which documents' kinds a store must read for `request`.
    pub fn wanted(request: &SyncRequest) -> Wanted {
        let mut streets: BTreeSet<Uuid> = request.streets.iter().copied().collect();
        streets.extend(
            request
                .docs
                .iter()
                .filter_map(|o| o.kind.map(|k| k.street())),
        );
        Wanted {
            streets,
            ids: request.docs.iter().map(|o| o.id).collect(),
        }
    }

    pub fn has_street(&self, street: Uuid) -> bool {
        self.street(street).is_some()
    }

    /// The id of `street`'s document, at the epoch the server holds (it holds one).
    pub fn street(&self, street: Uuid) -> Option<DocumentId> {
        self.docs.iter().find_map(|(id, entry)| match entry.kind {
            DocKind::Street { street: s, .. } if s == street => Some(*id),
            _ => None,
        })
    }
}

/// An offer with nothing new for a document whose heads the client already shares: the
/// server answers it without loading the document.
fn is_idle(offer: &DocOffer, catalog: &Catalog) -> bool {
    offer.changes.is_empty()
        && catalog
            .docs
            .get(&offer.id)
            .is_some_and(|entry| from_wire(&offer.heads) == entry.heads)
}

/// What a request needs, decided once from the request, the [`Catalog`] and the person's
/// [`Grant`], and used both to load documents and by [`serve`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    /// Offers with nothing new for documents whose heads the client shares: answered from
    /// the catalog alone.
    idle: BTreeSet<DocumentId>,
    /// Documents of followed streets the client did not offer and may read: sent whole.
    whole: BTreeSet<DocumentId>,
    /// Every document whose content `serve` needs.
    load: BTreeSet<DocumentId>,
}

impl Plan {
    /// The plan for `request` of a person with `grant`. The documents to load are the
    /// offered ones the server has (unless idle) and the ones sent whole; a household or
    /// confidential document offered for the first time also needs its street, to check
    /// that its address exists.
    pub fn new(request: &SyncRequest, catalog: &Catalog, grant: &Grant) -> Plan {
        let offered: BTreeSet<DocumentId> = request.docs.iter().map(|o| o.id).collect();
        let followed: BTreeSet<Uuid> = request.streets.iter().copied().collect();
        let idle: BTreeSet<DocumentId> = request
            .docs
            .iter()
            .filter(|offer| is_idle(offer, catalog))
            .map(|offer| offer.id)
            .collect();
        let whole: BTreeSet<DocumentId> = catalog
            .docs
            .iter()
            .filter(|(id, entry)| {
                !offered.contains(id)
                    && followed.contains(&entry.kind.street())
                    && grant.access(&entry.kind).read
            })
            .map(|(id, _)| *id)
            .collect();
        // A document the person may not touch is refused unread.
        let mut load: BTreeSet<DocumentId> = offered
            .iter()
            .filter(|id| {
                catalog
                    .docs
                    .get(id)
                    .is_some_and(|entry| grant.access(&entry.kind).any())
                    && !idle.contains(id)
            })
            .copied()
            .collect();
        load.extend(&whole);
        for offer in &request.docs {
            if let Some(kind) = offer.kind
                && !catalog.docs.contains_key(&offer.id)
                && let Some(street) = catalog.street(kind.street())
            {
                load.insert(street);
            }
        }
        Plan { idle, whole, load }
    }

    /// The documents whose content [`serve`] needs: the store loads these (or takes them
    /// from a cache at the catalog's heads).
    pub fn to_load(&self) -> &BTreeSet<DocumentId> {
        &self.load
    }
}

/// A request with the changes of its offers parsed (strictly: see [`parse_changes`]).
/// Parsing is CPU work a server does before it takes any lock; the actors of the changes
/// tell it whose rights to load ([`Writers`]).
#[derive(Debug, Clone)]
pub struct Incoming {
    request: SyncRequest,
    /// Per offer, in the request's order.
    changes: Vec<Vec<Change>>,
}

impl Incoming {
    pub fn read(request: SyncRequest) -> Result<Incoming, SyncError> {
        let changes = request
            .docs
            .iter()
            .map(|offer| {
                parse_changes(&offer.changes).map_err(|reason| SyncError::BadChanges {
                    id: offer.id,
                    reason,
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Incoming { request, changes })
    }

    pub fn request(&self) -> &SyncRequest {
        &self.request
    }

    /// The actors whose changes the request carries.
    pub fn actors(&self) -> BTreeSet<ActorId> {
        self.changes
            .iter()
            .flatten()
            .map(|change| change.actor_id().clone())
            .collect()
    }
}

/// A document change the store must commit before the response is sent.
#[derive(Debug, Clone)]
pub struct DocWrite {
    pub id: DocumentId,
    pub kind: DocKind,
    /// The document did not exist on the server before this request.
    pub created: bool,
    /// The new changes (for a created document, all of it).
    pub changes: Vec<u8>,
    /// The document's heads after the write.
    pub heads: Vec<ChangeHash>,
    /// The actors of the new changes the request brought (none for a document the server
    /// only created): who wrote them, for the audit log.
    pub authors: BTreeSet<ActorId>,
    /// The server added a repair of its own after the merge.
    pub repaired: bool,
}

/// The outcome of a request the server accepted.
#[derive(Debug, Clone)]
pub struct Served {
    pub response: SyncResponse,
    pub writes: Vec<DocWrite>,
    /// The kinds of the documents whose content the response carries, in reply order: who
    /// read what, for the audit log.
    pub read: Vec<DocKind>,
    /// Every document the request touched, as it is once the writes are committed (for a
    /// server that keeps documents in memory).
    pub docs: BTreeMap<DocumentId, AutoCommit>,
    /// Actors the server had never seen whose changes it stores: the store binds them to
    /// the sender with the writes.
    pub new_actors: BTreeSet<ActorId>,
    /// The server wrote changes of its own with its actor (repairs: see
    /// [`DocKind::repair`]): the store binds that actor to no account.
    pub repaired: bool,
    /// The documents refused ([`ReplyStatus::Refused`]), with their codes: nothing of them
    /// is written, for the log.
    pub refused: Vec<(DocumentId, &'static str)>,
}

/// Answers `incoming`, a request of [`Writers::sender`], against the documents in `loaded`
/// (those [`Plan::to_load`] names, at the catalog's heads); new documents are created with
/// `actor`. `plan` must be [`Plan::new`] of the same request, catalog and the sender's
/// grant; `writers` must name the authors of the request's changes
/// ([`Incoming::actors`]).
///
/// Each document is applied whole or not at all. A document the person may not see
/// (also every document of a followed street that is not theirs, whether or not it
/// exists), changes to a document they may not write, a change that does more than its
/// author may (see [`crate::access`] and [`rules`]), changes that break the schema or do
/// not apply, a document that is not what its kind says: that document is answered
/// [`ReplyStatus::Refused`], its copy here is as it was loaded, nothing of it is written
/// or counted as read, and the others are served. Only a request-level error (a document
/// offered twice, a document the plan did not load) refuses the whole request. Documents
/// the person may write but not read are merged, and answered without a single change or
/// head of the server's.
pub fn serve(
    incoming: &Incoming,
    catalog: &Catalog,
    plan: &Plan,
    mut loaded: BTreeMap<DocumentId, AutoCommit>,
    actor: &ActorId,
    writers: &Writers,
) -> Result<Served, SyncError> {
    let request = &incoming.request;
    let grant = &writers.sender().grant;
    let mut offers: Vec<(DocKind, &DocOffer, &[Change])> = Vec::with_capacity(request.docs.len());
    let mut replies = Vec::with_capacity(request.docs.len());
    let mut refused = Vec::new();
    let mut refuse = |id: DocumentId, code: &'static str, reason: String| {
        refused.push((id, code));
        DocReply {
            id,
            kind: None,
            status: ReplyStatus::Refused {
                code: code.to_string(),
                reason,
            },
            heads: None,
            changes: Vec::new(),
        }
    };
    let mut seen = BTreeSet::new();
    for offer in &request.docs {
        if !seen.insert(offer.id) {
            return Err(SyncError::DuplicateDocument(offer.id));
        }
    }
    // A followed street that is not the person's (any more): refused as a document, so
    // that it blocks none of their other streets. The same answer whether or not the
    // server holds it: no one learns which streets exist.
    for street in &request.streets {
        if !grant.follows(*street) {
            // An offered street document is refused with the offers.
            let offered = request.docs.iter().any(|offer| {
                offer
                    .kind
                    .or_else(|| catalog.docs.get(&offer.id).map(|entry| entry.kind))
                    .is_some_and(
                        |kind| matches!(kind, DocKind::Street { street: s, .. } if s == *street),
                    )
            });
            if !offered {
                let kind = DocKind::Street {
                    street: *street,
                    epoch: 0,
                };
                let mut reply = refuse(
                    kind.id(),
                    refusal::NO_ACCESS,
                    format!("street {street} is not one of yours"),
                );
                reply.kind = Some(kind);
                replies.push(reply);
            }
            continue;
        }
        if !catalog.has_street(*street) {
            return Err(SyncError::UnknownStreet(*street));
        }
    }
    for (offer, changes) in request.docs.iter().zip(&incoming.changes) {
        if let Some(gone) = catalog.gone.get(&offer.id) {
            let mut reply = refuse(offer.id, refusal::ERASED, String::new());
            reply.status = ReplyStatus::Gone(*gone);
            replies.push(reply);
            continue;
        }
        let kind = match kind_of(offer, catalog) {
            Ok(Some(kind)) => kind,
            // A document the client believes the server has, but this server lacks (a
            // restored backup): ask for the whole document, with its kind.
            Ok(None) => {
                replies.push(DocReply {
                    id: offer.id,
                    kind: None,
                    status: ReplyStatus::SendEverything,
                    heads: Some(Vec::new()),
                    changes: Vec::new(),
                });
                continue;
            }
            Err(e) => {
                replies.push(refuse(offer.id, refusal::KIND_MISMATCH, e.to_string()));
                continue;
            }
        };
        if let Err((code, reason)) = check_allowed(grant, &kind, offer) {
            replies.push(refuse(offer.id, code, reason));
            continue;
        }
        offers.push((kind, offer, changes));
    }
    // Streets first: a household created in this request is checked against its street.
    offers.sort_by_key(|(kind, ..)| !matches!(kind, DocKind::Street { .. }));

    let mut writes: Vec<DocWrite> = Vec::new();
    let mut read = Vec::new();
    let mut repaired = false;
    for (kind, offer, changes) in offers {
        if plan.idle.contains(&offer.id) {
            replies.push(DocReply {
                id: offer.id,
                kind: None,
                status: ReplyStatus::Merged,
                heads: None,
                changes: Vec::new(),
            });
            continue;
        }
        let existed = catalog.docs.contains_key(&offer.id);
        let mut doc = match loaded.remove(&offer.id) {
            Some(doc) => doc,
            None if existed => {
                return Err(SyncError::Malformed(format!(
                    "document {} was not loaded",
                    offer.id
                )));
            }
            None => match check_creatable(&kind, catalog, &loaded, offer.id) {
                Ok(()) => kind.genesis(actor.clone()),
                Err(e) => match e.refusal() {
                    Some(code) => {
                        replies.push(refuse(offer.id, code, e.to_string()));
                        continue;
                    }
                    None => return Err(e),
                },
            },
        };
        let readable = grant.access(&kind).read;
        let before = doc.get_heads();
        match merge_offer(
            &mut doc, kind, offer, changes, existed, readable, writers, actor,
        ) {
            Ok((reply, write)) => {
                repaired |= write.as_ref().is_some_and(|w| w.repaired);
                if !reply.changes.is_empty() {
                    read.push(kind);
                }
                replies.push(reply);
                writes.extend(write);
                // Merged streets are needed for the households after them.
                loaded.insert(offer.id, doc);
            }
            Err(e) => {
                let Some(code) = e.refusal() else {
                    return Err(e);
                };
                replies.push(refuse(offer.id, code, e.to_string()));
                // Nothing of it stays: the document is as it was loaded (a document this
                // request would have created is not kept at all).
                if existed {
                    let doc = doc
                        .fork_at(&before)
                        .map_err(|e| SyncError::Malformed(e.to_string()))?;
                    loaded.insert(offer.id, doc);
                }
            }
        }
    }

    for id in &plan.whole {
        let (Some(CatalogEntry { kind, .. }), Some(doc)) =
            (catalog.docs.get(id), loaded.get_mut(id))
        else {
            return Err(SyncError::Malformed(format!(
                "document {id} was not loaded"
            )));
        };
        // Uncompressed: the response is compressed whole.
        let changes = doc.save_nocompress();
        if !changes.is_empty() {
            read.push(*kind);
        }
        replies.push(DocReply {
            id: *id,
            kind: Some(*kind),
            status: ReplyStatus::Merged,
            heads: Some(to_wire(&doc.get_heads())),
            changes,
        });
    }
    let new_actors = writes
        .iter()
        .flat_map(|write| &write.authors)
        .filter(|actor| writers.author(actor).is_some_and(|(_, new)| new))
        .cloned()
        .collect();
    Ok(Served {
        response: SyncResponse {
            request: request.id,
            docs: replies,
        },
        writes,
        read,
        docs: loaded,
        new_actors,
        repaired,
        refused,
    })
}

/// Refuses an offer for a document `grant` may not touch, or changes it may not write: the
/// refusal's code and reason.
fn check_allowed(
    grant: &Grant,
    kind: &DocKind,
    offer: &DocOffer,
) -> Result<(), (&'static str, String)> {
    let access = grant.access(kind);
    if !access.any() {
        return Err((
            refusal::NO_ACCESS,
            format!("document {} is not yours to see", offer.id),
        ));
    }
    if access.write.is_none() && !offer.changes.is_empty() {
        return Err((
            refusal::FORBIDDEN,
            format!("document {} is not yours to change", offer.id),
        ));
    }
    Ok(())
}

/// The kind of an offered document; `None` for one that neither the client nor the
/// server can say.
fn kind_of(offer: &DocOffer, catalog: &Catalog) -> Result<Option<DocKind>, SyncError> {
    let known = catalog.docs.get(&offer.id).map(|entry| entry.kind);
    match (offer.kind, known) {
        (Some(claimed), _) if claimed.id() != offer.id => Err(SyncError::KindMismatch {
            id: offer.id,
            reason: format!(
                "the id of a {} document like this is {}",
                claimed.label(),
                claimed.id()
            ),
        }),
        (Some(claimed), Some(known)) if claimed != known => Err(SyncError::KindMismatch {
            id: offer.id,
            reason: format!("the server holds it as {known:?}"),
        }),
        (Some(claimed), _) => Ok(Some(claimed)),
        (None, Some(known)) => Ok(Some(known)),
        (None, None) => Ok(None),
    }
}

/// Clients may create household and confidential documents for an address of a street
/// the server has, in the address's current epoch; only an administrator creates streets.
fn check_creatable(
    kind: &DocKind,
    catalog: &Catalog,
    loaded: &BTreeMap<DocumentId, AutoCommit>,
    id: DocumentId,
) -> Result<(), SyncError> {
    let (street, address, epoch) = match *kind {
        DocKind::Street { .. } => return Err(SyncError::UnknownDocument(id)),
        DocKind::Household {
            street,
            address,
            epoch,
        }
        | DocKind::Confidential {
            street,
            address,
            epoch,
            ..
        } => (street, address, epoch),
    };
    let street_doc = catalog
        .street(street)
        .and_then(|id| loaded.get(&id))
        .ok_or(SyncError::UnknownStreet(street))?;
    // Only the one address is read, not the street's thousands of visits.
    let entry = docs::get_entry(street_doc, docs::ADDRESSES, &address.to_string())
        .map_err(|e| SyncError::Malformed(format!("street {street} does not read: {e}")))?;
    match entry {
        None => Err(SyncError::KindMismatch {
            id,
            reason: format!("street {street} has no address {address}"),
        }),
        Some(a) if a.household_epoch != epoch => Err(SyncError::KindMismatch {
            id,
            reason: format!(
                "address {address} is in household epoch {}, not {epoch}",
                a.household_epoch
            ),
        }),
        Some(_) => Ok(()),
    }
}

/// Applies the offer's new changes to `doc`, each checked against what its author may
/// write ([`rules::check`]) against the document holding all it builds on. Returns the
/// actors of the changes applied, and whether every change could be applied (`false`: some
/// build on history `doc` lacks).
fn apply_checked(
    doc: &mut AutoCommit,
    kind: &DocKind,
    id: DocumentId,
    changes: &[Change],
    writers: &Writers,
) -> Result<(BTreeSet<ActorId>, bool), SyncError> {
    let bad = |reason: String| SyncError::BadChanges { id, reason };
    // A second change with a held actor and sequence number is damaged or forged.
    let changes = check_against(doc, changes.to_vec()).map_err(bad)?;
    let refused = |change: &Change, reason: String| {
        SyncError::Forbidden(format!(
            "change {} to document {id} is refused: {reason}",
            change.hash()
        ))
    };
    let mut pending: Vec<&Change> = changes
        .iter()
        .filter(|change| !docs::holds(doc, &[change.hash()]))
        .collect();
    let authors: BTreeSet<ActorId> = pending.iter().map(|c| c.actor_id().clone()).collect();
    // Changes by authors who may write the whole document need no look at their
    // operations (the schema is checked after the merge): applied at once.
    let whole = authors.iter().all(|actor| {
        if *actor == docs::genesis_actor() {
            // The schema's upgrades, byte for byte, and nothing else.
            return pending
                .iter()
                .filter(|c| c.actor_id() == actor)
                .all(|c| kind.is_upgrade(&c.hash()));
        }
        writers
            .author(actor)
            .is_some_and(|(writer, _)| writer.grant.access(kind).writes_everything())
    });
    if whole {
        doc.apply_changes(pending.into_iter().cloned())
            .map_err(|e| bad(e.to_string()))?;
        docs::forget_patches(doc);
        return Ok((authors, doc.get_missing_deps(&[]).is_empty()));
    }
    // Otherwise one at a time, in an order where each finds what it builds on.
    loop {
        let ready = pending.iter().position(|c| docs::holds(doc, c.deps()));
        let Some(index) = ready else { break };
        let change = pending.remove(index);
        if docs::holds(doc, &[change.hash()]) {
            continue;
        }
        rules::check(doc, kind, change, writers).map_err(|reason| refused(change, reason))?;
        doc.apply_changes([change.clone()])
            .map_err(|e| bad(e.to_string()))?;
        docs::forget_patches(doc);
    }
    Ok((authors, pending.is_empty()))
}

#[allow(clippy::too_many_arguments)] // reason: one offer's merge needs the request's context
fn merge_offer(
    doc: &mut AutoCommit,
    kind: DocKind,
    offer: &DocOffer,
    changes: &[Change],
    existed: bool,
    readable: bool,
    writers: &Writers,
    actor: &ActorId,
) -> Result<(DocReply, Option<DocWrite>), SyncError> {
    let before = doc.get_heads();
    let (authors, complete) = apply_checked(doc, &kind, offer.id, changes, writers)?;
    let client_heads: Vec<ChangeHash> = from_wire(&offer.heads);
    let has_all = docs::holds(doc, &client_heads);
    if !has_all || !complete {
        // The client's changes build on history this server lacks: keep nothing, ask for
        // everything. The document stays as it was stored.
        *doc = doc
            .fork_at(&before)
            .map_err(|e| SyncError::Malformed(e.to_string()))?;
        let reply = DocReply {
            id: offer.id,
            kind: None,
            status: ReplyStatus::SendEverything,
            heads: Some(if readable {
                to_wire(&before)
            } else {
                Vec::new()
            }),
            changes: Vec::new(),
        };
        return Ok((reply, None));
    }
    let mut after = doc.get_heads();
    let mut repaired = false;
    if after != before {
        // A merge of valid edits may need a repair (a name beside a later "no"): the
        // server writes it with its own actor, and it goes out with the reply.
        let theirs = doc.get_actor().clone();
        doc.set_actor(actor.clone());
        repaired = kind.repair(doc).map_err(|e| SyncError::SchemaViolation {
            id: offer.id,
            reason: e.to_string(),
        })?;
        doc.set_actor(theirs);
        after = doc.get_heads();
    }
    let write = if after != before || !existed {
        // A stored document kept the schema: only what the offer's changes touched is
        // read again (a repair of the server's own is no change of the offer's).
        if existed && !repaired {
            kind.validate_after(doc, changes)
        } else {
            kind.validate(doc)
        }
        .map_err(|violation| SyncError::SchemaViolation {
            id: offer.id,
            reason: violation.0,
        })?;
        Some(DocWrite {
            id: offer.id,
            kind,
            created: !existed,
            changes: if existed {
                doc.save_after(&before)
            } else {
                doc.save()
            },
            heads: after.clone(),
            authors,
            repaired,
        })
    } else {
        None
    };
    let reply = if readable {
        DocReply {
            id: offer.id,
            kind: None,
            status: ReplyStatus::Merged,
            heads: (after != client_heads).then(|| to_wire(&after)),
            changes: changes_since(doc, &client_heads),
        }
    } else {
        // Merged, and acknowledged as the client's own heads: it learns nothing of the
        // server's copy, and offers only its own later changes next time.
        DocReply {
            id: offer.id,
            kind: None,
            status: ReplyStatus::Merged,
            heads: None,
            changes: Vec::new(),
        }
    };
    Ok((reply, write))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::{
        access::Role,
        demo,
        docs::new_actor,
        model::{Partner, Street},
    };

    fn coach() -> Grant {
        Grant {
            role: Role::Coach,
            partner: Some(Partner::CareOrganisation),
            streets: [demo::street_id()].into(),
        }
    }

    fn request(id: u64, streets: Vec<Uuid>, docs: Vec<DocOffer>) -> SyncRequest {
        SyncRequest { id, streets, docs }
    }

    fn writers() -> Writers {
        Writers::new(rules::Writer {
            account: crate::ids::AccountId(Uuid::from_u128(9)),
            grant: coach(),
            actors: BTreeSet::new(),
        })
    }

    /// The plan loads only what `serve` needs, and `serve` names what was read and changed.
    #[test]
    fn the_plan_loads_what_serve_needs_and_serve_names_what_was_read_and_changed() {
        let (kind, mut street) = demo::street(new_actor()).unwrap();
        let heads = street.get_heads();
        let entry = CatalogEntry {
            kind,
            heads: heads.clone(),
        };
        let catalog = Catalog {
            docs: [(kind.id(), entry)].into(),
            ..Catalog::default()
        };
        let loaded = || BTreeMap::from([(kind.id(), street.clone())]);
        let serve_with = |request: &SyncRequest, loaded| {
            let plan = Plan::new(request, &catalog, &coach());
            let incoming = Incoming::read(request.clone()).unwrap();
            let served = serve(&incoming, &catalog, &plan, loaded, &new_actor(), &writers());
            (plan, served)
        };

        // A phone that holds the street offers it with nothing new: nothing is loaded.
        let idle = DocOffer {
            id: kind.id(),
            kind: None,
            since: None,
            heads: to_wire(&heads),
            changes: Vec::new(),
        };
        let idle = request(1, vec![demo::street_id()], vec![idle]);
        let (plan, served) = serve_with(&idle, BTreeMap::new());
        assert!(plan.to_load().is_empty());
        let served = served.unwrap();
        assert!(served.read.is_empty() && served.writes.is_empty());
        assert_eq!(served.response.docs.len(), 1);

        // A new phone gets the street whole: loaded, and read.
        let new = request(2, vec![demo::street_id()], Vec::new());
        let (plan, served) = serve_with(&new, loaded());
        assert_eq!(plan.to_load(), &BTreeSet::from([kind.id()]));
        assert_eq!(served.unwrap().read, vec![kind]);

        // A household offered for the first time needs its street, to check its address.
        let household = |address: Uuid| DocKind::Household {
            street: demo::street_id(),
            address,
            epoch: 0,
        };
        let offer = |kind: DocKind| DocOffer {
            id: kind.id(),
            kind: Some(kind),
            since: Some(Vec::new()),
            heads: to_wire(&kind.genesis(new_actor()).get_heads()),
            changes: Vec::new(),
        };
        let nowhere = household(Uuid::now_v7());
        let (plan, served) = serve_with(&request(3, Vec::new(), vec![offer(nowhere)]), loaded());
        assert_eq!(plan.to_load(), &BTreeSet::from([kind.id()]));
        let served = served.unwrap();
        assert!(
            matches!(&served.response.docs[0].status, ReplyStatus::Refused { code, .. } if code == "kind_mismatch"),
            "{served:?}"
        );
        assert!(served.writes.is_empty());
        let value: Street = docs::read(&street).unwrap();
        let address: Uuid = value.addresses.keys().next().unwrap().parse().unwrap();
        let here = household(address);
        let (_, served) = serve_with(&request(4, Vec::new(), vec![offer(here)]), loaded());
        let served = served.unwrap();
        assert_eq!(
            served.writes.iter().map(|w| w.kind).collect::<Vec<_>>(),
            vec![here]
        );
        assert!(served.writes[0].created);
        assert!(served.read.is_empty(), "the phone has all there is");
    }

    /// One document's changes break the schema, another's are good, in one request: the
    /// good one is written and acknowledged, the bad one is refused and left as it was; a
    /// followed street that is not the person's is refused as a document, not the request.
    #[test]
    fn a_refused_document_does_not_block_the_others() {
        let (kind, mut street) = demo::street(new_actor()).unwrap();
        let heads = street.get_heads();
        let catalog = Catalog {
            docs: [(
                kind.id(),
                CatalogEntry {
                    kind,
                    heads: heads.clone(),
                },
            )]
            .into(),
            ..Catalog::default()
        };
        // The street with a visit at an address it lacks.
        let mut bad = street.fork().with_actor(new_actor());
        let visit = crate::model::Visit {
            address: Uuid::now_v7().to_string(),
            author: "Sanne".into(),
            at_ms: 0,
            outcome: crate::model::Outcome::Talked,
            return_on: None,
        };
        docs::put_entry(&mut bad, docs::VISITS, &docs::new_id(), &visit).unwrap();
        bad.commit();
        let bad_offer = DocOffer {
            id: kind.id(),
            kind: None,
            since: Some(to_wire(&heads)),
            heads: to_wire(&bad.get_heads()),
            changes: changes_since(&mut bad, &heads),
        };
        // A household at one of the street's addresses, new.
        let value: Street = docs::read(&street).unwrap();
        let address: Uuid = value.addresses.keys().next().unwrap().parse().unwrap();
        let household = DocKind::Household {
            street: demo::street_id(),
            address,
            epoch: 0,
        };
        let mut genesis = household.genesis(new_actor());
        let good_offer = DocOffer {
            id: household.id(),
            kind: Some(household),
            since: Some(Vec::new()),
            heads: to_wire(&genesis.get_heads()),
            changes: changes_since(&mut genesis, &[]),
        };
        let elsewhere = Uuid::now_v7();
        let request = request(
            1,
            vec![demo::street_id(), elsewhere],
            vec![bad_offer, good_offer],
        );
        let plan = Plan::new(&request, &catalog, &coach());
        let incoming = Incoming::read(request.clone()).unwrap();
        let loaded = BTreeMap::from([(kind.id(), street.clone())]);
        let mut served = serve(&incoming, &catalog, &plan, loaded, &new_actor(), &writers())
            .expect("the request is served");

        let status = |id: DocumentId| {
            served
                .response
                .docs
                .iter()
                .find(|r| r.id == id)
                .map(|r| r.status.clone())
        };
        assert!(
            matches!(status(kind.id()), Some(ReplyStatus::Refused { code, reason })
                if code == "schema_violation" && reason.contains("unknown address")),
            "{:?}",
            status(kind.id())
        );
        assert_eq!(status(household.id()), Some(ReplyStatus::Merged));
        let other = DocKind::Street {
            street: elsewhere,
            epoch: 0,
        }
        .id();
        assert!(
            matches!(status(other), Some(ReplyStatus::Refused { code, .. }) if code == "no_access")
        );
        assert_eq!(
            served.writes.iter().map(|w| w.id).collect::<Vec<_>>(),
            vec![household.id()],
            "only the good document is written"
        );
        assert_eq!(
            served.refused,
            vec![(other, "no_access"), (kind.id(), "schema_violation")]
        );
        assert_eq!(
            served.docs.get_mut(&kind.id()).unwrap().get_heads(),
            heads,
            "the refused street is as it was loaded"
        );
        let refused_reply = served.response.docs.iter().find(|r| r.id == kind.id());
        assert!(refused_reply.is_some_and(|r| r.heads.is_none() && r.changes.is_empty()));
    }
}
