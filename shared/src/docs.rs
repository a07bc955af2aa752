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

use std::{
    collections::{BTreeMap, BTreeSet},
    fmt,
    marker::PhantomData,
    str::FromStr,
    sync::OnceLock,
};

use automerge::{
    ActorId, AutoCommit, AutomergeError, Change, ChangeHash, ObjId, ObjType, Prop, ROOT, ReadDoc,
    ScalarValue, Value, ValueRef,
    transaction::{CommitOptions, Transactable},
};
use autosurgeon::{Hydrate, Reconcile};
use uuid::Uuid;

use crate::model::{
    Activity, Address, Amendments, Clearance, ClientStatusChange, Complex, Confidential, Consent,
    Conversation, Correction, FollowUp, Household, Participation, Partner, SchemaViolation, Signal,
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
///
/// Stored on phones and sent in sync messages (postcard, which names variants by their
/// index and fields by their place): its encoding is [`StoredKind`]'s, in which a street
/// of the first epoch is written as before epochs were, so what phones stored then still
/// reads.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(from = "StoredKind", into = "StoredKind")]
pub enum DocKind {
    /// A street's shared document. Its `epoch` moves when an erasure takes something out
    /// of its history (see `crate::erase`): the document is then made anew, with a new id.
    Street { street: Uuid, epoch: u32 },
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

/// [`DocKind`] as encoded: the variants in the order they came, new ones last.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
enum StoredKind {
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
    /// A street after its first epoch.
    StreetAt {
        street: Uuid,
        epoch: u32,
    },
}

impl From<StoredKind> for DocKind {
    fn from(kind: StoredKind) -> DocKind {
        match kind {
            StoredKind::Street { street } => DocKind::Street { street, epoch: 0 },
            StoredKind::StreetAt { street, epoch } => DocKind::Street { street, epoch },
            StoredKind::Household {
                street,
                address,
                epoch,
            } => DocKind::Household {
                street,
                address,
                epoch,
            },
            StoredKind::Confidential {
                street,
                address,
                epoch,
                partner,
            } => DocKind::Confidential {
                street,
                address,
                epoch,
                partner,
            },
        }
    }
}

impl From<DocKind> for StoredKind {
    fn from(kind: DocKind) -> StoredKind {
        match kind {
            DocKind::Street { street, epoch: 0 } => StoredKind::Street { street },
            DocKind::Street { street, epoch } => StoredKind::StreetAt { street, epoch },
            DocKind::Household {
                street,
                address,
                epoch,
            } => StoredKind::Household {
                street,
                address,
                epoch,
            },
            DocKind::Confidential {
                street,
                address,
                epoch,
                partner,
            } => StoredKind::Confidential {
                street,
                address,
                epoch,
                partner,
            },
        }
    }
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
            // The first epoch's id predates epochs: it stays as it was.
            DocKind::Street { street, epoch: 0 } => format!("street/{street}"),
            DocKind::Street { street, epoch } => format!("street/{street}/{epoch}"),
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
            DocKind::Street { street, .. }
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
        let mut doc = self.skeleton();
        doc.apply_changes(self.upgrades().iter().cloned())
            .expect("a kind's upgrades apply to its genesis");
        forget_patches(&mut doc);
        doc.set_actor(actor);
        doc
    }

    /// The genesis change alone, written by the genesis actor.
    fn skeleton(&self) -> AutoCommit {
        let mut doc = AutoCommit::new().with_actor(genesis_actor());
        let skeleton = match self {
            DocKind::Street { .. } => autosurgeon::reconcile(&mut doc, Street::default()),
            DocKind::Household { .. } => autosurgeon::reconcile(&mut doc, Household::default()),
            DocKind::Confidential { .. } => {
                autosurgeon::reconcile(&mut doc, Confidential::default())
            }
        };
        skeleton.expect("reconciling a default value into an empty document cannot fail");
        doc.commit_with(CommitOptions::default().with_time(0));
        doc
    }

    /// The schema's upgrades of this kind: changes by the genesis actor, each building on
    /// the one before and the first on genesis, byte-identical wherever they are made (like
    /// genesis itself). A map the schema gains later is made by an upgrade, so every phone
    /// that needs it makes the *same* map: two phones each making their own offline would
    /// have one hide the other's entries.
    ///
    /// Upgrades are appended, never changed: a changed upgrade is a different change.
    pub fn upgrades(&self) -> &'static [Change] {
        static STREET: OnceLock<Vec<Change>> = OnceLock::new();
        static HOUSEHOLD: OnceLock<Vec<Change>> = OnceLock::new();
        static CONFIDENTIAL: OnceLock<Vec<Change>> = OnceLock::new();
        let upgrades = match self {
            DocKind::Street { .. } => &STREET,
            DocKind::Household { .. } => &HOUSEHOLD,
            DocKind::Confidential { .. } => &CONFIDENTIAL,
        };
        upgrades.get_or_init(|| {
            let mut doc = self.skeleton();
            let mut made = Vec::new();
            let mut upgrade = |add: &dyn Fn(&mut AutoCommit) -> Result<(), AutomergeError>| {
                add(&mut doc).expect("new keys in the root map");
                doc.commit_with(CommitOptions::default().with_time(0));
                made.extend(doc.get_last_local_change());
            };
            let maps = |names: &'static [&'static str]| {
                move |doc: &mut AutoCommit| -> Result<(), AutomergeError> {
                    for name in names {
                        doc.put_object(ROOT, *name, ObjType::Map)?;
                    }
                    Ok(())
                }
            };
            match self {
                DocKind::Street { .. } => {
                    // 1: corrections of visits' outcomes, and cleared refusals.
                    upgrade(&maps(&[CORRECTIONS.name, CLEARANCES.name]));
                    // 2: each partner's follow-ups of wishes, and activities.
                    upgrade(&|doc| {
                        let follow_ups = doc.put_object(ROOT, FOLLOW_UPS, ObjType::Map)?;
                        for partner in Partner::ALL {
                            doc.put_object(&follow_ups, partner.label(), ObjType::Map)?;
                        }
                        maps(&[ACTIVITIES.name])(doc)
                    });
                }
                // 1: which activities the household took part in.
                DocKind::Household { .. } => upgrade(&maps(&[PARTICIPATION.name])),
                // 1: the household's client status (the care organisation's only).
                DocKind::Confidential { .. } => upgrade(&maps(&[CLIENT_STATUS.name])),
            }
            made
        })
    }

    /// Whether `hash` is one of this kind's upgrades.
    pub fn is_upgrade(&self, hash: &ChangeHash) -> bool {
        self.upgrades().iter().any(|c| c.hash() == *hash)
    }

    /// Brings `doc`, a document of this kind made before some of its upgrades, up to date.
    /// Returns whether it changed.
    pub fn upgrade(&self, doc: &mut AutoCommit) -> Result<bool, AutomergeError> {
        let missing: Vec<Change> = self
            .upgrades()
            .iter()
            .filter(|c| !holds(doc, &[c.hash()]))
            .cloned()
            .collect();
        if missing.is_empty() {
            return Ok(false);
        }
        doc.apply_changes(missing)?;
        forget_patches(doc);
        Ok(true)
    }

    /// Checks that `doc` is a well-formed document of this kind.
    pub fn validate(&self, doc: &AutoCommit) -> Result<(), SchemaViolation> {
        fn typed<T: Hydrate>(doc: &AutoCommit, prop: Option<&str>) -> Result<T, SchemaViolation> {
            match prop {
                None => autosurgeon::hydrate(doc),
                Some(prop) => autosurgeon::hydrate_prop(doc, ROOT, prop),
            }
            .map_err(|e| SchemaViolation(e.to_string()))
        }
        let unread = |e: EditError| SchemaViolation(e.to_string());
        match self {
            DocKind::Street { .. } => {
                let street = typed::<Street>(doc, None)?;
                street.validate()?;
                street.validate_amendments(&amendments(doc).map_err(unread)?)
            }
            DocKind::Household { .. } => {
                typed::<Household>(doc, None)?.validate(&consent_answers(doc)?)?;
                Household::validate_participation(&amended(doc, PARTICIPATION).map_err(unread)?)
            }
            DocKind::Confidential { partner, .. } => {
                typed::<Confidential>(doc, None)?.validate(*partner)?;
                Confidential::validate_client_status(
                    *partner,
                    &amended(doc, CLIENT_STATUS).map_err(unread)?,
                )
            }
        }
    }

    /// Checks `doc`, which kept the schema before `changes` were applied to it, against
    /// the schema, reading only what the changes touched where it can: in a street, the
    /// visits and wishes they put or changed (reading a street of 550 visits whole takes
    /// 35 ms, one visit 0.05 ms: the figures are in docs/benchmarks.md). `changes` must
    /// hold every change applied since (changes `doc` held before may be among them).
    /// Every other change to a street (its layout, its amendments, a deletion, which may
    /// leave another entry pointing nowhere), and every other kind of document (a
    /// household is small), is checked whole, as [`DocKind::validate`] does; the rules are
    /// the same ones.
    pub fn validate_after(
        &self,
        doc: &AutoCommit,
        changes: &[Change],
    ) -> Result<(), SchemaViolation> {
        let DocKind::Street { .. } = self else {
            return self.validate(doc);
        };
        let Some((visits, wishes)) = touched_visits_and_wishes(doc, changes) else {
            return self.validate(doc);
        };
        let unread = |e: EditError| SchemaViolation(e.to_string());
        for id in &visits {
            if let Some(visit) = get_entry(doc, VISITS, id).map_err(unread)? {
                visit.check(id, |address| has_entry(doc, ADDRESSES, address))?;
            }
        }
        for id in &wishes {
            if let Some(wish) = get_entry(doc, WISHES, id).map_err(unread)? {
                wish.check(id, |visit| has_entry(doc, VISITS, visit))?;
            }
        }
        Ok(())
    }

    /// Repairs what a merge of valid edits may leave against a rule: a resident's name or
    /// contact beside a consent question that no answer says "yes" to (see
    /// [`Household::needs_repair`]), cleared by a change written with `doc`'s actor. Every
    /// replica reads an unrepaired document as a repaired one, so the repair only stops the
    /// data from being kept; whoever merges first writes it (the server, on every sync).
    /// Returns whether it changed `doc`.
    pub fn repair(&self, doc: &mut AutoCommit) -> Result<bool, RepairError> {
        let DocKind::Household { .. } = self else {
            return Ok(false);
        };
        if Consent::allows_resident(&consent_answers(doc)?) {
            return Ok(false);
        }
        let repaired = clear_resident(doc)?;
        if repaired {
            doc.commit_with(CommitOptions::default().with_time(0));
        }
        Ok(repaired)
    }
}

/// Clears the resident's name and contact in a household document, in every copy a merge
/// may hold side by side; returns whether anything was there. Not committed.
pub fn clear_resident(doc: &mut AutoCommit) -> Result<bool, AutomergeError> {
    let residents: Vec<ObjId> = doc
        .get_all(ROOT, "resident")?
        .into_iter()
        .filter(|(value, _)| matches!(value, Value::Object(ObjType::Map)))
        .map(|(_, id)| id)
        .collect();
    let empty = |value: &Value<'_>| matches!(value, Value::Scalar(s) if s.as_str() == Some(""));
    let mut cleared = false;
    for resident in residents {
        for field in ["name", "contact"] {
            let kept = doc.get_all(&resident, field)?;
            if kept.iter().any(|(value, _)| !empty(value)) {
                doc.put(&resident, field, "")?;
                cleared = true;
            }
        }
    }
    Ok(cleared)
}

/// Why a document could not be repaired: it does not read as its kind.
#[derive(Debug, thiserror::Error)]
pub enum RepairError {
    #[error(transparent)]
    Schema(#[from] SchemaViolation),
    #[error(transparent)]
    Automerge(#[from] AutomergeError),
}

/// Every answer to the consent question a household document holds: its value, and the
/// values beside it after two people answered differently offline.
pub fn consent_answers(doc: &AutoCommit) -> Result<Vec<Consent>, SchemaViolation> {
    let answers = doc
        .get_all(ROOT, "consent")
        .map_err(|e| SchemaViolation(e.to_string()))?;
    answers
        .iter()
        .map(|(value, _)| match value {
            Value::Scalar(s) => match s.as_str() {
                Some(text) => Consent::parse(text)
                    .ok_or_else(|| SchemaViolation(format!("consent {text:?} is no answer"))),
                None => Err(SchemaViolation("consent is not text".into())),
            },
            Value::Object(_) => Err(SchemaViolation("consent is not text".into())),
        })
        .collect()
}

/// The actor of every genesis change: nobody's, so no one may write with it.
pub fn genesis_actor() -> ActorId {
    ActorId::from(GENESIS_ACTOR)
}

/// Who made a change, and when: every change a person makes carries their name as its
/// message and the time as its timestamp (in milliseconds since the Unix epoch), so that
/// a conflict or a merged text can say whose each part is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Signature<'a> {
    pub by: &'a str,
    pub at_ms: i64,
}

impl Signature<'_> {
    /// Commits `doc`'s pending operations as one change signed with this signature.
    pub fn commit(self, doc: &mut AutoCommit) {
        doc.commit_with(
            CommitOptions::default()
                .with_message(self.by.to_string())
                .with_time(self.at_ms),
        );
    }
}

/// A signature read back from a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    pub by: String,
    pub at_ms: i64,
}

/// Who signed the change that holds operation `op` of `doc`, and when; `None` for an
/// unsigned change (the server's, or one made before changes were signed).
pub fn signed(doc: &AutoCommit, op: &ObjId) -> Option<Signed> {
    let hash = doc.hash_for_opid(op)?;
    let change = ReadDoc::get_change_by_hash(doc, &hash)?;
    let by = change.message().filter(|m| !m.is_empty())?;
    Some(Signed {
        by: by.to_string(),
        at_ms: change.timestamp(),
    })
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
    Automerge(#[from] AutomergeError),
}

/// The entries of a top-level map an upgrade adds (see [`DocKind::upgrades`]): none in a
/// document the upgrade has not reached yet.
pub fn amended<T: Hydrate>(
    doc: &AutoCommit,
    of: Collection<T>,
) -> Result<BTreeMap<String, T>, EditError> {
    match map_at(doc, &ROOT, of.name) {
        Some(_) => Ok(autosurgeon::hydrate_prop(doc, ROOT, of.name)?),
        None => Ok(Default::default()),
    }
}

/// Everything the street document holds in the maps its upgrades added.
pub fn amendments(doc: &AutoCommit) -> Result<Amendments, EditError> {
    Ok(Amendments {
        corrections: amended(doc, CORRECTIONS)?,
        clearances: amended(doc, CLEARANCES)?,
        follow_ups: follow_ups(doc)?,
        activities: amended(doc, ACTIVITIES)?,
    })
}

/// The street document's follow-ups of wishes: each partner's, by wish id (none before
/// its upgrade).
pub fn follow_ups(
    doc: &AutoCommit,
) -> Result<BTreeMap<Partner, BTreeMap<String, FollowUp>>, EditError> {
    if map_at(doc, &ROOT, FOLLOW_UPS).is_none() {
        return Ok(Default::default());
    }
    let by_label: BTreeMap<String, BTreeMap<String, FollowUp>> =
        autosurgeon::hydrate_prop(doc, ROOT, FOLLOW_UPS)?;
    by_label
        .into_iter()
        .map(|(label, follow_ups)| match Partner::from_label(&label) {
            Some(partner) => Ok((partner, follow_ups)),
            None => Err(autosurgeon::HydrateError::unexpected("a partner", label).into()),
        })
        .collect()
}

/// Writes `partner`'s follow-up of `wish` (touching only what differs).
pub fn put_follow_up(
    doc: &mut AutoCommit,
    partner: Partner,
    wish: &str,
    follow_up: &FollowUp,
) -> Result<(), EditError> {
    let of_partner = map_at(doc, &ROOT, FOLLOW_UPS)
        .and_then(|all| map_at(doc, &all, partner.label()))
        .ok_or(EditError::MissingCollection(FOLLOW_UPS))?;
    autosurgeon::reconcile_prop(doc, &of_partner, wish, follow_up)?;
    Ok(())
}

/// `partner`'s follow-up of `wish`, if it took the wish on.
pub fn get_follow_up(
    doc: &AutoCommit,
    partner: Partner,
    wish: &str,
) -> Result<Option<FollowUp>, EditError> {
    let Some(of_partner) =
        map_at(doc, &ROOT, FOLLOW_UPS).and_then(|all| map_at(doc, &all, partner.label()))
    else {
        return Ok(None);
    };
    if doc.get(&of_partner, wish)?.is_none() {
        return Ok(None);
    }
    Ok(Some(autosurgeon::hydrate_prop(doc, &of_partner, wish)?))
}

pub(crate) fn map_at(doc: &AutoCommit, parent: &ObjId, key: &str) -> Option<ObjId> {
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
/// The street document's corrections of visits' outcomes (made by an upgrade).
pub const CORRECTIONS: Collection<Correction> = Collection::new("corrections");
/// The street document's cleared refusals (made by an upgrade).
pub const CLEARANCES: Collection<Clearance> = Collection::new("clearances");
/// The street document's activities (made by an upgrade).
pub const ACTIVITIES: Collection<Activity> = Collection::new("activities");
/// The street document's follow-ups of wishes: a map per partner (by its label), each of
/// follow-ups by wish id (made by an upgrade; see [`follow_ups`]).
pub const FOLLOW_UPS: &str = "follow_ups";
/// A household document's participation in activities, by activity id (made by an upgrade).
pub const PARTICIPATION: Collection<Participation> = Collection::new("participation");
/// A confidential document's history of the household's client status (made by an
/// upgrade; only the care organisation's holds any).
pub const CLIENT_STATUS: Collection<ClientStatusChange> = Collection::new("client_status");
/// A household document's conversations, by visit id.
pub const CONVERSATIONS: Collection<Conversation> = Collection::new("conversations");
/// A confidential document's signals.
pub const SIGNALS: Collection<Signal> = Collection::new("signals");

pub(crate) fn collection<T>(doc: &AutoCommit, of: Collection<T>) -> Result<ObjId, EditError> {
    map_at(doc, &ROOT, of.name).ok_or(EditError::MissingCollection(of.name))
}

/// Lets go of what Automerge recorded while `doc` took in changes. Automerge 0.12 keeps
/// the list and text insertions of every change it applies (`apply_changes`,
/// `load_incremental`, `merge`) in the document's patch log even when no one asked for
/// patches, and never drops them: a document kept in memory that takes in change after
/// change grew without end (the server's cache in a city run: 35 KB a sync, 500 MiB in a
/// minute). Called after each of those; nothing here reads patches.
pub fn forget_patches(doc: &mut AutoCommit) {
    doc.reset_diff_cursor();
}

/// Whether `doc` holds (has applied) every change in `hashes`. A look-up in Automerge's
/// change graph, where `get_change_by_hash` would rebuild each change from the op set (a
/// cost that grows with the document). A document with changes queued for missing
/// dependencies holds nothing by this test: it is never asked of one that needs the
/// answer (the server's documents have no queue; a merge that leaves one is refused).
pub fn holds(doc: &AutoCommit, hashes: &[ChangeHash]) -> bool {
    ReadDoc::get_missing_deps(doc, hashes).is_empty()
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

/// The keys of the visits and of the wishes of a street document that `changes` touched
/// (an entry put, or a value anywhere inside one set or removed), found from the changes'
/// operations and where each object they name sits; `None` if they touched anything else
/// (a top-level value, another map, a visit or wish removed, an object `doc` lacks).
/// (Automerge's diff between the heads before and after gives the same answer by walking
/// the whole document: a fifth of a busy server's time.)
fn touched_visits_and_wishes(
    doc: &AutoCommit,
    changes: &[Change],
) -> Option<(BTreeSet<String>, BTreeSet<String>)> {
    use automerge::legacy;
    let (mut visits, mut wishes) = (BTreeSet::new(), BTreeSet::new());
    // The first two map keys on the way to each object named, looked up once per object.
    let mut places: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for change in changes {
        for op in change.decode().operations {
            let legacy::ObjectId::Id(obj) = &op.obj else {
                return None;
            };
            let obj = obj.to_string();
            if !places.contains_key(&obj) {
                let place = place_of(doc, &obj)?;
                places.insert(obj.clone(), place);
            }
            let (top, entry) = match places[&obj].as_slice() {
                // In the collection itself: only an entry put (a removal may orphan another).
                [top] => match (&op.key, &op.action) {
                    (legacy::Key::Map(key), legacy::OpType::Make(_) | legacy::OpType::Put(_)) => {
                        (top.as_str(), key.to_string())
                    }
                    _ => return None,
                },
                [top, entry] => (top.as_str(), entry.clone()),
                _ => return None,
            };
            let touched = match top {
                "visits" => &mut visits,
                "wishes" => &mut wishes,
                _ => return None,
            };
            touched.insert(entry);
        }
    }
    Some((visits, wishes))
}

/// The first two map keys from the root of `doc` to the object `obj` (as Automerge
/// writes an object id, `counter@actor`): `["visits"]` for the visits map, `["visits",
/// <id>]` for a visit or anything inside it. `None` if `doc` lacks the object or a list
/// comes first.
fn place_of(doc: &AutoCommit, obj: &str) -> Option<Vec<String>> {
    let id = doc.import_obj(obj).ok()?;
    doc.parents(&id)
        .ok()?
        .path()
        .into_iter()
        .take(2)
        .map(|(_, prop)| match prop {
            Prop::Map(key) => Some(key),
            Prop::Seq(_) => None,
        })
        .collect()
}

/// Whether the top-level map `collection` has an entry `key`.
fn has_entry<T>(doc: &AutoCommit, of: Collection<T>, key: &str) -> bool {
    collection(doc, of).is_ok_and(|obj| matches!(doc.get(&obj, key), Ok(Some(_))))
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

/// One of the values a field holds: after two people wrote it at the same time, each
/// value is kept in the document, and shown, until someone writes the field again.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub value: String,
    /// Who wrote it and when, if the change that did was signed.
    pub by: Option<Signed>,
}

/// Every value field `key` of object `obj` holds: one, or several after concurrent
/// writes, each with whose it is. Automerge orders them the same way on every replica.
pub fn candidates(doc: &AutoCommit, obj: &ObjId, key: &str) -> Vec<Candidate> {
    doc.get_all(obj, key)
        .unwrap_or_default()
        .into_iter()
        .map(|(value, id)| Candidate {
            value: render(&value),
            by: signed(doc, &id),
        })
        .collect()
}

/// A field that two people changed concurrently.
#[derive(Debug, Clone, PartialEq)]
pub struct Conflict {
    pub field: String,
    pub values: Vec<Candidate>,
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
            let values = candidates(doc, &entry, &field);
            (values.len() > 1).then_some(Conflict { field, values })
        })
        .collect()
}

/// Writes `value` over every value field `key` of `obj` holds: the one way to settle a
/// conflict (a write of the value already shown would otherwise change nothing).
pub fn settle(
    doc: &mut AutoCommit,
    obj: &ObjId,
    key: &str,
    value: impl Into<ScalarValue>,
) -> Result<(), EditError> {
    doc.put(obj, key, value)?;
    Ok(())
}

/// The notes of conversation `visit` in a household document, part by part, each with who
/// wrote it: consecutive characters written by the same person make one part. Two people's
/// offline additions, glued together by the merge, come apart again here.
pub fn authorship(doc: &AutoCommit, visit: &str) -> Vec<(Option<Signed>, String)> {
    let Ok(conversations) = collection(doc, CONVERSATIONS) else {
        return Vec::new();
    };
    let Some(conversation) = map_at(doc, &conversations, visit) else {
        return Vec::new();
    };
    let Ok(Some((Value::Object(ObjType::Text), notes))) = doc.get(&conversation, "notes") else {
        return Vec::new();
    };
    // Runs by actor first (cheap), then each run's signer.
    let mut runs: Vec<(Option<ActorId>, ObjId, String)> = Vec::new();
    for item in doc.list_range(&notes, ..) {
        let id = item.id();
        let actor = match &id {
            ObjId::Id(_, actor, _) => Some(actor.clone()),
            ObjId::Root => None,
        };
        let text = match &item.value {
            ValueRef::Scalar(automerge::ScalarValueRef::Str(text)) => text.to_string(),
            ValueRef::Scalar(_) => String::new(),
            ValueRef::Object(_) => String::new(),
        };
        match runs.last_mut() {
            Some((last, _, run)) if *last == actor => run.push_str(&text),
            _ => runs.push((actor, id, text)),
        }
    }
    let mut parts: Vec<(Option<Signed>, String)> = Vec::new();
    for (_, first, text) in runs {
        let by = signed(doc, &first);
        match parts.last_mut() {
            Some((last, run)) if last.as_ref().map(|s| &s.by) == by.as_ref().map(|s| &s.by) => {
                run.push_str(&text)
            }
            _ => parts.push((by, text)),
        }
    }
    parts
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

    /// Only the visits and wishes that changed are read again, with the very rules a
    /// whole reading applies; anything else is read whole.
    #[test]
    fn a_street_is_checked_for_what_changed_and_whole_for_anything_else() {
        use crate::model::{Theme, Wish, WishStatus};
        let (kind, mut doc) = crate::demo::street(new_actor()).unwrap();
        let street: Street = read(&doc).unwrap();
        let address = street.addresses.keys().next().unwrap().clone();
        let visit_at = |address: &str| Visit {
            address: address.to_string(),
            author: "Sanne".into(),
            at_ms: 1_764_000_000_000,
            outcome: Outcome::Talked,
            return_on: None,
        };
        let wish_of = |visit: &str, text: &str| Wish {
            visit: visit.to_string(),
            theme: Theme::Greenery,
            text: text.into(),
            status: WishStatus::Open,
            owner: None,
        };
        let before = doc.get_heads();
        let visit = new_id();
        put_entry(&mut doc, VISITS, &visit, &visit_at(&address)).unwrap();
        put_entry(&mut doc, WISHES, &new_id(), &wish_of(&visit, "Bankjes")).unwrap();
        doc.commit();
        let changes = doc.get_changes(&before);
        assert_eq!(kind.validate_after(&doc, &changes), Ok(()));
        assert!(
            touched_visits_and_wishes(&doc, &changes)
                .is_some_and(|(v, w)| v.len() == 1 && w.len() == 1)
        );

        // A value inside a visit set in place: that visit, found through the object the
        // operation names; a visit removed: read whole.
        fn touched(
            doc: &mut AutoCommit,
            edit: &dyn Fn(&mut AutoCommit),
        ) -> Option<(BTreeSet<String>, BTreeSet<String>)> {
            let mut changed = doc.fork();
            let at = changed.get_heads();
            edit(&mut changed);
            changed.commit();
            let changes = changed.get_changes(&at);
            touched_visits_and_wishes(&changed, &changes)
        }
        let visits = collection(&doc, VISITS).unwrap();
        let (_, held) = doc.get(&visits, visit.as_str()).unwrap().unwrap();
        assert_eq!(
            touched(&mut doc, &|d| d.put(&held, "author", "Karim").unwrap()),
            Some((BTreeSet::from([visit.clone()]), BTreeSet::new()))
        );
        assert_eq!(
            touched(&mut doc, &|d| d.delete(&visits, visit.as_str()).unwrap()),
            None
        );
        assert_eq!(
            touched(&mut doc, &|d| d.put(ROOT, "extra", 1).unwrap()),
            None
        );

        let long = "x".repeat(crate::model::MAX_SHORT_CHARS + 1);
        let unknown = new_id();
        type Edit<'a> = Box<dyn Fn(&mut AutoCommit) + 'a>;
        let bad: Vec<(&str, Edit)> = vec![
            (
                "a visit at no address of the street",
                Box::new(|d| put_entry(d, VISITS, &new_id(), &visit_at(&unknown)).unwrap()),
            ),
            (
                "a wish of no visit",
                Box::new(|d| {
                    put_entry(d, WISHES, &new_id(), &wish_of(&unknown, "Bankjes")).unwrap()
                }),
            ),
            (
                "a wish too long, changed in place",
                Box::new(|d| {
                    let wishes = collection(d, WISHES).unwrap();
                    let (_, id) = d
                        .map_range(&wishes, ..)
                        .next()
                        .map(|i| (i.key.to_string(), i.id()))
                        .unwrap();
                    d.put(&id, "text", long.as_str()).unwrap();
                }),
            ),
            (
                "a visit under a key that is no id",
                Box::new(|d| put_entry(d, VISITS, "not-an-id", &visit_at(&address)).unwrap()),
            ),
            (
                // Read whole: the visit at it points nowhere now.
                "an address removed",
                Box::new(|d| {
                    let addresses = collection(d, ADDRESSES).unwrap();
                    d.delete(&addresses, address.as_str()).unwrap();
                }),
            ),
        ];
        for (what, edit) in bad {
            let mut changed = doc.fork();
            let at = changed.get_heads();
            edit(&mut changed);
            changed.commit();
            let changes = changed.get_changes(&at);
            let since = kind.validate_after(&changed, &changes);
            assert!(since.is_err(), "{what}");
            assert_eq!(since, kind.validate(&changed), "{what}: the same verdict");
        }
    }

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
            id(DocKind::Street { street, epoch: 0 }),
            "ce396a26-5962-55eb-b9e8-2be606c5eae3"
        );
        assert_ne!(
            id(DocKind::Street { street, epoch: 1 }),
            id(DocKind::Street { street, epoch: 0 })
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

    /// Phones stored kinds before streets had epochs: they still read, and a street of
    /// the first epoch is written as it was.
    #[test]
    fn kinds_stored_before_street_epochs_still_read() {
        #[derive(serde::Serialize)]
        enum Before {
            Street { street: Uuid },
        }
        let street = Uuid::from_u128(9);
        let before = postcard::to_allocvec(&Before::Street { street }).unwrap();
        let kind: DocKind = postcard::from_bytes(&before).unwrap();
        assert_eq!(kind, DocKind::Street { street, epoch: 0 });
        assert_eq!(postcard::to_allocvec(&kind).unwrap(), before);
        let later = DocKind::Street { street, epoch: 3 };
        let bytes = postcard::to_allocvec(&later).unwrap();
        assert_eq!(postcard::from_bytes::<DocKind>(&bytes).unwrap(), later);
    }

    fn street_kind() -> DocKind {
        DocKind::Street {
            street: Uuid::from_u128(1),
            epoch: 0,
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
        let unique: BTreeSet<_> = ids.iter().collect();
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
            contribution_theme: None,
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
        let mut values: Vec<String> = outcome.values.iter().map(|c| c.value.clone()).collect();
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

    /// Two phones that hold a street from before an upgrade each make the upgrade offline
    /// and add a correction: the same change on both, so neither correction hides the other.
    #[test]
    fn an_upgrade_is_the_same_change_wherever_it_is_made() {
        let kind = street_kind();
        let old = kind.skeleton();
        let mut a = old.clone().with_actor(new_actor());
        let mut b = old.clone().with_actor(new_actor());
        for (doc, by) in [(&mut a, "Sanne"), (&mut b, "Karim")] {
            assert!(kind.upgrade(doc).unwrap());
            assert!(!kind.upgrade(doc).unwrap(), "once");
            let correction = Correction {
                visit: new_id(),
                outcome: Outcome::Talked,
                return_on: None,
                by: by.into(),
                at_ms: 1,
            };
            put_entry(doc, CORRECTIONS, &new_id(), &correction).unwrap();
            doc.commit();
        }
        a.merge(&mut b).unwrap();
        let corrections: BTreeMap<String, Correction> =
            autosurgeon::hydrate_prop(&a, ROOT, CORRECTIONS.name).unwrap();
        assert_eq!(corrections.len(), 2, "both kept");
        assert_eq!(
            kind.genesis(new_actor()).get_heads(),
            vec![kind.upgrades().last().unwrap().hash()],
            "new streets are made upgraded"
        );
    }

    fn household_with(consent: Consent, name: &str, by: &str, base: &AutoCommit) -> AutoCommit {
        let mut doc = base.clone().with_actor(new_actor());
        settle(&mut doc, &ROOT, "consent", consent.name()).unwrap();
        put_field(
            &mut doc,
            "resident",
            &crate::model::Resident {
                name: name.into(),
                contact: String::new(),
            },
        )
        .unwrap();
        Signature { by, at_ms: 7 }.commit(&mut doc);
        doc
    }

    /// Scenario of issue 11: at one door offline, one person taps "yes" and types the name,
    /// the other taps "no". The merge keeps both answers, shown with whose they are, and
    /// breaks no rule; settled as "no", the name goes.
    #[test]
    fn a_consent_clash_merges_into_a_conflict_not_a_broken_document() {
        let kind = household_kind();
        let base = kind.genesis(new_actor());
        let mut yes = household_with(Consent::Given, "Jan Smit", "Sanne", &base);
        let mut no = household_with(Consent::Refused, "", "Karim", &base);
        yes.merge(&mut no).unwrap();
        kind.validate(&yes).unwrap();
        assert!(!kind.repair(&mut yes.clone()).unwrap(), "nothing to repair");
        let answers = candidates(&yes, &ROOT, "consent");
        let mut shown: Vec<(String, String)> = answers
            .iter()
            .map(|c| (c.value.clone(), c.by.as_ref().unwrap().by.clone()))
            .collect();
        shown.sort();
        assert_eq!(
            shown,
            [
                ("Given".into(), "Sanne".into()),
                ("Refused".into(), "Karim".into())
            ]
        );

        // Settled as "no" by a third: one answer, no name.
        settle(&mut yes, &ROOT, "consent", Consent::Refused.name()).unwrap();
        clear_resident(&mut yes).unwrap();
        yes.commit();
        let household: Household = read(&yes).unwrap();
        assert_eq!(consent_answers(&yes).unwrap(), [Consent::Refused]);
        assert!(household.resident.is_empty());
        kind.validate(&yes).unwrap();
    }

    /// A name typed beside a later "no" (the "no" saw the earlier "yes"): no answer allows
    /// it, so every replica reads it as absent and the repair clears it.
    #[test]
    fn a_name_typed_beside_a_later_no_is_repaired() {
        let kind = household_kind();
        let base = household_with(Consent::Given, "Jan", "Sanne", &kind.genesis(new_actor()));
        let mut no = household_with(Consent::Refused, "", "Karim", &base);
        let mut typed = household_with(Consent::Given, "Jan Smit", "Sanne", &base);
        no.merge(&mut typed).unwrap();
        let household: Household = read(&no).unwrap();
        let answers = consent_answers(&no).unwrap();
        assert!(household.needs_repair(&answers) || !Consent::allows_resident(&answers));
        assert!(household.resident_shown(&answers).is_empty(), "never shown");
        let mut repaired = no.clone();
        assert!(kind.repair(&mut repaired).unwrap());
        kind.validate(&repaired).unwrap();
        assert!(read::<Household>(&repaired).unwrap().resident.is_empty());
    }

    /// Two people's offline additions to the same notes, glued by the merge, come apart
    /// again by author.
    #[test]
    fn merged_notes_say_who_wrote_which_part() {
        let mut a = household_kind().genesis(new_actor());
        let visit = new_id();
        put_entry(&mut a, CONVERSATIONS, &visit, &Conversation::default()).unwrap();
        update_notes(&mut a, &visit, "Eerste gesprek. ").unwrap();
        Signature {
            by: "Sanne",
            at_ms: 1,
        }
        .commit(&mut a);
        let mut b = a.fork().with_actor(new_actor());
        update_notes(&mut a, &visit, "Eerste gesprek. Wil een buurtbarbecue.").unwrap();
        Signature {
            by: "Sanne",
            at_ms: 2,
        }
        .commit(&mut a);
        update_notes(&mut b, &visit, "Eerste gesprek. Kan goed koken.").unwrap();
        Signature {
            by: "Karim",
            at_ms: 3,
        }
        .commit(&mut b);
        a.merge(&mut b).unwrap();
        let parts: Vec<(String, String)> = authorship(&a, &visit)
            .into_iter()
            .map(|(by, text)| (by.map(|s| s.by).unwrap_or_default(), text))
            .collect();
        let karim = parts.iter().find(|(by, _)| by == "Karim").unwrap();
        assert_eq!(karim.1, "Kan goed koken.");
        let text: String = parts.iter().map(|(_, t)| t.as_str()).collect();
        assert_eq!(
            text.len(),
            "Eerste gesprek. Wil een buurtbarbecue.Kan goed koken.".len()
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
