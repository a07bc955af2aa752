//! What waits to be sent, in the words of the person who made it: visits, notes and the
//! doors they are at, and how old the oldest waiting edit is.
//!
//! Read from the documents themselves: what a document holds now that it did not hold at
//! the heads the server acknowledged (Automerge's diff between the two). So it is the same
//! in every tab and after a reload, and it counts what was typed once however many
//! keystrokes it took.
//!
//! - A **visit** waits when the street document holds a visit the server lacks.
//! - A **note** waits when a visit's conversation notes or contribution (in its
//!   household document) read otherwise than on the server: a new visit with notes typed
//!   is one visit and one note; a new visit without notes is a visit only.
//! - A **door** waits when anything about it does: a visit, a note, a wish, a signal,
//!   consent or the resident's details.
//! - Documents waiting count every document with changes the server has not acknowledged,
//!   also changes no person would name (text typed and deleted again).
//!
//! The age is the oldest, over the waiting documents, of when the first edit the server
//! has not acknowledged was made (kept in storage per document, see `store`).

use std::collections::BTreeSet;

use voordeur_shared::{
    automerge::{
        AutoCommit, ChangeHash, ObjId, ObjType, Patch, PatchAction, Prop, ROOT, ReadDoc,
        ScalarValue, Value,
    },
    docs::{self, DocKind, genesis_actor},
};

/// What waits on a device, counted as a person counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Waiting {
    /// Documents with changes the server has not acknowledged.
    pub docs: usize,
    pub visits: usize,
    pub notes: usize,
    pub doors: usize,
    /// When the oldest waiting edit was made, if known.
    pub since_ms: Option<i64>,
}

impl Waiting {
    pub fn any(&self) -> bool {
        self.docs > 0
    }
}

/// What waits in one document: ids of the visits, the visits whose notes changed, the
/// doors (address ids).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DocWaiting {
    pub visits: BTreeSet<String>,
    pub notes: BTreeSet<String>,
    pub doors: BTreeSet<String>,
}

/// What `doc` (of `kind`) holds that it did not at `server` (the heads the server
/// acknowledged; empty: never acknowledged, so all but the genesis).
pub fn in_doc(kind: DocKind, doc: &mut AutoCommit, server: &[ChangeHash]) -> DocWaiting {
    let before = if server.is_empty() {
        kind.genesis(genesis_actor()).get_heads()
    } else {
        server.to_vec()
    };
    let before: Vec<ChangeHash> = if before.iter().all(|h| doc.get_change_by_hash(h).is_some()) {
        before
    } else {
        Vec::new()
    };
    let after = doc.get_heads();
    let patches = doc.diff(&before, &after);
    let mut waiting = DocWaiting::default();
    if patches.is_empty() {
        return waiting;
    }
    match kind {
        DocKind::Street { .. } => {
            let visits = map(doc, &ROOT, docs::VISITS.name);
            let mut touched = BTreeSet::new();
            for patch in &patches {
                match path(patch).as_slice() {
                    [top, visit, ..] if top == docs::VISITS.name => {
                        touched.insert(visit.clone());
                    }
                    [top, wish, ..] if top == docs::WISHES.name => {
                        let wishes = map(doc, &ROOT, docs::WISHES.name);
                        let wish = wishes.and_then(|w| map(doc, &w, wish));
                        if let Some(visit) = wish.and_then(|w| text(doc, &w, "visit"))
                            && let Some(door) = visits
                                .as_ref()
                                .and_then(|v| map(doc, v, &visit))
                                .and_then(|v| text(doc, &v, "address"))
                        {
                            waiting.doors.insert(door);
                        }
                    }
                    _ => {}
                }
            }
            for visit in touched {
                let Some(obj) = visits.as_ref().and_then(|v| map(doc, v, &visit)) else {
                    continue;
                };
                if let Some(door) = text(doc, &obj, "address") {
                    waiting.doors.insert(door);
                }
                let on_server = visits
                    .as_ref()
                    .and_then(|v| doc.get_at(v, visit.as_str(), &before).ok().flatten())
                    .is_some();
                if !on_server {
                    waiting.visits.insert(visit);
                }
            }
        }
        DocKind::Household { address, .. } => {
            waiting.doors.insert(address.to_string());
            let conversations = map(doc, &ROOT, docs::CONVERSATIONS.name);
            let touched: BTreeSet<String> = patches
                .iter()
                .filter_map(|patch| match path(patch).as_slice() {
                    [top, visit, ..] if top == docs::CONVERSATIONS.name => Some(visit.clone()),
                    _ => None,
                })
                .collect();
            for visit in touched {
                let Some(obj) = conversations.as_ref().and_then(|c| map(doc, c, &visit)) else {
                    continue;
                };
                let now = conversation(doc, &obj, None);
                let then = conversation(doc, &obj, Some(&before));
                if now != then {
                    waiting.notes.insert(visit);
                }
            }
        }
        DocKind::Confidential { address, .. } => {
            waiting.doors.insert(address.to_string());
        }
    }
    waiting
}

/// Where a patch is, as the keys from the root down to what it changed.
fn path(patch: &Patch) -> Vec<String> {
    let mut keys: Vec<String> = patch
        .path
        .iter()
        .map(|(_, prop)| match prop {
            Prop::Map(key) => key.clone(),
            Prop::Seq(index) => index.to_string(),
        })
        .collect();
    match &patch.action {
        PatchAction::PutMap { key, .. } | PatchAction::DeleteMap { key } => keys.push(key.clone()),
        _ => {}
    }
    keys
}

fn map(doc: &AutoCommit, obj: &ObjId, key: &str) -> Option<ObjId> {
    match doc.get(obj, key).ok()? {
        Some((Value::Object(ObjType::Map), id)) => Some(id),
        _ => None,
    }
}

fn text(doc: &AutoCommit, obj: &ObjId, key: &str) -> Option<String> {
    match doc.get(obj, key).ok()? {
        Some((Value::Scalar(value), _)) => match value.as_ref() {
            ScalarValue::Str(text) => Some(text.to_string()),
            _ => None,
        },
        Some((Value::Object(ObjType::Text), id)) => doc.text(&id).ok(),
        _ => None,
    }
}

/// A conversation's notes and contribution, now or at `heads`.
fn conversation(doc: &AutoCommit, obj: &ObjId, heads: Option<&[ChangeHash]>) -> (String, String) {
    let field = |key: &str| -> String {
        let value = match heads {
            Some(heads) => doc.get_at(obj, key, heads).ok().flatten(),
            None => doc.get(obj, key).ok().flatten(),
        };
        match value {
            Some((Value::Object(ObjType::Text), id)) => match heads {
                Some(heads) => doc.text_at(&id, heads).unwrap_or_default(),
                None => doc.text(&id).unwrap_or_default(),
            },
            Some((Value::Scalar(value), _)) => match value.as_ref() {
                ScalarValue::Str(text) => text.to_string(),
                _ => String::new(),
            },
            _ => String::new(),
        }
    };
    (field("notes"), field("contribution"))
}
