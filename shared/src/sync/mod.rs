//! The sync protocol: one request carries everything a client has that the server lacks,
//! for all its documents at once; the response carries everything the server has that the
//! client lacks.
//!
//! # The exchange, step by step
//!
//! 1. For every document it holds, the client offers a [`DocOffer`]: `since`, the server
//!    heads it last saw acknowledged (empty for a document the server has never
//!    acknowledged), `heads`, its own current heads, and `changes`, every change of its own
//!    that is not an ancestor of `since` (see [`changes_since`]). It also names the streets
//!    it follows, so it learns of documents it does not have yet.
//! 2. The server applies the changes (Automerge ignores changes it already has, so a
//!    retried request applies nothing twice), checks the document against its schema,
//!    commits, and answers each offer with a [`DocReply`]: its new heads and every change
//!    that is not an ancestor of the client's `heads`. Documents of a followed street the
//!    client did not offer come back whole. A followed street that is not the person's
//!    (any more) is not an error of the request: its documents are refused one by one.
//! 3. The client applies the reply and remembers the server's heads as its next `since`.
//!
//! Each document is applied whole or not at all, and one document never blocks the
//! others. A document whose changes the server will not take (they break the schema, do
//! more than their author may, are for a document or a street the person may not see or
//! change, or do not apply) is answered [`ReplyStatus::Refused`] with a code and a reason:
//! nothing of it is stored or audited as changed, and the request's other documents are
//! merged, committed and answered as usual. The client sets that document's unsent changes
//! aside (kept, with the refusal, never offered again unless the person retries them),
//! goes back to the server's version of the document, and syncs on. Only what makes the
//! whole request suspect refuses the whole request (a 4xx, nothing stored): a malformed
//! message, a document offered twice, changes that do not parse, damaged bytes, a
//! compression bomb.
//!
//! If the server does not have everything the client says it saw (a restored backup, a new
//! server), it cannot apply the client's changes or compute what the client lacks. It then
//! answers [`ReplyStatus::SendEverything`] for that document and stores nothing of it; the
//! client offers the whole document in its next request, which converges. That is the one
//! extra round trip.
//!
//! The client half lives in [`client`], the server half in [`server`]; both are sans-IO.
//! The server wraps [`server::serve`] in its store's transaction (`voordeur_server::exchange`),
//! and the simulation (`server/tests/sim.rs`) runs that exchange, over an in-memory store,
//! on a network that drops, duplicates, reorders and retries messages. [`wire`] is the
//! byte encoding.

pub mod chunks;
pub mod client;
pub mod rules;
pub mod server;
pub mod wire;

use automerge::ChangeHash;
use uuid::Uuid;

use crate::docs::{DocKind, DocumentId};

/// A change hash on the wire.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct Hash(pub [u8; 32]);

impl From<ChangeHash> for Hash {
    fn from(h: ChangeHash) -> Self {
        Hash(h.0)
    }
}

impl From<Hash> for ChangeHash {
    fn from(h: Hash) -> Self {
        ChangeHash(h.0)
    }
}

/// The changes of `doc` that are not ancestors of `heads`, for the wire.
///
/// Several changes travel as one Automerge bundle, which encodes them in columns as a
/// saved document does (actor ids, keys and dependency hashes once, not per change); a
/// single change travels as its uncompressed chunk. The message as a whole is compressed
/// once more (see [`wire`]). Which changes is asked of their metadata alone: the bundle
/// is built from the op set by hash, so whole changes are built only for a single one
/// (building every change and then the bundle was a fifth of a busy server's time).
pub fn changes_since(doc: &mut automerge::AutoCommit, heads: &[ChangeHash]) -> Vec<u8> {
    let hashes: Vec<ChangeHash> = doc
        .get_changes_meta(heads)
        .into_iter()
        .map(|meta| meta.hash)
        .collect();
    if hashes.len() > 1
        && let Ok(bundle) = doc.bundle(hashes.iter().copied())
    {
        return bundle.bytes().to_vec();
    }
    let changes = match hashes.as_slice() {
        [] => Vec::new(),
        [one] => doc.get_change_by_hash(one).into_iter().collect(),
        _ => doc.get_changes(heads),
    };
    changes
        .iter()
        .flat_map(|change| change.raw_bytes().iter().copied())
        .collect()
}

pub(crate) fn to_wire(heads: &[ChangeHash]) -> Vec<Hash> {
    heads.iter().copied().map(Hash::from).collect()
}

pub(crate) fn from_wire(heads: &[Hash]) -> Vec<ChangeHash> {
    heads.iter().copied().map(ChangeHash::from).collect()
}

/// What a client sends.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct SyncRequest {
    /// Chosen by the client; the response names it, so the client knows which of its
    /// requests it answers.
    pub id: u64,
    /// Streets whose documents the client wants to receive, including ones it lacks.
    pub streets: Vec<Uuid>,
    /// One offer per document the client holds.
    pub docs: Vec<DocOffer>,
}

/// A client's offer for one document.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DocOffer {
    pub id: DocumentId,
    /// What the document is about; sent until the server has acknowledged the document
    /// (and when the server asks for everything), so the server can check and create it.
    pub kind: Option<DocKind>,
    /// The server heads the client last saw acknowledged; empty to offer everything;
    /// `None` when it equals `heads` (the client has nothing new), to save bytes.
    pub since: Option<Vec<Hash>>,
    /// The client's heads, once its `changes` are applied.
    pub heads: Vec<Hash>,
    /// Automerge changes the client made since `since` (uncompressed change chunks).
    pub changes: Vec<u8>,
}

/// What the server answers.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct SyncResponse {
    /// The id of the request this answers.
    pub request: u64,
    pub docs: Vec<DocReply>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ReplyStatus {
    /// The server merged the offer; `changes` is all the client lacks.
    Merged,
    /// The server lacks history the client assumed it has: offer the whole document again.
    SendEverything,
    /// The server refused this document's changes and stored nothing of them; the other
    /// documents of the request are answered as usual. The reply carries neither heads nor
    /// changes. (Postcard encodes variants by their index: new ones go last.)
    Refused {
        /// Why, as a short stable code ([`Refusal`]'s codes).
        code: String,
        /// The server's words, for logs and whoever helps the person (not for the screen).
        reason: String,
    },
    /// The document was erased at a resident's request (`crate::erase`): the server took
    /// nothing of the offer and never will. The client drops the document, with its
    /// unsent changes, and carries over to the successor (if any) what of them does not
    /// touch what was erased.
    Gone(crate::erase::Gone),
}

/// The codes of [`ReplyStatus::Refused`]: why the server refused one document.
pub mod refusal {
    /// The document (or its street) is not the person's to see: they no longer work in that
    /// street, or never did.
    pub const NO_ACCESS: &str = "no_access";
    /// The person may see the document but not make these changes (see `rules`).
    pub const FORBIDDEN: &str = "forbidden";
    /// The changes break the document's schema.
    pub const SCHEMA_VIOLATION: &str = "schema_violation";
    /// The document is not what its kind says, or is at an address the street lacks.
    pub const KIND_MISMATCH: &str = "kind_mismatch";
    /// A document clients may not create (a street).
    pub const UNKNOWN_DOCUMENT: &str = "unknown_document";
    /// The changes do not apply to the document (a change forged or damaged).
    pub const BAD_CHANGES: &str = "bad_changes";
    /// The document was erased (HTTP's 410 Gone, for one document): see
    /// [`super::ReplyStatus::Gone`].
    pub const ERASED: &str = "erased";
}

/// The server's answer for one document.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DocReply {
    pub id: DocumentId,
    /// What the document is about, for a document the client did not offer.
    pub kind: Option<DocKind>,
    pub status: ReplyStatus,
    /// The server's heads after the merge; `None` when they are the heads the client
    /// offered for this document in request [`SyncResponse::request`] (the common case:
    /// 32 incompressible bytes a document saved).
    pub heads: Option<Vec<Hash>>,
    /// Changes the client lacks (uncompressed change chunks, or a whole saved document).
    pub changes: Vec<u8>,
}

/// Why the server refused a request, or one document of it.
///
/// Malformed requests, a document offered twice, changes that do not parse and damaged
/// bytes refuse the whole request: nothing of it is stored. The others concern one
/// document: the server answers that document [`ReplyStatus::Refused`] (see
/// [`SyncError::refusal`]) and serves the rest.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SyncError {
    #[error("request is malformed: {0}")]
    Malformed(String),
    #[error("document {0} is offered twice")]
    DuplicateDocument(DocumentId),
    #[error("unknown street {0}")]
    UnknownStreet(Uuid),
    #[error("unknown document {0}")]
    UnknownDocument(DocumentId),
    #[error("document {id} is not what its kind says: {reason}")]
    KindMismatch { id: DocumentId, reason: String },
    #[error("changes for document {id} are not valid Automerge: {reason}")]
    BadChanges { id: DocumentId, reason: String },
    #[error("changes for document {id} break the schema: {reason}")]
    SchemaViolation { id: DocumentId, reason: String },
    #[error("not allowed: {0}")]
    Forbidden(String),
    /// Automerge panicked on the request's bytes (caught: see `chunks`); the request is
    /// refused as damaged, whatever the cause.
    #[error("request is damaged: {0}")]
    Damaged(String),
}

impl SyncError {
    /// The code this error has as one document's refusal, if it concerns one document
    /// only; `None` for an error that refuses the whole request.
    pub fn refusal(&self) -> Option<&'static str> {
        match self {
            SyncError::KindMismatch { .. } => Some(refusal::KIND_MISMATCH),
            SyncError::BadChanges { .. } => Some(refusal::BAD_CHANGES),
            SyncError::SchemaViolation { .. } => Some(refusal::SCHEMA_VIOLATION),
            SyncError::Forbidden(_) => Some(refusal::FORBIDDEN),
            SyncError::UnknownDocument(_) => Some(refusal::UNKNOWN_DOCUMENT),
            // A household whose street the server lacks: that document's fault alone.
            SyncError::UnknownStreet(_) => Some(refusal::KIND_MISMATCH),
            SyncError::Malformed(_) | SyncError::DuplicateDocument(_) | SyncError::Damaged(_) => {
                None
            }
        }
    }

    /// A short stable code for the error, for clients to branch on.
    pub fn code(&self) -> &'static str {
        match self {
            SyncError::Malformed(_) => "malformed",
            SyncError::DuplicateDocument(_) => "duplicate_document",
            SyncError::UnknownStreet(_) => "unknown_street",
            SyncError::UnknownDocument(_) => "unknown_document",
            SyncError::KindMismatch { .. } => "kind_mismatch",
            SyncError::BadChanges { .. } => "bad_changes",
            SyncError::SchemaViolation { .. } => "schema_violation",
            SyncError::Forbidden(_) => "forbidden",
            SyncError::Damaged(_) => "damaged",
        }
    }
}
