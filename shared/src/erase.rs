//! A resident's request to be forgotten, and what it takes out of the documents, history
//! included.
//!
//! Automerge keeps every change for ever, so nothing can be taken out of a document's
//! history: a document that must lose something is made anew, at a new epoch (a new id),
//! from its current state without what goes ([`renew`]), and the old one is deleted. The
//! server keeps a register of every document id that went, and answers any later offer of
//! one with [`Gone`] (`ReplyStatus::Gone`), so a phone that comes back after months can
//! bring nothing back.
//!
//! - **Consent withdrawn** ([`Request::ConsentWithdrawn`]): the resident's name and
//!   contact leave the household's history; the notes stay. The household's documents
//!   (its household document and each partner's confidential one) are made anew at the
//!   next household epoch, without the name; the street document only moves the address's
//!   `household_epoch` on.
//! - **Erasure** ([`Request::Erasure`]): everything about the household goes. Its
//!   household and confidential documents are deleted; the street document is made anew
//!   at its next epoch without what could identify the household: its visits keep their
//!   outcome and week (a week's counts identify no one) but lose their address, time and
//!   planned return; the wishes raised at them lose their text and the follow-ups of those
//!   wishes their notes; the door's cleared refusals and activity invitations go.
//!
//! A phone moves its own unsent work to the documents made anew ([`replay`]): what it
//! changed since the server last acknowledged is carried over, key by key, onto the
//! successor, except what touches what was erased ([`Gone::drops`]); notes are merged as
//! text.

use std::collections::BTreeSet;

use automerge::{
    ActorId, AutoCommit, AutomergeError, ChangeHash, ObjId, ObjType, ROOT, ReadDoc, ScalarValue,
    Value,
    transaction::{CommitOptions, Transactable},
};
use uuid::Uuid;

use crate::{
    docs::{
        self, ACTIVITIES, ADDRESSES, CLEARANCES, CORRECTIONS, DocKind, DocumentId, EditError,
        FOLLOW_UPS, VISITS, WISHES,
    },
    model::{Consent, Partner},
    report::week_start,
};

/// What a resident asked for.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Request {
    /// Name and contact go, from the history too; the notes stay.
    ConsentWithdrawn,
    /// Everything about the household goes.
    Erasure,
}

impl Request {
    /// Its name in the register, the audit log and the API.
    pub fn label(self) -> &'static str {
        match self {
            Request::ConsentWithdrawn => "consent_withdrawn",
            Request::Erasure => "erasure",
        }
    }

    pub fn from_label(label: &str) -> Option<Request> {
        [Request::ConsentWithdrawn, Request::Erasure]
            .into_iter()
            .find(|r| r.label() == label)
    }
}

/// Why a document is gone, as the server tells a phone that offers it: the request, the
/// door, when, and the document that holds what was kept (none: all of it went).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Gone {
    pub request: Request,
    pub address: Uuid,
    pub at_ms: i64,
    pub successor: Option<DocKind>,
}

impl Gone {
    /// Whether an edit at `path` (map keys from the root) of a document of `kind`, whose
    /// current state is `doc`, touches what this request took out, so that it must not be
    /// carried over to the successor.
    pub fn drops(&self, kind: &DocKind, doc: &AutoCommit) -> impl Fn(&[String]) -> bool + use<> {
        let address = self.address.to_string();
        let dropped: Drops = match (kind, self.request) {
            (DocKind::Household { .. }, Request::ConsentWithdrawn) => {
                Box::new(|path: &[String]| {
                    matches!(
                        path.first().map(String::as_str),
                        Some("resident" | "consent")
                    )
                })
            }
            (DocKind::Street { .. }, Request::Erasure) => {
                let erased = Erased::read(doc, &address);
                Box::new(move |path: &[String]| erased.touches(path))
            }
            (DocKind::Street { .. }, Request::ConsentWithdrawn) => {
                // Only the address's epoch moved; a phone may not move it.
                Box::new(move |path: &[String]| {
                    path.len() >= 3
                        && path[0] == ADDRESSES.name
                        && path[1] == address
                        && path[2] == "household_epoch"
                })
            }
            // A confidential document moves whole; an erased household has no successor.
            _ => Box::new(|_: &[String]| false),
        };
        dropped
    }
}

/// Whether an edit at a path touches what was erased.
type Drops = Box<dyn Fn(&[String]) -> bool>;

/// What an erasure takes out of a street document: the visits at the door, the wishes
/// raised at them and their follow-ups, the corrections of those visits, the door's
/// clearances and invitations.
#[derive(Debug, Clone, Default)]
struct Erased {
    address: String,
    visits: BTreeSet<String>,
    wishes: BTreeSet<String>,
    corrections: BTreeSet<String>,
    clearances: BTreeSet<String>,
}

impl Erased {
    fn read(doc: &AutoCommit, address: &str) -> Erased {
        fn ids<T>(found: Result<Vec<(String, T)>, EditError>) -> BTreeSet<String> {
            found
                .map(|found| found.into_iter().map(|(id, _)| id).collect())
                .unwrap_or_default()
        }
        let visits = ids(docs::entries_where(doc, VISITS, "address", |a| {
            a == address
        }));
        let wishes = ids(docs::entries_where(doc, WISHES, "visit", |v| {
            visits.contains(v)
        }));
        let corrections = ids(docs::entries_where(doc, CORRECTIONS, "visit", |v| {
            visits.contains(v)
        }));
        let clearances = ids(docs::entries_where(doc, CLEARANCES, "address", |a| {
            a == address
        }));
        Erased {
            address: address.to_string(),
            visits,
            wishes,
            corrections,
            clearances,
        }
    }

    /// Whether a phone's edit at `path` touches the erased household: it is not carried
    /// over to the street made anew.
    fn touches(&self, path: &[String]) -> bool {
        let key = |i: usize| path.get(i).map(String::as_str).unwrap_or_default();
        let name = key(0);
        (name == VISITS.name && self.visits.contains(key(1)))
            || (name == WISHES.name && self.wishes.contains(key(1)))
            || (name == CORRECTIONS.name && self.corrections.contains(key(1)))
            || (name == CLEARANCES.name && self.clearances.contains(key(1)))
            || (name == ADDRESSES.name && key(1) == self.address)
            || (name == FOLLOW_UPS && self.wishes.contains(key(2)))
            || (name == ACTIVITIES.name && key(2) == "invited" && key(3) == self.address)
    }

    /// How the street made anew holds the old one's value at `path`: each visit at the
    /// door keeps its outcome and the start of its week, and loses its address, time and
    /// planned return; each wish raised at them keeps its theme and loses its text; each
    /// follow-up of such a wish loses its note; the door's clearances and invitations go;
    /// the address's household epoch moves on.
    fn copy(&self, path: &[String], value: Option<&ScalarValue>) -> Copy {
        let key = |i: usize| path.get(i).map(String::as_str).unwrap_or_default();
        let (name, field) = (key(0), path.last().map(String::as_str).unwrap_or_default());
        let at = |len: usize| path.len() == len;
        if name == VISITS.name && self.visits.contains(key(1)) && at(3) {
            return match field {
                "address" => Copy::Put("".into()),
                "at_ms" => Copy::Put(ScalarValue::Int(week_start(
                    value.and_then(ScalarValue::as_i64).unwrap_or(0),
                ))),
                "return_on" => Copy::Put(ScalarValue::Null),
                _ => Copy::Keep,
            };
        }
        if name == WISHES.name && self.wishes.contains(key(1)) && at(3) && field == "text" {
            return Copy::Put("".into());
        }
        if name == FOLLOW_UPS && self.wishes.contains(key(2)) && at(4) && field == "note" {
            return Copy::Put("".into());
        }
        if name == CLEARANCES.name && self.clearances.contains(key(1)) {
            return Copy::Skip;
        }
        if name == ACTIVITIES.name && key(2) == "invited" && key(3) == self.address {
            return Copy::Skip;
        }
        if name == ADDRESSES.name && key(1) == self.address && at(3) && field == "household_epoch" {
            return Copy::Put(next_number(value.unwrap_or(&ScalarValue::Uint(0))));
        }
        Copy::Keep
    }
}

/// A document made anew: its kind and content.
#[derive(Debug)]
pub struct Renewed {
    pub kind: DocKind,
    pub doc: AutoCommit,
}

/// What carrying out a request does to the server's documents of one door.
#[derive(Debug)]
pub struct Carried {
    /// Documents made anew (created at their new epoch).
    pub created: Vec<Renewed>,
    /// The street document when it only changed (consent withdrawn: the address's epoch
    /// moved); its new changes are written after its stored ones.
    pub street_changed: Option<AutoCommit>,
    /// The documents that go, held or not, each with what a phone that offers it is told.
    pub gone: Vec<(DocumentId, Gone)>,
}

/// The documents of `address` at household epoch `epoch` in `street`: the household
/// document and every partner's confidential one, whether or not they exist.
pub fn household_kinds(street: Uuid, address: Uuid, epoch: u32) -> Vec<DocKind> {
    let household = DocKind::Household {
        street,
        address,
        epoch,
    };
    let confidential = Partner::ALL.map(|partner| DocKind::Confidential {
        street,
        address,
        epoch,
        partner,
    });
    std::iter::once(household).chain(confidential).collect()
}

/// Carries out `request` for `address` on the server's documents: `street` (of kind
/// `street_kind`) and `held`, the household documents of the address's current epoch that
/// exist. New content is written by `actor` at `at_ms`.
pub fn carry_out(
    request: Request,
    address: Uuid,
    street_kind: DocKind,
    street: &AutoCommit,
    held: &[(DocKind, &AutoCommit)],
    actor: &ActorId,
    at_ms: i64,
) -> Result<Carried, EditError> {
    let DocKind::Street {
        street: street_id,
        epoch: street_epoch,
    } = street_kind
    else {
        return Err(EditError::MissingCollection("street"));
    };
    let entry = docs::get_entry(street, ADDRESSES, &address.to_string())?.ok_or(
        EditError::MissingEntry {
            collection: ADDRESSES.name,
            key: address.to_string(),
        },
    )?;
    let epoch = entry.household_epoch;
    let next = |kind: DocKind| match kind {
        DocKind::Household {
            street, address, ..
        } => DocKind::Household {
            street,
            address,
            epoch: epoch + 1,
        },
        DocKind::Confidential {
            street,
            address,
            partner,
            ..
        } => DocKind::Confidential {
            street,
            address,
            epoch: epoch + 1,
            partner,
        },
        other => other,
    };
    let gone = |successor: Option<DocKind>| Gone {
        request,
        address,
        at_ms,
        successor,
    };
    let mut carried = Carried {
        created: Vec::new(),
        street_changed: None,
        gone: Vec::new(),
    };
    match request {
        Request::ConsentWithdrawn => {
            for kind in household_kinds(street_id, address, epoch) {
                carried.gone.push((kind.id(), gone(Some(next(kind)))));
            }
            for (kind, doc) in held {
                let household = matches!(kind, DocKind::Household { .. });
                let rule = |path: &[String], _: Option<&ScalarValue>| match path {
                    [first, ..] if household && first == "resident" => Copy::Skip,
                    [first] if household && first == "consent" => {
                        Copy::Put(Consent::Withdrawn.name().into())
                    }
                    _ => Copy::Keep,
                };
                carried.created.push(Renewed {
                    kind: next(*kind),
                    doc: renew(doc, next(*kind), actor, at_ms, &rule)?,
                });
            }
            let mut changed = street.clone().with_actor(actor.clone());
            let addresses = docs::collection(&changed, ADDRESSES)?;
            let (_, obj) =
                changed
                    .get(&addresses, address.to_string())?
                    .ok_or(EditError::MissingEntry {
                        collection: ADDRESSES.name,
                        key: address.to_string(),
                    })?;
            let held_epoch = changed.get(&obj, "household_epoch")?;
            let next_epoch = match held_epoch {
                Some((Value::Scalar(s), _)) => next_number(&s),
                _ => ScalarValue::Uint(u64::from(epoch) + 1),
            };
            changed.put(&obj, "household_epoch", next_epoch)?;
            changed.commit_with(CommitOptions::default().with_time(at_ms));
            carried.street_changed = Some(changed);
        }
        Request::Erasure => {
            for kind in household_kinds(street_id, address, epoch) {
                carried.gone.push((kind.id(), gone(None)));
            }
            let successor = DocKind::Street {
                street: street_id,
                epoch: street_epoch + 1,
            };
            carried.gone.push((street_kind.id(), gone(Some(successor))));
            let erased = Erased::read(street, &address.to_string());
            let rule = |path: &[String], value: Option<&ScalarValue>| erased.copy(path, value);
            carried.created.push(Renewed {
                kind: successor,
                doc: renew(street, successor, actor, at_ms, &rule)?,
            });
        }
    }
    Ok(carried)
}

/// `value`, a number, plus one, of the same type.
fn next_number(value: &ScalarValue) -> ScalarValue {
    match value {
        ScalarValue::Int(n) => ScalarValue::Int(n + 1),
        ScalarValue::Uint(n) => ScalarValue::Uint(n + 1),
        other => ScalarValue::Uint(other.as_u64().unwrap_or(0) + 1),
    }
}

/// What [`renew`] does with one value of the old document.
enum Copy {
    Keep,
    Skip,
    /// A scalar written in its place.
    Put(ScalarValue),
}

/// `old`'s current state as a new document of `kind`: its genesis and upgrades, then one
/// change by `actor` at `at_ms` (unsigned: the server's) with every value as `rule`
/// says (kept, left out, or written as another value: what is left out is in no
/// operation of the new change). Nothing of `old`'s history comes along.
fn renew(
    old: &AutoCommit,
    kind: DocKind,
    actor: &ActorId,
    at_ms: i64,
    rule: &dyn Fn(&[String], Option<&ScalarValue>) -> Copy,
) -> Result<AutoCommit, EditError> {
    let mut doc = kind.genesis(actor.clone());
    let mut path = Vec::new();
    copy_map(old, &ROOT, &mut doc, &ROOT, &mut path, rule)?;
    doc.commit_with(CommitOptions::default().with_time(at_ms));
    Ok(doc)
}

/// Copies the map `from_obj` of `from` into the map `to_obj` of `to`, as `rule` says.
/// A map `to` already holds at a key (from its genesis) is filled, not replaced.
fn copy_map(
    from: &AutoCommit,
    from_obj: &ObjId,
    to: &mut AutoCommit,
    to_obj: &ObjId,
    path: &mut Vec<String>,
    rule: &dyn Fn(&[String], Option<&ScalarValue>) -> Copy,
) -> Result<(), AutomergeError> {
    let keys: Vec<String> = from.keys(from_obj).collect();
    for key in keys {
        path.push(key.clone());
        copy_value(from, from_obj, &key, to, to_obj, path, rule)?;
        path.pop();
    }
    Ok(())
}

fn copy_value(
    from: &AutoCommit,
    from_obj: &ObjId,
    key: &str,
    to: &mut AutoCommit,
    to_obj: &ObjId,
    path: &mut Vec<String>,
    rule: &dyn Fn(&[String], Option<&ScalarValue>) -> Copy,
) -> Result<(), AutomergeError> {
    let Some((value, id)) = from.get(from_obj, key)? else {
        return Ok(());
    };
    let scalar = match &value {
        Value::Scalar(scalar) => Some(scalar.as_ref()),
        Value::Object(_) => None,
    };
    let value = match rule(path, scalar) {
        Copy::Skip => return Ok(()),
        Copy::Put(replaced) => Value::Scalar(std::borrow::Cow::Owned(replaced)),
        Copy::Keep => value,
    };
    match value {
        Value::Scalar(scalar) => {
            to.put(to_obj, key, scalar.into_owned())?;
        }
        Value::Object(ObjType::Text) => {
            let text = from.text(&id)?;
            let obj = to.put_object(to_obj, key, ObjType::Text)?;
            to.splice_text(&obj, 0, 0, &text)?;
        }
        Value::Object(ObjType::List) => {
            let obj = to.put_object(to_obj, key, ObjType::List)?;
            copy_list(from, &id, to, &obj)?;
        }
        Value::Object(map_type) => {
            let obj = match to.get(to_obj, key)? {
                Some((Value::Object(held), obj)) if held == map_type => obj,
                _ => to.put_object(to_obj, key, map_type)?,
            };
            copy_map(from, &id, to, &obj, path, rule)?;
        }
    }
    Ok(())
}

fn copy_list(
    from: &AutoCommit,
    from_obj: &ObjId,
    to: &mut AutoCommit,
    to_obj: &ObjId,
) -> Result<(), AutomergeError> {
    for index in 0..from.length(from_obj) {
        let Some((value, id)) = from.get(from_obj, index)? else {
            continue;
        };
        match value {
            Value::Scalar(scalar) => to.insert(to_obj, index, scalar.into_owned())?,
            Value::Object(ObjType::Text) => {
                let obj = to.insert_object(to_obj, index, ObjType::Text)?;
                to.splice_text(&obj, 0, 0, &from.text(&id)?)?;
            }
            Value::Object(ObjType::List) => {
                let obj = to.insert_object(to_obj, index, ObjType::List)?;
                copy_list(from, &id, to, &obj)?;
            }
            Value::Object(map_type) => {
                let obj = to.insert_object(to_obj, index, map_type)?;
                copy_map(from, &id, to, &obj, &mut Vec::new(), &|_, _| Copy::Keep)?;
            }
        }
    }
    Ok(())
}

/// What [`replay`] carried over and what it left behind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Replayed {
    /// Values set, removed or merged on the successor.
    pub carried: usize,
    /// Edits left behind: they touched what was erased, or (notes) the successor's text
    /// had moved on where they were made.
    pub dropped: usize,
}

/// Carries the edits `old` holds beyond `since` (what the server never acknowledged) over
/// to `successor`, key by key, except those at a path `drops` names. Values are compared
/// between `old` at `since` and `old` now: a value set or changed is put, a key removed is
/// deleted, a text is merged with the successor's (the edit applied where the successor's
/// text still reads as it did at `since`).
pub fn replay(
    old: &mut AutoCommit,
    since: &[ChangeHash],
    successor: &mut AutoCommit,
    drops: &dyn Fn(&[String]) -> bool,
) -> Result<Replayed, EditError> {
    let base = old.fork_at(since).map_err(EditError::Automerge)?;
    let mut replayed = Replayed::default();
    let mut path = Vec::new();
    replay_map(
        &base,
        Some(ROOT),
        old,
        &ROOT,
        successor,
        &ROOT,
        &mut path,
        drops,
        &mut replayed,
    )?;
    Ok(replayed)
}

#[allow(clippy::too_many_arguments)]
fn replay_map(
    base: &AutoCommit,
    base_obj: Option<ObjId>,
    mine: &AutoCommit,
    mine_obj: &ObjId,
    to: &mut AutoCommit,
    to_obj: &ObjId,
    path: &mut Vec<String>,
    drops: &dyn Fn(&[String]) -> bool,
    replayed: &mut Replayed,
) -> Result<(), EditError> {
    let mine_keys: Vec<String> = mine.keys(mine_obj).collect();
    let base_keys: Vec<String> = match &base_obj {
        Some(obj) => base.keys(obj).collect(),
        None => Vec::new(),
    };
    for key in &mine_keys {
        path.push(key.clone());
        let before = match &base_obj {
            Some(obj) => base.get(obj, key.as_str())?,
            None => None,
        };
        let (value, id) = mine
            .get(mine_obj, key.as_str())?
            .expect("a key of the map has a value");
        let changed = |replayed: &mut Replayed| -> bool {
            if drops(path) {
                replayed.dropped += 1;
                false
            } else {
                replayed.carried += 1;
                true
            }
        };
        match value {
            Value::Scalar(scalar) => {
                let same = matches!(&before, Some((Value::Scalar(b), _)) if b == &scalar);
                if !same && changed(replayed) {
                    to.put(to_obj, key.as_str(), scalar.into_owned())?;
                }
            }
            Value::Object(ObjType::Text) => {
                let was = match &before {
                    Some((Value::Object(ObjType::Text), b)) => base.text(b)?,
                    _ => String::new(),
                };
                let now = mine.text(&id)?;
                if was != now && changed(replayed) {
                    let obj = match to.get(to_obj, key.as_str())? {
                        Some((Value::Object(ObjType::Text), obj)) => obj,
                        _ => to.put_object(to_obj, key.as_str(), ObjType::Text)?,
                    };
                    if !merge_text(to, &obj, &was, &now)? {
                        replayed.carried -= 1;
                        replayed.dropped += 1;
                    }
                }
            }
            Value::Object(ObjType::List) => {
                // The schema has no lists; one is carried over whole if it changed.
                if before.is_none() && changed(replayed) {
                    let obj = to.put_object(to_obj, key.as_str(), ObjType::List)?;
                    copy_list(mine, &id, to, &obj)?;
                }
            }
            Value::Object(map_type) => {
                let base_child = match before {
                    Some((Value::Object(t), b)) if t == map_type => Some(b),
                    _ => None,
                };
                if base_child.is_none() && drops(path) {
                    // A new entry about what was erased: left behind whole.
                    replayed.dropped += 1;
                } else {
                    let obj = match to.get(to_obj, key.as_str())? {
                        Some((Value::Object(t), obj)) if t == map_type => obj,
                        _ => to.put_object(to_obj, key.as_str(), map_type)?,
                    };
                    replay_map(base, base_child, mine, &id, to, &obj, path, drops, replayed)?;
                }
            }
        }
        path.pop();
    }
    for key in base_keys.iter().filter(|k| !mine_keys.contains(k)) {
        path.push(key.clone());
        if drops(path) {
            replayed.dropped += 1;
        } else if to.get(to_obj, key.as_str())?.is_some() {
            to.delete(to_obj, key.as_str())?;
            replayed.carried += 1;
        }
        path.pop();
    }
    Ok(())
}

/// Applies the edit that turned `was` into `now` to the text `obj` of `to`: where `to`
/// still reads as `was` around the edit, the edited part is replaced; returns whether it
/// could be.
fn merge_text(to: &mut AutoCommit, obj: &ObjId, was: &str, now: &str) -> Result<bool, EditError> {
    let theirs = to.text(obj)?;
    if theirs == was {
        to.update_text(obj, now)?;
        return Ok(true);
    }
    let was: Vec<char> = was.chars().collect();
    let now: Vec<char> = now.chars().collect();
    let prefix = was.iter().zip(&now).take_while(|(a, b)| a == b).count();
    let suffix = was[prefix..]
        .iter()
        .rev()
        .zip(now[prefix..].iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    let before: String = was[..prefix].iter().collect();
    let after: String = was[was.len() - suffix..].iter().collect();
    let removed: String = was[prefix..was.len() - suffix].iter().collect();
    let inserted: String = now[prefix..now.len() - suffix].iter().collect();
    // Where the successor still holds the same surroundings, once.
    let needle = format!("{before}{removed}{after}");
    let Some(at) = unique_find(&theirs, &needle) else {
        return Ok(false);
    };
    let start = theirs[..at].chars().count() + before.chars().count();
    to.splice_text(obj, start, removed.chars().count() as isize, &inserted)?;
    Ok(true)
}

fn unique_find(haystack: &str, needle: &str) -> Option<usize> {
    let first = haystack.find(needle)?;
    let again = haystack[first + needle.len().max(1)..].find(needle);
    again.is_none().then_some(first)
}

#[cfg(test)]
mod tests {
    use automerge::{AutoCommit, ReadDoc, transaction::Transactable};

    use super::*;
    use crate::{
        demo,
        docs::{Signature, new_actor},
        model::{Household, Outcome, Resident, Street, Theme},
        record::{Door, VisitRecord},
        sync::client::{Replica, ReplicaDoc},
    };

    const NAME: &str = "Johanna Vlinderhaag";

    /// The demo street on a replica, with a talk at its first door: notes, a wish, a name.
    fn talked() -> (Replica, Door, String) {
        let (kind, doc) = demo::street(new_actor()).unwrap();
        let mut replica = Replica::new(new_actor());
        replica.insert(ReplicaDoc::restore(kind, doc, Vec::new()));
        let street: Street = docs::read(&replica.street(demo::street_id()).unwrap().doc).unwrap();
        let address = street.addresses.keys().next().unwrap().parse().unwrap();
        let door = Door::find(&replica, demo::street_id(), address).unwrap();
        let visit = VisitRecord {
            street: door.street,
            address,
            author: "Sanne".into(),
            at_ms: 1_764_000_000_000,
            outcome: Outcome::Talked,
            return_on: None,
            notes: "Over de tuin.".into(),
            contribution: String::new(),
            wishes: vec![(Theme::Greenery, "Een bankje".into())],
            signals: vec![],
        }
        .record(&mut replica)
        .unwrap();
        door.set_consent(
            &mut replica,
            Signature {
                by: "Sanne",
                at_ms: 1,
            },
            Consent::Given,
            &Resident {
                name: NAME.into(),
                contact: "06".into(),
            },
        )
        .unwrap();
        (replica, door, visit.to_string())
    }

    fn holds(doc: &mut AutoCommit, text: &str) -> bool {
        let bytes = doc.save_nocompress();
        bytes.windows(text.len()).any(|w| w == text.as_bytes())
    }

    #[test]
    fn an_erasure_makes_the_street_anew_without_the_household() {
        let (replica, door, visit) = talked();
        let street_kind = replica.street_kind(door.street);
        let street = replica.get(&street_kind.id()).unwrap().doc.clone();
        let household = replica.get(&door.household().id()).unwrap().doc.clone();
        let carried = carry_out(
            Request::Erasure,
            door.address,
            street_kind,
            &street,
            &[(door.household(), &household)],
            &new_actor(),
            1_800_000_000_000,
        )
        .unwrap();
        assert!(carried.street_changed.is_none());
        assert_eq!(carried.created.len(), 1);
        let mut renewed = carried.created.into_iter().next().unwrap();
        assert_eq!(
            renewed.kind,
            DocKind::Street {
                street: door.street,
                epoch: 1
            }
        );
        renewed.kind.validate(&renewed.doc).unwrap();
        // Not in any operation: the text and the door's id are nowhere in the bytes.
        assert!(!holds(&mut renewed.doc, "Een bankje"));
        let read: Street = docs::read(&renewed.doc).unwrap();
        assert_eq!(read.visits[&visit].address, "");
        assert_eq!(read.visits[&visit].outcome, Outcome::Talked);
        assert_eq!(read.visits[&visit].at_ms, week_start(1_764_000_000_000));
        assert_eq!(read.addresses[&door.address.to_string()].household_epoch, 1);
        assert_eq!(read.addresses.len(), 43, "every door stays");
        // Every document of the household at its epoch is registered, and the street.
        let gone: Vec<DocumentId> = carried.gone.iter().map(|(id, _)| *id).collect();
        assert!(gone.contains(&door.household().id()) && gone.contains(&street_kind.id()));
        assert_eq!(gone.len(), 5);
    }

    #[test]
    fn a_withdrawn_consent_keeps_the_notes_and_no_name_in_any_history() {
        let (replica, door, visit) = talked();
        let street_kind = replica.street_kind(door.street);
        let street = replica.get(&street_kind.id()).unwrap().doc.clone();
        let household = replica.get(&door.household().id()).unwrap().doc.clone();
        let carried = carry_out(
            Request::ConsentWithdrawn,
            door.address,
            street_kind,
            &street,
            &[(door.household(), &household)],
            &new_actor(),
            5,
        )
        .unwrap();
        let mut renewed = carried.created.into_iter().next().unwrap();
        assert!(!holds(&mut renewed.doc, NAME));
        let read: Household = docs::read(&renewed.doc).unwrap();
        assert_eq!(read.consent, Consent::Withdrawn);
        assert_eq!(read.conversations[&visit].notes.as_str(), "Over de tuin.");
        let street: Street = docs::read(&carried.street_changed.unwrap()).unwrap();
        assert_eq!(
            street.addresses[&door.address.to_string()].household_epoch,
            1
        );
    }

    #[test]
    fn replay_carries_edits_over_and_merges_notes_with_the_successors() {
        let (mut replica, door, visit) = talked();
        let kind = door.household();
        let since = replica.get_mut(&kind.id()).unwrap().doc.get_heads();
        let household = replica.get(&kind.id()).unwrap().doc.clone();
        let mut successor = renew(&household, kind, &new_actor(), 2, &|path, _| match path {
            [first, ..] if first == "resident" => Copy::Skip,
            _ => Copy::Keep,
        })
        .unwrap();
        // Someone else adds to the end of the notes on the successor; this phone, offline,
        // adds to their start and types a name.
        let notes = |doc: &AutoCommit| {
            let (_, conversations) = doc.get(ROOT, "conversations").unwrap().unwrap();
            let (_, conversation) = doc.get(&conversations, visit.as_str()).unwrap().unwrap();
            doc.get(&conversation, "notes").unwrap().unwrap().1
        };
        let theirs = notes(&successor);
        successor
            .splice_text(&theirs, 13, 0, " Later meer.")
            .unwrap();
        successor.commit();
        let mine = &mut replica.get_mut(&kind.id()).unwrap().doc;
        let text = notes(mine);
        mine.splice_text(&text, 0, 0, "Vriendelijk. ").unwrap();
        docs::put_field(
            mine,
            "resident",
            &Resident {
                name: "Nieuwe naam".into(),
                contact: String::new(),
            },
        )
        .unwrap();
        mine.commit();
        let gone = Gone {
            request: Request::ConsentWithdrawn,
            address: door.address,
            at_ms: 2,
            successor: Some(kind),
        };
        let drops = gone.drops(&kind, mine);
        let replayed = replay(mine, &since, &mut successor, &drops).unwrap();
        assert_eq!(
            replayed.dropped, 2,
            "name and contact are left behind: {replayed:?}"
        );
        let read: Household = docs::read(&successor).unwrap();
        assert_eq!(
            read.conversations[&visit].notes.as_str(),
            "Vriendelijk. Over de tuin. Later meer."
        );
        assert!(read.resident.is_empty());
    }

    #[test]
    fn weeks_start_on_monday() {
        // Sunday 30 November 2025, 15:00 UTC: its week began on Monday 24 November.
        assert_eq!(week_start(1_764_514_800_000), 1_763_942_400_000);
        assert_eq!(week_start(1_763_942_400_000), 1_763_942_400_000);
    }
}
