//! The server half of the sync protocol, without IO.
//!
//! The server's store calls it in three steps: [`Catalog::wanted`] says which rows to
//! read, [`serve`] decides everything against the documents read, and the store then
//! commits the returned [`DocWrite`]s in one transaction before it sends the response.
//! `serve` either succeeds for the whole request or changes nothing.

use std::collections::{BTreeMap, BTreeSet};

use automerge::{ActorId, AutoCommit, ChangeHash};
use uuid::Uuid;

use super::{
    DocOffer, DocReply, ReplyStatus, SyncError, SyncRequest, SyncResponse, changes_since,
    chunks::parse_changes, from_wire, to_wire,
};
use crate::{
    access::Grant,
    docs::{DocKind, DocumentId},
    model::Street,
};

/// What the server holds that a request touches: every document of the streets the request
/// follows or offers documents for, and every document it offers.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    pub docs: BTreeMap<DocumentId, CatalogEntry>,
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
        self.docs.contains_key(&DocKind::Street { street }.id())
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

/// Which documents' contents `serve` needs: the offered ones the server has (unless idle),
/// and the ones of followed streets the client lacks and may read. A household offered
/// for the first time also needs its street, to check that its address exists.
pub fn documents_to_load(
    request: &SyncRequest,
    catalog: &Catalog,
    grant: &Grant,
) -> BTreeSet<DocumentId> {
    let offered: BTreeMap<DocumentId, &DocOffer> = request.docs.iter().map(|o| (o.id, o)).collect();
    let followed: BTreeSet<Uuid> = request.streets.iter().copied().collect();
    let mut load: BTreeSet<DocumentId> = catalog
        .docs
        .iter()
        .filter(|(id, entry)| match offered.get(id) {
            Some(offer) => !is_idle(offer, catalog),
            None => followed.contains(&entry.kind.street()) && grant.access(&entry.kind).read,
        })
        .map(|(id, _)| *id)
        .collect();
    for offer in &request.docs {
        if let Some(kind) = offer.kind
            && !catalog.docs.contains_key(&offer.id)
        {
            load.insert(
                DocKind::Street {
                    street: kind.street(),
                }
                .id(),
            );
        }
    }
    load.retain(|id| catalog.docs.contains_key(id));
    load
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
}

/// The outcome of a request the server accepted.
#[derive(Debug, Clone)]
pub struct Served {
    pub response: SyncResponse,
    pub writes: Vec<DocWrite>,
    /// Every document the request touched, as it is once the writes are committed (for a
    /// server that keeps documents in memory).
    pub docs: BTreeMap<DocumentId, AutoCommit>,
}

/// Answers `request` of a person with `grant` against the documents in `loaded` (as
/// [`documents_to_load`] chose them); new documents are created with `actor`.
///
/// The request is refused whole, as [`SyncError::Forbidden`], if it follows a street the
/// person does not work in, offers a document they may neither read nor write, or brings
/// changes to a document they may not write (see [`crate::access`]). Documents they may
/// write but not read are merged, and answered without a single change or head of the
/// server's.
pub fn serve(
    request: &SyncRequest,
    catalog: &Catalog,
    mut loaded: BTreeMap<DocumentId, AutoCommit>,
    actor: &ActorId,
    grant: &Grant,
) -> Result<Served, SyncError> {
    for street in &request.streets {
        if !grant.follows(*street) {
            return Err(SyncError::Forbidden(format!(
                "street {street} is not one of yours"
            )));
        }
        if !catalog.has_street(*street) {
            return Err(SyncError::UnknownStreet(*street));
        }
    }
    let mut offers: Vec<(DocKind, &DocOffer)> = Vec::with_capacity(request.docs.len());
    let mut replies = Vec::with_capacity(request.docs.len());
    let mut seen = BTreeSet::new();
    for offer in &request.docs {
        if !seen.insert(offer.id) {
            return Err(SyncError::DuplicateDocument(offer.id));
        }
        match kind_of(offer, catalog)? {
            Some(kind) => {
                check_allowed(grant, &kind, offer)?;
                offers.push((kind, offer));
            }
            // A document the client believes the server has, but this server lacks (a
            // restored backup): ask for the whole document, with its kind.
            None => replies.push(DocReply {
                id: offer.id,
                kind: None,
                status: ReplyStatus::SendEverything,
                heads: Some(Vec::new()),
                changes: Vec::new(),
            }),
        }
    }
    // Streets first: a household created in this request is checked against its street.
    offers.sort_by_key(|(kind, _)| !matches!(kind, DocKind::Street { .. }));

    let mut writes = Vec::new();
    for (kind, offer) in offers {
        if is_idle(offer, catalog) {
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
            None => {
                check_creatable(&kind, &loaded, offer.id)?;
                kind.genesis(actor.clone())
            }
        };
        let readable = grant.access(&kind).read;
        let (reply, write) = merge_offer(&mut doc, kind, offer, existed, readable)?;
        replies.push(reply);
        writes.extend(write);
        // Merged streets are needed for the households after them.
        loaded.insert(offer.id, doc);
    }

    let offered: BTreeSet<DocumentId> = request.docs.iter().map(|o| o.id).collect();
    let followed: BTreeSet<Uuid> = request.streets.iter().copied().collect();
    for (id, CatalogEntry { kind, .. }) in &catalog.docs {
        if offered.contains(id) || !followed.contains(&kind.street()) || !grant.access(kind).read {
            continue;
        }
        let Some(doc) = loaded.get_mut(id) else {
            return Err(SyncError::Malformed(format!(
                "document {id} was not loaded"
            )));
        };
        replies.push(DocReply {
            id: *id,
            kind: Some(*kind),
            status: ReplyStatus::Merged,
            heads: Some(to_wire(&doc.get_heads())),
            // Uncompressed: the response is compressed whole.
            changes: doc.save_nocompress(),
        });
    }
    Ok(Served {
        response: SyncResponse {
            request: request.id,
            docs: replies,
        },
        writes,
        docs: loaded,
    })
}

/// Refuses an offer for a document `grant` may not touch, or changes it may not write.
fn check_allowed(grant: &Grant, kind: &DocKind, offer: &DocOffer) -> Result<(), SyncError> {
    let access = grant.access(kind);
    if !access.any() {
        return Err(SyncError::Forbidden(format!(
            "document {} is not yours to see",
            offer.id
        )));
    }
    if !access.write && !offer.changes.is_empty() {
        return Err(SyncError::Forbidden(format!(
            "document {} is not yours to change",
            offer.id
        )));
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
    let street_doc = loaded
        .get(&DocKind::Street { street }.id())
        .ok_or(SyncError::UnknownStreet(street))?;
    let street_value: Street = crate::docs::read(street_doc)
        .map_err(|e| SyncError::Malformed(format!("street {street} does not read: {e}")))?;
    match street_value.addresses.get(&address.to_string()) {
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

fn merge_offer(
    doc: &mut AutoCommit,
    kind: DocKind,
    offer: &DocOffer,
    existed: bool,
    readable: bool,
) -> Result<(DocReply, Option<DocWrite>), SyncError> {
    let before = doc.get_heads();
    if !offer.changes.is_empty() {
        let changes = parse_changes(&offer.changes).map_err(|reason| SyncError::BadChanges {
            id: offer.id,
            reason,
        })?;
        doc.apply_changes(changes)
            .map_err(|e| SyncError::BadChanges {
                id: offer.id,
                reason: e.to_string(),
            })?;
    }
    let client_heads: Vec<ChangeHash> = from_wire(&offer.heads);
    let has_all = client_heads
        .iter()
        .all(|h| doc.get_change_by_hash(h).is_some());
    if !has_all || !doc.get_missing_deps(&[]).is_empty() {
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
    let after = doc.get_heads();
    let write = if after != before || !existed {
        kind.validate(doc)
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
