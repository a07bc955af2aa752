//! Changes the server refused, set aside.
//!
//! When the server refuses one document of a sync (see `voordeur_shared::sync`: the person
//! no longer works in that street, a change breaks the rules...), the replica takes that
//! document's unacknowledged changes out of it ([`SetAside`]) and the document goes back
//! to the server's version, so it syncs on. The phone keeps the changes, sealed, as an
//! [`Aside`] (one per document, in `store`), never offers them again by itself, and tells
//! the person what was refused, at which door, and what to do ([`Refusal`]). If the person
//! taps "try again", the changes go back into their document and out with the next sync.

use serde::{Deserialize, Serialize};
use voordeur_shared::{docs::DocKind, ids::AddressId, sync::client::SetAside, uuid::Uuid};

/// A document's changes that the server refused, as stored (postcard: the fields and
/// their order are the stored format).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Aside {
    pub kind: DocKind,
    /// Automerge change chunks, one after the other (every refusal's, in order).
    pub changes: Vec<u8>,
    /// The latest refusal's code (see `voordeur_shared::sync::refusal`) and the server's
    /// reason (for whoever helps the person; never shown as is).
    pub code: String,
    pub reason: String,
    /// When the latest refusal came in (ms since the Unix epoch).
    pub at_ms: i64,
    /// The doors the changes are about.
    pub doors: Vec<Uuid>,
}

impl Aside {
    pub fn new(set_aside: SetAside, at_ms: i64) -> Aside {
        Aside {
            kind: set_aside.kind,
            changes: set_aside.changes,
            code: set_aside.code,
            reason: set_aside.reason,
            at_ms,
            doors: set_aside.doors,
        }
    }

    /// Adds a later refusal of the same document: its changes after the earlier ones.
    pub fn add(&mut self, later: Aside) {
        self.changes.extend(later.changes);
        for door in later.doors {
            if !self.doors.contains(&door) {
                self.doors.push(door);
            }
        }
        self.code = later.code;
        self.reason = later.reason;
        self.at_ms = later.at_ms;
    }
}

/// What was refused, as far as the document's kind (and, for a street, the changes) say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Visits (and their wishes) in the street document.
    Visits,
    /// Other changes to the street document (a wish's follow-up...).
    StreetChanges,
    /// What was said at the door: notes, contribution, consent, name and contact.
    Notes,
    /// A care signal or moving wish.
    Signal,
}

/// Why the server refused, in the categories the person is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    /// The street is not the person's any more (or the document never was).
    NoAccess,
    /// The person may not change this.
    Forbidden,
    /// The server found the changes invalid.
    Invalid,
    /// The changes arrived damaged.
    Damaged,
    Other,
}

impl Why {
    pub fn of(code: &str) -> Why {
        match code {
            "no_access" => Why::NoAccess,
            "forbidden" => Why::Forbidden,
            "schema_violation" | "kind_mismatch" | "unknown_document" | "unknown_street" => {
                Why::Invalid
            }
            "bad_changes" => Why::Damaged,
            _ => Why::Other,
        }
    }
}

/// A refusal as the person is told of it: what, where, why, when. The words are
/// [`Refusal::message`]'s (in `crate::error`).
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    /// The document whose changes are set aside ("try again" names it).
    pub doc: voordeur_shared::docs::DocumentId,
    pub what: Refused,
    /// The street's name.
    pub street: String,
    /// The doors, each as its building and number ("Lindenhof 1A").
    pub doors: Vec<(AddressId, String)>,
    pub why: Why,
    pub at_ms: i64,
}

impl Refusal {
    /// Whether the refusal concerns door `address`.
    pub fn at(&self, address: AddressId) -> bool {
        self.doors.iter().any(|(id, _)| *id == address)
    }
}
