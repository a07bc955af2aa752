//! The documents a street's work is split into, their ids, their first change, and the
//! typed reads and writes on them.
//!
//! A street's data is split by who may see it and by what may have to be erased:
//!
//! | kind | holds | seen by | erased |
//! |---|---|---|---|
//! | [`DocKind::Street`] | complexes, addresses, visit outcomes, wishes | all partners | never (no personal data) |
//! | [`DocKind::Household`] | consent, name and contact, conversation notes, contributions | all partners | as a whole, on request |
//! | [`DocKind::Confidential`] | a partner's signals (care need, moving wish) | that partner only | with its household |
//!
//! Document ids are derived from what a document is about (UUID v5), and every document
//! starts from the same deterministic first change ("genesis"). Two phones that both open
//! the household of door 12 offline therefore create the *same* document with the same
//! skeleton, and their edits merge instead of one skeleton hiding the other.

use std::{fmt, marker::PhantomData, str::FromStr};

use automerge::{
    ActorId, AutoCommit, ObjId, ObjType, ROOT, ReadDoc, ScalarValue, Value, ValueRef,
    transaction::{CommitOptions, Transactable},
};
use autosurgeon::{Hydrate, Reconcile};
use uuid::Uuid;

use crate::model::{
    Address, Complex, Confidential, Conversation, Household, Partner, SchemaViolation, Signal,
    Street, Visit, Wish,
};

/// Namespace for the UUID v5 document ids.
const DOC_NAMESPACE: Uuid = Uuid::from_u128(0x5b0f_8f7e_2c1d_4e0a_9a63_7d1e_0c4b_a3f1);
/// The actor of every genesis change. No device ever writes with it.
const GENESIS_ACTOR: [u8; 16] = [0; 16];

/// The id of one Automerge document.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct DocumentId(pub Uuid);

impl fmt::Display for DocumentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for DocumentId {
    type Err = uuid::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.parse().map(DocumentId)
    }
}

/// What a document is about; its id follows from it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum DocKind {
    Street {
        street: Uuid,
    },
    Household {
        street: Uuid,
        address: Uuid,
        epoch: u32,
    },
    Confidential {
        street: Uuid,
        address: Uuid,
        epoch: u32,
        partner: Partner,
    },
}

/// How a partner is named in its confidential documents' ids. Written out, not derived
/// from the variant's name: renaming a variant must not give every confidential document a
/// new id (the test `document_ids_are_pinned` holds these values).
fn id_name(partner: Partner) -> &'static str {
    match partner {
        Partner::Corporation => "Corporation",
        Partner::CareOrganisation => "CareOrganisation",
        Partner::Municipality => "Municipality",
    }
}

impl DocKind {
    pub fn id(&self) -> DocumentId {
        let name = match self {
            DocKind::Street { street } => format!("street/{street}"),
            DocKind::Household {
                street,
                address,
                epoch,
            } => format!("household/{street}/{address}/{epoch}"),
            DocKind::Confidential {
                street,
                address,
                epoch,
                partner,
            } => format!(
                "confidential/{street}/{address}/{epoch}/{}",
                id_name(*partner)
            ),
        };
        DocumentId(Uuid::new_v5(&DOC_NAMESPACE, name.as_bytes()))
    }

    pub fn street(&self) -> Uuid {
        match *self {
            DocKind::Street { street }
            | DocKind::Household { street, .. }
            | DocKind::Confidential { street, .. } => street,
        }
    }

    /// Short lowercase name of the kind, as stored by the server.
    pub fn label(&self) -> &'static str {
        match self {
            DocKind::Street { .. } => "street",
            DocKind::Household { .. } => "household",
            DocKind::Confidential { .. } => "confidential",
        }
    }

    /// A new document of this kind holding only its genesis change, written by `actor`
    /// from here on. The genesis change is byte-identical wherever it is made.
    pub fn genesis(&self, actor: ActorId) -> AutoCommit {
        let mut doc = AutoCommit::new().with_actor(ActorId::from(GENESIS_ACTOR));
        let skeleton = match self {
            DocKind::Street { .. } => autosurgeon::reconcile(&mut doc, Street::default()),
            DocKind::Household { .. } => autosurgeon::reconcile(&mut doc, Household::default()),
            DocKind::Confidential { .. } => {
                autosurgeon::reconcile(&mut doc, Confidential::default())
            }
        };
        skeleton.expect("reconciling a default value into an empty document cannot fail");
        doc.commit_with(CommitOptions::default().with_time(0));
        doc.set_actor(actor);
        doc
    }

    /// Checks that `doc` is a well-formed document of this kind.
    pub fn validate(&self, doc: &AutoCommit) -> Result<(), SchemaViolation> {
        fn typed<T: Hydrate>(doc: &AutoCommit) -> Result<T, SchemaViolation> {
            autosurgeon::hydrate(doc).map_err(|e| SchemaViolation(e.to_string()))
        }
        match self {
            DocKind::Street { .. } => typed::<Street>(doc)?.validate(),
            DocKind::Household { .. } => typed::<Household>(doc)?.validate(),
            DocKind::Confidential { partner, .. } => typed::<Confidential>(doc)?.validate(*partner),
        }
    }
}

/// The actor of every genesis change: nobody's, so no one may write with it.
pub fn genesis_actor() -> ActorId {
    ActorId::from(GENESIS_ACTOR)
}

/// A fresh random actor id for a device or process that writes documents.
pub fn new_actor() -> ActorId {
    ActorId::from(Uuid::new_v4().into_bytes())
}

/// A new entity id: UUID v7, so ids sort by creation time.
pub fn new_id() -> String {
    Uuid::now_v7().to_string()
}

/// A write to a document that could not be made.
#[derive(Debug, thiserror::Error)]
pub enum EditError {
    #[error("the document has no {0:?} collection")]
    MissingCollection(&'static str),
    #[error("no entry {key:?} in {collection:?}")]
    MissingEntry {
        collection: &'static str,
        key: String,
    },
    #[error(transparent)]
    Hydrate(#[from] autosurgeon::HydrateError),
    #[error(transparent)]
    Reconcile(#[from] autosurgeon::ReconcileError),
    #[error(transparent)]
    Automerge(#[from] automerge::AutomergeError),
}

fn map_at(doc: &AutoCommit, parent: &ObjId, key: &str) -> Option<ObjId> {
    match doc.get(parent, key) {
        Ok(Some((Value::Object(ObjType::Map), id))) => Some(id),
        _ => None,
    }
}

/// A top-level map of a document whose entries are `T`s keyed by id (see the constants
/// below): the one way to name a collection, so its name and its entries' type can't
/// disagree.
#[derive(Debug)]
pub struct Collection<T> {
    pub name: &'static str,
    of: PhantomData<fn() -> T>,
}

impl<T> Clone for Collection<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Collection<T> {}

impl<T> Collection<T> {
    const fn new(name: &'static str) -> Self {
        Collection {
            name,
            of: PhantomData,
        }
    }
}

/// The street document's buildings.
pub const COMPLEXES: Collection<Complex> = Collection::new("complexes");
/// The street document's doors.
pub const ADDRESSES: Collection<Address> = Collection::new("addresses");
/// The street document's visits.
pub const VISITS: Collection<Visit> = Collection::new("visits");
/// The street document's wishes.
pub const WISHES: Collection<Wish> = Collection::new("wishes");
/// A household document's conversations, by visit id.
pub const CONVERSATIONS: Collection<Conversation> = Collection::new("conversations");
/// A confidential document's signals.
pub const SIGNALS: Collection<Signal> = Collection::new("signals");

fn collection<T>(doc: &AutoCommit, of: Collection<T>) -> Result<ObjId, EditError> {
    map_at(doc, &ROOT, of.name).ok_or(EditError::MissingCollection(of.name))
}

/// Reads the whole document as `T`.
pub fn read<T: Hydrate>(doc: &AutoCommit) -> Result<T, autosurgeon::HydrateError> {
    autosurgeon::hydrate(doc)
}

/// Writes `value` as entry `key` of the top-level map `collection` (e.g. a visit into
/// `visits`), touching only what differs from what is there.
pub fn put_entry<T: Reconcile>(
    doc: &mut AutoCommit,
    of: Collection<T>,
    key: &str,
    value: &T,
) -> Result<(), EditError> {
    let obj = collection(doc, of)?;
    autosurgeon::reconcile_prop(doc, &obj, key, value)?;
    Ok(())
}

/// Writes a top-level field of a document (e.g. a household's `consent`).
pub fn put_field<T: Reconcile>(
    doc: &mut AutoCommit,
    field: &str,
    value: &T,
) -> Result<(), EditError> {
    autosurgeon::reconcile_prop(doc, ROOT, field, value)?;
    Ok(())
}

/// Reads entry `key` of the top-level map `collection`, if it is there.
pub fn get_entry<T: Hydrate>(
    doc: &AutoCommit,
    of: Collection<T>,
    key: &str,
) -> Result<Option<T>, EditError> {
    let obj = collection(doc, of)?;
    if doc.get(&obj, key)?.is_none() {
        return Ok(None);
    }
    Ok(Some(autosurgeon::hydrate_prop(doc, &obj, key)?))
}

/// The entries of the top-level map `collection` whose text `field` passes `keep`, read
/// without reading the others: a door's visits out of a street's ten thousand.
pub fn entries_where<T: Hydrate>(
    doc: &AutoCommit,
    of: Collection<T>,
    field: &str,
    mut keep: impl FnMut(&str) -> bool,
) -> Result<Vec<(String, T)>, EditError> {
    let obj = collection(doc, of)?;
    let mut out = Vec::new();
    for item in doc.map_range(&obj, ..) {
        let ValueRef::Object(ObjType::Map) = item.value else {
            continue;
        };
        let matches = match doc.get(item.id(), field)? {
            Some((Value::Scalar(value), _)) => match value.as_ref() {
                ScalarValue::Str(text) => keep(text),
                _ => false,
            },
            _ => false,
        };
        if matches {
            let key = item.key.to_string();
            let value = autosurgeon::hydrate_prop(doc, &obj, key.as_str())?;
            out.push((key, value));
        }
    }
    Ok(out)
}

/// Calls `each` with the object id of every entry of the top-level map `collection`.
pub fn for_each_entry<T>(
    doc: &AutoCommit,
    of: Collection<T>,
    mut each: impl FnMut(&str, &ObjId) -> Result<(), EditError>,
) -> Result<(), EditError> {
    let obj = collection(doc, of)?;
    for item in doc.map_range(&obj, ..) {
        if let ValueRef::Object(ObjType::Map) = item.value {
            each(&item.key, &item.id())?;
        }
    }
    Ok(())
}

/// Replaces the notes of one conversation in a household document with `text`, as the
/// smallest set of character insertions and deletions, so that concurrent edits by
/// others elsewhere in the notes survive the merge.
pub fn update_notes(doc: &mut AutoCommit, visit: &str, text: &str) -> Result<(), EditError> {
    let conversations = collection(doc, CONVERSATIONS)?;
    let conversation =
        map_at(doc, &conversations, visit).ok_or_else(|| EditError::MissingEntry {
            collection: CONVERSATIONS.name,
            key: visit.to_string(),
        })?;
    let notes = match doc.get(&conversation, "notes")? {
        Some((Value::Object(ObjType::Text), id)) => id,
        _ => doc.put_object(&conversation, "notes", ObjType::Text)?,
    };
    doc.update_text(&notes, text)?;
    Ok(())
}

/// A field that two people changed concurrently: every value is kept in the document and
/// shown, until someone writes the field again.
#[derive(Debug, Clone, PartialEq)]
pub struct Conflict {
    pub field: String,
    pub values: Vec<String>,
}

/// The conflicting fields of entry `key` in the top-level map `collection`.
pub fn conflicts<T>(doc: &AutoCommit, of: Collection<T>, key: &str) -> Vec<Conflict> {
    let Ok(obj) = collection(doc, of) else {
        return Vec::new();
    };
    let Some(entry) = map_at(doc, &obj, key) else {
        return Vec::new();
    };
    doc.keys(&entry)
        .filter_map(|field| {
            let all = doc.get_all(&entry, field.as_str()).ok()?;
            (all.len() > 1).then(|| Conflict {
                values: all.iter().map(|(value, _)| render(value)).collect(),
                field,
            })
        })
        .collect()
}

fn render(value: &Value<'_>) -> String {
    match value {
        Value::Scalar(s) => match s.as_ref() {
            ScalarValue::Str(s) => s.to_string(),
            other => other.to_string(),
        },
        Value::Object(kind) => format!("({kind})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Conversation, Outcome, Visit};

    #[test]
    fn an_entry_that_is_not_there_reads_as_none() {
        let doc = street_kind().genesis(new_actor());
        let missing: Option<Visit> = get_entry(&doc, VISITS, "no such visit").unwrap();
        assert_eq!(missing, None);
    }

    /// Documents are found by these ids on every phone and server: a change in how ids are
    /// made would strand every stored document.
    #[test]
    fn document_ids_are_pinned() {
        let street: Uuid = "0191a3b2-7c4d-7e8f-9a0b-1c2d3e4f5a6b".parse().unwrap();
        let address: Uuid = "0191a3b2-7c4d-7e8f-9a0b-aaaaaaaaaaaa".parse().unwrap();
        let id = |kind: DocKind| kind.id().to_string();
        assert_eq!(
            id(DocKind::Street { street }),
            "ce396a26-5962-55eb-b9e8-2be606c5eae3"
        );
        assert_eq!(
            id(DocKind::Household {
                street,
                address,
                epoch: 0
            }),
            "2fd84e59-e772-575f-8ca5-52041ed766a7"
        );
        let confidential = |partner| {
            id(DocKind::Confidential {
                street,
                address,
                epoch: 2,
                partner,
            })
        };
        assert_eq!(
            confidential(Partner::Corporation),
            "e416e8eb-42ae-5836-be0f-98095e2b3b58"
        );
        assert_eq!(
            confidential(Partner::CareOrganisation),
            "be0db06c-4072-5726-85e3-48492f60f3e0"
        );
        assert_eq!(
            confidential(Partner::Municipality),
            "3e4d7975-003e-5a16-92b1-1c6c509323fb"
        );
    }

    fn street_kind() -> DocKind {
        DocKind::Street {
            street: Uuid::from_u128(1),
        }
    }

    fn household_kind() -> DocKind {
        DocKind::Household {
            street: Uuid::from_u128(1),
            address: Uuid::from_u128(2),
            epoch: 0,
        }
    }

    #[test]
    fn genesis_is_identical_on_every_device() {
        let mut a = household_kind().genesis(new_actor());
        let mut b = household_kind().genesis(new_actor());
        assert_eq!(a.get_heads(), b.get_heads());
    }

    #[test]
    fn ids_differ_by_kind_epoch_and_partner() {
        let street = Uuid::from_u128(1);
        let address = Uuid::from_u128(2);
        let ids = [
            street_kind().id(),
            household_kind().id(),
            DocKind::Household {
                street,
                address,
                epoch: 1,
            }
            .id(),
            DocKind::Confidential {
                street,
                address,
                epoch: 0,
                partner: Partner::CareOrganisation,
            }
            .id(),
            DocKind::Confidential {
                street,
                address,
                epoch: 0,
                partner: Partner::Corporation,
            }
            .id(),
        ];
        let unique: std::collections::BTreeSet<_> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len(), "{ids:?}");
    }

    #[test]
    fn households_created_offline_on_two_phones_merge_both_conversations() {
        let mut a = household_kind().genesis(new_actor());
        let mut b = household_kind().genesis(new_actor());
        let (va, vb) = (new_id(), new_id());
        let conv = |notes: &str| Conversation {
            notes: autosurgeon::Text::with_value(notes),
            contribution: String::new(),
        };
        put_entry(&mut a, CONVERSATIONS, &va, &conv("from phone a")).unwrap();
        put_entry(&mut b, CONVERSATIONS, &vb, &conv("from phone b")).unwrap();
        a.merge(&mut b).unwrap();
        let merged: Household = read(&a).unwrap();
        assert_eq!(merged.conversations.len(), 2, "{merged:?}");
        assert_eq!(merged.conversations[&va].notes.as_str(), "from phone a");
        assert_eq!(merged.conversations[&vb].notes.as_str(), "from phone b");
    }

    #[test]
    fn concurrent_note_edits_keep_both_texts() {
        let mut a = household_kind().genesis(new_actor());
        let visit = new_id();
        put_entry(&mut a, CONVERSATIONS, &visit, &Conversation::default()).unwrap();
        update_notes(&mut a, &visit, "Wil graag een bankje.").unwrap();
        let mut b = a.fork().with_actor(new_actor());
        update_notes(&mut a, &visit, "Builder: Wil graag een bankje.").unwrap();
        update_notes(&mut b, &visit, "Wil graag een bankje. Coach: belt terug.").unwrap();
        a.merge(&mut b).unwrap();
        let merged: Household = read(&a).unwrap();
        assert_eq!(
            merged.conversations[&visit].notes.as_str(),
            "Builder: Wil graag een bankje. Coach: belt terug."
        );
    }

    #[test]
    fn concurrent_outcomes_stay_visible_as_a_conflict() {
        let mut a = street_kind().genesis(new_actor());
        let visit = new_id();
        let v = |outcome| Visit {
            address: new_id(),
            author: "Sanne".into(),
            at_ms: 0,
            outcome,
            return_on: None,
        };
        put_entry(&mut a, VISITS, &visit, &v(Outcome::NotHome)).unwrap();
        let mut b = a.fork().with_actor(new_actor());
        put_entry(&mut a, VISITS, &visit, &v(Outcome::Talked)).unwrap();
        put_entry(&mut b, VISITS, &visit, &v(Outcome::Refused)).unwrap();
        a.merge(&mut b).unwrap();
        let found = conflicts(&a, VISITS, &visit);
        let outcome = found.iter().find(|c| c.field == "outcome").unwrap();
        let mut values = outcome.values.clone();
        values.sort();
        assert_eq!(values, vec!["Refused".to_string(), "Talked".to_string()]);
        // The address was also written by both (different random ids): also a conflict.
        assert!(found.iter().any(|c| c.field == "address"), "{found:?}");
        // Writing the field again resolves it.
        put_entry(&mut a, VISITS, &visit, &v(Outcome::Talked)).unwrap();
        assert!(
            conflicts(&a, VISITS, &visit)
                .iter()
                .all(|c| c.field != "outcome")
        );
    }

    #[test]
    fn validation_names_what_is_wrong() {
        let mut doc = street_kind().genesis(new_actor());
        let visit = new_id();
        put_entry(
            &mut doc,
            VISITS,
            &visit,
            &Visit {
                address: new_id(),
                author: "Sanne".into(),
                at_ms: 0,
                outcome: Outcome::Talked,
                return_on: None,
            },
        )
        .unwrap();
        let err = street_kind().validate(&doc).unwrap_err();
        assert!(err.0.contains("unknown address"), "{err}");
    }
}
